/* "avx512_kq": Q4_K, Q5_K and Q6_K weights with AVX-512 (BW), in the
 * arithmetic of the scalar_q8 reference (and of llama.cpp): each token's
 * activations are quantized to q8_K once per call, each super-block of a
 * row is unpacked in registers (nibbles, fifth/sixth bits, 6-bit or int8
 * scales) and multiplied in integers; the integer sums of a sub-block
 * are scaled by its integer scale exactly, and only the per-super-block
 * float scale (d_w * d_x) and the mins term are applied in float, so the
 * results differ from scalar_q8 by float summation order alone.
 *
 * Decode (few tokens) and prefill share the row loop: a row's super-block
 * is unpacked once and applied to up to KQ_TOKENS tokens, so prefill reads
 * each weight once per KQ_TOKENS tokens. Products go through VPMADDUBSW
 * (pairs of u8 x s8 in 16 bits: at most 2 * 63 * 127, no overflow) and
 * VPMADDWD with the sub-block scales. Rows are split over the pool.
 * Other element types go to the "avx512" variant. */
#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "kernels_cpu.h"
#include "quant.h"
#include "quant_k.h"

#if defined(__x86_64__) || defined(__i386__)

#define TKQ __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,f16c")))
#define KQ_TOKENS 8   /* tokens sharing one unpacked super-block */

static bool kq_supported(void)
{
    const cpu_features *f = cpu_features_get();
    return f->avx512f && f->avx512bw && f->avx512vl && f->fma && f->f16c && f->avx2 &&
           !kcpu_isa_disabled("avx512");
}

typedef struct kq_ctx {
    const engine_tensor *w;
    const block_q8_K *act;   /* n tokens x nb blocks; q4_K/q5_K: sub-blocks in kq_perm order */
    const int16_t *ysum;     /* q4_K/q5_K: n x nb x 8 sums of each sub-block of 32 activations */
    float *out;
    int n;
    int64_t nb, rows_per_task;
} kq_ctx;

/* q4_K/q5_K: a 64-byte load of qs holds sub-blocks (2k, 2k+2) in its low
 * nibbles and (2k+1, 2k+3) in its high ones; activations are stored in
 * that order so each nibble vector meets its 64 activations in one load. */
static const int kq_perm[8] = {0, 2, 1, 3, 4, 6, 5, 7};

/* 16-bit lanes 0-15 from lane a of v, 16-31 from lane b. */
TKQ static inline __m512i pair16(__m512i v, int a, int b)
{
    const __m512i idx = _mm512_mask_blend_epi16(0xFFFF0000u, _mm512_set1_epi16((short)a), _mm512_set1_epi16((short)b));
    return _mm512_permutexvar_epi16(idx, v);
}

/* 16-bit lanes 0-15 shifted right by a, 16-31 by b (bytes 0-31 and 32-63). */
TKQ static inline __m512i shift_halves(__m512i v, int a, int b)
{
    const __m512i cnt = _mm512_mask_blend_epi16(0xFFFF0000u, _mm512_set1_epi16((short)a), _mm512_set1_epi16((short)b));
    return _mm512_srlv_epi16(v, cnt);
}

/* sum over 64 bytes of w (unsigned) * y (signed), weighted per pair of
 * 16-bit lanes by scale s (int16 lanes): int32 lanes, exact. */
TKQ static inline __m512i scaled_dot(__m512i w, const int8_t *y, __m512i s)
{
    return _mm512_madd_epi16(_mm512_maddubs_epi16(w, _mm512_loadu_si512(y)), s);
}

/* The eight 6-bit scales (sc) and mins (m) of a q4_K/q5_K block, one byte
 * each, from the 12 packed bytes: bytes 0-3 hold sc0-3 in their low six
 * bits and the top bits of sc4-7; bytes 4-7 the same for the mins; bytes
 * 8-11 the low nibbles of sc4-7 and, above them, of m4-7. */
