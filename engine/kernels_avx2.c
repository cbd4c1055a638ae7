/* AVX2 + FMA kernels, for x86-64 machines without AVX-512 (the binary is
 * carried to hosts with unknown CPUs). The same structure as
 * kernels_avx512.c at 8 lanes: decode streams each row once (rows split
 * over the pool), prefill is a register-blocked GEMM (6 rows x 16 tokens)
 * over activations packed token-minor, with non-f32 weights (f16, bf16,
 * q8_0, q4_0) dequantized one 6-row panel at a time and reused for every
 * token. Also a portable fused attention (online softmax) that needs no
 * particular instruction set. */
#include <math.h>
#include <string.h>

#include "kernels_cpu.h"
#include "quant.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define T256 __attribute__((target("avx2,fma,f16c")))

#define MR 6
#define NT 16
#define KC 512
#define NCHUNK 256
/* Below this many tokens (decode batches) the row dot products run, which
 * give each token the bits it gets alone. */
#define GEMM_MIN_TOKENS 6
/* Decode prefetches the weight stream this far ahead (see kernels_avx512.c). */
#define AVX2_PREFETCH_BYTES 2048

/* Decode of several tokens: rows in blocks of about this many bytes, each
 * block read from memory once and then from L1 for every token. */
#define DECODE_BLOCK_BYTES (16 << 10)

static bool avx2_supported(void)
{
    const cpu_features *f = cpu_features_get();
    return f->avx2 && f->fma && f->f16c && !kcpu_isa_disabled("avx2");
}

T256 static inline __m256 load8(engine_dtype t, const void *row, int64_t i)
{
    switch (t) {
    case ENGINE_DTYPE_F16:
        return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)row + i)));
    case ENGINE_DTYPE_BF16:
        return _mm256_castsi256_ps(_mm256_slli_epi32(
            _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)((const uint16_t *)row + i))), 16));
    default:
        return _mm256_loadu_ps((const float *)row + i);
    }
}

static float load1(engine_dtype t, const void *row, int64_t i)
{
    switch (t) {
    case ENGINE_DTYPE_F16:
        return engine_f16_to_f32(((const uint16_t *)row)[i]);
    case ENGINE_DTYPE_BF16:
        return engine_bf16_to_f32(((const uint16_t *)row)[i]);
    default:
        return ((const float *)row)[i];
    }
}

/* A q8_0/q4_0 block as four vectors of 8. */
T256 static inline void load_block(engine_dtype t, const void *row, int64_t b, __m256 v[4])
{
    __m128i q0, q1;
    float d;
    if (t == ENGINE_DTYPE_Q8_0) {
        const block_q8_0 *blk = (const block_q8_0 *)row + b;
        d = _cvtsh_ss(blk->d);
        q0 = _mm_loadu_si128((const __m128i *)blk->qs);
        q1 = _mm_loadu_si128((const __m128i *)(blk->qs + 16));
    } else {
        const block_q4_0 *blk = (const block_q4_0 *)row + b;
        d = _cvtsh_ss(blk->d);
        __m128i q = _mm_loadu_si128((const __m128i *)blk->qs), m = _mm_set1_epi8(0x0f), e = _mm_set1_epi8(8);
        q0 = _mm_sub_epi8(_mm_and_si128(q, m), e);
        q1 = _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(q, 4), m), e);
    }
    __m256 dv = _mm256_set1_ps(d);
    v[0] = _mm256_mul_ps(dv, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q0)));
    v[1] = _mm256_mul_ps(dv, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(q0, 8))));
    v[2] = _mm256_mul_ps(dv, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q1)));
    v[3] = _mm256_mul_ps(dv, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(q1, 8))));
}

static bool is_quant(engine_dtype t) { return t == ENGINE_DTYPE_Q8_0 || t == ENGINE_DTYPE_Q4_0; }

