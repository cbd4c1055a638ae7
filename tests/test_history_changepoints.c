/* Change-point detection on seeded synthetic series: no false change
 * points beyond 1 per 1,000 points on noise alone, steps found where they
 * are with their size inside the reported interval, segment means equal to
 * the means computed here, degenerate input, and the time for 2,000 points
 * (with a margin wide enough for a loaded machine under ASan). */
#include <time.h>

#include "history.h"
#include "tb_test.h"

static void series(double *x, size_t n, size_t at, double step, double cv, uint64_t *s)
{
    for (size_t i = 0; i < n; i++)
        x[i] = 100 * (1 - (i >= at ? step : 0)) * (1 + cv * report_rng_normal(s));
}

static void test_null_rate(void)
{
    history_cp_options o;
    history_cp_defaults(&o);
    uint64_t s = 7;
    double x[200];
    history_change cp[32];
    long false_cps = 0, points = 0;
    for (int r = 0; r < 100; r++) {
        series(x, 200, 0, 0, 0.02, &s);
        int k = history_changepoints(x, 200, &o, cp, 32);
        CHECK(k >= 0);
        false_cps += k;
        points += 200;
    }
    CHECKF(false_cps * 1000 <= points, "%ld false change points in %ld points", false_cps, points);
}

static void test_steps(void)
{
    history_cp_options o;
    history_cp_defaults(&o);
    uint64_t s = 11;
    double x[100];
    history_change cp[32];
    int found = 0, covered = 0, extra = 0;
    for (int r = 0; r < 50; r++) {
        size_t at = 30 + (size_t)(r % 40);
        series(x, 100, at, 0.10, 0.01, &s);
        int k = history_changepoints(x, 100, &o, cp, 32);
        for (int j = 0; j < k; j++) {
            if (labs((long)cp[j].index - (long)at) <= 2) {
                found++;
                covered += cp[j].lo <= 0.9 && 0.9 <= cp[j].hi;
                /* The segment means are the plain means of the segments. */
                double a = 0, b = 0;
                for (size_t i = cp[j].seg_start; i < cp[j].index; i++)
                    a += x[i];
                for (size_t i = cp[j].index; i < cp[j].seg_end; i++)
                    b += x[i];
                CHECK_NEAR(cp[j].mean_before, a / (double)(cp[j].index - cp[j].seg_start), 1e-9);
                CHECK_NEAR(cp[j].mean_after, b / (double)(cp[j].seg_end - cp[j].index), 1e-9);
                CHECK(cp[j].p <= o.alpha);
            } else {
                extra++;
            }
        }
    }
    CHECKF(found == 50, "found %d of 50 steps", found);
    CHECKF(covered >= 45, "the 95 %% interval held the true ratio %d times of %d", covered, found);
    CHECK(extra <= 1);
}

static void test_three_steps_timed(void)
{
    history_cp_options o;
    history_cp_defaults(&o);
    uint64_t s = 3;
    static double x[2000];
    for (size_t i = 0; i < 2000; i++)
        x[i] = 100 * (1 - 0.05 * (i >= 500) + 0.08 * (i >= 1200) - 0.03 * (i >= 1700)) *
               (1 + 0.02 * report_rng_normal(&s));
    history_change cp[32];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int k = history_changepoints(x, 2000, &o, cp, 32);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    CHECKF(k == 3, "%d change points", k);
    const size_t at[3] = {500, 1200, 1700};
    for (int j = 0; j < k && j < 3; j++)
        CHECKF(labs((long)cp[j].index - (long)at[j]) <= 5, "change %d at %zu", j, cp[j].index);
    if (k >= 1)
        CHECK(cp[0].ratio < 1 && cp[0].hi < 1);
    CHECKF(secs < 5, "%.2f s for 2,000 points", secs);
}

static void test_degenerate(void)
{
    history_cp_options o;
    history_cp_defaults(&o);
    history_change cp[4];
    double flat[50];
    for (int i = 0; i < 50; i++)
        flat[i] = 42;
    CHECK(history_changepoints(flat, 50, &o, cp, 4) == 0);
    double few[6] = {1, 1, 1, 9, 9, 9};
    CHECK(history_changepoints(few, 6, &o, cp, 4) == 0);       /* under two minimum segments */
    flat[10] = NAN;
    CHECK(history_changepoints(flat, 50, &o, cp, 4) == -1);
}

int main(void)
{
    test_null_rate();
    test_steps();
    test_three_steps_timed();
    test_degenerate();
    TB_MAIN_END();
}
