/* Config loading and validation (docs/CONFIG.md). Every error names the file,
 * the JSON path and what was expected; unknown fields get the nearest valid
 * name as a suggestion. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "harness_internal.h"

/* Messages and paths are bounded buffers; cutting one short is intended. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

typedef struct parser {
    const char *file;
    harness_error *err;
} parser;

static int fail(parser *p, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(parser *p, const char *path, const char *fmt, ...)
{
    va_list ap;
    int n = snprintf(p->err->msg, sizeof p->err->msg, "%s: %s: ", p->file, path);
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof p->err->msg)
        vsnprintf(p->err->msg + n, sizeof p->err->msg - n, fmt, ap);
    va_end(ap);
    p->err->kind = HARNESS_ERR_INPUT;
    return -1;
}

static const char *type_name(const cJSON *v)
{
    if (cJSON_IsNull(v)) return "null";
    if (cJSON_IsBool(v)) return "a boolean";
    if (cJSON_IsNumber(v)) return "a number";
    if (cJSON_IsString(v)) return "a string";
    if (cJSON_IsArray(v)) return "an array";
    if (cJSON_IsObject(v)) return "an object";
    return "an invalid value";
}

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), row[128];
    if (lb >= 127) return 99;
    for (size_t j = 0; j <= lb; j++) row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* Nearest of a NULL-terminated list, or NULL when nothing is close. */
static const char *nearest(const char *word, const char *const *names)
{
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    for (size_t i = 0; names[i]; i++) {
        size_t d = edit_distance(word, names[i]);
        if (d < best_d) best_d = d, best = names[i];
    }
    size_t limit = strlen(word) / 2 > 3 ? 3 : strlen(word) / 2 + 1;
    return best_d <= limit ? best : NULL;
}

static void join_names(char *buf, size_t n, const char *const *names)
{
    buf[0] = 0;
    for (size_t i = 0; names[i]; i++)
        snprintf(buf + strlen(buf), n - strlen(buf), "%s%s", i ? ", " : "", names[i]);
}

static int check_fields(parser *p, const cJSON *obj, const char *path, const char *const *known)
{
    const cJSON *f;
    cJSON_ArrayForEach(f, obj) {
        bool ok = false;
        for (size_t i = 0; known[i] && !ok; i++) ok = !strcmp(f->string, known[i]);
        if (ok) continue;
        const char *near = nearest(f->string, known);
        if (near) return fail(p, path, "unknown field '%s' (did you mean '%s'?)", f->string, near);
        char list[1024];
        join_names(list, sizeof list, known);
        return fail(p, path, "unknown field '%s' (valid: %s)", f->string, list);
    }
    return 0;
}

static void sub(char *out, size_t n, const char *path, const char *key)
{
    snprintf(out, n, "%s%s%s", path, *path ? "." : "", key);
}

/* Metric regexes are POSIX extended, in a subset with no catastrophic case:
 * glibc's regcomp copies a quantified subexpression once per quantifier, so
 * stacked quantifiers ("a++", "a+{2}") and quantified groups holding a
 * quantifier ("(a+)+") grow the compiled pattern exponentially, large
 * bounds ("a{30000}") linearly but hugely, and backreferences make matching
 * exponential. Those are refused; the rest compiles and matches in time
 * polynomial in the pattern and the output. NULL when the pattern is fine,
 * else why not. */
#define STR_(x) #x
#define STR(x) STR_(x)
#define REGEX_MAX_BOUND 100
#define REGEX_MAX_DEPTH 32

static const char *regex_unsafe(const char *re)
{
    bool group_quantified[REGEX_MAX_DEPTH + 1] = {false};   /* per open group: holds a quantifier */
    int depth = 0;
    enum { NOTHING, ATOM, GROUP_WITH_QUANTIFIER, QUANTIFIER } prev = NOTHING;
    for (const char *c = re; *c; c++) {
        if (*c == '*' || *c == '+' || *c == '?' || *c == '{') {
            if (prev == QUANTIFIER)
                return "a quantifier right after another (as in 'a++' or 'a*{2}') can make the pattern "
                       "exponentially large";
            if (prev == GROUP_WITH_QUANTIFIER)
                return "a quantified group that holds a quantifier (as in '(a+)+') can make the pattern "
                       "exponentially large";
            if (*c == '{') {
                char *end;
                long lo = strtol(c + 1, &end, 10), hi = lo;
                if (end == c + 1)
                    return "'{' must start a bound such as {2} or {1,3}";
                if (*end == ',') {
                    char *e2;
                    hi = strtol(end + 1, &e2, 10);
                    if (e2 == end + 1)
                        return "open bounds such as {2,} are not allowed: give the largest count";
                    end = e2;
                }
                if (*end != '}')
                    return "'{' must start a bound such as {2} or {1,3}";
                if (lo > REGEX_MAX_BOUND || hi > REGEX_MAX_BOUND)
                    return "a bound above {" STR(REGEX_MAX_BOUND) "} makes the compiled pattern too large";
                c = end;
            }
            if (depth > 0)
                group_quantified[depth] = true;
            prev = QUANTIFIER;
            continue;
        }
        if (*c == '(') {
            if (++depth > REGEX_MAX_DEPTH)
                return "groups nested more than " STR(REGEX_MAX_DEPTH) " deep";
            group_quantified[depth] = false;
            prev = NOTHING;
        } else if (*c == ')') {
            if (depth == 0)
                return NULL;        /* regcomp reports the unbalanced ')' */
            bool q = group_quantified[depth--];
            if (q && depth > 0)
                group_quantified[depth] = true;
            prev = q ? GROUP_WITH_QUANTIFIER : ATOM;
        } else if (*c == '|') {
            prev = NOTHING;
        } else if (*c == '\\') {
            if (c[1] >= '1' && c[1] <= '9')
                return "backreferences (\\1 to \\9) can make matching take exponential time";
            if (c[1])
                c++;
            prev = ATOM;
        } else if (*c == '[') {
            /* A bracket expression: "[]...]" and "[^]...]" hold a literal ']'; "[:alpha:]" ends at ":]". */
            const char *b = c + 1;
            if (*b == '^')
                b++;
            if (*b == ']')
                b++;
            for (; *b && *b != ']'; b++)
                if (*b == '[' && (b[1] == ':' || b[1] == '.' || b[1] == '=')) {
                    const char *close = strstr(b + 2, b[1] == ':' ? ":]" : b[1] == '.' ? ".]" : "=]");
                    if (!close)
                        return NULL;        /* regcomp reports it */
                    b = close + 1;
                }
            if (!*b)
                return NULL;
            c = b;
            prev = ATOM;
        } else {
            prev = ATOM;
        }
    }
    return NULL;
}

