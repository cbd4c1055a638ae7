/* Seeded synthetic models: the shapes of real Llama models (weights do not
 * change speed, shapes do), random weights scaled by 1/sqrt(fan_in) so
 * activations and logits stay in a sane range, norms 1, and a generated
 * vocabulary so generated text can be printed.
 *
 * Every row of every matrix has its own PRNG stream (xoshiro256+ seeded
 * through splitmix64 from seed, tensor number and row), so the weights do
 * not depend on how many threads generate them. */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "engine.h"
#include "formats.h"
#include "quant.h"

typedef struct preset {
    const char *name;
    int dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len;
    bool shared;        /* default: tied like llama2.c's stories models */
    engine_arch arch;   /* llama unless given */
    int head_dim;       /* 0: dim / n_heads */
    float rope_theta, norm_eps;   /* 0: 10000, 1e-5 */
    float llama3_rope_factor;     /* Llama 3 rope scaling (rope_freqs), 0: none */
} preset;

/* The llama2.c shapes, then real model families' shapes with their real
 * vocabulary sizes (context 4096: the KV cache a default session sizes). */
static const preset presets[] = {
    {"tiny", 64, 172, 4, 4, 4, 512, 256, true, ENGINE_ARCH_LLAMA, 0, 0, 0, 0},
    {"15M", 288, 768, 6, 6, 6, 32000, 256, true, ENGINE_ARCH_LLAMA, 0, 0, 0, 0},
    {"42M", 512, 1376, 8, 8, 8, 32000, 1024, true, ENGINE_ARCH_LLAMA, 0, 0, 0, 0},
    {"110M", 768, 2048, 12, 12, 12, 32000, 1024, true, ENGINE_ARCH_LLAMA, 0, 0, 0, 0},
    {"1B", 2048, 5632, 22, 32, 4, 32000, 2048, false, ENGINE_ARCH_LLAMA, 0, 0, 0, 0},
    {"llama3-8B", 4096, 14336, 32, 32, 8, 128256, 8192, false, ENGINE_ARCH_LLAMA, 0, 500000.0f, 1e-5f, 0},
    {"qwen3-0.6B", 1024, 3072, 28, 16, 8, 151936, 4096, true, ENGINE_ARCH_QWEN3, 128, 1e6f, 1e-6f, 0},
    {"llama3.2-1B", 2048, 8192, 16, 32, 8, 128256, 4096, true, ENGINE_ARCH_LLAMA, 0, 500000.0f, 1e-5f, 32.0f},
    {"qwen2.5-0.5B", 896, 4864, 24, 14, 2, 151936, 4096, true, ENGINE_ARCH_QWEN2, 0, 1e6f, 1e-6f, 0},
    {"smollm2-135M", 576, 1536, 30, 9, 3, 49152, 4096, true, ENGINE_ARCH_LLAMA, 0, 100000.0f, 1e-5f, 0},
};
#define N_PRESETS (sizeof presets / sizeof presets[0])

const char *const *engine_preset_names(void)
{
    static const char *names[N_PRESETS + 1];
    for (size_t i = 0; i < N_PRESETS; i++)
        names[i] = presets[i].name;
    return names;
}

/* ---- PRNG --------------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

typedef struct xoshiro {
    uint64_t s[4];
} xoshiro;

static void xoshiro_seed(xoshiro *r, uint64_t seed, uint64_t tensor, uint64_t row)
{
    uint64_t x = seed ^ (tensor * 0xd1b54a32d192ed03ull) ^ (row * 0x8cb92ba72f3d8dd7ull);
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t xoshiro_next(xoshiro *r)
{
    uint64_t *s = r->s, result = s[0] + s[3], t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* Two uniform floats in [-scale, scale) per draw (24 bits each). */
