/* Exports that other tools read (docs/EXPORTS.md): hyperfine's JSON, CSV
 * and Markdown, Bencher Metric Format, github-action-benchmark's JSON,
 * Google Benchmark's JSON and OpenMetrics text, each from a results file's
 * measured runs (warm-ups and failed runs left out). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "reports.h"
#include "stats_internal.h"


/* Prints a JSON document and frees it: 0, or -1 when it could not be printed. */
static int print_json(FILE *f, cJSON *root)
{
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text) return -1;
    fprintf(f, "%s\n", text);
    free(text);
    return 0;
}
static const char *const format_names[REPORT_EXPORT_COUNT] = {
    "hyperfine-json", "bmf", "github-action-benchmark", "google-benchmark", "openmetrics", "csv", "markdown"};

const char *report_export_format_name(report_export_format f)
{
    return f >= 0 && f < REPORT_EXPORT_COUNT ? format_names[f] : "?";
}

int report_export_format_parse(const char *name, report_export_format *out)
{
    for (int i = 0; i < REPORT_EXPORT_COUNT; i++)
        if (!strcmp(name, format_names[i])) {
            *out = (report_export_format)i;
            return 0;
        }
    return -1;
}

/* ---- the runs of a variant ------------------------------------------ */

static const cJSON *get(const cJSON *o, const char *k) { return cJSON_GetObjectItemCaseSensitive(o, k); }

static bool measured_run(const cJSON *run, const char *variant)
{
    const cJSON *v = get(run, "variant"), *st = get(run, "status");
    return cJSON_IsString(v) && !strcmp(v->valuestring, variant) && !cJSON_IsTrue(get(run, "warmup")) &&
           cJSON_IsString(st) && !strcmp(st->valuestring, "ok");
}

/* A metric of a run: metrics.NAME; "wall_ms" falls back to the run's own
 * wall_ms (engine runs record it there only). NAN when absent. */
