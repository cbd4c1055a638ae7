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

/* A descriptive string (CPU model, kernel, preflight detail): one that does
 * not fit is cut at a character boundary and ends in "...", never silently. */
static void str(const cJSON *obj, const char *key, char *dst, size_t cap)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    dst[0] = 0;
    if (!cJSON_IsString(v) || !v->valuestring)
        return;
    size_t n = strlen(v->valuestring);
    if (n < cap) {
        memcpy(dst, v->valuestring, n + 1);
        return;
    }
    size_t keep = cap - 4;
    while (keep > 0 && ((unsigned char)v->valuestring[keep] & 0xC0) == 0x80)
        keep--;                     /* not inside a UTF-8 sequence */
    memcpy(dst, v->valuestring, keep);
    memcpy(dst + keep, "...", 4);
}

/* A name (variant, metric, unit, status): names are keys, and two that share
 * a cut prefix would merge, so one that does not fit is an error naming the
 * field (at is its JSON path without the key). "" when missing. */
static int name_field(const report_results *r, const cJSON *obj, const char *at, const char *key, char *dst,
                      size_t cap, report_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    dst[0] = 0;
    if (!cJSON_IsString(v) || !v->valuestring)
        return 0;
    size_t n = strlen(v->valuestring);
    if (n >= cap)
        return report_fail(err, "%s: %s%s%s: %zu bytes long, at most %zu allowed (names are kept whole)", r->path,
                           at, at[0] ? "." : "", key, n, cap - 1);
    memcpy(dst, v->valuestring, n + 1);
    return 0;
}

/* A whole number in [lo, hi], checked before any conversion; missing or null
 * gives dflt. */
static int int_field(const report_results *r, const cJSON *obj, const char *at, const char *key, double lo,
                     double hi, int dflt, int *out, report_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    *out = dflt;
    if (!v || cJSON_IsNull(v))
        return 0;
    double x = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    if (!(x >= lo && x <= hi && x == floor(x)))
        return report_fail(err, "%s: %s%s%s: expected a whole number from %.0f to %.0f, got %s%.6g", r->path, at,
                           at[0] ? "." : "", key, lo, hi, cJSON_IsNumber(v) ? "" : "a non-number ",
                           cJSON_IsNumber(v) ? x : 0.0);
    *out = (int)x;
    return 0;
}

/* The magnitudes the statistics compute with: squares and products of two
 * values stay finite and normal. */
#define METRIC_MAX 1e150
#define METRIC_MIN 1e-150

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

/* The requested workload as "field=value ..." in a fixed order: two
 * variants asked for the same work exactly when these texts are equal. */
static void request_text(const cJSON *w, char *dst, size_t cap)
{
    static const char *fields[] = {"type", "model", "preset", "dtype", "seed", "threads", "batch_size",
                                   "input_len", "output_len", "engine_warmup", "backend", "opencl_device",
                                   "kernels", "command", NULL};
    size_t len = 0;
    dst[0] = 0;
    for (const char **f = fields; *f && len < cap; f++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(w, *f);
        if (!v)
            continue;
        /* a command's program is compared on its own (variant_program) */
        cJSON *args = !strcmp(*f, "command") && cJSON_IsArray(v) ? cJSON_Duplicate(v, true) : NULL;
        if (args)
            cJSON_DeleteItemFromArray(args, 0);
        char *t = cJSON_IsString(v) ? NULL : cJSON_PrintUnformatted(args ? args : v);
        cJSON_Delete(args);
        len += (size_t)snprintf(dst + len, cap - len, "%s%s=%s", len ? "; " : "", *f,
                                t ? t : v->valuestring ? v->valuestring : "");
        free(t);
    }
    if (len >= cap)
        dst[cap - 1] = 0;
}

static int load_variant(report_results *r, const cJSON *v, report_error *err)
{
    int i = r->nvariants++;
    char at[32];
    snprintf(at, sizeof at, "variants[%d]", i);
    if (name_field(r, v, at, "name", r->variants[i], sizeof r->variants[i], err) < 0)
        return -1;
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
    snprintf(r->variant_kernels[i], sizeof r->variant_kernels[i], "%s", kernels);
    request_text(w, r->variant_request[i], sizeof r->variant_request[i]);
    const cJSON *cmd = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(w, "command"), 0);
    snprintf(r->variant_program[i], sizeof r->variant_program[i], "%s",
             cJSON_IsString(cmd) ? cmd->valuestring : "");
    return 0;
}

