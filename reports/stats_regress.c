/* Trend over run order (Mann-Kendall), least squares, thermal sensitivity and
 * the temperature-adjusted A/B effect. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "reports.h"
#include "stats_internal.h"

/* Strict inversions #(i < j, x_i > x_j) of x[lo, hi) by merge sort, which
 * leaves x[lo, hi) sorted: O(n log n). */
static double inversions(double *x, double *tmp, size_t lo, size_t hi)
{
    if (hi - lo < 2)
        return 0;
    size_t mid = lo + (hi - lo) / 2;
    double inv = inversions(x, tmp, lo, mid) + inversions(x, tmp, mid, hi);
    size_t i = lo, j = mid, k = lo;
    while (i < mid && j < hi) {
        if (x[i] <= x[j]) {
            tmp[k++] = x[i++];
        } else {
            inv += (double)(mid - i);       /* x[i..mid) are all greater than x[j] */
            tmp[k++] = x[j++];
        }
    }
    while (i < mid)
        tmp[k++] = x[i++];
    while (j < hi)
        tmp[k++] = x[j++];
    memcpy(x + lo, tmp + lo, (hi - lo) * sizeof *x);
    return inv;
}

void report_mann_kendall_test(const double *x, size_t n, report_mann_kendall *o)
{
    o->s = o->var_s = o->z = o->p = o->tau = NAN;
    if (n < 3)
        return;
    double *srt = malloc(n * sizeof *srt), *tmp = malloc(n * sizeof *tmp);
    if (!srt || !tmp) {
        free(srt);
        free(tmp);
        return;
    }
    memcpy(srt, x, n * sizeof *srt);
    /* S = #(x_j > x_i) - #(x_j < x_i) over i < j = pairs - tied pairs - 2 inversions. */
    double q = inversions(srt, tmp, 0, n);
    free(tmp);
    double ties = 0, tied_pairs = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && srt[j] == srt[i])
            j++;
        double t = (double)(j - i);
        ties += t * (t - 1) * (2 * t + 5);
        tied_pairs += t * (t - 1) / 2;
        i = j;
    }
    free(srt);
    double dn = (double)n, s = dn * (dn - 1) / 2 - tied_pairs - 2 * q;
    o->s = s;
    o->var_s = (dn * (dn - 1) * (2 * dn + 5) - ties) / 18;
    o->tau = s / (dn * (dn - 1) / 2);
    if (!(o->var_s > 0)) {
        o->z = 0;
        o->p = 1;
        return;
    }
    o->z = s > 0 ? (s - 1) / sqrt(o->var_s) : s < 0 ? (s + 1) / sqrt(o->var_s) : 0;
    o->p = 2 * report_normal_cdf(-fabs(o->z));
}

/* Inverts a small symmetric matrix in place (Gauss-Jordan, partial pivoting).
 * Returns -1 when it is singular relative to its scale. */
static int invert(double *m, int k)
{
    double inv[REPORT_OLS_MAX * REPORT_OLS_MAX] = {0};
    double scale = 0;
    for (int i = 0; i < k; i++) {
        inv[i * k + i] = 1;
        scale = fmax(scale, fabs(m[i * k + i]));
    }
    for (int c = 0; c < k; c++) {
        int piv = c;
        for (int r = c + 1; r < k; r++)
            if (fabs(m[r * k + c]) > fabs(m[piv * k + c]))
                piv = r;
        if (!(fabs(m[piv * k + c]) > 1e-12 * scale))
            return -1;
        for (int j = 0; j < k; j++) {
            double t = m[c * k + j];
            m[c * k + j] = m[piv * k + j];
            m[piv * k + j] = t;
            t = inv[c * k + j];
            inv[c * k + j] = inv[piv * k + j];
            inv[piv * k + j] = t;
        }
        double d = m[c * k + c];
        for (int j = 0; j < k; j++) {
            m[c * k + j] /= d;
            inv[c * k + j] /= d;
        }
        for (int r = 0; r < k; r++) {
            if (r == c)
                continue;
            double f = m[r * k + c];
            for (int j = 0; j < k; j++) {
                m[r * k + j] -= f * m[c * k + j];
                inv[r * k + j] -= f * inv[c * k + j];
            }
        }
    }
    memcpy(m, inv, (size_t)(k * k) * sizeof *m);
    return 0;
}

