/* Internal to engine/: ggml's K-quant super-blocks (Q4_K, Q5_K, Q6_K): the
 * block layouts, their dequantisation (exact to ggml's dequantize_row_q*_K
 * arithmetic, so a row converts to the same floats llama.cpp's reference
 * path gives), a quantiser for synthetic weights, and a checker for
 * blocks read from files. */
#ifndef THERMABENCH_ENGINE_QUANT_K_H
#define THERMABENCH_ENGINE_QUANT_K_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QK_K 256
#define QK_K_SCALES 12   /* 8 six-bit scales and 8 six-bit mins, packed */

/* block_q4_K: super-block scale d and min scale dmin (f16), 8 sub-blocks
 * of 32 with a 6-bit scale and a 6-bit min each (packed in scales[]),
 * 4-bit quants: sub-blocks 2k and 2k+1 are the low and high nibbles of
 * qs[32k .. 32k+31]. value = d * sc * q - dmin * m. 144 bytes. */
typedef struct block_q4_K {
    uint16_t d, dmin;
    uint8_t scales[QK_K_SCALES];
    uint8_t qs[QK_K / 2];
} block_q4_K;

/* block_q5_K: as q4_K plus a fifth bit per element: bit 2k of qh[l] for
 * element l of sub-block 2k, bit 2k+1 for sub-block 2k+1. 176 bytes. */
typedef struct block_q5_K {
    uint16_t d, dmin;
    uint8_t scales[QK_K_SCALES];
    uint8_t qh[QK_K / 8];
    uint8_t qs[QK_K / 2];
} block_q5_K;

/* block_q6_K: 16 sub-blocks of 16 with an int8 scale each, 6-bit quants
 * (low 4 bits in ql, high 2 in qh), value = d * scale * (q - 32). Each
 * half of 128 elements takes 64 bytes of ql and 32 of qh. 210 bytes. */
typedef struct block_q6_K {
    uint8_t ql[QK_K / 2];
    uint8_t qh[QK_K / 4];
    int8_t scales[QK_K / 16];
    uint16_t d;
} block_q6_K;

_Static_assert(sizeof(block_q4_K) == 144, "ggml block_q4_K is 144 bytes");
_Static_assert(sizeof(block_q5_K) == 176, "ggml block_q5_K is 176 bytes");
_Static_assert(sizeof(block_q6_K) == 210, "ggml block_q6_K is 210 bytes");

/* ggml's block_q8_K: activations of a K-quant dot product. d = max / -127
 * where max is the element of largest magnitude (sign kept), qs =
 * round(x / d) capped at 127, bsums the sums of each 16 qs. 292 bytes. */
typedef struct block_q8_K {
    float d;
    int8_t qs[QK_K];
    int16_t bsums[QK_K / 16];
} block_q8_K;

_Static_assert(sizeof(block_q8_K) == 292, "ggml block_q8_K is 292 bytes");

/* The 6-bit scale and min of sub-block j (0..7) from the packed 12 bytes. */
static inline void quant_k_scale_min(int j, const uint8_t *q, uint8_t *sc, uint8_t *m)
{
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

/* n a multiple of QK_K. */
void quant_k_dequantize_q4_K(const block_q4_K *x, float *y, int64_t n);
void quant_k_dequantize_q5_K(const block_q5_K *x, float *y, int64_t n);
void quant_k_dequantize_q6_K(const block_q6_K *x, float *y, int64_t n);

/* Quantisers for synthetic weights (min/max per sub-block, 6-bit scales
 * relative to the super-block's largest): valid blocks that llama.cpp
 * reads, not ggml's search-based quantisation. */
void quant_k_quantize_q4_K(const float *x, block_q4_K *y, int64_t n);
void quant_k_quantize_q5_K(const float *x, block_q5_K *y, int64_t n);
void quant_k_quantize_q6_K(const float *x, block_q6_K *y, int64_t n);

/* n floats (a multiple of QK_K) to q8_K blocks, as quantize_row_q8_K_ref. */
void quant_k_quantize_q8_K(const float *x, block_q8_K *y, int64_t n);

/* Dot products of nb super-blocks of a K-quant row with q8_K activations,
 * in ggml's arithmetic: exact integer sums per sub-block weighted by the
 * 6-bit (or int8) scales, then per super-block d * sum - dmin * mins
 * with d = w.d * x.d in float. The reference for every K-quant kernel. */
float quant_k_dot_q4_K(const block_q4_K *w, const block_q8_K *x, int64_t nb);
float quant_k_dot_q5_K(const block_q5_K *w, const block_q8_K *x, int64_t nb);
float quant_k_dot_q6_K(const block_q6_K *w, const block_q8_K *x, int64_t nb);

/* Checks the super-block scales of n_blocks blocks of a K-quant type
 * (block_bytes 144, 176 or 210) for finite f16 values; returns the index
 * of the first bad block, or -1 when all are fine. */
int64_t quant_k_check_blocks(int type_block_bytes, const void *data, int64_t n_blocks);

#endif