static double run_metric(const cJSON *run, const char *metric)
{
    const cJSON *v = get(get(run, "metrics"), metric);
    if (!v && !strcmp(metric, "wall_ms")) v = get(run, "wall_ms");
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

size_t report_metric_values(const report_results *r, const char *variant, const char *metric, double *out, size_t max)
{
    size_t n = 0;
    const cJSON *run;
    cJSON_ArrayForEach(run, get((const cJSON *)r->json, "runs"))
        if (n < max && measured_run(run, variant)) {
            double x = run_metric(run, metric);
            if (isfinite(x)) out[n++] = x;
        }
    return n;
}

enum { M_WALL, M_USER, M_SYS, M_RSS, M_PRIMARY, M_COUNT };

typedef struct variant_data {
    const char *name;
    size_t n;                    /* measured runs */
    double *x[M_COUNT];          /* per run, NAN where unknown */
    bool known[M_COUNT];         /* every run has it */
    report_summary s[M_COUNT];
    int *exit_code;              /* -1: none (killed) */
    const cJSON *parameters;     /* variants[].parameters, or NULL */
} variant_data;

typedef struct export_data {
    const report_results *r;
    int nv;
    variant_data *v;
} export_data;

static void data_free(export_data *d)
{
    for (int i = 0; i < d->nv; i++) {
        for (int m = 0; m < M_COUNT; m++) free(d->v[i].x[m]);
        free(d->v[i].exit_code);
    }
    free(d->v);
}

static int data_load(const report_results *r, export_data *d, report_error *err)
{
    memset(d, 0, sizeof *d);
    d->r = r;
    d->v = calloc((size_t)(r->nvariants ? r->nvariants : 1), sizeof *d->v);
    if (!d->v) return report_fail(err, "out of memory");
    const cJSON *runs = get((const cJSON *)r->json, "runs");
    size_t cap = (size_t)cJSON_GetArraySize(runs) + 1;
    const char *names[M_COUNT] = {"wall_ms", "user_ms", "sys_ms", "max_rss_bytes", r->metric_name};
    for (int i = 0; i < r->nvariants; i++) {
        variant_data *v = &d->v[d->nv++];
        v->name = r->variants[i];
        for (int m = 0; m < M_COUNT; m++) v->x[m] = malloc(cap * sizeof(double));
        v->exit_code = malloc(cap * sizeof(int));
        for (int m = 0; m < M_COUNT; m++)
            if (!v->x[m]) return report_fail(err, "out of memory");
        if (!v->exit_code) return report_fail(err, "out of memory");
        const cJSON *run;
        cJSON_ArrayForEach(run, runs) {
            if (!measured_run(run, v->name)) continue;
            for (int m = 0; m < M_COUNT; m++) v->x[m][v->n] = run_metric(run, names[m]);
            const cJSON *ec = get(run, "exit_status");
            v->exit_code[v->n] = cJSON_IsNumber(ec) ? ec->valueint : -1;
            v->n++;
        }
        for (int m = 0; m < M_COUNT; m++) {
            v->known[m] = v->n > 0;
            for (size_t k = 0; k < v->n; k++) v->known[m] &= isfinite(v->x[m][k]) != 0;
            if (v->known[m]) report_summarize(v->x[m], v->n, &v->s[m]);
        }
        const cJSON *vo;
        cJSON_ArrayForEach(vo, get((const cJSON *)r->json, "variants")) {
            const cJSON *nm = get(vo, "name");
            if (cJSON_IsString(nm) && !strcmp(nm->valuestring, v->name) && cJSON_IsObject(get(vo, "parameters")))
                v->parameters = get(vo, "parameters");
        }
        if (!v->n) return report_fail(err, "%s: variant '%s' has no successful measured run to export", r->path, v->name);
        if (!v->known[M_WALL]) return report_fail(err, "%s: variant '%s': a run without wall_ms", r->path, v->name);
    }
    if (!d->nv) return report_fail(err, "%s: no variants to export", r->path);
    return 0;
}

/* ---- numbers and names ---------------------------------------------- */

static void add_num(cJSON *o, const char *k, double v)
{
    if (isfinite(v)) cJSON_AddNumberToObject(o, k, v);
    else cJSON_AddNullToObject(o, k);
}

static void add_str(cJSON *o, const char *k, const char *s)
{
    char *clean = report_utf8_sanitize(s, strlen(s), NULL);
    cJSON_AddStringToObject(o, k, clean ? clean : "");
    free(clean);
}

static double sd_or_nan(const report_summary *s) { return s->n >= 2 ? s->sd : NAN; }

/* Time units: seconds per unit. */
static int time_unit(const char *name, double *per_ms, const char **label)
{
    if (!name || !strcmp(name, "ms") || !strcmp(name, "millisecond")) *per_ms = 1, *label = "ms";
    else if (!strcmp(name, "s") || !strcmp(name, "second")) *per_ms = 1e-3, *label = "s";
    else if (!strcmp(name, "us") || !strcmp(name, "microsecond")) *per_ms = 1e3, *label = "us";
    else if (!strcmp(name, "ns") || !strcmp(name, "nanosecond")) *per_ms = 1e6, *label = "ns";
    else return -1;
    return 0;
}

/* The parameter names used by any variant, in first-seen order. */
static int parameter_names(const export_data *d, const char **names, int max)
{
    int n = 0;
    for (int i = 0; i < d->nv; i++) {
        const cJSON *p;
        cJSON_ArrayForEach(p, d->v[i].parameters) {
            bool seen = false;
            for (int k = 0; k < n; k++) seen |= !strcmp(names[k], p->string);
            if (!seen && n < max) names[n++] = p->string;
        }
    }
    return n;
}

static const char *parameter_value(const variant_data *v, const char *name)
{
    const cJSON *p = get(v->parameters, name);
    return cJSON_IsString(p) ? p->valuestring : "";
}

/* ---- hyperfine ------------------------------------------------------ */

/* hyperfine --export-json: seconds; "command" is the variant's name (the
 * command line, or --command-name). user/system are null when the runs did
 * not measure them (engine workloads). */
static int write_hyperfine(FILE *f, const export_data *d)
{
    cJSON *root = cJSON_CreateObject(), *results = cJSON_AddArrayToObject(root, "results");
    for (int i = 0; i < d->nv; i++) {
        const variant_data *v = &d->v[i];
        cJSON *o = cJSON_CreateObject();
        add_str(o, "command", v->name);
        const report_summary *w = &v->s[M_WALL];
        add_num(o, "mean", w->mean / 1e3);
        add_num(o, "stddev", sd_or_nan(w) / 1e3);
        add_num(o, "median", w->median / 1e3);
        add_num(o, "user", v->known[M_USER] ? v->s[M_USER].mean / 1e3 : NAN);
        add_num(o, "system", v->known[M_SYS] ? v->s[M_SYS].mean / 1e3 : NAN);
        add_num(o, "min", w->min / 1e3);
        add_num(o, "max", w->max / 1e3);
        cJSON *t = cJSON_AddArrayToObject(o, "times"), *ec = cJSON_AddArrayToObject(o, "exit_codes");
        for (size_t k = 0; k < v->n; k++) {
            cJSON_AddItemToArray(t, cJSON_CreateNumber(v->x[M_WALL][k] / 1e3));
            cJSON_AddItemToArray(ec, v->exit_code[k] >= 0 ? cJSON_CreateNumber(v->exit_code[k]) : cJSON_CreateNull());
        }
        if (v->parameters) {
            cJSON *p = cJSON_AddObjectToObject(o, "parameters"), *q;
            cJSON_ArrayForEach(q, v->parameters)
                if (cJSON_IsString(q)) add_str(p, q->string, q->valuestring);
        }
        cJSON_AddItemToArray(results, o);
    }
    return print_json(f, root);
}

static void csv_num(FILE *f, double v)
{
    if (isfinite(v)) fprintf(f, ",%.9g", v);
    else fputs(",", f);
}

/* hyperfine --export-csv: command,mean,stddev,median,user,system,min,max in
 * seconds, then parameter_NAME columns. */
static int write_csv(FILE *f, const export_data *d)
{
    const char *params[32];
    int np = parameter_names(d, params, 32);
    fputs("command,mean,stddev,median,user,system,min,max", f);
    for (int k = 0; k < np; k++) {
        char h[300];
        snprintf(h, sizeof h, "parameter_%s", params[k]);
        fputc(',', f);
        report_put_escaped(f, REPORT_ESC_CSV, h);
    }
    fputc('\n', f);
    for (int i = 0; i < d->nv; i++) {
        const variant_data *v = &d->v[i];
        const report_summary *w = &v->s[M_WALL];
        report_put_escaped(f, REPORT_ESC_CSV, v->name);
        csv_num(f, w->mean / 1e3);
        csv_num(f, sd_or_nan(w) / 1e3);
        csv_num(f, w->median / 1e3);
        csv_num(f, v->known[M_USER] ? v->s[M_USER].mean / 1e3 : NAN);
        csv_num(f, v->known[M_SYS] ? v->s[M_SYS].mean / 1e3 : NAN);
        csv_num(f, w->min / 1e3);
        csv_num(f, w->max / 1e3);
        for (int k = 0; k < np; k++) {
            fputc(',', f);
            report_put_escaped(f, REPORT_ESC_CSV, parameter_value(v, params[k]));
        }
        fputc('\n', f);
    }
    return 0;
}

/* hyperfine --export-markdown: mean ± stddev, min, max in the time unit, and
 * each mean relative to the fastest (± propagated from both spreads). The
 * name is escaped as Markdown text (hyperfine puts it in a code span). */
static int write_markdown(FILE *f, const export_data *d, double per_ms, const char *unit)
{
    int fastest = 0;
    for (int i = 1; i < d->nv; i++)
        if (d->v[i].s[M_WALL].mean < d->v[fastest].s[M_WALL].mean) fastest = i;
    const report_summary *fs = &d->v[fastest].s[M_WALL];
    fprintf(f, "| Command | Mean [%s] | Min [%s] | Max [%s] | Relative |\n|:---|---:|---:|---:|---:|\n", unit, unit, unit);
    for (int i = 0; i < d->nv; i++) {
        const report_summary *w = &d->v[i].s[M_WALL];
        fputs("| ", f);
        report_put_escaped(f, REPORT_ESC_MARKDOWN, d->v[i].name);
        fprintf(f, " | %.3g", w->mean * per_ms);
        if (w->n >= 2) fprintf(f, " ± %.2g", w->sd * per_ms);
        fprintf(f, " | %.3g | %.3g | ", w->min * per_ms, w->max * per_ms);
        double ratio = w->mean / fs->mean;
        if (i == fastest) fputs("1.00", f);
        else if (w->n >= 2 && fs->n >= 2)
            fprintf(f, "%.2f ± %.2f", ratio, ratio * sqrt(pow(w->sd / w->mean, 2) + pow(fs->sd / fs->mean, 2)));
        else fprintf(f, "%.2f", ratio);
        fputs(" |\n", f);
    }
    return 0;
}

/* ---- Bencher, github-action-benchmark, Google Benchmark -------------- */

/* Bencher Metric Format: {benchmark: {measure: {value, lower_value,
 * upper_value}}}; latency in ns (mean, 95 % CI of the mean); other
 * measures by slug in their own units. */
static void bmf_measure(cJSON *b, const char *slug, const report_summary *s, double scale)
{
    cJSON *m = cJSON_AddObjectToObject(b, slug);
    add_num(m, "value", s->mean * scale);
    if (s->n >= 2 && isfinite(s->mean_ci_lo)) {
        add_num(m, "lower_value", s->mean_ci_lo * scale);
        add_num(m, "upper_value", s->mean_ci_hi * scale);
    }
}

static void slug(const char *name, char *out, size_t n)
{
    size_t k = 0;
    for (const char *p = name; *p && k + 1 < n; p++)
        out[k++] = (*p >= 'A' && *p <= 'Z') ? (char)(*p - 'A' + 'a') : (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ? *p : '-';
    out[k] = 0;
}

static int write_bmf(FILE *f, const export_data *d)
{
    cJSON *root = cJSON_CreateObject();
    const char *pm = d->r->metric_name;
    for (int i = 0; i < d->nv; i++) {
        const variant_data *v = &d->v[i];
        char *name = report_utf8_sanitize(v->name, strlen(v->name), NULL);
        cJSON *b = cJSON_AddObjectToObject(root, name ? name : "");
        free(name);
        bmf_measure(b, "latency", &v->s[M_WALL], 1e6);
        if (v->known[M_USER]) bmf_measure(b, "user-time", &v->s[M_USER], 1e6);
        if (v->known[M_SYS]) bmf_measure(b, "system-time", &v->s[M_SYS], 1e6);
        if (v->known[M_RSS]) bmf_measure(b, "max-rss-bytes", &v->s[M_RSS], 1);
        static const char *const timing[] = {"wall_ms", "user_ms", "sys_ms", "max_rss_bytes"};
        bool is_timing = false;
        for (int k = 0; k < 4; k++) is_timing |= !strcmp(pm, timing[k]);
        if (!is_timing && v->known[M_PRIMARY]) {
            char s[REPORT_NAME_MAX];
            slug(pm, s, sizeof s);
            bmf_measure(b, s, &v->s[M_PRIMARY], 1);
        }
    }
    return print_json(f, root);
}

/* github-action-benchmark's custom tools: [{name, unit, value, range,
 * extra}] of the primary metric; the direction decides the tool
 * (customSmallerIsBetter or customBiggerIsBetter), named in "extra". */
static int write_github(FILE *f, const export_data *d)
{
    cJSON *root = cJSON_CreateArray();
    for (int i = 0; i < d->nv; i++) {
        const variant_data *v = &d->v[i];
        if (!v->known[M_PRIMARY]) continue;
        const report_summary *s = &v->s[M_PRIMARY];
        cJSON *o = cJSON_CreateObject();
        add_str(o, "name", v->name);
        add_str(o, "unit", d->r->metric_unit);
        add_num(o, "value", s->mean);
        if (s->n >= 2) {
            char range[64];
            snprintf(range, sizeof range, "± %.4g", s->sd);
            cJSON_AddStringToObject(o, "range", range);
        }
        char extra[256];
        snprintf(extra, sizeof extra, "%s: mean of %zu runs, median %.6g; tool: %s", d->r->metric_name, s->n, s->median,
                 d->r->higher_is_better ? "customBiggerIsBetter" : "customSmallerIsBetter");
        add_str(o, "extra", extra);
        cJSON_AddItemToArray(root, o);
    }
    return print_json(f, root);
}

static cJSON *gbench_entry(const variant_data *v, const char *name, const char *run_type, double real_ms,
                           double cpu_ms, int repetition, double per_ms, const char *unit)
{
    cJSON *o = cJSON_CreateObject();
    add_str(o, "name", name);
    add_str(o, "run_name", v->name);
    cJSON_AddStringToObject(o, "run_type", run_type);
    cJSON_AddNumberToObject(o, "repetitions", (double)v->n);
    if (repetition >= 0) cJSON_AddNumberToObject(o, "repetition_index", repetition);
    cJSON_AddNumberToObject(o, "threads", 1);
    cJSON_AddNumberToObject(o, "iterations", repetition >= 0 ? 1 : (double)v->n);
    add_num(o, "real_time", real_ms * per_ms);
    add_num(o, "cpu_time", cpu_ms * per_ms);
    cJSON_AddStringToObject(o, "time_unit", unit);
    return o;
}

/* Google Benchmark --benchmark_format=json with repetitions: one
 * "iteration" entry per run (real_time = wall, cpu_time = user + sys) and
 * the mean, median and stddev aggregates, as its tools/compare.py reads. */
static int write_google(FILE *f, const export_data *d, double per_ms, const char *unit, report_error *err)
{
    for (int i = 0; i < d->nv; i++)
        if (!d->v[i].known[M_USER] || !d->v[i].known[M_SYS])
            return report_fail(err, "%s: variant '%s' has no user_ms/sys_ms (only command runs measure CPU time): "
                               "no cpu_time for Google Benchmark's format", d->r->path, d->v[i].name);
    cJSON *root = cJSON_CreateObject(), *ctx = cJSON_AddObjectToObject(root, "context");
    char date[64], host[256] = "";
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S%z", &tm);
    gethostname(host, sizeof host - 1);
    cJSON_AddStringToObject(ctx, "date", date);
    add_str(ctx, "host_name", host);
    cJSON_AddStringToObject(ctx, "executable", "thermabench");
    if (d->r->cpus_online > 0) cJSON_AddNumberToObject(ctx, "num_cpus", d->r->cpus_online);
    cJSON_AddStringToObject(ctx, "library_build_type", "release");
    add_str(ctx, "thermabench_results", d->r->path);
    cJSON *bs = cJSON_AddArrayToObject(root, "benchmarks");
    for (int i = 0; i < d->nv; i++) {
        const variant_data *v = &d->v[i];
        double *cpu = malloc(v->n * sizeof *cpu);
        if (!cpu) {
            cJSON_Delete(root);
            return report_fail(err, "out of memory");
        }
        for (size_t k = 0; k < v->n; k++) {
            cpu[k] = v->x[M_USER][k] + v->x[M_SYS][k];
            cJSON_AddItemToArray(bs, gbench_entry(v, v->name, "iteration", v->x[M_WALL][k], cpu[k], (int)k, per_ms, unit));
        }
        report_summary cs;
        report_summarize(cpu, v->n, &cs);
        free(cpu);
        const report_summary *w = &v->s[M_WALL];
        const char *agg[] = {"mean", "median", "stddev"};
        double real[] = {w->mean, w->median, sd_or_nan(w)}, cput[] = {cs.mean, cs.median, v->n >= 2 ? cs.sd : NAN};
        for (int k = 0; k < 3; k++) {
            if (!isfinite(real[k])) continue;
            char name[REPORT_NAME_MAX + 16];
            snprintf(name, sizeof name, "%s_%s", v->name, agg[k]);
            cJSON *o = gbench_entry(v, name, "aggregate", real[k], cput[k], -1, per_ms, unit);
            cJSON_AddStringToObject(o, "aggregate_name", agg[k]);
            cJSON_AddStringToObject(o, "aggregate_unit", "time");
            cJSON_AddItemToArray(bs, o);
        }
    }
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text) return report_fail(err, "out of memory");
    fprintf(f, "%s\n", text);
    free(text);
    return 0;
}

/* ---- OpenMetrics ---------------------------------------------------- */

/* A label value: backslash, double quote and line feed escaped. */
static void om_label(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '\\') fputs("\\\\", f);
        else if (*s == '"') fputs("\\\"", f);
        else if (*s == '\n') fputs("\\n", f);
        else fputc(*s, f);
    }
    fputc('"', f);
}

