/* Compute path: each scalar op against hand-computed values, the sampler,
 * and the whole forward pass against real models' expected outputs (from
 * independent implementations) at library level: greedy text, batching,
 * and prefill against token-by-token feeding. */
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "kernels.h"
#include "quant.h"
#include "tb_models.h"
#include "tb_test.h"

/* ---- ops against hand-computed values --------------------------------- */

static void test_rmsnorm(void)
{
    const kernel_variant *v = kernel_find(ENGINE_OP_RMSNORM, "scalar");
    float x[4] = {1, 2, 3, 4}, w[4] = {1, 1, 1, 2}, out[4];
    v->fn.rmsnorm(out, x, w, 1, 4, 1e-5f);
    /* ss = 30/4 + 1e-5; out = w * x / sqrt(ss) */
    CHECK_NEAR(out[0], 0.3651481282, 1e-6);
    CHECK_NEAR(out[1], 0.7302962565, 1e-6);
    CHECK_NEAR(out[2], 1.0954443847, 1e-6);
    CHECK_NEAR(out[3], 2.9211850259, 1e-6);
}

static void test_rope(void)
{
    const kernel_variant *v = kernel_find(ENGINE_OP_ROPE, "scalar");
    /* head_dim 4 at pos 1: pair 0 turns by 1 rad, pair 1 by 1/10000^(2/4) = 0.01 rad */
    float q[4] = {1, 0, 0, 1}, k[2] = {1, 2};
    int pos = 1;
    v->fn.rope(q, k, 1, &pos, 4, 2, &(kernel_rope_params){.head_dim = 4, .theta = 10000.0f});
    CHECK_NEAR(q[0], 0.5403023059, 1e-6);
    CHECK_NEAR(q[1], 0.8414709848, 1e-6);
    CHECK_NEAR(q[2], -0.0099998333, 1e-6);
    CHECK_NEAR(q[3], 0.9999500004, 1e-6);
    CHECK_NEAR(k[0], -1.1426396637, 1e-6);
    CHECK_NEAR(k[1], 1.9220755965, 1e-6);
    int pos0 = 0;
    float q0[2] = {3, 4}, k0[2] = {5, 6};
    v->fn.rope(q0, k0, 1, &pos0, 2, 2, &(kernel_rope_params){.head_dim = 2, .theta = 10000.0f});  /* position 0: no rotation */
    CHECK_NEAR(q0[0], 3, 1e-7);
    CHECK_NEAR(k0[1], 6, 1e-7);
}

static void test_attention(void)
{
    const kernel_variant *v = kernel_find(ENGINE_OP_ATTENTION, "scalar");
    /* two query heads sharing one kv head (GQA); head_dim 2; positions 0, 1 */
    float kc[4] = {1, 0, 0, 1}, vc[4] = {1, 2, 3, 4};
    float q[2 * 4] = {9, 9, 9, 9, 1, 0, 1, 0}; /* token 0 (pos 0), token 1 (pos 1) */
    float out[8], scratch[2 * 2 * 2];
    int pos[2] = {0, 1};
    kernel_attention_args a = {.n = 2, .q = q, .out = out, .k_cache = kc, .v_cache = vc, .pos = pos,
                               .n_heads = 2, .n_kv_heads = 1, .head_dim = 2, .kv_stride = 2, .seq_len = 2,
                               .scratch = scratch};
    v->fn.attention(&a, NULL);
    /* pos 0 sees only v0 */
    CHECK_NEAR(out[0], 1, 1e-6);
    CHECK_NEAR(out[1], 2, 1e-6);
    CHECK_NEAR(out[3], 2, 1e-6);
    /* pos 1: scores (1/sqrt2, 0), softmax, weighted sum of v0 and v1 */
    CHECK_NEAR(out[4], 1.6604769013, 1e-6);
    CHECK_NEAR(out[5], 2.6604769013, 1e-6);
    CHECK_NEAR(out[6], 1.6604769013, 1e-6);
    CHECK_NEAR(out[7], 2.6604769013, 1e-6);
}

