/* Writing report.md and report.html from the analysed results. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_doc.h"
#include "stats_internal.h"

const char report_regenerate_note[] =
    "To regenerate this report on another machine (plots need gnuplot there), copy results.json and the "
    "telemetry.csv beside it into one directory and run `thermabench report DIR/results.json -o OUT`: "
    "nothing else is read.";

static void sensitivity_md(FILE *f, const report_doc *d)
{
    fprintf(f, "## Thermal sensitivity\n\nLeast squares of %s on the temperature at run start.\n\n"
               "| variant | %% per C | 95%% CI | R^2 | n |\n|---|---|---|---|---|\n",
            d->r.metric_name);
    for (int v = 0; v < d->nv; v++) {
        if (d->sens_ok[v])
            fprintf(f, "| %s | %+.3f | %+.3f to %+.3f | %.2f | %zu |\n", d->r.variants[v], d->sens[v].pct_per_c,
                    d->sens[v].pct_per_c_lo, d->sens[v].pct_per_c_hi, d->sens[v].r2, d->sens[v].n);
        else
            fprintf(f, "| %s | n/a | no temperature recorded for every run | | %zu |\n", d->r.variants[v],
                    d->vs[v].s.n);
    }
    fputc('\n', f);
}

static void warnings_md(FILE *f, const report_doc *d)
{
    fprintf(f, "## Preflight warnings and missing telemetry\n\n");
    if (!d->r.npreflight)
        fprintf(f, "- preflight: no warnings\n");
    for (int i = 0; i < d->r.npreflight; i++)
        fprintf(f, "- %s\n", d->r.preflight[i]);
    if (d->probes_missing[0])
        fprintf(f, "- probes not available: %s\n", d->probes_missing);
    if (strcmp(d->r.status, "complete"))
        fprintf(f, "- experiment status: **%s** (not complete)\n", d->r.status[0] ? d->r.status : "unknown");
    fputc('\n', f);
}

int report_doc_write_md(const report_doc *d, const char *path, report_error *err)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) {
        snprintf(err->msg, sizeof err->msg, "out of memory");
        return -1;
    }
    fprintf(f, "# thermabench report: %s\n\nResults: `%s` (status %s). Plots: report.html (and plot-*.svg). "
               "Per-run data: runs.csv.\n\n%s\n\n",
            d->r.name, d->r.path, d->r.status, report_regenerate_note);
    fprintf(f, "## Variants\n\n");
    report_print_variants(f, d->vs, d->nv, d->r.metric_name, d->r.metric_unit, true);
    if (d->ncmp)
        fprintf(f, "## A/B summary\n\n");
    for (int i = 0; i < d->ncmp; i++) {
        if (d->cmp_err[i][0])
            fprintf(f, "%s vs %s: %s\n\n", d->r.variants[i + 1], d->r.variants[0], d->cmp_err[i]);
        else
            report_print_comparison(f, &d->cmp[i], true);
    }
    sensitivity_md(f, d);
    report_gpu_md(f, d);
    warnings_md(f, d);
    fprintf(f, "## Environment\n\n- CPU: %s (%d online)\n- kernel: %s\n- compiler: %s\n- commit: %s\n",
            d->r.cpu_model[0] ? d->r.cpu_model : "n/a", d->r.cpus_online, d->r.kernel[0] ? d->r.kernel : "n/a",
            d->r.compiler[0] ? d->r.compiler : "n/a", d->r.git_commit[0] ? d->r.git_commit : "n/a");
    for (int v = 0; v < d->nv; v++)
        fprintf(f, "- %s: %s\n", d->r.variants[v], d->r.variant_config[v]);
    if (d->plot_note[0])
        fprintf(f, "\nPlots: %s\n", d->plot_note);
    fclose(f);
    int rc = report_write_atomic(path, buf, len, err);
    free(buf);
    return rc;
}

/* HTML: the Markdown sections rendered as simple tables and lists. */
static void html_cell(textbuf *b, const char *fmt, double v)
{
    if (isfinite(v))
        tb_printf(b, fmt, v);
    else
        tb_puts(b, "<td class=na>n/a</td>");
}

