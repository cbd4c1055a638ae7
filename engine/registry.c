/* The kernel registry: a table of tables. Each kernel file exports one
 * variant table ending with an entry whose info.name is NULL; adding a
 * file's variants is one line in KERNEL_TABLES below. */
#include <pthread.h>
#include <string.h>

#include "kernels.h"

#define KERNEL_TABLES(X) \
    X(kernel_variants_scalar) \
    X(kernel_variants_kquant) \
    X(kernel_variants_kquant_avx512) \
    X(kernel_variants_avx512) \
    X(kernel_variants_avx2) \
    X(kernel_variants_opencl)

#define DECLARE_TABLE(t) extern const kernel_variant t[];
KERNEL_TABLES(DECLARE_TABLE)
#define LIST_TABLE(t) t,
static const kernel_variant *const tables[] = {KERNEL_TABLES(LIST_TABLE) NULL};

#define MAX_VARIANTS 256

/* Flattened once, with info.available filled in for this machine. */
static const kernel_variant *variants[MAX_VARIANTS];
static engine_kernel_info infos[MAX_VARIANTS];
static size_t n_variants;
static pthread_once_t registry_once = PTHREAD_ONCE_INIT;

static void registry_init(void)
{
    for (size_t t = 0; tables[t]; t++)
        for (const kernel_variant *v = tables[t]; v->info.name && n_variants < MAX_VARIANTS; v++) {
            variants[n_variants] = v;
            infos[n_variants] = v->info;
            infos[n_variants].available = v->supported ? v->supported() : true;
            n_variants++;
        }
}

static void registry_ready(void) { pthread_once(&registry_once, registry_init); }

static const char *const op_names[ENGINE_OP_COUNT] = {
    [ENGINE_OP_MATMUL] = "matmul",
    [ENGINE_OP_ATTENTION] = "attention",
    [ENGINE_OP_RMSNORM] = "rmsnorm",
    [ENGINE_OP_ROPE] = "rope",
    [ENGINE_OP_SWIGLU] = "swiglu",
};

const char *engine_op_name(engine_op op)
{
    return (unsigned)op < ENGINE_OP_COUNT ? op_names[op] : "unknown";
}

size_t engine_kernel_count(void)
{
    registry_ready();
    return n_variants;
}

const engine_kernel_info *engine_kernel_at(size_t i)
{
    registry_ready();
    return i < n_variants ? &infos[i] : NULL;
}

const kernel_variant *kernel_find(engine_op op, const char *name)
{
    registry_ready();
    for (size_t i = 0; i < n_variants; i++)
        if (variants[i]->info.op == op && !strcmp(variants[i]->info.name, name))
            return variants[i];
    return NULL;
}

static int rank(const kernel_variant *v, bool off_gpu)
{
    return off_gpu && v->priority_off_gpu ? v->priority_off_gpu : v->priority;
}

/* Highest-priority available variant of `op` on `backend`; for matmul, one
 * that handles every type in `dtypes`. off_gpu: rank by priority_off_gpu
 * where set. */
static const kernel_variant *pick_mask(engine_op op, const char *backend, uint32_t dtypes, bool off_gpu)
{
    registry_ready();
    const kernel_variant *best = NULL;
    for (size_t i = 0; i < n_variants; i++) {
        const kernel_variant *v = variants[i];
        if (v->info.op != op || !infos[i].available || strcmp(v->info.backend, backend))
            continue;
        if (op == ENGINE_OP_MATMUL && (dtypes & ~v->dtypes))
            continue;
        if (!best || rank(v, off_gpu) > rank(best, off_gpu))
            best = v;
    }
    return best;
}

static const kernel_variant *pick(engine_op op, const char *backend, engine_dtype dtype, bool off_gpu)
{
    return pick_mask(op, backend, 1u << dtype, off_gpu);
}

const kernel_variant *kernel_pick_dtypes(engine_op op, uint32_t dtypes)
{
    return pick_mask(op, "cpu", dtypes, false);
}

const kernel_variant *kernel_pick(engine_op op, engine_dtype dtype)
{
    return pick(op, "cpu", dtype, false);
}

const char *engine_kernel_default(engine_op op, const char *backend)
{
    const kernel_variant *v = pick(op, backend ? backend : "cpu", ENGINE_DTYPE_F32, false);
    return v ? v->info.name : NULL;
}

const char *engine_kernel_default_opencl(engine_op op, const char *device_type)
{
    bool off_gpu = !device_type || strcmp(device_type, "gpu") != 0;
    const kernel_variant *v = pick(op, "opencl", ENGINE_DTYPE_F32, off_gpu);
    return v ? v->info.name : NULL;
}

void kernel_matmul_group(const kernel_variant *v, const kernel_matmul_job *jobs, int n_jobs, const float *x,
                         int n, kernel_swiglu_fn swiglu, engine_pool *pool)
{
    if (v->matmul_group && v->matmul_group(jobs, n_jobs, x, n, swiglu, pool))
        return;
    for (int j = 0; j < n_jobs; j++)
        v->fn.matmul(jobs[j].out, x, jobs[j].w, n, pool);
    if (swiglu)
        swiglu(jobs[0].out, jobs[1].out, (size_t)n * jobs[0].w->rows);
}
