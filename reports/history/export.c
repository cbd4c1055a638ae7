/* history export: the matching experiments with their runs and metrics as
 * one JSON document, or one CSV row per run and metric. Rows are streamed:
 * the whole history never sits in memory, only its tags. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "history_internal.h"

static void json_str(FILE *f, const char *s)
{
    if (!s) {
        fputs("null", f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

/* A number column as JSON: the text the store gave, or null. */
static void json_num(FILE *f, const char *v)
{
    fputs(v && isfinite(strtod(v, NULL)) ? v : "null", f);
}

typedef struct tag_row {
    long long experiment_id;
    char *kv;                   /* "key\0value" */
} tag_row;

typedef struct export_ctx {
    FILE *f;
    history_format fmt;
    long long cur_exp, cur_run;
    int nexp;
    tag_row *tags;
    size_t ntags, cap;
    int oom;
} export_ctx;

static int take_tag(void *ctx, int ncols, const char *const *v)
{
    export_ctx *x = ctx;
    if (x->ntags == x->cap) {
        size_t cap = x->cap ? 2 * x->cap : 256;
        tag_row *nt = realloc(x->tags, cap * sizeof *nt);
        if (!nt)
            return x->oom = 1;
        x->tags = nt;
        x->cap = cap;
    }
    size_t lk = strlen(v[1] ? v[1] : ""), lv = strlen(v[2] ? v[2] : "");
    char *kv = malloc(lk + lv + 2);
    if (!kv)
        return x->oom = 1;
    memcpy(kv, v[1] ? v[1] : "", lk + 1);
    memcpy(kv + lk + 1, v[2] ? v[2] : "", lv + 1);
    x->tags[x->ntags++] = (tag_row){atoll(v[0]), kv};
    return 0;
}

static void json_tags(export_ctx *x, long long id)
{
    size_t lo = 0, hi = x->ntags;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (x->tags[mid].experiment_id < id) lo = mid + 1;
        else hi = mid;
    }
    fputs("\"tags\": {", x->f);
    for (size_t i = lo; i < x->ntags && x->tags[i].experiment_id == id; i++) {
        if (i > lo)
            fputs(", ", x->f);
        json_str(x->f, x->tags[i].kv);
        fputs(": ", x->f);
        json_str(x->f, x->tags[i].kv + strlen(x->tags[i].kv) + 1);
    }
    fputc('}', x->f);
}

/* Columns of the export query. */
enum {
    X_EID, X_CREATED, X_NAME, X_STATUS, X_MACHINE, X_HOST, X_CPU, X_COMMIT, X_BRANCH, X_DIRTY, X_DESCRIBE,
    X_METRIC, X_UNIT, X_HIB, X_CONFIG_HASH, X_TB_VERSION, X_TB_BUILD, X_PATH,
    X_RID, X_VARIANT, X_INDEX, X_WARMUP, X_OK, X_FAILURE, X_WALL, X_TSTART, X_TEND, X_TPEAK, X_POWER, X_ENERGY,
    X_EPT, X_CLOCK, X_CLOCKMIN, X_PSI, X_THROTTLE, X_MNAME, X_MVALUE, X_NCOLS
};

static const char *const run_num_keys[] = {"wall_ms", "temp_start_c", "temp_end_c", "temp_peak_c", "power_mean_w",
                                           "energy_j", "energy_per_token_j", "clock_mean_mhz", "clock_min_mhz",
                                           "mem_psi_some_us"};

static void json_row(export_ctx *x, const char *const *v)
{
    FILE *f = x->f;
    long long eid = atoll(v[X_EID]), rid = v[X_RID] ? atoll(v[X_RID]) : -1;
    if (eid != x->cur_exp) {
        if (x->nexp++)
            fputs(x->cur_run >= 0 ? "}}]},\n" : "]},\n", f);
        x->cur_exp = eid;
        x->cur_run = -1;
        fprintf(f, "{\"id\": %lld, \"created_utc\": ", eid);
        json_str(f, v[X_CREATED]);
        const char *keys[] = {"name", "status", "machine_id", "hostname", "cpu_model", "commit", "branch"};
        for (int k = 0; k < 7; k++) {
            fprintf(f, ", \"%s\": ", keys[k]);
            json_str(f, v[X_NAME + k]);
        }
        fputs(", \"dirty\": ", f);
        fputs(!v[X_DIRTY] ? "null" : atoi(v[X_DIRTY]) ? "true" : "false", f);
        const char *keys2[] = {"describe", "metric", "unit"};
        for (int k = 0; k < 3; k++) {
            fprintf(f, ", \"%s\": ", keys2[k]);
            json_str(f, v[X_DESCRIBE + k]);
        }
        fprintf(f, ", \"higher_is_better\": %s, \"config_hash\": ", v[X_HIB] && !atoi(v[X_HIB]) ? "false" : "true");
        json_str(f, v[X_CONFIG_HASH]);
        fputs(", \"thermabench_version\": ", f);
        json_str(f, v[X_TB_VERSION]);
        fputs(", \"thermabench_build\": ", f);
        json_str(f, v[X_TB_BUILD]);
        fputs(", \"results_path\": ", f);
        json_str(f, v[X_PATH]);
        fputs(", ", f);
        json_tags(x, eid);
        fputs(", \"runs\": [", f);
    }
    if (rid < 0)
        return;
    if (rid != x->cur_run) {
        if (x->cur_run >= 0)
            fputs("}}, ", f);
        x->cur_run = rid;
        fputs("{\"variant\": ", f);
        json_str(f, v[X_VARIANT]);
        fprintf(f, ", \"index\": %s, \"warmup\": %s, \"status\": \"%s\", \"failure\": ", v[X_INDEX] ? v[X_INDEX] : "null",
                v[X_WARMUP] && atoi(v[X_WARMUP]) ? "true" : "false", v[X_OK] && atoi(v[X_OK]) ? "ok" : "failed");
        json_str(f, v[X_FAILURE]);
        for (int k = 0; k < 10; k++) {
            fprintf(f, ", \"%s\": ", run_num_keys[k]);
            json_num(f, v[X_WALL + k]);
        }
        fputs(", \"throttle\": ", f);
        json_str(f, v[X_THROTTLE]);
        fputs(", \"metrics\": {", f);
        if (v[X_MNAME]) {
            json_str(f, v[X_MNAME]);
            fputs(": ", f);
            json_num(f, v[X_MVALUE]);
        }
        return;
    }
    fputs(", ", f);
    json_str(f, v[X_MNAME]);
    fputs(": ", f);
    json_num(f, v[X_MVALUE]);
}

