/* thermabench history: the results store (docs/HISTORY.md).
 *   list     experiments, newest last
 *   show     a per-experiment table of one metric (median and interval)
 *   trend    an HTML page with plots over time and change points
 *   changes  change points of every series; exit 1 on a regression
 *   import   append results.json files (backfill)
 *   export   JSON or CSV
 * Exit codes: 0 ok, 1 system error or (changes) a regression, 2 usage or
 * input error. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "history.h"

static const char *CMD = "history";

enum {
    OPT_HISTORY = 1000, OPT_CONFIG, OPT_MACHINE, OPT_VARIANT, OPT_METRIC, OPT_TAG, OPT_SINCE, OPT_UNTIL, OPT_LAST,
    OPT_FORMAT, OPT_OUT, OPT_FAIL_ON, OPT_PENALTY, OPT_ALPHA, OPT_HELP
};

/* One table: cli_next (getopt_long) reads it and the help prints it; its
 * order is the OPT_ enum's. */
static const cli_option options[] = {
    {"history", 0, "PATH|URI", "the store: a SQLite file or postgresql://... (default $THERMABENCH_HISTORY,\n"
        "else $XDG_DATA_HOME/thermabench/history.db)"},
    {"config", 0, "NAME", "experiments of this config (results.json \"name\")"},
    {"machine", 0, "ID", "machine id (see list) or hostname"},
    {"variant", 0, "NAME", "one variant"},
    {"metric", 0, "NAME", "metric (default: each experiment's primary metric)"},
    {"tag", 0, "K=V", "import: attach a tag (commit, branch, dirty, describe fill the code fields);\n"
        "queries: only experiments with this tag; repeatable"},
    {"since", 0, "WHEN", "30d, 12h, 2026-11-01 or 2026-11-01T08:00:00Z"},
    {"until", 0, "WHEN", "as --since"},
    {"last", 0, "N", "the last N matching experiments (list: default 50; 0 all)"},
    {"format", 0, "json|csv", "export format (default json)"},
    {"out", 0, "PATH", "export: file (default stdout); trend: directory (required)"},
    {"fail-on", 0, "WHAT", "changes: exit 1 on a 'regression' (default), 'any' change, or 'none'"},
    {"penalty", 0, "X", "change points: PELT penalty (default 3)"},
    {"alpha", 0, "P", "change points: permutation-test level (default 0.002)"},
    {"help", 'h', NULL, "this help"},
    {0},
};

static void usage(FILE *f)
{
    cli_help(f,
             "usage: thermabench history list    [filters]\n"
             "       thermabench history show    [METRIC] --config NAME [filters]\n"
             "       thermabench history trend   --out DIR [filters]\n"
             "       thermabench history changes [--since 30d] [--fail-on regression|any|none] [filters]\n"
             "       thermabench history import  [--tag K=V ...] RESULTS.json ...\n"
             "       thermabench history export  [--format json|csv] [--out FILE] [filters]\n\n"
             "filters: --config --machine --variant --metric --tag --since --until --last\n",
             options,
             "\nexit codes: 0 ok, 1 system error or (changes) a change point that fails --fail-on,\n"
             "2 usage or input error\n");
}

typedef struct history_args {
    const char *sub, *spec, *format, *out, *fail_on;
    char spec_buf[1024];
    history_filter f;
    history_cp_options cp;
    bool last_set;
    char **rest;
    int nrest;
} history_args;

static int parse_when(const char *opt, const char *v, long long *out)
{
    *out = history_parse_since(v, (long long)time(NULL));
    if (*out < 0)
        return cli_usage_error(CMD, "%s: expected 30d, 12h, 2026-11-01 or 2026-11-01T08:00:00Z, got '%s'", opt, v);
    return 0;
}

