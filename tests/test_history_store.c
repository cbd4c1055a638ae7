/* The history store through its library interface, on SQLite (no argument)
 * or on the test PostgreSQL server (argument: the fixture's env file):
 * schema creation and migration from version 1, appending and replacing,
 * series medians against medians computed here, baselines rebuilt with every
 * run value, and the failures: a half-written experiment rolled back, a
 * store of a newer schema, a corrupt SQLite file, an unreachable server and
 * a wrong password, each with the store named and its exit code. */
#include <math.h>

#include "tb_test.h"
#include "test_history_util.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median_of(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static int count_experiments(void *ctx, const history_experiment *e)
{
    (*(int *)ctx)++;
    return 0;
}

/* Five nightly experiments; the store's per-experiment medians and the
 * baseline's run values must be the ones written. */
static void test_append_and_query(void)
{
    history_error err;
    history_store *s = history_open(hx_spec, HISTORY_OPEN_CREATE, &err);
    CHECKF(s != NULL, "%s", err.msg);
    if (!s)
        return;
    CHECK(history_store_schema_version(s) == HISTORY_SCHEMA_VERSION);
    double vals[5][8], med[5];
    for (int k = 0; k < 5; k++) {
        char dir[400], created[32], commit[16];
        snprintf(dir, sizeof dir, "%s/n%d", hx_tmp, k);
        snprintf(created, sizeof created, "2026-11-%02dT02:00:00Z", k + 1);
        hx_results o;
        hx_defaults(&o);
        o.created_utc = created;
        o.seed = 10 + (uint64_t)k;
        o.mean = k < 3 ? 100 : 90;
        CHECK(hx_write(dir, &o, vals[k]) == 0);
        double copy[8];
        memcpy(copy, vals[k], sizeof copy);
        med[k] = median_of(copy, 8);
        history_tag tags[2];
        char why[128];
        snprintf(commit, sizeof commit, "commit=c%d", k);
        CHECK(history_parse_tag("branch=main", &tags[0], why, sizeof why) == 0);
        CHECK(history_parse_tag(commit, &tags[1], why, sizeof why) == 0);
        strcat(dir, "/results.json");
        long long id = 0;
        bool replaced = true;
        CHECKF(history_append_results(s, dir, tags, 2, &id, &replaced, &err) == 0, "%s", err.msg);
        CHECK(id > 0 && !replaced);
    }
    /* Appending the same file again replaces it: each run once. */
    char again[400];
    snprintf(again, sizeof again, "%s/n4/results.json", hx_tmp);
    bool replaced = false;
    history_tag tag;
    char why[128];
    history_parse_tag("branch=main", &tag, why, sizeof why);
    CHECKF(history_append_results(s, again, &tag, 1, NULL, &replaced, &err) == 0, "%s", err.msg);
    CHECK(replaced);
    CHECK_NEAR(hx_count("SELECT COUNT(*) FROM experiments"), 5, 0);
    CHECK_NEAR(hx_count("SELECT COUNT(*) FROM runs"), 5 * 9, 0);
    CHECK_NEAR(hx_count("SELECT COUNT(*) FROM run_metrics"), 5 * 9 * 2, 0);

    history_filter f = {0};
    f.config = "nightly";
    history_series_set set;
    CHECKF(history_load_series(s, &f, &set, &err) == 0, "%s", err.msg);
    CHECK(set.n == 1);
    if (set.n == 1) {
        CHECK(set.s[0].n == 5);
        for (size_t k = 0; k < set.s[0].n && k < 5; k++) {
            CHECK_NEAR(set.s[0].pts[k].median, med[k], 1e-9 * med[k]);
            CHECK(set.s[0].pts[k].n == 8);
            CHECK(set.s[0].pts[k].lo <= med[k] && med[k] <= set.s[0].pts[k].hi);
            CHECK_NEAR(set.s[0].pts[k].temp_start_c, 45, 1e-9);
        }
        CHECK_STR(set.s[0].pts[0].commit, "c0");
        CHECK_STR(set.s[0].variant, "A");
        CHECK(set.s[0].higher_is_better);
    }
    history_series_set_free(&set);

    /* A filter on a tag: n4 was re-appended with branch only (no commit). */
    int n = 0;
    history_filter tf = {0};
    history_parse_tag("commit=c2", &tf.tags[tf.ntags++], why, sizeof why);
    CHECK(history_list(s, &tf, count_experiments, &n, &err) == 0 && n == 1);

    /* The baseline 'tag:branch=main,last=2': the last two experiments, every run value. */
    history_filter bf;
    CHECK(history_parse_baseline("tag:branch=main,last=2", &bf, why, sizeof why) == 0);
    CHECK(bf.last == 2 && bf.ntags == 1);
    bf.config = "nightly";
    report_results *base = NULL;
    int nb = 0;
    CHECKF(history_load_baseline(s, &bf, &base, &nb, &err) == 0, "%s", err.msg);
    CHECK(nb == 2);
    for (int i = 0; i < nb; i++) {
        double v[16];
        size_t m = report_variant_values(&base[i], "A", v, 16);
        CHECK(m == 8);
        for (size_t j = 0; j < m && j < 8; j++)
            CHECK_NEAR(v[j], vals[3 + i][j], 1e-9 * vals[3 + i][j]);
        CHECK_STR(base[i].metric_name, "decode_tokens_per_s");
        CHECK_STR(base[i].variant_config[0], "kernels=matmul=scalar threads=2 model=tiny");
        CHECK_STR(base[i].cpu_model, "History Test CPU");
        CHECK(base[i].nruns == 9 && base[i].runs[0].warmup);
        /* The environment comes back as recorded: the same machine id as the file's. */
        char mid[16], want[16];
        history_results_machine_id(&base[i], mid);
        history_machine_id("host-a", "History Test CPU", 4, NAN, want);
        CHECK_STR(mid, want);
        report_results_free(&base[i]);
    }
    free(base);
    CHECK(history_parse_baseline("tag:branch=main,last=0", &bf, why, sizeof why) < 0);
    CHECK(history_parse_baseline("bogus=1", &bf, why, sizeof why) < 0 && strstr(why, "bogus"));
    history_close(s);
}