static void csv_row(export_ctx *x, const char *const *v)
{
    if (!v[X_RID])
        return;
    /* Text columns quoted (and guarded against spreadsheet formulas); numbers as the store gave them. */
    const int cols[] = {X_EID, X_CREATED, X_NAME, X_MACHINE, X_HOST, X_COMMIT, X_BRANCH, X_VARIANT, X_INDEX,
                        X_WARMUP, X_OK, X_MNAME, X_MVALUE, X_TSTART, X_TPEAK, X_POWER, X_CLOCK, X_THROTTLE};
    const char *text = "nttttttt" "nnn" "tn" "nnnn" "t";    /* per column: t text, n number */
    for (size_t k = 0; k < sizeof cols / sizeof cols[0]; k++) {
        if (k)
            fputc(',', x->f);
        const char *val = v[cols[k]];
        if (val && text[k] == 't')
            report_put_escaped(x->f, REPORT_ESC_CSV, val);
        else if (val)
            fputs(val, x->f);
    }
    fputc('\n', x->f);
}

static int take_row(void *ctx, int ncols, const char *const *v)
{
    export_ctx *x = ctx;
    if (ncols < X_NCOLS)
        return 1;
    if (x->fmt == HISTORY_FORMAT_JSON)
        json_row(x, v);
    else
        csv_row(x, v);
    return 0;
}

int history_export(history_store *s, const history_filter *f, history_format fmt, FILE *out, history_error *err)
{
    export_ctx x = {.f = out, .fmt = fmt, .cur_exp = -1, .cur_run = -1};
    /* Tags first (a second query cannot run while PostgreSQL streams rows). */
    hist_sql t = {0}, q = {0};
    hist_sql_add(&t, "SELECT t.experiment_id, t.key, t.value FROM tags t JOIN experiments e ON e.id = t.experiment_id");
    hist_sql_where(&t, f);
    hist_sql_add(&t, " ORDER BY t.experiment_id, t.key");
    hist_sql_add(&q, "SELECT e.id, e.created_utc, e.name, e.status, m.machine_key, m.hostname, m.cpu_model, "
                    "e.git_commit, e.git_branch, e.git_dirty, e.git_describe, e.metric_name, e.metric_unit, "
                    "e.higher_is_better, e.config_hash, e.tb_version, e.tb_build, e.results_path, r.id, r.variant, "
                    "r.run_index, r.warmup, r.ok, r.failure, r.wall_ms, r.temp_start_c, r.temp_end_c, "
                    "r.temp_peak_c, r.power_mean_w, r.energy_j, r.energy_per_token_j, r.clock_mean_mhz, "
                    "r.clock_min_mhz, r.mem_psi_some_us, r.throttle, rm.name, rm.value "
                    "FROM experiments e JOIN machines m ON m.id = e.machine_id "
                    "LEFT JOIN runs r ON r.experiment_id = e.id LEFT JOIN run_metrics rm ON rm.run_id = r.id");
    hist_sql_where(&q, f);
    hist_sql_add(&q, " ORDER BY e.id, r.run_index, r.id, rm.name");
    int rc = 0;
    const char *tsql = hist_sql_text(&t), *qsql = hist_sql_text(&q);
    if (!tsql || !qsql)
        rc = hist_fail(err, 1, s, "out of memory");
    if (rc == 0 && fmt == HISTORY_FORMAT_JSON)
        rc = s->be->exec(s, tsql, t.np, t.params, take_tag, &x, err);
    if (rc == 0 && x.oom)
        rc = hist_fail(err, 1, s, "out of memory");
    if (rc == 0) {
        if (fmt == HISTORY_FORMAT_JSON)
            fputs("{\"schema\": \"thermabench-history-export\", \"schema_version\": 1, \"experiments\": [\n", out);
        else
            fputs("experiment_id,created_utc,config,machine_id,hostname,commit,branch,variant,run_index,warmup,ok,"
                  "metric,value,temp_start_c,temp_peak_c,power_mean_w,clock_mean_mhz,throttle\n", out);
        rc = s->be->exec(s, qsql, q.np, q.params, take_row, &x, err);
        if (fmt == HISTORY_FORMAT_JSON)
            fputs(!x.nexp ? "]}\n" : x.cur_run >= 0 ? "}}]}\n]}\n" : "]}\n]}\n", out);
    }
    hist_sql_free(&t);
    hist_sql_free(&q);
    for (size_t i = 0; i < x.ntags; i++)
        free(x.tags[i].kv);
    free(x.tags);
    if (rc == 0 && (fflush(out) != 0 || ferror(out)))
        rc = hist_fail(err, 1, NULL, "export: write error");
    return rc;
}