static int parse_option(history_args *a, int c, const char *v)
{
    char why[256];
    double d;
    long n;
    switch (c) {
    case OPT_HISTORY: a->spec = v; return 0;
    case OPT_CONFIG: a->f.config = v; return 0;
    case OPT_MACHINE: a->f.machine = v; return 0;
    case OPT_VARIANT: a->f.variant = v; return 0;
    case OPT_METRIC: a->f.metric = v; return 0;
    case OPT_FORMAT: a->format = v; return 0;
    case OPT_OUT: a->out = v; return 0;
    case OPT_FAIL_ON: a->fail_on = v; return 0;
    case OPT_TAG:
        if (a->f.ntags >= HISTORY_MAX_TAGS)
            return cli_usage_error(CMD, "--tag: at most %d", HISTORY_MAX_TAGS);
        if (history_parse_tag(v, &a->f.tags[a->f.ntags], why, sizeof why) < 0)
            return cli_usage_error(CMD, "--tag: %s", why);
        a->f.ntags++;
        return 0;
    case OPT_SINCE: return parse_when("--since", v, &a->f.since_unix);
    case OPT_UNTIL: return parse_when("--until", v, &a->f.until_unix);
    case OPT_LAST:
        if (cli_parse_long(CMD, "--last", v, 0, 100000000, &n) < 0)
            return -1;
        a->f.last = n;
        a->last_set = true;
        return 0;
    case OPT_PENALTY:
        if (cli_parse_double(CMD, "--penalty", v, 0.1, 1000, &d) < 0)
            return -1;
        a->cp.penalty = d;
        return 0;
    case OPT_ALPHA:
        if (cli_parse_double(CMD, "--alpha", v, 0.001, 1, &d) < 0)
            return -1;
        a->cp.alpha = d;
        return 0;
    default: return cli_usage_error(CMD, "unknown option");
    }
}

/* 1: help shown; 0: parsed; -1: usage error (printed). */
static int parse(int argc, char **argv, history_args *a)
{
    memset(a, 0, sizeof *a);
    history_cp_defaults(&a->cp);
    if (argc < 2)
        return cli_usage_error(CMD, "which one: list, show, trend, changes, import or export?");
    a->sub = argv[1];
    if (!strcmp(a->sub, "--help") || !strcmp(a->sub, "-h")) {
        usage(stdout);
        return 1;
    }
    int sargc = argc - 1;
    char **sargv = argv + 1;
    cli_parser p;
    const char *v;
    int id, rc = 0;
    if (cli_parser_init(&p, CMD, options, sargc, sargv)) return -1;
    while (!rc && (id = cli_next(&p, &v)) != CLI_END) {
        if (id == CLI_ERROR) rc = -1;
        else if (OPT_HISTORY + id == OPT_HELP) usage(stdout), rc = 1;
        else if (parse_option(a, OPT_HISTORY + id, v) < 0) rc = -1;
    }
    a->rest = sargv + cli_positional(&p);
    a->nrest = sargc - cli_positional(&p);
    cli_parser_free(&p);
    if (rc) return rc;
    if (!a->spec) {
        a->spec = history_default_spec(a->spec_buf, sizeof a->spec_buf);
        if (!a->spec)
            return cli_usage_error(CMD, "no store: set --history, THERMABENCH_HISTORY, XDG_DATA_HOME or HOME");
    }
    return 0;
}

static int store_error(const history_error *err)
{
    fprintf(stderr, "thermabench history: %s\n", err->msg);
    return err->exit_code == 1 ? TB_EXIT_FAIL : TB_EXIT_USAGE;
}

/* ---- list ---- */
static int print_experiment(void *ctx, const history_experiment *e)
{
    int *n = ctx;
    if (!(*n)++)
        printf("%-8s %-17s %-24s %-12s %-14s %-12s %-10s %4s  %s\n", "id", "created (UTC)", "config", "machine",
               "host", "commit", "branch", "runs", "tags");
    char date[20];
    snprintf(date, sizeof date, "%.16s", e->created_utc);
    for (char *p = date; *p; p++)
        if (*p == 'T')
            *p = ' ';
    report_fprintf(stdout, REPORT_ESC_TERMINAL, "%-8lld %-17s %-24.24s %-12s %-14.14s %-12.12s %-10.10s %4d  %s\n", e->id, date, e->name, e->machine_id,
           e->hostname, e->commit[0] ? e->commit : "-", e->branch[0] ? e->branch : "-", e->nruns, e->tags);
    return 0;
}

