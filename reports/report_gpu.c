/* The report's GPU section: per variant the GPU's temperature, SM and
 * memory clocks, power against its enforced limit, energy per token and
 * clock-event (throttle) reasons over the measured runs; each variant's
 * first quarter of runs (cold) against its last quarter (hot); and the
 * A/B effects with the GPU's temperature and SM clock per run as
 * covariates, next to the plain effect. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_doc.h"
#include "stats_internal.h"

/* Measured ok runs of a variant with GPU telemetry, in run order. */
static size_t gpu_runs(const report_results *r, const char *v, const report_run **out)
{
    size_t n = 0;
    for (int i = 0; i < r->nruns; i++) {
        const report_run *u = &r->runs[i];
        if (!u->warmup && u->ok && u->gpu.present && !strcmp(u->variant, v))
            out[n++] = u;
    }
    return n;
}

/* Mean of a field over runs[a, b), skipping NAN; NAN when none. */
static double mean_of(const report_run **runs, size_t a, size_t b, size_t off)
{
    double s = 0;
    size_t n = 0;
    for (size_t i = a; i < b; i++) {
        double v = *(const double *)((const char *)runs[i] + off);
        if (isfinite(v))
            s += v, n++;
    }
    return n ? s / (double)n : NAN;
}

static double min_of(const report_run **runs, size_t n, size_t off)
{
    double m = NAN;
    for (size_t i = 0; i < n; i++) {
        double v = *(const double *)((const char *)runs[i] + off);
        if (isfinite(v) && (isnan(m) || v < m))
            m = v;
    }
    return m;
}

static double sum_of(const report_run **runs, size_t n, size_t off)
{
    double s = 0;
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        double v = *(const double *)((const char *)runs[i] + off);
        if (isfinite(v))
            s += v, any = true;
    }
    return any ? s : NAN;
}

#define G(field) offsetof(report_run, gpu.field)

static void analyse_variant(const report_doc *d, int v, report_gpu_variant *g)
{
    memset(g, 0, sizeof *g);
    const report_run **runs = malloc(((size_t)d->r.nruns + 1) * sizeof *runs);
    if (!runs)
        return;
    size_t n = gpu_runs(&d->r, d->r.variants[v], runs);
    g->n = (int)n;
    if (!n) {
        free(runs);
        return;
    }
    g->temp_mean = mean_of(runs, 0, n, G(temp_mean_c));
    g->temp_peak = -INFINITY;
    for (size_t i = 0; i < n; i++)
        if (isfinite(runs[i]->gpu.temp_peak_c) && runs[i]->gpu.temp_peak_c > g->temp_peak)
            g->temp_peak = runs[i]->gpu.temp_peak_c;
    if (!isfinite(g->temp_peak))
        g->temp_peak = NAN;
    g->sm_mean = mean_of(runs, 0, n, G(sm_mean_mhz));
    g->sm_min = min_of(runs, n, G(sm_min_mhz));
    g->mem_mean = mean_of(runs, 0, n, G(mem_mean_mhz));
    g->mem_min = min_of(runs, n, G(mem_min_mhz));
    g->power_mean = mean_of(runs, 0, n, G(power_mean_w));
    g->power_limit = mean_of(runs, 0, n, G(power_limit_w));
    g->energy_per_token = mean_of(runs, 0, n, G(energy_per_token_j));
    g->util_mean = mean_of(runs, 0, n, G(util_mean_pct));
    g->power_cap_ms = sum_of(runs, n, G(power_cap_ms));
    g->thermal_cap_ms = sum_of(runs, n, G(thermal_cap_ms));
    for (size_t i = 0; i < n; i++) {
        const char *c = runs[i]->gpu.throttle_cause;
        if (!strstr(c, "gpu"))
            continue;
        g->throttled_runs++;
        if (!g->causes[0])
            snprintf(g->causes, sizeof g->causes, "%s", c);
    }
    /* Cold against hot: the first quarter of the runs against the last. */
    size_t q = n / 4;
    if (q >= 3) {
        double *a = malloc(q * sizeof *a), *b = malloc(q * sizeof *b);
        if (a && b) {
            for (size_t i = 0; i < q; i++) {
                a[i] = runs[i]->metric;
                b[i] = runs[n - q + i]->metric;
            }
            g->nq = (int)q;
            g->cold_mean = report_mean(a, q);
            g->hot_mean = report_mean(b, q);
            report_welch_test(a, q, b, q, &g->welch);
            report_mwu m;
            report_mann_whitney(a, q, b, q, &m);
            g->mwu_p = m.p;
            g->ratio_ok = report_ratio_hodges_lehmann(a, q, b, q, 0.95, &g->ratio) == 0;
            g->d_temp = mean_of(runs, n - q, n, G(temp_mean_c)) - mean_of(runs, 0, q, G(temp_mean_c));
            g->d_sm = mean_of(runs, n - q, n, G(sm_mean_mhz)) - mean_of(runs, 0, q, G(sm_mean_mhz));
            g->d_power = mean_of(runs, n - q, n, G(power_mean_w)) - mean_of(runs, 0, q, G(power_mean_w));
            g->cold_temp = mean_of(runs, 0, q, G(temp_mean_c));
            g->hot_temp = mean_of(runs, n - q, n, G(temp_mean_c));
            bool hib = d->r.higher_is_better;
            if (!g->ratio_ok)
                snprintf(g->verdict, sizeof g->verdict, "n/a (no confidence interval for the ratio)");
            else if (g->ratio.lo > 1 || g->ratio.hi < 1) {
                bool better = (g->ratio.ratio > 1) == hib;
                snprintf(g->verdict, sizeof g->verdict, "hot runs %s: %+.2f%% (95%% CI %+.2f%% to %+.2f%%)",
                         better ? "faster" : "slower", 100 * (g->ratio.ratio - 1), 100 * (g->ratio.lo - 1),
                         100 * (g->ratio.hi - 1));
            } else
                snprintf(g->verdict, sizeof g->verdict, "no detectable difference: %+.2f%% (95%% CI %+.2f%% to %+.2f%%)",
                         100 * (g->ratio.ratio - 1), 100 * (g->ratio.lo - 1), 100 * (g->ratio.hi - 1));
        }
        free(a);
        free(b);
    } else {
        snprintf(g->verdict, sizeof g->verdict, "n/a: %zu runs, 12 needed for quarters of 3", n);
    }
    free(runs);
}

