/* thermabench reports: statistics, comparison and gate verdicts, result
 * files (Markdown, HTML, CSV, JUnit) and plots through gnuplot.
 *
 * Statistics take plain arrays (const double *x, size_t n) and never modify
 * them; NAN means "not defined for this input" (n too small, zero spread). */
#ifndef THERMABENCH_REPORTS_H
#define THERMABENCH_REPORTS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct report_error {
    char msg[512];
} report_error;

/* ---- distributions ---- */
double report_normal_cdf(double z);
double report_normal_quantile(double p);
/* Regularized incomplete beta I_x(a, b). */
double report_betainc(double a, double b, double x);
double report_t_cdf(double t, double df);
double report_t_quantile(double p, double df);

/* ---- descriptive ---- */
double report_mean(const double *x, size_t n);
double report_sd(const double *x, size_t n);           /* sample sd (n - 1) */
double report_median(const double *x, size_t n);
/* Quantile with linear interpolation between order statistics (Hyndman-Fan
 * type 7, the default of R, numpy and Python's statistics 'inclusive'). */
double report_quantile(const double *x, size_t n, double p);
double report_mad(const double *x, size_t n);          /* raw median absolute deviation */

/* Half-width of the two-sided CI of the mean (Student t): t(1-(1-level)/2, n-1) * sd / sqrt(n).
 * level is e.g. 0.95. NAN when n < 2. (The harness's adaptive stop rule uses it.) */
double report_mean_ci_half_width(const double *x, size_t n, double level);

typedef struct report_summary {
    size_t n;
    double mean, sd, cv, median, mad, min, max, q1, q3;
    double mean_ci_lo, mean_ci_hi;       /* 95 %, Student t */
    double median_ci_lo, median_ci_hi;   /* ~95 %, distribution-free order statistics */
    size_t outliers_mild, outliers_severe, outliers_robust_z;
} report_summary;

void report_summarize(const double *x, size_t n, report_summary *out);

/* CI of the median from order statistics (binomial); achieved coverage >= level
 * when n is large enough, else the full range. */
void report_median_ci(const double *x, size_t n, double level, double *lo, double *hi);

/* Outlier classes: flagged, never dropped. */
enum { REPORT_OUTLIER_NONE = 0, REPORT_OUTLIER_MILD = 1, REPORT_OUTLIER_SEVERE = 2 };
/* Tukey fences: mild beyond 1.5 IQR of the quartiles, severe beyond 3 IQR. */
void report_outliers_tukey(const double *x, size_t n, int *cls);
/* Robust z = 0.6745 (x - median) / MAD (Iglewicz-Hoaglin); |z| > 3.5 is an outlier. */
void report_robust_z(const double *x, size_t n, double *z);

/* ---- two-sample tests and effects (a = baseline, b = candidate) ---- */
typedef struct report_welch {
    double diff;            /* mean(b) - mean(a) */
    double t, df, p;        /* two-sided */
    double ci_lo, ci_hi;    /* 95 % CI of diff */
} report_welch;
void report_welch_test(const double *a, size_t na, const double *b, size_t nb, report_welch *out);

typedef struct report_mwu {
    double u;       /* U of sample a: #(a_i > b_j) + 0.5 #(a_i == b_j) */
    double p;       /* two-sided */
    double z;       /* normal approximation (NAN when exact) */
    bool exact;
} report_mwu;
/* Exact when there are no ties and na, nb <= 20; else the normal
 * approximation with tie correction and continuity correction. */
void report_mann_whitney(const double *a, size_t na, const double *b, size_t nb, report_mwu *out);

/* Hodges-Lehmann shift: median of all b_j - a_i. */
double report_hodges_lehmann(const double *a, size_t na, const double *b, size_t nb);
/* Cliff's delta: P(b > a) - P(b < a), in [-1, 1]. */
double report_cliffs_delta(const double *a, size_t na, const double *b, size_t nb);

/* Ratio mean(b) / mean(a) with a CI. Fieller's theorem for two independent
 * samples (Welch-Satterthwaite df); returns -1 when the CI is unbounded
 * (mean(a) not significantly different from 0). */
typedef struct report_ratio {
    double ratio, lo, hi;
} report_ratio;
int report_ratio_fieller(const double *a, size_t na, const double *b, size_t nb, double level,
                         report_ratio *out);
