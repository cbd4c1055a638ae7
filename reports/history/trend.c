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
#include "report_plot.h"
#include "stats_internal.h"

/* file: URL of the report next to a results.json: percent-encoded, so
 * it is also safe inside a double-quoted attribute. */
static void report_link(FILE *f, const char *results_path)
{
    const char *end = strrchr(results_path, '/');
    size_t n = end ? (size_t)(end - results_path) : 0;
    fputs("file://", f);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)results_path[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("/-_.~", c))
            fputc(c, f);
        else
            fprintf(f, "%%%02X", c);
    }
    fputs("/report.html", f);
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
    char *script = NULL;
    size_t len = 0;
    FILE *s = open_memstream(&script, &len);
    if (!s)
        return NULL;
    fprintf(s, "set xdata time\nset timefmt '%%s'\nset format x '%%Y-%%m-%%d'\nset xtics rotate by -30\nset key off\n");
    report_fprintf(s, REPORT_ESC_GNUPLOT, "set ylabel '%s (%s)'\n", sr->metric, sr->unit);
    for (int i = 0; i < ncp; i++) {
        size_t c = cp[i].index;
        double x = 0.5 * ((double)sr->pts[c - 1].created_unix + (double)sr->pts[c].created_unix);
        fprintf(s, "set arrow from %.0f, graph 0 to %.0f, graph 1 nohead lc rgb '#d62728' dt 2 lw 2\n", x, x);
    }
    report_fprintf(s, REPORT_ESC_GNUPLOT, "plot '%s' using 1:2:3:4 with yerrorbars pt 7 ps 0.5 lc rgb '%s' "
                   "title '%s', '' using 1:2 with lines lc rgb '%s' notitle\n", name, plot_color(0), sr->variant,
                   plot_color(0));
    char *svg = fclose(s) == 0 ? plot_run(pc, name, script, 900, 320) : NULL;
    free(script);
    return svg;
}

static void change_table(FILE *b, const history_series *sr, const history_change *cp, int ncp)
{
    fputs("<table><tr><th>change</th><th>between commits</th><th>size</th><th>95% CI</th><th>p</th></tr>\n", b);
    for (int i = 0; i < ncp; i++) {
        const history_point *a = &sr->pts[cp[i].index - 1], *c = &sr->pts[cp[i].index];
        fprintf(b, "<tr><td>%d</td><td>", i + 1);
        report_put_escaped(b, REPORT_ESC_HTML, a->commit[0] ? a->commit : "?");
        fputs(" &rarr; ", b);
        report_put_escaped(b, REPORT_ESC_HTML, c->commit[0] ? c->commit : "?");
        fprintf(b, "</td><td>%+.2f%%</td><td>%+.2f%% to %+.2f%%</td><td>%.3g</td></tr>\n", 100 * (cp[i].ratio - 1),
                100 * (cp[i].lo - 1), 100 * (cp[i].hi - 1), cp[i].p);
    }
    fputs("</table>\n", b);
}

static void series_section(FILE *b, plot_ctx *pc, const history_series *sr, const history_cp_options *o, int k)
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
    const char *parts[] = {sr->config, " &middot; ", sr->variant, " &middot; ", sr->metric, " &middot; machine ",
                           sr->machine_id, " (", sr->hostname, ")"};
    fputs("<h2>", b);
    for (int i = 0; i < 10; i++)
        if (i % 2) fputs(parts[i], b);
        else report_put_escaped(b, REPORT_ESC_HTML, parts[i]);
    fprintf(b, "</h2>\n<p>%zu experiments; %s is better; %d change point%s.</p>\n", sr->n,
            sr->higher_is_better ? "higher" : "lower", ncp, ncp == 1 ? "" : "s");
    char *svg = pc->ok ? series_plot(pc, sr, cp, ncp, k) : NULL;
    if (svg)
        fprintf(b, "<div class=\"plot\">%s</div>\n", svg);
    free(svg);
    if (ncp)
        change_table(b, sr, cp, ncp);
    fputs("<details><summary>points</summary><table><tr><th>date (UTC)</th><th>commit</th><th>branch</th>"
          "<th>n</th><th>median</th><th>95% CI</th><th>report</th></tr>\n", b);
    for (size_t i = 0; i < sr->n; i++) {
        const history_point *p = &sr->pts[i];
        char date[32];
        utc_date(p->created_unix, date, sizeof date);
        fprintf(b, "<tr><td>%s</td><td>", date);
        report_put_escaped(b, REPORT_ESC_HTML, p->commit);
        fputs("</td><td>", b);
        report_put_escaped(b, REPORT_ESC_HTML, p->branch);
        fprintf(b, "</td><td>%zu</td><td>%.4g</td><td>%.4g to %.4g</td><td><a href=\"", p->n, p->median, p->lo, p->hi);
        report_link(b, p->results_path);
        fprintf(b, "\">experiment %lld</a></td></tr>\n", p->experiment_id);
    }
    fputs("</table></details>\n", b);
}

int history_write_trend(const history_series_set *set, const history_cp_options *o, const char *out_dir,
                        const char *title, report_error *err)
{
    if (mkdir(out_dir, 0755) < 0 && errno != EEXIST)
        return report_fail(err, "%s: cannot create: %s", out_dir, strerror(errno));
    char *page = NULL;
    size_t len = 0;
    FILE *b = open_memstream(&page, &len);
    if (!b)
        return report_fail(err, "%s: out of memory", out_dir);
    plot_ctx pc;
    plot_begin(&pc);
    fputs("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>", b);
    report_put_escaped(b, REPORT_ESC_HTML, title);
    fputs("</title>\n<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto}"
          "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;font-size:90%}"
          "h2{font-size:110%;margin-top:2em}</style></head><body>\n<h1>", b);
    report_put_escaped(b, REPORT_ESC_HTML, title);
    fprintf(b, "</h1>\n<p>%zu series. Each point is one experiment: the median of its measured runs with a "
               "distribution-free 95%% interval. Dashed lines are change points (docs/HISTORY.md).</p>\n", set->n);
    if (!pc.ok) {
        fputs("<p><em>", b);
        report_put_escaped(b, REPORT_ESC_HTML, pc.why);
        fputs("</em></p>\n", b);
    }
    for (size_t i = 0; i < set->n; i++)
        series_section(b, &pc, &set->s[i], o, (int)i);
    fputs("</body></html>\n", b);
    plot_end(&pc);
    if (fclose(b) != 0) {
        free(page);
        return report_fail(err, "%s: out of memory", out_dir);
    }
    char path[1024];
    snprintf(path, sizeof path, "%s/index.html", out_dir);
    int rc = report_write_atomic(path, page, len, err);
    free(page);
    return rc;
}