static void test_swiglu(void)
{
    const kernel_variant *v = kernel_find(ENGINE_OP_SWIGLU, "scalar");
    float g[3] = {1, -2, 0}, u[3] = {2, 3, 5};
    v->fn.swiglu(g, u, 3);
    CHECK_NEAR(g[0], 1.4621171573, 1e-6);
    CHECK_NEAR(g[1], -0.7152175321, 1e-6);
    CHECK_NEAR(g[2], 0, 1e-7);
}

/* W (3 x 4, zero-padded to 32 columns for the block types) times x; the
 * K-quants (blocks of 256) are covered by test_engine_kernels. */
static void test_matmul(void)
{
    const kernel_variant *v = kernel_find(ENGINE_OP_MATMUL, "scalar");
    enum { ROWS = 3, COLS = 32 };
    float w[ROWS][COLS] = {{1, 2, 3, 4}, {-1, 0.5f, 0, 2}, {0, 0, 1, -3}};
    float x[2][COLS] = {{1, 1, 2, 0.5f}, {0, 1, 0, 0}};
    const double exact[2][ROWS] = {{11, 0.5, 0.5}, {2, 0.5, 0}};
    const double tol[ENGINE_DTYPE_Q4_0 + 1] = {1e-6, 1e-6, 1e-6, 0.1, 0.6};
    for (int t = 0; t < ENGINE_DTYPE_COUNT; t++) {
        if (engine_dtype_block((engine_dtype)t) > COLS)
            continue;
        unsigned char buf[ROWS * COLS * 4];
        size_t row_bytes = engine_dtype_bytes((engine_dtype)t, COLS);
        for (int r = 0; r < ROWS; r++)
            engine_quantize_row((engine_dtype)t, w[r], buf + r * row_bytes, COLS);
        engine_tensor wt = {.type = (engine_dtype)t, .rows = ROWS, .cols = COLS, .data = buf};
        float out[2][ROWS];
        v->fn.matmul(&out[0][0], &x[0][0], &wt, 2, NULL);
        for (int r = 0; r < ROWS; r++) {
            float deq[COLS];
            engine_dequantize_row((engine_dtype)t, buf + r * row_bytes, deq, COLS);
            for (int n = 0; n < 2; n++) {
                double want = 0;
                for (int c = 0; c < COLS; c++)
                    want += (double)deq[c] * x[n][c];
                CHECKF(fabs(out[n][r] - want) < 1e-5, "%s row %d token %d: %g vs %g",
                       engine_dtype_name((engine_dtype)t), r, n, out[n][r], want);
                CHECKF(fabs(out[n][r] - exact[n][r]) <= tol[t], "%s row %d token %d: %g vs exact %g",
                       engine_dtype_name((engine_dtype)t), r, n, out[n][r], exact[n][r]);
            }
        }
    }
}

static void test_registry(void)
{
    CHECK(engine_kernel_count() >= ENGINE_OP_COUNT);
    for (int op = 0; op < ENGINE_OP_COUNT; op++) {
        CHECK(kernel_find((engine_op)op, "scalar") != NULL);
        CHECK(engine_kernel_default((engine_op)op, "cpu") != NULL);
    }
    CHECK(kernel_find(ENGINE_OP_MATMUL, "no-such-kernel") == NULL);
    CHECK_STR(engine_op_name(ENGINE_OP_SWIGLU), "swiglu");
    engine_options o;
    engine_error err;
    engine_options_default(&o);
    CHECK(engine_options_add_kernel(&o, "matmul=scalar", &err) == 0);
    CHECK(engine_options_add_kernel(&o, "matmul=nope", &err) == -1 && err.kind == ENGINE_ERR_INPUT);
    CHECK(strstr(err.msg, "nope") != NULL);
    CHECK(engine_options_add_kernel(&o, "frobnicate=scalar", &err) == -1 && err.kind == ENGINE_ERR_INPUT);
    CHECK(strstr(err.msg, "frobnicate") != NULL);
    CHECK(engine_options_add_kernel(&o, "matmul", &err) == -1);
    CHECK(o.n_kernel_choices == 1);
}

