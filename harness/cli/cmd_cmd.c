/* thermabench cmd 'A' 'B' ...: benchmark command lines in one line, with
 * hyperfine's everyday options, run by the harness (interleaved order,
 * cooldown, telemetry, results.json) and ended with the verdict, its
 * interval and, with --max-regression, the gate. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "harness.h"
#include "reports.h"

static const char *CMD = "cmd";

enum {
    O_RUNS, O_WARMUP, O_PREPARE, O_SETUP, O_CLEANUP, O_SHELL, O_NO_SHELL, O_PARAM_SCAN, O_PARAM_STEP, O_PARAM_LIST,
    O_NAME, O_IGNORE_FAILURE, O_TIME_UNIT, O_EXPORT_JSON, O_EXPORT_MARKDOWN, O_EXPORT_CSV, O_EXPORT_BMF,
    O_EXPORT_GITHUB, O_EXPORT_GOOGLE, O_EXPORT_OPENMETRICS, O_ORDER, O_SEED, O_COOLDOWN, O_COOLDOWN_WITHIN,
    O_COOLDOWN_BELOW, O_NO_PROBES, O_TIMEOUT, O_OUTPUT, O_MAX_REGRESSION, O_METRIC, O_MAX_CV, O_OUT, O_REPORT, O_STRICT, O_QUIET,
    O_JSON, O_HELP
};

static const cli_option options[] = {
    [O_RUNS] = {"runs", 'r', "N", "measured runs of each command (default 10)"},
    [O_WARMUP] = {"warmup", 'w', "N", "warm-up runs of each command, not measured (default 0)"},
    [O_PREPARE] = {"prepare", 'p', "CMD", "run before every run, not timed; once for all commands, or once\nper command in order"},
    [O_SETUP] = {"setup", 's', "CMD", "run once before a command's first run"},
    [O_CLEANUP] = {"cleanup", 'c', "CMD", "run once after a command's last run"},
    [O_SHELL] = {"shell", 'S', "SHELL", "none (default): split each command line into words as a shell\nwould, without running one; or a shell (sh, bash, ...) to run it\nwith SHELL -c, whose startup is measured and reported"},
    [O_NO_SHELL] = {"no-shell", 'N', NULL, "the same as --shell=none"},
    [O_PARAM_SCAN] = {"parameter-scan", 'P', "VAR MIN MAX", "one command per value of VAR from MIN to MAX ({VAR} in commands)"},
    [O_PARAM_STEP] = {"parameter-step-size", 'D', "STEP", "step of --parameter-scan (default 1)"},
    [O_PARAM_LIST] = {"parameter-list", 'L', "VAR V1,V2,...", "one command per listed value of VAR (several: every combination)"},
    [O_NAME] = {"command-name", 'n', "NAME", "name of the next command in reports (once per command)"},
    [O_IGNORE_FAILURE] = {"ignore-failure", 'i', NULL, "a non-zero exit status is recorded but does not fail the run"},
    [O_TIME_UNIT] = {"time-unit", 'u', "UNIT", "s, ms or us for the summary and Markdown (default: s from 1 s up, else ms)"},
    [O_EXPORT_JSON] = {"export-json", 0, "FILE", "hyperfine's JSON format"},
    [O_EXPORT_MARKDOWN] = {"export-markdown", 0, "FILE", "hyperfine's Markdown table"},
    [O_EXPORT_CSV] = {"export-csv", 0, "FILE", "hyperfine's CSV"},
    [O_EXPORT_BMF] = {"export-bmf", 0, "FILE", "Bencher Metric Format"},
    [O_EXPORT_GITHUB] = {"export-github-benchmark", 0, "FILE", "github-action-benchmark (customSmallerIsBetter)"},
    [O_EXPORT_GOOGLE] = {"export-google-benchmark", 0, "FILE", "Google Benchmark JSON (for its compare.py)"},
    [O_EXPORT_OPENMETRICS] = {"export-openmetrics", 0, "FILE", "OpenMetrics text"},
    [O_ORDER] = {"order", 0, "ORDER", "abba (default), interleaved, random or sequential (hyperfine's)"},
    [O_SEED] = {"seed", 0, "N", "seed of the random order (default 1)"},
    [O_COOLDOWN] = {"cooldown", 0, "SECONDS", "pause before every run but the first"},
    [O_COOLDOWN_WITHIN] = {"cooldown-within", 0, "DEG_C", "before every run, wait until the temperature is within DEG_C\nof the idle baseline measured at the start"},
    [O_COOLDOWN_BELOW] = {"cooldown-below", 0, "DEG_C", "before every run, wait until the temperature is below DEG_C"},
    [O_NO_PROBES] = {"no-probes", 0, NULL, "no telemetry sampling"},
    [O_TIMEOUT] = {"timeout", 't', "SECONDS", "per-run limit (default 600)"},
    [O_OUTPUT] = {"output", 0, "WHERE", "discard (default; also 'null') or capture (also 'pipe': the\nlast 2 KiB of each run are kept in results.json)"},
    [O_MAX_REGRESSION] = {"max-regression", 0, "PCT", "gate every command against the first: exit 1 when one is slower\nby more than PCT (e.g. 3%), 3 when it cannot tell"},
    [O_METRIC] = {"metric", 'm', "NAME", "what the summary, verdict and gate compare: wall_ms (default),\nuser_ms, sys_ms or max_rss_bytes"},
    [O_MAX_CV] = {"max-cv", 0, "PCT", "the gate's noise limit: above this robust CV it says\ninconclusive (default 10%)"},
    [O_OUT] = {"out", 'o', "DIR", "results directory (default results/<UTC time>-cmd)"},
    [O_REPORT] = {"report", 0, NULL, "also write report.md, report.html and runs.csv"},
    [O_STRICT] = {"strict", 0, NULL, "refuse to start when a preflight check warns"},
    [O_QUIET] = {"quiet", 'q', NULL, "no progress output"},
    [O_JSON] = {"json", 0, NULL, "print the summary as JSON on stdout"},
    [O_HELP] = {"help", 'h', NULL, "this help"},
    {0},
};

static void usage(FILE *f)
{
    cli_help(f,
             "usage: thermabench cmd [options] COMMAND...\n\n"
             "Benchmarks command lines against each other: wall time (spawn to exit),\n"
             "user and system CPU time and peak RSS of each run, measured by the harness.\n"
             "Runs alternate between the commands (ABBA), telemetry is sampled, and the\n"
             "summary ends with each command's ratio to the fastest and its 95% interval.\n"
             "Results go to a results directory like `thermabench run`'s; stdin is /dev/null.\n",
             options,
             "\nexit status: 0 done (gate passed), 1 every run failed or the gate found a\n"
             "regression, 2 bad usage, 3 gate inconclusive, 130 interrupted\n");
}

/* ---- words, as a shell would split them ------------------------------ */

