/* Queries: experiments by filter, series of one metric (one point per
 * experiment: the median of its measured runs), and baselines rebuilt as the
 * results structures the gate reads. One SQL text serves both back ends. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "history_internal.h"

long long history_parse_since(const char *text, long long now_unix)
{
    char *end;
    double v = strtod(text, &end);
    if (end != text && v >= 0 && end[0] && !end[1] && strchr("dhm", end[0]) && !strchr(text, '-')) {
        double unit = end[0] == 'd' ? 86400 : end[0] == 'h' ? 3600 : 60;
        return now_unix - (long long)(v * unit);
    }
    char full[40];
    if (strlen(text) == 10) {
        snprintf(full, sizeof full, "%sT00:00:00Z", text);
        return hist_parse_utc(full);
    }
    return hist_parse_utc(text);
}

/* ---- building queries ---- */
void hist_sql_add(hist_sql *q, const char *fmt, ...)
{
    if (!q->f && !q->bad && !(q->f = open_memstream(&q->text, &q->len)))
        q->bad = 1;
    if (q->bad)
        return;
    va_list ap;
    va_start(ap, fmt);
    if (vfprintf(q->f, fmt, ap) < 0)
        q->bad = 1;
    va_end(ap);
}

const char *hist_sql_text(hist_sql *q)
{
    if (q->f) {
        if (fclose(q->f) != 0)
            q->bad = 1;
        q->f = NULL;
    }
    return q->bad ? NULL : q->text;
}

void hist_sql_free(hist_sql *q)
{
    if (q->f)
        fclose(q->f);
    free(q->text);
    q->f = NULL;
    q->text = NULL;
}

static void param(hist_sql *q, const char *p)
{
    if (q->np < 48)
        q->params[q->np++] = p;
    else
        q->bad = 1;         /* reported: the filter cannot hold more */
}

/* Conditions on experiment alias `e` (and its machine) for the filter. */
static void conditions(hist_sql *q, const char *e, const history_filter *f)
{
    hist_sql_add(q, " WHERE 1 = 1");
    if (f->config) {
        hist_sql_add(q, " AND %s.name = ?", e);
        param(q, f->config);
    }
    if (f->machine) {
        hist_sql_add(q, " AND %s.machine_id IN (SELECT id FROM machines WHERE machine_key = ? OR hostname = ?)", e);
        param(q, f->machine);
        param(q, f->machine);
    }
    for (int i = 0; i < f->ntags; i++) {
        hist_sql_add(q, " AND EXISTS (SELECT 1 FROM tags t WHERE t.experiment_id = %s.id AND t.key = ? "
                           "AND t.value = ?)", e);
        param(q, f->tags[i].key);
        param(q, f->tags[i].value);
    }
    if (f->since_unix) {
        hist_sql_add(q, " AND %s.created_unix >= ?", e);
        param(q, hist_int(&q->nums[q->nn++], f->since_unix));
    }
    if (f->until_unix) {
        hist_sql_add(q, " AND %s.created_unix <= ?", e);
        param(q, hist_int(&q->nums[q->nn++], f->until_unix));
    }
}

void hist_sql_where(hist_sql *q, const history_filter *f)
{
    conditions(q, "e", f);
    if (f->last > 0) {
        hist_sql_add(q, " AND e.id IN (SELECT e2.id FROM experiments e2");
        conditions(q, "e2", f);
        hist_sql_add(q, " ORDER BY e2.created_unix DESC, e2.id DESC LIMIT %ld)", f->last);
    }
}

static int run_sql(history_store *s, hist_sql *q, hist_row_fn fn, void *ctx, history_error *err)
{
    const char *sql = hist_sql_text(q);
    int rc = !sql ? hist_fail(err, 1, s, "query too large (too many filters) or out of memory")
                  : s->be->exec(s, sql, q->np, q->params, fn, ctx, err);
    hist_sql_free(q);
    return rc;
}