/* Variant i against the first with the GPU's mean temperature and SM clock
 * of each run as covariates. */
static void analyse_ab(report_doc *d, int i)
{
    report_gpu_ab *ab = &d->gpu_ab[i];
    memset(ab, 0, sizeof *ab);
    const report_run **ra = malloc(((size_t)d->r.nruns + 1) * sizeof *ra), **rb = malloc(((size_t)d->r.nruns + 1) * sizeof *rb);
    size_t na = ra ? gpu_runs(&d->r, d->r.variants[0], ra) : 0, nb = rb ? gpu_runs(&d->r, d->r.variants[i], rb) : 0;
    size_t n = na + nb;
    double *y = malloc((n + 1) * sizeof *y), *t = malloc((n + 1) * sizeof *t), *c = malloc((n + 1) * sizeof *c);
    int *isb = malloc((n + 1) * sizeof *isb);
    if (y && t && c && isb && na >= 3 && nb >= 3) {
        for (size_t k = 0; k < n; k++) {
            const report_run *u = k < na ? ra[k] : rb[k - na];
            y[k] = u->metric;
            t[k] = u->gpu.temp_mean_c;
            c[k] = u->gpu.sm_mean_mhz;
            isb[k] = k >= na;
        }
        ab->ok = report_adjusted_effect(y, isb, t, c, n, &ab->adj) == 0;
        ab->plain_pct = 100 * (report_mean(y + na, nb) / report_mean(y, na) - 1);
        ab->d_temp = report_mean(t + na, nb) - report_mean(t, na);
        ab->d_sm = mean_of(rb, 0, nb, G(sm_mean_mhz)) - mean_of(ra, 0, na, G(sm_mean_mhz));
        ab->d_power = mean_of(rb, 0, nb, G(power_mean_w)) - mean_of(ra, 0, na, G(power_mean_w));
        ab->present = true;
    }
    free(ra), free(rb), free(y), free(t), free(c), free(isb);
}

void report_doc_gpu(report_doc *d)
{
    for (int v = 0; v < d->nv; v++) {
        analyse_variant(d, v, &d->gpu[v]);
        d->any_gpu |= d->gpu[v].n > 0;
    }
    for (int i = 1; i < d->nv; i++)
        analyse_ab(d, i);
}

/* ---- writing: one list of rows, two renderings ---- */

static const char *f1(char *b, size_t n, const char *fmt, double v)
{
    if (!isfinite(v))
        return "n/a";
    snprintf(b, n, fmt, v);
    return b;
}