static int do_list(history_store *s, history_args *a)
{
    if (!a->last_set)
        a->f.last = 50;
    int n = 0;
    history_error err;
    if (history_list(s, &a->f, print_experiment, &n, &err) < 0)
        return store_error(&err);
    if (!n)
        printf("no experiments match in %s\n", history_store_name(s));
    return TB_EXIT_OK;
}

/* ---- show ---- */
static int do_show(history_store *s, history_args *a)
{
    if (a->nrest > 1)
        return cli_usage_error(CMD, "show takes one METRIC, got '%s' too", a->rest[1]), TB_EXIT_USAGE;
    if (a->nrest == 1)
        a->f.metric = a->rest[0];
    if (!a->f.config)
        return cli_usage_error(CMD, "show needs --config NAME (see 'thermabench history list')"), TB_EXIT_USAGE;
    history_series_set set;
    history_error err;
    if (history_load_series(s, &a->f, &set, &err) < 0)
        return store_error(&err);
    if (!set.n)
        report_fprintf(stdout, REPORT_ESC_TERMINAL, "no runs of config '%s'%s match in %s\n", a->f.config, a->f.metric ? " with that metric" : "",
               history_store_name(s));
    for (size_t i = 0; i < set.n; i++) {
        const history_series *sr = &set.s[i];
        report_fprintf(stdout, REPORT_ESC_TERMINAL, "%s%s / %s / %s (%s, %s is better) on machine %s (%s)\n",
                       i ? "\n" : "", sr->config, sr->variant,
               sr->metric, sr->unit, sr->higher_is_better ? "higher" : "lower", sr->machine_id, sr->hostname);
        printf("  %-17s %-12s %-10s %4s %12s  %-25s %8s\n", "created (UTC)", "commit", "branch", "n", "median",
               "95% CI of the median", "change");
        for (size_t k = 0; k < sr->n; k++) {
            const history_point *p = &sr->pts[k];
            char date[20], ci[64], chg[16] = "";
            time_t t = (time_t)p->created_unix;
            struct tm tm;
            gmtime_r(&t, &tm);
            strftime(date, sizeof date, "%Y-%m-%d %H:%M", &tm);
            snprintf(ci, sizeof ci, "%.4g to %.4g", p->lo, p->hi);
            if (k)
                snprintf(chg, sizeof chg, "%+.2f%%", 100 * (p->median / sr->pts[k - 1].median - 1));
            report_fprintf(stdout, REPORT_ESC_TERMINAL, "  %-17s %-12.12s %-10.10s %4zu %12.4g  %-25s %8s\n", date, p->commit[0] ? p->commit : "-",
                   p->branch[0] ? p->branch : "-", p->n, p->median, ci, chg);
        }
    }
    history_series_set_free(&set);
    return TB_EXIT_OK;
}

/* ---- trend ---- */
static int do_trend(history_store *s, history_args *a)
{
    if (!a->out)
        return cli_usage_error(CMD, "trend needs --out DIR"), TB_EXIT_USAGE;
    history_series_set set;
    history_error err;
    if (history_load_series(s, &a->f, &set, &err) < 0)
        return store_error(&err);
    char title[600];
    snprintf(title, sizeof title, "thermabench history: %s%s%s", a->f.config ? a->f.config : "all configs",
             a->f.machine ? " on " : "", a->f.machine ? a->f.machine : "");
    report_error rerr;
    int rc = history_write_trend(&set, &a->cp, a->out, title, &rerr);
    size_t n = set.n;
    history_series_set_free(&set);
    if (rc < 0) {
        fprintf(stderr, "thermabench history: %s\n", rerr.msg);
        return TB_EXIT_USAGE;
    }
    printf("wrote %s/index.html (%zu series)\n", a->out, n);
    return TB_EXIT_OK;
}

