/* How long `compare` takes as runs grow (a benchmark, not a test): writes a
 * two-variant results file with N runs per variant (the synthetic format of
 * the reports tests, telemetry included), then times loading it and
 * report_compare, as `thermabench compare` does. Prints wall and CPU
 * seconds: on a shared machine the CPU time is the figure to compare.
 *
 *   bench_reports_compare [N...]      default: 1000 10000 100000 */
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "test_reports_synth.h"

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    int sizes[8] = {1000, 10000, 100000}, nsizes = 3;
    if (argc > 1)
        for (nsizes = 0; nsizes < argc - 1 && nsizes < 8; nsizes++)
            sizes[nsizes] = atoi(argv[nsizes + 1]);
    char dir[] = "/tmp/tb-bench-compare-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    printf("%10s %10s %10s %10s %10s\n", "runs/var", "load wall", "load cpu", "cmp wall", "cmp cpu");
    for (int s = 0; s < nsizes; s++) {
        synth_variant v[2] = {{"A", 100, 0.02, NULL}, {"B", 101, 0.02, NULL}};
        synth_opts o;
        synth_defaults(&o);
        o.runs_per_variant = sizes[s];
        if (synth_write(dir, v, 2, &o) < 0)
            return 1;
        char path[600];
        snprintf(path, sizeof path, "%s/results.json", dir);
        double w0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
        report_results r;
        report_error err;
        if (report_results_load(path, &r, &err) < 0) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        double w1 = clock_s(CLOCK_MONOTONIC), c1 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
        report_comparison c;
        if (report_compare(&r, "A", &r, "B", &c, &err) < 0) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        double w2 = clock_s(CLOCK_MONOTONIC), c2 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
        printf("%10d %10.3f %10.3f %10.3f %10.3f   U %.0f, Cliff %.4f, HL %.4f, MK p %.3g\n", sizes[s], w1 - w0,
               c1 - c0, w2 - w1, c2 - c1, c.mwu.u, c.cliffs_delta, c.hodges_lehmann, c.a.trend.p);
        report_results_free(&r);
        unlink(path);
    }
    rmdir(dir);
    return 0;
}
