/* The runner: executes the plan, one run at a time, and rewrites
 * results.json (harness/results.c writes its sections) atomically after
 * every run, so a crash, a timeout or Ctrl-C leaves a valid file with every
 * finished run.
 *
 * An experiment's "status" in results.json moves through these states:
 *
 *   running      set when the file is first written, and again when a
 *                session starts; every finished run is appended and the
 *                file rewritten. A crash leaves it "running" with every
 *                run that finished.
 *   interrupted  SIGINT/SIGTERM (the run in progress is not recorded) or a
 *                failed write: the session ends, the file keeps what was
 *                saved, and the experiment can be resumed.
 *   complete     the plan has no run left.
 *   resumed      not a status but a transition: --resume reads config.json
 *                and results.json, rebuilds the plan's history from the
 *                recorded runs (the plan is deterministic in that history),
 *                adds a session, and goes back to running.
 *
 * Each invocation (fresh or resumed) is one entry of "sessions" with its own
 * telemetry file. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness_internal.h"
#include "reports.h"

/* Messages and paths are bounded buffers; cutting one short is intended. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

static volatile sig_atomic_t g_interrupted, g_signals, g_command_live;

/* The first SIGINT/SIGTERM asks the runner to stop after the current run and
 * ends a running command (SIGTERM, SIGKILL after a grace period). A second
 * one cuts that grace period short; outside a command (an engine run cannot
 * be stopped mid-way) it ends the harness at once (results.json is still
 * whole: writes are atomic). */
static void on_signal(int sig)
{
    if (g_signals < 1000) g_signals++;
    if (g_interrupted && !g_command_live) {
        signal(sig, SIG_DFL);
        raise(sig);
    }
    g_interrupted = sig;
}

void harness_command_live(bool live) { g_command_live = live; }
int harness_interrupt_count(void) { return g_signals; }

void harness_install_signal_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);   /* no SA_RESTART: waits wake up */
    sigaction(SIGTERM, &sa, NULL);
}

bool harness_interrupted(void) { return g_interrupted != 0; }

/* ---- the experiment ------------------------------------------------- */

#define HARNESS_OVERHEAD_SAMPLES 4096

typedef struct experiment {
    const harness_config *c;
    const harness_run_options *o;
    char dir[1024];
    cJSON *doc, *runs;
    harness_run_record *rec;
    int n_rec, cap_rec;
    int session;
    probe_set *ps;
    probe_sampler *sampler;
    int temp_channel;
    double baseline_c;
    harness_engine_cache *engine;
    cJSON *session_env, *session_preflight;   /* resumed sessions record their own */
    double t0, last_telemetry_write, run_s_sum;
    int run_s_n;
    bool tty;
    char last[200];         /* the last run's result, for progress lines */
    bool setup_done[HARNESS_MAX_VARIANTS], ran[HARNESS_MAX_VARIANTS];
    /* The harness's own time per command run, for "harness_overhead". */
    int n_overhead;
    double spawn_ms[HARNESS_OVERHEAD_SAMPLES], reap_ms[HARNESS_OVERHEAD_SAMPLES];
    double bookkeeping_ms[HARNESS_OVERHEAD_SAMPLES];
    double prepare_ms, command_ms;   /* of the last run */
    int lock_fd;            /* the results directory's lock (results_lock.c), -1 before */
} experiment;