/* An A/B experiment keeps its verdict: B 20 % faster than A. */
static void test_verdicts(void)
{
    char dir[400];
    snprintf(dir, sizeof dir, "%s/ab", hx_tmp);
    hx_results o;
    hx_defaults(&o);
    o.name = "ab";
    o.runs = 16;
    o.variant_b = "B";
    o.mean_b = 120;
    CHECK(hx_write(dir, &o, NULL) == 0);
    strcat(dir, "/results.json");
    history_error err;
    history_store *s = history_open(hx_spec, HISTORY_OPEN_READ, &err);
    CHECK(s && history_append_results(s, dir, NULL, 0, NULL, NULL, &err) == 0);
    history_close(s);
    CHECK_NEAR(hx_count("SELECT COUNT(*) FROM verdicts v JOIN experiments e ON e.id = v.experiment_id "
                        "WHERE e.name = 'ab' AND v.kind = 'ab_compare' AND v.subject = 'B vs A' "
                        "AND v.verdict = 'faster'"), 1, 0);
}

/* A failure mid-append leaves nothing of the experiment: a trigger rejects
 * the last run's metric. */
static void test_half_written(void)
{
    if (hx_is_pg())
        CHECK(hx_sql("CREATE FUNCTION reject_poison() RETURNS trigger AS $$ BEGIN "
                     "IF NEW.value = 666 THEN RAISE EXCEPTION 'poisoned value'; END IF; RETURN NEW; END $$ "
                     "LANGUAGE plpgsql", NULL) == 0 &&
              hx_sql("CREATE TRIGGER poison BEFORE INSERT ON run_metrics FOR EACH ROW "
                     "EXECUTE FUNCTION reject_poison()", NULL) == 0);
    else
        CHECK(hx_sql("CREATE TRIGGER poison BEFORE INSERT ON run_metrics WHEN NEW.value = 666 "
                     "BEGIN SELECT RAISE(ABORT, 'poisoned value'); END", NULL) == 0);
    double before = hx_count("SELECT COUNT(*) FROM runs");
    char dir[400];
    snprintf(dir, sizeof dir, "%s/poison", hx_tmp);
    hx_results o;
    hx_defaults(&o);
    o.created_utc = "2026-11-20T00:00:00Z";
    o.poison = 666;
    CHECK(hx_write(dir, &o, NULL) == 0);
    strcat(dir, "/results.json");
    history_error err;
    history_store *s = history_open(hx_spec, HISTORY_OPEN_READ, &err);
    CHECK(s != NULL);
    if (s) {
        CHECK(history_append_results(s, dir, NULL, 0, NULL, NULL, &err) < 0);
        CHECKF(strstr(err.msg, "poisoned value") && strstr(err.msg, "history store"), "%s", err.msg);
        history_close(s);
    }
    CHECK_NEAR(hx_count("SELECT COUNT(*) FROM experiments WHERE created_utc = '2026-11-20T00:00:00Z'"), 0, 0);
    CHECK_NEAR(hx_count("SELECT COUNT(*) FROM runs"), before, 0);
    CHECK(hx_sql(hx_is_pg() ? "DROP TRIGGER poison ON run_metrics" : "DROP TRIGGER poison", NULL) == 0);
}

