/* Writes small synthetic results files (docs/RESULTS.md, schema v1) for the
 * reports tests: known means and noise, interleaved runs, a warm-up run, a
 * temperature that rises with run order and lowers throughput, optionally a
 * telemetry.csv in the probes' format. Header-only: tests include it. */
#ifndef TB_REPORTS_SYNTH_H
#define TB_REPORTS_SYNTH_H

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reports.h"

typedef struct synth_variant {
    const char *name;
    double mean, cv;
    const char *kernels;
} synth_variant;

typedef struct synth_opts {
    int runs_per_variant;
    uint64_t seed;
    const char *cpu_model;
    const char *throttle;       /* "no", "yes", "unknown" */
    int with_temperature;       /* 0: nulls, as on a machine without sensors */
    double temp_slope_pct_per_c; /* throughput change per degree C */
    int telemetry_csv;          /* also write telemetry.csv next to it */
    int threads;                /* the requested workload's threads */
    double step_pct;            /* throughput (and CPU clock) change from run step_at on; 0: none */
    int step_at;
    const char *order;          /* config.order written into the file; NULL: no config */
    int gpu;                    /* engine runs on gpu0: its channels in every run's summary; the SM
                                   clock drops from 1980 to 1755 MHz (SW power cap) above 55 C */
    const char *build_commit;   /* set: environment.build of a dirty sanitizer build at this commit;
                                   NULL: the flat compiler and git_commit of older files */
    const char *build_type;     /* with build_commit: NULL RelWithDebInfo */
    const char *sanitizers;     /* with build_commit: NULL address,undefined */
} synth_opts;

static void synth_defaults(synth_opts *o)
{
    memset(o, 0, sizeof *o);
    o->runs_per_variant = 10;
    o->seed = 1;
    o->cpu_model = "AMD EPYC synthetic";
    o->throttle = "no";
    o->with_temperature = 1;
    o->temp_slope_pct_per_c = -0.2;
    o->threads = 2;
}

static void synth_num(cJSON *o, const char *k, double v, int known)
{
    if (known)
        cJSON_AddNumberToObject(o, k, v);
    else
        cJSON_AddNullToObject(o, k);
}

