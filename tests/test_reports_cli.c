/* thermabench compare / gate / report end to end on synthetic results files:
 * every gate verdict and exit code, JUnit and Markdown output, input errors,
 * and the report files. Expected verdicts follow from the generated means
 * (e.g. 100 vs 90 tokens/s at CV 1 % is a 10 % regression, far beyond the
 * 3 % margin). With --write-sample DIR it only writes a sample (for looking
 * at report.html by hand). */
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_reports_synth.h"
#include "tb_test.h"

static char tmp[256];

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int contains(const char *path, const char *needle)
{
    char *t = tb_read_all(path, NULL);
    int r = t && strstr(t, needle) != NULL;
    free(t);
    return r;
}

/* One single-variant results file in tmp/<name>/. */
static void one(const char *name, double mean, double cv, uint64_t seed, const char *cpu, const char *throttle)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/%s", tmp, name);
    mkdir(dir, 0755);
    synth_variant v = {"main", mean, cv, NULL};
    synth_opts o;
    synth_defaults(&o);
    o.seed = seed;
    if (cpu)
        o.cpu_model = cpu;
    if (throttle)
        o.throttle = throttle;
    CHECK(synth_write(dir, &v, 1, &o) == 0);
}

#define GATE(extra, ...) sh("%s gate --baseline %s/base/results.json " extra " >%s/out.txt 2>&1", TB_BINARY, tmp, \
                             __VA_ARGS__, tmp)

