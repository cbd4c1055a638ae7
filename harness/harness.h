/* thermabench harness: configs, run plans, the runner, cooldown and preflight.
 *
 * A config (JSON, docs/CONFIG.md) describes an experiment: a workload (the
 * in-process engine or an external command), variants that override workload
 * fields, a primary metric, repetitions, warm-up runs, the run order, the
 * cooldown between runs, the probes and a stop rule. The runner executes the
 * plan and rewrites results.json (docs/RESULTS.md) atomically after every run.
 *
 * Errors are returned, never printed: functions that can fail take a
 * harness_error and return 0 on success, -1 on failure. */
#ifndef THERMABENCH_HARNESS_H
#define THERMABENCH_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "probes.h"

/* The built-in default config (configs/default.json compiled in). */
extern const char harness_default_config_json[];

typedef enum harness_error_kind {
    HARNESS_ERR_NONE = 0,
    HARNESS_ERR_INPUT,   /* bad config, bad argument, bad results dir: exit 2 */
    HARNESS_ERR_SYSTEM   /* I/O failure, out of memory */
} harness_error_kind;

typedef struct harness_error {
    harness_error_kind kind;
    char msg[1024];
} harness_error;

/* ---- config ----------------------------------------------------------- */

#define HARNESS_MAX_VARIANTS 16
#define HARNESS_MAX_METRICS 16
#define HARNESS_MAX_ARGS 32
#define HARNESS_MAX_CPUS 256

typedef enum harness_workload_kind {
    HARNESS_WORKLOAD_ENGINE = 0,
    HARNESS_WORKLOAD_COMMAND
} harness_workload_kind;

/* How one metric is read from an external command's stdout. */
typedef struct harness_metric_spec {
    char name[64];
    char unit[32];
    bool higher_is_better;
    char json_path[128];   /* "results.decode.tok_s", "runs[0].t"; "" if regex */
    char regex[256];       /* POSIX extended, capture group 1 is the number */
} harness_metric_spec;

/* An argument vector run without a shell (execvp looks the program up in PATH). */
typedef struct harness_argv {
    int argc;
    char argv[HARNESS_MAX_ARGS][256];
} harness_argv;

/* What happens to an external command's stdout and stderr. */
typedef enum harness_output {
    HARNESS_OUTPUT_CAPTURE = 0,   /* pipes: head + tail window, metrics read from it */
    HARNESS_OUTPUT_DISCARD        /* /dev/null: nothing to read, least overhead */
} harness_output;

typedef struct harness_workload {
    harness_workload_kind kind;
    /* engine */
    char model[512];        /* file path; "" = synthetic preset */
    char preset[32];
    char dtype[16];
    uint64_t seed;
    int threads, batch_size, input_len, output_len, engine_warmup;
    char backend[16];
    char opencl_device[128];
    int n_kernels;
    engine_kernel_choice kernels[ENGINE_MAX_KERNEL_CHOICES];
    /* command */
    int argc;
    char argv[HARNESS_MAX_ARGS][256];
    int n_metrics;                /* metrics read from stdout; the timing metrics come always */
    harness_metric_spec metrics[HARNESS_MAX_METRICS];
    harness_argv prepare;         /* before every run of the variant, not timed (argc 0: none) */
    harness_argv setup, cleanup;  /* before its first run of a session, after the session's last */
    bool ignore_failure;          /* a non-zero exit status is recorded, the run still counts */
    harness_output output;
} harness_workload;

/* Metrics every command run has, measured by the harness itself: wall time
 * from spawn to exit (CLOCK_MONOTONIC, woken by a pidfd), user and system CPU
 * time and peak RSS of the command and the children it waited for (wait4). */
#define HARNESS_COMMAND_TIMING_METRICS 4
extern const char *const harness_command_timing_names[HARNESS_COMMAND_TIMING_METRICS];

#define HARNESS_MAX_PARAMETERS 8
typedef struct harness_variant {
    char name[64];
    char description[256];
    int n_parameters;        /* what a parameter scan substituted ("parameters") */
    char parameter_names[HARNESS_MAX_PARAMETERS][32];
    char parameter_values[HARNESS_MAX_PARAMETERS][128];
    harness_workload workload;   /* base workload with the variant's overrides */
} harness_variant;

