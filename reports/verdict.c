/* The gate's verdict: a baseline side against a candidate side, each made
 * of result sets and sessions (reports.h, docs/STATISTICS.md).
 *
 * 1. The design: paired rounds when both arms come from one interleaved
 *    file, session means when a side has several sessions, else two
 *    independent samples; temperature as a covariate when the arms ran at
 *    different temperatures.
 * 2. Every plausible analysis of the data gives an interval at the decision
 *    level: the primary one, and, where the evidence asks for it, the runs
 *    before and after a step, the robust (Hodges-Lehmann) interval when the
 *    runs are unstable, the extrapolated temperature model when the arms'
 *    temperatures do not overlap. The verdict needs the whole hull beyond
 *    (or inside) the margin: evidence widens, it never decides alone.
 * 3. The environment: another machine makes any verdict inconclusive, another
 *    requested workload is an input error, another kernel resolution is the
 *    code under test and is reported. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "reports.h"
#include "stats_internal.h"

typedef struct arm {
    size_t n;
    const report_run **run;     /* counted runs in order */
    int *session;               /* arm-wide session, 0-based */
    int *round;                 /* round within its session (pairing), -1 unknown */
    int *pos;                   /* position within its session */
    int *set;                   /* the result set (experiment) of the side it came from */
    bool *use;                  /* in the analysis being computed */
    int sessions, sets;
    int stage1;                 /* adaptive stop: runs of its first stage (Stein), else 0 */
} arm;

static void arm_free(arm *a)
{
    free(a->run);
    free(a->session);
    free(a->round);
    free(a->pos);
    free(a->set);
    free(a->use);
    memset(a, 0, sizeof *a);
}

static int arm_alloc(arm *a, size_t cap)
{
    memset(a, 0, sizeof *a);
    cap = cap ? cap : 1;
    a->run = malloc(cap * sizeof *a->run);
    a->session = malloc(cap * sizeof *a->session);
    a->round = malloc(cap * sizeof *a->round);
    a->pos = malloc(cap * sizeof *a->pos);
    a->set = malloc(cap * sizeof *a->set);
    a->use = malloc(cap * sizeof *a->use);
    return a->run && a->session && a->round && a->pos && a->set && a->use ? 0 : -1;
}

static int find_variant(const report_results *r, const char *v)
{
    for (int i = 0; i < r->nvariants; i++)
        if (!strcmp(r->variants[i], v))
            return i;
    return -1;
}

static const char *side_variant(const report_side *s, int i, report_error *err)
{
    const report_results *r = s->sets[i];
    if (s->variant) {
        if (find_variant(r, s->variant) < 0) {
            report_fail(err, "%s: no variant '%s'", r->path, s->variant);
            return NULL;
        }
        return s->variant;
    }
    if (r->nvariants == 1)
        return r->variants[0];
    report_fail(err, "%s: %d variants; say which one", r->path, r->nvariants);
    return NULL;
}

/* Counted runs of a side. Rounds: the k-th measured run of a session (all
 * variants) belongs to round k / nvariants, as every order but sequential
 * runs each variant once per round. */
static int gather(const report_side *s, arm *a, int *throttled, report_error *err)
{
    size_t cap = 0;
    for (int i = 0; i < s->nsets; i++)
        cap += (size_t)s->sets[i]->nruns;
    if (arm_alloc(a, cap) < 0)
        return report_fail(err, "out of memory");
    int base = 0;
    *throttled = 0;
    for (int i = 0; i < s->nsets; i++) {
        const report_results *r = s->sets[i];
        const char *v = side_variant(s, i, err);
        if (!v)
            return -1;
        int maxs = -1;
        for (int j = 0; j < r->nruns; j++)
            maxs = r->runs[j].session > maxs ? r->runs[j].session : maxs;
        int *measured = calloc((size_t)maxs + 2, sizeof *measured), *mine = calloc((size_t)maxs + 2, sizeof *mine);
        bool *seen = calloc((size_t)maxs + 2, sizeof *seen);
        int *id = calloc((size_t)maxs + 2, sizeof *id);
        if (!measured || !mine || !seen || !id) {
            free(measured);
            free(mine);
            free(seen);
            free(id);
            return report_fail(err, "out of memory");
        }
        int nv = r->nvariants > 0 ? r->nvariants : 1, next = base;
        for (int j = 0; j < r->nruns; j++) {
            const report_run *u = &r->runs[j];
            if (u->warmup)
                continue;
            int k = measured[u->session]++;
            if (strcmp(u->variant, v))
                continue;
            if (!u->ok)
                continue;
            if (!seen[u->session]) {
                seen[u->session] = true;
                id[u->session] = next++;
            }
            a->run[a->n] = u;
            a->session[a->n] = id[u->session];
            a->round[a->n] = k / nv;
            a->pos[a->n] = mine[u->session]++;
            a->set[a->n] = i;
            a->use[a->n] = true;
            *throttled += !strcmp(u->throttle, "yes");
            a->n++;
        }
        base = next;
        if (s->nsets == 1 && r->adaptive_stop && r->stop_min_runs >= 2)
            a->stage1 = r->stop_min_runs;
        free(measured);
        free(mine);
        free(seen);
        free(id);
    }
    a->sessions = base;
    a->sets = s->nsets;
    return 0;
}

/* ---- one analysis over the runs in use ---- */

typedef struct design {
    bool paired, heat, heat_trim, robust_primary;
    bool linear;                /* values of 0 or below: no log scale */
    bool hib;
} design;

static size_t used_values(const arm *a, double *out, int *sess)
{
    size_t k = 0;
    for (size_t i = 0; i < a->n; i++)
        if (a->use[i]) {
            if (sess)
                sess[k] = a->session[i];
            out[k++] = a->run[i]->metric;
        }
    return k;
}

static int used_sessions(const arm *a)
{
    int m = 0, last = -1;
    for (size_t i = 0; i < a->n; i++)
        if (a->use[i] && a->session[i] != last) {
            last = a->session[i];
            m++;
        }
    return m;
}

/* Pairs of runs of the same session and round, both in use. */
static size_t pairs(const arm *A, const arm *B, double *pa, double *pb)
{
    size_t k = 0, j = 0;
    for (size_t i = 0; i < A->n; i++) {
        if (!A->use[i])
            continue;
        while (j < B->n && (B->session[j] < A->session[i] ||
                            (B->session[j] == A->session[i] && B->round[j] < A->round[i])))
            j++;
        if (j < B->n && B->use[j] && B->session[j] == A->session[i] && B->round[j] == A->round[i]) {
            pa[k] = A->run[i]->metric;
            pb[k++] = B->run[j]->metric;
        }
    }
    return k;
}

/* The per-round log ratios log(B / A) of a paired design, malloc'd (NULL
 * when out of memory); *k their count. */
static double *round_log_ratios(const arm *A, const arm *B, size_t *k)
{
    double *pa = malloc((A->n + 1) * sizeof *pa), *pb = malloc((A->n + 1) * sizeof *pb);
    *k = 0;
    if (pa && pb) {
        *k = pairs(A, B, pa, pb);
        for (size_t i = 0; i < *k; i++)
            pa[i] = log(pb[i] / pa[i]);
    } else {
        free(pa);
        pa = NULL;
    }
    free(pb);
    return pa;
}

static void add_component(double v, double df, double *sum, double *den)
{
    *sum += v;
    if (v > 0 && df > 0)
        *den += v * v / df;
}

/* Whether the unit of replication is the experiment: a side made of several
 * result sets (past experiments from the history, several files). Sessions
 * of one experiment run seconds apart and share its minutes, so the
 * experiments, not their sessions, are the independent draws, and a
 * candidate experiment is one more of them. */
