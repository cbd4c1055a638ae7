/* K-quant matrices in the layouts of the OpenCL kernels (engine/cl/kquant.cl):
 * q4_K: quants in element order, 4 bits each, and per super-block d, dmin
 * and the unpacked 6-bit scales and mins; q6_K: quants minus 32 as int8 in
 * element order, and per super-block d and the 16 int8 scales. Host code
 * only; no OpenCL calls. */
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "quant.h"
#include "quant_k.h"

int clb_repack_kquant(engine_dtype type, const engine_tensor *const *parts, int n_parts, void **quants,
                      uint16_t **side, size_t *quant_bytes, size_t *side_bytes);

#define Q4K_SIDE_HALVES 10
#define Q6K_SIDE_HALVES 9

/* Both buffers for the stacked parts; -1 when out of memory. */
static int alloc_repack(const engine_tensor *const *parts, int n_parts, size_t quant_bits, size_t side_halves,
                           void **quants, uint16_t **side, size_t *quant_bytes, size_t *side_bytes)
{
    size_t n = 0;
    for (int i = 0; i < n_parts; i++)
        n += (size_t)parts[i]->rows * (size_t)parts[i]->cols;
    *quant_bytes = n * quant_bits / 8;
    *side_bytes = n / QK_K * side_halves * sizeof(uint16_t);
    *quants = malloc(*quant_bytes ? *quant_bytes : 1);
    *side = malloc(*side_bytes ? *side_bytes : 1);
    if (!*quants || !*side) {
        free(*quants);
        free(*side);
        *quants = NULL;
        *side = NULL;
        return -1;
    }
    return 0;
}

static void repack_q4_K(const engine_tensor *const *parts, int n_parts, uint8_t *nibbles, uint16_t *side)
{
    size_t at = 0;
    for (int i = 0; i < n_parts; i++) {
        const block_q4_K *blk = parts[i]->data;
        size_t nb = (size_t)parts[i]->rows * (size_t)parts[i]->cols / QK_K;
        for (size_t k = 0; k < nb; k++, at++) {
            uint16_t *s = side + at * Q4K_SIDE_HALVES;
            uint8_t sm[16];
            s[0] = blk[k].d;
            s[1] = blk[k].dmin;
            for (int j = 0; j < 8; j++)
                quant_k_scale_min(j, blk[k].scales, &sm[j], &sm[8 + j]);
            memcpy(s + 2, sm, sizeof sm);
            /* sub-block j: the low (j even) or high (j odd) nibbles of qs[32 (j / 2) ..] */
            uint8_t *out = nibbles + at * (QK_K / 2);
            for (int e = 0; e < QK_K; e += 2) {
                int j = e / 32, l = e % 32;
                const uint8_t *q = blk[k].qs + 32 * (j / 2) + l;
                int shift = 4 * (j & 1);
                out[e / 2] = (uint8_t)(((q[0] >> shift) & 15) | (((q[1] >> shift) & 15) << 4));
            }
        }
    }
}

static void repack_q6_K(const engine_tensor *const *parts, int n_parts, int8_t *quants, uint16_t *side)
{
    size_t at = 0;
    for (int i = 0; i < n_parts; i++) {
        const block_q6_K *blk = parts[i]->data;
        size_t nb = (size_t)parts[i]->rows * (size_t)parts[i]->cols / QK_K;
        for (size_t k = 0; k < nb; k++, at++) {
            uint16_t *s = side + at * Q6K_SIDE_HALVES;
            s[0] = blk[k].d;
            memcpy(s + 1, blk[k].scales, sizeof blk[k].scales);
            /* the bit layout of quant_k_dequantize_q6_K, unpacked */
            int8_t *out = quants + at * QK_K;
            for (int h = 0; h < 2; h++) {
                const uint8_t *ql = blk[k].ql + 64 * h, *qh = blk[k].qh + 32 * h;
                int8_t *o = out + 128 * h;
                for (int l = 0; l < 32; l++) {
                    o[l] = (int8_t)(((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32);
                    o[l + 32] = (int8_t)(((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
                    o[l + 64] = (int8_t)(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
                    o[l + 96] = (int8_t)(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
                }
            }
        }
    }
}

int clb_repack_kquant(engine_dtype type, const engine_tensor *const *parts, int n_parts, void **quants,
                      uint16_t **side, size_t *quant_bytes, size_t *side_bytes)
{
    const bool q4 = type == ENGINE_DTYPE_Q4_K;
    if (alloc_repack(parts, n_parts, q4 ? 4 : 8, q4 ? Q4K_SIDE_HALVES : Q6K_SIDE_HALVES, quants, side, quant_bytes,
                     side_bytes))
        return -1;
    if (q4)
        repack_q4_K(parts, n_parts, *quants, *side);
    else
        repack_q6_K(parts, n_parts, *quants, *side);
    return 0;
}