static void test_sampler(void)
{
    engine_sampler s;
    float logits[5] = {1, 3, 3, 2, -1};
    engine_sampler_init(&s, 0, 1, 42);
    CHECK(engine_sample(&s, logits, 5) == 1);  /* first maximum wins */
    /* a tiny top-p keeps only the most likely token */
    engine_sampler_init(&s, 1.0f, 0.01f, 7);
    float peaked[4] = {0, 10, 0, 0};
    CHECK(engine_sample(&s, peaked, 4) == 1);
    /* same seed, same draws */
    engine_sampler a, b;
    engine_sampler_init(&a, 1.0f, 1.0f, 123);
    engine_sampler_init(&b, 1.0f, 1.0f, 123);
    float flat[8] = {0};
    int same = 1, seen[8] = {0};
    for (int i = 0; i < 200; i++) {
        int x = engine_sample(&a, flat, 8), y = engine_sample(&b, flat, 8);
        same &= x == y;
        if (x >= 0 && x < 8)
            seen[x] = 1;
    }
    CHECK(same);
    int n_seen = 0;
    for (int i = 0; i < 8; i++)
        n_seen += seen[i];
    CHECK(n_seen == 8);  /* a uniform distribution reaches every token in 200 draws */
}

/* ---- real models ------------------------------------------------------ */

static int models_present;

/* The reference path: every op on its scalar variant. */
static void pin_scalar(engine_options *o)
{
    engine_error err;
    const char *ops[] = {"matmul=scalar", "attention=scalar", "rmsnorm=scalar", "rope=scalar", "swiglu=scalar"};
    for (int i = 0; i < 5; i++)
        CHECKF(engine_options_add_kernel(o, ops[i], &err) == 0, "%s", err.msg);
}

static void test_expected_outputs(void)
{
    for (size_t i = 0; i < TB_N_MODEL_CASES; i++) {
        const tb_model_case *c = &tb_model_cases[i];
        static char want[8192];
        long want_len = tb_read_into(c->expected, want, sizeof want);
        if (want_len < 0) {
            fprintf(stderr, "skip: %s missing\n", c->expected);
            continue;
        }
        models_present++;
        engine_error err = {0};
        engine_model *m = NULL;
        engine_tokenizer *t = NULL;
        engine_session *s = NULL;
        CHECKF(engine_model_load(c->model, &m, &err) == 0, "%s", err.msg);
        if (!m)
            continue;
        if (c->tokenizer)
            CHECKF(engine_tokenizer_load(c->tokenizer, m->cfg.vocab_size, &t, &err) == 0, "%s", err.msg);
        engine_options o;
        engine_options_default(&o);
        o.threads = 1;
        o.max_seq_len = c->steps;  /* the GGUF declares a context of 128 */
        pin_scalar(&o);
        CHECKF(engine_session_create(m, &o, &s, &err) == 0, "%s", err.msg);
        if (s) {
            CHECK_STR(engine_session_kernels(s), "matmul=scalar attention=scalar rmsnorm=scalar rope=scalar swiglu=scalar");
            engine_sampler sp;
            engine_sampler_init(&sp, 0, 1, 1);
            tb_text out = {.len = 0};
            CHECKF(engine_generate(s, t, c->prompt, c->steps, 0, &sp, tb_text_append, &out, NULL, 0, NULL, &err) == 0,
                   "%s", err.msg);
            tb_text_append(&out, "\n", 1);
            CHECKF(out.len == (size_t)want_len && !memcmp(out.data, want, out.len),
                   "%s prompt '%s': got %zu bytes:\n%.*s", c->model, c->prompt, out.len, (int)out.len, out.data);
        }
        engine_session_free(s);
        engine_tokenizer_free(t);
        engine_model_free(m);
    }
}

static int argmax(const float *x, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best])
            best = i;
    return best;
}

static engine_session *new_session(const engine_model *m, int max_batch)
{
    engine_options o;
    engine_error err;
    engine_session *s = NULL;
    engine_options_default(&o);
    o.threads = 1;
    o.max_batch = max_batch;
    o.max_seq_len = 512;
    pin_scalar(&o);
    CHECKF(engine_session_create(m, &o, &s, &err) == 0, "%s", err.msg);
    return s;
}

