/* thermabench report: report.md, report.html (plots inline) and runs.csv
 * from a results file. */
#include <libgen.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "reports.h"

static const char *CMD = "report";

static void usage(FILE *f)
{
    fprintf(f, "usage: thermabench report RESULTS.json [-o DIR]\n\n"
               "Writes report.md, report.html (self-contained, plots drawn by gnuplot) and runs.csv\n"
               "into DIR (default: the folder holding RESULTS.json).\n");
}

int cmd_report(int argc, char **argv)
{
    const char *in = NULL, *out = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return TB_EXIT_OK;
        } else if (!strcmp(argv[i], "-o") || !strcmp(argv[i], "--output")) {
            if (i + 1 >= argc) {
                cli_usage_error(CMD, "%s needs a directory", argv[i]);
                return TB_EXIT_USAGE;
            }
            out = argv[++i];
        } else if (argv[i][0] == '-' && argv[i][1]) {
            cli_usage_error(CMD, "unknown option '%s'", argv[i]);
            return TB_EXIT_USAGE;
        } else if (!in) {
            in = argv[i];
        } else {
            cli_usage_error(CMD, "one results file at a time");
            return TB_EXIT_USAGE;
        }
    }
    if (!in) {
        cli_usage_error(CMD, "which results file?");
        return TB_EXIT_USAGE;
    }
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", in);
    if (!out)
        out = dirname(dir);
    report_error err;
    if (report_generate(in, out, &err) < 0) {
        fprintf(stderr, "thermabench report: %s\n", err.msg);
        return TB_EXIT_USAGE;
    }
    printf("wrote %s/report.md, %s/report.html, %s/runs.csv\n", out, out, out);
    return TB_EXIT_OK;
}