static void progress(experiment *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void progress(experiment *e, const char *fmt, ...)
{
    if (e->o->quiet) return;
    va_list ap;
    va_start(ap, fmt);
    if (e->tty) fputs("\r\033[K", stderr);
    vfprintf(stderr, fmt, ap);
    if (!e->tty) fputc('\n', stderr);
    va_end(ap);
    fflush(stderr);
}

/* A plain line (warnings, the summary): on a terminal it clears the progress line. */
static void say(experiment *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(experiment *e, const char *fmt, ...)
{
    if (e->o->quiet) return;
    va_list ap;
    va_start(ap, fmt);
    if (e->tty) fputs("\r\033[K", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static int add_record(experiment *e, int variant, bool warmup, bool ok, double primary)
{
    if (e->n_rec == e->cap_rec) {
        int cap = e->cap_rec ? e->cap_rec * 2 : 64;
        harness_run_record *r = realloc(e->rec, sizeof *r * (size_t)cap);
        if (!r) return -1;
        e->rec = r, e->cap_rec = cap;
    }
    e->rec[e->n_rec++] = (harness_run_record){variant, warmup, ok, primary, e->session};
    return 0;
}

static void write_telemetry(experiment *e)
{
    if (!e->sampler) return;
    char path[1100];
    if (e->session == 0) snprintf(path, sizeof path, "%s/telemetry.csv", e->dir);
    else snprintf(path, sizeof path, "%s/telemetry-%d.csv", e->dir, e->session);
    probe_error pe;   /* the probes write it atomically themselves */
    if (probe_timeline_write_csv(e->sampler, path, &pe)) {
        cJSON *notes = cJSON_GetObjectItemCaseSensitive(e->doc, "notes");
        if (cJSON_GetArraySize(notes) < 100) cJSON_AddItemToArray(notes, cJSON_CreateString(pe.msg));
    }
    e->last_telemetry_write = harness_now_s();
}

static int write_results(experiment *e, const char *status, harness_error *err)
{
    char now[32];
    harness_utc_now(now, sizeof now);
    cJSON_ReplaceItemInObjectCaseSensitive(e->doc, "status", cJSON_CreateString(status));
    cJSON_ReplaceItemInObjectCaseSensitive(e->doc, "updated_utc", cJSON_CreateString(now));
    /* Kernels a variant's session chose become known at its first run. */
    for (int v = 0; v < e->c->n_variants; v++)
        harness_results_variant_engine(e->doc, v, harness_engine_cache_kernels(e->engine, v),
                                       harness_engine_cache_model(e->engine, v));
    harness_results_output_agreement(e->doc, e->c);
    char *printed = cJSON_Print(e->doc);
    if (!printed) return harness_sys_fail(err, "out of memory");
    /* cJSON copies strings' bytes as they are: a name or argument that is not
     * UTF-8 (from argv or a config) gets U+FFFD here, so the file is JSON. */
    char *text = report_utf8_sanitize(printed, strlen(printed), NULL);
    free(printed);
    if (!text) return harness_sys_fail(err, "out of memory");
    char path[1100];
    snprintf(path, sizeof path, "%s/results.json", e->dir);
    int rc = harness_write_atomic(path, text, strlen(text), err);
    free(text);
    return rc;
}

/* ---- one run -------------------------------------------------------- */

static int mark(experiment *e, const char *phase, bool begin, int run)
{
    return e->sampler ? probe_sampler_mark(e->sampler, phase, begin, run) : -1;
}

/* A run of the in-process engine; marks get the prefill and decode marks. */
static void engine_part(experiment *e, int v, harness_run_entry *r, double *values, char *failure, size_t cap,
                        int *marks, double *tokens)
{
    const harness_workload *w = &e->c->variants[v].workload;
    harness_engine_result er;
    harness_engine_run(e->engine, v, w, e->sampler, r->index, marks, &er);
    mark(e, "run", false, r->index);
    if (!er.ok) snprintf(failure, cap, "%s", er.failure);
    else if (e->c->run_timeout_s > 0 && er.wall_ms > e->c->run_timeout_s * 1e3)
        snprintf(failure, cap, "took %.1f s, over the timeout of %g s", er.wall_ms / 1e3, e->c->run_timeout_s);
    for (int i = 0; i < r->n_metrics; i++) values[i] = er.ok && i < er.n_metrics ? er.metrics[i] : NAN;
    r->ok = !failure[0];
    r->wall_ms = er.wall_ms;
    r->have_hash = er.ok;
    r->output_hash = er.output_hash;
    *tokens = (double)er.tokens;
}

/* Runs a hook (prepare, setup, cleanup) untimed; false with the reason in
 * why when it failed; *interrupted when SIGINT/SIGTERM cut it short. */
static bool run_hook(experiment *e, const char *what, const harness_argv *a, char *why, size_t n, bool *interrupted)
{
    harness_command_result cr;
    harness_error herr = {0};
    /* A setup may start what the runs need (a server): it stays. */
    harness_exec_options o = {.timeout_s = e->c->run_timeout_s, .output = HARNESS_OUTPUT_CAPTURE,
                              .keep_leftovers = !strcmp(what, "setup")};
    int rc = harness_command_exec(a, &o, &cr, &herr);
    bool ok = rc == 0 && cr.ok;
    if (interrupted) *interrupted = rc == 0 && cr.interrupted;
    if (!ok) {
        const char *errtail = cr.err.data && cr.err.len ? cr.err.data + (cr.err.len > 200 ? cr.err.len - 200 : 0) : "";
        snprintf(why, n, "%s '%s' failed: %s%s%.200s", what, a->argv[0], rc ? herr.msg : cr.failure,
                 errtail[0] ? "; stderr: " : "", errtail);
    }
    harness_command_result_free(&cr);
    return ok;
}

/* A run of an external command; 1 when SIGINT/SIGTERM cut it short. The
 * caller frees *cr once the run is recorded (r points into it). */
static int command_part(experiment *e, int v, harness_run_entry *r, double *values, char *failure, size_t cap,
                        harness_command_result *cr)
{
    const harness_workload *w = &e->c->variants[v].workload;
    harness_error herr = {0};
    if (harness_command_run(w, e->c->run_timeout_s, cr, &herr)) {
        cr->ok = false;
        snprintf(cr->failure, sizeof cr->failure, "%s", herr.msg);
    }
    mark(e, "run", false, r->index);
    if (cr->interrupted) return 1;
    r->ok = cr->ok;
    snprintf(failure, cap, "%s", cr->failure);
    /* The harness's timing metrics first (harness_workload_metrics' order). */
    double timing[HARNESS_COMMAND_TIMING_METRICS] = {cr->wall_ms, cr->user_ms, cr->sys_ms, cr->max_rss_bytes};
    for (int i = 0; i < r->n_metrics; i++)
        values[i] = i < HARNESS_COMMAND_TIMING_METRICS ? timing[i] : cr->metrics[i - HARNESS_COMMAND_TIMING_METRICS];
    r->wall_ms = cr->wall_ms;
    r->exit_status = cr->exit_status;
    r->term_signal = cr->term_signal;
    r->command = cr;
    r->capture = w->output == HARNESS_OUTPUT_CAPTURE;
    e->command_ms = (isfinite(cr->wall_ms) ? cr->wall_ms : 0) + (isfinite(cr->reap_ms) ? cr->reap_ms : 0);
    if (e->n_overhead < HARNESS_OVERHEAD_SAMPLES && isfinite(cr->spawn_ms) && isfinite(cr->reap_ms)) {
        e->spawn_ms[e->n_overhead] = cr->spawn_ms;
        e->reap_ms[e->n_overhead] = cr->reap_ms;
    }
    return 0;
}

/* On a terminal, one line rewritten before each run: the run about to
 * start, time left, temperature, the last result. Elsewhere a log line
 * after each run. */
static void run_progress(experiment *e, int v, bool warmup, bool before)
{
    if (before != e->tty) return;
    double temp = e->sampler && e->temp_channel >= 0 ? probe_sampler_latest(e->sampler, e->temp_channel) : NAN;
    char tbuf[32] = "", eta[32] = "";
    if (isfinite(temp)) snprintf(tbuf, sizeof tbuf, "  %.1f C", temp);
    int left = harness_plan_remaining(e->c, e->rec, e->n_rec);
    int i = before ? e->n_rec + 1 : e->n_rec;
    if (left && e->run_s_n) snprintf(eta, sizeof eta, "  ~%.0f s left", e->run_s_sum / e->run_s_n * left);
    progress(e, "[run %d/%d] %s%s%s%s%s%s", i, e->n_rec + left, e->c->variants[v].name,
             warmup ? " (warm-up)" : "", eta, tbuf, e->last[0] ? (before ? "  last: " : "  result: ") : "", e->last);
}

static void set_last(experiment *e, const harness_run_entry *r, double primary, const char *unit)
{
    /* Four significant digits whatever the magnitude, so lines stay comparable. */
    double mag = fabs(primary);
    int decimals = mag >= 1000 ? 0 : mag >= 100 ? 1 : mag >= 10 ? 2 : 3;
    /* Named by its own variant: before a run the line shows the next one's name. */
    if (r->ok)
        snprintf(e->last, sizeof e->last, "%s %s %.*f %s", r->variant, e->c->primary_metric, decimals, primary, unit);
    else
        snprintf(e->last, sizeof e->last, "%s FAILED: %.120s", r->variant, r->failure);
}

static cJSON *telemetry(experiment *e, const harness_workload *w, int mark_begin, int mark_end, double tokens)
{
    int temp = e->c->cooldown.channel[0] ? e->temp_channel : -1;   /* a channel the config names wins */
    return harness_results_telemetry(e->ps, e->sampler, mark_begin, mark_end, harness_workload_device(w), temp, tokens);
}

/* Runs one planned run and records it; returns 1 when it was interrupted
 * (not recorded: --resume runs it again). */
static int do_run(experiment *e, int v, bool warmup, const harness_cooldown_result *cd)
{
    const harness_workload *w = &e->c->variants[v].workload;
    harness_metric metrics[HARNESS_MAX_WORKLOAD_METRICS];
    double values[HARNESS_MAX_WORKLOAD_METRICS], tokens = 0;
    char failure[1024] = "";
    int marks[4] = {-1, -1, -1, -1};
    /* prepare: before every run, untimed, outside the run's telemetry. */
    double t_prepare = harness_now_s();
    if (w->kind == HARNESS_WORKLOAD_COMMAND && w->prepare.argc) {
        bool interrupted = false;
        if (!run_hook(e, "prepare", &w->prepare, failure, sizeof failure, &interrupted) && interrupted) return 1;
    }
    e->prepare_ms = (harness_now_s() - t_prepare) * 1e3;
    harness_run_entry r = {
        .index = e->n_rec, .session = e->session, .variant = e->c->variants[v].name, .warmup = warmup,
        .engine = w->kind == HARNESS_WORKLOAD_ENGINE, .failure = failure, .started_s = harness_now_s() - e->t0,
        .n_metrics = harness_workload_metrics(w, metrics, HARNESS_MAX_WORKLOAD_METRICS), .metrics = metrics,
        .values = values, .exit_status = -1, .cooldown = cd, .wall_ms = NAN};
    for (int i = 0; i < r.n_metrics; i++) values[i] = NAN;
    int pi = harness_primary_metric_index(e->c, w);
    int mb = mark(e, "run", true, r.index);
    harness_command_result cr = {0};
    if (failure[0]) {
        mark(e, "run", false, r.index);   /* prepare failed: the run is recorded as failed */
    } else if (r.engine) {
        engine_part(e, v, &r, values, failure, sizeof failure, marks, &tokens);
    } else if (command_part(e, v, &r, values, failure, sizeof failure, &cr)) {
        harness_command_result_free(&cr);
        return 1;
    }
    int me = e->sampler ? (int)probe_sampler_mark_count(e->sampler) - 1 : -1;
    r.telemetry = telemetry(e, w, mb, me, tokens);
    if (marks[0] >= 0 && marks[1] >= 0) r.prefill = telemetry(e, w, marks[0], marks[1], tokens);
    if (marks[2] >= 0 && marks[3] >= 0) r.decode = telemetry(e, w, marks[2], marks[3], tokens);
    cJSON_AddItemToArray(e->runs, harness_results_run(&r));
    harness_command_result_free(&cr);
    double primary = r.ok ? values[pi] : NAN;
    add_record(e, v, warmup, r.ok, primary);
    e->ran[v] = true;
    set_last(e, &r, primary, metrics[pi].unit);
    run_progress(e, v, warmup, false);
    return 0;
}

/* ---- setup ---------------------------------------------------------- */

static void open_probes(experiment *e, cJSON *notes)
{
    const harness_config *c = e->c;
    e->temp_channel = -1;
    if (!c->probes.enabled) return;
    probe_options po;
    probe_error pe = {{0}};
    probe_options_default(&po);
    if (c->probes.root[0]) po.root = c->probes.root;
    if (c->probes.only[0]) po.only = c->probes.only;
    if (c->probes.nvml_library[0]) po.nvml_library = c->probes.nvml_library;
    po.perf_hardware = c->probes.perf_hardware;
    if (probe_set_open(&po, &e->ps, &pe)) {
        cJSON_AddItemToArray(notes, cJSON_CreateString(pe.msg));
        e->ps = NULL;
        return;
    }
    e->temp_channel = harness_temp_channel(c, e->ps);
    if (c->cooldown.channel[0] && e->temp_channel < 0) {
        char b[256];
        snprintf(b, sizeof b, "cooldown.channel '%s' is not among the probes' channels", c->cooldown.channel);
        cJSON_AddItemToArray(notes, cJSON_CreateString(b));
    }
}

static int start_sampler(experiment *e, cJSON *notes)
{
    if (!e->ps) return 0;
    probe_error pe = {{0}};
    if (probe_sampler_start(e->ps, e->c->probes.fast_period_ms, e->c->probes.slow_period_ms, &e->sampler, &pe)) {
        cJSON_AddItemToArray(notes, cJSON_CreateString(pe.msg));
        e->sampler = NULL;
    }
    return 0;
}

static void set_affinity(experiment *e, cJSON *notes)
{
    if (!e->c->n_cpus) return;
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int i = 0; i < e->c->n_cpus; i++)
        if (e->c->cpus[i] < CPU_SETSIZE) CPU_SET(e->c->cpus[i], &set);
    if (sched_setaffinity(0, sizeof set, &set)) {
        char b[256];
        snprintf(b, sizeof b, "cpu_affinity: sched_setaffinity failed: %s", strerror(errno));
        cJSON_AddItemToArray(notes, cJSON_CreateString(b));
    }
}

static void default_dir(const harness_config *c, char *out, size_t n)
{
    char ts[32];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(ts, sizeof ts, "%Y%m%dT%H%M%SZ", &tm);
    snprintf(out, n, "results/%s-%s", ts, c->name);
}

/* Adds this session's entry to "sessions" and its telemetry file name. */
static cJSON *begin_session(experiment *e)
{
    if (e->sampler) {
        char name[64];
        if (e->session == 0) snprintf(name, sizeof name, "telemetry.csv");
        else snprintf(name, sizeof name, "telemetry-%d.csv", e->session);
        cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(e->doc, "telemetry_files"), cJSON_CreateString(name));
    }
    cJSON *sess = cJSON_CreateObject();
    char now[32];
    harness_utc_now(now, sizeof now);
    cJSON_AddStringToObject(sess, "started_utc", now);
    if (e->session_env) cJSON_AddItemToObject(sess, "environment", e->session_env);
    if (e->session_preflight) cJSON_AddItemToObject(sess, "preflight", e->session_preflight);
    e->session_env = e->session_preflight = NULL;
    cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(e->doc, "sessions"), sess);
    return sess;
}

/* The idle temperature the cooldown returns to: measured once, before the
 * first run; a resumed experiment keeps the first session's. */
static void baseline(experiment *e, cJSON *notes)
{
    const harness_config *c = e->c;
    if (c->cooldown.mode != HARNESS_COOLDOWN_TEMPERATURE) return;
    if (e->temp_channel < 0)
        cJSON_AddItemToArray(notes, cJSON_CreateString("cooldown: no temperature channel to read; runs start without waiting"));
    if (!isnan(c->cooldown.below_c)) return;
    cJSON *cdo = cJSON_GetObjectItemCaseSensitive(e->doc, "cooldown");
    const cJSON *prev = cJSON_GetObjectItemCaseSensitive(cdo, "baseline_c");
    if (cJSON_IsNumber(prev)) {
        e->baseline_c = prev->valuedouble;
        return;
    }
    progress(e, "measuring the idle temperature baseline (%g s)", c->cooldown.baseline_s);
    mark(e, "baseline", true, -1);
    harness_idle idle;
    harness_idle_baseline(c, e->ps, e->sampler, e->temp_channel, &idle);
    e->baseline_c = idle.baseline_c;
    mark(e, "baseline", false, -1);
    cJSON_DeleteItemFromObjectCaseSensitive(cdo, "channel");
    cJSON_DeleteItemFromObjectCaseSensitive(cdo, "baseline_c");
    if (e->temp_channel >= 0) cJSON_AddStringToObject(cdo, "channel", probe_set_channel(e->ps, (size_t)e->temp_channel)->name);
    else cJSON_AddNullToObject(cdo, "channel");
    harness_json_add_number(cdo, "baseline_c", e->baseline_c);
    cJSON_AddStringToObject(cdo, "baseline_source", idle.source);
    harness_json_add_number(cdo, "start_c", idle.start_c);
    cJSON_AddStringToObject(cdo, "baseline_detail", idle.detail);
    if (!strcmp(idle.source, "start reading")) {
        char b[320];
        snprintf(b, sizeof b, "cooldown: %s", idle.detail);
        cJSON_AddItemToArray(notes, cJSON_CreateString(b));
    }
    if (isnan(e->baseline_c) && e->temp_channel >= 0)
        cJSON_AddItemToArray(notes, cJSON_CreateString("cooldown: the temperature channel gave no reading; runs start without waiting"));
}

static void tell_outcome(experiment *e, harness_outcome *out)
{
    out->status = harness_interrupted() ? HARNESS_INTERRUPTED : HARNESS_COMPLETE;
    snprintf(out->dir, sizeof out->dir, "%s", e->dir);
    out->runs_total = e->n_rec;
    out->runs_failed = 0;
    for (int i = 0; i < e->n_rec; i++) out->runs_failed += !e->rec[i].ok;
    /* Output agreement: a variant whose greedy outputs change is flagged. */
    const cJSON *oa;
    cJSON_ArrayForEach(oa, cJSON_GetObjectItemCaseSensitive(e->doc, "output_agreement"))
        if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(oa, "stable")))
            say(e, "warning: variant '%s': generated tokens differ between runs", oa->string);
}

