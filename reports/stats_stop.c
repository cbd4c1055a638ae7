/* Adaptive stopping with honest coverage: Stein's two-stage rule. The total
 * number of runs is decided once, from the first stage's spread; stopping the
 * moment the interval happens to look narrow (the rule this replaces) stops
 * preferentially when the spread was underestimated and makes the final
 * interval too short (docs/STATISTICS.md has both coverages, measured). */
#include <math.h>

#include "reports.h"

int report_stop_runs_total(const double *first, size_t n0, double target_pct, int max_runs)
{
    if (n0 < 2 || !(target_pct > 0))
        return (int)n0;
    double m = report_mean(first, n0), s = report_sd(first, n0);
    if (!(fabs(m) > 0) || !isfinite(s))
        return max_runs > (int)n0 ? max_runs : (int)n0;
    double t = report_t_quantile(0.975, (double)n0 - 1);
    double need = ceil(pow(t * s / (target_pct / 100 * fabs(m)), 2));
    if (need < (double)n0)
        need = (double)n0;
    if (need > max_runs)
        need = max_runs;
    return (int)need;
}
