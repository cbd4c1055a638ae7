/* Matmul microbenchmark (not a test): the 7 matrices of each of the 12
 * layers of the 110M preset (dim 768, hidden 2048), one matmul variant,
 * one element type, n tokens, a pool of T threads. Prints the best of
 * several passes as time, GB/s of weights read and GFLOP/s.
 *
 *   bench_engine_kernels VARIANT DTYPE TOKENS THREADS
 *   bench_engine_kernels avx512 q4_0 1 2      # decode-shaped
 *   bench_engine_kernels avx512 f32 128 2     # prefill-shaped
 * Weights get 2 MiB pages as the model's do; BENCH_SMALL_PAGES=1 in the
 * environment leaves them on 4 KiB pages, for A/B. BENCH_COPIES=N makes N
 * copies of the weights and each pass reads the next one: with more bytes
 * than the last-level cache, passes read from memory, as a model's decode
 * does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "kernels.h"
#include "quant.h"

#define LAYERS 12

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* Reads n bytes as 64-byte vectors (as `thermabench roofline` does). */
#if defined(__x86_64__)
__attribute__((target("avx512f"))) static uint64_t read_bytes(const void *p, size_t n)
{
    const char *c = p;
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
    size_t i = 0;
    for (; i + 256 <= n; i += 256) {
        a0 = _mm512_xor_si512(a0, _mm512_loadu_si512((const void *)(c + i)));
        a1 = _mm512_xor_si512(a1, _mm512_loadu_si512((const void *)(c + i + 64)));
        a2 = _mm512_xor_si512(a2, _mm512_loadu_si512((const void *)(c + i + 128)));
        a3 = _mm512_xor_si512(a3, _mm512_loadu_si512((const void *)(c + i + 192)));
    }
    a0 = _mm512_xor_si512(_mm512_xor_si512(a0, a1), _mm512_xor_si512(a2, a3));
    return (uint64_t)_mm512_reduce_add_epi64(a0) + (i < n ? (uint64_t)c[i] : 0);
}
#else
static uint64_t read_bytes(const void *p, size_t n)
{
    const uint64_t *q = p;
    uint64_t a = 0;
    for (size_t i = 0; i < n / 8; i++)
        a ^= q[i];
    return a;
}
#endif

static double thread_cpu_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    engine_dtype dt;
    if (argc != 5 || engine_dtype_parse(argv[2], &dt) != 0) {
        fprintf(stderr, "usage: bench_engine_kernels VARIANT DTYPE TOKENS THREADS\n");
        return 2;
    }
    const kernel_variant *v = kernel_find(ENGINE_OP_MATMUL, argv[1]);
    int n = atoi(argv[3]), threads = atoi(argv[4]);
    if (!v || (v->supported && !v->supported()) || !(v->dtypes & (1u << dt)) || n < 1 || threads < 1) {
        fprintf(stderr, "bench_engine_kernels: no runnable matmul variant '%s' for %s, or bad sizes\n", argv[1],
                argv[2]);
        return 2;
    }
    engine_pool *pool = engine_pool_create(threads);
    static const int64_t rows[7] = {768, 768, 768, 768, 2048, 2048, 768};
    static const int64_t cols[7] = {768, 768, 768, 768, 768, 768, 2048};
    const char *copies_env = getenv("BENCH_COPIES");
    const int copies = copies_env && atoi(copies_env) > 0 ? atoi(copies_env) : 1;
    engine_tensor *w = malloc(sizeof *w * LAYERS * 7 * (size_t)copies);
    double bytes = 0, flops = 0;
    float *src = malloc(sizeof(float) * 2048 * 768);
    srand(1);
    for (int i = 0; i < 2048 * 768; i++)
        src[i] = rand() / (float)RAND_MAX - 0.5f;
    for (int l = 0; l < LAYERS * copies; l++)
        for (int j = 0; j < 7; j++) {
            size_t rb = engine_dtype_bytes(dt, cols[j]);
            size_t sz = (rb * rows[j] + (2u << 20) - 1) / (2u << 20) * (2u << 20);
            char *d = aligned_alloc(2u << 20, sz);
            if (!getenv("BENCH_SMALL_PAGES"))   /* as formats_model_alloc does */
                madvise(d, sz, MADV_HUGEPAGE);
            for (int64_t r = 0; r < rows[j]; r++)
                engine_quantize_row(dt, src + (r % 97) * cols[j], d + r * rb, cols[j]);
            w[l * 7 + j] = (engine_tensor){dt, rows[j], cols[j], d};
            if (l < LAYERS) {   /* one pass */
                bytes += (double)rb * rows[j];
                flops += 2.0 * rows[j] * cols[j] * n;
            }
        }
    float *x = malloc(sizeof(float) * n * 2048), *y = malloc(sizeof(float) * n * 2048);
    for (int i = 0; i < n * 2048; i++)
        x[i] = rand() / (float)RAND_MAX - 0.5f;
    double best = 1e30, best_cpu = 1e30;
    for (int pass = 0; pass < (n > 1 ? 5 : 100); pass++) {
        double t0 = now_s(), c0 = thread_cpu_s();
        const engine_tensor *wp = w + (size_t)(pass % copies) * LAYERS * 7;
        for (int k = 0; k < LAYERS * 7; k++)
            v->fn.matmul(y, x, &wp[k], n, pool);
        double t = now_s() - t0, c = thread_cpu_s() - c0;
        best = t < best ? t : best;
        best_cpu = c < best_cpu ? c : best_cpu;
    }
    printf("%s %s tokens=%d threads=%d: %.3f ms  %.1f GB/s  %.1f GFLOP/s", argv[1], argv[2], n, threads,
           best * 1e3, bytes / best / 1e9, flops / best / 1e9);
    if (threads == 1) { /* the pass on the CPU only: a shared machine's time slices left out */
        printf("  (on-CPU %.3f ms, %.1f GB/s", best_cpu * 1e3, bytes / best_cpu / 1e9);
        double read_cpu = 1e30;
        uint64_t sink = 0;
        for (int pass = 0; pass < 20; pass++) {
            double c0 = thread_cpu_s();
            const engine_tensor *wp = w + (size_t)(pass % copies) * LAYERS * 7;
            for (int k = 0; k < LAYERS * 7; k++)
                sink ^= read_bytes(wp[k].data, engine_dtype_bytes(dt, wp[k].cols) * (size_t)wp[k].rows);
            double c = thread_cpu_s() - c0;
            read_cpu = c < read_cpu ? c : read_cpu;
        }
        printf("; a plain read of the same bytes %.1f GB/s: %.0f %%%s)", bytes / read_cpu / 1e9,
               read_cpu / best_cpu * 100, sink == 42 ? " " : "");
    }
    printf("\n");
    for (int k = 0; k < LAYERS * 7 * copies; k++)
        free((void *)w[k].data);
    free(w);
    free(src);
    free(x);
    free(y);
    engine_pool_free(pool);
    return 0;
}
