/* The OpenCL backend against independent oracles: the shared models'
 * greedy outputs (written by other implementations), for every decode
 * matmul and attention variant; and logits of a small random model in f32, f16 and q8_0
 * against a host forward pass written here from llama2.c's run.c. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "quant.h"
#include "tb_models.h"
#include "tb_test.h"

static const char *const matmul_variants[] = {"cl_rowgroup", "cl_rowitem", "cl_tiled"};
/* cl_split runs decode only (prefill stays on cl_attention): chunks of 32
 * positions, so the greedy cases run contexts shorter than one chunk and
 * spanning several. */
static const char *const attention_variants[] = {"cl_attention", "cl_split"};

/* OpenCL options with the two choices. */
static void cl_options(engine_options *o, const char *matmul, const char *attention)
{
    engine_options_default(o);
    strcpy(o->backend, "opencl");
    char choice[64];
    engine_error err = {0};
    snprintf(choice, sizeof choice, "matmul=%s", matmul);
    CHECKF(engine_options_add_kernel(o, choice, &err) == 0, "%s", err.msg);
    snprintf(choice, sizeof choice, "attention=%s", attention);
    CHECKF(engine_options_add_kernel(o, choice, &err) == 0, "%s", err.msg);
}

static void test_greedy_outputs(void)
{
    for (size_t i = 0; i < TB_N_MODEL_CASES; i++) {
        static char want[8192];
        long want_len = tb_read_into(tb_model_cases[i].expected, want, sizeof want);
        CHECKF(want_len > 0, "missing %s", tb_model_cases[i].expected);
        engine_error err = {0};
        engine_model *m = NULL;
        engine_tokenizer *t = NULL;
        CHECKF(engine_model_load(tb_model_cases[i].model, &m, &err) == 0, "%s", err.msg);
        if (!m || want_len <= 0)
            continue;
        if (tb_model_cases[i].tokenizer)
            CHECKF(engine_tokenizer_load(tb_model_cases[i].tokenizer, m->cfg.vocab_size, &t, &err) == 0, "%s", err.msg);
        for (int v = 0; v < 6; v++) {
            const char *mv = matmul_variants[v % 3], *av = attention_variants[v / 3];
            engine_options o;
            cl_options(&o, mv, av);
            o.max_seq_len = tb_model_cases[i].steps;
            engine_session *s = NULL;
            CHECKF(engine_session_create(m, &o, &s, &err) == 0, "%s", err.msg);
            if (!s)
                continue;
            CHECK(strstr(engine_session_kernels(s), mv) != NULL && strstr(engine_session_kernels(s), av) != NULL);
            engine_sampler sp;
            engine_sampler_init(&sp, 0, 1, 1);
            static tb_text out;
            out.len = 0;
            CHECKF(engine_generate(s, t, tb_model_cases[i].prompt, tb_model_cases[i].steps, 0, &sp, tb_text_append, &out,
                                   NULL, 0, NULL, &err) == 0, "%s", err.msg);
            tb_text_append(&out, "\n", 1);
            CHECKF(out.len == (size_t)want_len && !memcmp(out.data, want, out.len),
                   "%s '%s' %s %s: got %zu bytes:\n%.*s", tb_model_cases[i].model, tb_model_cases[i].prompt, mv, av, out.len,
                   (int)out.len, out.data);
            engine_session_free(s);
        }
        engine_tokenizer_free(t);
        engine_model_free(m);
    }
}

/* ---- a small random model against a host forward pass ------------------ */

/* Head size 32 and up to 128 positions (test_long_context uses 111); two
 * heads share a key/value head. */
enum { DIM = 64, HID = 96, LAYERS = 2, HEADS = 2, KV_HEADS = 1, VOCAB = 96, SEQ = 128 };
/* A context above the backend's 4096-position limit for attention scores in
 * local memory, so the global-memory attention kernel runs too. */
#define LONG_SEQ 4200
#define HS (DIM / HEADS)
#define KVD (KV_HEADS * HS)

static float half_to_float(uint16_t h)
{
    int e = (h >> 10) & 31, m = h & 1023;
    float v = e == 0 ? ldexpf((float)m, -24) : ldexpf((float)(m + 1024), e - 25);
    return h & 0x8000 ? -v : v;
}

