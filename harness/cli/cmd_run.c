/* thermabench run [CONFIG]: runs an experiment (the built-in default A/B
 * without a config), or continues one with --resume DIR. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "harness.h"
#include "reports.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: thermabench run [CONFIG] [options]\n"
            "       thermabench run --resume DIR [options]\n\n"
            "Runs the experiment a config describes (docs/CONFIG.md); without CONFIG the\n"
            "built-in default: an interleaved A/B of two matmul kernels on a synthetic model.\n\n"
            "options:\n"
            "  --out DIR       results directory (default: results/<UTC time>-<name>)\n"
            "  --resume DIR    continue an interrupted experiment in DIR\n"
            "  --strict        refuse to start when a preflight check warns\n"
            "  --wait          another run holds the results directory: wait for it (default: exit 1)\n"
            "  --quiet         no progress output\n"
            "  --no-report     do not write report.md / report.html at the end\n"
            "  --sessions N    split the experiment into N sessions: separate processes, each with\n"
            "                  its own warm-up, order re-drawn (config: sessions.count, sessions.pause_s)\n"
            "  --print-config  print the config as it would run (defaults filled in) and exit\n\n"
            "exit status: 0 done; 1 every run failed, --strict refused, another run holds the\n"
            "results directory, or the results could not be written (disk full, read-only);\n"
            "2 bad config or usage; 130 interrupted (results written; continue with --resume DIR)\n");
}

/* The one-line verdict of every variant against the first (the baseline),
 * as the report's A/B summary gives it, so the main job ends with an answer. */
static void print_verdicts(const char *results_path)
{
    report_results r = {0};
    report_error err = {0};
    if (report_results_load(results_path, &r, &err) < 0)
        return;   /* the report step says what is wrong with the file */
    for (int i = 1; i < r.nvariants; i++) {
        report_comparison c;
        if (report_compare(&r, r.variants[0], &r, r.variants[i], &c, &err) == 0 && c.sentence[0])
            printf("%s\n", c.sentence);
    }
    report_results_free(&r);
}

/* What a session's process reports back to the parent. */
typedef struct session_report {
    int rc;
    harness_outcome out;
    harness_error err;
} session_report;

/* Waits seconds, or less if interrupted. */
static void pause_between(double seconds)
{
    for (double left = seconds; left > 0 && !harness_interrupted(); left -= 0.1) {
        struct timespec ts = {0, 100000000L};
        nanosleep(&ts, NULL);
    }
}

/* An experiment split into sessions: each one a fresh process (its own
 * engine, caches, allocations and warm-up), the first creates the
 * directory, the others continue it as --resume does. */
static int run_sessions(const harness_config *c, const harness_run_options *o, harness_outcome *out,
                        harness_error *err)
{
    char dir[1024] = "";
    for (int s = 0; s < c->sessions.count; s++) {
        if (s > 0)
            pause_between(c->sessions.pause_s);
        if (harness_interrupted()) {
            out->status = HARNESS_INTERRUPTED;
            return 0;
        }
        int fd[2];
        if (pipe(fd) < 0) {
            snprintf(err->msg, sizeof err->msg, "sessions: pipe: %s", strerror(errno));
            err->kind = HARNESS_ERR_SYSTEM;
            return -1;
        }
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0) {
            snprintf(err->msg, sizeof err->msg, "sessions: fork: %s", strerror(errno));
            err->kind = HARNESS_ERR_SYSTEM;
            close(fd[0]);
            close(fd[1]);
            return -1;
        }
        if (pid == 0) {
            close(fd[0]);
            session_report r = {0};
            r.rc = s == 0 ? harness_experiment_run(c, o, &r.out, &r.err) : harness_experiment_resume(dir, o, &r.out, &r.err);
            ssize_t w = write(fd[1], &r, sizeof r);
            _exit(w == (ssize_t)sizeof r ? 0 : 1);
        }
        close(fd[1]);
        session_report r;
        size_t got = 0;
        while (got < sizeof r) {
            ssize_t n = read(fd[0], (char *)&r + got, sizeof r - got);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            got += (size_t)n;
        }
        close(fd[0]);
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        if (got != sizeof r) {
            snprintf(err->msg, sizeof err->msg, "session %d: the process ended without a result (%s)", s,
                     WIFSIGNALED(status) ? "killed by a signal" : "no report");
            err->kind = HARNESS_ERR_SYSTEM;
            snprintf(out->dir, sizeof out->dir, "%s", dir);
            return -1;
        }
        *out = r.out;
        if (r.rc) {
            *err = r.err;
            return r.rc;
        }
        snprintf(dir, sizeof dir, "%s", r.out.dir);
        if (r.out.status != HARNESS_COMPLETE)
            return 0;
    }
    return 0;
}

