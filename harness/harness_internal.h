/* Internal to harness/: what the runner's files share. */
#ifndef THERMABENCH_HARNESS_INTERNAL_H
#define THERMABENCH_HARNESS_INTERNAL_H

#include <cjson/cJSON.h>

#include "harness.h"
#include "probes.h"

cJSON *harness_config_to_json(const harness_config *c);
cJSON *harness_workload_to_json(const harness_workload *w);   /* every field */
void harness_variant_parameters_json(cJSON *o, const harness_variant *v);   /* "parameters", if any */

/* results.c: the one writer of results.json's sections (docs/RESULTS.md). */
void harness_json_add_number(cJSON *o, const char *key, double v);   /* null unless finite */
void harness_utc_now(char *buf, size_t n);                           /* "2026-12-07T20:00:00Z" */
cJSON *harness_results_model(const engine_model *m);
cJSON *harness_results_build(void);     /* harness_build as environment.build */
cJSON *harness_results_metric_table(const harness_metric *m, int n);
cJSON *harness_results_probe_sources(const probe_set *ps);
/* environment (with the build, the engine's default kernels and the probe
 * sources) and preflight, for the top level and each resumed session */
struct harness_environment;
struct harness_preflight;
cJSON *harness_results_environment(const struct harness_environment *e, const probe_set *ps);
cJSON *harness_results_preflight(const struct harness_preflight *p);
/* The telemetry of the interval between two marks: the probes' headline
 * for the device and every channel's summary; null without a sampler. */
cJSON *harness_results_telemetry(const probe_set *ps, const probe_sampler *s, int mark_begin, int mark_end,
                                 probe_device dev, int temp_channel, double tokens);
/* The top level of a new results file (takes environment and preflight). */
cJSON *harness_results_new(const harness_config *c, cJSON *environment, cJSON *preflight);
/* A variant's engine kernels and model, known after its first run. */
void harness_results_variant_engine(cJSON *doc, int variant, const char *kernels, const engine_model *m);
void harness_results_output_agreement(cJSON *doc, const harness_config *c);

typedef struct harness_cooldown_result harness_cooldown_result;

/* One run as the runner saw it; harness_results_run takes over the cJSON
 * telemetry objects. */
typedef struct harness_run_entry {
    int index, session;
    const char *variant;
    bool warmup, ok, engine;
    const char *failure;                 /* when !ok */
    double started_s, wall_ms;
    int n_metrics;
    const harness_metric *metrics;       /* the workload's metrics ... */
    const double *values;                /* ... and their values, NAN where missing */
    bool have_hash;
    uint64_t output_hash;
    int exit_status, term_signal;        /* -1 / 0: none */
    const harness_command_result *command;   /* command runs that ran: timing and captures */
    bool capture;                            /* its output was captured (not discarded) */
    cJSON *telemetry, *prefill, *decode;
    const harness_cooldown_result *cooldown;
} harness_run_entry;
cJSON *harness_results_run(const harness_run_entry *r);
/* "harness_overhead": medians of the harness's own time per command run
 * (x arrays are sorted in place); nothing when n is 0. */
void harness_results_overhead(cJSON *doc, double *spawn_ms, double *reap_ms, double *bookkeeping_ms, int n);

/* preflight.c: the machine as found, and what makes numbers unreliable.
 * Paths are read under c->probes.root when set (tests use a fake tree). */
typedef struct harness_environment {
    char hostname[256];        /* "" unknown */
    char cpu_model[256];       /* "" unknown */
    char microcode[64];        /* /proc/cpuinfo "microcode"; "" where the kernel does not show it */
    long cpus_online;
    char kernel[512];          /* "Linux 6.1.0 x86_64"; "" unknown */
    char governor[64];         /* "performance" when every CPU is; "" without cpufreq */
    int turbo;                 /* 1 on, 0 off, -1 unknown */
    long long mem_total_bytes; /* -1 unknown */
} harness_environment;
void harness_environment_read(const harness_config *c, harness_environment *e);

#define HARNESS_MAX_CHECKS 16
typedef struct harness_check {
    char check[32];            /* "governor", "turbo", "load", ... */
    char status[8];            /* "ok", "warn", "unknown" */
    char detail[512];
} harness_check;
typedef struct harness_preflight {
    int n, n_warn;
    harness_check checks[HARNESS_MAX_CHECKS];
} harness_preflight;
void harness_preflight_run(const harness_config *c, probe_set *ps, harness_preflight *out);