static void cpy(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

static double dnum(const char *v)
{
    return v ? strtod(v, NULL) : NAN;
}

/* ---- list ---- */
typedef struct exp_rows {
    history_experiment *e;
    size_t n, cap;
    int oom;
} exp_rows;

static int take_experiment(void *ctx, int ncols, const char *const *v)
{
    exp_rows *r = ctx;
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 64;
        history_experiment *ne = realloc(r->e, cap * sizeof *ne);
        if (!ne) {
            r->oom = 1;
            return 1;
        }
        r->e = ne;
        r->cap = cap;
    }
    history_experiment *x = &r->e[r->n++];
    memset(x, 0, sizeof *x);
    x->id = atoll(v[0]);
    x->created_unix = atoll(v[1]);
    cpy(x->created_utc, sizeof x->created_utc, v[2]);
    cpy(x->name, sizeof x->name, v[3]);
    cpy(x->status, sizeof x->status, v[4]);
    cpy(x->machine_id, sizeof x->machine_id, v[5]);
    cpy(x->hostname, sizeof x->hostname, v[6]);
    cpy(x->commit, sizeof x->commit, v[7]);
    cpy(x->branch, sizeof x->branch, v[8]);
    cpy(x->describe, sizeof x->describe, v[9]);
    x->dirty = v[10] ? atoi(v[10]) : -1;
    cpy(x->metric, sizeof x->metric, v[11]);
    cpy(x->unit, sizeof x->unit, v[12]);
    cpy(x->results_path, sizeof x->results_path, v[13]);
    x->nruns = v[14] ? atoi(v[14]) : 0;
    return 0;
}

static int take_tag(void *ctx, int ncols, const char *const *v)
{
    history_experiment *x = ctx;
    size_t n = strlen(x->tags);
    snprintf(x->tags + n, sizeof x->tags - n, "%s%s=%s", n ? " " : "", v[0] ? v[0] : "", v[1] ? v[1] : "");
    return 0;
}

static int select_experiments(history_store *s, const history_filter *f, exp_rows *rows, history_error *err)
{
    hist_sql q = {0};
    hist_sql_add(&q, "SELECT e.id, e.created_unix, e.created_utc, e.name, e.status, m.machine_key, m.hostname, "
                    "e.git_commit, e.git_branch, e.git_describe, e.git_dirty, e.metric_name, e.metric_unit, "
                    "e.results_path, (SELECT COUNT(*) FROM runs r WHERE r.experiment_id = e.id AND r.warmup = 0) "
                    "FROM experiments e JOIN machines m ON m.id = e.machine_id");
    conditions(&q, "e", f);
    hist_sql_add(&q, " ORDER BY e.created_unix DESC, e.id DESC");
    if (f->last > 0)
        hist_sql_add(&q, " LIMIT %ld", f->last);
    memset(rows, 0, sizeof *rows);
    if (run_sql(s, &q, take_experiment, rows, err) < 0 || rows->oom) {
        free(rows->e);
        return rows->oom ? hist_fail(err, 1, s, "out of memory") : -1;
    }
    /* Newest first from the query; oldest first for the caller. */
    for (size_t i = 0; i < rows->n / 2; i++) {
        history_experiment t = rows->e[i];
        rows->e[i] = rows->e[rows->n - 1 - i];
        rows->e[rows->n - 1 - i] = t;
    }
    return 0;
}

int history_list(history_store *s, const history_filter *f, history_experiment_fn fn, void *ctx,
                 history_error *err)
{
    exp_rows rows;
    if (select_experiments(s, f, &rows, err) < 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < rows.n && rc == 0; i++) {
        hist_num b;
        const char *p[1] = {hist_int(&b, rows.e[i].id)};
        rc = s->be->exec(s, "SELECT key, value FROM tags WHERE experiment_id = ? ORDER BY key", 1, p, take_tag,
                         &rows.e[i], err);
        if (rc == 0 && fn(ctx, &rows.e[i]))
            break;
    }
    free(rows.e);
    return rc;
}

/* ---- series ---- */
typedef struct run_sample {
    double value, temp_c, clock_mhz;
} run_sample;

typedef struct series_acc {
    history_series_set *set;
    run_sample *runs;
    double *vals;
    size_t nv, cap;
    int oom;
} series_acc;

