/* thermabench gate: baseline against candidate with a verdict and an exit
 * code for CI: 0 pass or improvement, 1 regression, 3 inconclusive, 2 usage
 * or input error. The statistics are in reports/verdict.c and
 * docs/STATISTICS.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "history.h"
#include "reports.h"

static const char *CMD = "gate";

enum {
    O_BASELINE, O_CANDIDATE, O_FROM_HISTORY, O_HISTORY, O_MAX_REGRESSION, O_CONFIDENCE, O_MAX_CV,
    O_BASELINE_VARIANT, O_CANDIDATE_VARIANT, O_INCONCLUSIVE, O_ALLOW_MACHINE, O_ALLOW_WORKLOAD, O_ALLOW_ENV,
    O_ALLOW_BUILD, O_ALLOW_THROTTLE, O_JUNIT, O_MARKDOWN, O_JSON, O_HELP
};

static const cli_option options[] = {
    [O_BASELINE] = {"baseline", 'b', "BASE.json", "the baseline results file"},
    [O_CANDIDATE] = {"candidate", 'c', "NEW.json", "the candidate results file (required)"},
    [O_FROM_HISTORY] = {"baseline-from-history", 0, "SPEC", "the baseline from the results history, e.g.\n'tag:branch=main,last=5' (keys: tag:K=V, last=N, machine=ID|any,\nconfig=NAME, variant=NAME, since=30d; default: the candidate's\nconfig and machine, last=5)"},
    [O_HISTORY] = {"history", 0, "PATH|URI", "the store (default $THERMABENCH_HISTORY, else\n$XDG_DATA_HOME/thermabench/history.db)"},
    [O_MAX_REGRESSION] = {"max-regression", 'r', "PCT", "equivalence margin, e.g. 3% (default 3%)"},
    [O_CONFIDENCE] = {"confidence", 0, "PCT", "CI level (default 95%; split over several variants)"},
    [O_MAX_CV] = {"max-cv", 0, "PCT", "robust CV above which runs are unstable (default 10%)"},
    [O_BASELINE_VARIANT] = {"baseline-variant", 0, "NAME", "variant in BASE.json (default: the only one, or every common one)"},
    [O_CANDIDATE_VARIANT] = {"candidate-variant", 0, "NAME", "variant in NEW.json (default: the same name)"},
    [O_INCONCLUSIVE] = {"inconclusive", 0, "HOW", "pass, fail or exit3: how to exit on inconclusive (default exit3)"},
    [O_ALLOW_MACHINE] = {"allow-machine-change", 0, NULL, "the machine (CPU, cores, OS kernel, microcode, GPU) may differ"},
    [O_ALLOW_WORKLOAD] = {"allow-workload-change", 0, NULL, "the requested workload (model, dtype, threads, batch, lengths,\nforced kernels) may differ; else that is an input error"},
    [O_ALLOW_ENV] = {"allow-env-mismatch", 0, NULL, "both of the above"},
    [O_ALLOW_BUILD] = {"allow-build-change", 0, NULL, "the build type and sanitizers may differ (else inconclusive)"},
    [O_ALLOW_THROTTLE] = {"allow-throttle", 0, NULL, "throttled runs do not make the verdict inconclusive"},
    [O_JUNIT] = {"junit", 0, "FILE", "JUnit XML, one test case per variant"},
    [O_MARKDOWN] = {"markdown", 0, "FILE", "summary for a CI job page"},
    [O_JSON] = {"json", 0, NULL, "every verdict, interval, reason and its evidence as JSON on stdout"},
    [O_HELP] = {"help", 'h', NULL, "this help"},
    {0},
};

static void usage(FILE *f)
{
    cli_help(f,
             "usage: thermabench gate --baseline BASE.json --candidate NEW.json [options]\n"
             "       thermabench gate --baseline-from-history SPEC --candidate NEW.json [options]\n",
             options, "\nexit codes: 0 pass or improvement, 1 regression, 3 inconclusive, 2 usage or input error\n");
}

typedef struct gate_args {
    const char *base, *cand, *vbase, *vcand, *junit, *markdown, *from_history, *history;
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
        case O_ALLOW_MACHINE: a->o.allow_machine_change = true; break;
        case O_ALLOW_WORKLOAD: a->o.allow_workload_change = true; break;
        case O_ALLOW_BUILD: a->o.allow_build_change = true; break;
        case O_ALLOW_THROTTLE: a->o.allow_throttle = true; break;
        case O_JSON: a->json = true; break;
        case O_BASELINE: a->base = v; break;
        case O_CANDIDATE: a->cand = v; break;
        case O_BASELINE_VARIANT: a->vbase = v; break;
        case O_CANDIDATE_VARIANT: a->vcand = v; break;
        case O_FROM_HISTORY: a->from_history = v; break;
        case O_HISTORY: a->history = v; break;
        case O_JUNIT: a->junit = v; break;
        case O_MARKDOWN: a->markdown = v; break;
        case O_MAX_REGRESSION: rc = cli_parse_pct(CMD, "--max-regression", v, 0, 100, &a->o.max_regression); break;
        case O_CONFIDENCE: rc = cli_parse_pct(CMD, "--confidence", v, 50, 99.99, &a->o.confidence); break;
        case O_MAX_CV: rc = cli_parse_pct(CMD, "--max-cv", v, 0.01, 1000, &a->o.max_cv); break;
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
    if (rc) return rc;
    if (a->base && a->from_history)
        return cli_usage_error(CMD, "--baseline and --baseline-from-history: one or the other");
    if ((!a->base && !a->from_history) || !a->cand)
        return cli_usage_error(CMD, "--baseline and --candidate are both required (or --baseline-from-history "
                                    "instead of --baseline)");
    return 0;
}

static int gate(const report_results *const *bases, int nbases, const report_results *c, const gate_args *a)
{
    report_gate_set set;
    report_error err;
    if (report_gate_sets(bases, nbases, a->vbase, c, a->vcand, &a->o, &set, &err) < 0) {
        fprintf(stderr, "thermabench gate: %s\n", err.msg);
        return TB_EXIT_USAGE;
    }
    if (a->json)
        report_gate_print_json(stdout, &set);
    else
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

/* The baseline named by --baseline-from-history: the matching experiments
 * of the store, one result set (session) each, oldest first. */
