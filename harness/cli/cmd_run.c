/* thermabench run [CONFIG]: runs an experiment (the built-in default A/B
 * without a config), or continues one with --resume DIR. */
#include <cjson/cJSON.h>
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

enum {
    O_OUT, O_RESUME, O_RUNS, O_WARMUP, O_SET, O_SESSIONS, O_DRY_RUN, O_STRICT, O_WAIT, O_QUIET, O_NO_REPORT,
    O_PRINT_CONFIG, O_JSON, O_HISTORY, O_NO_HISTORY, O_TAG, O_REPO, O_HELP
};

static const cli_option options[] = {
    [O_OUT] = {"out", 'o', "DIR", "results directory (default: results/<UTC time>-<name>)"},
    [O_RESUME] = {"resume", 0, "DIR", "continue an interrupted experiment in DIR"},
    [O_RUNS] = {"runs", 'r', "N", "measured runs per variant: the config's repetitions (default: the config's)"},
    [O_WARMUP] = {"warmup", 'w', "N", "warm-up runs per variant (default: the config's)"},
    [O_SET] = {"set", 's', "KEY=VALUE", "override a config field by its JSON path (workload.threads=2,\ncooldown.mode=fixed, variants[1].batch_size=4); VALUE is JSON or a\nstring; repeatable; recorded in config.json"},
    [O_SESSIONS] = {"sessions", 0, "N", "split the experiment into N sessions: separate processes, each with\nits own warm-up, order re-drawn (config: sessions.count, sessions.pause_s)"},
    [O_DRY_RUN] = {"dry-run", 'n', NULL, "print the plan (order, runs, estimated time) and exit"},
    [O_STRICT] = {"strict", 0, NULL, "refuse to start when a preflight check warns"},
    [O_WAIT] = {"wait", 0, NULL, "another run holds the results directory: wait for it (default: exit 1)"},
    [O_QUIET] = {"quiet", 'q', NULL, "no progress output"},
    [O_NO_REPORT] = {"no-report", 0, NULL, "do not write report.md / report.html at the end"},
    [O_PRINT_CONFIG] = {"print-config", 0, NULL, "print the config as it would run (defaults filled in) and exit"},
    [O_JSON] = {"json", 0, NULL, "print the summary (runs, verdicts, paths) as JSON on stdout"},
    [O_HISTORY] = {"history", 0, "PATH|URI", "append the experiment to this results history: a SQLite file or\npostgresql://... (default $THERMABENCH_HISTORY, else\n$XDG_DATA_HOME/thermabench/history.db; docs/HISTORY.md)"},
    [O_NO_HISTORY] = {"no-history", 0, NULL, "do not append to the history"},
    [O_TAG] = {"tag", 0, "K=V", "a tag on the experiment in the history (repeatable); commit, branch,\ndirty and describe default to the git work tree of --repo"},
    [O_REPO] = {"repo", 0, "DIR", "the code under test's git work tree (default: the current directory)"},
    [O_HELP] = {"help", 'h', NULL, "this help"},
    {0},
};

