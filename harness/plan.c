/* The run plan: which variant runs next, warm-up or measured, given the runs
 * done so far. A pure function of (config, history), so --resume needs only
 * the finished runs to continue exactly where an experiment stopped. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "reports.h"

double harness_ci_half_width_pct(const double *x, int n)
{
    if (n < 2) return NAN;
    double mean = report_mean(x, (size_t)n);
    if (mean == 0) return NAN;
    return report_mean_ci_half_width(x, (size_t)n, 0.95) / fabs(mean) * 100.0;
}

typedef struct tally {
    int warmups[HARNESS_MAX_VARIANTS];    /* in the current session when split into sessions */
    int measured[HARNESS_MAX_VARIANTS];   /* attempts, failed ones included */
    int measured_total;
    int session_measured;                 /* measured runs of the current session */
} tally;

static void count(const harness_config *c, const harness_run_record *done, int n_done, int session, tally *t)
{
    memset(t, 0, sizeof *t);
    for (int i = 0; i < n_done; i++) {
        int v = done[i].variant;
        if (v < 0 || v >= c->n_variants) continue;
        bool here = session < 0 || done[i].session == session;
        if (done[i].warmup) t->warmups[v] += here;
        else t->measured[v]++, t->measured_total++, t->session_measured += here;
    }
}

/* Measured runs per variant in one session: the rounds split evenly. */
static int session_share(const harness_config *c)
{
    int target = c->stop.rule == HARNESS_STOP_FIXED ? c->repetitions : c->stop.max_repetitions;
    return (target + c->sessions.count - 1) / c->sessions.count;
}

/* Stein's two-stage rule: the first `repetitions` measured runs of variant v
 * decide, once, how many it gets in all (reports/stats_stop.c); stopping when
 * the interval happens to look narrow would bias it (docs/STATISTICS.md). */
static int adaptive_total(const harness_config *c, const harness_run_record *done, int n_done, int v)
{
    double *x = malloc(sizeof(double) * (size_t)(c->repetitions + 1));
    int n = 0, attempts = 0;
    for (int i = 0; x && i < n_done && attempts < c->repetitions; i++)
        if (done[i].variant == v && !done[i].warmup) {
            attempts++;
            if (done[i].ok && isfinite(done[i].primary))
                x[n++] = done[i].primary;
        }
    int total = x && n >= 2 ? report_stop_runs_total(x, (size_t)n, c->stop.target_ci_pct, c->stop.max_repetitions)
                            : c->stop.max_repetitions;
    free(x);
    return total;
}

static bool variant_done(const harness_config *c, const harness_run_record *done, int n_done,
                         const tally *t, int v)
{
    if (v < 0 || v >= HARNESS_MAX_VARIANTS) return true;
    if (c->stop.rule == HARNESS_STOP_FIXED) return t->measured[v] >= c->repetitions;
    if (t->measured[v] >= c->stop.max_repetitions) return true;
    return t->measured[v] >= c->repetitions && t->measured[v] >= adaptive_total(c, done, n_done, v);
}

/* splitmix64: the order's permutations depend only on the seed and round. */
static uint64_t mix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static int round_member(const harness_config *c, int round, int pos, int session)
{
    int perm[HARNESS_MAX_VARIANTS];
    for (int i = 0; i < c->n_variants; i++) perm[i] = i;
    if (c->order == HARNESS_ORDER_RANDOM) {
        uint64_t s = (c->order_seed + 0x51ed27ULL * (uint64_t)(session > 0 ? session : 0)) * 0x100000001b3ULL +
                     (uint64_t)round;
        for (int i = c->n_variants - 1; i > 0; i--) {
            int j = (int)(mix(&s) % (uint64_t)(i + 1));
            int tmp = perm[i]; perm[i] = perm[j]; perm[j] = tmp;
        }
    }
    /* Counterbalanced: A B | B A | A B ... so a position effect (the run
     * right after another inherits its caches and clocks) and a linear drift
     * both fall on every variant alike, pair by pair. */
    if (c->order == HARNESS_ORDER_ABBA && (round & 1))
        return perm[c->n_variants - 1 - pos];
    return perm[pos];
}

int harness_plan_next(const harness_config *c, const harness_run_record *done, int n_done,
                      int *variant, bool *warmup)
{
    return harness_plan_next_in_session(c, done, n_done, -1, variant, warmup);
}

int harness_plan_next_in_session(const harness_config *c, const harness_run_record *done, int n_done, int session,
                                 int *variant, bool *warmup)
{
    tally t = {{0}, {0}, 0, 0};
    if (c->sessions.count <= 1)
        session = -1;
    count(c, done, n_done, session, &t);
    /* This session's share is done: the next session (a new process) goes on. */
    if (session >= 0 && t.session_measured >= session_share(c) * c->n_variants)
        return 0;
    bool finished = true;       /* nothing left: no warm-up for a session with no work */
    for (int v = 0; v < c->n_variants && finished; v++) finished = variant_done(c, done, n_done, &t, v);
    if (finished) return 0;
    if (c->order == HARNESS_ORDER_SEQUENTIAL) {
        /* All of A (its warm-ups first), then all of B, ... */
        for (int v = 0; v < c->n_variants; v++) {
            if (t.warmups[v] < c->warmup) { *variant = v; *warmup = true; return 1; }
            if (!variant_done(c, done, n_done, &t, v)) { *variant = v; *warmup = false; return 1; }
        }
        return 0;
    }
    /* Interleaved, counterbalanced or random blocks: warm-up rounds first, then measured
     * rounds in which every variant runs once. */
    for (int r = 0; r < c->warmup; r++)
        for (int v = 0; v < c->n_variants; v++)
            if (t.warmups[v] <= r) { *variant = v; *warmup = true; return 1; }
    int round = t.measured_total / c->n_variants, pos = t.measured_total % c->n_variants;
    if (pos == 0) {
        bool all = true;
        for (int v = 0; v < c->n_variants && all; v++) all = variant_done(c, done, n_done, &t, v);
        if (all) return 0;
    }
    *variant = round_member(c, round, pos, session);
    *warmup = false;
    return 1;
}

int harness_plan_remaining(const harness_config *c, const harness_run_record *done, int n_done)
{
    tally t = {{0}, {0}, 0, 0};
    count(c, done, n_done, -1, &t);
    int target = c->stop.rule == HARNESS_STOP_FIXED ? c->repetitions : c->stop.max_repetitions;
    int left = 0;
    for (int v = 0; v < c->n_variants; v++) {
        if (t.warmups[v] < c->warmup) left += c->warmup - t.warmups[v];
        if (t.measured[v] < target) left += target - t.measured[v];
    }
    return left;
}