typedef struct synth {
    engine_model m;
    engine_layer layers[LAYERS];
    void *store[LAYERS * 7 + 2];
    float norms[2 * LAYERS + 1][DIM];
    int n_store;
} synth;

static uint64_t rng = 88172645463325252ull;
static float frand(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (float)((rng >> 40) / (double)(1 << 24)) - 0.5f;
}

/* A rows x cols matrix of type t from random values. */
static engine_tensor make(synth *s, engine_dtype t, int rows, int cols)
{
    float *f = malloc(sizeof(float) * rows * cols);
    for (int i = 0; i < rows * cols; i++)
        f[i] = frand() * 0.6f;
    void *data = f;
    if (t == ENGINE_DTYPE_F16) {
        uint16_t *h = malloc(2 * (size_t)rows * cols);
        for (int i = 0; i < rows * cols; i++)
            h[i] = engine_f32_to_f16(f[i]);
        free(f);
        data = h;
    } else if (t == ENGINE_DTYPE_Q8_0) {
        block_q8_0 *q = malloc(sizeof(block_q8_0) * rows * cols / QK8_0);
        engine_quantize_q8_0(f, q, (int64_t)rows * cols);
        free(f);
        data = q;
    }
    s->store[s->n_store++] = data;
    return (engine_tensor){t, rows, cols, data};
}

static void synth_init(synth *s, engine_dtype t)
{
    memset(s, 0, sizeof *s);
    s->m.cfg = (engine_config){.dim = DIM, .hidden_dim = HID, .n_layers = LAYERS, .n_heads = HEADS, .n_kv_heads = KV_HEADS,
                               .vocab_size = VOCAB, .seq_len = SEQ, .rope_theta = 10000.0f, .norm_eps = 1e-5f};
    for (int i = 0; i < 2 * LAYERS + 1; i++)
        for (int j = 0; j < DIM; j++)
            s->norms[i][j] = 1.0f + frand();
    for (int l = 0; l < LAYERS; l++) {
        engine_layer *L = &s->layers[l];
        L->rms_att = s->norms[2 * l];
        L->rms_ffn = s->norms[2 * l + 1];
        L->wq = make(s, t, DIM, DIM), L->wk = make(s, t, KVD, DIM), L->wv = make(s, t, KVD, DIM);
        L->wo = make(s, t, DIM, DIM), L->w1 = make(s, t, HID, DIM), L->w2 = make(s, t, DIM, HID);
        L->w3 = make(s, t, HID, DIM);
    }
    s->m.layers = s->layers;
    s->m.rms_final = s->norms[2 * LAYERS];
    s->m.tok_embeddings = make(s, t, VOCAB, DIM);
    s->m.classifier = make(s, t, VOCAB, DIM);
    strcpy(s->m.format, "synthetic");
}

static void synth_free(synth *s)
{
    for (int i = 0; i < s->n_store; i++)
        free(s->store[i]);
}

/* Element (r, c) of w widened by this file's own decoders. */
static double wat(const engine_tensor *w, int r, int c)
{
    size_t i = (size_t)r * w->cols + c;
    if (w->type == ENGINE_DTYPE_F32)
        return ((const float *)w->data)[i];
    if (w->type == ENGINE_DTYPE_F16)
        return half_to_float(((const uint16_t *)w->data)[i]);
    const block_q8_0 *b = (const block_q8_0 *)w->data + i / QK8_0;
    return half_to_float(b->d) * b->qs[i % QK8_0];
}

static void ref_matmul(double *out, const double *x, const engine_tensor *w)
{
    for (int r = 0; r < w->rows; r++) {
        double a = 0;
        for (int c = 0; c < w->cols; c++)
            a += wat(w, r, c) * x[c];
        out[r] = a;
    }
}

static void ref_rmsnorm(double *out, const double *x, const float *w)
{
    double ss = 0;
    for (int i = 0; i < DIM; i++)
        ss += x[i] * x[i];
    ss = 1.0 / sqrt(ss / DIM + 1e-5);
    for (int i = 0; i < DIM; i++)
        out[i] = w[i] * (ss * x[i]);
}

