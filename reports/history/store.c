/* Opening a store, the schema and its migrations, and the helpers the rest
 * of the folder shares. Back-end specific code is in store_sqlite.c and
 * store_postgres.c; everything above them writes one SQL for both. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "history_internal.h"

int hist_fail(history_error *err, int exit_code, const history_store *s, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (err) {
        if (s && s->name[0])
            snprintf(err->msg, sizeof err->msg, "history store %.400s: %.600s", s->name, msg);
        else
            snprintf(err->msg, sizeof err->msg, "%s", msg);
        err->exit_code = exit_code;
    }
    return -1;
}

const char *hist_dbl(hist_num *b, double v)
{
    if (!isfinite(v))
        return NULL;
    snprintf(b->s, sizeof b->s, "%.17g", v);
    return b->s;
}

const char *hist_int(hist_num *b, long long v)
{
    snprintf(b->s, sizeof b->s, "%lld", v);
    return b->s;
}

uint64_t hist_fnv1a(uint64_t h, const char *s)
{
    for (; s && *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    h ^= 0x1f;     /* field separator: ("ab","c") and ("a","bc") differ */
    h *= 0x100000001b3ULL;
    return h;
}

long long hist_parse_utc(const char *text)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    int n = 0;
    if (!text || sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                        &tm.tm_min, &tm.tm_sec, &n) != 6)
        return -1;
    if (text[n] != 'Z' && text[n] != 0)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (long long)timegm(&tm);
}

typedef struct first_value {
    char *buf;
    size_t cap;
    int found;
} first_value;

static int take_first(void *ctx, int ncols, const char *const *vals)
{
    first_value *fv = ctx;
    if (ncols > 0 && vals[0]) {
        snprintf(fv->buf, fv->cap, "%s", vals[0]);
        fv->found = 1;
    }
    return 1;
}

int hist_query_text(history_store *s, const char *sql, int nparams, const char *const *params, char *buf,
                    size_t cap, int *found, history_error *err)
{
    first_value fv = {buf, cap, 0};
    buf[0] = 0;
    int rc = s->be->exec(s, sql, nparams, params, take_first, &fv, err);
    if (found)
        *found = fv.found;
    return rc;
}

/* ---- schema ----
 * Migration k brings a store from version k - 1 to version k. Never edit a
 * released migration: add the next one and raise HISTORY_SCHEMA_VERSION.
 * "@ID@" is the back end's auto-numbered primary key type. Booleans are
 * INTEGER 0/1 and times are UTC seconds (BIGINT) in both back ends. */