static inline void unpack_scales(const uint8_t *q, uint32_t sc[2], uint32_t m[2])
{
    uint32_t a, b, c;
    memcpy(&a, q, 4);
    memcpy(&b, q + 4, 4);
    memcpy(&c, q + 8, 4);
    sc[0] = a & 0x3f3f3f3fu;
    m[0] = b & 0x3f3f3f3fu;
    sc[1] = (c & 0x0f0f0f0fu) | ((a >> 2) & 0x30303030u);
    m[1] = ((c >> 4) & 0x0f0f0f0fu) | ((b >> 2) & 0x30303030u);
}

/* Row r of a q4_K (or, with qh, q5_K) matrix for tokens [t0, t0 + NT):
 * inlined with NT a constant, the accumulators stay in registers. */
/* Decode streams each row once: prefetch the super-block KQ_PREFETCH_BYTES
 * ahead in software (as the q4_0/q8_0 kernels do; the unpacking takes too
 * many instructions per line for the out-of-order window to cover memory
 * latency). */
#define KQ_PREFETCH_BYTES 2048
TKQ static inline __attribute__((always_inline)) void kq_prefetch(const void *block, size_t bytes)
{
    const char *p = (const char *)block + KQ_PREFETCH_BYTES;
    for (size_t l = 0; l < bytes; l += 64)
        _mm_prefetch(p + l, _MM_HINT_T0);
}

TKQ static inline __attribute__((always_inline)) void q45_tokens(const int NT, const kq_ctx *c, const uint8_t *row,
                                                                 int64_t r, int t0, bool five)
{
    const engine_tensor *w = c->w;
    const int nt = NT;
    const __m512i m4 = _mm512_set1_epi8(0x0F), one = _mm512_set1_epi8(1);
    __m512 acc[KQ_TOKENS];
    __m128 macc[KQ_TOKENS];
    for (int t = 0; t < nt; t++) {
        acc[t] = _mm512_setzero_ps();
        macc[t] = _mm_setzero_ps();
    }
    for (int64_t b = 0; b < c->nb; b++) {
        const uint8_t *scales, *qs, *qh = NULL;
        uint16_t dh, dminh;
        if (five)
            kq_prefetch((const block_q5_K *)row + b, sizeof(block_q5_K));
        else
            kq_prefetch((const block_q4_K *)row + b, sizeof(block_q4_K));
        if (five) {
            const block_q5_K *x = (const block_q5_K *)row + b;
            scales = x->scales, qs = x->qs, qh = x->qh, dh = x->d, dminh = x->dmin;
        } else {
            const block_q4_K *x = (const block_q4_K *)row + b;
            scales = x->scales, qs = x->qs, dh = x->d, dminh = x->dmin;
        }
        uint32_t sc[2], mn[2];
        unpack_scales(scales, sc, mn);
        const __m512i sc16 = _mm512_castsi128_si512(_mm_cvtepu8_epi16(_mm_set_epi32(0, 0, (int)sc[1], (int)sc[0])));
        const __m128i m16 = _mm_cvtepu8_epi16(_mm_set_epi32(0, 0, (int)mn[1], (int)mn[0]));
        const __m512i s0 = pair16(sc16, 0, 2), s1 = pair16(sc16, 1, 3);
        const __m512i s2 = pair16(sc16, 4, 6), s3 = pair16(sc16, 5, 7);
        const __m512i v0 = _mm512_loadu_si512(qs), v1 = _mm512_loadu_si512(qs + 64);
        __m512i w0 = _mm512_and_si512(v0, m4), w1 = _mm512_and_si512(_mm512_srli_epi16(v0, 4), m4);
        __m512i w2 = _mm512_and_si512(v1, m4), w3 = _mm512_and_si512(_mm512_srli_epi16(v1, 4), m4);
        if (five) {
            /* bit j of qh[l]: the fifth bit of element l of sub-block j */
            const __m512i h = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)qh));
#define HIGH(v, a, b) _mm512_or_si512(v, _mm512_slli_epi16(_mm512_and_si512(shift_halves(h, a, b), one), 4))
            w0 = HIGH(w0, 0, 2);
            w1 = HIGH(w1, 1, 3);
            w2 = HIGH(w2, 4, 6);
            w3 = HIGH(w3, 5, 7);
