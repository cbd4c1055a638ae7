/* Internal to the thermabench executable: one function per subcommand (one
 * file each, cmd_<name>.c) and the option parsing they share. */
#ifndef THERMABENCH_CLI_H
#define THERMABENCH_CLI_H

#include <stdbool.h>

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
/* Prints "thermabench CMD: <message>" and the hint to run --help. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