/* ---- changes ---- */
static void segment_means(const history_series *sr, size_t a, size_t b, double *temp, double *clock)
{
    double ts = 0, cs = 0;
    size_t nt = 0, nc = 0;
    for (size_t i = a; i < b; i++) {
        if (isfinite(sr->pts[i].temp_start_c))
            ts += sr->pts[i].temp_start_c, nt++;
        if (isfinite(sr->pts[i].clock_mean_mhz))
            cs += sr->pts[i].clock_mean_mhz, nc++;
    }
    *temp = nt ? ts / (double)nt : NAN;
    *clock = nc ? cs / (double)nc : NAN;
}

/* Temperature and clock across the change; a change of 3 C or 3 % in
 * them is named as a possible cause. */
static void print_telemetry(const history_series *sr, const history_change *c)
{
    double t0, c0, t1, c1;
    segment_means(sr, c->seg_start, c->index, &t0, &c0);
    segment_means(sr, c->index, c->seg_end, &t1, &c1);
    printf("    telemetry: ");
    if (isfinite(t0) && isfinite(t1))
        printf("start temperature %.1f -> %.1f C", t0, t1);
    else
        printf("start temperature unknown");
    if (isfinite(c0) && isfinite(c1))
        printf(", mean clock %.0f -> %.0f MHz", c0, c1);
    else
        printf(", clock unknown");
    bool hot = isfinite(t0) && isfinite(t1) && fabs(t1 - t0) >= 3;
    bool clk = isfinite(c0) && isfinite(c1) && c0 > 0 && fabs(c1 / c0 - 1) >= 0.03;
    if (hot || clk)
        printf(": coincides with a %s change: the machine, not the code, may have moved",
               hot && clk ? "temperature and clock" : hot ? "temperature" : "clock");
    printf("\n");
}

static int do_changes(history_store *s, history_args *a)
{
    int fail_on = 1;        /* 0 none, 1 regression, 2 any */
    if (a->fail_on) {
        if (!strcmp(a->fail_on, "none")) fail_on = 0;
        else if (!strcmp(a->fail_on, "regression")) fail_on = 1;
        else if (!strcmp(a->fail_on, "any")) fail_on = 2;
        else return cli_usage_error(CMD, "--fail-on: expected regression, any or none, got '%s'", a->fail_on),
                    TB_EXIT_USAGE;
    }
    /* The whole series gives the context; --since picks which changes to report. */
    long long since = a->f.since_unix;
    a->f.since_unix = 0;
    history_series_set set;
    history_error err;
    if (history_load_series(s, &a->f, &set, &err) < 0)
        return store_error(&err);
    int shown = 0, failing = 0;
    for (size_t i = 0; i < set.n; i++) {
        const history_series *sr = &set.s[i];
        double *y = malloc((sr->n ? sr->n : 1) * sizeof *y);
        history_change cp[64];
        if (!y) {
            history_series_set_free(&set);
            fprintf(stderr, "thermabench history: out of memory\n");
            return TB_EXIT_FAIL;
        }
        for (size_t k = 0; k < sr->n; k++)
            y[k] = sr->pts[k].median;
        int n = history_changepoints(y, sr->n, &a->cp, cp, 64);
        free(y);
        for (int k = 0; k < n; k++) {
            const history_point *before = &sr->pts[cp[k].index - 1], *after = &sr->pts[cp[k].index];
            if (after->created_unix < since)
                continue;
            bool worse = sr->higher_is_better ? cp[k].ratio < 1 : cp[k].ratio > 1;
            char date[20];
            time_t t = (time_t)after->created_unix;
            struct tm tm;
            gmtime_r(&t, &tm);
            strftime(date, sizeof date, "%Y-%m-%d %H:%M", &tm);
            report_fprintf(stdout, REPORT_ESC_TERMINAL,
                           "%s / %s / %s on %s (%s): %s at %s, %s..%s: %+.2f%% (95%% CI %+.2f%% to %+.2f%%), p %.3g\n",
                   sr->config, sr->variant, sr->metric, sr->machine_id, sr->hostname,
                   worse ? "regression" : "improvement", date, before->commit[0] ? before->commit : "?",
                   after->commit[0] ? after->commit : "?", 100 * (cp[k].ratio - 1), 100 * (cp[k].lo - 1),
                   100 * (cp[k].hi - 1), cp[k].p);
            print_telemetry(sr, &cp[k]);
            shown++;
            failing += fail_on == 2 || (fail_on == 1 && worse);
        }
    }
    printf("%d change point%s in %zu series\n", shown, shown == 1 ? "" : "s", set.n);
    history_series_set_free(&set);
    return failing ? TB_EXIT_FAIL : TB_EXIT_OK;
}

