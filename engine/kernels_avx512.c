/* AVX-512 kernels. Each function carries its own target attribute, so the
 * library stays baseline x86-64 and these run only where supported() says.
 *
 * matmul, decode (few tokens): each weight row streamed once (one row at a
 * time: a single stream reads fastest), rows split over the pool; f32, f16
 * and bf16 converted to f32 in registers; q8_0/q4_0 as integer dot
 * products with VPDPBUSD against activations quantized per block of 32
 * ("avx512"), or dequantized to f32 with FMA ("avx512_dequant").
 * matmul, prefill: a register-blocked GEMM (12 rows x 32 tokens of
 * accumulators) over activations packed token-minor, cache-tiled along the
 * inputs, non-f32 weights converted one 12-row panel at a time and reused
 * for every token; with "avx512", q8_0/q4_0 instead go through an int8
 * GEMM (32 rows x 6 tokens) on panels repacked for VPDPBUSD.
 * Also: fused attention (online softmax), RMSNorm, RoPE, SwiGLU. */
#include <math.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>

#include "kernels_cpu.h"
#include "quant.h"

#define T512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))

#define MR 12          /* GEMM rows per microkernel */
#define NT 32          /* GEMM tokens per microkernel (2 vectors) */
#define KC 256         /* GEMM inputs per cache block: 32 tokens of them fill 32 KiB of L1 */
#define NCHUNK 256     /* GEMM tokens per pass over a row panel */
#define GEMM_MIN_TOKENS 6
/* The int8 GEMM repacks every 32-row panel per call; below this many
 * tokens the row dot products (which unpack in registers) are faster. */
#define QGEMM_MIN_TOKENS 8
#define QGEMM_MIN_TOKENS_Q4 16  /* q4_0 row dots share each unpacked row over 4 tokens */

static bool avx512_supported(void)
{
    const cpu_features *f = cpu_features_get();
    return f->avx512f && f->avx512bw && f->avx512vl && f->avx512vnni && f->fma && f->f16c && f->avx2 &&
           !kcpu_isa_disabled("avx512");
}

/* ---- loading 16 weights as f32 -------------------------------------- */

T512 static inline __m512 load16(engine_dtype t, const void *row, int64_t i)
{
    switch (t) {
    case ENGINE_DTYPE_F16:
        return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)((const uint16_t *)row + i)));
    case ENGINE_DTYPE_BF16:
        return _mm512_castsi512_ps(_mm512_slli_epi32(
            _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)((const uint16_t *)row + i))), 16));
    default:
        return _mm512_loadu_ps((const float *)row + i);
    }
}

T512 static inline __m512 load16_mask(engine_dtype t, const void *row, int64_t i, __mmask16 m)
{
    switch (t) {
    case ENGINE_DTYPE_F16:
        return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, (const uint16_t *)row + i));
    case ENGINE_DTYPE_BF16:
        return _mm512_castsi512_ps(_mm512_slli_epi32(
            _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, (const uint16_t *)row + i)), 16));
    default:
        return _mm512_maskz_loadu_ps(m, (const float *)row + i);
    }
}

/* Dequantizes a q8_0/q4_0 block (32 weights) into two vectors. */
T512 static inline void load_block(engine_dtype t, const void *row, int64_t b, __m512 *lo, __m512 *hi)
{
    if (t == ENGINE_DTYPE_Q8_0) {
        const block_q8_0 *blk = (const block_q8_0 *)row + b;
        __m512 d = _mm512_set1_ps(_cvtsh_ss(blk->d));
        __m128i q0 = _mm_loadu_si128((const __m128i *)blk->qs);
        __m128i q1 = _mm_loadu_si128((const __m128i *)(blk->qs + 16));
        *lo = _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q0)));
        *hi = _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q1)));
    } else {
        const block_q4_0 *blk = (const block_q4_0 *)row + b;
        __m512 d = _mm512_set1_ps(_cvtsh_ss(blk->d));
        __m128i q = _mm_loadu_si128((const __m128i *)blk->qs);
        __m128i m = _mm_set1_epi8(0x0f), eight = _mm_set1_epi8(8);
        __m128i l = _mm_sub_epi8(_mm_and_si128(q, m), eight);
        __m128i h = _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(q, 4), m), eight);
        *lo = _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(l)));
        *hi = _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(h)));
    }
}

static bool is_quant(engine_dtype t) { return t == ENGINE_DTYPE_Q8_0 || t == ENGINE_DTYPE_Q4_0; }

/* ---- decode: row dot products for 1 to 4 tokens at once -------------- */

/* Decode streams each matrix once; the hardware prefetchers alone keep too
 * few lines in flight when each line also takes a dozen or more
 * instructions (q8_0, q4_0: the out-of-order window holds only a KiB or
 * two of the stream), so the kernels prefetch ahead in software. Measured
 * on one thread of the 2-vCPU Xeon VM (bench_engine_kernels, CPU time of a
 * pass against a plain read of the same bytes): q4_0 41-45 % -> 90-110 %,
 * q8_0 71-73 % -> 100-120 % at 2 KiB ahead; f32 96 % -> about 100 % at
 * 1 KiB (4 KiB was slower). With weights read from memory rather than the
 * last-level cache (BENCH_COPIES), 2 to 8 KiB ahead did equally well. */
#define QUANT_PREFETCH_BYTES 2048
#define FLOAT_PREFETCH_BYTES 1024

/* Prefetches the lines of the `bytes` from p on, QUANT_PREFETCH_BYTES ahead
 * (a prefetch never faults, so running past the matrix is harmless). */
T512 static inline __attribute__((always_inline)) void prefetch_ahead(const char *p, int bytes)
{
    _mm_prefetch(p + QUANT_PREFETCH_BYTES, _MM_HINT_T0);
    if (((uintptr_t)(p + QUANT_PREFETCH_BYTES) & 63) + bytes > 64)
        _mm_prefetch(p + QUANT_PREFETCH_BYTES + 64, _MM_HINT_T0);
}

/* Batched decode reads each weight row once for up to DECODE_TOKENS tokens:
 * the row is loaded (and converted) into registers once and multiplied by
 * every token's activations. Each token keeps its own accumulators in the
 * order the one-token loop uses, so a token's result is the same bits
 * whatever else is in the batch. */
#define DECODE_TOKENS 4

/* out[t * ldo + r] = W[r] . x[t * ldx] for rows [r0, r1) and T tokens,
 * one row at a time: a single sequential stream reads faster here than
 * several rows interleaved (measured: 27 against 17 GB/s on one thread). */
