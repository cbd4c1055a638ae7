/* history trend: one HTML page, per series a gnuplot plot of the per-
 * experiment medians with their intervals over time, change points marked,
 * and a table whose rows link to each experiment's report. Every name from
 * the store is escaped for HTML, and made safe for gnuplot's quotes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <errno.h>
#include <time.h>

#include "history_internal.h"
#include "report_doc.h"

/* file: URL of the report next to a results.json, percent-encoded, then
 * escaped for an HTML attribute. */
static void report_link(textbuf *b, const char *results_path)
{
    char dir[600];
    snprintf(dir, sizeof dir, "%s", results_path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    tb_puts(b, "file://");
    for (const char *p = dir; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("/-_.~", c))
            tb_printf(b, "%c", c);
        else
            tb_printf(b, "%%%02X", c);
    }
    tb_puts(b, "/report.html");
}

static void utc_date(long long t, char *out, size_t cap)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, cap, "%Y-%m-%d %H:%M", &tm);
}

static char *series_plot(plot_ctx *pc, const history_series *sr, const history_change *cp, int ncp, int k)
{
    char name[32];
    snprintf(name, sizeof name, "series%d", k);
    FILE *f = plot_data(pc, name);
    if (!f)
        return NULL;
    for (size_t i = 0; i < sr->n; i++) {
        fprintf(f, "%lld", sr->pts[i].created_unix);
        plot_num(f, sr->pts[i].median);
        plot_num(f, sr->pts[i].lo);
        plot_num(f, sr->pts[i].hi);
        fputc('\n', f);
    }
    fclose(f);
    char metric[64], unit[32], variant[REPORT_NAME_MAX];
    report_gp_safe(metric, sizeof metric, sr->metric);
    report_gp_safe(unit, sizeof unit, sr->unit);
    report_gp_safe(variant, sizeof variant, sr->variant);
    textbuf s = {0};
    tb_printf(&s, "set xdata time\nset timefmt '%%s'\nset format x '%%Y-%%m-%%d'\nset xtics rotate by -30\n"
                  "set ylabel '%s (%s)'\nset key off\n", metric, unit);
    for (int i = 0; i < ncp; i++) {
        size_t c = cp[i].index;
        double x = 0.5 * ((double)sr->pts[c - 1].created_unix + (double)sr->pts[c].created_unix);
        tb_printf(&s, "set arrow from %.0f, graph 0 to %.0f, graph 1 nohead lc rgb '#d62728' dt 2 lw 2\n", x, x);
    }
    tb_printf(&s, "plot '%s' using 1:2:3:4 with yerrorbars pt 7 ps 0.5 lc rgb '%s' title '%s', "
                  "'' using 1:2 with lines lc rgb '%s' notitle\n", name, plot_color(0), variant, plot_color(0));
    char *svg = s.oom ? NULL : plot_run(pc, name, s.s, 900, 320);
    tb_free(&s);
    return svg;
}