static void fill_uniform(xoshiro *r, float *out, int64_t n, float scale)
{
    const float k = scale / 8388608.0f;   /* 2^23 */
    int64_t i = 0;
    for (; i + 1 < n; i += 2) {
        uint64_t v = xoshiro_next(r);
        out[i] = (float)((int32_t)(v >> 40) - 8388608) * k;
        out[i + 1] = (float)((int32_t)((v >> 8) & 0xffffff) - 8388608) * k;
    }
    if (i < n)
        out[i] = (float)((int32_t)(xoshiro_next(r) >> 40) - 8388608) * k;
}

/* ---- parallel weight generation ----------------------------------------- */

typedef struct gen_job {
    engine_tensor *t;
    uint64_t tensor_no;
    float scale;
} gen_job;

#define ROWS_PER_TASK 64

typedef struct gen_ctx {
    gen_job *jobs;
    int n_jobs;
    uint64_t seed;
    int64_t *task_start;   /* first task number of each job; last entry = total */
    atomic_long next;
    int64_t max_cols;
    atomic_int failed;
} gen_ctx;

static void gen_rows(gen_ctx *c, const gen_job *j, int64_t r0, int64_t r1, float *row)
{
    engine_tensor *t = j->t;
    size_t row_bytes = engine_dtype_bytes(t->type, t->cols);
    for (int64_t r = r0; r < r1; r++) {
        xoshiro rng;
        xoshiro_seed(&rng, c->seed, j->tensor_no, (uint64_t)r);
        uint8_t *dst = (uint8_t *)t->data + (size_t)r * row_bytes;
        if (t->type == ENGINE_DTYPE_F32) {
            fill_uniform(&rng, (float *)dst, t->cols, j->scale);
        } else {
            fill_uniform(&rng, row, t->cols, j->scale);
            engine_quantize_row(t->type, row, dst, t->cols);
        }
    }
}

static void *gen_worker(void *arg)
{
    gen_ctx *c = arg;
    float *row = malloc((size_t)c->max_cols * sizeof *row);
    if (!row) {
        atomic_store(&c->failed, 1);
        return NULL;
    }
    int j = 0;
    for (;;) {
        long task = atomic_fetch_add(&c->next, 1);
        if (task >= c->task_start[c->n_jobs])
            break;
        while (task >= c->task_start[j + 1])
            j++;
        while (task < c->task_start[j])
            j--;
        int64_t r0 = (task - c->task_start[j]) * ROWS_PER_TASK;
        int64_t r1 = r0 + ROWS_PER_TASK < c->jobs[j].t->rows ? r0 + ROWS_PER_TASK : c->jobs[j].t->rows;
        gen_rows(c, &c->jobs[j], r0, r1, row);
    }
    free(row);
    return NULL;
}

static int generate(gen_job *jobs, int n_jobs, uint64_t seed, engine_error *err)
{
    gen_ctx c = {.jobs = jobs, .n_jobs = n_jobs, .seed = seed};
    c.task_start = malloc((size_t)(n_jobs + 1) * sizeof *c.task_start);
    if (!c.task_start)
        return formats_error(err, ENGINE_ERR_SYSTEM, "out of memory");
    c.task_start[0] = 0;
    for (int i = 0; i < n_jobs; i++) {
        c.task_start[i + 1] = c.task_start[i] + (jobs[i].t->rows + ROWS_PER_TASK - 1) / ROWS_PER_TASK;
        if (jobs[i].t->cols > c.max_cols)
            c.max_cols = jobs[i].t->cols;
    }
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int n_threads = cpus < 1 ? 1 : cpus > 64 ? 64 : (int)cpus;
    pthread_t th[64];
    int started = 0;
    for (int i = 1; i < n_threads; i++, started++)
        if (pthread_create(&th[started], NULL, gen_worker, &c))
            break;
    gen_worker(&c);
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    free(c.task_start);
    if (atomic_load(&c.failed))
        return formats_error(err, ENGINE_ERR_SYSTEM, "out of memory generating weights");
    return 0;
}

/* ---- vocabulary ---------------------------------------------------------- */

