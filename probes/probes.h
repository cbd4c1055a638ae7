/* thermabench probes: telemetry sources behind one interface, and a sampler
 * thread that records them on CLOCK_MONOTONIC together with phase marks.
 *
 * Sources: hwmon (libsensors), thermal zones, RAPL, cpufreq, Intel
 * thermal_throttle, memory pressure (PSI, meminfo, vmstat, RSS, cgroup v2),
 * perf_event (libpfm4), NVIDIA GPUs (NVML, loaded at run time).
 * A source that cannot work here is reported unavailable with the reason;
 * nothing is faked or zero-filled: a value that could not be read is NAN.
 *
 * The probes know nothing of the harness. */
#ifndef THERMABENCH_PROBES_H
#define THERMABENCH_PROBES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct probe_error {
    char msg[512];
} probe_error;

typedef enum probe_channel_kind {
    PROBE_GAUGE = 0,   /* a level: temperature, clock, watts, bytes */
    PROBE_COUNTER      /* cumulative: joules, microseconds stalled, events */
} probe_channel_kind;

typedef enum probe_tier {
    PROBE_TIER_FAST = 0,  /* every fast period (default 100 ms) */
    PROBE_TIER_SLOW       /* every slow period (default 1 s): expensive reads */
} probe_tier;

typedef struct probe_channel {
    char name[96];        /* stable, documented: "cpu.pkg.temp_c", "gpu0.power_w" */
    char unit[16];        /* "c", "w", "j", "mhz", "us", "bytes", "count", "bitmask" */
    char label[96];       /* the hardware's own label, e.g. "Tctl", "Package id 0" */
    probe_channel_kind kind;
    probe_tier tier;
    int source;           /* index into the sources */
} probe_channel;

typedef struct probe_source_status {
    char name[32];        /* "hwmon", "thermal", "rapl", "cpufreq", "throttle",
                             "memory", "perf", "nvml" */
    bool available;
    char reason[256];     /* why not, when unavailable; notes when partial */
    size_t n_channels;
} probe_source_status;

typedef struct probe_options {
    const char *root;          /* "/" unless testing on a fake tree */
    const char *nvml_library;  /* NULL: "libnvidia-ml.so.1" */
    pid_t perf_pid;            /* 0: this process (and threads started later) */
    const char *only;          /* NULL: all sources; else comma list "thermal,memory" */
    bool perf_hardware;        /* try hardware counters (cycles, instructions, ...) */
} probe_options;

void probe_options_default(probe_options *o);

typedef struct probe_set probe_set;

int probe_set_open(const probe_options *o, probe_set **out, probe_error *err);
void probe_set_close(probe_set *ps);
size_t probe_set_source_count(const probe_set *ps);
const probe_source_status *probe_set_source(const probe_set *ps, size_t i);
size_t probe_set_channel_count(const probe_set *ps);
const probe_channel *probe_set_channel(const probe_set *ps, size_t i);
/* Index of a channel by name, or -1. */
int probe_set_find(const probe_set *ps, const char *name);
/* Reads the channels of `tier` into values[channel index] (others untouched);
 * unreadable channels become NAN. Not thread-safe: one thread at a time. */
void probe_set_read(probe_set *ps, probe_tier tier, double *values);

/* Notes made while reading: a sensor that vanished (its channel reads NAN
 * from then on) or came back. Appended by the reading thread; safe to read
 * from any thread. */
typedef struct probe_note {
    int64_t t_ns;            /* CLOCK_MONOTONIC */
    int channel;             /* -1: the whole source */
    char text[160];
} probe_note;
size_t probe_set_note_count(const probe_set *ps);
const probe_note *probe_set_note(const probe_set *ps, size_t i);
/* Reads every channel of both tiers once into a fresh array (NAN where not
 * readable): for `thermabench probe`. Caller frees. */
double *probe_set_read_all(probe_set *ps);

/* ---- sampler thread and timeline ------------------------------------ */

typedef struct probe_sample {
    int64_t t_ns;            /* CLOCK_MONOTONIC */
    int64_t read_latency_ns; /* how long the reads took */
    probe_tier tier;
    const double *values;    /* probe_set_channel_count entries, NAN = not read */
} probe_sample;

typedef struct probe_mark {
    int64_t t_ns;
    char phase[32];          /* "run", "prefill", "decode", "warmup", "cooldown" */
    bool begin;
    int run_index;           /* caller's run number, -1 if none */
    const double *snapshot;  /* every counter (and fast gauge) read at the mark */
    int64_t read_latency_ns; /* how long the snapshot took */
} probe_mark;

typedef struct probe_sampler probe_sampler;

int probe_sampler_start(probe_set *ps, int fast_period_ms, int slow_period_ms,
                        probe_sampler **out, probe_error *err);
/* Records a phase boundary with a synchronous snapshot; safe from any thread.
 * Returns the mark's index. */
