/* report.md, report.html (self-contained: CSS and SVG inline, nothing
 * loaded from a network) and runs.csv for one results file. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "report_doc.h"
#include "stats_internal.h"

size_t report_doc_variant_xy(const report_results *r, const char *v, double *t, double *y)
{
    size_t n = 0;
    for (int i = 0; i < r->nruns; i++) {
        const report_run *u = &r->runs[i];
        if (!u->warmup && u->ok && !strcmp(u->variant, v)) {
            t[n] = u->temp_start_c;
            y[n++] = u->metric;
        }
    }
    return n;
}

static void probes_missing(report_doc *d)
{
    const cJSON *env = cJSON_GetObjectItemCaseSensitive((cJSON *)d->r.json, "environment"), *p;
    size_t len = 0, cap = sizeof d->probes_missing;
    cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(env, "probes"))
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(p, "name");
        const cJSON *why = cJSON_GetObjectItemCaseSensitive(p, "reason");
        if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(p, "available")) && cJSON_IsString(name) && len < cap)
            len += (size_t)snprintf(d->probes_missing + len, cap - len, "%s%s (%s)", len ? "; " : "",
                                    name->valuestring, cJSON_IsString(why) ? why->valuestring : "no reason given");
    }
}

static void analyse(report_doc *d)
{
    d->nv = d->r.nvariants < MAXV ? d->r.nvariants : MAXV;
    double *t = malloc(((size_t)d->r.nruns + 1) * sizeof *t), *y = malloc(((size_t)d->r.nruns + 1) * sizeof *y);
    for (int i = 0; i < d->nv; i++) {
        report_variant_summary(&d->r, d->r.variants[i], &d->vs[i]);
        if (t && y) {
            size_t n = report_doc_variant_xy(&d->r, d->r.variants[i], t, y);
            d->sens_ok[i] = report_thermal_sensitivity(y, t, n, &d->sens[i]) == 0;
        }
    }
    free(t);
    free(y);
    for (int i = 1; i < d->nv; i++) {
        report_error err;
        if (report_compare(&d->r, d->r.variants[0], &d->r, d->r.variants[i], &d->cmp[d->ncmp], &err) < 0)
            snprintf(d->cmp_err[d->ncmp], sizeof d->cmp_err[0], "%.250s", err.msg);
        d->ncmp++;
    }
    probes_missing(d);
    report_doc_gpu(d);
}

/* ---- plots ---- */

static void plot_runs(report_doc *d, plot_ctx *p)
{
    char *script = NULL;
    size_t script_len = 0;
    FILE *s = open_memstream(&script, &script_len);
    if (!s)
        return;
    bool temp = false;
    FILE *ft = plot_data(p, "temp.dat");
    for (int i = 0; i < d->r.nruns && ft; i++) {
        const report_run *u = &d->r.runs[i];
        if (u->warmup)
            continue;
        fprintf(ft, "%d", u->index);
        plot_num(ft, u->temp_start_c);
        fputc('\n', ft);
        temp |= isfinite(u->temp_start_c);
    }
    if (ft)
        fclose(ft);
    report_fprintf(s, REPORT_ESC_GNUPLOT, "set title 'Throughput per run, in run order'\nset xlabel 'run index'\nset ylabel '%s (%s)'\n",
              d->r.metric_name, d->r.metric_unit);
    if (temp)
        fputs("set y2label 'temperature at run start (C)'\nset y2tics\nset ytics nomirror\n", s);
    else
        fputs("set label 1 'no temperature recorded' at graph 0.02, graph 0.95\n", s);
    fputs("plot ", s);
    for (int v = 0; v < d->nv; v++) {
        char name[32];
        snprintf(name, sizeof name, "runs%d.dat", v);
        FILE *f = plot_data(p, name);
        for (int i = 0; i < d->r.nruns && f; i++) {
            const report_run *u = &d->r.runs[i];
            if (!u->warmup && u->ok && !strcmp(u->variant, d->r.variants[v]))
                fprintf(f, "%d %.10g\n", u->index, u->metric);
        }
        if (f)
            fclose(f);
        report_fprintf(s, REPORT_ESC_GNUPLOT, "%s'%s' using 1:2 with points pt 7 ps 0.8 lc rgb '%s' title '%s'", v ? ", " : "", name,
                  plot_color(v), d->r.variants[v]);
    }
    if (temp)
        fputs(", 'temp.dat' using 1:2 axes x1y2 with lines lw 1.5 dt 2 lc rgb '#555555' title 'temperature'", s);
    fputs("\n", s);
    d->svg[0] = fclose(s) == 0 && script ? plot_run(p, "runs", script, 960, 380) : NULL;
    free(script);
}

