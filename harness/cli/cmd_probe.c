/* thermabench probe: every telemetry source, available or not and why, with
 * current readings (what `sensors` and `nvidia-smi` show together).
 * --watch refreshes; --record samples a timeline and prints its summary. */
#include <cjson/cJSON.h>
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

enum {
    O_JSON, O_WATCH, O_INTERVAL, O_COUNT, O_RECORD, O_TIMELINE, O_FAST, O_SLOW, O_ONLY, O_ROOT, O_NVML,
    O_NO_HW, O_HELP
};

static const cli_option options[] = {
    [O_JSON] = {"json", 0, NULL, "machine-readable output (one object per refresh; with --record, the summary)"},
    [O_WATCH] = {"watch", 'w', NULL, "refresh until interrupted (or --count)"},
    [O_INTERVAL] = {"interval-ms", 'i', "N", "refresh period for --watch (default 1000)"},
    [O_COUNT] = {"count", 'n', "N", "stop --watch after N refreshes"},
    [O_RECORD] = {"record", 'r', "SECONDS", "run the sampler thread for SECONDS and print the summary"},
    [O_TIMELINE] = {"timeline", 0, "PATH", "with --record: write the timeline as CSV"},
    [O_FAST] = {"fast-ms", 0, "N", "fast tier period for --record (default 100)"},
    [O_SLOW] = {"slow-ms", 0, "N", "slow tier period for --record (default 1000)"},
    [O_ONLY] = {"only", 0, "LIST", "only these sources, comma-separated"},
    [O_ROOT] = {"root", 0, "DIR", "read sysfs/procfs under DIR (testing; hwmon needs /)"},
    [O_NVML] = {"nvml-library", 0, "PATH", "NVML to load (default libnvidia-ml.so.1)"},
    [O_NO_HW] = {"no-hardware-counters", 0, NULL, "skip cycles/instructions/cache-misses/ref-cycles"},
    [O_HELP] = {"help", 'h', NULL, "this help"},
    {0},
};

static void usage(FILE *f)
{
    cli_help(f,
             "usage: thermabench probe [options]\n\n"
             "Lists every telemetry source (hwmon, thermal, rapl, cpufreq, throttle, memory,\n"
             "perf, nvml), whether it works here and why not, and the current readings.\n",
             options, NULL);
}

/* 0 parsed, 1 --help shown, -1 usage error printed. */
static int parse(int argc, char **argv, probe_cli *c)
{
    probe_options_default(&c->opt);
    c->interval_ms = 1000;
    c->fast_ms = 100;
    c->slow_ms = 1000;
    cli_parser p;
    const char *v;
    int id, rc = 0;
    if (cli_parser_init(&p, CMD, options, argc, argv)) return -1;
    while (!rc && (id = cli_next(&p, &v)) != CLI_END) {
        switch (id) {
        case CLI_ERROR: rc = -1; break;
        case O_HELP: usage(stdout); rc = 1; break;
        case O_JSON: c->json = true; break;
        case O_WATCH: c->watch = true; break;
        case O_NO_HW: c->opt.perf_hardware = false; break;
        case O_INTERVAL: rc = cli_parse_long(CMD, "--interval-ms", v, 10, 3600000, &c->interval_ms); break;
        case O_COUNT: rc = cli_parse_long(CMD, "--count", v, 1, 1000000000, &c->count); break;
        case O_RECORD: rc = cli_parse_long(CMD, "--record", v, 1, 86400, &c->record_s); break;
        case O_FAST: rc = cli_parse_long(CMD, "--fast-ms", v, 1, 3600000, &c->fast_ms); break;
        case O_SLOW: rc = cli_parse_long(CMD, "--slow-ms", v, 1, 3600000, &c->slow_ms); break;
        case O_TIMELINE: c->timeline = v; break;
        case O_ONLY: c->opt.only = v; break;
        case O_ROOT: c->opt.root = v; break;
        case O_NVML: c->opt.nvml_library = v; break;
        }
    }
    if (!rc && cli_positional(&p) < argc) rc = cli_usage_error(CMD, "unexpected argument '%s'", argv[cli_positional(&p)]);
    cli_parser_free(&p);
    if (rc) return rc;
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

static void add_num(cJSON *o, const char *k, double v)
{
    if (isfinite(v)) cJSON_AddNumberToObject(o, k, v);
    else cJSON_AddNullToObject(o, k);
}

/* --record --json: the summary as one object (null where nothing was read). */
static void print_record_json(const probe_set *ps, const probe_sampler *s, const probe_phase_summary *sum, size_t ns,
                              double lat_mean_ms, double lat_max_ms)
{
    cJSON *o = cJSON_CreateObject();
    add_num(o, "duration_s", (sum->t_end_ns - sum->t_begin_ns) / 1e9);
    cJSON_AddNumberToObject(o, "samples", (double)ns);
    add_num(o, "read_latency_mean_ms", lat_mean_ms);
    add_num(o, "read_latency_max_ms", lat_max_ms);
    add_num(o, "sampler_cpu_s", probe_sampler_cpu_ns(s) / 1e9);
    cJSON_AddStringToObject(o, "throttle", sum->throttle == PROBE_THROTTLE_YES ? "yes" :
                                           sum->throttle == PROBE_THROTTLE_NO ? "no" : "unknown");
    cJSON_AddStringToObject(o, "throttle_cause", sum->throttle_cause);
    cJSON *chs = cJSON_AddObjectToObject(o, "channels");
    for (size_t i = 0; i < sum->n_channels; i++) {
        const probe_channel_summary *cs = &sum->channels[i];
        cJSON *ch = cJSON_AddObjectToObject(chs, probe_set_channel(ps, (size_t)cs->channel)->name);
        add_num(ch, "start", cs->start);
        add_num(ch, "end", cs->end);
        add_num(ch, "min", cs->min);
        add_num(ch, "mean", cs->mean);
        add_num(ch, "max", cs->max);
        add_num(ch, "delta", cs->delta);
        add_num(ch, "rate_per_s", cs->rate_per_s);
    }
    cJSON *notes = cJSON_AddArrayToObject(o, "notes");
    for (size_t i = 0; i < probe_set_note_count(ps); i++)
        cJSON_AddItemToArray(notes, cJSON_CreateString(probe_set_note(ps, i)->text));
    char *t = cJSON_Print(o);
    cJSON_Delete(o);
    if (t) puts(t);
    free(t);
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
        if (c->json) {
            print_record_json(ps, s, &sum, ns, ns ? lat_sum / ns : NAN, lat_max);
            probe_phase_summary_free(&sum);
            goto timeline;
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
timeline:
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
    int prc = parse(argc, argv, &c);
    if (prc) return prc > 0 ? TB_EXIT_OK : TB_EXIT_USAGE;
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
