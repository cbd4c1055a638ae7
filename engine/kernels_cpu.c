/* Shared helpers of the SIMD kernel files: per-thread scratch, work split,
 * and activation quantization for the integer dot products. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels_cpu.h"

#define SCRATCH_SLOTS 4

/* Per thread: sessions on different threads never share a buffer. */
static _Thread_local struct {
    void *p;
    size_t cap;
} scratch[SCRATCH_SLOTS];

void *kcpu_scratch(int slot, size_t bytes)
{
    if (slot < 0 || slot >= SCRATCH_SLOTS)
        return NULL;
    if (scratch[slot].cap >= bytes && scratch[slot].p)
        return scratch[slot].p;
    size_t cap = (bytes + 4095) & ~(size_t)4095;
    void *p = aligned_alloc(64, cap ? cap : 4096);
    if (!p)
        return NULL;
    free(scratch[slot].p);
    scratch[slot].p = p;
    scratch[slot].cap = cap;
    return p;
}

int64_t kcpu_rows_per_task(int64_t rows, int threads, int64_t align)
{
    int64_t per = rows / ((int64_t)threads * 8);
    if (per < 16)
        per = 16;
    per = (per + align - 1) / align * align;
    return per;
}

/* ggml's quantize_row_q8_0_ref: d = amax / 127, q = round(x / d). */
int kcpu_quantize_x(kcpu_xq *xq, const float *x, int n, int64_t cols, int offset, int group)
{
    int64_t nb = cols / 32, blocks = (nb + group - 1) / group * group, groups = blocks / group;
    size_t qs_bytes = (size_t)n * blocks * 32;
    size_t d_bytes = ((size_t)n * blocks * sizeof(float) + 63) & ~(size_t)63;
    size_t corr_bytes = (size_t)n * groups * 16 * sizeof(int32_t);
    char *buf = kcpu_scratch(3, qs_bytes + d_bytes + corr_bytes);
    if (!buf)
        return -1;
    xq->qs = (int8_t *)buf;
    xq->d = (float *)(buf + qs_bytes);
    xq->corr = (int32_t *)(buf + qs_bytes + d_bytes);
    xq->blocks = blocks;
    xq->group = group;
    memset(buf, 0, qs_bytes + d_bytes + corr_bytes);
    for (int t = 0; t < n; t++) {
        int8_t *qt = xq->qs + (size_t)t * blocks * 32;
        for (int64_t b = 0; b < nb; b++) {
            const float *xb = x + (size_t)t * cols + b * 32;
            float amax = 0.0f;
            for (int j = 0; j < 32; j++)
                if (fabsf(xb[j]) > amax)
                    amax = fabsf(xb[j]);
            float dd = amax / 127.0f, id = dd ? 1.0f / dd : 0.0f;
            int32_t sum = 0;
            for (int j = 0; j < 32; j++) {
                int8_t q = (int8_t)roundf(xb[j] * id);
                sum += q;
                if (group == 2)
                    qt[b * 32 + j] = q;
                else
                    qt[(b / 4) * 128 + (j >= 16) * 64 + (b % 4) * 16 + (j & 15)] = q;
            }
            xq->d[(size_t)t * blocks + b] = dd;
            xq->corr[((size_t)t * groups + b / group) * 16 + (b % group) * (16 / group)] = -offset * sum;
        }
    }
    return 0;
}
