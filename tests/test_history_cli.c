/* thermabench history end to end, on SQLite (no argument) or the test
 * PostgreSQL server (argument: the fixture's env file): 8 processes
 * appending at once into a store none of them found (each run present
 * exactly once), import/list/show/changes/trend/export with their exit
 * codes, names that would break HTML or gnuplot, and bad input. */
#include <math.h>

#include "tb_test.h"
#include "test_history_util.h"

static char out[600];

static int contains(const char *path, const char *needle)
{
    char *t = tb_read_all(path, NULL);
    int r = t && strstr(t, needle) != NULL;
    free(t);
    return r;
}

static int count_lines(const char *path)
{
    char *t = tb_read_all(path, NULL);
    int n = 0;
    for (char *p = t; p && *p; p++)
        n += *p == '\n';
    free(t);
    return n;
}

#define TB(fmt, ...) hx_sh("%s history " fmt " >%s 2>&1", TB_BINARY, __VA_ARGS__, out)

/* 8 writers, 4 experiments each, all started together on a new store. */
static void test_concurrent_writers(void)
{
    for (int w = 0; w < 8; w++)
        for (int k = 0; k < 4; k++) {
            char dir[400], created[32];
            snprintf(dir, sizeof dir, "%s/w%d-%d", hx_tmp, w, k);
            snprintf(created, sizeof created, "2026-10-%02dT%02d:00:00Z", 1 + k, w);
            hx_results o;
            hx_defaults(&o);
            o.name = "concurrent";
            o.created_utc = created;
            o.seed = (uint64_t)(100 + 8 * k + w);
            CHECK(hx_write(dir, &o, NULL) == 0);
        }
    char script[600];
    snprintf(script, sizeof script, "%s/writers.sh", hx_tmp);
    FILE *f = fopen(script, "w");
    CHECK(f != NULL);
    if (!f)
        return;
    fprintf(f, "pids=\nfor w in 0 1 2 3 4 5 6 7; do\n"
               "  '%s' history import --history '%s' --tag writer=$w %s/w$w-0/results.json %s/w$w-1/results.json "
               "%s/w$w-2/results.json %s/w$w-3/results.json >%s/writer$w.log 2>&1 &\n  pids=\"$pids $!\"\ndone\n"
               "rc=0\nfor p in $pids; do wait $p || rc=1; done\nexit $rc\n",
            TB_BINARY, hx_spec, hx_tmp, hx_tmp, hx_tmp, hx_tmp, hx_tmp);
    fclose(f);
    int rc = hx_sh("sh '%s'", script);
    CHECK(rc == 0);
    if (rc != 0)
        for (int w = 0; w < 8; w++) {
            char log[600];
            snprintf(log, sizeof log, "cat %s/writer%d.log >&2", hx_tmp, w);
            CHECK(system(log) == 0);
        }
    CHECK_NEAR(hx_count("SELECT COUNT(*) FROM experiments WHERE name = 'concurrent'"), 32, 0);
    CHECK_NEAR(hx_count("SELECT COUNT(DISTINCT uid) FROM experiments WHERE name = 'concurrent'"), 32, 0);
    CHECK_NEAR(hx_count("SELECT COUNT(*) FROM runs r JOIN experiments e ON e.id = r.experiment_id "
                        "WHERE e.name = 'concurrent'"), 32 * 9, 0);
    CHECK_NEAR(hx_count("SELECT COUNT(*) FROM (SELECT experiment_id, run_index FROM runs GROUP BY experiment_id, "
                        "run_index HAVING COUNT(*) > 1) d"), 0, 0);
    CHECK_NEAR(hx_count("SELECT COUNT(*) FROM machines"), 1, 0);
    CHECK_NEAR(hx_count("SELECT COUNT(*) FROM meta"), 1, 0);
}

