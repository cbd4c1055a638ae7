/* thermabench compare: per-variant statistics and A/B effects with a
 * one-line verdict, from one results file (several variants) or two. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "reports.h"

static const char *CMD = "compare";

enum { O_BASELINE_VARIANT, O_CANDIDATE_VARIANT, O_DETECT, O_JSON, O_HELP };

static const cli_option options[] = {
    [O_BASELINE_VARIANT] = {"baseline-variant", 'b', "NAME", "baseline variant (default: the first)"},
    [O_CANDIDATE_VARIANT] = {"candidate-variant", 'c', "NAME", "candidate variant (default: every other variant)"},
    [O_DETECT] = {"detect", 0, "PCT", "also say how many runs would detect a change of PCT (e.g. 1%)"},
    [O_JSON] = {"json", 0, NULL, "machine-readable output"},
    [O_HELP] = {"help", 'h', NULL, "this help"},
    {0},
};

static void usage(FILE *f)
{
    cli_help(f,
             "usage: thermabench compare RESULTS.json [CANDIDATE.json] [options]\n\n"
             "One file: every variant against the baseline (the first variant).\n"
             "Two files: the candidate file's variant against the first file's.\n",
             options, "\nexit status: 0 compared, 2 bad usage or input\n");
}

static int run(report_results *r, int nfiles, const char *base, const char *cand, bool json, double detect)
{
    report_comparison_set set;
    report_error err;
    int rc = report_compare_files(r, nfiles, base, cand, &set, &err);
    for (int i = 0; i < set.nskipped; i++)
        fprintf(stderr, "thermabench compare: %s\n", set.skipped[i]);
    if (rc < 0) {
        fprintf(stderr, "thermabench compare: %s\n", err.msg);
        return TB_EXIT_USAGE;
    }
    if (json) {
        char *t = report_comparison_set_json(&set);
        fputs(t ? t : "null\n", stdout);
        free(t);
    } else {
        report_comparison_set_print(stdout, &set, detect);
    }
    report_comparison_set_free(&set);
    return TB_EXIT_OK;
}

int cmd_compare(int argc, char **argv)
{
    const char *files[2] = {0}, *base = NULL, *cand = NULL, *v;
    int nfiles = 0, id, rc = 0;
    bool json = false;
    double detect = 0;
    cli_parser p;
    if (cli_parser_init(&p, CMD, options, argc, argv)) return TB_EXIT_FAIL;
    while (!rc && (id = cli_next(&p, &v)) != CLI_END) {
        switch (id) {
        case CLI_ERROR: rc = TB_EXIT_USAGE; break;
        case O_HELP: usage(stdout); rc = -1; break;
        case O_JSON: json = true; break;
        case O_BASELINE_VARIANT: base = v; break;
        case O_CANDIDATE_VARIANT: cand = v; break;
        case O_DETECT:
            if (cli_parse_pct(CMD, "--detect", v, 0.01, 1000, &detect)) rc = TB_EXIT_USAGE;
            break;
        }
    }
    for (int i = cli_positional(&p); !rc && i < argc; i++) {
        if (nfiles < 2) files[nfiles++] = argv[i];
        else {
            cli_usage_error(CMD, "at most two results files");
            rc = TB_EXIT_USAGE;
        }
    }
    cli_parser_free(&p);
    if (rc) return rc < 0 ? TB_EXIT_OK : rc;
    if (!nfiles) {
        cli_usage_error(CMD, "which results file?");
        return TB_EXIT_USAGE;
    }
    report_results r[2];
    for (int i = 0; i < nfiles; i++) {
        report_error err;
        if (report_results_load(files[i], &r[i], &err) < 0) {
            fprintf(stderr, "thermabench compare: %s\n", err.msg);
            for (int k = 0; k < i; k++)
                report_results_free(&r[k]);
            return TB_EXIT_USAGE;
        }
    }
    rc = run(r, nfiles, base, cand, json, detect);
    for (int i = 0; i < nfiles; i++)
        report_results_free(&r[i]);
    return rc;
}