/* Splits a command line into words: blanks separate, '...' is literal, "..."
 * keeps \" \\ \$ \` escapes, a backslash outside quotes escapes the next
 * character. What only a shell can do (pipes, redirections, variables,
 * globs, ~) is refused with a hint, never passed on as a literal. */
static int split_words(const char *s, harness_argv *out, char *why, size_t n)
{
    memset(out, 0, sizeof *out);
    char word[256];
    size_t len = 0;
    bool in_word = false;
    for (const char *p = s;; p++) {
        char c = *p;
        if (!c || c == ' ' || c == '\t' || c == '\n') {
            if (in_word) {
                if (out->argc == HARNESS_MAX_ARGS) return snprintf(why, n, "more than %d words", HARNESS_MAX_ARGS), -1;
                word[len] = 0;
                strcpy(out->argv[out->argc++], word);
                len = 0, in_word = false;
            }
            if (!c) break;
            continue;
        }
        if (len + 2 >= sizeof word) return snprintf(why, n, "a word longer than 255 bytes"), -1;
        if (c == '\'') {
            const char *end = strchr(p + 1, '\'');
            if (!end) return snprintf(why, n, "unterminated single quote"), -1;
            for (p++; p < end; p++) {
                if (len + 2 >= sizeof word) return snprintf(why, n, "a word longer than 255 bytes"), -1;
                word[len++] = *p;
            }
            in_word = true;
        } else if (c == '"') {
            for (p++; *p && *p != '"'; p++) {
                if (*p == '$' || *p == '`')
                    return snprintf(why, n, "'%c' inside double quotes needs a shell", *p), -1;
                if (*p == '\\' && p[1] && strchr("\\\"$`", p[1])) p++;
                if (len + 2 >= sizeof word) return snprintf(why, n, "a word longer than 255 bytes"), -1;
                word[len++] = *p;
            }
            if (!*p) return snprintf(why, n, "unterminated double quote"), -1;
            in_word = true;
        } else if (c == '\\') {
            if (!p[1]) return snprintf(why, n, "a backslash at the end"), -1;
            word[len++] = *++p;
            in_word = true;
        } else if (strchr("|&;<>()$`*?[]{}", c) || (c == '~' && !in_word) || (c == '#' && !in_word)) {
            return snprintf(why, n, "'%c' needs a shell (quote it, or use --shell=sh)", c), -1;
        } else {
            word[len++] = c;
            in_word = true;
        }
    }
    if (!out->argc) return snprintf(why, n, "an empty command"), -1;
    return 0;
}

/* ---- parameters -------------------------------------------------------- */

typedef struct param {
    char name[32];
    int nvalues;
    char values[HARNESS_MAX_VARIANTS][128];
} param;

/* Replaces every {NAME} of the parameters by the values picked by idx. */
static int substitute(const char *in, const param *ps, int np, const int *idx, char *out, size_t n)
{
    size_t k = 0;
    for (const char *p = in; *p;) {
        bool done = false;
        for (int i = 0; i < np && *p == '{'; i++) {
            size_t l = strlen(ps[i].name);
            if (!strncmp(p + 1, ps[i].name, l) && p[1 + l] == '}') {
                const char *v = ps[i].values[idx[i]];
                if (k + strlen(v) >= n) return -1;
                memcpy(out + k, v, strlen(v));
                k += strlen(v), p += l + 2, done = true;
                break;
            }
        }
        if (done) continue;
        if (k + 1 >= n) return -1;
        out[k++] = *p++;
    }
    out[k] = 0;
    return 0;
}