static const char *const migrations[HISTORY_SCHEMA_VERSION + 1] = {
    NULL,
    /* 1: experiments, runs, metrics, telemetry summaries, environment */
    "CREATE TABLE machines ("
    " id @ID@, machine_key TEXT NOT NULL UNIQUE, hostname TEXT, cpu_model TEXT, cpus_online BIGINT,"
    " kernel TEXT, mem_total_bytes DOUBLE PRECISION, gpu TEXT, gpu_driver TEXT);"
    "CREATE TABLE experiments ("
    " id @ID@, uid TEXT NOT NULL UNIQUE, name TEXT NOT NULL, status TEXT,"
    " created_utc TEXT, created_unix BIGINT NOT NULL, machine_id BIGINT NOT NULL REFERENCES machines(id),"
    " metric_name TEXT, metric_unit TEXT, higher_is_better INTEGER,"
    " git_commit TEXT, git_branch TEXT, git_dirty INTEGER, git_describe TEXT,"
    " config_hash TEXT, config_json TEXT, tb_version TEXT, tb_build TEXT, compiler TEXT,"
    " results_path TEXT, appended_unix BIGINT);"
    "CREATE INDEX experiments_series ON experiments(name, machine_id, created_unix);"
    "CREATE INDEX experiments_time ON experiments(created_unix);"
    "CREATE TABLE tags ("
    " experiment_id BIGINT NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,"
    " key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (experiment_id, key));"
    "CREATE INDEX tags_value ON tags(key, value, experiment_id);"
    "CREATE TABLE variants ("
    " experiment_id BIGINT NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,"
    " name TEXT NOT NULL, engine_kernels TEXT, description TEXT, PRIMARY KEY (experiment_id, name));"
    "CREATE TABLE runs ("
    " id @ID@, experiment_id BIGINT NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,"
    " variant TEXT NOT NULL, run_index BIGINT, session BIGINT, warmup INTEGER, ok INTEGER, failure TEXT,"
    " started_s DOUBLE PRECISION, wall_ms DOUBLE PRECISION, temp_start_c DOUBLE PRECISION,"
    " temp_end_c DOUBLE PRECISION, temp_peak_c DOUBLE PRECISION, power_mean_w DOUBLE PRECISION,"
    " energy_j DOUBLE PRECISION, energy_per_token_j DOUBLE PRECISION, clock_mean_mhz DOUBLE PRECISION,"
    " clock_min_mhz DOUBLE PRECISION, mem_psi_some_us DOUBLE PRECISION, throttle TEXT);"
    "CREATE INDEX runs_experiment ON runs(experiment_id);"
    "CREATE TABLE run_metrics ("
    " run_id BIGINT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    " name TEXT NOT NULL, value DOUBLE PRECISION, PRIMARY KEY (run_id, name));",
    /* 2: verdicts recorded with an experiment */
    "CREATE TABLE verdicts ("
    " experiment_id BIGINT NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,"
    " kind TEXT NOT NULL, subject TEXT NOT NULL, verdict TEXT NOT NULL, detail TEXT,"
    " PRIMARY KEY (experiment_id, kind, subject));",
    /* 3: the environment as recorded (unknown for experiments appended before) */
    "ALTER TABLE experiments ADD COLUMN environment_json TEXT;",
};

/* The migration text with @ID@ replaced for the back end (malloc'd). */
static char *ddl_for(const history_store *s, const char *sql)
{
    const char *tok = "@ID@", *id = s->be->id_column;
    size_t n = 0, lt = strlen(tok), li = strlen(id);
    for (const char *p = sql; (p = strstr(p, tok)); p += lt)
        n++;
    char *out = malloc(strlen(sql) + n * li + 1), *o = out;
    if (!out)
        return NULL;
    for (const char *p = sql;;) {
        const char *q = strstr(p, tok);
        size_t k = q ? (size_t)(q - p) : strlen(p);
        memcpy(o, p, k);
        o += k;
        if (!q)
            break;
        memcpy(o, id, li);
        o += li;
        p = q + lt;
    }
    *o = 0;
    return out;
}

/* 1 when the table exists, 0 when not, -1 on error. */
static int has_table(history_store *s, const char *table, history_error *err)
{
    char buf[8];
    int found;
    const char *p[1] = {table};
    if (hist_query_text(s, s->be->table_exists_sql, 1, p, buf, sizeof buf, &found, err) < 0)
        return -1;
    return found;
}

static int read_version(history_store *s, int *version, history_error *err)
{
    int has = has_table(s, "meta", err);
    if (has < 0)
        return -1;
    *version = 0;
    if (!has)
        return 0;
    char buf[32];
    int found;
    if (hist_query_text(s, "SELECT value FROM meta WHERE key = 'schema_version'", 0, NULL, buf, sizeof buf, &found,
                        err) < 0)
        return -1;
    if (!found)
        return 0;       /* meta without a version: a store being created */
    char *end;
    long v = strtol(buf, &end, 10);
    if (end == buf || *end || v < 1)
        return hist_fail(err, 2, s, "meta.schema_version: expected a positive integer, found '%s'", buf);
    *version = (int)v;
    return 0;
}

static int check_not_foreign(history_store *s, history_error *err)
{
    /* A store without meta must be empty of our tables: anything else was
     * not made by thermabench (or lost its meta table). */
    int has = has_table(s, "experiments", err);
    if (has < 0)
        return -1;
    if (has)
        return hist_fail(err, 2, s, "has an 'experiments' table but no schema version: not a thermabench history "
                                    "store");
    return 0;
}

/* Brings the schema to `target`, under the writers' lock so that several
 * processes opening a new store at once create it once. */
