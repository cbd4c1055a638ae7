/* A fake libnvidia-ml for the probes tests: one GPU whose readings the test
 * sets through fake_nvml_set(). Only the NVML calls the probes use exist.
 * Instant power (field 186) and the 1 s average differ on purpose, so a test
 * can tell which one was read. */
#include <string.h>

typedef struct { unsigned long long total, free, used; } nvml_memory;
typedef struct { unsigned int gpu, memory; } nvml_utilization;
typedef struct { unsigned long long reference_time, violation_time; } nvml_violation;
typedef union { double d; unsigned int ui; unsigned long ul; unsigned long long ull;
                signed long long sll; signed int si; unsigned short us; } nvml_value;
typedef struct {
    unsigned int field_id, scope_id;
    long long timestamp, latency_us;
    int value_type, nvml_return;
    nvml_value value;
} nvml_field_value;

enum { OK = 0, ERR_INVALID = 2, ERR_NOT_SUPPORTED = 3, ERR_GPU_LOST = 15 };

static struct {
    double temp_c, instant_mw, average_mw, energy_mj, sm_mhz, mem_mhz, reasons;
    double power_violation_ns, thermal_violation_ns, mem_used, util, pstate;
    double no_instant, lost, init_fails;
    double power_limit_mw, slowdown_c, gpu_max_c, processes, no_thresholds;
} st = {45, 250000, 100000, 1000000, 1980, 2619, 0, 0, 0, 1 << 30, 97, 0, 0, 0, 0, 700000, 90, 87, 0, 0};
static int dummy_device;

#define GPU_CHECK(dev) do { if ((dev) != (void *)&dummy_device) return ERR_INVALID; \
                            if (st.lost) return ERR_GPU_LOST; } while (0)

int fake_nvml_set(const char *what, double v)
{
    static const char *names[] = {"temp_c", "instant_mw", "average_mw", "energy_mj", "sm_mhz",
        "mem_mhz", "reasons", "power_violation_ns", "thermal_violation_ns", "mem_used", "util",
        "pstate", "no_instant", "lost", "init_fails", "power_limit_mw", "slowdown_c", "gpu_max_c",
        "processes", "no_thresholds"};
    double *fields = &st.temp_c;
    for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++)
        if (!strcmp(what, names[i])) {
            fields[i] = v;
            return 0;
        }
    return -1;
}

int nvmlInit_v2(void) { return st.init_fails ? 9 /* driver not loaded */ : OK; }
int nvmlShutdown(void) { return OK; }
const char *nvmlErrorString(int rc) { return rc == ERR_GPU_LOST ? "GPU is lost" : rc == 9 ? "Driver Not Loaded" : "fake error"; }
int nvmlDeviceGetCount_v2(unsigned int *n) { *n = 1; return OK; }
int nvmlDeviceGetHandleByIndex_v2(unsigned int i, void **dev)
{
    if (i != 0)
        return ERR_INVALID;
    *dev = &dummy_device;
    return OK;
}
int nvmlDeviceGetName(void *dev, char *name, unsigned int n)
{
    GPU_CHECK(dev);
    strncpy(name, "Fake H100", n);
    return OK;
}
int nvmlDeviceGetTemperature(void *dev, int sensor, unsigned int *t)
{
    GPU_CHECK(dev);
    *t = (unsigned int)st.temp_c;
    return sensor == 0 ? OK : ERR_INVALID;
}
int nvmlDeviceGetFieldValues(void *dev, int n, nvml_field_value *f)
{
    GPU_CHECK(dev);
    for (int i = 0; i < n; i++) {
        f[i].nvml_return = ERR_NOT_SUPPORTED;
        if (f[i].field_id == 186 && !st.no_instant) {
            f[i].nvml_return = OK;
            f[i].value_type = 1;
            f[i].value.ui = (unsigned int)st.instant_mw;
        }
    }
    return OK;
}
int nvmlDeviceGetPowerUsage(void *dev, unsigned int *mw) { GPU_CHECK(dev); *mw = (unsigned int)st.average_mw; return OK; }
int nvmlDeviceGetTotalEnergyConsumption(void *dev, unsigned long long *mj) { GPU_CHECK(dev); *mj = (unsigned long long)st.energy_mj; return OK; }
int nvmlDeviceGetClockInfo(void *dev, int type, unsigned int *mhz)
{
    GPU_CHECK(dev);
    *mhz = (unsigned int)(type == 1 ? st.sm_mhz : st.mem_mhz);
    return type == 1 || type == 2 ? OK : ERR_INVALID;
}
int nvmlDeviceGetMaxClockInfo(void *dev, int type, unsigned int *mhz)
{
    GPU_CHECK(dev);
    *mhz = type == 1 ? 1980 : 2619;
    return OK;
}
int nvmlDeviceGetCurrentClocksEventReasons(void *dev, unsigned long long *r)
{
    GPU_CHECK(dev);
    *r = (unsigned long long)st.reasons;
    return OK;
}
int nvmlDeviceGetViolationStatus(void *dev, int policy, nvml_violation *v)
{
    GPU_CHECK(dev);
    v->reference_time = 0;
    v->violation_time = (unsigned long long)(policy == 0 ? st.power_violation_ns : st.thermal_violation_ns);
    return policy == 0 || policy == 1 ? OK : ERR_NOT_SUPPORTED;
}
int nvmlDeviceGetMemoryInfo(void *dev, nvml_memory *m)
{
    GPU_CHECK(dev);
    m->total = 80ull << 30;
    m->used = (unsigned long long)st.mem_used;
    m->free = m->total - m->used;
    return OK;
}
int nvmlDeviceGetUtilizationRates(void *dev, nvml_utilization *u)
{
    GPU_CHECK(dev);
    u->gpu = (unsigned int)st.util;
    u->memory = 40;
    return OK;
}
int nvmlDeviceGetPerformanceState(void *dev, int *p) { GPU_CHECK(dev); *p = (int)st.pstate; return OK; }
int nvmlDeviceGetEnforcedPowerLimit(void *dev, unsigned int *mw) { GPU_CHECK(dev); *mw = (unsigned int)st.power_limit_mw; return OK; }
int nvmlDeviceGetTemperatureThreshold(void *dev, int which, unsigned int *t)
{
    GPU_CHECK(dev);
    if (st.no_thresholds || (which != 1 && which != 3))
        return ERR_NOT_SUPPORTED;
    *t = (unsigned int)(which == 1 ? st.slowdown_c : st.gpu_max_c);
    return OK;
}
/* As NVML: with a buffer too small (or none) for the processes, the count
 * and INSUFFICIENT_SIZE; with none running, OK and 0. */
int nvmlDeviceGetComputeRunningProcesses_v3(void *dev, unsigned int *count, void *infos)
{
    GPU_CHECK(dev);
    unsigned int n = (unsigned int)st.processes;
    int rc = n > *count || (n && !infos) ? 7 : OK;
    *count = n;
    return rc;
}
