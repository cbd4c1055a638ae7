/* thermabench probe: every telemetry source, available or not and why, with
 * current readings (what `sensors` and `nvidia-smi` show together).
 * --watch refreshes; --record samples a timeline and prints its summary. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "harness.h"

static const char *CMD = "probe";

typedef struct probe_cli {
    probe_options opt;
    bool json, watch;
    long interval_ms, count, record_s, fast_ms, slow_ms;
    const char *timeline;
} probe_cli;

static void usage(FILE *f)
{
    fprintf(f,
        "usage: thermabench probe [options]\n\n"
        "Lists every telemetry source (hwmon, thermal, rapl, cpufreq, throttle, memory,\n"
        "perf, nvml), whether it works here and why not, and the current readings.\n\n"
        "  --json               machine-readable output (one object per refresh)\n"
        "  --watch              refresh until interrupted (or --count)\n"
        "  --interval-ms N      refresh period for --watch (default 1000)\n"
        "  --count N            stop --watch after N refreshes\n"
        "  --record SECONDS     run the sampler thread for SECONDS and print the summary\n"
        "  --timeline PATH      with --record: write the timeline as CSV\n"
        "  --fast-ms N          fast tier period for --record (default 100)\n"
        "  --slow-ms N          slow tier period for --record (default 1000)\n"
        "  --only LIST          only these sources, comma-separated\n"
        "  --root DIR           read sysfs/procfs under DIR (testing; hwmon needs /)\n"
        "  --nvml-library PATH  NVML to load (default libnvidia-ml.so.1)\n"
        "  --no-hardware-counters  skip cycles/instructions/cache-misses/ref-cycles\n");
}

static int parse(int argc, char **argv, probe_cli *c)
{
    probe_options_default(&c->opt);
    c->interval_ms = 1000;
    c->fast_ms = 100;
    c->slow_ms = 1000;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool takes = !strcmp(a, "--interval-ms") || !strcmp(a, "--count") || !strcmp(a, "--record")
                  || !strcmp(a, "--timeline") || !strcmp(a, "--fast-ms") || !strcmp(a, "--slow-ms")
                  || !strcmp(a, "--only") || !strcmp(a, "--root") || !strcmp(a, "--nvml-library");
        if (takes && !v)
            return cli_usage_error(CMD, "%s needs a value", a);
        if (!strcmp(a, "--json")) c->json = true;
        else if (!strcmp(a, "--watch")) c->watch = true;
        else if (!strcmp(a, "--no-hardware-counters")) c->opt.perf_hardware = false;
        else if (!strcmp(a, "--interval-ms")) { if (cli_parse_long(CMD, a, v, 10, 3600000, &c->interval_ms)) return -1; }
        else if (!strcmp(a, "--count")) { if (cli_parse_long(CMD, a, v, 1, 1000000000, &c->count)) return -1; }
        else if (!strcmp(a, "--record")) { if (cli_parse_long(CMD, a, v, 1, 86400, &c->record_s)) return -1; }
        else if (!strcmp(a, "--fast-ms")) { if (cli_parse_long(CMD, a, v, 1, 3600000, &c->fast_ms)) return -1; }
        else if (!strcmp(a, "--slow-ms")) { if (cli_parse_long(CMD, a, v, 1, 3600000, &c->slow_ms)) return -1; }
        else if (!strcmp(a, "--timeline")) c->timeline = v;
        else if (!strcmp(a, "--only")) c->opt.only = v;
        else if (!strcmp(a, "--root")) c->opt.root = v;
        else if (!strcmp(a, "--nvml-library")) c->opt.nvml_library = v;
        else return cli_usage_error(CMD, "unknown option '%s'", a);
        if (takes)
            i++;
    }
    if (c->slow_ms < c->fast_ms)
        return cli_usage_error(CMD, "--slow-ms %ld is shorter than --fast-ms %ld", c->slow_ms, c->fast_ms);
    if (c->timeline && !c->record_s)
        return cli_usage_error(CMD, "--timeline needs --record");
    if (c->record_s && c->watch)
        return cli_usage_error(CMD, "--record and --watch do not go together");
    return 0;
}

static void print_text(const probe_set *ps, const double *v, const double *rate)
{
    printf("%-9s %-11s %8s  %s\n", "source", "status", "channels", "reason / notes");
    for (size_t i = 0; i < probe_set_source_count(ps); i++) {
        const probe_source_status *s = probe_set_source(ps, i);
        printf("%-9s %-11s %8zu  %s\n", s->name, s->available ? "available" : "unavailable",
               s->n_channels, s->reason);
    }
    printf("\n%-34s %14s %-8s %-7s %s\n", "channel", "value", "unit", "kind", "label");
    for (size_t i = 0; i < probe_set_channel_count(ps); i++) {
        const probe_channel *ch = probe_set_channel(ps, i);
        char val[40];
        if (isnan(v[i]))
            snprintf(val, sizeof val, "n/a");
        else if (!strcmp(ch->unit, "bitmask"))
            snprintf(val, sizeof val, "0x%llx", (unsigned long long)v[i]);
        else if (v[i] == floor(v[i]) && fabs(v[i]) < 1e15)
            snprintf(val, sizeof val, "%.0f", v[i]);
        else
            snprintf(val, sizeof val, "%.6g", v[i]);
        printf("%-34s %14s %-8s %-7s %s", ch->name, val, ch->unit,
               ch->kind == PROBE_COUNTER ? "counter" : "gauge", ch->label);
        if (rate && ch->kind == PROBE_COUNTER && !isnan(rate[i]))
            printf("  (%.6g %s/s)", rate[i], ch->unit);
        putchar('\n');
    }
    size_t working = 0;
    printf("\nworking here:");
    for (size_t i = 0; i < probe_set_source_count(ps); i++)
        if (probe_set_source(ps, i)->available)
            printf(" %s", probe_set_source(ps, i)->name), working++;
    printf("%s\n", working ? "" : " nothing");
    size_t nn = probe_set_note_count(ps);
    for (size_t i = 0; i < nn; i++)
        printf("note: %s\n", probe_set_note(ps, i)->text);
}

static void print_json(const probe_set *ps, const double *v, const double *rate)
{
    char *text = harness_probe_json(ps, v, rate);
    if (text)
        puts(text);
    free(text);
    fflush(stdout);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static int show(probe_set *ps, const probe_cli *c)
{
    size_t n = probe_set_channel_count(ps);
    double *prev = NULL, *rate = calloc(n ? n : 1, sizeof *rate);
    for (long k = 0; !c->count || k < c->count; k++) {
        if (k)
            sleep_ms(c->interval_ms);
        double *v = probe_set_read_all(ps);
        if (!v || !rate) {
            fprintf(stderr, "thermabench probe: out of memory\n");
            free(v); free(prev); free(rate);
            return TB_EXIT_FAIL;
        }
        for (size_t i = 0; i < n; i++)
            rate[i] = prev ? (v[i] - prev[i]) / (c->interval_ms / 1000.0) : NAN;
        if (c->json)
            print_json(ps, v, prev ? rate : NULL);
        else {
            if (c->watch && !c->json)
                printf("%s--- %ld ---\n", k ? "\n" : "", k);
            print_text(ps, v, prev ? rate : NULL);
        }
        fflush(stdout);
        free(prev);
        prev = v;
        if (!c->watch)
            break;
    }
    free(prev);
    free(rate);
    return TB_EXIT_OK;
}

static int record(probe_set *ps, const probe_cli *c)
{
    probe_error err;
    probe_sampler *s;
    if (probe_sampler_start(ps, (int)c->fast_ms, (int)c->slow_ms, &s, &err)) {
        fprintf(stderr, "thermabench probe: %s\n", err.msg);
        return TB_EXIT_FAIL;
    }
    int m0 = probe_sampler_mark(s, "run", true, 0);
    sleep_ms(c->record_s * 1000);
    int m1 = probe_sampler_mark(s, "run", false, 0);
    probe_sampler_stop(s);
    probe_phase_summary sum;
    int rc = TB_EXIT_OK;
    if (probe_summarize(s, m0, m1, &sum, &err)) {
        fprintf(stderr, "thermabench probe: %s\n", err.msg);
        rc = TB_EXIT_FAIL;
    } else {
        size_t ns = probe_sampler_sample_count(s);
        double lat_max = 0, lat_sum = 0;
        for (size_t i = 0; i < ns; i++) {
            double l = probe_sampler_sample(s, i)->read_latency_ns / 1e6;
            lat_sum += l;
            if (l > lat_max)
                lat_max = l;
        }
        printf("recorded %.3f s: %zu samples (read latency mean %.3f ms, max %.3f ms; sampler CPU %.3f s)\n",
               (sum.t_end_ns - sum.t_begin_ns) / 1e9, ns, ns ? lat_sum / ns : 0.0, lat_max,
               probe_sampler_cpu_ns(s) / 1e9);
        printf("throttle: %s%s%s\n", sum.throttle == PROBE_THROTTLE_YES ? "yes" :
               sum.throttle == PROBE_THROTTLE_NO ? "no" : "unknown (no source can tell)",
               *sum.throttle_cause ? ": " : "", sum.throttle_cause);
        printf("%-34s %12s %12s %12s %12s %12s %14s %12s\n", "channel", "start", "end", "min",
               "mean", "max", "delta", "rate/s");
        for (size_t i = 0; i < sum.n_channels; i++) {
            const probe_channel_summary *cs = &sum.channels[i];
            printf("%-34s %12.6g %12.6g %12.6g %12.6g %12.6g %14.8g %12.6g\n",
                   probe_set_channel(ps, i)->name, cs->start, cs->end, cs->min, cs->mean, cs->max,
                   cs->delta, cs->rate_per_s);
        }
        for (size_t i = 0; i < probe_set_note_count(ps); i++)
            printf("note: %s\n", probe_set_note(ps, i)->text);
        probe_phase_summary_free(&sum);
    }
    if (c->timeline && probe_timeline_write_csv(s, c->timeline, &err)) {
        fprintf(stderr, "thermabench probe: %s\n", err.msg);
        rc = TB_EXIT_FAIL;
    }
    probe_sampler_free(s);
    return rc;
}

int cmd_probe(int argc, char **argv)
{
    probe_cli c;
    memset(&c, 0, sizeof c);
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return TB_EXIT_OK;
        }
    if (parse(argc, argv, &c))
        return TB_EXIT_USAGE;
    probe_set *ps;
    probe_error err;
    if (probe_set_open(&c.opt, &ps, &err)) {
        fprintf(stderr, "thermabench probe: %s\n", err.msg);
        return TB_EXIT_USAGE;
    }
    int rc = c.record_s ? record(ps, &c) : show(ps, &c);
    probe_set_close(ps);
    return rc;
}