static int parse_scan(const char *spec, const char *step_text, param *p)
{
    /* spec: "VAR\x1fMIN\x1fMAX" (joined from three arguments). */
    char buf[512];
    snprintf(buf, sizeof buf, "%s", spec);
    char *min = strchr(buf, '\x1f'), *max = min ? strchr(min + 1, '\x1f') : NULL;
    if (!min || !max) return cli_usage_error(CMD, "--parameter-scan needs VAR MIN MAX");
    *min++ = 0, *max++ = 0;
    double lo, hi, step = 1;
    if (cli_parse_double(CMD, "--parameter-scan MIN", min, -1e15, 1e15, &lo) ||
        cli_parse_double(CMD, "--parameter-scan MAX", max, -1e15, 1e15, &hi) ||
        (step_text && cli_parse_double(CMD, "--parameter-step-size", step_text, 1e-12, 1e15, &step)))
        return -1;
    if (hi < lo) return cli_usage_error(CMD, "--parameter-scan: MAX %g is below MIN %g", hi, lo);
    if (!buf[0] || strlen(buf) >= sizeof p->name) return cli_usage_error(CMD, "--parameter-scan: VAR must be 1 to 31 bytes");
    memcpy(p->name, buf, strlen(buf) + 1);
    bool integral = lo == floor(lo) && step == floor(step);
    for (double v = lo; v <= hi + step * 1e-9; v += step) {
        if (p->nvalues == HARNESS_MAX_VARIANTS)
            return cli_usage_error(CMD, "--parameter-scan: more than %d values", HARNESS_MAX_VARIANTS);
        if (integral) snprintf(p->values[p->nvalues++], sizeof p->values[0], "%.0f", v);
        else snprintf(p->values[p->nvalues++], sizeof p->values[0], "%.10g", v);
    }
    return 0;
}

static int parse_list(const char *spec, param *p)
{
    char buf[2048];
    snprintf(buf, sizeof buf, "%s", spec);
    char *list = strchr(buf, '\x1f');
    if (!list) return cli_usage_error(CMD, "--parameter-list needs VAR and a comma-separated list");
    *list++ = 0;
    if (!buf[0] || strlen(buf) >= sizeof p->name) return cli_usage_error(CMD, "--parameter-list: VAR must be 1 to 31 bytes");
    memcpy(p->name, buf, strlen(buf) + 1);
    for (char *v = list, *next; v; v = next) {
        next = strchr(v, ',');
        if (next) *next++ = 0;
        if (p->nvalues == HARNESS_MAX_VARIANTS)
            return cli_usage_error(CMD, "--parameter-list: more than %d values", HARNESS_MAX_VARIANTS);
        if (strlen(v) >= sizeof p->values[0]) return cli_usage_error(CMD, "--parameter-list: a value longer than 127 bytes");
        memcpy(p->values[p->nvalues++], v, strlen(v) + 1);
    }
    return 0;
}

/* hyperfine's -P VAR MIN MAX and -L VAR LIST take several arguments:
 * joined into one (separated by 0x1f) before getopt_long sees them. */
static char **join_multi_value_options(int argc, char **argv, int *out_argc)
{
    char **out = calloc((size_t)argc + 1, sizeof *out);
    int n = 0;
    for (int i = 0; out && i < argc; i++) {
        const char *a = argv[i];
        int take = !strcmp(a, "-P") || !strcmp(a, "--parameter-scan") ? 3
                   : !strcmp(a, "-L") || !strcmp(a, "--parameter-list") ? 2 : 0;
        if (!strcmp(a, "--")) take = 0;
        if (!take || i + take >= argc) {
            out[n++] = strdup(a);
            if (!strcmp(a, "--"))
                while (++i < argc) out[n++] = strdup(argv[i]);
            continue;
        }
        const char *name = take == 3 ? "--parameter-scan=" : "--parameter-list=";
        size_t len = strlen(name) + 1;
        for (int k = 1; k <= take; k++) len += strlen(argv[i + k]) + 1;
        char *j = malloc(len);
        if (!j) break;
        strcpy(j, name);
        for (int k = 1; k <= take; k++) {
            strcat(j, argv[i + k]);
            if (k < take) strcat(j, "\x1f");
        }
        out[n++] = j;
        i += take;
    }
    *out_argc = n;
    return out;
}

/* ---- the summary --------------------------------------------------------- */

typedef struct unit { const char *name; double per_ms; } unit;

static unit pick_unit(const char *asked, double median_ms)
{
    if (asked && !strcmp(asked, "s")) return (unit){"s", 1e-3};
    if (asked && !strcmp(asked, "us")) return (unit){"us", 1e3};
    if (asked) return (unit){"ms", 1};
    return median_ms >= 1000 ? (unit){"s", 1e-3} : (unit){"ms", 1};
}

typedef struct command_stats {
    const char *name;
    report_summary primary;      /* the metric the verdict uses (--metric) */
    report_summary wall, user, sys, rss;
    bool have_user, have_sys, have_rss;
} command_stats;

static void stats_of(const report_results *r, const char *variant, command_stats *s)
{
    size_t max = (size_t)r->nruns + 1;
    double *x = malloc(max * sizeof *x);
    memset(s, 0, sizeof *s);
    s->name = variant;
    if (!x) return;
    const char *names[] = {"wall_ms", "user_ms", "sys_ms", "max_rss_bytes"};
    report_summary *out[] = {&s->wall, &s->user, &s->sys, &s->rss};
    bool *have[] = {NULL, &s->have_user, &s->have_sys, &s->have_rss};
    for (int m = 0; m < 4; m++) {
        size_t n = report_metric_values(r, variant, names[m], x, max);
        if (n) report_summarize(x, n, out[m]);
        if (have[m]) *have[m] = n > 0;
    }
    size_t n = report_metric_values(r, variant, r->metric_name, x, max);
    if (n) report_summarize(x, n, &s->primary);
    free(x);
}

