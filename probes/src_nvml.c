/* NVIDIA GPUs through NVML, loaded at run time with dlopen: no build-time
 * dependency, and a machine without the driver just reports "no NVML".
 * Power is the instant field value (NVML_FI_DEV_POWER_INSTANT):
 * nvmlDeviceGetPowerUsage is a 1 s trailing average on recent GPUs, wrong
 * for short phases; it is only the fallback. Total energy and the
 * violation (throttle-time) counters cost milliseconds per call, so they
 * are in the slow tier. */
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probes_internal.h"

/* The few NVML types used, as in nvml.h (stable ABI). */
typedef void *nvml_device;
typedef struct { unsigned long long total, free, used; } nvml_memory;
typedef struct { unsigned int gpu, memory; } nvml_utilization;
typedef struct { unsigned long long reference_time, violation_time; } nvml_violation;
typedef union {
    double d; unsigned int ui; unsigned long ul; unsigned long long ull;
    signed long long sll; signed int si; unsigned short us;
} nvml_value;
typedef struct {
    unsigned int field_id, scope_id;
    long long timestamp, latency_us;
    int value_type;   /* 0 double, 1 uint, 2 ulong, 3 ull, 4 sll, 5 int, 6 ushort */
    int nvml_return;
    nvml_value value;
} nvml_field_value;

enum { NVML_OK = 0, NVML_ERROR_INSUFFICIENT_SIZE = 7, NVML_TEMPERATURE_GPU = 0, NVML_CLOCK_SM = 1,
       NVML_CLOCK_MEM = 2, NVML_FI_DEV_POWER_INSTANT = 186, NVML_PERF_POLICY_POWER = 0,
       NVML_PERF_POLICY_THERMAL = 1, NVML_TEMPERATURE_THRESHOLD_SLOWDOWN = 1,
       NVML_TEMPERATURE_THRESHOLD_GPU_MAX = 3 };

typedef struct nvml_api {
    void *lib;
    int (*init)(void);
    int (*shutdown)(void);
    const char *(*error_string)(int);
    int (*count)(unsigned int *);
    int (*handle)(unsigned int, nvml_device *);
    int (*name)(nvml_device, char *, unsigned int);
    int (*temperature)(nvml_device, int, unsigned int *);
    int (*field_values)(nvml_device, int, nvml_field_value *);
    int (*power_usage)(nvml_device, unsigned int *);
    int (*energy)(nvml_device, unsigned long long *);
    int (*clock)(nvml_device, int, unsigned int *);
    int (*max_clock)(nvml_device, int, unsigned int *);
    int (*reasons)(nvml_device, unsigned long long *);
    int (*violation)(nvml_device, int, nvml_violation *);
    int (*memory)(nvml_device, nvml_memory *);
    int (*utilization)(nvml_device, nvml_utilization *);
    int (*pstate)(nvml_device, int *);
    int (*power_limit)(nvml_device, unsigned int *);
    int (*temp_threshold)(nvml_device, int, unsigned int *);
    int (*processes)(nvml_device, unsigned int *, void *);
} nvml_api;

enum { C_TEMP, C_POWER, C_SM, C_MEM_CLOCK, C_REASONS, C_MEM_USED, C_UTIL, C_MEM_UTIL,
       C_PSTATE, C_ENERGY, C_POWER_CAP, C_THERMAL_CAP, C_POWER_LIMIT, C_TEMP_SLOWDOWN, C_TEMP_MAX,
       C_PROCESSES, C_COUNT };

typedef struct nvml_gpu {
    nvml_device dev;
    int ch[C_COUNT];
    bool instant_power;
} nvml_gpu;

typedef struct nvml_state {
    nvml_api api;
    nvml_gpu *gpu;
    unsigned int n_gpu;
    bool initialised;
} nvml_state;

static void *sym(void *lib, const char *a, const char *b)
{
    void *p = dlsym(lib, a);
    return p || !b ? p : dlsym(lib, b);
}

static const char *nvml_err(const nvml_api *a, int rc)
{
    return a->error_string ? a->error_string(rc) : "NVML error";
}

