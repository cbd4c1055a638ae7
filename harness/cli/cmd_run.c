/* thermabench run [CONFIG]: runs an experiment (the built-in default A/B
 * without a config), or continues one with --resume DIR. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "harness.h"
#include "reports.h"

enum {
    O_OUT, O_RESUME, O_RUNS, O_WARMUP, O_SET, O_DRY_RUN, O_STRICT, O_WAIT, O_QUIET, O_NO_REPORT, O_PRINT_CONFIG,
    O_JSON, O_HELP
};

static const cli_option options[] = {
    [O_OUT] = {"out", 'o', "DIR", "results directory (default: results/<UTC time>-<name>)"},
    [O_RESUME] = {"resume", 0, "DIR", "continue an interrupted experiment in DIR"},
    [O_RUNS] = {"runs", 'r', "N", "measured runs per variant: the config's repetitions (default: the config's;\nthe built-in default's is 10)"},
    [O_WARMUP] = {"warmup", 'w', "N", "warm-up runs per variant (default: the config's)"},
    [O_SET] = {"set", 's', "KEY=VALUE", "override a config field by its JSON path (workload.threads=2,\ncooldown.mode=fixed, variants[1].batch_size=4); VALUE is JSON or a\nstring; repeatable; recorded in config.json"},
    [O_DRY_RUN] = {"dry-run", 'n', NULL, "print the plan (order, runs, estimated time) and exit"},
    [O_STRICT] = {"strict", 0, NULL, "refuse to start when a preflight check warns"},
    [O_WAIT] = {"wait", 0, NULL, "another run holds the results directory: wait for it (default: exit 1)"},
    [O_QUIET] = {"quiet", 'q', NULL, "no progress output"},
    [O_NO_REPORT] = {"no-report", 0, NULL, "do not write report.md / report.html at the end"},
    [O_PRINT_CONFIG] = {"print-config", 0, NULL, "print the config as it would run (defaults filled in) and exit"},
    [O_JSON] = {"json", 0, NULL, "print the summary (runs, verdicts, paths) as JSON on stdout"},
    [O_HELP] = {"help", 'h', NULL, "this help"},
    {0},
};

static void usage(FILE *f)
{
    cli_help(f,
             "usage: thermabench run [CONFIG] [options]\n"
             "       thermabench run --resume DIR [options]\n\n"
             "Runs the experiment a config describes (docs/CONFIG.md); without CONFIG the\n"
             "built-in default: an interleaved A/B of two matmul kernels on a synthetic model.\n",
             options,
             "\nexit status: 0 done; 1 every run failed, --strict refused, another run holds the\n"
             "results directory, or the results could not be written (disk full, read-only);\n"
             "2 bad config or usage; 130 interrupted (results written; continue with --resume DIR)\n");
}

/* The one-line verdict of every variant against the first (the baseline),
 * as the report's A/B summary gives it, so the main job ends with an answer. */
static void print_verdicts(const char *results_path)
{
    report_results r = {0};
    report_error err = {0};
    if (report_results_load(results_path, &r, &err) < 0)
        return;   /* the report step says what is wrong with the file */
    for (int i = 1; i < r.nvariants; i++) {
        report_comparison c;
        if (report_compare(&r, r.variants[0], &r, r.variants[i], &c, &err) == 0 && c.sentence[0])
            printf("%s\n", c.sentence);
    }
    report_results_free(&r);
}

/* Sets the value at a dotted JSON path ("a.b[1].c") in root, creating
 * objects on the way; VALUE is parsed as JSON, else taken as a string. */