/* The run's GPU channels: gpuN.* of the GPU its summary watched, else gpu0. */
static void load_gpu(report_results *r, report_run *o, const cJSON *t)
{
    report_gpu_run *g = &o->gpu;
    double *all[] = {&g->temp_mean_c, &g->temp_start_c, &g->temp_peak_c, &g->sm_mean_mhz, &g->sm_min_mhz,
                     &g->mem_mean_mhz, &g->mem_min_mhz, &g->power_mean_w, &g->power_limit_w, &g->energy_j,
                     &g->energy_per_token_j, &g->util_mean_pct, &g->power_cap_ms, &g->thermal_cap_ms,
                     &g->reasons_max};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
        *all[k] = NAN;
    char prefix[16] = "gpu0.", tc[64];
    str(t, "temp_channel", tc, sizeof tc);
    const char *dot = strchr(tc, '.');
    if (!strncmp(tc, "gpu", 3) && dot && dot - tc < (long)sizeof prefix - 1)
        snprintf(prefix, sizeof prefix, "%.*s", (int)(dot - tc + 1), tc);
    const cJSON *chs = cJSON_GetObjectItemCaseSensitive(t, "channels");
    char name[64];
#define CH(suffix) (snprintf(name, sizeof name, "%s%s", prefix, suffix), cJSON_GetObjectItemCaseSensitive(chs, name))
    const cJSON *temp = CH("temp_c");
    if (!temp)
        return;
    g->present = true;
    g->temp_mean_c = num(temp, "mean");
    g->temp_start_c = num(temp, "start");
    g->temp_peak_c = num(temp, "max");
    g->sm_mean_mhz = num(CH("sm_clock_mhz"), "mean");
    g->sm_min_mhz = num(CH("sm_clock_mhz"), "min");
    g->mem_mean_mhz = num(CH("mem_clock_mhz"), "mean");
    g->mem_min_mhz = num(CH("mem_clock_mhz"), "min");
    g->power_mean_w = num(CH("power_w"), "mean");
    g->power_limit_w = num(CH("power_limit_w"), "mean");
    g->energy_j = num(CH("energy_j"), "delta");
    g->util_mean_pct = num(CH("util_pct"), "mean");
    g->power_cap_ms = num(CH("power_cap_time_ms"), "delta");
    g->thermal_cap_ms = num(CH("thermal_cap_time_ms"), "delta");
    g->reasons_max = num(CH("throttle_reasons"), "max");
#undef CH
    if (isfinite(g->energy_j) && o->tokens > 0)
        g->energy_per_token_j = g->energy_j / o->tokens;
    const char *cause = "";
    const cJSON *tcz = cJSON_GetObjectItemCaseSensitive(t, "throttle_cause");
    if (cJSON_IsString(tcz) && tcz->valuestring)
        cause = tcz->valuestring;
    snprintf(g->throttle_cause, sizeof g->throttle_cause, "%s", cause);
    if (!r->gpu_name[0])
        snprintf(r->gpu_name, sizeof r->gpu_name, "%.*s", (int)strlen(prefix) - 1, prefix);
}

/* Tokens an engine run processes: batch x (input + output) of its variant. */
static double run_tokens(const cJSON *root, const char *variant)
{
    const cJSON *v;
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(root, "variants"))
    {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(v, "name");
        if (!cJSON_IsString(n) || strcmp(n->valuestring, variant))
            continue;
        const cJSON *w = cJSON_GetObjectItemCaseSensitive(v, "workload");
        char type[16];
        str(w, "type", type, sizeof type);
        if (strcmp(type, "engine"))
            return NAN;
        return num(w, "batch_size") * (num(w, "input_len") + num(w, "output_len"));
    }
    return NAN;
}

