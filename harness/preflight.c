/* The machine as found (the environment a results file records) and the
 * preflight checks: what makes numbers unreliable (governor, turbo, load,
 * busy processes, memory pressure, swap, battery, a hot or busy GPU).
 * harness/results.c writes both into results.json. */
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

static void add_check(harness_preflight *a, const char *check, const char *status, const char *detail)
{
    if (a->n == HARNESS_MAX_CHECKS) return;
    harness_check *k = &a->checks[a->n++];
    snprintf(k->check, sizeof k->check, "%s", check);
    snprintf(k->status, sizeof k->status, "%s", status);
    snprintf(k->detail, sizeof k->detail, "%s", detail);
    if (!strcmp(status, "warn")) a->n_warn++;
}

static void check_power(const char *root, harness_preflight *a)
{
    char dirp[1024];
    snprintf(dirp, sizeof dirp, "%s/sys/class/power_supply", root);
    DIR *d = opendir(dirp);
    if (!d) { add_check(a, "battery", "ok", "no power supplies listed: not on battery"); return; }
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
                         : any ? "on mains power" : "no battery");
}

/* One GPU (channels "gpuN.*"): warmer than its idle level, busy, or used by
 * other processes, with the numbers. The idle level is the one stored by an
 * earlier cold reading (idle_temp.c); without one, 60 C stands in. */
static void check_one_gpu(const harness_config *c, probe_set *ps, const double *v, int temp, harness_preflight *a)
{
    const probe_channel *ch = probe_set_channel(ps, (size_t)temp);
    char prefix[32], d[512], when[64] = "";
    snprintf(prefix, sizeof prefix, "%.*s", (int)(strchr(ch->name, '.') - ch->name + 1), ch->name);
    double t = v[temp], util = harness_device_reading(ps, v, prefix, "util_pct");
    double procs = harness_device_reading(ps, v, prefix, "compute_processes");
    double slow = harness_device_reading(ps, v, prefix, "temp_slowdown_c");
    double idle = NAN, margin = c->cooldown.within_c > 5 ? c->cooldown.within_c : 5;
    bool stored = !harness_idle_lookup(ps, temp, &idle, when, sizeof when);
    bool hot = isfinite(t) && (stored ? t > idle + margin : t > 60);
    bool busy = (isfinite(util) && util > 10) || (isfinite(procs) && procs > 0);
    size_t n = 0;
    n += snprintf(d + n, sizeof d - n, "%.*s (%s): ", (int)strlen(prefix) - 1, prefix, ch->label);
    if (isfinite(t)) n += snprintf(d + n, sizeof d - n, "%.0f C", t);
    else n += snprintf(d + n, sizeof d - n, "temperature unreadable");
    if (isfinite(t) && stored)
        n += snprintf(d + n, sizeof d - n, ", %+.0f C against its idle %.1f C (stored %.10s)", t - idle, idle, when);
    else if (isfinite(t))
        n += snprintf(d + n, sizeof d - n, ", no stored idle temperature (warns above 60 C)");
    if (isfinite(slow) && isfinite(t)) n += snprintf(d + n, sizeof d - n, ", %.0f C below slowdown", slow - t);
    if (isfinite(util)) n += snprintf(d + n, sizeof d - n, ", utilisation %.0f %%", util);
    if (isfinite(procs)) n += snprintf(d + n, sizeof d - n, ", %.0f compute process%s", procs, procs == 1 ? "" : "es");
    if (n < sizeof d && (hot || busy))
        snprintf(d + n, sizeof d - n, ": %s%s%s", hot ? "warmer than idle" : "", hot && busy ? ", " : "",
                 busy ? "busy" : "");
    add_check(a, "gpu", hot || busy ? "warn" : "ok", d);
}

static void check_gpu(const harness_config *c, probe_set *ps, harness_preflight *a)
{
    if (!ps) { add_check(a, "gpu", "unknown", "probes not open"); return; }
    size_t n = probe_set_channel_count(ps);
    double *v = malloc(sizeof(double) * (n ? n : 1));
    if (!v) return;
    for (size_t i = 0; i < n; i++) v[i] = NAN;
    probe_set_read(ps, PROBE_TIER_FAST, v);
    probe_set_read(ps, PROBE_TIER_SLOW, v);
    int found = 0;
    for (size_t i = 0; i < n; i++) {
        const char *name = probe_set_channel(ps, i)->name, *dot = strchr(name, '.');
        if (strncmp(name, "gpu", 3) || !dot || strcmp(dot, ".temp_c")) continue;
        check_one_gpu(c, ps, v, (int)i, a);
        found++;
    }
    free(v);
    if (!found) add_check(a, "gpu", "ok", "no GPU found by the probes");
}