static bool experiment_units(const arm *A, const arm *B) { return A->sets >= 2 || B->sets >= 2; }

/* The log values of an arm's runs in use, labelled by unit: by session; or,
 * with experiment units, each session's mean labelled by its set, so that a
 * unit's mean is the mean of its session means. Returns the count. */
static size_t unit_values(const arm *a, bool experiments, double *x, int *unit)
{
    size_t n = 0;
    for (size_t i = 0; i < a->n; i++)
        if (a->use[i]) {
            x[n] = a->run[i]->metric > 0 ? log(a->run[i]->metric) : NAN;
            unit[n++] = a->session[i];
        }
    if (!experiments || n == 0)
        return n;
    /* Session labels are 0 .. sessions-1 arm-wide: one pass sums them. */
    double *sum = calloc((size_t)a->sessions + 1, sizeof *sum);
    int *cnt = calloc((size_t)a->sessions + 1, sizeof *cnt), *set = calloc((size_t)a->sessions + 1, sizeof *set);
    size_t m = 0;
    if (sum && cnt && set) {
        for (size_t i = 0; i < a->n; i++)
            set[a->session[i]] = a->set[i];
        for (size_t i = 0; i < n; i++) {
            sum[unit[i]] += x[i];
            cnt[unit[i]]++;
        }
        for (int k = 0; k < a->sessions; k++)
            if (cnt[k]) {
                x[m] = sum[k] / cnt[k];
                unit[m++] = set[k];
            }
    }
    free(sum);
    free(cnt);
    free(set);
    return m;
}

/* Unit means on the log scale (sessions, or experiments: unit_values):
 * each side's mean is the mean of its unit means; a side with one unit
 * borrows the variance of the unit means measured on the other side. */
static int sessions_interval(const arm *A, const arm *B, double level, report_interval *o)
{
    const arm *arms[2] = {A, B};
    const bool experiments = experiment_units(A, B);
    report_variance_components vc[2];
    double mean[2];
    for (int g = 0; g < 2; g++) {
        double *x = malloc((arms[g]->n + 1) * sizeof *x);
        int *u = malloc((arms[g]->n + 1) * sizeof *u);
        if (!x || !u) {
            free(x);
            free(u);
            return -1;
        }
        size_t n = unit_values(arms[g], experiments, x, u);
        int rc = report_variance_components_fit(x, u, n, &vc[g]);
        free(x);
        free(u);
        if (rc < 0 || !isfinite(vc[g].mean))
            return -1;
        mean[g] = vc[g].mean;
    }
    /* Both sides with sessions: Welch on the session means. One side with
     * one session: its mean is one more draw of a session mean, so its
     * variance is that of the other side's session means (a prediction
     * interval; exact when sessions have as many runs). */
    double sum = 0, den = 0, dfb = 0;
    for (int g = 0; g < 2; g++) {
        const report_variance_components *own = &vc[g], *other = &vc[1 - g];
        if (own->sessions >= 2) {
            add_component(own->var_session_means / own->sessions, own->df_between, &sum, &den);
            dfb += own->df_between;
        } else if (other->sessions >= 2)
            add_component(other->var_session_means, other->df_between, &sum, &den);
        else
            return -1;
    }
    /* One side with sessions: both terms share its df. */
    double df = vc[0].sessions >= 2 && vc[1].sessions >= 2 ? (den > 0 ? sum * sum / den : dfb)
                                                           : (vc[0].sessions >= 2 ? vc[0].df_between : vc[1].df_between);
    double t = report_t_quantile(1 - (1 - level) / 2, df), d = mean[1] - mean[0], se = sqrt(sum);
    o->ratio = exp(d);
    o->lo = exp(d - t * se);
    o->hi = exp(d + t * se);
    o->df = df;
    o->ok = isfinite(o->lo) && isfinite(o->hi);
    snprintf(o->method, sizeof o->method, "%s means (%.0f df)", experiments ? "experiment" : "session", df);
    return o->ok ? 0 : -1;
}

static int heat_interval(const arm *A, const arm *B, double level, bool trim, report_interval *o, size_t *ia,
                         size_t *ib)
{
    size_t cap = A->n + B->n + 1, n = 0;
    double *y = malloc(cap * sizeof *y), *t = malloc(cap * sizeof *t);
    int *isb = malloc(cap * sizeof *isb);
    const arm *arms[2] = {A, B};
    for (int g = 0; g < 2 && y && t && isb; g++)
        for (size_t i = 0; i < arms[g]->n; i++)
            if (arms[g]->use[i]) {
                y[n] = arms[g]->run[i]->metric;
                t[n] = arms[g]->run[i]->temp_start_c;
                isb[n++] = g;
            }
    int rc = y && t && isb ? report_ratio_heat_adjusted(y, isb, t, n, level, trim, o, ia, ib) : -1;
    free(y);
    free(t);
    free(isb);
    return rc;
}

/* A run far outside the others: beyond Tukey's outer fence (3 IQR) and with
 * a robust z above 8. Tukey's fence alone, from the rough quartiles of ten
 * runs, flags ordinary normal noise (measured: 9 % of clean pairs at 10 runs). */
static bool severe_outlier(const double *x, size_t n)
{
    int *cls = malloc((n ? n : 1) * sizeof *cls);
    double *z = malloc((n ? n : 1) * sizeof *z);
    bool any = false;
    if (cls && z) {
        report_outliers_tukey(x, n, cls);
        report_robust_z(x, n, z);
        for (size_t i = 0; i < n; i++)
            any |= cls[i] == REPORT_OUTLIER_SEVERE && fabs(z[i]) > 8;
    }
    free(cls);
    free(z);
    return any;
}

/* Adaptive stopping (Stein's two-stage rule): an arm's variance comes from
 * its first stage alone, with that stage's degrees of freedom; the total was
 * chosen from it, so the spread of the later runs would be biased. */
static int stein_interval(const double *a, size_t na, int sa, const double *b, size_t nb, int sb, double level,
                          report_interval *o)
{
    const double *x[2] = {a, b};
    size_t n[2] = {na, nb};
    int st[2] = {sa, sb};
    double mean[2], v[2], df[2];
    for (int g = 0; g < 2; g++) {
        size_t k = st[g] >= 2 && (size_t)st[g] <= n[g] ? (size_t)st[g] : n[g];
        double *l = malloc((n[g] + 1) * sizeof *l);
        if (!l)
            return -1;
        for (size_t i = 0; i < n[g]; i++)
            l[i] = x[g][i] > 0 ? log(x[g][i]) : NAN;
        mean[g] = report_mean(l, n[g]);
        v[g] = pow(report_sd(l, k), 2) / (double)n[g];
        df[g] = (double)k - 1;
        free(l);
    }
    /* The smaller first stage's df (Hsu): Welch-Satterthwaite's df is
     * too generous with two 4-df variances (measured: 93.4 % for 95 %). */
    double sum = v[0] + v[1], dff = fmin(df[0], df[1]);
    double d = mean[1] - mean[0], se = sqrt(sum);
    double t = report_t_quantile(1 - (1 - level) / 2, dff);
    o->ratio = exp(d);
    o->lo = exp(d - t * se);
    o->hi = exp(d + t * se);
    o->df = dff;
    o->ok = isfinite(o->lo) && isfinite(o->hi);
    snprintf(o->method, sizeof o->method, "ratio of geometric means, first-stage variance (Stein)");
    return o->ok ? 0 : -1;
}

