/* thermabench gate: baseline against candidate with a verdict and an exit
 * code for CI: 0 pass or improvement, 1 regression, 3 inconclusive, 2 usage
 * or input error. The statistics are in reports/compare.c and
 * docs/STATISTICS.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "reports.h"

static const char *CMD = "gate";

enum {
    O_BASELINE, O_CANDIDATE, O_MAX_REGRESSION, O_CONFIDENCE, O_MAX_CV, O_BASELINE_VARIANT, O_CANDIDATE_VARIANT,
    O_INCONCLUSIVE, O_ALLOW_ENV, O_ALLOW_THROTTLE, O_JUNIT, O_MARKDOWN, O_JSON, O_HELP
};

static const cli_option options[] = {
    [O_BASELINE] = {"baseline", 'b', "BASE.json", "the baseline results file (required)"},
    [O_CANDIDATE] = {"candidate", 'c', "NEW.json", "the candidate results file (required)"},
    [O_MAX_REGRESSION] = {"max-regression", 'r', "PCT", "equivalence margin, e.g. 3% (default 3%)"},
    [O_CONFIDENCE] = {"confidence", 0, "PCT", "CI level (default 95%; split over several variants)"},
    [O_MAX_CV] = {"max-cv", 0, "PCT", "robust CV above which runs are unstable (default 10%)"},
    [O_BASELINE_VARIANT] = {"baseline-variant", 0, "NAME", "variant in BASE.json (default: the only one, or every common one)"},
    [O_CANDIDATE_VARIANT] = {"candidate-variant", 0, "NAME", "variant in NEW.json (default: the same name)"},
    [O_INCONCLUSIVE] = {"inconclusive", 0, "HOW", "pass, fail or exit3: how to exit on inconclusive (default exit3)"},
    [O_ALLOW_ENV] = {"allow-env-mismatch", 0, NULL, "CPU, threads or engine configuration may differ"},
    [O_ALLOW_THROTTLE] = {"allow-throttle", 0, NULL, "throttled runs do not make the verdict inconclusive"},
    [O_JUNIT] = {"junit", 0, "FILE", "JUnit XML, one test case per variant"},
    [O_MARKDOWN] = {"markdown", 0, "FILE", "summary for a CI job page"},
    [O_JSON] = {"json", 0, NULL, "the verdicts as JSON on stdout"},
    [O_HELP] = {"help", 'h', NULL, "this help"},
    {0},
};

static void usage(FILE *f)
{
    cli_help(f, "usage: thermabench gate --baseline BASE.json --candidate NEW.json [options]\n", options,
             "\nexit codes: 0 pass or improvement, 1 regression, 3 inconclusive, 2 usage or input error\n");
}

typedef struct gate_args {
    const char *base, *cand, *vbase, *vcand, *junit, *markdown;
    int inconclusive_exit;
    bool json;
    report_gate_options o;
} gate_args;

/* 0 parsed, 1 --help printed, -1 usage error printed. */
static int parse(int argc, char **argv, gate_args *a)
{
    memset(a, 0, sizeof *a);
    report_gate_defaults(&a->o);
    a->inconclusive_exit = TB_EXIT_INCONCLUSIVE;
    cli_parser p;
    if (cli_parser_init(&p, CMD, options, argc, argv)) return -1;
    int id, rc = 0;
    const char *v;
    while (!rc && (id = cli_next(&p, &v)) != CLI_END) {
        switch (id) {
        case CLI_ERROR: rc = -1; break;
        case O_HELP: usage(stdout); rc = 1; break;
        case O_ALLOW_ENV: a->o.allow_env_mismatch = true; break;
        case O_ALLOW_THROTTLE: a->o.allow_throttle = true; break;
        case O_JSON: a->json = true; break;
        case O_BASELINE: a->base = v; break;
        case O_CANDIDATE: a->cand = v; break;
        case O_BASELINE_VARIANT: a->vbase = v; break;
        case O_CANDIDATE_VARIANT: a->vcand = v; break;
        case O_JUNIT: a->junit = v; break;
        case O_MARKDOWN: a->markdown = v; break;
        case O_MAX_REGRESSION: rc = cli_parse_percent(CMD, "--max-regression", v, 0, 100, &a->o.max_regression); break;
        case O_CONFIDENCE: rc = cli_parse_percent(CMD, "--confidence", v, 50, 99.99, &a->o.confidence); break;
        case O_MAX_CV: rc = cli_parse_percent(CMD, "--max-cv", v, 0.01, 1000, &a->o.max_cv); break;
        case O_INCONCLUSIVE:
            if (!strcmp(v, "pass")) a->inconclusive_exit = TB_EXIT_OK;
            else if (!strcmp(v, "fail")) a->inconclusive_exit = TB_EXIT_FAIL;
            else if (!strcmp(v, "exit3")) a->inconclusive_exit = TB_EXIT_INCONCLUSIVE;
            else rc = cli_usage_error(CMD, "--inconclusive: expected pass, fail or exit3, got '%s'", v);
            break;
        }
    }
    if (!rc && cli_positional(&p) < argc)
        rc = cli_usage_error(CMD, "unexpected argument '%s' (the files go with --baseline and --candidate)",
                             argv[cli_positional(&p)]);
    cli_parser_free(&p);
    if (!rc && (!a->base || !a->cand)) rc = cli_usage_error(CMD, "--baseline and --candidate are both required");
    return rc;
}

static int gate(const report_results *b, const report_results *c, const gate_args *a)
{
    report_gate_set set;
    report_error err;
    if (report_gate_files(b, a->vbase, c, a->vcand, &a->o, &set, &err) < 0) {
        fprintf(stderr, "thermabench gate: %s\n", err.msg);
        return TB_EXIT_USAGE;
    }
    if (a->json) {
        char *t = report_gate_set_json(&set);
        if (t) puts(t);
        free(t);
    } else {
        report_gate_print(stdout, &set);
    }
    int rc = TB_EXIT_OK;
    if ((a->junit && report_gate_write_junit(&set, a->junit, &err) < 0) ||
        (a->markdown && report_gate_write_markdown(&set, a->markdown, &err) < 0)) {
        fprintf(stderr, "thermabench gate: %s\n", err.msg);
        rc = TB_EXIT_USAGE;
    } else if (set.overall == REPORT_GATE_REGRESSION) {
        rc = TB_EXIT_FAIL;
    } else if (set.overall == REPORT_GATE_INCONCLUSIVE) {
        rc = a->inconclusive_exit;
    }
    report_gate_set_free(&set);
    return rc;
}

int cmd_gate(int argc, char **argv)
{
    gate_args a;
    int p = parse(argc, argv, &a);
    if (p)
        return p > 0 ? TB_EXIT_OK : TB_EXIT_USAGE;
    report_results b, c;
    report_error err;
    if (report_results_load(a.base, &b, &err) < 0) {
        fprintf(stderr, "thermabench gate: %s\n", err.msg);
        return TB_EXIT_USAGE;
    }
    if (report_results_load(a.cand, &c, &err) < 0) {
        fprintf(stderr, "thermabench gate: %s\n", err.msg);
        report_results_free(&b);
        return TB_EXIT_USAGE;
    }
    int rc = gate(&b, &c, &a);
    report_results_free(&b);
    report_results_free(&c);
    return rc;
}