static void print_stats(const command_stats *s, int index, unit u, const char *shell_note)
{
    printf("Benchmark %d: %s\n", index + 1, s->name);
    if (!s->wall.n) {
        printf("  no successful measured run\n\n");
        return;
    }
    printf("  Time (median):      %8.4g %s   mean ± σ: %.4g %s ± %.3g %s", s->wall.median * u.per_ms, u.name,
           s->wall.mean * u.per_ms, u.name, (s->wall.n >= 2 ? s->wall.sd : 0) * u.per_ms, u.name);
    if (s->have_user && s->have_sys)
        printf("    [User: %.4g %s, System: %.4g %s]", s->user.mean * u.per_ms, u.name, s->sys.mean * u.per_ms, u.name);
    printf("\n  Range (min … max):  %8.4g %s … %.4g %s    %zu runs", s->wall.min * u.per_ms, u.name,
           s->wall.max * u.per_ms, u.name, s->wall.n);
    if (s->have_rss) printf("    max RSS %.1f MiB", s->rss.median / (1 << 20));
    printf("\n%s\n", shell_note);
}

/* "B ran 1.03 ± 0.08 times faster than A (95% CI 0.97–1.10)": hyperfine's
 * ratio of means of the verdict's metric (wall_ms unless --metric) with its
 * propagated spread, and the interval (Fieller) this project's comparison
 * gives. */
static void print_summary(const report_results *r, const command_stats *s, int n, int fastest)
{
    if (n < 2 || !s[fastest].primary.n) return;
    printf("Summary (%s)\n  '%s' ran\n", r->metric_name, s[fastest].name);
    for (int i = 0; i < n; i++) {
        if (i == fastest || !s[i].primary.n) continue;
        const report_summary *a = &s[i].primary, *b = &s[fastest].primary;
        double ratio = a->mean / b->mean;
        double spread = a->n >= 2 && b->n >= 2 ? ratio * sqrt(pow(a->sd / a->mean, 2) + pow(b->sd / b->mean, 2)) : NAN;
        printf("    %6.3f ± %.3f times faster than '%s'", ratio, spread, s[i].name);
        report_comparison c;
        report_error err = {0};
        if (report_compare(r, s[i].name, r, s[fastest].name, &c, &err) == 0 && c.fieller_ok && c.fieller.lo > 0)
            printf("   (95%% CI %.3f–%.3f%s)", 1 / c.fieller.hi, 1 / c.fieller.lo,
                   c.fieller.hi < 1 ? "" : "; not a detectable difference");
        else
            printf("   (95%% CI unbounded: too noisy or too few runs)");
        printf("\n");
    }
}

/* ---- the command ----------------------------------------------------------- */

typedef struct cmd_args {
    long runs, warmup;
    const char *prepare[HARNESS_MAX_VARIANTS];
    int nprepare;
    const char *setup, *cleanup, *shell, *time_unit, *order, *out, *output, *metric;
    const char *exports[REPORT_EXPORT_COUNT];
    const char *names[HARNESS_MAX_VARIANTS];
    int nnames;
    param params[4];
    int nparams;
    const char *scan, *step;
    bool ignore_failure, no_probes, report, strict, quiet, json;
    unsigned long long seed;
    double cooldown_s, cooldown_within, cooldown_below, timeout_s, max_regression, max_cv;
} cmd_args;

static cJSON *argv_json(const harness_argv *a)
{
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; i < a->argc; i++) cJSON_AddItemToArray(arr, cJSON_CreateString(a->argv[i]));
    return arr;
}

/* A command line as an argument vector: words, or SHELL -c LINE. */
static int to_argv(const cmd_args *a, const char *line, harness_argv *out, const char *what)
{
    char why[256];
    if (a->shell) {
        memset(out, 0, sizeof *out);
        if (strlen(line) >= sizeof out->argv[0] || strlen(a->shell) >= sizeof out->argv[0])
            return cli_usage_error(CMD, "%s '%.60s...': longer than 255 bytes", what, line);
        out->argc = 3;
        strcpy(out->argv[0], a->shell);
        strcpy(out->argv[1], "-c");
        strcpy(out->argv[2], line);
        return 0;
    }
    if (split_words(line, out, why, sizeof why)) return cli_usage_error(CMD, "%s '%s': %s", what, line, why);
    return 0;
}

/* A variant name: the command line when it fits, else its start and a number. */
static void variant_name(const char *line, int index, char *out, size_t n)
{
    if (strlen(line) < n) {
        snprintf(out, n, "%s", line);
        return;
    }
    size_t cut = n - 12;
    while (cut > 0 && ((unsigned char)line[cut] & 0xC0) == 0x80) cut--;   /* whole UTF-8 characters */
    snprintf(out, n, "%.*s... #%d", (int)cut, line, index + 1);
}

