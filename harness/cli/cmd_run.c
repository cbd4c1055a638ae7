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
#include "history.h"
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
            "  --print-config  print the config as it would run (defaults filled in) and exit\n"
            "  --history PATH|URI  append the experiment to this results history: a SQLite file or\n"
            "                  postgresql://... (default $THERMABENCH_HISTORY, else\n"
            "                  $XDG_DATA_HOME/thermabench/history.db; docs/HISTORY.md)\n"
            "  --no-history    do not append to the history\n"
            "  --tag K=V       a tag on the experiment in the history (repeatable); commit, branch,\n"
            "                  dirty and describe default to the git work tree of --repo\n"
            "  --repo DIR      the code under test's git work tree (default: the current directory)\n\n"
            "exit status: 0 done; 1 every run failed, --strict refused, another run holds the\n"
            "results directory, the results could not be written (disk full, read-only), or the\n"
            "history store could not be reached; 2 bad config, usage, or a history store that is\n"
            "not one (wrong password, newer schema, damaged file); 130 interrupted (results\n"
            "written; continue with --resume DIR)\n");
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
            report_fprintf(stdout, REPORT_ESC_TERMINAL, "%s\n", c.sentence);
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

/* Where and with which tags the experiment goes into the history. */
typedef struct run_history {
    bool off;
    const char *spec, *repo;
    char spec_buf[1024];
    history_tag tags[HISTORY_MAX_TAGS];
    int ntags;
} run_history;

static int history_option(run_history *h, const char *opt, const char *value)
{
    char why[256];
    if (!strcmp(opt, "--history"))
        h->spec = value;
    else if (!strcmp(opt, "--repo"))
        h->repo = value;
    else if (h->ntags >= HISTORY_MAX_TAGS)
        return cli_usage_error("run", "--tag: at most %d", HISTORY_MAX_TAGS);
    else if (history_parse_tag(value, &h->tags[h->ntags], why, sizeof why) < 0)
        return cli_usage_error("run", "--tag: %s", why);
    else
        h->ntags++;
    return 0;
}

static int store_error(const history_error *e)
{
    fprintf(stderr, "thermabench run: %s\n", e->msg);
    return e->exit_code == 1 ? TB_EXIT_FAIL : TB_EXIT_USAGE;
}

/* Before the experiment: the store must open (a wrong password or a
 * damaged file is found before an hour of runs, not after). */
static int history_check(run_history *h)
{
    if (h->off)
        return TB_EXIT_OK;
    if (!h->spec && !(h->spec = history_default_spec(h->spec_buf, sizeof h->spec_buf))) {
        fprintf(stderr, "thermabench run: no HOME or XDG_DATA_HOME for the history; set --history or --no-history\n");
        return TB_EXIT_USAGE;
    }
    history_error e;
    if (history_prepare_path(h->spec, &e) < 0)
        return store_error(&e);
    history_store *s = history_open(h->spec, HISTORY_OPEN_CREATE, &e);
    if (!s)
        return store_error(&e);
    history_close(s);
    return TB_EXIT_OK;
}

static int history_append(run_history *h, const char *results, bool quiet)
{
    if (h->off)
        return TB_EXIT_OK;
    history_git_tags(h->repo ? h->repo : ".", h->tags, &h->ntags, HISTORY_MAX_TAGS);
    history_error e;
    history_store *s = history_open(h->spec, HISTORY_OPEN_CREATE, &e);
    long long id = 0;
    if (!s || history_append_results(s, results, h->tags, h->ntags, &id, NULL, &e) < 0) {
        history_close(s);
        fprintf(stderr, "thermabench run: the experiment is in %s but not in the history: %s\n", results, e.msg);
        return e.exit_code == 1 ? TB_EXIT_FAIL : TB_EXIT_USAGE;
    }
    if (!quiet)
        report_fprintf(stdout, REPORT_ESC_TERMINAL, "history: experiment %lld in %s\n", id, history_store_name(s));
    history_close(s);
    return TB_EXIT_OK;
}

int cmd_run(int argc, char **argv)
{
    const char *config_path = NULL, *out_dir = NULL, *resume = NULL;
    int sessions = 0;
    bool strict = false, quiet = false, report = true, print_config = false, wait = false;
    run_history hist = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { usage(stdout); return TB_EXIT_OK; }
        else if (!strcmp(a, "--no-history")) hist.off = true;
        else if (!strcmp(a, "--history") || !strcmp(a, "--tag") || !strcmp(a, "--repo")) {
            if (i + 1 >= argc) { cli_usage_error("run", "%s needs a value", a); return TB_EXIT_USAGE; }
            if (history_option(&hist, a, argv[++i]) < 0) return TB_EXIT_USAGE;
        }
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
        int hrc = history_check(&hist);
        if (hrc != TB_EXIT_OK) return hrc;
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
        int hrc = history_check(&hist);
        if (hrc != TB_EXIT_OK) { free(c); return hrc; }
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
        history_append(&hist, results, quiet);      /* --resume replaces it with the whole experiment */
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
    int hrc = history_append(&hist, results, quiet);
    if (hrc != TB_EXIT_OK)
        return hrc;
    return out.runs_total > 0 && out.runs_failed == out.runs_total ? TB_EXIT_FAIL : TB_EXIT_OK;
}