/* Reads one metric of one GPU; NAN when the call fails. */
static double read_metric(const nvml_api *a, nvml_gpu *g, int which, int *rc_out)
{
    unsigned int u = 0;
    unsigned long long ull = 0;
    int rc = -1, i = 0;
    double v = NAN;
    switch (which) {
    case C_TEMP: if (a->temperature && !(rc = a->temperature(g->dev, NVML_TEMPERATURE_GPU, &u))) v = u; break;
    case C_POWER:
        if (g->instant_power && a->field_values) {
            nvml_field_value f;
            memset(&f, 0, sizeof f);
            f.field_id = NVML_FI_DEV_POWER_INSTANT;
            rc = a->field_values(g->dev, 1, &f);
            if (!rc && (rc = f.nvml_return) == 0)
                v = (f.value_type == 0 ? f.value.d : f.value_type == 3 ? (double)f.value.ull
                                                                       : (double)f.value.ui) / 1000.0;
        } else if (a->power_usage && !(rc = a->power_usage(g->dev, &u))) {
            v = u / 1000.0;
        }
        break;
    case C_SM: if (a->clock && !(rc = a->clock(g->dev, NVML_CLOCK_SM, &u))) v = u; break;
    case C_MEM_CLOCK: if (a->clock && !(rc = a->clock(g->dev, NVML_CLOCK_MEM, &u))) v = u; break;
    case C_REASONS: if (a->reasons && !(rc = a->reasons(g->dev, &ull))) v = (double)ull; break;
    case C_MEM_USED: {
        nvml_memory m;
        if (a->memory && !(rc = a->memory(g->dev, &m))) v = (double)m.used;
        break;
    }
    case C_UTIL:
    case C_MEM_UTIL: {
        nvml_utilization ut;
        if (a->utilization && !(rc = a->utilization(g->dev, &ut))) v = which == C_UTIL ? ut.gpu : ut.memory;
        break;
    }
    case C_PSTATE: if (a->pstate && !(rc = a->pstate(g->dev, &i))) v = i; break;
    case C_ENERGY: if (a->energy && !(rc = a->energy(g->dev, &ull))) v = ull / 1000.0; break;
    case C_POWER_CAP:
    case C_THERMAL_CAP: {
        nvml_violation vt;
        int policy = which == C_POWER_CAP ? NVML_PERF_POLICY_POWER : NVML_PERF_POLICY_THERMAL;
        if (a->violation && !(rc = a->violation(g->dev, policy, &vt))) v = vt.violation_time / 1e6;
        break;
    }
    case C_POWER_LIMIT: if (a->power_limit && !(rc = a->power_limit(g->dev, &u))) v = u / 1000.0; break;
    case C_TEMP_SLOWDOWN:
    case C_TEMP_MAX: {
        int t = which == C_TEMP_SLOWDOWN ? NVML_TEMPERATURE_THRESHOLD_SLOWDOWN : NVML_TEMPERATURE_THRESHOLD_GPU_MAX;
        if (a->temp_threshold && !(rc = a->temp_threshold(g->dev, t, &u))) v = u;
        break;
    }
    case C_PROCESSES:
        /* With no buffer NVML returns the count: OK when there are none,
         * INSUFFICIENT_SIZE when there are some. */
        if (a->processes) {
            u = 0;
            rc = a->processes(g->dev, &u, NULL);
            if (rc == NVML_ERROR_INSUFFICIENT_SIZE)
                rc = NVML_OK;
            if (rc == NVML_OK)
                v = u;
        }
        break;
    }
    if (rc_out)
        *rc_out = rc;
    return v;
}

static const struct { const char *suffix, *unit; probe_channel_kind kind; probe_tier tier; } metric_info[C_COUNT] = {
    [C_TEMP] = {"temp_c", "c", PROBE_GAUGE, PROBE_TIER_FAST},
    [C_POWER] = {"power_w", "w", PROBE_GAUGE, PROBE_TIER_FAST},
    [C_SM] = {"sm_clock_mhz", "mhz", PROBE_GAUGE, PROBE_TIER_FAST},
    [C_MEM_CLOCK] = {"mem_clock_mhz", "mhz", PROBE_GAUGE, PROBE_TIER_FAST},
    [C_REASONS] = {"throttle_reasons", "bitmask", PROBE_GAUGE, PROBE_TIER_FAST},
    [C_MEM_USED] = {"mem_used_bytes", "bytes", PROBE_GAUGE, PROBE_TIER_FAST},
    [C_UTIL] = {"util_pct", "pct", PROBE_GAUGE, PROBE_TIER_FAST},
    [C_MEM_UTIL] = {"mem_util_pct", "pct", PROBE_GAUGE, PROBE_TIER_FAST},
    [C_PSTATE] = {"pstate", "count", PROBE_GAUGE, PROBE_TIER_FAST},
    [C_ENERGY] = {"energy_j", "j", PROBE_COUNTER, PROBE_TIER_SLOW},
    [C_POWER_CAP] = {"power_cap_time_ms", "ms", PROBE_COUNTER, PROBE_TIER_SLOW},
    [C_THERMAL_CAP] = {"thermal_cap_time_ms", "ms", PROBE_COUNTER, PROBE_TIER_SLOW},
    [C_POWER_LIMIT] = {"power_limit_w", "w", PROBE_GAUGE, PROBE_TIER_SLOW},
    [C_TEMP_SLOWDOWN] = {"temp_slowdown_c", "c", PROBE_GAUGE, PROBE_TIER_SLOW},
    [C_TEMP_MAX] = {"temp_max_c", "c", PROBE_GAUGE, PROBE_TIER_SLOW},
    [C_PROCESSES] = {"compute_processes", "count", PROBE_GAUGE, PROBE_TIER_SLOW},
};