/* Below this many runs per arm the quartiles are too rough for Tukey's
 * fences: ordinary noise would look like a severe outlier (measured: a
 * quarter of clean normal pairs at 5 runs). */
#define ROBUST_MIN_RUNS 10

/* Values of 0 (a CPU time under the clock tick, an empty count) rule out
 * the log scale. */
static bool any_nonpositive(const arm *a)
{
    for (size_t i = 0; i < a->n; i++)
        if (!(a->run[i]->metric > 0))
            return true;
    return false;
}

/* Without logs: the ratio of arithmetic means by Fieller's theorem. */
static int linear_interval(const double *a, size_t na, const double *b, size_t nb, double level, report_interval *o)
{
    report_ratio r;
    if (report_ratio_fieller(a, na, b, nb, level, &r) < 0)
        return -1;
    *o = (report_interval){r.ratio, r.lo, r.hi, NAN, true, ""};
    snprintf(o->method, sizeof o->method, "ratio of means (Fieller; values of 0 rule out logs)");
    return 0;
}

/* Without logs, the robust reading: the Hodges-Lehmann shift of B - A with
 * its distribution-free (Moses) interval, relative to A's mean. */
static int shift_interval(const double *a, size_t na, const double *b, size_t nb, double level, report_interval *o)
{
    double *sa = stats_sorted_copy(a, na), *sb = stats_sorted_copy(b, nb), ma = report_mean(a, na);
    long k = report_mwu_ci_rank(na, nb, level);
    int rc = -1;
    if (sa && sb && k >= 1 && ma > 0) {
        double m = (double)na * (double)nb;
        *o = (report_interval){1 + report_hodges_lehmann(a, na, b, nb) / ma,
                               1 + stats_pairwise_diff_kth(sa, na, sb, nb, (double)k) / ma,
                               1 + stats_pairwise_diff_kth(sa, na, sb, nb, m - (double)k + 1) / ma, NAN, true,
                               "Hodges-Lehmann shift / baseline mean"};
        rc = o->lo > 0 ? 0 : -1;
    }
    free(sa);
    free(sb);
    return rc;
}

/* The primary analysis of the runs in use, unoriented (candidate / baseline). */
static int analyse(const arm *A, const arm *B, const design *d, double level, report_interval *o)
{
    memset(o, 0, sizeof *o);
    o->ratio = o->lo = o->hi = NAN;
    double *a = malloc((A->n + 1) * sizeof *a), *b = malloc((B->n + 1) * sizeof *b);
    int rc = -1;
    if (!a || !b)
        goto done;
    if (d->linear) {
        rc = linear_interval(a, used_values(A, a, NULL), b, used_values(B, b, NULL), level, o);
        goto done;
    }
    if (d->paired) {
        size_t k = pairs(A, B, a, b);
        if (k >= 3) {
            rc = report_ratio_paired(a, b, k, level, o);
            goto done;
        }
    }
    if (d->heat) {
        size_t ia, ib;
        if (heat_interval(A, B, level, d->heat_trim, o, &ia, &ib) == 0) {
            rc = 0;
            goto done;
        }
    }
    if (used_sessions(A) >= 2 || used_sessions(B) >= 2) {
        if (sessions_interval(A, B, level, o) == 0) {
            rc = 0;
            goto done;
        }
    }
    size_t na = used_values(A, a, NULL), nb = used_values(B, b, NULL);
    if (na < 2 || nb < 2)
        goto done;
    if (d->robust_primary) {
        report_ratio r;
        if (report_ratio_hodges_lehmann(a, na, b, nb, level, &r) == 0) {
            *o = (report_interval){r.ratio, r.lo, r.hi, NAN, true, ""};
            snprintf(o->method, sizeof o->method, "Hodges-Lehmann ratio (severe outliers present)");
            rc = 0;
            goto done;
        }
    }
    if (A->stage1 || B->stage1)
        rc = stein_interval(a, na, A->stage1, b, nb, B->stage1, level, o);
    else
        rc = report_ratio_geometric(a, na, b, nb, level, o);
done:
    free(a);
    free(b);
    return rc;
}

static void orient(report_interval *o, bool hib)
{
    if (hib || !o->ok)
        return;
    double r = o->ratio, lo = o->lo, hi = o->hi;
    o->ratio = 1 / r;
    o->lo = 1 / hi;
    o->hi = 1 / lo;
}

/* ---- evidence: steps within sessions ---- */

static void telemetry_change(const arm *a, int session, int at, char *out, size_t cap)
{
    double sum[2][3] = {{0}}, cnt[2][3] = {{0}};
    int thr[2] = {0}, nrun[2] = {0};
    for (size_t i = 0; i < a->n; i++) {
        if (a->session[i] != session)
            continue;
        int g = a->pos[i] >= at;
        const report_run *u = a->run[i];
        double v[3] = {u->clock_mean_mhz, u->temp_start_c, u->mem_psi_some_us};
        for (int k = 0; k < 3; k++)
            if (isfinite(v[k])) {
                sum[g][k] += v[k];
                cnt[g][k]++;
            }
        thr[g] += !strcmp(u->throttle, "yes");
        nrun[g]++;
    }
    size_t len = 0;
    out[0] = 0;
    double m[2][3];
    for (int g = 0; g < 2; g++)
        for (int k = 0; k < 3; k++)
            m[g][k] = cnt[g][k] > 0 ? sum[g][k] / cnt[g][k] : NAN;
    if (isfinite(m[0][0]) && isfinite(m[1][0]) && fabs(m[1][0] / m[0][0] - 1) > 0.02)
        len += (size_t)snprintf(out + len, cap - len, "CPU clock %s from %.2f to %.2f GHz",
                                m[1][0] < m[0][0] ? "fell" : "rose", m[0][0] / 1000, m[1][0] / 1000);
    if (len < cap && isfinite(m[0][1]) && isfinite(m[1][1]) && fabs(m[1][1] - m[0][1]) >= 2)
        len += (size_t)snprintf(out + len, cap - len, "%stemperature at run start %s from %.1f to %.1f C",
                                len ? ", " : "", m[1][1] > m[0][1] ? "rose" : "fell", m[0][1], m[1][1]);
    if (len < cap && thr[1] > thr[0] * (nrun[1] > 0 ? 1 : 0) && thr[1] > 0)
        len += (size_t)snprintf(out + len, cap - len, "%sthrottled in %d of %d runs after it", len ? ", " : "",
                                thr[1], nrun[1]);
    if (len < cap && isfinite(m[0][2]) && isfinite(m[1][2]) && m[1][2] > 2 * m[0][2] + 1000)
        len += (size_t)snprintf(out + len, cap - len, "%smemory pressure rose (%.0f to %.0f us stalled per run)",
                                len ? ", " : "", m[0][2], m[1][2]);
}

/* Runs on each side of a split for the step test. */
#define STEP_MIN_SEGMENT 3

/* A step, not a trend: a linear drift also splits well into two halves, but
 * then a line fits as well as two levels. Two levels must beat the line by
 * more than twice the residual variance per run (an F-like margin). */
static bool step_beats_line(const double *x, size_t n, size_t at)
{
    double sx = 0, sy = 0, sxx = 0, sxy = 0, m1 = 0, m2 = 0;
    for (size_t i = 0; i < n; i++) {
        sx += (double)i;
        sy += x[i];
        sxx += (double)i * (double)i;
        sxy += (double)i * x[i];
        if (i < at)
            m1 += x[i];
        else
            m2 += x[i];
    }
    m1 /= (double)at;
    m2 /= (double)(n - at);
    double dn = (double)n, b = (dn * sxy - sx * sy) / (dn * sxx - sx * sx), a0 = (sy - b * sx) / dn;
    double sse_line = 0, sse_step = 0;
    for (size_t i = 0; i < n; i++) {
        sse_line += pow(x[i] - a0 - b * (double)i, 2);
        sse_step += pow(x[i] - (i < at ? m1 : m2), 2);
    }
    return n > 3 && sse_line - sse_step > 2 * sse_step / (double)(n - 3);
}