#undef HIGH
        }
        const float dw = _cvtsh_ss(dh), dminw = _cvtsh_ss(dminh);
        for (int t = 0; t < nt; t++) {
            const size_t yb = (size_t)(t0 + t) * c->nb + b;
            const block_q8_K *y = c->act + yb;
            __m512i isum = _mm512_add_epi32(_mm512_add_epi32(scaled_dot(w0, y->qs, s0), scaled_dot(w1, y->qs + 64, s1)),
                                            _mm512_add_epi32(scaled_dot(w2, y->qs + 128, s2), scaled_dot(w3, y->qs + 192, s3)));
            acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_set1_ps(dw * y->d), acc[t]);
            const __m128i ms = _mm_madd_epi16(m16, _mm_loadu_si128((const __m128i *)(c->ysum + yb * 8)));
            macc[t] = _mm_fmadd_ps(_mm_cvtepi32_ps(ms), _mm_set1_ps(dminw * y->d), macc[t]);
        }
    }
    for (int t = 0; t < nt; t++) {
        __m128 mv = _mm_add_ps(macc[t], _mm_movehl_ps(macc[t], macc[t]));
        mv = _mm_add_ss(mv, _mm_movehdup_ps(mv));
        c->out[(size_t)(t0 + t) * w->rows + r] = _mm512_reduce_add_ps(acc[t]) - _mm_cvtss_f32(mv);
    }
}

/* Rows [r0, r1) of a q4_K (or, with qh, q5_K) matrix for every token. */
TKQ static void rows_q45_K(const kq_ctx *c, int64_t r0, int64_t r1, bool five)
{
    const size_t row_bytes = engine_dtype_bytes(c->w->type, c->w->cols);
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = (const uint8_t *)c->w->data + (size_t)r * row_bytes;
        for (int t0 = 0; t0 < c->n; t0 += KQ_TOKENS) {
            switch (c->n - t0 < KQ_TOKENS ? c->n - t0 : KQ_TOKENS) {
            case 1: q45_tokens(1, c, row, r, t0, five); break;
            case 2: q45_tokens(2, c, row, r, t0, five); break;
            case 3: q45_tokens(3, c, row, r, t0, five); break;
            case 4: q45_tokens(4, c, row, r, t0, five); break;
            case 5: q45_tokens(5, c, row, r, t0, five); break;
            case 6: q45_tokens(6, c, row, r, t0, five); break;
            case 7: q45_tokens(7, c, row, r, t0, five); break;
            default: q45_tokens(KQ_TOKENS, c, row, r, t0, five); break;
            }
        }
    }
}

/* q6_K: the scale of 16-bit lane i of the k-th 64-element vector of a
 * super-block is scale 4k + i / 8 (a sub-block of 16 is 8 lanes). */
static _Alignas(64) const int16_t q6_scale_lanes[4][32] = {
    {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3},
    {4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7, 7},
    {8, 8, 8, 8, 8, 8, 8, 8, 9, 9, 9, 9, 9, 9, 9, 9, 10, 10, 10, 10, 10, 10, 10, 10, 11, 11, 11, 11, 11, 11, 11, 11},
    {12, 12, 12, 12, 12, 12, 12, 12, 13, 13, 13, 13, 13, 13, 13, 13, 14, 14, 14, 14, 14, 14, 14, 14, 15, 15, 15, 15, 15, 15, 15, 15},
};

