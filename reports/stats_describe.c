/* Descriptive statistics, confidence intervals of the mean and median,
 * outlier classes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "reports.h"
#include "stats_internal.h"

static int cmp_double(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

double *stats_sorted_copy(const double *x, size_t n)
{
    double *s = malloc((n ? n : 1) * sizeof *s);
    if (!s)
        return NULL;
    memcpy(s, x, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_double);
    return s;
}

void stats_sort(double *x, size_t n)
{
    qsort(x, n, sizeof *x, cmp_double);
}

double stats_quantile_sorted(const double *s, size_t n, double p)
{
    if (n == 0)
        return NAN;
    double h = (double)(n - 1) * p;
    size_t lo = (size_t)floor(h);
    if (lo >= n - 1)
        return s[n - 1];
    return s[lo] + (h - (double)lo) * (s[lo + 1] - s[lo]);
}

double report_mean(const double *x, size_t n)
{
    if (n == 0)
        return NAN;
    /* Two passes: the correction term removes most rounding error. */
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += x[i];
    double m = sum / (double)n, c = 0;
    for (size_t i = 0; i < n; i++)
        c += x[i] - m;
    return m + c / (double)n;
}

double report_sd(const double *x, size_t n)
{
    if (n < 2)
        return NAN;
    double m = report_mean(x, n), ss = 0, c = 0;
    for (size_t i = 0; i < n; i++) {
        double d = x[i] - m;
        ss += d * d;
        c += d;
    }
    return sqrt((ss - c * c / (double)n) / (double)(n - 1));
}

double report_quantile(const double *x, size_t n, double p)
{
    if (n == 0 || !(p >= 0 && p <= 1))
        return NAN;
    double *s = stats_sorted_copy(x, n);
    if (!s)
        return NAN;
    double q = stats_quantile_sorted(s, n, p);
    free(s);
    return q;
}

double report_median(const double *x, size_t n)
{
    return report_quantile(x, n, 0.5);
}

double report_mad(const double *x, size_t n)
{
    if (n == 0)
        return NAN;
    double med = report_median(x, n);
    double *d = malloc(n * sizeof *d);
    if (!d)
        return NAN;
    for (size_t i = 0; i < n; i++)
        d[i] = fabs(x[i] - med);
    double mad = report_median(d, n);
    free(d);
    return mad;
}

double report_mean_ci_half_width(const double *x, size_t n, double level)
{
    if (n < 2 || !(level > 0 && level < 1))
        return NAN;
    double t = report_t_quantile(1 - (1 - level) / 2, (double)(n - 1));
    return t * report_sd(x, n) / sqrt((double)n);
}

/* P(Binomial(n, 1/2) = i), in logs so large n does not overflow. */
static double binom_half_pmf(size_t n, size_t i)
{
    return exp(lgamma((double)n + 1) - lgamma((double)i + 1) - lgamma((double)(n - i) + 1) - (double)n * M_LN2);
}

/* The median CI of a sorted sample. */
static void median_ci_sorted(const double *s, size_t n, double level, double *lo, double *hi)
{
    /* Largest k with P(B <= k - 1) <= (1 - level) / 2: [x_(k), x_(n-k+1)], 1-based. */
    double half_alpha = (1 - level) / 2;
    size_t k = 0;
    double cdf = binom_half_pmf(n, 0);          /* P(B <= k), summed as k grows: O(n) */
    while (k + 1 <= n / 2 && cdf <= half_alpha)
        cdf += binom_half_pmf(n, ++k);
    *lo = k ? s[k - 1] : s[0];
    *hi = k ? s[n - k] : s[n - 1];
}

void report_median_ci(const double *x, size_t n, double level, double *lo, double *hi)
{
    *lo = *hi = NAN;
    if (n == 0)
        return;
    double *s = stats_sorted_copy(x, n);
    if (!s)
        return;
    median_ci_sorted(s, n, level, lo, hi);
    free(s);
}

void report_outliers_tukey(const double *x, size_t n, int *cls)
{
    double *s = stats_sorted_copy(x, n);
    if (!s)
        return;
    double q1 = stats_quantile_sorted(s, n, 0.25), q3 = stats_quantile_sorted(s, n, 0.75);
    double iqr = q3 - q1;
    free(s);
    for (size_t i = 0; i < n; i++) {
        if (x[i] < q1 - 3 * iqr || x[i] > q3 + 3 * iqr)
            cls[i] = REPORT_OUTLIER_SEVERE;
        else if (x[i] < q1 - 1.5 * iqr || x[i] > q3 + 1.5 * iqr)
            cls[i] = REPORT_OUTLIER_MILD;
        else
            cls[i] = REPORT_OUTLIER_NONE;
    }
}

void report_robust_z(const double *x, size_t n, double *z)
{
    double med = report_median(x, n), mad = report_mad(x, n);
    for (size_t i = 0; i < n; i++) {
        double d = x[i] - med;
        z[i] = mad > 0 ? 0.6745 * d / mad : (d == 0 ? 0 : copysign(INFINITY, d));
    }
}

/* report_summarize sorts once: every order statistic, the MAD, the median
 * CI, Tukey's fences and the robust z come from one sorted copy (and one of
 * the deviations), the same values the single-statistic functions give. */
void report_summarize(const double *x, size_t n, report_summary *o)
{
    memset(o, 0, sizeof *o);
    o->n = n;
    o->mean = report_mean(x, n);
    o->sd = report_sd(x, n);
    o->cv = o->sd / fabs(o->mean);
    double hw = report_mean_ci_half_width(x, n, 0.95);
    o->mean_ci_lo = o->mean - hw;
    o->mean_ci_hi = o->mean + hw;
    o->median = o->mad = o->q1 = o->q3 = o->min = o->max = o->median_ci_lo = o->median_ci_hi = NAN;
    if (n == 0)
        return;
    double *s = stats_sorted_copy(x, n), *d = malloc(n * sizeof *d);
    if (!s || !d) {
        free(s);
        free(d);
        return;
    }
    o->median = stats_quantile_sorted(s, n, 0.5);
    o->q1 = stats_quantile_sorted(s, n, 0.25);
    o->q3 = stats_quantile_sorted(s, n, 0.75);
    o->min = stats_quantile_sorted(s, n, 0);
    o->max = stats_quantile_sorted(s, n, 1);
    for (size_t i = 0; i < n; i++)
        d[i] = fabs(x[i] - o->median);
    stats_sort(d, n);
    o->mad = stats_quantile_sorted(d, n, 0.5);
    median_ci_sorted(s, n, 0.95, &o->median_ci_lo, &o->median_ci_hi);
    double iqr = o->q3 - o->q1;
    for (size_t i = 0; i < n; i++) {
        if (x[i] < o->q1 - 3 * iqr || x[i] > o->q3 + 3 * iqr)
            o->outliers_severe++;
        else if (x[i] < o->q1 - 1.5 * iqr || x[i] > o->q3 + 1.5 * iqr)
            o->outliers_mild++;
        double dz = x[i] - o->median;
        double z = o->mad > 0 ? 0.6745 * dz / o->mad : (dz == 0 ? 0 : copysign(INFINITY, dz));
        o->outliers_robust_z += fabs(z) > 3.5;
    }
    free(s);
    free(d);
}
