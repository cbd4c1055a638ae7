/* "scalar_q8": the reference for llama.cpp's CPU arithmetic on quantized
 * weights. llama.cpp does not dequantize weights for a matrix product: it
 * quantizes the activations, to q8_K for K-quant weights (one scale per
 * 256) and to q8_0 for q8_0/q4_0 weights (one f16 scale per 32), and sums
 * integer products per block, with one float multiply per block. This
 * variant does the same, one token and one row at a time, so its logits
 * follow llama.cpp's to float rounding (tests/test_engine_model_oracles.c
 * states the tolerances); the SIMD K-quant kernels are checked against it.
 * f32/f16/bf16 weights go through the "scalar" variant. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "quant.h"
#include "quant_k.h"

/* q8_0 activations as ggml's x86 quantize_row_q8_0: d = amax / 127 kept
 * as f16, q = round-to-nearest-even(x * 127 / amax). */
static void quantize_act_q8_0(const float *x, block_q8_0 *y, int64_t n)
{
    for (int64_t b = 0; b < n / QK8_0; b++, x += QK8_0) {
        float amax = 0.0f;
        for (int j = 0; j < QK8_0; j++)
            amax = fmaxf(amax, fabsf(x[j]));
        y[b].d = engine_f32_to_f16(amax / 127.0f);
        const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
        for (int j = 0; j < QK8_0; j++)
            y[b].qs[j] = (int8_t)lrintf(x[j] * id);
    }
}

static float dot_q8_0(const block_q8_0 *w, const block_q8_0 *x, int64_t nb)
{
    float sum = 0.0f;
    for (int64_t b = 0; b < nb; b++) {
        int32_t s = 0;
        for (int j = 0; j < QK8_0; j++)
            s += w[b].qs[j] * x[b].qs[j];
        sum += engine_f16_to_f32(w[b].d) * engine_f16_to_f32(x[b].d) * (float)s;
    }
    return sum;
}

static float dot_q4_0(const block_q4_0 *w, const block_q8_0 *x, int64_t nb)
{
    float sum = 0.0f;
    for (int64_t b = 0; b < nb; b++) {
        int32_t s = 0;
        for (int j = 0; j < QK4_0 / 2; j++)
            s += ((w[b].qs[j] & 0xF) - 8) * x[b].qs[j] + ((w[b].qs[j] >> 4) - 8) * x[b].qs[j + QK4_0 / 2];
        sum += engine_f16_to_f32(w[b].d) * engine_f16_to_f32(x[b].d) * (float)s;
    }
    return sum;
}

static void matmul_scalar_q8(float *out, const float *x, const engine_tensor *w, int n, engine_pool *pool)
{
    const engine_dtype type = w->type;
    const bool kquant = (ENGINE_DTYPES_KQUANT >> type) & 1;
    if (!kquant && type != ENGINE_DTYPE_Q8_0 && type != ENGINE_DTYPE_Q4_0) {
        kernel_find(ENGINE_OP_MATMUL, "scalar")->fn.matmul(out, x, w, n, pool);
        return;
    }
    const int64_t rows = w->rows, cols = w->cols, nb = cols / engine_dtype_block(type);
    const size_t row_bytes = engine_dtype_bytes(type, cols);
    const size_t act_bytes = kquant ? (size_t)nb * sizeof(block_q8_K) : (size_t)nb * sizeof(block_q8_0);
    char *act = malloc(act_bytes * (size_t)(n > 0 ? n : 1));
    if (!act) {   /* no memory for the activations: the dequantizing reference still answers */
        kernel_find(ENGINE_OP_MATMUL, "scalar")->fn.matmul(out, x, w, n, pool);
        return;
    }
    for (int t = 0; t < n; t++) {
        if (kquant)
            quant_k_quantize_q8_K(x + (size_t)t * cols, (block_q8_K *)(act + t * act_bytes), cols);
        else
            quantize_act_q8_0(x + (size_t)t * cols, (block_q8_0 *)(act + t * act_bytes), cols);
    }
    for (int64_t r = 0; r < rows; r++) {
        const void *row = (const char *)w->data + (size_t)r * row_bytes;
        for (int t = 0; t < n; t++) {
            const void *a = act + t * act_bytes;
            float v;
            switch (type) {
            case ENGINE_DTYPE_Q4_K: v = quant_k_dot_q4_K(row, a, nb); break;
            case ENGINE_DTYPE_Q5_K: v = quant_k_dot_q5_K(row, a, nb); break;
            case ENGINE_DTYPE_Q6_K: v = quant_k_dot_q6_K(row, a, nb); break;
            case ENGINE_DTYPE_Q8_0: v = dot_q8_0(row, a, nb); break;
            default: v = dot_q4_0(row, a, nb); break;
            }
            out[(size_t)t * rows + r] = v;
        }
    }
    free(act);
}

const kernel_variant kernel_variants_kquant[] = {
    {.info = {ENGINE_OP_MATMUL, "scalar_q8", "cpu", "",
              "reference of llama.cpp's CPU arithmetic, single-threaded: activations quantized to q8_K "
              "(K-quants) or q8_0 (q8_0/q4_0), integer block dots; float types as scalar"},
     .dtypes = ENGINE_DTYPES_BASE | ENGINE_DTYPES_KQUANT, .priority = -1, .fn.matmul = matmul_scalar_q8},
    {.info = {.name = NULL}},
};
