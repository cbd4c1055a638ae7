/* The sampler thread and the timeline.
 *
 * The thread sleeps to absolute deadlines on CLOCK_MONOTONIC (a condition
 * variable on that clock, so a mark can wake it), reads the fast tier every
 * fast period and everything every slow period, and appends each sample to
 * a chunked timeline: chunks are allocated by the sampler thread only and
 * published with an atomic count, so readers never take a lock.
 *
 * Phase marks: libsensors is not thread-safe, so a mark does not read the
 * sources itself; it hands the request to the sampler thread and waits for
 * the snapshot (every counter and fast gauge, both tiers read). That keeps
 * every source call on one thread and makes per-phase counter deltas exact
 * even for phases shorter than a period. After the thread has stopped the
 * caller's thread reads instead (then it is the only reader). */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "probes_internal.h"

#define CHUNK 256
#define MAX_CHUNKS 16384   /* 4M samples: over 100 hours at 100 ms */

typedef struct timeline {
    probe_sample *samples[MAX_CHUNKS];
    double *values[MAX_CHUNKS];
    atomic_size_t n;
    size_t dropped;
} timeline;

typedef struct mark_chunks {
    probe_mark *marks[MAX_CHUNKS];
    double *values[MAX_CHUNKS];
    atomic_size_t n;
} mark_chunks;

struct probe_sampler {
    probe_set *ps;
    size_t n_ch;
    int64_t fast_ns, slow_ns, t0_ns;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t wake;        /* CLOCK_MONOTONIC */
    pthread_cond_t done;
    pthread_mutex_t mark_mu;    /* one mark request at a time */
    bool running, stop;
    /* the pending mark request */
    bool req_pending, req_done;
    const char *req_phase;
    bool req_begin;
    int req_run, req_result;
    timeline tl;
    mark_chunks mk;
    atomic_llong cpu_ns;        /* the sampler thread's own CPU time */
    double *scratch;
};

static void fill_nan(double *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        v[i] = NAN;
}

/* Reserves the next slot of a chunked array; NULL when full or out of memory. */
static void *slot(void **chunks, double **vals, size_t i, size_t elem, size_t n_ch, double **vout)
{
    size_t c = i / CHUNK;
    if (c >= MAX_CHUNKS)
        return NULL;
    if (!chunks[c]) {
        chunks[c] = calloc(CHUNK, elem);
        vals[c] = malloc(CHUNK * (n_ch ? n_ch : 1) * sizeof(double));
        if (!chunks[c] || !vals[c]) {
            free(chunks[c]);
            free(vals[c]);
            chunks[c] = NULL;
            vals[c] = NULL;
            return NULL;
        }
    }
    *vout = vals[c] + (i % CHUNK) * n_ch;
    return (char *)chunks[c] + (i % CHUNK) * elem;
}

static void take_sample(probe_sampler *s, probe_tier tier)
{
    size_t i = atomic_load_explicit(&s->tl.n, memory_order_relaxed);
    double *v;
    probe_sample *p = slot((void **)s->tl.samples, s->tl.values, i, sizeof *p, s->n_ch, &v);
    if (!p) {
        s->tl.dropped++;
        return;
    }
    fill_nan(v, s->n_ch);
    int64_t t = probe_now_ns();
    probe_set_read(s->ps, PROBE_TIER_FAST, v);
    if (tier == PROBE_TIER_SLOW)
        probe_set_read(s->ps, PROBE_TIER_SLOW, v);
    p->t_ns = t;
    p->read_latency_ns = probe_now_ns() - t;
    p->tier = tier;
    p->values = v;
    atomic_store_explicit(&s->tl.n, i + 1, memory_order_release);
}

static int take_mark(probe_sampler *s, const char *phase, bool begin, int run_index)
{
    size_t i = atomic_load_explicit(&s->mk.n, memory_order_relaxed);
    double *v;
    probe_mark *m = slot((void **)s->mk.marks, s->mk.values, i, sizeof *m, s->n_ch, &v);
    if (!m)
        return -1;
    fill_nan(v, s->n_ch);
    int64_t t = probe_now_ns();
    probe_set_read(s->ps, PROBE_TIER_FAST, v);
    probe_set_read(s->ps, PROBE_TIER_SLOW, v);
    m->t_ns = t;
    m->read_latency_ns = probe_now_ns() - t;
    snprintf(m->phase, sizeof m->phase, "%s", phase ? phase : "");
    m->begin = begin;
    m->run_index = run_index;
    m->snapshot = v;
    atomic_store_explicit(&s->mk.n, i + 1, memory_order_release);
    return (int)i;
}

static struct timespec to_ts(int64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)};
    return ts;
}

static void *sampler_main(void *arg)
{
    probe_sampler *s = arg;
    int64_t next_fast = probe_now_ns(), next_slow = next_fast;
    pthread_mutex_lock(&s->mu);
    while (!s->stop) {
        if (s->req_pending) {
            pthread_mutex_unlock(&s->mu);
            int r = take_mark(s, s->req_phase, s->req_begin, s->req_run);
            pthread_mutex_lock(&s->mu);
            s->req_result = r;
            s->req_pending = false;
            s->req_done = true;
            pthread_cond_broadcast(&s->done);
            continue;
        }
        int64_t now = probe_now_ns();
        int64_t due = next_fast < next_slow ? next_fast : next_slow;
        if (now < due) {
            struct timespec ts = to_ts(due);
            pthread_cond_timedwait(&s->wake, &s->mu, &ts);
            continue;
        }
        pthread_mutex_unlock(&s->mu);
        bool slow = now >= next_slow;
        take_sample(s, slow ? PROBE_TIER_SLOW : PROBE_TIER_FAST);
        struct timespec cpu;
        if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu) == 0)
            atomic_store(&s->cpu_ns, (long long)cpu.tv_sec * 1000000000 + cpu.tv_nsec);
        /* absolute deadlines; a late sample skips missed ticks, never bursts */
        now = probe_now_ns();
        while (next_fast <= now)
            next_fast += s->fast_ns;
        while (slow && next_slow <= now)
            next_slow += s->slow_ns;
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