static void *grow(void *p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return p;
    size_t c = *cap ? *cap : 16;
    while (c < need)
        c *= 2;
    void *np = realloc(p, c * elem);
    if (np)
        *cap = c;
    return np;
}

static void close_point(series_acc *a)
{
    if (!a->nv || !a->set->n)
        return;
    history_series *sr = &a->set->s[a->set->n - 1];
    history_point *p = &sr->pts[sr->n - 1];
    double ts = 0, cs = 0;
    size_t nt = 0, nc = 0;
    for (size_t i = 0; i < a->nv; i++) {
        a->vals[i] = a->runs[i].value;
        if (isfinite(a->runs[i].temp_c))
            ts += a->runs[i].temp_c, nt++;
        if (isfinite(a->runs[i].clock_mhz))
            cs += a->runs[i].clock_mhz, nc++;
    }
    p->n = a->nv;
    p->median = report_median(a->vals, a->nv);
    report_median_ci(a->vals, a->nv, 0.95, &p->lo, &p->hi);
    p->temp_start_c = nt ? ts / (double)nt : NAN;
    p->clock_mean_mhz = nc ? cs / (double)nc : NAN;
    a->nv = 0;
}

/* Columns: 0 e.id, 1 created_unix, 2 commit, 3 branch, 4 results_path, 5 name, 6 machine_key, 7 hostname,
 * 8 unit, 9 higher_is_better, 10 variant, 11 metric, 12 value, 13 temp_start_c, 14 clock_mean_mhz */
static int take_series_row(void *ctx, int ncols, const char *const *v)
{
    series_acc *a = ctx;
    history_series_set *set = a->set;
    history_series *sr = set->n ? &set->s[set->n - 1] : NULL;
    if (!sr || strcmp(sr->config, v[5] ? v[5] : "") || strcmp(sr->machine_id, v[6] ? v[6] : "") ||
        strcmp(sr->variant, v[10] ? v[10] : "") || strcmp(sr->metric, v[11] ? v[11] : "")) {
        close_point(a);
        history_series *ns = grow(set->s, &set->cap, set->n + 1, sizeof *ns);
        if (!ns)
            return a->oom = 1;
        set->s = ns;
        sr = &set->s[set->n++];
        memset(sr, 0, sizeof *sr);
        cpy(sr->config, sizeof sr->config, v[5]);
        cpy(sr->machine_id, sizeof sr->machine_id, v[6]);
        cpy(sr->hostname, sizeof sr->hostname, v[7]);
        cpy(sr->unit, sizeof sr->unit, v[8]);
        sr->higher_is_better = !v[9] || atoi(v[9]) != 0;
        cpy(sr->variant, sizeof sr->variant, v[10]);
        cpy(sr->metric, sizeof sr->metric, v[11]);
    }
    long long id = atoll(v[0]);
    if (!sr->n || sr->pts[sr->n - 1].experiment_id != id) {
        close_point(a);
        history_point *np = grow(sr->pts, &sr->cap, sr->n + 1, sizeof *np);
        if (!np)
            return a->oom = 1;
        sr->pts = np;
        history_point *p = &sr->pts[sr->n++];
        memset(p, 0, sizeof *p);
        p->experiment_id = id;
        p->created_unix = atoll(v[1]);
        cpy(p->commit, sizeof p->commit, v[2]);
        cpy(p->branch, sizeof p->branch, v[3]);
        cpy(p->results_path, sizeof p->results_path, v[4]);
    }
    if (a->nv == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 64;
        run_sample *nr = realloc(a->runs, cap * sizeof *nr);
        if (nr)
            a->runs = nr;
        double *nv = nr ? realloc(a->vals, cap * sizeof *nv) : NULL;
        if (!nv)
            return a->oom = 1;
        a->vals = nv;
        a->cap = cap;
    }
    a->runs[a->nv] = (run_sample){dnum(v[12]), dnum(v[13]), dnum(v[14])};
    a->nv++;
    return 0;
}