static cJSON *build_config(const cmd_args *a, char **lines, int nlines, harness_argv *shell_probe)
{
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "name", "cmd");
    cJSON *w = cJSON_AddObjectToObject(c, "workload");
    cJSON_AddStringToObject(w, "type", "command");
    cJSON_AddStringToObject(w, "output", a->output && (!strcmp(a->output, "capture") || !strcmp(a->output, "pipe")) ? "capture" : "discard");
    if (a->ignore_failure) cJSON_AddTrueToObject(w, "ignore_failure");
    harness_argv hv;
    const char *hooks[] = {"setup", "cleanup"};
    const char *hook_lines[] = {a->setup, a->cleanup};
    for (int i = 0; i < 2; i++)
        if (hook_lines[i]) {
            if (to_argv(a, hook_lines[i], &hv, hooks[i])) goto fail;
            cJSON_AddItemToObject(w, hooks[i], argv_json(&hv));
        }
    if (a->nprepare == 1) {
        if (to_argv(a, a->prepare[0], &hv, "--prepare")) goto fail;
        cJSON_AddItemToObject(w, "prepare", argv_json(&hv));
    }
    cJSON *vs = cJSON_AddArrayToObject(c, "variants");
    int combos = 1;
    for (int i = 0; i < a->nparams; i++) combos *= a->params[i].nvalues;
    if ((long)nlines * combos > HARNESS_MAX_VARIANTS) {
        cli_usage_error(CMD, "%d commands: at most %d", nlines * combos, HARNESS_MAX_VARIANTS);
        goto fail;
    }
    if (a->nnames && a->nnames != nlines) {
        cli_usage_error(CMD, "%d --command-name for %d commands: give one per command", a->nnames, nlines);
        goto fail;
    }
    if (a->nprepare > 1 && a->nprepare != nlines) {
        cli_usage_error(CMD, "%d --prepare for %d commands: give one, or one per command", a->nprepare, nlines);
        goto fail;
    }
    int made = 0;
    for (int l = 0; l < nlines; l++)
        for (int combo = 0; combo < combos; combo++) {
            int idx[4], rest = combo;
            for (int i = a->nparams - 1; i >= 0; i--) idx[i] = rest % a->params[i].nvalues, rest /= a->params[i].nvalues;
            char line[1024], name[1024], vname[64];
            if (substitute(lines[l], a->params, a->nparams, idx, line, sizeof line) ||
                substitute(a->nnames ? a->names[l] : lines[l], a->params, a->nparams, idx, name, sizeof name)) {
                cli_usage_error(CMD, "command '%.60s': too long after substituting parameters", lines[l]);
                goto fail;
            }
            variant_name(name, made, vname, sizeof vname);
            const cJSON *prev;
            cJSON_ArrayForEach(prev, vs)
                if (!strcmp(cJSON_GetObjectItem(prev, "name")->valuestring, vname)) {
                    size_t len = strlen(vname);
                    snprintf(vname + (len > 50 ? 50 : len), sizeof vname - (len > 50 ? 50 : len), " #%d", made + 1);
                }
            cJSON *v = cJSON_CreateObject();
            cJSON_AddStringToObject(v, "name", vname);
            char desc[256];
            if (strlen(line) < sizeof desc) memcpy(desc, line, strlen(line) + 1);
            else snprintf(desc, sizeof desc, "%.240s...", line);
            cJSON_AddStringToObject(v, "description", desc);
            if (to_argv(a, line, &hv, "command")) {
                cJSON_Delete(v);
                goto fail;
            }
            cJSON_AddItemToObject(v, "command", argv_json(&hv));
            if (a->nprepare > 1) {
                char prep[1024];
                if (substitute(a->prepare[l], a->params, a->nparams, idx, prep, sizeof prep) ||
                    to_argv(a, prep, &hv, "--prepare")) {
                    cJSON_Delete(v);
                    goto fail;
                }
                cJSON_AddItemToObject(v, "prepare", argv_json(&hv));
            }
            if (a->nparams) {
                cJSON *p = cJSON_AddObjectToObject(v, "parameters");
                for (int i = 0; i < a->nparams; i++) cJSON_AddStringToObject(p, a->params[i].name, a->params[i].values[idx[i]]);
            }
            cJSON_AddItemToArray(vs, v);
            made++;
        }
    cJSON_AddStringToObject(c, "primary_metric", a->metric ? a->metric : "wall_ms");
    cJSON_AddNumberToObject(c, "repetitions", (double)a->runs);
    cJSON_AddNumberToObject(c, "warmup", (double)a->warmup);
    cJSON_AddStringToObject(c, "order", a->order ? a->order : "abba");
    cJSON_AddNumberToObject(c, "seed", (double)a->seed);
    cJSON_AddNumberToObject(c, "timeout_s", a->timeout_s);
    cJSON *cd = cJSON_AddObjectToObject(c, "cooldown");
    if (!isnan(a->cooldown_below) || !isnan(a->cooldown_within)) {
        cJSON_AddStringToObject(cd, "mode", "temperature");
        if (!isnan(a->cooldown_below)) cJSON_AddNumberToObject(cd, "below_c", a->cooldown_below);
        if (!isnan(a->cooldown_within)) cJSON_AddNumberToObject(cd, "within_c", a->cooldown_within);
    } else if (a->cooldown_s > 0) {
        cJSON_AddStringToObject(cd, "mode", "fixed");
        cJSON_AddNumberToObject(cd, "seconds", a->cooldown_s);
    }
    cJSON *pr = cJSON_AddObjectToObject(c, "probes");
    cJSON_AddBoolToObject(pr, "enabled", !a->no_probes);
    if (a->shell) {
        memset(shell_probe, 0, sizeof *shell_probe);
        shell_probe->argc = 3;
        snprintf(shell_probe->argv[0], sizeof shell_probe->argv[0], "%s", a->shell);
        strcpy(shell_probe->argv[1], "-c");
    }
    return c;
fail:
    cJSON_Delete(c);
    return NULL;
}

/* The shell's own startup (SHELL -c ''), measured as the commands are, so
 * it can be taken off honestly: reported beside them, never subtracted
 * silently. */
