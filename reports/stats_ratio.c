/* Ratios on the log scale: paired rounds, two independent samples (ratio of
 * geometric means) and the effect adjusted for temperature. Throughput is
 * multiplicative (a slower clock scales it), so differences of logs are the
 * natural scale: exp of a difference of mean logs is a ratio of geometric
 * means, and its interval is exp of a Student t interval. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reports.h"
#include "stats_internal.h"

static void interval_from_log(double d, double se, double df, double level, const char *method,
                              report_interval *o)
{
    double t = report_t_quantile(1 - (1 - level) / 2, df);
    o->ratio = exp(d);
    o->lo = exp(d - t * se);
    o->hi = exp(d + t * se);
    o->df = df;
    o->ok = isfinite(o->lo) && isfinite(o->hi) && se >= 0;
    snprintf(o->method, sizeof o->method, "%s", method);
}

static void interval_clear(report_interval *o)
{
    memset(o, 0, sizeof *o);
    o->ratio = o->lo = o->hi = o->df = NAN;
}

/* log of every value; -1 unless all are finite and > 0. */
static int logs(const double *x, size_t n, double *out)
{
    for (size_t i = 0; i < n; i++) {
        if (!(x[i] > 0) || !isfinite(x[i]))
            return -1;
        out[i] = log(x[i]);
    }
    return 0;
}

int report_ratio_paired(const double *a, const double *b, size_t n, double level, report_interval *o)
{
    interval_clear(o);
    if (n < 2)
        return -1;
    double *d = malloc(n * sizeof *d);
    if (!d)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (!(a[i] > 0 && b[i] > 0)) {
            free(d);
            return -1;
        }
        d[i] = log(b[i] / a[i]);
    }
    double m = report_mean(d, n), se = report_sd(d, n) / sqrt((double)n);
    free(d);
    interval_from_log(m, se, (double)n - 1, level, "paired rounds (mean of per-round log ratios)", o);
    return o->ok ? 0 : -1;
}

int report_ratio_geometric(const double *a, size_t na, const double *b, size_t nb, double level,
                           report_interval *o)
{
    interval_clear(o);
    if (na < 2 || nb < 2)
        return -1;
    double *la = malloc(na * sizeof *la), *lb = malloc(nb * sizeof *lb);
    int rc = -1;
    if (la && lb && logs(a, na, la) == 0 && logs(b, nb, lb) == 0) {
        double va = pow(report_sd(la, na), 2) / (double)na, vb = pow(report_sd(lb, nb), 2) / (double)nb;
        double se = sqrt(va + vb);
        double den = va * va / (double)(na - 1) + vb * vb / (double)(nb - 1);
        double df = den > 0 ? (va + vb) * (va + vb) / den : (double)(na + nb - 2);
        interval_from_log(report_mean(lb, nb) - report_mean(la, na), se, df, level,
                          "ratio of geometric means (Welch on logs)", o);
        rc = o->ok ? 0 : -1;
    }
    free(la);
    free(lb);
    return rc;
}

int report_ratio_heat_adjusted(const double *y, const int *is_b, const double *temp_c, size_t n, double level,
                               bool trim, report_interval *o, size_t *in_a, size_t *in_b)
{
    interval_clear(o);
    *in_a = *in_b = 0;
    double lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY};
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(temp_c[i]) || !(y[i] > 0))
            return -1;
        int g = is_b[i] != 0;
        lo[g] = fmin(lo[g], temp_c[i]);
        hi[g] = fmax(hi[g], temp_c[i]);
    }
    /* The common range: outside it one arm's temperature has no counterpart
     * in the other, and the effect there would rest on the model's shape. */
    double from = trim ? fmax(lo[0], lo[1]) : -INFINITY, to = trim ? fmin(hi[0], hi[1]) : INFINITY;
    double *ly = malloc((n + 1) * sizeof *ly), *ind = malloc((n + 1) * sizeof *ind),
           *tc = malloc((n + 1) * sizeof *tc);
    size_t k = 0;
    for (size_t i = 0; ly && ind && tc && i < n; i++)
        if (temp_c[i] >= from && temp_c[i] <= to) {
            ly[k] = log(y[i]);
            ind[k] = is_b[i] != 0;
            tc[k++] = temp_c[i];
            *(is_b[i] ? in_b : in_a) += 1;
        }
    int rc = -1;
    if (ly && ind && tc && *in_a >= 3 && *in_b >= 3) {
        const double *cols[2] = {ind, tc};
        report_ols f;
        /* One temperature for every run: the covariate carries nothing. */
        int ncols = report_sd(tc, k) > 0 ? 2 : 1;
        if (report_ols_fit(ly, cols, ncols, k, &f) == 0 && f.df >= 1) {
            interval_from_log(f.coef[1], f.se[1], f.df, level,
                              trim ? "adjusted for start temperature (common range)"
                                   : "adjusted for start temperature (extrapolated)", o);
            rc = o->ok ? 0 : -1;
        }
    }
    free(ly);
    free(ind);
    free(tc);
    return rc;
}