/* Robust ratio: exp of the Hodges-Lehmann shift of log(b) - log(a), with the
 * distribution-free (Moses) CI from the Mann-Whitney null distribution (exact
 * for na, nb <= 20, normal approximation above). All values must be > 0.
 * Returns -1 when the samples are too small for the level (unbounded). */
int report_ratio_hodges_lehmann(const double *a, size_t na, const double *b, size_t nb, double level,
                                report_ratio *out);
/* Largest k with P(U <= k - 1) <= (1 - level) / 2 under the null (no ties):
 * the Moses CI is [D_(k), D_(mn-k+1)] of the sorted pairwise differences. */
long report_mwu_ci_rank(size_t na, size_t nb, double level);
/* Percentile bootstrap of the ratio of means, seeded (deterministic). */
int report_ratio_bootstrap(const double *a, size_t na, const double *b, size_t nb, double level,
                           int resamples, uint64_t seed, report_ratio *out);

/* ---- trend and regression ---- */
typedef struct report_mann_kendall {
    double s, var_s, z, p, tau;     /* p two-sided (normal approx., tie-corrected) */
} report_mann_kendall;
void report_mann_kendall_test(const double *x, size_t n, report_mann_kendall *out);

/* Ordinary least squares y = b0 + b1 x1 + ... with up to REPORT_OLS_MAX
 * coefficients (including the intercept). cols[k][i] is regressor k at row i. */
#define REPORT_OLS_MAX 6
typedef struct report_ols {
    int k;                          /* coefficients, intercept first */
    double coef[REPORT_OLS_MAX], se[REPORT_OLS_MAX];
    double r2, sigma;               /* residual standard deviation */
    double df;                      /* n - k */
} report_ols;
int report_ols_fit(const double *y, const double *const *cols, int ncols, size_t n, report_ols *out);

/* Throughput on temperature: slope as % of the mean per degree C, with R^2. */
typedef struct report_sensitivity {
    double pct_per_c, pct_per_c_lo, pct_per_c_hi, r2;
    size_t n;
} report_sensitivity;
int report_thermal_sensitivity(const double *y, const double *temp_c, size_t n, report_sensitivity *out);

/* A/B effect adjusted for temperature (and clock when clock_mhz != NULL):
 * y = b0 + b1 [is b] + b2 temp (+ b3 clock). Effect as % of mean(a), 95 % CI. */
typedef struct report_adjusted {
    double pct, pct_lo, pct_hi, p;
    bool with_clock;
} report_adjusted;
int report_adjusted_effect(const double *y, const int *is_b, const double *temp_c,
                           const double *clock_mhz, size_t n, report_adjusted *out);

/* Runs per variant needed to detect a relative change `change` (0.03 = 3 %)
 * with a two-sided test at alpha and the given power, at coefficient of
 * variation cv (normal approximation with a t correction). */
int report_runs_needed(double cv, double change, double alpha, double power);
/* Smallest relative change detectable with n runs per variant (inverse). */
double report_min_detectable(double cv, size_t n_per_variant, double alpha, double power);

/* Holm step-down adjusted p-values (adj may alias p). */
void report_holm(const double *p, size_t m, double *adj);

/* Seeded generator used by bootstraps and the Monte Carlo tests (splitmix64). */
uint64_t report_rng_next(uint64_t *state);
double report_rng_uniform(uint64_t *state);     /* (0, 1) */
double report_rng_normal(uint64_t *state);

/* ---- results files (docs/RESULTS.md) ---- */
#define REPORT_NAME_MAX 64
#define REPORT_MAX_VARIANTS 64     /* more is an input error, never a silent cut */

/* A run's GPU telemetry, from its summary's gpuN.* channels (NAN: not
 * recorded). The GPU is the one whose temperature the run's summary
 * watched, else gpu0. */
typedef struct report_gpu_run {
    bool present;
    double temp_mean_c, temp_start_c, temp_peak_c;
    double sm_mean_mhz, sm_min_mhz, mem_mean_mhz, mem_min_mhz;
    double power_mean_w, power_limit_w, energy_j, energy_per_token_j, util_mean_pct;
    double power_cap_ms, thermal_cap_ms;   /* NVML violation time during the run */
    double reasons_max;                    /* highest clock-event bitmask read (NAN if none) */
    char throttle_cause[128];              /* the summary's cause, e.g. "gpu0: SW power cap" */
} report_gpu_run;