/* Steps in each session of an arm; the index sets of the runs before and
 * after each one are what the hull recomputes without. */
typedef struct step_found {
    report_step s;
    const arm *a;               /* the arm, or NULL for paired differences */
    int session, at;            /* position in the session of the first run after */
} step_found;

/* owner: the arm whose runs the hull sets aside (NULL: paired rounds);
 * telemetry: the arm whose runs say what moved. */
static void record_step(step_found *f, const char *name, const arm *owner, const arm *telemetry, int session,
                        size_t at, size_t k, double change, double p)
{
    memset(f, 0, sizeof *f);
    snprintf(f->s.arm, sizeof f->s.arm, "%s", name);
    f->s.session = session;
    f->s.at_run = (int)at + 1;
    f->s.session_runs = (int)k;
    f->s.change_pct = 100 * change;
    f->s.p = p;
    telemetry_change(telemetry, session, (int)at, f->s.telemetry, sizeof f->s.telemetry);
    f->a = owner;
    f->session = session;
    f->at = (int)at;
}

/* A step counts on strong evidence (p below step_p, and two levels beat a
 * line), or on weak evidence (p below large_step_p) when it is large enough
 * to move the verdict: at 2 margins or more, half a session on either side of
 * it moves the session's mean by the margin. A one-session side cannot
 * average such a step away, and the cost of setting it aside when it is
 * noise is an inconclusive verdict, not a wrong one. */
static bool step_counts(const double *x, size_t k, size_t at, double change, double p, const report_gate_options *opt)
{
    if (p < opt->step_p && step_beats_line(x, k, at))
        return true;
    if (!(p < opt->large_step_p) || !(fabs(change) >= 2 * opt->max_regression))
        return false;
    /* Its size from the two segments' medians too: one outlier run in a
     * short segment is no step. */
    double before = report_median(x, at), after = report_median(x + at, k - at);
    return before > 0 && fabs(after / before - 1) >= opt->max_regression;
}

static void steps_in_arm(const arm *a, const char *name, const report_gate_options *opt, step_found *out, int *n)
{
    double *x = malloc((a->n + 1) * sizeof *x);
    if (!x)
        return;
    for (int s = 0; s < a->sessions && *n < REPORT_GATE_MAX_STEPS; s++) {
        size_t k = 0;
        for (size_t i = 0; i < a->n; i++)
            if (a->session[i] == s)
                x[k++] = a->run[i]->metric;
        size_t at;
        double change, p;
        if (report_step_detect(x, k, STEP_MIN_SEGMENT, &at, &change, &p) < 0 || !step_counts(x, k, at, change, p, opt))
            continue;
        record_step(&out[(*n)++], name, a, a, s, at, k, change, p);
    }
    free(x);
}

/* Paired designs: a step in the per-round log ratios (a step shared by both
 * arms cancels there; one arm's alone does not). */
static void steps_in_pairs(const arm *A, const arm *B, const report_gate_options *opt, step_found *out, int *n)
{
    double *pa = malloc((A->n + 1) * sizeof *pa), *pb = malloc((A->n + 1) * sizeof *pb);
    double *d = malloc((A->n + 1) * sizeof *d);
    bool *keep = malloc((A->n + 1) * sizeof *keep);
    if (!pa || !pb || !d || !keep)
        goto done;
    memcpy(keep, A->use, A->n * sizeof *keep);
    arm *W = (arm *)A;
    for (int s = 0; s < A->sessions && *n < REPORT_GATE_MAX_STEPS; s++) {
        for (size_t i = 0; i < A->n; i++)
            W->use[i] = keep[i] && A->session[i] == s;
        size_t k = pairs(A, B, pa, pb);
        for (size_t i = 0; i < k; i++)
            d[i] = pb[i] / pa[i];
        size_t at;
        double change, p;
        if (report_step_detect(d, k, STEP_MIN_SEGMENT, &at, &change, &p) < 0 || !step_counts(d, k, at, change, p, opt))
            continue;
        record_step(&out[(*n)++], "difference", NULL, B, s, at, k, change, p);
    }
    memcpy(W->use, keep, A->n * sizeof *keep);
done:
    free(pa);
    free(pb);
    free(d);
    free(keep);
}

/* Marks the runs of step f's session on one side of it as unused (in the
 * paired case, the baseline's runs of those rounds: pairs follow them). */
static void set_aside(arm *A, arm *B, const step_found *f, bool after)
{
    arm *a = f->a ? (arm *)f->a : A;
    (void)B;
    int k = 0;
    for (size_t i = 0; i < a->n; i++) {
        if (a->session[i] != f->session)
            continue;
        int idx = f->a ? a->pos[i] : k++;
        if ((idx >= f->at) == after)
            a->use[i] = false;
    }
}

static void use_all(arm *a)
{
    for (size_t i = 0; i < a->n; i++)
        a->use[i] = true;
}

/* ---- environment ---- */

/* "k=v; k=v" texts: the fields that differ, where both sides know them. */
static void diff_fields(const char *a, const char *b, char *out, size_t cap)
{
    size_t len = strlen(out);
    const char *p = a;
    while (*p && len < cap) {
        const char *end = strstr(p, "; ");
        size_t n = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', n);
        if (eq) {
            size_t kn = (size_t)(eq - p) + 1;
            const char *q = b;
            while (q && *q && strncmp(q, p, kn)) {
                q = strstr(q, "; ");
                q = q ? q + 2 : NULL;
            }
            if (q && *q) {
                const char *qe = strstr(q, "; ");
                size_t qn = qe ? (size_t)(qe - q) : strlen(q);
                bool unknown = !strncmp(eq + 1, "?", n - kn) || !strncmp(q + kn, "?", qn - kn);
                if (!unknown && (qn != n || strncmp(p, q, n)))
                    len += (size_t)snprintf(out + len, cap - len, "%s%.*s '%.*s' vs '%.*s'", len ? "; " : "",
                                            (int)(kn - 1), p, (int)(n - kn), eq + 1, (int)(qn - kn), q + kn);
            }
        }
        p = end ? end + 2 : p + n;
    }
}

/* Space-separated "op=variant" lists: which ops resolved differently. */
static void diff_kernels(const char *a, const char *b, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = 0;
    char bufa[160];
    snprintf(bufa, sizeof bufa, "%s", a);
    char *save = NULL;
    for (char *t = strtok_r(bufa, " ,", &save); t && len < cap; t = strtok_r(NULL, " ,", &save)) {
        char *eq = strchr(t, '=');
        if (!eq)
            continue;
        size_t kn = (size_t)(eq - t) + 1;
        const char *other = NULL;
        for (const char *r = b; r && *r;) {
            while (*r == ' ' || *r == ',')
                r++;
            if (!strncmp(r, t, kn)) {
                other = r + kn;
                break;
            }
            r = strpbrk(r, " ,");
        }
        size_t on = other ? strcspn(other, " ,") : 0;
        if (!other || on != strlen(eq + 1) || strncmp(other, eq + 1, on))
            len += (size_t)snprintf(out + len, cap - len, "%s%.*s %s -> %.*s", len ? ", " : "", (int)(kn - 1), t,
                                    eq + 1, (int)(other ? on : 1), other ? other : "?");
    }
    if (!out[0] && strcmp(a, b))
        snprintf(out, cap, "'%s' -> '%s'", a, b);
}

