/* thermabench results history: every experiment's runs, metrics, telemetry
 * summaries, environment and code under test, in a store behind one small
 * interface: SQLite (a file, the default) or PostgreSQL (a fleet). Queries
 * for series and baselines, and change-point detection over a series.
 * docs/HISTORY.md is the reference.
 *
 * Errors: functions return 0 (or a pointer) on success and -1 (or NULL) with
 * a history_error that names the store and carries the exit code the CLI
 * uses: 2 when the user's input is wrong (a file that is not a store, a
 * schema newer than this build, a wrong password), 1 when the system is
 * (a server that cannot be reached, a full disk). Every write is one
 * transaction: a failure leaves nothing half-written. */
#ifndef THERMABENCH_HISTORY_H
#define THERMABENCH_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "reports.h"

/* The schema this build writes; older stores are migrated when opened. */
#define HISTORY_SCHEMA_VERSION 3

typedef struct history_error {
    char msg[1024];
    int exit_code;          /* 1 system, 2 input */
} history_error;

typedef struct history_store history_store;

enum {
    HISTORY_OPEN_READ = 0,      /* the store must exist (a missing SQLite file is an error) */
    HISTORY_OPEN_CREATE = 1,    /* create the file and the schema when missing */
};

/* spec: a file path, or postgresql://... / postgres://... (libpq URI). */
history_store *history_open(const char *spec, int flags, history_error *err);
/* As history_open, migrating to at most `schema_version` (tests build stores
 * of older versions with it). */
history_store *history_open_version(const char *spec, int flags, int schema_version, history_error *err);
void history_close(history_store *s);
const char *history_store_name(const history_store *s);    /* without a password */
const char *history_store_kind(const history_store *s);    /* "sqlite" | "postgresql" */
int history_store_schema_version(const history_store *s);

/* Where `run` appends by default: $THERMABENCH_HISTORY, else
 * $XDG_DATA_HOME/thermabench/history.db, else ~/.local/share/thermabench/
 * history.db. Writes into buf; returns buf, or NULL when neither HOME nor
 * XDG_DATA_HOME is set. Creates no directory. */
const char *history_default_spec(char *buf, size_t cap);
/* Creates the parent directories of a SQLite path (not for URIs). */
int history_prepare_path(const char *spec, history_error *err);

/* ---- appending ---- */
#define HISTORY_MAX_TAGS 16
typedef struct history_tag {
    char key[64];
    char value[256];
} history_tag;

/* Parses "key=value" (key: letters, digits, '_', '-', '.'). 0 or -1 with a message in why. */
int history_parse_tag(const char *text, history_tag *out, char *why, size_t why_len);

/* Adds the tags commit, branch (none when detached), dirty (0/1) and
 * describe of the git work tree at dir, except keys already in tags.
 * Returns 1 when dir is in a git work tree, 0 when not (nothing added). */
int history_git_tags(const char *dir, history_tag *tags, int *ntags, int max);

/* Appends the experiment of a results.json (docs/RESULTS.md) with tags. The
 * tags commit, branch, dirty and describe also fill the code-under-test
 * fields. An experiment already in the store (same name, creation time, host
 * and results path) is replaced, so appending after every run of a resumed
 * experiment, or importing a file twice, keeps each run exactly once.
 * *experiment_id (may be NULL) gets its id; *replaced (may be NULL) is set
 * when it replaced one. */
int history_append_results(history_store *s, const char *results_path, const history_tag *tags, int ntags,
                           long long *experiment_id, bool *replaced, history_error *err);

/* ---- queries ---- */
typedef struct history_filter {
    const char *config;         /* experiment (config) name, exact */
    const char *machine;        /* machine id (12 hex digits) or hostname */
    const char *variant;
    const char *metric;         /* NULL: each experiment's primary metric */
    history_tag tags[HISTORY_MAX_TAGS];
    int ntags;
    long long since_unix, until_unix;   /* 0: unbounded */
    long last;                  /* only the last N matching experiments (0: all) */
} history_filter;

/* "30d", "12h", "2026-11-01" or "2026-11-01T08:00:00Z" as UTC seconds
 * before/at now. -1 when it is none of them. */
long long history_parse_since(const char *text, long long now_unix);