/* Greedy continuation of one prompt fed token by token (no batching). */
static void decode_alone(const engine_model *m, const int *prompt, int n, int steps, int *out)
{
    engine_session *s = new_session(m, 1);
    engine_error err;
    float *logits = malloc(m->cfg.vocab_size * sizeof *logits);
    int seq = 0, tok = 0;
    for (int p = 0; p < n + steps - 1; p++) {
        tok = p < n ? prompt[p] : out[p - n];
        engine_batch b = {.n = 1, .token = &tok, .seq = &seq, .pos = &p};
        CHECKF(engine_forward(s, &b, logits, &err) == 0, "%s", err.msg);
        if (p >= n - 1)
            out[p - n + 1] = argmax(logits, m->cfg.vocab_size);
    }
    free(logits);
    engine_session_free(s);
}

/* Three prompts of different lengths, interleaved in one prefill batch, then
 * decoded together: each must produce what it produces alone. */
static void test_batch(engine_model *m)
{
    enum { STEPS = 24 };
    static const int pa[] = {1, 400, 30}, pb[] = {1, 12, 100, 200, 7}, pc[] = {1};
    const int *prompts[3] = {pa, pb, pc};
    const int lens[3] = {3, 5, 1};
    int alone[3][STEPS], together[3][STEPS];
    for (int q = 0; q < 3; q++)
        decode_alone(m, prompts[q], lens[q], STEPS, alone[q]);

    /* order A0 B0 C0 A1 B1 A2 B2 B3 B4: the last tokens are C (2), A (5), B (8) */
    int tok[9], seq[9], pos[9], n = 0, next[3] = {0, 0, 0};
    for (int p = 0; p < 5; p++)
        for (int q = 0; q < 3; q++)
            if (p < lens[q]) {
                tok[n] = prompts[q][p], seq[n] = q, pos[n] = p;
                n++;
            }
    engine_session *s = new_session(m, 3);
    engine_error err;
    int V = m->cfg.vocab_size;
    float *logits = malloc(3 * V * sizeof *logits);
    engine_batch b = {.n = n, .token = tok, .seq = seq, .pos = pos};
    CHECKF(engine_forward(s, &b, logits, &err) == 0, "%s", err.msg);
    together[2][0] = argmax(logits, V);
    together[0][0] = argmax(logits + V, V);
    together[1][0] = argmax(logits + 2 * V, V);
    for (int i = 1; i < STEPS; i++) {
        for (int q = 0; q < 3; q++) {
            next[q] = together[q][i - 1];
            seq[q] = q;
            pos[q] = lens[q] + i - 1;
        }
        engine_batch d = {.n = 3, .token = next, .seq = seq, .pos = pos};
        CHECKF(engine_forward(s, &d, logits, &err) == 0, "%s", err.msg);
        for (int q = 0; q < 3; q++)
            together[q][i] = argmax(logits + q * V, V);
    }
    for (int q = 0; q < 3; q++)
        CHECKF(!memcmp(alone[q], together[q], sizeof alone[q]), "sequence %d decodes differently in a batch", q);
    free(logits);
    engine_session_free(s);
}

/* One prefill batch (longer than a forward chunk) against feeding the same
 * tokens one at a time: the logits at every position agree. */
static void test_prefill_matches_stepwise(engine_model *m)
{
    enum { N = 300 };
    int V = m->cfg.vocab_size, tok[N], seq[N], pos[N];
    bool want[N];
    uint32_t r = 12345;
    for (int i = 0; i < N; i++) {
        r = r * 1103515245u + 12345u;
        tok[i] = i ? (int)((r >> 8) % (uint32_t)V) : 1;
        seq[i] = 0, pos[i] = i, want[i] = true;
    }
    float *batch = malloc((size_t)N * V * sizeof *batch), *one = malloc(V * sizeof *one);
    engine_session *s = new_session(m, 1);
    engine_error err;
    engine_batch b = {.n = N, .token = tok, .seq = seq, .pos = pos, .want_logits = want};
    CHECKF(engine_forward(s, &b, batch, &err) == 0, "%s", err.msg);
    engine_session_reset(s, -1);
    double worst = 0;
    for (int i = 0; i < N; i++) {
        engine_batch t = {.n = 1, .token = &tok[i], .seq = &seq[i], .pos = &pos[i]};
        CHECKF(engine_forward(s, &t, one, &err) == 0, "%s", err.msg);
        for (int v = 0; v < V; v++) {
            double d = fabs(batch[(size_t)i * V + v] - one[v]) / fmax(1.0, fabs(one[v]));
            if (d > worst)
                worst = d;
        }
    }
    CHECKF(worst <= 1e-4, "worst relative logit difference %g", worst);
    free(batch);
    free(one);
    engine_session_free(s);
}

