/* sysfs sources: thermal zones, RAPL energy (powercap), cpufreq, and Intel
 * thermal_throttle counters. Every path is under the probe set's root. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probes_internal.h"

/* A channel read from one file holding an integer: value * scale. */
typedef struct file_chan {
    int channel;
    double scale;
    char path[512];
} file_chan;

typedef struct file_list {
    file_chan *v;
    size_t n, cap;
} file_list;

static file_chan *file_list_add(file_list *l)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        file_chan *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return NULL;
        l->v = v;
        l->cap = cap;
    }
    memset(&l->v[l->n], 0, sizeof l->v[0]);
    return &l->v[l->n++];
}

static const char *errno_text(void)
{
    return errno == EINVAL ? "malformed contents" : strerror(errno);
}

static double read_scaled(probe_set *ps, const file_chan *f)
{
    long long v;
    if (probe_read_i64(f->path, &v) < 0) {
        char why[160];
        snprintf(why, sizeof why, "%s: %s", f->path + strlen(ps->root), errno_text());
        probe_put(ps, f->channel, NAN, why);
        return NAN;
    }
    probe_put(ps, f->channel, v * f->scale, NULL);
    return v * f->scale;
}

/* Directory entries starting with `prefix` and a number, in numeric order. */
static int numbered(const struct dirent *d, const char *prefix)
{
    size_t n = strlen(prefix);
    return !strncmp(d->d_name, prefix, n) && d->d_name[n] >= '0' && d->d_name[n] <= '9';
}
static int is_zone(const struct dirent *d) { return numbered(d, "thermal_zone"); }
static int is_cpu(const struct dirent *d) { return numbered(d, "cpu"); }
static int is_rapl(const struct dirent *d) { return !strncmp(d->d_name, "intel-rapl:", 11); }

static int scan(probe_set *ps, const char *dir, int (*filter)(const struct dirent *),
                struct dirent ***out)
{
    char path[512];
    if (probe_path(ps, path, sizeof path, "%s", dir) < 0)
        return -1;
    return scandir(path, out, filter, versionsort);
}

static void free_scan(struct dirent **e, int n)
{
    for (int i = 0; i < n; i++)
        free(e[i]);
    free(e);
}

static void file_list_close(probe_source *src)
{
    file_list *l = src->state;
    if (l)
        free(l->v);
    free(l);
    src->state = NULL;
}

static void file_list_read(probe_set *ps, probe_source *src, probe_tier tier, double *values)
{
    file_list *l = src->state;
    for (size_t i = 0; i < l->n; i++)
        if (ps->channels[l->v[i].channel].tier == tier)
            values[l->v[i].channel] = read_scaled(ps, &l->v[i]);
}

/* ---- thermal zones --------------------------------------------------- */

static int thermal_open(probe_set *ps, probe_source *src)
{
    struct dirent **e;
    int n = scan(ps, "/sys/class/thermal", is_zone, &e);
    if (n < 0) {
        probe_reason(src, "no /sys/class/thermal (%s)", strerror(errno));
        return -1;
    }
    file_list *l = calloc(1, sizeof *l);
    src->state = l;
    int bad = 0;
    char first_bad[160] = "";
    for (int i = 0; l && i < n; i++) {
        char type[64] = "", path[512], name[96];
        probe_path(ps, path, sizeof path, "/sys/class/thermal/%s/type", e[i]->d_name);
        probe_read_str(path, type, sizeof type);
        probe_path(ps, path, sizeof path, "/sys/class/thermal/%s/temp", e[i]->d_name);
        long long v;
        if (probe_read_i64(path, &v) < 0) {
            if (!bad++)
                snprintf(first_bad, sizeof first_bad, "%.64s/temp: %s", e[i]->d_name, errno_text());
            continue;
        }
        file_chan *f = file_list_add(l);
        if (!f)
            break;
        snprintf(f->path, sizeof f->path, "%s", path);
        f->scale = 0.001;  /* millidegrees Celsius */
        snprintf(name, sizeof name, "thermal.zone%s.temp_c", e[i]->d_name + 12);
        f->channel = probe_add_channel(ps, src, name, "c", type, PROBE_GAUGE, PROBE_TIER_FAST);
    }
    free_scan(e, n);
    if (!l || l->n == 0) {
        if (bad)
            probe_reason(src, "no readable thermal zone (%s)", first_bad);
        else
            probe_reason(src, "no thermal zones in /sys/class/thermal");
        return -1;
    }
    if (bad)
        probe_reason(src, "%d zone(s) unreadable, first %s", bad, first_bad);
    return 0;
}