#define NCOL 11
static const char *head[NCOL] = {"variant", "runs", "temperature mean (peak)", "SM clock mean (min)",
                                 "memory clock mean (min)", "power mean", "of limit", "energy per token",
                                 "utilisation", "clock-event reasons", "power / thermal cap time"};

/* s written through the escaping writer into out: names from the results
 * file go into the lines below escaped, the numbers as they are. */
static const char *esc(const char *s, report_escape how, char *out, size_t n)
{
    FILE *f = fmemopen(out, n, "w");
    out[0] = 0;
    if (f) {
        report_put_escaped(f, how, s);
        fclose(f);
    }
    out[n - 1] = 0;
    return out;
}

static void row(const report_doc *d, int v, char cells[NCOL][160], report_escape how)
{
    char name[REPORT_NAME_MAX * 6], cause[sizeof d->gpu[0].causes * 6];
    const report_gpu_variant *g = &d->gpu[v];
    char a[32], b[32];
    snprintf(cells[0], 160, "%s", esc(d->r.variants[v], how, name, sizeof name));
    snprintf(cells[1], 160, "%d", g->n);
    snprintf(cells[2], 160, "%s C (%s)", f1(a, sizeof a, "%.1f", g->temp_mean), f1(b, sizeof b, "%.0f", g->temp_peak));
    snprintf(cells[3], 160, "%s (%s) MHz", f1(a, sizeof a, "%.0f", g->sm_mean), f1(b, sizeof b, "%.0f", g->sm_min));
    snprintf(cells[4], 160, "%s (%s) MHz", f1(a, sizeof a, "%.0f", g->mem_mean), f1(b, sizeof b, "%.0f", g->mem_min));
    snprintf(cells[5], 160, "%s W", f1(a, sizeof a, "%.0f", g->power_mean));
    snprintf(cells[6], 160, "%s of %s W", f1(a, sizeof a, "%.0f%%", 100 * g->power_mean / g->power_limit),
             f1(b, sizeof b, "%.0f", g->power_limit));
    snprintf(cells[7], 160, "%s mJ", f1(a, sizeof a, "%.3f", 1e3 * g->energy_per_token));
    snprintf(cells[8], 160, "%s %%", f1(a, sizeof a, "%.0f", g->util_mean));
    if (g->throttled_runs)
        snprintf(cells[9], 160, "%d runs: %s", g->throttled_runs, esc(g->causes, how, cause, sizeof cause));
    else
        snprintf(cells[9], 160, "none (idle, application clocks and sync boost are not throttling)");
    snprintf(cells[10], 160, "%s / %s ms", f1(a, sizeof a, "%.0f", g->power_cap_ms), f1(b, sizeof b, "%.0f", g->thermal_cap_ms));
}

static void cold_hot_line(const report_doc *d, int v, char *out, size_t n, report_escape how)
{
    const report_gpu_variant *g = &d->gpu[v];
    char name[REPORT_NAME_MAX * 6], unit[32 * 6];
    const char *vn = esc(d->r.variants[v], how, name, sizeof name), *un = esc(d->r.metric_unit, how, unit, sizeof unit);
    char a[32], b[32], c[32], e[32], h[32];
    if (!g->nq) {
        snprintf(out, n, "%s: %s", vn, g->verdict);
        return;
    }
    snprintf(out, n, "%s: first %d runs (cold, GPU %s C) %.4g against last %d (hot, %s C) %.4g %s: %s; "
                     "Mann-Whitney p = %.3g; hot minus cold: temperature %s C, SM clock %s MHz, power %s W",
             vn, g->nq, f1(a, sizeof a, "%.1f", g->cold_temp), g->cold_mean, g->nq,
             f1(b, sizeof b, "%.1f", g->hot_temp), g->hot_mean, un, g->verdict, g->mwu_p,
             f1(c, sizeof c, "%+.1f", g->d_temp), f1(e, sizeof e, "%+.0f", g->d_sm), f1(h, sizeof h, "%+.1f", g->d_power));
}