T256 static inline float hsum8(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* out[r] = W[r] . x, one row at a time (one sequential stream). */
T256 static void rows_dot(float *out, const float *x, const engine_tensor *w, int64_t r0, int64_t r1)
{
    const engine_dtype t = w->type;
    const int64_t cols = w->cols;
    const size_t rb = engine_dtype_bytes(t, cols);
    const char *base = w->data;
    const int64_t bb = t == ENGINE_DTYPE_Q8_0 ? (int64_t)sizeof(block_q8_0) : (int64_t)sizeof(block_q4_0);
    const int64_t es = t == ENGINE_DTYPE_F32 ? 4 : 2;   /* bytes per float-type weight */
    for (int64_t r = r0; r < r1; r++) {
        const char *row = base + r * rb;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        float tail = 0.0f;
        if (is_quant(t)) {
            for (int64_t b = 0; b < cols / 32; b++) {
                /* as the AVX-512 kernels: ahead of the stream in software */
                _mm_prefetch(row + b * bb + AVX2_PREFETCH_BYTES, _MM_HINT_T0);
                __m256 v[4];
                load_block(t, row, b, v);
                const float *xb = x + b * 32;
                a0 = _mm256_fmadd_ps(v[0], _mm256_loadu_ps(xb), a0);
                a1 = _mm256_fmadd_ps(v[1], _mm256_loadu_ps(xb + 8), a1);
                a2 = _mm256_fmadd_ps(v[2], _mm256_loadu_ps(xb + 16), a2);
                a3 = _mm256_fmadd_ps(v[3], _mm256_loadu_ps(xb + 24), a3);
            }
        } else {
            int64_t i = 0;
            for (; i + 32 <= cols; i += 32) {
                for (int64_t l = 0; l < 32 * es; l += 64)
                    _mm_prefetch(row + i * es + l + AVX2_PREFETCH_BYTES, _MM_HINT_T0);
                a0 = _mm256_fmadd_ps(load8(t, row, i), _mm256_loadu_ps(x + i), a0);
                a1 = _mm256_fmadd_ps(load8(t, row, i + 8), _mm256_loadu_ps(x + i + 8), a1);
                a2 = _mm256_fmadd_ps(load8(t, row, i + 16), _mm256_loadu_ps(x + i + 16), a2);
                a3 = _mm256_fmadd_ps(load8(t, row, i + 24), _mm256_loadu_ps(x + i + 24), a3);
            }
            for (; i + 8 <= cols; i += 8)
                a0 = _mm256_fmadd_ps(load8(t, row, i), _mm256_loadu_ps(x + i), a0);
            for (; i < cols; i++)
                tail += load1(t, row, i) * x[i];
        }
        out[r] = hsum8(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3))) + tail;
    }
}

/* c[r][0..16) += sum_k wp[r*ldw + k] * xp[k*16 + 0..16) for r < 6. */
T256 static void gemm_6x16(float *c, const float *wp, int64_t ldw, const float *xp, int kc)
{
    __m256 acc[MR][2];
    for (int r = 0; r < MR; r++)
        acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    for (int k = 0; k < kc; k++) {
        __m256 x0 = _mm256_load_ps(xp + k * NT), x1 = _mm256_load_ps(xp + k * NT + 8);
#pragma GCC unroll 6
        for (int r = 0; r < MR; r++) {
            __m256 b = _mm256_broadcast_ss(wp + r * ldw + k);
            acc[r][0] = _mm256_fmadd_ps(b, x0, acc[r][0]);
            acc[r][1] = _mm256_fmadd_ps(b, x1, acc[r][1]);
        }
    }
    for (int r = 0; r < MR; r++) {
        _mm256_store_ps(c + r * NT, _mm256_add_ps(_mm256_load_ps(c + r * NT), acc[r][0]));
        _mm256_store_ps(c + r * NT + 8, _mm256_add_ps(_mm256_load_ps(c + r * NT + 8), acc[r][1]));
    }
}

typedef struct mm_ctx {
    float *out;
    const float *x;
    const engine_tensor *w;
    int n;
    int64_t rows_per_task;
    float *xp;
} mm_ctx;

static void pack_task(void *arg, int tile, int n_tiles)
{
    mm_ctx *c = arg;
    const int64_t cols = c->w->cols;
    float *dst = c->xp + (size_t)tile * cols * NT;
    for (int t = 0; t < NT; t++) {
        int tok = tile * NT + t;
        const float *src = c->x + (size_t)tok * cols;
        for (int64_t k = 0; k < cols; k++)
            dst[k * NT + t] = tok < c->n ? src[k] : 0.0f;
    }
}

T256 static void panel_f32(float *dst, const engine_tensor *w, int64_t r0, int64_t k0, int kc)
{
    const size_t rb = engine_dtype_bytes(w->type, w->cols);
    for (int r = 0; r < MR; r++) {
        float *d = dst + r * KC;
        if (r0 + r >= w->rows) {
            memset(d, 0, kc * sizeof *d);
            continue;
        }
        const char *row = (const char *)w->data + (r0 + r) * rb;
        if (is_quant(w->type)) {
            for (int k = 0; k < kc; k += 32) {
                __m256 v[4];
                load_block(w->type, row, (k0 + k) / 32, v);
                for (int j = 0; j < 4; j++)
                    _mm256_store_ps(d + k + 8 * j, v[j]);
            }
        } else {
            int k = 0;
            for (; k + 8 <= kc; k += 8)
                _mm256_store_ps(d + k, load8(w->type, row, k0 + k));
            for (; k < kc; k++)
                d[k] = load1(w->type, row, k0 + k);
        }
    }
}

