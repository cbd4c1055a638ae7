/* Internal to engine/: what the SIMD kernel files (kernels_avx2.c,
 * kernels_avx512.c) share: per-thread scratch and work splitting. */
#ifndef THERMABENCH_ENGINE_KERNELS_CPU_H
#define THERMABENCH_ENGINE_KERNELS_CPU_H

#include <stddef.h>
#include <stdint.h>

#include "kernels.h"

/* A 64-byte aligned buffer of at least `bytes`, owned by the calling thread
 * and reused across calls (slot 0..3); NULL if out of memory. The caller
 * fills it before engine_pool_run, and the workers only read it. */
void *kcpu_scratch(int slot, size_t bytes);

/* Rows per task so that every thread gets several tasks to balance over
 * (the machine is shared; a fixed split would wait on the slowest core). */
int64_t kcpu_rows_per_task(int64_t rows, int threads, int64_t align);

/* Activations quantized to q8 per block of 32 for the integer dot
 * products: qs (blocks x 32 int8), d (per block scale), and corr, an int32
 * vector per pair of blocks preloaded into the dot product to undo the
 * weights' offset (128 for q8_0 read as unsigned, 8 for q4_0 nibbles). */
typedef struct kcpu_xq {
    int8_t *qs;
    float *d;
    int32_t *corr;    /* per pair of blocks: 16 int32, lane 0 and lane 8 set */
    int64_t blocks;   /* per token, rounded up to even */
} kcpu_xq;

/* Quantizes n rows of cols floats (cols % 32 == 0); offset 128 or 8. */
int kcpu_quantize_x(kcpu_xq *xq, const float *x, int n, int64_t cols, int offset);

#endif
