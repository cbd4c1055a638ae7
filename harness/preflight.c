/* The environment a results file records, and the preflight checks: what
 * makes numbers unreliable (governor, turbo, load, busy processes, memory
 * pressure, swap, battery, a hot or busy GPU). */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "harness_internal.h"

/* Messages and paths are bounded buffers; cutting one short is intended. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

double harness_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int harness_read_file(const char *root, const char *path, char *buf, size_t n)
{
    char full[1024];
    snprintf(full, sizeof full, "%s%s", root && *root ? root : "", path);
    FILE *f = fopen(full, "r");
    if (!f) return -1;
    size_t len = fread(buf, 1, n - 1, f);
    fclose(f);
    buf[len] = 0;
    while (len && (buf[len - 1] == '\n' || buf[len - 1] == ' ')) buf[--len] = 0;
    return 0;
}

static const char *root_of(const harness_config *c) { return c->probes.root; }

/* "performance" when every CPU says so, the first other value otherwise,
 * "" when cpufreq is absent. */
static void governor(const char *root, char *out, size_t n, int *n_cpus, int *n_perf)
{
    *n_cpus = *n_perf = 0;
    out[0] = 0;
    for (int cpu = 0; cpu < 4096; cpu++) {
        char path[128], g[64];
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/cpufreq/scaling_governor", cpu);
        if (harness_read_file(root, path, g, sizeof g)) {
            if (cpu > 64 || *n_cpus) break;
            continue;
        }
        (*n_cpus)++;
        if (!strcmp(g, "performance")) (*n_perf)++;
        else if (!out[0] || !strcmp(out, "performance")) snprintf(out, n, "%s", g);
        if (!out[0]) snprintf(out, n, "%s", g);
    }
}

/* 1 on, 0 off, -1 unknown. */
static int turbo(const char *root)
{
    char b[32];
    if (!harness_read_file(root, "/sys/devices/system/cpu/intel_pstate/no_turbo", b, sizeof b)) return atoi(b) ? 0 : 1;
    if (!harness_read_file(root, "/sys/devices/system/cpu/cpufreq/boost", b, sizeof b)) return atoi(b) ? 1 : 0;
    return -1;
}

static long long meminfo_kb(const char *text, const char *key)
{
    const char *p = strstr(text, key);
    return p ? atoll(p + strlen(key)) : -1;
}

static void add_check(cJSON *a, const char *check, const char *status, const char *detail, int *n_warn)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "check", check);
    cJSON_AddStringToObject(o, "status", status);
    cJSON_AddStringToObject(o, "detail", detail);
    cJSON_AddItemToArray(a, o);
    if (!strcmp(status, "warn")) (*n_warn)++;
}

static void check_power(const char *root, cJSON *a, int *n_warn)
{
    char dirp[1024];
    snprintf(dirp, sizeof dirp, "%s/sys/class/power_supply", root);
    DIR *d = opendir(dirp);
    if (!d) { add_check(a, "battery", "ok", "no power supplies listed: not on battery", n_warn); return; }
    struct dirent *e;
    bool on_battery = false, any = false;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char path[512], type[32], v[32];
        snprintf(path, sizeof path, "/sys/class/power_supply/%s/type", e->d_name);
        if (harness_read_file(root, path, type, sizeof type)) continue;
        any = true;
        if (!strcmp(type, "Mains")) {
            snprintf(path, sizeof path, "/sys/class/power_supply/%s/online", e->d_name);
            if (!harness_read_file(root, path, v, sizeof v) && atoi(v) == 0) on_battery = true;
        } else if (!strcmp(type, "Battery")) {
            snprintf(path, sizeof path, "/sys/class/power_supply/%s/status", e->d_name);
            if (!harness_read_file(root, path, v, sizeof v) && !strcmp(v, "Discharging")) on_battery = true;
        }
    }
    closedir(d);
    add_check(a, "battery", on_battery ? "warn" : "ok",
              on_battery ? "running on battery: clocks and power limits differ from mains"
                         : any ? "on mains power" : "no battery", n_warn);
}