/* 8 `thermabench run` processes at once, each one experiment of 3 runs. */
static void test_concurrent_runs(void)
{
    char config[600];
    snprintf(config, sizeof config, "%s/tiny.json", hx_tmp);
    FILE *f = fopen(config, "w");
    CHECK(f != NULL);
    if (!f)
        return;
    fputs("{\"name\": \"run-concurrent\", \"workload\": {\"preset\": \"tiny\", \"threads\": 1, \"input_len\": 4, "
          "\"output_len\": 4}, \"repetitions\": 2, \"warmup\": 1, \"probes\": {\"enabled\": false}}\n", f);
    fclose(f);
    char script[600];
    snprintf(script, sizeof script, "%s/runs.sh", hx_tmp);
    f = fopen(script, "w");
    CHECK(f != NULL);
    if (!f)
        return;
    fprintf(f, "pids=\nfor w in 0 1 2 3 4 5 6 7; do\n"
               "  '%s' run %s --history '%s' --out %s/run$w --no-report --quiet --tag writer=$w "
               ">%s/run$w.log 2>&1 &\n  pids=\"$pids $!\"\ndone\n"
               "rc=0\nfor p in $pids; do wait $p || rc=1; done\nexit $rc\n",
            TB_BINARY, config, hx_spec, hx_tmp, hx_tmp);
    fclose(f);
    int rc = hx_sh("sh '%s'", script);
    CHECK(rc == 0);
    if (rc != 0)
        CHECK(hx_sh("cat %s/run*.log >&2", hx_tmp) == 0);
    CHECK_NEAR(hx_count("SELECT COUNT(*) FROM experiments WHERE name = 'run-concurrent'"), 8, 0);
    CHECK_NEAR(hx_count("SELECT COUNT(DISTINCT t.value) FROM tags t JOIN experiments e ON e.id = t.experiment_id "
                        "WHERE e.name = 'run-concurrent' AND t.key = 'writer'"), 8, 0);
    CHECK_NEAR(hx_count("SELECT COUNT(*) FROM runs r JOIN experiments e ON e.id = r.experiment_id "
                        "WHERE e.name = 'run-concurrent'"), 8 * 3, 0);
    CHECK(TB("show --history '%s' --config run-concurrent", hx_spec) == 0);
    CHECK(count_lines(out) == 2 + 8);

    /* --no-history leaves the store alone; a store that cannot be opened
     * stops `run` before its first run, with the store named. */
    CHECK(hx_sh("%s run %s --history '%s' --out %s/run-off --no-report --quiet --no-history >%s 2>&1", TB_BINARY,
                config, hx_spec, hx_tmp, out) == 0);
    CHECK_NEAR(hx_count("SELECT COUNT(*) FROM experiments WHERE name = 'run-concurrent'"), 8, 0);
    char bad[600];
    snprintf(bad, sizeof bad, "%s/not-a-store.db", hx_tmp);
    f = fopen(bad, "w");
    if (f) {
        fputs("SQLite format 3 is what this file is not; it is text.\n", f);
        for (int i = 0; i < 200; i++)
            fputs("0123456789abcdef", f);
        fclose(f);
    }
    CHECK(hx_sh("%s run %s --history %s --out %s/run-bad --no-report --quiet >%s 2>&1", TB_BINARY, config, bad,
                hx_tmp, out) == 2);
    CHECK(contains(out, "not-a-store.db"));
    char dir[600];
    snprintf(dir, sizeof dir, "%s/run-bad", hx_tmp);
    CHECK(access(dir, F_OK) != 0);
}