static int check_env(const report_side *bs, const report_side *cs, const report_gate_options *opt,
                     report_gate_result *o, report_error *err)
{
    const report_results *b0 = bs->sets[0];
    const char *vb0 = bs->variant ? bs->variant : b0->variants[0];
    int ib0 = find_variant(b0, vb0);
    const report_side *sides[2] = {bs, cs};
    for (int g = 0; g < 2; g++)
        for (int i = 0; i < sides[g]->nsets; i++) {
            const report_results *r = sides[g]->sets[i];
            if (r == b0)
                continue;
            diff_fields(b0->machine, r->machine, o->machine_detail, sizeof o->machine_detail);
        }
    o->machine_differs = o->machine_detail[0] != 0;
    o->env_mismatch = o->machine_differs;
    snprintf(o->env_detail, sizeof o->env_detail, "%s", o->machine_detail);
    for (int g = 0; g < 2; g++)
        for (int i = 0; i < sides[g]->nsets; i++) {
            const report_results *r = sides[g]->sets[i];
            const char *v = sides[g]->variant ? sides[g]->variant : r->variants[0];
            int iv = find_variant(r, v);
            if (iv < 0 || ib0 < 0)
                continue;
            const char *qa = b0->variant_request[ib0], *qb = r->variant_request[iv];
            if (qa[0] && qb[0] && strcmp(qa, qb) && !o->workload_differs) {
                o->workload_differs = true;
                diff_fields(qa, qb, o->workload_detail, sizeof o->workload_detail);
                if (!o->workload_detail[0])
                    snprintf(o->workload_detail, sizeof o->workload_detail, "'%.240s' vs '%.240s'", qa, qb);
            }
            const char *pa = b0->variant_program[ib0], *pb = r->variant_program[iv];
            if (pa[0] && pb[0] && strcmp(pa, pb) && !o->program_differs) {
                o->program_differs = true;
                snprintf(o->program_change, sizeof o->program_change, "'%.180s' -> '%.180s'", pa, pb);
            }
            const char *ka = b0->variant_kernels[ib0], *kb = r->variant_kernels[iv];
            if (ka[0] && kb[0] && strcmp(ka, kb) && !o->kernels_differ) {
                o->kernels_differ = true;
                diff_kernels(ka, kb, o->kernel_change, sizeof o->kernel_change);
            }
        }
    /* The build: an optimisation level or a sanitizer changes speed as much as
     * the code under test can. Compared where both files record the build
     * (build_type set); sanitizers "" then means none. */
    for (int g = 0; g < 2; g++)
        for (int i = 0; i < sides[g]->nsets; i++) {
            const report_results *r = sides[g]->sets[i];
            if (r == b0 || !b0->build_type[0] || !r->build_type[0] || o->build_differs)
                continue;
            size_t len = 0;
            if (strcasecmp(b0->build_type, r->build_type))
                len += (size_t)snprintf(o->build_detail, sizeof o->build_detail, "build_type '%.60s' vs '%.60s'",
                                        b0->build_type, r->build_type);
            if (strcmp(b0->sanitizers, r->sanitizers))
                snprintf(o->build_detail + len, sizeof o->build_detail - len, "%ssanitizers '%.50s' vs '%.50s'",
                         len ? "; " : "", b0->sanitizers[0] ? b0->sanitizers : "none",
                         r->sanitizers[0] ? r->sanitizers : "none");
            o->build_differs = o->build_detail[0] != 0;
        }
    if (o->workload_differs && !opt->allow_workload_change && !opt->allow_env_mismatch)
        return report_fail(err, "the requested workloads differ (%s, %s): not the same benchmark; "
                                "--allow-workload-change compares them anyway",
                           b0->path, o->workload_detail);
    return 0;
}

/* ---- the verdict ---- */

void report_gate_defaults(report_gate_options *o)
{
    memset(o, 0, sizeof *o);
    o->max_regression = 0.03;
    o->confidence = 0.95;
    o->decision = 0.95;
    o->max_cv = 0.10;
    o->step_p = 0.01;
    o->large_step_p = 0.3;
}

const char *report_gate_verdict_name(report_gate_verdict v)
{
    switch (v) {
    case REPORT_GATE_PASS: return "pass";
    case REPORT_GATE_REGRESSION: return "regression";
    case REPORT_GATE_IMPROVEMENT: return "improvement";
    default: return "inconclusive";
    }
}

static double robust_cv(const arm *a, double *plain_cv)
{
    double *x = malloc((a->n + 1) * sizeof *x);
    *plain_cv = NAN;
    if (!x)
        return NAN;
    size_t n = used_values(a, x, NULL);
    double cv = n ? 1.4826 * report_mad(x, n) / fabs(report_median(x, n)) : NAN;
    if (n >= 2)
        *plain_cv = report_sd(x, n) / fabs(report_mean(x, n));
    free(x);
    return cv;
}

static bool all_temps(const arm *a)
{
    for (size_t i = 0; i < a->n; i++)
        if (!isfinite(a->run[i]->temp_start_c))
            return false;
    return a->n > 0;
}

static double mean_temp(const arm *a)
{
    double s = 0;
    for (size_t i = 0; i < a->n; i++)
        s += a->run[i]->temp_start_c;
    return a->n ? s / (double)a->n : NAN;
}

/* Do the arms' start temperatures differ (Welch p < 0.05, and by 1 C or more)? */
static bool temps_differ(const arm *A, const arm *B)
{
    double *ta = malloc((A->n + 1) * sizeof *ta), *tb = malloc((B->n + 1) * sizeof *tb);
    bool differ = false;
    if (ta && tb) {
        for (size_t i = 0; i < A->n; i++)
            ta[i] = A->run[i]->temp_start_c;
        for (size_t i = 0; i < B->n; i++)
            tb[i] = B->run[i]->temp_start_c;
        report_welch w;
        report_welch_test(ta, A->n, tb, B->n, &w);
        differ = fabs(w.diff) >= 1 && (w.p < 0.05 || !isfinite(w.p));
    }
    free(ta);
    free(tb);
    return differ;
}

typedef struct hull {
    double lo, hi;
    char why[256];              /* what widened it beyond the primary */
} hull;

static void hull_add(hull *h, const report_interval *iv, const report_interval *primary, const char *why)
{
    if (!iv->ok)
        return;
    bool wider = iv->lo < h->lo || iv->hi > h->hi;
    h->lo = fmin(h->lo, iv->lo);
    h->hi = fmax(h->hi, iv->hi);
    if (wider && why && (iv->lo < primary->lo || iv->hi > primary->hi)) {
        size_t len = strlen(h->why);
        if (!strstr(h->why, why))
            snprintf(h->why + len, sizeof h->why - len, "%s%s", len ? "; " : "", why);
    }
}

static void step_text(const report_step *s, char *out, size_t cap)
{
    const char *dir = s->change_pct < 0 ? "down" : "up";
    if (!strcmp(s->arm, "difference"))
        snprintf(out, cap, "the candidate/baseline ratio stepped %s %.1f%% at round %d of %d (session %d)%s%.200s", dir,
                 fabs(s->change_pct), s->at_run, s->session_runs, s->session, s->telemetry[0] ? ", when " : "",
                 s->telemetry);
    else
        snprintf(out, cap, "throughput stepped %s %.1f%% at run %d of %d of the %.12s (session %d)%s%.200s", dir,
                 fabs(s->change_pct), s->at_run, s->session_runs, s->arm, s->session,
                 s->telemetry[0] ? ", when " : "", s->telemetry);
}