static void check_gpu(probe_set *ps, cJSON *a, int *n_warn)
{
    if (!ps) { add_check(a, "gpu", "unknown", "probes not open", n_warn); return; }
    size_t n = probe_set_channel_count(ps);
    double *v = malloc(sizeof(double) * (n ? n : 1));
    if (!v) return;
    for (size_t i = 0; i < n; i++) v[i] = NAN;
    probe_set_read(ps, PROBE_TIER_FAST, v);
    probe_set_read(ps, PROBE_TIER_SLOW, v);
    char detail[512] = "";
    bool any = false, bad = false;
    for (size_t i = 0; i < n; i++) {
        const probe_channel *ch = probe_set_channel(ps, i);
        if (strncmp(ch->name, "gpu", 3) || isnan(v[i])) continue;
        any = true;
        bool hot = !strcmp(ch->unit, "c") && v[i] > 60;
        bool busy = strstr(ch->name, "util") && v[i] > 10;
        if (hot || busy) {
            bad = true;
            snprintf(detail + strlen(detail), sizeof detail - strlen(detail), "%s%s = %.0f %s",
                     detail[0] ? ", " : "", ch->name, v[i], ch->unit);
        }
    }
    free(v);
    if (!any) add_check(a, "gpu", "ok", "no GPU found by the probes", n_warn);
    else add_check(a, "gpu", bad ? "warn" : "ok", bad ? detail : "GPUs idle and cool", n_warn);
}

cJSON *harness_preflight_json(const harness_config *c, probe_set *ps, int *n_warn)
{
    const char *root = root_of(c);
    cJSON *a = cJSON_CreateArray();
    char b[4096], d[512];
    int ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN), n_gov, n_perf;
    *n_warn = 0;

    governor(root, b, 64, &n_gov, &n_perf);
    if (!n_gov) add_check(a, "governor", "unknown", "no cpufreq scaling_governor", n_warn);
    else {
        snprintf(d, sizeof d, "%d of %d CPUs on 'performance'%s%s", n_perf, n_gov,
                 n_perf < n_gov ? "; others: " : "", n_perf < n_gov ? b : "");
        add_check(a, "governor", n_perf == n_gov ? "ok" : "warn", d, n_warn);
    }
    int t = turbo(root);
    add_check(a, "turbo", t < 0 ? "unknown" : t ? "warn" : "ok",
              t < 0 ? "no intel_pstate/no_turbo or cpufreq/boost" :
              t ? "turbo/boost on: clocks depend on thermal headroom" : "turbo/boost off", n_warn);

    if (!harness_read_file(root, "/proc/loadavg", b, sizeof b)) {
        double load1 = atof(b);
        snprintf(d, sizeof d, "load average %.2f on %d CPUs", load1, ncpu);
        add_check(a, "load", load1 > 0.5 + 0.1 * ncpu ? "warn" : "ok", d, n_warn);
    } else add_check(a, "load", "unknown", "no /proc/loadavg", n_warn);

    if (!harness_read_file(root, "/proc/stat", b, sizeof b) && strstr(b, "procs_running ")) {
        int running = atoi(strstr(b, "procs_running ") + 14) - 1;   /* minus this process */
        if (running < 0) running = 0;
        snprintf(d, sizeof d, "%d other runnable processes", running);
        add_check(a, "busy_processes", running > 0 ? "warn" : "ok", d, n_warn);
    } else add_check(a, "busy_processes", "unknown", "no procs_running in /proc/stat", n_warn);

    if (!harness_read_file(root, "/proc/pressure/memory", b, sizeof b) && strstr(b, "avg10=")) {
        double avg10 = atof(strstr(b, "avg10=") + 6);
        snprintf(d, sizeof d, "memory PSI some avg10 = %.2f%%", avg10);
        add_check(a, "memory_pressure", avg10 > 1.0 ? "warn" : "ok", d, n_warn);
    } else add_check(a, "memory_pressure", "unknown", "no /proc/pressure/memory", n_warn);

    if (!harness_read_file(root, "/proc/meminfo", b, sizeof b)) {
        long long total = meminfo_kb(b, "MemTotal:"), avail = meminfo_kb(b, "MemAvailable:");
        long long st = meminfo_kb(b, "SwapTotal:"), sf = meminfo_kb(b, "SwapFree:");
        if (total > 0 && avail >= 0) {
            snprintf(d, sizeof d, "%lld MiB of %lld MiB available", avail / 1024, total / 1024);
            add_check(a, "memory_available", avail * 10 < total ? "warn" : "ok", d, n_warn);
        }
        if (st >= 0 && sf >= 0) {
            snprintf(d, sizeof d, "%lld MiB swap in use", (st - sf) / 1024);
            add_check(a, "swap", st - sf > 0 ? "warn" : "ok", d, n_warn);
        } else add_check(a, "swap", "unknown", "no SwapTotal in /proc/meminfo", n_warn);
    } else add_check(a, "swap", "unknown", "no /proc/meminfo", n_warn);

    check_power(root, a, n_warn);
    check_gpu(ps, a, n_warn);
    return a;
}