static void test_queries(void)
{
    /* 30 nightly experiments; from the 21st on, 10 % slower. */
    for (int k = 0; k < 30; k++) {
        char dir[400], created[32];
        snprintf(dir, sizeof dir, "%s/n%d", hx_tmp, k);
        snprintf(created, sizeof created, "2026-11-%02dT03:00:00Z", 1 + k);
        hx_results o;
        hx_defaults(&o);
        o.created_utc = created;
        o.seed = (uint64_t)k + 1;
        o.mean = k < 20 ? 100 : 90;
        CHECK(hx_write(dir, &o, NULL) == 0);
        CHECK(TB("import --history '%s' --tag branch=main --tag commit=c%d %s/results.json", hx_spec, k, dir) == 0);
    }
    CHECK(TB("list --history '%s' --config nightly --last 0", hx_spec) == 0);
    CHECK(count_lines(out) == 31);
    CHECK(contains(out, "branch=main commit=c29"));
    CHECK(TB("list --history '%s' --tag commit=c7", hx_spec) == 0);
    CHECK(count_lines(out) == 2);

    CHECK(TB("show --history '%s' --config nightly", hx_spec) == 0);
    CHECK(contains(out, "nightly / A / decode_tokens_per_s (tokens/s, higher is better)"));
    CHECK(count_lines(out) == 32);
    CHECK(TB("show prefill_tokens_per_s --history '%s' --config nightly --last 3", hx_spec) == 0);
    CHECK(contains(out, "prefill_tokens_per_s") && count_lines(out) == 5);

    /* The 10 % step between c19 and c20, found; exit 1 for a regression. */
    CHECK(TB("changes --history '%s'", hx_spec) == 1);
    CHECKF(contains(out, "regression") && contains(out, "c19..c20") && contains(out, "1 change point"),
           "changes output: see %s", out);
    CHECK(TB("changes --history '%s' --fail-on none", hx_spec) == 0);
    CHECK(TB("trend --history '%s' --config nightly --out %s/trend-nightly", hx_spec, hx_tmp) == 0);
    char page[600];
    snprintf(page, sizeof page, "%s/trend-nightly/index.html", hx_tmp);
    CHECK(contains(page, "30 experiments; higher is better; 1 change point."));
    CHECK(contains(page, "c19 &rarr; c20"));
    CHECK(TB("changes --history '%s' --since 2026-11-25", hx_spec) == 0);
    CHECK(contains(out, "0 change points"));

    CHECK(TB("export --history '%s' --config nightly --format csv --out %s/x.csv", hx_spec, hx_tmp) == 0);
    char csv[600];
    snprintf(csv, sizeof csv, "%s/x.csv", hx_tmp);
    CHECK(count_lines(csv) == 1 + 30 * 9 * 2);
    CHECK(TB("export --history '%s' --config nightly --last 2 --out %s/x.json", hx_spec, hx_tmp) == 0);
    snprintf(csv, sizeof csv, "%s/x.json", hx_tmp);
    char *text = tb_read_all(csv, NULL);
    cJSON *doc = text ? cJSON_Parse(text) : NULL;
    free(text);
    cJSON *ex = cJSON_GetObjectItem(doc, "experiments");
    CHECK(cJSON_GetArraySize(ex) == 2);
    cJSON *e0 = cJSON_GetArrayItem(ex, 0);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(e0, "tags"), "commit")), "c28");
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(e0, "runs")) == 9);
    cJSON_Delete(doc);
}

/* gate --baseline-from-history over the 30 experiments of test_queries:
 * the last 5 are at 90; a candidate at 90 passes, one at 80 is a regression. */
static void test_gate_from_history(void)
{
    const double means[2] = {90, 80};
    const int expect[2] = {0, 1};
    for (int i = 0; i < 2; i++) {
        char dir[400];
        snprintf(dir, sizeof dir, "%s/cand%d", hx_tmp, i);
        hx_results o;
        hx_defaults(&o);
        o.created_utc = "2026-12-07T00:00:00Z";
        o.mean = means[i];
        o.seed = 77 + (uint64_t)i;
        CHECK(hx_write(dir, &o, NULL) == 0);
        int rc = hx_sh("%s gate --history '%s' --baseline-from-history 'tag:branch=main,last=5' "
                       "--candidate %s/results.json >%s 2>&1", TB_BINARY, hx_spec, dir, out);
        CHECKF(rc == expect[i], "candidate at %g: exit %d", means[i], rc);
        CHECK(contains(out, "baseline: 5 experiments of 'nightly'"));
        /* each experiment one unit (one session each here) */
        CHECK(contains(out, "experiments as the unit: baseline 5 (5 sessions), candidate 1 (1 session)"));
    }
    /* Nothing matches: exit 2 with the store and the spec named. */
    CHECK(hx_sh("%s gate --history '%s' --baseline-from-history 'tag:branch=nope' --candidate %s/cand0/results.json "
                ">%s 2>&1", TB_BINARY, hx_spec, hx_tmp, out) == 2);
    CHECK(contains(out, "tag:branch=nope") && contains(out, "no experiment in"));
    CHECK(hx_sh("%s gate --history '%s' --baseline-from-history 'last=0' --candidate %s/cand0/results.json >%s 2>&1",
                TB_BINARY, hx_spec, hx_tmp, out) == 2);
    /* The machine must match unless the spec says any. */
    CHECK(hx_sh("%s gate --history '%s' --baseline-from-history 'machine=other-host' --candidate "
                "%s/cand0/results.json >%s 2>&1", TB_BINARY, hx_spec, hx_tmp, out) == 2);
}

