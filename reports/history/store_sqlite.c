/* The SQLite back end: one file, WAL so readers never wait for a writer, a
 * busy timeout so concurrent writers queue instead of failing, and writes in
 * BEGIN IMMEDIATE transactions (the write lock is taken at BEGIN, so two
 * writers never deadlock upgrading a read lock). */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "history_internal.h"

/* Writers wait this long for each other: a whole experiment is a handful of
 * milliseconds of writing, so a long wait means something is stuck. */
#define SQLITE_BUSY_TIMEOUT_MS 60000

static int sqlite_error(history_store *s, int rc, const char *what, history_error *err)
{
    sqlite3 *db = s->handle;
    int prim = rc & 0xff;
    const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    if (prim == SQLITE_NOTADB || prim == SQLITE_CORRUPT)
        return hist_fail(err, 2, s, "%s: not a usable SQLite database (%s): the file is damaged or is not a "
                                    "thermabench history store", what, msg);
    if (prim == SQLITE_BUSY || prim == SQLITE_LOCKED)
        return hist_fail(err, 1, s, "%s: still locked by another writer after %d s (%s)", what,
                         SQLITE_BUSY_TIMEOUT_MS / 1000, msg);
    return hist_fail(err, 1, s, "%s: %s", what, msg);
}

static int sq_exec(history_store *s, const char *sql, int nparams, const char *const *params, hist_row_fn fn,
                   void *ctx, history_error *err)
{
    sqlite3 *db = s->handle;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return sqlite_error(s, rc, "query", err);
    for (int i = 0; i < nparams; i++) {
        rc = params[i] ? sqlite3_bind_text(st, i + 1, params[i], -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i + 1);
        if (rc != SQLITE_OK) {
            sqlite3_finalize(st);
            return sqlite_error(s, rc, "query", err);
        }
    }
    int ncols = sqlite3_column_count(st), stop = 0;
    const char *vals[64];
    if (ncols > 64)
        ncols = 64;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (!fn || stop)
            continue;
        for (int c = 0; c < ncols; c++)
            vals[c] = (const char *)sqlite3_column_text(st, c);
        stop = fn(ctx, ncols, vals);
        if (stop)
            break;
    }
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        int e = sqlite_error(s, rc, "query", err);
        sqlite3_finalize(st);
        return e;
    }
    sqlite3_finalize(st);
    return 0;
}

static int sq_script(history_store *s, const char *sql, history_error *err)
{
    int rc = sqlite3_exec(s->handle, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : sqlite_error(s, rc, "schema", err);
}

static int sq_begin(history_store *s, int exclusive, history_error *err)
{
    int rc = sqlite3_exec(s->handle, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : sqlite_error(s, rc, "begin a write", err);
}

static int sq_commit(history_store *s, history_error *err)
{
    int rc = sqlite3_exec(s->handle, "COMMIT", NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : sqlite_error(s, rc, "commit", err);
}

static void sq_rollback(history_store *s)
{
    if (!sqlite3_get_autocommit(s->handle))
        sqlite3_exec(s->handle, "ROLLBACK", NULL, NULL, NULL);
}

static int sq_lock(history_store *s, uint64_t key, history_error *err)
{
    return 0;
}

static void sq_close(history_store *s)
{
    sqlite3_close(s->handle);
    s->handle = NULL;
}

static const hist_backend sqlite_backend = {
    .kind = "sqlite",
    .id_column = "INTEGER PRIMARY KEY",
    .table_exists_sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
    .exec = sq_exec,
    .script = sq_script,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .lock = sq_lock,
    .close = sq_close,
};

int hist_sqlite_open(history_store *s, const char *path, int flags, history_error *err)
{
    snprintf(s->name, sizeof s->name, "%s", path);
    s->be = &sqlite_backend;
    struct stat st;
    if (stat(path, &st) < 0) {
        if (errno != ENOENT || !(flags & HISTORY_OPEN_CREATE))
            return hist_fail(err, errno == ENOENT ? 2 : 1, s, "cannot open: %s", strerror(errno));
    } else if (!S_ISREG(st.st_mode)) {
        return hist_fail(err, 2, s, "not a regular file");
    }
    sqlite3 *db = NULL;
    int oflags = SQLITE_OPEN_READWRITE | (flags & HISTORY_OPEN_CREATE ? SQLITE_OPEN_CREATE : 0);
    int rc = sqlite3_open_v2(path, &db, oflags, NULL);
    s->handle = db;
    if (rc != SQLITE_OK) {
        sqlite_error(s, rc, "open", err);
        sqlite3_close(db);
        s->handle = NULL;
        return -1;
    }
    sqlite3_busy_timeout(db, SQLITE_BUSY_TIMEOUT_MS);
    /* The first statement reads the header: a file that is not SQLite fails here. */
    sqlite3_stmt *q = NULL;
    rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &q, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(q);
        rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
    }
    sqlite3_finalize(q);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        sqlite_error(s, rc, "open", err);
        sq_close(s);
        return -1;
    }
    return 0;
}
