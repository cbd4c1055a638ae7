/* perf_event counters, encoded by libpfm4. Two groups: hardware events
 * (cycles, instructions, cache misses, ref-cycles) where a PMU exists, and
 * software events (task-clock, page faults, context switches), which always
 * work. The hardware group is scheduled on the PMU as a unit, so its events
 * multiplex together; each value is scaled by time_enabled/time_running.
 * Software events never multiplex and are opened alone: as siblings of an
 * inherited group their time_running came out wrong (half of enabled). inherit=1
 * counts every thread the opening thread starts later, so open the probe
 * set before the workload's threads exist.
 *
 * Each event is read on its own fd, not with PERF_FORMAT_GROUP: with
 * inherit, a group read leaves out the counts of threads that have exited
 * (measured on Linux 6.x: 2000 faults of a joined thread missing), while a
 * single read includes them; `perf stat` reads the same way. */
#include <errno.h>
#include <math.h>
#include <perfmon/pfmlib_perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "probes_internal.h"

#define GROUP_MAX 4

typedef struct perf_group {
    int fd[GROUP_MAX];
    int channel[GROUP_MAX];
    int n;
} perf_group;

typedef struct perf_state {
    perf_group hw, sw;
} perf_state;

static const char *hw_events[] = {"cycles", "instructions", "cache-misses", "ref-cycles"};
static const char *hw_names[] = {"perf.cycles", "perf.instructions", "perf.cache_misses", "perf.ref_cycles"};
static const char *sw_events[] = {"task-clock", "page-faults", "context-switches"};
static const char *sw_names[] = {"perf.task_clock_ns", "perf.page_faults", "perf.context_switches"};

static int paranoid_level(void)
{
    long long v = -99;
    probe_read_i64("/proc/sys/kernel/perf_event_paranoid", &v);
    return (int)v;
}

/* Opens up to n events as one group; events the PMU lacks are skipped
 * (recorded in why). Returns the number opened. */
static int open_group(perf_group *g, const char **events, int n, pid_t pid, bool grouped,
                      char *why, size_t why_n)
{
    g->n = 0;
    for (int i = 0; i < n; i++) {
        struct perf_event_attr attr;
        pfm_perf_encode_arg_t arg;
        memset(&attr, 0, sizeof attr);
        memset(&arg, 0, sizeof arg);
        arg.attr = &attr;
        arg.size = sizeof arg;
        int rc = pfm_get_os_event_encoding(events[i], PFM_PLM3, PFM_OS_PERF_EVENT, &arg);
        if (rc != PFM_SUCCESS) {
            if (!*why)
                snprintf(why, why_n, "libpfm4 cannot encode %s: %s", events[i], pfm_strerror(rc));
            continue;
        }
        attr.size = sizeof attr;
        attr.read_format = PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;
        attr.inherit = 1;
        attr.exclude_kernel = 1;  /* perf_event_paranoid=2 allows user space only */
        attr.exclude_hv = 1;
        int leader = grouped && g->n ? g->fd[0] : -1;
        int fd = (int)syscall(SYS_perf_event_open, &attr, pid, -1, leader, PERF_FLAG_FD_CLOEXEC);
        if (fd < 0) {
            if (!*why) {
                int e = errno;
                snprintf(why, why_n, "perf_event_open(%s): %s%s", events[i], strerror(e),
                         e == ENOENT || e == EOPNOTSUPP ? " (no hardware PMU, e.g. a VM without PMU passthrough)"
                         : e == EACCES || e == EPERM ? " (see /proc/sys/kernel/perf_event_paranoid)" : "");
                (void)paranoid_level;
            }
            continue;
        }
        g->fd[g->n++] = fd;
        g->channel[g->n - 1] = i;  /* event index until channels exist */
    }
    return g->n;
}

static void add_channels(probe_set *ps, probe_source *src, perf_group *g,
                         const char **events, const char **names)
{
    for (int k = 0; k < g->n; k++) {
        int i = g->channel[k];
        g->channel[k] = probe_add_channel(ps, src, names[i], !strcmp(events[i], "task-clock") ? "ns" : "count",
                                          events[i], PROBE_COUNTER, PROBE_TIER_FAST);
    }
}

static int perf_open(probe_set *ps, probe_source *src)
{
    int rc = pfm_initialize();
    if (rc != PFM_SUCCESS) {
        probe_reason(src, "libpfm4: %s", pfm_strerror(rc));
        return -1;
    }
    perf_state *st = calloc(1, sizeof *st);
    if (!st) {
        probe_reason(src, "out of memory");
        return -1;
    }
    src->state = st;
    pid_t pid = ps->opt.perf_pid > 0 ? ps->opt.perf_pid : 0;
    char hw_why[200] = "", sw_why[200] = "";
    if (ps->opt.perf_hardware)
        open_group(&st->hw, hw_events, 4, pid, true, hw_why, sizeof hw_why);
    else
        snprintf(hw_why, sizeof hw_why, "hardware counters not requested");
    open_group(&st->sw, sw_events, 3, pid, false, sw_why, sizeof sw_why);
    add_channels(ps, src, &st->hw, hw_events, hw_names);
    add_channels(ps, src, &st->sw, sw_events, sw_names);
    if (st->hw.n + st->sw.n == 0) {
        probe_reason(src, "%s; %s (perf_event_paranoid=%d)", hw_why, sw_why, paranoid_level());
        return -1;
    }
    if (*hw_why || *sw_why)
        probe_reason(src, "%s%s%s", hw_why, *hw_why && *sw_why ? "; " : "", sw_why);
    return 0;
}

static void read_group(probe_set *ps, perf_group *g, double *values)
{
    for (int k = 0; k < g->n; k++) {
        uint64_t buf[3];  /* value, time_enabled, time_running */
        ssize_t got = read(g->fd[k], buf, sizeof buf);
        double v = NAN;
        if (got == (ssize_t)sizeof buf && buf[2] > 0)  /* scaled: count * enabled / running */
            v = (double)buf[0] * ((double)buf[1] / (double)buf[2]);
        else if (got == (ssize_t)sizeof buf && buf[0] == 0 && buf[1] == buf[2])
            v = 0;  /* not scheduled yet: nothing counted, nothing missed */
        values[g->channel[k]] = v;
        probe_put(ps, g->channel[k], v, got < 0 ? strerror(errno) : "event not running (multiplexed out)");
    }
}

static void perf_read(probe_set *ps, probe_source *src, probe_tier tier, double *values)
{
    perf_state *st = src->state;
    if (tier != PROBE_TIER_FAST)
        return;
    read_group(ps, &st->hw, values);
    read_group(ps, &st->sw, values);
}

static void perf_close(probe_source *src)
{
    perf_state *st = src->state;
    if (st) {
        for (int k = st->hw.n - 1; k >= 0; k--)
            close(st->hw.fd[k]);
        for (int k = st->sw.n - 1; k >= 0; k--)
            close(st->sw.fd[k]);
    }
    free(st);
    src->state = NULL;
}

const probe_source_ops probe_perf_ops = {"perf", perf_open, perf_read, perf_close};
