/* Two-sample tests and effect sizes: Welch, Mann-Whitney U, Hodges-Lehmann,
 * Cliff's delta, ratio of means (Fieller, bootstrap), Holm, sample sizes. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "reports.h"
#include "stats_internal.h"

void report_welch_test(const double *a, size_t na, const double *b, size_t nb, report_welch *o)
{
    o->diff = o->t = o->df = o->p = o->ci_lo = o->ci_hi = NAN;
    if (na < 2 || nb < 2)
        return;
    double ma = report_mean(a, na), mb = report_mean(b, nb);
    double va = pow(report_sd(a, na), 2) / (double)na, vb = pow(report_sd(b, nb), 2) / (double)nb;
    double se = sqrt(va + vb);
    o->diff = mb - ma;
    if (!(se > 0))
        return;
    o->t = o->diff / se;
    o->df = (va + vb) * (va + vb) / (va * va / (double)(na - 1) + vb * vb / (double)(nb - 1));
    o->p = 2 * report_t_cdf(-fabs(o->t), o->df);
    double q = report_t_quantile(0.975, o->df);
    o->ci_lo = o->diff - q * se;
    o->ci_hi = o->diff + q * se;
}

/* Number of subsets of size m of the ranks 1..N with each rank sum: the
 * exact null distribution of U when there are no ties. Returns P(U <= u). */
static double mwu_exact_cdf(size_t m, size_t n, double u)
{
    size_t N = m + n, maxu = m * n;
    /* dp[k][s]: subsets of size k with U-sum s, built rank by rank. */
    double *dp = calloc((m + 1) * (maxu + 1), sizeof *dp);
    if (!dp)
        return NAN;
    dp[0] = 1;
    for (size_t r = 0; r < N; r++) {
        /* Adding the element of rank r (0-based) to a subset of size k makes
         * it contribute r - k to U (elements of the other sample below it). */
        size_t kmax = r + 1 < m ? r + 1 : m;
        for (size_t k = kmax; k >= 1; k--) {
            size_t add = r - (k - 1);
            if (add > n)
                continue;
            for (long s = (long)maxu; s >= (long)add; s--)
                dp[k * (maxu + 1) + (size_t)s] += dp[(k - 1) * (maxu + 1) + (size_t)s - add];
        }
    }
    double total = 0, below = 0;
    for (size_t s = 0; s <= maxu; s++) {
        total += dp[m * (maxu + 1) + s];
        if ((double)s <= u + 1e-9)
            below += dp[m * (maxu + 1) + s];
    }
    free(dp);
    return below / total;
}

/* Pair counts of two samples through sorting, O((na + nb) log(na + nb)):
 * gt = #(a_i > b_j), eq = #(a_i == b_j), and the tie term sum(t^3 - t) over
 * the tie groups of the pooled sample. Exact: every count is an integer
 * below 2^53. The sums of midranks that the textbooks use reduce to these. */
typedef struct pair_counts {
    double gt, eq, ties;
} pair_counts;

static int count_pairs(const double *a, size_t na, const double *b, size_t nb, pair_counts *o)
{
    double *sa = stats_sorted_copy(a, na), *sb = stats_sorted_copy(b, nb);
    if (!sa || !sb) {
        free(sa);
        free(sb);
        return -1;
    }
    o->gt = o->eq = o->ties = 0;
    size_t i = 0, j = 0;
    while (i < na || j < nb) {
        double v = j >= nb || (i < na && sa[i] <= sb[j]) ? sa[i] : sb[j];
        size_t i0 = i, j0 = j;
        while (i < na && sa[i] == v)
            i++;
        while (j < nb && sb[j] == v)
            j++;
        double ca = (double)(i - i0), cb = (double)(j - j0), t = ca + cb;
        o->gt += ca * (double)j0;        /* every b before this group is smaller */
        o->eq += ca * cb;
        o->ties += t * t * t - t;
    }
    free(sa);
    free(sb);
    return 0;
}

void report_mann_whitney(const double *a, size_t na, const double *b, size_t nb, report_mwu *o)
{
    o->u = o->p = o->z = NAN;
    o->exact = false;
    pair_counts pc;
    if (na == 0 || nb == 0 || count_pairs(a, na, b, nb, &pc) < 0)
        return;
    double u = pc.gt + 0.5 * pc.eq, ties = pc.ties;
    o->u = u;
    size_t N = na + nb;
    double mn = (double)na * (double)nb, mu = mn / 2;
    if (ties == 0 && na <= 20 && nb <= 20) {
        double lo = u < mn - u ? u : mn - u;
        o->p = fmin(1, 2 * mwu_exact_cdf(na, nb, lo));
        o->exact = true;
        return;
    }
    double var = mn / 12 * (((double)N + 1) - ties / ((double)N * (double)(N - 1)));
    if (!(var > 0)) {
        o->p = 1;
        return;
    }
    double d = fabs(u - mu) - 0.5;          /* continuity correction */
    o->z = (d > 0 ? d : 0) / sqrt(var) * (u >= mu ? 1 : -1);
    o->p = fmin(1, 2 * report_normal_cdf(-fabs(o->z)));
}

