/* Internal to probes/: the source interface every telemetry source
 * implements, and the small file readers they share. */
#ifndef THERMABENCH_PROBES_INTERNAL_H
#define THERMABENCH_PROBES_INTERNAL_H

#include <stdatomic.h>

#include "probes.h"

typedef struct probe_source probe_source;

/* One telemetry source. open() adds its channels with probe_add_channel and
 * returns 0 when at least one channel works, or -1 with status.reason set.
 * read() fills values[] for its channels of `tier` (NAN when unreadable). */
typedef struct probe_source_ops {
    const char *name;
    int (*open)(probe_set *ps, probe_source *src);
    void (*read)(probe_set *ps, probe_source *src, probe_tier tier, double *values);
    void (*close)(probe_source *src);
} probe_source_ops;

struct probe_source {
    const probe_source_ops *ops;
    probe_source_status status;
    int index;
    void *state;
};

#define PROBE_MAX_SOURCES 8
#define PROBE_MAX_NOTES 256

struct probe_set {
    probe_options opt;
    char root[512];             /* without a trailing slash; "" for "/" */
    probe_source sources[PROBE_MAX_SOURCES];
    size_t n_sources;
    probe_channel *channels;
    unsigned char *failing;     /* per channel: last read failed (note given) */
    size_t n_channels, cap_channels;
    /* notes (a sensor vanished, came back): appended by the reading thread,
     * published with an atomic count so readers need no lock */
    probe_note notes[PROBE_MAX_NOTES];
    atomic_size_t n_notes;
    atomic_size_t n_notes_dropped;
};

/* Adds a channel for `src`; returns its index or -1 (out of memory). */
int probe_add_channel(probe_set *ps, probe_source *src, const char *name,
                      const char *unit, const char *label,
                      probe_channel_kind kind, probe_tier tier);
/* Stores v for channel c; NAN marks a failed read and, on the first
 * failure after success, adds a note "<channel>: <why>". */
void probe_put(probe_set *ps, int c, double v, const char *why);
void probe_add_note(probe_set *ps, int channel, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void probe_reason(probe_source *src, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* root-relative path: probe_path(ps, buf, n, "/sys/class/thermal/%s", x) */
int probe_path(const probe_set *ps, char *buf, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Reads a small file whole (NUL-terminated). Returns its length or -1 with
 * errno set. */
long probe_read_file(const char *path, char *buf, size_t n);
/* Reads one integer (the whole file, surrounding white space allowed).
 * Returns 0, or -1 when unreadable (errno) or malformed (errno = EINVAL). */
int probe_read_i64(const char *path, long long *out);
int probe_read_str(const char *path, char *buf, size_t n);
/* In "key value\n" text (meminfo, vmstat, status), the number after key;
 * -1 when missing or malformed. */
int probe_find_key(const char *text, const char *key, long long *out);
int64_t probe_now_ns(void);
/* Appends the throttling causes in an NVML clock-event reason bitmask to
 * out ("SW power cap, HW slowdown"); returns how many. */
int64_t probe_sampler_t0_ns(const probe_sampler *s);
const probe_set *probe_sampler_set(const probe_sampler *s);
size_t probe_sampler_dropped(const probe_sampler *s);
int probe_gpu_throttle_cause(unsigned long long bits, char *out, size_t n);

extern const probe_source_ops probe_hwmon_ops, probe_thermal_ops, probe_rapl_ops,
    probe_cpufreq_ops, probe_throttle_ops, probe_memory_ops, probe_perf_ops,
    probe_nvml_ops;

#endif