/* llama2.c's forward for one token of one sequence, in double. */
static void ref_forward(const synth *s, double (*kc)[SEQ][KVD], double (*vc)[SEQ][KVD], int tok, int pos,
                        double *logits)
{
    double x[DIM], xb[DIM], q[DIM], k[KVD], v[KVD], att[SEQ], o[DIM], h1[HID], h3[HID];
    for (int i = 0; i < DIM; i++)
        x[i] = wat(&s->m.tok_embeddings, tok, i);
    for (int l = 0; l < LAYERS; l++) {
        const engine_layer *L = &s->layers[l];
        ref_rmsnorm(xb, x, L->rms_att);
        ref_matmul(q, xb, &L->wq), ref_matmul(k, xb, &L->wk), ref_matmul(v, xb, &L->wv);
        for (int i = 0; i < DIM; i += 2) {
            double freq = pow(10000.0, -(double)(i % HS) / HS), a = pos * freq;
            double c = cos(a), sn = sin(a), q0 = q[i], q1 = q[i + 1];
            q[i] = q0 * c - q1 * sn, q[i + 1] = q0 * sn + q1 * c;
            if (i < KVD) {
                double k0 = k[i], k1 = k[i + 1];
                k[i] = k0 * c - k1 * sn, k[i + 1] = k0 * sn + k1 * c;
            }
        }
        memcpy(kc[l][pos], k, sizeof k);
        memcpy(vc[l][pos], v, sizeof v);
        for (int h = 0; h < HEADS; h++) {
            int kh = h / (HEADS / KV_HEADS);
            double mx = -1e300, sum = 0;
            for (int p = 0; p <= pos; p++) {
                double sc = 0;
                for (int i = 0; i < HS; i++)
                    sc += q[h * HS + i] * kc[l][p][kh * HS + i];
                att[p] = sc / sqrt((double)HS);
                mx = att[p] > mx ? att[p] : mx;
            }
            for (int p = 0; p <= pos; p++)
                sum += att[p] = exp(att[p] - mx);
            for (int i = 0; i < HS; i++) {
                double a = 0;
                for (int p = 0; p <= pos; p++)
                    a += att[p] / sum * vc[l][p][kh * HS + i];
                xb[h * HS + i] = a;
            }
        }
        ref_matmul(o, xb, &L->wo);
        for (int i = 0; i < DIM; i++)
            x[i] += o[i];
        ref_rmsnorm(xb, x, L->rms_ffn);
        ref_matmul(h1, xb, &L->w1), ref_matmul(h3, xb, &L->w3);
        for (int i = 0; i < HID; i++)
            h1[i] = h1[i] / (1.0 + exp(-h1[i])) * h3[i];
        ref_matmul(o, h1, &L->w2);
        for (int i = 0; i < DIM; i++)
            x[i] += o[i];
    }
    ref_rmsnorm(xb, x, s->m.rms_final);
    ref_matmul(logits, xb, &s->m.classifier);
}

static double max_abs_diff(const float *a, const double *b, int n)
{
    double d = 0;
    for (int i = 0; i < n; i++)
        d = fmax(d, fabs(a[i] - b[i]));
    return d;
}

/* Two sequences: a prefill of 7 + 3 tokens in one batch (tiled matmul),
 * then two decode steps of both (the chosen matvec). */
