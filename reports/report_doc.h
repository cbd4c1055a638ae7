/* The analysed results file that the report writers share (internal). */
#ifndef THERMABENCH_REPORT_DOC_H
#define THERMABENCH_REPORT_DOC_H

#include "report_plot.h"
#include "reports.h"

#define MAXV REPORT_MAX_VARIANTS

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
} report_doc;

/* Start temperature and metric of a variant's counted runs. */
size_t report_doc_variant_xy(const report_results *r, const char *v, double *t, double *y);
void report_doc_timeline(report_doc *d, plot_ctx *p);          /* sets d->svg[3] */
int report_doc_write_md(const report_doc *d, const char *path, report_error *err);
int report_doc_write_html(const report_doc *d, const char *path, report_error *err);

#endif