static int get_string(parser *p, const cJSON *obj, const char *path, const char *key, char *out, size_t n)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    char at[512];
    if (!v) return 0;
    sub(at, sizeof at, path, key);
    if (!cJSON_IsString(v)) return fail(p, at, "expected a string, got %s", type_name(v));
    if (strlen(v->valuestring) >= n) return fail(p, at, "too long (at most %zu characters)", n - 1);
    strcpy(out, v->valuestring);
    return 0;
}

static int get_double(parser *p, const cJSON *obj, const char *path, const char *key,
                      double min, double max, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    char at[512];
    if (!v) return 0;
    sub(at, sizeof at, path, key);
    if (!cJSON_IsNumber(v)) return fail(p, at, "expected a number, got %s", type_name(v));
    if (!(v->valuedouble >= min && v->valuedouble <= max))
        return fail(p, at, "%g is out of range [%g, %g]", v->valuedouble, min, max);
    *out = v->valuedouble;
    return 0;
}

static int get_int(parser *p, const cJSON *obj, const char *path, const char *key,
                   long min, long max, int *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    char at[512];
    if (!v) return 0;
    sub(at, sizeof at, path, key);
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble))
        return fail(p, at, "expected an integer, got %s", cJSON_IsNumber(v) ? "a fraction" : type_name(v));
    if (v->valuedouble < min || v->valuedouble > max)
        return fail(p, at, "%g is out of range [%ld, %ld]", v->valuedouble, min, max);
    *out = (int)v->valuedouble;
    return 0;
}

static int get_u64(parser *p, const cJSON *obj, const char *path, const char *key, uint64_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    char at[512];
    if (!v) return 0;
    sub(at, sizeof at, path, key);
    /* Seeds beyond 2^53 would lose bits in a JSON number. */
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < 0 ||
        v->valuedouble > 9007199254740992.0)
        return fail(p, at, "expected an integer in [0, 2^53], got %s",
                    cJSON_IsNumber(v) ? "a number outside it" : type_name(v));
    *out = (uint64_t)v->valuedouble;
    return 0;
}

static int get_bool(parser *p, const cJSON *obj, const char *path, const char *key, bool *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    char at[512];
    if (!v) return 0;
    sub(at, sizeof at, path, key);
    if (!cJSON_IsBool(v)) return fail(p, at, "expected true or false, got %s", type_name(v));
    *out = cJSON_IsTrue(v);
    return 0;
}

/* A string that must be one of `names`; returns the index in *out. */
static int get_enum(parser *p, const cJSON *obj, const char *path, const char *key,
                    const char *const *names, int *out)
{
    char s[64] = "", at[512], list[256];
    if (!cJSON_GetObjectItemCaseSensitive(obj, key)) return 0;
    if (get_string(p, obj, path, key, s, sizeof s)) return -1;
    for (int i = 0; names[i]; i++)
        if (!strcmp(s, names[i])) { *out = i; return 0; }
    sub(at, sizeof at, path, key);
    join_names(list, sizeof list, names);
    const char *near = nearest(s, names);
    if (near) return fail(p, at, "'%s' is not one of %s (did you mean '%s'?)", s, list, near);
    return fail(p, at, "'%s' is not one of %s", s, list);
}

/* ---- workload ------------------------------------------------------- */

static const char *const workload_fields[] = {
    "type", "model", "preset", "dtype", "seed", "threads", "batch_size", "input_len",
    "output_len", "engine_warmup", "kernels", "backend", "opencl_device", "command", "metrics",
    "prepare", "setup", "cleanup", "ignore_failure", "output", NULL};
static const char *const workload_types[] = {"engine", "command", NULL};
static const char *const output_modes[] = {"capture", "discard", NULL};
static const char *const metric_fields[] = {"name", "unit", "higher_is_better", "json_path", "regex", NULL};

static void workload_default(harness_workload *w)
{
    memset(w, 0, sizeof *w);
    w->kind = HARNESS_WORKLOAD_ENGINE;
    strcpy(w->preset, "tiny");
    strcpy(w->dtype, "f32");
    w->seed = 1;
    w->batch_size = 1;
    w->input_len = 32;
    w->output_len = 32;
    strcpy(w->backend, "cpu");
}

static int parse_kernels(parser *p, const cJSON *v, const char *at, harness_workload *w)
{
    if (!cJSON_IsObject(v)) return fail(p, at, "expected an object {\"op\": \"variant\"}, got %s", type_name(v));
    const cJSON *k;
    cJSON_ArrayForEach(k, v) {
        char kat[512];
        sub(kat, sizeof kat, at, k->string);
        if (!cJSON_IsString(k)) return fail(p, kat, "expected a kernel variant name, got %s", type_name(k));
        const char *ops[ENGINE_OP_COUNT + 1];
        int op = -1;
        for (int i = 0; i < ENGINE_OP_COUNT; i++) {
            ops[i] = engine_op_name((engine_op)i);
            if (!strcmp(ops[i], k->string)) op = i;
        }
        ops[ENGINE_OP_COUNT] = NULL;
        if (op < 0) {
            const char *near = nearest(k->string, ops);
            if (near) return fail(p, at, "unknown op '%s' (did you mean '%s'?)", k->string, near);
            return fail(p, at, "unknown op '%s'", k->string);
        }
        /* Unknown names are config errors; names this CPU cannot run are
         * not: the run fails with the reason and the experiment goes on. */
        const char *names[256];
        size_t nn = 0;
        bool found = false;
        for (size_t i = 0; i < engine_kernel_count() && nn < 255; i++) {
            const engine_kernel_info *ki = engine_kernel_at(i);
            if ((int)ki->op != op) continue;
            names[nn++] = ki->name;
            found |= !strcmp(ki->name, k->valuestring);
        }
        names[nn] = NULL;
        if (!found) {
            const char *near = nearest(k->valuestring, names);
            char list[1024];
            join_names(list, sizeof list, names);
            if (near) return fail(p, kat, "unknown %s variant '%s' (did you mean '%s'?)", k->string, k->valuestring, near);
            return fail(p, kat, "unknown %s variant '%s' (known: %s)", k->string, k->valuestring, list);
        }
        int slot = w->n_kernels;
        for (int i = 0; i < w->n_kernels; i++)
            if (!strcmp(w->kernels[i].op, k->string)) slot = i;
        if (slot == ENGINE_MAX_KERNEL_CHOICES) return fail(p, at, "too many kernel choices");
        snprintf(w->kernels[slot].op, sizeof w->kernels[slot].op, "%s", k->string);
        if (strlen(k->valuestring) >= sizeof w->kernels[slot].variant) return fail(p, kat, "name too long");
        strcpy(w->kernels[slot].variant, k->valuestring);
        if (slot == w->n_kernels) w->n_kernels++;
    }
    return 0;
}

