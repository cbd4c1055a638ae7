/* The one writer of results.json (docs/RESULTS.md): each section has one
 * function here (the environment and preflight from the facts preflight.c
 * gathers, the metric table, runs with the probes' headline, output
 * agreement), and `bench --json` and `probe --json` use the same ones, so a
 * model, a probe source, a build or a metric reads the same wherever it
 * appears. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness_internal.h"
#include "reports.h"

void harness_json_add_number(cJSON *o, const char *key, double v)
{
    if (isfinite(v)) cJSON_AddNumberToObject(o, key, v);
    else cJSON_AddNullToObject(o, key);
}

void harness_utc_now(char *buf, size_t n)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- pieces shared by several documents ----------------------------- */

void harness_build_describe(char *buf, size_t n)
{
    const harness_build_info *b = &harness_build;
    snprintf(buf, n, "%s (%s%s), %s%s%s, %s", b->version, b->git_commit,
             b->git_dirty > 0 ? ", dirty" : b->git_dirty < 0 ? ", dirty unknown" : "", b->build_type,
             b->sanitizers[0] ? " with sanitizers " : "", b->sanitizers, b->compiler);
}

cJSON *harness_results_build(void)
{
    const harness_build_info *b = &harness_build;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "thermabench_version", b->version);
    cJSON_AddStringToObject(o, "git_commit", b->git_commit);
    if (b->git_dirty < 0) cJSON_AddNullToObject(o, "git_dirty");
    else cJSON_AddBoolToObject(o, "git_dirty", b->git_dirty > 0);
    cJSON_AddStringToObject(o, "compiler", b->compiler);
    cJSON_AddStringToObject(o, "build_type", b->build_type);
    cJSON_AddStringToObject(o, "cflags", b->cflags);
    cJSON_AddStringToObject(o, "sanitizers", b->sanitizers);
    return o;
}

cJSON *harness_results_model(const engine_model *m)
{
    const engine_config *c = &m->cfg;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "source", m->source);
    cJSON_AddStringToObject(o, "format", m->format);
    cJSON_AddStringToObject(o, "dtype", engine_dtype_name(m->layers[0].wq.type));
    cJSON_AddNumberToObject(o, "dim", c->dim);
    cJSON_AddNumberToObject(o, "hidden_dim", c->hidden_dim);
    cJSON_AddNumberToObject(o, "n_layers", c->n_layers);
    cJSON_AddNumberToObject(o, "n_heads", c->n_heads);
    cJSON_AddNumberToObject(o, "n_kv_heads", c->n_kv_heads);
    cJSON_AddNumberToObject(o, "vocab_size", c->vocab_size);
    cJSON_AddNumberToObject(o, "seq_len", c->seq_len);
    cJSON_AddBoolToObject(o, "shared_classifier", c->shared_classifier);
    cJSON_AddNumberToObject(o, "weight_bytes", (double)m->weight_bytes);
    cJSON_AddNumberToObject(o, "decode_bytes_per_step", (double)m->decode_bytes);
    return o;
}

cJSON *harness_results_metric_table(const harness_metric *m, int n)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", m[i].name);
        cJSON_AddStringToObject(o, "unit", m[i].unit);
        cJSON_AddBoolToObject(o, "higher_is_better", m[i].higher_is_better);
        cJSON_AddStringToObject(o, "source", m[i].source);
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