typedef struct report_run {
    int index;
    char variant[REPORT_NAME_MAX];
    bool warmup, ok;
    double started_s, wall_ms;
    double metric;                  /* primary metric, NAN if missing */
    double temp_start_c, temp_end_c, temp_peak_c;
    double power_mean_w, energy_j, energy_per_token_j;
    double clock_mean_mhz, clock_min_mhz, mem_psi_some_us;
    char throttle[16];              /* "yes" | "no" | "unknown" */
    int session;                    /* which session of its set ran it (0 when the file has one) */
    double tokens;                  /* prefill + decode tokens of an engine run (NAN otherwise) */
    report_gpu_run gpu;
} report_run;

typedef struct report_results {
    char path[512];
    char name[128];
    char status[32];
    char metric_name[64], metric_unit[32];
    bool higher_is_better;
    char cpu_model[128], kernel[128];
    /* the build that wrote the file ("" where an older file does not say) */
    char compiler[64], git_commit[64], build_type[32], cflags[256], sanitizers[64];
    int git_dirty;                  /* 1 dirty, 0 clean, -1 unknown */
    char gpu_name[16];              /* "gpu0": the GPU the runs' telemetry names, "" if none */
    int cpus_online;                /* -1 unknown */
    int nvariants;
    char variants[REPORT_MAX_VARIANTS][REPORT_NAME_MAX];
    char variant_config[REPORT_MAX_VARIANTS][256];   /* engine_kernels + workload threads, for the reports */
    /* What was asked for ("field=value; ..." of model or preset, dtype, seed, threads, batch,
     * lengths, backend, forced kernels, a command's arguments) and what the engine resolved ("" unknown): a
     * different request is a different workload; a different resolution under the same request is the code
     * under test. So is the program a command workload runs (its argv[0], "" for the engine): two builds of
     * one tool run with the same arguments. */
    char variant_request[REPORT_MAX_VARIANTS][384];
    char variant_kernels[REPORT_MAX_VARIANTS][160];
    char variant_program[REPORT_MAX_VARIANTS][256];
    /* The machine: CPU model, CPUs online, OS kernel, microcode, GPUs and driver where recorded. */
    char machine[512];
    char order[16];                 /* config.order: sequential | interleaved | abba | random | "" */
    bool adaptive_stop;             /* config.stop.rule "adaptive" */
    int stop_min_runs;              /* its first stage (config.repetitions); 0 when fixed */
    int nruns;
    report_run *runs;
    int npreflight;
    char preflight[32][256];        /* "check: status: detail", non-ok ones */
    void *json;                     /* the parsed cJSON document */
} report_results;

int report_results_load(const char *path, report_results *out, report_error *err);
/* The same from a results.json already in memory; name stands for the path
 * in messages and in out->path. */
int report_results_parse(const char *name, const char *text, size_t len, report_results *out, report_error *err);
/* "1a2b3c4d5e6f (dirty), Release, GNU 12.2.0, -O3 -DNDEBUG ...": the build
 * that wrote the file, as far as it says. */
void report_results_build(const report_results *r, char *buf, size_t n);
void report_results_free(report_results *r);
/* Values of the primary metric for a variant (non-warm-up ok runs, in run
 * order); returns how many were written (at most max). */
size_t report_variant_values(const report_results *r, const char *variant, double *out, size_t max);

/* ---- comparison and gate ---- */
typedef struct report_variant_stats {
    char name[REPORT_NAME_MAX];
    report_summary s;
    double temp_start_c, temp_peak_c, power_mean_w, energy_per_token_j;  /* NAN unknown */
    int throttled_runs, unknown_throttle_runs, failed_runs;
    report_mann_kendall trend;
} report_variant_stats;

/* An interval of the ratio candidate / baseline (in the gate: oriented so
 * that < 1 is worse; in a comparison: as measured). */
typedef struct report_interval {
    double ratio, lo, hi;
    double df;
    bool ok;
    char method[96];            /* "paired rounds", "ratio of geometric means (Welch)", ... */
} report_interval;