/* An argument vector; an empty array clears it (hooks only: the command
 * needs at least the program). */
static int parse_argv(parser *p, const cJSON *v, const char *at, int *argc, char (*argv)[256], bool allow_empty)
{
    if (!cJSON_IsArray(v)) return fail(p, at, "expected an array of strings (argument vector, no shell), got %s", type_name(v));
    int n = cJSON_GetArraySize(v);
    if (n < 1 && !allow_empty) return fail(p, at, "expected at least the program to run");
    if (n > HARNESS_MAX_ARGS) return fail(p, at, "at most %d arguments", HARNESS_MAX_ARGS);
    for (int i = 0; i < n; i++) {
        const cJSON *a = cJSON_GetArrayItem(v, i);
        char aat[512];
        snprintf(aat, sizeof aat, "%s[%d]", at, i);
        if (!cJSON_IsString(a)) return fail(p, aat, "expected a string, got %s", type_name(a));
        if (strlen(a->valuestring) >= 256) return fail(p, aat, "argument longer than 255 bytes");
        strcpy(argv[i], a->valuestring);
    }
    for (int i = n; i < HARNESS_MAX_ARGS; i++) memset(argv[i], 0, 256);
    *argc = n;
    return 0;
}

static int parse_metrics(parser *p, const cJSON *v, const char *at, harness_workload *w)
{
    if (!cJSON_IsArray(v)) return fail(p, at, "expected an array of metric objects, got %s", type_name(v));
    int n = cJSON_GetArraySize(v);
    if (n < 1) return fail(p, at, "expected at least one metric");
    if (n > HARNESS_MAX_METRICS) return fail(p, at, "at most %d metrics", HARNESS_MAX_METRICS);
    for (int i = 0; i < n; i++) {
        const cJSON *m = cJSON_GetArrayItem(v, i);
        harness_metric_spec *s = &w->metrics[i];
        char mat[512];
        snprintf(mat, sizeof mat, "%s[%d]", at, i);
        memset(s, 0, sizeof *s);
        s->higher_is_better = true;
        if (!cJSON_IsObject(m)) return fail(p, mat, "expected an object, got %s", type_name(m));
        if (check_fields(p, m, mat, metric_fields)) return -1;
        if (get_string(p, m, mat, "name", s->name, sizeof s->name) ||
            get_string(p, m, mat, "unit", s->unit, sizeof s->unit) ||
            get_bool(p, m, mat, "higher_is_better", &s->higher_is_better) ||
            get_string(p, m, mat, "json_path", s->json_path, sizeof s->json_path) ||
            get_string(p, m, mat, "regex", s->regex, sizeof s->regex))
            return -1;
        if (!s->name[0]) return fail(p, mat, "missing required field 'name'");
        for (int k = 0; k < HARNESS_COMMAND_TIMING_METRICS; k++)
            if (!strcmp(s->name, harness_command_timing_names[k]))
                return fail(p, mat, "'%s' is measured by the harness itself; give this metric another name", s->name);
        if (!s->json_path[0] == !s->regex[0])
            return fail(p, mat, "expected exactly one of 'json_path' or 'regex'");
        if (s->regex[0]) {
            const char *why = regex_unsafe(s->regex);
            if (why) return fail(p, mat, "regex: '%s': %s", s->regex, why);
            harness_error e = {0};
            double dummy;
            if (harness_regex_number("", s->regex, &dummy, &e) && e.kind == HARNESS_ERR_INPUT)
                return fail(p, mat, "regex: %s", e.msg);
        }
        for (int j = 0; j < i; j++)
            if (!strcmp(w->metrics[j].name, s->name)) return fail(p, mat, "duplicate metric name '%s'", s->name);
    }
    w->n_metrics = n;
    return 0;
}

/* Applies the fields present in `obj` over *w (base workload or a variant). */
static int parse_workload_fields(parser *p, const cJSON *obj, const char *path, harness_workload *w,
                                 const char *const *known)
{
    int kind = (int)w->kind;
    char at[512];
    if (check_fields(p, obj, path, known)) return -1;
    if (get_enum(p, obj, path, "type", workload_types, &kind) ||
        get_string(p, obj, path, "model", w->model, sizeof w->model) ||
        get_string(p, obj, path, "preset", w->preset, sizeof w->preset) ||
        get_string(p, obj, path, "dtype", w->dtype, sizeof w->dtype) ||
        get_u64(p, obj, path, "seed", &w->seed) ||
        get_int(p, obj, path, "threads", 0, 1024, &w->threads) ||
        get_int(p, obj, path, "batch_size", 1, 1024, &w->batch_size) ||
        get_int(p, obj, path, "input_len", 1, 1 << 20, &w->input_len) ||
        get_int(p, obj, path, "output_len", 1, 1 << 20, &w->output_len) ||
        get_int(p, obj, path, "engine_warmup", 0, 100, &w->engine_warmup) ||
        get_string(p, obj, path, "backend", w->backend, sizeof w->backend) ||
        get_string(p, obj, path, "opencl_device", w->opencl_device, sizeof w->opencl_device))
        return -1;
    w->kind = (harness_workload_kind)kind;
    const cJSON *v;
    if ((v = cJSON_GetObjectItemCaseSensitive(obj, "kernels"))) {
        sub(at, sizeof at, path, "kernels");
        if (parse_kernels(p, v, at, w)) return -1;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(obj, "command"))) {
        sub(at, sizeof at, path, "command");
        if (parse_argv(p, v, at, &w->argc, w->argv, false)) return -1;
    }
    static const char *const hooks[] = {"prepare", "setup", "cleanup"};
    harness_argv *hook_argv[] = {&w->prepare, &w->setup, &w->cleanup};
    for (int i = 0; i < 3; i++)
        if ((v = cJSON_GetObjectItemCaseSensitive(obj, hooks[i]))) {
            sub(at, sizeof at, path, hooks[i]);
            if (parse_argv(p, v, at, &hook_argv[i]->argc, hook_argv[i]->argv, true)) return -1;
        }
    int output = (int)w->output;
    if (get_bool(p, obj, path, "ignore_failure", &w->ignore_failure) ||
        get_enum(p, obj, path, "output", output_modes, &output))
        return -1;
    w->output = (harness_output)output;
    if ((v = cJSON_GetObjectItemCaseSensitive(obj, "metrics"))) {
        sub(at, sizeof at, path, "metrics");
        if (parse_metrics(p, v, at, w)) return -1;
    }
    return 0;
}