static int load_run(report_results *r, const cJSON *run, int i, report_error *err)
{
    report_run *o = &r->runs[r->nruns];
    memset(o, 0, sizeof *o);
    char at[32];
    snprintf(at, sizeof at, "runs[%d]", i);
    if (int_field(r, run, at, "index", 0, 2147483647, i, &o->index, err) < 0 ||
        name_field(r, run, at, "variant", o->variant, sizeof o->variant, err) < 0)
        return -1;
    const cJSON *sess = cJSON_GetObjectItemCaseSensitive(run, "session");
    o->session = cJSON_IsNumber(sess) && sess->valuedouble >= 0 && sess->valuedouble < 1e6 ? (int)sess->valuedouble : 0;
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
    if (cJSON_IsNumber(mv) && !(o->metric == 0 || (fabs(o->metric) >= METRIC_MIN && fabs(o->metric) <= METRIC_MAX)))
        return report_fail(err, "%s: runs[%d].metrics.%s: %g is out of range (0, or %g to %g in magnitude)", r->path,
                           i, r->metric_name, o->metric, METRIC_MIN, METRIC_MAX);
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
    snprintf(at, sizeof at, "runs[%d].telemetry", i);
    if (name_field(r, t, at, "throttle", o->throttle, sizeof o->throttle, err) < 0)
        return -1;
    if (!o->throttle[0])
        strcpy(o->throttle, "unknown");
    o->tokens = run_tokens((const cJSON *)r->json, o->variant);
    load_gpu(r, o, t);
    r->nruns++;
    return 0;
}

static int load_env(report_results *r, const cJSON *root, report_error *err)
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
    if (int_field(r, env, "environment", "cpus_online", 1, 1 << 20, -1, &r->cpus_online, err) < 0)
        return -1;
    char micro[64], gpu[160];
    str(env, "microcode", micro, sizeof micro);
    str(env, "gpu", gpu, sizeof gpu);
    snprintf(r->machine, sizeof r->machine, "cpu_model=%.120s; cpus_online=%d; kernel=%.120s; microcode=%.60s; gpu=%.150s",
             r->cpu_model[0] ? r->cpu_model : "?", r->cpus_online, r->kernel[0] ? r->kernel : "?",
             micro[0] ? micro : "?", gpu[0] ? gpu : "?");
    const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(root, "config");
    str(cfg, "order", r->order, sizeof r->order);
    const cJSON *stop = cJSON_GetObjectItemCaseSensitive(cfg, "stop");
    char rule[32];
    str(stop, "rule", rule, sizeof rule);
    r->adaptive_stop = !strcmp(rule, "adaptive");
    double reps = num(cfg, "repetitions");
    r->stop_min_runs = r->adaptive_stop && reps >= 0 && reps <= 1e7 ? (int)reps : 0;
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
    return 0;
}

int report_results_load(const char *path, report_results *r, report_error *err)
{
    memset(r, 0, sizeof *r);
    size_t len;
    char *text = slurp(path, &len, err);
    if (!text)
        return -1;
    int rc = report_results_parse(path, text, len, r, err);
    free(text);
    return rc;
}

int report_results_parse(const char *path, const char *text, size_t len, report_results *r, report_error *err)
{
    memset(r, 0, sizeof *r);
    snprintf(r->path, sizeof r->path, "%s", path);
    size_t bad = report_utf8_invalid_at(text, len);
    if (bad < len)
        return report_fail(err, "%s: byte %zu: not UTF-8 text (invalid sequence or NUL byte)", path, bad);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!root) {
        long off = end ? (long)(end - text) : -1;
        return report_fail(err, "%s: not valid JSON (error near byte %ld)", path, off);
    }
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
    const cJSON *pm = cJSON_GetObjectItemCaseSensitive(root, "primary_metric");
    if (name_field(r, root, "", "name", r->name, sizeof r->name, err) < 0 ||
        name_field(r, root, "", "status", r->status, sizeof r->status, err) < 0 ||
        name_field(r, pm, "primary_metric", "name", r->metric_name, sizeof r->metric_name, err) < 0 ||
        name_field(r, pm, "primary_metric", "unit", r->metric_unit, sizeof r->metric_unit, err) < 0 ||
        load_env(r, root, err) < 0) {
        report_results_free(r);
        return -1;
    }
    if (!r->metric_name[0]) {
        report_results_free(r);
        return report_fail(err, "%s: primary_metric.name: expected a string", path);
    }
    const cJSON *hib = cJSON_GetObjectItemCaseSensitive(pm, "higher_is_better");
    r->higher_is_better = !cJSON_IsFalse(hib);
    const cJSON *v;
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(root, "variants"))
    {
        if (r->nvariants >= REPORT_MAX_VARIANTS) {
            report_results_free(r);
            return report_fail(err, "%s: variants: more than %d", path, REPORT_MAX_VARIANTS);
        }
        if (load_variant(r, v, err) < 0) {
            report_results_free(r);
            return -1;
        }
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
