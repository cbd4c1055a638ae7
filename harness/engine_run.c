/* In-process engine runs: engine_bench on a cached model and session per
 * variant, with prefill and decode marked on the probes' timeline. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness_internal.h"

/* Messages and paths are bounded buffers; cutting one short is intended. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

typedef struct cached_model {
    char key[640];
    engine_model *model;
} cached_model;

struct harness_engine_cache {
    int n_variants;
    engine_session **sessions;
    const engine_model **variant_model;
    char (*kernels)[512];
    cached_model models[HARNESS_MAX_VARIANTS];
    int n_models;
};

harness_engine_cache *harness_engine_cache_new(int n_variants)
{
    harness_engine_cache *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->n_variants = n_variants;
    c->sessions = calloc((size_t)n_variants, sizeof *c->sessions);
    c->kernels = calloc((size_t)n_variants, sizeof *c->kernels);
    c->variant_model = calloc((size_t)n_variants, sizeof *c->variant_model);
    if (!c->sessions || !c->kernels || !c->variant_model) {
        harness_engine_cache_free(c);
        return NULL;
    }
    return c;
}

void harness_engine_cache_free(harness_engine_cache *c)
{
    if (!c) return;
    for (int i = 0; c->sessions && i < c->n_variants; i++)
        if (c->sessions[i]) engine_session_free(c->sessions[i]);
    for (int i = 0; i < c->n_models; i++) engine_model_free(c->models[i].model);
    free(c->sessions);
    free(c->kernels);
    free(c->variant_model);
    free(c);
}

const engine_model *harness_engine_cache_model(harness_engine_cache *c, int variant)
{
    return c && variant >= 0 && variant < c->n_variants ? c->variant_model[variant] : NULL;
}

const char *harness_engine_cache_kernels(harness_engine_cache *c, int variant)
{
    return c && variant >= 0 && variant < c->n_variants ? c->kernels[variant] : "";
}

static engine_model *get_model(harness_engine_cache *c, const harness_workload *w, engine_error *err)
{
    char key[640];
    snprintf(key, sizeof key, "%s|%s|%s|%llu", w->model, w->model[0] ? "" : w->preset, w->model[0] ? "" : w->dtype,
             (unsigned long long)w->seed);
    for (int i = 0; i < c->n_models; i++)
        if (!strcmp(c->models[i].key, key)) return c->models[i].model;
    engine_model *m = NULL;
    if (w->model[0]) {
        if (engine_model_load(w->model, &m, err)) return NULL;
    } else {
        engine_dtype dt;
        if (engine_dtype_parse(w->dtype, &dt)) {
            snprintf(err->msg, sizeof err->msg, "unknown dtype '%s'", w->dtype);
            return NULL;
        }
        if (engine_model_synth(w->preset, dt, w->seed, -1, &m, err)) return NULL;
    }
    if (c->n_models == HARNESS_MAX_VARIANTS) {   /* cannot happen: one model per variant at most */
        engine_model_free(m);
        snprintf(err->msg, sizeof err->msg, "too many models");
        return NULL;
    }
    snprintf(c->models[c->n_models].key, sizeof c->models[c->n_models].key, "%s", key);
    c->models[c->n_models++].model = m;
    return m;
}

static engine_session *get_session(harness_engine_cache *c, int v, const harness_workload *w, engine_error *err)
{
    if (c->sessions[v]) return c->sessions[v];
    engine_model *m = get_model(c, w, err);
    if (!m) return NULL;
    engine_options o;
    engine_options_default(&o);
    o.threads = w->threads;
    o.max_batch = w->batch_size;
    int need = w->input_len + w->output_len;
    o.max_seq_len = need < m->cfg.seq_len ? need : 0;
    if (need > m->cfg.seq_len) {
        snprintf(err->msg, sizeof err->msg, "input_len + output_len = %d exceeds the model's context of %d",
                 need, m->cfg.seq_len);
        err->kind = ENGINE_ERR_INPUT;
        return NULL;
    }
    snprintf(o.backend, sizeof o.backend, "%s", w->backend);
    snprintf(o.opencl_device, sizeof o.opencl_device, "%s", w->opencl_device);
    o.n_kernel_choices = w->n_kernels;
    memcpy(o.kernel_choices, w->kernels, sizeof o.kernel_choices);
    if (engine_session_create(m, &o, &c->sessions[v], err)) return NULL;
    c->variant_model[v] = m;
    snprintf(c->kernels[v], sizeof c->kernels[v], "%s", engine_session_kernels(c->sessions[v]));
    return c->sessions[v];
}

typedef struct phase_ctx {
    probe_sampler *sampler;
    int run_index;
    int *marks;   /* prefill begin/end, decode begin/end */
} phase_ctx;

static void on_phase(void *ctx, const char *phase, bool begin)
{
    phase_ctx *p = ctx;
    if (!p->sampler) return;
    int slot = !strcmp(phase, "prefill") ? 0 : !strcmp(phase, "decode") ? 2 : -1;
    int m = probe_sampler_mark(p->sampler, phase, begin, p->run_index);
    if (slot >= 0 && p->marks) p->marks[slot + !begin] = m;
}

int harness_engine_run(harness_engine_cache *cache, int variant, const harness_workload *w,
                       probe_sampler *sampler, int run_index, int *phase_marks,
                       harness_engine_result *r)
{
    engine_error err = {0};
    memset(r, 0, sizeof *r);
    double t0 = harness_now_s();
    engine_session *s = get_session(cache, variant, w, &err);
    if (!s) {
        snprintf(r->failure, sizeof r->failure, "engine: %s", err.msg);
        r->wall_ms = (harness_now_s() - t0) * 1e3;
        return 0;
    }
    engine_session_reset(s, -1);
    phase_ctx pc = {sampler, run_index, phase_marks};
    engine_bench_params p = {
        .batch_size = w->batch_size, .input_len = w->input_len, .output_len = w->output_len,
        .warmup = w->engine_warmup, .seed = w->seed, .on_phase = on_phase, .phase_ctx = &pc};
    engine_bench_result b;
    memset(&b, 0, sizeof b);
    t0 = harness_now_s();
    int rc = engine_bench(s, &p, &b, &err);
    r->wall_ms = (harness_now_s() - t0) * 1e3;
    if (rc) {
        snprintf(r->failure, sizeof r->failure, "engine: %s", err.msg);
        engine_bench_result_free(&b);
        return 0;
    }
    r->n_metrics = (int)engine_metric_count();
    for (int i = 0; i < r->n_metrics; i++)
        r->metrics[i] = engine_metric_value(engine_metric_at((size_t)i), &b);
    r->output_hash = b.output_tokens_hash;
    r->tokens = (long)w->batch_size * (w->input_len + w->output_len);
    r->ok = true;
    engine_bench_result_free(&b);
    return 0;
}