/* Names that would end an HTML element or a gnuplot string. */
static void test_trend_escaping(void)
{
    const char *evil = "<script>alert(1)</script>'\"x";
    for (int k = 0; k < 12; k++) {
        char dir[400], created[32];
        snprintf(dir, sizeof dir, "%s/evil%d", hx_tmp, k);
        snprintf(created, sizeof created, "2026-11-%02dT05:00:00Z", 1 + k);
        hx_results o;
        hx_defaults(&o);
        o.name = evil;
        o.variant = "v'<b>\"";
        o.created_utc = created;
        o.seed = (uint64_t)k + 50;
        CHECK(hx_write(dir, &o, NULL) == 0);
        CHECK(TB("import --history '%s' --tag 'commit=<i>c%d</i>' %s/results.json", hx_spec, k, dir) == 0);
    }
    CHECK(hx_sh("%s history trend --history '%s' --config '%s' --out %s/trend >%s 2>&1", TB_BINARY, hx_spec,
                "<script>alert(1)</script>'\"'\"'\"x", hx_tmp, out) == 0);
    char page[600];
    snprintf(page, sizeof page, "%s/trend/index.html", hx_tmp);
    CHECK(contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;&#39;&quot;x"));
    CHECK(!contains(page, "<script>"));
    CHECK(!contains(page, "<i>c"));
    CHECK(contains(page, "&lt;i&gt;c3&lt;/i&gt;"));
    if (system("gnuplot --version >/dev/null 2>&1") == 0)
        CHECKF(contains(page, "<svg"), "no plot in %s", page);
    CHECK(contains(page, "/report.html\">experiment"));
}

static void test_bad_input(void)
{
    CHECK(TB("show --history '%s'", hx_spec) == 2);
    CHECK(contains(out, "--config"));
    CHECK(TB("list --history '%s' --since yesterday", hx_spec) == 2);
    CHECK(contains(out, "--since"));
    CHECK(TB("frobnicate --history '%s'", hx_spec) == 2);
    CHECK(TB("list --history '%s' --no-such-option", hx_spec) == 2);
    CHECK(TB("changes --history '%s' --fail-on sometimes", hx_spec) == 2);
    CHECK(TB("list --history %s/missing.db", hx_tmp) == 2);
    CHECK(contains(out, "missing.db"));
    char bad[400];
    snprintf(bad, sizeof bad, "%s/bad.json", hx_tmp);
    FILE *f = fopen(bad, "w");
    if (f) {
        fputs("{\"schema\": \"thermabench-results\", \"runs\": [1, 2,,]}", f);
        fclose(f);
    }
    CHECK(TB("import --history '%s' %s", hx_spec, bad) == 2);
    CHECK(contains(out, "bad.json") && contains(out, "byte"));
    CHECK(TB("import --history '%s' %s/nope.json", hx_spec, hx_tmp) == 2);
    /* The store itself: unreachable (1), newer schema (2), wrong password (2). */
    CHECK(TB("list --history 'postgresql://u:pw@/db?host=%s/no-server&connect_timeout=5'", hx_tmp) == 1);
    CHECK(contains(out, "cannot connect") && contains(out, "u:***@"));
    CHECK(hx_sql("UPDATE meta SET value = '7' WHERE key = 'schema_version'", NULL) == 0);
    CHECK(TB("list --history '%s'", hx_spec) == 2);
    CHECK(contains(out, "schema version 7 is newer"));
    char restore[128];
    snprintf(restore, sizeof restore, "UPDATE meta SET value = '%d' WHERE key = 'schema_version'",
             HISTORY_SCHEMA_VERSION);
    CHECK(hx_sql(restore, NULL) == 0);
    if (hx_is_pg()) {
        char wrong[1100];
        snprintf(wrong, sizeof wrong, "%s", hx_spec);
        char *pw = strstr(wrong, ":tb-");
        if (pw)
            pw[1] = 'X';
        CHECK(TB("list --history '%s'", wrong) == 2);
        CHECK(contains(out, "password authentication failed"));
    }
    CHECK(TB("--help%s", "") == 0 && contains(out, "import") && contains(out, "--fail-on"));
}

int main(int argc, char **argv)
{
    if (hx_setup(argc, argv) < 0) {
        fprintf(stderr, "setup failed\n");
        return 1;
    }
    snprintf(out, sizeof out, "%s/out.txt", hx_tmp);
    test_concurrent_writers();
    test_concurrent_runs();
    test_queries();
    test_gate_from_history();
    test_trend_escaping();
    test_bad_input();
    hx_teardown();
    TB_MAIN_END();
}
