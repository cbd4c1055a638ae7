/* Sampler overhead: engine decode throughput with the sampler thread
 * running (fast tier at --fast-ms, phase marks at every prefill/decode
 * boundary) against no sampler, interleaved in ABBA order so drift hits
 * both alike. The probe set (perf counters included) is open in both modes,
 * as in the harness; what differs is the sampler thread and the marks.
 *   probes_overhead PRESET DTYPE OUTPUT_LEN PAIRS THREADS [FAST_MS [nomarks]]
 * "nomarks" runs the sampler without phase marks: the sampling cost alone. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "probes.h"

typedef struct marks {
    probe_sampler *s;
    int run;
} marks;

static void on_phase(void *ctx, const char *phase, bool begin)
{
    marks *m = ctx;
    if (m->s)
        probe_sampler_mark(m->s, phase, begin, m->run);
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, n, sizeof *v, cmp);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: %s PRESET DTYPE OUTPUT_LEN PAIRS THREADS [FAST_MS]\n", argv[0]);
        return 2;
    }
    int out_len = atoi(argv[3]), pairs = atoi(argv[4]), threads = atoi(argv[5]);
    int fast_ms = argc > 6 ? atoi(argv[6]) : 100;
    bool use_marks = !(argc > 7 && !strcmp(argv[7], "nomarks"));
    probe_options po;
    probe_options_default(&po);
    probe_set *ps;
    probe_error pe;
    engine_error ee;
    if (probe_set_open(&po, &ps, &pe)) {  /* before the engine's threads: perf inherit */
        fprintf(stderr, "%s\n", pe.msg);
        return 1;
    }
    engine_dtype dt;
    engine_model *m;
    engine_session *sess;
    engine_options eo;
    engine_options_default(&eo);
    eo.threads = threads;
    if (engine_dtype_parse(argv[2], &dt) || engine_model_synth(argv[1], dt, 1, -1, &m, &ee)
        || engine_session_create(m, &eo, &sess, &ee)) {
        fprintf(stderr, "engine: %s\n", ee.msg);
        return 1;
    }
    double *none = calloc(pairs, sizeof *none), *with = calloc(pairs, sizeof *with);
    double *ratio = calloc(pairs, sizeof *ratio);
    size_t n_samples = 0;
    double lat_sum_ms = 0, sampler_cpu_s = 0, sampled_wall_s = 0;
    for (int i = 0; i < 2 * pairs; i++) {
        int pair = i / 2;
        bool sampled = (i % 4 == 1 || i % 4 == 2);  /* ABBA */
        marks mk = {NULL, i};
        probe_sampler *s = NULL;
        if (sampled && probe_sampler_start(ps, fast_ms, 1000, &s, &pe)) {
            fprintf(stderr, "%s\n", pe.msg);
            return 1;
        }
        mk.s = use_marks ? s : NULL;
        engine_bench_params bp = {.batch_size = 1, .input_len = 64, .output_len = out_len,
                                  .warmup = 0, .seed = 1, .on_phase = on_phase, .phase_ctx = &mk};
        engine_bench_result r;
        if (engine_bench(sess, &bp, &r, &ee)) {
            fprintf(stderr, "engine: %s\n", ee.msg);
            return 1;
        }
        (sampled ? with : none)[pair] = r.decode_tokens_per_s;
        if (s) {
            probe_sampler_stop(s);
            for (size_t k = 0; k < probe_sampler_sample_count(s); k++)
                lat_sum_ms += probe_sampler_sample(s, k)->read_latency_ns / 1e6;
            n_samples += probe_sampler_sample_count(s);
            sampler_cpu_s += probe_sampler_cpu_ns(s) / 1e9;
            sampled_wall_s += r.total_ms / 1e3;
            probe_sampler_free(s);
        }
        printf("run %2d %-7s decode %.2f tokens/s (%.0f ms)\n", i, sampled ? "sampled" : "none",
               r.decode_tokens_per_s, r.decode_ms);
        engine_bench_result_free(&r);
    }
    double mean_d = 0, sd = 0;
    for (int k = 0; k < pairs; k++) {
        ratio[k] = 100.0 * (with[k] / none[k] - 1.0);
        mean_d += ratio[k] / pairs;
    }
    for (int k = 0; k < pairs; k++)
        sd += (ratio[k] - mean_d) * (ratio[k] - mean_d) / (pairs > 1 ? pairs - 1 : 1);
    sd = sqrt(sd);
    double med_none = median(none, pairs), med_with = median(with, pairs);
    printf("fast tier %d ms, phase marks %s\n", fast_ms, use_marks ? "on" : "off");
    printf("channels %zu, samples %zu, mean read latency %.3f ms\n", probe_set_channel_count(ps),
           n_samples, n_samples ? lat_sum_ms / n_samples : 0.0);
    printf("sampler thread CPU: %.4f s over %.2f s sampled = %.3f%% of one core\n",
           sampler_cpu_s, sampled_wall_s, sampled_wall_s > 0 ? 100 * sampler_cpu_s / sampled_wall_s : 0.0);
    printf("median decode: none %.2f, sampled %.2f tokens/s (%+.2f%%)\n", med_none, med_with,
           100.0 * (med_with / med_none - 1.0));
    printf("paired difference (sampled vs none): mean %+.2f%%, sd %.2f%%, 95%% CI +-%.2f%% (n=%d pairs)\n",
           mean_d, sd, 1.96 * sd / sqrt(pairs), pairs);
    engine_session_free(sess);
    engine_model_free(m);
    probe_set_close(ps);
    free(none); free(with); free(ratio);
    return 0;
}