T256 static void gemm_task(void *arg, int task, int n_tasks)
{
    mm_ctx *c = arg;
    const engine_tensor *w = c->w;
    const int64_t rows = w->rows, cols = w->cols;
    int64_t p0 = task * c->rows_per_task, p1 = p0 + c->rows_per_task;
    if (p1 > rows)
        p1 = rows;
    _Alignas(64) float panel[MR * KC];
    _Alignas(64) float ct[(NCHUNK / NT) * MR * NT];
    for (int64_t r0 = p0; r0 < p1; r0 += MR) {
        const bool direct = w->type == ENGINE_DTYPE_F32 && r0 + MR <= rows;
        for (int t0 = 0; t0 < c->n; t0 += NCHUNK) {
            int nt = c->n - t0 < NCHUNK ? c->n - t0 : NCHUNK, tiles = (nt + NT - 1) / NT;
            memset(ct, 0, (size_t)tiles * MR * NT * sizeof(float));
            for (int64_t k0 = 0; k0 < cols; k0 += KC) {
                int kc = cols - k0 < KC ? (int)(cols - k0) : KC;
                const float *wp = panel;
                int64_t ldw = KC;
                if (direct) {
                    wp = (const float *)w->data + r0 * cols + k0;
                    ldw = cols;
                } else {
                    panel_f32(panel, w, r0, k0, kc);
                }
                for (int tl = 0; tl < tiles; tl++)
                    gemm_6x16(ct + tl * MR * NT, wp, ldw, c->xp + ((size_t)(t0 / NT + tl) * cols + k0) * NT, kc);
            }
            int nr = rows - r0 < MR ? (int)(rows - r0) : MR;
            for (int t = 0; t < nt; t++) {
                const float *src = ct + (t / NT) * MR * NT + (t % NT);
                float *dst = c->out + (size_t)(t0 + t) * rows + r0;
                for (int r = 0; r < nr; r++)
                    dst[r] = src[r * NT];
            }
        }
    }
}

static void matvec_task(void *arg, int task, int n_tasks)
{
    mm_ctx *c = arg;
    const engine_tensor *w = c->w;
    int64_t r0 = task * c->rows_per_task, r1 = r0 + c->rows_per_task;
    if (r1 > w->rows)
        r1 = w->rows;
    const int64_t rb = (int64_t)engine_dtype_bytes(w->type, w->cols);
    const int64_t block = rb < DECODE_BLOCK_BYTES ? DECODE_BLOCK_BYTES / rb : 1;
    for (int64_t b0 = r0; b0 < r1; b0 += block) {
        const int64_t b1 = b0 + block < r1 ? b0 + block : r1;
        for (int t = 0; t < c->n; t++)
            rows_dot(c->out + (size_t)t * w->rows, c->x + (size_t)t * w->cols, w, b0, b1);
    }
}

static void matmul_avx2(float *out, const float *x, const engine_tensor *w, int n, engine_pool *pool)
{
    const int threads = engine_pool_threads(pool);
    mm_ctx c = {.out = out, .x = x, .w = w, .n = n};
    if (n >= GEMM_MIN_TOKENS) {
        int tiles = (n + NT - 1) / NT;
        c.xp = kcpu_scratch(0, (size_t)tiles * w->cols * NT * sizeof(float));
        if (c.xp) {
            engine_pool_run(pool, pack_task, &c, tiles);
            c.rows_per_task = kcpu_rows_per_task(w->rows, threads, MR);
            engine_pool_run(pool, gemm_task, &c, (int)((w->rows + c.rows_per_task - 1) / c.rows_per_task));
            return;
        }
    }
    c.rows_per_task = kcpu_matvec_rows_per_task(w->rows, (int64_t)engine_dtype_bytes(w->type, w->cols) * n,
                                                threads, 4);
    engine_pool_run(pool, matvec_task, &c, (int)((w->rows + c.rows_per_task - 1) / c.rows_per_task));
}

