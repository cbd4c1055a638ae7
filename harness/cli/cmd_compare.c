/* thermabench compare: per-variant statistics and A/B effects with a
 * one-line verdict, from one results file (several variants) or two. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "reports.h"

static const char *CMD = "compare";

static void usage(FILE *f)
{
    fprintf(f, "usage: thermabench compare RESULTS.json [CANDIDATE.json] [options]\n\n"
               "One file: every variant against the baseline (the first variant).\n"
               "Two files: the candidate file's variant against the first file's.\n\n"
               "  --baseline NAME    baseline variant\n"
               "  --candidate NAME   candidate variant (default: every other variant)\n"
               "  --detect PCT       also say how many runs would detect a change of PCT (e.g. 1%%)\n"
               "  --json             machine-readable output\n"
               "  -h, --help         this help\n");
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
    const char *files[2] = {0}, *base = NULL, *cand = NULL;
    int nfiles = 0;
    bool json = false;
    double detect = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return TB_EXIT_OK;
        } else if (!strcmp(a, "--json")) {
            json = true;
        } else if (!strcmp(a, "--detect")) {
            char buf[64];
            snprintf(buf, sizeof buf, "%s", i + 1 < argc ? argv[++i] : "");
            size_t n = strlen(buf);
            if (n && buf[n - 1] == '%')
                buf[n - 1] = 0;
            if (cli_parse_double(CMD, "--detect", buf, 0.01, 1000, &detect) < 0)
                return TB_EXIT_USAGE;
            detect /= 100;
        } else if (!strcmp(a, "--baseline") || !strcmp(a, "--candidate")) {
            if (i + 1 >= argc) {
                cli_usage_error(CMD, "%s needs a variant name", a);
                return TB_EXIT_USAGE;
            }
            *(a[2] == 'b' ? &base : &cand) = argv[++i];
        } else if (a[0] == '-' && a[1]) {
            cli_usage_error(CMD, "unknown option '%s'", a);
            return TB_EXIT_USAGE;
        } else if (nfiles < 2) {
            files[nfiles++] = a;
        } else {
            cli_usage_error(CMD, "at most two results files");
            return TB_EXIT_USAGE;
        }
    }
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
    int rc = run(r, nfiles, base, cand, json, detect);
    for (int i = 0; i < nfiles; i++)
        report_results_free(&r[i]);
    return rc;
}