int history_load_series(history_store *s, const history_filter *f, history_series_set *out, history_error *err)
{
    memset(out, 0, sizeof *out);
    hist_sql q = {0};
    hist_sql_add(&q, "SELECT e.id, e.created_unix, e.git_commit, e.git_branch, e.results_path, e.name, m.machine_key, "
                    "m.hostname, e.metric_unit, e.higher_is_better, r.variant, rm.name, rm.value, r.temp_start_c, "
                    "r.clock_mean_mhz FROM experiments e JOIN machines m ON m.id = e.machine_id "
                    "JOIN runs r ON r.experiment_id = e.id JOIN run_metrics rm ON rm.run_id = r.id");
    hist_sql_where(&q, f);
    hist_sql_add(&q, " AND r.warmup = 0 AND r.ok = 1 AND rm.value IS NOT NULL");
    if (f->metric) {
        hist_sql_add(&q, " AND rm.name = ?");
        param(&q, f->metric);
    } else {
        hist_sql_add(&q, " AND rm.name = e.metric_name");
    }
    if (f->variant) {
        hist_sql_add(&q, " AND r.variant = ?");
        param(&q, f->variant);
    }
    hist_sql_add(&q, " ORDER BY e.name, m.machine_key, r.variant, rm.name, e.created_unix, e.id");
    series_acc a = {.set = out};
    int rc = run_sql(s, &q, take_series_row, &a, err);
    if (rc == 0 && !a.oom)
        close_point(&a);
    free(a.vals);
    free(a.runs);
    if (rc == 0 && a.oom)
        rc = hist_fail(err, 1, s, "out of memory");
    if (rc < 0)
        history_series_set_free(out);
    return rc;
}

void history_series_set_free(history_series_set *set)
{
    for (size_t i = 0; i < set->n; i++)
        free(set->s[i].pts);
    free(set->s);
    memset(set, 0, sizeof *set);
}

/* ---- baselines ---- */
int history_parse_baseline(const char *spec, history_filter *f, char *why, size_t why_len)
{
    static char copy[1024];     /* the filter points into it; one baseline per process */
    snprintf(copy, sizeof copy, "%s", spec);
    memset(f, 0, sizeof *f);
    f->last = 5;
    for (char *save = NULL, *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(item, '=');
        if (!eq) {
            snprintf(why, why_len, "'%s': expected key=value (tag:K=V, last=N, machine=ID|any, config=NAME, "
                                   "variant=NAME, since=30d)", item);
            return -1;
        }
        if (!strncmp(item, "tag:", 4)) {
            if (f->ntags >= HISTORY_MAX_TAGS) {
                snprintf(why, why_len, "more than %d tags", HISTORY_MAX_TAGS);
                return -1;
            }
            if (history_parse_tag(item + 4, &f->tags[f->ntags++], why, why_len) < 0)
                return -1;
            continue;
        }
        *eq = 0;
        const char *v = eq + 1;
        if (!strcmp(item, "last")) {
            char *end;
            f->last = strtol(v, &end, 10);
            if (end == v || *end || f->last < 1 || f->last > 100000) {
                snprintf(why, why_len, "last=%s: expected an integer from 1 to 100000", v);
                return -1;
            }
        } else if (!strcmp(item, "machine")) {
            f->machine = v;
        } else if (!strcmp(item, "config")) {
            f->config = v;
        } else if (!strcmp(item, "variant")) {
            f->variant = v;
        } else if (!strcmp(item, "since")) {
            f->since_unix = history_parse_since(v, (long long)time(NULL));
            if (f->since_unix < 0) {
                snprintf(why, why_len, "since=%s: expected 30d, 12h or a date like 2026-11-01", v);
                return -1;
            }
        } else {
            snprintf(why, why_len, "'%s': unknown key (tag:K=V, last, machine, config, variant, since)", item);
            return -1;
        }
    }
    return 0;
}

/* A baseline experiment is rebuilt as the results.json it came from (the
 * fields the statistics read) and parsed by report_results_parse, so it
 * carries exactly what a loaded file does. */
typedef struct doc_ctx {
    cJSON *root, *runs, *vars;
    int oom;
} doc_ctx;

