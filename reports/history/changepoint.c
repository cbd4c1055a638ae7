/* Change points of a series: where its level moved and stayed.
 *
 * 1. Noise scale: sigma = 1.4826 MAD(x[i+1] - x[i]) / sqrt(2), robust to the
 *    steps themselves (a step is one large difference among many small ones).
 * 2. Segmentation: PELT (Killick, Fearnhead & Eckley 2012), the exact
 *    minimiser of sum over segments of the squared deviations from the
 *    segment mean plus penalty * sigma^2 * log(n) per change, with at least
 *    min_segment points per segment.
 * 3. Significance: each change is tested against the segments on either
 *    side by a permutation test of the rank sum (robust to outliers); the
 *    least significant change above alpha is merged away and its neighbours
 *    retested, until every change passes.
 * The defaults keep false change points at or below 1 per 1,000 points on
 * noise alone (docs/HISTORY.md has the measured rates). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "history_internal.h"
#include "stats_internal.h"

void history_cp_defaults(history_cp_options *o)
{
    o->penalty = 3.0;
    o->min_segment = 5;
    o->alpha = 0.002;
    o->permutations = 999;
    o->seed = 1;
}

static double noise_sigma(const double *x, size_t n)
{
    if (n < 3)
        return 0;
    double *d = malloc((n - 1) * sizeof *d);
    if (!d)
        return -1;
    for (size_t i = 0; i + 1 < n; i++)
        d[i] = x[i + 1] - x[i];
    double s = 1.4826 * report_mad(d, n - 1) / sqrt(2.0);
    if (!(s > 0))
        s = report_sd(d, n - 1) / sqrt(2.0);     /* quantised values: most differences are 0 */
    free(d);
    return isfinite(s) ? s : 0;
}

/* PELT; writes the segment starts (excluding 0) into cps, returns their count or -1. */
static long pelt(const double *x, size_t n, double beta, size_t minseg, size_t *cps)
{
    double *s1 = malloc((n + 1) * sizeof *s1), *s2 = malloc((n + 1) * sizeof *s2);
    double *F = malloc((n + 1) * sizeof *F);
    size_t *last = malloc((n + 1) * sizeof *last), *R = malloc((n + 1) * sizeof *R);
    long k = -1;
    if (!s1 || !s2 || !F || !last || !R)
        goto out;
    s1[0] = s2[0] = 0;
    for (size_t i = 0; i < n; i++) {
        s1[i + 1] = s1[i] + x[i];
        s2[i + 1] = s2[i] + x[i] * x[i];
    }
#define COST(a, b) (s2[b] - s2[a] - (s1[b] - s1[a]) * (s1[b] - s1[a]) / (double)((b) - (a)))
    size_t nr = 1;
    R[0] = 0;
    F[0] = -beta;
    for (size_t t = 1; t <= n; t++) {
        F[t] = INFINITY;
        last[t] = 0;
        if (t < minseg)
            continue;
        for (size_t j = 0; j < nr; j++) {
            size_t tau = R[j];
            if (t - tau < minseg)
                continue;
            double v = F[tau] + COST(tau, t) + beta;
            if (v < F[t]) {
                F[t] = v;
                last[t] = tau;
            }
        }
        /* Prune: a start that cannot beat F[t] now never will (cost is
         * additive with constant 0). Starts too recent to test stay. */
        size_t m = 0;
        for (size_t j = 0; j < nr; j++) {
            size_t tau = R[j];
            if (t - tau < minseg || F[tau] + COST(tau, t) <= F[t])
                R[m++] = tau;
        }
        nr = m;
        if (isfinite(F[t]))
            R[nr++] = t;
    }
#undef COST
    k = 0;
    for (size_t t = n; t > 0; t = last[t])
        if (last[t] > 0)
            cps[k++] = last[t];
    for (long i = 0; i < k / 2; i++) {
        size_t tmp = cps[i];
        cps[i] = cps[k - 1 - i];
        cps[k - 1 - i] = tmp;
    }
out:
    free(s1);
    free(s2);
    free(F);
    free(last);
    free(R);
    return k;
}