const probe_source_ops probe_thermal_ops = {"thermal", thermal_open, file_list_read, file_list_close};

/* ---- RAPL energy (powercap) ------------------------------------------ */

typedef struct rapl_zone {
    int channel;
    char path[512];
    long long max_range_uj;  /* the counter wraps past this value */
    long long last_uj;
    double total_j;          /* wrap-extended running total */
    bool have_last;
} rapl_zone;

typedef struct rapl_state {
    rapl_zone *z;
    size_t n;
} rapl_state;

/* Extends the raw counter across wraps: a reading below the last one means
 * the counter passed max_energy_range_uj and restarted from zero. */
static double rapl_sample(probe_set *ps, rapl_zone *z)
{
    long long uj;
    if (probe_read_i64(z->path, &uj) < 0 || uj < 0) {
        char why[160];
        snprintf(why, sizeof why, "%s: %s", z->path + strlen(ps->root),
                 uj < 0 ? "negative counter" : errno_text());
        probe_put(ps, z->channel, NAN, why);
        return NAN;
    }
    if (z->have_last) {
        long long d = uj - z->last_uj;
        if (d < 0)
            d += z->max_range_uj;
        z->total_j += d * 1e-6;
    } else {
        z->total_j = uj * 1e-6;
        z->have_last = true;
    }
    z->last_uj = uj;
    probe_put(ps, z->channel, z->total_j, NULL);
    return z->total_j;
}

static int rapl_open(probe_set *ps, probe_source *src)
{
    struct dirent **e;
    int n = scan(ps, "/sys/class/powercap", is_rapl, &e);
    if (n < 0) {
        probe_reason(src, "no /sys/class/powercap (%s): no RAPL driver", strerror(errno));
        return -1;
    }
    rapl_state *st = calloc(1, sizeof *st);
    src->state = st;
    if (st)
        st->z = calloc(n ? n : 1, sizeof *st->z);
    char first_bad[200] = "";
    int bad = 0;
    for (int i = 0; st && st->z && i < n; i++) {
        const char *d = e[i]->d_name;
        char zname[64] = "", pname[64] = "", path[512], name[96];
        probe_path(ps, path, sizeof path, "/sys/class/powercap/%s/name", d);
        if (probe_read_str(path, zname, sizeof zname) < 0)
            continue;
        /* a subzone "intel-rapl:0:1" is named after its parent "intel-rapl:0" */
        const char *second = strchr(d + 11, ':');
        if (second) {
            probe_path(ps, path, sizeof path, "/sys/class/powercap/%.*s/name", (int)(second - d), d);
            probe_read_str(path, pname, sizeof pname);
        }
        rapl_zone *z = &st->z[st->n];
        probe_path(ps, z->path, sizeof z->path, "/sys/class/powercap/%s/energy_uj", d);
        probe_path(ps, path, sizeof path, "/sys/class/powercap/%s/max_energy_range_uj", d);
        long long probe_uj;
        if (probe_read_i64(path, &z->max_range_uj) < 0 || z->max_range_uj <= 0
            || probe_read_i64(z->path, &probe_uj) < 0) {
            if (!bad++)
                snprintf(first_bad, sizeof first_bad, "%.64s: %s%s", d, errno_text(),
                         errno == EACCES ? " (energy_uj is root-only since Linux 5.10)" : "");
            continue;
        }
        if (*pname)
            snprintf(name, sizeof name, "rapl.%s.%s.energy_j", pname, zname);
        else
            snprintf(name, sizeof name, "rapl.%s.energy_j", zname);
        z->channel = probe_add_channel(ps, src, name, "j", d, PROBE_COUNTER, PROBE_TIER_FAST);
        st->n++;
    }
    free_scan(e, n);
    if (!st || st->n == 0) {
        if (bad)
            probe_reason(src, "no readable RAPL zone: %s", first_bad);
        else
            probe_reason(src, "no RAPL zones in /sys/class/powercap");
        return -1;
    }
    if (bad)
        probe_reason(src, "%d zone(s) unreadable, first %s", bad, first_bad);
    return 0;
}