/* <unk>, <s>, </s>, the 256 byte tokens <0xXX>, the 95 printable ASCII
 * characters, then " "-prefixed and bare letter strings ("aa", "ab", ...:
 * bijective base 26 from 27) with descending scores, so merges favour short,
 * early pieces as a trained vocabulary does. */
static int synth_vocab(engine_model *m, int n, engine_error *err)
{
    char (*text)[16] = calloc((size_t)n, sizeof *text);
    const char **pieces = calloc((size_t)n, sizeof *pieces);
    uint32_t *lens = calloc((size_t)n, sizeof *lens);
    float *scores = calloc((size_t)n, sizeof *scores);
    int32_t *types = calloc((size_t)n, sizeof *types);
    int rc = -1;
    if (!text || !pieces || !lens || !scores || !types) {
        formats_error(err, ENGINE_ERR_SYSTEM, "out of memory");
        goto done;
    }
    for (int i = 0, k = 0; i < n; i++) {
        if (i < 3) {
            snprintf(text[i], sizeof text[i], "%s", i == 0 ? "<unk>" : i == 1 ? "<s>" : "</s>");
            types[i] = i == 0 ? 2 : 3;
        } else if (i < 259) {
            snprintf(text[i], sizeof text[i], "<0x%02X>", i - 3);
            types[i] = 6;
        } else if (i < 259 + 95) {
            text[i][0] = (char)(' ' + i - 259);
            types[i] = 1;
        } else {
            /* letters(k / 2) with a leading space for even k */
            char buf[16];
            int len = 0;
            for (int v = k / 2 + 27; v > 0; v = (v - 1) / 26)
                buf[len++] = (char)('a' + (v - 1) % 26);
            int o = 0;
            if (k % 2 == 0)
                text[i][o++] = ' ';
            while (len > 0)
                text[i][o++] = buf[--len];
            types[i] = 1;
            k++;
        }
        pieces[i] = text[i];
        lens[i] = (uint32_t)strlen(text[i]);
        scores[i] = i < 259 ? 0.0f : -(float)(i - 259);
    }
    formats_vocab v = {.n = n, .pieces = pieces, .lens = lens, .scores = scores, .types = types,
                       .bos = 1, .eos = 2};
    rc = formats_tokenizer_build(&v, &m->tokenizer, err);
done:
    free(text);
    free(pieces);
    free(lens);
    free(scores);
    free(types);
    return rc;
}

/* ---- the model ------------------------------------------------------------ */

/* Rows that are not whole quantization blocks are stored in a type whose
 * blocks fit, as llama.cpp's quantizer falls back for such tensors: a
 * K-quant row that is not whole super-blocks of 256 (qwen2.5-0.5B's 896,
 * smollm2-135M's 576) takes q4_0 (for q4_k, the same 4.5 bits per weight)
 * or q8_0 (for q5_k and q6_k, no fewer bits); anything else f16 (tiny's
 * hidden_dim 172). */
static int alloc_matrix(engine_model *m, engine_tensor *t, engine_dtype type, int64_t rows, int64_t cols,
                        engine_error *err)
{
    if (cols % engine_dtype_block(type) && (ENGINE_DTYPES_KQUANT & (1u << type)))
        type = type == ENGINE_DTYPE_Q4_K ? ENGINE_DTYPE_Q4_0 : ENGINE_DTYPE_Q8_0;
    if (cols % engine_dtype_block(type))
        type = ENGINE_DTYPE_F16;
    size_t bytes = engine_dtype_bytes(type, rows * cols);
    void *p = formats_model_alloc(m, bytes);
    if (!p)
        return formats_error(err, ENGINE_ERR_SYSTEM, "out of memory: %zu bytes for a %lldx%lld %s matrix", bytes,
                             (long long)rows, (long long)cols, engine_dtype_name(type));
    *t = (engine_tensor){.type = type, .rows = rows, .cols = cols, .data = p};
    return 0;
}