static void load_api(nvml_api *a, void *lib)
{
    a->lib = lib;
    a->init = sym(lib, "nvmlInit_v2", "nvmlInit");
    a->shutdown = sym(lib, "nvmlShutdown", NULL);
    a->error_string = sym(lib, "nvmlErrorString", NULL);
    a->count = sym(lib, "nvmlDeviceGetCount_v2", "nvmlDeviceGetCount");
    a->handle = sym(lib, "nvmlDeviceGetHandleByIndex_v2", "nvmlDeviceGetHandleByIndex");
    a->name = sym(lib, "nvmlDeviceGetName", NULL);
    a->temperature = sym(lib, "nvmlDeviceGetTemperature", NULL);
    a->field_values = sym(lib, "nvmlDeviceGetFieldValues", NULL);
    a->power_usage = sym(lib, "nvmlDeviceGetPowerUsage", NULL);
    a->energy = sym(lib, "nvmlDeviceGetTotalEnergyConsumption", NULL);
    a->clock = sym(lib, "nvmlDeviceGetClockInfo", NULL);
    a->max_clock = sym(lib, "nvmlDeviceGetMaxClockInfo", NULL);
    a->reasons = sym(lib, "nvmlDeviceGetCurrentClocksEventReasons", "nvmlDeviceGetCurrentClocksThrottleReasons");
    a->violation = sym(lib, "nvmlDeviceGetViolationStatus", NULL);
    a->memory = sym(lib, "nvmlDeviceGetMemoryInfo", NULL);
    a->utilization = sym(lib, "nvmlDeviceGetUtilizationRates", NULL);
    a->pstate = sym(lib, "nvmlDeviceGetPerformanceState", NULL);
    a->power_limit = sym(lib, "nvmlDeviceGetEnforcedPowerLimit", NULL);
    a->temp_threshold = sym(lib, "nvmlDeviceGetTemperatureThreshold", NULL);
    a->processes = sym(lib, "nvmlDeviceGetComputeRunningProcesses_v3", "nvmlDeviceGetComputeRunningProcesses");
}

static void open_gpu(probe_set *ps, probe_source *src, nvml_state *st, unsigned int i)
{
    nvml_gpu *g = &st->gpu[i];
    char gpu_name[96] = "";
    for (int k = 0; k < C_COUNT; k++)
        g->ch[k] = -1;
    if (st->api.handle(i, &g->dev))
        return;
    if (st->api.name)
        st->api.name(g->dev, gpu_name, sizeof gpu_name);
    g->instant_power = true;
    if (isnan(read_metric(&st->api, g, C_POWER, NULL)))
        g->instant_power = false;  /* older driver: fall back to the 1 s average */
    for (int k = 0; k < C_COUNT; k++) {
        if (isnan(read_metric(&st->api, g, k, NULL)))
            continue;  /* not supported on this GPU */
        char name[96], label[96];
        unsigned int max_mhz = 0;
        snprintf(name, sizeof name, "gpu%u.%s", i, metric_info[k].suffix);
        snprintf(label, sizeof label, "%s", gpu_name);
        if ((k == C_SM || k == C_MEM_CLOCK) && st->api.max_clock
            && !st->api.max_clock(g->dev, k == C_SM ? NVML_CLOCK_SM : NVML_CLOCK_MEM, &max_mhz))
            snprintf(label, sizeof label, "%.60s, max %u MHz", gpu_name, max_mhz);
        if (k == C_POWER && !g->instant_power)
            snprintf(label, sizeof label, "%.60s, 1 s average", gpu_name);
        g->ch[k] = probe_add_channel(ps, src, name, metric_info[k].unit, label,
                                     metric_info[k].kind, metric_info[k].tier);
    }
}