void harness_preflight_run(const harness_config *c, probe_set *ps, harness_preflight *a)
{
    const char *root = root_of(c);
    char b[4096], d[512];
    int ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN), n_gov, n_perf;
    memset(a, 0, sizeof *a);

    governor(root, b, 64, &n_gov, &n_perf);
    if (!n_gov) add_check(a, "governor", "unknown", "no cpufreq scaling_governor");
    else {
        snprintf(d, sizeof d, "%d of %d CPUs on 'performance'%s%s", n_perf, n_gov,
                 n_perf < n_gov ? "; others: " : "", n_perf < n_gov ? b : "");
        add_check(a, "governor", n_perf == n_gov ? "ok" : "warn", d);
    }
    int t = turbo(root);
    add_check(a, "turbo", t < 0 ? "unknown" : t ? "warn" : "ok",
              t < 0 ? "no intel_pstate/no_turbo or cpufreq/boost" :
              t ? "turbo/boost on: clocks depend on thermal headroom" : "turbo/boost off");

    if (!harness_read_file(root, "/proc/loadavg", b, sizeof b)) {
        double load1 = atof(b);
        snprintf(d, sizeof d, "load average %.2f on %d CPUs", load1, ncpu);
        add_check(a, "load", load1 > 0.5 + 0.1 * ncpu ? "warn" : "ok", d);
    } else add_check(a, "load", "unknown", "no /proc/loadavg");

    if (!harness_read_file(root, "/proc/stat", b, sizeof b) && strstr(b, "procs_running ")) {
        int running = atoi(strstr(b, "procs_running ") + 14) - 1;   /* minus this process */
        if (running < 0) running = 0;
        snprintf(d, sizeof d, "%d other runnable processes", running);
        add_check(a, "busy_processes", running > 0 ? "warn" : "ok", d);
    } else add_check(a, "busy_processes", "unknown", "no procs_running in /proc/stat");

    if (!harness_read_file(root, "/proc/pressure/memory", b, sizeof b) && strstr(b, "avg10=")) {
        double avg10 = atof(strstr(b, "avg10=") + 6);
        snprintf(d, sizeof d, "memory PSI some avg10 = %.2f%%", avg10);
        add_check(a, "memory_pressure", avg10 > 1.0 ? "warn" : "ok", d);
    } else add_check(a, "memory_pressure", "unknown", "no /proc/pressure/memory");

    if (!harness_read_file(root, "/proc/meminfo", b, sizeof b)) {
        long long total = meminfo_kb(b, "MemTotal:"), avail = meminfo_kb(b, "MemAvailable:");
        long long st = meminfo_kb(b, "SwapTotal:"), sf = meminfo_kb(b, "SwapFree:");
        if (total > 0 && avail >= 0) {
            snprintf(d, sizeof d, "%lld MiB of %lld MiB available", avail / 1024, total / 1024);
            add_check(a, "memory_available", avail * 10 < total ? "warn" : "ok", d);
        }
        if (st >= 0 && sf >= 0) {
            snprintf(d, sizeof d, "%lld MiB swap in use", (st - sf) / 1024);
            add_check(a, "swap", st - sf > 0 ? "warn" : "ok", d);
        } else add_check(a, "swap", "unknown", "no SwapTotal in /proc/meminfo");
    } else add_check(a, "swap", "unknown", "no /proc/meminfo");

    check_power(root, a);
    check_gpu(c, ps, a);
}

void harness_environment_read(const harness_config *c, harness_environment *e)
{
    char b[1 << 16];
    struct utsname u;
    memset(e, 0, sizeof *e);
    if (gethostname(e->hostname, sizeof e->hostname) == 0) e->hostname[sizeof e->hostname - 1] = 0;
    else e->hostname[0] = 0;
    if (!harness_read_file("", "/proc/cpuinfo", b, sizeof b)) {
        char *p = strstr(b, "model name");
        if (p && (p = strchr(p, ':'))) {
            p++;
            while (*p == ' ' || *p == '\t') p++;
            size_t n = strcspn(p, "\n");
            snprintf(e->cpu_model, sizeof e->cpu_model, "%.*s", (int)n, p);
        }
        /* Microcode where the kernel shows it: part of the machine's identity for the gate. */
        char *mc = strstr(b, "microcode");
        if (mc && (mc = strchr(mc, ':'))) {
            mc++;
            while (*mc == ' ' || *mc == '\t') mc++;
            snprintf(e->microcode, sizeof e->microcode, "%.*s", (int)strcspn(mc, "\n"), mc);
        }
    }
    e->cpus_online = sysconf(_SC_NPROCESSORS_ONLN);
    if (uname(&u) == 0) snprintf(e->kernel, sizeof e->kernel, "%s %s %s", u.sysname, u.release, u.machine);
    int n_gov, n_perf;
    governor(root_of(c), b, 64, &n_gov, &n_perf);
    if (n_gov) snprintf(e->governor, sizeof e->governor, "%s", n_perf == n_gov ? "performance" : b);
    e->turbo = turbo(root_of(c));
    e->mem_total_bytes = -1;
    if (!harness_read_file("", "/proc/meminfo", b, sizeof b) && meminfo_kb(b, "MemTotal:") > 0)
        e->mem_total_bytes = meminfo_kb(b, "MemTotal:") * 1024;
}
