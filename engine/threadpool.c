/* A persistent thread pool. Workers are created once per session; between
 * runs they spin briefly (ops follow each other within microseconds during a
 * forward pass) and then sleep on a futex, so an idle session costs nothing.
 * The caller, once no task is left to claim, waits for the others the same
 * way: it spins for SPIN_NS, then sleeps until the last task finishes, so
 * that on a shared machine a preempted worker gets the core back instead of
 * competing with a spinning caller.
 *
 * A run's tasks are dealt out as one contiguous range per thread (kernels
 * number their tasks along the rows, so each thread streams its own part of
 * a matrix front to back). A thread claims its own range's tasks from the
 * front; once it is empty, it takes the other ranges' tasks from the back,
 * so a preempted or slower thread's remaining work is finished by the others
 * without crossing the owner's stream. Each range is one 64-bit word on its
 * own cache line (generation | front | back): claiming is a CAS on it, so a
 * thread that wakes late can never claim a task of a newer run with the
 * state of an older one, and owners do not share lines. */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "kernels.h"

#define TASK_BITS 24
#define TASK_MASK ((1ull << TASK_BITS) - 1)
#define GEN_SHIFT (2 * TASK_BITS)
#define SPIN_NS 200000   /* spin this long before sleeping */

/* One thread's range of the current run: gen << 48 | front << 24 | back
 * (tasks [front, back) left). */
typedef struct pool_range {
    _Alignas(64) _Atomic uint64_t word;
} pool_range;

typedef struct pool_worker {
    struct engine_pool *pool;
    int index;                   /* its range */
} pool_worker;

