/* Internal to engine/: element types in ggml's layouts, shared by the
 * loaders, the synthetic models and every kernel family. */
#ifndef THERMABENCH_ENGINE_QUANT_H
#define THERMABENCH_ENGINE_QUANT_H

#include <stddef.h>
#include <stdint.h>

#include "engine.h"

#define QK8_0 32
#define QK4_0 32

/* ggml block_q8_0: scale d (f16), then 32 int8; value = d * q. */
typedef struct block_q8_0 {
    uint16_t d;
    int8_t qs[QK8_0];
} block_q8_0;

/* ggml block_q4_0: scale d (f16), then 16 bytes; element j < 16 is the low
 * nibble of qs[j], element j + 16 the high nibble; value = d * (nibble - 8). */
typedef struct block_q4_0 {
    uint16_t d;
    uint8_t qs[QK4_0 / 2];
} block_q4_0;

_Static_assert(sizeof(block_q8_0) == 34, "ggml block_q8_0 is 34 bytes");
_Static_assert(sizeof(block_q4_0) == 18, "ggml block_q4_0 is 18 bytes");

float engine_f16_to_f32(uint16_t h);
uint16_t engine_f32_to_f16(float f);      /* round to nearest even */
float engine_bf16_to_f32(uint16_t h);
uint16_t engine_f32_to_bf16(float f);     /* round to nearest even */

/* n is a multiple of the block size; these follow ggml's reference code
 * (quantize_row_q8_0_ref / quantize_row_q4_0_ref) bit for bit. */
void engine_quantize_q8_0(const float *x, block_q8_0 *y, int64_t n);
void engine_quantize_q4_0(const float *x, block_q4_0 *y, int64_t n);
/* Converts n elements of a row of any engine_dtype to f32. */
void engine_dequantize_row(engine_dtype type, const void *row, float *out, int64_t n);
/* Converts n f32 elements to `type` (quantizing per block). */
void engine_quantize_row(engine_dtype type, const float *x, void *out, int64_t n);
/* Elements per block: 1 for f32/f16/bf16, 32 for q8_0/q4_0, 256 for the K-quants. */
int engine_dtype_block(engine_dtype type);

/* The element types each kernel family handles, as matmul dtype masks:
 * the five of the llama2.c-era kernels, and the K-quants. */
#define ENGINE_DTYPES_BASE ((1u << ENGINE_DTYPE_F32) | (1u << ENGINE_DTYPE_F16) | (1u << ENGINE_DTYPE_BF16) | \
                            (1u << ENGINE_DTYPE_Q8_0) | (1u << ENGINE_DTYPE_Q4_0))
#define ENGINE_DTYPES_KQUANT ((1u << ENGINE_DTYPE_Q4_K) | (1u << ENGINE_DTYPE_Q5_K) | (1u << ENGINE_DTYPE_Q6_K))

#endif