static int set_path(cJSON *root, const char *assignment)
{
    const char *eq = strchr(assignment, '=');
    if (!eq || eq == assignment) return cli_usage_error("run", "--set: expected KEY=VALUE, got '%s'", assignment);
    char path[256];
    size_t plen = (size_t)(eq - assignment);
    if (plen >= sizeof path) return cli_usage_error("run", "--set: key too long");
    memcpy(path, assignment, plen);
    path[plen] = 0;
    cJSON *value = cJSON_Parse(eq + 1);
    if (!value) value = cJSON_CreateString(eq + 1);
    cJSON *node = root;
    char *save = NULL;
    for (char *part = strtok_r(path, ".", &save); part; part = strtok_r(NULL, ".", &save)) {
        char *br = strchr(part, '[');
        long index = -1;
        if (br) {
            char *end;
            index = strtol(br + 1, &end, 10);
            if (*end != ']' || end[1] || index < 0) {
                cJSON_Delete(value);
                return cli_usage_error("run", "--set: bad index in '%s'", part);
            }
            *br = 0;
        }
        bool last = !save || !*save;
        if (!cJSON_IsObject(node)) {
            cJSON_Delete(value);
            return cli_usage_error("run", "--set %s: '%s' is not inside an object", assignment, part);
        }
        cJSON *child = cJSON_GetObjectItemCaseSensitive(node, part);
        if (index >= 0) {
            if (!cJSON_IsArray(child) || index >= cJSON_GetArraySize(child)) {
                cJSON_Delete(value);
                return cli_usage_error("run", "--set %s: the config has no %s[%ld]", assignment, part, index);
            }
            if (last) {
                cJSON_ReplaceItemInArray(child, (int)index, value);
                return 0;
            }
            node = cJSON_GetArrayItem(child, (int)index);
            continue;
        }
        if (last) {
            if (child) cJSON_ReplaceItemInObjectCaseSensitive(node, part, value);
            else cJSON_AddItemToObject(node, part, value);
            return 0;
        }
        if (!child) child = cJSON_AddObjectToObject(node, part);
        node = child;
    }
    cJSON_Delete(value);
    return cli_usage_error("run", "--set: empty key");
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0, n;
    char tmp[8192];
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) {
        if (len + n + 1 > cap) {
            cap = (len + n + 1) * 2;
            char *nb = realloc(buf, cap);
            if (!nb) { free(buf); fclose(f); return NULL; }
            buf = nb;
        }
        memcpy(buf + len, tmp, n);
        len += n;
    }
    fclose(f);
    if (buf) buf[len] = 0;
    return buf;
}

/* The config with --runs, --warmup and --set applied; the config's own
 * loader checks the result and names the field in any error. */
static int load_config(const char *path, char **sets, int nsets, harness_config **c, harness_error *err)
{
    if (!nsets) return path ? harness_config_load_file(path, c, err)
                            : harness_config_load_text(harness_default_config_json, "<built-in default config>", c, err);
    char *text = path ? read_text(path) : strdup(harness_default_config_json);
    if (!text) return harness_config_load_file(path, c, err);   /* says why it cannot be read */
    cJSON *root = cJSON_Parse(text);
    free(text);
    if (!root) return path ? harness_config_load_file(path, c, err) : -1;   /* its JSON error, with line and column */
    for (int i = 0; i < nsets; i++)
        if (set_path(root, sets[i])) {
            cJSON_Delete(root);
            snprintf(err->msg, sizeof err->msg, "bad --set");
            err->kind = HARNESS_ERR_INPUT;
            return -2;
        }
    char *patched = cJSON_Print(root);
    cJSON_Delete(root);
    char source[600];
    snprintf(source, sizeof source, "%s with --set", path ? path : "<built-in default config>");
    int rc = patched ? harness_config_load_text(patched, source, c, err) : -1;
    free(patched);
    return rc;
}

/* --dry-run: the order the plan gives, the runs per variant and what the
 * time is made of. An adaptive stop is shown at its longest. */