static void rapl_read(probe_set *ps, probe_source *src, probe_tier tier, double *values)
{
    rapl_state *st = src->state;
    if (tier != PROBE_TIER_FAST)
        return;
    for (size_t i = 0; i < st->n; i++)
        values[st->z[i].channel] = rapl_sample(ps, &st->z[i]);
}

static void rapl_close(probe_source *src)
{
    rapl_state *st = src->state;
    if (st)
        free(st->z);
    free(st);
    src->state = NULL;
}

const probe_source_ops probe_rapl_ops = {"rapl", rapl_open, rapl_read, rapl_close};

/* ---- cpufreq ---------------------------------------------------------- */

typedef struct cpufreq_state {
    file_list files;          /* per-CPU scaling_cur_freq */
    int mean_channel, min_channel;
} cpufreq_state;

static int cpufreq_open(probe_set *ps, probe_source *src)
{
    struct dirent **e;
    int n = scan(ps, "/sys/devices/system/cpu", is_cpu, &e);
    if (n < 0) {
        probe_reason(src, "no /sys/devices/system/cpu (%s)", strerror(errno));
        return -1;
    }
    cpufreq_state *st = calloc(1, sizeof *st);
    src->state = st;
    int missing = 0;
    for (int i = 0; st && i < n; i++) {
        char path[512], max_path[512], name[96], label[96] = "";
        long long khz, max_khz;
        probe_path(ps, path, sizeof path, "/sys/devices/system/cpu/%s/cpufreq/scaling_cur_freq", e[i]->d_name);
        if (probe_read_i64(path, &khz) < 0) {
            missing++;
            continue;
        }
        probe_path(ps, max_path, sizeof max_path, "/sys/devices/system/cpu/%s/cpufreq/cpuinfo_max_freq", e[i]->d_name);
        if (probe_read_i64(max_path, &max_khz) == 0)
            snprintf(label, sizeof label, "max %lld MHz", max_khz / 1000);
        file_chan *f = file_list_add(&st->files);
        if (!f)
            break;
        snprintf(f->path, sizeof f->path, "%s", path);
        f->scale = 0.001;  /* kHz */
        snprintf(name, sizeof name, "%.64s.clock_mhz", e[i]->d_name);
        f->channel = probe_add_channel(ps, src, name, "mhz", label, PROBE_GAUGE, PROBE_TIER_FAST);
    }
    free_scan(e, n);
    if (!st || st->files.n == 0) {
        probe_reason(src, "no cpufreq driver (no cpu*/cpufreq/scaling_cur_freq)");
        return -1;
    }
    st->mean_channel = probe_add_channel(ps, src, "cpu.clock_mean_mhz", "mhz", "mean over CPUs", PROBE_GAUGE, PROBE_TIER_FAST);
    st->min_channel = probe_add_channel(ps, src, "cpu.clock_min_mhz", "mhz", "lowest CPU", PROBE_GAUGE, PROBE_TIER_FAST);
    if (missing)
        probe_reason(src, "%d CPU(s) without cpufreq", missing);
    return 0;
}

static void cpufreq_read(probe_set *ps, probe_source *src, probe_tier tier, double *values)
{
    cpufreq_state *st = src->state;
    if (tier != PROBE_TIER_FAST)
        return;
    double sum = 0, min = NAN;
    size_t n = 0;
    for (size_t i = 0; i < st->files.n; i++) {
        double v = values[st->files.v[i].channel] = read_scaled(ps, &st->files.v[i]);
        if (isnan(v))
            continue;
        sum += v;
        n++;
        if (isnan(min) || v < min)
            min = v;
    }
    values[st->mean_channel] = n ? sum / n : NAN;
    values[st->min_channel] = min;
}

static void cpufreq_close(probe_source *src)
{
    cpufreq_state *st = src->state;
    if (st)
        free(st->files.v);
    free(st);
    src->state = NULL;
}

const probe_source_ops probe_cpufreq_ops = {"cpufreq", cpufreq_open, cpufreq_read, cpufreq_close};

/* ---- Intel thermal_throttle ------------------------------------------ */

/* Core counters are per CPU and summed; package counters repeat on every
 * CPU of a package, so only the first CPU seen of each package counts. */