/* The loop shared by a fresh experiment and a resumed one. */
static int run_loop(experiment *e, harness_outcome *out, harness_error *err)
{
    const harness_config *c = e->c;
    cJSON *notes = cJSON_GetObjectItemCaseSensitive(e->doc, "notes");
    e->tty = isatty(2);
    e->engine = harness_engine_cache_new(c->n_variants);
    if (!e->engine) return harness_sys_fail(err, "out of memory");
    set_affinity(e, notes);
    start_sampler(e, notes);
    e->t0 = harness_now_s();
    cJSON *sess = begin_session(e);
    baseline(e, notes);
    const cJSON *note;
    cJSON_ArrayForEach(note, notes) say(e, "note: %s", note->valuestring);
    int rc = write_results(e, "running", err), v;
    bool warmup;
    while (!rc && !harness_interrupted() && harness_plan_next_in_session(c, e->rec, e->n_rec, e->session, &v, &warmup)) {
        double t_run = harness_now_s();
        const harness_workload *w = &c->variants[v].workload;
        if (w->kind == HARNESS_WORKLOAD_COMMAND && w->setup.argc && !e->setup_done[v]) {
            char why[700];
            bool interrupted = false;
            e->setup_done[v] = true;   /* its cleanup runs even when it failed half-way */
            if (!run_hook(e, "setup", &w->setup, why, sizeof why, &interrupted)) {
                if (interrupted) break;
                rc = harness_sys_fail(err, "variant '%s': %s", c->variants[v].name, why);
                break;
            }
            t_run = harness_now_s();
        }
        harness_cooldown_result cd = {0};
        if (e->n_rec > 0 && c->cooldown.mode != HARNESS_COOLDOWN_NONE) {
            if (e->tty) progress(e, "cooling down before run %d (%s)", e->n_rec + 1, c->variants[v].name);
            mark(e, "cooldown", true, e->n_rec);
            harness_cooldown(c, e->sampler, e->temp_channel, e->baseline_c, &cd);
            mark(e, "cooldown", false, e->n_rec);
            if (cd.interrupted) break;
        }
        double t_cooled = harness_now_s();
        e->command_ms = NAN;
        run_progress(e, v, warmup, true);
        if (do_run(e, v, warmup, &cd)) break;
        e->run_s_sum += harness_now_s() - t_run;
        e->run_s_n++;
        rc = write_results(e, "running", err);
        if (harness_now_s() - e->last_telemetry_write > 10) write_telemetry(e);
        /* What the harness spent on this run outside the command and its
         * prepare: progress, recording, writing results.json. */
        if (isfinite(e->command_ms) && e->n_overhead < HARNESS_OVERHEAD_SAMPLES)
            e->bookkeeping_ms[e->n_overhead++] = (harness_now_s() - t_cooled) * 1e3 - e->command_ms - e->prepare_ms;
    }
    for (int i = 0; i < c->n_variants; i++) {
        const harness_workload *w = &c->variants[i].workload;
        if (w->kind != HARNESS_WORKLOAD_COMMAND || !w->cleanup.argc || !(e->ran[i] || e->setup_done[i])) continue;
        char why[700];
        if (!run_hook(e, "cleanup", &w->cleanup, why, sizeof why, NULL)) {
            char note[800];
            snprintf(note, sizeof note, "variant '%s': %s", c->variants[i].name, why);
            say(e, "warning: %s", note);
            if (cJSON_GetArraySize(notes) < 100) cJSON_AddItemToArray(notes, cJSON_CreateString(note));
        }
    }
    harness_results_overhead(e->doc, e->spawn_ms, e->reap_ms, e->bookkeeping_ms, e->n_overhead);
    if (e->sampler) probe_sampler_stop(e->sampler);
    /* A failed write also ends as "interrupted": the file holds what was saved. */
    const char *status = rc || harness_interrupted() ? "interrupted" : "complete";
    char now[32];
    harness_utc_now(now, sizeof now);
    cJSON_AddStringToObject(sess, "ended_utc", now);
    cJSON_AddStringToObject(sess, "status", status);
    write_telemetry(e);
    harness_error werr = {0};
    if (write_results(e, status, rc ? &werr : err)) rc = -1;
    if (e->tty && !e->o->quiet) fputs("\r\033[K", stderr);
    tell_outcome(e, out);
    return rc;
}