static int nvml_open(probe_set *ps, probe_source *src)
{
    const char *path = ps->opt.nvml_library ? ps->opt.nvml_library : "libnvidia-ml.so.1";
    void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const char *e = dlerror();
        probe_reason(src, "no NVML (%.200s)", e ? e : path);
        return -1;
    }
    nvml_state *st = calloc(1, sizeof *st);
    if (!st) {
        dlclose(lib);
        probe_reason(src, "out of memory");
        return -1;
    }
    src->state = st;
    load_api(&st->api, lib);
    if (!st->api.init || !st->api.count || !st->api.handle) {
        probe_reason(src, "%s lacks nvmlInit/nvmlDeviceGetCount/nvmlDeviceGetHandleByIndex", path);
        return -1;
    }
    int rc = st->api.init();
    if (rc) {
        probe_reason(src, "nvmlInit: %s", nvml_err(&st->api, rc));
        return -1;
    }
    st->initialised = true;
    unsigned int n = 0;
    if ((rc = st->api.count(&n)) || n == 0) {
        probe_reason(src, rc ? "nvmlDeviceGetCount: %s" : "NVML sees no GPU%s", rc ? nvml_err(&st->api, rc) : "");
        return -1;
    }
    st->gpu = calloc(n, sizeof *st->gpu);
    if (!st->gpu) {
        probe_reason(src, "out of memory");
        return -1;
    }
    st->n_gpu = n;
    for (unsigned int i = 0; i < n; i++)
        open_gpu(ps, src, st, i);
    if (!src->status.n_channels) {
        probe_reason(src, "%u GPU(s) but no readable metric", n);
        return -1;
    }
    return 0;
}

static void nvml_read(probe_set *ps, probe_source *src, probe_tier tier, double *values)
{
    nvml_state *st = src->state;
    for (unsigned int i = 0; i < st->n_gpu; i++) {
        nvml_gpu *g = &st->gpu[i];
        for (int k = 0; k < C_COUNT; k++) {
            if (g->ch[k] < 0 || metric_info[k].tier != tier)
                continue;
            int rc;
            double v = read_metric(&st->api, g, k, &rc);
            char why[128];
            snprintf(why, sizeof why, "NVML: %s", nvml_err(&st->api, rc));
            values[g->ch[k]] = v;
            probe_put(ps, g->ch[k], v, why);
        }
    }
}

static void nvml_close(probe_source *src)
{
    nvml_state *st = src->state;
    if (!st)
        return;
    if (st->initialised && st->api.shutdown)
        st->api.shutdown();
    dlclose(st->api.lib);
    free(st->gpu);
    free(st);
    src->state = NULL;
}

const probe_source_ops probe_nvml_ops = {"nvml", nvml_open, nvml_read, nvml_close};

/* Clock-event reasons that mean the GPU was slowed against its will (idle,
 * application clocks, sync boost and display are not throttling). */
int probe_gpu_throttle_cause(unsigned long long bits, char *out, size_t n)
{
    static const struct { unsigned long long bit; const char *what; } causes[] = {
        {0x4, "SW power cap"}, {0x8, "HW slowdown"}, {0x20, "SW thermal slowdown"},
        {0x40, "HW thermal slowdown"}, {0x80, "HW power brake"},
    };
    int found = 0;
    size_t len = strlen(out);
    for (size_t i = 0; i < sizeof causes / sizeof causes[0]; i++) {
        if (!(bits & causes[i].bit))
            continue;
        snprintf(out + len, n > len ? n - len : 0, "%s%s", found++ || len ? ", " : "", causes[i].what);
        len = strlen(out);
    }
    return found;
}

int probe_gpu_clock_event_names(unsigned long long bits, char *out, size_t n)
{
    static const struct { unsigned long long bit; const char *what; } names[] = {
        {0x1, "GPU idle"}, {0x2, "application clocks"}, {0x4, "SW power cap"}, {0x8, "HW slowdown"},
        {0x10, "sync boost"}, {0x20, "SW thermal slowdown"}, {0x40, "HW thermal slowdown"},
        {0x80, "HW power brake"}, {0x100, "display clock"},
    };
    int found = 0;
    size_t len = 0;
    if (n)
        out[0] = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (!(bits & names[i].bit))
            continue;
        snprintf(out + len, n > len ? n - len : 0, "%s%s", found++ ? ", " : "", names[i].what);
        len = strlen(out);
    }
    return found;
}
