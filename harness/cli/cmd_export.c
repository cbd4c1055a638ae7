/* thermabench export FORMAT RESULTS.json: a results file in a format
 * another tool reads (hyperfine, Bencher, github-action-benchmark, Google
 * Benchmark, OpenMetrics; docs/EXPORTS.md). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "reports.h"

static const char *CMD = "export";

enum { O_OUTPUT, O_TIME_UNIT, O_HELP };
static const cli_option options[] = {
    [O_OUTPUT] = {"output", 'o', "FILE", "where to write it (default: stdout)"},
    [O_TIME_UNIT] = {"time-unit", 'u', "UNIT", "s, ms, us or ns for markdown and google-benchmark (default ms)"},
    [O_HELP] = {"help", 'h', NULL, "this help"},
    {0},
};

static void usage(FILE *f)
{
    char formats[256] = "";
    for (int i = 0; i < REPORT_EXPORT_COUNT; i++) {
        size_t l = strlen(formats);
        snprintf(formats + l, sizeof formats - l, "%s%s", i ? ", " : "", report_export_format_name((report_export_format)i));
    }
    char text[1024];
    snprintf(text, sizeof text,
             "usage: thermabench export FORMAT RESULTS.json [options]\n\n"
             "Writes the measured runs of a results file in another tool's format.\n"
             "FORMAT: %s\n", formats);
    cli_help(f, text, options, "\nexit status: 0 written, 1 cannot write, 2 bad usage or input\n");
}

int cmd_export(int argc, char **argv)
{
    cli_parser p;
    const char *out = "-", *unit = NULL, *v;
    int id, rc = TB_EXIT_USAGE;
    if (cli_parser_init(&p, CMD, options, argc, argv)) return TB_EXIT_FAIL;
    while ((id = cli_next(&p, &v)) != CLI_END) {
        if (id == CLI_ERROR) goto done;
        if (id == O_OUTPUT) out = v;
        else if (id == O_TIME_UNIT) unit = v;
        else if (id == O_HELP) {
            usage(stdout);
            rc = TB_EXIT_OK;
            goto done;
        }
    }
    int first = cli_positional(&p);
    if (argc - first != 2) {
        cli_usage_error(CMD, "expected FORMAT and RESULTS.json");
        goto done;
    }
    report_export_format format;
    if (report_export_format_parse(argv[first], &format)) {
        cli_usage_error(CMD, "unknown format '%s'", argv[first]);
        goto done;
    }
    report_results r;
    report_error err = {0};
    if (report_results_load(argv[first + 1], &r, &err)) {
        fprintf(stderr, "thermabench export: %s\n", err.msg);
        goto done;
    }
    report_export_options o = {.time_unit = unit};
    int wrc = report_export_write(&r, format, &o, out, &err);
    if (wrc) {
        fprintf(stderr, "thermabench export: %s\n", err.msg);
        rc = wrc == -2 ? TB_EXIT_FAIL : TB_EXIT_USAGE;
    } else {
        rc = TB_EXIT_OK;
    }
    report_results_free(&r);
done:
    cli_parser_free(&p);
    return rc;
}