/* Checks a resolved workload (after the variant's overrides). */
static int check_workload(parser *p, const char *path, const harness_workload *w)
{
    char at[512];
    if (w->kind == HARNESS_WORKLOAD_COMMAND) {
        if (w->argc == 0) { sub(at, sizeof at, path, "command"); return fail(p, at, "missing required field for type \"command\""); }
        if (w->output == HARNESS_OUTPUT_DISCARD && w->n_metrics) {
            sub(at, sizeof at, path, "output");
            return fail(p, at, "\"discard\" leaves nothing to read the metrics from (use \"capture\", or no metrics)");
        }
        return 0;
    }
    engine_dtype dt;
    if (engine_dtype_parse(w->dtype, &dt)) {
        sub(at, sizeof at, path, "dtype");
        return fail(p, at, "unknown dtype '%s' (f32, f16, bf16, q8_0, q4_0)", w->dtype);
    }
    if (!w->model[0]) {
        const char *const *presets = engine_preset_names();
        bool found = false;
        for (size_t i = 0; presets && presets[i]; i++) found |= !strcmp(presets[i], w->preset);
        if (!found) {
            char list[256];
            sub(at, sizeof at, path, "preset");
            join_names(list, sizeof list, presets);
            const char *near = nearest(w->preset, presets);
            if (near) return fail(p, at, "unknown preset '%s' (did you mean '%s'?)", w->preset, near);
            return fail(p, at, "unknown preset '%s' (known: %s)", w->preset, list);
        }
    }
    if (strcmp(w->backend, "cpu") && strcmp(w->backend, "opencl")) {
        sub(at, sizeof at, path, "backend");
        return fail(p, at, "'%s' is not one of cpu, opencl", w->backend);
    }
    return 0;
}

/* ---- top level ------------------------------------------------------ */

static const char *const top_fields[] = {
    "name", "workload", "variants", "primary_metric", "repetitions", "warmup", "order", "seed",
    "cooldown", "probes", "timeout_s", "cpu_affinity", "stop", "sessions", "output_dir", "description", NULL};
static const char *const order_names[] = {"sequential", "interleaved", "random", "abba", NULL};
static const char *const cooldown_fields[] = {"mode", "seconds", "channel", "within_c", "below_c", "idle_c",
                                              "timeout_s", "baseline_s", "poll_ms", NULL};
static const char *const cooldown_modes[] = {"none", "fixed", "temperature", NULL};
static const char *const probes_fields[] = {"enabled", "fast_period_ms", "slow_period_ms", "only",
                                            "root", "perf_hardware", "nvml_library", NULL};
static const char *const stop_fields[] = {"rule", "target_ci_pct", "max_repetitions", NULL};
static const char *const sessions_fields[] = {"count", "pause_s", NULL};
static const char *const stop_rules[] = {"fixed", "adaptive", NULL};

static void config_default(harness_config *c)
{
    memset(c, 0, sizeof *c);
    workload_default(&c->workload);
    c->repetitions = 10; /* fewer leaves the gate mostly inconclusive (docs/STATISTICS.md) */
    c->warmup = 1;
    c->order = HARNESS_ORDER_INTERLEAVED;
    c->order_seed = 1;
    c->cooldown.mode = HARNESS_COOLDOWN_NONE;
    c->cooldown.within_c = 2.0;
    c->cooldown.below_c = NAN;
    c->cooldown.idle_c = NAN;
    c->cooldown.timeout_s = 300;
    c->cooldown.baseline_s = 2.0;
    c->cooldown.poll_ms = 200;
    c->probes.enabled = true;
    c->probes.fast_period_ms = 100;
    c->probes.slow_period_ms = 1000;
    c->run_timeout_s = 600;
    c->stop.rule = HARNESS_STOP_FIXED;
    c->stop.target_ci_pct = 2.0;
    c->stop.max_repetitions = 30;
    c->sessions.count = 1;
    c->sessions.pause_s = 0;
}

static int parse_cooldown(parser *p, const cJSON *v, harness_config *c)
{
    int mode = (int)c->cooldown.mode;
    if (!cJSON_IsObject(v)) return fail(p, "cooldown", "expected an object, got %s", type_name(v));
    if (check_fields(p, v, "cooldown", cooldown_fields) ||
        get_enum(p, v, "cooldown", "mode", cooldown_modes, &mode) ||
        get_double(p, v, "cooldown", "seconds", 0, 86400, &c->cooldown.seconds) ||
        get_string(p, v, "cooldown", "channel", c->cooldown.channel, sizeof c->cooldown.channel) ||
        get_double(p, v, "cooldown", "within_c", 0, 100, &c->cooldown.within_c) ||
        get_double(p, v, "cooldown", "below_c", -50, 150, &c->cooldown.below_c) ||
        get_double(p, v, "cooldown", "idle_c", -50, 150, &c->cooldown.idle_c) ||
        get_double(p, v, "cooldown", "timeout_s", 0, 86400, &c->cooldown.timeout_s) ||
        get_double(p, v, "cooldown", "baseline_s", 0, 3600, &c->cooldown.baseline_s) ||
        get_int(p, v, "cooldown", "poll_ms", 10, 60000, &c->cooldown.poll_ms))
        return -1;
    c->cooldown.mode = (harness_cooldown_mode)mode;
    if (mode == HARNESS_COOLDOWN_FIXED && !cJSON_GetObjectItemCaseSensitive(v, "seconds"))
        return fail(p, "cooldown.seconds", "missing required field for mode \"fixed\"");
    return 0;
}