static void variants_html(textbuf *b, const report_doc *d)
{
    tb_printf(b, "<h2>Variants</h2><p>%s (", d->r.metric_name);
    tb_html(b, d->r.metric_unit);
    tb_puts(b, d->r.higher_is_better ? ", higher is better" : ", lower is better");
    tb_puts(b, ")</p><table><tr><th>variant</th><th>n</th><th>median [95% CI]</th><th>mean [95% CI]</th><th>CV</th>"
               "<th>outliers mild/severe</th><th>T start</th><th>T peak</th><th>power</th><th>energy/token</th>"
               "<th>throttled</th><th>failed</th><th>trend p (Mann-Kendall)</th></tr>\n");
    for (int v = 0; v < d->nv; v++) {
        const report_variant_stats *s = &d->vs[v];
        tb_printf(b, "<tr><td><span class=sw style='background:%s'></span>", plot_color(v));
        tb_html(b, s->name);
        tb_printf(b, "</td><td>%zu</td>", s->s.n);
        if (s->s.n >= 2)
            tb_printf(b, "<td>%.4g [%.4g, %.4g]</td><td>%.4g [%.4g, %.4g]</td>", s->s.median, s->s.median_ci_lo,
                      s->s.median_ci_hi, s->s.mean, s->s.mean_ci_lo, s->s.mean_ci_hi);
        else
            tb_puts(b, "<td class=na>n/a</td><td class=na>n/a</td>");
        html_cell(b, "<td>%.2f%%</td>", 100 * s->s.cv);
        tb_printf(b, "<td>%zu/%zu</td>", s->s.outliers_mild, s->s.outliers_severe);
        html_cell(b, "<td>%.1f C</td>", s->temp_start_c);
        html_cell(b, "<td>%.1f C</td>", s->temp_peak_c);
        html_cell(b, "<td>%.1f W</td>", s->power_mean_w);
        html_cell(b, "<td>%.3g J</td>", s->energy_per_token_j);
        if (s->unknown_throttle_runs == (int)s->s.n && s->s.n)
            tb_puts(b, "<td class=na>unknown</td>");
        else
            tb_printf(b, "<td>%d/%zu</td>", s->throttled_runs, s->s.n);
        tb_printf(b, "<td>%d</td>", s->failed_runs);
        html_cell(b, "<td>%.3g</td>", s->trend.p);
        tb_puts(b, "</tr>\n");
    }
    tb_puts(b, "</table>\n");
}

static void comparisons_html(textbuf *b, const report_doc *d)
{
    if (!d->ncmp)
        return;
    tb_puts(b, "<h2>A/B summary</h2>\n");
    for (int i = 0; i < d->ncmp; i++) {
        const report_comparison *c = &d->cmp[i];
        if (d->cmp_err[i][0]) {
            tb_puts(b, "<p class=warn>");
            tb_html(b, d->cmp_err[i]);
            tb_puts(b, "</p>\n");
            continue;
        }
        tb_printf(b, "<p class='verdict %s'>", !strcmp(c->verdict, "faster") ? "good" : !strcmp(c->verdict, "slower") ? "bad" : "neutral");
        tb_html(b, c->sentence);
        tb_puts(b, "</p><ul>");
        if (c->fieller_ok)
            tb_printf(b, "<li>ratio of means %.4f, 95%% CI %.4f to %.4f (Fieller); bootstrap %.4f to %.4f</li>",
                      c->fieller.ratio, c->fieller.lo, c->fieller.hi, c->boot.lo, c->boot.hi);
        tb_printf(b, "<li>Welch p = %.3g; Mann-Whitney U = %.1f, p = %.3g (%s); Hodges-Lehmann shift %.4g; "
                     "Cliff's delta %.3f</li>",
                  c->welch.p, c->mwu.u, c->mwu.p, c->mwu.exact ? "exact" : "normal approximation", c->hodges_lehmann,
                  c->cliffs_delta);
        if (c->adjusted_ok)
            tb_printf(b, "<li>temperature-adjusted effect %+.2f%% (95%% CI %+.2f%% to %+.2f%%) next to the plain "
                         "%+.2f%%</li>",
                      c->adjusted.pct, c->adjusted.pct_lo, c->adjusted.pct_hi, c->effect_pct);
        else
            tb_puts(b, "<li>temperature-adjusted effect: n/a (no start temperature for every run)</li>");
        tb_printf(b, "<li>smallest change this experiment could detect: %.2f%%; runs per variant for 3%%: %d</li></ul>\n",
                  c->min_detectable_pct, c->runs_needed_3pct);
    }
}

static void sensitivity_html(textbuf *b, const report_doc *d)
{
    tb_printf(b, "<h2>Thermal sensitivity</h2><p>Least squares of %s on the temperature at run start.</p>"
                 "<table><tr><th>variant</th><th>%% per &deg;C</th><th>95%% CI</th><th>R&sup2;</th></tr>\n",
              d->r.metric_name);
    for (int v = 0; v < d->nv; v++) {
        tb_puts(b, "<tr><td>");
        tb_html(b, d->r.variants[v]);
        if (d->sens_ok[v])
            tb_printf(b, "</td><td>%+.3f</td><td>%+.3f to %+.3f</td><td>%.2f</td></tr>\n", d->sens[v].pct_per_c,
                      d->sens[v].pct_per_c_lo, d->sens[v].pct_per_c_hi, d->sens[v].r2);
        else
            tb_puts(b, "</td><td class=na colspan=3>n/a: no temperature recorded for every run</td></tr>\n");
    }
    tb_puts(b, "</table>\n");
}

