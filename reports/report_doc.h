/* The analysed results file that the report writers share (internal). */
#ifndef THERMABENCH_REPORT_DOC_H
#define THERMABENCH_REPORT_DOC_H

#include "report_plot.h"
#include "reports.h"

#define MAXV REPORT_MAX_VARIANTS

/* A variant's GPU telemetry over its measured runs (report_gpu.c). */
typedef struct report_gpu_variant {
    int n;                          /* measured ok runs with GPU telemetry */
    double temp_mean, temp_peak, sm_mean, sm_min, mem_mean, mem_min;
    double power_mean, power_limit, energy_per_token, util_mean, power_cap_ms, thermal_cap_ms;
    int throttled_runs;
    char causes[128];
    /* first quarter (cold) against last quarter (hot) */
    int nq;
    double cold_mean, hot_mean, cold_temp, hot_temp, mwu_p, d_temp, d_sm, d_power;
    report_welch welch;
    report_ratio ratio;
    bool ratio_ok;
    char verdict[160];
} report_gpu_variant;

/* Variant i against the first, with the GPU's state per run as covariates. */
typedef struct report_gpu_ab {
    bool present, ok;
    double plain_pct, d_temp, d_sm, d_power;
    report_adjusted adj;
} report_gpu_ab;

typedef struct report_doc {
    report_results r;
    int nv;
    report_variant_stats vs[MAXV];
    report_sensitivity sens[MAXV];
    bool sens_ok[MAXV];
    int ncmp;
    report_comparison cmp[MAXV];
    char cmp_err[MAXV][256];
    char probes_missing[1024];
    char telemetry_csv[600];
    char plot_note[600];
    char *svg[4];
    bool any_gpu;
    report_gpu_variant gpu[MAXV];
    report_gpu_ab gpu_ab[MAXV];
} report_doc;

/* Start temperature and metric of a variant's counted runs. */
size_t report_doc_variant_xy(const report_results *r, const char *v, double *t, double *y);
void report_doc_timeline(report_doc *d, plot_ctx *p);          /* sets d->svg[3] */
int report_doc_write_md(const report_doc *d, const char *path, report_error *err);
/* How to rebuild a report elsewhere, printed at its top. */
extern const char report_regenerate_note[];
/* The GPU section (analysis; Markdown; HTML), empty without GPU telemetry. */
void report_doc_gpu(report_doc *d);
void report_gpu_md(FILE *f, const report_doc *d);
void report_gpu_html(FILE *b, const report_doc *d);
int report_doc_write_html(const report_doc *d, const char *path, report_error *err);

#endif
