/* Element types: names, sizes, f16/bf16 conversions and ggml's q8_0/q4_0
 * reference quantization (quantize_row_q8_0_ref / quantize_row_q4_0_ref),
 * reproduced bit for bit so our files and ggml's agree. */
#include <math.h>
#include <string.h>
#include <strings.h>

#include "engine.h"
#include "quant.h"
#include "quant_k.h"

static const char *const dtype_names[ENGINE_DTYPE_COUNT] = {
    "f32", "f16", "bf16", "q8_0", "q4_0", "q4_k", "q5_k", "q6_k",
};

const char *engine_dtype_name(engine_dtype t)
{
    return (unsigned)t < ENGINE_DTYPE_COUNT ? dtype_names[t] : "?";
}

int engine_dtype_parse(const char *name, engine_dtype *out)
{
    if (!name)
        return -1;
    for (int i = 0; i < ENGINE_DTYPE_COUNT; i++) {
        if (!strcasecmp(name, dtype_names[i])) {
            *out = (engine_dtype)i;
            return 0;
        }
    }
    return -1;
}

int engine_dtype_block(engine_dtype type)
{
    switch (type) {
    case ENGINE_DTYPE_Q8_0:
    case ENGINE_DTYPE_Q4_0: return 32;
    case ENGINE_DTYPE_Q4_K:
    case ENGINE_DTYPE_Q5_K:
    case ENGINE_DTYPE_Q6_K: return QK_K;
    default: return 1;
    }
}

size_t engine_dtype_bytes(engine_dtype t, int64_t n)
{
    switch (t) {
    case ENGINE_DTYPE_F32: return (size_t)n * 4;
    case ENGINE_DTYPE_F16:
    case ENGINE_DTYPE_BF16: return (size_t)n * 2;
    case ENGINE_DTYPE_Q8_0: return (size_t)(n / QK8_0) * sizeof(block_q8_0);
    case ENGINE_DTYPE_Q4_0: return (size_t)(n / QK4_0) * sizeof(block_q4_0);
    case ENGINE_DTYPE_Q4_K: return (size_t)(n / QK_K) * sizeof(block_q4_K);
    case ENGINE_DTYPE_Q5_K: return (size_t)(n / QK_K) * sizeof(block_q5_K);
    case ENGINE_DTYPE_Q6_K: return (size_t)(n / QK_K) * sizeof(block_q6_K);
    default: return 0;
    }
}

static uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float bits_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

float engine_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff;
    if (exp == 0x1f)                       /* inf / nan (quieted, as F16C does) */
        return bits_f32(sign | 0x7f800000 | (man ? 0x400000 | (man << 13) : 0));
    if (exp == 0) {                        /* zero / subnormal: man * 2^-24 */
        float v = (float)man * 0x1p-24f;
        return sign ? -v : v;
    }
    return bits_f32(sign | ((exp + 112) << 23) | (man << 13));
}

/* Integer round-to-nearest-even, the same result as F16C's _cvtss_sh(x, 0). */
uint16_t engine_f32_to_f16(float f)
{
    uint32_t x = f32_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    x &= 0x7fffffff;
    if (x >= 0x7f800000)                    /* inf stays inf, nan stays quiet nan */
        return sign | (x > 0x7f800000 ? 0x7e00 : 0x7c00);
    if (x >= 0x477ff000)                    /* >= 65520 rounds to inf */
        return sign | 0x7c00;
    if (x < 0x38800000) {                   /* below 2^-14: f16 subnormal or zero */
        uint32_t e = x >> 23;
        if (e < 102)                        /* < 2^-25: rounds to zero */
            return sign;
        uint32_t m = (x & 0x7fffff) | 0x800000;
        uint32_t shift = 126 - e;           /* value / 2^-24 = m >> shift */
        uint32_t q = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (q & 1)))
            q++;
        return sign | (uint16_t)q;
    }
    x -= 0x38000000;                        /* rebias exponent 127 -> 15 */
    x += 0xfff + ((x >> 13) & 1);
    return sign | (uint16_t)(x >> 13);
}

float engine_bf16_to_f32(uint16_t h)
{
    return bits_f32((uint32_t)h << 16);
}

/* As ggml_compute_fp32_to_bf16: nan kept quiet, otherwise round to nearest even. */
uint16_t engine_f32_to_bf16(float f)
{
    uint32_t u = f32_bits(f);
    if ((u & 0x7fffffff) > 0x7f800000)
        return (uint16_t)((u >> 16) | 64);
    return (uint16_t)((u + (0x7fff + ((u >> 16) & 1))) >> 16);
}

/* roundf (halves away from zero) without the libm call, exactly: for
 * |v| < 2^23 the fraction v - trunc(v) is computed without rounding. */
static inline int round_away(float v)
{
    int i = (int)v;
    float frac = v - (float)i;
    return i + (frac >= 0.5f) - (frac <= -0.5f);
}