static void experiment_free(experiment *e)
{
    if (e->sampler) probe_sampler_free(e->sampler);
    if (e->ps) probe_set_close(e->ps);
    harness_engine_cache_free(e->engine);
    cJSON_Delete(e->session_env);
    cJSON_Delete(e->session_preflight);
    cJSON_Delete(e->doc);
    free(e->rec);
    harness_results_unlock(e->lock_fd);
}

/* Runs the preflight checks and prints their warnings; 1 when --strict
 * refuses to start (out->status and err->msg say so). */
static int preflight(experiment *e, cJSON **pre, harness_outcome *out, harness_error *err)
{
    harness_preflight p;
    harness_preflight_run(e->c, e->ps, &p);
    *pre = harness_results_preflight(&p);
    for (int i = 0; i < p.n; i++)
        if (!strcmp(p.checks[i].status, "warn")) say(e, "preflight: %s: %s", p.checks[i].check, p.checks[i].detail);
    if (!e->o->strict || !p.n_warn) return 0;
    out->status = HARNESS_REFUSED;
    snprintf(err->msg, sizeof err->msg, "--strict: %d preflight warning%s; not starting", p.n_warn,
             p.n_warn == 1 ? "" : "s");
    return 1;
}

/* The machine as found now, as results.json records it. */
static cJSON *environment(experiment *e)
{
    harness_environment env;
    harness_environment_read(e->c, &env);
    return harness_results_environment(&env, e->ps);
}

