/* K-quant super-blocks: dequantisation in ggml's arithmetic (each
 * sub-block's scale and min multiplied out in float first, then
 * scale * q - min per element, as dequantize_row_q4_K/q5_K/q6_K do) and
 * a simple quantiser for synthetic weights. */
#include <math.h>
#include <string.h>

#include "quant.h"
#include "quant_k.h"

/* One q4_K (qh NULL) or q5_K super-block: for each pair of sub-blocks the
 * scales and mins are multiplied out first (d1 = d * sc, m1 = dmin * m),
 * then each element is d1 * q - m1, as ggml computes them. */
static void dequantize_q45_block(const uint8_t *scales, const uint8_t *qs, const uint8_t *qh, uint16_t dh,
                                 uint16_t dminh, float *y)
{
    const float d = engine_f16_to_f32(dh), dmin = engine_f16_to_f32(dminh);
    for (int j = 0; j < 8; j += 2) {
        uint8_t sc, m;
        quant_k_scale_min(j, scales, &sc, &m);
        const float d1 = d * sc, m1 = dmin * m;
        quant_k_scale_min(j + 1, scales, &sc, &m);
        const float d2 = d * sc, m2 = dmin * m;
        const uint8_t *q = qs + 16 * j;
        for (int l = 0; l < 32; l++)
            *y++ = d1 * ((q[l] & 0xF) + (qh && (qh[l] >> j) & 1 ? 16 : 0)) - m1;
        for (int l = 0; l < 32; l++)
            *y++ = d2 * ((q[l] >> 4) + (qh && (qh[l] >> (j + 1)) & 1 ? 16 : 0)) - m2;
    }
}

void quant_k_dequantize_q4_K(const block_q4_K *x, float *y, int64_t n)
{
    for (int64_t i = 0; i < n / QK_K; i++)
        dequantize_q45_block(x[i].scales, x[i].qs, NULL, x[i].d, x[i].dmin, y + i * QK_K);
}

void quant_k_dequantize_q5_K(const block_q5_K *x, float *y, int64_t n)
{
    for (int64_t i = 0; i < n / QK_K; i++)
        dequantize_q45_block(x[i].scales, x[i].qs, x[i].qh, x[i].d, x[i].dmin, y + i * QK_K);
}

void quant_k_dequantize_q6_K(const block_q6_K *x, float *y, int64_t n)
{
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float d = engine_f16_to_f32(x[i].d);
        const uint8_t *ql = x[i].ql, *qh = x[i].qh;
        const int8_t *sc = x[i].scales;
        for (int half = 0; half < 2; half++) {
            for (int l = 0; l < 32; l++) {
                int is = l / 16;
                int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                y[l] = d * sc[is + 0] * q1;
                y[l + 32] = d * sc[is + 2] * q2;
                y[l + 64] = d * sc[is + 4] * q3;
                y[l + 96] = d * sc[is + 6] * q4;
            }
            y += 128;
            ql += 64;
            qh += 32;
            sc += 8;
        }
    }
}

/* ---- quantisers ------------------------------------------------------- */

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Packs eight 6-bit scales and mins as quant_k_scale_min reads them. */
static void pack_scales(const uint8_t sc[8], const uint8_t m[8], uint8_t out[QK_K_SCALES])
{
    memset(out, 0, QK_K_SCALES);
    for (int j = 0; j < 4; j++) {
        out[j] = sc[j];
        out[j + 4] = m[j];
    }
    for (int j = 4; j < 8; j++) {
        out[j + 4] = (uint8_t)((sc[j] & 0xF) | ((m[j] & 0xF) << 4));
        out[j - 4] |= (uint8_t)((sc[j] >> 4) << 6);
        out[j] |= (uint8_t)((m[j] >> 4) << 6);
    }
}

/* Affine sub-blocks of 32 with `levels` steps (15: 4 bits, 31: 5 bits):
 * fills L (0..levels) and the block's d, dmin and packed scales. The
 * 6-bit mins and scales are rounded up, the scale after the min, so each
 * sub-block's grid covers all its values: the error stays within half a
 * step, never a clamp. */