static int parse_probes(parser *p, const cJSON *v, harness_config *c)
{
    if (!cJSON_IsObject(v)) return fail(p, "probes", "expected an object, got %s", type_name(v));
    return check_fields(p, v, "probes", probes_fields) ||
           get_bool(p, v, "probes", "enabled", &c->probes.enabled) ||
           get_int(p, v, "probes", "fast_period_ms", 10, 60000, &c->probes.fast_period_ms) ||
           get_int(p, v, "probes", "slow_period_ms", 10, 600000, &c->probes.slow_period_ms) ||
           get_string(p, v, "probes", "only", c->probes.only, sizeof c->probes.only) ||
           get_string(p, v, "probes", "root", c->probes.root, sizeof c->probes.root) ||
           get_string(p, v, "probes", "nvml_library", c->probes.nvml_library, sizeof c->probes.nvml_library) ||
           get_bool(p, v, "probes", "perf_hardware", &c->probes.perf_hardware) ? -1 : 0;
}

static int parse_stop(parser *p, const cJSON *v, harness_config *c)
{
    int rule = (int)c->stop.rule;
    if (!cJSON_IsObject(v)) return fail(p, "stop", "expected an object, got %s", type_name(v));
    if (check_fields(p, v, "stop", stop_fields) ||
        get_enum(p, v, "stop", "rule", stop_rules, &rule) ||
        get_double(p, v, "stop", "target_ci_pct", 0.01, 100, &c->stop.target_ci_pct) ||
        get_int(p, v, "stop", "max_repetitions", 1, 100000, &c->stop.max_repetitions))
        return -1;
    c->stop.rule = (harness_stop_rule)rule;
    return 0;
}

static int parse_sessions(parser *p, const cJSON *v, harness_config *c)
{
    if (!cJSON_IsObject(v)) return fail(p, "sessions", "expected an object, got %s", type_name(v));
    return check_fields(p, v, "sessions", sessions_fields) ||
           get_int(p, v, "sessions", "count", 1, 1000, &c->sessions.count) ||
           get_double(p, v, "sessions", "pause_s", 0, 86400, &c->sessions.pause_s) ? -1 : 0;
}

static int parse_affinity(parser *p, const cJSON *v, harness_config *c)
{
    if (!cJSON_IsArray(v)) return fail(p, "cpu_affinity", "expected an array of CPU numbers, got %s", type_name(v));
    int n = cJSON_GetArraySize(v);
    if (n > HARNESS_MAX_CPUS) return fail(p, "cpu_affinity", "at most %d CPUs", HARNESS_MAX_CPUS);
    for (int i = 0; i < n; i++) {
        const cJSON *x = cJSON_GetArrayItem(v, i);
        char at[64];
        snprintf(at, sizeof at, "cpu_affinity[%d]", i);
        if (!cJSON_IsNumber(x) || x->valuedouble != floor(x->valuedouble))
            return fail(p, at, "expected an integer CPU number, got %s", type_name(x));
        if (x->valuedouble < 0 || x->valuedouble >= 4096) return fail(p, at, "%g is out of range [0, 4095]", x->valuedouble);
        c->cpus[i] = (int)x->valuedouble;
    }
    c->n_cpus = n;
    return 0;
}

/* "parameters": {"NAME": "value"}: what a parameter scan substituted into
 * this variant (recorded for exports; the harness does not use them). */
static int parse_parameters(parser *p, const cJSON *v, const char *path, harness_variant *var)
{
    char at[512];
    if (!v) return 0;
    sub(at, sizeof at, path, "parameters");
    if (!cJSON_IsObject(v)) return fail(p, at, "expected an object of strings, got %s", type_name(v));
    const cJSON *e;
    cJSON_ArrayForEach(e, v) {
        char eat[600];
        sub(eat, sizeof eat, at, e->string);
        if (var->n_parameters == HARNESS_MAX_PARAMETERS) return fail(p, at, "at most %d parameters", HARNESS_MAX_PARAMETERS);
        if (!cJSON_IsString(e)) return fail(p, eat, "expected a string, got %s", type_name(e));
        if (strlen(e->string) >= sizeof var->parameter_names[0] || strlen(e->valuestring) >= sizeof var->parameter_values[0])
            return fail(p, eat, "name or value too long (%zu, %zu bytes at most)", sizeof var->parameter_names[0] - 1,
                        sizeof var->parameter_values[0] - 1);
        strcpy(var->parameter_names[var->n_parameters], e->string);
        strcpy(var->parameter_values[var->n_parameters++], e->valuestring);
    }
    return 0;
}

static int parse_variants(parser *p, const cJSON *v, harness_config *c)
{
    if (!cJSON_IsArray(v)) return fail(p, "variants", "expected an array of variant objects, got %s", type_name(v));
    int n = cJSON_GetArraySize(v);
    if (n < 1) return fail(p, "variants", "expected at least one variant");
    if (n > HARNESS_MAX_VARIANTS) return fail(p, "variants", "at most %d variants", HARNESS_MAX_VARIANTS);
    const char *known[32];
    size_t k = 0;
    known[k++] = "name";
    known[k++] = "description";
    known[k++] = "parameters";
    for (size_t i = 0; workload_fields[i]; i++) known[k++] = workload_fields[i];
    known[k] = NULL;
    for (int i = 0; i < n; i++) {
        const cJSON *o = cJSON_GetArrayItem(v, i);
        harness_variant *var = &c->variants[i];
        char at[64];
        snprintf(at, sizeof at, "variants[%d]", i);
        if (!cJSON_IsObject(o)) return fail(p, at, "expected an object, got %s", type_name(o));
        if (!cJSON_GetObjectItemCaseSensitive(o, "name")) return fail(p, at, "missing required field 'name'");
        if (get_string(p, o, at, "name", var->name, sizeof var->name) ||
            get_string(p, o, at, "description", var->description, sizeof var->description))
            return -1;
        if (!var->name[0]) return fail(p, at, "'name' is empty");
        for (int j = 0; j < i; j++)
            if (!strcmp(c->variants[j].name, var->name)) return fail(p, at, "duplicate variant name '%s'", var->name);
        var->workload = c->workload;
        if (parse_workload_fields(p, o, at, &var->workload, known)) return -1;
        if (parse_parameters(p, cJSON_GetObjectItemCaseSensitive(o, "parameters"), at, var)) return -1;
    }
    c->n_variants = n;
    return 0;
}