/* A metric family name: [a-zA-Z_:][a-zA-Z0-9_:]*, other bytes as '_'. */
static void om_name(const char *metric, char *out, size_t n)
{
    snprintf(out, n, "thermabench_");
    size_t k = strlen(out);
    for (const char *p = metric; *p && k + 1 < n; p++)
        out[k++] = ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_') ? *p : '_';
    out[k] = 0;
}

/* Every metric of the results as a gauge family, one sample per variant and
 * statistic of its measured runs; the run count as thermabench_runs. */
static int write_openmetrics(FILE *f, const export_data *d, report_error *err)
{
    const cJSON *metrics = get((const cJSON *)d->r->json, "metrics"), *m;
    double *x = malloc(((size_t)cJSON_GetArraySize(get((const cJSON *)d->r->json, "runs")) + 1) * sizeof *x);
    if (!x) return report_fail(err, "out of memory");
    fputs("# TYPE thermabench_runs gauge\n# HELP thermabench_runs Measured runs that succeeded, per variant.\n", f);
    for (int i = 0; i < d->nv; i++) {
        fputs("thermabench_runs{variant=", f);
        om_label(f, d->v[i].name);
        fprintf(f, "} %zu\n", d->v[i].n);
    }
    cJSON_ArrayForEach(m, metrics) {
        const cJSON *nm = get(m, "name"), *unit = get(m, "unit");
        if (!cJSON_IsString(nm)) continue;
        char family[160];
        om_name(nm->valuestring, family, sizeof family);
        fprintf(f, "# TYPE %s gauge\n# HELP %s ", family, family);
        /* HELP text escapes backslash and line feed only. */
        char help[256];
        snprintf(help, sizeof help, "%s [%s] over measured runs, by statistic.", nm->valuestring,
                 cJSON_IsString(unit) ? unit->valuestring : "");
        for (const char *p = help; *p; p++) {
            if (*p == '\\') fputs("\\\\", f);
            else if (*p == '\n') fputs("\\n", f);
            else fputc(*p, f);
        }
        fputc('\n', f);
        for (int i = 0; i < d->nv; i++) {
            size_t n = report_metric_values(d->r, d->v[i].name, nm->valuestring, x, (size_t)-1);
            if (!n) continue;
            report_summary s;
            report_summarize(x, n, &s);
            const char *stat[] = {"mean", "median", "stddev", "min", "max"};
            double val[] = {s.mean, s.median, n >= 2 ? s.sd : NAN, s.min, s.max};
            for (int k = 0; k < 5; k++) {
                if (!isfinite(val[k])) continue;
                fprintf(f, "%s{variant=", family);
                om_label(f, d->v[i].name);
                fprintf(f, ",stat=\"%s\"} %.17g\n", stat[k], val[k]);
            }
        }
    }
    free(x);
    fputs("# EOF\n", f);
    return 0;
}