static void add_num(cJSON *o, const char *k, const char *v)
{
    if (v)
        cJSON_AddNumberToObject(o, k, strtod(v, NULL));
    else
        cJSON_AddNullToObject(o, k);
}

/* 0 name, 1 status, 2 created_utc, 3 metric, 4 unit, 5 higher_is_better, 6 environment_json, 7 hostname,
 * 8 cpu_model, 9 cpus_online, 10 kernel, 11 compiler, 12 tb_build, 13 tb_version */
static int take_doc(void *ctx, int ncols, const char *const *v)
{
    doc_ctx *d = ctx;
    cJSON *r = d->root;
    cJSON_AddStringToObject(r, "schema", "thermabench-results");
    cJSON_AddNumberToObject(r, "schema_version", 1);
    cJSON_AddStringToObject(r, "name", v[0] ? v[0] : "");
    cJSON_AddStringToObject(r, "status", v[1] ? v[1] : "complete");
    cJSON_AddStringToObject(r, "created_utc", v[2] ? v[2] : "");
    cJSON *env = v[6] ? cJSON_Parse(v[6]) : NULL;
    if (!env) {     /* appended before the environment was kept: what the machine row knows */
        env = cJSON_CreateObject();
        const char *keys[] = {"hostname", "cpu_model", NULL, "kernel", "compiler", "git_commit", "thermabench_version"};
        for (int k = 0; k < 7; k++)
            if (keys[k] && v[7 + k])
                cJSON_AddStringToObject(env, keys[k], v[7 + k]);
        add_num(env, "cpus_online", v[9]);
    }
    cJSON_AddItemToObject(r, "environment", env);
    cJSON *pm = cJSON_AddObjectToObject(r, "primary_metric");
    cJSON_AddStringToObject(pm, "name", v[3] ? v[3] : "");
    cJSON_AddStringToObject(pm, "unit", v[4] ? v[4] : "");
    cJSON_AddBoolToObject(pm, "higher_is_better", !v[5] || atoi(v[5]) != 0);
    return 1;
}

static int take_variant(void *ctx, int ncols, const char *const *v)
{
    doc_ctx *d = ctx;
    cJSON *x = cJSON_CreateObject();
    cJSON_AddStringToObject(x, "name", v[0] ? v[0] : "");
    if (v[1])
        cJSON_AddStringToObject(x, "engine_kernels", v[1]);
    cJSON *w = v[2] ? cJSON_Parse(v[2]) : NULL;
    cJSON_AddItemToObject(x, "workload", w ? w : cJSON_CreateObject());
    cJSON_AddItemToArray(d->vars, x);
    return 0;
}

static const char *const telemetry_cols[] = {"temp_start_c", "temp_end_c", "temp_peak_c", "power_mean_w",
                                             "energy_j", "energy_per_token_j", "clock_mean_mhz", "clock_min_mhz",
                                             "mem_psi_some_us"};

/* 0 run_index, 1 variant, 2 warmup, 3 ok, 4 started_s, 5 wall_ms, 6 metric value, 7-15 telemetry, 16 throttle,
 * 17 session, 18 failure */
static int take_run(void *ctx, int ncols, const char *const *v)
{
    doc_ctx *d = ctx;
    cJSON *r = cJSON_CreateObject();
    if (!r)
        return d->oom = 1;
    add_num(r, "index", v[0]);
    cJSON_AddStringToObject(r, "variant", v[1] ? v[1] : "");
    cJSON_AddBoolToObject(r, "warmup", v[2] && atoi(v[2]));
    cJSON_AddStringToObject(r, "status", v[3] && atoi(v[3]) ? "ok" : "failed");
    if (v[18])
        cJSON_AddStringToObject(r, "failure", v[18]);
    add_num(r, "started_s", v[4]);
    add_num(r, "wall_ms", v[5]);
    if (v[17])
        add_num(r, "session", v[17]);
    cJSON *m = cJSON_AddObjectToObject(r, "metrics");
    add_num(m, cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(d->root, "primary_metric"), "name")),
            v[6]);
    cJSON *t = cJSON_AddObjectToObject(r, "telemetry");
    for (int k = 0; k < 9; k++)
        add_num(t, telemetry_cols[k], v[7 + k]);
    cJSON_AddStringToObject(t, "throttle", v[16] ? v[16] : "unknown");
    cJSON_AddItemToArray(d->runs, r);
    return 0;
}

