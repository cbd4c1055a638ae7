/* The runner: executes the plan, one run at a time, and rewrites
 * results.json atomically after every run, so a crash, a timeout or Ctrl-C
 * leaves a valid file with every finished run. --resume continues from it. */
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

static int sys_fail(harness_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int sys_fail(harness_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    err->kind = HARNESS_ERR_SYSTEM;
    return -1;
}

int harness_write_atomic(const char *path, const char *data, size_t len, harness_error *err)
{
    char tmp[1100], dir[1024];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return sys_fail(err, "%s: cannot create: %s", tmp, strerror(errno));
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, data + off, len - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            int e = errno;
            close(fd);
            unlink(tmp);
            return sys_fail(err, "%s: write failed: %s", tmp, strerror(e));
        }
        off += (size_t)n;
    }
    if (fsync(fd) || close(fd)) {
        unlink(tmp);
        return sys_fail(err, "%s: fsync failed: %s", tmp, strerror(errno));
    }
    if (rename(tmp, path)) {
        int e = errno;
        unlink(tmp);
        return sys_fail(err, "%s: rename failed: %s", path, strerror(e));
    }
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = 0; else strcpy(dir, ".");
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) { fsync(dfd); close(dfd); }
    return 0;
}

static void utc_now(char *buf, size_t n)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void add_num(cJSON *o, const char *key, double v)
{
    if (isfinite(v)) cJSON_AddNumberToObject(o, key, v);
    else cJSON_AddNullToObject(o, key);
}

static int mkdir_p(const char *path)
{
    char b[1024];
    snprintf(b, sizeof b, "%s", path);
    for (char *p = b + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(b, 0755) && errno != EEXIST) return -1;
            *p = '/';
        }
    return mkdir(b, 0755) && errno != EEXIST ? -1 : 0;
}

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
    e->rec[e->n_rec++] = (harness_run_record){variant, warmup, ok, primary};
    return 0;
}

static bool comparable(const harness_workload *a, const harness_workload *b)
{
    return a->kind == HARNESS_WORKLOAD_ENGINE && b->kind == HARNESS_WORKLOAD_ENGINE &&
           !strcmp(a->model, b->model) && !strcmp(a->preset, b->preset) && !strcmp(a->dtype, b->dtype) &&
           a->seed == b->seed && a->batch_size == b->batch_size && a->input_len == b->input_len &&
           a->output_len == b->output_len;
}

/* Greedy outputs of every measured run against the variant's first run and
 * the first variant's first run. */
static void output_agreement(experiment *e)
{
    const harness_config *c = e->c;
    cJSON *oa = cJSON_CreateObject();
    const char *first_variant_hash = NULL;
    for (int v = 0; v < c->n_variants; v++) {
        const char *first = NULL;
        int runs = 0, match_v = 0, match_0 = 0;
        const cJSON *r;
        cJSON_ArrayForEach(r, e->runs) {
            const cJSON *h = cJSON_GetObjectItemCaseSensitive(r, "output_tokens_hash");
            const cJSON *vn = cJSON_GetObjectItemCaseSensitive(r, "variant");
            if (!cJSON_IsString(h) || !cJSON_IsString(vn)) continue;
            if (!strcmp(vn->valuestring, c->variants[0].name) && !first_variant_hash)
                first_variant_hash = h->valuestring;
            if (strcmp(vn->valuestring, c->variants[v].name)) continue;
            if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "warmup"))) continue;
            if (!first) first = h->valuestring;
            runs++;
            match_v += !strcmp(first, h->valuestring);
            match_0 += first_variant_hash && !strcmp(first_variant_hash, h->valuestring);
        }
        if (!runs) continue;
        cJSON *o = cJSON_AddObjectToObject(oa, c->variants[v].name);
        cJSON_AddNumberToObject(o, "runs", runs);
        cJSON_AddNumberToObject(o, "match_variant_first", match_v);
        if (comparable(&c->variants[v].workload, &c->variants[0].workload) && first_variant_hash)
            cJSON_AddNumberToObject(o, "match_first_variant", match_0);
        else
            cJSON_AddNullToObject(o, "match_first_variant");   /* different inputs: not comparable */
        cJSON_AddBoolToObject(o, "stable", match_v == runs);
    }
    cJSON_ReplaceItemInObjectCaseSensitive(e->doc, "output_agreement", oa);
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