static int migrate(history_store *s, int target, int flags, history_error *err)
{
    int v;
    if (read_version(s, &v, err) < 0)
        return -1;
    if (v > HISTORY_SCHEMA_VERSION)
        return hist_fail(err, 2, s,
                         "schema version %d is newer than this thermabench reads (%d): use a newer thermabench "
                         "or another store", v, HISTORY_SCHEMA_VERSION);
    if (v >= target) {
        s->schema_version = v;
        return 0;
    }
    if (v == 0 && !(flags & HISTORY_OPEN_CREATE))
        return hist_fail(err, 2, s, "no thermabench history here (nothing was ever appended)");
    if (s->be->begin(s, 1, err) < 0)
        return -1;
    if (s->be->script(s, "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)", err) < 0 ||
        read_version(s, &v, err) < 0)
        goto fail;
    if (v == 0 && check_not_foreign(s, err) < 0)
        goto fail;
    for (int k = v + 1; k <= target; k++) {
        char *ddl = ddl_for(s, migrations[k]);
        if (!ddl) {
            hist_fail(err, 1, s, "out of memory");
            goto fail;
        }
        int rc = s->be->script(s, ddl, err);
        free(ddl);
        if (rc < 0)
            goto fail;
    }
    if (v < target) {
        hist_num b;
        const char *p[1] = {hist_int(&b, target)};
        if (s->be->exec(s, v == 0 ? "INSERT INTO meta (key, value) VALUES ('schema_version', ?)"
                                  : "UPDATE meta SET value = ? WHERE key = 'schema_version'",
                        1, p, NULL, NULL, err) < 0)
            goto fail;
        v = target;
    }
    if (s->be->commit(s, err) < 0)
        goto fail;
    s->schema_version = v;
    return 0;
fail:
    s->be->rollback(s);
    return -1;
}

static int is_uri(const char *spec)
{
    return !strncmp(spec, "postgresql://", 13) || !strncmp(spec, "postgres://", 11);
}

history_store *history_open_version(const char *spec, int flags, int schema_version, history_error *err)
{
    if (!spec || !spec[0]) {
        hist_fail(err, 2, NULL, "history store: empty path");
        return NULL;
    }
    if (schema_version < 1 || schema_version > HISTORY_SCHEMA_VERSION) {
        hist_fail(err, 2, NULL, "history store %s: schema version %d is not one this build can write", spec,
                  schema_version);
        return NULL;
    }
    history_store *s = calloc(1, sizeof *s);
    if (!s) {
        hist_fail(err, 1, NULL, "history store %s: out of memory", spec);
        return NULL;
    }
    int rc = is_uri(spec) ? hist_pg_open(s, spec, flags, err) : hist_sqlite_open(s, spec, flags, err);
    if (rc < 0) {
        free(s);
        return NULL;
    }
    if (migrate(s, schema_version, flags, err) < 0) {
        history_close(s);
        return NULL;
    }
    return s;
}

history_store *history_open(const char *spec, int flags, history_error *err)
{
    return history_open_version(spec, flags, HISTORY_SCHEMA_VERSION, err);
}

void history_close(history_store *s)
{
    if (!s)
        return;
    if (s->be && s->handle)
        s->be->close(s);
    free(s);
}

const char *history_store_name(const history_store *s)
{
    return s->name;
}

const char *history_store_kind(const history_store *s)
{
    return s->be->kind;
}

int history_store_schema_version(const history_store *s)
{
    return s->schema_version;
}

const char *history_default_spec(char *buf, size_t cap)
{
    const char *env = getenv("THERMABENCH_HISTORY");
    if (env && env[0]) {
        snprintf(buf, cap, "%s", env);
        return buf;
    }
    const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
    if (xdg && xdg[0] == '/')
        snprintf(buf, cap, "%s/thermabench/history.db", xdg);
    else if (home && home[0])
        snprintf(buf, cap, "%s/.local/share/thermabench/history.db", home);
    else
        return NULL;
    return buf;
}

int history_prepare_path(const char *spec, history_error *err)
{
    if (is_uri(spec))
        return 0;
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", spec);
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
            return hist_fail(err, 1, NULL, "history store %s: cannot create directory %s: %s", spec, dir,
                             strerror(errno));
        *p = '/';
    }
    return 0;
}
