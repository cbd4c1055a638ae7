/* Appending one experiment (a results.json, docs/RESULTS.md) to the store:
 * the machine, the experiment with its environment, code under test and
 * config, tags, variants, every run with its metrics and telemetry summary,
 * and the output-agreement verdicts, in one transaction. */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "history_internal.h"

int history_parse_tag(const char *text, history_tag *out, char *why, size_t why_len)
{
    const char *eq = strchr(text, '=');
    if (!eq || eq == text) {
        snprintf(why, why_len, "'%s': expected key=value", text);
        return -1;
    }
    size_t klen = (size_t)(eq - text);
    if (klen >= sizeof out->key || strlen(eq + 1) >= sizeof out->value) {
        snprintf(why, why_len, "'%.80s': key at most %zu and value at most %zu characters", text,
                 sizeof out->key - 1, sizeof out->value - 1);
        return -1;
    }
    for (size_t i = 0; i < klen; i++)
        if (!isalnum((unsigned char)text[i]) && !strchr("_-.", text[i])) {
            snprintf(why, why_len, "'%.80s': a key is letters, digits, '_', '-' and '.'", text);
            return -1;
        }
    memcpy(out->key, text, klen);
    out->key[klen] = 0;
    snprintf(out->value, sizeof out->value, "%s", eq + 1);
    return 0;
}

void history_machine_id(const char *hostname, const char *cpu_model, int cpus_online, double mem_total_bytes,
                        char out[16])
{
    char num[64];
    uint64_t h = hist_fnv1a(HIST_FNV_INIT, hostname ? hostname : "");
    h = hist_fnv1a(h, cpu_model ? cpu_model : "");
    snprintf(num, sizeof num, "%d/%.0f", cpus_online, isfinite(mem_total_bytes) ? mem_total_bytes : -1.0);
    h = hist_fnv1a(h, num);
    snprintf(out, 16, "%012llx", (unsigned long long)(h & 0xffffffffffffULL));
}

void history_results_machine_id(const report_results *r, char out[16])
{
    const cJSON *env = cJSON_GetObjectItemCaseSensitive((const cJSON *)r->json, "environment");
    const cJSON *host = cJSON_GetObjectItemCaseSensitive(env, "hostname");
    const cJSON *mem = cJSON_GetObjectItemCaseSensitive(env, "mem_total_bytes");
    history_machine_id(cJSON_IsString(host) ? host->valuestring : NULL, r->cpu_model[0] ? r->cpu_model : NULL,
                       r->cpus_online, cJSON_IsNumber(mem) ? mem->valuedouble : NAN, out);
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double jnum(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static const history_tag *find_tag(const history_tag *t, int n, const char *key)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(t[i].key, key))
            return &t[i];
    return NULL;
}

static char *read_file(const char *path, size_t *len, history_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        hist_fail(err, 2, NULL, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n - 1, f);
        if (n < cap - 1)
            break;
        char *nb = realloc(buf, cap *= 2);
        if (!nb)
            free(buf);
        buf = nb;
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf || bad) {
        free(buf);
        hist_fail(err, 1, NULL, "%s: %s", path, bad ? "read error" : "out of memory");
        return NULL;
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

/* The results file, checked for what the store needs. */
static cJSON *load_results(const char *path, history_error *err)
{
    size_t len;
    char *text = read_file(path, &len, err);
    if (!text)
        return NULL;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    long off = end ? (long)(end - text) : -1;
    free(text);
    if (!root) {
        hist_fail(err, 2, NULL, "%s: not valid JSON (error near byte %ld)", path, off);
        return NULL;
    }
    const char *schema = jstr(root, "schema");
    const char *why = NULL;
    if (!schema || strcmp(schema, "thermabench-results"))
        why = "schema: expected \"thermabench-results\"";
    else if (jnum(root, "schema_version") != 1)
        why = "schema_version: expected 1";
    else if (!jstr(root, "name"))
        why = "name: expected a string";
    else if (hist_parse_utc(jstr(root, "created_utc")) < 0)
        why = "created_utc: expected a UTC time like 2026-12-07T08:00:00Z";
    else if (!jstr(cJSON_GetObjectItemCaseSensitive(root, "primary_metric"), "name"))
        why = "primary_metric.name: expected a string";
    else if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(root, "runs")))
        why = "runs: expected an array";
    if (why) {
        hist_fail(err, 2, NULL, "%s: %s", path, why);
        cJSON_Delete(root);
        return NULL;
    }
    int i = 0;
    const cJSON *run;
    cJSON_ArrayForEach(run, cJSON_GetObjectItemCaseSensitive(root, "runs"))
    {
        if (!jstr(run, "variant")) {
            hist_fail(err, 2, NULL, "%s: runs[%d].variant: expected a string", path, i);
            cJSON_Delete(root);
            return NULL;
        }
        i++;
    }
    return root;
}