typedef struct report_comparison {
    report_variant_stats a, b;
    bool higher_is_better;
    report_ratio fieller, boot;     /* mean(b)/mean(a) */
    bool fieller_ok;
    report_welch welch;
    report_mwu mwu;
    double hodges_lehmann, cliffs_delta;
    /* The verdict's interval of b / a, 95 %: the gate's design (paired rounds of an
     * interleaved file, session means, temperature) when it applies, else Fieller. */
    report_interval effect;
    char design[256];
    double effect_pct, effect_lo_pct, effect_hi_pct;    /* (ratio - 1) * 100 of effect */
    report_adjusted adjusted;
    bool adjusted_ok;
    double min_detectable_pct;      /* at the observed noise, alpha 0.05, power 0.8 */
    int runs_needed_3pct;           /* per variant, to detect a 3 % change */
    char verdict[32];               /* "faster" | "slower" | "no detectable difference" */
    char sentence[512];             /* the one-line verdict */
} report_comparison;

/* Statistics and telemetry of one variant's non-warm-up runs. */
int report_variant_summary(const report_results *r, const char *variant, report_variant_stats *out);

/* Compares variant vb against va. The variants may live in different results
 * files (ra, rb); for one file pass the same pointer twice. */
int report_compare(const report_results *ra, const char *va, const report_results *rb, const char *vb,
                   report_comparison *out, report_error *err);

typedef enum report_gate_verdict {
    REPORT_GATE_PASS = 0,
    REPORT_GATE_REGRESSION,
    REPORT_GATE_IMPROVEMENT,
    REPORT_GATE_INCONCLUSIVE
} report_gate_verdict;

typedef struct report_gate_options {
    double max_regression;      /* relative, 0.03 = 3 % */
    double confidence;          /* level of the printed two-sided interval, default 0.95 */
    double decision;            /* level of each one-sided decision bound, default 0.95 (TOST) */
    double max_cv;              /* robust CV above which the robust interval joins the hull; 0.10 */
    double step_p;              /* a step within a session counts below this p; default 0.01 */
    double large_step_p;        /* a step of twice the margin or more counts below this p; default 0.3 */
    bool allow_machine_change;  /* CPU, kernel, microcode, GPU may differ */
    bool allow_workload_change; /* the requested workload may differ (else an input error) */
    bool allow_env_mismatch;    /* both of the above (older spelling) */
    bool allow_build_change;    /* build type and sanitizers may differ */
    bool allow_throttle;
    bool no_tables;             /* skip the per-variant tables (cmp): the verdict does not use them */
} report_gate_options;

/* ---- the gate's inputs: sides made of result sets and sessions ----
 *
 * A side is one or more result sets of one variant (results files, or sets
 * the history store builds from its rows); each set holds one or more
 * sessions (report_run.session), and the sessions are the unit of the
 * between-session variance (docs/STATISTICS.md). A set built elsewhere than
 * report_results_load fills the same fields (json may be NULL; runs in run
 * order; machine, variant_request and variant_kernels as the loader does). */
typedef struct report_side {
    const report_results *const *sets;
    int nsets;
    const char *variant;        /* in every set; NULL: each set's only variant */
} report_side;

/* A step inside one session of one arm's run sequence (or of the per-round
 * differences of a paired design). */
typedef struct report_step {
    char arm[16];               /* "baseline" | "candidate" | "difference" */
    int session;                /* arm-wide session number, 0-based */
    int at_run;                 /* 1-based position (in that session) of the first run after it */
    int session_runs;
    double change_pct;          /* mean after vs before */
    double p;                   /* Bonferroni over the split points */
    char telemetry[256];        /* what moved at the same runs, "" if nothing recorded did */
} report_step;

