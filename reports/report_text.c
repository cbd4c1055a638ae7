/* Tables a person reads in seconds: per-variant statistics and the effect,
 * as aligned text (terminal) or Markdown (report.md, CI job pages); and the
 * same as JSON for machines. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "reports.h"

/* "n/a" for unknown values, never 0. */
static const char *fmt(char *buf, size_t cap, const char *f, double v)
{
    if (!isfinite(v))
        return "n/a";
    snprintf(buf, cap, f, v);
    return buf;
}

void report_print_variants(FILE *f, const report_variant_stats *v, int n, const char *metric,
                           const char *unit, bool md)
{
    report_escape esc = md ? REPORT_ESC_MARKDOWN : REPORT_ESC_TERMINAL;
    report_fprintf(f, esc, md ? "**%s** (%s)\n\n" : "%s (%s)\n\n", metric, unit && unit[0] ? unit : "?");
    if (md)
        fprintf(f, "| variant | n | median | mean [95%% CI] | CV | outliers (mild/severe) | "
                   "T start | T peak | power | energy/token | throttled | failed |\n"
                   "|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    else
        fprintf(f, "%-12s %4s %10s %28s %6s %8s %8s %8s %8s %10s %10s %6s\n", "variant", "n", "median",
                "mean [95% CI]", "CV", "outliers", "T start", "T peak", "power", "J/token", "throttled", "failed");
    for (int i = 0; i < n; i++) {
        const report_variant_stats *s = &v[i];
        char b1[32], b2[32], b3[32], b4[32], b5[32], b6[32], ci[96], out[32], thr[32];
        if (isfinite(s->s.mean_ci_lo))
            snprintf(ci, sizeof ci, "%.4g [%.4g, %.4g]", s->s.mean, s->s.mean_ci_lo, s->s.mean_ci_hi);
        else
            snprintf(ci, sizeof ci, "%s", fmt(b1, sizeof b1, "%.4g", s->s.mean));
        snprintf(out, sizeof out, "%zu/%zu", s->s.outliers_mild, s->s.outliers_severe);
        if (s->unknown_throttle_runs == (int)s->s.n && s->s.n)
            snprintf(thr, sizeof thr, "unknown");
        else
            snprintf(thr, sizeof thr, "%d/%zu", s->throttled_runs, s->s.n);
        const char *med = fmt(b1, sizeof b1, "%.4g", s->s.median), *cv = fmt(b2, sizeof b2, "%.2f%%", 100 * s->s.cv);
        const char *ts = fmt(b3, sizeof b3, "%.1f C", s->temp_start_c), *tp = fmt(b4, sizeof b4, "%.1f C", s->temp_peak_c);
        const char *pw = fmt(b5, sizeof b5, "%.1f W", s->power_mean_w);
        const char *ej = fmt(b6, sizeof b6, "%.3g J", s->energy_per_token_j);
        /* Only the name is user text; the other cells are numbers formatted here. */
        report_fprintf(f, esc, md ? "| %s " : "%-12s", s->name);
        if (md)
            fprintf(f, "| %zu | %s | %s | %s | %s | %s | %s | %s | %s | %s | %d |\n", s->s.n, med, ci, cv, out, ts, tp,
                    pw, ej, thr, s->failed_runs);
        else
            fprintf(f, " %4zu %10s %28s %6s %8s %8s %8s %8s %10s %10s %6d\n", s->s.n, med, ci, cv, out, ts, tp, pw, ej,
                    thr, s->failed_runs);
    }
    fputc('\n', f);
}

void report_print_comparison(FILE *f, const report_comparison *c, bool md)
{
    report_escape esc = md ? REPORT_ESC_MARKDOWN : REPORT_ESC_TERMINAL;
    const char *li = md ? "- " : "  ";
    char b1[64], b2[64];
    report_fprintf(f, esc, "%s vs %s (baseline):\n\n", c->b.name, c->a.name);
    fputs(li, f);
    if (c->fieller_ok)
        fprintf(f, "ratio of means %.4f, 95%% CI %.4f to %.4f (Fieller); bootstrap %.4f to %.4f\n", c->fieller.ratio,
                c->fieller.lo, c->fieller.hi, c->boot.lo, c->boot.hi);
    else
        fprintf(f, "ratio of means %.4f: CI unbounded (baseline too noisy)\n", c->fieller.ratio);
    fprintf(f, "%sWelch t-test p = %.3g; Mann-Whitney U = %.1f, p = %.3g (%s)\n", li, c->welch.p, c->mwu.u,
            c->mwu.p, c->mwu.exact ? "exact" : "normal approximation");
    fprintf(f, "%sHodges-Lehmann shift %.4g; Cliff's delta %.3f\n", li, c->hodges_lehmann, c->cliffs_delta);
    if (c->adjusted_ok)
        fprintf(f, "%stemperature-adjusted effect %+.2f%% (95%% CI %+.2f%% to %+.2f%%), plain effect %+.2f%%\n", li,
                c->adjusted.pct, c->adjusted.pct_lo, c->adjusted.pct_hi, c->effect_pct);
    else
        fprintf(f, "%stemperature-adjusted effect: n/a (no start temperature recorded for every run)\n", li);
    fprintf(f, "%strend over run order (Mann-Kendall): ", li);
    report_fprintf(f, esc, "%s", c->a.name);
    fprintf(f, " p = %s, ", fmt(b1, sizeof b1, "%.3g", c->a.trend.p));
    report_fprintf(f, esc, "%s", c->b.name);
    fprintf(f, " p = %s\n", fmt(b2, sizeof b2, "%.3g", c->b.trend.p));
    fprintf(f, "%ssmallest detectable change at this noise: %s%% (alpha 0.05, power 0.8); runs per variant "
               "for 3%%: %d\n\n",
            li, fmt(b1, sizeof b1, "%.2f", c->min_detectable_pct), c->runs_needed_3pct);
    fputs(md ? "**" : "verdict: ", f);
    report_fprintf(f, esc, "%s", c->sentence);
    fputs(md ? "**\n\n" : "\n\n", f);
}

static void num(cJSON *o, const char *k, double v)
{
    if (isfinite(v))
        cJSON_AddNumberToObject(o, k, v);
    else
        cJSON_AddNullToObject(o, k);
}

static cJSON *variant_json(const report_variant_stats *s)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", s->name);
    cJSON_AddNumberToObject(o, "n", (double)s->s.n);
    num(o, "mean", s->s.mean);
    num(o, "mean_ci_lo", s->s.mean_ci_lo);
    num(o, "mean_ci_hi", s->s.mean_ci_hi);
    num(o, "median", s->s.median);
    num(o, "median_ci_lo", s->s.median_ci_lo);
    num(o, "median_ci_hi", s->s.median_ci_hi);
    num(o, "sd", s->s.sd);
    num(o, "cv", s->s.cv);
    num(o, "mad", s->s.mad);
    cJSON_AddNumberToObject(o, "outliers_mild", (double)s->s.outliers_mild);
    cJSON_AddNumberToObject(o, "outliers_severe", (double)s->s.outliers_severe);
    num(o, "temp_start_c", s->temp_start_c);
    num(o, "temp_peak_c", s->temp_peak_c);
    num(o, "power_mean_w", s->power_mean_w);
    num(o, "energy_per_token_j", s->energy_per_token_j);
    cJSON_AddNumberToObject(o, "throttled_runs", s->throttled_runs);
    cJSON_AddNumberToObject(o, "throttle_unknown_runs", s->unknown_throttle_runs);
    cJSON_AddNumberToObject(o, "failed_runs", s->failed_runs);
    num(o, "trend_mann_kendall_p", s->trend.p);
    return o;
}