T512 static inline __attribute__((always_inline)) void rows_dot_float_t(const int T, float *out, int64_t ldo,
                                                                        const float *x, int64_t ldx,
                                                                        const engine_tensor *w, int64_t r0,
                                                                        int64_t r1)
{
    const engine_dtype t = w->type;
    const int64_t cols = w->cols;
    const size_t rb = engine_dtype_bytes(t, cols);
    const char *base = w->data;
    const int64_t cv = cols & ~(int64_t)15;
    const __mmask16 tail = (__mmask16)((1u << (cols - cv)) - 1);
    const int64_t es = t == ENGINE_DTYPE_F32 ? 4 : 2;   /* bytes per weight */
    for (int64_t r = r0; r < r1; r++) {
        const char *w0 = base + r * rb;
        __m512 a[DECODE_TOKENS][4];
        for (int k = 0; k < T; k++)
            a[k][0] = a[k][1] = a[k][2] = a[k][3] = _mm512_setzero_ps();
        int64_t i = 0;
        for (; i + 64 <= cv; i += 64) {
            for (int64_t l = 0; l < 64 * es; l += 64)
                _mm_prefetch(w0 + i * es + l + FLOAT_PREFETCH_BYTES, _MM_HINT_T0);
            __m512 v0 = load16(t, w0, i), v1 = load16(t, w0, i + 16), v2 = load16(t, w0, i + 32),
                   v3 = load16(t, w0, i + 48);
            for (int k = 0; k < T; k++) {
                const float *xk = x + k * ldx + i;
                a[k][0] = _mm512_fmadd_ps(v0, _mm512_loadu_ps(xk), a[k][0]);
                a[k][1] = _mm512_fmadd_ps(v1, _mm512_loadu_ps(xk + 16), a[k][1]);
                a[k][2] = _mm512_fmadd_ps(v2, _mm512_loadu_ps(xk + 32), a[k][2]);
                a[k][3] = _mm512_fmadd_ps(v3, _mm512_loadu_ps(xk + 48), a[k][3]);
            }
        }
        for (; i < cv; i += 16) {
            __m512 v0 = load16(t, w0, i);
            for (int k = 0; k < T; k++)
                a[k][0] = _mm512_fmadd_ps(v0, _mm512_loadu_ps(x + k * ldx + i), a[k][0]);
        }
        if (tail) {
            __m512 v1 = load16_mask(t, w0, cv, tail);
            for (int k = 0; k < T; k++)
                a[k][1] = _mm512_fmadd_ps(v1, _mm512_maskz_loadu_ps(tail, x + k * ldx + cv), a[k][1]);
        }
        for (int k = 0; k < T; k++)
            out[k * ldo + r] = _mm512_reduce_add_ps(
                _mm512_add_ps(_mm512_add_ps(a[k][0], a[k][1]), _mm512_add_ps(a[k][2], a[k][3])));
    }
}

/* q8_0/q4_0 rows dequantized to f32 on the fly, T tokens. */
T512 static inline __attribute__((always_inline)) void rows_dot_dequant_t(const int T, float *out, int64_t ldo,
                                                                          const float *x, int64_t ldx,
                                                                          const engine_tensor *w, int64_t r0,
                                                                          int64_t r1)
{
    const engine_dtype t = w->type;
    const int64_t nb = w->cols / 32;
    const size_t rb = engine_dtype_bytes(t, w->cols);
    const char *base = w->data;
    for (int64_t r = r0; r < r1; r++) {
        const char *w0 = base + r * rb;
        __m512 a[DECODE_TOKENS], c[DECODE_TOKENS], lo, hi;
        for (int k = 0; k < T; k++)
            a[k] = c[k] = _mm512_setzero_ps();
        for (int64_t b = 0; b < nb; b++) {
            load_block(t, w0, b, &lo, &hi);
            for (int k = 0; k < T; k++) {
                a[k] = _mm512_fmadd_ps(lo, _mm512_loadu_ps(x + k * ldx + b * 32), a[k]);
                c[k] = _mm512_fmadd_ps(hi, _mm512_loadu_ps(x + k * ldx + b * 32 + 16), c[k]);
            }
        }
        for (int k = 0; k < T; k++)
            out[k * ldo + r] = _mm512_reduce_add_ps(_mm512_add_ps(a[k], c[k]));
    }
}

/* Up to DECODE_TOKENS tokens from t0 on: instantiates the kernels above for
 * the token count (a compile-time constant in each case). */
#define DECODE_DISPATCH(T, call_with_T) \
    switch (T) { \
    case 4: call_with_T(4); break; \
    case 3: call_with_T(3); break; \
    case 2: call_with_T(2); break; \
    default: call_with_T(1); break; \
    }

/* Only for the OOM fallback of the int8 GEMM: one token at a time. */
T512 static void rows_dot_dequant(float *out, const float *x, const engine_tensor *w, int64_t r0, int64_t r1)
{
    rows_dot_dequant_t(1, out, 0, x, 0, w, r0, r1);
}

T512 static inline __m512 pair_scale(float s0, float s1)
{
    return _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_castps256_ps512(_mm256_set1_ps(s0))),
                                               _mm256_castps_pd(_mm256_set1_ps(s1)), 1));
}

/* q8_0 against q8 activations of T (1..4) tokens, two blocks per
 * VPDPBUSD: the weights read as unsigned (offset 128, undone by the
 * preloaded corr), loaded once for all T tokens; token t's result goes to
 * out[t * ldo]. */
T512 static inline __attribute__((always_inline)) void row_q8_vnni(const int T, float *out, int64_t ldo,
                                                                   const block_q8_0 *p, int64_t nb,
                                                                   const kcpu_xq *xq, int t0)
{
    const int8_t *xqs[DECODE_TOKENS];
    const float *xd[DECODE_TOKENS];
    const int32_t *corr[DECODE_TOKENS];
    __m512 acc[DECODE_TOKENS], acc2[DECODE_TOKENS];
    for (int t = 0; t < T; t++) {
        xqs[t] = xq->qs + (size_t)(t0 + t) * xq->blocks * 32;
        xd[t] = xq->d + (size_t)(t0 + t) * xq->blocks;
        corr[t] = xq->corr + (size_t)(t0 + t) * (xq->blocks / 2) * 16;
        acc[t] = acc2[t] = _mm512_setzero_ps();
    }
    const __m512i flip = _mm512_set1_epi8((char)0x80);
    const __m512i lanes01 = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
    const __m512i lanes23 = _mm512_set_epi32(3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2);
    int64_t b = 0;
    /* Four blocks per step: the four scales d_w x d_x in one multiply and
     * spread over the pairs' lanes (the products and sums of the two-block
     * step below, in its order: pair b into acc, pair b + 2 into acc2). */
    for (; b + 4 <= nb; b += 4) {
        prefetch_ahead((const char *)(p + b), 68);
        prefetch_ahead((const char *)(p + b + 2), 68);
        __m512i v0 = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)p[b].qs)),
                                        _mm256_loadu_si256((const __m256i *)p[b + 1].qs), 1);
        __m512i v1 = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)p[b + 2].qs)),
                                        _mm256_loadu_si256((const __m256i *)p[b + 3].qs), 1);
        v0 = _mm512_xor_si512(v0, flip);
        v1 = _mm512_xor_si512(v1, flip);
        __m128i dh = _mm_cvtsi32_si128((int)(p[b].d | (uint32_t)p[b + 1].d << 16));
        dh = _mm_insert_epi32(dh, (int)(p[b + 2].d | (uint32_t)p[b + 3].d << 16), 1);
        const __m128 dw = _mm_cvtph_ps(dh);
        for (int t = 0; t < T; t++) {
            __m512i s0 = _mm512_dpbusd_epi32(_mm512_load_si512((const void *)(corr[t] + b * 8)), v0,
                                             _mm512_loadu_si512((const void *)(xqs[t] + b * 32)));
            __m512i s1 = _mm512_dpbusd_epi32(_mm512_load_si512((const void *)(corr[t] + (b + 2) * 8)), v1,
                                             _mm512_loadu_si512((const void *)(xqs[t] + (b + 2) * 32)));
            __m512 sc = _mm512_castps128_ps512(_mm_mul_ps(dw, _mm_loadu_ps(xd[t] + b)));
            acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s0), _mm512_permutexvar_ps(lanes01, sc), acc[t]);
            acc2[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s1), _mm512_permutexvar_ps(lanes23, sc), acc2[t]);
        }
    }
    for (; b + 2 <= nb; b += 2) {
        prefetch_ahead((const char *)(p + b), 68);
        __m512i v = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)p[b].qs)),
                                       _mm256_loadu_si256((const __m256i *)p[b + 1].qs), 1);
        v = _mm512_xor_si512(v, flip);
        const float d0 = _cvtsh_ss(p[b].d), d1 = _cvtsh_ss(p[b + 1].d);
        for (int t = 0; t < T; t++) {
            __m512i c = _mm512_load_si512((const void *)(corr[t] + b * 8));
            __m512i s = _mm512_dpbusd_epi32(c, v, _mm512_loadu_si512((const void *)(xqs[t] + b * 32)));
            __m512 sc = pair_scale(d0 * xd[t][b], d1 * xd[t][b + 1]);
            if (b & 2)
                acc2[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), sc, acc2[t]);
            else
                acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), sc, acc[t]);
        }
    }
    for (int t = 0; t < T; t++) {
        float sum = _mm512_reduce_add_ps(_mm512_add_ps(acc[t], acc2[t]));
        if (b < nb) { /* odd block count: the last block on its own */
            int32_t isum = 0;
            for (int j = 0; j < 32; j++)
                isum += p[b].qs[j] * xqs[t][b * 32 + j];
            sum += _cvtsh_ss(p[b].d) * xd[t][b] * (float)isum;
        }
        out[t * ldo] = sum;
    }
}