#define REPORT_GATE_MAX_STEPS 8
typedef struct report_gate_result {
    report_gate_verdict verdict;
    report_comparison cmp;
    double ratio, lo, hi;       /* headline estimate and two-sided interval (confidence), oriented */
    double dec_lo, dec_hi;      /* hull of every plausible analysis at the one-sided decision level */
    report_interval primary;    /* the analysis the headline comes from */
    char design[256];           /* what the analysis rests on, incl. assumptions */
    int sessions_base, sessions_cand;
    size_t runs_base, runs_cand;
    double sd_within_pct, sd_between_pct;   /* % of the mean; NAN unknown */
    /* evidence */
    int nsteps;
    report_step steps[REPORT_GATE_MAX_STEPS];
    bool heat_differs, heat_overlap, heat_used;
    double temp_base_c, temp_cand_c;        /* mean start temperatures, NAN unrecorded */
    report_interval heat_adjusted;          /* ok when computed */
    bool unstable;
    bool short_session;         /* one session a side, one of them too short to test for a step */
    double decision_level;      /* of each one-sided decision bound: 0.95, or 0.99 (unstable, short session) */
    double robust_cv_base, robust_cv_cand;
    double robust_cv_pairs;     /* paired designs: robust sd of the per-round log ratios / sqrt 2; NAN otherwise */
    report_interval robust;                 /* Hodges-Lehmann, when it joined the hull */
    /* environment */
    bool machine_differs, workload_differs, kernels_differ, build_differs, program_differs;
    char machine_detail[512], workload_detail[512], kernel_change[384], build_detail[256], program_change[384];
    bool env_mismatch;                      /* machine_differs (kept for older readers) */
    char env_detail[512];
    char reason[1024];
} report_gate_result;

void report_gate_defaults(report_gate_options *o);
const char *report_gate_verdict_name(report_gate_verdict v);
/* The verdict from two samples alone (one session each, no telemetry or
 * environment). base and cand in metric units. */
report_gate_verdict report_gate_samples(const double *base, size_t nb, const double *cand, size_t nc,
                                        bool higher_is_better, const report_gate_options *o,
                                        double *ratio, double *lo, double *hi, char *reason, size_t reason_len);
/* Gates the candidate side against the baseline side. -1 with err on bad
 * input (no such variant, different metrics, a different workload without
 * allow_workload_change: exit 2); else 0 and the verdict in out. */
int report_gate_sides(const report_side *base, const report_side *cand, const report_gate_options *o,
                      report_gate_result *out, report_error *err);
/* One results file per side (the same file twice for two variants of one file). */
int report_gate(const report_results *base, const char *base_variant, const report_results *cand,
                const char *cand_variant, const report_gate_options *o, report_gate_result *out,
                report_error *err);
/* The verdict, its intervals, reasons and evidence as a JSON object (free()). */
char *report_gate_result_json(const report_gate_result *g, const char *name, const char *metric);

/* ---- where variance comes from (Kalibera & Jones) ---- */
typedef struct report_variance_components {
    int sessions;
    size_t runs;
    double mean;                /* mean of the session means */
    double var_within;          /* pooled within-session variance; NAN with no session of 2+ runs */
    double var_between;         /* between-session component (>= 0); NAN with one session */
    double var_session_means;   /* sample variance of the session means; NAN with one session */
    double df_within, df_between;
    double runs_per_session;    /* harmonic mean */
} report_variance_components;
/* x[i] belongs to session[i] (any int labels). 0, or -1 when n == 0. */
int report_variance_components_fit(const double *x, const int *session, size_t n, report_variance_components *out);
/* Sessions of `runs_per_session` runs needed for a two-sided `level` CI of
 * the mean no wider than +-target (relative to the mean); -1 if out of reach. */
int report_sessions_needed(const report_variance_components *vc, int runs_per_session, double target, double level);

/* How many runs and sessions a gate with margin `margin` needs on the noise
 * of these runs: per side, sessions of runs_per_session runs each, so that an
 * unchanged candidate passes (one-sided bound at `decision`) with
 * probability `power`. x: metric values, session: their session labels. */
#define REPORT_PLAN_SIZES 4
typedef struct report_run_plan {
    report_variance_components vc;      /* on log values */
    double sd_within_pct, sd_between_pct;   /* NAN unknown (one session) */
    int runs_per_session[REPORT_PLAN_SIZES];     /* 5, 10, 20, 40 */
    int sessions_needed[REPORT_PLAN_SIZES];      /* per side; -1 out of reach (over 1000) */
} report_run_plan;
int report_plan_runs(const double *x, const int *session, size_t n, double margin, double decision, double power,
                     report_run_plan *out);

/* ---- pieces of the verdict ---- */
/* Largest |t| over split points of a sequence (segments of min_segment+
 * runs), Bonferroni-adjusted p; *at is the index of the first run after the
 * split. -1 when n < 2 min_segment. */