cJSON *harness_results_probe_sources(const probe_set *ps)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; ps && i < probe_set_source_count(ps); i++) {
        const probe_source_status *s = probe_set_source(ps, i);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", s->name);
        cJSON_AddBoolToObject(o, "available", s->available);
        cJSON_AddStringToObject(o, "reason", s->reason);
        cJSON_AddNumberToObject(o, "channels", (double)s->n_channels);
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

static void add_string_or_null(cJSON *o, const char *key, const char *v)
{
    if (v[0]) cJSON_AddStringToObject(o, key, v);
    else cJSON_AddNullToObject(o, key);
}

cJSON *harness_results_environment(const harness_environment *e, const probe_set *ps)
{
    cJSON *o = cJSON_CreateObject();
    add_string_or_null(o, "hostname", e->hostname);
    add_string_or_null(o, "cpu_model", e->cpu_model);
    add_string_or_null(o, "microcode", e->microcode);
    cJSON_AddNumberToObject(o, "cpus_online", (double)e->cpus_online);
    add_string_or_null(o, "kernel", e->kernel);
    add_string_or_null(o, "governor", e->governor);
    add_string_or_null(o, "turbo", e->turbo < 0 ? "" : e->turbo ? "on" : "off");
    if (e->mem_total_bytes > 0) cJSON_AddNumberToObject(o, "mem_total_bytes", (double)e->mem_total_bytes);
    cJSON_AddItemToObject(o, "build", harness_results_build());
    cJSON *kd = cJSON_AddObjectToObject(o, "engine_default_kernels");
    for (int op = 0; op < ENGINE_OP_COUNT; op++) {
        const char *k = engine_kernel_default((engine_op)op, "cpu");
        if (k) cJSON_AddStringToObject(kd, engine_op_name((engine_op)op), k);
    }
    cJSON_AddItemToObject(o, "probes", harness_results_probe_sources(ps));
    return o;
}

cJSON *harness_results_preflight(const harness_preflight *p)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < p->n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "check", p->checks[i].check);
        cJSON_AddStringToObject(o, "status", p->checks[i].status);
        cJSON_AddStringToObject(o, "detail", p->checks[i].detail);
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

static const char *throttle_name(probe_throttle t)
{
    return t == PROBE_THROTTLE_YES ? "yes" : t == PROBE_THROTTLE_NO ? "no" : "unknown";
}

cJSON *harness_results_telemetry(const probe_set *ps, const probe_sampler *s, int mark_begin, int mark_end,
                                 probe_device dev, int temp_channel, double tokens)
{
    probe_phase_summary sum;
    probe_error pe;
    if (!s || mark_begin < 0 || mark_end < 0 || probe_summarize(s, mark_begin, mark_end, &sum, &pe))
        return cJSON_CreateNull();
    probe_headline h;
    probe_phase_headline(ps, &sum, dev, temp_channel, &h);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "device", h.device);
    if (h.temp_channel >= 0) cJSON_AddStringToObject(o, "temp_channel", probe_set_channel(ps, (size_t)h.temp_channel)->name);
    else cJSON_AddNullToObject(o, "temp_channel");
    harness_json_add_number(o, "temp_start_c", h.temp_start_c);
    harness_json_add_number(o, "temp_end_c", h.temp_end_c);
    harness_json_add_number(o, "temp_peak_c", h.temp_peak_c);
    harness_json_add_number(o, "temp_mean_c", h.temp_mean_c);
    harness_json_add_number(o, "power_mean_w", h.power_mean_w);
    harness_json_add_number(o, "energy_j", h.energy_j);
    harness_json_add_number(o, "energy_per_token_j", tokens > 0 ? h.energy_j / tokens : NAN);
    harness_json_add_number(o, "clock_mean_mhz", h.clock_mean_mhz);
    harness_json_add_number(o, "clock_min_mhz", h.clock_min_mhz);
    cJSON_AddStringToObject(o, "throttle", throttle_name(h.throttle));
    cJSON_AddStringToObject(o, "throttle_cause", h.throttle_cause);
    harness_json_add_number(o, "mem_psi_some_us", h.mem_psi_some_us);
    harness_json_add_number(o, "duration_s", h.duration_s);
    if (strcmp(h.device, "cpu")) {
        cJSON *g = cJSON_AddObjectToObject(o, "gpu");
        harness_json_add_number(g, "sm_clock_mean_mhz", h.clock_mean_mhz);
        harness_json_add_number(g, "sm_clock_min_mhz", h.clock_min_mhz);
        harness_json_add_number(g, "mem_clock_mean_mhz", h.mem_clock_mean_mhz);
        harness_json_add_number(g, "mem_clock_min_mhz", h.mem_clock_min_mhz);
        harness_json_add_number(g, "power_limit_w", h.power_limit_w);
        harness_json_add_number(g, "power_of_limit_pct", 100 * h.power_mean_w / h.power_limit_w);
        harness_json_add_number(g, "power_cap_time_ms", h.power_cap_time_ms);
        harness_json_add_number(g, "thermal_cap_time_ms", h.thermal_cap_time_ms);
        harness_json_add_number(g, "util_mean_pct", h.util_mean_pct);
        harness_json_add_number(g, "clock_event_mask", h.clock_event_mask);
        if (isfinite(h.clock_event_mask)) cJSON_AddStringToObject(g, "clock_events", h.clock_events);
        else cJSON_AddNullToObject(g, "clock_events");
    }
    cJSON *chs = cJSON_AddObjectToObject(o, "channels");
    for (size_t i = 0; i < sum.n_channels; i++) {
        const probe_channel_summary *cs = &sum.channels[i];
        const probe_channel *ch = probe_set_channel(ps, (size_t)cs->channel);
        cJSON *co = cJSON_AddObjectToObject(chs, ch->name);
        if (ch->kind == PROBE_COUNTER) {
            harness_json_add_number(co, "delta", cs->delta);
            harness_json_add_number(co, "rate_per_s", cs->rate_per_s);
        } else {
            harness_json_add_number(co, "start", cs->start);
            harness_json_add_number(co, "end", cs->end);
            harness_json_add_number(co, "min", cs->min);
            harness_json_add_number(co, "mean", cs->mean);
            harness_json_add_number(co, "max", cs->max);
        }
    }
    probe_phase_summary_free(&sum);
    return o;
}