static const cJSON *get_obj(const cJSON *o, const char *k) { return cJSON_GetObjectItemCaseSensitive(o, k); }

static cJSON *model_json(const engine_model *m)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "source", m->source);
    cJSON_AddStringToObject(o, "format", m->format);
    cJSON_AddNumberToObject(o, "dim", m->cfg.dim);
    cJSON_AddNumberToObject(o, "hidden_dim", m->cfg.hidden_dim);
    cJSON_AddNumberToObject(o, "n_layers", m->cfg.n_layers);
    cJSON_AddNumberToObject(o, "n_heads", m->cfg.n_heads);
    cJSON_AddNumberToObject(o, "n_kv_heads", m->cfg.n_kv_heads);
    cJSON_AddNumberToObject(o, "vocab_size", m->cfg.vocab_size);
    cJSON_AddNumberToObject(o, "seq_len", m->cfg.seq_len);
    cJSON_AddNumberToObject(o, "weight_bytes", (double)m->weight_bytes);
    return o;
}

static int write_results(experiment *e, const char *status, harness_error *err)
{
    char now[32];
    utc_now(now, sizeof now);
    cJSON_ReplaceItemInObjectCaseSensitive(e->doc, "status", cJSON_CreateString(status));
    cJSON_ReplaceItemInObjectCaseSensitive(e->doc, "updated_utc", cJSON_CreateString(now));
    /* Kernels a variant's session chose become known at its first run. */
    const cJSON *v;
    int i = 0;
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(e->doc, "variants")) {
        const engine_model *em = harness_engine_cache_model(e->engine, i);
        const char *k = harness_engine_cache_kernels(e->engine, i++);
        if (k && k[0]) cJSON_ReplaceItemInObjectCaseSensitive((cJSON *)v, "engine_kernels", cJSON_CreateString(k));
        if (em && !get_obj(v, "engine_model")) cJSON_AddItemToObject((cJSON *)v, "engine_model", model_json(em));
    }
    output_agreement(e);
    char *printed = cJSON_Print(e->doc);
    if (!printed) return sys_fail(err, "out of memory");
    /* cJSON copies strings' bytes as they are: a name or argument that is not
     * UTF-8 (from argv or a config) gets U+FFFD here, so the file is JSON. */
    char *text = report_utf8_sanitize(printed, strlen(printed), NULL);
    free(printed);
    if (!text) return sys_fail(err, "out of memory");
    char path[1100];
    snprintf(path, sizeof path, "%s/results.json", e->dir);
    int rc = harness_write_atomic(path, text, strlen(text), err);
    free(text);
    return rc;
}

/* ---- telemetry summaries -------------------------------------------- */

