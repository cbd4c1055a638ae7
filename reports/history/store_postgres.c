/* The PostgreSQL back end (libpq): the same schema and SQL as SQLite, for a
 * fleet of machines appending to one database. Parameters go as text and
 * the server infers their types from the columns they meet. Rows are read
 * one at a time (single-row mode), so exports of a large history stream. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "history_internal.h"

/* Every migration holds this advisory lock: processes opening a new
 * database at once create the schema once. */
#define PG_MIGRATION_LOCK 0x7468726d62656e63LL     /* "thrmbenc" */

static void quiet_notices(void *arg, const char *message)
{
    (void)arg;
    (void)message;      /* "relation already exists, skipping" and the like */
}

/* The URI without its password, for every message. */
static void redact(const char *uri, char *out, size_t cap)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", uri);
    char *auth = strstr(buf, "://");
    if (auth) {
        auth += 3;
        char *slash = strchr(auth, '/');
        char *at = NULL;
        for (char *p = auth; *p && (!slash || p < slash); p++)
            if (*p == '@')
                at = p;     /* the last '@' before the path ends the user part */
        if (at) {
            char *cut = auth + strcspn(auth, ":?");
            if (cut < at) {
                memmove(cut + 4, at, strlen(at) + 1);
                memcpy(cut, ":***", 4);
            }
        }
    }
    char *pw = strstr(buf, "password=");
    if (pw) {
        pw += 9;
        char *end = strchr(pw, '&');
        memmove(pw + 3, end ? end : pw + strlen(pw), strlen(end ? end : pw + strlen(pw)) + 1);
        memcpy(pw, "***", 3);
    }
    snprintf(out, cap, "%.*s", (int)(cap - 1), buf);
}

/* '?' placeholders to $1, $2, ... (outside quoted literals). */
static char *numbered(const char *sql)
{
    size_t n = 0;
    for (const char *p = sql; *p; p++)
        n += *p == '?';
    char *out = malloc(strlen(sql) + n * 4 + 1), *o = out;
    if (!out)
        return NULL;
    int k = 0, quoted = 0;
    for (const char *p = sql; *p; p++) {
        if (*p == '\'')
            quoted = !quoted;
        if (*p == '?' && !quoted)
            o += sprintf(o, "$%d", ++k);
        else
            *o++ = *p;
    }
    *o = 0;
    return out;
}

static int pg_result_error(history_store *s, const PGresult *res, const char *what, history_error *err)
{
    PGconn *c = s->handle;
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(c);
    char clean[600];
    snprintf(clean, sizeof clean, "%s", msg && msg[0] ? msg : PQerrorMessage(c));
    size_t n = strlen(clean);
    while (n && (clean[n - 1] == '\n' || clean[n - 1] == ' '))
        clean[--n] = 0;
    int code = 1;
    if (state && (!strncmp(state, "28", 2) || !strncmp(state, "3D", 2) || !strncmp(state, "42501", 5)))
        code = 2;       /* authorisation, unknown database, permission: the user's settings */
    return hist_fail(err, code, s, "%s: %s", what, clean);
}

static int pg_exec(history_store *s, const char *sql, int nparams, const char *const *params, hist_row_fn fn,
                   void *ctx, history_error *err)
{
    PGconn *c = s->handle;
    char *q = numbered(sql);
    if (!q)
        return hist_fail(err, 1, s, "out of memory");
    int ok = PQsendQueryParams(c, q, nparams, NULL, params, NULL, NULL, 0);
    free(q);
    if (!ok)
        return pg_result_error(s, NULL, "query", err);
    PQsetSingleRowMode(c);
    int rc = 0, stop = 0;
    PGresult *res;
    while ((res = PQgetResult(c))) {
        ExecStatusType st = PQresultStatus(res);
        if (st == PGRES_SINGLE_TUPLE && fn && !stop && rc == 0) {
            int ncols = PQnfields(res);
            const char *vals[64];
            if (ncols > 64)
                ncols = 64;
            for (int i = 0; i < ncols; i++)
                vals[i] = PQgetisnull(res, 0, i) ? NULL : PQgetvalue(res, 0, i);
            stop = fn(ctx, ncols, vals);
        } else if (st != PGRES_SINGLE_TUPLE && st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK && rc == 0) {
            rc = pg_result_error(s, res, "query", err);
        }
        PQclear(res);
    }
    if (rc == 0 && PQstatus(c) != CONNECTION_OK)
        rc = pg_result_error(s, NULL, "query", err);
    return rc;
}

static int pg_script(history_store *s, const char *sql, history_error *err)
{
    PGresult *res = PQexec(s->handle, sql);
    int rc = 0;
    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
        rc = pg_result_error(s, res, "schema", err);
    PQclear(res);
    return rc;
}

static int pg_begin(history_store *s, int exclusive, history_error *err)
{
    if (pg_script(s, "BEGIN", err) < 0)
        return -1;
    if (!exclusive)
        return 0;
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT pg_advisory_xact_lock(%lld)", PG_MIGRATION_LOCK);
    return pg_script(s, sql, err);
}

static int pg_commit(history_store *s, history_error *err)
{
    return pg_script(s, "COMMIT", err);
}

static void pg_rollback(history_store *s)
{
    if (PQtransactionStatus(s->handle) != PQTRANS_IDLE) {
        PGresult *res = PQexec(s->handle, "ROLLBACK");
        PQclear(res);
    }
}

static int pg_lock(history_store *s, uint64_t key, history_error *err)
{
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT pg_advisory_xact_lock(%lld)", (long long)(key >> 1));
    return pg_script(s, sql, err);
}

static void pg_close(history_store *s)
{
    PQfinish(s->handle);
    s->handle = NULL;
}

static const hist_backend pg_backend = {
    .kind = "postgresql",
    .id_column = "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
    .table_exists_sql = "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() "
                        "AND table_name = ?",
    .exec = pg_exec,
    .script = pg_script,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .lock = pg_lock,
    .close = pg_close,
};

int hist_pg_open(history_store *s, const char *uri, int flags, history_error *err)
{
    redact(uri, s->name, sizeof s->name);
    s->be = &pg_backend;
    /* A server that does not answer fails after 10 s unless the URI says
     * otherwise (later keywords override earlier ones). */
    const char *keys[] = {"connect_timeout", "application_name", "dbname", NULL};
    const char *vals[] = {"10", "thermabench", uri, NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (!c)
        return hist_fail(err, 1, s, "out of memory");
    s->handle = c;
    if (PQstatus(c) != CONNECTION_OK) {
        const char *m = PQerrorMessage(c);
        char clean[600];
        snprintf(clean, sizeof clean, "%s", m);
        size_t n = strlen(clean);
        while (n && (clean[n - 1] == '\n' || clean[n - 1] == ' '))
            clean[--n] = 0;
        /* A server that answered and refused these credentials or this
         * database: the user's input. One that did not answer: the system. */
        int input = strstr(m, "password") || strstr(m, "authentication") || strstr(m, "does not exist") ||
                    strstr(m, "invalid URI") || strstr(m, "invalid connection option") ||
                    strstr(m, "missing \"=\"");
        hist_fail(err, input ? 2 : 1, s, "cannot connect: %s", clean);
        pg_close(s);
        return -1;
    }
    PQsetNoticeProcessor(c, quiet_notices, NULL);
    return 0;
}
