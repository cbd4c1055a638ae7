/* Shared by the history tests: results files with known values, a fresh
 * store (a temporary SQLite file, or a new database on the test PostgreSQL
 * server named by the fixture's env file), and direct SQL on it to check
 * what the library wrote. Header-only: tests include it. */
#ifndef TB_HISTORY_UTIL_H
#define TB_HISTORY_UTIL_H

#include <cjson/cJSON.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "history.h"

typedef struct hx_results {
    const char *name, *created_utc, *hostname, *variant;
    int runs;                   /* measured runs (one warm-up run comes first) */
    double mean, cv;
    uint64_t seed;
    double poison;              /* when finite: the last run's metric gets this value */
    double temp_c;
    const char *variant_b;      /* when set: a second variant, runs alternating A B A B ... */
    double mean_b;
} hx_results;

static void hx_defaults(hx_results *r)
{
    memset(r, 0, sizeof *r);
    r->name = "nightly";
    r->created_utc = "2026-11-01T00:00:00Z";
    r->hostname = "host-a";
    r->variant = "A";
    r->runs = 8;
    r->mean = 100;
    r->cv = 0.01;
    r->seed = 1;
    r->poison = NAN;
    r->temp_c = 45;
}

/* Writes dir/results.json; values (may be NULL) gets the measured runs' metric. */
static int hx_write(const char *dir, const hx_results *o, double *values)
{
    mkdir(dir, 0755);
    uint64_t s = o->seed;
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "schema", "thermabench-results");
    cJSON_AddNumberToObject(root, "schema_version", 1);
    cJSON_AddStringToObject(root, "name", o->name);
    cJSON_AddStringToObject(root, "status", "complete");
    cJSON_AddStringToObject(root, "created_utc", o->created_utc);
    cJSON_AddItemToObject(root, "config", cJSON_CreateObject());
    cJSON *env = cJSON_AddObjectToObject(root, "environment");
    cJSON_AddStringToObject(env, "hostname", o->hostname);
    cJSON_AddStringToObject(env, "cpu_model", "History Test CPU");
    cJSON_AddNumberToObject(env, "cpus_online", 4);
    cJSON_AddStringToObject(env, "kernel", "Linux 6.1.0 x86_64");
    cJSON_AddStringToObject(env, "compiler", "GNU 12.2.0");
    cJSON_AddStringToObject(env, "git_commit", "0123456789ab");
    cJSON_AddStringToObject(env, "thermabench_version", "0.1.0");
    cJSON *pm = cJSON_AddObjectToObject(root, "primary_metric");
    cJSON_AddStringToObject(pm, "name", "decode_tokens_per_s");
    cJSON_AddStringToObject(pm, "unit", "tokens/s");
    cJSON_AddBoolToObject(pm, "higher_is_better", 1);
    cJSON *var = cJSON_CreateObject();
    cJSON_AddStringToObject(var, "name", o->variant);
    cJSON *wl = cJSON_AddObjectToObject(var, "workload");
    cJSON_AddNumberToObject(wl, "threads", 2);
    cJSON_AddStringToObject(wl, "preset", "tiny");
    cJSON_AddStringToObject(var, "engine_kernels", "matmul=scalar");
    cJSON *vars = cJSON_AddArrayToObject(root, "variants");
    cJSON_AddItemToArray(vars, var);
    if (o->variant_b) {
        cJSON *vb = cJSON_CreateObject();
        cJSON_AddStringToObject(vb, "name", o->variant_b);
        cJSON_AddItemToArray(vars, vb);
    }
    cJSON *runs = cJSON_AddArrayToObject(root, "runs");
    for (int k = 0; k <= o->runs; k++) {
        int b = o->variant_b && k % 2 == 0 && k > 0;
        double v = (b ? o->mean_b : o->mean) * (1 + o->cv * report_rng_normal(&s));
        if (k == o->runs && isfinite(o->poison))
            v = o->poison;
        if (k > 0 && values)
            values[k - 1] = v;
        cJSON *r = cJSON_CreateObject();
        cJSON_AddNumberToObject(r, "index", k);
        cJSON_AddStringToObject(r, "variant", b ? o->variant_b : o->variant);
        cJSON_AddBoolToObject(r, "warmup", k == 0);
        cJSON_AddStringToObject(r, "status", "ok");
        cJSON_AddNumberToObject(r, "wall_ms", 100);
        cJSON *m = cJSON_AddObjectToObject(r, "metrics");
        cJSON_AddNumberToObject(m, "decode_tokens_per_s", v);
        cJSON_AddNumberToObject(m, "prefill_tokens_per_s", 10 * v);
        cJSON *t = cJSON_AddObjectToObject(r, "telemetry");
        cJSON_AddNumberToObject(t, "temp_start_c", o->temp_c);
        cJSON_AddNullToObject(t, "clock_mean_mhz");
        cJSON_AddStringToObject(t, "throttle", "no");
        cJSON_AddItemToArray(runs, r);
    }
    char path[600];
    snprintf(path, sizeof path, "%s/results.json", dir);
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    FILE *f = fopen(path, "w");
    int rc = f && text && fputs(text, f) >= 0 ? 0 : -1;
    if (f && fclose(f) != 0)
        rc = -1;
    free(text);
    return rc;
}

