/* Where variance comes from: runs within a session, sessions within an
 * experiment (Kalibera & Jones, "Rigorous benchmarking in reasonable time",
 * 2013). One-way random-effects model x = mu + b_session + e_run: the
 * between-session component is the variance of the session means less the
 * share of the within-session variance they carry. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "reports.h"

int report_variance_components_fit(const double *x, const int *session, size_t n, report_variance_components *o)
{
    memset(o, 0, sizeof *o);
    o->mean = o->var_within = o->var_between = o->var_session_means = NAN;
    o->runs_per_session = NAN;
    if (n == 0)
        return -1;
    int *lab = malloc(n * sizeof *lab);
    double *sum = calloc(n, sizeof *sum), *cnt = calloc(n, sizeof *cnt);
    if (!lab || !sum || !cnt) {
        free(lab);
        free(sum);
        free(cnt);
        return -1;
    }
    int m = 0;
    size_t *which = malloc(n * sizeof *which);
    for (size_t i = 0; which && i < n; i++) {
        int s = 0;
        while (s < m && lab[s] != session[i])
            s++;
        if (s == m)
            lab[m++] = session[i];
        which[i] = (size_t)s;
        sum[s] += x[i];
        cnt[s] += 1;
    }
    if (!which) {
        free(lab);
        free(sum);
        free(cnt);
        return -1;
    }
    double ssw = 0, dfw = 0, grand = 0, inv = 0;
    for (size_t i = 0; i < n; i++) {
        double d = x[i] - sum[which[i]] / cnt[which[i]];
        ssw += d * d;
    }
    for (int s = 0; s < m; s++) {
        dfw += cnt[s] - 1;
        grand += sum[s] / cnt[s];
        inv += 1 / cnt[s];
    }
    o->sessions = m;
    o->runs = n;
    o->mean = grand / m;
    o->runs_per_session = m / inv;
    o->df_within = dfw;
    o->var_within = dfw > 0 ? ssw / dfw : NAN;
    if (m >= 2) {
        double ss = 0;
        for (int s = 0; s < m; s++)
            ss += pow(sum[s] / cnt[s] - o->mean, 2);
        o->var_session_means = ss / (m - 1);
        o->df_between = m - 1;
        double share = isfinite(o->var_within) ? o->var_within / o->runs_per_session : 0;
        o->var_between = fmax(0, o->var_session_means - share);
    }
    free(which);
    free(lab);
    free(sum);
    free(cnt);
    return 0;
}

int report_sessions_needed(const report_variance_components *vc, int runs_per_session, double target, double level)
{
    if (!(target > 0) || runs_per_session < 1 || !isfinite(vc->var_within) || !(vc->mean != 0))
        return -1;
    double vb = isfinite(vc->var_between) ? vc->var_between : 0;
    double per = vb + vc->var_within / runs_per_session;     /* variance of one session's mean */
    for (int m = 2; m <= 10000; m++) {
        double t = report_t_quantile(1 - (1 - level) / 2, m - 1);
        if (t * sqrt(per / m) <= target * fabs(vc->mean))
            return m;
    }
    return -1;
}

int report_plan_runs(const double *x, const int *session, size_t n, double margin, double decision, double power,
                     report_run_plan *o)
{
    memset(o, 0, sizeof *o);
    o->sd_within_pct = o->sd_between_pct = NAN;
    double *l = malloc((n + 1) * sizeof *l);
    if (!l || n < 2 || !(margin > 0)) {
        free(l);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        l[i] = x[i] > 0 ? log(x[i]) : NAN;
    int rc = report_variance_components_fit(l, session, n, &o->vc);
    free(l);
    if (rc < 0 || !isfinite(o->vc.var_within))
        return -1;
    o->sd_within_pct = 100 * sqrt(o->vc.var_within);
    double vb = 0;
    if (o->vc.sessions >= 2) {
        vb = o->vc.var_between;
        o->sd_between_pct = 100 * sqrt(vb);
    }
    double target = log(1 + margin);
    static const int sizes[REPORT_PLAN_SIZES] = {5, 10, 20, 40};
    for (int k = 0; k < REPORT_PLAN_SIZES; k++) {
        int r = sizes[k];
        o->runs_per_session[k] = r;
        o->sessions_needed[k] = -1;
        /* Var(log ratio) with m sessions a side: 2 (vb + vw / r) / m. With one
         * session a side the runs' df count; with several, the sessions'. */
        for (int m = 1; m <= 1000; m++) {
            double df = m == 1 ? 2.0 * r - 2 : 2.0 * m - 2;
            double se = sqrt(2 * (vb + o->vc.var_within / r) / m);
            double need = (report_t_quantile(decision, df) + report_t_quantile(power, df)) * se;
            if (need <= target) {
                o->sessions_needed[k] = m;
                break;
            }
        }
    }
    return 0;
}