/* Row r of a q6_K matrix for tokens [t0, t0 + NT) (NT a constant, as q45_tokens). */
TKQ static inline __attribute__((always_inline)) void q6_tokens(const int NT, const kq_ctx *c, const block_q6_K *row,
                                                                int64_t r, int t0)
{
    const engine_tensor *w = c->w;
    const int nt = NT;
    const __m512i m4 = _mm512_set1_epi8(0x0F), m2 = _mm512_set1_epi8(3);
    /* 16-bit lane i of the lo/hi vector of half h covers sub-block of 16 number 8h + i/8 (+ 4 for hi) */
    __m512i idx[4];
    for (int k = 0; k < 4; k++)
        idx[k] = _mm512_load_si512(q6_scale_lanes[k]);
    __m512 acc[KQ_TOKENS];
    for (int t = 0; t < nt; t++)
        acc[t] = _mm512_setzero_ps();
    for (int64_t b = 0; b < c->nb; b++) {
        const block_q6_K *x = row + b;
        kq_prefetch(x, sizeof *x);
        __m512i wv[4], sv[4];
        const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)x->scales));
        for (int h = 0; h < 2; h++) {
            const __m512i ql = _mm512_loadu_si512(x->ql + 64 * h);
            const __m512i qh = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(x->qh + 32 * h)));
            /* lo: elements 128h + 0..63 (g = 0, 1), hi: 128h + 64..127 (g = 2, 3) */
            wv[2 * h] = _mm512_or_si512(_mm512_and_si512(ql, m4),
                                        _mm512_slli_epi16(_mm512_and_si512(shift_halves(qh, 0, 2), m2), 4));
            wv[2 * h + 1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), m4),
                                            _mm512_slli_epi16(_mm512_and_si512(shift_halves(qh, 4, 6), m2), 4));
        }
        for (int k = 0; k < 4; k++)
            sv[k] = _mm512_permutexvar_epi16(idx[k], _mm512_castsi256_si512(sc16));
        const float dw = _cvtsh_ss(x->d);
        for (int t = 0; t < nt; t++) {
            const block_q8_K *y = c->act + (size_t)(t0 + t) * c->nb + b;
            __m512i isum = _mm512_add_epi32(_mm512_add_epi32(scaled_dot(wv[0], y->qs, sv[0]), scaled_dot(wv[1], y->qs + 64, sv[1])),
                                            _mm512_add_epi32(scaled_dot(wv[2], y->qs + 128, sv[2]), scaled_dot(wv[3], y->qs + 192, sv[3])));
            /* the quants are stored + 32: take 32 * sum_j(scale_j * sum of the activations of j) off */
            const __m256i corr = _mm256_madd_epi16(sc16, _mm256_loadu_si256((const __m256i *)y->bsums));
            isum = _mm512_sub_epi32(isum, _mm512_zextsi256_si512(_mm256_slli_epi32(corr, 5)));
            acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_set1_ps(dw * y->d), acc[t]);
        }
    }
    for (int t = 0; t < nt; t++)
        c->out[(size_t)(t0 + t) * w->rows + r] = _mm512_reduce_add_ps(acc[t]);
}

/* Rows [r0, r1) of a q6_K matrix for every token. */
TKQ static void rows_q6_K(const kq_ctx *c, int64_t r0, int64_t r1)
{
    const size_t row_bytes = engine_dtype_bytes(c->w->type, c->w->cols);
    for (int64_t r = r0; r < r1; r++) {
        const block_q6_K *row = (const block_q6_K *)((const uint8_t *)c->w->data + (size_t)r * row_bytes);
        for (int t0 = 0; t0 < c->n; t0 += KQ_TOKENS) {
            switch (c->n - t0 < KQ_TOKENS ? c->n - t0 : KQ_TOKENS) {
            case 1: q6_tokens(1, c, row, r, t0); break;
            case 2: q6_tokens(2, c, row, r, t0); break;
            case 3: q6_tokens(3, c, row, r, t0); break;
            case 4: q6_tokens(4, c, row, r, t0); break;
            case 5: q6_tokens(5, c, row, r, t0); break;
            case 6: q6_tokens(6, c, row, r, t0); break;
            case 7: q6_tokens(7, c, row, r, t0); break;
            default: q6_tokens(KQ_TOKENS, c, row, r, t0); break;
            }
        }
    }
}

TKQ static void kq_task(void *arg, int task, int n_tasks)
{
    (void)n_tasks;
    const kq_ctx *c = arg;
    int64_t r0 = (int64_t)task * c->rows_per_task, r1 = r0 + c->rows_per_task;
    if (r1 > c->w->rows)
        r1 = c->w->rows;
    switch (c->w->type) {
    case ENGINE_DTYPE_Q4_K: rows_q45_K(c, r0, r1, false); break;
    case ENGINE_DTYPE_Q5_K: rows_q45_K(c, r0, r1, true); break;
    default: rows_q6_K(c, r0, r1); break;
    }
}

/* q8_K activations of n tokens; q4_K/q5_K get their sub-blocks in kq_perm
 * order (bsums stay in natural order: the mins term reads them by j). */