/* Doubles as unsigned integers in the same order (negative ones flipped), so
 * bisection over the integers visits every double between two others. */
static uint64_t order_key(double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return u >> 63 ? ~u : u | (1ULL << 63);
}

static double from_order_key(uint64_t k)
{
    uint64_t u = k >> 63 ? k & ~(1ULL << 63) : ~k;
    double x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* #(sb[j] - sa[i] <= t) over all pairs, both sorted ascending: O(na + nb).
 * Floating-point subtraction is monotone in each argument, so for each j the
 * pairs form a suffix of sa that only moves right as j grows. */
static double count_diff_le(const double *sa, size_t na, const double *sb, size_t nb, double t)
{
    double c = 0;
    size_t p = 0;
    for (size_t j = 0; j < nb; j++) {
        while (p < na && sb[j] - sa[p] > t)
            p++;
        c += (double)(na - p);
    }
    return c;
}

/* The k-th smallest (1-based) of the na * nb differences sb[j] - sa[i], as
 * floating point computes them: the same value sorting all of them would
 * give, in O((na + nb) * 64) by bisection over the doubles in between. */
double stats_pairwise_diff_kth(const double *sa, size_t na, const double *sb, size_t nb, double k)
{
    uint64_t lo = order_key(sb[0] - sa[na - 1]), hi = order_key(sb[nb - 1] - sa[0]);
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (count_diff_le(sa, na, sb, nb, from_order_key(mid)) >= k)
            hi = mid;
        else
            lo = mid + 1;
    }
    return from_order_key(lo) + 0.0;     /* -0.0 and +0.0 count alike; sorting would give the +0.0 of x - x */
}

/* stats_quantile_sorted(p) of the sorted pairwise differences, without them. */
static double pairwise_diff_quantile(const double *sa, size_t na, const double *sb, size_t nb, double p)
{
    double m = (double)na * (double)nb, h = (m - 1) * p, lo = floor(h);
    double d0 = stats_pairwise_diff_kth(sa, na, sb, nb, lo + 1);
    if (lo >= m - 1)
        return d0;
    double d1 = stats_pairwise_diff_kth(sa, na, sb, nb, lo + 2);
    return d0 + (h - lo) * (d1 - d0);
}

double report_hodges_lehmann(const double *a, size_t na, const double *b, size_t nb)
{
    if (na == 0 || nb == 0)
        return NAN;
    double *sa = stats_sorted_copy(a, na), *sb = stats_sorted_copy(b, nb), hl = NAN;
    if (sa && sb)
        hl = pairwise_diff_quantile(sa, na, sb, nb, 0.5);
    free(sa);
    free(sb);
    return hl;
}

long report_mwu_ci_rank(size_t na, size_t nb, double level)
{
    double half = (1 - level) / 2, mn = (double)na * (double)nb;
    if (na == 0 || nb == 0)
        return 0;
    if (na <= 20 && nb <= 20) {
        long k = 0;
        while (k < (long)(mn / 2) && mwu_exact_cdf(na, nb, (double)k) <= half)
            k++;
        return k;
    }
    double sd = sqrt(mn * ((double)(na + nb) + 1) / 12);
    double k = floor(mn / 2 - report_normal_quantile(1 - half) * sd);
    return k > 0 ? (long)k : 0;
}

int report_ratio_hodges_lehmann(const double *a, size_t na, const double *b, size_t nb, double level,
                                report_ratio *o)
{
    o->ratio = o->lo = o->hi = NAN;
    if (na == 0 || nb == 0)
        return -1;
    double *la = malloc(na * sizeof *la), *lb = malloc(nb * sizeof *lb);
    int rc = la && lb ? 0 : -1;
    for (size_t i = 0; i < na && rc == 0; i++)
        rc = a[i] > 0 ? (la[i] = log(a[i]), 0) : -1;
    for (size_t j = 0; j < nb && rc == 0; j++)
        rc = b[j] > 0 ? (lb[j] = log(b[j]), 0) : -1;
    if (rc == 0) {
        stats_sort(la, na);
        stats_sort(lb, nb);
        double m = (double)na * (double)nb;
        o->ratio = exp(pairwise_diff_quantile(la, na, lb, nb, 0.5));
        long k = report_mwu_ci_rank(na, nb, level);
        if (k >= 1) {
            o->lo = exp(stats_pairwise_diff_kth(la, na, lb, nb, (double)k));
            o->hi = exp(stats_pairwise_diff_kth(la, na, lb, nb, m - (double)k + 1));
        } else {
            rc = -1;
        }
    }
    free(la);
    free(lb);
    return rc;
}

