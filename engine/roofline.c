/* The machine's roofline: streaming read bandwidth and f32 FMA peak, each
 * measured with the pool's threads and the widest vectors this CPU runs.
 * Decode tokens/s is bounded by bandwidth / weight bytes, prefill by the
 * FMA peak; `thermabench roofline` and `bench` print these next to the
 * achieved figures. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define READ_BYTES (512ull << 20)   /* 16x a 32 MiB L3 */
#define FMA_ITERS 2000000

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct rf_ctx {
    const char *buf;
    size_t bytes;
    int isa;            /* 2: avx512, 1: avx2, 0: scalar */
    double sink[64];    /* per task, so nothing is optimised away */
} rf_ctx;

#if defined(__x86_64__)
__attribute__((target("avx512f"))) static double read512(const char *p, size_t n)
{
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t i = 0; i < n; i += 256) {
        a0 = _mm512_xor_si512(a0, _mm512_load_si512((const void *)(p + i)));
        a1 = _mm512_xor_si512(a1, _mm512_load_si512((const void *)(p + i + 64)));
        a2 = _mm512_xor_si512(a2, _mm512_load_si512((const void *)(p + i + 128)));
        a3 = _mm512_xor_si512(a3, _mm512_load_si512((const void *)(p + i + 192)));
    }
    a0 = _mm512_xor_si512(_mm512_xor_si512(a0, a1), _mm512_xor_si512(a2, a3));
    return (double)_mm512_reduce_add_epi64(a0);
}

__attribute__((target("avx2"))) static double read256(const char *p, size_t n)
{
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t i = 0; i < n; i += 128) {
        a0 = _mm256_xor_si256(a0, _mm256_load_si256((const void *)(p + i)));
        a1 = _mm256_xor_si256(a1, _mm256_load_si256((const void *)(p + i + 32)));
        a2 = _mm256_xor_si256(a2, _mm256_load_si256((const void *)(p + i + 64)));
        a3 = _mm256_xor_si256(a3, _mm256_load_si256((const void *)(p + i + 96)));
    }
    a0 = _mm256_xor_si256(_mm256_xor_si256(a0, a1), _mm256_xor_si256(a2, a3));
    return (double)_mm256_extract_epi64(a0, 0);
}

/* 24 independent FMA chains: enough to cover latency x pipes on any core. */
#define FMA_BODY(T, FMA, SET1)                                          \
    T a[24];                                                            \
    for (int j = 0; j < 24; j++)                                        \
        a[j] = SET1(1.0f + j * 1e-3f);                                  \
    T m = SET1(0.999999f), c = SET1(1e-7f);                             \
    for (long i = 0; i < iters; i++) {                                  \
        _Pragma("GCC unroll 24") for (int j = 0; j < 24; j++)           \
            a[j] = FMA(a[j], m, c);                                     \
    }                                                                   \
    T s = a[0];                                                         \
    for (int j = 1; j < 24; j++)                                        \
        s = ADD(s, a[j]);

__attribute__((target("avx512f"))) static double fma512(long iters)
{
#define ADD _mm512_add_ps
    FMA_BODY(__m512, _mm512_fmadd_ps, _mm512_set1_ps)
#undef ADD
    return _mm512_reduce_add_ps(s);
}

__attribute__((target("avx2,fma"))) static double fma256(long iters)
{
#define ADD _mm256_add_ps
    FMA_BODY(__m256, _mm256_fmadd_ps, _mm256_set1_ps)
#undef ADD
    float f[8];
    _mm256_storeu_ps(f, s);
    return f[0];
}
#endif

static double read_scalar(const char *p, size_t n)
{
    const uint64_t *q = (const uint64_t *)p;
    uint64_t a = 0, b = 0;
    for (size_t i = 0; i < n / 8; i += 2) {
        a ^= q[i];
        b ^= q[i + 1];
    }
    return (double)(a ^ b);
}

static void read_task(void *arg, int task, int n_tasks)
{
    rf_ctx *c = arg;
    size_t per = c->bytes / (size_t)n_tasks;
    const char *p = c->buf + per * (size_t)task;
    double s;
#if defined(__x86_64__)
    if (c->isa == 2)
        s = read512(p, per);
    else if (c->isa == 1)
        s = read256(p, per);
    else
#endif
        s = read_scalar(p, per);
    c->sink[task % 64] += s;
}

static void fma_task(void *arg, int task, int n_tasks)
{
    rf_ctx *c = arg;
    double s = 0;
#if defined(__x86_64__)
    if (c->isa == 2)
        s = fma512(FMA_ITERS);
    else if (c->isa == 1)
        s = fma256(FMA_ITERS);
#endif
    c->sink[task % 64] += s;
}

int engine_roofline_measure(int threads, int repeats, engine_roofline *out, engine_error *err)
{
    memset(out, 0, sizeof *out);
    if (threads < 1 || threads > 1024 || repeats < 1) {
        err->kind = ENGINE_ERR_INPUT;
        snprintf(err->msg, sizeof err->msg, "roofline: threads must be 1..1024 and repeats >= 1");
        return -1;
    }
    const cpu_features *f = cpu_features_get();
    rf_ctx c = {.bytes = READ_BYTES, .isa = f->avx512f ? 2 : (f->avx2 && f->fma) ? 1 : 0};
    char *buf = aligned_alloc(2u << 20, READ_BYTES);
    engine_pool *pool = engine_pool_create(threads);
    if (!buf || !pool || engine_pool_threads(pool) != threads) {
        free(buf);
        engine_pool_free(pool);
        err->kind = ENGINE_ERR_SYSTEM;
        snprintf(err->msg, sizeof err->msg, "roofline: cannot allocate %llu MiB or start %d threads",
                 (unsigned long long)(READ_BYTES >> 20), threads);
        return -1;
    }
    /* 2 MiB pages where the kernel grants them (THP "madvise" mode), as the
     * weights get (model.c): with 4 KiB pages every 64 lines cost a TLB
     * miss, a two-level walk in a VM, and the prefetchers stop at each page
     * end (measured: 1 thread 28 against 32 GB/s). Before the first touch. */
    madvise(buf, READ_BYTES, MADV_HUGEPAGE);
    memset(buf, 1, READ_BYTES);
    c.buf = buf;
    /* One task per thread: a fixed split, each streaming its own slice. */
    double best_read = 1e30, best_fma = 1e30;
    for (int r = 0; r < repeats + 1; r++) {   /* the first pass warms up */
        double t0 = now_s();
        engine_pool_run(pool, read_task, &c, threads);
        double t = now_s() - t0;
        if (r > 0 && t < best_read)
            best_read = t;
    }
    for (int r = 0; r < repeats && c.isa > 0; r++) {
        double t0 = now_s();
        engine_pool_run(pool, fma_task, &c, threads);
        double t = now_s() - t0;
        if (t < best_fma)
            best_fma = t;
    }
    out->threads = threads;
    out->buffer_bytes = READ_BYTES;
    out->isa = c.isa == 2 ? "avx512" : c.isa == 1 ? "avx2" : "scalar";
    out->read_gb_per_s = READ_BYTES / best_read / 1e9;
    int lanes = c.isa == 2 ? 16 : 8;
    out->fma_gflop_per_s = c.isa ? 2.0 * lanes * 24 * (double)FMA_ITERS * threads / best_fma / 1e9 : 0;
    free(buf);
    engine_pool_free(pool);
    return 0;
}
