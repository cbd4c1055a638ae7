/* The rank statistics in O(n log n) against their quadratic definitions,
 * kept here as the oracle: Mann-Whitney U (and its p), Cliff's delta,
 * Mann-Kendall S, Hodges-Lehmann shift and ratio with the Moses CI, the
 * order-statistic CI of the median, and report_summarize (one sort) against
 * the one-statistic functions. Random samples of 1 to 60 values, many
 * with ties (values rounded to a coarse grid) and negative values; every
 * result must be the same double, not merely close. */
#include <stdlib.h>

#include "reports.h"
#include "tb_test.h"

static int cmp(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

static double quantile_sorted(const double *s, size_t n, double p)
{
    double h = (double)(n - 1) * p;
    size_t lo = (size_t)floor(h);
    return lo >= n - 1 ? s[n - 1] : s[lo] + (h - (double)lo) * (s[lo + 1] - s[lo]);
}

static double naive_u(const double *a, size_t na, const double *b, size_t nb)
{
    double u = 0;
    for (size_t i = 0; i < na; i++)
        for (size_t j = 0; j < nb; j++)
            u += a[i] > b[j] ? 1 : a[i] == b[j] ? 0.5 : 0;
    return u;
}

static double naive_cliff(const double *a, size_t na, const double *b, size_t nb)
{
    double s = 0;
    for (size_t i = 0; i < na; i++)
        for (size_t j = 0; j < nb; j++)
            s += (b[j] > a[i]) - (b[j] < a[i]);
    return s / ((double)na * (double)nb);
}

static double naive_mk_s(const double *x, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            s += (x[j] > x[i]) - (x[j] < x[i]);
    return s;
}

/* Every pairwise difference (of logs when logs), sorted. */
static double *naive_diffs(const double *a, size_t na, const double *b, size_t nb, int logs)
{
    double *d = malloc(na * nb * sizeof *d);
    for (size_t i = 0; i < na; i++)
        for (size_t j = 0; j < nb; j++)
            d[i * nb + j] = logs ? log(b[j]) - log(a[i]) : b[j] - a[i];
    qsort(d, na * nb, sizeof *d, cmp);
    return d;
}

/* Median CI from P(Binomial(n, 1/2) <= k), each k summed from scratch. */
static void naive_median_ci(const double *x, size_t n, double *lo, double *hi)
{
    double *s = malloc(n * sizeof *s);
    memcpy(s, x, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp);
    size_t k = 0;
    for (;;) {
        double sum = 0;
        for (size_t i = 0; i <= k; i++)
            sum += exp(lgamma((double)n + 1) - lgamma((double)i + 1) - lgamma((double)(n - i) + 1) -
                       (double)n * M_LN2);
        if (!(k + 1 <= n / 2 && sum <= 0.025))
            break;
        k++;
    }
    *lo = k ? s[k - 1] : s[0];
    *hi = k ? s[n - k] : s[n - 1];
    free(s);
}

static void sample(uint64_t *st, double *x, size_t n, int mode)
{
    for (size_t i = 0; i < n; i++) {
        double v = report_rng_normal(st);
        if (mode == 0)
            x[i] = round(v * 2) / 2;                /* heavy ties, negatives and zeros */
        else if (mode == 1)
            x[i] = 100 + 3 * v;                      /* continuous, positive */
        else
            x[i] = 50 + round(v * 4);                /* positive integers with ties */
    }
}

int main(void)
{
    uint64_t st = 12345;
    int cases = 0;
    for (int rep = 0; rep < 400; rep++) {
        size_t na = 1 + report_rng_next(&st) % 60, nb = 1 + report_rng_next(&st) % 60;
        int mode = rep % 3;
        double a[60], b[60];
        sample(&st, a, na, mode);
        sample(&st, b, nb, mode);
        b[0] += rep % 5 == 0 ? 0.5 : 0;

        report_mwu m;
        report_mann_whitney(a, na, b, nb, &m);
        double u = naive_u(a, na, b, nb);
        CHECKF(m.u == u, "U %.17g, quadratic %.17g (na %zu nb %zu)", m.u, u, na, nb);
        CHECKF(report_cliffs_delta(a, na, b, nb) == naive_cliff(a, na, b, nb), "Cliff's delta (rep %d)", rep);

        double *d = naive_diffs(a, na, b, nb, 0);
        double hl = quantile_sorted(d, na * nb, 0.5), got = report_hodges_lehmann(a, na, b, nb);
        CHECKF(got == hl, "Hodges-Lehmann %.17g, quadratic %.17g (rep %d)", got, hl, rep);
        free(d);

        if (mode != 0) {
            report_ratio r;
            int rc = report_ratio_hodges_lehmann(a, na, b, nb, 0.95, &r);
            d = naive_diffs(a, na, b, nb, 1);
            size_t mn = na * nb;
            long k = report_mwu_ci_rank(na, nb, 0.95);
            CHECK(r.ratio == exp(quantile_sorted(d, mn, 0.5)));
            CHECK(rc == (k >= 1 ? 0 : -1));
            if (k >= 1)
                CHECKF(r.lo == exp(d[k - 1]) && r.hi == exp(d[mn - (size_t)k]), "Moses CI (rep %d)", rep);
            free(d);
        }

        size_t n = na;
        report_mann_kendall mk;
        report_mann_kendall_test(a, n, &mk);
        if (n >= 3)
            CHECKF(mk.s == naive_mk_s(a, n), "Mann-Kendall S %.17g, quadratic %.17g (n %zu)", mk.s, naive_mk_s(a, n), n);

        /* The one-sort summary against the one-statistic functions. */
        report_summary su;
        report_summarize(b, nb, &su);
        int cls[60];
        double z[60];
        report_outliers_tukey(b, nb, cls);
        report_robust_z(b, nb, z);
        size_t mild = 0, severe = 0, rz = 0;
        for (size_t i = 0; i < nb; i++) {
            mild += cls[i] == REPORT_OUTLIER_MILD;
            severe += cls[i] == REPORT_OUTLIER_SEVERE;
            rz += fabs(z[i]) > 3.5;
        }
        CHECKF(su.median == report_median(b, nb) && su.mad == report_mad(b, nb) &&
                   su.q1 == report_quantile(b, nb, 0.25) && su.q3 == report_quantile(b, nb, 0.75) &&
                   su.min == report_quantile(b, nb, 0) && su.max == report_quantile(b, nb, 1),
               "summary order statistics (nb %zu)", nb);
        CHECKF(su.outliers_mild == mild && su.outliers_severe == severe && su.outliers_robust_z == rz,
               "summary outliers (nb %zu)", nb);

        double lo, hi, nlo, nhi;
        report_median_ci(b, nb, 0.95, &lo, &hi);
        CHECK(su.median_ci_lo == lo && su.median_ci_hi == hi);
        naive_median_ci(b, nb, &nlo, &nhi);
        CHECKF(lo == nlo && hi == nhi, "median CI (nb %zu)", nb);
        cases++;
    }
    /* A larger pair with every value distinct and one with all values equal. */
    static double x[3000], y[3000];
    for (int i = 0; i < 3000; i++) {
        x[i] = 100 + report_rng_normal(&st);
        y[i] = i % 2 ? 7 : 7;
    }
    report_mwu m;
    report_mann_whitney(x, 3000, x + 1500, 1500, &m);
    CHECK(m.u == naive_u(x, 3000, x + 1500, 1500));
    /* 4.5 million pairs: beyond the 4e6 the all-pairs version refused (NAN). */
    double *d = naive_diffs(x, 3000, x + 1500, 1500, 0);
    CHECK(report_hodges_lehmann(x, 3000, x + 1500, 1500) == quantile_sorted(d, 4500000, 0.5));
    free(d);
    CHECK(report_hodges_lehmann(y, 1000, y, 2000) == 0 && !signbit(report_hodges_lehmann(y, 1000, y, 2000)));
    report_mann_kendall mk;
    report_mann_kendall_test(x, 3000, &mk);
    CHECK(mk.s == naive_mk_s(x, 3000));
    report_mann_kendall_test(y, 3000, &mk);
    CHECK(mk.s == 0 && mk.p == 1);
    printf("%d random cases against the quadratic definitions\n", cases);
    TB_MAIN_END();
}