static void quantize_affine(const float *x, int levels, uint16_t *d_out, uint16_t *dmin_out,
                            uint8_t scales[QK_K_SCALES], uint8_t L[QK_K])
{
    float lo[8], hi[8], max_min = 0.0f, max_scale = 0.0f;
    for (int j = 0; j < 8; j++) {
        lo[j] = hi[j] = x[32 * j];
        for (int l = 1; l < 32; l++) {
            lo[j] = fminf(lo[j], x[32 * j + l]);
            hi[j] = fmaxf(hi[j], x[32 * j + l]);
        }
        if (lo[j] > 0.0f)
            lo[j] = 0.0f;   /* the min is subtracted: it is never positive */
        max_min = fmaxf(max_min, -lo[j]);
    }
    *dmin_out = engine_f32_to_f16(max_min / 63.0f);
    const float dmin = engine_f16_to_f32(*dmin_out);
    uint8_t sc[8], m[8];
    float dm[8];
    for (int j = 0; j < 8; j++) {
        m[j] = (uint8_t)(dmin > 0.0f ? clampi((int)ceilf(-lo[j] / dmin), 0, 63) : 0);
        dm[j] = dmin * m[j];
        max_scale = fmaxf(max_scale, (hi[j] + dm[j]) / levels);
    }
    *d_out = engine_f32_to_f16(max_scale / 63.0f);
    const float d = engine_f16_to_f32(*d_out);
    for (int j = 0; j < 8; j++) {
        sc[j] = (uint8_t)(d > 0.0f ? clampi((int)ceilf((hi[j] + dm[j]) / levels / d), 0, 63) : 0);
        const float ds = d * sc[j];
        for (int l = 0; l < 32; l++)
            L[32 * j + l] = (uint8_t)(ds > 0.0f ? clampi((int)lrintf((x[32 * j + l] + dm[j]) / ds), 0, levels) : 0);
    }
    pack_scales(sc, m, scales);
}

void quant_k_quantize_q4_K(const float *x, block_q4_K *y, int64_t n)
{
    uint8_t L[QK_K];
    for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
        quantize_affine(x, 15, &y[i].d, &y[i].dmin, y[i].scales, L);
        for (int j = 0; j < 8; j += 2)
            for (int l = 0; l < 32; l++)
                y[i].qs[16 * j + l] = (uint8_t)(L[32 * j + l] | (L[32 * (j + 1) + l] << 4));
    }
}

void quant_k_quantize_q5_K(const float *x, block_q5_K *y, int64_t n)
{
    uint8_t L[QK_K];
    for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
        quantize_affine(x, 31, &y[i].d, &y[i].dmin, y[i].scales, L);
        memset(y[i].qh, 0, sizeof y[i].qh);
        for (int j = 0; j < 8; j += 2)
            for (int l = 0; l < 32; l++) {
                int lo = L[32 * j + l], hi = L[32 * (j + 1) + l];
                y[i].qs[16 * j + l] = (uint8_t)((lo & 0xF) | ((hi & 0xF) << 4));
                y[i].qh[l] |= (uint8_t)(((lo >> 4) << j) | ((hi >> 4) << (j + 1)));
            }
    }
}

void quant_k_quantize_q6_K(const float *x, block_q6_K *y, int64_t n)
{
    uint8_t L[QK_K];
    for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
        float scale[16], max_scale = 0.0f;
        for (int j = 0; j < 16; j++) {
            float amax = 0.0f;
            for (int l = 0; l < 16; l++)
                amax = fmaxf(amax, fabsf(x[16 * j + l]));
            scale[j] = amax / 31.0f;
            max_scale = fmaxf(max_scale, scale[j]);
        }
        y[i].d = engine_f32_to_f16(max_scale / 127.0f);
        const float d = engine_f16_to_f32(y[i].d);
        for (int j = 0; j < 16; j++) {
            int sc = d > 0.0f ? clampi((int)ceilf(scale[j] / d), 0, 127) : 0;   /* up: no clamped values */
            y[i].scales[j] = (int8_t)sc;
            const float ds = d * sc;
            for (int l = 0; l < 16; l++)
                L[16 * j + l] = (uint8_t)(ds > 0.0f ? clampi((int)lrintf(x[16 * j + l] / ds), -32, 31) + 32 : 32);
        }
        for (int half = 0; half < 2; half++) {
            const uint8_t *Lh = L + 128 * half;
            uint8_t *ql = y[i].ql + 64 * half, *qh = y[i].qh + 32 * half;
            for (int l = 0; l < 32; l++) {
                ql[l] = (uint8_t)((Lh[l] & 0xF) | ((Lh[l + 64] & 0xF) << 4));
                ql[l + 32] = (uint8_t)((Lh[l + 32] & 0xF) | ((Lh[l + 96] & 0xF) << 4));
                qh[l] = (uint8_t)((Lh[l] >> 4) | ((Lh[l + 32] >> 4) << 2) | ((Lh[l + 64] >> 4) << 4) |
                                  ((Lh[l + 96] >> 4) << 6));
            }
        }
    }
}

/* ---- q8_K activations and dot products -------------------------------- */