static void test_gate(void)
{
    one("base", 100, 0.01, 1, NULL, NULL);
    one("same", 100, 0.01, 2, NULL, NULL);
    one("slow", 90, 0.01, 3, NULL, NULL);
    one("fast", 110, 0.01, 4, NULL, NULL);
    one("edge", 97, 0.02, 5, NULL, NULL);           /* 3 % slower at CV 2 %: CI straddles -3 % */
    one("hot", 100, 0.01, 6, NULL, "yes");
    one("othercpu", 100, 0.01, 7, "Intel Xeon synthetic", NULL);
    char out[512];
    snprintf(out, sizeof out, "%s/out.txt", tmp);

    CHECK(GATE("--candidate %s/same/results.json", tmp) == 0);
    CHECK(contains(out, "gate: pass"));
    CHECK(GATE("--candidate %s/slow/results.json --junit %s/j.xml --markdown %s/s.md", tmp, tmp, tmp) == 1);
    CHECK(contains(out, "gate: regression"));
    char p[512];
    snprintf(p, sizeof p, "%s/j.xml", tmp);
    CHECK(contains(p, "<failure message=\"regression\""));
    CHECK(contains(p, "failures=\"1\""));
    snprintf(p, sizeof p, "%s/s.md", tmp);
    CHECK(contains(p, "## thermabench gate: regression"));
    CHECK(GATE("--candidate %s/fast/results.json", tmp) == 0);
    CHECK(contains(out, "gate: improvement"));
    CHECK(GATE("--candidate %s/edge/results.json --junit %s/j2.xml", tmp, tmp) == 3);
    CHECK(contains(out, "gate: inconclusive") && contains(out, "straddles"));
    snprintf(p, sizeof p, "%s/j2.xml", tmp);
    CHECK(contains(p, "<skipped message=\"inconclusive\""));
    CHECK(GATE("--candidate %s/edge/results.json --inconclusive pass", tmp) == 0);
    CHECK(GATE("--candidate %s/edge/results.json --inconclusive fail", tmp) == 1);
    /* A wider margin makes the same data a pass; a tighter one a regression. */
    CHECK(GATE("--candidate %s/edge/results.json --max-regression 8%%", tmp) == 0);
    CHECK(GATE("--candidate %s/slow/results.json --max-regression 1", tmp) == 1);
    /* Throttled runs and a different CPU: inconclusive unless allowed. */
    CHECK(GATE("--candidate %s/hot/results.json", tmp) == 3);
    CHECK(contains(out, "throttled"));
    CHECK(GATE("--candidate %s/hot/results.json --allow-throttle", tmp) == 0);
    CHECK(GATE("--candidate %s/othercpu/results.json", tmp) == 3);
    CHECK(contains(out, "another machine") && contains(out, "Intel Xeon"));
    CHECK(GATE("--candidate %s/othercpu/results.json --allow-env-mismatch", tmp) == 0);
    CHECK(GATE("--candidate %s/othercpu/results.json --allow-machine-change", tmp) == 0);
    CHECK(contains(out, "machine differs (allowed)"));

    /* Another requested workload is another benchmark: an input error unless allowed. */
    synth_variant v = {"main", 100, 0.01, NULL};
    synth_opts so;
    synth_defaults(&so);
    so.seed = 8;
    so.threads = 4;
    snprintf(p, sizeof p, "%s/threads4", tmp);
    mkdir(p, 0755);
    CHECK(synth_write(p, &v, 1, &so) == 0);
    CHECK(GATE("--candidate %s/threads4/results.json", tmp) == 2);
    CHECK(contains(out, "requested workloads differ") && contains(out, "threads '2' vs '4'"));
    CHECK(GATE("--candidate %s/threads4/results.json --allow-workload-change", tmp) == 0);
    CHECK(contains(out, "workload differs (allowed)"));
    /* Other kernels under the same request: the code under test, named, never inconclusive. */
    synth_variant vk = {"main", 90, 0.01, "matmul=avx2"};
    synth_defaults(&so);
    so.seed = 9;
    snprintf(p, sizeof p, "%s/kern", tmp);
    mkdir(p, 0755);
    CHECK(synth_write(p, &vk, 1, &so) == 0);
    CHECK(GATE("--candidate %s/kern/results.json", tmp) == 1);
    CHECK(contains(out, "regression") && contains(out, "matmul avx512 -> avx2"));
    /* A step inside the candidate's session: named with the clock that fell, not a regression. */
    synth_defaults(&so);
    so.seed = 10;
    so.runs_per_variant = 20;
    so.temp_slope_pct_per_c = 0;
    snprintf(p, sizeof p, "%s/base20", tmp);
    mkdir(p, 0755);
    CHECK(synth_write(p, &v, 1, &so) == 0);
    so.seed = 11;
    so.step_pct = -10;
    so.step_at = 11;
    snprintf(p, sizeof p, "%s/step", tmp);
    mkdir(p, 0755);
    CHECK(synth_write(p, &v, 1, &so) == 0);
    CHECK(sh("%s gate --baseline %s/base20/results.json --candidate %s/step/results.json >%s 2>&1", TB_BINARY, tmp,
             tmp, out) == 3);
    CHECK(contains(out, "stepped down") && contains(out, "at run 11 of 20 of the candidate") &&
          contains(out, "CPU clock fell"));
    /* plan-runs: the noise of these runs and the runs a 3 % margin needs. */
    CHECK(sh("%s plan-runs %s/base20/results.json >%s 2>&1", TB_BINARY, tmp, out) == 0);
    CHECK(contains(out, "20 runs in 1 session") && contains(out, "5 runs per session: 1 session (5 runs)"));
    CHECK(sh("%s plan-runs %s/base20/results.json --margin 0.05%% >%s 2>&1", TB_BINARY, tmp, out) == 0);
    CHECK(!contains(out, "5 runs per session: 1 session"));
    CHECK(sh("%s plan-runs >%s 2>&1", TB_BINARY, out) == 2);
    /* --json: the verdict, the interval and the evidence. */
    CHECK(sh("%s gate --baseline %s/base20/results.json --candidate %s/step/results.json --json >%s 2>&1",
             TB_BINARY, tmp, tmp, out) == 3);
    CHECK(contains(out, "\"verdict\": \"inconclusive\"") && contains(out, "\"at_run\":\t11"));

    /* The gate names both builds: an older file's flat fields, a newer
     * one's environment.build (commit, dirty, type, sanitizers, flags). */
    synth_variant nv = {"main", 100, 0.01, NULL};
    synth_opts no;
    synth_defaults(&no);
    no.seed = 8;
    no.build_commit = "0123abcd4567";
    snprintf(p, sizeof p, "%s/newbuild", tmp);
    mkdir(p, 0755);
    CHECK(synth_write(p, &nv, 1, &no) == 0);
    CHECK(GATE("--candidate %s/newbuild/results.json --junit %s/j3.xml --markdown %s/s3.md", tmp, tmp, tmp) == 0);
    CHECK(contains(out, "baseline build:  000000000000, gcc 12.2.0\n"));
    CHECK(contains(out, "candidate build: 0123abcd4567 (dirty), RelWithDebInfo with sanitizers address,undefined, "
                        "GNU 12.2.0, -O2 -g -fsanitize=address,undefined\n"));
    snprintf(p, sizeof p, "%s/j3.xml", tmp);
    CHECK(contains(p, "<property name=\"candidate_build\" value=\"0123abcd4567 (dirty), RelWithDebInfo"));
    snprintf(p, sizeof p, "%s/s3.md", tmp);
    CHECK(contains(p, "Baseline build: 000000000000, gcc 12.2.0"));
    CHECK(sh("%s report %s/newbuild/results.json -o %s/newbuild/rep >%s 2>&1", TB_BINARY, tmp, tmp, out) == 0);
    snprintf(p, sizeof p, "%s/newbuild/rep/report.md", tmp);
    CHECK(contains(p, "- build: 0123abcd4567 \\(dirty\\), RelWithDebInfo with sanitizers address,undefined, GNU 12.2.0"));   /* Markdown-escaped */

    /* Another build type or other sanitizers change speed as another machine
     * does: inconclusive unless allowed, and named. A 10 % regression of a
     * Debug build against a Release one is not called a regression. */
    synth_defaults(&no);
    no.seed = 11;
    no.build_commit = "0123abcd4567";
    no.build_type = "Release";
    no.sanitizers = "";
    snprintf(p, sizeof p, "%s/rel", tmp);
    mkdir(p, 0755);
    CHECK(synth_write(p, &nv, 1, &no) == 0);
    synth_variant slowv = {"main", 90, 0.01, NULL};
    no.seed = 12;
    no.build_type = "Debug";
    snprintf(p, sizeof p, "%s/dbg", tmp);
    mkdir(p, 0755);
    CHECK(synth_write(p, &slowv, 1, &no) == 0);
    no.seed = 13;
    no.build_type = "release";
    no.sanitizers = "address";
    snprintf(p, sizeof p, "%s/asan", tmp);
    mkdir(p, 0755);
    CHECK(synth_write(p, &nv, 1, &no) == 0);
    CHECK(sh("%s gate --baseline %s/rel/results.json --candidate %s/dbg/results.json >%s 2>&1", TB_BINARY, tmp, tmp,
             out) == 3);
    CHECKF(contains(out, "another build: build_type 'Release' vs 'Debug'") && contains(out, "--allow-build-change") &&
               contains(out, "otherwise regression"), "%s", "Debug vs Release not held back");
    CHECK(sh("%s gate --baseline %s/rel/results.json --candidate %s/dbg/results.json --allow-build-change >%s 2>&1",
             TB_BINARY, tmp, tmp, out) == 1);
    CHECK(contains(out, "build differs (allowed): build_type 'Release' vs 'Debug'"));
    CHECK(sh("%s gate --baseline %s/rel/results.json --candidate %s/asan/results.json --json >%s 2>&1", TB_BINARY,
             tmp, tmp, out) == 3);
    CHECK(contains(out, "sanitizers 'none' vs 'address'") && !contains(out, "build_type 'Release'"));
    CHECK(contains(out, "\"build_differs\":\ttrue"));

    /* Usage and input errors: exit 2 with a message naming the problem. */
    CHECK(sh("%s gate >%s 2>&1", TB_BINARY, out) == 2);
    CHECK(contains(out, "thermabench gate: --baseline and --candidate are both required"));
    CHECK(GATE("--candidate %s/nope.json", tmp) == 2);
    CHECK(contains(out, "nope.json: cannot open"));
    CHECK(GATE("--candidate %s/same/results.json --max-regression 3x", tmp) == 2);
    CHECK(contains(out, "--max-regression"));
    CHECK(GATE("--candidate %s/same/results.json --inconclusive maybe", tmp) == 2);
    CHECK(GATE("--candidate %s/same/results.json --bogus", tmp) == 2);
    snprintf(p, sizeof p, "%s/bad.json", tmp);
    FILE *f = fopen(p, "w");
    if (f) {
        fputs("{\"schema\": \"thermabench-results\", \"schema_version\": 1, \"runs\": [ {\"variant\": ", f);
        fclose(f);
    }
    CHECK(GATE("--candidate %s/bad.json", tmp) == 2);
    CHECK(contains(out, "bad.json: not valid JSON (error near byte"));
    f = fopen(p, "w");
    if (f) {
        fputs("{\"schema\": \"thermabench-results\", \"schema_version\": 2}", f);
        fclose(f);
    }
    CHECK(GATE("--candidate %s/bad.json", tmp) == 2);
    CHECK(contains(out, "schema_version: expected 1"));
    f = fopen(p, "w");
    if (f) {
        fputs("{\"schema\": \"thermabench-results\", \"schema_version\": 1, \"primary_metric\": {\"name\": \"m\"},"
              " \"runs\": [{\"variant\": \"A\", \"status\": \"ok\", \"metrics\": {\"m\": \"fast\"}}]}", f);
        fclose(f);
    }
    CHECK(GATE("--candidate %s/bad.json", tmp) == 2);
    CHECK(contains(out, "runs[0].metrics.m: expected a number or null"));
    f = fopen(p, "w");      /* 65 variants: refused, not cut to fit */
    if (f) {
        fputs("{\"schema\": \"thermabench-results\", \"schema_version\": 1, \"primary_metric\": {\"name\": \"m\"},"
              " \"runs\": [], \"variants\": [", f);
        for (int i = 0; i < 65; i++)
            fprintf(f, "%s{\"name\": \"v%d\"}", i ? ", " : "", i);
        fputs("]}", f);
        fclose(f);
    }
    CHECK(GATE("--candidate %s/bad.json", tmp) == 2);
    CHECK(contains(out, "variants: more than 64"));

    /* Numbers range-checked before conversion, names kept whole or refused,
     * text that is not UTF-8 refused: each an input error naming the field. */
    static const struct {
        const char *json, *expect;
    } bad[] = {
        {"\"environment\": {\"cpus_online\": -1e300}, \"runs\": []",
         "environment.cpus_online: expected a whole number from 1 to 1048576, got -1e+300"},
        {"\"environment\": {\"cpus_online\": 2.5}, \"runs\": []", "environment.cpus_online: expected a whole number"},
        {"\"runs\": [{\"index\": 1e300, \"variant\": \"A\", \"status\": \"ok\", \"metrics\": {\"m\": 1}}]",
         "runs[0].index: expected a whole number from 0 to 2147483647"},
        {"\"runs\": [{\"variant\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-one\", \"status\": \"ok\","
         " \"metrics\": {\"m\": 1}}]", "runs[0].variant: 67 bytes long, at most 63 allowed (names are kept whole)"},
        {"\"variants\": [{\"name\": \"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-two\"}], \"runs\": []",
         "variants[0].name: 67 bytes long"},
        {"\"runs\": [{\"variant\": \"A\", \"status\": \"ok\", \"metrics\": {\"m\": 1e308}}]",
         "runs[0].metrics.m: 1e+308 is out of range"},
        {"\"runs\": [{\"variant\": \"A\", \"status\": \"ok\", \"metrics\": {\"m\": 1}, \"telemetry\":"
         " {\"throttle\": \"yes-and-also-something-long\"}}]", "runs[0].telemetry.throttle: 27 bytes long"},
        {"\"name\": \"x\xff\", \"runs\": []", "bad.json: byte 98: not UTF-8 text"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        f = fopen(p, "w");
        if (f) {
            fprintf(f, "{\"schema\": \"thermabench-results\", \"schema_version\": 1, \"primary_metric\": {\"name\": \"m\"},"
                       " %s}", bad[k].json);
            fclose(f);
        }
        CHECK(GATE("--candidate %s/bad.json", tmp) == 2);
        CHECKF(contains(out, bad[k].expect), "case %zu: no '%s'", k, bad[k].expect);
    }
}

static void test_compare_and_report(void)
{
    char dir[512], out[512], p[600];
    snprintf(dir, sizeof dir, "%s/ab", tmp);
    mkdir(dir, 0755);
    synth_variant v[2] = {{"A", 100, 0.01, "matmul=scalar"}, {"B", 104, 0.01, "matmul=avx512"}};
    synth_opts o;
    synth_defaults(&o);
    o.telemetry_csv = 1;
    CHECK(synth_write(dir, v, 2, &o) == 0);
    snprintf(out, sizeof out, "%s/out.txt", tmp);
    CHECK(sh("%s compare %s/results.json >%s 2>&1", TB_BINARY, dir, out) == 0);
    CHECK(contains(out, "B is faster than A"));
    CHECK(contains(out, "after adjusting for temperature"));
    /* --detect: the sample-size line for a chosen change (the formula is tested in test_reports_stats). */
    CHECK(sh("%s compare %s/results.json --detect 1%% >%s 2>&1", TB_BINARY, dir, out) == 0);
    CHECK(contains(out, "runs per variant to detect a 1% change"));
    CHECK(sh("%s compare %s/results.json --detect x >%s 2>&1", TB_BINARY, dir, out) == 2);
    CHECK(sh("%s compare %s/results.json --json >%s 2>&1", TB_BINARY, dir, out) == 0);
    char *js = tb_read_all(out, NULL);
    cJSON *root = js ? cJSON_Parse(js) : NULL;
    CHECK(root != NULL);
    cJSON *c0 = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "comparisons"), 0);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(c0, "verdict")), "faster");
    /* 104/100 with temperatures alike in both (interleaved): the ratio is near 1.04. */
    CHECK_NEAR(cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(c0, "effect"), "ratio")), 1.04, 0.01);
    cJSON_Delete(root);
    free(js);
    /* The same file marked interleaved: pairs of rounds, named in the verdict and the JSON. */
    snprintf(p, sizeof p, "%s/abpaired", tmp);
    mkdir(p, 0755);
    o.order = "interleaved";
    CHECK(synth_write(p, v, 2, &o) == 0);
    CHECK(sh("%s compare %s/results.json >%s 2>&1", TB_BINARY, p, out) == 0);
    CHECK(contains(out, "B is faster than A") && contains(out, "paired rounds"));
    CHECK(sh("%s compare %s/results.json --json >%s 2>&1", TB_BINARY, p, out) == 0);
    CHECK(contains(out, "\"design\":\t\"paired: rounds of one interleaved file"));
    /* A/A across two files: no detectable difference. */
    one("aa1", 100, 0.01, 11, NULL, NULL);
    one("aa2", 100, 0.01, 12, NULL, NULL);
    CHECK(sh("%s compare %s/aa1/results.json %s/aa2/results.json >%s 2>&1", TB_BINARY, tmp, tmp, out) == 0);
    CHECK(contains(out, "No detectable difference") && contains(out, "could detect a change of about"));
    /* Both files are results.json with a variant "main": the labels name the
     * directories, so the two rows differ; one file against itself says so. */
    CHECK(contains(out, "main (aa1/results.json)") && contains(out, "main (aa2/results.json)"));
    CHECK(sh("%s compare %s/aa1/results.json %s/aa1/../aa1/results.json >%s 2>&1", TB_BINARY, tmp, tmp, out) == 0);
    CHECK(contains(out, "main (baseline file)") && contains(out, "main (candidate file)"));
    CHECK(sh("%s compare %s/aa1/results.json >%s 2>&1", TB_BINARY, tmp, out) == 2);     /* one variant */
    CHECK(sh("%s compare %s/results.json --baseline-variant Z >%s 2>&1", TB_BINARY, dir, out) == 2);
    CHECK(contains(out, "no variant 'Z'"));
    CHECK(sh("%s compare >%s 2>&1", TB_BINARY, out) == 2);

    /* Several variants in both files: each gated, Bonferroni over them. */
    CHECK(sh("%s gate --baseline %s/results.json --candidate %s/results.json >%s 2>&1", TB_BINARY, dir, dir, out) == 0);
    CHECK(contains(out, "Bonferroni over 2 variants") && contains(out, "97.5% CI"));

    /* report: files written, self-contained HTML, CSV with every run. */
    CHECK(sh("%s report %s/results.json -o %s/rep >%s 2>&1", TB_BINARY, dir, dir, out) == 0);
    snprintf(p, sizeof p, "%s/rep/report.md", dir);
    CHECK(contains(p, "B is faster than A"));
    CHECK(contains(p, "Thermal sensitivity"));
    CHECK(contains(p, "scaling governor is 'powersave'"));
    CHECK(contains(p, "- build: 000000000000, gcc 12.2.0\n"));     /* an older file's flat fields */
    CHECK(contains(p, "run `thermabench report DIR/results.json -o OUT`"));   /* how to regenerate it */
    snprintf(p, sizeof p, "%s/rep/plot-timeline.svg", dir);
    CHECK(sh("gnuplot --version >/dev/null 2>&1") != 0 || access(p, R_OK) == 0);
    snprintf(p, sizeof p, "%s/rep/report.md", dir);
    snprintf(p, sizeof p, "%s/rep/runs.csv", dir);
    char *csv = tb_read_all(p, NULL);
    int lines = 0;
    for (char *c = csv; c && *c; c++)
        lines += *c == '\n';
    CHECK(lines == 1 + 21);     /* header + warm-up + 2 x 10 */
    free(csv);
    snprintf(p, sizeof p, "%s/rep/report.html", dir);
    char *html = tb_read_all(p, NULL);
    CHECK(html != NULL);
    if (html) {
        CHECK(strstr(html, "</html>") != NULL);
        CHECK(strstr(html, "<script") == NULL);
        CHECK(strstr(html, "src=") == NULL);     /* nothing loaded from anywhere */
        CHECK(strstr(html, "https:") == NULL);
        if (sh("gnuplot --version >/dev/null 2>&1") == 0) {
            int svgs = 0;
            for (char *q = html; (q = strstr(q, "<svg")); q++)
                svgs++;
            CHECK(svgs == 4);
        } else {
            CHECK(strstr(html, "gnuplot is not installed") != NULL);
        }
    }
    free(html);
    CHECK(sh("%s report %s/missing.json >%s 2>&1", TB_BINARY, tmp, out) == 2);
    CHECK(contains(out, "thermabench report: ") && contains(out, "cannot open"));

    /* Without gnuplot (empty PATH): the report says so and keeps the tables. */
    CHECK(sh("env PATH= %s report %s/results.json -o %s/nognuplot >%s 2>&1", TB_BINARY, dir, dir, out) == 0);
    snprintf(p, sizeof p, "%s/nognuplot/report.html", dir);
    CHECK(contains(p, "gnuplot is not installed") && contains(p, "B is faster than A") && !contains(p, "<svg"));

    /* A variant name that tries to end gnuplot's string and run a command. */
    char evil[300], marker[300];
    snprintf(evil, sizeof evil, "%s/evil", tmp);
    snprintf(marker, sizeof marker, "%s/pwned", tmp);
    mkdir(evil, 0755);
    char name[400];
    snprintf(name, sizeof name, "x'; system 'touch %s'; '", marker);
    synth_variant ev[2] = {{"A", 100, 0.01, NULL}, {name, 100, 0.01, NULL}};
    CHECK(synth_write(evil, ev, 2, &o) == 0);
    CHECK(sh("%s report %s/results.json >%s 2>&1", TB_BINARY, evil, out) == 0);
    CHECK(access(marker, F_OK) != 0);
    snprintf(p, sizeof p, "%s/report.html", evil);
    CHECK(contains(p, "x&#39;; system") || contains(p, "x'; system"));

    /* report_generate directly, as `thermabench run` calls it. */
    report_error err;
    snprintf(p, sizeof p, "%s/results.json", dir);
    char od[600];
    snprintf(od, sizeof od, "%s/rep2", dir);
    CHECK(report_generate(p, od, &err) == 0);
    snprintf(p, sizeof p, "%s/nothing.json", dir);
    CHECK(report_generate(p, od, &err) == -1 && strstr(err.msg, "nothing.json") != NULL);
}