struct engine_pool {
    int threads;
    pthread_t *workers;          /* threads - 1 of them; the caller is the last */
    pool_worker *worker_args;
    pool_range *ranges;          /* one per thread; the caller's is the last */
    _Atomic uint64_t word;       /* gen << 48 | n_tasks << 24 */
    _Atomic uint32_t wake_seq;   /* futex word: bumped on every run and on stop */
    _Atomic int sleepers;
    _Atomic int done;            /* tasks finished in the current run; futex word of the caller */
    _Atomic int caller_waiting;  /* the caller sleeps on `done` */
    _Atomic int stop;
    engine_task_fn fn;
    void *ctx;
};

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void futex_wait(_Atomic uint32_t *addr, uint32_t val)
{
    syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake_all(_Atomic uint32_t *addr)
{
    syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

/* done is a 32-bit int: the same futex word as a uint32_t. */
static void futex_wait_int(_Atomic int *addr, int val)
{
    syscall(SYS_futex, (int *)addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake_int(_Atomic int *addr)
{
    syscall(SYS_futex, (int *)addr, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* Claims and runs tasks of the run published as generation `gen`: range
 * `self` from the front, then every other range from the back. */
static void pool_work(engine_pool *p, uint64_t gen, int self)
{
    const uint64_t n = (atomic_load_explicit(&p->word, memory_order_acquire) >> TASK_BITS) & TASK_MASK;
    for (int k = 0; k < p->threads; k++) {
        const bool own = k == 0;
        _Atomic uint64_t *rw = &p->ranges[(self + k) % p->threads].word;
        uint64_t w = atomic_load_explicit(rw, memory_order_acquire);
        for (;;) {
            uint64_t front = (w >> TASK_BITS) & TASK_MASK, back = w & TASK_MASK;
            if ((w >> GEN_SHIFT) != gen)
                return;   /* a newer run: this thread's run is over */
            if (front >= back)
                break;
            uint64_t task = own ? front : back - 1;
            if (!atomic_compare_exchange_weak_explicit(rw, &w, own ? w + (1ull << TASK_BITS) : w - 1,
                                                       memory_order_acq_rel, memory_order_acquire))
                continue;
            p->fn(p->ctx, (int)task, (int)n);
            /* seq_cst: either the caller sees this count before it sleeps, or
             * this thread sees caller_waiting and wakes it */
            if (atomic_fetch_add(&p->done, 1) + 1 == (int)n && atomic_load(&p->caller_waiting))
                futex_wake_int(&p->done);
            w = atomic_load_explicit(rw, memory_order_acquire);
        }
    }
}

static void *worker_main(void *arg)
{
    const pool_worker *me = arg;
    engine_pool *p = me->pool;
    /* wake_seq is 0 at creation: reading it here instead would miss a stop
     * (or run) published before this thread got to run, and hang the join. */
    uint32_t seen = 0;
    for (;;) {
        uint64_t t0 = 0;
        unsigned spins = 0;
        uint32_t seq;
        while ((seq = atomic_load_explicit(&p->wake_seq, memory_order_acquire)) == seen) {
            cpu_relax();
            if ((++spins & 1023) == 0) {
                uint64_t t = now_ns();
                if (!t0)
                    t0 = t;
                else if (t - t0 > SPIN_NS) {
                    atomic_fetch_add(&p->sleepers, 1);
                    futex_wait(&p->wake_seq, seen);
                    atomic_fetch_sub(&p->sleepers, 1);
                    t0 = 0;
                }
            }
        }
        seen = seq;
        if (atomic_load(&p->stop))
            return NULL;
        uint64_t w = atomic_load_explicit(&p->word, memory_order_acquire);
        pool_work(p, w >> GEN_SHIFT, me->index);
    }
}

engine_pool *engine_pool_create(int threads)
{
    engine_pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    if (threads < 1)
        threads = 1;
    p->threads = 1;
    p->ranges = aligned_alloc(64, sizeof *p->ranges * (size_t)threads);
    if (!p->ranges) {
        free(p);
        return NULL;
    }
    for (int i = 0; i < threads; i++)
        atomic_init(&p->ranges[i].word, 0);
    if (threads > 1) {
        p->workers = calloc((size_t)threads - 1, sizeof *p->workers);
        p->worker_args = calloc((size_t)threads - 1, sizeof *p->worker_args);
        if (!p->workers || !p->worker_args) {
            free(p->workers);
            free(p->worker_args);
            free(p->ranges);
            free(p);
            return NULL;
        }
        for (int i = 0; i < threads - 1; i++) {
            p->worker_args[i] = (pool_worker){p, i};
            if (pthread_create(&p->workers[i], NULL, worker_main, &p->worker_args[i]) != 0) {
                engine_pool_free(p);
                return NULL;
            }
            p->threads++;
        }
    }
    return p;
}

void engine_pool_free(engine_pool *p)
{
    if (!p)
        return;
    atomic_store(&p->stop, 1);
    atomic_fetch_add(&p->wake_seq, 1);
    futex_wake_all(&p->wake_seq);
    for (int i = 0; i < p->threads - 1; i++)
        pthread_join(p->workers[i], NULL);
    free(p->workers);
    free(p->worker_args);
    free(p->ranges);
    free(p);
}

int engine_pool_threads(const engine_pool *p) { return p ? p->threads : 1; }

void engine_pool_run(engine_pool *p, engine_task_fn fn, void *ctx, int n_tasks)
{
    if (n_tasks <= 0)
        return;
    if (!p || p->threads == 1 || n_tasks == 1 || (uint64_t)n_tasks > TASK_MASK) {
        for (int t = 0; t < n_tasks; t++)
            fn(ctx, t, n_tasks);
        return;
    }
    uint64_t gen = (atomic_load_explicit(&p->word, memory_order_relaxed) >> GEN_SHIFT) + 1;
    gen &= (1ull << (64 - GEN_SHIFT)) - 1;
    p->fn = fn;
    p->ctx = ctx;
    atomic_store_explicit(&p->done, 0, memory_order_relaxed);
    const int T = p->threads;
    for (int i = 0; i < T; i++) {
        uint64_t lo = (uint64_t)n_tasks * (uint64_t)i / (uint64_t)T,
                 hi = (uint64_t)n_tasks * (uint64_t)(i + 1) / (uint64_t)T;
        atomic_store_explicit(&p->ranges[i].word, gen << GEN_SHIFT | lo << TASK_BITS | hi, memory_order_release);
    }
    atomic_store_explicit(&p->word, gen << GEN_SHIFT | (uint64_t)n_tasks << TASK_BITS,
                          memory_order_release);
    atomic_fetch_add_explicit(&p->wake_seq, 1, memory_order_release);
    if (atomic_load(&p->sleepers) > 0)
        futex_wake_all(&p->wake_seq);
    pool_work(p, gen, T - 1);
    /* Wait for tasks other threads claimed: spin a while, then sleep. */
    uint64_t t0 = 0;
    unsigned spins = 0;
    int d;
    while ((d = atomic_load_explicit(&p->done, memory_order_acquire)) < n_tasks) {
        cpu_relax();
        if ((++spins & 1023) != 0)
            continue;
        uint64_t t = now_ns();
        if (!t0) {
            t0 = t;
        } else if (t - t0 > SPIN_NS) {
            atomic_store(&p->caller_waiting, 1);
            if ((d = atomic_load(&p->done)) < n_tasks)
                futex_wait_int(&p->done, d);
            atomic_store(&p->caller_waiting, 0);
        }
    }
}