static cJSON *summary_json(experiment *e, int mark_b, int mark_e, double tokens)
{
    probe_phase_summary s;
    probe_error pe;
    if (!e->sampler || mark_b < 0 || mark_e < 0 || probe_summarize(e->sampler, mark_b, mark_e, &s, &pe))
        return cJSON_CreateNull();
    cJSON *o = cJSON_CreateObject();
    double dur_s = (s.t_end_ns - s.t_begin_ns) / 1e9;
    const probe_channel_summary *temp = NULL;
    double energy = NAN, power = NAN, clk_sum = 0, clk_min = NAN, psi = NAN;
    int clk_n = 0;
    cJSON *chs = cJSON_CreateObject();
    for (size_t i = 0; i < s.n_channels; i++) {
        const probe_channel_summary *cs = &s.channels[i];
        const probe_channel *ch = probe_set_channel(e->ps, (size_t)cs->channel);
        cJSON *co = cJSON_AddObjectToObject(chs, ch->name);
        if (ch->kind == PROBE_COUNTER) {
            add_num(co, "delta", cs->delta);
            add_num(co, "rate_per_s", cs->rate_per_s);
            if (!strcmp(ch->unit, "j") && isfinite(cs->delta) && (isnan(energy) || strstr(ch->name, "pkg")))
                energy = cs->delta;
            if (!strcmp(ch->name, "mem.psi_some_us")) psi = cs->delta;
        } else {
            add_num(co, "start", cs->start);
            add_num(co, "end", cs->end);
            add_num(co, "min", cs->min);
            add_num(co, "mean", cs->mean);
            add_num(co, "max", cs->max);
            if (cs->channel == e->temp_channel) temp = cs;
            if (!strcmp(ch->unit, "w") && isfinite(cs->mean) && isnan(power)) power = cs->mean;
            if (!strcmp(ch->unit, "mhz") && strstr(ch->name, "cpu") && isfinite(cs->mean)) {
                clk_sum += cs->mean, clk_n++;
                if (isnan(clk_min) || cs->min < clk_min) clk_min = cs->min;
            }
        }
    }
    if (isnan(power) && isfinite(energy) && dur_s > 0) power = energy / dur_s;
    if (temp) cJSON_AddStringToObject(o, "temp_channel", probe_set_channel(e->ps, (size_t)temp->channel)->name);
    else cJSON_AddNullToObject(o, "temp_channel");
    add_num(o, "temp_start_c", temp ? temp->start : NAN);
    add_num(o, "temp_end_c", temp ? temp->end : NAN);
    add_num(o, "temp_peak_c", temp ? temp->max : NAN);
    add_num(o, "power_mean_w", power);
    add_num(o, "energy_j", energy);
    add_num(o, "energy_per_token_j", tokens > 0 ? energy / tokens : NAN);
    add_num(o, "clock_mean_mhz", clk_n ? clk_sum / clk_n : NAN);
    add_num(o, "clock_min_mhz", clk_min);
    cJSON_AddStringToObject(o, "throttle", s.throttle == PROBE_THROTTLE_YES ? "yes" :
                                           s.throttle == PROBE_THROTTLE_NO ? "no" : "unknown");
    cJSON_AddStringToObject(o, "throttle_cause", s.throttle_cause);
    add_num(o, "mem_psi_some_us", psi);
    add_num(o, "duration_s", dur_s);
    cJSON_AddItemToObject(o, "channels", chs);
    probe_phase_summary_free(&s);
    return o;
}

/* ---- one run -------------------------------------------------------- */

static int mark(experiment *e, const char *phase, bool begin, int run)
{
    return e->sampler ? probe_sampler_mark(e->sampler, phase, begin, run) : -1;
}

typedef struct run_outcome {
    bool ok;
    char failure[1024];
    double primary, tokens, wall_ms;
    double command_ms;      /* command runs: wall_ms + reap_ms, the part not the harness's */
} run_outcome;

static void engine_part(experiment *e, int v, int index, int pi, int *marks, cJSON *r, cJSON *m, run_outcome *o)
{
    const harness_workload *w = &e->c->variants[v].workload;
    const char *names[32], *units[32];
    bool hib[32];
    int nm = harness_workload_metrics(w, names, units, hib, 32);
    harness_engine_result er;
    harness_engine_run(e->engine, v, w, e->sampler, index, marks, &er);
    mark(e, "run", false, index);
    if (!er.ok) snprintf(o->failure, sizeof o->failure, "%s", er.failure);
    else if (e->c->run_timeout_s > 0 && er.wall_ms > e->c->run_timeout_s * 1e3)
        snprintf(o->failure, sizeof o->failure, "took %.1f s, over the timeout of %g s", er.wall_ms / 1e3, e->c->run_timeout_s);
    o->ok = !o->failure[0];
    for (int i = 0; i < nm; i++) add_num(m, names[i], er.ok ? er.metrics[i] : NAN);
    o->primary = er.ok ? er.metrics[pi] : NAN;
    o->tokens = (double)er.tokens;
    o->wall_ms = er.wall_ms;
    cJSON_AddNullToObject(r, "exit_status");
    char hash[32];
    snprintf(hash, sizeof hash, "%016llx", (unsigned long long)er.output_hash);
    if (er.have_hash) cJSON_AddStringToObject(r, "output_tokens_hash", hash);
    else cJSON_AddNullToObject(r, "output_tokens_hash");
}