/* files.c. harness_sys_fail formats err->msg (HARNESS_ERR_SYSTEM) and returns -1. */
int harness_sys_fail(harness_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int harness_mkdir_p(const char *path);   /* 0 or -1 with errno */

/* Reads a small file under root into buf; 0 or -1. */
int harness_read_file(const char *root, const char *path, char *buf, size_t n);

double harness_now_s(void);   /* CLOCK_MONOTONIC */

/* command.c tells the signal handler (runner.c) whether a command is
 * running: then a second SIGINT/SIGTERM only hastens its end. */
void harness_command_live(bool live);
/* results_lock.c: the exclusive lock of a results directory, held from here
 * until harness_results_unlock (or the process ends); stale temporary files
 * of a killed writer are removed once it is held. Returns the lock's file
 * descriptor, or -1 with err set (another writer holds it and wait is false:
 * the message says so and names its pid). */
int harness_results_lock(const char *dir, bool wait, harness_error *err);
void harness_results_unlock(int fd);

/* engine_run.c: one in-process engine run. Models and sessions are cached
 * per variant across runs. */
typedef struct harness_engine_cache harness_engine_cache;
harness_engine_cache *harness_engine_cache_new(int n_variants);
void harness_engine_cache_free(harness_engine_cache *c);
/* The kernels a variant's session uses ("" before its first run). */
const char *harness_engine_cache_kernels(harness_engine_cache *c, int variant);
/* The model a variant's session runs (NULL before its first run). */
const engine_model *harness_engine_cache_model(harness_engine_cache *c, int variant);

typedef struct harness_engine_result {
    bool ok;
    char failure[1024];
    double wall_ms;
    double metrics[HARNESS_MAX_WORKLOAD_METRICS];   /* in harness_workload_metrics order */
    int n_metrics;
    uint64_t output_hash;        /* engine_bench_result.output_tokens_hash */
    long tokens;                 /* prefill + decode tokens processed */
} harness_engine_result;

int harness_engine_run(harness_engine_cache *cache, int variant, const harness_workload *w,
                       probe_sampler *sampler, int run_index, int *phase_marks,
                       harness_engine_result *r);

/* cooldown.c */
struct harness_cooldown_result {
    bool done;             /* a cooldown happened before this run */
    double waited_s;
    double temp_start_c, temp_end_c, target_c;
    bool timed_out;
    bool interrupted;
};

/* The device a workload runs on (OpenCL engine runs: the GPU). */
probe_device harness_workload_device(const harness_workload *w);
/* The temperature channel the experiment watches: the config's; else the
 * temperature of the device the workload uses (the GPU's when any variant
 * runs the engine on OpenCL), as the probes choose it; -1 if none. */
int harness_temp_channel(const harness_config *c, probe_set *ps);
void harness_cooldown(const harness_config *c, probe_sampler *s, int channel, double baseline_c,
                      harness_cooldown_result *r);
/* Sleeps up to seconds, returning early on an interrupt. */
void harness_sleep_s(double seconds);

/* idle_temp.c: the idle temperature a cooldown returns to. */
typedef struct harness_idle {
    double baseline_c;     /* what the cooldown returns to (NAN: unknown) */
    char source[32];       /* "config", "cold reading", "stored", "start reading", "none" */
    double start_c;        /* mean of the channel over baseline_s at the start */
    double stored_c;       /* the stored idle temperature of this device, NAN if none */
    bool busy, cooling, cold;
    char detail[256];
} harness_idle;
/* cooldown.idle_c if set; else the start reading when the device is idle and
 * not cooling (a cold reading, stored for later experiments); else the
 * stored idle temperature of this host, channel and device; else the start
 * reading, with a detail saying it may be above idle. */
void harness_idle_baseline(const harness_config *c, probe_set *ps, probe_sampler *s, int channel,
                           harness_idle *out);
/* $THERMABENCH_STATE_DIR/FILE, else $XDG_STATE_HOME/thermabench/FILE, else
 * ~/.local/state/thermabench/FILE; -1 when none can be formed. */
int harness_state_path(char *out, size_t n, const char *file);
/* The stored idle temperature of a channel's device (0), or -1; when gets its UTC date. */
int harness_idle_lookup(const probe_set *ps, int channel, double *idle_c, char *when, size_t n);
int harness_idle_store(const probe_set *ps, int channel, double idle_c);
/* values[channel PREFIX SUFFIX] ("gpu0." "util_pct"), NAN when there is no such channel. */
double harness_device_reading(const probe_set *ps, const double *values, const char *prefix, const char *suffix);

#endif
