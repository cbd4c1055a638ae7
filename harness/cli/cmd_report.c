/* thermabench report: report.md, report.html (plots inline) and runs.csv
 * from a results file. */
#include <libgen.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "reports.h"

static const char *CMD = "report";

enum { O_OUTPUT, O_HELP };
static const cli_option options[] = {
    [O_OUTPUT] = {"output", 'o', "DIR", "where to write (default: the folder holding RESULTS.json)"},
    [O_HELP] = {"help", 'h', NULL, "this help"},
    {0},
};

static void usage(FILE *f)
{
    cli_help(f,
             "usage: thermabench report RESULTS.json [-o DIR]\n\n"
             "Writes report.md, report.html (self-contained, plots drawn by gnuplot) and runs.csv\n"
             "into DIR.\n",
             options, "\nexit status: 0 written, 2 bad usage or input\n");
}

int cmd_report(int argc, char **argv)
{
    const char *in = NULL, *out = NULL, *v;
    int id, rc = 0;
    cli_parser p;
    if (cli_parser_init(&p, CMD, options, argc, argv)) return TB_EXIT_FAIL;
    while (!rc && (id = cli_next(&p, &v)) != CLI_END) {
        if (id == CLI_ERROR) rc = TB_EXIT_USAGE;
        else if (id == O_HELP) usage(stdout), rc = -1;
        else if (id == O_OUTPUT) out = v;
    }
    int first = cli_positional(&p);
    cli_parser_free(&p);
    if (rc) return rc < 0 ? TB_EXIT_OK : rc;
    if (first >= argc) {
        cli_usage_error(CMD, "which results file?");
        return TB_EXIT_USAGE;
    }
    if (argc - first > 1) {
        cli_usage_error(CMD, "one results file at a time");
        return TB_EXIT_USAGE;
    }
    in = argv[first];
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
