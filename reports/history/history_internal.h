/* Inside reports/history/: the storage interface the two back ends
 * implement, and helpers shared by the files of this folder. */
#ifndef THERMABENCH_HISTORY_INTERNAL_H
#define THERMABENCH_HISTORY_INTERNAL_H

#include <stdarg.h>

#include "history.h"
#include <stdio.h>

/* One result row: ncols values as text, NULL for SQL NULL. Return non-zero
 * to stop reading rows (the statement still succeeds). */
typedef int (*hist_row_fn)(void *ctx, int ncols, const char *const *vals);

/* A back end runs SQL written once for both: '?' placeholders (rewritten to
 * $1, $2, ... for PostgreSQL), parameters and results as text, NULL for SQL
 * NULL. Every function returns 0 or -1 with err set (the store's name, what
 * failed, and the exit code: 2 for the user's input, 1 for the system). */
typedef struct hist_backend {
    const char *kind;                   /* "sqlite" | "postgresql" */
    /* DDL text for an auto-numbered primary key column type. */
    const char *id_column;
    int (*exec)(history_store *s, const char *sql, int nparams, const char *const *params, hist_row_fn fn,
                void *ctx, history_error *err);
    /* Several statements, no parameters, no results (migrations). */
    int (*script)(history_store *s, const char *sql, history_error *err);
    /* A write transaction that serialises with other writers from the start
     * (SQLite: BEGIN IMMEDIATE; PostgreSQL: BEGIN and a transaction-scoped
     * advisory lock when `exclusive`, for migrations). */
    int (*begin)(history_store *s, int exclusive, history_error *err);
    int (*commit)(history_store *s, history_error *err);
    void (*rollback)(history_store *s);
    /* Inside a write transaction: waits for other writers holding the same
     * key until this transaction ends (SQLite's BEGIN IMMEDIATE already
     * serialises all writers: a no-op there). */
    int (*lock)(history_store *s, uint64_t key, history_error *err);
    /* A query with one parameter, a table name, that returns a row when
     * the table exists. */
    const char *table_exists_sql;
    void (*close)(history_store *s);
} hist_backend;

struct history_store {
    const hist_backend *be;
    void *handle;                       /* sqlite3 * or PGconn * */
    char name[512];                     /* path or URI without its password: for messages */
    int schema_version;
};

/* Back ends: fill s (be, handle, name) or set err. */
int hist_sqlite_open(history_store *s, const char *path, int flags, history_error *err);
int hist_pg_open(history_store *s, const char *uri, int flags, history_error *err);

/* Formats "STORE: message" into err with the exit code; returns -1. */
int hist_fail(history_error *err, int exit_code, const history_store *s, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* One value from a single-row query (first column of the first row) into
 * buf; *found is 0 when there was no row or it was NULL. */
int hist_query_text(history_store *s, const char *sql, int nparams, const char *const *params, char *buf,
                    size_t cap, int *found, history_error *err);

/* Numbers as SQL parameters: "%.17g" (NULL pointer for NAN) or "%lld". */
typedef struct hist_num {
    char s[40];
} hist_num;
const char *hist_dbl(hist_num *b, double v);
const char *hist_int(hist_num *b, long long v);

/* A query under construction: text and its parameters. */
typedef struct hist_sql {
    FILE *f;                    /* open_memstream, opened by the first hist_sql_add */
    char *text;
    size_t len;
    int bad;                    /* out of memory or too many parameters */
    const char *params[48];
    int np;
    hist_num nums[4];
    int nn;
} hist_sql;
void hist_sql_add(hist_sql *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The finished text (NULL when q->bad); hist_sql_free releases it. */
const char *hist_sql_text(hist_sql *q);
void hist_sql_free(hist_sql *q);
/* Appends " WHERE ..." with the filter's conditions on experiments alias e
 * (config, machine, tags, time range, the last N; not metric or variant). */
void hist_sql_where(hist_sql *q, const history_filter *f);

uint64_t hist_fnv1a(uint64_t h, const char *s);
#define HIST_FNV_INIT 0xcbf29ce484222325ULL

/* Parses "2026-11-25T08:00:00Z" as UTC seconds; -1 when it is not that. */
long long hist_parse_utc(const char *text);

#endif