cJSON *harness_environment_json(const harness_config *c, probe_set *ps)
{
    cJSON *o = cJSON_CreateObject();
    char b[1 << 16];
    struct utsname u;
    if (gethostname(b, 256) == 0) { b[255] = 0; cJSON_AddStringToObject(o, "hostname", b); }
    else cJSON_AddNullToObject(o, "hostname");
    char model[256] = "";
    if (!harness_read_file("", "/proc/cpuinfo", b, sizeof b)) {
        char *p = strstr(b, "model name");
        if (p && (p = strchr(p, ':'))) {
            p++;
            while (*p == ' ' || *p == '\t') p++;
            size_t n = strcspn(p, "\n");
            snprintf(model, sizeof model, "%.*s", (int)n, p);
        }
    }
    if (model[0]) cJSON_AddStringToObject(o, "cpu_model", model);
    else cJSON_AddNullToObject(o, "cpu_model");
    cJSON_AddNumberToObject(o, "cpus_online", (double)sysconf(_SC_NPROCESSORS_ONLN));
    if (uname(&u) == 0) {
        snprintf(b, sizeof b, "%s %s %s", u.sysname, u.release, u.machine);
        cJSON_AddStringToObject(o, "kernel", b);
    } else cJSON_AddNullToObject(o, "kernel");
    int n_gov, n_perf;
    governor(root_of(c), b, 64, &n_gov, &n_perf);
    if (n_gov) cJSON_AddStringToObject(o, "governor", n_perf == n_gov ? "performance" : b);
    else cJSON_AddNullToObject(o, "governor");
    int t = turbo(root_of(c));
    if (t < 0) cJSON_AddNullToObject(o, "turbo");
    else cJSON_AddStringToObject(o, "turbo", t ? "on" : "off");
    if (!harness_read_file("", "/proc/meminfo", b, sizeof b) && meminfo_kb(b, "MemTotal:") > 0)
        cJSON_AddNumberToObject(o, "mem_total_bytes", (double)meminfo_kb(b, "MemTotal:") * 1024);
    cJSON_AddItemToObject(o, "build", harness_results_build());
    cJSON *kd = cJSON_AddObjectToObject(o, "engine_default_kernels");
    for (int op = 0; op < ENGINE_OP_COUNT; op++) {
        const char *k = engine_kernel_default((engine_op)op, "cpu");
        if (k) cJSON_AddStringToObject(kd, engine_op_name((engine_op)op), k);
    }
    cJSON_AddItemToObject(o, "probes", harness_results_probe_sources(ps));
    return o;
}