#define EXEC(sql, ...)                                                                                        \
    do {                                                                                                      \
        const char *p_[] = {__VA_ARGS__};                                                                     \
        if (s->be->exec(s, sql, (int)(sizeof p_ / sizeof p_[0]), p_, NULL, NULL, err) < 0)                     \
            return -1;                                                                                        \
    } while (0)

static int upsert_machine(history_store *s, const cJSON *env, long long *id, history_error *err)
{
    const char *host = jstr(env, "hostname"), *cpu = jstr(env, "cpu_model");
    double cpus = jnum(env, "cpus_online"), mem = jnum(env, "mem_total_bytes");
    char key[16];
    history_machine_id(host, cpu, isfinite(cpus) ? (int)cpus : -1, mem, key);
    hist_num b1, b2;
    EXEC("INSERT INTO machines (machine_key, hostname, cpu_model, cpus_online, kernel, mem_total_bytes, gpu, "
         "gpu_driver) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (machine_key) DO NOTHING",
         key, host, cpu, hist_dbl(&b1, cpus), jstr(env, "kernel"), hist_dbl(&b2, mem), jstr(env, "gpu"),
         jstr(env, "gpu_driver"));
    char buf[32];
    int found;
    const char *p[1] = {key};
    if (hist_query_text(s, "SELECT id FROM machines WHERE machine_key = ?", 1, p, buf, sizeof buf, &found, err) < 0)
        return -1;
    if (!found)
        return hist_fail(err, 1, s, "machine %s: not found after insert", key);
    *id = atoll(buf);
    return 0;
}

static int insert_run(history_store *s, long long exp_id, const cJSON *run, int i, history_error *err)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(run, "telemetry");
    hist_num e, idx, ses, st, wall, n[10];
    double index = jnum(run, "index");
    const char *status = jstr(run, "status");
    const char *p[] = {hist_int(&e, exp_id), jstr(run, "variant"),
                       hist_int(&idx, isfinite(index) ? (long long)index : i), hist_dbl(&ses, jnum(run, "session")),
                       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(run, "warmup")) ? "1" : "0",
                       status && !strcmp(status, "ok") ? "1" : "0", jstr(run, "failure"),
                       hist_dbl(&st, jnum(run, "started_s")), hist_dbl(&wall, jnum(run, "wall_ms")),
                       hist_dbl(&n[0], jnum(t, "temp_start_c")), hist_dbl(&n[1], jnum(t, "temp_end_c")),
                       hist_dbl(&n[2], jnum(t, "temp_peak_c")), hist_dbl(&n[3], jnum(t, "power_mean_w")),
                       hist_dbl(&n[4], jnum(t, "energy_j")), hist_dbl(&n[5], jnum(t, "energy_per_token_j")),
                       hist_dbl(&n[6], jnum(t, "clock_mean_mhz")), hist_dbl(&n[7], jnum(t, "clock_min_mhz")),
                       hist_dbl(&n[8], jnum(t, "mem_psi_some_us")), jstr(t, "throttle")};
    char id[32];
    int found;
    if (hist_query_text(s,
                        "INSERT INTO runs (experiment_id, variant, run_index, session, warmup, ok, failure, "
                        "started_s, wall_ms, temp_start_c, temp_end_c, temp_peak_c, power_mean_w, energy_j, "
                        "energy_per_token_j, clock_mean_mhz, clock_min_mhz, mem_psi_some_us, throttle) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                        (int)(sizeof p / sizeof p[0]), p, id, sizeof id, &found, err) < 0)
        return -1;
    if (!found)
        return hist_fail(err, 1, s, "run %d: no id returned", i);
    const cJSON *m;
    cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(run, "metrics"))
    {
        if (!m->string || (!cJSON_IsNumber(m) && !cJSON_IsNull(m)))
            continue;       /* metrics are numbers; anything else is not one */
        hist_num v;
        EXEC("INSERT INTO run_metrics (run_id, name, value) VALUES (?, ?, ?)", id, m->string,
             cJSON_IsNumber(m) ? hist_dbl(&v, m->valuedouble) : NULL);
    }
    return 0;
}