static int load_one(history_store *s, const history_experiment *e, report_results *r, history_error *err)
{
    memset(r, 0, sizeof *r);
    doc_ctx d = {cJSON_CreateObject(), NULL, NULL, 0};
    if (!d.root)
        return hist_fail(err, 1, s, "out of memory");
    hist_num n;
    const char *id = hist_int(&n, e->id);
    const char *p[2] = {e->metric, id};
    const char *doc_sql = s->schema_version >= 3
                              ? "SELECT e.name, e.status, e.created_utc, e.metric_name, e.metric_unit, "
                                "e.higher_is_better, e.environment_json, m.hostname, m.cpu_model, m.cpus_online, "
                                "m.kernel, e.compiler, e.tb_build, e.tb_version FROM experiments e "
                                "JOIN machines m ON m.id = e.machine_id WHERE e.id = ?"
                              : "SELECT e.name, e.status, e.created_utc, e.metric_name, e.metric_unit, "
                                "e.higher_is_better, NULL, m.hostname, m.cpu_model, m.cpus_online, "
                                "m.kernel, e.compiler, e.tb_build, e.tb_version FROM experiments e "
                                "JOIN machines m ON m.id = e.machine_id WHERE e.id = ?";
    int rc = s->be->exec(s, doc_sql, 1, &id, take_doc, &d, err);
    if (rc == 0) {
        d.vars = cJSON_AddArrayToObject(d.root, "variants");
        d.runs = cJSON_AddArrayToObject(d.root, "runs");
        rc = s->be->exec(s, "SELECT name, engine_kernels, description FROM variants WHERE experiment_id = ? "
                            "ORDER BY name", 1, &id, take_variant, &d, err);
    }
    if (rc == 0)
        rc = s->be->exec(s, "SELECT r.run_index, r.variant, r.warmup, r.ok, r.started_s, r.wall_ms, rm.value, "
                            "r.temp_start_c, r.temp_end_c, r.temp_peak_c, r.power_mean_w, r.energy_j, "
                            "r.energy_per_token_j, r.clock_mean_mhz, r.clock_min_mhz, r.mem_psi_some_us, r.throttle, "
                            "r.session, r.failure FROM runs r LEFT JOIN run_metrics rm ON rm.run_id = r.id "
                            "AND rm.name = ? WHERE r.experiment_id = ? ORDER BY r.run_index, r.id",
                         2, p, take_run, &d, err);
    char *text = rc == 0 && !d.oom ? cJSON_PrintUnformatted(d.root) : NULL;
    cJSON_Delete(d.root);
    if (rc < 0)
        return -1;
    if (!text)
        return hist_fail(err, 1, s, "out of memory");
    char name[600];
    snprintf(name, sizeof name, "%.400s#experiment %lld", s->name, e->id);
    report_error rerr;
    rc = report_results_parse(name, text, strlen(text), r, &rerr);
    free(text);
    return rc < 0 ? hist_fail(err, 2, NULL, "%s", rerr.msg) : 0;
}

int history_load_baseline(history_store *s, const history_filter *f, report_results **out, int *n,
                          history_error *err)
{
    *out = NULL;
    *n = 0;
    exp_rows rows;
    if (select_experiments(s, f, &rows, err) < 0)
        return -1;
    report_results *r = calloc(rows.n ? rows.n : 1, sizeof *r);
    if (!r) {
        free(rows.e);
        return hist_fail(err, 1, s, "out of memory");
    }
    int k = 0;
    for (size_t i = 0; i < rows.n; i++) {
        if (load_one(s, &rows.e[i], &r[k], err) < 0) {
            for (int j = 0; j < k; j++)
                report_results_free(&r[j]);
            free(r);
            free(rows.e);
            return -1;
        }
        k++;
    }
    free(rows.e);
    *out = r;
    *n = k;
    return 0;
}