double report_cliffs_delta(const double *a, size_t na, const double *b, size_t nb)
{
    pair_counts pc;
    if (na == 0 || nb == 0 || count_pairs(a, na, b, nb, &pc) < 0)
        return NAN;
    double m = (double)na * (double)nb;
    /* #(b > a) - #(b < a) = (m - gt - eq) - gt */
    return (m - 2 * pc.gt - pc.eq) / m;
}

int report_ratio_fieller(const double *a, size_t na, const double *b, size_t nb, double level,
                         report_ratio *o)
{
    o->ratio = o->lo = o->hi = NAN;
    if (na < 2 || nb < 2)
        return -1;
    double ma = report_mean(a, na), mb = report_mean(b, nb);
    double va = pow(report_sd(a, na), 2) / (double)na, vb = pow(report_sd(b, nb), 2) / (double)nb;
    double r = mb / ma;
    o->ratio = r;
    /* Welch-Satterthwaite df of mb - r ma at the point estimate. */
    double v = vb + r * r * va;
    double dfden = vb * vb / (double)(nb - 1) + pow(r * r * va, 2) / (double)(na - 1);
    double df = dfden > 0 ? v * v / dfden : 1e9;
    double t = report_t_quantile(1 - (1 - level) / 2, df), t2 = t * t;
    /* (mb - rho ma)^2 <= t^2 (vb + rho^2 va): a quadratic in rho. */
    double qa = ma * ma - t2 * va;
    if (!(qa > 0))
        return -1;          /* denominator not away from 0: unbounded */
    double disc = t2 * (ma * ma * vb + mb * mb * va) - t2 * t2 * va * vb;
    if (disc < 0)
        disc = 0;
    o->lo = (ma * mb - sqrt(disc)) / qa;
    o->hi = (ma * mb + sqrt(disc)) / qa;
    return 0;
}

int report_ratio_bootstrap(const double *a, size_t na, const double *b, size_t nb, double level,
                           int resamples, uint64_t seed, report_ratio *o)
{
    o->ratio = o->lo = o->hi = NAN;
    if (na == 0 || nb == 0 || resamples < 10)
        return -1;
    o->ratio = report_mean(b, nb) / report_mean(a, na);
    double *r = malloc((size_t)resamples * sizeof *r);
    if (!r)
        return -1;
    uint64_t st = seed;
    for (int k = 0; k < resamples; k++) {
        double sa = 0, sb = 0;
        for (size_t i = 0; i < na; i++)
            sa += a[report_rng_next(&st) % na];
        for (size_t j = 0; j < nb; j++)
            sb += b[report_rng_next(&st) % nb];
        r[k] = (sb / (double)nb) / (sa / (double)na);
    }
    stats_sort(r, (size_t)resamples);
    o->lo = stats_quantile_sorted(r, (size_t)resamples, (1 - level) / 2);
    o->hi = stats_quantile_sorted(r, (size_t)resamples, 1 - (1 - level) / 2);
    free(r);
    return 0;
}

void report_holm(const double *p, size_t m, double *adj)
{
    size_t *idx = malloc(m * sizeof *idx);
    double *pv = malloc(m * sizeof *pv);
    if (!idx || !pv) {
        free(idx);
        free(pv);
        return;
    }
    memcpy(pv, p, m * sizeof *pv);
    for (size_t i = 0; i < m; i++)
        idx[i] = i;
    for (size_t i = 1; i < m; i++)          /* insertion sort by p: m is small */
        for (size_t j = i; j > 0 && pv[idx[j]] < pv[idx[j - 1]]; j--) {
            size_t t = idx[j];
            idx[j] = idx[j - 1];
            idx[j - 1] = t;
        }
    double running = 0;
    for (size_t k = 0; k < m; k++) {
        double v = fmin(1, (double)(m - k) * pv[idx[k]]);
        if (v > running)
            running = v;
        adj[idx[k]] = running;
    }
    free(idx);
    free(pv);
}

double report_min_detectable(double cv, size_t n, double alpha, double power)
{
    if (n < 2 || !(cv >= 0))
        return NAN;
    double df = 2.0 * (double)n - 2;
    return (report_t_quantile(1 - alpha / 2, df) + report_t_quantile(power, df)) * cv *
           sqrt(2.0 / (double)n);
}

int report_runs_needed(double cv, double change, double alpha, double power)
{
    if (!(change > 0) || !(cv >= 0))
        return -1;
    /* Start just below the normal-approximation answer; the t terms only add. */
    double z = report_normal_quantile(1 - alpha / 2) + report_normal_quantile(power);
    double n0 = 2 * pow(z * cv / change, 2);
    int start = n0 > 3 ? (int)n0 - 1 : 2;
    for (int n = start; n <= 1000000; n++)
        if (report_min_detectable(cv, (size_t)n, alpha, power) <= change)
            return n;
    return -1;
}
