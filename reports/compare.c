/* A/B comparison and the CI gate verdict. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reports.h"
#include "stats_internal.h"

static double mean_finite(const double *x, size_t n)
{
    double s = 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(x[i])) {
            s += x[i];
            k++;
        }
    return k ? s / (double)k : NAN;
}

static int find_variant(const report_results *r, const char *v)
{
    for (int i = 0; i < r->nvariants; i++)
        if (!strcmp(r->variants[i], v))
            return i;
    return -1;
}

/* Per-variant statistics and telemetry; vals gets the metric values. */
static void variant_stats(const report_results *r, const char *v, report_variant_stats *o, double *vals,
                          size_t *n)
{
    memset(o, 0, sizeof *o);
    snprintf(o->name, sizeof o->name, "%s", v);
    size_t cap = (size_t)r->nruns, k = 0;
    double *ts = malloc((cap ? cap : 1) * sizeof *ts), *tp = malloc((cap ? cap : 1) * sizeof *tp);
    double *pw = malloc((cap ? cap : 1) * sizeof *pw), *ept = malloc((cap ? cap : 1) * sizeof *ept);
    double peak = NAN;
    for (int i = 0; i < r->nruns; i++) {
        const report_run *u = &r->runs[i];
        if (u->warmup || strcmp(u->variant, v))
            continue;
        if (!u->ok) {
            o->failed_runs++;
            continue;
        }
        vals[k] = u->metric;
        ts[k] = u->temp_start_c;
        tp[k] = u->temp_peak_c;
        pw[k] = u->power_mean_w;
        ept[k] = u->energy_per_token_j;
        if (isfinite(u->temp_peak_c) && !(u->temp_peak_c <= peak))
            peak = u->temp_peak_c;
        o->throttled_runs += !strcmp(u->throttle, "yes");
        o->unknown_throttle_runs += strcmp(u->throttle, "yes") && strcmp(u->throttle, "no");
        k++;
    }
    *n = k;
    report_summarize(vals, k, &o->s);
    o->temp_start_c = mean_finite(ts, k);
    o->temp_peak_c = peak;
    o->power_mean_w = mean_finite(pw, k);
    o->energy_per_token_j = mean_finite(ept, k);
    report_mann_kendall_test(vals, k, &o->trend);
    free(ts);
    free(tp);
    free(pw);
    free(ept);
}

int report_variant_summary(const report_results *r, const char *variant, report_variant_stats *out)
{
    double *vals = malloc(((size_t)r->nruns + 1) * sizeof *vals);
    size_t n = 0;
    if (!vals)
        return -1;
    variant_stats(r, variant, out, vals, &n);
    free(vals);
    return 0;
}

/* The temperature-adjusted effect needs both variants' runs in one model. */
static void adjusted(const report_results *ra, const char *va, const report_results *rb, const char *vb,
                     report_comparison *o)
{
    size_t cap = (size_t)(ra->nruns + rb->nruns) + 1, n = 0;
    double *y = malloc(cap * sizeof *y), *t = malloc(cap * sizeof *t);
    int *isb = malloc(cap * sizeof *isb);
    const report_results *rs[2] = {ra, rb};
    const char *vs[2] = {va, vb};
    for (int g = 0; g < 2 && y && t && isb; g++)
        for (int i = 0; i < rs[g]->nruns; i++) {
            const report_run *u = &rs[g]->runs[i];
            if (u->warmup || !u->ok || strcmp(u->variant, vs[g]))
                continue;
            y[n] = u->metric;
            t[n] = u->temp_start_c;
            isb[n++] = g;
        }
    o->adjusted_ok = y && t && isb && report_adjusted_effect(y, isb, t, NULL, n, &o->adjusted) == 0;
    free(y);
    free(t);
    free(isb);
}