/* ---- import / export ---- */
static int do_import(history_store *s, history_args *a)
{
    if (!a->nrest)
        return cli_usage_error(CMD, "import needs one or more results.json files"), TB_EXIT_USAGE;
    for (int i = 0; i < a->nrest; i++) {
        history_error err;
        long long id;
        bool replaced;
        if (history_append_results(s, a->rest[i], a->f.tags, a->f.ntags, &id, &replaced, &err) < 0)
            return store_error(&err);
        report_fprintf(stdout, REPORT_ESC_TERMINAL, "%s: experiment %lld%s\n", a->rest[i], id, replaced ? " (replaced the earlier copy)" : "");
    }
    return TB_EXIT_OK;
}

static int do_export(history_store *s, history_args *a)
{
    history_format fmt = HISTORY_FORMAT_JSON;
    if (a->format && !strcmp(a->format, "csv"))
        fmt = HISTORY_FORMAT_CSV;
    else if (a->format && strcmp(a->format, "json"))
        return cli_usage_error(CMD, "--format: expected json or csv, got '%s'", a->format), TB_EXIT_USAGE;
    FILE *f = stdout;
    if (a->out && !(f = fopen(a->out, "w"))) {
        fprintf(stderr, "thermabench history: --out %s: cannot write\n", a->out);
        return TB_EXIT_USAGE;
    }
    history_error err;
    int rc = history_export(s, &a->f, fmt, f, &err);
    if (f != stdout && fclose(f) != 0 && rc == 0) {
        fprintf(stderr, "thermabench history: --out %s: write error\n", a->out);
        return TB_EXIT_FAIL;
    }
    return rc < 0 ? store_error(&err) : TB_EXIT_OK;
}

int cmd_history(int argc, char **argv)
{
    history_args a;
    int p = parse(argc, argv, &a);
    if (p)
        return p > 0 ? TB_EXIT_OK : TB_EXIT_USAGE;
    static const struct {
        const char *name;
        int (*fn)(history_store *, history_args *);
        int flags;
    } subs[] = {{"list", do_list, HISTORY_OPEN_READ},       {"show", do_show, HISTORY_OPEN_READ},
                {"trend", do_trend, HISTORY_OPEN_READ},     {"changes", do_changes, HISTORY_OPEN_READ},
                {"import", do_import, HISTORY_OPEN_CREATE}, {"export", do_export, HISTORY_OPEN_READ}};
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        if (strcmp(a.sub, subs[i].name))
            continue;
        if (strcmp(a.sub, "import") && a.nrest && strcmp(a.sub, "show"))
            return cli_usage_error(CMD, "unexpected argument '%s'", a.rest[0]), TB_EXIT_USAGE;
        history_error err;
        if (subs[i].flags & HISTORY_OPEN_CREATE && history_prepare_path(a.spec, &err) < 0)
            return store_error(&err);
        history_store *s = history_open(a.spec, subs[i].flags, &err);
        if (!s)
            return store_error(&err);
        int rc = subs[i].fn(s, &a);
        history_close(s);
        return rc;
    }
    return cli_usage_error(CMD, "unknown subcommand '%s' (list, show, trend, changes, import, export)", a.sub),
           TB_EXIT_USAGE;
}