/* ---- results.json --------------------------------------------------- */

cJSON *harness_results_new(const harness_config *c, cJSON *environment, cJSON *preflight)
{
    char now[32];
    harness_utc_now(now, sizeof now);
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "schema", "thermabench-results");
    cJSON_AddNumberToObject(d, "schema_version", 1);
    cJSON_AddStringToObject(d, "name", c->name);
    cJSON_AddStringToObject(d, "status", "running");
    cJSON_AddStringToObject(d, "created_utc", now);
    cJSON_AddStringToObject(d, "updated_utc", now);
    cJSON_AddItemToObject(d, "config", harness_config_to_json(c));
    cJSON_AddItemToObject(d, "environment", environment);
    cJSON_AddItemToObject(d, "preflight", preflight);
    harness_metric ms[HARNESS_MAX_WORKLOAD_METRICS];
    int nm = harness_workload_metrics(&c->variants[0].workload, ms, HARNESS_MAX_WORKLOAD_METRICS);
    const harness_metric *pm = &ms[harness_primary_metric_index(c, &c->variants[0].workload)];
    cJSON *po = cJSON_AddObjectToObject(d, "primary_metric");
    cJSON_AddStringToObject(po, "name", pm->name);
    cJSON_AddStringToObject(po, "unit", pm->unit);
    cJSON_AddBoolToObject(po, "higher_is_better", pm->higher_is_better);
    cJSON_AddItemToObject(d, "metrics", harness_results_metric_table(ms, nm));
    cJSON *seeds = cJSON_AddObjectToObject(d, "seeds");
    cJSON_AddNumberToObject(seeds, "order", (double)c->order_seed);
    cJSON_AddNumberToObject(seeds, "engine", (double)c->variants[0].workload.seed);
    cJSON *vs = cJSON_AddArrayToObject(d, "variants");
    for (int i = 0; i < c->n_variants; i++) {
        cJSON *vo = cJSON_CreateObject();
        cJSON_AddStringToObject(vo, "name", c->variants[i].name);
        if (c->variants[i].description[0]) cJSON_AddStringToObject(vo, "description", c->variants[i].description);
        harness_variant_parameters_json(vo, &c->variants[i]);
        cJSON_AddItemToObject(vo, "workload", harness_workload_to_json(&c->variants[i].workload));
        cJSON_AddNullToObject(vo, "engine_kernels");
        cJSON_AddItemToArray(vs, vo);
    }
    cJSON_AddArrayToObject(d, "sessions");
    cJSON_AddObjectToObject(d, "cooldown");
    cJSON_AddArrayToObject(d, "notes");
    cJSON_AddArrayToObject(d, "telemetry_files");
    cJSON_AddArrayToObject(d, "runs");
    cJSON_AddObjectToObject(d, "output_agreement");
    return d;
}

void harness_results_variant_engine(cJSON *doc, int variant, const char *kernels, const engine_model *m)
{
    cJSON *v = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(doc, "variants"), variant);
    if (!v) return;
    if (kernels && kernels[0])
        cJSON_ReplaceItemInObjectCaseSensitive(v, "engine_kernels", cJSON_CreateString(kernels));
    if (m && !cJSON_GetObjectItemCaseSensitive(v, "engine_model"))
        cJSON_AddItemToObject(v, "engine_model", harness_results_model(m));
}