static const float *ones(engine_model *m, int dim)
{
    float *v = formats_model_alloc(m, (size_t)dim * sizeof *v);
    if (v)
        for (int i = 0; i < dim; i++)
            v[i] = 1.0f;
    return v;
}

/* Llama 3 rope scaling as llama.cpp's converter computes rope_freqs
 * (low_freq_factor 1, high_freq_factor 4, original context 8192): long
 * wavelengths divided by `factor`, short ones kept, a smooth blend between. */
static const float *llama3_rope_freqs(engine_model *m, int head_dim, float theta, float factor)
{
    float *f = formats_model_alloc(m, (size_t)(head_dim / 2) * sizeof *f);
    if (!f)
        return NULL;
    const double low = 1.0, high = 4.0, old_ctx = 8192.0, pi = 3.14159265358979323846;
    for (int i = 0; i < head_dim / 2; i++) {
        double freq = 1.0 / pow(theta, 2.0 * i / head_dim), wavelen = 2.0 * pi / freq;
        if (wavelen < old_ctx / high)
            f[i] = 1.0f;
        else if (wavelen > old_ctx / low)
            f[i] = factor;
        else {
            double smooth = (old_ctx / wavelen - low) / (high - low);
            f[i] = (float)(1.0 / ((1.0 - smooth) / factor + smooth));
        }
    }
    return f;
}

static int build(engine_model *m, engine_dtype dtype, uint64_t seed, engine_error *err)
{
    const engine_config *c = &m->cfg;
    int hd = engine_config_head_dim(c);
    int64_t dim = c->dim, q_dim = (int64_t)hd * c->n_heads, kv_dim = (int64_t)hd * c->n_kv_heads, hid = c->hidden_dim;
    bool biases = c->arch == ENGINE_ARCH_QWEN2, qk_norms = c->arch == ENGINE_ARCH_QWEN3;
    gen_job *jobs = calloc((size_t)(2 + 10 * c->n_layers), sizeof *jobs);
    /* biases are generated as f32 rows of 1 x len, like the matrices */
    engine_tensor *bias = calloc((size_t)(3 * c->n_layers), sizeof *bias);
    if (!jobs || !bias) {
        free(jobs);
        free(bias);
        return formats_error(err, ENGINE_ERR_SYSTEM, "out of memory");
    }
    int n = 0, rc = -1;
    float s_dim = sqrtf(3.0f / (float)dim), s_hid = sqrtf(3.0f / (float)hid);   /* variance 1/fan_in */
#define MAT(t, rows, cols, scale) \
    if (alloc_matrix(m, t, dtype, rows, cols, err)) goto done; \
    jobs[n] = (gen_job){t, (uint64_t)n, scale}; n++;
    MAT(&m->tok_embeddings, c->vocab_size, dim, s_dim)
    if (!c->shared_classifier) {
        MAT(&m->classifier, c->vocab_size, dim, s_dim)
    }
    for (int l = 0; l < c->n_layers; l++) {
        engine_layer *L = &m->layers[l];
        MAT(&L->wq, q_dim, dim, s_dim)
        MAT(&L->wk, kv_dim, dim, s_dim)
        MAT(&L->wv, kv_dim, dim, s_dim)
        MAT(&L->wo, dim, q_dim, sqrtf(3.0f / (float)q_dim))
        MAT(&L->w1, hid, dim, s_dim)
        MAT(&L->w2, dim, hid, s_hid)
        MAT(&L->w3, hid, dim, s_dim)
        L->rms_att = ones(m, c->dim);
        L->rms_ffn = ones(m, c->dim);
        if (!L->rms_att || !L->rms_ffn || (qk_norms && (!(L->q_norm = ones(m, hd)) || !(L->k_norm = ones(m, hd))))) {
            formats_error(err, ENGINE_ERR_SYSTEM, "out of memory");
            goto done;
        }
        if (biases) {
            const float **fields[] = {&L->bq, &L->bk, &L->bv};
            for (int i = 0; i < 3; i++) {
                engine_tensor *b = &bias[3 * l + i];
                if (alloc_matrix(m, b, ENGINE_DTYPE_F32, 1, i ? kv_dim : q_dim, err))
                    goto done;
                *fields[i] = b->data;
                jobs[n] = (gen_job){b, (uint64_t)n, 0.1f};
                n++;
            }
        }
    }
#undef MAT
    if (c->shared_classifier)
        m->classifier = m->tok_embeddings;
    m->rms_final = ones(m, c->dim);
    if (!m->rms_final) {
        formats_error(err, ENGINE_ERR_SYSTEM, "out of memory");
        goto done;
    }
    rc = generate(jobs, n, seed, err);
done:
    free(jobs);
    free(bias);
    return rc;
}