/* Fills in defaults that depend on other fields and checks the whole. */
static int finish(parser *p, harness_config *c)
{
    if (c->sessions.count > 1 && c->order == HARNESS_ORDER_SEQUENTIAL && c->n_variants > 1)
        return fail(p, "sessions.count", "several sessions need an order that runs every variant in each round "
                                         "(interleaved, abba or random), not sequential");
    if (c->n_variants == 0) {
        c->n_variants = 1;
        strcpy(c->variants[0].name, "default");
        c->variants[0].workload = c->workload;
    }
    for (int i = 0; i < c->n_variants; i++) {
        char at[64];
        snprintf(at, sizeof at, "variants[%d]", i);
        if (check_workload(p, c->n_variants == 1 && !strcmp(c->variants[0].name, "default") ? "workload" : at,
                           &c->variants[i].workload))
            return -1;
    }
    harness_metric ms[HARNESS_MAX_WORKLOAD_METRICS];
    const char *names[HARNESS_MAX_WORKLOAD_METRICS + 1];
    int nm = harness_workload_metrics(&c->variants[0].workload, ms, HARNESS_MAX_WORKLOAD_METRICS);
    if (!c->primary_metric[0]) {
        snprintf(c->primary_metric, sizeof c->primary_metric, "%s",
                 c->variants[0].workload.kind == HARNESS_WORKLOAD_ENGINE ? "decode_tokens_per_s"
                 : c->variants[0].workload.n_metrics ? c->variants[0].workload.metrics[0].name
                                                     : "wall_ms");
    }
    for (int v = 0; v < c->n_variants; v++) {
        nm = harness_workload_metrics(&c->variants[v].workload, ms, HARNESS_MAX_WORKLOAD_METRICS);
        bool found = false;
        for (int i = 0; i < nm; i++) {
            names[i] = ms[i].name;
            found |= !strcmp(names[i], c->primary_metric);
        }
        if (!found) {
            names[nm] = NULL;
            const char *near = nearest(c->primary_metric, names);
            char list[1024];
            join_names(list, sizeof list, names);
            if (near) return fail(p, "primary_metric", "variant '%s' has no metric '%s' (did you mean '%s'?)",
                                  c->variants[v].name, c->primary_metric, near);
            return fail(p, "primary_metric", "variant '%s' has no metric '%s' (it has: %s)",
                        c->variants[v].name, c->primary_metric, list);
        }
    }
    if (c->stop.rule == HARNESS_STOP_ADAPTIVE) {
        if (c->repetitions < 2) return fail(p, "repetitions", "adaptive stop needs at least 2 repetitions (the minimum before the CI is checked)");
        if (c->stop.max_repetitions < c->repetitions)
            return fail(p, "stop.max_repetitions", "%d is below repetitions (%d)", c->stop.max_repetitions, c->repetitions);
    }
    if (c->probes.slow_period_ms < c->probes.fast_period_ms)
        return fail(p, "probes.slow_period_ms", "%d is below fast_period_ms (%d)", c->probes.slow_period_ms, c->probes.fast_period_ms);
    return 0;
}

static int parse_config(parser *p, const cJSON *root, harness_config *c)
{
    const cJSON *v;
    int order = (int)c->order;
    if (!cJSON_IsObject(root)) return fail(p, "(top level)", "expected an object, got %s", type_name(root));
    if (check_fields(p, root, "", top_fields)) return -1;
    if (!cJSON_GetObjectItemCaseSensitive(root, "name")) return fail(p, "name", "missing required field");
    if (get_string(p, root, "", "name", c->name, sizeof c->name) ||
        get_string(p, root, "", "description", c->description, sizeof c->description) ||
        get_string(p, root, "", "primary_metric", c->primary_metric, sizeof c->primary_metric) ||
        get_int(p, root, "", "repetitions", 1, 100000, &c->repetitions) ||
        get_int(p, root, "", "warmup", 0, 1000, &c->warmup) ||
        get_enum(p, root, "", "order", order_names, &order) ||
        get_u64(p, root, "", "seed", &c->order_seed) ||
        get_double(p, root, "", "timeout_s", 0.001, 86400 * 7, &c->run_timeout_s) ||
        get_string(p, root, "", "output_dir", c->output_dir, sizeof c->output_dir))
        return -1;
    if (!c->name[0]) return fail(p, "name", "must not be empty");
    for (const char *s = c->name; *s; s++)
        if (*s == '/' || (unsigned char)*s < 32)
            return fail(p, "name", "must not contain '/' or control characters (it names the results directory)");
    c->order = (harness_order)order;
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "workload"))) {
        if (!cJSON_IsObject(v)) return fail(p, "workload", "expected an object, got %s", type_name(v));
        if (parse_workload_fields(p, v, "workload", &c->workload, workload_fields)) return -1;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "variants")) && parse_variants(p, v, c)) return -1;
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "cooldown")) && parse_cooldown(p, v, c)) return -1;
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "probes")) && parse_probes(p, v, c)) return -1;
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "stop")) && parse_stop(p, v, c)) return -1;
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "sessions")) && parse_sessions(p, v, c)) return -1;
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "cpu_affinity")) && parse_affinity(p, v, c)) return -1;
    return finish(p, c);
}

int harness_config_load_text(const char *text, const char *source, harness_config **out, harness_error *err)
{
    parser p = {source, err};
    const char *end = NULL;
    memset(err, 0, sizeof *err);
    *out = NULL;
    cJSON *root = cJSON_ParseWithOpts(text, &end, 1);
    if (!root) {
        /* Line and column of where the parser stopped. */
        int line = 1, col = 1;
        const char *stop = end ? end : cJSON_GetErrorPtr();
        for (const char *s = text; stop && s < stop && *s; s++) {
            if (*s == '\n') line++, col = 1;
            else col++;
        }
        int near = 0;
        while (stop && stop[near] && stop[near] != '\n' && near < 16) near++;
        snprintf(err->msg, sizeof err->msg, "%s: line %d, column %d: invalid JSON near '%.*s'", source, line, col,
                 near, stop ? stop : "");
        err->kind = HARNESS_ERR_INPUT;
        return -1;
    }
    harness_config *c = malloc(sizeof *c);
    if (!c) {
        cJSON_Delete(root);
        snprintf(err->msg, sizeof err->msg, "out of memory");
        err->kind = HARNESS_ERR_SYSTEM;
        return -1;
    }
    config_default(c);
    snprintf(c->source, sizeof c->source, "%s", source);
    int rc = parse_config(&p, root, c);
    cJSON_Delete(root);
    if (rc) {
        free(c);
        return -1;
    }
    *out = c;
    return 0;
}