static cJSON *cooldown_json(const harness_cooldown_result *cd)
{
    if (!cd || !cd->done) return cJSON_CreateNull();
    cJSON *co = cJSON_CreateObject();
    harness_json_add_number(co, "waited_s", cd->waited_s);
    harness_json_add_number(co, "temp_start_c", cd->temp_start_c);
    harness_json_add_number(co, "temp_end_c", cd->temp_end_c);
    harness_json_add_number(co, "target_c", cd->target_c);
    cJSON_AddBoolToObject(co, "timed_out", cd->timed_out);
    return co;
}

#define OUTPUT_TAIL_BYTES 2048

/* The last bytes of a stream as a JSON string: valid UTF-8 (invalid bytes and
 * NUL as U+FFFD), with the exact bytes in base64 beside it when anything was
 * replaced; and how many bytes the command wrote in all. */
static void add_output(cJSON *r, const char *name, const harness_capture *c)
{
    char key[64];
    size_t n = c->len > OUTPUT_TAIL_BYTES ? OUTPUT_TAIL_BYTES : c->len;
    const char *start = c->data ? c->data + c->len - n : "";
    /* A character cut by the window's edge is dropped whole, not replaced. */
    if (n < c->len)
        for (int k = 0; k < 3 && n && ((unsigned char)*start & 0xC0) == 0x80; k++) start++, n--;
    bool lossy = false;
    char *text = report_utf8_sanitize(start, n, &lossy);
    snprintf(key, sizeof key, "%s_tail", name);
    cJSON_AddStringToObject(r, key, text ? text : "");
    free(text);
    if (lossy) {
        char *b64 = report_base64((const unsigned char *)start, n);
        snprintf(key, sizeof key, "%s_tail_base64", name);
        cJSON_AddStringToObject(r, key, b64 ? b64 : "");
        free(b64);
    }
    snprintf(key, sizeof key, "%s_bytes", name);
    cJSON_AddNumberToObject(r, key, (double)c->total);
    if (c->omitted) {
        snprintf(key, sizeof key, "%s_omitted_bytes", name);
        cJSON_AddNumberToObject(r, key, (double)c->omitted);
    }
}

static double median_of(double *x, int n)
{
    if (n <= 0) return NAN;
    for (int i = 1; i < n; i++)   /* insertion sort: a few thousand values at most */
        for (int j = i; j > 0 && x[j - 1] > x[j]; j--) {
            double t = x[j];
            x[j] = x[j - 1], x[j - 1] = t;
        }
    return n % 2 ? x[n / 2] : (x[n / 2 - 1] + x[n / 2]) / 2;
}

/* spawn_ms is inside wall_ms (posix_spawn until the program runs), reap_ms
 * and bookkeeping_ms are outside it (after the exit; recording the run and
 * writing results.json). Nothing is subtracted from any metric. */
void harness_results_overhead(cJSON *doc, double *spawn_ms, double *reap_ms, double *bookkeeping_ms, int n)
{
    if (n <= 0) return;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "runs", n);
    harness_json_add_number(o, "spawn_ms_median", median_of(spawn_ms, n));
    harness_json_add_number(o, "reap_ms_median", median_of(reap_ms, n));
    harness_json_add_number(o, "bookkeeping_ms_median", median_of(bookkeeping_ms, n));
    if (cJSON_GetObjectItemCaseSensitive(doc, "harness_overhead"))
        cJSON_ReplaceItemInObjectCaseSensitive(doc, "harness_overhead", o);
    else
        cJSON_AddItemToObject(doc, "harness_overhead", o);
}

