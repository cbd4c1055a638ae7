/* thermabench run [CONFIG]: runs an experiment (the built-in default A/B
 * without a config), or continues one with --resume DIR. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "harness.h"
#include "reports.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: thermabench run [CONFIG] [options]\n"
            "       thermabench run --resume DIR [options]\n\n"
            "Runs the experiment a config describes (docs/CONFIG.md); without CONFIG the\n"
            "built-in default: an interleaved A/B of two matmul kernels on a synthetic model.\n\n"
            "options:\n"
            "  --out DIR       results directory (default: results/<UTC time>-<name>)\n"
            "  --resume DIR    continue an interrupted experiment in DIR\n"
            "  --strict        refuse to start when a preflight check warns\n"
            "  --wait          another run holds the results directory: wait for it (default: exit 1)\n"
            "  --quiet         no progress output\n"
            "  --no-report     do not write report.md / report.html at the end\n"
            "  --print-config  print the config as it would run (defaults filled in) and exit\n\n"
            "exit status: 0 done; 1 every run failed, --strict refused, another run holds the\n"
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

int cmd_run(int argc, char **argv)
{
    const char *config_path = NULL, *out_dir = NULL, *resume = NULL;
    bool strict = false, quiet = false, report = true, print_config = false, wait = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { usage(stdout); return TB_EXIT_OK; }
        else if (!strcmp(a, "--strict")) strict = true;
        else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) quiet = true;
        else if (!strcmp(a, "--no-report")) report = false;
        else if (!strcmp(a, "--wait")) wait = true;
        else if (!strcmp(a, "--print-config")) print_config = true;
        else if (!strcmp(a, "--out") || !strcmp(a, "--resume")) {
            if (i + 1 >= argc) { cli_usage_error("run", "%s needs a directory", a); return TB_EXIT_USAGE; }
            if (!strcmp(a, "--out")) out_dir = argv[++i]; else resume = argv[++i];
        } else if (a[0] == '-' && a[1]) {
            cli_usage_error("run", "unknown option '%s'", a);
            return TB_EXIT_USAGE;
        } else if (!config_path) config_path = a;
        else { cli_usage_error("run", "one config at a time (got '%s' and '%s')", config_path, a); return TB_EXIT_USAGE; }
    }
    if (resume && (config_path || out_dir)) {
        cli_usage_error("run", "--resume DIR takes its config from DIR/config.json: no CONFIG or --out with it");
        return TB_EXIT_USAGE;
    }
    harness_error err = {0};
    harness_outcome out;
    harness_run_options o = {.out_dir = out_dir, .strict = strict, .quiet = quiet, .wait_for_lock = wait};
    int rc;
    if (resume) {
        if (print_config) { cli_usage_error("run", "--print-config needs a config, not --resume"); return TB_EXIT_USAGE; }
        harness_install_signal_handlers();
        rc = harness_experiment_resume(resume, &o, &out, &err);
    } else {
        harness_config *c = NULL;
        rc = config_path ? harness_config_load_file(config_path, &c, &err)
                         : harness_config_load_text(harness_default_config_json, "<built-in default config>", &c, &err);
        if (rc) {
            fprintf(stderr, "thermabench run: %s\n", err.msg);
            return err.kind == HARNESS_ERR_INPUT ? TB_EXIT_USAGE : TB_EXIT_FAIL;
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
    print_verdicts(results);
    printf("%d run%s, %d failed\nresults: %s\n", out.runs_total, out.runs_total == 1 ? "" : "s",
           out.runs_failed, results);
    if (report) {
        report_error rerr = {0};
        if (report_generate(results, out.dir, &rerr) == 0)
            printf("report:  %s/report.md (and report.html, runs.csv)\n", out.dir);
        else
            fprintf(stderr, "thermabench run: report not written: %s\n", rerr.msg);
    }
    return out.runs_total > 0 && out.runs_failed == out.runs_total ? TB_EXIT_FAIL : TB_EXIT_OK;
}