int probe_sampler_mark(probe_sampler *s, const char *phase, bool begin, int run_index);
void probe_sampler_stop(probe_sampler *s);      /* joins the thread; timeline stays */
void probe_sampler_free(probe_sampler *s);
size_t probe_sampler_sample_count(const probe_sampler *s);
const probe_sample *probe_sampler_sample(const probe_sampler *s, size_t i);
size_t probe_sampler_mark_count(const probe_sampler *s);
const probe_mark *probe_sampler_mark_at(const probe_sampler *s, size_t i);
/* CPU time the sampler thread has used so far (its cost to the workload). */
int64_t probe_sampler_cpu_ns(const probe_sampler *s);
/* The latest value of a channel (NAN if none yet): for progress lines and cooldown. */
double probe_sampler_latest(const probe_sampler *s, int channel);

/* ---- per-phase summaries --------------------------------------------- */

typedef enum probe_throttle {
    PROBE_THROTTLE_UNKNOWN = 0, /* no source can tell */
    PROBE_THROTTLE_NO,
    PROBE_THROTTLE_YES
} probe_throttle;

typedef struct probe_channel_summary {
    int channel;
    /* gauges */
    double start, end, min, mean, max;   /* mean is time-weighted */
    /* counters */
    double delta, rate_per_s;
    /* bitmasks (unit "bitmask"): every bit any reading had set, NAN if none */
    double bits_or;
    size_t n_samples;
} probe_channel_summary;

typedef struct probe_phase_summary {
    int64_t t_begin_ns, t_end_ns;
    size_t n_channels;
    probe_channel_summary *channels;     /* one per channel, owned */
    probe_throttle throttle;
    char throttle_cause[128];            /* "gpu0: SW power cap", "cpu thermal_throttle" */
} probe_phase_summary;

/* Finds the latest mark with this phase and direction (run_index -1: any); -1 if none. */
int probe_sampler_find_mark(const probe_sampler *s, const char *phase, bool begin, int run_index);

/* Summarises the interval between two marks (indices from probe_sampler_mark). */
int probe_summarize(const probe_sampler *s, int mark_begin, int mark_end,
                    probe_phase_summary *out, probe_error *err);
void probe_phase_summary_free(probe_phase_summary *p);

/* ---- the headline of a phase ------------------------------------------ */

/* The device a workload runs on: its headline reads that device's channels. */
typedef enum probe_device { PROBE_DEVICE_CPU = 0, PROBE_DEVICE_GPU } probe_device;

/* The few figures every run records (docs/RESULTS.md, "telemetry"), each
 * from the channel that stands for the device (docs/PROBES.md, "The
 * headline of a phase"). NAN where no channel of this machine measures it. */
typedef struct probe_headline {
    char device[8];              /* whose channels: "cpu" or "gpu0" */
    int temp_channel;            /* -1: none */
    double temp_start_c, temp_end_c, temp_peak_c;
    double power_mean_w;         /* the power gauge's mean, else energy / duration */
    double energy_j;
    double clock_mean_mhz, clock_min_mhz;
    double temp_mean_c;          /* time-weighted mean: finer than one integer reading */
    double mem_psi_some_us;      /* memory pressure: time some task stalled */
    double duration_s;
    probe_throttle throttle;
    char throttle_cause[128];
    /* a GPU's (NAN on a CPU): memory clock, the power limit it enforced,
     * NVML's violation time (power cap, thermal), utilisation, and every
     * clock-event reason read during the phase */
    double mem_clock_mean_mhz, mem_clock_min_mhz, power_limit_w;
    double power_cap_time_ms, thermal_cap_time_ms, util_mean_pct;
    double clock_event_mask;
    char clock_events[160];      /* the mask's reasons by name, "" if none */
} probe_headline;

/* NVIDIA clock-event (throttle) reason bits by name ("GPU idle, SW power
 * cap"): every bit, throttling or not; returns how many were named. */
int probe_gpu_clock_event_names(unsigned long long bits, char *out, size_t n);

/* The temperature channel that stands for a device (CPU: the package
 * sensor, else the first temperature; GPU: gpu0.temp_c), or -1. */
int probe_device_temp_channel(const probe_set *ps, probe_device dev);
/* The headline of a summarised phase. temp_channel >= 0 overrides the
 * device's temperature channel (a cooldown channel named in a config). A
 * GPU device on a machine whose probes see no GPU reads the CPU's channels
 * (an OpenCL CPU device) and says so in device. */
void probe_phase_headline(const probe_set *ps, const probe_phase_summary *s, probe_device dev, int temp_channel,
                          probe_headline *out);

/* The whole timeline with phase marks as CSV: t_s, tier, latency_ms, one
 * column per channel; marks as rows with the mark in a "mark" column. */
int probe_timeline_write_csv(const probe_sampler *s, const char *path, probe_error *err);

#endif