static void usage(FILE *f)
{
    cli_help(f,
             "usage: thermabench run [CONFIG] [options]\n"
             "       thermabench run --resume DIR [options]\n\n"
             "Runs the experiment a config describes (docs/CONFIG.md); without CONFIG the\n"
             "built-in default: an interleaved A/B of two matmul kernels on a synthetic model.\n",
             options,
             "\nexit status: 0 done; 1 every run failed, --strict refused, another run holds the\n"
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

/* Sets the value at a dotted JSON path ("a.b[1].c") in root, creating
 * objects on the way; VALUE is parsed as JSON, else taken as a string. */
static int set_path(cJSON *root, const char *assignment)
{
    const char *eq = strchr(assignment, '=');
    if (!eq || eq == assignment) return cli_usage_error("run", "--set: expected KEY=VALUE, got '%s'", assignment);
    char path[256];
    size_t plen = (size_t)(eq - assignment);
    if (plen >= sizeof path) return cli_usage_error("run", "--set: key too long");
    memcpy(path, assignment, plen);
    path[plen] = 0;
    cJSON *value = cJSON_Parse(eq + 1);
    if (!value) value = cJSON_CreateString(eq + 1);
    cJSON *node = root;
    char *save = NULL;
    for (char *part = strtok_r(path, ".", &save); part; part = strtok_r(NULL, ".", &save)) {
        char *br = strchr(part, '[');
        long index = -1;
        if (br) {
            char *end;
            index = strtol(br + 1, &end, 10);
            if (*end != ']' || end[1] || index < 0) {
                cJSON_Delete(value);
                return cli_usage_error("run", "--set: bad index in '%s'", part);
            }
            *br = 0;
        }
        bool last = !save || !*save;
        if (!cJSON_IsObject(node)) {
            cJSON_Delete(value);
            return cli_usage_error("run", "--set %s: '%s' is not inside an object", assignment, part);
        }
        cJSON *child = cJSON_GetObjectItemCaseSensitive(node, part);
        if (index >= 0) {
            if (!cJSON_IsArray(child) || index >= cJSON_GetArraySize(child)) {
                cJSON_Delete(value);
                return cli_usage_error("run", "--set %s: the config has no %s[%ld]", assignment, part, index);
            }
            if (last) {
                cJSON_ReplaceItemInArray(child, (int)index, value);
                return 0;
            }
            node = cJSON_GetArrayItem(child, (int)index);
            continue;
        }
        if (last) {
            if (child) cJSON_ReplaceItemInObjectCaseSensitive(node, part, value);
            else cJSON_AddItemToObject(node, part, value);
            return 0;
        }
        if (!child) child = cJSON_AddObjectToObject(node, part);
        node = child;
    }
    cJSON_Delete(value);
    return cli_usage_error("run", "--set: empty key");
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0, n;
    char tmp[8192];
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) {
        if (len + n + 1 > cap) {
            cap = (len + n + 1) * 2;
            char *nb = realloc(buf, cap);
            if (!nb) { free(buf); fclose(f); return NULL; }
            buf = nb;
        }
        memcpy(buf + len, tmp, n);
        len += n;
    }
    fclose(f);
    if (buf) buf[len] = 0;
    return buf;
}

/* The config with --runs, --warmup and --set applied; the config's own
 * loader checks the result and names the field in any error. */
static int load_config(const char *path, char **sets, int nsets, harness_config **c, harness_error *err)
{
    if (!nsets) return path ? harness_config_load_file(path, c, err)
                            : harness_config_load_text(harness_default_config_json, "<built-in default config>", c, err);
    char *text = path ? read_text(path) : strdup(harness_default_config_json);
    if (!text) return harness_config_load_file(path, c, err);   /* says why it cannot be read */
    cJSON *root = cJSON_Parse(text);
    free(text);
    if (!root) return path ? harness_config_load_file(path, c, err) : -1;   /* its JSON error, with line and column */
    for (int i = 0; i < nsets; i++)
        if (set_path(root, sets[i])) {
            cJSON_Delete(root);
            snprintf(err->msg, sizeof err->msg, "bad --set");
            err->kind = HARNESS_ERR_INPUT;
            return -2;
        }
    char *patched = cJSON_Print(root);
    cJSON_Delete(root);
    char source[600];
    snprintf(source, sizeof source, "%s with --set", path ? path : "<built-in default config>");
    int rc = patched ? harness_config_load_text(patched, source, c, err) : -1;
    free(patched);
    return rc;
}

/* --dry-run: the order the plan gives, the runs per variant and what the
 * time is made of. An adaptive stop is shown at its longest. */
static int dry_run(const harness_config *c)
{
    int cap = 1024, n = 0, v;
    bool warmup;
    harness_run_record *rec = malloc(sizeof *rec * (size_t)cap);
    int per[HARNESS_MAX_VARIANTS] = {0}, warm[HARNESS_MAX_VARIANTS] = {0};
    int nsessions = c->sessions.count > 1 ? c->sessions.count : 1;
    for (int session = 0; rec && session < nsessions; session++)
        while (harness_plan_next_in_session(c, rec, n, nsessions > 1 ? session : -1, &v, &warmup)) {
            if (n == cap) {
                harness_run_record *nr = realloc(rec, sizeof *rec * (size_t)(cap *= 2));
                if (!nr) break;
                rec = nr;
            }
            rec[n++] = (harness_run_record){.variant = v, .warmup = warmup, .ok = true, .primary = 1.0, .session = session};
            if (warmup) warm[v]++; else per[v]++;
            if (n > 1000000) break;
        }
    printf("experiment '%s' (%s): %d runs\n", c->name, c->source, n);
    for (int i = 0; i < c->n_variants; i++)
        printf("  %-24s %d measured + %d warm-up\n", c->variants[i].name, per[i], warm[i]);
    if (c->stop.rule == HARNESS_STOP_ADAPTIVE)
        printf("  adaptive stop: each variant ends once the 95%% CI is within %g%% of the mean, after %d to %d runs;\n"
               "  the plan above is the longest\n", c->stop.target_ci_pct, c->repetitions, c->stop.max_repetitions);
    if (nsessions > 1) printf("  %d sessions (separate processes), %g s apart\n", nsessions, c->sessions.pause_s);
    printf("order:");
    for (int i = 0; i < n && i < 60; i++)
        printf("%s%s %s%s", i % 8 ? "" : "\n ", i && rec[i].session != rec[i - 1].session ? " |" : "",
               c->variants[rec[i].variant].name, rec[i].warmup ? "(w)" : "");
    printf("%s\n", n > 60 ? " ..." : "");
    double cool = c->cooldown.mode == HARNESS_COOLDOWN_FIXED ? c->cooldown.seconds * (n > 0 ? n - 1 : 0) : 0;
    printf("estimated time: %d runs x each run's own time", n);
    if (cool > 0) printf(" + %.0f s of cooldown", cool);
    if (c->cooldown.mode == HARNESS_COOLDOWN_TEMPERATURE)
        printf(" + up to %g s of cooldown per run (to a temperature)", c->cooldown.timeout_s);
    printf("; at most %.0f s if every run hits timeout_s (%g s)\n", n * c->run_timeout_s + cool, c->run_timeout_s);
    free(rec);
    return TB_EXIT_OK;
}

/* The summary as JSON: where the results are, the runs and each variant's
 * comparison against the first. */
static void print_json_summary(const harness_outcome *out, const char *results, bool report_written)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", out->status == HARNESS_INTERRUPTED ? "interrupted" : "complete");
    cJSON_AddStringToObject(o, "results", results);
    cJSON_AddStringToObject(o, "dir", out->dir);
    cJSON_AddNumberToObject(o, "runs", out->runs_total);
    cJSON_AddNumberToObject(o, "failed", out->runs_failed);
    cJSON_AddBoolToObject(o, "report", report_written);
    cJSON *cmp = cJSON_AddArrayToObject(o, "comparisons");
    report_results r = {0};
    report_error err = {0};
    if (report_results_load(results, &r, &err) == 0) {
        for (int i = 1; i < r.nvariants; i++) {
            report_comparison c;
            if (report_compare(&r, r.variants[0], &r, r.variants[i], &c, &err)) continue;
            char *t = report_comparison_json(&c, r.metric_name, r.metric_unit);
            cJSON *j = t ? cJSON_Parse(t) : NULL;
            free(t);
            if (j) cJSON_AddItemToArray(cmp, j);
        }
        report_results_free(&r);
    }
    char *t = cJSON_Print(o);
    if (t) puts(t);
    free(t);
    cJSON_Delete(o);
}

