/* Reading results.json (docs/RESULTS.md, schema v1): what the statistics
 * need, with the byte-level errors cJSON can give. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reports.h"
#include "stats_internal.h"

/* A number, or NAN for null / missing / not a number. */
static double num(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static void str(const cJSON *obj, const char *key, char *dst, size_t cap)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (cJSON_IsString(v) && v->valuestring)
        snprintf(dst, cap, "%s", v->valuestring);
    else
        dst[0] = 0;
}

static char *slurp(const char *path, size_t *len, report_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        report_fail(err, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf) {
            fclose(f);
            report_fail(err, "%s: out of memory", path);
            return NULL;
        }
        n += fread(buf + n, 1, cap - n - 1, f);
        if (n < cap - 1)
            break;
        cap *= 2;
        char *nb = realloc(buf, cap);
        if (!nb)
            free(buf);
        buf = nb;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        report_fail(err, "%s: read error", path);
        return NULL;
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

static void load_variant(report_results *r, const cJSON *v)
{
    int i = r->nvariants++;
    str(v, "name", r->variants[i], sizeof r->variants[i]);
    char kernels[120] = "", model[96] = "";
    str(v, "engine_kernels", kernels, sizeof kernels);
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(v, "workload");
    double threads = num(w, "threads");
    str(w, "model", model, sizeof model);
    if (!model[0])
        str(w, "preset", model, sizeof model);     /* synthetic models are named by preset */
    char th[16] = "?";
    if (!isnan(threads))
        snprintf(th, sizeof th, "%.0f", threads);
    snprintf(r->variant_config[i], sizeof r->variant_config[i], "kernels=%s threads=%s model=%s",
             kernels[0] ? kernels : "?", th, model[0] ? model : "?");
}

static int load_run(report_results *r, const cJSON *run, int i, report_error *err)
{
    report_run *o = &r->runs[r->nruns];
    memset(o, 0, sizeof *o);
    const cJSON *idx = cJSON_GetObjectItemCaseSensitive(run, "index");
    o->index = cJSON_IsNumber(idx) ? idx->valueint : i;
    str(run, "variant", o->variant, sizeof o->variant);
    if (!o->variant[0])
        return report_fail(err, "%s: runs[%d].variant: expected a string", r->path, i);
    o->warmup = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(run, "warmup"));
    char status[16];
    str(run, "status", status, sizeof status);
    o->ok = !strcmp(status, "ok");
    o->started_s = num(run, "started_s");
    o->wall_ms = num(run, "wall_ms");
    const cJSON *mv = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(run, "metrics"),
                                                       r->metric_name);
    if (mv && !cJSON_IsNumber(mv) && !cJSON_IsNull(mv))
        return report_fail(err, "%s: runs[%d].metrics.%s: expected a number or null", r->path, i, r->metric_name);
    o->metric = cJSON_IsNumber(mv) ? mv->valuedouble : NAN;
    if (o->ok && !isfinite(o->metric))
        o->ok = false;      /* counted as failed: no value for the primary metric */
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(run, "telemetry");
    o->temp_start_c = num(t, "temp_start_c");
    o->temp_end_c = num(t, "temp_end_c");
    o->temp_peak_c = num(t, "temp_peak_c");
    o->power_mean_w = num(t, "power_mean_w");
    o->energy_j = num(t, "energy_j");
    o->energy_per_token_j = num(t, "energy_per_token_j");
    o->clock_mean_mhz = num(t, "clock_mean_mhz");
    o->clock_min_mhz = num(t, "clock_min_mhz");
    o->mem_psi_some_us = num(t, "mem_psi_some_us");
    str(t, "throttle", o->throttle, sizeof o->throttle);
    if (!o->throttle[0])
        strcpy(o->throttle, "unknown");
    r->nruns++;
    return 0;
}

static void load_env(report_results *r, const cJSON *root)
{
    const cJSON *env = cJSON_GetObjectItemCaseSensitive(root, "environment");
    str(env, "cpu_model", r->cpu_model, sizeof r->cpu_model);
    str(env, "kernel", r->kernel, sizeof r->kernel);
    /* The build: environment.build, or the flat fields of files written
     * before it existed (compiler and git_commit only). */
    const cJSON *build = cJSON_GetObjectItemCaseSensitive(env, "build");
    const cJSON *b = build ? build : env;
    str(b, "compiler", r->compiler, sizeof r->compiler);
    str(b, "git_commit", r->git_commit, sizeof r->git_commit);
    str(b, "build_type", r->build_type, sizeof r->build_type);
    str(b, "cflags", r->cflags, sizeof r->cflags);
    str(b, "sanitizers", r->sanitizers, sizeof r->sanitizers);
    const cJSON *dirty = cJSON_GetObjectItemCaseSensitive(b, "git_dirty");
    r->git_dirty = cJSON_IsBool(dirty) ? cJSON_IsTrue(dirty) : -1;
    double c = num(env, "cpus_online");
    r->cpus_online = isnan(c) ? -1 : (int)c;
    const cJSON *pf;
    cJSON_ArrayForEach(pf, cJSON_GetObjectItemCaseSensitive(root, "preflight"))
    {
        char check[64], status[16], detail[160];
        str(pf, "check", check, sizeof check);
        str(pf, "status", status, sizeof status);
        str(pf, "detail", detail, sizeof detail);
        if (strcmp(status, "ok") && r->npreflight < 32)
            snprintf(r->preflight[r->npreflight++], sizeof r->preflight[0], "%s: %s: %s", check,
                     status, detail);
    }
}