int cmd_run(int argc, char **argv)
{
    const char *config_path = NULL, *out_dir = NULL, *resume = NULL;
    int sessions = 0;
    bool strict = false, quiet = false, report = true, print_config = false, wait = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { usage(stdout); return TB_EXIT_OK; }
        else if (!strcmp(a, "--strict")) strict = true;
        else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) quiet = true;
        else if (!strcmp(a, "--no-report")) report = false;
        else if (!strcmp(a, "--wait")) wait = true;
        else if (!strcmp(a, "--print-config")) print_config = true;
        else if (!strcmp(a, "--sessions")) {
            long v;
            if (i + 1 >= argc) { cli_usage_error("run", "--sessions needs a number"); return TB_EXIT_USAGE; }
            if (cli_parse_long("run", "--sessions", argv[++i], 1, 1000, &v) < 0) return TB_EXIT_USAGE;
            sessions = (int)v;
        } else if (!strcmp(a, "--out") || !strcmp(a, "--resume")) {
            if (i + 1 >= argc) { cli_usage_error("run", "%s needs a directory", a); return TB_EXIT_USAGE; }
            if (!strcmp(a, "--out")) out_dir = argv[++i]; else resume = argv[++i];
        } else if (a[0] == '-' && a[1]) {
            cli_usage_error("run", "unknown option '%s'", a);
            return TB_EXIT_USAGE;
        } else if (!config_path) config_path = a;
        else { cli_usage_error("run", "one config at a time (got '%s' and '%s')", config_path, a); return TB_EXIT_USAGE; }
    }
    if (resume && (config_path || out_dir)) {
        cli_usage_error("run", "--resume DIR takes its config from DIR/config.json: no CONFIG or --out with it");
        return TB_EXIT_USAGE;
    }
    harness_error err = {0};
    harness_outcome out;
    harness_run_options o = {.out_dir = out_dir, .strict = strict, .quiet = quiet, .wait_for_lock = wait};
    int rc;
    if (resume) {
        if (print_config) { cli_usage_error("run", "--print-config needs a config, not --resume"); return TB_EXIT_USAGE; }
        harness_install_signal_handlers();
        rc = harness_experiment_resume(resume, &o, &out, &err);
    } else {
        harness_config *c = NULL;
        rc = config_path ? harness_config_load_file(config_path, &c, &err)
                         : harness_config_load_text(harness_default_config_json, "<built-in default config>", &c, &err);
        if (rc) {
            fprintf(stderr, "thermabench run: %s\n", err.msg);
            return err.kind == HARNESS_ERR_INPUT ? TB_EXIT_USAGE : TB_EXIT_FAIL;
        }
        if (print_config) {
            char *text = harness_config_to_json_text(c);
            if (text) puts(text);
            free(text);
            free(c);
            return TB_EXIT_OK;
        }
        if (sessions > 0)
            c->sessions.count = sessions;
        if (c->sessions.count > 1 && c->order == HARNESS_ORDER_SEQUENTIAL && c->n_variants > 1) {
            cli_usage_error("run", "--sessions: several sessions need an order that runs every variant in each round "
                                   "(interleaved, abba or random)");
            free(c);
            return TB_EXIT_USAGE;
        }
        harness_install_signal_handlers();
        rc = c->sessions.count > 1 ? run_sessions(c, &o, &out, &err) : harness_experiment_run(c, &o, &out, &err);
        free(c);
    }
    if (rc) {
        fprintf(stderr, "thermabench run: %s\n", err.msg);
        if (out.dir[0]) fprintf(stderr, "thermabench run: results so far: %s/results.json\n", out.dir);
        return err.kind == HARNESS_ERR_INPUT ? TB_EXIT_USAGE : TB_EXIT_FAIL;
    }
    if (out.status == HARNESS_REFUSED) {
        fprintf(stderr, "thermabench run: %s\n", err.msg);
        return TB_EXIT_FAIL;
    }
    char results[1200];
    snprintf(results, sizeof results, "%s/results.json", out.dir);
    if (out.status == HARNESS_INTERRUPTED) {
        fprintf(stderr, "thermabench run: interrupted after %d run%s; results: %s\n"
                        "continue with: thermabench run --resume %s\n",
                out.runs_total, out.runs_total == 1 ? "" : "s", results, out.dir);
        return TB_EXIT_INTERRUPTED;
    }
    print_verdicts(results);
    printf("%d run%s, %d failed\nresults: %s\n", out.runs_total, out.runs_total == 1 ? "" : "s",
           out.runs_failed, results);
    if (report) {
        report_error rerr = {0};
        if (report_generate(results, out.dir, &rerr) == 0)
            printf("report:  %s/report.md (and report.html, runs.csv)\n", out.dir);
        else
            fprintf(stderr, "thermabench run: report not written: %s\n", rerr.msg);
    }
    return out.runs_total > 0 && out.runs_failed == out.runs_total ? TB_EXIT_FAIL : TB_EXIT_OK;
}