void quant_k_quantize_q8_K(const float *x, block_q8_K *y, int64_t n)
{
    for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
        float max = 0.0f, amax = 0.0f;
        for (int j = 0; j < QK_K; j++)
            if (fabsf(x[j]) > amax) {
                amax = fabsf(x[j]);
                max = x[j];
            }
        if (amax == 0.0f) {
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        const float iscale = -127.0f / max;
        for (int j = 0; j < QK_K; j++) {
            int v = (int)lrintf(iscale * x[j]);   /* nearest, ties to even, as ggml's nearest_int */
            y[i].qs[j] = (int8_t)(v < 127 ? v : 127);
        }
        for (int j = 0; j < QK_K / 16; j++) {
            int sum = 0;
            for (int l = 0; l < 16; l++)
                sum += y[i].qs[16 * j + l];
            y[i].bsums[j] = (int16_t)sum;
        }
        y[i].d = 1.0f / iscale;
    }
}

/* sum over sub-blocks of m_j * (sum of the activations of sub-block j) */
static int32_t mins_dot(const uint8_t *scales, const block_q8_K *x)
{
    int32_t s = 0;
    for (int j = 0; j < 8; j++) {
        uint8_t sc, m;
        quant_k_scale_min(j, scales, &sc, &m);
        s += m * (x->bsums[2 * j] + x->bsums[2 * j + 1]);
    }
    return s;
}

/* One q4_K (qh NULL) or q5_K super-block with its q8_K activations. */
static float dot_q45_block(const uint8_t *scales, const uint8_t *qs, const uint8_t *qh, uint16_t dh, uint16_t dminh,
                           const block_q8_K *x)
{
    int32_t isum = 0;
    for (int j = 0; j < 8; j++) {
        uint8_t sc, m;
        quant_k_scale_min(j, scales, &sc, &m);
        const uint8_t *q = qs + 32 * (j / 2);
        const int8_t *a = x->qs + 32 * j;
        int32_t s = 0;
        for (int l = 0; l < 32; l++)
            s += ((j & 1 ? q[l] >> 4 : q[l] & 0xF) | (qh ? ((qh[l] >> j) & 1) << 4 : 0)) * a[l];
        isum += sc * s;
    }
    const float d = engine_f16_to_f32(dh) * x->d, dmin = engine_f16_to_f32(dminh) * x->d;
    return d * (float)isum - dmin * (float)mins_dot(scales, x);
}

float quant_k_dot_q4_K(const block_q4_K *w, const block_q8_K *x, int64_t nb)
{
    float sum = 0.0f;
    for (int64_t i = 0; i < nb; i++)
        sum += dot_q45_block(w[i].scales, w[i].qs, NULL, w[i].d, w[i].dmin, &x[i]);
    return sum;
}

float quant_k_dot_q5_K(const block_q5_K *w, const block_q8_K *x, int64_t nb)
{
    float sum = 0.0f;
    for (int64_t i = 0; i < nb; i++)
        sum += dot_q45_block(w[i].scales, w[i].qs, w[i].qh, w[i].d, w[i].dmin, &x[i]);
    return sum;
}

float quant_k_dot_q6_K(const block_q6_K *w, const block_q8_K *x, int64_t nb)
{
    float sum = 0.0f;
    for (int64_t i = 0; i < nb; i++) {
        int32_t isum = 0;
        for (int e0 = 0; e0 < QK_K; e0 += 16) {
            int32_t s = 0;
            for (int e = e0; e < e0 + 16; e++) {
                /* element e = 128 h + 32 g + l: nibble g / 2 of ql[64 h + 32 (g & 1) + l], bits 2g of qh[32 h + l] */
                int h = e / 128, g = (e % 128) / 32, l = e % 32;
                int lo = w[i].ql[64 * h + 32 * (g & 1) + l] >> (4 * (g / 2)) & 0xF;
                int hi = (w[i].qh[32 * h + l] >> (2 * g)) & 3;
                s += ((lo | (hi << 4)) - 32) * x[i].qs[e];
            }
            isum += w[i].scales[e0 / 16] * s;
        }
        sum += engine_f16_to_f32(w[i].d) * x[i].d * (float)isum;
    }
    return sum;
}

/* ---- checks ------------------------------------------------------------ */

static bool f16_finite(uint16_t h) { return ((h >> 10) & 0x1f) != 0x1f; }

int64_t quant_k_check_blocks(int block_bytes, const void *data, int64_t n_blocks)
{
    const uint8_t *p = data;
    for (int64_t i = 0; i < n_blocks; i++, p += block_bytes) {
        uint16_t a, b;
        if (block_bytes == (int)sizeof(block_q6_K)) {
            memcpy(&a, p + offsetof(block_q6_K, d), 2);
            b = a;
        } else {
            memcpy(&a, p, 2);
            memcpy(&b, p + 2, 2);
        }
        if (!f16_finite(a) || !f16_finite(b))
            return i;
    }
    return -1;
}