typedef struct throttle_state {
    file_list core_count, core_ms, pkg_count, pkg_ms;
    int ch[4];
} throttle_state;

static const char *throttle_files[4] = {
    "core_throttle_count", "core_throttle_total_time_ms",
    "package_throttle_count", "package_throttle_total_time_ms"};
static const char *throttle_names[4] = {
    "cpu.core_throttle_count", "cpu.core_throttle_ms",
    "cpu.pkg_throttle_count", "cpu.pkg_throttle_ms"};

static int throttle_open(probe_set *ps, probe_source *src)
{
    struct dirent **e;
    int n = scan(ps, "/sys/devices/system/cpu", is_cpu, &e);
    if (n < 0) {
        probe_reason(src, "no /sys/devices/system/cpu (%s)", strerror(errno));
        return -1;
    }
    throttle_state *st = calloc(1, sizeof *st);
    src->state = st;
    file_list *lists[4];
    if (st) {
        lists[0] = &st->core_count; lists[1] = &st->core_ms;
        lists[2] = &st->pkg_count; lists[3] = &st->pkg_ms;
    }
    long long seen_pkgs[256];
    int n_pkgs = 0;
    for (int i = 0; st && i < n; i++) {
        char path[512];
        long long v, pkg = 0;
        probe_path(ps, path, sizeof path, "/sys/devices/system/cpu/%s/topology/physical_package_id", e[i]->d_name);
        probe_read_i64(path, &pkg);
        bool new_pkg = true;
        for (int k = 0; k < n_pkgs; k++)
            new_pkg = new_pkg && seen_pkgs[k] != pkg;
        for (int k = 0; k < 4; k++) {
            if (k >= 2 && !new_pkg)
                continue;
            probe_path(ps, path, sizeof path, "/sys/devices/system/cpu/%s/thermal_throttle/%s",
                       e[i]->d_name, throttle_files[k]);
            if (probe_read_i64(path, &v) < 0)
                continue;
            file_chan *f = file_list_add(lists[k]);
            if (f) {
                snprintf(f->path, sizeof f->path, "%s", path);
                f->scale = 1;
            }
        }
        if (new_pkg && n_pkgs < 256)
            seen_pkgs[n_pkgs++] = pkg;
    }
    free_scan(e, n);
    int found = 0;
    for (int k = 0; st && k < 4; k++) {
        st->ch[k] = -1;
        if (lists[k]->n) {
            st->ch[k] = probe_add_channel(ps, src, throttle_names[k], k % 2 ? "ms" : "count",
                                          "sum over CPUs/packages", PROBE_COUNTER, PROBE_TIER_FAST);
            found++;
        }
    }
    if (!found) {
        probe_reason(src, "no thermal_throttle counters (Intel CPUs only; cpu*/thermal_throttle missing)");
        return -1;
    }
    return 0;
}

static void throttle_read(probe_set *ps, probe_source *src, probe_tier tier, double *values)
{
    throttle_state *st = src->state;
    file_list *lists[4] = {&st->core_count, &st->core_ms, &st->pkg_count, &st->pkg_ms};
    if (tier != PROBE_TIER_FAST)
        return;
    for (int k = 0; k < 4; k++) {
        if (st->ch[k] < 0)
            continue;
        double sum = 0;
        const char *why = NULL;
        char buf[160];
        for (size_t i = 0; i < lists[k]->n; i++) {
            long long v;
            if (probe_read_i64(lists[k]->v[i].path, &v) < 0) {
                snprintf(buf, sizeof buf, "%s: %s", lists[k]->v[i].path + strlen(ps->root), errno_text());
                why = buf;
                break;
            }
            sum += v;
        }
        /* a sum missing one CPU would look like a drop: the whole value is NAN */
        values[st->ch[k]] = why ? NAN : sum;
        probe_put(ps, st->ch[k], values[st->ch[k]], why);
    }
}

static void throttle_close(probe_source *src)
{
    throttle_state *st = src->state;
    if (st) {
        free(st->core_count.v); free(st->core_ms.v);
        free(st->pkg_count.v); free(st->pkg_ms.v);
    }
    free(st);
    src->state = NULL;
}

const probe_source_ops probe_throttle_ops = {"throttle", throttle_open, throttle_read, throttle_close};