static void quantize_activations(const float *x, int n, int64_t cols, engine_dtype type, block_q8_K *act,
                                 int16_t *ysum)
{
    const int64_t nb = cols / QK_K;
    for (int t = 0; t < n; t++) {
        block_q8_K *a = act + (size_t)t * nb;
        quant_k_quantize_q8_K(x + (size_t)t * cols, a, cols);
        if (type == ENGINE_DTYPE_Q6_K)
            continue;
        for (int64_t b = 0; b < nb; b++) {
            for (int j = 0; j < 8; j++)
                ysum[((size_t)t * nb + b) * 8 + j] = (int16_t)(a[b].bsums[2 * j] + a[b].bsums[2 * j + 1]);
            int8_t tmp[QK_K];
            for (int j = 0; j < 8; j++)
                memcpy(tmp + 32 * j, a[b].qs + 32 * kq_perm[j], 32);
            memcpy(a[b].qs, tmp, QK_K);
        }
    }
}

static void matmul_avx512_kq(float *out, const float *x, const engine_tensor *w, int n, engine_pool *pool)
{
    if (!((ENGINE_DTYPES_KQUANT >> w->type) & 1)) {
        kernel_find(ENGINE_OP_MATMUL, "avx512")->fn.matmul(out, x, w, n, pool);
        return;
    }
    const int64_t nb = w->cols / QK_K;
    const size_t act_bytes = ((size_t)n * nb * sizeof(block_q8_K) + 63) & ~(size_t)63;
    block_q8_K *act = kcpu_scratch(2, act_bytes + (size_t)n * nb * 8 * sizeof(int16_t));
    if (!act) {   /* out of memory for the activations: the reference gives the same sums */
        kernel_find(ENGINE_OP_MATMUL, "scalar_q8")->fn.matmul(out, x, w, n, pool);
        return;
    }
    int16_t *ysum = (int16_t *)((char *)act + act_bytes);
    quantize_activations(x, n, w->cols, w->type, act, ysum);
    const int threads = engine_pool_threads(pool);
    const int64_t row_bytes = (int64_t)engine_dtype_bytes(w->type, w->cols);
    kq_ctx c = {.w = w, .act = act, .ysum = ysum, .out = out, .n = n, .nb = nb,
                .rows_per_task = n <= KQ_TOKENS ? kcpu_matvec_rows_per_task(w->rows, row_bytes * n, threads, 1)
                                                : kcpu_rows_per_task(w->rows, threads, 1)};
    int n_tasks = (int)((w->rows + c.rows_per_task - 1) / c.rows_per_task);
    engine_pool_run(pool, kq_task, &c, n_tasks);
}

/* Groups of K-quant matrices run one matmul each; others as avx512 groups them. */
static bool matmul_group_avx512_kq(const kernel_matmul_job *jobs, int n_jobs, const float *x, int n,
                                   kernel_swiglu_fn swiglu, engine_pool *pool)
{
    for (int j = 0; j < n_jobs; j++)
        if ((ENGINE_DTYPES_KQUANT >> jobs[j].w->type) & 1)
            return false;
    const kernel_variant *v = kernel_find(ENGINE_OP_MATMUL, "avx512");
    return v->matmul_group && v->matmul_group(jobs, n_jobs, x, n, swiglu, pool);
}

const kernel_variant kernel_variants_kquant_avx512[] = {
    {.info = {ENGINE_OP_MATMUL, "avx512_kq", "cpu", "avx512f avx512bw avx512vl fma f16c",
              "q4_k/q5_k/q6_k: activations quantized to q8_K, integer dots (vpmaddubsw, vpmaddwd) per super-block unpacked in "
              "registers (llama.cpp's arithmetic, as scalar_q8), threaded, 8 tokens per unpacked block; "
              "other types as avx512"},
     .supported = kq_supported, .dtypes = ENGINE_DTYPES_BASE | ENGINE_DTYPES_KQUANT, .priority = 29,
     .fn.matmul = matmul_avx512_kq, .matmul_group = matmul_group_avx512_kq},
    {.info = {.name = NULL}},
};

#else

const kernel_variant kernel_variants_kquant_avx512[] = {{.info = {.name = NULL}}};

#endif