typedef enum harness_order {
    HARNESS_ORDER_SEQUENTIAL = 0,
    HARNESS_ORDER_INTERLEAVED,
    HARNESS_ORDER_RANDOM,
    HARNESS_ORDER_ABBA   /* interleaved, every other round reversed */
} harness_order;
typedef enum harness_cooldown_mode { HARNESS_COOLDOWN_NONE = 0, HARNESS_COOLDOWN_FIXED, HARNESS_COOLDOWN_TEMPERATURE } harness_cooldown_mode;
typedef enum harness_stop_rule { HARNESS_STOP_FIXED = 0, HARNESS_STOP_ADAPTIVE } harness_stop_rule;

typedef struct harness_config {
    char source[512];            /* file the config came from, or "<built-in default>" */
    char name[128];
    char description[1024];
    harness_workload workload;
    int n_variants;
    harness_variant variants[HARNESS_MAX_VARIANTS];
    char primary_metric[64];
    int repetitions;             /* measured runs per variant (adaptive: the minimum) */
    int warmup;                  /* warm-up runs per variant */
    harness_order order;
    uint64_t order_seed;
    struct {
        harness_cooldown_mode mode;
        double seconds;          /* fixed */
        char channel[96];        /* temperature: "" = first temperature channel */
        double within_c;         /* temperature: wait until <= baseline + within_c */
        double below_c;          /* temperature: or until <= below_c (NAN: unused) */
        double idle_c;           /* temperature: the idle level, when known (NAN: found at start) */
        double timeout_s;
        double baseline_s;       /* idle baseline measured over this long at start */
        int poll_ms;
    } cooldown;
    struct {
        bool enabled;
        int fast_period_ms, slow_period_ms;
        char only[128];          /* "" = all sources */
        char root[512];          /* testing: fake /sys and /proc tree */
        char nvml_library[512];  /* "" = libnvidia-ml.so.1 */
        bool perf_hardware;
    } probes;
    double run_timeout_s;
    int n_cpus;                  /* 0: no affinity */
    int cpus[HARNESS_MAX_CPUS];
    struct {
        harness_stop_rule rule;
        double target_ci_pct;    /* adaptive: 95% CI half-width, % of the mean */
        int max_repetitions;
    } stop;
    struct {
        int count;               /* sessions: separate processes, each with its own warm-up (default 1) */
        double pause_s;          /* idle wait between sessions */
    } sessions;
    char output_dir[512];        /* "" = results/<timestamp>-<name> */
} harness_config;

/* Loads and validates a config; errors name the file, the JSON path and what
 * was expected (err->kind HARNESS_ERR_INPUT). *out is freed with free(). */
int harness_config_load_file(const char *path, harness_config **out, harness_error *err);
int harness_config_load_text(const char *text, const char *source, harness_config **out,
                             harness_error *err);
/* The config as run, defaults filled in, as JSON text (malloc'd); loading it
 * gives back the same config. */
char *harness_config_to_json_text(const harness_config *c);
/* A metric a variant produces: name, unit, direction and where the value
 * comes from (engine: its metric table's row; command: the JSON path or
 * regex applied to its stdout). */
typedef struct harness_metric {
    char name[64];
    char unit[32];
    bool higher_is_better;
    char source[300];
} harness_metric;

#define HARNESS_MAX_WORKLOAD_METRICS (HARNESS_MAX_METRICS + 16)

/* The metrics of a workload, in the order its runs report values: the
 * engine's metric table or the command's metrics. Returns the count. */
int harness_workload_metrics(const harness_workload *w, harness_metric *out, int max);
/* Index of the config's primary metric among a workload's metrics (0 if absent). */
int harness_primary_metric_index(const harness_config *c, const harness_workload *w);

/* ---- plan and statistics --------------------------------------------- */