int harness_experiment_run(const harness_config *c, const harness_run_options *o,
                           harness_outcome *out, harness_error *err)
{
    experiment e = {.c = c, .o = o, .lock_fd = -1};
    memset(out, 0, sizeof *out);
    memset(err, 0, sizeof *err);
    cJSON *notes = cJSON_CreateArray();
    open_probes(&e, notes);
    cJSON *env = environment(&e), *pre;
    if (preflight(&e, &pre, out, err)) {
        cJSON_Delete(env); cJSON_Delete(pre); cJSON_Delete(notes);
        if (e.ps) probe_set_close(e.ps);
        return 0;
    }
    if (o->out_dir) snprintf(e.dir, sizeof e.dir, "%s", o->out_dir);
    else if (c->output_dir[0]) snprintf(e.dir, sizeof e.dir, "%s", c->output_dir);
    else {
        /* Two experiments of one name started in the same second get -2, -3, ... */
        default_dir(c, e.dir, sizeof e.dir);
        size_t len = strlen(e.dir);
        for (int k = 2; access(e.dir, F_OK) == 0 && k < 1000; k++)
            snprintf(e.dir + len, sizeof e.dir - len, "-%d", k);
    }
    char path[1100];
    snprintf(path, sizeof path, "%s/results.json", e.dir);
    int rc = -1;
    e.doc = harness_results_new(c, env, pre);
    e.runs = cJSON_GetObjectItemCaseSensitive(e.doc, "runs");
    cJSON_ReplaceItemInObjectCaseSensitive(e.doc, "notes", notes);
    if (harness_mkdir_p(e.dir)) {
        harness_sys_fail(err, "%s: cannot create the results directory: %s", e.dir, strerror(errno));
        goto done;
    }
    if ((e.lock_fd = harness_results_lock(e.dir, o->wait_for_lock, err)) < 0)
        goto done;
    if (access(path, F_OK) == 0) {
        snprintf(err->msg, sizeof err->msg, "%s already holds an experiment (use --resume %s, or another --out)", e.dir, e.dir);
        err->kind = HARNESS_ERR_INPUT;
        goto done;
    }
    char *cfg = harness_config_to_json_text(c);
    snprintf(path, sizeof path, "%s/config.json", e.dir);
    rc = cfg ? harness_write_atomic(path, cfg, strlen(cfg), err) : harness_sys_fail(err, "out of memory");
    free(cfg);
    if (rc == 0) rc = run_loop(&e, out, err);
done:
    experiment_free(&e);
    return rc;
}

