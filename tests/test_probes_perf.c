/* perf_event counters on this machine: software events always work, and
 * inherit=1 counts a thread started after the probe set was opened. The
 * oracle is that thread's own CPU clock and the pages it touches. Hardware
 * events may be missing (VMs without a PMU): then the reason must say so. */
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "probes.h"
#include "tb_test.h"

#define PAGES 2000

static double worker_cpu_ns;

static void *worker(void *arg)
{
    long page = sysconf(_SC_PAGESIZE);
    char *m = mmap(NULL, PAGES * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    madvise(m, PAGES * page, MADV_NOHUGEPAGE);  /* else a few 2 MiB faults */
    for (int i = 0; i < PAGES; i++)
        m[(long)i * page] = 1;  /* one minor fault per page */
    volatile double x = 0;
    for (long i = 0; i < 20000000; i++)
        x += i * 1e-9;
    munmap(m, PAGES * page);
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    worker_cpu_ns = ts.tv_sec * 1e9 + ts.tv_nsec;
    return NULL;
}

int main(void)
{
    probe_options o;
    probe_options_default(&o);
    o.only = "perf";
    probe_set *ps;
    probe_error err;
    CHECK(probe_set_open(&o, &ps, &err) == 0);
    const probe_source_status *st = probe_set_source(ps, 0);
    if (!st->available) {
        printf("perf unavailable here: %s\n", st->reason);
        CHECK(st->reason[0] != 0);
        probe_set_close(ps);
        TB_MAIN_END();
    }
    int task = probe_set_find(ps, "perf.task_clock_ns"), faults = probe_set_find(ps, "perf.page_faults");
    CHECK(task >= 0 && faults >= 0);
    if (probe_set_find(ps, "perf.cycles") < 0)
        CHECKF(strstr(st->reason, "cycles") != NULL, "%s", st->reason);
    double *a = probe_set_read_all(ps);
    CHECK(!isnan(a[task]));
    pthread_t t;
    CHECK(pthread_create(&t, NULL, worker, NULL) == 0);
    pthread_join(t, NULL);
    double *b = probe_set_read_all(ps);
    if (task >= 0 && faults >= 0) {
        double d_task = b[task] - a[task], d_faults = b[faults] - a[faults];
        CHECKF(d_task >= 0.9 * worker_cpu_ns, "task-clock delta %.0f ns, worker used %.0f ns", d_task, worker_cpu_ns);
        CHECKF(d_faults >= PAGES, "page-fault delta %.0f, touched %d pages", d_faults, PAGES);
    }
    int ins = probe_set_find(ps, "perf.instructions");
    if (ins >= 0) {  /* 20M loop iterations, each more than one instruction */
        printf("hardware counters: instructions delta %.0f\n", b[ins] - a[ins]);
        CHECK(b[ins] - a[ins] >= 2e7);
    } else {
        printf("no hardware counters here: %s\n", st->reason);
    }
    free(a);
    free(b);
    probe_set_close(ps);
    TB_MAIN_END();
}
