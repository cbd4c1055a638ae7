/* Internal to engine/: the kernel registry's function types, the thread
 * pool, and the variant tables each kernel file exports.
 *
 * Every op with variants is called through a kernel_variant. Files add
 * variants by exporting a table (kernels_scalar.c: kernel_variants_scalar,
 * kernels_avx512.c: kernel_variants_avx512, ...) that registry.c lists. */
#ifndef THERMABENCH_ENGINE_KERNELS_H
#define THERMABENCH_ENGINE_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"

/* ---- thread pool ---------------------------------------------------- */

/* A persistent pool: workers are created once per session and wait on a
 * cheap barrier; engine_pool_run calls fn(ctx, task, n_tasks) for every task
 * in [0, n_tasks) across the workers and the caller, and returns when all
 * are done. A NULL pool runs every task inline on the caller. */
typedef struct engine_pool engine_pool;
typedef void (*engine_task_fn)(void *ctx, int task, int n_tasks);

engine_pool *engine_pool_create(int threads);   /* NULL on failure */
void engine_pool_free(engine_pool *p);
int engine_pool_threads(const engine_pool *p);  /* 1 for NULL */
void engine_pool_run(engine_pool *p, engine_task_fn fn, void *ctx, int n_tasks);

/* ---- op signatures -------------------------------------------------- */

/* out[t][r] = sum_c W[r][c] * x[t][c] for t < n tokens, r < w->rows.
 * x is n x w->cols floats, out is n x w->rows floats (row stride = rows). */
typedef void (*kernel_matmul_fn)(float *out, const float *x, const engine_tensor *w,
                                 int n, engine_pool *pool);

/* Causal attention for n query tokens of one sequence. q: n x (n_heads*head_dim);
 * out: n x (n_heads*head_dim). Keys and values of positions 0..pos[t] are in
 * k_cache/v_cache, position p at offset p * kv_stride (kv_dim = n_kv_heads *
 * head_dim floats used). Query head h reads kv head h / (n_heads / n_kv_heads).
 * scratch holds at least n * n_heads * seq_len floats. */
typedef struct kernel_attention_args {
    int n;
    const float *q;
    float *out;
    const float *k_cache, *v_cache;
    const int *pos;
    int n_heads, n_kv_heads, head_dim;
    int kv_stride;
    int seq_len;
    float *scratch;
} kernel_attention_args;
typedef void (*kernel_attention_fn)(const kernel_attention_args *a, engine_pool *pool);

/* out[t] = x[t] / rms(x[t]) * weight, for n rows of dim. out may equal x. */
typedef void (*kernel_rmsnorm_fn)(float *out, const float *x, const float *weight,
                                  int n, int dim, float eps);

/* RoPE settings of a model. Pair j of a head (j < head_dim / 2) turns by
 * pos * theta^(-2j/head_dim) / freq_factors[j] (no divisor when NULL).
 * The pair is (2j, 2j+1) (llama2.c, GGUF llama) or, with neox, (j, j +
 * head_dim/2) (qwen2, qwen3). */
typedef struct kernel_rope_params {
    int head_dim;
    float theta;
    const float *freq_factors;
    bool neox;
} kernel_rope_params;

/* Rotates every head of q (n x q_dim) and k (n x k_dim) at positions pos. */
typedef void (*kernel_rope_fn)(float *q, float *k, int n, const int *pos,
                               int q_dim, int k_dim, const kernel_rope_params *p);

/* gate[i] = silu(gate[i]) * up[i] for i < len, each element on its own
 * (any split of the range gives the same bits; the group matmul applies it
 * per task). */
typedef void (*kernel_swiglu_fn)(float *gate, const float *up, size_t len);

/* Several matrices applied to the same x (n x cols floats) in one go:
 * jobs[j].out = x W_j^T, as kernel_matmul_fn, for matrices of equal cols.
 * With `swiglu` (then n_jobs == 2 and both have equal rows), afterwards
 * jobs[0].out = swiglu(jobs[0].out, jobs[1].out) (jobs[1].out is scratch).
 * A variant's group entry is optional and may decline a group it has no
 * faster path for (returns false, having done nothing; kernel_matmul_group
 * then runs one matmul per job); where it takes one, it must give bit for
 * bit what those calls give: only the split into pool runs changes
 * (avx512, q8_0/q4_0 decode: one run for q, k, v, one for w1, w3 and
 * SwiGLU, instead of three each). */
typedef struct kernel_matmul_job {
    float *out;
    const engine_tensor *w;
} kernel_matmul_job;
typedef bool (*kernel_matmul_group_fn)(const kernel_matmul_job *jobs, int n_jobs, const float *x, int n,
                                       kernel_swiglu_fn swiglu, engine_pool *pool);

/* ---- variants ------------------------------------------------------- */

typedef struct kernel_variant {
    engine_kernel_info info;          /* info.available is filled by registry.c */
    bool (*supported)(void);          /* NULL: always (cpuid check otherwise) */
    uint32_t dtypes;                  /* matmul: mask of 1u << engine_dtype handled */
    int priority;                     /* default pick: highest supported priority */
    int priority_off_gpu;             /* OpenCL on non-GPU devices, where the ranking
                                         differs (0: same as priority) */
    union {
        kernel_matmul_fn matmul;
        kernel_attention_fn attention;
        kernel_rmsnorm_fn rmsnorm;
        kernel_rope_fn rope;
        kernel_swiglu_fn swiglu;
    } fn;
    kernel_matmul_group_fn matmul_group;  /* matmul only, optional */
} kernel_variant;

/* Looks up a variant of `op` by name; NULL if none. */
const kernel_variant *kernel_find(engine_op op, const char *name);
/* The best supported CPU variant of `op` (for matmul: one that handles dtype). */
const kernel_variant *kernel_pick(engine_op op, engine_dtype dtype);
/* The best supported CPU matmul that handles every type in the mask
 * (1u << engine_dtype each): models mixing types (Q4_K_M) need one. */
const kernel_variant *kernel_pick_dtypes(engine_op op, uint32_t dtypes);

/* Runs a group through v's group entry, or one v->fn.matmul per job then
 * swiglu where v has none or it declines the group. */
void kernel_matmul_group(const kernel_variant *v, const kernel_matmul_job *jobs, int n_jobs, const float *x,
                         int n, kernel_swiglu_fn swiglu, engine_pool *pool);

/* CPU features (cpuid), probed once. */
typedef struct cpu_features {
    bool avx2, fma, f16c, avx512f, avx512bw, avx512vl, avx512vnni, avx512bf16;
} cpu_features;
const cpu_features *cpu_features_get(void);

#endif