void engine_quantize_q8_0(const float *x, block_q8_0 *y, int64_t n)
{
    for (int64_t i = 0; i < n / QK8_0; i++) {
        const float *b = x + i * QK8_0;
        float amax = 0.0f;
        for (int j = 0; j < QK8_0; j++)
            amax = amax > fabsf(b[j]) ? amax : fabsf(b[j]);   /* ggml's MAX */
        const float d = amax / ((1 << 7) - 1);
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = engine_f32_to_f16(d);
        for (int j = 0; j < QK8_0; j++)
            y[i].qs[j] = (int8_t)round_away(b[j] * id);
    }
}

void engine_quantize_q4_0(const float *x, block_q4_0 *y, int64_t n)
{
    for (int64_t i = 0; i < n / QK4_0; i++) {
        const float *b = x + i * QK4_0;
        float amax = 0.0f, max = 0.0f;     /* the signed value of largest magnitude */
        for (int j = 0; j < QK4_0; j++) {
            if (amax < fabsf(b[j])) {
                amax = fabsf(b[j]);
                max = b[j];
            }
        }
        const float d = max / -8;
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = engine_f32_to_f16(d);
        for (int j = 0; j < QK4_0 / 2; j++) {
            int8_t q0 = (int8_t)(b[j] * id + 8.5f);
            int8_t q1 = (int8_t)(b[j + QK4_0 / 2] * id + 8.5f);
            uint8_t xi0 = (uint8_t)(q0 < 15 ? q0 : 15);
            uint8_t xi1 = (uint8_t)(q1 < 15 ? q1 : 15);
            y[i].qs[j] = (uint8_t)(xi0 | (xi1 << 4));
        }
    }
}

void engine_dequantize_row(engine_dtype type, const void *row, float *out, int64_t n)
{
    switch (type) {
    case ENGINE_DTYPE_F32:
        memcpy(out, row, (size_t)n * 4);
        break;
    case ENGINE_DTYPE_F16: {
        const uint16_t *h = row;
        for (int64_t i = 0; i < n; i++)
            out[i] = engine_f16_to_f32(h[i]);
        break;
    }
    case ENGINE_DTYPE_BF16: {
        const uint16_t *h = row;
        for (int64_t i = 0; i < n; i++)
            out[i] = engine_bf16_to_f32(h[i]);
        break;
    }
    case ENGINE_DTYPE_Q8_0: {
        const block_q8_0 *b = row;
        for (int64_t i = 0; i < n / QK8_0; i++) {
            const float d = engine_f16_to_f32(b[i].d);
            for (int j = 0; j < QK8_0; j++)
                out[i * QK8_0 + j] = d * b[i].qs[j];
        }
        break;
    }
    case ENGINE_DTYPE_Q4_0: {
        const block_q4_0 *b = row;
        for (int64_t i = 0; i < n / QK4_0; i++) {
            const float d = engine_f16_to_f32(b[i].d);
            for (int j = 0; j < QK4_0 / 2; j++) {
                out[i * QK4_0 + j] = d * ((b[i].qs[j] & 0x0f) - 8);
                out[i * QK4_0 + j + QK4_0 / 2] = d * ((b[i].qs[j] >> 4) - 8);
            }
        }
        break;
    }
    case ENGINE_DTYPE_Q4_K:
        quant_k_dequantize_q4_K(row, out, n);
        break;
    case ENGINE_DTYPE_Q5_K:
        quant_k_dequantize_q5_K(row, out, n);
        break;
    case ENGINE_DTYPE_Q6_K:
        quant_k_dequantize_q6_K(row, out, n);
        break;
    default:
        break;
    }
}

void engine_quantize_row(engine_dtype type, const float *x, void *out, int64_t n)
{
    switch (type) {
    case ENGINE_DTYPE_F32:
        memcpy(out, x, (size_t)n * 4);
        break;
    case ENGINE_DTYPE_F16: {
        uint16_t *h = out;
        for (int64_t i = 0; i < n; i++)
            h[i] = engine_f32_to_f16(x[i]);
        break;
    }
    case ENGINE_DTYPE_BF16: {
        uint16_t *h = out;
        for (int64_t i = 0; i < n; i++)
            h[i] = engine_f32_to_bf16(x[i]);
        break;
    }
    case ENGINE_DTYPE_Q8_0:
        engine_quantize_q8_0(x, out, n);
        break;
    case ENGINE_DTYPE_Q4_0:
        engine_quantize_q4_0(x, out, n);
        break;
    case ENGINE_DTYPE_Q4_K:
        quant_k_quantize_q4_K(x, out, n);
        break;
    case ENGINE_DTYPE_Q5_K:
        quant_k_quantize_q5_K(x, out, n);
        break;
    case ENGINE_DTYPE_Q6_K:
        quant_k_quantize_q6_K(x, out, n);
        break;
    default:
        break;
    }
}