/* q4_0 against q8 activations of T (1..4) tokens, four blocks per step:
 * their 16-byte nibble arrays side by side give the low halves (& 15) and
 * the high halves (>> 4), which meet activations stored in that order
 * (group 4). The nibbles are 0..15, so the -8 is undone by the preloaded
 * corr. Nibbles and weight scales are unpacked once for all T tokens;
 * token t's result goes to out[t * ldo]. */
T512 static inline __attribute__((always_inline)) void row_q4_vnni(const int T, float *out, int64_t ldo,
                                                                   const block_q4_0 *p, int64_t nb,
                                                                   const kcpu_xq *xq, int t0)
{
    const int8_t *xqs[4];
    const float *xd[4];
    const int32_t *corr[4];
    __m512 acc[4];
    for (int t = 0; t < T; t++) {
        xqs[t] = xq->qs + (size_t)(t0 + t) * xq->blocks * 32;
        xd[t] = xq->d + (size_t)(t0 + t) * xq->blocks;
        corr[t] = xq->corr + (size_t)(t0 + t) * (xq->blocks / 4) * 16;
        acc[t] = _mm512_setzero_ps();
    }
    const __m512i m4 = _mm512_set1_epi8(0x0f);
    const __m512i spread = _mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0);
    int64_t b = 0;
    for (; b + 4 <= nb; b += 4) {
        prefetch_ahead((const char *)(p + b), 72);
        __m512i q = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)p[b].qs));
        q = _mm512_inserti32x4(q, _mm_loadu_si128((const __m128i *)p[b + 1].qs), 1);
        q = _mm512_inserti32x4(q, _mm_loadu_si128((const __m128i *)p[b + 2].qs), 2);
        q = _mm512_inserti32x4(q, _mm_loadu_si128((const __m128i *)p[b + 3].qs), 3);
        __m512i lo = _mm512_and_si512(q, m4), hi = _mm512_and_si512(_mm512_srli_epi16(q, 4), m4);
        __m128i dh = _mm_cvtsi32_si128(p[b].d | (uint32_t)p[b + 1].d << 16);
        dh = _mm_insert_epi32(dh, p[b + 2].d | (uint32_t)p[b + 3].d << 16, 1);
        __m128 dw = _mm_cvtph_ps(dh);
        for (int t = 0; t < T; t++) {
            const int8_t *a = xqs[t] + b * 32;
            __m512i s = _mm512_load_si512((const void *)(corr[t] + b * 4));
            s = _mm512_dpbusd_epi32(s, lo, _mm512_loadu_si512((const void *)a));
            s = _mm512_dpbusd_epi32(s, hi, _mm512_loadu_si512((const void *)(a + 64)));
            __m512 sc = _mm512_permutexvar_ps(spread, _mm512_castps128_ps512(_mm_mul_ps(dw, _mm_loadu_ps(xd[t] + b))));
            acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), sc, acc[t]);
        }
    }
    for (int t = 0; t < T; t++) {
        float sum = _mm512_reduce_add_ps(acc[t]);
        for (int64_t bb = b; bb < nb; bb++) { /* the last nb % 4 blocks */
            int32_t isum = 0;
            for (int j = 0; j < 16; j++)
                isum += ((p[bb].qs[j] & 15) - 8) * kcpu_xq_at(xq, t0 + t, bb, j) +
                        ((p[bb].qs[j] >> 4) - 8) * kcpu_xq_at(xq, t0 + t, bb, j + 16);
            sum += _cvtsh_ss(p[bb].d) * xd[t][bb] * (float)isum;
        }
        out[t * ldo] = sum;
    }
}

/* ---- prefill: the GEMM ------------------------------------------------ */

/* c[r][0..32) += sum_k wp[r*ldw + k] * xp[k*32 + 0..32) for r < 12. */
T512 static void gemm_12x32(float *c, const float *wp, int64_t ldw, const float *xp, int kc)
{
    __m512 acc[MR][2];
    for (int r = 0; r < MR; r++)
        acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    for (int k = 0; k < kc; k++) {
        __m512 x0 = _mm512_load_ps(xp + k * NT), x1 = _mm512_load_ps(xp + k * NT + 16);
#pragma GCC unroll 12
        for (int r = 0; r < MR; r++) {
            __m512 b = _mm512_set1_ps(wp[r * ldw + k]);
            acc[r][0] = _mm512_fmadd_ps(b, x0, acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(b, x1, acc[r][1]);
        }
    }
    for (int r = 0; r < MR; r++) {
        _mm512_store_ps(c + r * NT, _mm512_add_ps(_mm512_load_ps(c + r * NT), acc[r][0]));
        _mm512_store_ps(c + r * NT + 16, _mm512_add_ps(_mm512_load_ps(c + r * NT + 16), acc[r][1]));
    }
}

typedef struct mm_ctx {
    float *out;
    const float *x;
    const engine_tensor *w;
    int n;
    int64_t rows_per_task;
    bool dequant;       /* q8_0/q4_0 decode through f32 instead of VNNI */
    float *xp;          /* GEMM: packed activations, tile-major, k, 32 tokens */
    int64_t kpad;       /* packed k extent */
    kcpu_xq xq;         /* decode: quantized activations */
} mm_ctx;

/* r[i] = column i of the 16 x 16 matrix whose rows are r[0..16). */
T512 static inline void transpose16x16_ps(__m512 r[16])
{
    __m512 t[16], u[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    /* u[4i + c], 128-bit lane L: column 4L + c of rows 4i..4i+3 */
    for (int i = 0; i < 4; i++) {
        u[4 * i] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], _MM_SHUFFLE(1, 0, 1, 0));
        u[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], _MM_SHUFFLE(3, 2, 3, 2));
        u[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE(1, 0, 1, 0));
        u[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int c = 0; c < 4; c++) {
        __m512 x0 = _mm512_shuffle_f32x4(u[c], u[4 + c], _MM_SHUFFLE(2, 0, 2, 0));
        __m512 x1 = _mm512_shuffle_f32x4(u[c], u[4 + c], _MM_SHUFFLE(3, 1, 3, 1));
        __m512 y0 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], _MM_SHUFFLE(2, 0, 2, 0));
        __m512 y1 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], _MM_SHUFFLE(3, 1, 3, 1));
        r[c] = _mm512_shuffle_f32x4(x0, y0, _MM_SHUFFLE(2, 0, 2, 0));
        r[4 + c] = _mm512_shuffle_f32x4(x1, y1, _MM_SHUFFLE(2, 0, 2, 0));
        r[8 + c] = _mm512_shuffle_f32x4(x0, y0, _MM_SHUFFLE(3, 1, 3, 1));
        r[12 + c] = _mm512_shuffle_f32x4(x1, y1, _MM_SHUFFLE(3, 1, 3, 1));
    }
}