static double shell_startup_ms(const harness_argv *probe, long runs, double *spread)
{
    long n = runs < 10 ? 10 : runs;
    double *x = malloc((size_t)n * sizeof *x);
    long ok = 0;
    harness_exec_options o = {.timeout_s = 60, .output = HARNESS_OUTPUT_DISCARD};
    for (long i = 0; x && i < n + 2; i++) {
        harness_command_result r;
        harness_error err = {0};
        if (harness_command_exec(probe, &o, &r, &err) == 0 && r.ok && i >= 2) x[ok++] = r.wall_ms;
        harness_command_result_free(&r);
        if (harness_interrupted()) break;
    }
    double med = NAN;
    if (ok) {
        report_summary s;
        report_summarize(x, (size_t)ok, &s);
        med = s.median;
        *spread = s.mad * 1.4826;
    }
    free(x);
    return med;
}

static int gate(const report_results *r, double max_regression, double max_cv, cJSON *json_out)
{
    int worst = TB_EXIT_OK;
    report_gate_options go;
    report_gate_defaults(&go);
    go.max_regression = max_regression;
    if (max_cv > 0) go.max_cv = max_cv;
    go.allow_env_mismatch = true;   /* one file, one machine */
    for (int i = 1; i < r->nvariants; i++) {
        report_gate_result g;
        report_error err = {0};
        if (report_gate(r, r->variants[0], r, r->variants[i], &go, &g, &err)) {
            fprintf(stderr, "thermabench cmd: gate: %s\n", err.msg);
            worst = worst == TB_EXIT_FAIL ? worst : TB_EXIT_INCONCLUSIVE;
            continue;
        }
        if (json_out) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "baseline", r->variants[0]);
            cJSON_AddStringToObject(o, "candidate", r->variants[i]);
            cJSON_AddStringToObject(o, "verdict", report_gate_verdict_name(g.verdict));
            cJSON_AddStringToObject(o, "reason", g.reason);
            cJSON_AddItemToArray(json_out, o);
        } else {
            printf("gate '%s' against '%s': %s: %s\n", r->variants[i], r->variants[0],
                   report_gate_verdict_name(g.verdict), g.reason);
        }
        if (g.verdict == REPORT_GATE_REGRESSION) worst = TB_EXIT_FAIL;
        else if (g.verdict == REPORT_GATE_INCONCLUSIVE && worst != TB_EXIT_FAIL) worst = TB_EXIT_INCONCLUSIVE;
    }
    return worst;
}

static int parse_args(int argc, char **argv, cmd_args *a, int *first_operand)
{
    cli_parser p;
    if (cli_parser_init(&p, CMD, options, argc, argv)) return TB_EXIT_FAIL;
    int id, rc = -1;
    const char *v;
    while ((id = cli_next(&p, &v)) != CLI_END) {
        switch (id) {
        case CLI_ERROR: goto done;
        case O_RUNS: if (cli_parse_long(CMD, "--runs", v, 1, 100000, &a->runs)) goto done; break;
        case O_WARMUP: if (cli_parse_long(CMD, "--warmup", v, 0, 100000, &a->warmup)) goto done; break;
        case O_PREPARE:
            if (a->nprepare == HARNESS_MAX_VARIANTS) { cli_usage_error(CMD, "too many --prepare"); goto done; }
            a->prepare[a->nprepare++] = v;
            break;
        case O_SETUP: a->setup = v; break;
        case O_CLEANUP: a->cleanup = v; break;
        case O_SHELL: a->shell = !strcmp(v, "none") || !v[0] ? NULL : v; break;
        case O_NO_SHELL: a->shell = NULL; break;
        case O_PARAM_SCAN: a->scan = v; break;
        case O_PARAM_STEP: a->step = v; break;
        case O_PARAM_LIST:
            if (a->nparams == 4) { cli_usage_error(CMD, "at most 4 parameters"); goto done; }
            if (parse_list(v, &a->params[a->nparams++])) goto done;
            break;
        case O_NAME:
            if (a->nnames == HARNESS_MAX_VARIANTS) { cli_usage_error(CMD, "too many --command-name"); goto done; }
            a->names[a->nnames++] = v;
            break;
        case O_IGNORE_FAILURE: a->ignore_failure = true; break;
        case O_TIME_UNIT:
            if (strcmp(v, "s") && strcmp(v, "ms") && strcmp(v, "us") && strcmp(v, "second") && strcmp(v, "millisecond") &&
                strcmp(v, "microsecond")) {
                cli_usage_error(CMD, "--time-unit: '%s' is not one of s, ms, us", v);
                goto done;
            }
            a->time_unit = !strcmp(v, "second") ? "s" : !strcmp(v, "millisecond") ? "ms" : !strcmp(v, "microsecond") ? "us" : v;
            break;
        case O_EXPORT_JSON: a->exports[REPORT_EXPORT_HYPERFINE_JSON] = v; break;
        case O_EXPORT_MARKDOWN: a->exports[REPORT_EXPORT_MARKDOWN] = v; break;
        case O_EXPORT_CSV: a->exports[REPORT_EXPORT_CSV] = v; break;
        case O_EXPORT_BMF: a->exports[REPORT_EXPORT_BMF] = v; break;
        case O_EXPORT_GITHUB: a->exports[REPORT_EXPORT_GITHUB_BENCHMARK] = v; break;
        case O_EXPORT_GOOGLE: a->exports[REPORT_EXPORT_GOOGLE_BENCHMARK] = v; break;
        case O_EXPORT_OPENMETRICS: a->exports[REPORT_EXPORT_OPENMETRICS] = v; break;
        case O_ORDER:
            if (strcmp(v, "abba") && strcmp(v, "interleaved") && strcmp(v, "random") && strcmp(v, "sequential")) {
                cli_usage_error(CMD, "--order: '%s' is not one of abba, interleaved, random, sequential", v);
                goto done;
            }
            a->order = v;
            break;
        case O_SEED: if (cli_parse_u64(CMD, "--seed", v, &a->seed)) goto done; break;
        case O_COOLDOWN: if (cli_parse_double(CMD, "--cooldown", v, 0, 86400, &a->cooldown_s)) goto done; break;
        case O_COOLDOWN_WITHIN: if (cli_parse_double(CMD, "--cooldown-within", v, 0, 100, &a->cooldown_within)) goto done; break;
        case O_COOLDOWN_BELOW: if (cli_parse_double(CMD, "--cooldown-below", v, -50, 150, &a->cooldown_below)) goto done; break;
        case O_NO_PROBES: a->no_probes = true; break;
        case O_TIMEOUT: if (cli_parse_double(CMD, "--timeout", v, 0.001, 1e7, &a->timeout_s)) goto done; break;
        case O_OUTPUT:
            if (strcmp(v, "discard") && strcmp(v, "null") && strcmp(v, "capture") && strcmp(v, "pipe")) {
                cli_usage_error(CMD, "--output: '%s' is not one of discard (null), capture (pipe)", v);
                goto done;
            }
            a->output = v;
            break;
        case O_MAX_REGRESSION:
            if (cli_parse_pct(CMD, "--max-regression", v, 0.001, 1000, &a->max_regression)) goto done;
            break;
        case O_METRIC:
            if (strcmp(v, "wall_ms") && strcmp(v, "user_ms") && strcmp(v, "sys_ms") && strcmp(v, "max_rss_bytes")) {
                cli_usage_error(CMD, "--metric: '%s' is not one of wall_ms, user_ms, sys_ms, max_rss_bytes", v);
                goto done;
            }
            a->metric = v;
            break;
        case O_MAX_CV:
            if (cli_parse_pct(CMD, "--max-cv", v, 0.001, 10000, &a->max_cv)) goto done;
            break;
        case O_OUT: a->out = v; break;
        case O_REPORT: a->report = true; break;
        case O_STRICT: a->strict = true; break;
        case O_QUIET: a->quiet = true; break;
        case O_JSON: a->json = true; break;
        case O_HELP: usage(stdout); rc = TB_EXIT_OK; goto done;
        }
    }
    if (a->scan) {
        if (a->nparams == 4) { cli_usage_error(CMD, "at most 4 parameters"); goto done; }
        if (parse_scan(a->scan, a->step, &a->params[a->nparams++])) goto done;
    } else if (a->step) {
        cli_usage_error(CMD, "--parameter-step-size needs --parameter-scan");
        goto done;
    }
    *first_operand = cli_positional(&p);
    rc = -2;   /* parsed; go on */
done:
    cli_parser_free(&p);
    return rc;
}

