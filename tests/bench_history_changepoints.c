/* Change-point detection on synthetic series with known steps (not a test):
 * for each step size, noise CV and length, how often the step is found
 * (a change point within 5 points of it) and how many other change points
 * appear per 1,000 points; with no step, the false rate alone. Prints a
 * Markdown table (docs/HISTORY.md) and the time for one 2,000-point series.
 *   bench_history_changepoints [reps] [penalty] [alpha] [null]   (default 200 3 0.002; null: no-step rows only) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "history.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Noise: normal, or normal with 1 % of points shifted by +-6 CV (outliers). */
static double noise(uint64_t *s, double cv, int outliers)
{
    double e = cv * report_rng_normal(s);
    if (outliers && report_rng_uniform(s) < 0.01)
        e += (report_rng_uniform(s) < 0.5 ? -6 : 6) * cv;
    return e;
}

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 200;
    history_cp_options o;
    history_cp_defaults(&o);
    if (argc > 2)
        o.penalty = atof(argv[2]);
    if (argc > 3)
        o.alpha = atof(argv[3]);
    static const double steps[] = {0, 0.02, 0.05, 0.10, 0.20};
    static const double cvs[] = {0.01, 0.02, 0.05};
    static const size_t lens[] = {50, 200, 1000, 2000};
    printf("penalty %g, alpha %g, min segment %zu, %d permutations, %d series per cell\n\n", o.penalty, o.alpha,
           o.min_segment, o.permutations, reps);
    printf("| noise | step | CV | length | detected | false per 1,000 points |\n|---|---|---|---|---|---|\n");
    uint64_t seed = 12345;
    double *x = malloc(2000 * sizeof *x);
    history_change cp[256];
    for (int outl = 0; outl < 2; outl++)
        for (size_t si = 0; si < (argc > 4 ? 1 : sizeof steps / sizeof steps[0]); si++)
            for (size_t ci = 0; ci < sizeof cvs / sizeof cvs[0]; ci++)
                for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
                    size_t n = lens[li];
                    long found = 0, extra = 0;
                    for (int r = 0; r < reps; r++) {
                        size_t at = n / 4 + (size_t)(report_rng_uniform(&seed) * (double)(n / 2));
                        for (size_t i = 0; i < n; i++)
                            x[i] = 100 * (1 - (i >= at ? steps[si] : 0)) * (1 + noise(&seed, cvs[ci], outl));
                        o.seed = seed;
                        int k = history_changepoints(x, n, &o, cp, 256);
                        int hit = 0;
                        for (int j = 0; j < k; j++) {
                            long d = (long)cp[j].index - (long)at;
                            if (steps[si] > 0 && !hit && labs(d) <= 5)
                                hit = 1;
                            else
                                extra++;
                        }
                        found += hit;
                    }
                    char det[32] = "-";
                    if (steps[si] > 0)
                        snprintf(det, sizeof det, "%.1f %%", 100.0 * (double)found / reps);
                    printf("| %s | %.0f %% | %.0f %% | %zu | %s | %.3f |\n", outl ? "normal + 1 % outliers" : "normal",
                           100 * steps[si], 100 * cvs[ci], n, det, 1000.0 * (double)extra / ((double)reps * (double)n));
                    fflush(stdout);
                }
    /* Time for one 2,000-point series with three steps. */
    for (size_t i = 0; i < 2000; i++)
        x[i] = 100 * (1 - 0.05 * (i >= 500) + 0.08 * (i >= 1200) - 0.03 * (i >= 1700)) *
               (1 + noise(&seed, 0.02, 0));
    double best = 1e9;
    int k = 0;
    for (int r = 0; r < 5; r++) {
        double t0 = now_s();
        k = history_changepoints(x, 2000, &o, cp, 256);
        double t = now_s() - t0;
        best = t < best ? t : best;
    }
    printf("\n2,000 points, 3 steps: %d change points found, %.1f ms (fastest of 5)\n", k, 1000 * best);
    free(x);
    return 0;
}