int report_step_detect(const double *x, size_t n, size_t min_segment, size_t *at, double *change, double *p);
/* Mean of per-pair log(b/a) with a Student t interval: exp of it. */
int report_ratio_paired(const double *a, const double *b, size_t n, double level, report_interval *out);
/* Ratio of geometric means (Welch on logs). */
int report_ratio_geometric(const double *a, size_t na, const double *b, size_t nb, double level,
                           report_interval *out);
/* Effect of [is_b] on log(y) with temperature as a covariate, fitted on the
 * runs inside both arms' common temperature range (trim) or on all runs.
 * *in_a, *in_b: runs of each arm in the fit. -1 when it cannot be fitted. */
int report_ratio_heat_adjusted(const double *y, const int *is_b, const double *temp_c, size_t n, double level,
                               bool trim, report_interval *out, size_t *in_a, size_t *in_b);
/* Adaptive stopping, Stein's two-stage rule: from the first n0 runs, the
 * total runs per variant that make the 95 % CI half-width of the mean at most
 * target_pct % of it (capped at max_runs). The gate's interval then has its
 * nominal coverage (docs/STATISTICS.md, measured). */
int report_stop_runs_total(const double *first, size_t n0, double target_pct, int max_runs);

/* The gate over two results files (thermabench gate): the named variants,
 * the only one, or every variant name the files share, each gated at a
 * confidence split over them (Bonferroni). Fails when the primary metrics
 * differ or no variant name is in common. */
typedef struct report_gate_item {
    char name[REPORT_NAME_MAX];
    report_gate_result g;
} report_gate_item;

typedef struct report_gate_set {
    int n;
    report_gate_item *items;
    report_gate_options options;    /* as applied: confidence is per variant */
    report_gate_verdict overall;    /* the worst: regression, inconclusive, improvement, pass */
    char metric[64], unit[32];
    char base_build[512], cand_build[512];  /* report_results_build of each file */
} report_gate_set;

int report_gate_files(const report_results *base, const char *base_variant, const report_results *cand,
                      const char *cand_variant, const report_gate_options *o, report_gate_set *out,
                      report_error *err);
/* The same with a baseline side of several result sets (sessions from a
 * results history, oldest first: the newest names the variants). */
int report_gate_sets(const report_results *const *bases, int nbases, const char *vbase, const report_results *cand,
                     const char *vcand, const report_gate_options *o, report_gate_set *out, report_error *err);
void report_gate_set_free(report_gate_set *s);
/* One line per variant, environment differences, the overall verdict. */
void report_gate_print(FILE *f, const report_gate_set *s);
/* {"gate": {"verdicts": [report_gate_result_json...], "verdict": ..., "confidence_per_variant": ...}} */
void report_gate_print_json(FILE *f, const report_gate_set *s);
/* JUnit XML (one test case per variant) and a Markdown summary for a CI job page. */
int report_gate_write_junit(const report_gate_set *s, const char *path, report_error *err);
int report_gate_write_markdown(const report_gate_set *s, const char *path, report_error *err);

/* Comparisons over one results file (every variant against the baseline) or
 * two (the candidate file's variants against the first file's) for
 * thermabench compare, with Holm-adjusted Welch p-values. A pair that cannot
 * be compared is skipped and its reason kept in skipped[]. */
typedef struct report_comparison_set {
    int n;
    report_comparison *c;
    double holm_p[REPORT_MAX_VARIANTS];
    int nskipped;
    char skipped[REPORT_MAX_VARIANTS][512];
    char metric[64], unit[32];
} report_comparison_set;

/* base / cand: variant names or NULL. Fails when nothing could be compared
 * or the two files' primary metrics differ. */
int report_compare_files(const report_results *r, int nfiles, const char *base, const char *cand,
                         report_comparison_set *out, report_error *err);
void report_comparison_set_free(report_comparison_set *s);
/* The variant table and every comparison; detect > 0 also prints the runs
 * per variant needed to detect a relative change of `detect`. */
void report_comparison_set_print(FILE *f, const report_comparison_set *s, double detect);
/* {"comparisons": [...], "holm_adjusted_welch_p": [...]} (caller frees). */
char *report_comparison_set_json(const report_comparison_set *s);

/* ---- escaping ----
 * Every user-controlled string (names, units, descriptions, statuses, paths)
 * reaches an output through these, never through a bare format string. All
 * modes write valid UTF-8: invalid bytes, control characters, surrogates and
 * bidirectional overrides become U+FFFD (except newline and tab where the
 * format keeps them as text). */