/* Returns 0 or -1. dir/results.json (and dir/telemetry.csv) are written. */
static int synth_write(const char *dir, const synth_variant *v, int nv, const synth_opts *o)
{
    char path[512];
    uint64_t s = o->seed;
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "schema", "thermabench-results");
    cJSON_AddNumberToObject(root, "schema_version", 1);
    cJSON_AddStringToObject(root, "name", "synthetic");
    cJSON_AddStringToObject(root, "status", "complete");
    cJSON *env = cJSON_AddObjectToObject(root, "environment");
    cJSON_AddStringToObject(env, "cpu_model", o->cpu_model);
    cJSON_AddNumberToObject(env, "cpus_online", 2);
    cJSON_AddStringToObject(env, "kernel", "6.1.0-synthetic");
    if (o->build_commit) {
        cJSON *b = cJSON_AddObjectToObject(env, "build");
        cJSON_AddStringToObject(b, "git_commit", o->build_commit);
        cJSON_AddBoolToObject(b, "git_dirty", 1);
        cJSON_AddStringToObject(b, "compiler", "GNU 12.2.0");
        cJSON_AddStringToObject(b, "build_type", o->build_type ? o->build_type : "RelWithDebInfo");
        cJSON_AddStringToObject(b, "cflags", "-O2 -g -fsanitize=address,undefined");
        cJSON_AddStringToObject(b, "sanitizers", o->sanitizers ? o->sanitizers : "address,undefined");
    } else {
        cJSON_AddStringToObject(env, "compiler", "gcc 12.2.0");
        cJSON_AddStringToObject(env, "git_commit", "000000000000");
    }
    cJSON *probes = cJSON_AddArrayToObject(env, "probes");
    cJSON *pr = cJSON_CreateObject();
    cJSON_AddStringToObject(pr, "name", "nvml");
    cJSON_AddBoolToObject(pr, "available", 0);
    cJSON_AddStringToObject(pr, "reason", "libnvidia-ml.so.1 not found");
    cJSON_AddItemToArray(probes, pr);
    cJSON *pf = cJSON_AddArrayToObject(root, "preflight");
    cJSON *w = cJSON_CreateObject();
    cJSON_AddStringToObject(w, "check", "governor");
    cJSON_AddStringToObject(w, "status", "warn");
    cJSON_AddStringToObject(w, "detail", "scaling governor is 'powersave', not 'performance'");
    cJSON_AddItemToArray(pf, w);
    if (o->order) {
        cJSON *cfg = cJSON_AddObjectToObject(root, "config");
        cJSON_AddStringToObject(cfg, "order", o->order);
    }
    cJSON *pm = cJSON_AddObjectToObject(root, "primary_metric");
    cJSON_AddStringToObject(pm, "name", "decode_tokens_per_s");
    cJSON_AddStringToObject(pm, "unit", "tokens/s");
    cJSON_AddBoolToObject(pm, "higher_is_better", 1);
    cJSON *vars = cJSON_AddArrayToObject(root, "variants");
    for (int i = 0; i < nv; i++) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "name", v[i].name);
        cJSON *wl = cJSON_AddObjectToObject(x, "workload");
        cJSON_AddNumberToObject(wl, "threads", o->threads);
        if (o->gpu) {   /* 64 tokens a run */
            cJSON_AddStringToObject(wl, "type", "engine");
            cJSON_AddStringToObject(wl, "backend", "opencl");
            cJSON_AddNumberToObject(wl, "batch_size", 2);
            cJSON_AddNumberToObject(wl, "input_len", 24);
            cJSON_AddNumberToObject(wl, "output_len", 8);
        }
        cJSON_AddStringToObject(wl, "model", "synth-tiny");
        cJSON_AddStringToObject(x, "engine_kernels", v[i].kernels ? v[i].kernels : "matmul=avx512");
        cJSON_AddItemToArray(vars, x);
    }
    cJSON *runs = cJSON_AddArrayToObject(root, "runs");
    FILE *csv = NULL;
    if (o->telemetry_csv) {
        snprintf(path, sizeof path, "%s/telemetry.csv", dir);
        csv = fopen(path, "w");
        if (csv)
            fprintf(csv, "t_s,tier,latency_ms,mark,cpu.pkg.temp_c,cpu.pkg.power_w,cpu0.freq_mhz,mem.psi_some_us\n");
    }
    double t = 0, psi = 0;
    int total = 1 + o->runs_per_variant * nv;
    for (int k = 0; k < total; k++) {
        int warm = k == 0, vi = warm ? 0 : (k - 1) % nv;
        double temp0 = 45 + 12 * (1 - exp(-k / 8.0)) + 0.3 * report_rng_normal(&s);
        double tp = v[vi].mean * (1 + o->temp_slope_pct_per_c / 100 * (temp0 - 45)) *
                    (1 + v[vi].cv * report_rng_normal(&s));
        double stepped = o->step_pct != 0 && k >= o->step_at ? 1 + o->step_pct / 100 : 1;
        tp *= stepped;
        double wall_s = 64 / tp, power = 25 + 0.1 * tp;
        cJSON *r = cJSON_CreateObject();
        cJSON_AddNumberToObject(r, "index", k);
        cJSON_AddStringToObject(r, "variant", v[vi].name);
        cJSON_AddBoolToObject(r, "warmup", warm);
        cJSON_AddStringToObject(r, "status", "ok");
        cJSON_AddNullToObject(r, "failure");
        cJSON_AddNumberToObject(r, "started_s", t);
        cJSON_AddNumberToObject(r, "wall_ms", 1000 * wall_s);
        cJSON_AddNumberToObject(r, "exit_status", 0);
        cJSON *m = cJSON_AddObjectToObject(r, "metrics");
        cJSON_AddNumberToObject(m, "decode_tokens_per_s", tp);
        cJSON *te = cJSON_AddObjectToObject(r, "telemetry");
        int kt = o->with_temperature;
        synth_num(te, "temp_start_c", temp0, kt);
        synth_num(te, "temp_end_c", temp0 + 1.5, kt);
        synth_num(te, "temp_peak_c", temp0 + 2, kt);
        synth_num(te, "power_mean_w", power, kt);
        synth_num(te, "energy_j", power * wall_s, kt);
        synth_num(te, "energy_per_token_j", power * wall_s / 64, kt);
        synth_num(te, "clock_mean_mhz", stepped * (3000 - 5 * (temp0 - 45)), kt);
        synth_num(te, "clock_min_mhz", 2900 - 5 * (temp0 - 45), kt);
        cJSON_AddStringToObject(te, "throttle", o->throttle);
        cJSON_AddNumberToObject(te, "mem_psi_some_us", 100 * k);
        if (o->gpu) {
            double sm = temp0 > 55 ? 1755 : 1980, gp = 520 + 0.5 * (temp0 - 45);
            cJSON_AddStringToObject(te, "temp_channel", "gpu0.temp_c");
            cJSON_AddStringToObject(te, "throttle_cause", sm < 1980 ? "gpu0: SW power cap" : "");
            cJSON *ch = cJSON_AddObjectToObject(te, "channels");
            cJSON *c = cJSON_AddObjectToObject(ch, "gpu0.temp_c");
            cJSON_AddNumberToObject(c, "start", temp0);
            cJSON_AddNumberToObject(c, "end", temp0 + 1.5);
            cJSON_AddNumberToObject(c, "min", temp0);
            cJSON_AddNumberToObject(c, "mean", temp0 + 0.75);
            cJSON_AddNumberToObject(c, "max", temp0 + 2);
            c = cJSON_AddObjectToObject(ch, "gpu0.sm_clock_mhz");
            cJSON_AddNumberToObject(c, "mean", sm);
            cJSON_AddNumberToObject(c, "min", sm - 15);
            c = cJSON_AddObjectToObject(ch, "gpu0.mem_clock_mhz");
            cJSON_AddNumberToObject(c, "mean", 2619);
            cJSON_AddNumberToObject(c, "min", 2619);
            c = cJSON_AddObjectToObject(ch, "gpu0.power_w");
            cJSON_AddNumberToObject(c, "mean", gp);
            c = cJSON_AddObjectToObject(ch, "gpu0.power_limit_w");
            cJSON_AddNumberToObject(c, "mean", 700);
            c = cJSON_AddObjectToObject(ch, "gpu0.energy_j");
            cJSON_AddNumberToObject(c, "delta", gp * wall_s);
            c = cJSON_AddObjectToObject(ch, "gpu0.util_pct");
            cJSON_AddNumberToObject(c, "mean", 99);
            c = cJSON_AddObjectToObject(ch, "gpu0.power_cap_time_ms");
            cJSON_AddNumberToObject(c, "delta", sm < 1980 ? 1000 * wall_s : 0);
            c = cJSON_AddObjectToObject(ch, "gpu0.thermal_cap_time_ms");
            cJSON_AddNumberToObject(c, "delta", 0);
            c = cJSON_AddObjectToObject(ch, "gpu0.throttle_reasons");
            cJSON_AddNumberToObject(c, "max", sm < 1980 ? 4 : 0);
        }
        cJSON_AddItemToArray(runs, r);
        if (csv) {
            fprintf(csv, "%.6f,mark,0.01,run:begin:%d,,,,\n", t, k);
            fprintf(csv, "%.6f,mark,0.01,prefill:begin:%d,,,,\n", t, k);
            fprintf(csv, "%.6f,mark,0.01,prefill:end:%d,,,,\n", t + 0.15 * wall_s, k);
            fprintf(csv, "%.6f,mark,0.01,decode:begin:%d,,,,\n", t + 0.15 * wall_s, k);
            for (double u = 0; u < wall_s + 1.0; u += 0.1) {
                double tc = temp0 + 1.5 * (u < wall_s ? u / wall_s : 1 - (u - wall_s));
                psi += 2000 * report_rng_uniform(&s);
                fprintf(csv, "%.6f,fast,0.05,,%.2f,%.2f,%.0f,%.0f\n", t + u, tc, u < wall_s ? power : 12.0,
                        3000 - 5 * (tc - 45), psi);
                if (u < wall_s && u + 0.1 >= wall_s) {
                    fprintf(csv, "%.6f,mark,0.01,decode:end:%d,,,,\n", t + wall_s, k);
                    fprintf(csv, "%.6f,mark,0.01,run:end:%d,,,,\n", t + wall_s, k);
                }
            }
        }
        t += wall_s + 1.0;
    }
    if (csv)
        fclose(csv);
    snprintf(path, sizeof path, "%s/results.json", dir);
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    FILE *f = fopen(path, "w");
    if (!f || !text) {
        free(text);
        if (f)
            fclose(f);
        return -1;
    }
    fputs(text, f);
    free(text);
    return fclose(f);
}

#endif