/* Packs tokens [32*tile, 32*tile + 32) of x, zero padded, as xp[tile][k][32]:
 * 16 tokens x 16 inputs per step, transposed in registers. */
T512 static void pack_task(void *arg, int tile, int n_tiles)
{
    mm_ctx *c = arg;
    const int64_t cols = c->w->cols;
    float *dst = c->xp + (size_t)tile * c->kpad * NT;
    for (int half = 0; half < NT / 16; half++) {
        const int tok0 = tile * NT + half * 16;
        for (int64_t k0 = 0; k0 < cols; k0 += 16) {
            const int kn = cols - k0 < 16 ? (int)(cols - k0) : 16;
            const __mmask16 m = (__mmask16)((1u << kn) - 1);
            __m512 v[16];
            for (int i = 0; i < 16; i++)
                v[i] = tok0 + i < c->n ? _mm512_maskz_loadu_ps(m, c->x + (size_t)(tok0 + i) * cols + k0)
                                       : _mm512_setzero_ps();
            transpose16x16_ps(v);
            for (int i = 0; i < kn; i++)
                _mm512_store_ps(dst + (k0 + i) * NT + half * 16, v[i]);
        }
    }
}

/* 12 rows (zero padded past `rows`) of inputs [k0, k0+kc) as f32. */
T512 static void panel_f32(float *dst, const engine_tensor *w, int64_t r0, int64_t k0, int kc)
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
                __m512 lo, hi;
                load_block(w->type, row, (k0 + k) / 32, &lo, &hi);
                _mm512_store_ps(d + k, lo);
                _mm512_store_ps(d + k + 16, hi);
            }
        } else {
            int k = 0;
            for (; k + 16 <= kc; k += 16)
                _mm512_store_ps(d + k, load16(w->type, row, k0 + k));
            if (k < kc) {
                __mmask16 m = (__mmask16)((1u << (kc - k)) - 1);
                _mm512_storeu_ps(d + k, load16_mask(w->type, row, k0 + k, m));
            }
        }
    }
}

T512 static void gemm_task(void *arg, int task, int n_tasks)
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
            int nt = c->n - t0 < NCHUNK ? c->n - t0 : NCHUNK;
            int tiles = (nt + NT - 1) / NT;
            memset(ct, 0, (size_t)tiles * MR * NT * sizeof(float));
            for (int64_t k0 = 0; k0 < cols; k0 += KC) {
                int kc = cols - k0 < KC ? (int)(cols - k0) : KC;
                const float *wp;
                int64_t ldw;
                if (direct) {
                    wp = (const float *)w->data + r0 * cols + k0;
                    ldw = cols;
                } else {
                    panel_f32(panel, w, r0, k0, kc);
                    wp = panel;
                    ldw = KC;
                }
                for (int tl = 0; tl < tiles; tl++) {
                    const float *xp = c->xp + ((size_t)(t0 / NT + tl) * c->kpad + k0) * NT;
                    gemm_12x32(ct + tl * MR * NT, wp, ldw, xp, kc);
                }
            }
            /* ct is rows x tokens; out is tokens x rows: 16 tokens at a time */
            const int nr = rows - r0 < MR ? (int)(rows - r0) : MR;
            const __mmask16 rm = (__mmask16)((1u << nr) - 1);
            for (int t = 0; t < nt; t += 16) {
                const float *src = ct + (t / NT) * MR * NT + (t % NT);
                __m512 v[16];
                for (int r = 0; r < 16; r++)
                    v[r] = r < MR ? _mm512_load_ps(src + r * NT) : _mm512_setzero_ps();
                transpose16x16_ps(v);
                for (int i = 0; i < 16 && t + i < nt; i++)
                    _mm512_mask_storeu_ps(c->out + (size_t)(t0 + t + i) * rows + r0, rm, v[i]);
            }
        }
    }
}

/* ---- prefill with q8_0/q4_0 weights: an int8 GEMM with VNNI ------------ */

#define QR 32   /* rows per panel: two vectors of 16 */
#define QT 6    /* tokens per microkernel */

/* r[i] = column i of the 8 x 8 matrix of int32 whose rows are r[0..8). */
T512 static inline void transpose8x8_epi32(__m256i r[8])
{
    __m256i t[8], u[8];
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm256_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 2; i++) {
        u[4 * i] = _mm256_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
        u[4 * i + 1] = _mm256_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
        u[4 * i + 2] = _mm256_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
        u[4 * i + 3] = _mm256_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
    }
    for (int i = 0; i < 4; i++) {
        r[i] = _mm256_permute2x128_si256(u[i], u[i + 4], 0x20);
        r[i + 4] = _mm256_permute2x128_si256(u[i], u[i + 4], 0x31);
    }
}

/* Packs rows [r0, r0 + 32) (zero past the end) of a q8_0/q4_0 matrix for
 * VPDPBUSD: per block, 8 groups of 4 inputs x 32 rows as unsigned bytes
 * (q8_0 + 128, q4_0 nibbles 0..15): each row's 8 groups are one 32-byte
 * vector, and 8 rows at a time are transposed in registers. Then the 32
 * rows' scales. (Gathers did the same at 3x the cost.) */
T512 static void qpanel_pack(uint8_t *pw, float *pd, const engine_tensor *w, int64_t r0)
{
    const int64_t nb = w->cols / 32, rb = (int64_t)engine_dtype_bytes(w->type, w->cols);
    const bool q8 = w->type == ENGINE_DTYPE_Q8_0;
    const size_t bs = q8 ? sizeof(block_q8_0) : sizeof(block_q4_0);
    const __m256i flip = _mm256_set1_epi8((char)0x80);
    const __m128i m4 = _mm_set1_epi8(0x0f);
    const int valid = w->rows - r0 >= QR ? QR : (int)(w->rows - r0);
    for (int64_t b = 0; b < nb; b++) {
        for (int g = 0; g < QR / 8; g++) {
            __m256i v[8];
            for (int i = 0; i < 8; i++) {
                int r = g * 8 + i;
                if (r >= valid) {
                    v[i] = _mm256_setzero_si256();
                    continue;
                }
                const char *blk = (const char *)w->data + (r0 + r) * rb + b * bs;
                if (q8) {
                    v[i] = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(blk + 2)), flip);
                } else {
                    __m128i q = _mm_loadu_si128((const __m128i *)(blk + 2));
                    v[i] = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_and_si128(q, m4)),
                                                   _mm_and_si128(_mm_srli_epi16(q, 4), m4), 1);
                }
            }
            transpose8x8_epi32(v);
            for (int kq = 0; kq < 8; kq++)
                _mm256_store_si256((__m256i *)(pw + b * 1024 + kq * 128 + g * 32), v[kq]);
        }
        for (int r = 0; r < QR; r++) {
            const uint16_t *d = (const uint16_t *)((const char *)w->data + (r0 + r) * rb + b * bs);
            pd[b * QR + r] = r < valid ? _cvtsh_ss(*d) : 0.0f;
        }
    }
}

/* out[t][r0 + 0..32) for T tokens from t0: per block, 8 VPDPBUSD steps
 * into int32 sums preloaded with the offset correction, then scaled by
 * the weights' and the token's block scales into float sums. */
