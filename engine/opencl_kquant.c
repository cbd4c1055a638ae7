/* q4_K matrices in the layout of the OpenCL kernels (engine/cl/kquant.cl):
 * quants in element order, 4 bits each, and per super-block d, dmin and
 * the unpacked 6-bit scales and mins. Host code only; no OpenCL calls. */
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "quant.h"
#include "quant_k.h"

#define SIDE_HALVES 10

int clb_repack_q4_K(const engine_tensor *const *parts, int n_parts, uint8_t **nibbles, uint16_t **side,
                    size_t *nibble_bytes, size_t *side_bytes);

int clb_repack_q4_K(const engine_tensor *const *parts, int n_parts, uint8_t **nibbles, uint16_t **side,
                    size_t *nibble_bytes, size_t *side_bytes)
{
    size_t n = 0;
    for (int i = 0; i < n_parts; i++)
        n += (size_t)parts[i]->rows * (size_t)parts[i]->cols;
    size_t blocks = n / QK_K;
    *nibble_bytes = n / 2;
    *side_bytes = blocks * SIDE_HALVES * sizeof(uint16_t);
    *nibbles = malloc(*nibble_bytes ? *nibble_bytes : 1);
    *side = malloc(*side_bytes ? *side_bytes : 1);
    if (!*nibbles || !*side) {
        free(*nibbles);
        free(*side);
        *nibbles = NULL;
        *side = NULL;
        return -1;
    }
    size_t at = 0;
    for (int i = 0; i < n_parts; i++) {
        const block_q4_K *blk = parts[i]->data;
        size_t nb = (size_t)parts[i]->rows * (size_t)parts[i]->cols / QK_K;
        for (size_t k = 0; k < nb; k++, at++) {
            uint16_t *s = *side + at * SIDE_HALVES;
            uint8_t sm[16];
            s[0] = blk[k].d;
            s[1] = blk[k].dmin;
            for (int j = 0; j < 8; j++)
                quant_k_scale_min(j, blk[k].scales, &sm[j], &sm[8 + j]);
            memcpy(s + 2, sm, sizeof sm);
            /* sub-block j: the low (j even) or high (j odd) nibbles of qs[32 (j / 2) ..] */
            uint8_t *out = *nibbles + at * (QK_K / 2);
            for (int e = 0; e < QK_K; e += 2) {
                int j = e / 32, l = e % 32;
                const uint8_t *q = blk[k].qs + 32 * (j / 2) + l;
                int shift = 4 * (j & 1);
                out[e / 2] = (uint8_t)(((q[0] >> shift) & 15) | (((q[1] >> shift) & 15) << 4));
            }
        }
    }
    return 0;
}