int cmd_cmd(int argc, char **argv)
{
    cmd_args a = {.runs = 10, .seed = 1, .cooldown_within = NAN, .cooldown_below = NAN, .timeout_s = 600};
    int jargc, first = 0;
    char **jargv = join_multi_value_options(argc, argv, &jargc);
    if (!jargv) return TB_EXIT_FAIL;
    int rc = parse_args(jargc, jargv, &a, &first);
    if (rc == -1) rc = TB_EXIT_USAGE;
    if (rc != -2) goto out;
    rc = TB_EXIT_USAGE;
    int nlines = jargc - first;
    if (nlines < 1) {
        cli_usage_error(CMD, "which command? (e.g. thermabench cmd 'sleep 0.1' 'sleep 0.2')");
        goto out;
    }
    harness_argv shell_probe;
    cJSON *cfg_json = build_config(&a, jargv + first, nlines, &shell_probe);
    if (!cfg_json) goto out;
    char *text = cJSON_Print(cfg_json);
    cJSON_Delete(cfg_json);
    harness_config *c = NULL;
    harness_error err = {0};
    if (!text || harness_config_load_text(text, "<thermabench cmd>", &c, &err)) {
        fprintf(stderr, "thermabench cmd: %s\n", text ? err.msg : "out of memory");
        free(text);
        rc = text ? TB_EXIT_USAGE : TB_EXIT_FAIL;
        goto out;
    }
    free(text);
    harness_install_signal_handlers();
    char shell_note[256] = "";
    if (a.shell) {
        double spread = NAN, startup = shell_startup_ms(&shell_probe, a.runs, &spread);
        if (isfinite(startup))
            snprintf(shell_note, sizeof shell_note,
                     "  (includes %s's startup: %s -c '' takes %.3g ms median, ± %.2g ms robust σ; not subtracted)\n",
                     a.shell, a.shell, startup, spread);
        else
            snprintf(shell_note, sizeof shell_note, "  (includes %s's startup, which could not be measured)\n", a.shell);
    }
    harness_run_options o = {.out_dir = a.out, .strict = a.strict, .quiet = a.quiet};
    harness_outcome out;
    rc = harness_experiment_run(c, &o, &out, &err);
    free(c);
    if (rc) {
        fprintf(stderr, "thermabench cmd: %s\n", err.msg);
        rc = err.kind == HARNESS_ERR_INPUT ? TB_EXIT_USAGE : TB_EXIT_FAIL;
        goto out;
    }
    if (out.status == HARNESS_REFUSED) {
        fprintf(stderr, "thermabench cmd: %s\n", err.msg);
        rc = TB_EXIT_FAIL;
        goto out;
    }
    char path[1200];
    snprintf(path, sizeof path, "%s/results.json", out.dir);
    if (out.status == HARNESS_INTERRUPTED) {
        fprintf(stderr, "thermabench cmd: interrupted after %d run%s; results: %s\n", out.runs_total,
                out.runs_total == 1 ? "" : "s", path);
        rc = TB_EXIT_INTERRUPTED;
        goto out;
    }
    report_results r;
    report_error rerr = {0};
    if (report_results_load(path, &r, &rerr)) {
        fprintf(stderr, "thermabench cmd: %s\n", rerr.msg);
        rc = TB_EXIT_FAIL;
        goto out;
    }
    command_stats s[HARNESS_MAX_VARIANTS];
    int fastest = 0;
    for (int i = 0; i < r.nvariants && i < HARNESS_MAX_VARIANTS; i++) {
        stats_of(&r, r.variants[i], &s[i]);
        if (s[i].primary.n && (!s[fastest].primary.n || s[i].primary.mean < s[fastest].primary.mean)) fastest = i;
    }
    unit u = pick_unit(a.time_unit, s[fastest].wall.n ? s[fastest].wall.median : 0);
    cJSON *jroot = a.json ? cJSON_CreateObject() : NULL, *jgate = NULL;
    if (jroot) {
        cJSON_AddStringToObject(jroot, "results", path);
        cJSON *cmds = cJSON_AddArrayToObject(jroot, "commands");
        for (int i = 0; i < r.nvariants; i++) {
            cJSON *o2 = cJSON_CreateObject();
            cJSON_AddStringToObject(o2, "name", s[i].name);
            cJSON_AddNumberToObject(o2, "runs", (double)s[i].wall.n);
            const char *k[] = {"wall_ms_median", "wall_ms_mean", "wall_ms_stddev", "user_ms_mean", "sys_ms_mean", "max_rss_bytes_median"};
            double val[] = {s[i].wall.median, s[i].wall.mean, s[i].wall.n >= 2 ? s[i].wall.sd : NAN,
                            s[i].have_user ? s[i].user.mean : NAN, s[i].have_sys ? s[i].sys.mean : NAN,
                            s[i].have_rss ? s[i].rss.median : NAN};
            for (int m = 0; m < 6; m++)
                if (s[i].wall.n && isfinite(val[m])) cJSON_AddNumberToObject(o2, k[m], val[m]);
                else cJSON_AddNullToObject(o2, k[m]);
            cJSON_AddItemToArray(cmds, o2);
        }
        cJSON *cmp = cJSON_AddArrayToObject(jroot, "comparisons");
        for (int i = 1; i < r.nvariants; i++) {
            report_comparison cc;
            if (report_compare(&r, r.variants[0], &r, r.variants[i], &cc, &rerr) == 0) {
                char *t = report_comparison_json(&cc, r.metric_name, r.metric_unit);
                cJSON *parsed = t ? cJSON_Parse(t) : NULL;
                free(t);
                if (parsed) cJSON_AddItemToArray(cmp, parsed);
            }
        }
        if (a.max_regression > 0) jgate = cJSON_AddArrayToObject(jroot, "gate");
    } else {
        for (int i = 0; i < r.nvariants; i++) print_stats(&s[i], i, u, shell_note);
        print_summary(&r, s, r.nvariants, fastest);
        for (int i = 1; i < r.nvariants; i++) {
            report_comparison cc;
            report_error e2 = {0};
            if (report_compare(&r, r.variants[0], &r, r.variants[i], &cc, &e2) == 0 && cc.sentence[0])
                printf("verdict: %s\n", cc.sentence);
        }
    }
    rc = out.runs_total > 0 && out.runs_failed == out.runs_total ? TB_EXIT_FAIL : TB_EXIT_OK;
    if (a.max_regression > 0) {
        int g = gate(&r, a.max_regression, a.max_cv, jgate);
        if (rc == TB_EXIT_OK) rc = g;
    }
    report_export_options eo = {.time_unit = a.time_unit ? a.time_unit : u.name};
    for (int f = 0; f < REPORT_EXPORT_COUNT; f++) {
        if (!a.exports[f]) continue;
        if (report_export_write(&r, (report_export_format)f, &eo, a.exports[f], &rerr)) {
            fprintf(stderr, "thermabench cmd: --export (%s): %s\n", report_export_format_name((report_export_format)f), rerr.msg);
            if (rc == TB_EXIT_OK) rc = TB_EXIT_FAIL;
        }
    }
    if (jroot) {
        char *t = cJSON_Print(jroot);
        if (t) puts(t);
        free(t);
        cJSON_Delete(jroot);
    } else {
        printf("%d run%s, %d failed\nresults: %s\n", out.runs_total, out.runs_total == 1 ? "" : "s", out.runs_failed, path);
    }
    if (a.report) {
        if (report_generate(path, out.dir, &rerr) == 0) {
            if (!a.json) printf("report:  %s/report.md (and report.html, runs.csv)\n", out.dir);
        } else {
            fprintf(stderr, "thermabench cmd: report not written: %s\n", rerr.msg);
        }
    }
    report_results_free(&r);
out:
    for (int i = 0; i < jargc; i++) free(jargv[i]);
    free(jargv);
    return rc;
}