/* Rebuilds the plan's history from a results file's runs. */
static int load_history(experiment *e, harness_error *err)
{
    const cJSON *r;
    cJSON_ArrayForEach(r, e->runs) {
        const cJSON *vn = cJSON_GetObjectItemCaseSensitive(r, "variant");
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(r, "status");
        int v = -1;
        for (int i = 0; cJSON_IsString(vn) && i < e->c->n_variants; i++)
            if (!strcmp(e->c->variants[i].name, vn->valuestring)) v = i;
        if (v < 0 || !cJSON_IsString(st)) {
            snprintf(err->msg, sizeof err->msg, "%s/results.json: runs[%d]: variant or status missing or not in config.json",
                     e->dir, e->n_rec);
            err->kind = HARNESS_ERR_INPUT;
            return -1;
        }
        const cJSON *mv = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(r, "metrics"), e->c->primary_metric);
        bool ok = !strcmp(st->valuestring, "ok");
        const cJSON *sess = cJSON_GetObjectItemCaseSensitive(r, "session");
        if (add_record(e, v, cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "warmup")), ok,
                       ok && cJSON_IsNumber(mv) ? mv->valuedouble : NAN))
            return harness_sys_fail(err, "out of memory");
        e->rec[e->n_rec - 1].session = cJSON_IsNumber(sess) ? sess->valueint : 0;
    }
    return 0;
}