/* Lower-is-better metrics (latency): a larger value is the regression. */
static void test_direction(void)
{
    double base[12], slow[12], fast[12], r, lo, hi;
    char why[256];
    uint64_t s = 3;
    for (int i = 0; i < 12; i++) {
        base[i] = 100 * (1 + 0.01 * report_rng_normal(&s));
        slow[i] = 110 * (1 + 0.01 * report_rng_normal(&s));
        fast[i] = 90 * (1 + 0.01 * report_rng_normal(&s));
    }
    report_gate_options o;
    report_gate_defaults(&o);
    CHECK(report_gate_samples(base, 12, slow, 12, false, &o, &r, &lo, &hi, why, sizeof why) == REPORT_GATE_REGRESSION);
    CHECK(r < 1 && lo <= r && r <= hi);
    CHECK(report_gate_samples(base, 12, fast, 12, false, &o, &r, &lo, &hi, why, sizeof why) == REPORT_GATE_IMPROVEMENT);
    CHECK(report_gate_samples(base, 12, slow, 12, true, &o, &r, &lo, &hi, why, sizeof why) == REPORT_GATE_IMPROVEMENT);
    CHECK(report_gate_samples(base, 2, slow, 12, true, &o, &r, &lo, &hi, why, sizeof why) == REPORT_GATE_INCONCLUSIVE);
    CHECK(strstr(why, "too few runs") != NULL);
    /* One wildly slow run (severe outlier) switches to the robust ratio and does not flip an A/A. */
    double aa[12];
    memcpy(aa, base, sizeof aa);
    uint64_t s2 = 9;
    for (int i = 0; i < 12; i++)
        aa[i] = 100 * (1 + 0.01 * report_rng_normal(&s2));
    aa[5] = 60;
    CHECK(report_gate_samples(base, 12, aa, 12, true, &o, &r, &lo, &hi, why, sizeof why) == REPORT_GATE_PASS);
    CHECK(strstr(why, "Hodges-Lehmann") != NULL);
    /* Five runs a side cannot be tested for a step: 99 % bounds decide, and
     * a -5 % change that 95 % bounds would call a regression is inconclusive,
     * the reason naming why. Ten runs a side: a regression. */
    double b5[5] = {99, 101, 100, 98.5, 101.5}, c5[5] = {95, 93.5, 96, 94.5, 96};
    CHECK(report_gate_samples(b5, 5, c5, 5, true, &o, &r, &lo, &hi, why, sizeof why) == REPORT_GATE_INCONCLUSIVE);
    CHECKF(strstr(why, "too few to test for a step") && strstr(why, "otherwise regression"), "%s", why);
    double b10[10], c10[10];
    for (int i = 0; i < 10; i++) {
        b10[i] = b5[i % 5];
        c10[i] = c5[i % 5];
    }
    CHECK(report_gate_samples(b10, 10, c10, 10, true, &o, &r, &lo, &hi, why, sizeof why) == REPORT_GATE_REGRESSION);
    /* CPU time of a command shorter than the clock tick reads 0 in some runs:
     * no log scale, the ratio of means instead (lower is better). A tenfold
     * slower candidate is a regression, named so; an unchanged one is not. */
    double tick[12] = {0, 1, 0, 1, 1, 0, 2, 0, 1, 0, 1, 1}, tick_aa[12] = {1, 0, 1, 0, 0, 1, 1, 0, 2, 1, 0, 1};
    double burn[12] = {10, 11, 10, 9, 10, 12, 10, 11, 10, 10, 9, 11};
    CHECK(report_gate_samples(tick, 12, burn, 12, false, &o, &r, &lo, &hi, why, sizeof why) == REPORT_GATE_REGRESSION);
    CHECKF(strstr(why, "ratio of means") && strstr(why, "values of 0"), "%s", why);
    CHECK(r < 0.2 && lo <= r && r <= hi);
    CHECK(report_gate_samples(tick, 12, tick_aa, 12, false, &o, &r, &lo, &hi, why, sizeof why) != REPORT_GATE_REGRESSION);
    CHECK(report_gate_samples(burn, 12, tick, 12, false, &o, &r, &lo, &hi, why, sizeof why) == REPORT_GATE_IMPROVEMENT);
}