static void warnings_html(textbuf *b, const report_doc *d)
{
    tb_puts(b, "<h2>Preflight warnings and missing telemetry</h2><ul>");
    if (!d->r.npreflight)
        tb_puts(b, "<li>preflight: no warnings</li>");
    for (int i = 0; i < d->r.npreflight; i++) {
        tb_puts(b, "<li class=warn>");
        tb_html(b, d->r.preflight[i]);
        tb_puts(b, "</li>");
    }
    if (d->probes_missing[0]) {
        tb_puts(b, "<li>probes not available: ");
        tb_html(b, d->probes_missing);
        tb_puts(b, "</li>");
    }
    if (strcmp(d->r.status, "complete")) {
        tb_puts(b, "<li class=warn>experiment status: ");
        tb_html(b, d->r.status[0] ? d->r.status : "unknown");
        tb_puts(b, " (not complete)</li>");
    }
    tb_puts(b, "</ul>\n");
}

static void plots_html(textbuf *b, const report_doc *d)
{
    static const char *title[4] = {"Throughput per run", "Throughput against temperature", "Distributions",
                                   "Telemetry timeline"};
    tb_puts(b, "<h2>Plots</h2>\n");
    if (d->plot_note[0]) {
        tb_puts(b, "<p class=warn>");
        tb_html(b, d->plot_note);
        tb_puts(b, "</p>\n");
    }
    for (int i = 0; i < 4; i++) {
        tb_printf(b, "<h3>%s</h3>\n", title[i]);
        if (d->svg[i])
            tb_printf(b, "<div class=plot>%s</div>\n", d->svg[i]);
        else
            tb_puts(b, i == 1 ? "<p class=na>No plot: no temperature recorded for these runs.</p>\n"
                              : "<p class=na>No plot (see the note above).</p>\n");
    }
}

int report_doc_write_html(const report_doc *d, const char *path, report_error *err)
{
    textbuf b = {0};
    tb_puts(&b, "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8><title>thermabench report: ");
    tb_html(&b, d->r.name);
    tb_puts(&b, "</title>\n<style>body{font-family:sans-serif;max-width:1000px;margin:1em auto;color:#222}"
                "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px;"
                "text-align:right}th{background:#f2f2f2}td:first-child{text-align:left}.na{color:#888}"
                ".warn{color:#a15c00}.verdict{font-weight:bold;padding:6px;border-left:5px solid #888}"
                ".good{border-color:#2ca02c}.bad{border-color:#d62728}.sw{display:inline-block;width:10px;"
                "height:10px;margin-right:5px}.plot svg{max-width:100%;height:auto}</style></head><body>\n");
    tb_puts(&b, "<h1>thermabench report: ");
    tb_html(&b, d->r.name);
    tb_puts(&b, "</h1><p>Results: <code>");
    tb_html(&b, d->r.path);
    tb_printf(&b, "</code> (status %s). Per-run data: <a href='runs.csv'>runs.csv</a>.</p>\n<p>", d->r.status);
    tb_html(&b, report_regenerate_note);
    tb_puts(&b, "</p>\n");
    variants_html(&b, d);
    comparisons_html(&b, d);
    plots_html(&b, d);
    sensitivity_html(&b, d);
    report_gpu_html(&b, d);
    warnings_html(&b, d);
    tb_puts(&b, "<h2>Environment</h2><ul><li>CPU: ");
    tb_html(&b, d->r.cpu_model[0] ? d->r.cpu_model : "n/a");
    tb_printf(&b, " (%d online)</li><li>kernel: ", d->r.cpus_online);
    tb_html(&b, d->r.kernel);
    tb_puts(&b, "</li><li>compiler: ");
    tb_html(&b, d->r.compiler);
    tb_puts(&b, "</li><li>commit: ");
    tb_html(&b, d->r.git_commit);
    tb_puts(&b, "</li>");
    for (int v = 0; v < d->nv; v++) {
        tb_puts(&b, "<li>");
        tb_html(&b, d->r.variants[v]);
        tb_puts(&b, ": ");
        tb_html(&b, d->r.variant_config[v]);
        tb_puts(&b, "</li>");
    }
    tb_puts(&b, "</ul></body></html>\n");
    if (b.oom) {
        tb_free(&b);
        snprintf(err->msg, sizeof err->msg, "out of memory writing %.400s", path);
        return -1;
    }
    int rc = report_write_atomic(path, b.s, b.len, err);
    tb_free(&b);
    return rc;
}