/* ---- the store under test ---- */
static char hx_tmp[256];
static char hx_spec[1024];
static char hx_admin[1024];     /* PostgreSQL: the fixture's URI (empty: SQLite) */
static char hx_dbname[64];

static int hx_is_pg(void)
{
    return hx_admin[0] != 0;
}

static int hx_pg_admin(const char *sql)
{
    PGconn *c = PQconnectdb(hx_admin);
    int ok = PQstatus(c) == CONNECTION_OK;
    if (ok) {
        PGresult *r = PQexec(c, sql);
        ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!ok)
            fprintf(stderr, "%s: %s", sql, PQresultErrorMessage(r));
        PQclear(r);
    } else {
        fprintf(stderr, "cannot connect to the test server: %s", PQerrorMessage(c));
    }
    PQfinish(c);
    return ok ? 0 : -1;
}

/* argv[1], when given, is the fixture's env file. 0, or -1 (not set up). */
static int hx_setup(int argc, char **argv)
{
    snprintf(hx_tmp, sizeof hx_tmp, "%s/tb-history-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(hx_tmp))
        return -1;
    if (argc < 2) {
        snprintf(hx_spec, sizeof hx_spec, "%s/history.db", hx_tmp);
        return 0;
    }
    FILE *f = fopen(argv[1], "r");
    char line[1024];
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "THERMABENCH_TEST_PG=", 20)) {
            line[strcspn(line, "\n")] = 0;
            snprintf(hx_admin, sizeof hx_admin, "%s", line + 20);
        }
    if (f)
        fclose(f);
    if (!hx_admin[0]) {
        fprintf(stderr, "%s: no THERMABENCH_TEST_PG (did the postgres fixture start?)\n", argv[1]);
        return -1;
    }
    /* A fresh database per test process, on the fixture's server. */
    snprintf(hx_dbname, sizeof hx_dbname, "tbt_%d", (int)getpid());
    char sql[128];
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", hx_dbname);
    if (hx_pg_admin(sql) < 0)
        return -1;
    const char *q = strstr(hx_admin, "/tbtest?");
    if (!q)
        return -1;
    snprintf(hx_spec, sizeof hx_spec, "%.*s/%s%s", (int)(q - hx_admin), hx_admin, hx_dbname, q + 7);
    return 0;
}

static void hx_teardown(void)
{
    if (hx_dbname[0]) {
        char sql[128];
        snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", hx_dbname);
        hx_pg_admin(sql);
    }
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", hx_tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", hx_tmp);
}

/* Runs SQL on the store directly; with `out`, the first column of the first
 * row as a number. 0 or -1. */
static int hx_sql(const char *sql, double *out)
{
    int rc = -1;
    if (hx_is_pg()) {
        PGconn *c = PQconnectdb(hx_spec);
        PGresult *r = PQstatus(c) == CONNECTION_OK ? PQexec(c, sql) : NULL;
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
            rc = 0;
            if (out)
                *out = PQntuples(r) && !PQgetisnull(r, 0, 0) ? strtod(PQgetvalue(r, 0, 0), NULL) : NAN;
        } else {
            fprintf(stderr, "%s: %s", sql, r ? PQresultErrorMessage(r) : PQerrorMessage(c));
        }
        PQclear(r);
        PQfinish(c);
        return rc;
    }
    sqlite3 *db;
    if (sqlite3_open_v2(hx_spec, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK) {
        sqlite3_busy_timeout(db, 30000);
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
            int s = sqlite3_step(st);
            if (s == SQLITE_ROW || s == SQLITE_DONE) {
                rc = 0;
                if (out)
                    *out = s == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL ? sqlite3_column_double(st, 0)
                                                                                       : NAN;
            }
            sqlite3_finalize(st);
        }
        if (rc < 0)
            fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(db));
    }
    sqlite3_close(db);
    return rc;
}

static double hx_count(const char *sql)
{
    double v = NAN;
    hx_sql(sql, &v);
    return v;
}

static int hx_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2), unused));
static int hx_sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

#endif