typedef enum report_escape {
    REPORT_ESC_HTML,        /* HTML text or a double-quoted attribute value: & < > " ' as references */
    REPORT_ESC_XML_TEXT,    /* XML 1.0 element text: only characters XML allows */
    REPORT_ESC_XML_ATTR,    /* XML attribute value: as text, tab and line breaks as &#9; &#10; &#13; */
    REPORT_ESC_MARKDOWN,    /* GitHub Markdown table cell or inline text: markup characters backslashed */
    REPORT_ESC_CSV,         /* one whole CSV field, quoted; a leading = + - @ gets a ' (no formula) */
    REPORT_ESC_GNUPLOT,     /* inside a single-quoted gnuplot string: ' doubled */
    REPORT_ESC_TERMINAL     /* plain text for a terminal: no escape sequences */
} report_escape;
void report_put_escaped(FILE *f, report_escape how, const char *s);
/* printf where every %s argument is written through report_put_escaped(how);
 * numbers are formatted as printf does. 0, or -1 on a write error. */
int report_fprintf(FILE *f, report_escape how, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int report_vfprintf(FILE *f, report_escape how, const char *fmt, va_list ap);

/* ---- exports for other tools (docs/EXPORTS.md) ---- */
typedef enum report_export_format {
    REPORT_EXPORT_HYPERFINE_JSON = 0,   /* hyperfine --export-json */
    REPORT_EXPORT_BMF,                  /* Bencher Metric Format */
    REPORT_EXPORT_GITHUB_BENCHMARK,     /* github-action-benchmark, custom tools */
    REPORT_EXPORT_GOOGLE_BENCHMARK,     /* Google Benchmark JSON, for its compare.py */
    REPORT_EXPORT_OPENMETRICS,          /* OpenMetrics text exposition */
    REPORT_EXPORT_CSV,                  /* hyperfine --export-csv */
    REPORT_EXPORT_MARKDOWN,             /* hyperfine --export-markdown */
    REPORT_EXPORT_COUNT
} report_export_format;

typedef struct report_export_options {
    const char *time_unit;   /* "s", "ms", "us", "ns" (Markdown, Google Benchmark); NULL: ms */
} report_export_options;

/* "hyperfine-json", "bmf", "github-action-benchmark", "google-benchmark",
 * "openmetrics", "csv", "markdown". */
const char *report_export_format_name(report_export_format f);
int report_export_format_parse(const char *name, report_export_format *out);
/* Writes one export of r's measured runs (warm-ups and failures left out) to
 * path ("-": stdout), atomically. 0; -1 when r cannot be exported (no
 * successful run, no CPU times for Google Benchmark's format); -2 when the
 * file could not be written. err says which. */
int report_export_write(const report_results *r, report_export_format format, const report_export_options *o,
                        const char *path, report_error *err);
/* Values of any metric for a variant (measured ok runs, in run order);
 * "wall_ms" falls back to the run's own wall_ms. Returns how many. */
size_t report_metric_values(const report_results *r, const char *variant, const char *metric, double *out,
                            size_t max);

/* ---- text encodings ---- */
/* Bytes as valid UTF-8 for a JSON string (RFC 3629: no overlongs, no
 * surrogates): invalid sequences and NUL become U+FFFD; *lossy (may be NULL)
 * says whether any did. malloc'd, NUL-terminated; NULL when out of memory. */
char *report_utf8_sanitize(const char *s, size_t n, bool *lossy);
/* Standard base64 (RFC 4648, padded), malloc'd. */
char *report_base64(const unsigned char *s, size_t n);

/* ---- outputs ---- */
/* The per-variant table and the effect lines, as aligned text or Markdown. */
void report_print_variants(FILE *f, const report_variant_stats *v, int n, const char *metric,
                           const char *unit, bool markdown);
void report_print_comparison(FILE *f, const report_comparison *c, bool markdown);
/* The comparison as a JSON object (caller frees the text with free()). */
char *report_comparison_json(const report_comparison *c, const char *metric, const char *unit);

/* Writes report.md, report.html (plots inline as SVG through gnuplot when it
 * is installed) and runs.csv into out_dir (created if missing). 0 or -1. */
int report_generate(const char *results_json_path, const char *out_dir, report_error *err);
int report_write_csv(const report_results *r, const char *path, report_error *err);

#endif