T512 static inline __attribute__((always_inline)) void qgemm_kernel(
    const int T, float *out, int64_t ldo, __mmask16 m0, __mmask16 m1, const uint8_t *pw, const float *pd,
    int64_t nb, const kcpu_xq *xq, int t0)
{
    __m512 f[QT][2];
    const int8_t *xs[QT];
    const float *xd[QT];
    const int32_t *xc[QT];
    const int64_t groups = xq->blocks / 2;
    for (int t = 0; t < T; t++) {
        f[t][0] = f[t][1] = _mm512_setzero_ps();
        xs[t] = xq->qs + (size_t)(t0 + t) * xq->blocks * 32;
        xd[t] = xq->d + (size_t)(t0 + t) * xq->blocks;
        xc[t] = xq->corr + (size_t)(t0 + t) * groups * 16;
    }
    for (int64_t b = 0; b < nb; b++) {
        __m512i acc[QT][2];
        for (int t = 0; t < T; t++)
            acc[t][0] = acc[t][1] = _mm512_set1_epi32(xc[t][(b / 2) * 16 + (b & 1) * 8]);
        const uint8_t *wb = pw + b * 1024;
        for (int kq = 0; kq < 8; kq++) {
            __m512i w0 = _mm512_load_si512((const void *)(wb + kq * 128));
            __m512i w1 = _mm512_load_si512((const void *)(wb + kq * 128 + 64));
            for (int t = 0; t < T; t++) {
                int32_t xv;
                memcpy(&xv, xs[t] + b * 32 + kq * 4, 4);
                __m512i xb = _mm512_set1_epi32(xv);
                acc[t][0] = _mm512_dpbusd_epi32(acc[t][0], w0, xb);
                acc[t][1] = _mm512_dpbusd_epi32(acc[t][1], w1, xb);
            }
        }
        __m512 d0 = _mm512_load_ps(pd + b * 32), d1 = _mm512_load_ps(pd + b * 32 + 16);
        for (int t = 0; t < T; t++) {
            __m512 dx = _mm512_set1_ps(xd[t][b]);
            f[t][0] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc[t][0]), _mm512_mul_ps(d0, dx), f[t][0]);
            f[t][1] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc[t][1]), _mm512_mul_ps(d1, dx), f[t][1]);
        }
    }
    for (int t = 0; t < T; t++) {
        _mm512_mask_storeu_ps(out + (size_t)(t0 + t) * ldo, m0, f[t][0]);
        _mm512_mask_storeu_ps(out + (size_t)(t0 + t) * ldo + 16, m1, f[t][1]);
    }
}

T512 static void qgemm_task(void *arg, int task, int n_tasks);

/* Quantizes tokens of x to q8 blocks (group 2 layout) with AVX-512:
 * round to nearest even, which is within the same half-step bound. */
T512 static void xq_fill_task(void *arg, int task, int n_tasks);

/* Decode: rows [r0, r1) for every token, each row read once per
 * DECODE_TOKENS tokens. */
T512 static void matvec_rows(const mm_ctx *c, int64_t r0, int64_t r1)
{
    const engine_tensor *w = c->w;
    const size_t rb = engine_dtype_bytes(w->type, w->cols);
    const int64_t nb = w->cols / 32;
    const char *base = w->data;
    for (int t = 0; t < c->n; t += DECODE_TOKENS) {
        const int T = c->n - t < DECODE_TOKENS ? c->n - t : DECODE_TOKENS;
        float *out = c->out + (size_t)t * w->rows;
        const float *x = c->x + (size_t)t * w->cols;
        if (!is_quant(w->type)) {
#define FLOAT_ROWS(K) rows_dot_float_t(K, out, w->rows, x, w->cols, w, r0, r1)
            DECODE_DISPATCH(T, FLOAT_ROWS)
#undef FLOAT_ROWS
        } else if (c->dequant) {
#define DEQUANT_ROWS(K) rows_dot_dequant_t(K, out, w->rows, x, w->cols, w, r0, r1)
            DECODE_DISPATCH(T, DEQUANT_ROWS)
#undef DEQUANT_ROWS
        } else {
            for (int64_t r = r0; r < r1; r++) {
                const void *row = base + r * rb;
#define Q8_ROW(K) row_q8_vnni(K, out + r, w->rows, row, nb, &c->xq, t)
#define Q4_ROW(K) row_q4_vnni(K, out + r, w->rows, row, nb, &c->xq, t)
                if (w->type == ENGINE_DTYPE_Q8_0) {
                    DECODE_DISPATCH(T, Q8_ROW)
                } else {
                    DECODE_DISPATCH(T, Q4_ROW)
                }
#undef Q8_ROW
#undef Q4_ROW
            }
        }
    }
}

/* Decode: rows [task*rpt, ...) for every token. */
T512 static void matvec_task(void *arg, int task, int n_tasks)
{
    (void)n_tasks;
    mm_ctx *c = arg;
    int64_t r0 = task * c->rows_per_task, r1 = r0 + c->rows_per_task;
    matvec_rows(c, r0, r1 < c->w->rows ? r1 : c->w->rows);
}

T512 static void qgemm_task(void *arg, int task, int n_tasks)
{
    mm_ctx *c = arg;
    const engine_tensor *w = c->w;
    const int64_t nb = w->cols / 32, r0 = (int64_t)task * QR, left = w->rows - r0;
    uint8_t *pw = kcpu_scratch(1, (size_t)nb * 1024 + (size_t)nb * QR * sizeof(float));
    if (!pw) { /* out of memory in this worker: this panel through f32 */
        for (int t = 0; t < c->n; t++)
            rows_dot_dequant(c->out + (size_t)t * w->rows, c->x + (size_t)t * w->cols, w, r0,
                             left < QR ? w->rows : r0 + QR);
        return;
    }
    float *pd = (float *)(pw + nb * 1024);
    qpanel_pack(pw, pd, w, r0);
    __mmask16 m0 = left >= 16 ? 0xffff : (__mmask16)((1u << left) - 1);
    __mmask16 m1 = left >= 32 ? 0xffff : left > 16 ? (__mmask16)((1u << (left - 16)) - 1) : 0;
    float *out = c->out + r0;
    int t0 = 0;
    for (; t0 + QT <= c->n; t0 += QT)
        qgemm_kernel(QT, out, w->rows, m0, m1, pw, pd, nb, &c->xq, t0);
    switch (c->n - t0) {
    case 5: qgemm_kernel(5, out, w->rows, m0, m1, pw, pd, nb, &c->xq, t0); break;
    case 4: qgemm_kernel(4, out, w->rows, m0, m1, pw, pd, nb, &c->xq, t0); break;
    case 3: qgemm_kernel(3, out, w->rows, m0, m1, pw, pd, nb, &c->xq, t0); break;
    case 2: qgemm_kernel(2, out, w->rows, m0, m1, pw, pd, nb, &c->xq, t0); break;
    case 1: qgemm_kernel(1, out, w->rows, m0, m1, pw, pd, nb, &c->xq, t0); break;
    default: break;
    }
}

T512 static void xq_fill_task(void *arg, int t, int n_tasks)
{
    mm_ctx *c = arg;
    const int64_t cols = c->w->cols, blocks = c->xq.blocks;
    const int offset = c->w->type == ENGINE_DTYPE_Q8_0 ? 128 : 8;
    const float *xt = c->x + (size_t)t * cols;
    int8_t *qt = c->xq.qs + (size_t)t * blocks * 32;
    for (int64_t b = 0; b < cols / 32; b++) {
        __m512 v0 = _mm512_loadu_ps(xt + b * 32), v1 = _mm512_loadu_ps(xt + b * 32 + 16);
        float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
        float d = amax / 127.0f, id = d ? 1.0f / d : 0.0f;
        __m512 iv = _mm512_set1_ps(id);
        __m512i q0 = _mm512_cvtps_epi32(_mm512_mul_ps(v0, iv)), q1 = _mm512_cvtps_epi32(_mm512_mul_ps(v1, iv));
        const int g = c->xq.group;
        /* group 2: the block's 32 values in order; group 4: first halves of
         * 4 blocks, then their second halves (see kernels_cpu.h) */
        int8_t *d0 = g == 2 ? qt + b * 32 : qt + (b / 4) * 128 + (b % 4) * 16;
        _mm_storeu_si128((__m128i *)d0, _mm512_cvtsepi32_epi8(q0));
        _mm_storeu_si128((__m128i *)(d0 + (g == 2 ? 16 : 64)), _mm512_cvtsepi32_epi8(q1));
        c->xq.d[(size_t)t * blocks + b] = d;
        c->xq.corr[((size_t)t * (blocks / g) + b / g) * 16 + (b % g) * (16 / g)] =
            -offset * _mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1));
    }
}

