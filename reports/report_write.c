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
    report_fprintf(f, REPORT_ESC_MARKDOWN, "## Thermal sensitivity\n\nLeast squares of %s on the temperature at run start.\n\n"
               "| variant | %% per C | 95%% CI | R^2 | n |\n|---|---|---|---|---|\n",
            d->r.metric_name);
    for (int v = 0; v < d->nv; v++) {
        if (d->sens_ok[v])
            report_fprintf(f, REPORT_ESC_MARKDOWN, "| %s | %+.3f | %+.3f to %+.3f | %.2f | %zu |\n", d->r.variants[v], d->sens[v].pct_per_c,
                    d->sens[v].pct_per_c_lo, d->sens[v].pct_per_c_hi, d->sens[v].r2, d->sens[v].n);
        else
            report_fprintf(f, REPORT_ESC_MARKDOWN, "| %s | n/a | no temperature recorded for every run | | %zu |\n", d->r.variants[v],
                    d->vs[v].s.n);
    }
    fputc('\n', f);
}

static void warnings_md(FILE *f, const report_doc *d)
{
    report_fprintf(f, REPORT_ESC_MARKDOWN, "## Preflight warnings and missing telemetry\n\n");
    if (!d->r.npreflight)
        report_fprintf(f, REPORT_ESC_MARKDOWN, "- preflight: no warnings\n");
    for (int i = 0; i < d->r.npreflight; i++)
        report_fprintf(f, REPORT_ESC_MARKDOWN, "- %s\n", d->r.preflight[i]);
    if (d->probes_missing[0])
        report_fprintf(f, REPORT_ESC_MARKDOWN, "- probes not available: %s\n", d->probes_missing);
    if (strcmp(d->r.status, "complete"))
        report_fprintf(f, REPORT_ESC_MARKDOWN, "- experiment status: **%s** (not complete)\n", d->r.status[0] ? d->r.status : "unknown");
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
    report_fprintf(f, REPORT_ESC_MARKDOWN, "# thermabench report: %s\n\nResults: %s (status %s). Plots: report.html "
                   "(and plot-\\*.svg). Per-run data: runs.csv.\n\n", d->r.name, d->r.path, d->r.status);
    fprintf(f, "%s\n\n", report_regenerate_note);
    report_fprintf(f, REPORT_ESC_MARKDOWN, "## Variants\n\n");
    report_print_variants(f, d->vs, d->nv, d->r.metric_name, d->r.metric_unit, true);
    if (d->ncmp)
        report_fprintf(f, REPORT_ESC_MARKDOWN, "## A/B summary\n\n");
    for (int i = 0; i < d->ncmp; i++) {
        if (d->cmp_err[i][0])
            report_fprintf(f, REPORT_ESC_MARKDOWN, "%s vs %s: %s\n\n", d->r.variants[i + 1], d->r.variants[0], d->cmp_err[i]);
        else
            report_print_comparison(f, &d->cmp[i], true);
    }
    sensitivity_md(f, d);
    report_gpu_md(f, d);
    warnings_md(f, d);
    char build[512];
    report_results_build(&d->r, build, sizeof build);
    report_fprintf(f, REPORT_ESC_MARKDOWN, "## Environment\n\n- CPU: %s (%d online)\n- kernel: %s\n- build: %s\n",
            d->r.cpu_model[0] ? d->r.cpu_model : "n/a", d->r.cpus_online, d->r.kernel[0] ? d->r.kernel : "n/a", build);
    for (int v = 0; v < d->nv; v++)
        report_fprintf(f, REPORT_ESC_MARKDOWN, "- %s: %s\n", d->r.variants[v], d->r.variant_config[v]);
    if (d->plot_note[0])
        report_fprintf(f, REPORT_ESC_MARKDOWN, "\nPlots: %s\n", d->plot_note);
    fclose(f);
    int rc = report_write_atomic(path, buf, len, err);
    free(buf);
    return rc;
}

/* HTML: the Markdown sections rendered as simple tables and lists. */
static void html_cell(FILE *b, const char *fmt, double v)
{
    if (isfinite(v))
        report_fprintf(b, REPORT_ESC_HTML, fmt, v);
    else
        fputs("<td class=na>n/a</td>", b);
}