int report_results_load(const char *path, report_results *r, report_error *err)
{
    memset(r, 0, sizeof *r);
    snprintf(r->path, sizeof r->path, "%s", path);
    size_t len;
    char *text = slurp(path, &len, err);
    if (!text)
        return -1;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!root) {
        long off = end ? (long)(end - text) : -1;
        free(text);
        return report_fail(err, "%s: not valid JSON (error near byte %ld)", path, off);
    }
    free(text);
    r->json = root;
    char schema[64];
    str(root, "schema", schema, sizeof schema);
    if (strcmp(schema, "thermabench-results")) {
        report_results_free(r);
        return report_fail(err, "%s: schema: expected \"thermabench-results\"", path);
    }
    double ver = num(root, "schema_version");
    if (ver != 1) {
        report_results_free(r);
        return report_fail(err, "%s: schema_version: expected 1", path);
    }
    str(root, "name", r->name, sizeof r->name);
    str(root, "status", r->status, sizeof r->status);
    const cJSON *pm = cJSON_GetObjectItemCaseSensitive(root, "primary_metric");
    str(pm, "name", r->metric_name, sizeof r->metric_name);
    str(pm, "unit", r->metric_unit, sizeof r->metric_unit);
    if (!r->metric_name[0]) {
        report_results_free(r);
        return report_fail(err, "%s: primary_metric.name: expected a string", path);
    }
    const cJSON *hib = cJSON_GetObjectItemCaseSensitive(pm, "higher_is_better");
    r->higher_is_better = !cJSON_IsFalse(hib);
    load_env(r, root);
    const cJSON *v;
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(root, "variants"))
    {
        if (r->nvariants >= REPORT_MAX_VARIANTS) {
            report_results_free(r);
            return report_fail(err, "%s: variants: more than %d", path, REPORT_MAX_VARIANTS);
        }
        load_variant(r, v);
    }
    const cJSON *runs = cJSON_GetObjectItemCaseSensitive(root, "runs");
    if (!cJSON_IsArray(runs)) {
        report_results_free(r);
        return report_fail(err, "%s: runs: expected an array", path);
    }
    int n = cJSON_GetArraySize(runs);
    r->runs = calloc(n ? (size_t)n : 1, sizeof *r->runs);
    if (!r->runs) {
        report_results_free(r);
        return report_fail(err, "%s: out of memory", path);
    }
    int i = 0;
    const cJSON *run;
    cJSON_ArrayForEach(run, runs)
    {
        if (load_run(r, run, i++, err) < 0) {
            report_results_free(r);
            return -1;
        }
        /* A run naming a variant missing from "variants" still counts. */
        const char *vn = r->runs[r->nruns - 1].variant;
        int known = 0;
        for (int k = 0; k < r->nvariants; k++)
            known |= !strcmp(r->variants[k], vn);
        if (!known && r->nvariants >= REPORT_MAX_VARIANTS) {
            report_results_free(r);
            return report_fail(err, "%s: runs name more than %d variants", path, REPORT_MAX_VARIANTS);
        }
        if (!known) {
            snprintf(r->variants[r->nvariants], REPORT_NAME_MAX, "%s", vn);
            strcpy(r->variant_config[r->nvariants++], "kernels=? threads=? model=?");
        }
    }
    return 0;
}

void report_results_build(const report_results *r, char *buf, size_t n)
{
    snprintf(buf, n, "%s%s%s%s%s%s%s%s%s%s", r->git_commit[0] ? r->git_commit : "commit unknown",
             r->git_dirty > 0 ? " (dirty)" : "", r->build_type[0] ? ", " : "", r->build_type,
             r->sanitizers[0] ? " with sanitizers " : "", r->sanitizers, r->compiler[0] ? ", " : "", r->compiler,
             r->cflags[0] ? ", " : "", r->cflags);
}

void report_results_free(report_results *r)
{
    cJSON_Delete(r->json);
    free(r->runs);
    r->json = NULL;
    r->runs = NULL;
    r->nruns = 0;
}

size_t report_variant_values(const report_results *r, const char *variant, double *out, size_t max)
{
    size_t n = 0;
    for (int i = 0; i < r->nruns && n < max; i++) {
        const report_run *u = &r->runs[i];
        if (!u->warmup && u->ok && !strcmp(u->variant, variant))
            out[n++] = u->metric;
    }
    return n;
}
