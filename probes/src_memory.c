/* Memory pressure: PSI totals (cumulative microseconds stalled; deltas are
 * exact where avg10 would smear a short phase), /proc/meminfo, /proc/vmstat
 * (major faults, swap, direct reclaim), the workload's RSS and peak, and the
 * cgroup v2 memory.pressure / memory.current of its cgroup where present. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "probes_internal.h"

enum { F_PSI, F_MEMINFO, F_VMSTAT, F_STATUS, F_CG_PSI, F_CG_CURRENT, F_COUNT };

typedef struct mem_item {
    int file;
    const char *key;          /* "some"/"full" for PSI; "allocstall" sums a prefix */
    const char *name, *unit;
    probe_channel_kind kind;
    double scale;
    int channel;
} mem_item;

static const mem_item item_table[] = {
    {F_PSI, "some", "mem.psi_some_us", "us", PROBE_COUNTER, 1, -1},
    {F_PSI, "full", "mem.psi_full_us", "us", PROBE_COUNTER, 1, -1},
    {F_MEMINFO, "MemAvailable", "mem.available_bytes", "bytes", PROBE_GAUGE, 1024, -1},
    {F_MEMINFO, "MemFree", "mem.free_bytes", "bytes", PROBE_GAUGE, 1024, -1},
    {F_MEMINFO, "SwapFree", "mem.swap_free_bytes", "bytes", PROBE_GAUGE, 1024, -1},
    {F_VMSTAT, "pgmajfault", "mem.major_faults", "count", PROBE_COUNTER, 1, -1},
    {F_VMSTAT, "pswpin", "mem.swap_in_pages", "count", PROBE_COUNTER, 1, -1},
    {F_VMSTAT, "pswpout", "mem.swap_out_pages", "count", PROBE_COUNTER, 1, -1},
    {F_VMSTAT, "allocstall", "mem.direct_reclaim_stalls", "count", PROBE_COUNTER, 1, -1},
    {F_VMSTAT, "pgscan_direct", "mem.direct_scan_pages", "count", PROBE_COUNTER, 1, -1},
    {F_STATUS, "VmRSS", "proc.rss_bytes", "bytes", PROBE_GAUGE, 1024, -1},
    {F_STATUS, "VmHWM", "proc.peak_rss_bytes", "bytes", PROBE_GAUGE, 1024, -1},
    {F_CG_PSI, "some", "mem.cgroup_psi_some_us", "us", PROBE_COUNTER, 1, -1},
    {F_CG_PSI, "full", "mem.cgroup_psi_full_us", "us", PROBE_COUNTER, 1, -1},
    {F_CG_CURRENT, "", "mem.cgroup_bytes", "bytes", PROBE_GAUGE, 1, -1},
};
#define N_ITEMS (sizeof item_table / sizeof item_table[0])

typedef struct mem_state {
    char path[F_COUNT][512];
    mem_item items[N_ITEMS];
    char buf[16384];
} mem_state;

/* "some avg10=0.00 avg60=0.00 avg300=0.00 total=1234" */
static int psi_total(const char *text, const char *kind, long long *out)
{
    size_t k = strlen(kind);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, kind, k) || p[k] != ' ')
            continue;
        const char *t = strstr(p, "total=");
        const char *eol = strchr(p, '\n');
        if (!t || (eol && t > eol))
            return -1;
        char *end;
        errno = 0;
        long long v = strtoll(t + 6, &end, 10);
        if (errno || end == t + 6 || v < 0 || (*end && *end != '\n' && *end != ' '))
            return -1;
        *out = v;
        return 0;
    }
    return -1;
}

/* Sum of every "allocstall*" line (one per zone since Linux 4.10). */
static int prefix_sum(const char *text, const char *key, long long *out)
{
    size_t k = strlen(key);
    long long sum = 0;
    int found = 0;
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, key, k))
            continue;
        const char *sp = strchr(p, ' ');
        char *end;
        if (!sp)
            return -1;
        errno = 0;
        long long v = strtoll(sp + 1, &end, 10);
        if (errno || end == sp + 1 || (*end && *end != '\n'))
            return -1;
        sum += v;
        found++;
    }
    if (!found)
        return -1;
    *out = sum;
    return 0;
}

static int parse_item(const mem_item *it, const char *text, long long *v)
{
    switch (it->file) {
    case F_PSI:
    case F_CG_PSI:
        return psi_total(text, it->key, v);
    case F_CG_CURRENT: {
        char *end;
        errno = 0;
        *v = strtoll(text, &end, 10);
        return (errno || end == text || (*end && *end != '\n')) ? -1 : 0;
    }
    default:
        if (!strcmp(it->key, "allocstall"))
            return prefix_sum(text, it->key, v);
        return probe_find_key(text, it->key, v);
    }
}

/* The workload's cgroup v2 directory from /proc/<pid>/cgroup ("0::/path");
 * on failure `why` says what is missing. */
