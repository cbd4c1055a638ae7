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

static void usage(FILE *f)
{
    fprintf(f, "usage: thermabench gate --baseline BASE.json --candidate NEW.json [options]\n"
               "       thermabench gate --baseline-from-history SPEC --candidate NEW.json [options]\n\n"
               "  --baseline-from-history SPEC  the baseline from the results history, e.g.\n"
               "                            'tag:branch=main,last=5' (keys: tag:K=V, last=N, machine=ID|any,\n"
               "                            config=NAME, variant=NAME, since=30d; default: the candidate's\n"
               "                            config and machine, last=5)\n"
               "  --history PATH|URI        the store (default $THERMABENCH_HISTORY, else\n"
               "                            $XDG_DATA_HOME/thermabench/history.db)\n"
               "  --max-regression PCT      equivalence margin, e.g. 3%% (default 3%%)\n"
               "  --confidence PCT          CI level (default 95%%; split over several variants)\n"
               "  --max-cv PCT              robust CV above which runs are unstable (default 10%%)\n"
               "  --baseline-variant NAME   variant in BASE.json (default: the only one, or every common one)\n"
               "  --candidate-variant NAME  variant in NEW.json (default: the same name)\n"
               "  --inconclusive pass|fail|exit3   how to exit on inconclusive (default exit3: exit code 3)\n"
               "  --allow-machine-change    the machine (CPU, cores, OS kernel, microcode, GPU) may differ\n"
               "  --allow-workload-change   the requested workload (model, dtype, threads, batch, lengths,\n"
               "                            forced kernels) may differ; else that is an input error\n"
               "  --allow-env-mismatch      both of the above\n"
               "  --allow-throttle          throttled runs do not make the verdict inconclusive\n"
               "  --junit FILE              JUnit XML, one test case per variant\n"
               "  --markdown FILE           summary for a CI job page\n"
               "  --json                    every verdict, interval, reason and its evidence as JSON on stdout\n\n"
               "exit codes: 0 pass or improvement, 1 regression, 3 inconclusive, 2 usage or input error\n");
}

typedef struct gate_args {
    const char *base, *cand, *vbase, *vcand, *junit, *markdown, *from_history, *history;
    int inconclusive_exit;
    bool json;
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
        if (!strcmp(o, "--allow-machine-change")) {
            a->o.allow_machine_change = true;
            continue;
        }
        if (!strcmp(o, "--allow-workload-change")) {
            a->o.allow_workload_change = true;
            continue;
        }
        if (!strcmp(o, "--json")) {
            a->json = true;
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
        else if (!strcmp(o, "--baseline-from-history")) a->from_history = v;
        else if (!strcmp(o, "--history")) a->history = v;
        else if (!strcmp(o, "--junit")) a->junit = v;
        else if (!strcmp(o, "--markdown")) a->markdown = v;
        else if (!strcmp(o, "--max-regression")) {
            if (cli_parse_pct(CMD, o, v, 0, 100, &a->o.max_regression) < 0)
                return -1;
        } else if (!strcmp(o, "--confidence")) {
            if (cli_parse_pct(CMD, o, v, 50, 99.99, &a->o.confidence) < 0)
                return -1;
        } else if (!strcmp(o, "--max-cv")) {
            if (cli_parse_pct(CMD, o, v, 0.01, 1000, &a->o.max_cv) < 0)
                return -1;
        } else if (!strcmp(o, "--inconclusive")) {
            if (!strcmp(v, "pass")) a->inconclusive_exit = TB_EXIT_OK;
            else if (!strcmp(v, "fail")) a->inconclusive_exit = TB_EXIT_FAIL;
            else if (!strcmp(v, "exit3")) a->inconclusive_exit = TB_EXIT_INCONCLUSIVE;
            else return cli_usage_error(CMD, "--inconclusive: expected pass, fail or exit3, got '%s'", v);
        } else
            return cli_usage_error(CMD, "unknown option '%s'", o);
    }
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
