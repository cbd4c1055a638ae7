/* Placeholder pool: runs every task inline on the caller. The CPU-speed issue
 * replaces it with persistent workers; the interface stays (kernels.h). */
#include <stdlib.h>

#include "kernels.h"

struct engine_pool {
    int threads;
};

engine_pool *engine_pool_create(int threads)
{
    engine_pool *p = calloc(1, sizeof *p);
    if (p)
        p->threads = 1;
    (void)threads;
    return p;
}

void engine_pool_free(engine_pool *p) { free(p); }

int engine_pool_threads(const engine_pool *p) { return p ? p->threads : 1; }

void engine_pool_run(engine_pool *p, engine_task_fn fn, void *ctx, int n_tasks)
{
    (void)p;
    for (int t = 0; t < n_tasks; t++)
        fn(ctx, t, n_tasks);
}