int harness_config_load_file(const char *path, harness_config **out, harness_error *err)
{
    memset(err, 0, sizeof *err);
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err->msg, sizeof err->msg, "%s: cannot open: %s", path, strerror(errno));
        err->kind = HARNESS_ERR_INPUT;
        return -1;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            char *nb = cap > (64u << 20) ? NULL : realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                snprintf(err->msg, sizeof err->msg, "%s: too large or out of memory", path);
                err->kind = HARNESS_ERR_INPUT;
                return -1;
            }
            buf = nb;
        }
        size_t n = fread(buf + len, 1, 4096, f);
        len += n;
        if (n < 4096) break;
    }
    int bad = ferror(f) ? errno : 0;
    fclose(f);
    if (bad) {
        free(buf);
        snprintf(err->msg, sizeof err->msg, "%s: cannot read: %s", path, strerror(bad));
        err->kind = HARNESS_ERR_INPUT;
        return -1;
    }
    buf[len] = 0;
    if (strlen(buf) != len) {
        size_t off = strlen(buf);
        free(buf);
        snprintf(err->msg, sizeof err->msg, "%s: byte offset %zu: NUL byte in a JSON file", path, off);
        err->kind = HARNESS_ERR_INPUT;
        return -1;
    }
    int rc = harness_config_load_text(buf, path, out, err);
    free(buf);
    return rc;
}

/* ---- metrics each workload produces --------------------------------- */

int harness_workload_metrics(const harness_workload *w, harness_metric *out, int max)
{
    int n = 0;
    if (w->kind == HARNESS_WORKLOAD_ENGINE) {
        for (; (size_t)n < engine_metric_count() && n < max; n++) {
            const engine_metric *m = engine_metric_at((size_t)n);
            harness_metric *o = &out[n];
            snprintf(o->name, sizeof o->name, "%s", m->name);
            snprintf(o->unit, sizeof o->unit, "%s", m->unit);
            o->higher_is_better = m->higher_is_better;
            snprintf(o->source, sizeof o->source, "engine: %s", m->source);
        }
        return n;
    }
    /* The harness's own timing first, then what is read from stdout. */
    static const char *const timing_units[] = {"ms", "ms", "ms", "bytes"};
    static const char *const timing_sources[] = {
        "harness: CLOCK_MONOTONIC from posix_spawn to the exit (pidfd)", "harness: wait4 rusage ru_utime",
        "harness: wait4 rusage ru_stime", "harness: wait4 rusage ru_maxrss"};
    for (int i = 0; i < HARNESS_COMMAND_TIMING_METRICS && n < max; i++, n++) {
        harness_metric *o = &out[n];
        snprintf(o->name, sizeof o->name, "%s", harness_command_timing_names[i]);
        snprintf(o->unit, sizeof o->unit, "%s", timing_units[i]);
        o->higher_is_better = false;
        snprintf(o->source, sizeof o->source, "%s", timing_sources[i]);
    }
    for (int i = 0; i < w->n_metrics && n < max; i++, n++) {
        const harness_metric_spec *m = &w->metrics[i];
        harness_metric *o = &out[n];
        snprintf(o->name, sizeof o->name, "%s", m->name);
        snprintf(o->unit, sizeof o->unit, "%s", m->unit);
        o->higher_is_better = m->higher_is_better;
        snprintf(o->source, sizeof o->source, "%s: %s", m->json_path[0] ? "stdout JSON path" : "stdout regex",
                 m->json_path[0] ? m->json_path : m->regex);
    }
    return n;
}

int harness_primary_metric_index(const harness_config *c, const harness_workload *w)
{
    harness_metric m[HARNESS_MAX_WORKLOAD_METRICS];
    int n = harness_workload_metrics(w, m, HARNESS_MAX_WORKLOAD_METRICS);
    for (int i = 0; i < n; i++)
        if (!strcmp(m[i].name, c->primary_metric))
            return i;
    return 0;
}

/* ---- the config as run ---------------------------------------------- */

static cJSON *workload_json(cJSON *o, const harness_workload *w, const harness_workload *base)
{
    /* Variants list only what differs from the base workload. */
#define DIFF(field) (!base || memcmp(&w->field, &base->field, sizeof w->field))
    if (DIFF(kind)) cJSON_AddStringToObject(o, "type", workload_types[w->kind]);
    if (w->kind == HARNESS_WORKLOAD_ENGINE || base) {
        if (DIFF(model) && (w->model[0] || base)) cJSON_AddStringToObject(o, "model", w->model);
        if (DIFF(preset)) cJSON_AddStringToObject(o, "preset", w->preset);
        if (DIFF(dtype)) cJSON_AddStringToObject(o, "dtype", w->dtype);
        if (DIFF(seed)) cJSON_AddNumberToObject(o, "seed", (double)w->seed);
        if (DIFF(threads)) cJSON_AddNumberToObject(o, "threads", w->threads);
        if (DIFF(batch_size)) cJSON_AddNumberToObject(o, "batch_size", w->batch_size);
        if (DIFF(input_len)) cJSON_AddNumberToObject(o, "input_len", w->input_len);
        if (DIFF(output_len)) cJSON_AddNumberToObject(o, "output_len", w->output_len);
        if (DIFF(engine_warmup)) cJSON_AddNumberToObject(o, "engine_warmup", w->engine_warmup);
        if (DIFF(backend)) cJSON_AddStringToObject(o, "backend", w->backend);
        if (DIFF(opencl_device)) cJSON_AddStringToObject(o, "opencl_device", w->opencl_device);
        if (DIFF(kernels) || DIFF(n_kernels)) {
            cJSON *k = cJSON_AddObjectToObject(o, "kernels");
            for (int i = 0; i < w->n_kernels; i++) cJSON_AddStringToObject(k, w->kernels[i].op, w->kernels[i].variant);
        }
    }
    if (w->argc && (DIFF(argv) || DIFF(argc))) {
        cJSON *a = cJSON_AddArrayToObject(o, "command");
        for (int i = 0; i < w->argc; i++) cJSON_AddItemToArray(a, cJSON_CreateString(w->argv[i]));
    }
    if (w->n_metrics && (DIFF(metrics) || DIFF(n_metrics))) {
        cJSON *a = cJSON_AddArrayToObject(o, "metrics");
        for (int i = 0; i < w->n_metrics; i++) {
            const harness_metric_spec *s = &w->metrics[i];
            cJSON *m = cJSON_CreateObject();
            cJSON_AddStringToObject(m, "name", s->name);
            cJSON_AddStringToObject(m, "unit", s->unit);
            cJSON_AddBoolToObject(m, "higher_is_better", s->higher_is_better);
            if (s->json_path[0]) cJSON_AddStringToObject(m, "json_path", s->json_path);
            if (s->regex[0]) cJSON_AddStringToObject(m, "regex", s->regex);
            cJSON_AddItemToArray(a, m);
        }
    }
    static const char *const hooks[] = {"prepare", "setup", "cleanup"};
    const harness_argv *hook_argv[] = {&w->prepare, &w->setup, &w->cleanup};
    const harness_argv *base_argv[] = {base ? &base->prepare : NULL, base ? &base->setup : NULL, base ? &base->cleanup : NULL};
    for (int i = 0; i < 3; i++)
        if ((hook_argv[i]->argc && !base) ||
            (base && (hook_argv[i]->argc != base_argv[i]->argc ||
                      memcmp(hook_argv[i]->argv, base_argv[i]->argv, sizeof hook_argv[i]->argv)))) {
            cJSON *a = cJSON_AddArrayToObject(o, hooks[i]);
            for (int k = 0; k < hook_argv[i]->argc; k++) cJSON_AddItemToArray(a, cJSON_CreateString(hook_argv[i]->argv[k]));
        }
    if (w->kind == HARNESS_WORKLOAD_COMMAND || base) {
        if (DIFF(ignore_failure) && (w->ignore_failure || base)) cJSON_AddBoolToObject(o, "ignore_failure", w->ignore_failure);
        if (DIFF(output) && (w->output || base)) cJSON_AddStringToObject(o, "output", output_modes[w->output]);
    }
#undef DIFF
    return o;
}

