/* Internal to harness/: what the runner's files share. */
#ifndef THERMABENCH_HARNESS_INTERNAL_H
#define THERMABENCH_HARNESS_INTERNAL_H

#include <cjson/cJSON.h>

#include "harness.h"
#include "probes.h"

cJSON *harness_config_to_json(const harness_config *c);
cJSON *harness_workload_to_json(const harness_workload *w);   /* every field */

/* preflight.c: the machine as found, and what makes numbers unreliable.
 * Paths are read under c->probes.root when set (tests use a fake tree). */
cJSON *harness_environment_json(const harness_config *c, probe_set *ps);
cJSON *harness_preflight_json(const harness_config *c, probe_set *ps, int *n_warn);

/* Reads a small file under root into buf; 0 or -1. */
int harness_read_file(const char *root, const char *path, char *buf, size_t n);

double harness_now_s(void);   /* CLOCK_MONOTONIC */

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
    double metrics[16];          /* in harness_workload_metrics order */
    int n_metrics;
    uint64_t output_hash;        /* fnv1a64 of the generated ids */
    bool have_hash;
    long tokens;                 /* prefill + decode tokens processed */
} harness_engine_result;

int harness_engine_run(harness_engine_cache *cache, int variant, const harness_workload *w,
                       probe_sampler *sampler, int run_index, int *phase_marks,
                       harness_engine_result *r);

/* cooldown.c */
typedef struct harness_cooldown_result {
    bool done;             /* a cooldown happened before this run */
    double waited_s;
    double temp_start_c, temp_end_c, target_c;
    bool timed_out;
    bool interrupted;
} harness_cooldown_result;

/* The temperature channel the experiment watches: the config's; else the
 * temperature of the device the workload uses (the first GPU's for an
 * OpenCL engine workload); else the CPU package's, else the first
 * temperature channel; -1 if none. */
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