/* Whether matmul_run takes the decode path (row dot products) for n tokens. */
static bool uses_matvec(const engine_tensor *w, int n, bool dequant)
{
    if (is_quant(w->type) && !dequant)
        return n < (w->type == ENGINE_DTYPE_Q4_0 ? QGEMM_MIN_TOKENS_Q4 : QGEMM_MIN_TOKENS);
    return n < GEMM_MIN_TOKENS;
}

/* Decode's activations for the integer dot products, quantized on the
 * caller (a few us: not worth a pool run); c->dequant on out of memory. */
static void matvec_prepare(mm_ctx *c)
{
    if (is_quant(c->w->type) && !c->dequant) {
        bool q8 = c->w->type == ENGINE_DTYPE_Q8_0;
        if (kcpu_xq_alloc(&c->xq, c->n, c->w->cols, q8 ? 2 : 4) == 0)
            for (int t = 0; t < c->n; t++)
                xq_fill_task(c, t, c->n);
        else
            c->dequant = true;  /* out of memory: the path that needs no buffer */
    }
}

static void matmul_run(float *out, const float *x, const engine_tensor *w, int n, engine_pool *pool,
                       bool dequant)
{
    const int threads = engine_pool_threads(pool);
    mm_ctx c = {.out = out, .x = x, .w = w, .n = n, .dequant = dequant};
    const bool int_dot = is_quant(w->type) && !dequant;
    if (int_dot && !uses_matvec(w, n, dequant) && kcpu_xq_alloc(&c.xq, n, w->cols, 2) == 0) {
        engine_pool_run(pool, xq_fill_task, &c, n);
        engine_pool_run(pool, qgemm_task, &c, (int)((w->rows + QR - 1) / QR));
        return;
    }
    if (!int_dot && n >= GEMM_MIN_TOKENS) {
        int tiles = (n + NT - 1) / NT;
        c.kpad = w->cols;
        c.xp = kcpu_scratch(0, (size_t)tiles * c.kpad * NT * sizeof(float));
        if (c.xp) {
            engine_pool_run(pool, pack_task, &c, tiles);
            c.rows_per_task = kcpu_rows_per_task(w->rows, threads, MR);
            int tasks = (int)((w->rows + c.rows_per_task - 1) / c.rows_per_task);
            engine_pool_run(pool, gemm_task, &c, tasks);
            return;
        }
    }
    matvec_prepare(&c);
    c.rows_per_task = kcpu_matvec_rows_per_task(w->rows, (int64_t)engine_dtype_bytes(w->type, w->cols) * n,
                                                threads, 4);
    int tasks = (int)((w->rows + c.rows_per_task - 1) / c.rows_per_task);
    engine_pool_run(pool, matvec_task, &c, tasks);
}

static void matmul_avx512(float *out, const float *x, const engine_tensor *w, int n, engine_pool *pool)
{
    matmul_run(out, x, w, n, pool, false);
}

static void matmul_avx512_dequant(float *out, const float *x, const engine_tensor *w, int n, engine_pool *pool)
{
    matmul_run(out, x, w, n, pool, true);
}

/* A group of q8_0/q4_0 matrices in one pool run (decode). Without swiglu
 * each job is cut into tasks as matmul_run cuts it, the jobs' tasks one
 * after the other; with swiglu a task owns rows [r0, r1) of both matrices
 * and applies SwiGLU to them. Each row's dot product is the
 * one matmul_run computes, so the outputs are the same bits. */
#define GROUP_MAX 4
#define GROUP_TASKS 256

typedef struct mm_group_ctx {
    mm_ctx c[GROUP_MAX];      /* per job; they share c[0].xq */
    int64_t end[GROUP_MAX];   /* job j: rows [end[j-1], end[j]) of the concatenation */
    int n_jobs;
    int64_t bound[GROUP_TASKS + 1];  /* task i: rows [bound[i], bound[i + 1]) */
    kernel_swiglu_fn swiglu;
} mm_group_ctx;

T512 static void group_task(void *arg, int task, int n_tasks)
{
    (void)n_tasks;
    mm_group_ctx *g = arg;
    const int64_t g0 = g->bound[task], g1 = g->bound[task + 1];
    if (g->swiglu) {
        const int64_t rows = g->c[0].w->rows;
        matvec_rows(&g->c[0], g0, g1);
        matvec_rows(&g->c[1], g0, g1);
        for (int t = 0; t < g->c[0].n; t++)
            g->swiglu(g->c[0].out + (size_t)t * rows + g0, g->c[1].out + (size_t)t * rows + g0,
                      (size_t)(g1 - g0));
        return;
    }
    int64_t start = 0;
    for (int j = 0; j < g->n_jobs; start = g->end[j], j++) {
        int64_t r0 = g0 > start ? g0 : start, r1 = g1 < g->end[j] ? g1 : g->end[j];
        if (r0 < r1)
            matvec_rows(&g->c[j], r0 - start, r1 - start);
    }
}

static bool matmul_group_run(const kernel_matmul_job *jobs, int n_jobs, const float *x, int n,
                             kernel_swiglu_fn swiglu, engine_pool *pool, bool dequant)
{
    const engine_tensor *w0 = jobs[0].w;
    /* Float weights keep one run per matrix: memory-bound, grouping them
     * gained nothing measurable. */
    bool fits = n_jobs >= 1 && n_jobs <= GROUP_MAX && is_quant(w0->type) && uses_matvec(w0, n, dequant) &&
                (!swiglu || (n_jobs == 2 && jobs[1].w->rows == w0->rows));
    for (int j = 1; j < n_jobs && fits; j++)
        fits = jobs[j].w->type == w0->type && jobs[j].w->cols == w0->cols;
    if (!fits)
        return false;   /* kernel_matmul_group runs one matmul per job */
    mm_group_ctx g = {.n_jobs = n_jobs, .swiglu = swiglu};
    g.c[0] = (mm_ctx){.out = jobs[0].out, .x = x, .w = w0, .n = n, .dequant = dequant};
    matvec_prepare(&g.c[0]);
    int64_t total = 0;
    for (int j = 0; j < n_jobs; j++) {
        if (j) {
            g.c[j] = g.c[0];
            g.c[j].out = jobs[j].out;
            g.c[j].w = jobs[j].w;
        }
        total += jobs[j].w->rows;
        g.end[j] = total;
    }
    /* Each job cut as matmul_run would cut it alone (with swiglu, one job
     * of twice the row bytes), the jobs' tasks in order. */
    const int64_t row_bytes = (int64_t)engine_dtype_bytes(w0->type, w0->cols) * n * (swiglu ? 2 : 1);
    const int threads = engine_pool_threads(pool);
    int tasks = 0;
    int64_t start = 0;
    for (int j = 0; j < (swiglu ? 1 : n_jobs); j++) {
        const int64_t rows = jobs[j].w->rows;
        int64_t per = kcpu_matvec_rows_per_task(rows, row_bytes, threads, 4);
        if ((rows + per - 1) / per > GROUP_TASKS / GROUP_MAX)
            per = (rows + GROUP_TASKS / GROUP_MAX - 1) / (GROUP_TASKS / GROUP_MAX);
        for (int64_t r = 0; r < rows; r += per)
            g.bound[tasks++] = start + r;
        start += rows;
    }
    g.bound[tasks] = start;
    engine_pool_run(pool, group_task, &g, tasks);
    return true;
}