#define OUTPUT_TAIL_BYTES 2048

/* The last bytes of a stream as a JSON string: valid UTF-8 (invalid bytes and
 * NUL as U+FFFD), with the exact bytes in base64 beside it when anything was
 * replaced; and how many bytes the command wrote in all. */
static void add_output(cJSON *r, const char *name, const harness_capture *c)
{
    char key[64];
    size_t n = c->len > OUTPUT_TAIL_BYTES ? OUTPUT_TAIL_BYTES : c->len;
    const char *start = c->data ? c->data + c->len - n : "";
    /* A character cut by the window's edge is dropped whole, not replaced. */
    if (n < c->len)
        for (int k = 0; k < 3 && n && ((unsigned char)*start & 0xC0) == 0x80; k++) start++, n--;
    bool lossy = false;
    char *text = report_utf8_sanitize(start, n, &lossy);
    snprintf(key, sizeof key, "%s_tail", name);
    cJSON_AddStringToObject(r, key, text ? text : "");
    free(text);
    if (lossy) {
        char *b64 = report_base64((const unsigned char *)start, n);
        snprintf(key, sizeof key, "%s_tail_base64", name);
        cJSON_AddStringToObject(r, key, b64 ? b64 : "");
        free(b64);
    }
    snprintf(key, sizeof key, "%s_bytes", name);
    cJSON_AddNumberToObject(r, key, (double)c->total);
    if (c->omitted) {
        snprintf(key, sizeof key, "%s_omitted_bytes", name);
        cJSON_AddNumberToObject(r, key, (double)c->omitted);
    }
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

/* Returns 1 when the command was cut short by SIGINT/SIGTERM. */
static int command_part(experiment *e, int v, int index, int pi, cJSON *r, cJSON *m, run_outcome *o)
{
    const harness_workload *w = &e->c->variants[v].workload;
    harness_command_result cr;
    harness_error herr = {0};
    if (harness_command_run(w, e->c->run_timeout_s, &cr, &herr)) {
        cr.ok = false;
        snprintf(cr.failure, sizeof cr.failure, "%s", herr.msg);
    }
    mark(e, "run", false, index);
    if (cr.interrupted) {
        harness_command_result_free(&cr);
        return 1;
    }
    o->ok = cr.ok;
    snprintf(o->failure, sizeof o->failure, "%s", cr.failure);
    double timing[HARNESS_COMMAND_TIMING_METRICS] = {cr.wall_ms, cr.user_ms, cr.sys_ms, cr.max_rss_bytes};
    for (int i = 0; i < HARNESS_COMMAND_TIMING_METRICS; i++) add_num(m, harness_command_timing_names[i], timing[i]);
    for (int i = 0; i < w->n_metrics; i++) add_num(m, w->metrics[i].name, cr.metrics[i]);
    double all[HARNESS_COMMAND_TIMING_METRICS + HARNESS_MAX_METRICS];
    memcpy(all, timing, sizeof timing);
    memcpy(all + HARNESS_COMMAND_TIMING_METRICS, cr.metrics, sizeof cr.metrics);
    o->primary = cr.ok ? all[pi] : NAN;
    o->wall_ms = cr.wall_ms;
    o->command_ms = (isfinite(cr.wall_ms) ? cr.wall_ms : 0) + (isfinite(cr.reap_ms) ? cr.reap_ms : 0);
    if (cr.exit_status >= 0) cJSON_AddNumberToObject(r, "exit_status", cr.exit_status);
    else cJSON_AddNullToObject(r, "exit_status");
    if (cr.term_signal) cJSON_AddNumberToObject(r, "term_signal", cr.term_signal);
    add_num(r, "spawn_ms", cr.spawn_ms);
    add_num(r, "reap_ms", cr.reap_ms);
    if (cr.leftovers_killed) cJSON_AddNumberToObject(r, "leftovers_killed", cr.leftovers_killed);
    if (w->output == HARNESS_OUTPUT_CAPTURE) {
        add_output(r, "stdout", &cr.out);
        add_output(r, "stderr", &cr.err);
    }
    cJSON_AddNullToObject(r, "output_tokens_hash");
    if (e->n_overhead < HARNESS_OVERHEAD_SAMPLES && isfinite(cr.spawn_ms) && isfinite(cr.reap_ms)) {
        e->spawn_ms[e->n_overhead] = cr.spawn_ms;
        e->reap_ms[e->n_overhead] = cr.reap_ms;
    }
    harness_command_result_free(&cr);
    return 0;
}

static cJSON *cooldown_json(const harness_cooldown_result *cd)
{
    if (!cd->done) return cJSON_CreateNull();
    cJSON *co = cJSON_CreateObject();
    add_num(co, "waited_s", cd->waited_s);
    add_num(co, "temp_start_c", cd->temp_start_c);
    add_num(co, "temp_end_c", cd->temp_end_c);
    add_num(co, "target_c", cd->target_c);
    cJSON_AddBoolToObject(co, "timed_out", cd->timed_out);
    return co;
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
             warmup ? " (warm-up)" : "", eta, tbuf, e->last[0] ? "  last: " : "", e->last);
}

