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

static void usage(FILE *f)
{
    fprintf(f, "usage: thermabench gate --baseline BASE.json --candidate NEW.json [options]\n\n"
               "  --max-regression PCT      equivalence margin, e.g. 3%% (default 3%%)\n"
               "  --confidence PCT          CI level (default 95%%; split over several variants)\n"
               "  --max-cv PCT              robust CV above which runs are unstable (default 10%%)\n"
               "  --baseline-variant NAME   variant in BASE.json (default: the only one, or every common one)\n"
               "  --candidate-variant NAME  variant in NEW.json (default: the same name)\n"
               "  --inconclusive pass|fail|exit3   how to exit on inconclusive (default exit3: exit code 3)\n"
               "  --allow-env-mismatch      CPU, threads or engine configuration may differ\n"
               "  --allow-throttle          throttled runs do not make the verdict inconclusive\n"
               "  --junit FILE              JUnit XML, one test case per variant\n"
               "  --markdown FILE           summary for a CI job page\n\n"
               "exit codes: 0 pass or improvement, 1 regression, 3 inconclusive, 2 usage or input error\n");
}

/* "3%", "3" and "3.5%" are all percentages. */
static int parse_pct(const char *opt, const char *text, double min, double max, double *out)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%s", text);
    size_t n = strlen(buf);
    if (n && buf[n - 1] == '%')
        buf[n - 1] = 0;
    if (cli_parse_double(CMD, opt, buf, min, max, out) < 0)
        return -1;
    *out /= 100;
    return 0;
}

typedef struct gate_args {
    const char *base, *cand, *vbase, *vcand, *junit, *markdown;
    int inconclusive_exit;
    report_gate_options o;
} gate_args;

static int parse(int argc, char **argv, gate_args *a)
{
    memset(a, 0, sizeof *a);
    report_gate_defaults(&a->o);
    a->inconclusive_exit = TB_EXIT_INCONCLUSIVE;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(o, "-h") || !strcmp(o, "--help")) {
            usage(stdout);
            return 1;
        }
        if (!strcmp(o, "--allow-env-mismatch")) {
            a->o.allow_env_mismatch = true;
            continue;
        }
        if (!strcmp(o, "--allow-throttle")) {
            a->o.allow_throttle = true;
            continue;
        }
        if (!v)
            return cli_usage_error(CMD, o[0] == '-' ? "%s needs a value" : "unexpected argument '%s'", o);
        i++;
        if (!strcmp(o, "--baseline")) a->base = v;
        else if (!strcmp(o, "--candidate")) a->cand = v;
        else if (!strcmp(o, "--baseline-variant")) a->vbase = v;
        else if (!strcmp(o, "--candidate-variant")) a->vcand = v;
        else if (!strcmp(o, "--junit")) a->junit = v;
        else if (!strcmp(o, "--markdown")) a->markdown = v;
        else if (!strcmp(o, "--max-regression")) {
            if (parse_pct(o, v, 0, 100, &a->o.max_regression) < 0)
                return -1;
        } else if (!strcmp(o, "--confidence")) {
            if (parse_pct(o, v, 50, 99.99, &a->o.confidence) < 0)
                return -1;
        } else if (!strcmp(o, "--max-cv")) {
            if (parse_pct(o, v, 0.01, 1000, &a->o.max_cv) < 0)
                return -1;
        } else if (!strcmp(o, "--inconclusive")) {
            if (!strcmp(v, "pass")) a->inconclusive_exit = TB_EXIT_OK;
            else if (!strcmp(v, "fail")) a->inconclusive_exit = TB_EXIT_FAIL;
            else if (!strcmp(v, "exit3")) a->inconclusive_exit = TB_EXIT_INCONCLUSIVE;
            else return cli_usage_error(CMD, "--inconclusive: expected pass, fail or exit3, got '%s'", v);
        } else
            return cli_usage_error(CMD, "unknown option '%s'", o);
    }
    if (!a->base || !a->cand)
        return cli_usage_error(CMD, "--baseline and --candidate are both required");
    return 0;
}

static int gate(const report_results *b, const report_results *c, const gate_args *a)
{
    report_gate_set set;
    report_error err;
    if (report_gate_files(b, a->vbase, c, a->vcand, &a->o, &set, &err) < 0) {
        fprintf(stderr, "thermabench gate: %s\n", err.msg);
        return TB_EXIT_USAGE;
    }
    report_gate_print(stdout, &set);
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