static bool matmul_group_avx512(const kernel_matmul_job *jobs, int n_jobs, const float *x, int n,
                                kernel_swiglu_fn swiglu, engine_pool *pool)
{
    return matmul_group_run(jobs, n_jobs, x, n, swiglu, pool, false);
}

static bool matmul_group_avx512_dequant(const kernel_matmul_job *jobs, int n_jobs, const float *x, int n,
                                        kernel_swiglu_fn swiglu, engine_pool *pool)
{
    return matmul_group_run(jobs, n_jobs, x, n, swiglu, pool, true);
}

/* ---- RMSNorm, RoPE, SwiGLU ------------------------------------------ */

T512 static void rmsnorm_avx512(float *out, const float *x, const float *weight, int n, int dim, float eps)
{
    const int dv = dim & ~15;
    const __mmask16 tail = (__mmask16)((1u << (dim - dv)) - 1);
    for (int t = 0; t < n; t++) {
        const float *xt = x + (size_t)t * dim;
        float *ot = out + (size_t)t * dim;
        __m512 ss = _mm512_setzero_ps();
        for (int j = 0; j < dv; j += 16) {
            __m512 v = _mm512_loadu_ps(xt + j);
            ss = _mm512_fmadd_ps(v, v, ss);
        }
        __m512 v = _mm512_maskz_loadu_ps(tail, xt + dv);
        ss = _mm512_fmadd_ps(v, v, ss);
        float s = _mm512_reduce_add_ps(ss);
        s /= dim;
        s += eps;
        s = 1.0f / sqrtf(s);
        __m512 sv = _mm512_set1_ps(s);
        for (int j = 0; j < dv; j += 16)
            _mm512_storeu_ps(ot + j, _mm512_mul_ps(_mm512_loadu_ps(weight + j),
                                                  _mm512_mul_ps(sv, _mm512_loadu_ps(xt + j))));
        _mm512_mask_storeu_ps(ot + dv, tail, _mm512_mul_ps(_mm512_maskz_loadu_ps(tail, weight + dv),
                                                          _mm512_mul_ps(sv, _mm512_maskz_loadu_ps(tail, xt + dv))));
    }
}

/* The same formulas as the reference (powf, cosf, sinf, mul then sub, no
 * FMA), but each frequency's cos/sin once per token instead of per head:
 * bit-identical results. */
#define ROPE_MAX_HALF 512
T512 static void rope_avx512(float *q, float *k, int n, const int *pos, int q_dim, int k_dim,
                             const kernel_rope_params *rp)
{
    const int head_dim = rp->head_dim;
    const float theta = rp->theta;
    if (rp->neox || head_dim > 2 * ROPE_MAX_HALF || head_dim & 1 || q_dim % head_dim || k_dim % head_dim) {
        kernel_find(ENGINE_OP_ROPE, "scalar")->fn.rope(q, k, n, pos, q_dim, k_dim, rp);
        return;
    }
    const int half = head_dim / 2;
    float freq[ROPE_MAX_HALF];
    _Alignas(64) float cs[2 * ROPE_MAX_HALF], sn[2 * ROPE_MAX_HALF];
    for (int i = 0; i < half; i++) {
        freq[i] = 1.0f / powf(theta, (2 * i) / (float)head_dim);
        if (rp->freq_factors)
            freq[i] /= rp->freq_factors[i];
    }
    for (int t = 0; t < n; t++) {
        for (int i = 0; i < half; i++) {
            float val = pos[t] * freq[i];
            cs[2 * i] = cs[2 * i + 1] = cosf(val);
            sn[2 * i] = sn[2 * i + 1] = sinf(val);
        }
        float *vecs[2] = {q + (size_t)t * q_dim, k + (size_t)t * k_dim};
        int dims[2] = {q_dim, k_dim};
        for (int which = 0; which < 2; which++) {
            for (int h0 = 0; h0 < dims[which]; h0 += head_dim) {
                float *v = vecs[which] + h0;
                for (int i = 0; i < head_dim; i += 16) {
                    int left = head_dim - i;
                    __mmask16 m = left >= 16 ? 0xffff : (__mmask16)((1u << left) - 1);
                    __m512 a = _mm512_maskz_loadu_ps(m, v + i);
                    /* swapped pairs (v1, v0) and signs (-, +) */
                    __m512 sw = _mm512_permute_ps(a, _MM_SHUFFLE(2, 3, 0, 1));
                    __m512 c = _mm512_maskz_loadu_ps(m, cs + i), s = _mm512_maskz_loadu_ps(m, sn + i);
                    __m512 p = _mm512_mul_ps(a, c), qq = _mm512_mul_ps(sw, s);
                    __m512 r = _mm512_mask_add_ps(_mm512_sub_ps(p, qq), 0xaaaa, qq, p);
                    _mm512_mask_storeu_ps(v + i, m, r);
                }
            }
        }
    }
}

/* exp(x) for x <= 0 ... any finite x: 2^(x log2 e) split into integer and
 * fraction, degree-6 polynomial on the fraction (relative error ~2e-7). */
