/* Shared helpers of the SIMD kernel files: per-thread scratch, work split,
 * buffers for quantized activations, the THERMABENCH_CPU_DISABLE switch. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "kernels_cpu.h"

#define SCRATCH_SLOTS 4

/* Per thread: sessions on different threads never share a buffer. A key
 * destructor frees a thread's buffers when it exits (pool workers). */
typedef struct scratch_slot {
    void *p;
    size_t cap;
} scratch_slot;
static _Thread_local scratch_slot scratch[SCRATCH_SLOTS];
static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void scratch_free(void *arg)
{
    scratch_slot *s = arg;
    for (int i = 0; i < SCRATCH_SLOTS; i++) {
        free(s[i].p);
        s[i].p = NULL;
        s[i].cap = 0;
    }
}

static void scratch_key_init(void) { pthread_key_create(&scratch_key, scratch_free); }

void *kcpu_scratch(int slot, size_t bytes)
{
    if (slot < 0 || slot >= SCRATCH_SLOTS)
        return NULL;
    pthread_once(&scratch_once, scratch_key_init);
    if (!pthread_getspecific(scratch_key))
        pthread_setspecific(scratch_key, scratch);
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

bool kcpu_isa_disabled(const char *isa)
{
    const char *list = getenv("THERMABENCH_CPU_DISABLE");
    if (!list)
        return false;
    size_t n = strlen(isa);
    for (const char *p = list; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && !strncmp(p, isa, n))
            return true;
        p += len + (end != NULL);
    }
    return false;
}

int64_t kcpu_rows_per_task(int64_t rows, int threads, int64_t align)
{
    int64_t per = rows / ((int64_t)threads * 8);
    if (per < 16)
        per = 16;
    per = (per + align - 1) / align * align;
    return per;
}

int64_t kcpu_matvec_rows_per_task(int64_t rows, int64_t row_bytes, int threads, int64_t align)
{
    const int64_t chunks = threads > 1 ? (int64_t)threads * KCPU_MATVEC_TASKS_PER_THREAD : 1;
    int64_t per = (rows + chunks - 1) / chunks;
    per = (per + align - 1) / align * align;
    int64_t need = (KCPU_MATVEC_MIN_TASK_BYTES + row_bytes - 1) / (row_bytes > 0 ? row_bytes : 1);
    need = (need + align - 1) / align * align;
    return need > per ? need : per;
}

int kcpu_xq_alloc(kcpu_xq *xq, int n, int64_t cols, int group)
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
    return 0;
}
