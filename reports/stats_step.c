/* A step in a sequence of runs: the split point that best separates the
 * runs before from the runs after, by the pooled two-sample t statistic, with
 * a Bonferroni-adjusted p over the split points tried (conservative: the
 * split points' statistics are positively correlated). */
#include <math.h>
#include <stdlib.h>

#include "reports.h"

int report_step_detect(const double *x, size_t n, size_t min_segment, size_t *at, double *change, double *p)
{
    *at = 0;
    *change = *p = NAN;
    if (min_segment < 2)
        min_segment = 2;
    if (n < 2 * min_segment)
        return -1;
    double *cs = malloc((n + 1) * sizeof *cs), *cq = malloc((n + 1) * sizeof *cq);
    if (!cs || !cq) {
        free(cs);
        free(cq);
        return -1;
    }
    /* Prefix sums around the first value keep the sums of squares exact enough. */
    cs[0] = cq[0] = 0;
    for (size_t i = 0; i < n; i++) {
        double d = x[i] - x[0];
        cs[i + 1] = cs[i] + d;
        cq[i + 1] = cq[i] + d * d;
    }
    double best = -1;
    size_t splits = 0;
    for (size_t k = min_segment; k + min_segment <= n; k++, splits++) {
        double n1 = (double)k, n2 = (double)(n - k);
        double s1 = cs[k], s2 = cs[n] - cs[k];
        double ss1 = cq[k] - s1 * s1 / n1, ss2 = cq[n] - cq[k] - s2 * s2 / n2;
        double pv = (ss1 + ss2) / (double)(n - 2);
        double diff = s2 / n2 - s1 / n1;
        double t = pv > 0 ? fabs(diff) / sqrt(pv * (1 / n1 + 1 / n2)) : (diff != 0 ? INFINITY : 0);
        if (t > best) {
            best = t;
            *at = k;
            *change = (s2 / n2 + x[0]) / (s1 / n1 + x[0]) - 1;
        }
    }
    free(cs);
    free(cq);
    double p1 = isinf(best) ? 0 : 2 * report_t_cdf(-best, (double)n - 2);
    *p = fmin(1, p1 * (double)splits);
    return 0;
}
