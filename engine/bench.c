/* The bench_one_batch measurement (as sglang's): a shorter warm-up pass,
 * then prefill of batch_size sequences x input_len tokens in one forward,
 * then output_len decode steps of batch_size tokens each, every step timed.
 * Prompts are seeded random ids; decoding is greedy so that the output ids
 * can be compared across kernels and runs. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "session.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static uint64_t xorshift(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1Dull;
}

typedef struct bench_buffers {
    int *token, *seq, *pos, *next;
    float *logits;
} bench_buffers;

static void phase(const engine_bench_params *p, const char *name, bool begin)
{
    if (p->on_phase)
        p->on_phase(p->phase_ctx, name, begin);
}

/* One prefill + decode pass. With r == NULL (warm-up) nothing is recorded. */
static int run_once(engine_session *s, const engine_bench_params *p, bench_buffers *bb, int B, int I, int O,
                    engine_bench_result *r, engine_error *err)
{
    const int vocab = session_model(s)->cfg.vocab_size;
    uint64_t rng = p->seed ? p->seed : 0x9e3779b97f4a7c15ull;
    for (int b = 0; b < B; b++)
        for (int i = 0; i < I; i++) {
            int t = b * I + i;
            bb->token[t] = (int)(xorshift(&rng) % (uint64_t)vocab);
            bb->seq[t] = b;
            bb->pos[t] = i;
        }
    engine_session_reset(s, -1);
    engine_batch pre = {.n = B * I, .token = bb->token, .seq = bb->seq, .pos = bb->pos, .want_logits = NULL};
    /* Clocks are read inside the phase callbacks, so the caller's marks
     * (telemetry snapshots) never count as prefill or decode time. Picking
     * the next tokens counts, as in bench_one_batch. */
    if (r)
        phase(p, "prefill", true);
    double t0 = now_ms();
    if (engine_forward(s, &pre, bb->logits, err))
        return -1;
    for (int b = 0; b < B; b++) {
        bb->next[b] = engine_argmax(bb->logits + (size_t)b * vocab, vocab);
        bb->seq[b] = b;
    }
    double t1 = now_ms();
    if (r) {
        r->prefill_ms = t1 - t0;
        phase(p, "prefill", false);
        phase(p, "decode", true);
    }
    double d0 = now_ms();
    for (int i = 0; i < O; i++) {
        for (int b = 0; b < B; b++) {
            bb->pos[b] = I + i;
            bb->token[b] = bb->next[b];
            if (r)
                r->output_tokens[b * O + i] = bb->next[b];
        }
        engine_batch step = {.n = B, .token = bb->token, .seq = bb->seq, .pos = bb->pos, .want_logits = NULL};
        double s0 = now_ms();
        if (engine_forward(s, &step, bb->logits, err))
            return -1;
        for (int b = 0; b < B; b++)
            bb->next[b] = engine_argmax(bb->logits + (size_t)b * vocab, vocab);
        if (r)
            r->decode_step_ms[i] = now_ms() - s0;
    }
    double d1 = now_ms();
    if (r) {
        phase(p, "decode", false);
        r->decode_ms = d1 - d0;
        r->total_ms = r->prefill_ms + r->decode_ms;
    }
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(const double *v, int n)
{
    double *tmp = malloc(n * sizeof *tmp);
    if (!tmp)
        return v[0];
    memcpy(tmp, v, n * sizeof *tmp);
    qsort(tmp, n, sizeof *tmp, cmp_double);
    double m = n % 2 ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2;
    free(tmp);
    return m;
}

/* Multiply-adds per token in the layers, and in the classifier. */
static void matmul_params(const engine_model *m, double *layer, double *classifier)
{
    *layer = 0;
    for (int l = 0; l < m->cfg.n_layers; l++) {
        const engine_layer *L = &m->layers[l];
        const engine_tensor *ts[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w1, &L->w2, &L->w3};
        for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++)
            *layer += (double)ts[i]->rows * ts[i]->cols;
    }
    *classifier = (double)m->classifier.rows * m->classifier.cols;
}

/* fnv1a64 over the ids as little-endian int32: the output-agreement check
 * compares these hashes between runs. */
static uint64_t fnv1a64(const int *ids, int n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (int i = 0; i < n; i++)
        for (int b = 0; b < 4; b++) {
            h ^= ((uint32_t)ids[i] >> (8 * b)) & 0xff;
            h *= 0x100000001b3ULL;
        }
    return h;
}

static void fill_figures(const engine_model *m, int B, int I, int O, engine_bench_result *r)
{
    double layer, cls;
    matmul_params(m, &layer, &cls);
    r->prefill_tokens_per_s = B * I / (r->prefill_ms / 1e3);
    r->decode_tokens_per_s = B * O / (r->decode_ms / 1e3);
    r->decode_step_median_ms = median(r->decode_step_ms, O);
    r->total_tokens_per_s = B * (double)(I + O) / (r->total_ms / 1e3);
    r->decode_gb_per_s = m->decode_bytes / 1e9 / (r->decode_step_median_ms / 1e3);
    /* only the last token of each sequence goes through the classifier */
    r->prefill_gflop_per_s = 2.0 * (layer * B * I + cls * B) / 1e9 / (r->prefill_ms / 1e3);
    struct rusage ru;
    r->peak_rss_bytes = getrusage(RUSAGE_SELF, &ru) == 0 ? (double)ru.ru_maxrss * 1024 : NAN;
    r->output_tokens_hash = fnv1a64(r->output_tokens, r->n_output_tokens);
}