/* ---- entry point ---------------------------------------------------- */

int report_export_write(const report_results *r, report_export_format format, const report_export_options *o,
                        const char *path, report_error *err)
{
    double per_ms;
    const char *unit;
    err->msg[0] = 0;
    if (time_unit(o ? o->time_unit : NULL, &per_ms, &unit))
        return report_fail(err, "time unit '%s': expected s, ms, us or ns", o->time_unit);
    export_data d;
    if (data_load(r, &d, err)) {
        data_free(&d);
        return -1;
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) {
        data_free(&d);
        return report_fail(err, "out of memory");
    }
    int rc;
    switch (format) {
    case REPORT_EXPORT_HYPERFINE_JSON: rc = write_hyperfine(f, &d); break;
    case REPORT_EXPORT_BMF: rc = write_bmf(f, &d); break;
    case REPORT_EXPORT_GITHUB_BENCHMARK: rc = write_github(f, &d); break;
    case REPORT_EXPORT_GOOGLE_BENCHMARK: rc = write_google(f, &d, per_ms, unit, err); break;
    case REPORT_EXPORT_OPENMETRICS: rc = write_openmetrics(f, &d, err); break;
    case REPORT_EXPORT_CSV: rc = write_csv(f, &d); break;
    case REPORT_EXPORT_MARKDOWN: rc = write_markdown(f, &d, per_ms, unit); break;
    default: rc = report_fail(err, "unknown export format %d", (int)format);
    }
    data_free(&d);
    if (fclose(f) || rc) {
        free(buf);
        return rc ? (err->msg[0] ? -1 : report_fail(err, "out of memory")) : report_fail(err, "out of memory");
    }
    if (!strcmp(path, "-")) {
        rc = fwrite(buf, 1, len, stdout) == len && fflush(stdout) == 0 ? 0 : report_fail(err, "stdout: write failed");
    } else {
        rc = report_write_atomic(path, buf, len, err);
    }
    if (rc) rc = -2;   /* the data was fine, the writing failed */
    free(buf);
    return rc;
}
