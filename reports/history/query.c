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

/* variant_config as report_results_load writes it, for the gate's checks. */
static void variant_config(const char *kernels, const char *workload_json, char *out, size_t cap)
{
    cJSON *w = workload_json ? cJSON_Parse(workload_json) : NULL;
    const cJSON *th = cJSON_GetObjectItemCaseSensitive(w, "threads");
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(w, "model");
    if (!cJSON_IsString(model))
        model = cJSON_GetObjectItemCaseSensitive(w, "preset");
    char threads[16] = "?";
    if (cJSON_IsNumber(th))
        snprintf(threads, sizeof threads, "%.0f", th->valuedouble);
    snprintf(out, cap, "kernels=%s threads=%s model=%s", kernels ? kernels : "?", threads,
             cJSON_IsString(model) ? model->valuestring : "?");
    cJSON_Delete(w);
}

typedef struct baseline_ctx {
    report_results *r;
    int oom;
} baseline_ctx;

static int take_env(void *ctx, int ncols, const char *const *v)
{
    report_results *r = ((baseline_ctx *)ctx)->r;
    cpy(r->cpu_model, sizeof r->cpu_model, v[0]);
    cpy(r->kernel, sizeof r->kernel, v[1]);
    r->cpus_online = v[2] ? atoi(v[2]) : -1;
    cpy(r->compiler, sizeof r->compiler, v[3]);
    cpy(r->git_commit, sizeof r->git_commit, v[4]);
    cpy(r->status, sizeof r->status, v[5]);
    r->higher_is_better = !v[6] || atoi(v[6]) != 0;
    /* The environment as recorded, where readers of a results file look for it. */
    cJSON *env = v[7] ? cJSON_Parse(v[7]) : NULL;
    if (env) {
        cJSON *doc = cJSON_CreateObject();
        if (doc)
            cJSON_AddItemToObject(doc, "environment", env);
        else
            cJSON_Delete(env);
        r->json = doc;
    }
    return 1;
}

static int take_variant(void *ctx, int ncols, const char *const *v)
{
    report_results *r = ((baseline_ctx *)ctx)->r;
    if (r->nvariants >= REPORT_MAX_VARIANTS)
        return 1;
    int i = r->nvariants++;
    cpy(r->variants[i], sizeof r->variants[i], v[0]);
    variant_config(v[1], v[2], r->variant_config[i], sizeof r->variant_config[i]);
    return 0;
}

static int take_run(void *ctx, int ncols, const char *const *v)
{
    baseline_ctx *b = ctx;
    report_results *r = b->r;
    report_run *nr = realloc(r->runs, ((size_t)r->nruns + 1) * sizeof *nr);
    if (!nr)
        return b->oom = 1;
    r->runs = nr;
    report_run *u = &r->runs[r->nruns++];
    memset(u, 0, sizeof *u);
    u->index = v[0] ? atoi(v[0]) : r->nruns - 1;
    cpy(u->variant, sizeof u->variant, v[1]);
    u->warmup = v[2] && atoi(v[2]);
    u->ok = v[3] && atoi(v[3]);
    u->started_s = dnum(v[4]);
    u->wall_ms = dnum(v[5]);
    u->metric = dnum(v[6]);
    if (u->ok && !isfinite(u->metric))
        u->ok = false;
    double *t[] = {&u->temp_start_c, &u->temp_end_c, &u->temp_peak_c, &u->power_mean_w, &u->energy_j,
                   &u->energy_per_token_j, &u->clock_mean_mhz, &u->clock_min_mhz, &u->mem_psi_some_us};
    for (int k = 0; k < 9; k++)
        *t[k] = dnum(v[7 + k]);
    cpy(u->throttle, sizeof u->throttle, v[16] ? v[16] : "unknown");
    return 0;
}