static int bench_error(engine_error *err, engine_error_kind kind, const char *msg)
{
    err->kind = kind;
    snprintf(err->msg, sizeof err->msg, "%s", msg);
    return -1;
}

int engine_bench(engine_session *s, const engine_bench_params *p, engine_bench_result *r, engine_error *err)
{
    const engine_model *m = session_model(s);
    const int B = p->batch_size, I = p->input_len, O = p->output_len;
    memset(r, 0, sizeof *r);
    if (B < 1 || B > session_max_batch(s)) {
        snprintf(err->msg, sizeof err->msg, "bench: batch size %d outside [1, the session's max_batch %d]", B,
                 session_max_batch(s));
        err->kind = ENGINE_ERR_INPUT;
        return -1;
    }
    if (I < 1 || O < 1)
        return bench_error(err, ENGINE_ERR_INPUT, "bench: input and output lengths must be at least 1");
    if ((long)I + O > session_max_seq_len(s)) {
        snprintf(err->msg, sizeof err->msg, "bench: input_len %d + output_len %d exceeds the context length %d",
                 I, O, session_max_seq_len(s));
        err->kind = ENGINE_ERR_INPUT;
        return -1;
    }
    size_t tokens = (size_t)B * I;
    bench_buffers bb = {
        .token = malloc(tokens * sizeof(int)), .seq = malloc(tokens * sizeof(int)),
        .pos = malloc(tokens * sizeof(int)), .next = malloc(B * sizeof(int)),
        .logits = malloc((size_t)B * m->cfg.vocab_size * sizeof(float)),
    };
    r->decode_step_ms = calloc(O, sizeof(double));
    r->output_tokens = calloc((size_t)B * O, sizeof(int));
    r->n_output_tokens = B * O;
    int rc = -1;
    if (!bb.token || !bb.seq || !bb.pos || !bb.next || !bb.logits || !r->decode_step_ms || !r->output_tokens) {
        bench_error(err, ENGINE_ERR_SYSTEM, "bench: out of memory");
        goto done;
    }
    /* Warm-up: shorter (at most 32 prompt tokens, 4 decode steps) */
    for (int w = 0; w < p->warmup; w++)
        if (run_once(s, p, &bb, B, I < 32 ? I : 32, O < 4 ? O : 4, NULL, err))
            goto done;
    if (run_once(s, p, &bb, B, I, O, r, err))
        goto done;
    fill_figures(m, B, I, O, r);
    rc = 0;
done:
    free(bb.token);
    free(bb.seq);
    free(bb.pos);
    free(bb.next);
    free(bb.logits);
    if (rc)
        engine_bench_result_free(r);
    return rc;
}

void engine_bench_result_free(engine_bench_result *r)
{
    free(r->decode_step_ms);
    free(r->output_tokens);
    r->decode_step_ms = NULL;
    r->output_tokens = NULL;
    r->n_output_tokens = 0;
}

#define ROW(field, unit, hib, source) {#field, unit, hib, source, offsetof(engine_bench_result, field)}
static const engine_metric metrics[] = {
    ROW(decode_tokens_per_s, "tokens/s", true, "batch x output_len tokens / decode time (all steps)"),
    ROW(prefill_tokens_per_s, "tokens/s", true, "batch x input_len tokens / prefill time"),
    ROW(total_tokens_per_s, "tokens/s", true, "batch x (input_len + output_len) tokens / (prefill + decode) time"),
    ROW(decode_step_median_ms, "ms", false, "median of the decode steps' times"),
    ROW(prefill_ms, "ms", false, "prefill forward pass, wall clock"),
    ROW(decode_ms, "ms", false, "all decode steps, wall clock"),
    ROW(total_ms, "ms", false, "prefill and decode, wall clock"),
    ROW(decode_gb_per_s, "GB/s", true, "matrix bytes read per decoded token / median decode step time"),
    ROW(prefill_gflop_per_s, "GFLOP/s", true, "2 x matrix multiply-adds of the prefill / prefill time"),
    ROW(peak_rss_bytes, "bytes", false, "peak resident set of the process (getrusage ru_maxrss)"),
};
#undef ROW

size_t engine_metric_count(void) { return sizeof metrics / sizeof metrics[0]; }

const engine_metric *engine_metric_at(size_t i) { return i < engine_metric_count() ? &metrics[i] : NULL; }

const engine_metric *engine_metric_find(const char *name)
{
    for (size_t i = 0; i < engine_metric_count(); i++)
        if (!strcmp(metrics[i].name, name))
            return &metrics[i];
    return NULL;
}

double engine_metric_value(const engine_metric *m, const engine_bench_result *r)
{
    double v;
    memcpy(&v, (const char *)r + m->offset, sizeof v);
    return v;
}
