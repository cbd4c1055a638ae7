/* thermabench plan-runs: from results files of this machine, how many runs
 * and sessions a gate with a given margin needs (Kalibera & Jones: the
 * variance within a session and between sessions, each measured). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "reports.h"

static const char *CMD = "plan-runs";

enum { O_MARGIN, O_VARIANT, O_POWER, O_HELP };
static const cli_option options[] = {
    [O_MARGIN] = {"margin", 'm', "PCT", "the gate's --max-regression (default 3%)"},
    [O_VARIANT] = {"variant", 'v', "NAME", "variant to read (default: each file's only one)"},
    [O_POWER] = {"power", 'p', "PCT", "chance that an unchanged candidate passes (default 80%)"},
    [O_HELP] = {"help", 'h', NULL, "this help"},
    {0},
};

static void usage(FILE *f)
{
    cli_help(f,
             "usage: thermabench plan-runs RESULTS.json... [options]\n\n"
             "From the runs of one variant (each file's sessions count as sessions), the runs\n"
             "per session and sessions per side a gate needs for an unchanged candidate to pass.\n",
             options, NULL);
}

int cmd_plan_runs(int argc, char **argv)
{
    double margin = 0.03, power = 0.80;
    const char *variant = NULL;
    const char *v;
    cli_parser cp;
    int id, prc = 0;
    if (cli_parser_init(&cp, CMD, options, argc, argv)) return TB_EXIT_FAIL;
    while (!prc && (id = cli_next(&cp, &v)) != CLI_END) {
        switch (id) {
        case CLI_ERROR: prc = TB_EXIT_USAGE; break;
        case O_HELP: usage(stdout); prc = -1; break;
        case O_MARGIN: if (cli_parse_pct(CMD, "--margin", v, 0.01, 100, &margin) < 0) prc = TB_EXIT_USAGE; break;
        case O_POWER: if (cli_parse_pct(CMD, "--power", v, 1, 99.9, &power) < 0) prc = TB_EXIT_USAGE; break;
        case O_VARIANT: variant = v; break;
        }
    }
    int first = cli_positional(&cp);
    cli_parser_free(&cp);
    if (prc) return prc < 0 ? TB_EXIT_OK : prc;
    if (first >= argc) {
        cli_usage_error(CMD, "which results files?");
        return TB_EXIT_USAGE;
    }
    size_t cap = 0, n = 0;
    double *x = NULL;
    int *sess = NULL, rc = TB_EXIT_OK;
    char metric[64] = "";
    for (int f = first; f < argc && rc == TB_EXIT_OK; f++) {
        report_results r;
        report_error err;
        if (report_results_load(argv[f], &r, &err) < 0) {
            fprintf(stderr, "thermabench plan-runs: %s\n", err.msg);
            rc = TB_EXIT_USAGE;
            break;
        }
        const char *v = variant ? variant : r.nvariants == 1 ? r.variants[0] : NULL;
        if (!v) {
            fprintf(stderr, "thermabench plan-runs: %s: %d variants; say which one with --variant\n", argv[f],
                    r.nvariants);
            rc = TB_EXIT_USAGE;
        }
        snprintf(metric, sizeof metric, "%s", r.metric_name);
        for (int i = 0; v && i < r.nruns; i++) {
            const report_run *u = &r.runs[i];
            if (u->warmup || !u->ok || strcmp(u->variant, v))
                continue;
            if (n == cap) {
                cap = cap ? 2 * cap : 64;
                double *nx = realloc(x, cap * sizeof *x);
                int *ns = nx ? realloc(sess, cap * sizeof *sess) : NULL;
                if (nx)
                    x = nx;
                if (ns)
                    sess = ns;
                if (!nx || !ns) {
                    fprintf(stderr, "thermabench plan-runs: out of memory\n");
                    rc = TB_EXIT_FAIL;
                    break;
                }
            }
            x[n] = u->metric;
            sess[n++] = (f - first) * 100000 + u->session;
        }
        report_results_free(&r);
    }
    report_run_plan p;
    if (rc == TB_EXIT_OK && report_plan_runs(x, sess, n, margin, 0.95, power, &p) < 0) {
        fprintf(stderr, "thermabench plan-runs: too few runs to measure the noise (%zu; need 2 in one session)\n", n);
        rc = TB_EXIT_USAGE;
    }
    if (rc == TB_EXIT_OK) {
        printf("%s: %zu runs in %d session%s; sd within a session %.2f%%", metric, n, p.vc.sessions,
               p.vc.sessions == 1 ? "" : "s", p.sd_within_pct);
        if (isfinite(p.sd_between_pct))
            printf(", between sessions %.2f%%\n", p.sd_between_pct);
        else
            printf("; between sessions unknown (one session: assumed 0, run with --sessions to measure it)\n");
        printf("gate margin %.3g%%: an unchanged candidate passes with probability %.0f%% with, per side:\n",
               100 * margin, 100 * power);
        for (int k = 0; k < REPORT_PLAN_SIZES; k++) {
            if (p.sessions_needed[k] < 0)
                printf("  %2d runs per session: out of reach (over 1000 sessions)\n", p.runs_per_session[k]);
            else
                printf("  %2d runs per session: %d session%s (%d runs)\n", p.runs_per_session[k], p.sessions_needed[k],
                       p.sessions_needed[k] == 1 ? "" : "s", p.runs_per_session[k] * p.sessions_needed[k]);
        }
    }
    free(x);
    free(sess);
    return rc;
}