/* Each variant against the first, as `run` and the report state it. A file
 * the statistics cannot read has no such verdicts (nothing to record). */
static int insert_ab_verdicts(history_store *s, const char *eid, const char *path, history_error *err)
{
    report_results r;
    report_error rerr;
    if (report_results_load(path, &r, &rerr) < 0)
        return 0;
    int rc = 0;
    for (int i = 1; i < r.nvariants && rc == 0; i++) {
        report_comparison c;
        if (report_compare(&r, r.variants[0], &r, r.variants[i], &c, &rerr) < 0 || !c.verdict[0])
            continue;
        char subject[2 * REPORT_NAME_MAX + 8];
        snprintf(subject, sizeof subject, "%s vs %s", r.variants[i], r.variants[0]);
        const char *p[] = {eid, subject, c.verdict, c.sentence};
        rc = s->be->exec(s, "INSERT INTO verdicts (experiment_id, kind, subject, verdict, detail) "
                            "VALUES (?, 'ab_compare', ?, ?, ?)", 4, p, NULL, NULL, err);
    }
    report_results_free(&r);
    return rc;
}

static int insert_children(history_store *s, long long exp_id, const cJSON *root, const history_tag *tags,
                           int ntags, const char *abs_path, history_error *err)
{
    hist_num e;
    const char *eid = hist_int(&e, exp_id);
    for (int i = 0; i < ntags; i++)
        EXEC("INSERT INTO tags (experiment_id, key, value) VALUES (?, ?, ?)", eid, tags[i].key, tags[i].value);
    const cJSON *v;
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(root, "variants"))
    {
        if (!jstr(v, "name"))
            continue;
        char *wl = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(v, "workload"));
        const char *p[] = {eid, jstr(v, "name"), jstr(v, "engine_kernels"), wl};
        int rc = s->be->exec(s,
                             "INSERT INTO variants (experiment_id, name, engine_kernels, description) "
                             "VALUES (?, ?, ?, ?) ON CONFLICT (experiment_id, name) DO NOTHING",
                             4, p, NULL, NULL, err);
        free(wl);
        if (rc < 0)
            return -1;
    }
    int i = 0;
    const cJSON *run;
    cJSON_ArrayForEach(run, cJSON_GetObjectItemCaseSensitive(root, "runs"))
    {
        if (insert_run(s, exp_id, run, i++, err) < 0)
            return -1;
    }
    if (s->schema_version < 2)
        return 0;       /* a store kept at version 1 has no verdicts table */
    if (insert_ab_verdicts(s, eid, abs_path, err) < 0)
        return -1;
    const cJSON *agree;
    cJSON_ArrayForEach(agree, cJSON_GetObjectItemCaseSensitive(root, "output_agreement"))
    {
        const cJSON *stable = cJSON_GetObjectItemCaseSensitive(agree, "stable");
        if (!agree->string || !cJSON_IsBool(stable))
            continue;
        char detail[160];
        snprintf(detail, sizeof detail, "%g of %g measured runs match the variant's first",
                 jnum(agree, "match_variant_first"), jnum(agree, "runs"));
        EXEC("INSERT INTO verdicts (experiment_id, kind, subject, verdict, detail) VALUES (?, 'output_agreement', "
             "?, ?, ?)", eid, agree->string, cJSON_IsTrue(stable) ? "stable" : "unstable", detail);
    }
    if (s->schema_version < 3)
        return 0;       /* and one kept at version 2 no environment_json */
    char *env = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(root, "environment"));
    const char *pe[] = {env, eid};
    int rc = s->be->exec(s, "UPDATE experiments SET environment_json = ? WHERE id = ?", 2, pe, NULL, NULL, err);
    free(env);
    return rc;
}