static void plot_vs_temp(report_doc *d, plot_ctx *p)
{
    char *script = NULL;
    size_t script_len = 0;
    FILE *s = open_memstream(&script, &script_len);
    if (!s)
        return;
    report_fprintf(s, REPORT_ESC_GNUPLOT, "set title 'Throughput against temperature, with each variant''s least-squares line'\n"
                  "set xlabel 'temperature at run start (C)'\nset ylabel '%s (%s)'\nplot ",
              d->r.metric_name, d->r.metric_unit);
    int plotted = 0;
    double *t = malloc(((size_t)d->r.nruns + 1) * sizeof *t), *y = malloc(((size_t)d->r.nruns + 1) * sizeof *y);
    for (int v = 0; v < d->nv && t && y; v++) {
        size_t n = report_doc_variant_xy(&d->r, d->r.variants[v], t, y);
        char name[32], line[32];
        snprintf(name, sizeof name, "vt%d.dat", v);
        snprintf(line, sizeof line, "fit%d.dat", v);
        FILE *f = plot_data(p, name);
        size_t k = 0;
        double lo = INFINITY, hi = -INFINITY;
        for (size_t i = 0; i < n && f; i++)
            if (isfinite(t[i])) {
                fprintf(f, "%.10g %.10g\n", t[i], y[i]);
                lo = fmin(lo, t[i]);
                hi = fmax(hi, t[i]);
                k++;
            }
        if (f)
            fclose(f);
        if (!k)
            continue;
        report_fprintf(s, REPORT_ESC_GNUPLOT, "%s'%s' using 1:2 with points pt 7 ps 0.8 lc rgb '%s' title '%s'", plotted ? ", " : "", name,
                  plot_color(v), d->r.variants[v]);
        plotted++;
        if (d->sens_ok[v] && (f = plot_data(p, line))) {
            double m = d->vs[v].s.mean, slope = d->sens[v].pct_per_c / 100 * m;
            /* The line passes through (mean temperature, mean metric). */
            double tm = report_mean(t, n);
            fprintf(f, "%.10g %.10g\n%.10g %.10g\n", lo, m + slope * (lo - tm), hi, m + slope * (hi - tm));
            fclose(f);
            report_fprintf(s, REPORT_ESC_GNUPLOT, ", '%s' using 1:2 with lines lw 2 lc rgb '%s' title '%s: %+.2f%%/C, R^2 %.2f'", line,
                      plot_color(v), d->r.variants[v], d->sens[v].pct_per_c, d->sens[v].r2);
        }
    }
    free(t);
    free(y);
    fputs("\n", s);
    d->svg[1] = fclose(s) == 0 && plotted && script ? plot_run(p, "vstemp", script, 960, 380) : NULL;
    free(script);
}