static void test_errors(engine_model *m)
{
    engine_options o;
    engine_error err;
    engine_session *s = NULL;
    engine_options_default(&o);
    strcpy(o.backend, "tpu");
    CHECK(engine_session_create(m, &o, &s, &err) == -1 && err.kind == ENGINE_ERR_INPUT && s == NULL);
    CHECK(strstr(err.msg, "tpu") != NULL);
    s = new_session(m, 2);
    if (!s)
        return;
    float *logits = malloc(2 * m->cfg.vocab_size * sizeof *logits);
    int tok[2] = {1, 5}, seq[2] = {0, 0}, pos[2] = {0, 2};
    engine_batch gap = {.n = 2, .token = tok, .seq = seq, .pos = pos};
    CHECK(engine_forward(s, &gap, logits, &err) == -1 && err.kind == ENGINE_ERR_INPUT);
    pos[1] = 1, tok[1] = m->cfg.vocab_size;
    CHECK(engine_forward(s, &gap, logits, &err) == -1 && strstr(err.msg, "vocabulary"));
    tok[1] = 5, seq[1] = 2;
    CHECK(engine_forward(s, &gap, logits, &err) == -1 && strstr(err.msg, "sequence"));
    seq[1] = 1, pos[1] = 0;
    CHECKF(engine_forward(s, &gap, logits, &err) == 0, "%s", err.msg);
    engine_sampler sp;
    engine_sampler_init(&sp, 0, 1, 1);
    CHECK(engine_generate(s, m->tokenizer, "x", 0, 0, &sp, NULL, NULL, NULL, 0, NULL, &err) == -1);
    free(logits);
    engine_session_free(s);
}

/* Each row of the metric table reads the field its name says: a row whose
 * name and field disagree (two rows' names swapped) fails here, whatever
 * the rows' order. Every field gets its own value. */
static void test_metric_table(void)
{
    engine_bench_result r;
    memset(&r, 0, sizeof r);
    const struct {
        const char *name;
        double *field;
    } expect[] = {
        {"decode_tokens_per_s", &r.decode_tokens_per_s}, {"prefill_tokens_per_s", &r.prefill_tokens_per_s},
        {"total_tokens_per_s", &r.total_tokens_per_s}, {"decode_step_median_ms", &r.decode_step_median_ms},
        {"prefill_ms", &r.prefill_ms}, {"decode_ms", &r.decode_ms}, {"total_ms", &r.total_ms},
        {"decode_gb_per_s", &r.decode_gb_per_s}, {"prefill_gflop_per_s", &r.prefill_gflop_per_s},
        {"peak_rss_bytes", &r.peak_rss_bytes},
    };
    size_t n = sizeof expect / sizeof expect[0];
    for (size_t i = 0; i < n; i++)
        *expect[i].field = 1000.0 + (double)i;
    CHECK(engine_metric_count() == n);
    for (size_t i = 0; i < n; i++) {
        const engine_metric *m = engine_metric_find(expect[i].name);
        CHECKF(m && engine_metric_value(m, &r) == 1000.0 + (double)i, "metric %s reads another field",
               expect[i].name);
    }
    for (size_t i = 0; i < engine_metric_count(); i++) {
        const engine_metric *m = engine_metric_at(i);
        CHECKF(engine_metric_find(m->name) == m, "metric %s: listed twice", m->name);
        CHECK(m->unit[0] && m->source[0]);
    }
    CHECK(engine_metric_at(engine_metric_count()) == NULL && engine_metric_find("tps2") == NULL);
}

int main(void)
{
    test_rmsnorm();
    test_rope();
    test_attention();
    test_swiglu();
    test_matmul();
    test_registry();
    test_sampler();
    test_expected_outputs();
    test_metric_table();
    engine_model *m = NULL;
    engine_error err;
    if (engine_model_load(TB_SHARED_DIR "/models/stories260K/model.gguf", &m, &err) == 0) {
        test_batch(m);
        test_prefill_matches_stepwise(m);
        test_errors(m);
        engine_model_free(m);
    } else
        fprintf(stderr, "skip: model tests: %s\n", err.msg);
    TB_MAIN_END();
}