/* Permutation p-value of the rank sum of x[a..c) against x[c..b). */
static double perm_test(const double *x, size_t a, size_t c, size_t b, int nperm, uint64_t seed, double *ranks,
                        size_t *order)
{
    size_t n = b - a, m = c - a;
    double *v = ranks;
    for (size_t i = 0; i < n; i++)
        v[i] = x[a + i];
    /* Mid-ranks through a sorted copy. */
    double *s = stats_sorted_copy(v, n);
    if (!s)
        return NAN;
    for (size_t i = 0; i < n; i++) {
        size_t lo = 0, hi = n;
        while (lo < hi) {                   /* first index >= v[i] */
            size_t mid = (lo + hi) / 2;
            if (s[mid] < v[i]) lo = mid + 1;
            else hi = mid;
        }
        size_t first = lo;
        hi = n;
        while (lo < hi) {                   /* first index > v[i] */
            size_t mid = (lo + hi) / 2;
            if (s[mid] <= v[i]) lo = mid + 1;
            else hi = mid;
        }
        v[i] = 0.5 * (double)(first + lo + 1);
    }
    free(s);
    double expect = (double)m * (double)(n + 1) / 2, obs = 0;
    for (size_t i = 0; i < m; i++)
        obs += v[i];
    obs = fabs(obs - expect);
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    uint64_t st = seed ^ (0x9e3779b97f4a7c15ULL * (uint64_t)(a + 1)) ^ (uint64_t)c << 20;
    int ge = 0;
    for (int p = 0; p < nperm; p++) {
        double sum = 0;
        for (size_t i = 0; i < m; i++) {      /* partial Fisher-Yates: m random positions */
            size_t j = i + (size_t)(report_rng_uniform(&st) * (double)(n - i));
            if (j >= n)
                j = n - 1;
            size_t t = order[i];
            order[i] = order[j];
            order[j] = t;
            sum += v[order[i]];
        }
        ge += fabs(sum - expect) >= obs - 1e-9;
    }
    return (1.0 + ge) / (1.0 + nperm);
}

int history_changepoints(const double *x, size_t n, const history_cp_options *o, history_change *out, size_t max)
{
    size_t minseg = o->min_segment ? o->min_segment : 1;
    if (n < 2 * minseg)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return -1;
    double sigma = noise_sigma(x, n);
    if (sigma < 0)
        return -1;
    if (sigma == 0)
        return 0;       /* a constant series has no changes */
    size_t *cps = malloc(n * sizeof *cps), *order = malloc(n * sizeof *order);
    double *p = malloc(n * sizeof *p), *work = malloc(n * sizeof *work);
    long k = -1;
    if (!cps || !order || !p || !work)
        goto out;
    k = pelt(x, n, o->penalty * sigma * sigma * log((double)n), minseg, cps);
    if (k < 0)
        goto out;
    /* Test every change; merge away the weakest failing one; repeat. */
    for (long i = 0; i < k; i++)
        p[i] = NAN;
    for (;;) {
        long worst = -1;
        for (long i = 0; i < k; i++) {
            size_t a = i ? cps[i - 1] : 0, b = i + 1 < k ? cps[i + 1] : n;
            if (isnan(p[i]))
                p[i] = perm_test(x, a, cps[i], b, o->permutations, o->seed, work, order);
            if (p[i] > o->alpha && (worst < 0 || p[i] > p[worst]))
                worst = i;
        }
        if (worst < 0)
            break;
        memmove(cps + worst, cps + worst + 1, (size_t)(k - worst - 1) * sizeof *cps);
        memmove(p + worst, p + worst + 1, (size_t)(k - worst - 1) * sizeof *p);
        k--;
        if (worst > 0)
            p[worst - 1] = NAN;
        if (worst < k)
            p[worst] = NAN;
    }
    for (long i = 0; i < k && (size_t)i < max; i++) {
        size_t a = i ? cps[i - 1] : 0, c = cps[i], b = i + 1 < k ? cps[i + 1] : n;
        history_change *h = &out[i];
        memset(h, 0, sizeof *h);
        h->index = c;
        h->seg_start = a;
        h->seg_end = b;
        h->p = p[i];
        h->mean_before = report_mean(x + a, c - a);
        h->mean_after = report_mean(x + c, b - c);
        report_ratio r;
        if (report_ratio_fieller(x + a, c - a, x + c, b - c, 0.95, &r) == 0) {
            h->ratio = r.ratio;
            h->lo = r.lo;
            h->hi = r.hi;
        } else {
            h->ratio = h->mean_after / h->mean_before;
            h->lo = h->hi = NAN;
        }
    }
    if ((size_t)k > max)
        k = (long)max;
out:
    free(cps);
    free(order);
    free(p);
    free(work);
    return (int)k;
}