/* GPU runs: the report's GPU section has per-variant clocks, power against
 * the limit, energy per token (the energy counter over the run / its
 * tokens), the clock-event reasons, cold against hot and the covariates. */
static void test_gpu_report(void)
{
    char dir[512], out[512], p[700];
    snprintf(dir, sizeof dir, "%s/gpu", tmp);
    mkdir(dir, 0755);
    synth_variant v[2] = {{"f16", 100, 0.005, NULL}, {"f32", 80, 0.005, NULL}};
    synth_opts o;
    synth_defaults(&o);
    o.gpu = 1;
    o.runs_per_variant = 24;
    o.temp_slope_pct_per_c = -0.5;   /* hot runs clearly slower */
    CHECK(synth_write(dir, v, 2, &o) == 0);
    snprintf(out, sizeof out, "%s/out.txt", tmp);
    CHECK(sh("%s report %s/results.json -o %s/rep >%s 2>&1", TB_BINARY, dir, dir, out) == 0);
    snprintf(p, sizeof p, "%s/rep/report.md", dir);
    char *md = tb_read_all(p, NULL);
    CHECK(md != NULL);
    if (!md)
        return;
    CHECKF(strstr(md, "## GPU (gpu0)") != NULL, "%s", md);
    CHECKF(strstr(md, "| f16 | 24 |") && strstr(md, "| f32 | 24 |"), "%s", md);
    CHECK(strstr(md, "of 700 W") != NULL);
    CHECK(strstr(md, "SW power cap") != NULL);
    CHECK(strstr(md, "(1740) MHz") != NULL);     /* the hot runs' 1755 MHz, less 15 at the minimum */
    /* energy per token of f16, computed here from the same file */
    snprintf(p, sizeof p, "%s/results.json", dir);
    char *js = tb_read_all(p, NULL);
    cJSON *root = js ? cJSON_Parse(js) : NULL;
    double sum = 0;
    int n = 0;
    const cJSON *r;
    cJSON_ArrayForEach(r, cJSON_GetObjectItem(root, "runs"))
    {
        if (cJSON_IsTrue(cJSON_GetObjectItem(r, "warmup")) || strcmp(cJSON_GetObjectItem(r, "variant")->valuestring, "f16"))
            continue;
        const cJSON *e = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "telemetry"), "channels"), "gpu0.energy_j");
        sum += cJSON_GetObjectItem(e, "delta")->valuedouble / 64;
        n++;
    }
    char want[64];
    snprintf(want, sizeof want, "| %.3f mJ |", 1e3 * sum / n);
    CHECKF(n == 24 && strstr(md, want) != NULL, "%s not in the report", want);
    cJSON_Delete(root);
    free(js);
    /* cold (first 6 runs) against hot (last 6): slower, with the temperature rise */
    CHECKF(strstr(md, "f16: first 6 runs (cold") && strstr(md, "hot runs slower"), "%s", md);
    CHECK(strstr(md, "SM clock -225 MHz") != NULL);   /* 1980 cold, 1755 hot */
    CHECK(strstr(md, "### A/B and the GPU's state") && strstr(md, "f32 vs f16: plain effect -20."));
    CHECK(strstr(md, "adjusted for the GPU's temperature") != NULL);
    free(md);
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--write-sample")) {
        synth_variant v[2] = {{"A", 100, 0.01, "matmul=scalar"}, {"B", 104, 0.015, "matmul=avx512"}};
        synth_opts o;
        synth_defaults(&o);
        o.telemetry_csv = 1;
        mkdir(argv[2], 0755);
        return synth_write(argv[2], v, 2, &o) == 0 ? 0 : 1;
    }
    if (access(TB_BINARY, X_OK) != 0) {
        fprintf(stderr, "no thermabench binary at %s\n", TB_BINARY);
        return TB_SKIP;
    }
    snprintf(tmp, sizeof tmp, "/tmp/tb-reports-XXXXXX");
    if (!mkdtemp(tmp))
        return 1;
    test_direction();
    test_gate();
    test_compare_and_report();
    test_gpu_report();
    if (!tb_failed)
        sh("rm -rf '%s'", tmp);
    else
        fprintf(stderr, "files kept in %s\n", tmp);
    TB_MAIN_END();
}