int probe_sampler_start(probe_set *ps, int fast_period_ms, int slow_period_ms,
                        probe_sampler **out, probe_error *err)
{
    if (fast_period_ms < 1 || slow_period_ms < fast_period_ms) {
        snprintf(err->msg, sizeof err->msg, "sampler periods: fast %d ms, slow %d ms "
                 "(expected fast >= 1 and slow >= fast)", fast_period_ms, slow_period_ms);
        return -1;
    }
    probe_sampler *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err->msg, sizeof err->msg, "out of memory");
        return -1;
    }
    s->ps = ps;
    s->n_ch = probe_set_channel_count(ps);
    s->fast_ns = (int64_t)fast_period_ms * 1000000;
    s->slow_ns = (int64_t)slow_period_ms * 1000000;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->wake, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&s->done, NULL);
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->mark_mu, NULL);
    s->t0_ns = probe_now_ns();
    int rc = pthread_create(&s->thread, NULL, sampler_main, s);
    if (rc) {
        snprintf(err->msg, sizeof err->msg, "pthread_create: %s", strerror(rc));
        probe_sampler_free(s);
        return -1;
    }
    s->running = true;
    *out = s;
    return 0;
}

int probe_sampler_mark(probe_sampler *s, const char *phase, bool begin, int run_index)
{
    pthread_mutex_lock(&s->mark_mu);
    pthread_mutex_lock(&s->mu);
    int r;
    if (s->running && !s->stop) {
        s->req_phase = phase;
        s->req_begin = begin;
        s->req_run = run_index;
        s->req_done = false;
        s->req_pending = true;
        pthread_cond_signal(&s->wake);
        while (!s->req_done)
            pthread_cond_wait(&s->done, &s->mu);
        r = s->req_result;
        pthread_mutex_unlock(&s->mu);
    } else {
        pthread_mutex_unlock(&s->mu);
        r = take_mark(s, phase, begin, run_index);  /* no sampler thread: we are the reader */
    }
    pthread_mutex_unlock(&s->mark_mu);
    return r;
}

void probe_sampler_stop(probe_sampler *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mark_mu);  /* let a pending mark finish first */
    pthread_mutex_lock(&s->mu);
    bool was_running = s->running;
    s->stop = true;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->mu);
    if (was_running)
        pthread_join(s->thread, NULL);
    pthread_mutex_lock(&s->mu);
    s->running = false;
    pthread_mutex_unlock(&s->mu);
    pthread_mutex_unlock(&s->mark_mu);
}

void probe_sampler_free(probe_sampler *s)
{
    if (!s)
        return;
    probe_sampler_stop(s);
    for (size_t c = 0; c < MAX_CHUNKS; c++) {
        free(s->tl.samples[c]);
        free(s->tl.values[c]);
        free(s->mk.marks[c]);
        free(s->mk.values[c]);
    }
    pthread_cond_destroy(&s->wake);
    pthread_cond_destroy(&s->done);
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->mark_mu);
    free(s);
}

size_t probe_sampler_sample_count(const probe_sampler *s)
{
    return atomic_load_explicit(&((probe_sampler *)s)->tl.n, memory_order_acquire);
}

const probe_sample *probe_sampler_sample(const probe_sampler *s, size_t i)
{
    if (i >= probe_sampler_sample_count(s))
        return NULL;
    return &s->tl.samples[i / CHUNK][i % CHUNK];
}

size_t probe_sampler_mark_count(const probe_sampler *s)
{
    return atomic_load_explicit(&((probe_sampler *)s)->mk.n, memory_order_acquire);
}

const probe_mark *probe_sampler_mark_at(const probe_sampler *s, size_t i)
{
    if (i >= probe_sampler_mark_count(s))
        return NULL;
    return &s->mk.marks[i / CHUNK][i % CHUNK];
}

int probe_sampler_find_mark(const probe_sampler *s, const char *phase, bool begin, int run_index)
{
    for (size_t i = probe_sampler_mark_count(s); i-- > 0;) {
        const probe_mark *m = probe_sampler_mark_at(s, i);
        if (m->begin == begin && !strcmp(m->phase, phase) && (run_index < 0 || m->run_index == run_index))
            return (int)i;
    }
    return -1;
}

double probe_sampler_latest(const probe_sampler *s, int channel)
{
    if (channel < 0 || (size_t)channel >= s->n_ch)
        return NAN;
    for (size_t i = probe_sampler_sample_count(s); i-- > 0;) {
        double v = probe_sampler_sample(s, i)->values[channel];
        if (!isnan(v))
            return v;
    }
    return NAN;
}

int64_t probe_sampler_cpu_ns(const probe_sampler *s)
{
    return atomic_load(&((probe_sampler *)s)->cpu_ns);
}

/* For the summaries and the CSV writer. */
int64_t probe_sampler_t0_ns(const probe_sampler *s) { return s->t0_ns; }
const probe_set *probe_sampler_set(const probe_sampler *s) { return s->ps; }
size_t probe_sampler_dropped(const probe_sampler *s) { return s->tl.dropped; }