static void test_logits(engine_dtype t, const char *variant, const char *attention, int seq_len)
{
    static synth s;
    synth_init(&s, t);
    s.m.cfg.seq_len = seq_len;
    static double kc[2][LAYERS][SEQ][KVD], vc[2][LAYERS][SEQ][KVD], want[12][VOCAB];
    float got[12 * VOCAB];
    engine_options o;
    cl_options(&o, variant, attention);
    o.max_batch = 2;
    engine_error err = {0};
    engine_session *ses = NULL;
    CHECKF(engine_session_create(&s.m, &o, &ses, &err) == 0, "%s", err.msg);
    if (!ses) {
        synth_free(&s);
        return;
    }
    int tok[10] = {5, 17, 33, 2, 90, 41, 7, 60, 61, 62}, seq[10] = {0, 0, 0, 0, 0, 0, 0, 1, 1, 1};
    int pos[10] = {0, 1, 2, 3, 4, 5, 6, 0, 1, 2};
    bool all[10];
    for (int i = 0; i < 10; i++)
        all[i] = true;
    engine_batch b = {10, tok, seq, pos, all};
    CHECKF(engine_forward(ses, &b, got, &err) == 0, "%s", err.msg);
    double tol = t == ENGINE_DTYPE_F32 ? 1e-3 : 2e-3;
    for (int i = 0; i < 10; i++) {
        ref_forward(&s, kc[seq[i]], vc[seq[i]], tok[i], pos[i], want[i]);
        CHECKF(max_abs_diff(got + i * VOCAB, want[i], VOCAB) < tol, "%s %s %s prefill token %d: max diff %g",
               engine_dtype_name(t), variant, attention, i, max_abs_diff(got + i * VOCAB, want[i], VOCAB));
    }
    for (int step = 0; step < 2; step++) {
        int dt[2] = {3 + step, 70 + step}, ds[2] = {0, 1}, dp[2] = {7 + step, 3 + step};
        engine_batch d = {2, dt, ds, dp, NULL};
        CHECKF(engine_forward(ses, &d, got, &err) == 0, "%s", err.msg);
        for (int i = 0; i < 2; i++) {
            ref_forward(&s, kc[i], vc[i], dt[i], dp[i], want[i]);
            double diff = max_abs_diff(got + i * VOCAB, want[i], VOCAB);
            CHECKF(diff < tol, "%s %s %s decode step %d seq %d: max diff %g", engine_dtype_name(t), variant,
                   attention, step, i, diff);
        }
    }
    /* A gap in positions is refused, not read from an unwritten cache. */
    int gp = 20, gt = 1, gs = 0;
    engine_batch g = {1, &gt, &gs, &gp, NULL};
    CHECK(engine_forward(ses, &g, got, &err) == -1 && err.kind == ENGINE_ERR_INPUT);
    engine_session_free(ses);
    synth_free(&s);
}

/* One sequence of 90 positions as a prefill, then decode steps up to the
 * context's end (128): attention over more positions than a work-group has
 * work-items per value lane, and for cl_split over 3 to 4 chunks, full and
 * partial. */
static void test_long_context(const char *attention)
{
    enum { N = 90 };
    static synth s;
    synth_init(&s, ENGINE_DTYPE_F32);
    static double kc[LAYERS][SEQ][KVD], vc[LAYERS][SEQ][KVD], want[VOCAB];
    static float got[N * VOCAB];
    engine_options o;
    cl_options(&o, "cl_rowgroup", attention);
    engine_error err = {0};
    engine_session *ses = NULL;
    CHECKF(engine_session_create(&s.m, &o, &ses, &err) == 0, "%s", err.msg);
    if (!ses) {
        synth_free(&s);
        return;
    }
    CHECK(strstr(engine_session_kernels(ses), attention) != NULL);
    int tok[N], seq[N], pos[N];
    bool all[N];
    for (int i = 0; i < N; i++)
        tok[i] = (i * 37 + 5) % VOCAB, seq[i] = 0, pos[i] = i, all[i] = true;
    engine_batch b = {N, tok, seq, pos, all};
    CHECKF(engine_forward(ses, &b, got, &err) == 0, "%s", err.msg);
    for (int i = 0; i < N; i++) {
        ref_forward(&s, kc, vc, tok[i], i, want);
        double diff = max_abs_diff(got + i * VOCAB, want, VOCAB);
        CHECKF(diff < 1e-3, "%s long context position %d: max diff %g", attention, i, diff);
    }
    for (int dp = N; dp < SEQ; dp++) {
        int dt = (dp * 11) % VOCAB, ds = 0;
        engine_batch d = {1, &dt, &ds, &dp, NULL};
        CHECKF(engine_forward(ses, &d, got, &err) == 0, "%s", err.msg);
        ref_forward(&s, kc, vc, dt, dp, want);
        double diff = max_abs_diff(got, want, VOCAB);
        CHECKF(diff < 1e-3, "%s long context decode at %d: max diff %g", attention, dp, diff);
    }
    engine_session_free(ses);
    synth_free(&s);
}