/* A store of a newer schema is refused (exit 2) and left as it is. */
static void test_newer_schema(void)
{
    CHECK(hx_sql("UPDATE meta SET value = '99' WHERE key = 'schema_version'", NULL) == 0);
    history_error err;
    history_store *s = history_open(hx_spec, HISTORY_OPEN_CREATE, &err);
    CHECK(s == NULL);
    CHECKF(err.exit_code == 2 && strstr(err.msg, "schema version 99") && strstr(err.msg, "history store"), "%s",
           err.msg);
    history_close(s);
    CHECK_NEAR(hx_count("SELECT value FROM meta WHERE key = 'schema_version'"), 99, 0);
    char v[8];
    snprintf(v, sizeof v, "%d", HISTORY_SCHEMA_VERSION);
    char sql[128];
    snprintf(sql, sizeof sql, "UPDATE meta SET value = '%s' WHERE key = 'schema_version'", v);
    CHECK(hx_sql(sql, NULL) == 0);
}

/* A version-1 store (as an older thermabench left it) opens in this one:
 * migrated to the current version with its experiments kept. */
static void test_migration(void)
{
    char spec[1100];
    if (hx_is_pg()) {
        CHECK(hx_sql("DROP TABLE verdicts, run_metrics, runs, variants, tags, experiments, machines, meta", NULL) == 0);
        snprintf(spec, sizeof spec, "%s", hx_spec);
    } else {
        snprintf(spec, sizeof spec, "%s/old.db", hx_tmp);
    }
    history_error err;
    history_store *s = history_open_version(spec, HISTORY_OPEN_CREATE, 1, &err);
    CHECKF(s != NULL, "%s", err.msg);
    if (!s)
        return;
    CHECK(history_store_schema_version(s) == 1);
    char dir[400];
    snprintf(dir, sizeof dir, "%s/n0/results.json", hx_tmp);
    CHECKF(history_append_results(s, dir, NULL, 0, NULL, NULL, &err) == 0, "%s", err.msg);
    history_close(s);
    /* One step (to 2), then the rest (to the current version). */
    s = history_open_version(spec, HISTORY_OPEN_READ, 2, &err);
    CHECKF(s != NULL && history_store_schema_version(s) == 2, "%s", err.msg);
    snprintf(dir, sizeof dir, "%s/n1/results.json", hx_tmp);
    CHECKF(s && history_append_results(s, dir, NULL, 0, NULL, NULL, &err) == 0, "%s", err.msg);
    history_close(s);
    s = history_open(spec, HISTORY_OPEN_READ, &err);
    CHECKF(s != NULL, "%s", err.msg);
    if (!s)
        return;
    CHECK(history_store_schema_version(s) == HISTORY_SCHEMA_VERSION);
    int n = 0;
    history_filter f = {0};
    CHECK(history_list(s, &f, count_experiments, &n, &err) == 0 && n == 2);
    snprintf(dir, sizeof dir, "%s/n2/results.json", hx_tmp);
    CHECKF(history_append_results(s, dir, NULL, 0, NULL, NULL, &err) == 0, "%s", err.msg);
    history_close(s);
    char saved[sizeof hx_spec];
    memcpy(saved, hx_spec, sizeof saved);
    snprintf(hx_spec, sizeof hx_spec, "%.1000s", spec);     /* the checks below read this store */
    CHECK_NEAR(hx_count("SELECT COUNT(*) FROM experiments WHERE environment_json IS NULL"), 2, 0);
    CHECK_NEAR(hx_count("SELECT COUNT(*) FROM experiments"), 3, 0);
    memcpy(hx_spec, saved, sizeof saved);
}