static report_gate_verdict decide(double lo, double hi, double m)
{
    if (hi < 1 - m)
        return REPORT_GATE_REGRESSION;
    if (lo > 1 + m)
        return REPORT_GATE_IMPROVEMENT;
    if (lo > 1 - m)
        return REPORT_GATE_PASS;
    return REPORT_GATE_INCONCLUSIVE;
}

#define UNSTABLE_DECISION_LEVEL 0.98    /* two-sided: one-sided 99 % bounds */

/* The verdict from two gathered arms. */
static void verdict_core(arm *A, arm *B, bool same_file, const char *order, bool hib,
                         const report_gate_options *opt, report_gate_result *o)
{
    double m = opt->max_regression, dec_level = 2 * opt->decision - 1;
    o->runs_base = A->n;
    o->runs_cand = B->n;
    o->sessions_base = A->sessions;
    o->sessions_cand = B->sessions;
    o->ratio = o->lo = o->hi = o->dec_lo = o->dec_hi = NAN;
    o->sd_within_pct = o->sd_between_pct = NAN;
    o->temp_base_c = o->temp_cand_c = NAN;
    double cv_base, cv_cand;
    o->robust_cv_base = robust_cv(A, &cv_base);
    o->robust_cv_cand = robust_cv(B, &cv_cand);
    o->robust_cv_pairs = NAN;
    /* Unstable runs (robust CV or CV above max_cv): heavier tails than the t
     * interval assumes, so the decision bounds go to one-sided 99 % (measured:
     * at CV 13 % and 5-10 runs a side the 95 % bound let 1.6-1.7 % of A/A
     * pairs through). */
    o->unstable = o->robust_cv_base > opt->max_cv || o->robust_cv_cand > opt->max_cv;
    if ((o->unstable || cv_base > opt->max_cv || cv_cand > opt->max_cv) && dec_level < UNSTABLE_DECISION_LEVEL)
        dec_level = UNSTABLE_DECISION_LEVEL;
    o->decision_level = (1 + dec_level) / 2;
    if (A->n < 3 || B->n < 3) {
        snprintf(o->reason, sizeof o->reason, "too few runs (baseline %zu, candidate %zu; need 3 each)", A->n, B->n);
        o->verdict = REPORT_GATE_INCONCLUSIVE;
        return;
    }
    design d = {.hib = hib};
    /* Values of 0 or below: one analysis, the ratio of arithmetic means of
     * all runs (no pairing, sessions or temperature: those work on logs). */
    d.linear = any_nonpositive(A) || any_nonpositive(B);
    d.paired = !d.linear && same_file && order && (!strcmp(order, "interleaved") || !strcmp(order, "abba") ||
                                                   !strcmp(order, "random"));
    if (d.paired) {
        size_t k;
        double *lr = round_log_ratios(A, B, &k);
        d.paired = k >= 3;
        /* Pairing cancels what both arms share (drift, a slow minute), not the
         * rest: the spread of the log ratios within pairs, over sqrt 2, is the
         * per-arm noise it leaves, and above max_cv the pairs are unstable.
         * With fewer pairs than a step test needs, either arm's instability
         * counts too: from 5 pairs the spread alone is too rough an estimate
         * (measured: 1.35 % of A/As at CV 13 % called regressions; 0.75 % with
         * the arms' CVs too). */
        if (d.paired) {
            o->robust_cv_pairs = 1.4826 * report_mad(lr, k) / sqrt(2);
            double cv_pairs = report_sd(lr, k) / sqrt(2);
            bool few = k < 2 * STEP_MIN_SEGMENT;
            o->unstable = (few && o->unstable) || o->robust_cv_pairs > opt->max_cv;
            dec_level = few ? dec_level : 2 * opt->decision - 1;
            if ((o->unstable || cv_pairs > opt->max_cv) && dec_level < UNSTABLE_DECISION_LEVEL)
                dec_level = UNSTABLE_DECISION_LEVEL;
        }
        free(lr);
    }
    bool sessions = !d.linear && (A->sessions >= 2 || B->sessions >= 2);
    /* One session a side, unpaired: the between-session variance is assumed
     * 0, and the step test, the data's only check of that, needs
     * STEP_MIN_SEGMENT runs on each side of a split. A side too short for it
     * gets the conservative decision level (measured: a -10 % step in 3 of
     * the candidate's 5 runs at CV 2 % was a regression in 4.9 % of A/A pairs
     * at the 95 % level, 0.05 % at 99 %). */
    double plain_level = dec_level;
    o->short_session = !d.paired && !sessions && (A->n < 2 * STEP_MIN_SEGMENT || B->n < 2 * STEP_MIN_SEGMENT);
    if (o->short_session && dec_level < UNSTABLE_DECISION_LEVEL)
        dec_level = UNSTABLE_DECISION_LEVEL;
    o->decision_level = (1 + dec_level) / 2;
    /* Temperature: only where both arms recorded it and it differs between them. */
    if (all_temps(A) && all_temps(B)) {
        o->temp_base_c = mean_temp(A);
        o->temp_cand_c = mean_temp(B);
        if (!d.linear && !d.paired && !sessions && temps_differ(A, B)) {
            o->heat_differs = true;
            size_t ia, ib;
            o->heat_overlap = heat_interval(A, B, opt->confidence, true, &o->heat_adjusted, &ia, &ib) == 0;
            /* Without overlap the model extrapolates: its interval is the headline, and
             * the plain comparison joins the hull (heat cannot be told from code). */
            if (!o->heat_overlap)
                heat_interval(A, B, opt->confidence, false, &o->heat_adjusted, &ia, &ib);
            d.heat = o->heat_used = o->heat_adjusted.ok;
            d.heat_trim = o->heat_overlap;
            orient(&o->heat_adjusted, hib);
        }
    }
    if (!d.linear && !d.paired && !d.heat && !sessions) {
        double *x = malloc((A->n + B->n + 1) * sizeof *x);
        if (x) {
            size_t na = used_values(A, x, NULL);
            d.robust_primary = na >= ROBUST_MIN_RUNS && severe_outlier(x, na);
            size_t nb = used_values(B, x, NULL);
            d.robust_primary |= nb >= ROBUST_MIN_RUNS && severe_outlier(x, nb);
            free(x);
        }
    }
    /* Variance components on the log scale, each side on its own (the
     * effect must not count as between-session variance), pooled by df. */
    {
        const arm *arms[2] = {A, B};
        double w = 0, dw = 0, b = 0, db = 0;
        for (int g = 0; g < 2; g++) {
            double *x = malloc((arms[g]->n + 1) * sizeof *x);
            int *s = malloc((arms[g]->n + 1) * sizeof *s);
            report_variance_components vc;
            size_t n = x && s && !d.linear ? used_values(arms[g], x, s) : 0;
            for (size_t i = 0; i < n; i++)
                x[i] = log(x[i]);
            if (n && report_variance_components_fit(x, s, n, &vc) == 0) {
                if (isfinite(vc.var_within)) {
                    w += vc.var_within * vc.df_within;
                    dw += vc.df_within;
                }
                if (vc.sessions >= 2) {
                    b += vc.var_between * vc.df_between;
                    db += vc.df_between;
                }
            }
            free(x);
            free(s);
        }
        if (dw > 0)
            o->sd_within_pct = 100 * sqrt(w / dw);
        if (db > 0)
            o->sd_between_pct = 100 * sqrt(b / db);
    }
    /* The primary analysis: headline at the printed level, decision at the one-sided level. */
    report_interval dec, plain;
    if (analyse(A, B, &d, opt->confidence, &o->primary) < 0 || analyse(A, B, &d, dec_level, &dec) < 0 ||
        analyse(A, B, &d, plain_level, &plain) < 0) {
        snprintf(o->reason, sizeof o->reason, "%s",
                 d.linear ? "no interval could be computed: some runs measured 0 and the baseline's mean is not "
                            "distinguishable from 0 (Fieller's interval is unbounded)"
                          : "no interval could be computed (values must be positive and vary)");
        o->verdict = REPORT_GATE_INCONCLUSIVE;
        return;
    }
    orient(&o->primary, hib);
    orient(&dec, hib);
    orient(&plain, hib);
    o->ratio = o->primary.ratio;
    o->lo = o->primary.lo;
    o->hi = o->primary.hi;
    if (d.linear)
        snprintf(o->design, sizeof o->design,
                 "ratio of arithmetic means: some runs measured 0 or less, so no log scale; runs treated as "
                 "independent draws (no pairing, sessions or temperature adjustment)");
    else if (d.paired)
        snprintf(o->design, sizeof o->design,
                 "paired: rounds of one %s file, drift shared by both variants cancels", order);
    else if (sessions && experiment_units(A, B))
        snprintf(o->design, sizeof o->design,
                 "experiments as the unit: baseline %d (%d session%s), candidate %d (%d session%s); "
                 "between-session sd %.2f%%, within %.2f%%", A->sets, A->sessions, A->sessions == 1 ? "" : "s",
                 B->sets, B->sessions, B->sessions == 1 ? "" : "s", o->sd_between_pct, o->sd_within_pct);
    else if (sessions)
        snprintf(o->design, sizeof o->design,
                 "sessions: baseline %d, candidate %d; between-session sd %.2f%%, within %.2f%%", A->sessions,
                 B->sessions, o->sd_between_pct, o->sd_within_pct);
    else
        snprintf(o->design, sizeof o->design,
                 "unpaired, one session per side: between-session variance assumed 0 (runs treated as "
                 "independent draws)%s",
                 o->heat_used ? "; adjusted for start temperature" : "");
    /* The hull starts from the primary at the plain level; the short
     * session's conservative level joins it as evidence, named. */
    hull h = {plain.lo, plain.hi, ""};
    if (o->short_session) {
        char why[200];
        snprintf(why, sizeof why, "one session a side, %s %zu runs: too few to test for a step (%d needed), "
                 "so %.4g%% bounds", A->n == B->n ? "each has" : A->n < B->n ? "the baseline has" : "the candidate has",
                 A->n < B->n ? A->n : B->n, 2 * STEP_MIN_SEGMENT, 100 * o->decision_level);
        hull_add(&h, &dec, &plain, why);
    }
    /* Steps within sessions: the runs before and after each one, alone. */
    step_found steps[REPORT_GATE_MAX_STEPS];
    int ns = 0;
    if (d.paired)
        steps_in_pairs(A, B, opt, steps, &ns);
    else {
        steps_in_arm(A, "baseline", opt, steps, &ns);
        steps_in_arm(B, "candidate", opt, steps, &ns);
    }
    /* The largest step first: it names the reason. */
    for (int i = 1; i < ns; i++)
        for (int j = i; j > 0 && fabs(steps[j].s.change_pct) > fabs(steps[j - 1].s.change_pct); j--) {
            step_found t = steps[j];
            steps[j] = steps[j - 1];
            steps[j - 1] = t;
        }
    char first_step[400] = "";
    for (int i = 0; i < ns; i++) {
        o->steps[o->nsteps++] = steps[i].s;
        if (!first_step[0])
            step_text(&steps[i].s, first_step, sizeof first_step);
        for (int after = 0; after < 2; after++) {
            report_interval part;
            set_aside(A, B, &steps[i], after != 0);
            if (analyse(A, B, &d, dec_level, &part) == 0) {
                orient(&part, hib);
                hull_add(&h, &part, &dec, first_step);
            }
            use_all(A);
            use_all(B);
        }
    }
    /* Unstable runs: the robust interval joins. */
    char unstable_why[160] = "";
    if (o->unstable && d.paired) {
        /* The median ratio within pairs, with its order-statistic interval
         * (the sign test's; the whole range where too few pairs for the level). */
        snprintf(unstable_why, sizeof unstable_why,
                 "unstable rounds: robust CV of the per-round ratios %.1f%% (over sqrt 2) above %.1f%%",
                 100 * o->robust_cv_pairs, 100 * opt->max_cv);
        size_t k;
        double *lr = round_log_ratios(A, B, &k), lo = NAN, hi = NAN;
        if (k)
            report_median_ci(lr, k, dec_level, &lo, &hi);
        report_interval iv = {k ? exp(report_median(lr, k)) : NAN, isfinite(lo) ? exp(lo) : 0,
                              isfinite(hi) ? exp(hi) : INFINITY, NAN, true, "median per-round ratio"};
        orient(&iv, hib);
        hull_add(&h, &iv, &dec, unstable_why);
        o->robust = iv;
        free(lr);
    } else if (o->unstable) {
        snprintf(unstable_why, sizeof unstable_why, "unstable runs: robust CV %.1f%% (baseline), %.1f%% (candidate) above %.1f%%",
                 100 * o->robust_cv_base, 100 * o->robust_cv_cand, 100 * opt->max_cv);
        double *a = malloc((A->n + 1) * sizeof *a), *b = malloc((B->n + 1) * sizeof *b);
        report_ratio r;
        report_interval iv;
        size_t na = a ? used_values(A, a, NULL) : 0, nb = b ? used_values(B, b, NULL) : 0;
        if (a && b && d.linear && shift_interval(a, na, b, nb, dec_level, &iv) == 0) {
            orient(&iv, hib);
            hull_add(&h, &iv, &dec, unstable_why);
            o->robust = iv;
        } else if (a && b && !d.linear && report_ratio_hodges_lehmann(a, na, b, nb, dec_level, &r) == 0) {
            iv = (report_interval){r.ratio, r.lo, r.hi, NAN, true, "Hodges-Lehmann ratio"};
            orient(&iv, hib);
            hull_add(&h, &iv, &dec, unstable_why);
            o->robust = iv;
        } else {
            hull_add(&h, &(report_interval){NAN, 0, INFINITY, NAN, true, ""}, &dec, unstable_why);
        }
        free(a);
        free(b);
    }
    /* Heat with no overlap: the plain comparison joins the extrapolated model. */
    char heat_why[200] = "";
    if (o->heat_differs && !o->heat_overlap) {
        snprintf(heat_why, sizeof heat_why,
                 "cannot separate heat from code: the arms' start temperatures do not overlap (baseline %.1f C, "
                 "candidate %.1f C on average)",
                 o->temp_base_c, o->temp_cand_c);
        design plain = d;
        plain.heat = false;
        report_interval pl;
        if (!d.heat)        /* no model at all: nothing bounds the heat's share */
            hull_add(&h, &(report_interval){NAN, 0, INFINITY, NAN, true, ""}, &dec, heat_why);
        else if (analyse(A, B, &plain, dec_level, &pl) == 0) {
            orient(&pl, hib);
            hull_add(&h, &pl, &dec, heat_why);
        }
    }
    o->dec_lo = h.lo;
    o->dec_hi = h.hi;
    o->verdict = decide(h.lo, h.hi, m);
    double pct = 100 * opt->confidence, dpct = 100 * (1 + dec_level) / 2;
    char head[400];
    snprintf(head, sizeof head, "%s: change %+.2f%% (%.4g%% CI %+.2f%% to %+.2f%%)", o->primary.method,
             100 * (o->ratio - 1), pct, 100 * (o->lo - 1), 100 * (o->hi - 1));
    switch (o->verdict) {
    case REPORT_GATE_REGRESSION:
        snprintf(o->reason, sizeof o->reason, "%s; %.4g%% upper bound %+.2f%% is below -%.2g%%%s%s", head, dpct,
                 100 * (h.hi - 1), 100 * m, h.why[0] ? " even allowing for " : "", h.why);
        break;
    case REPORT_GATE_IMPROVEMENT:
        snprintf(o->reason, sizeof o->reason, "%s; %.4g%% lower bound %+.2f%% is above +%.2g%%%s%s", head, dpct,
                 100 * (h.lo - 1), 100 * m, h.why[0] ? " even allowing for " : "", h.why);
        break;
    case REPORT_GATE_PASS:
        snprintf(o->reason, sizeof o->reason, "%s; %.4g%% lower bound %+.2f%% is above -%.2g%%%s%s", head, dpct,
                 100 * (h.lo - 1), 100 * m, h.why[0] ? " even allowing for " : "", h.why);
        break;
    default: {
        /* What made it inconclusive: the widening evidence, if the primary alone would have decided. */
        bool primary_decides = decide(plain.lo, plain.hi, m) != REPORT_GATE_INCONCLUSIVE;
        if (primary_decides && h.why[0])
            snprintf(o->reason, sizeof o->reason, "%.250s (otherwise %s: %.380s)", h.why,
                     report_gate_verdict_name(decide(plain.lo, plain.hi, m)), head);
        else
            snprintf(o->reason, sizeof o->reason, "%s; the %.4g%% bounds %+.2f%% to %+.2f%%: the interval straddles -%.2g%%: more runs "
                     "needed%s%.500s", head, dpct, 100 * (h.lo - 1), 100 * (h.hi - 1), 100 * m,
                     h.why[0] ? "; also " : "", h.why);
        break;
    }
    }
}