static void ab_line(const report_doc *d, int i, char *out, size_t n, report_escape how)
{
    const report_gpu_ab *ab = &d->gpu_ab[i];
    char na_[REPORT_NAME_MAX * 6], nb_[REPORT_NAME_MAX * 6];
    const char *vi = esc(d->r.variants[i], how, na_, sizeof na_), *v0 = esc(d->r.variants[0], how, nb_, sizeof nb_);
    char a[32], b[32], c[32];
    if (!ab->present) {
        snprintf(out, n, "%s vs %s: n/a (too few runs with GPU telemetry)", vi, v0);
        return;
    }
    size_t k = (size_t)snprintf(out, n, "%s vs %s: plain effect %+.2f%%; GPU state of %s minus %s: temperature %s C, "
                                        "SM clock %s MHz, power %s W; ",
                                vi, v0, ab->plain_pct, vi, v0,
                                f1(a, sizeof a, "%+.1f", ab->d_temp), f1(b, sizeof b, "%+.0f", ab->d_sm),
                                f1(c, sizeof c, "%+.1f", ab->d_power));
    if (k >= n)
        return;
    if (ab->ok)
        snprintf(out + k, n - k, "adjusted for the GPU's temperature%s per run: %+.2f%% (95%% CI %+.2f%% to %+.2f%%), "
                                 "so the covariates account for %+.2f points of the plain effect",
                 ab->adj.with_clock ? " and SM clock" : " (the SM clock did not vary: left out)", ab->adj.pct,
                 ab->adj.pct_lo, ab->adj.pct_hi, ab->plain_pct - ab->adj.pct);
    else
        snprintf(out + k, n - k, "no adjusted effect (the GPU temperature did not vary enough to fit)");
}

/* The section in Markdown or HTML: the same rows and lines, written with
 * each format's markup. Names from the results file are escaped inside
 * row() and the line builders; the rest is numbers and fixed text. */
typedef struct style {
    report_escape how;
    const char *title, *table, *head_cell, *rule, *row_start, *cell, *row_end, *list_start, *item, *list_end;
} style;

static const style markdown = {
    REPORT_ESC_MARKDOWN,
    "## GPU (%s)\n\nMeasured runs, from each run's summary of the %s channels (NVML). Energy per token is the "
    "GPU's energy counter over the run divided by its prefill + decode tokens.\n\n|",
    "", " %s |", "\n|---|---|---|---|---|---|---|---|---|---|---|\n", "|", " %s |", "\n",
    "", "- %s\n", "\n"};
static const style html = {
    REPORT_ESC_HTML,
    "<h2>GPU (%s)</h2><p>Measured runs, from each run's summary of the %s channels (NVML). Energy per token is "
    "the GPU's energy counter over the run divided by its prefill + decode tokens.</p><table><tr>",
    "", "<th>%s</th>", "</tr>\n", "<tr>", "<td>%s</td>", "</tr>\n", "<ul>", "<li>%s</li>", "</ul>"};

static void write_section(FILE *f, const report_doc *d, const style *st)
{
    if (!d->any_gpu)
        return;
    report_fprintf(f, st->how, st->title, d->r.gpu_name, d->r.gpu_name);
    for (int c = 0; c < NCOL; c++)
        fprintf(f, st->head_cell, head[c]);
    fputs(st->rule, f);
    char cells[NCOL][160], line[1024];
    for (int v = 0; v < d->nv; v++) {
        if (!d->gpu[v].n)
            continue;
        row(d, v, cells, st->how);
        fputs(st->row_start, f);
        for (int c = 0; c < NCOL; c++)
            fprintf(f, st->cell, cells[c]);
        fputs(st->row_end, f);
    }
    bool md = st->how == REPORT_ESC_MARKDOWN;
    fputs(md ? "\n### Cold against hot\n\n" : "</table><h3>Cold against hot</h3><p>", f);
    fputs("Each variant's first quarter of measured runs against its last quarter (Hodges-Lehmann ratio with its "
          "distribution-free 95% CI).", f);
    fputs(md ? "\n\n" : "</p>", f);
    fputs(st->list_start, f);
    for (int v = 0; v < d->nv; v++) {
        cold_hot_line(d, v, line, sizeof line, st->how);
        fprintf(f, st->item, line);
    }
    fputs(st->list_end, f);
    if (d->nv > 1) {
        fputs(md ? "### A/B and the GPU's state\n\n" : "<h3>A/B and the GPU's state</h3>", f);
        fputs(st->list_start, f);
        for (int i = 1; i < d->nv; i++) {
            ab_line(d, i, line, sizeof line, st->how);
            fprintf(f, st->item, line);
        }
        fputs(st->list_end, f);
    }
}

void report_gpu_md(FILE *f, const report_doc *d) { write_section(f, d, &markdown); }
void report_gpu_html(FILE *b, const report_doc *d) { write_section(b, d, &html); }
