/* thermabench: one binary, git-style subcommands (one file each). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "harness.h"

typedef struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"run", cmd_run, "run an experiment from a config (default: the built-in A/B)"},
    {"cmd", cmd_cmd, "benchmark command lines against each other, in one line"},
    {"bench", cmd_bench, "measure prefill and decode throughput once (bench_one_batch)"},
    {"generate", cmd_generate, "generate text from a model"},
    {"model", cmd_model, "synthesise a model (synth) or describe one (info)"},
    {"kernels", cmd_kernels, "list kernel variants and OpenCL devices"},
    {"roofline", cmd_roofline, "measure this machine's memory bandwidth and FMA peak"},
    {"probe", cmd_probe, "show every telemetry source and its readings"},
    {"doctor", cmd_doctor, "check OpenCL loader, ICD files, devices, NVML and gnuplot; say what to set"},
    {"compare", cmd_compare, "compare variants from results files"},
    {"gate", cmd_gate, "CI gate: baseline against candidate, with exit codes"},
    {"plan-runs", cmd_plan_runs, "runs and sessions a gate margin needs on this machine's noise"},
    {"report", cmd_report, "write report.md / report.html with plots from results"},
    {"export", cmd_export, "write results in another tool's format (hyperfine, Bencher, ...)"},
    {"history", cmd_history, "the results store: list, show, trend, changes, import, export"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: thermabench <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n'thermabench <command> --help' shows a command's options.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return TB_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return TB_EXIT_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        const harness_build_info *b = &harness_build;
        char line[512];
        harness_build_describe(line, sizeof line);
        printf("thermabench %s\ncommit:     %s%s\nbuild type: %s\ncompiler:   %s\nflags:      %s\nsanitizers: %s\n", line,
               b->git_commit, b->git_dirty > 0 ? " (dirty: tracked files differ from the commit)" : "", b->build_type,
               b->compiler, b->cflags, b->sanitizers[0] ? b->sanitizers : "none");
        return TB_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].fn(argc - 1, argv + 1);
    const char *near = NULL;
    size_t best = 3;
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        size_t d = 0, la = strlen(argv[1]), lb = strlen(commands[i].name);
        for (size_t k = 0; k < la || k < lb; k++) d += k >= la || k >= lb || argv[1][k] != commands[i].name[k];
        if (d < best || (d == best && !near && d <= 2)) best = d, near = commands[i].name;
    }
    if (near) fprintf(stderr, "thermabench: unknown command '%s' (did you mean '%s'?)\n\n", argv[1], near);
    else fprintf(stderr, "thermabench: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return TB_EXIT_USAGE;
}