void harness_variant_parameters_json(cJSON *o, const harness_variant *v)
{
    if (!v->n_parameters) return;
    cJSON *p = cJSON_AddObjectToObject(o, "parameters");
    for (int i = 0; i < v->n_parameters; i++) cJSON_AddStringToObject(p, v->parameter_names[i], v->parameter_values[i]);
}

cJSON *harness_workload_to_json(const harness_workload *w)
{
    return workload_json(cJSON_CreateObject(), w, NULL);
}

cJSON *harness_config_to_json(const harness_config *c)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", c->name);
    if (c->description[0]) cJSON_AddStringToObject(o, "description", c->description);
    cJSON_AddItemToObject(o, "workload", workload_json(cJSON_CreateObject(), &c->workload, NULL));
    cJSON *vs = cJSON_AddArrayToObject(o, "variants");
    for (int i = 0; i < c->n_variants; i++) {
        cJSON *v = cJSON_CreateObject();
        cJSON_AddStringToObject(v, "name", c->variants[i].name);
        if (c->variants[i].description[0]) cJSON_AddStringToObject(v, "description", c->variants[i].description);
        harness_variant_parameters_json(v, &c->variants[i]);
        cJSON_AddItemToArray(vs, workload_json(v, &c->variants[i].workload, &c->workload));
    }
    cJSON_AddStringToObject(o, "primary_metric", c->primary_metric);
    cJSON_AddNumberToObject(o, "repetitions", c->repetitions);
    cJSON_AddNumberToObject(o, "warmup", c->warmup);
    cJSON_AddStringToObject(o, "order", order_names[c->order]);
    cJSON_AddNumberToObject(o, "seed", (double)c->order_seed);
    cJSON *cd = cJSON_AddObjectToObject(o, "cooldown");
    cJSON_AddStringToObject(cd, "mode", cooldown_modes[c->cooldown.mode]);
    cJSON_AddNumberToObject(cd, "seconds", c->cooldown.seconds);
    cJSON_AddStringToObject(cd, "channel", c->cooldown.channel);
    cJSON_AddNumberToObject(cd, "within_c", c->cooldown.within_c);
    if (!isnan(c->cooldown.below_c)) cJSON_AddNumberToObject(cd, "below_c", c->cooldown.below_c);
    if (!isnan(c->cooldown.idle_c)) cJSON_AddNumberToObject(cd, "idle_c", c->cooldown.idle_c);
    cJSON_AddNumberToObject(cd, "timeout_s", c->cooldown.timeout_s);
    cJSON_AddNumberToObject(cd, "baseline_s", c->cooldown.baseline_s);
    cJSON_AddNumberToObject(cd, "poll_ms", c->cooldown.poll_ms);
    cJSON *pr = cJSON_AddObjectToObject(o, "probes");
    cJSON_AddBoolToObject(pr, "enabled", c->probes.enabled);
    cJSON_AddNumberToObject(pr, "fast_period_ms", c->probes.fast_period_ms);
    cJSON_AddNumberToObject(pr, "slow_period_ms", c->probes.slow_period_ms);
    cJSON_AddStringToObject(pr, "only", c->probes.only);
    cJSON_AddStringToObject(pr, "root", c->probes.root);
    cJSON_AddStringToObject(pr, "nvml_library", c->probes.nvml_library);
    cJSON_AddBoolToObject(pr, "perf_hardware", c->probes.perf_hardware);
    cJSON_AddNumberToObject(o, "timeout_s", c->run_timeout_s);
    cJSON *aff = cJSON_AddArrayToObject(o, "cpu_affinity");
    for (int i = 0; i < c->n_cpus; i++) cJSON_AddItemToArray(aff, cJSON_CreateNumber(c->cpus[i]));
    cJSON *st = cJSON_AddObjectToObject(o, "stop");
    cJSON_AddStringToObject(st, "rule", stop_rules[c->stop.rule]);
    cJSON_AddNumberToObject(st, "target_ci_pct", c->stop.target_ci_pct);
    cJSON_AddNumberToObject(st, "max_repetitions", c->stop.max_repetitions);
    cJSON *ss = cJSON_AddObjectToObject(o, "sessions");
    cJSON_AddNumberToObject(ss, "count", c->sessions.count);
    cJSON_AddNumberToObject(ss, "pause_s", c->sessions.pause_s);
    cJSON_AddStringToObject(o, "output_dir", c->output_dir);
    return o;
}

char *harness_config_to_json_text(const harness_config *c)
{
    cJSON *o = harness_config_to_json(c);
    char *s = cJSON_Print(o);
    cJSON_Delete(o);
    return s;
}