cJSON *harness_results_run(const harness_run_entry *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "index", r->index);
    cJSON_AddStringToObject(o, "variant", r->variant);
    cJSON_AddBoolToObject(o, "warmup", r->warmup);
    cJSON_AddNumberToObject(o, "session", r->session);
    cJSON_AddStringToObject(o, "status", r->ok ? "ok" : "failed");
    if (r->ok) cJSON_AddNullToObject(o, "failure");
    else cJSON_AddStringToObject(o, "failure", r->failure);
    cJSON_AddNumberToObject(o, "started_s", r->started_s);
    cJSON_AddNumberToObject(o, "wall_ms", r->wall_ms);
    if (r->exit_status >= 0) cJSON_AddNumberToObject(o, "exit_status", r->exit_status);
    else cJSON_AddNullToObject(o, "exit_status");
    if (r->term_signal) cJSON_AddNumberToObject(o, "term_signal", r->term_signal);
    cJSON *m = cJSON_AddObjectToObject(o, "metrics");
    for (int i = 0; i < r->n_metrics; i++) harness_json_add_number(m, r->metrics[i].name, r->values[i]);
    if (r->have_hash) {
        char hash[32];
        snprintf(hash, sizeof hash, "%016llx", (unsigned long long)r->output_hash);
        cJSON_AddStringToObject(o, "output_tokens_hash", hash);
    } else {
        cJSON_AddNullToObject(o, "output_tokens_hash");
    }
    cJSON_AddItemToObject(o, "telemetry", r->telemetry ? r->telemetry : cJSON_CreateNull());
    cJSON *ph = cJSON_AddObjectToObject(o, "phases");
    if (r->prefill) cJSON_AddItemToObject(ph, "prefill", r->prefill);
    if (r->decode) cJSON_AddItemToObject(ph, "decode", r->decode);
    cJSON_AddItemToObject(o, "cooldown", cooldown_json(r->cooldown));
    if (r->command) {
        harness_json_add_number(o, "spawn_ms", r->command->spawn_ms);
        harness_json_add_number(o, "reap_ms", r->command->reap_ms);
        if (r->command->leftovers_killed) cJSON_AddNumberToObject(o, "leftovers_killed", r->command->leftovers_killed);
        if (r->capture) {
            add_output(o, "stdout", &r->command->out);
            add_output(o, "stderr", &r->command->err);
        }
    }
    return o;
}

static bool comparable(const harness_workload *a, const harness_workload *b)
{
    return a->kind == HARNESS_WORKLOAD_ENGINE && b->kind == HARNESS_WORKLOAD_ENGINE &&
           !strcmp(a->model, b->model) && !strcmp(a->preset, b->preset) && !strcmp(a->dtype, b->dtype) &&
           a->seed == b->seed && a->batch_size == b->batch_size && a->input_len == b->input_len &&
           a->output_len == b->output_len;
}

/* Greedy outputs of every measured run against the variant's first run and
 * the first variant's first run. */
void harness_results_output_agreement(cJSON *doc, const harness_config *c)
{
    const cJSON *runs = cJSON_GetObjectItemCaseSensitive(doc, "runs");
    cJSON *oa = cJSON_CreateObject();
    const char *first_variant_hash = NULL;
    for (int v = 0; v < c->n_variants; v++) {
        const char *first = NULL;
        int n = 0, match_v = 0, match_0 = 0;
        const cJSON *r;
        cJSON_ArrayForEach(r, runs) {
            const cJSON *h = cJSON_GetObjectItemCaseSensitive(r, "output_tokens_hash");
            const cJSON *vn = cJSON_GetObjectItemCaseSensitive(r, "variant");
            if (!cJSON_IsString(h) || !cJSON_IsString(vn)) continue;
            if (!strcmp(vn->valuestring, c->variants[0].name) && !first_variant_hash)
                first_variant_hash = h->valuestring;
            if (strcmp(vn->valuestring, c->variants[v].name)) continue;
            if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "warmup"))) continue;
            if (!first) first = h->valuestring;
            n++;
            match_v += !strcmp(first, h->valuestring);
            match_0 += first_variant_hash && !strcmp(first_variant_hash, h->valuestring);
        }
        if (!n) continue;
        cJSON *o = cJSON_AddObjectToObject(oa, c->variants[v].name);
        cJSON_AddNumberToObject(o, "runs", n);
        cJSON_AddNumberToObject(o, "match_variant_first", match_v);
        if (comparable(&c->variants[v].workload, &c->variants[0].workload) && first_variant_hash)
            cJSON_AddNumberToObject(o, "match_first_variant", match_0);
        else
            cJSON_AddNullToObject(o, "match_first_variant");   /* different inputs: not comparable */
        cJSON_AddBoolToObject(o, "stable", match_v == n);
    }
    cJSON_ReplaceItemInObjectCaseSensitive(doc, "output_agreement", oa);
}

/* ---- bench --json and probe --json ---------------------------------- */