char *report_comparison_json(const report_comparison *c, const char *metric, const char *unit)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "metric", metric);
    cJSON_AddStringToObject(o, "unit", unit ? unit : "");
    cJSON_AddBoolToObject(o, "higher_is_better", c->higher_is_better);
    cJSON_AddItemToObject(o, "baseline", variant_json(&c->a));
    cJSON_AddItemToObject(o, "candidate", variant_json(&c->b));
    cJSON *e = cJSON_AddObjectToObject(o, "effect");
    num(e, "ratio", c->fieller.ratio);
    num(e, "ratio_ci_lo", c->fieller_ok ? c->fieller.lo : NAN);
    num(e, "ratio_ci_hi", c->fieller_ok ? c->fieller.hi : NAN);
    num(e, "ratio_bootstrap_lo", c->boot.lo);
    num(e, "ratio_bootstrap_hi", c->boot.hi);
    num(e, "change_pct", c->effect_pct);
    num(e, "change_ci_lo_pct", c->effect_lo_pct);
    num(e, "change_ci_hi_pct", c->effect_hi_pct);
    cJSON_AddStringToObject(e, "method", c->effect.method);
    cJSON_AddStringToObject(e, "design", c->design);
    num(e, "welch_p", c->welch.p);
    num(e, "mann_whitney_u", c->mwu.u);
    num(e, "mann_whitney_p", c->mwu.p);
    cJSON_AddBoolToObject(e, "mann_whitney_exact", c->mwu.exact);
    num(e, "hodges_lehmann_shift", c->hodges_lehmann);
    num(e, "cliffs_delta", c->cliffs_delta);
    num(e, "temp_adjusted_pct", c->adjusted_ok ? c->adjusted.pct : NAN);
    num(e, "temp_adjusted_ci_lo_pct", c->adjusted_ok ? c->adjusted.pct_lo : NAN);
    num(e, "temp_adjusted_ci_hi_pct", c->adjusted_ok ? c->adjusted.pct_hi : NAN);
    num(e, "min_detectable_pct", c->min_detectable_pct);
    cJSON_AddNumberToObject(e, "runs_needed_for_3pct", c->runs_needed_3pct);
    cJSON_AddStringToObject(o, "verdict", c->verdict);
    cJSON_AddStringToObject(o, "sentence", c->sentence);
    char *text = cJSON_Print(o);
    cJSON_Delete(o);
    return text;
}