static void verdict_sentence(report_comparison *o, const char *metric)
{
    const char *an = o->a.name, *bn = o->b.name;
    char adj[160] = "";
    if (o->adjusted_ok)
        snprintf(adj, sizeof adj, "; %+.1f%% after adjusting for temperature", o->adjusted.pct);
    if (!o->fieller_ok) {
        snprintf(o->verdict, sizeof o->verdict, "no detectable difference");
        snprintf(o->sentence, sizeof o->sentence,
                 "No verdict: %s vs %s is too noisy or too short for a bounded CI of the ratio", bn, an);
        return;
    }
    bool better = o->higher_is_better ? o->fieller.lo > 1 : o->fieller.hi < 1;
    bool worse = o->higher_is_better ? o->fieller.hi < 1 : o->fieller.lo > 1;
    if (better || worse) {
        snprintf(o->verdict, sizeof o->verdict, better ? "faster" : "slower");
        snprintf(o->sentence, sizeof o->sentence,
                 "%s is %s than %s: %s %+.1f%% (95%% CI %+.1f%% to %+.1f%%, Welch p = %.2g, "
                 "Mann-Whitney p = %.2g)%s",
                 bn, o->verdict, an, metric, o->effect_pct, o->effect_lo_pct, o->effect_hi_pct, o->welch.p,
                 o->mwu.p, adj);
    } else {
        snprintf(o->verdict, sizeof o->verdict, "no detectable difference");
        snprintf(o->sentence, sizeof o->sentence,
                 "No detectable difference between %s and %s: %s %+.1f%% (95%% CI %+.1f%% to %+.1f%%)%s; "
                 "this experiment could detect a change of about %.1f%%",
                 an, bn, metric, o->effect_pct, o->effect_lo_pct, o->effect_hi_pct, adj,
                 o->min_detectable_pct);
    }
}

int report_compare(const report_results *ra, const char *va, const report_results *rb, const char *vb,
                   report_comparison *o, report_error *err)
{
    memset(o, 0, sizeof *o);
    if (find_variant(ra, va) < 0)
        return report_fail(err, "%s: no variant '%s'", ra->path, va);
    if (find_variant(rb, vb) < 0)
        return report_fail(err, "%s: no variant '%s'", rb->path, vb);
    if (strcmp(ra->metric_name, rb->metric_name))
        return report_fail(err, "primary metrics differ: '%s' in %s, '%s' in %s", ra->metric_name, ra->path,
                    rb->metric_name, rb->path);
    double *a = malloc(((size_t)ra->nruns + 1) * sizeof *a), *b = malloc(((size_t)rb->nruns + 1) * sizeof *b);
    if (!a || !b) {
        free(a);
        free(b);
        return report_fail(err, "out of memory");
    }
    size_t na, nb;
    variant_stats(ra, va, &o->a, a, &na);
    variant_stats(rb, vb, &o->b, b, &nb);
    o->higher_is_better = ra->higher_is_better;
    o->fieller_ok = report_ratio_fieller(a, na, b, nb, 0.95, &o->fieller) == 0;
    /* 2000 resamples, fewer (never under 200) when resamples x runs would pass
     * 4e7 draws: at 100,000 runs per variant the bootstrap alone would
     * otherwise take seconds, for a CI that Fieller's already gives. */
    double draws = 4e7 / (double)(na + nb + 1);
    int resamples = draws >= 2000 ? 2000 : draws <= 200 ? 200 : (int)draws;
    report_ratio_bootstrap(a, na, b, nb, 0.95, resamples, 1, &o->boot);
    report_welch_test(a, na, b, nb, &o->welch);
    report_mann_whitney(a, na, b, nb, &o->mwu);
    o->hodges_lehmann = report_hodges_lehmann(a, na, b, nb);
    o->cliffs_delta = report_cliffs_delta(a, na, b, nb);
    o->effect_pct = 100 * (o->fieller.ratio - 1);
    o->effect_lo_pct = 100 * (o->fieller.lo - 1);
    o->effect_hi_pct = 100 * (o->fieller.hi - 1);
    double cv = sqrt((o->a.s.cv * o->a.s.cv + o->b.s.cv * o->b.s.cv) / 2);
    size_t nmin = na < nb ? na : nb;
    o->min_detectable_pct = 100 * report_min_detectable(cv, nmin, 0.05, 0.8);
    o->runs_needed_3pct = report_runs_needed(cv, 0.03, 0.05, 0.8);
    adjusted(ra, va, rb, vb, o);
    verdict_sentence(o, ra->metric_name);
    free(a);
    free(b);
    if (na < 2 || nb < 2)
        return report_fail(err, "too few successful runs to compare: %s has %zu, %s has %zu", va, na, vb, nb);
    return 0;
}