static void set_last(experiment *e, const run_outcome *o, const char *unit)
{
    /* Four significant digits whatever the magnitude, so lines stay comparable. */
    double mag = fabs(o->primary);
    int decimals = mag >= 1000 ? 0 : mag >= 100 ? 1 : mag >= 10 ? 2 : 3;
    if (o->ok)
        snprintf(e->last, sizeof e->last, "%s %.*f %s", e->c->primary_metric, decimals, o->primary, unit);
    else
        snprintf(e->last, sizeof e->last, "FAILED: %.120s", o->failure);
}

/* Runs one planned run and records it; returns 1 when it was interrupted
 * (not recorded: --resume runs it again). */
static int do_run(experiment *e, int v, bool warmup, const harness_cooldown_result *cd)
{
    const harness_workload *w = &e->c->variants[v].workload;
    int index = e->n_rec, marks[4] = {-1, -1, -1, -1};
    const char *names[32], *units[32];
    bool hib[32];
    int nm = harness_workload_metrics(w, names, units, hib, 32), pi = 0;
    for (int i = 0; i < nm; i++)
        if (!strcmp(names[i], e->c->primary_metric)) pi = i;
    /* prepare: before every run, untimed, outside the run's telemetry. */
    double t_prepare = harness_now_s();
    char prepare_failure[700] = "";
    if (w->kind == HARNESS_WORKLOAD_COMMAND && w->prepare.argc) {
        bool interrupted = false;
        if (!run_hook(e, "prepare", &w->prepare, prepare_failure, sizeof prepare_failure, &interrupted) && interrupted)
            return 1;
    }
    e->prepare_ms = (harness_now_s() - t_prepare) * 1e3;
    double started_s = harness_now_s() - e->t0;
    int mb = mark(e, "run", true, index);
    cJSON *r = cJSON_CreateObject(), *m = cJSON_CreateObject();
    run_outcome o = {.primary = NAN};
    cJSON_AddNumberToObject(r, "index", index);
    cJSON_AddStringToObject(r, "variant", e->c->variants[v].name);
    cJSON_AddBoolToObject(r, "warmup", warmup);
    if (prepare_failure[0]) {
        mark(e, "run", false, index);
        snprintf(o.failure, sizeof o.failure, "%s", prepare_failure);
    } else if (w->kind == HARNESS_WORKLOAD_ENGINE) engine_part(e, v, index, pi, marks, r, m, &o);
    else if (command_part(e, v, index, pi, r, m, &o)) {
        cJSON_Delete(r);
        cJSON_Delete(m);
        return 1;
    }
    int me = e->sampler ? (int)probe_sampler_mark_count(e->sampler) - 1 : -1;
    cJSON_AddStringToObject(r, "status", o.ok ? "ok" : "failed");
    if (o.ok) cJSON_AddNullToObject(r, "failure");
    else cJSON_AddStringToObject(r, "failure", o.failure);
    cJSON_AddNumberToObject(r, "started_s", started_s);
    cJSON_AddNumberToObject(r, "wall_ms", o.wall_ms);
    cJSON_AddItemToObject(r, "metrics", m);
    cJSON_AddItemToObject(r, "telemetry", summary_json(e, mb, me, o.tokens));
    cJSON *ph = cJSON_AddObjectToObject(r, "phases");
    if (marks[0] >= 0 && marks[1] >= 0) cJSON_AddItemToObject(ph, "prefill", summary_json(e, marks[0], marks[1], o.tokens));
    if (marks[2] >= 0 && marks[3] >= 0) cJSON_AddItemToObject(ph, "decode", summary_json(e, marks[2], marks[3], o.tokens));
    cJSON_AddNumberToObject(r, "session", e->session);
    cJSON_AddItemToObject(r, "cooldown", cooldown_json(cd));
    cJSON_AddItemToArray(e->runs, r);
    add_record(e, v, warmup, o.ok, o.ok ? o.primary : NAN);
    e->command_ms = o.command_ms;
    e->ran[v] = true;
    set_last(e, &o, units[pi]);
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

static int primary_index(const harness_config *c)
{
    const char *names[32], *units[32];
    bool hib[32];
    int nm = harness_workload_metrics(&c->variants[0].workload, names, units, hib, 32);
    for (int i = 0; i < nm; i++)
        if (!strcmp(names[i], c->primary_metric)) return i;
    return 0;
}

static cJSON *new_doc(experiment *e, cJSON *env, cJSON *preflight)
{
    const harness_config *c = e->c;
    char now[32];
    utc_now(now, sizeof now);
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "schema", "thermabench-results");
    cJSON_AddNumberToObject(d, "schema_version", 1);
    cJSON_AddStringToObject(d, "name", c->name);
    cJSON_AddStringToObject(d, "status", "running");
    cJSON_AddStringToObject(d, "created_utc", now);
    cJSON_AddStringToObject(d, "updated_utc", now);
    cJSON_AddItemToObject(d, "config", harness_config_to_json(c));
    cJSON_AddItemToObject(d, "environment", env);
    cJSON_AddItemToObject(d, "preflight", preflight);
    const char *names[32], *units[32];
    bool hib[32];
    int nm = harness_workload_metrics(&c->variants[0].workload, names, units, hib, 32);
    int pi = primary_index(c);
    cJSON *pm = cJSON_AddObjectToObject(d, "primary_metric");
    cJSON_AddStringToObject(pm, "name", names[pi]);
    cJSON_AddStringToObject(pm, "unit", units[pi]);
    cJSON_AddBoolToObject(pm, "higher_is_better", hib[pi]);
    cJSON *ms = cJSON_AddArrayToObject(d, "metrics");
    for (int i = 0; i < nm; i++) {
        cJSON *mo = cJSON_CreateObject();
        cJSON_AddStringToObject(mo, "name", names[i]);
        cJSON_AddStringToObject(mo, "unit", units[i]);
        cJSON_AddBoolToObject(mo, "higher_is_better", hib[i]);
        cJSON_AddItemToArray(ms, mo);
    }
    cJSON *seeds = cJSON_AddObjectToObject(d, "seeds");
    cJSON_AddNumberToObject(seeds, "order", (double)c->order_seed);
    cJSON_AddNumberToObject(seeds, "engine", (double)c->variants[0].workload.seed);
    cJSON *vs = cJSON_AddArrayToObject(d, "variants");
    for (int i = 0; i < c->n_variants; i++) {
        cJSON *vo = cJSON_CreateObject();
        cJSON_AddStringToObject(vo, "name", c->variants[i].name);
        if (c->variants[i].description[0]) cJSON_AddStringToObject(vo, "description", c->variants[i].description);
        harness_variant_parameters_json(vo, &c->variants[i]);
        cJSON_AddItemToObject(vo, "workload", harness_workload_to_json(&c->variants[i].workload));
        cJSON_AddNullToObject(vo, "engine_kernels");
        cJSON_AddItemToArray(vs, vo);
    }
    cJSON_AddArrayToObject(d, "sessions");
    cJSON_AddObjectToObject(d, "cooldown");
    cJSON_AddArrayToObject(d, "notes");
    cJSON_AddArrayToObject(d, "telemetry_files");
    e->runs = cJSON_AddArrayToObject(d, "runs");
    cJSON_AddObjectToObject(d, "output_agreement");
    return d;
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
    utc_now(now, sizeof now);
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
    e->baseline_c = harness_measure_baseline_c(c, e->sampler, e->temp_channel);
    mark(e, "baseline", false, -1);
    cJSON_DeleteItemFromObjectCaseSensitive(cdo, "channel");
    cJSON_DeleteItemFromObjectCaseSensitive(cdo, "baseline_c");
    if (e->temp_channel >= 0) cJSON_AddStringToObject(cdo, "channel", probe_set_channel(e->ps, (size_t)e->temp_channel)->name);
    else cJSON_AddNullToObject(cdo, "channel");
    add_num(cdo, "baseline_c", e->baseline_c);
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

static double median_of(double *x, int n)
{
    if (n <= 0) return NAN;
    for (int i = 1; i < n; i++)   /* insertion sort: a few thousand values at most */
        for (int j = i; j > 0 && x[j - 1] > x[j]; j--) {
            double t = x[j];
            x[j] = x[j - 1], x[j - 1] = t;
        }
    return n % 2 ? x[n / 2] : (x[n / 2 - 1] + x[n / 2]) / 2;
}

/* "harness_overhead": the harness's own time per command run, this session:
 * spawn_ms is inside wall_ms (posix_spawn until the program runs), reap_ms
 * and bookkeeping_ms are outside it (after the exit; recording and writing
 * results.json). Nothing is subtracted from any metric. */
static void overhead_json(experiment *e)
{
    if (!e->n_overhead) return;
    cJSON *o = cJSON_CreateObject();
    int n = e->n_overhead;
    cJSON_AddNumberToObject(o, "runs", n);
    add_num(o, "spawn_ms_median", median_of(e->spawn_ms, n));
    add_num(o, "reap_ms_median", median_of(e->reap_ms, n));
    add_num(o, "bookkeeping_ms_median", median_of(e->bookkeeping_ms, n));
    if (cJSON_GetObjectItemCaseSensitive(e->doc, "harness_overhead"))
        cJSON_ReplaceItemInObjectCaseSensitive(e->doc, "harness_overhead", o);
    else
        cJSON_AddItemToObject(e->doc, "harness_overhead", o);
}

/* The loop shared by a fresh experiment and a resumed one. */
static int run_loop(experiment *e, harness_outcome *out, harness_error *err)
{
    const harness_config *c = e->c;
    cJSON *notes = cJSON_GetObjectItemCaseSensitive(e->doc, "notes");
    e->tty = isatty(2);
    e->engine = harness_engine_cache_new(c->n_variants);
    if (!e->engine) return sys_fail(err, "out of memory");
    set_affinity(e, notes);
    start_sampler(e, notes);
    e->t0 = harness_now_s();
    cJSON *sess = begin_session(e);
    baseline(e, notes);
    const cJSON *note;
    cJSON_ArrayForEach(note, notes) say(e, "note: %s", note->valuestring);
    int rc = write_results(e, "running", err), v;
    bool warmup;
    while (!rc && !harness_interrupted() && harness_plan_next(c, e->rec, e->n_rec, &v, &warmup)) {
        double t_run = harness_now_s();
        const harness_workload *w = &c->variants[v].workload;
        if (w->kind == HARNESS_WORKLOAD_COMMAND && w->setup.argc && !e->setup_done[v]) {
            char why[700];
            bool interrupted = false;
            e->setup_done[v] = true;   /* its cleanup runs even when it failed half-way */
            if (!run_hook(e, "setup", &w->setup, why, sizeof why, &interrupted)) {
                if (interrupted) break;
                rc = sys_fail(err, "variant '%s': %s", c->variants[v].name, why);
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
    overhead_json(e);
    if (e->sampler) probe_sampler_stop(e->sampler);
    /* A failed write also ends as "interrupted": the file holds what was saved. */
    const char *status = rc || harness_interrupted() ? "interrupted" : "complete";
    char now[32];
    utc_now(now, sizeof now);
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
}

/* Runs the preflight checks and prints their warnings; 1 when --strict
 * refuses to start (out->status and err->msg say so). */
static int preflight(experiment *e, cJSON **pre, harness_outcome *out, harness_error *err)
{
    int n_warn = 0;
    *pre = harness_preflight_json(e->c, e->ps, &n_warn);
    const cJSON *p;
    cJSON_ArrayForEach(p, *pre) {
        const char *st = cJSON_GetObjectItemCaseSensitive(p, "status")->valuestring;
        if (!strcmp(st, "warn"))
            say(e, "preflight: %s: %s", cJSON_GetObjectItemCaseSensitive(p, "check")->valuestring,
                cJSON_GetObjectItemCaseSensitive(p, "detail")->valuestring);
    }
    if (!e->o->strict || !n_warn) return 0;
    out->status = HARNESS_REFUSED;
    snprintf(err->msg, sizeof err->msg, "--strict: %d preflight warning%s; not starting", n_warn, n_warn == 1 ? "" : "s");
    return 1;
}

int harness_experiment_run(const harness_config *c, const harness_run_options *o,
                           harness_outcome *out, harness_error *err)
{
    experiment e = {.c = c, .o = o};
    memset(out, 0, sizeof *out);
    memset(err, 0, sizeof *err);
    cJSON *notes = cJSON_CreateArray();
    open_probes(&e, notes);
    cJSON *env = harness_environment_json(c, e.ps), *pre;
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
    e.doc = new_doc(&e, env, pre);
    cJSON_ReplaceItemInObjectCaseSensitive(e.doc, "notes", notes);
    if (access(path, F_OK) == 0) {
        snprintf(err->msg, sizeof err->msg, "%s already holds an experiment (use --resume %s, or another --out)", e.dir, e.dir);
        err->kind = HARNESS_ERR_INPUT;
        goto done;
    }
    if (mkdir_p(e.dir)) {
        sys_fail(err, "%s: cannot create the results directory: %s", e.dir, strerror(errno));
        goto done;
    }
    char *cfg = harness_config_to_json_text(c);
    snprintf(path, sizeof path, "%s/config.json", e.dir);
    rc = cfg ? harness_write_atomic(path, cfg, strlen(cfg), err) : sys_fail(err, "out of memory");
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
        if (add_record(e, v, cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "warmup")), ok,
                       ok && cJSON_IsNumber(mv) ? mv->valuedouble : NAN))
            return sys_fail(err, "out of memory");
    }
    return 0;
}

int harness_experiment_resume(const char *dir, const harness_run_options *o,
                              harness_outcome *out, harness_error *err)
{
    experiment e = {.o = o};
    harness_config *c = NULL;
    char path[1100];
    memset(out, 0, sizeof *out);
    memset(err, 0, sizeof *err);
    snprintf(e.dir, sizeof e.dir, "%s", dir);
    snprintf(path, sizeof path, "%s/config.json", dir);
    if (harness_config_load_file(path, &c, err)) return -1;
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
    e.session_env = harness_environment_json(c, e.ps);
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