static char *print_and_free(cJSON *o)
{
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}

char *harness_bench_json(const harness_bench_report *b)
{
    const engine_bench_result *r = b->result;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "command", "bench");
    cJSON_AddItemToObject(o, "build", harness_results_build());
    cJSON *m = harness_results_model(b->model);
    if (b->preset) {
        cJSON_AddStringToObject(m, "preset", b->preset);
        cJSON_AddNumberToObject(m, "seed", (double)b->seed);
    }
    cJSON_AddItemToObject(o, "model", m);
    cJSON *c = cJSON_AddObjectToObject(o, "config");
    cJSON_AddNumberToObject(c, "batch_size", b->batch_size);
    cJSON_AddNumberToObject(c, "input_len", b->input_len);
    cJSON_AddNumberToObject(c, "output_len", b->output_len);
    cJSON_AddNumberToObject(c, "warmup", b->warmup);
    cJSON_AddNumberToObject(c, "threads", b->threads);
    cJSON_AddStringToObject(c, "backend", b->backend);
    cJSON_AddStringToObject(c, "kernels", b->kernels);
    cJSON_AddNumberToObject(c, "prompt_seed", (double)b->seed);
    for (size_t i = 0; i < engine_metric_count(); i++) {
        const engine_metric *em = engine_metric_at(i);
        harness_json_add_number(o, em->name, engine_metric_value(em, r));
    }
    cJSON_AddItemToObject(o, "decode_step_ms", cJSON_CreateDoubleArray(r->decode_step_ms, b->output_len));
    cJSON_AddItemToObject(o, "output_tokens", cJSON_CreateIntArray(r->output_tokens, r->n_output_tokens));
    char hash[32];
    snprintf(hash, sizeof hash, "%016llx", (unsigned long long)r->output_tokens_hash);
    cJSON_AddStringToObject(o, "output_tokens_hash", hash);
    if (b->kernel_times) {
        cJSON *kt = cJSON_AddArrayToObject(o, "opencl_kernel_times");
        for (int i = 0; i < b->n_kernel_times; i++) {
            cJSON *k = cJSON_CreateObject();
            cJSON_AddStringToObject(k, "kernel", b->kernel_times[i].name);
            cJSON_AddNumberToObject(k, "calls", (double)b->kernel_times[i].calls);
            cJSON_AddNumberToObject(k, "total_ms", b->kernel_times[i].total_ms);
            cJSON_AddItemToArray(kt, k);
        }
    }
    if (b->roofline) {
        cJSON *rf = cJSON_AddObjectToObject(o, "roofline");
        cJSON_AddNumberToObject(rf, "threads", b->roofline->threads);
        cJSON_AddNumberToObject(rf, "read_gb_per_s", b->roofline->read_gb_per_s);
        cJSON_AddNumberToObject(rf, "fma_gflop_per_s", b->roofline->fma_gflop_per_s);
    }
    return print_and_free(o);
}

char *harness_probe_json(const probe_set *ps, const double *values, const double *rate)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddItemToObject(root, "sources", harness_results_probe_sources(ps));
    cJSON *chans = cJSON_AddArrayToObject(root, "channels");
    for (size_t i = 0; i < probe_set_channel_count(ps); i++) {
        const probe_channel *ch = probe_set_channel(ps, i);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", ch->name);
        cJSON_AddStringToObject(o, "unit", ch->unit);
        cJSON_AddStringToObject(o, "label", ch->label);
        cJSON_AddStringToObject(o, "kind", ch->kind == PROBE_COUNTER ? "counter" : "gauge");
        cJSON_AddStringToObject(o, "tier", ch->tier == PROBE_TIER_SLOW ? "slow" : "fast");
        cJSON_AddStringToObject(o, "source", probe_set_source(ps, (size_t)ch->source)->name);
        harness_json_add_number(o, "value", values[i]);
        if (rate && ch->kind == PROBE_COUNTER) harness_json_add_number(o, "rate_per_s", rate[i]);
        cJSON_AddItemToArray(chans, o);
    }
    cJSON *notes = cJSON_AddArrayToObject(root, "notes");
    for (size_t i = 0; i < probe_set_note_count(ps); i++)
        cJSON_AddItemToArray(notes, cJSON_CreateString(probe_set_note(ps, i)->text));
    return print_and_free(root);
}