T512 static inline __m512 exp512(__m512 x)
{
    x = _mm512_max_ps(_mm512_min_ps(x, _mm512_set1_ps(88.0f)), _mm512_set1_ps(-87.0f));
    __m512 t = _mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f));
    __m512 fl = _mm512_roundscale_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 f = _mm512_sub_ps(t, fl);
    /* 2^f on [-0.5, 0.5] */
    __m512 p = _mm512_set1_ps(1.535336188319500e-4f);
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.339887440266574e-3f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(9.618437357674640e-3f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(5.550332471162809e-2f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(2.402264791363012e-1f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(6.931472028550421e-1f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, fl);
}

T512 static void swiglu_avx512(float *gate, const float *up, size_t len)
{
    size_t i = 0;
    const __m512 one = _mm512_set1_ps(1.0f);
    for (; i < len; i += 16) {
        size_t left = len - i;
        __mmask16 m = left >= 16 ? 0xffff : (__mmask16)((1u << left) - 1);
        __m512 g = _mm512_maskz_loadu_ps(m, gate + i);
        __m512 e = exp512(_mm512_sub_ps(_mm512_setzero_ps(), g));
        __m512 s = _mm512_mul_ps(g, _mm512_div_ps(one, _mm512_add_ps(one, e)));
        _mm512_mask_storeu_ps(gate + i, m, _mm512_mul_ps(s, _mm512_maskz_loadu_ps(m, up + i)));
    }
}

/* ---- attention: fused single pass, online softmax --------------------- */

typedef struct attn_ctx {
    const kernel_attention_args *a;
} attn_ctx;

#define ATT_MAX_HEAD 512
#define ATT_BLOCK 16

/* out[i] = sum of the lanes of d[i], for 16 vectors: a transposing add
 * tree (45 shuffles and adds instead of 16 horizontal reductions). */
T512 static inline __m512 hsum16x16(const __m512 d[16])
{
    __m512 t[8], u[4];
    for (int k = 0; k < 8; k++)
        t[k] = _mm512_add_ps(_mm512_unpacklo_ps(d[2 * k], d[2 * k + 1]), _mm512_unpackhi_ps(d[2 * k], d[2 * k + 1]));
    for (int k = 0; k < 4; k++)
        u[k] = _mm512_add_ps(_mm512_shuffle_ps(t[2 * k], t[2 * k + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                             _mm512_shuffle_ps(t[2 * k], t[2 * k + 1], _MM_SHUFFLE(3, 2, 3, 2)));
    __m512 v01 = _mm512_add_ps(_mm512_shuffle_f32x4(u[0], u[1], _MM_SHUFFLE(2, 0, 2, 0)),
                               _mm512_shuffle_f32x4(u[0], u[1], _MM_SHUFFLE(3, 1, 3, 1)));
    __m512 v23 = _mm512_add_ps(_mm512_shuffle_f32x4(u[2], u[3], _MM_SHUFFLE(2, 0, 2, 0)),
                               _mm512_shuffle_f32x4(u[2], u[3], _MM_SHUFFLE(3, 1, 3, 1)));
    return _mm512_add_ps(_mm512_shuffle_f32x4(v01, v23, _MM_SHUFFLE(2, 0, 2, 0)),
                         _mm512_shuffle_f32x4(v01, v23, _MM_SHUFFLE(3, 1, 3, 1)));
}

/* One (token, head) with the head in NV vectors: scores of 16 positions
 * at a time (dot products summed by one add tree, exponentials by the
 * vector polynomial), then one rescale of the running output per block
 * (max and sum carried). Inlined with NV a constant, q and the output stay
 * in registers; with a variable NV they live on the stack. */
T512 static inline __attribute__((always_inline)) void attn_head(const int NV, const kernel_attention_args *a,
                                                                 int t, int h)
{
    const int hd = a->head_dim;
    const int q_dim = a->n_heads * hd, kv_off = (h / (a->n_heads / a->n_kv_heads)) * hd;
    const float *q = a->q + (size_t)t * q_dim + h * hd;
    const __m512 scale = _mm512_set1_ps(1.0f / sqrtf((float)hd));
    __m512 acc[ATT_MAX_HEAD / 16], qv[ATT_MAX_HEAD / 16];
    __mmask16 mk[ATT_MAX_HEAD / 16];
    for (int j = 0; j < NV; j++) {
        int left = hd - j * 16;
        mk[j] = left >= 16 ? 0xffff : (__mmask16)((1u << left) - 1);
        qv[j] = _mm512_maskz_loadu_ps(mk[j], q + j * 16);
        acc[j] = _mm512_setzero_ps();
    }
    float m = -INFINITY, l = 0.0f;
    _Alignas(64) float e[ATT_BLOCK];
    const int np = a->pos[t] + 1;
    for (int p0 = 0; p0 < np; p0 += ATT_BLOCK) {
        int nb = np - p0 < ATT_BLOCK ? np - p0 : ATT_BLOCK;
        __mmask16 valid = (__mmask16)((1u << nb) - 1);
        __m512 d[ATT_BLOCK];
        for (int i = 0; i < ATT_BLOCK; i++) {
            d[i] = _mm512_setzero_ps();
            if (i >= nb)
                continue;
            const float *kp = a->k_cache + (size_t)(p0 + i) * a->kv_stride + kv_off;
            for (int j = 0; j < NV; j++)
                d[i] = _mm512_fmadd_ps(qv[j], _mm512_maskz_loadu_ps(mk[j], kp + j * 16), d[i]);
        }
        __m512 sv = _mm512_mask_mov_ps(_mm512_set1_ps(-INFINITY), valid, _mm512_mul_ps(hsum16x16(d), scale));
        float bmax = _mm512_reduce_max_ps(sv);
        if (bmax > m) {
            float r = expf(m - bmax);
            __m512 rv = _mm512_set1_ps(r);
            for (int j = 0; j < NV; j++)
                acc[j] = _mm512_mul_ps(acc[j], rv);
            l *= r;
            m = bmax;
        }
        __m512 ev = _mm512_maskz_mov_ps(valid, exp512(_mm512_sub_ps(sv, _mm512_set1_ps(m))));
        l += _mm512_reduce_add_ps(ev);
        _mm512_store_ps(e, ev);
        for (int i = 0; i < nb; i++) {
            const float *vp = a->v_cache + (size_t)(p0 + i) * a->kv_stride + kv_off;
            __m512 w = _mm512_set1_ps(e[i]);
            for (int j = 0; j < NV; j++)
                acc[j] = _mm512_fmadd_ps(w, _mm512_maskz_loadu_ps(mk[j], vp + j * 16), acc[j]);
        }
    }
    float *out = a->out + (size_t)t * q_dim + h * hd;
    __m512 inv = _mm512_set1_ps(1.0f / l);
    for (int j = 0; j < NV; j++)
        _mm512_mask_storeu_ps(out + j * 16, mk[j], _mm512_mul_ps(acc[j], inv));
}

/* Heads of up to 64 (4 vectors, the common sizes) get a copy each. */
T512 static void attn_task(void *arg, int task, int n_tasks)
{
    const kernel_attention_args *a = ((attn_ctx *)arg)->a;
    const int t = task / a->n_heads, h = task % a->n_heads;
    switch ((a->head_dim + 15) / 16) {
    case 1: attn_head(1, a, t, h); break;
    case 2: attn_head(2, a, t, h); break;
    case 3: attn_head(3, a, t, h); break;
    case 4: attn_head(4, a, t, h); break;
    default: attn_head((a->head_dim + 15) / 16, a, t, h); break;
    }
}

static void attention_fused_avx512(const kernel_attention_args *a, engine_pool *pool)
{
    if (a->head_dim > ATT_MAX_HEAD) {
        kernel_find(ENGINE_OP_ATTENTION, "scalar")->fn.attention(a, pool);
        return;
    }
    attn_ctx c = {a};
    engine_pool_run(pool, attn_task, &c, a->n * a->n_heads);
}

#define ALL_DTYPES ENGINE_DTYPES_BASE
#define NEEDS "avx512f avx512bw avx512vl avx512vnni fma f16c"

const kernel_variant kernel_variants_avx512[] = {
    {.info = {ENGINE_OP_MATMUL, "avx512", "cpu", NEEDS,
              "threaded; decode: row dot products (q8_0/q4_0: VNNI integer dots on q8 activations), "
              "q8_0/q4_0 q/k/v and w1/w3 (+SwiGLU) as one pool run each; "
              "prefill: 12x32 register-blocked GEMM"},
     .supported = avx512_supported, .dtypes = ALL_DTYPES, .priority = 30, .fn.matmul = matmul_avx512,
     .matmul_group = matmul_group_avx512},
    {.info = {ENGINE_OP_MATMUL, "avx512_dequant", "cpu", NEEDS,
              "as avx512, but q8_0/q4_0 decode dequantizes to f32 and uses FMA"},
     .supported = avx512_supported, .dtypes = ALL_DTYPES, .priority = 29, .fn.matmul = matmul_avx512_dequant,
     .matmul_group = matmul_group_avx512_dequant},
    {.info = {ENGINE_OP_ATTENTION, "fused_avx512", "cpu", NEEDS,
              "single pass with online softmax, threaded over tokens x heads"},
     .supported = avx512_supported, .priority = 30, .fn.attention = attention_fused_avx512},
    {.info = {ENGINE_OP_RMSNORM, "avx512", "cpu", NEEDS, "vectorized sum of squares and scaling"},
     .supported = avx512_supported, .priority = 30, .fn.rmsnorm = rmsnorm_avx512},
    {.info = {ENGINE_OP_ROPE, "avx512", "cpu", NEEDS,
              "cos/sin once per frequency and token, vectorized rotation (bit-identical to scalar)"},
     .supported = avx512_supported, .priority = 30, .fn.rope = rope_avx512},
    {.info = {ENGINE_OP_SWIGLU, "avx512", "cpu", NEEDS, "vectorized exp polynomial (rel. error ~2e-7)"},
     .supported = avx512_supported, .priority = 30, .fn.swiglu = swiglu_avx512},
    {.info = {.name = NULL}},
};

#else /* not x86-64: no variants */
#include "kernels.h"
const kernel_variant kernel_variants_avx512[] = {{.info = {.name = NULL}}};
#endif