static int cgroup_dir(probe_set *ps, pid_t pid, char *out, size_t n, const char **why)
{
    char path[512], text[4096];
    probe_path(ps, path, sizeof path, "/sys/fs/cgroup/cgroup.controllers");
    if (access(path, F_OK) != 0) {
        *why = "no cgroup v2 unified hierarchy at /sys/fs/cgroup (cgroup v1 or hybrid)";
        return -1;
    }
    probe_path(ps, path, sizeof path, "/proc/%d/cgroup", (int)pid);
    const char *p = NULL;
    if (probe_read_file(path, text, sizeof text) >= 0) {
        p = strstr(text, "0::/");
        if (p && p != text && p[-1] != '\n')
            p = NULL;
    }
    if (!p) {
        *why = "no cgroup v2 entry in /proc/<pid>/cgroup";
        return -1;
    }
    p += 3;
    int len = (int)strcspn(p, "\n");
    if (len == 1) {
        *why = "the workload is in the root cgroup (no memory.pressure/memory.current there)";
        return -1;
    }
    return probe_path(ps, out, n, "/sys/fs/cgroup%.*s", len, p);
}

static int memory_open(probe_set *ps, probe_source *src)
{
    mem_state *st = calloc(1, sizeof *st);
    if (!st) {
        probe_reason(src, "out of memory");
        return -1;
    }
    src->state = st;
    pid_t pid = ps->opt.perf_pid > 0 ? ps->opt.perf_pid : getpid();
    char cg[400] = "";
    const char *cg_why = NULL;
    probe_path(ps, st->path[F_PSI], 512, "/proc/pressure/memory");
    probe_path(ps, st->path[F_MEMINFO], 512, "/proc/meminfo");
    probe_path(ps, st->path[F_VMSTAT], 512, "/proc/vmstat");
    probe_path(ps, st->path[F_STATUS], 512, "/proc/%d/status", (int)pid);
    bool have_cg = cgroup_dir(ps, pid, cg, sizeof cg, &cg_why) == 0;
    if (have_cg) {
        snprintf(st->path[F_CG_PSI], 512, "%s/memory.pressure", cg);
        snprintf(st->path[F_CG_CURRENT], 512, "%s/memory.current", cg);
    }
    memcpy(st->items, item_table, sizeof item_table);
    char missing[256] = "";
    for (int f = 0; f < F_COUNT; f++) {
        const char *why = NULL;
        int bad_fields = 0;
        if (!st->path[f][0]) {
            if (f == F_CG_CURRENT)
                continue;  /* one reason for both cgroup files */
            why = cg_why ? cg_why : "no cgroup v2";
        }
        else if (probe_read_file(st->path[f], st->buf, sizeof st->buf) < 0)
            why = strerror(errno);
        for (size_t i = 0; i < N_ITEMS; i++) {
            mem_item *it = &st->items[i];
            long long v;
            if (it->file != f || why)
                continue;
            if (parse_item(it, st->buf, &v) < 0) {
                bad_fields++;
                continue;
            }
            it->channel = probe_add_channel(ps, src, it->name, it->unit, it->key,
                                            it->kind, PROBE_TIER_FAST);
        }
        if (bad_fields && !why)
            why = "malformed or missing field(s)";
        if (why) {
            size_t len = strlen(missing);
            const char *shown = st->path[f][0] ? st->path[f] + strlen(ps->root) : "cgroup";
            snprintf(missing + len, sizeof missing - len, "%s%s: %s", len ? "; " : "", shown, why);
        }
    }
    if (src->status.n_channels == 0) {
        probe_reason(src, "nothing readable: %s", missing);
        return -1;
    }
    if (*missing)
        probe_reason(src, "%s", missing);
    return 0;
}

static void memory_read(probe_set *ps, probe_source *src, probe_tier tier, double *values)
{
    mem_state *st = src->state;
    if (tier != PROBE_TIER_FAST)
        return;
    for (int f = 0; f < F_COUNT; f++) {
        bool any = false;
        for (size_t i = 0; i < N_ITEMS; i++)
            any = any || (st->items[i].file == f && st->items[i].channel >= 0);
        if (!any)
            continue;
        char why[200] = "";
        if (probe_read_file(st->path[f], st->buf, sizeof st->buf) < 0)
            snprintf(why, sizeof why, "%s: %s", st->path[f] + strlen(ps->root), strerror(errno));
        for (size_t i = 0; i < N_ITEMS; i++) {
            mem_item *it = &st->items[i];
            long long v;
            if (it->file != f || it->channel < 0)
                continue;
            double x = NAN;
            if (!*why && parse_item(it, st->buf, &v) == 0)
                x = v * it->scale;
            values[it->channel] = x;
            probe_put(ps, it->channel, x, *why ? why : "malformed or missing field");
        }
    }
}

static void memory_close(probe_source *src)
{
    free(src->state);
    src->state = NULL;
}

const probe_source_ops probe_memory_ops = {"memory", memory_open, memory_read, memory_close};