int engine_model_synth(const char *name, engine_dtype dtype, uint64_t seed, int shared_classifier,
                       engine_model **out, engine_error *err)
{
    return engine_model_synth_arch(name, NULL, dtype, seed, shared_classifier, out, err);
}

int engine_model_synth_arch(const char *name, const char *arch, engine_dtype dtype, uint64_t seed,
                            int shared_classifier, engine_model **out, engine_error *err)
{
    *out = NULL;
    const preset *p = NULL;
    for (size_t i = 0; i < N_PRESETS && name; i++)
        if (!strcasecmp(name, presets[i].name))
            p = &presets[i];
    if (!p) {
        char list[256] = "";
        for (size_t i = 0; i < N_PRESETS; i++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", presets[i].name);
        return formats_error(err, ENGINE_ERR_INPUT, "unknown preset '%s', expected one of %s", name ? name : "",
                             list);
    }
    if ((unsigned)dtype >= ENGINE_DTYPE_COUNT)
        return formats_error(err, ENGINE_ERR_INPUT, "unknown dtype %d, expected f32, f16, bf16, q8_0, q4_0, q4_k, "
                             "q5_k or q6_k", (int)dtype);
    engine_arch a = p->arch;
    if (arch && engine_arch_parse(arch, &a))
        return formats_error(err, ENGINE_ERR_INPUT, "unknown architecture '%s', expected llama, qwen2 or qwen3", arch);
    engine_model *m = formats_model_new(p->n_layers);
    if (!m)
        return formats_error(err, ENGINE_ERR_SYSTEM, "out of memory");
    m->cfg = (engine_config){.arch = a, .dim = p->dim, .hidden_dim = p->hidden_dim, .n_layers = p->n_layers,
                             .n_heads = p->n_heads, .n_kv_heads = p->n_kv_heads, .vocab_size = p->vocab_size,
                             .seq_len = p->seq_len, .rope_theta = p->rope_theta > 0 ? p->rope_theta : 10000.0f,
                             .norm_eps = p->norm_eps > 0 ? p->norm_eps : 1e-5f,
                             .shared_classifier = shared_classifier < 0 ? p->shared : shared_classifier != 0,
                             .head_dim = p->head_dim};
    snprintf(m->format, sizeof m->format, "synthetic");
    snprintf(m->source, sizeof m->source, "preset:%s/%s/seed=%llu/%s%s%s", p->name, engine_dtype_name(dtype),
             (unsigned long long)seed, m->cfg.shared_classifier ? "tied" : "untied", a != p->arch ? "/arch=" : "",
             a != p->arch ? engine_arch_name(a) : "");
    if (p->llama3_rope_factor > 0 &&
        !(m->rope_freqs = llama3_rope_freqs(m, engine_config_head_dim(&m->cfg), m->cfg.rope_theta,
                                            p->llama3_rope_factor))) {
        engine_model_free(m);
        return formats_error(err, ENGINE_ERR_SYSTEM, "out of memory");
    }
    if (build(m, dtype, seed, err) || synth_vocab(m, p->vocab_size, err)) {
        engine_model_free(m);
        return -1;
    }
    m->weight_bytes = formats_weight_bytes(m);
    m->decode_bytes = formats_decode_bytes(m);
    *out = m;
    return 0;
}