/* ---- gate ---- */

void report_gate_defaults(report_gate_options *o)
{
    o->max_regression = 0.03;
    o->confidence = 0.95;
    o->max_cv = 0.10;
    o->allow_env_mismatch = false;
    o->allow_throttle = false;
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

static bool has_severe_outlier(const double *x, size_t n)
{
    int *cls = malloc((n ? n : 1) * sizeof *cls);
    bool any = false;
    if (!cls)
        return false;
    report_outliers_tukey(x, n, cls);
    for (size_t i = 0; i < n; i++)
        any |= cls[i] == REPORT_OUTLIER_SEVERE;
    free(cls);
    return any;
}

/* The ratio is the ratio of means or the Hodges-Lehmann ratio with its distribution-free CI: robust
 * to the odd slow run. The threshold is an equivalence margin: regression
 * only when the whole CI of the ratio lies beyond -max_regression, pass only when the whole CI lies
 * above it; a CI that straddles it is inconclusive (see docs/STATISTICS.md). */
report_gate_verdict report_gate_samples(const double *base, size_t nb, const double *cand, size_t nc,
                                        bool higher_is_better, const report_gate_options *o,
                                        double *ratio, double *lo, double *hi, char *reason, size_t cap)
{
    *ratio = *lo = *hi = NAN;
    if (nb < 3 || nc < 3) {
        snprintf(reason, cap, "too few runs (baseline %zu, candidate %zu; need 3 each)", nb, nc);
        return REPORT_GATE_INCONCLUSIVE;
    }
    /* Ratio of means (Fieller) unless a severe outlier (beyond 3 IQR) is
     * present, then the robust Hodges-Lehmann ratio: one slow run must not
     * decide the verdict, nor widen the CI into "inconclusive". */
    bool robust = has_severe_outlier(base, nb) || has_severe_outlier(cand, nc);
    report_ratio r;
    int rc = robust ? report_ratio_hodges_lehmann(base, nb, cand, nc, o->confidence, &r)
                    : report_ratio_fieller(base, nb, cand, nc, o->confidence, &r);
    const char *method = robust ? "Hodges-Lehmann ratio (severe outliers present)" : "ratio of means";
    if (higher_is_better) {
        *ratio = r.ratio;
        *lo = r.lo;
        *hi = r.hi;
    } else {            /* orient so that < 1 is worse */
        *ratio = 1 / r.ratio;
        *lo = 1 / r.hi;
        *hi = 1 / r.lo;
    }
    if (rc < 0) {
        snprintf(reason, cap, isnan(r.ratio) ? "values must be positive for a ratio"
                                             : "the CI of the ratio is unbounded (too few runs or too noisy)");
        return REPORT_GATE_INCONCLUSIVE;
    }
    /* Robust CV (1.4826 MAD / median): one slow run does not make a series unstable. */
    double cvb = 1.4826 * report_mad(base, nb) / fabs(report_median(base, nb));
    double cvc = 1.4826 * report_mad(cand, nc) / fabs(report_median(cand, nc));
    if (cvb > o->max_cv || cvc > o->max_cv) {
        snprintf(reason, cap, "unstable runs: robust CV %.1f%% (baseline), %.1f%% (candidate) above %.1f%%",
                 100 * cvb, 100 * cvc, 100 * o->max_cv);
        return REPORT_GATE_INCONCLUSIVE;
    }
    double m = o->max_regression;
    double pct = 100 * o->confidence;
    if (*hi < 1 - m) {
        snprintf(reason, cap, "%s: %.4g%% CI of the change %+.2f%% to %+.2f%% lies entirely below -%.2g%%", method, pct,
                 100 * (*lo - 1), 100 * (*hi - 1), 100 * m);
        return REPORT_GATE_REGRESSION;
    }
    if (*lo > 1 + m) {
        snprintf(reason, cap, "%s: %.4g%% CI of the change %+.2f%% to %+.2f%% lies entirely above +%.2g%%", method, pct,
                 100 * (*lo - 1), 100 * (*hi - 1), 100 * m);
        return REPORT_GATE_IMPROVEMENT;
    }
    if (*lo > 1 - m) {
        snprintf(reason, cap, "%s: %.4g%% CI of the change %+.2f%% to %+.2f%% lies above -%.2g%%", method, pct,
                 100 * (*lo - 1), 100 * (*hi - 1), 100 * m);
        return REPORT_GATE_PASS;
    }
    snprintf(reason, cap, "%s: %.4g%% CI of the change %+.2f%% to %+.2f%% straddles -%.2g%%: more runs needed",
             method, pct,
             100 * (*lo - 1), 100 * (*hi - 1), 100 * m);
    return REPORT_GATE_INCONCLUSIVE;
}

static const char *only_variant(const report_results *r, const char *v, report_error *err)
{
    if (v)
        return v;
    if (r->nvariants == 1)
        return r->variants[0];
    report_fail(err, "%s: %d variants; say which one", r->path, r->nvariants);
    return NULL;
}

static void check_env(const report_results *b, int ib, const report_results *c, int ic, report_gate_result *o)
{
    char *d = o->env_detail;
    size_t cap = sizeof o->env_detail, len = 0;
    d[0] = 0;
    if (strcmp(b->cpu_model, c->cpu_model))
        len += (size_t)snprintf(d + len, cap - len, "cpu_model '%s' vs '%s'; ", b->cpu_model, c->cpu_model);
    if (len < cap && b->cpus_online != c->cpus_online)
        len += (size_t)snprintf(d + len, cap - len, "cpus_online %d vs %d; ", b->cpus_online, c->cpus_online);
    if (len < cap && strcmp(b->variant_config[ib], c->variant_config[ic]))
        len += (size_t)snprintf(d + len, cap - len, "engine '%s' vs '%s'; ", b->variant_config[ib],
                                c->variant_config[ic]);
    o->env_mismatch = d[0] != 0;
}

int report_gate(const report_results *base, const char *base_variant, const report_results *cand,
                const char *cand_variant, const report_gate_options *opt, report_gate_result *o,
                report_error *err)
{
    memset(o, 0, sizeof *o);
    const char *vb = only_variant(base, base_variant, err);
    const char *vc = vb ? only_variant(cand, cand_variant ? cand_variant : (base_variant ? vb : NULL), err) : NULL;
    if (!vb || !vc)
        return -1;
    if (report_compare(base, vb, cand, vc, &o->cmp, err) < 0 && o->cmp.a.s.n + o->cmp.b.s.n == 0)
        return -1;
    check_env(base, find_variant(base, vb), cand, find_variant(cand, vc), o);
    double *a = malloc(((size_t)base->nruns + 1) * sizeof *a), *b = malloc(((size_t)cand->nruns + 1) * sizeof *b);
    if (!a || !b) {
        free(a);
        free(b);
        return report_fail(err, "out of memory");
    }
    size_t na = report_variant_values(base, vb, a, (size_t)base->nruns);
    size_t nc = report_variant_values(cand, vc, b, (size_t)cand->nruns);
    o->verdict = report_gate_samples(a, na, b, nc, base->higher_is_better, opt, &o->ratio, &o->lo, &o->hi,
                                     o->reason, sizeof o->reason);
    free(a);
    free(b);
    /* Conditions that make any verdict but "inconclusive" untrustworthy. */
    char why[400] = "";
    int throttled = o->cmp.a.throttled_runs + o->cmp.b.throttled_runs;
    if (throttled && !opt->allow_throttle)
        snprintf(why, sizeof why, "%d runs were throttled", throttled);
    else if (o->env_mismatch && !opt->allow_env_mismatch)
        snprintf(why, sizeof why, "environments differ: %.370s", o->env_detail);
    if (why[0] && o->verdict != REPORT_GATE_INCONCLUSIVE) {
        char tmp[1024];
        snprintf(tmp, sizeof tmp, "%s (otherwise %s: %.580s)", why, report_gate_verdict_name(o->verdict),
                 o->reason);
        snprintf(o->reason, sizeof o->reason, "%s", tmp);
        o->verdict = REPORT_GATE_INCONCLUSIVE;
    }
    return 0;
}