static void series_section(textbuf *b, plot_ctx *pc, const history_series *sr, const history_cp_options *o, int k)
{
    history_change cp[64];
    double *y = malloc((sr->n ? sr->n : 1) * sizeof *y);
    int ncp = 0;
    if (y) {
        for (size_t i = 0; i < sr->n; i++)
            y[i] = sr->pts[i].median;
        ncp = history_changepoints(y, sr->n, o, cp, 64);
        if (ncp < 0)
            ncp = 0;
        free(y);
    }
    tb_puts(b, "<h2>");
    tb_html(b, sr->config);
    tb_puts(b, " &middot; ");
    tb_html(b, sr->variant);
    tb_puts(b, " &middot; ");
    tb_html(b, sr->metric);
    tb_puts(b, " &middot; machine ");
    tb_html(b, sr->machine_id);
    tb_puts(b, " (");
    tb_html(b, sr->hostname);
    tb_printf(b, ")</h2>\n<p>%zu experiments; %s is better; %d change point%s.</p>\n", sr->n,
              sr->higher_is_better ? "higher" : "lower", ncp, ncp == 1 ? "" : "s");
    char *svg = pc->ok ? series_plot(pc, sr, cp, ncp, k) : NULL;
    if (svg) {
        tb_printf(b, "<div class=\"plot\">%s</div>\n", svg);
        free(svg);
    }
    if (ncp) {
        tb_puts(b, "<table><tr><th>change</th><th>between</th><th>size</th><th>95% CI</th><th>p</th></tr>\n");
        for (int i = 0; i < ncp; i++) {
            const history_point *a = &sr->pts[cp[i].index - 1], *c = &sr->pts[cp[i].index];
            tb_printf(b, "<tr><td>%d</td><td>", i + 1);
            tb_html(b, a->commit[0] ? a->commit : "?");
            tb_puts(b, " &rarr; ");
            tb_html(b, c->commit[0] ? c->commit : "?");
            tb_printf(b, "</td><td>%+.2f%%</td><td>%+.2f%% to %+.2f%%</td><td>%.3g</td></tr>\n",
                      100 * (cp[i].ratio - 1), 100 * (cp[i].lo - 1), 100 * (cp[i].hi - 1), cp[i].p);
        }
        tb_puts(b, "</table>\n");
    }
    tb_puts(b, "<details><summary>points</summary><table><tr><th>date (UTC)</th><th>commit</th><th>branch</th>"
               "<th>n</th><th>median</th><th>95% CI</th><th>report</th></tr>\n");
    for (size_t i = 0; i < sr->n; i++) {
        const history_point *p = &sr->pts[i];
        char date[32];
        utc_date(p->created_unix, date, sizeof date);
        tb_printf(b, "<tr><td>%s</td><td>", date);
        tb_html(b, p->commit);
        tb_puts(b, "</td><td>");
        tb_html(b, p->branch);
        tb_printf(b, "</td><td>%zu</td><td>%.4g</td><td>%.4g to %.4g</td><td><a href=\"", p->n, p->median, p->lo,
                  p->hi);
        textbuf link = {0};
        report_link(&link, p->results_path);
        tb_html(b, link.s ? link.s : "");
        tb_free(&link);
        tb_printf(b, "\">experiment %lld</a></td></tr>\n", p->experiment_id);
    }
    tb_puts(b, "</table></details>\n");
}

int history_write_trend(const history_series_set *set, const history_cp_options *o, const char *out_dir,
                        const char *title, report_error *err)
{
    if (mkdir(out_dir, 0755) < 0 && errno != EEXIST)
        return report_fail(err, "%s: cannot create: %s", out_dir, strerror(errno));
    plot_ctx pc;
    plot_begin(&pc);
    textbuf b = {0};
    tb_puts(&b, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>");
    tb_html(&b, title);
    tb_puts(&b, "</title>\n<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto}"
                "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;font-size:90%}"
                "h2{font-size:110%;margin-top:2em}</style></head><body>\n<h1>");
    tb_html(&b, title);
    tb_printf(&b, "</h1>\n<p>%zu series. Each point is one experiment: the median of its measured runs with a "
                  "distribution-free 95%% interval. Dashed lines are change points (docs/HISTORY.md).</p>\n", set->n);
    if (!pc.ok) {
        tb_puts(&b, "<p><em>");
        tb_html(&b, pc.why);
        tb_puts(&b, "</em></p>\n");
    }
    for (size_t i = 0; i < set->n; i++)
        series_section(&b, &pc, &set->s[i], o, (int)i);
    tb_puts(&b, "</body></html>\n");
    plot_end(&pc);
    if (b.oom) {
        tb_free(&b);
        return report_fail(err, "%s: out of memory", out_dir);
    }
    char path[1024];
    snprintf(path, sizeof path, "%s/index.html", out_dir);
    int rc = report_write_atomic(path, b.s, b.len, err);
    tb_free(&b);
    return rc;
}