/* Conditions that make any verdict but inconclusive untrustworthy. */
static void overrule(report_gate_result *o, int throttled, const report_gate_options *opt)
{
    char why[700] = "";
    if (throttled && !opt->allow_throttle)
        snprintf(why, sizeof why, "%d runs were throttled", throttled);
    else if (o->machine_differs && !opt->allow_machine_change && !opt->allow_env_mismatch)
        snprintf(why, sizeof why, "another machine: %.600s (--allow-machine-change to compare anyway)",
                 o->machine_detail);
    else if (o->build_differs && !opt->allow_build_change)
        snprintf(why, sizeof why, "another build: %.240s (--allow-build-change to compare anyway)", o->build_detail);
    if (why[0] && o->verdict != REPORT_GATE_INCONCLUSIVE) {
        char tmp[1024];
        snprintf(tmp, sizeof tmp, "%s (otherwise %s: %.280s)", why, report_gate_verdict_name(o->verdict), o->reason);
        snprintf(o->reason, sizeof o->reason, "%s", tmp);
        o->verdict = REPORT_GATE_INCONCLUSIVE;
    }
    if (o->kernels_differ) {
        size_t len = strlen(o->reason);
        snprintf(o->reason + len, sizeof o->reason - len, "; kernels resolved differently (the code under test): %.300s",
                 o->kernel_change);
    }
    if (o->program_differs) {
        size_t len = strlen(o->reason);
        snprintf(o->reason + len, sizeof o->reason - len, "; another program (the code under test): %.300s",
                 o->program_change);
    }
}