static int dry_run(const harness_config *c)
{
    int cap = 1024, n = 0, v;
    bool warmup;
    harness_run_record *rec = malloc(sizeof *rec * (size_t)cap);
    int per[HARNESS_MAX_VARIANTS] = {0}, warm[HARNESS_MAX_VARIANTS] = {0};
    while (rec && harness_plan_next(c, rec, n, &v, &warmup)) {
        if (n == cap) {
            harness_run_record *nr = realloc(rec, sizeof *rec * (size_t)(cap *= 2));
            if (!nr) break;
            rec = nr;
        }
        rec[n++] = (harness_run_record){v, warmup, true, 1.0};
        if (warmup) warm[v]++; else per[v]++;
        if (n > 1000000) break;
    }
    printf("experiment '%s' (%s): %d runs\n", c->name, c->source, n);
    for (int i = 0; i < c->n_variants; i++)
        printf("  %-24s %d measured + %d warm-up\n", c->variants[i].name, per[i], warm[i]);
    if (c->stop.rule == HARNESS_STOP_ADAPTIVE)
        printf("  adaptive stop: each variant ends once the 95%% CI is within %g%% of the mean, after %d to %d runs;\n"
               "  the plan above is the longest\n", c->stop.target_ci_pct, c->repetitions, c->stop.max_repetitions);
    printf("order:");
    for (int i = 0; i < n && i < 60; i++)
        printf("%s %s%s", i % 8 ? "" : "\n ", c->variants[rec[i].variant].name, rec[i].warmup ? "(w)" : "");
    printf("%s\n", n > 60 ? " ..." : "");
    double cool = c->cooldown.mode == HARNESS_COOLDOWN_FIXED ? c->cooldown.seconds * (n > 0 ? n - 1 : 0) : 0;
    printf("estimated time: %d runs x each run's own time", n);
    if (cool > 0) printf(" + %.0f s of cooldown", cool);
    if (c->cooldown.mode == HARNESS_COOLDOWN_TEMPERATURE)
        printf(" + up to %g s of cooldown per run (to a temperature)", c->cooldown.timeout_s);
    printf("; at most %.0f s if every run hits timeout_s (%g s)\n", n * c->run_timeout_s + cool, c->run_timeout_s);
    free(rec);
    return TB_EXIT_OK;
}

/* The summary as JSON: where the results are, the runs and each variant's
 * comparison against the first. */
static void print_json_summary(const harness_outcome *out, const char *results, bool report_written)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", out->status == HARNESS_INTERRUPTED ? "interrupted" : "complete");
    cJSON_AddStringToObject(o, "results", results);
    cJSON_AddStringToObject(o, "dir", out->dir);
    cJSON_AddNumberToObject(o, "runs", out->runs_total);
    cJSON_AddNumberToObject(o, "failed", out->runs_failed);
    cJSON_AddBoolToObject(o, "report", report_written);
    cJSON *cmp = cJSON_AddArrayToObject(o, "comparisons");
    report_results r = {0};
    report_error err = {0};
    if (report_results_load(results, &r, &err) == 0) {
        for (int i = 1; i < r.nvariants; i++) {
            report_comparison c;
            if (report_compare(&r, r.variants[0], &r, r.variants[i], &c, &err)) continue;
            char *t = report_comparison_json(&c, r.metric_name, r.metric_unit);
            cJSON *j = t ? cJSON_Parse(t) : NULL;
            free(t);
            if (j) cJSON_AddItemToArray(cmp, j);
        }
        report_results_free(&r);
    }
    char *t = cJSON_Print(o);
    if (t) puts(t);
    free(t);
    cJSON_Delete(o);
}