static void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(data, 1, n, f) == n);
    if (f)
        fclose(f);
}

/* SQLite: garbage, a truncated store, a missing file (read-only commands). */
static void test_bad_files(void)
{
    char path[400];
    history_error err;
    snprintf(path, sizeof path, "%s/garbage.db", hx_tmp);
    write_bytes(path, "this is not a database, just text that goes on for a while......"
                      "................................................................", 128);
    history_store *s = history_open(path, HISTORY_OPEN_CREATE, &err);
    CHECK(s == NULL);
    CHECKF(err.exit_code == 2 && strstr(err.msg, path) && strstr(err.msg, "not a usable SQLite database"), "%s",
           err.msg);
    history_close(s);

    /* The first page of a real store with the rest cut off. */
    char full[400];
    snprintf(full, sizeof full, "%s/old.db", hx_tmp);
    size_t len = 0;
    char *bytes = tb_read_all(full, &len);
    CHECK(bytes && len > 8192);
    if (bytes) {
        memset(bytes + 100, 0x5a, 3000);    /* the schema page scribbled over */
        snprintf(path, sizeof path, "%s/truncated.db", hx_tmp);
        write_bytes(path, bytes, 4096);
        free(bytes);
        s = history_open(path, HISTORY_OPEN_CREATE, &err);
        CHECK(s == NULL);
        CHECKF(err.exit_code == 2 && strstr(err.msg, path), "%s", err.msg);
        history_close(s);
    }
    snprintf(path, sizeof path, "%s/missing.db", hx_tmp);
    s = history_open(path, HISTORY_OPEN_READ, &err);
    CHECK(s == NULL);
    CHECKF(err.exit_code == 2 && strstr(err.msg, path), "%s", err.msg);
    CHECK(access(path, F_OK) != 0);     /* a read does not create the file */
    history_close(s);
}

/* No server behind the socket: a system error (exit 1) naming the store
 * without its password. */
static void test_unreachable(void)
{
    char spec[600];
    snprintf(spec, sizeof spec, "postgresql://someone:s3cret@/nothing?host=%s/no-server&connect_timeout=5", hx_tmp);
    history_error err;
    history_store *s = history_open(spec, HISTORY_OPEN_CREATE, &err);
    CHECK(s == NULL);
    CHECKF(err.exit_code == 1 && strstr(err.msg, "postgresql://someone:***@/nothing") &&
               strstr(err.msg, "cannot connect") && !strstr(err.msg, "s3cret"), "%s", err.msg);
    history_close(s);
    /* A mistyped URI (no ':' before the password) and a password parameter: still hidden. */
    snprintf(spec, sizeof spec, "postgresql://someone?s3cret@/nothing?host=%s/no-server&password=t0psecret", hx_tmp);
    s = history_open(spec, HISTORY_OPEN_CREATE, &err);
    CHECK(s == NULL);
    CHECKF(!strstr(err.msg, "s3cret") && !strstr(err.msg, "t0psecret"), "%s", err.msg);
    history_close(s);
}

static void test_wrong_password(void)
{
    char spec[1100];
    snprintf(spec, sizeof spec, "%s", hx_spec);
    char *pw = strstr(spec, ":tb-");     /* the fixture's password starts with tb- */
    CHECK(pw != NULL);
    if (!pw)
        return;
    pw[1] = 'X';
    char shown[64];
    snprintf(shown, sizeof shown, "%.12s", pw + 1);
    history_error err;
    history_store *s = history_open(spec, HISTORY_OPEN_CREATE, &err);
    CHECK(s == NULL);
    CHECKF(err.exit_code == 2 && strstr(err.msg, "password authentication failed") && strstr(err.msg, ":***@") &&
               !strstr(err.msg, shown), "%s", err.msg);
    history_close(s);
}

int main(int argc, char **argv)
{
    if (hx_setup(argc, argv) < 0) {
        fprintf(stderr, "setup failed\n");
        return 1;
    }
    test_append_and_query();
    test_verdicts();
    test_half_written();
    test_newer_schema();
    test_migration();
    if (hx_is_pg())
        test_wrong_password();
    else
        test_bad_files();
    test_unreachable();
    hx_teardown();
    TB_MAIN_END();
}