int report_gate_sides(const report_side *bs, const report_side *cs, const report_gate_options *opt,
                      report_gate_result *o, report_error *err)
{
    memset(o, 0, sizeof *o);
    if (bs->nsets < 1 || cs->nsets < 1)
        return report_fail(err, "a side of the gate has no results");
    const report_results *b0 = bs->sets[0], *c0 = cs->sets[0];
    for (int g = 0; g < 2; g++) {
        const report_side *s = g ? cs : bs;
        for (int i = 0; i < s->nsets; i++)
            if (strcmp(s->sets[i]->metric_name, b0->metric_name))
                return report_fail(err, "primary metrics differ: '%s' in %s, '%s' in %s", b0->metric_name,
                                   b0->path, s->sets[i]->metric_name, s->sets[i]->path);
    }
    const char *vb = side_variant(bs, 0, err), *vc = vb ? side_variant(cs, 0, err) : NULL;
    if (!vb || !vc)
        return -1;
    if (check_env(bs, cs, opt, o, err) < 0)
        return -1;
    report_error cerr;
    if (!opt->no_tables)
        report_compare(b0, vb, c0, vc, &o->cmp, &cerr);
    arm A, B;
    int tb = 0, tc = 0;
    memset(&B, 0, sizeof B);
    if (gather(bs, &A, &tb, err) < 0 || gather(cs, &B, &tc, err) < 0) {
        arm_free(&A);
        arm_free(&B);
        return -1;
    }
    bool same = bs->nsets == 1 && cs->nsets == 1 && (b0 == c0 || !strcmp(b0->path, c0->path)) && strcmp(vb, vc);
    verdict_core(&A, &B, same, b0->order, b0->higher_is_better, opt, o);
    arm_free(&A);
    arm_free(&B);
    overrule(o, tb + tc, opt);
    return 0;
}

int report_gate(const report_results *base, const char *base_variant, const report_results *cand,
                const char *cand_variant, const report_gate_options *opt, report_gate_result *o, report_error *err)
{
    const report_results *b[1] = {base}, *c[1] = {cand};
    const char *vb = base_variant;
    if (!vb && base->nvariants == 1)
        vb = base->variants[0];
    const char *vc = cand_variant ? cand_variant : (base_variant ? vb : NULL);
    report_side bs = {b, 1, vb}, cs = {c, 1, vc};
    return report_gate_sides(&bs, &cs, opt, o, err);
}

/* Two samples as two one-session arms (no telemetry, no environment). */
report_gate_verdict report_gate_samples(const double *base, size_t nb, const double *cand, size_t nc,
                                        bool higher_is_better, const report_gate_options *opt, double *ratio,
                                        double *lo, double *hi, char *reason, size_t cap)
{
    report_run *runs = calloc(nb + nc + 1, sizeof *runs);
    report_gate_result *o = calloc(1, sizeof *o);
    arm A, B;
    memset(&A, 0, sizeof A);
    memset(&B, 0, sizeof B);
    report_gate_verdict v = REPORT_GATE_INCONCLUSIVE;
    *ratio = *lo = *hi = NAN;
    if (!runs || !o || arm_alloc(&A, nb) < 0 || arm_alloc(&B, nc) < 0) {
        snprintf(reason, cap, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < nb + nc; i++) {
        report_run *u = &runs[i];
        u->metric = i < nb ? base[i] : cand[i - nb];
        u->ok = true;
        u->temp_start_c = u->clock_mean_mhz = u->mem_psi_some_us = NAN;
        strcpy(u->throttle, "unknown");
        arm *a = i < nb ? &A : &B;
        a->run[a->n] = u;
        a->session[a->n] = 0;
        a->round[a->n] = -1;
        a->pos[a->n] = (int)a->n;
        a->use[a->n++] = true;
    }
    A.sessions = B.sessions = 1;
    verdict_core(&A, &B, false, NULL, higher_is_better, opt, o);
    v = o->verdict;
    *ratio = o->ratio;
    *lo = o->lo;
    *hi = o->hi;
    snprintf(reason, cap, "%s", o->reason);
done:
    arm_free(&A);
    arm_free(&B);
    free(runs);
    free(o);
    return v;
}
