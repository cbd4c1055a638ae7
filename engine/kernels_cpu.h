/* Internal to engine/: what the SIMD kernel files (kernels_avx2.c,
 * kernels_avx512.c) share: per-thread scratch and work splitting. */
#ifndef THERMABENCH_ENGINE_KERNELS_CPU_H
#define THERMABENCH_ENGINE_KERNELS_CPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels.h"

/* A 64-byte aligned buffer of at least `bytes`, owned by the calling thread
 * and reused across calls (slot 0..3); NULL if out of memory. The caller
 * fills it before engine_pool_run, and the workers only read it. */
void *kcpu_scratch(int slot, size_t bytes);

/* True when the environment variable THERMABENCH_CPU_DISABLE lists `isa`
 * ("avx512", "avx2"; comma-separated): the variants needing it then report
 * themselves unavailable, as on a CPU without it. For tests and A/B runs
 * of the fallbacks; read once. */
bool kcpu_isa_disabled(const char *isa);

/* Rows per task so that every thread gets several tasks to balance over
 * (the machine is shared; a fixed split would wait on the slowest core). */
int64_t kcpu_rows_per_task(int64_t rows, int threads, int64_t align);

/* Decode's row dot products: KCPU_MATVEC_TASKS_PER_THREAD tasks per thread
 * (one on a single thread), each of at least KCPU_MATVEC_MIN_TASK_BYTES of
 * weights (row_bytes x tokens per row). The pool deals each thread a
 * contiguous run of tasks and lets the others finish a preempted thread's
 * tasks from the back, so tasks bound the stall on a shared machine while
 * each thread still streams its rows in order. */
#define KCPU_MATVEC_TASKS_PER_THREAD 8
#define KCPU_MATVEC_MIN_TASK_BYTES (16 << 10)
int64_t kcpu_matvec_rows_per_task(int64_t rows, int64_t row_bytes, int threads, int64_t align);

/* Activations quantized to q8 per block of 32 for the integer dot
 * products, in groups of `group` blocks (2 or 4): qs (blocks x 32 int8),
 * d (per block scale), and corr, 16 int32 per group preloaded into the dot
 * product to undo the weights' offset (128 for q8_0 read as unsigned, 8
 * for q4_0 nibbles): block j of a group sets lane j * 16 / group.
 * Group 2 keeps each block's 32 values in order; group 4 (for q4_0)
 * stores the first 16 values of its 4 blocks, then the last 16 of each,
 * matching the nibble halves of 4 q4_0 blocks loaded side by side. */
typedef struct kcpu_xq {
    int8_t *qs;
    float *d;
    int32_t *corr;
    int64_t blocks;   /* per token, rounded up to a multiple of group */
    int group;
} kcpu_xq;

/* Buffers for n rows of cols floats (cols % 32 == 0), zeroed; the kernel
 * files fill them (ggml's quantize_row_q8_0 rule: d = amax / 127, q =
 * round(x / d)), one token per task. */
int kcpu_xq_alloc(kcpu_xq *xq, int n, int64_t cols, int group);

/* The quantized value of element e (< 32) of block b of token t. */
static inline int8_t kcpu_xq_at(const kcpu_xq *xq, int t, int64_t b, int e)
{
    const int8_t *q = xq->qs + (size_t)t * xq->blocks * 32;
    if (xq->group == 2)
        return q[b * 32 + e];
    return q[(b / 4) * 128 + (e >= 16) * 64 + (b % 4) * 16 + (e & 15)];
}

#endif