T256 static void rmsnorm_avx2(float *out, const float *x, const float *weight, int n, int dim, float eps)
{
    for (int t = 0; t < n; t++) {
        const float *xt = x + (size_t)t * dim;
        float *ot = out + (size_t)t * dim;
        __m256 ss = _mm256_setzero_ps();
        int j = 0;
        for (; j + 8 <= dim; j += 8) {
            __m256 v = _mm256_loadu_ps(xt + j);
            ss = _mm256_fmadd_ps(v, v, ss);
        }
        float s = hsum8(ss);
        for (int k = j; k < dim; k++)
            s += xt[k] * xt[k];
        s /= dim;
        s += eps;
        s = 1.0f / sqrtf(s);
        __m256 sv = _mm256_set1_ps(s);
        for (j = 0; j + 8 <= dim; j += 8)
            _mm256_storeu_ps(ot + j, _mm256_mul_ps(_mm256_loadu_ps(weight + j), _mm256_mul_ps(sv, _mm256_loadu_ps(xt + j))));
        for (; j < dim; j++)
            ot[j] = weight[j] * (s * xt[j]);
    }
}

#define ALL_DTYPES ENGINE_DTYPES_BASE
#define NEEDS "avx2 fma f16c"
#define AVX2_ENTRIES                                                                                    \
    {.info = {ENGINE_OP_MATMUL, "avx2", "cpu", NEEDS,                                                   \
              "threaded; decode: row dot products (q8_0/q4_0 dequantized to f32); prefill: 6x16 GEMM"}, \
     .supported = avx2_supported, .dtypes = ALL_DTYPES, .priority = 20, .fn.matmul = matmul_avx2},      \
    {.info = {ENGINE_OP_RMSNORM, "avx2", "cpu", NEEDS, "vectorized sum of squares and scaling"},        \
     .supported = avx2_supported, .priority = 20, .fn.rmsnorm = rmsnorm_avx2},
#else
#define AVX2_ENTRIES
#endif

/* ---- portable fused attention ------------------------------------------ */

#define ATT_BLOCK 32
#define ATT_MAX_HEAD 1024

typedef struct attn_ctx {
    const kernel_attention_args *a;
} attn_ctx;

/* One (token, head) in a single pass over the cache: block of scores, one
 * rescale of the running output per block (online softmax). */
static void attn_task(void *arg, int task, int n_tasks)
{
    const kernel_attention_args *a = ((attn_ctx *)arg)->a;
    const int t = task / a->n_heads, h = task % a->n_heads, hd = a->head_dim;
    const int q_dim = a->n_heads * hd, kv_off = (h / (a->n_heads / a->n_kv_heads)) * hd;
    const float *q = a->q + (size_t)t * q_dim + h * hd;
    const float scale = 1.0f / sqrtf((float)hd);
    float acc[ATT_MAX_HEAD], s[ATT_BLOCK], m = -INFINITY, l = 0.0f;
    for (int i = 0; i < hd; i++)
        acc[i] = 0.0f;
    const int np = a->pos[t] + 1;
    for (int p0 = 0; p0 < np; p0 += ATT_BLOCK) {
        int nb = np - p0 < ATT_BLOCK ? np - p0 : ATT_BLOCK;
        float bmax = -INFINITY;
        for (int j = 0; j < nb; j++) {
            const float *kp = a->k_cache + (size_t)(p0 + j) * a->kv_stride + kv_off;
            float d = 0.0f;
            for (int i = 0; i < hd; i++)
                d += q[i] * kp[i];
            s[j] = d * scale;
            bmax = s[j] > bmax ? s[j] : bmax;
        }
        if (bmax > m) {
            float r = expf(m - bmax);
            for (int i = 0; i < hd; i++)
                acc[i] *= r;
            l *= r;
            m = bmax;
        }
        for (int j = 0; j < nb; j++) {
            float e = expf(s[j] - m);
            const float *vp = a->v_cache + (size_t)(p0 + j) * a->kv_stride + kv_off;
            l += e;
            for (int i = 0; i < hd; i++)
                acc[i] += e * vp[i];
        }
    }
    float *out = a->out + (size_t)t * q_dim + h * hd, inv = 1.0f / l;
    for (int i = 0; i < hd; i++)
        out[i] = acc[i] * inv;
}

static void attention_fused(const kernel_attention_args *a, engine_pool *pool)
{
    if (a->head_dim > ATT_MAX_HEAD) {
        kernel_find(ENGINE_OP_ATTENTION, "scalar")->fn.attention(a, pool);
        return;
    }
    attn_ctx c = {a};
    engine_pool_run(pool, attn_task, &c, a->n * a->n_heads);
}

const kernel_variant kernel_variants_avx2[] = {
    AVX2_ENTRIES
    {.info = {ENGINE_OP_ATTENTION, "fused", "cpu", "",
              "portable C: single pass with online softmax, threaded over tokens x heads"},
     .priority = 10, .fn.attention = attention_fused},
    {.info = {.name = NULL}},
};