typedef struct history_experiment {
    long long id, created_unix;
    char created_utc[32], name[128], status[32], machine_id[16], hostname[128];
    char commit[64], branch[128], describe[128];
    int dirty;                  /* -1 unknown */
    char metric[64], unit[32];
    int nruns;                  /* measured (non-warm-up) runs */
    char tags[512];             /* "k=v k=v" */
    char results_path[512];
} history_experiment;

typedef int (*history_experiment_fn)(void *ctx, const history_experiment *e);
/* Experiments matching the filter, oldest first (the last `last` of them).
 * In every query `last` counts experiments matching the whole filter. */
int history_list(history_store *s, const history_filter *f, history_experiment_fn fn, void *ctx,
                 history_error *err);

/* One point of a series: one experiment's measured runs of one variant. */
typedef struct history_point {
    long long experiment_id, created_unix;
    char commit[64], branch[128];
    char results_path[512];
    size_t n;
    double median, lo, hi;      /* median and its ~95 % distribution-free CI */
    double temp_start_c, clock_mean_mhz;    /* means over the runs; NAN unknown */
} history_point;

/* A series: one config, variant, metric and machine, oldest first. */
typedef struct history_series {
    char config[128], variant[REPORT_NAME_MAX], metric[64], unit[32], machine_id[16], hostname[128];
    bool higher_is_better;
    size_t n, cap;
    history_point *pts;
} history_series;

typedef struct history_series_set {
    size_t n, cap;
    history_series *s;
} history_series_set;

int history_load_series(history_store *s, const history_filter *f, history_series_set *out, history_error *err);
void history_series_set_free(history_series_set *set);

/* ---- baselines by name ---- */
/* A baseline spec: comma-separated "tag:K=V", "last=N", "machine=ID|any",
 * "config=NAME", "variant=NAME", "since=30d", e.g. "tag:branch=main,last=5".
 * Missing machine and config default to the candidate's. */
int history_parse_baseline(const char *spec, history_filter *f, char *why, size_t why_len);
/* The matching experiments (oldest first), each rebuilt as the results.json
 * it came from (primary metric, telemetry summaries, variants, environment)
 * and read by report_results_parse: the sets a gate side takes, one per
 * session (path "STORE#experiment ID"). *out is malloc'd; free each with
 * report_results_free, then the array with free(). */
int history_load_baseline(history_store *s, const history_filter *f, report_results **out, int *n,
                          history_error *err);
/* The machine id of a loaded results file (from its environment), as the
 * store gives it to the experiments of that machine. */
void history_results_machine_id(const report_results *r, char out[16]);
/* The stable machine id that experiments from this results file get. */
void history_machine_id(const char *hostname, const char *cpu_model, int cpus_online, double mem_total_bytes,
                        char out[16]);

/* ---- change points ---- */
typedef struct history_cp_options {
    double penalty;             /* PELT penalty in units of sigma^2 log(n) */
    size_t min_segment;         /* points on each side of a change */
    double alpha;               /* permutation-test level each change must pass */
    int permutations;
    uint64_t seed;
} history_cp_options;

void history_cp_defaults(history_cp_options *o);

typedef struct history_change {
    size_t index;               /* first point after the change */
    size_t seg_start, seg_end;  /* the segments compared: [seg_start, index) and [index, seg_end) */
    double p;                   /* permutation test of the two segments around it */
    double mean_before, mean_after;
    double ratio, lo, hi;       /* mean_after / mean_before with its 95 % CI (Fieller) */
} history_change;

/* Change points of x[0..n) in order; returns how many (at most max) or -1
 * when out of memory. Penalised exact segmentation (PELT, Gaussian cost on
 * a robust noise scale) then a permutation test of each change against its
 * neighbours' segments; changes that fail it are merged away. */
int history_changepoints(const double *x, size_t n, const history_cp_options *o, history_change *out, size_t max);

/* ---- outputs ---- */
typedef enum history_format { HISTORY_FORMAT_JSON, HISTORY_FORMAT_CSV } history_format;
/* Every matching experiment with its runs and metrics (JSON), or one row
 * per run and metric (CSV), written to f. */
int history_export(history_store *s, const history_filter *f, history_format fmt, FILE *out, history_error *err);

/* Writes DIR/index.html: per series a gnuplot plot over time with change
 * points marked and a table whose rows link to each experiment's report. */
int history_write_trend(const history_series_set *set, const history_cp_options *o, const char *out_dir,
                        const char *title, report_error *err);

#endif