int report_ols_fit(const double *y, const double *const *cols, int ncols, size_t n, report_ols *o)
{
    memset(o, 0, sizeof *o);
    int p = ncols, k = ncols + 1;
    if (ncols < 0 || k > REPORT_OLS_MAX || n <= (size_t)k)
        return -1;
    /* Centre every column: the slopes come from the centred cross products,
     * which keeps temperatures (~50) and clocks (~3000) well conditioned. */
    double xbar[REPORT_OLS_MAX] = {0}, ybar = report_mean(y, n);
    for (int j = 0; j < p; j++)
        xbar[j] = report_mean(cols[j], n);
    double xtx[REPORT_OLS_MAX * REPORT_OLS_MAX] = {0}, xty[REPORT_OLS_MAX] = {0}, syy = 0;
    for (size_t i = 0; i < n; i++) {
        double dy = y[i] - ybar;
        syy += dy * dy;
        for (int a = 0; a < p; a++) {
            double da = cols[a][i] - xbar[a];
            xty[a] += da * dy;
            for (int b = 0; b < p; b++)
                xtx[a * p + b] += da * (cols[b][i] - xbar[b]);
        }
    }
    if (p > 0 && invert(xtx, p) < 0)
        return -1;
    o->k = k;
    double b0 = ybar;
    for (int a = 0; a < p; a++) {
        double s = 0;
        for (int b = 0; b < p; b++)
            s += xtx[a * p + b] * xty[b];
        o->coef[a + 1] = s;
        b0 -= s * xbar[a];
    }
    o->coef[0] = b0;
    double sse = 0;
    for (size_t i = 0; i < n; i++) {
        double f = b0;
        for (int a = 0; a < p; a++)
            f += o->coef[a + 1] * cols[a][i];
        sse += (y[i] - f) * (y[i] - f);
    }
    o->df = (double)n - k;
    o->sigma = sqrt(sse / o->df);
    o->r2 = syy > 0 ? 1 - sse / syy : NAN;
    double s2 = o->sigma * o->sigma, v0 = 1.0 / (double)n;
    for (int a = 0; a < p; a++) {
        o->se[a + 1] = sqrt(s2 * xtx[a * p + a]);
        for (int b = 0; b < p; b++)
            v0 += xbar[a] * xtx[a * p + b] * xbar[b];
    }
    o->se[0] = sqrt(s2 * v0);
    return 0;
}

static bool all_finite(const double *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return false;
    return true;
}

int report_thermal_sensitivity(const double *y, const double *temp_c, size_t n, report_sensitivity *o)
{
    o->pct_per_c = o->pct_per_c_lo = o->pct_per_c_hi = o->r2 = NAN;
    o->n = n;
    if (n < 3 || !all_finite(y, n) || !all_finite(temp_c, n))
        return -1;
    report_ols f;
    const double *cols[1] = {temp_c};
    if (report_ols_fit(y, cols, 1, n, &f) < 0)
        return -1;
    double m = report_mean(y, n), t = report_t_quantile(0.975, f.df);
    o->pct_per_c = 100 * f.coef[1] / m;
    o->pct_per_c_lo = 100 * (f.coef[1] - t * f.se[1]) / m;
    o->pct_per_c_hi = 100 * (f.coef[1] + t * f.se[1]) / m;
    o->r2 = f.r2;
    return 0;
}

int report_adjusted_effect(const double *y, const int *is_b, const double *temp_c,
                           const double *clock_mhz, size_t n, report_adjusted *o)
{
    o->pct = o->pct_lo = o->pct_hi = o->p = NAN;
    o->with_clock = clock_mhz && all_finite(clock_mhz, n);
    if (n < 5 || !all_finite(y, n) || !temp_c || !all_finite(temp_c, n))
        return -1;
    double *ind = malloc(n * sizeof *ind);
    if (!ind)
        return -1;
    double suma = 0;
    size_t na = 0;
    for (size_t i = 0; i < n; i++) {
        ind[i] = is_b[i] ? 1 : 0;
        if (!is_b[i]) {
            suma += y[i];
            na++;
        }
    }
    const double *cols[3] = {ind, temp_c, clock_mhz};
    report_ols f;
    int rc = report_ols_fit(y, cols, o->with_clock ? 3 : 2, n, &f);
    if (rc < 0 && o->with_clock) {          /* clock collinear: drop it */
        o->with_clock = false;
        rc = report_ols_fit(y, cols, 2, n, &f);
    }
    free(ind);
    if (rc < 0 || na == 0 || !(f.se[1] > 0))
        return -1;
    double ma = suma / (double)na, t = report_t_quantile(0.975, f.df);
    o->pct = 100 * f.coef[1] / ma;
    o->pct_lo = 100 * (f.coef[1] - t * f.se[1]) / ma;
    o->pct_hi = 100 * (f.coef[1] + t * f.se[1]) / ma;
    o->p = 2 * report_t_cdf(-fabs(f.coef[1] / f.se[1]), f.df);
    return 0;
}