typedef struct harness_run_record {
    int variant;
    bool warmup;
    bool ok;
    double primary;      /* NAN when failed or missing */
    int session;         /* which session ran it */
} harness_run_record;

/* The next run after `done` runs: 1 with *variant and *warmup set, 0 when the
 * experiment is finished. Deterministic in (config, history), so a resumed
 * experiment continues exactly where it stopped. */
int harness_plan_next(const harness_config *c, const harness_run_record *done, int n_done,
                      int *variant, bool *warmup);
/* The same within session `session` of an experiment split into
 * config.sessions.count sessions: each session repeats the warm-up and gets
 * its share of the measured rounds (0 when that share is done). */
int harness_plan_next_in_session(const harness_config *c, const harness_run_record *done, int n_done, int session,
                                 int *variant, bool *warmup);
/* Upper bound on the runs still to come (for the time-left estimate). */
int harness_plan_remaining(const harness_config *c, const harness_run_record *done, int n_done);
/* 95% CI half-width of the mean as % of |mean| (NAN for n < 2 or mean 0). */
double harness_ci_half_width_pct(const double *x, int n);

/* ---- running ----------------------------------------------------------- */

typedef struct harness_run_options {
    const char *out_dir;     /* NULL: config's output_dir, else results/<ts>-<name> */
    bool strict;             /* refuse to start when preflight warns */
    bool quiet;              /* no progress output */
    bool wait_for_lock;      /* another writer holds the results directory: wait for it, not exit 1 */
} harness_run_options;

typedef enum harness_status {
    HARNESS_COMPLETE = 0,
    HARNESS_INTERRUPTED,     /* SIGINT/SIGTERM: results written, resumable */
    HARNESS_REFUSED          /* --strict and preflight warned */
} harness_status;

typedef struct harness_outcome {
    harness_status status;
    char dir[1024];          /* the experiment directory */
    int runs_total, runs_failed;
} harness_outcome;

/* Installs SIGINT/SIGTERM handlers that set a flag the runner checks. The
 * first signal stops after the current run (a command is ended at once); a
 * second one shortens a command's grace period to nothing, and outside a
 * command (an engine run cannot be stopped) ends the harness. */
void harness_install_signal_handlers(void);
bool harness_interrupted(void);
int harness_interrupt_count(void);

/* Runs an experiment into a new directory. */
int harness_experiment_run(const harness_config *c, const harness_run_options *o,
                           harness_outcome *out, harness_error *err);
/* Continues an interrupted experiment in `dir` (its config.json and results.json). */
int harness_experiment_resume(const char *dir, const harness_run_options *o,
                              harness_outcome *out, harness_error *err);

/* ---- pieces the runner uses (exposed for tests) ----------------------- */

/* What the harness kept of one output stream: the first HARNESS_CAPTURE_HEAD
 * bytes and the last HARNESS_CAPTURE_TAIL bytes; `omitted` bytes between them
 * were read and dropped (0 unless the stream was longer than both). */
#define HARNESS_CAPTURE_HEAD (1u << 20)
#define HARNESS_CAPTURE_TAIL (1u << 20)
typedef struct harness_capture {
    char *data;              /* head then tail, NUL-terminated (may hold NULs itself) */
    size_t len;              /* bytes in data */
    size_t head_len;         /* data[0, head_len) is the head, the rest the tail */
    uint64_t total;          /* bytes the command wrote */
    uint64_t omitted;        /* total - len */
} harness_capture;

/* Result of one external command run. */
typedef struct harness_command_result {
    bool ok;
    char failure[512];       /* why it failed ("" when ok) */
    int exit_status;         /* -1 if killed or not started */
    int term_signal;         /* 0 unless killed by a signal */
    bool timed_out, interrupted;
    double started_ms;       /* CLOCK_MONOTONIC (ms) just before the spawn */
    double wall_ms;          /* spawn to exit, CLOCK_MONOTONIC */
    double spawn_ms;         /* part of wall_ms until the program was exec'd */
    double user_ms, sys_ms;  /* CPU time of the command and its waited-for children */
    double max_rss_bytes;    /* peak RSS of the largest of them */
    double reap_ms;          /* after exit: reaping, ending leftovers, draining pipes */
    int leftovers_killed;    /* processes still running at exit that the harness ended */
    double metrics[HARNESS_MAX_METRICS];   /* read from stdout; NAN when not found */
    harness_capture out, err;
} harness_command_result;