static int baseline_from_history(const gate_args *a, const report_results *c, report_results **sets, int *n)
{
    history_filter f;
    char why[300], machine[16], spec[1024];
    *sets = NULL;
    *n = 0;
    if (history_parse_baseline(a->from_history, &f, why, sizeof why) < 0)
        return cli_usage_error(CMD, "--baseline-from-history: %s", why), TB_EXIT_USAGE;
    if (!f.config)
        f.config = c->name;
    if (f.machine && !strcmp(f.machine, "any"))
        f.machine = NULL;
    else if (!f.machine) {
        history_results_machine_id(c, machine);
        f.machine = machine;
    }
    const char *store = a->history ? a->history : history_default_spec(spec, sizeof spec);
    if (!store)
        return cli_usage_error(CMD, "no history store: set --history or THERMABENCH_HISTORY"), TB_EXIT_USAGE;
    history_error err;
    history_store *s = history_open(store, HISTORY_OPEN_READ, &err);
    if (!s || history_load_baseline(s, &f, sets, n, &err) < 0) {
        fprintf(stderr, "thermabench gate: %s\n", err.msg);
        history_close(s);
        return err.exit_code == 1 ? TB_EXIT_FAIL : TB_EXIT_USAGE;
    }
    int rc = TB_EXIT_OK;
    if (!*n) {
        report_fprintf(stderr, REPORT_ESC_TERMINAL,
                       "thermabench gate: no experiment in %s matches '%s' (config '%s', machine %s)\n",
                       history_store_name(s), a->from_history, f.config, f.machine ? f.machine : "any");
        rc = TB_EXIT_USAGE;
    } else {
        report_fprintf(stdout, REPORT_ESC_TERMINAL, "baseline: %d experiment%s of '%s' from %s (%s)\n", *n,
                       *n == 1 ? "" : "s", f.config, history_store_name(s), a->from_history);
    }
    history_close(s);
    return rc;
}

int cmd_gate(int argc, char **argv)
{
    gate_args a;
    int p = parse(argc, argv, &a);
    if (p)
        return p > 0 ? TB_EXIT_OK : TB_EXIT_USAGE;
    report_results c, one, *sets = &one;
    int n = 0;
    report_error err;
    if (report_results_load(a.cand, &c, &err) < 0) {
        fprintf(stderr, "thermabench gate: %s\n", err.msg);
        return TB_EXIT_USAGE;
    }
    int rc = TB_EXIT_OK;
    if (a.from_history) {
        rc = baseline_from_history(&a, &c, &sets, &n);
    } else if (report_results_load(a.base, &one, &err) < 0) {
        fprintf(stderr, "thermabench gate: %s\n", err.msg);
        rc = TB_EXIT_USAGE;
    } else {
        n = 1;
    }
    if (rc == TB_EXIT_OK) {
        const report_results **bases = calloc((size_t)n, sizeof *bases);
        for (int i = 0; bases && i < n; i++)
            bases[i] = &sets[i];
        rc = bases ? gate(bases, n, &c, &a) : TB_EXIT_FAIL;
        free(bases);
    }
    for (int i = 0; i < n; i++)
        report_results_free(&sets[i]);
    if (sets != &one)
        free(sets);
    report_results_free(&c);
    return rc;
}