int harness_experiment_resume(const char *dir, const harness_run_options *o,
                              harness_outcome *out, harness_error *err)
{
    experiment e = {.o = o, .lock_fd = -1};
    harness_config *c = NULL;
    char path[1100];
    memset(out, 0, sizeof *out);
    memset(err, 0, sizeof *err);
    snprintf(e.dir, sizeof e.dir, "%s", dir);
    if (access(dir, F_OK) == 0 && (e.lock_fd = harness_results_lock(dir, o->wait_for_lock, err)) < 0)
        return -1;
    snprintf(path, sizeof path, "%s/config.json", dir);
    if (harness_config_load_file(path, &c, err)) {
        harness_results_unlock(e.lock_fd);
        return -1;
    }
    e.c = c;
    snprintf(path, sizeof path, "%s/results.json", dir);
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    long len = -1;
    if (f && fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (text = malloc((size_t)len + 1)) && fread(text, 1, (size_t)len, f) == (size_t)len)
        text[len] = 0;
    else {
        free(text);
        text = NULL;
    }
    if (f) fclose(f);
    e.doc = text ? cJSON_Parse(text) : NULL;
    free(text);
    const cJSON *schema = cJSON_GetObjectItemCaseSensitive(e.doc, "schema");
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(e.doc, "schema_version");
    e.runs = cJSON_GetObjectItemCaseSensitive(e.doc, "runs");
    int rc = -1;
    if (!e.doc || !cJSON_IsString(schema) || strcmp(schema->valuestring, "thermabench-results") ||
        !cJSON_IsNumber(ver) || ver->valuedouble != 1 || !cJSON_IsArray(e.runs)) {
        snprintf(err->msg, sizeof err->msg, "%s: not a readable thermabench results file (schema version 1)", path);
        err->kind = HARNESS_ERR_INPUT;
        goto done;
    }
    for (const char *k[] = {"sessions", "notes", "telemetry_files", "cooldown", "output_agreement", NULL}, **p = k; *p; p++)
        if (!cJSON_GetObjectItemCaseSensitive(e.doc, *p))
            cJSON_AddItemToObject(e.doc, *p, !strcmp(*p, "cooldown") || !strcmp(*p, "output_agreement")
                                                 ? cJSON_CreateObject() : cJSON_CreateArray());
    e.session = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(e.doc, "sessions"));
    if (load_history(&e, err)) goto done;
    open_probes(&e, cJSON_GetObjectItemCaseSensitive(e.doc, "notes"));
    e.session_env = environment(&e);
    if (preflight(&e, &e.session_preflight, out, err)) {
        rc = 0;
        goto done;
    }
    rc = run_loop(&e, out, err);
done:
    experiment_free(&e);
    free(c);
    return rc;
}