int cmd_run(int argc, char **argv)
{
    const char *config_path = NULL, *out_dir = NULL, *resume = NULL, *v;
    bool strict = false, quiet = false, report = true, print_config = false, wait = false, dry = false, json = false;
    char *sets[64];
    char setbuf[2][64];
    int nsets = 0, id, prc = 0;
    cli_parser p;
    if (cli_parser_init(&p, "run", options, argc, argv)) return TB_EXIT_FAIL;
    while (!prc && (id = cli_next(&p, &v)) != CLI_END) {
        long n;
        switch (id) {
        case CLI_ERROR: prc = TB_EXIT_USAGE; break;
        case O_HELP: usage(stdout); prc = -1; break;
        case O_OUT: out_dir = v; break;
        case O_RESUME: resume = v; break;
        case O_STRICT: strict = true; break;
        case O_WAIT: wait = true; break;
        case O_QUIET: quiet = true; break;
        case O_NO_REPORT: report = false; break;
        case O_PRINT_CONFIG: print_config = true; break;
        case O_DRY_RUN: dry = true; break;
        case O_JSON: json = true; break;
        case O_RUNS:
        case O_WARMUP:
            if (cli_parse_long("run", id == O_RUNS ? "--runs" : "--warmup", v, id == O_RUNS ? 1 : 0, 100000, &n)) {
                prc = TB_EXIT_USAGE;
                break;
            }
            snprintf(setbuf[id == O_RUNS ? 0 : 1], sizeof setbuf[0], "%s=%ld", id == O_RUNS ? "repetitions" : "warmup", n);
            if (nsets < 64) sets[nsets++] = setbuf[id == O_RUNS ? 0 : 1];
            break;
        case O_SET:
            if (nsets == 64) prc = (cli_usage_error("run", "at most 64 --set"), TB_EXIT_USAGE);
            else sets[nsets++] = (char *)v;
            break;
        }
    }
    for (int i = cli_positional(&p); !prc && i < argc; i++) {
        if (!config_path) config_path = argv[i];
        else {
            cli_usage_error("run", "one config at a time (got '%s' and '%s')", config_path, argv[i]);
            prc = TB_EXIT_USAGE;
        }
    }
    cli_parser_free(&p);
    if (prc) return prc < 0 ? TB_EXIT_OK : prc;
    if (resume && (config_path || out_dir || nsets)) {
        cli_usage_error("run", "--resume DIR takes its config from DIR/config.json: no CONFIG, --out, --runs, --warmup or --set with it");
        return TB_EXIT_USAGE;
    }
    harness_error err = {0};
    harness_outcome out;
    harness_run_options o = {.out_dir = out_dir, .strict = strict, .quiet = quiet, .wait_for_lock = wait};
    int rc;
    if (resume) {
        if (print_config || dry) { cli_usage_error("run", "--print-config and --dry-run need a config, not --resume"); return TB_EXIT_USAGE; }
        harness_install_signal_handlers();
        rc = harness_experiment_resume(resume, &o, &out, &err);
    } else {
        harness_config *c = NULL;
        rc = load_config(config_path, sets, nsets, &c, &err);
        if (rc) {
            if (rc != -2) fprintf(stderr, "thermabench run: %s\n", err.msg);
            return err.kind == HARNESS_ERR_INPUT || rc == -2 ? TB_EXIT_USAGE : TB_EXIT_FAIL;
        }
        if (dry) {
            rc = dry_run(c);
            free(c);
            return rc;
        }
        if (print_config) {
            char *text = harness_config_to_json_text(c);
            if (text) puts(text);
            free(text);
            free(c);
            return TB_EXIT_OK;
        }
        harness_install_signal_handlers();
        rc = harness_experiment_run(c, &o, &out, &err);
        free(c);
    }
    if (rc) {
        fprintf(stderr, "thermabench run: %s\n", err.msg);
        if (out.dir[0]) fprintf(stderr, "thermabench run: results so far: %s/results.json\n", out.dir);
        return err.kind == HARNESS_ERR_INPUT ? TB_EXIT_USAGE : TB_EXIT_FAIL;
    }
    if (out.status == HARNESS_REFUSED) {
        fprintf(stderr, "thermabench run: %s\n", err.msg);
        return TB_EXIT_FAIL;
    }
    char results[1200];
    snprintf(results, sizeof results, "%s/results.json", out.dir);
    if (out.status == HARNESS_INTERRUPTED) {
        fprintf(stderr, "thermabench run: interrupted after %d run%s; results: %s\n"
                        "continue with: thermabench run --resume %s\n",
                out.runs_total, out.runs_total == 1 ? "" : "s", results, out.dir);
        return TB_EXIT_INTERRUPTED;
    }
    if (!json) {
        print_verdicts(results);
        printf("%d run%s, %d failed\nresults: %s\n", out.runs_total, out.runs_total == 1 ? "" : "s",
               out.runs_failed, results);
    }
    bool written = false;
    if (report) {
        report_error rerr = {0};
        written = report_generate(results, out.dir, &rerr) == 0;
        if (written && !json)
            printf("report:  %s/report.md (and report.html, runs.csv)\n", out.dir);
        else if (!written)
            fprintf(stderr, "thermabench run: report not written: %s\n", rerr.msg);
    }
    if (json) print_json_summary(&out, results, written);
    return out.runs_total > 0 && out.runs_failed == out.runs_total ? TB_EXIT_FAIL : TB_EXIT_OK;
}
