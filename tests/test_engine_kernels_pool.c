/* The persistent thread pool: every task of every run executes exactly
 * once, runs follow each other without loss, and pools of any size
 * (including a NULL pool) are created and freed cleanly. */
#include <stdatomic.h>
#include <stdlib.h>

#include "kernels.h"
#include "tb_test.h"

typedef struct {
    _Atomic int *hits;
    int n;
} run_ctx;

static void count_task(void *arg, int task, int n_tasks)
{
    run_ctx *c = arg;
    if (task >= 0 && task < c->n && n_tasks == c->n)
        atomic_fetch_add(&c->hits[task], 1);
}

static void sum_task(void *arg, int task, int n_tasks)
{
    long *parts = arg; /* each task writes only its slot */
    parts[task] = (long)task * task;
}

int main(void)
{
    static const int sizes[] = {1, 2, 3, 5};
    _Atomic int *hits = calloc(1000, sizeof *hits);
    for (int s = 0; s < 4; s++) {
        engine_pool *p = engine_pool_create(sizes[s]);
        CHECK(p != NULL);
        CHECK(engine_pool_threads(p) == sizes[s]);
        int bad = 0;
        for (int run = 0; run < 3000; run++) {
            int n = 1 + (run * 7919) % 257;
            for (int i = 0; i < n; i++)
                atomic_store(&hits[i], 0);
            run_ctx c = {hits, n};
            engine_pool_run(p, count_task, &c, n);
            for (int i = 0; i < n; i++)
                bad += atomic_load(&hits[i]) != 1;
        }
        CHECKF(bad == 0, "threads=%d: %d tasks not run exactly once", sizes[s], bad);
        long parts[100];
        engine_pool_run(p, sum_task, parts, 100);
        long total = 0;
        for (int i = 0; i < 100; i++)
            total += parts[i];
        CHECK(total == 328350); /* sum of i^2 for i < 100 */
        engine_pool_run(p, count_task, NULL, 0); /* no tasks: returns at once */
        engine_pool_free(p);
    }
    /* Freed before its workers ever ran (they may start after the stop):
     * must not hang. Also one run straight after creation. */
    for (int i = 0; i < 200; i++) {
        engine_pool *p = engine_pool_create(1 + i % 4);
        CHECK(p != NULL);
        if (i & 1) {
            long parts[8];
            engine_pool_run(p, sum_task, parts, 8);
            CHECK(parts[7] == 49);
        }
        engine_pool_free(p);
    }
    CHECK(engine_pool_threads(NULL) == 1);
    run_ctx c = {hits, 4};
    for (int i = 0; i < 4; i++)
        atomic_store(&hits[i], 0);
    engine_pool_run(NULL, count_task, &c, 4);
    CHECK(hits[0] == 1 && hits[3] == 1);
    engine_pool_free(NULL);
    free(hits);
    TB_MAIN_END();
}