int cmd_run(int argc, char **argv)
{
    const char *config_path = NULL, *out_dir = NULL, *resume = NULL, *v;
    int sessions = 0;
    bool strict = false, quiet = false, report = true, print_config = false, wait = false, dry = false, json = false;
    run_history hist = {0};
    char *sets[64];
    char setbuf[2][64];
    int nsets = 0, id, prc = 0;
    cli_parser p;
    if (cli_parser_init(&p, "run", options, argc, argv)) return TB_EXIT_FAIL;
    while (!prc && (id = cli_next(&p, &v)) != CLI_END) {
        long n;
        switch (id) {
        case CLI_ERROR: prc = TB_EXIT_USAGE; break;
        case O_HELP: usage(stdout); prc = -1; break;
        case O_OUT: out_dir = v; break;
        case O_RESUME: resume = v; break;
        case O_STRICT: strict = true; break;
        case O_WAIT: wait = true; break;
        case O_QUIET: quiet = true; break;
        case O_NO_REPORT: report = false; break;
        case O_PRINT_CONFIG: print_config = true; break;
        case O_DRY_RUN: dry = true; break;
        case O_JSON: json = true; break;
        case O_NO_HISTORY: hist.off = true; break;
        case O_HISTORY: if (history_option(&hist, "--history", v) < 0) prc = TB_EXIT_USAGE; break;
        case O_TAG: if (history_option(&hist, "--tag", v) < 0) prc = TB_EXIT_USAGE; break;
        case O_REPO: if (history_option(&hist, "--repo", v) < 0) prc = TB_EXIT_USAGE; break;
        case O_SESSIONS:
            if (cli_parse_long("run", "--sessions", v, 1, 1000, &n) < 0) prc = TB_EXIT_USAGE;
            else sessions = (int)n;
            break;
        case O_RUNS:
        case O_WARMUP:
            if (cli_parse_long("run", id == O_RUNS ? "--runs" : "--warmup", v, id == O_RUNS ? 1 : 0, 100000, &n)) {
                prc = TB_EXIT_USAGE;
                break;
            }
            snprintf(setbuf[id == O_RUNS ? 0 : 1], sizeof setbuf[0], "%s=%ld", id == O_RUNS ? "repetitions" : "warmup", n);
            if (nsets < 64) sets[nsets++] = setbuf[id == O_RUNS ? 0 : 1];
            break;
        case O_SET:
            if (nsets == 64) prc = (cli_usage_error("run", "at most 64 --set"), TB_EXIT_USAGE);
            else sets[nsets++] = (char *)v;
            break;
        }
    }
    for (int i = cli_positional(&p); !prc && i < argc; i++) {
        if (!config_path) config_path = argv[i];
        else {
            cli_usage_error("run", "one config at a time (got '%s' and '%s')", config_path, argv[i]);
            prc = TB_EXIT_USAGE;
        }
    }
    cli_parser_free(&p);
    if (prc) return prc < 0 ? TB_EXIT_OK : prc;
    if (resume && (config_path || out_dir || nsets)) {
        cli_usage_error("run", "--resume DIR takes its config from DIR/config.json: no CONFIG, --out, --runs, --warmup or --set with it");
        return TB_EXIT_USAGE;
    }
    harness_error err = {0};
    harness_outcome out;
    harness_run_options o = {.out_dir = out_dir, .strict = strict, .quiet = quiet, .wait_for_lock = wait};
    int rc;
    if (resume) {
        if (print_config || dry) { cli_usage_error("run", "--print-config and --dry-run need a config, not --resume"); return TB_EXIT_USAGE; }
        int hrc = history_check(&hist);
        if (hrc != TB_EXIT_OK) return hrc;
        harness_install_signal_handlers();
        rc = harness_experiment_resume(resume, &o, &out, &err);
    } else {
        harness_config *c = NULL;
        rc = load_config(config_path, sets, nsets, &c, &err);
        if (rc) {
            if (rc != -2) fprintf(stderr, "thermabench run: %s\n", err.msg);
            return err.kind == HARNESS_ERR_INPUT || rc == -2 ? TB_EXIT_USAGE : TB_EXIT_FAIL;
        }
        if (dry) {
            if (sessions > 0) c->sessions.count = sessions;
            rc = dry_run(c);
            free(c);
            return rc;
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
        history_append(&hist, results, quiet || json);      /* --resume replaces it with the whole experiment */
        return TB_EXIT_INTERRUPTED;
    }
    if (!json) {
        print_verdicts(results);
        printf("%d run%s, %d failed\nresults: %s\n", out.runs_total, out.runs_total == 1 ? "" : "s",
               out.runs_failed, results);
    }
    bool written = false;
    if (report) {
        report_error rerr = {0};
        written = report_generate(results, out.dir, &rerr) == 0;
        if (written && !json)
            printf("report:  %s/report.md (and report.html, runs.csv)\n", out.dir);
        else if (!written)
            fprintf(stderr, "thermabench run: report not written: %s\n", rerr.msg);
    }
    int hrc = history_append(&hist, results, quiet || json);
    if (json) print_json_summary(&out, results, written);
    if (hrc != TB_EXIT_OK)
        return hrc;
    return out.runs_total > 0 && out.runs_failed == out.runs_total ? TB_EXIT_FAIL : TB_EXIT_OK;
}