static void plot_distribution(report_doc *d, plot_ctx *p)
{
    char *script = NULL;
    size_t script_len = 0;
    FILE *s = open_memstream(&script, &script_len);
    if (!s)
        return;
    report_fprintf(s, REPORT_ESC_GNUPLOT, "set title 'Distribution per variant (box: quartiles, whiskers 1.5 IQR; every run shown)'\n"
                  "set ylabel '%s (%s)'\nset style boxplot nooutliers\nset style data boxplot\nset boxwidth 0.4\n"
                  "set key off\nset xrange [0.3:%d.7]\nset xtics (",
              d->r.metric_name, d->r.metric_unit, d->nv);
    for (int v = 0; v < d->nv; v++)
        report_fprintf(s, REPORT_ESC_GNUPLOT, "%s'%s' %d", v ? ", " : "", d->r.variants[v], v + 1);
    fputs(")\nplot ", s);
    uint64_t seed = 7;
    for (int v = 0; v < d->nv; v++) {
        char name[32];
        snprintf(name, sizeof name, "dist%d.dat", v);
        FILE *f = plot_data(p, name);
        for (int i = 0; i < d->r.nruns && f; i++) {
            const report_run *u = &d->r.runs[i];
            if (!u->warmup && u->ok && !strcmp(u->variant, d->r.variants[v]))
                fprintf(f, "%.10g %.4f\n", u->metric, v + 1 + 0.3 * (report_rng_uniform(&seed) - 0.5));
        }
        if (f)
            fclose(f);
        report_fprintf(s, REPORT_ESC_GNUPLOT, "%s'%s' using (%d):1 with boxplot lc rgb '%s' fs transparent solid 0.15, '%s' using 2:1 with "
                      "points pt 7 ps 0.7 lc rgb '%s'",
                  v ? ", " : "", name, v + 1, plot_color(v), name, plot_color(v));
    }
    fputs("\n", s);
    d->svg[2] = fclose(s) == 0 && script ? plot_run(p, "dist", script, 960, 380) : NULL;
    free(script);
}

static int gen_plots(report_doc *d)
{
    plot_ctx p;
    if (plot_begin(&p) < 0) {
        snprintf(d->plot_note, sizeof d->plot_note, "%s", p.why);
        plot_end(&p);
        return 0;
    }
    plot_runs(d, &p);
    plot_vs_temp(d, &p);
    plot_distribution(d, &p);
    report_doc_timeline(d, &p);
    if (p.why[0])
        snprintf(d->plot_note, sizeof d->plot_note, "%s", p.why);
    plot_end(&p);
    return 0;
}

int report_generate(const char *results_json_path, const char *out_dir, report_error *err)
{
    report_doc *d = calloc(1, sizeof *d);
    if (!d) {
        snprintf(err->msg, sizeof err->msg, "out of memory");
        return -1;
    }
    int rc = -1;
    if (report_results_load(results_json_path, &d->r, err) < 0)
        goto out;
    if (mkdir(out_dir, 0755) < 0 && errno != EEXIST) {
        snprintf(err->msg, sizeof err->msg, "%.400s: cannot create: %s", out_dir, strerror(errno));
        goto out;
    }
    char dir[600];
    snprintf(dir, sizeof dir, "%s", results_json_path);
    snprintf(d->telemetry_csv, sizeof d->telemetry_csv, "%.580s/telemetry.csv", dirname(dir));
    analyse(d);
    gen_plots(d);
    char path[1024];
    snprintf(path, sizeof path, "%.1000s/runs.csv", out_dir);
    if (report_write_csv(&d->r, path, err) < 0)
        goto out;
    snprintf(path, sizeof path, "%.1000s/report.md", out_dir);
    if (report_doc_write_md(d, path, err) < 0)
        goto out;
    snprintf(path, sizeof path, "%.1000s/report.html", out_dir);
    if (report_doc_write_html(d, path, err) < 0)
        goto out;
    /* each plot also as a file of its own, for documents that link a picture */
    static const char *svg_name[4] = {"plot-runs.svg", "plot-temperature.svg", "plot-distribution.svg",
                                      "plot-timeline.svg"};
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%.1000s/%s", out_dir, svg_name[i]);
        if (d->svg[i] && report_write_atomic(path, d->svg[i], strlen(d->svg[i]), err) < 0)
            goto out;
    }
    rc = 0;
out:
    for (int i = 0; i < 4; i++)
        free(d->svg[i]);
    report_results_free(&d->r);
    free(d);
    return rc;
}