/* Variants rank differently on GPUs and elsewhere (docs/PERFORMANCE.md). */
static void test_default_ranking(void)
{
    CHECK_STR(engine_kernel_default_opencl(ENGINE_OP_MATMUL, "gpu"), "cl_rowgroup");
    CHECK_STR(engine_kernel_default_opencl(ENGINE_OP_MATMUL, "cpu"), "cl_rowitem");
    CHECK_STR(engine_kernel_default_opencl(ENGINE_OP_MATMUL, "accel"), "cl_rowitem");
    CHECK_STR(engine_kernel_default_opencl(ENGINE_OP_ATTENTION, "gpu"), "cl_split");
    CHECK_STR(engine_kernel_default_opencl(ENGINE_OP_ATTENTION, "cpu"), "cl_attention");
    CHECK_STR(engine_kernel_default_opencl(ENGINE_OP_RMSNORM, "cpu"), "cl_rmsnorm");
    CHECK_STR(engine_kernel_default(ENGINE_OP_MATMUL, "opencl"), "cl_rowgroup");
}

static void test_devices(void)
{
    engine_opencl_device d[8];
    engine_error err = {0};
    int n = engine_opencl_devices(d, 8, &err);
    CHECKF(n >= 1, "%s", err.msg);
    for (int i = 0; i < n && i < 8; i++)
        CHECK(d[i].device_name[0] && d[i].compute_units > 0 && d[i].global_mem_bytes > 0);
    /* Selection by name substring and by indices; unknown names are input errors. */
    static synth s;
    synth_init(&s, ENGINE_DTYPE_F32);
    engine_options o;
    engine_options_default(&o);
    strcpy(o.backend, "opencl");
    engine_session *ses = NULL;
    snprintf(o.opencl_device, sizeof o.opencl_device, "%d:%d", d[0].platform, d[0].device);
    CHECKF(engine_session_create(&s.m, &o, &ses, &err) == 0, "%s", err.msg);
    /* Without choices the session runs what the registry names for its device type. */
    if (ses) {
        char want[64];
        const char *ops[] = {"matmul", "attention"};
        for (int op = 0; op < 2; op++) {
            snprintf(want, sizeof want, "%s=%s", ops[op],
                     engine_kernel_default_opencl(op ? ENGINE_OP_ATTENTION : ENGINE_OP_MATMUL, d[0].type));
            CHECKF(strstr(engine_session_kernels(ses), want) != NULL, "%s: %s not in %s", d[0].type, want,
                   engine_session_kernels(ses));
        }
    }
    engine_session_free(ses);
    ses = NULL;
    strcpy(o.opencl_device, "no-such-device-xyz");
    CHECK(engine_session_create(&s.m, &o, &ses, &err) == -1 && err.kind == ENGINE_ERR_INPUT);
    CHECK(strstr(err.msg, "no-such-device-xyz") != NULL);
    strcpy(o.opencl_device, "7:9");
    CHECK(engine_session_create(&s.m, &o, &ses, &err) == -1 && err.kind == ENGINE_ERR_INPUT);
    strcpy(o.opencl_device, "");
    CHECK(engine_options_add_kernel(&o, "matmul=scalar", &err) == 0);
    CHECK(engine_session_create(&s.m, &o, &ses, &err) == -1 && strstr(err.msg, "not an OpenCL variant"));
    synth_free(&s);
}

int main(void)
{
    engine_opencl_device d;
    engine_error err = {0};
    if (engine_opencl_devices(&d, 1, &err) < 1) {
        fprintf(stderr, "skip: no OpenCL device: %s\n", err.msg);
        return TB_SKIP;
    }
    test_default_ranking();
    test_devices();
    for (int v = 0; v < 6; v++) {
        const char *mv = matmul_variants[v % 3], *av = attention_variants[v / 3];
        test_logits(ENGINE_DTYPE_F32, mv, av, SEQ);
        test_logits(ENGINE_DTYPE_F16, mv, av, SEQ);
        test_logits(ENGINE_DTYPE_Q8_0, mv, av, SEQ);
    }
    for (int a = 0; a < 2; a++) {
        test_logits(ENGINE_DTYPE_F32, "cl_rowgroup", attention_variants[a], LONG_SEQ);
        test_long_context(attention_variants[a]);
    }
    test_greedy_outputs();
    TB_MAIN_END();
}