static int append_doc(history_store *s, const cJSON *root, const char *abs_path, const history_tag *tags, int ntags,
                      long long *experiment_id, bool *replaced, history_error *err)
{
    const cJSON *env = cJSON_GetObjectItemCaseSensitive(root, "environment");
    const cJSON *pm = cJSON_GetObjectItemCaseSensitive(root, "primary_metric");
    const char *name = jstr(root, "name"), *created = jstr(root, "created_utc");
    uint64_t h = hist_fnv1a(HIST_FNV_INIT, name);
    h = hist_fnv1a(h, created);
    h = hist_fnv1a(h, jstr(env, "hostname"));
    h = hist_fnv1a(h, abs_path);
    char uid[24];
    snprintf(uid, sizeof uid, "%016llx", (unsigned long long)h);
    if (s->be->lock(s, h, err) < 0)
        return -1;
    char buf[32];
    int found;
    const char *pu[1] = {uid};
    if (hist_query_text(s, "SELECT id FROM experiments WHERE uid = ?", 1, pu, buf, sizeof buf, &found, err) < 0)
        return -1;
    if (found)
        EXEC("DELETE FROM experiments WHERE uid = ?", uid);
    if (replaced)
        *replaced = found;
    long long machine = 0;
    if (upsert_machine(s, env, &machine, err) < 0)
        return -1;
    char *config = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(root, "config"));
    char chash[24] = "";
    if (config)
        snprintf(chash, sizeof chash, "%016llx", (unsigned long long)hist_fnv1a(HIST_FNV_INIT, config));
    /* thermabench's own build: environment.build, or the flat fields of older files. */
    const cJSON *build = cJSON_GetObjectItemCaseSensitive(env, "build");
    char tb_build[80] = "";
    const char *bc = jstr(build, "git_commit") ? jstr(build, "git_commit") : jstr(env, "git_commit");
    if (bc)
        snprintf(tb_build, sizeof tb_build, "%s%s", bc,
                 cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(build, "git_dirty")) ? "-dirty" : "");
    const char *compiler = jstr(build, "compiler") ? jstr(build, "compiler") : jstr(env, "compiler");
    const char *version = jstr(build, "thermabench_version") ? jstr(build, "thermabench_version")
                                                             : jstr(env, "thermabench_version");
    const history_tag *commit = find_tag(tags, ntags, "commit"), *branch = find_tag(tags, ntags, "branch"),
                      *dirty = find_tag(tags, ntags, "dirty"), *describe = find_tag(tags, ntags, "describe");
    const cJSON *hib = cJSON_GetObjectItemCaseSensitive(pm, "higher_is_better");
    hist_num cu, mid, now;
    const char *p[] = {uid, name, jstr(root, "status"), created, hist_int(&cu, hist_parse_utc(created)),
                       hist_int(&mid, machine), jstr(pm, "name"), jstr(pm, "unit"), cJSON_IsFalse(hib) ? "0" : "1",
                       commit ? commit->value : NULL, branch ? branch->value : NULL,
                       !dirty ? NULL : (!strcmp(dirty->value, "0") || !strcmp(dirty->value, "false") ? "0" : "1"),
                       describe ? describe->value : NULL, chash[0] ? chash : NULL, config,
                       version, tb_build[0] ? tb_build : NULL, compiler, abs_path,
                       hist_int(&now, (long long)time(NULL))};
    int rc = hist_query_text(s,
                             "INSERT INTO experiments (uid, name, status, created_utc, created_unix, machine_id, "
                             "metric_name, metric_unit, higher_is_better, git_commit, git_branch, git_dirty, "
                             "git_describe, config_hash, config_json, tb_version, tb_build, compiler, results_path, "
                             "appended_unix) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                             "RETURNING id",
                             (int)(sizeof p / sizeof p[0]), p, buf, sizeof buf, &found, err);
    free(config);
    if (rc < 0)
        return -1;
    if (!found)
        return hist_fail(err, 1, s, "experiment: no id returned");
    long long id = atoll(buf);
    if (experiment_id)
        *experiment_id = id;
    return insert_children(s, id, root, tags, ntags, abs_path, err);
}

int history_append_results(history_store *s, const char *results_path, const history_tag *tags, int ntags,
                           long long *experiment_id, bool *replaced, history_error *err)
{
    cJSON *root = load_results(results_path, err);
    if (!root)
        return -1;
    char abs_path[PATH_MAX];
    if (!realpath(results_path, abs_path))
        snprintf(abs_path, sizeof abs_path, "%s", results_path);
    int rc = s->be->begin(s, 0, err);
    if (rc == 0) {
        rc = append_doc(s, root, abs_path, tags, ntags, experiment_id, replaced, err);
        if (rc == 0)
            rc = s->be->commit(s, err);
        if (rc < 0)
            s->be->rollback(s);
    }
    cJSON_Delete(root);
    return rc;
}