static int load_one(history_store *s, const history_experiment *e, report_results *r, history_error *err)
{
    memset(r, 0, sizeof *r);
    snprintf(r->path, sizeof r->path, "%.400s#experiment %lld", s->name, e->id);
    cpy(r->name, sizeof r->name, e->name);
    cpy(r->metric_name, sizeof r->metric_name, e->metric);
    cpy(r->metric_unit, sizeof r->metric_unit, e->unit);
    baseline_ctx b = {r, 0};
    hist_num n;
    const char *p[2] = {hist_int(&n, e->id), e->metric};
    const char *env_sql = s->schema_version >= 3
                              ? "SELECT m.cpu_model, m.kernel, m.cpus_online, e.compiler, e.tb_build, e.status, "
                                "e.higher_is_better, e.environment_json FROM experiments e "
                                "JOIN machines m ON m.id = e.machine_id WHERE e.id = ?"
                              : "SELECT m.cpu_model, m.kernel, m.cpus_online, e.compiler, e.tb_build, e.status, "
                                "e.higher_is_better, NULL FROM experiments e "
                                "JOIN machines m ON m.id = e.machine_id WHERE e.id = ?";
    if (s->be->exec(s, env_sql, 1, p, take_env, &b, err) < 0 ||
        s->be->exec(s, "SELECT name, engine_kernels, description FROM variants WHERE experiment_id = ? "
                       "ORDER BY name", 1, p, take_variant, &b, err) < 0 ||
        s->be->exec(s, "SELECT r.run_index, r.variant, r.warmup, r.ok, r.started_s, r.wall_ms, rm.value, "
                       "r.temp_start_c, r.temp_end_c, r.temp_peak_c, r.power_mean_w, r.energy_j, "
                       "r.energy_per_token_j, r.clock_mean_mhz, r.clock_min_mhz, r.mem_psi_some_us, r.throttle "
                       "FROM runs r LEFT JOIN run_metrics rm ON rm.run_id = r.id AND rm.name = ? "
                       "WHERE r.experiment_id = ? ORDER BY r.run_index, r.id",
                    2, (const char *[]){e->metric, p[0]}, take_run, &b, err) < 0) {
        report_results_free(r);
        return -1;
    }
    if (b.oom) {
        report_results_free(r);
        return hist_fail(err, 1, s, "out of memory");
    }
    return 0;
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

int history_pool_baseline(const report_results *sets, int n, report_results *out, char *why, size_t why_len)
{
    memset(out, 0, sizeof *out);
    if (n < 1) {
        snprintf(why, why_len, "no experiments");
        return -1;
    }
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        if (strcmp(sets[i].metric_name, sets[0].metric_name)) {
            snprintf(why, why_len, "the experiments' primary metrics differ ('%s' and '%s')", sets[0].metric_name,
                     sets[i].metric_name);
            return -1;
        }
        total += (size_t)sets[i].nruns;
    }
    *out = sets[n - 1];
    out->json = NULL;
    out->nruns = 0;
    out->nvariants = 0;
    out->runs = calloc(total ? total : 1, sizeof *out->runs);
    if (!out->runs) {
        snprintf(why, why_len, "out of memory");
        return -1;
    }
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < sets[i].nvariants; k++) {
            int known = 0;
            for (int j = 0; j < out->nvariants && !known; j++)
                known = !strcmp(out->variants[j], sets[i].variants[k]);
            if (!known && out->nvariants < REPORT_MAX_VARIANTS) {
                memcpy(out->variants[out->nvariants], sets[i].variants[k], sizeof out->variants[0]);
                memcpy(out->variant_config[out->nvariants++], sets[i].variant_config[k], sizeof out->variant_config[0]);
            }
        }
        for (int k = 0; k < sets[i].nruns; k++) {
            out->runs[out->nruns] = sets[i].runs[k];
            out->runs[out->nruns].index = out->nruns;
            out->nruns++;
        }
    }
    snprintf(out->path, sizeof out->path, "%.400s (and %d more)", sets[n - 1].path, n - 1);
    return 0;
}