static void variants_html(FILE *b, const report_doc *d)
{
    report_fprintf(b, REPORT_ESC_HTML, "<h2>Variants</h2><p>%s (", d->r.metric_name);
    report_put_escaped(b, REPORT_ESC_HTML, d->r.metric_unit);
    fputs(d->r.higher_is_better ? ", higher is better" : ", lower is better", b);
    fputs(")</p><table><tr><th>variant</th><th>n</th><th>median [95% CI]</th><th>mean [95% CI]</th><th>CV</th>"
               "<th>outliers mild/severe</th><th>T start</th><th>T peak</th><th>power</th><th>energy/token</th>"
               "<th>throttled</th><th>failed</th><th>trend p (Mann-Kendall)</th></tr>\n", b);
    for (int v = 0; v < d->nv; v++) {
        const report_variant_stats *s = &d->vs[v];
        report_fprintf(b, REPORT_ESC_HTML, "<tr><td><span class=sw style='background:%s'></span>", plot_color(v));
        report_put_escaped(b, REPORT_ESC_HTML, s->name);
        report_fprintf(b, REPORT_ESC_HTML, "</td><td>%zu</td>", s->s.n);
        if (s->s.n >= 2)
            report_fprintf(b, REPORT_ESC_HTML, "<td>%.4g [%.4g, %.4g]</td><td>%.4g [%.4g, %.4g]</td>", s->s.median, s->s.median_ci_lo,
                      s->s.median_ci_hi, s->s.mean, s->s.mean_ci_lo, s->s.mean_ci_hi);
        else
            fputs("<td class=na>n/a</td><td class=na>n/a</td>", b);
        html_cell(b, "<td>%.2f%%</td>", 100 * s->s.cv);
        report_fprintf(b, REPORT_ESC_HTML, "<td>%zu/%zu</td>", s->s.outliers_mild, s->s.outliers_severe);
        html_cell(b, "<td>%.1f C</td>", s->temp_start_c);
        html_cell(b, "<td>%.1f C</td>", s->temp_peak_c);
        html_cell(b, "<td>%.1f W</td>", s->power_mean_w);
        html_cell(b, "<td>%.3g J</td>", s->energy_per_token_j);
        if (s->unknown_throttle_runs == (int)s->s.n && s->s.n)
            fputs("<td class=na>unknown</td>", b);
        else
            report_fprintf(b, REPORT_ESC_HTML, "<td>%d/%zu</td>", s->throttled_runs, s->s.n);
        report_fprintf(b, REPORT_ESC_HTML, "<td>%d</td>", s->failed_runs);
        html_cell(b, "<td>%.3g</td>", s->trend.p);
        fputs("</tr>\n", b);
    }
    fputs("</table>\n", b);
}

static void comparisons_html(FILE *b, const report_doc *d)
{
    if (!d->ncmp)
        return;
    fputs("<h2>A/B summary</h2>\n", b);
    for (int i = 0; i < d->ncmp; i++) {
        const report_comparison *c = &d->cmp[i];
        if (d->cmp_err[i][0]) {
            fputs("<p class=warn>", b);
            report_put_escaped(b, REPORT_ESC_HTML, d->cmp_err[i]);
            fputs("</p>\n", b);
            continue;
        }
        report_fprintf(b, REPORT_ESC_HTML, "<p class='verdict %s'>", !strcmp(c->verdict, "faster") ? "good" : !strcmp(c->verdict, "slower") ? "bad" : "neutral");
        report_put_escaped(b, REPORT_ESC_HTML, c->sentence);
        fputs("</p><ul>", b);
        if (c->fieller_ok)
            report_fprintf(b, REPORT_ESC_HTML, "<li>ratio of means %.4f, 95%% CI %.4f to %.4f (Fieller); bootstrap %.4f to %.4f</li>",
                      c->fieller.ratio, c->fieller.lo, c->fieller.hi, c->boot.lo, c->boot.hi);
        report_fprintf(b, REPORT_ESC_HTML, "<li>Welch p = %.3g; Mann-Whitney U = %.1f, p = %.3g (%s); Hodges-Lehmann shift %.4g; "
                     "Cliff's delta %.3f</li>",
                  c->welch.p, c->mwu.u, c->mwu.p, c->mwu.exact ? "exact" : "normal approximation", c->hodges_lehmann,
                  c->cliffs_delta);
        if (c->adjusted_ok)
            report_fprintf(b, REPORT_ESC_HTML, "<li>temperature-adjusted effect %+.2f%% (95%% CI %+.2f%% to %+.2f%%) next to the plain "
                         "%+.2f%%</li>",
                      c->adjusted.pct, c->adjusted.pct_lo, c->adjusted.pct_hi, c->effect_pct);
        else
            fputs("<li>temperature-adjusted effect: n/a (no start temperature for every run)</li>", b);
        report_fprintf(b, REPORT_ESC_HTML, "<li>smallest change this experiment could detect: %.2f%%; runs per variant for 3%%: %d</li></ul>\n",
                  c->min_detectable_pct, c->runs_needed_3pct);
    }
}

static void sensitivity_html(FILE *b, const report_doc *d)
{
    report_fprintf(b, REPORT_ESC_HTML, "<h2>Thermal sensitivity</h2><p>Least squares of %s on the temperature at run start.</p>"
                 "<table><tr><th>variant</th><th>%% per &deg;C</th><th>95%% CI</th><th>R&sup2;</th></tr>\n",
              d->r.metric_name);
    for (int v = 0; v < d->nv; v++) {
        fputs("<tr><td>", b);
        report_put_escaped(b, REPORT_ESC_HTML, d->r.variants[v]);
        if (d->sens_ok[v])
            report_fprintf(b, REPORT_ESC_HTML, "</td><td>%+.3f</td><td>%+.3f to %+.3f</td><td>%.2f</td></tr>\n", d->sens[v].pct_per_c,
                      d->sens[v].pct_per_c_lo, d->sens[v].pct_per_c_hi, d->sens[v].r2);
        else
            fputs("</td><td class=na colspan=3>n/a: no temperature recorded for every run</td></tr>\n", b);
    }
    fputs("</table>\n", b);
}

