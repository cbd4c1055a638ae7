/* Internal to the thermabench executable: one function per subcommand (one
 * file each, cmd_<name>.c) and the option parsing they share. */
#ifndef THERMABENCH_CLI_H
#define THERMABENCH_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "engine.h"

/* Exit codes, the same for every subcommand. */
enum {
    TB_EXIT_OK = 0,
    TB_EXIT_FAIL = 1,          /* gate: regression; generic failure */
    TB_EXIT_USAGE = 2,         /* usage or input error */
    TB_EXIT_INCONCLUSIVE = 3,  /* gate: inconclusive */
    TB_EXIT_INTERRUPTED = 130  /* SIGINT/SIGTERM: results written, experiment incomplete */
};

int cmd_bench(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_model(int argc, char **argv);
int cmd_kernels(int argc, char **argv);
int cmd_roofline(int argc, char **argv);
int cmd_probe(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_gate(int argc, char **argv);
int cmd_plan_runs(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_history(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
int cmd_cmd(int argc, char **argv);
int cmd_export(int argc, char **argv);

/* One option table per command, parsed with getopt_long and printed by
 * cli_help: the table is the only list of a command's options. */
typedef struct cli_option {
    const char *name;        /* long name, without "--"; NULL ends the table */
    int short_name;          /* 0: none */
    const char *arg;         /* the value's placeholder ("N", "FILE"); NULL: a flag */
    const char *help;        /* one line (or several, split by '\n'), defaults included */
} cli_option;

struct option;
typedef struct cli_parser {
    const char *cmd;
    const cli_option *opts;
    int argc;
    char **argv;
    struct option *longopts;
    char shortopts[160];
} cli_parser;

enum { CLI_END = -1, CLI_ERROR = -2 };
int cli_parser_init(cli_parser *p, const char *cmd, const cli_option *opts, int argc, char **argv);
/* The next option's index in the table (*value: its value or NULL); CLI_END
 * when only operands are left (from argv[cli_positional(p)] on, getopt_long
 * having moved them to the end); CLI_ERROR after printing "unknown option"
 * with a did-you-mean, a missing value or an ambiguous prefix. */
int cli_next(cli_parser *p, const char **value);
int cli_positional(const cli_parser *p);
void cli_parser_free(cli_parser *p);
/* usage text, the table's options aligned, then tail (may be NULL). */
void cli_help(FILE *f, const char *usage, const cli_option *opts, const char *tail);

/* Shared parsing: on a bad value they print "thermabench CMD: --opt: ..." to
 * stderr and return -1, so the command exits with TB_EXIT_USAGE. */
int cli_parse_long(const char *cmd, const char *opt, const char *text, long min, long max, long *out);
int cli_parse_double(const char *cmd, const char *opt, const char *text, double min, double max, double *out);
/* "3%", "3" and "3.5%" are percentages: *out is the fraction (0.03); min and max in percent. */
int cli_parse_pct(const char *cmd, const char *opt, const char *text, double min, double max, double *out);
int cli_parse_u64(const char *cmd, const char *opt, const char *text, unsigned long long *out);
/* --threads, --kernel, --backend, --opencl-device into `o`: 0 parsed,
 * -1 bad value (printed), 1 not an engine option. */
int cli_parse_engine_option(const char *cmd, const char *opt, const char *value, engine_options *o);
/* The same for a row of an option table: 0, or -1 after printing the error. */
int cli_engine_option(const char *cmd, const cli_option *row, const char *value, engine_options *o);

/* The option-table rows of the engine options, at the caller's indices. */
#define CLI_ENGINE_OPTION_ROWS(THREADS, KERNEL, BACKEND, DEVICE)                                                     \
    [THREADS] = {"threads", 't', "N", "worker threads, 0 = all online CPUs (default 0)"},                             \
    [KERNEL] = {"kernel", 'k', "OP=VARIANT",                                                                          \
                "kernel variant for an op (see 'thermabench kernels'); repeatable;\n"                                \
                "all=V picks V for every op that has it (all=scalar: the reference)"},                               \
    [BACKEND] = {"backend", 0, "B", "cpu (default) or opencl"},                                                       \
    [DEVICE] = {"opencl-device", 0, "D", "OpenCL device: P:D indices or a name substring (default: first GPU)"}
/* Prints "thermabench CMD: <message>" and the hint to run --help. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