typedef struct harness_exec_options {
    double timeout_s;        /* 0: none */
    harness_output output;
    bool keep_leftovers;     /* what it leaves running stays (a setup that starts a server) */
} harness_exec_options;

/* Starts argv (no shell) with stdin /dev/null in its own process group,
 * waits for it (timeout, SIGINT/SIGTERM: SIGTERM to the group, SIGKILL after
 * a grace period that a second signal cuts short), and ends whatever it left
 * running: its group, and descendants that left the group (setsid), which
 * the harness adopts as a child subreaper. Fills the timing fields, exit
 * status and captures; r->ok is false when it could not start, failed, was
 * killed or timed out. Returns -1 only when the harness itself failed. */
int harness_command_exec(const harness_argv *argv, const harness_exec_options *o,
                         harness_command_result *r, harness_error *err);
/* harness_command_exec of w->argv, then the metrics read from its stdout. */
int harness_command_run(const harness_workload *w, double timeout_s, harness_command_result *r,
                        harness_error *err);
void harness_command_result_free(harness_command_result *r);
/* Value at a JSON path ("a.b[2].c") in JSON text; 0 and *out, or -1. */
int harness_json_path_number(const char *json_text, const char *path, double *out);
/* The same over len bytes that may hold NULs: the whole text, then each line
 * starting with '{' or '[' from the last one up. */
int harness_json_path_number_n(const char *text, size_t len, const char *path, double *out);
/* First match of a regex's group 1 as a number; 0 and *out, or -1. */
int harness_regex_number(const char *text, const char *regex, double *out, harness_error *err);
int harness_regex_number_n(const char *text, size_t len, const char *regex, double *out, harness_error *err);

/* ---- build provenance -------------------------------------------------- */

/* What this binary is, recorded when it was built (cmake/build_info.cmake
 * regenerates it at every build, not at configure time). */
typedef struct harness_build_info {
    const char *version;        /* "0.1.0" */
    const char *git_commit;     /* 12 hex digits of HEAD, or "unknown" outside a git checkout */
    int git_dirty;              /* 1: tracked files differed from that commit; 0: clean; -1: unknown */
    const char *compiler;       /* "GNU 12.2.0" */
    const char *build_type;     /* "Release", "RelWithDebInfo", ... */
    const char *cflags;         /* this build's C flags (build type's and the project's options) */
    const char *sanitizers;     /* "address,undefined" in a sanitizer build, else "" */
} harness_build_info;

extern const harness_build_info harness_build;

/* "0.1.0 (1a2b3c4d5e6f, dirty), Release, GNU 12.2.0": one line for --version and logs. */
void harness_build_describe(char *buf, size_t n);

/* ---- documents for the CLI: the same sections results.json uses ---- */

/* `thermabench bench --json`: one measurement with its model and setup. */
typedef struct harness_bench_report {
    const engine_model *model;
    const char *preset;              /* NULL for a model file */
    uint64_t seed;
    int batch_size, input_len, output_len, warmup, threads;
    const char *backend, *kernels;
    const engine_bench_result *result;
    const engine_kernel_time *kernel_times;   /* OpenCL per-kernel times; NULL: not asked for */
    int n_kernel_times;
    const engine_roofline *roofline;          /* NULL: not measured */
} harness_bench_report;
char *harness_bench_json(const harness_bench_report *b);   /* malloc'd text, NULL: out of memory */

/* `thermabench probe --json`: every source, every channel's value (and
 * rate per second of the counters when rate != NULL), the notes. */
char *harness_probe_json(const probe_set *ps, const double *values, const double *rate);

/* Writes `data` to `path` atomically: temporary file in the same directory,
 * fsync, rename, fsync of the directory. */
int harness_write_atomic(const char *path, const char *data, size_t len, harness_error *err);

#endif