static void warnings_html(FILE *b, const report_doc *d)
{
    fputs("<h2>Preflight warnings and missing telemetry</h2><ul>", b);
    if (!d->r.npreflight)
        fputs("<li>preflight: no warnings</li>", b);
    for (int i = 0; i < d->r.npreflight; i++) {
        fputs("<li class=warn>", b);
        report_put_escaped(b, REPORT_ESC_HTML, d->r.preflight[i]);
        fputs("</li>", b);
    }
    if (d->probes_missing[0]) {
        fputs("<li>probes not available: ", b);
        report_put_escaped(b, REPORT_ESC_HTML, d->probes_missing);
        fputs("</li>", b);
    }
    if (strcmp(d->r.status, "complete")) {
        fputs("<li class=warn>experiment status: ", b);
        report_put_escaped(b, REPORT_ESC_HTML, d->r.status[0] ? d->r.status : "unknown");
        fputs(" (not complete)</li>", b);
    }
    fputs("</ul>\n", b);
}

static void plots_html(FILE *b, const report_doc *d)
{
    static const char *title[4] = {"Throughput per run", "Throughput against temperature", "Distributions",
                                   "Telemetry timeline"};
    fputs("<h2>Plots</h2>\n", b);
    if (d->plot_note[0]) {
        fputs("<p class=warn>", b);
        report_put_escaped(b, REPORT_ESC_HTML, d->plot_note);
        fputs("</p>\n", b);
    }
    for (int i = 0; i < 4; i++) {
        report_fprintf(b, REPORT_ESC_HTML, "<h3>%s</h3>\n", title[i]);
        if (d->svg[i])
            fprintf(b, "<div class=plot>%s</div>\n", d->svg[i]);     /* gnuplot's SVG, its text escaped by gnuplot */
        else
            fputs(i == 1 ? "<p class=na>No plot: no temperature recorded for these runs.</p>\n"
                              : "<p class=na>No plot (see the note above).</p>\n", b);
    }
}

int report_doc_write_html(const report_doc *d, const char *path, report_error *err)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *b = open_memstream(&buf, &len);
    if (!b) {
        snprintf(err->msg, sizeof err->msg, "out of memory writing %.400s", path);
        return -1;
    }
    fputs("<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8><title>thermabench report: ", b);
    report_put_escaped(b, REPORT_ESC_HTML, d->r.name);
    fputs("</title>\n<style>body{font-family:sans-serif;max-width:1000px;margin:1em auto;color:#222}"
                "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px;"
                "text-align:right}th{background:#f2f2f2}td:first-child{text-align:left}.na{color:#888}"
                ".warn{color:#a15c00}.verdict{font-weight:bold;padding:6px;border-left:5px solid #888}"
                ".good{border-color:#2ca02c}.bad{border-color:#d62728}.sw{display:inline-block;width:10px;"
                "height:10px;margin-right:5px}.plot svg{max-width:100%;height:auto}</style></head><body>\n", b);
    fputs("<h1>thermabench report: ", b);
    report_put_escaped(b, REPORT_ESC_HTML, d->r.name);
    fputs("</h1><p>Results: <code>", b);
    report_put_escaped(b, REPORT_ESC_HTML, d->r.path);
    report_fprintf(b, REPORT_ESC_HTML, "</code> (status %s). Per-run data: <a href='runs.csv'>runs.csv</a>.</p>\n<p>", d->r.status);
    report_put_escaped(b, REPORT_ESC_HTML, report_regenerate_note);
    fputs("</p>\n", b);
    variants_html(b, d);
    comparisons_html(b, d);
    plots_html(b, d);
    sensitivity_html(b, d);
    report_gpu_html(b, d);
    warnings_html(b, d);
    fputs("<h2>Environment</h2><ul><li>CPU: ", b);
    report_put_escaped(b, REPORT_ESC_HTML, d->r.cpu_model[0] ? d->r.cpu_model : "n/a");
    report_fprintf(b, REPORT_ESC_HTML, " (%d online)</li><li>kernel: ", d->r.cpus_online);
    report_put_escaped(b, REPORT_ESC_HTML, d->r.kernel);
    char build[512];
    report_results_build(&d->r, build, sizeof build);
    fputs("</li><li>build: ", b);
    report_put_escaped(b, REPORT_ESC_HTML, build);
    fputs("</li>", b);
    for (int v = 0; v < d->nv; v++) {
        fputs("<li>", b);
        report_put_escaped(b, REPORT_ESC_HTML, d->r.variants[v]);
        fputs(": ", b);
        report_put_escaped(b, REPORT_ESC_HTML, d->r.variant_config[v]);
        fputs("</li>", b);
    }
    fputs("</ul></body></html>\n", b);
    if (fclose(b) != 0 || !buf) {
        free(buf);
        snprintf(err->msg, sizeof err->msg, "out of memory writing %.400s", path);
        return -1;
    }
    int rc = report_write_atomic(path, buf, len, err);
    free(buf);
    return rc;
}
