/* End to end: `thermabench run` as a subprocess on configs written to a temp
 * directory. External workloads that succeed, crash, hang, print garbage or
 * nothing; in-process engine runs; Ctrl-C and --resume; config errors; the
 * temperature cooldown against a fake thermal zone; --strict.
 * argv[1]: the fake_workload helper. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "tb_test.h"

static const char *fake;
static char tmp[256];
static char err_text[65536], out_text[65536];

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f) { perror(path); exit(1); }
    fputs(text, f);
    fclose(f);
}

static void read_file(const char *path, char *buf, size_t n)
{
    FILE *f = fopen(path, "r");
    size_t len = f ? fread(buf, 1, n - 1, f) : 0;
    if (f) fclose(f);
    buf[len] = 0;
}

/* Starts thermabench with args; stdout/stderr go to files in tmp. */
static pid_t start(const char *const *args)
{
    char *argv[32];
    int n = 0;
    argv[n++] = (char *)TB_BINARY;
    argv[n++] = "run";
    for (; args[n - 2]; n++) argv[n] = (char *)args[n - 2];
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        char p[512];
        snprintf(p, sizeof p, "%s/stdout", tmp);
        int fo = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        snprintf(p, sizeof p, "%s/stderr", tmp);
        int fe = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fo, 1);
        dup2(fe, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

static int finish(pid_t pid)
{
    int status;
    /* Never hang the suite: 120 s is far beyond any case here. */
    for (int i = 0; i < 12000; i++) {
        if (waitpid(pid, &status, WNOHANG) == pid) {
            char p[512];
            snprintf(p, sizeof p, "%s/stderr", tmp);
            read_file(p, err_text, sizeof err_text);
            snprintf(p, sizeof p, "%s/stdout", tmp);
            read_file(p, out_text, sizeof out_text);
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        sleep_ms(10);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

static int run(const char *const *args) { return finish(start(args)); }

static cJSON *load_json(const char *path)
{
    static char buf[4 << 20];
    read_file(path, buf, sizeof buf);
    return cJSON_Parse(buf);
}

static cJSON *results(const char *dir)
{
    char p[512];
    snprintf(p, sizeof p, "%s/results.json", dir);
    return load_json(p);
}

static const cJSON *get(const cJSON *o, const char *k) { return cJSON_GetObjectItemCaseSensitive(o, k); }
static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = get(o, k);
    return cJSON_IsString(v) ? v->valuestring : "(not a string)";
}
static double num(const cJSON *o, const char *k)
{
    const cJSON *v = get(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static const cJSON *run_of(const cJSON *doc, const char *variant)
{
    const cJSON *r;
    cJSON_ArrayForEach(r, get(doc, "runs"))
        if (!strcmp(str(r, "variant"), variant)) return r;
    return NULL;
}

#define CHECK_HAS(s, sub) CHECKF(strstr((s), (sub)) != NULL, "'%s' lacks '%s'", (s), (sub))

static void test_external(void)
{
    char cfg[4096], path[512], dir[512];
    snprintf(cfg, sizeof cfg,
             "{\"name\": \"ext\", \"workload\": {\"type\": \"command\", \"command\": [\"%s\", \"json\", \"41.5\"],"
             " \"metrics\": [{\"name\": \"tok_s\", \"unit\": \"tokens/s\", \"json_path\": \"result.tok_s\"}]},"
             " \"variants\": [{\"name\": \"json\"},"
             "  {\"name\": \"logjson\", \"command\": [\"%s\", \"logjson\", \"40\"]},"
             "  {\"name\": \"regex\", \"command\": [\"%s\", \"regex\", \"39.5\"],"
             "   \"metrics\": [{\"name\": \"tok_s\", \"unit\": \"tokens/s\", \"regex\": \"throughput: ([0-9.]+) tok/s\"}]},"
             "  {\"name\": \"crash\", \"command\": [\"%s\", \"crash\"]},"
             "  {\"name\": \"garbage\", \"command\": [\"%s\", \"garbage\"]},"
             "  {\"name\": \"nothing\", \"command\": [\"%s\", \"nothing\"]},"
             "  {\"name\": \"exit3\", \"command\": [\"%s\", \"exit\", \"3\"]}],"
             " \"repetitions\": 1, \"warmup\": 0, \"order\": \"sequential\", \"timeout_s\": 120,"
             " \"probes\": {\"enabled\": false}}",
             fake, fake, fake, fake, fake, fake, fake);
    snprintf(path, sizeof path, "%s/ext.json", tmp);
    snprintf(dir, sizeof dir, "%s/ext", tmp);
    write_file(path, cfg);
    CHECK(run((const char *[]){path, "--out", dir, "--no-report", NULL}) == 0);
    CHECK_HAS(out_text, "results: ");
    cJSON *d = results(dir);
    CHECK(d != NULL);
    if (!d) return;
    CHECK_STR(str(d, "status"), "complete");
    CHECK(cJSON_GetArraySize(get(d, "runs")) == 7);
    const cJSON *r;
    CHECK((r = run_of(d, "json")) && !strcmp(str(r, "status"), "ok") && num(get(r, "metrics"), "tok_s") == 41.5);
    CHECK((r = run_of(d, "logjson")) && !strcmp(str(r, "status"), "ok") && num(get(r, "metrics"), "tok_s") == 40);
    CHECK((r = run_of(d, "regex")) && !strcmp(str(r, "status"), "ok") && num(get(r, "metrics"), "tok_s") == 39.5);
    r = run_of(d, "crash");
    CHECK(r && !strcmp(str(r, "status"), "failed") && strstr(str(r, "failure"), "killed by signal 6"));
    CHECK(r && cJSON_IsNull(get(get(r, "metrics"), "tok_s")));
    r = run_of(d, "garbage");
    CHECK_STR(r ? str(r, "failure") : "", "no metric 'tok_s' in output (JSON path not found)");
    r = run_of(d, "nothing");
    CHECK_STR(r ? str(r, "failure") : "", "no output (metric 'tok_s' missing)");
    r = run_of(d, "exit3");
    CHECK_STR(r ? str(r, "failure") : "", "exit status 3");
    CHECK(r && num(r, "exit_status") == 3);
    CHECK(cJSON_IsNull(get(run_of(d, "json"), "output_tokens_hash")));
    cJSON_Delete(d);

    /* A command that hangs ends at its timeout. The timeout is the only one
     * here short enough to matter, so a command that merely runs slowly on a
     * loaded machine (the others above have 120 s) is never mistaken for one;
     * 3 s leaves the hanging one time to start and print under any load. */
    snprintf(cfg, sizeof cfg,
             "{\"name\": \"hang\", \"workload\": {\"type\": \"command\", \"command\": [\"%s\", \"hang\"],"
             " \"metrics\": [{\"name\": \"tok_s\", \"json_path\": \"result.tok_s\"}]},"
             " \"repetitions\": 1, \"warmup\": 0, \"timeout_s\": 3, \"probes\": {\"enabled\": false}}", fake);
    write_file(path, cfg);
    snprintf(dir, sizeof dir, "%s/ext-hang", tmp);
    CHECK(run((const char *[]){path, "--out", dir, "--no-report", "--quiet", NULL}) == 1);     /* every run failed */
    d = results(dir);
    r = d ? run_of(d, "default") : NULL;
    CHECK(r && !strcmp(str(r, "status"), "failed"));
    CHECK_STR(r ? str(r, "failure") : "", "timeout after 3 s");
    CHECK(r && strstr(str(r, "stdout_tail"), "about to hang"));
    cJSON_Delete(d);
    snprintf(dir, sizeof dir, "%s/ext", tmp);

    /* The same directory again is refused, not overwritten. */
    CHECK(run((const char *[]){path, "--out", dir, NULL}) == 2);
    CHECK_HAS(err_text, "already holds an experiment");

    /* Adaptive stop: constant values meet the CI target at the minimum. */
    snprintf(cfg, sizeof cfg,
             "{\"name\": \"adaptive\", \"workload\": {\"type\": \"command\", \"command\": [\"%s\", \"json\", \"3\"],"
             " \"metrics\": [{\"name\": \"x\", \"json_path\": \"result.tok_s\"}]}, \"repetitions\": 3, \"warmup\": 0,"
             " \"order\": \"random\", \"variants\": [{\"name\": \"A\"}, {\"name\": \"B\"}],"
             " \"stop\": {\"rule\": \"adaptive\", \"target_ci_pct\": 1, \"max_repetitions\": 10},"
             " \"probes\": {\"enabled\": false}}", fake);
    write_file(path, cfg);
    snprintf(dir, sizeof dir, "%s/adaptive", tmp);
    CHECK(run((const char *[]){path, "--out", dir, "--quiet", "--no-report", NULL}) == 0);
    d = results(dir);
    CHECK(d && cJSON_GetArraySize(get(d, "runs")) == 6);
    cJSON_Delete(d);

    /* Every run failing is exit status 1. */
    snprintf(cfg, sizeof cfg,
             "{\"name\": \"allfail\", \"workload\": {\"type\": \"command\", \"command\": [\"%s\", \"crash\"],"
             " \"metrics\": [{\"name\": \"x\", \"json_path\": \"x\"}]}, \"repetitions\": 2, \"warmup\": 0,"
             " \"probes\": {\"enabled\": false}}", fake);
    write_file(path, cfg);
    snprintf(dir, sizeof dir, "%s/allfail", tmp);
    CHECK(run((const char *[]){path, "--out", dir, "--quiet", "--no-report", NULL}) == 1);
}

/* The engine's figures by name must agree with each other whatever order
 * the metric table lists them in: a value filed under another metric's
 * name breaks one of these identities (tokens = rate x time, total =
 * prefill + decode, GB/s = bytes per step / median step, units). Every
 * metric but prefill_gflop_per_s is pinned by one, so any two swapped
 * labels are caught. m: results.json's run "metrics", or bench --json. */
static void check_engine_metrics(const cJSON *m, int B, int I, int O, double decode_bytes)
{
    double dec = num(m, "decode_ms"), pre = num(m, "prefill_ms"), tot = num(m, "total_ms");
    double step = num(m, "decode_step_median_ms");
    CHECK_NEAR(num(m, "decode_tokens_per_s") * dec / 1e3, (double)B * O, 1e-6 * B * O);
    CHECK_NEAR(num(m, "prefill_tokens_per_s") * pre / 1e3, (double)B * I, 1e-6 * B * I);
    CHECK_NEAR(num(m, "total_tokens_per_s") * tot / 1e3, (double)B * (I + O), 1e-6 * B * (I + O));
    CHECK_NEAR(tot, pre + dec, 1e-9 * tot);
    CHECK(step > 0 && step < dec);
    CHECK_NEAR(num(m, "decode_gb_per_s"), decode_bytes / 1e9 / (step / 1e3), 1e-9 * num(m, "decode_gb_per_s"));
    double rss = num(m, "peak_rss_bytes");
    CHECK(rss > 1e6 && rss == floor(rss));
    CHECK(num(m, "prefill_gflop_per_s") > 0);
}

/* results.json's metric table: units follow the names' suffixes, every
 * metric says where it comes from. */
static void check_metric_table(const cJSON *table, const cJSON *run_metrics)
{
    const cJSON *row;
    cJSON_ArrayForEach(row, table) {
        const char *name = str(row, "name"), *unit = str(row, "unit");
        size_t n = strlen(name);
        const char *want = n > 3 && !strcmp(name + n - 3, "_ms") ? "ms"
                         : strstr(name, "tokens_per_s") ? "tokens/s"
                         : strstr(name, "gb_per_s") ? "GB/s"
                         : strstr(name, "gflop_per_s") ? "GFLOP/s" : "bytes";
        CHECKF(!strcmp(unit, want), "metric %s: unit '%s', expected '%s'", name, unit, want);
        CHECKF(cJSON_IsBool(get(row, "higher_is_better")) &&
               cJSON_IsTrue(get(row, "higher_is_better")) == (strstr(name, "per_s") != NULL),
               "metric %s: direction", name);
        CHECKF(strlen(str(row, "source")) > 10, "metric %s: no source", name);
        CHECKF(cJSON_IsNumber(get(run_metrics, name)), "metric %s: no value", name);
    }
}

static void test_engine(void)
{
    char path[512], dir[512];
    snprintf(path, sizeof path, "%s/engine.json", tmp);
    snprintf(dir, sizeof dir, "%s/engine", tmp);
    write_file(path, "{\"name\": \"eng\", \"workload\": {\"preset\": \"tiny\", \"threads\": 1, \"input_len\": 8, \"output_len\": 8},"
                     " \"variants\": [{\"name\": \"scalar\", \"kernels\": {\"matmul\": \"scalar\"}}, {\"name\": \"default\"}],"
                     " \"repetitions\": 2, \"warmup\": 1, \"probes\": {\"fast_period_ms\": 20, \"slow_period_ms\": 100}}");
    CHECK(run((const char *[]){path, "--out", dir, "--no-report", NULL}) == 0);
    /* The run ends with the A/B verdict of default against scalar (the
     * baseline), whatever it is with two runs each. */
    CHECKF(strstr(out_text, "default is faster than scalar: decode_tokens_per_s") ||
           strstr(out_text, "default is slower than scalar: decode_tokens_per_s") ||
           strstr(out_text, "No detectable difference between scalar and default") ||
           strstr(out_text, "No verdict: default vs scalar"), "no verdict line in '%s'", out_text);
    cJSON *d = results(dir);
    CHECK(d != NULL);
    if (!d) return;
    CHECK_STR(str(d, "status"), "complete");
    CHECK(num(d, "schema_version") == 1);
    CHECK_STR(str(get(d, "primary_metric"), "name"), "decode_tokens_per_s");
    const cJSON *runs = get(d, "runs");
    CHECK(cJSON_GetArraySize(runs) == 6);
    const char *expect_v[] = {"scalar", "default", "scalar", "default", "scalar", "default"};
    const bool expect_w[] = {true, true, false, false, false, false};
    for (int i = 0; i < 6 && i < cJSON_GetArraySize(runs); i++) {
        const cJSON *r = cJSON_GetArrayItem(runs, i);
        CHECK_STR(str(r, "variant"), expect_v[i]);
        CHECK(cJSON_IsTrue(get(r, "warmup")) == expect_w[i]);
        CHECK_STR(str(r, "status"), "ok");
        CHECK(num(r, "index") == i);
        CHECK(num(get(r, "metrics"), "decode_tokens_per_s") > 0);
        CHECK(cJSON_IsString(get(r, "output_tokens_hash")));
        /* The probes' memory source works everywhere Linux runs: the
         * engine's phases are marked and summarised. */
        CHECK(cJSON_IsObject(get(get(r, "phases"), "prefill")));
        CHECK(cJSON_IsObject(get(get(r, "phases"), "decode")));
        CHECK(cJSON_IsObject(get(r, "telemetry")));
    }
    const cJSON *v0 = cJSON_GetArrayItem(get(d, "variants"), 0);
    CHECK(cJSON_GetArraySize(get(d, "metrics")) == 10);
    check_metric_table(get(d, "metrics"), get(cJSON_GetArrayItem(runs, 0), "metrics"));
    for (int i = 0; i < cJSON_GetArraySize(runs); i++)
        check_engine_metrics(get(cJSON_GetArrayItem(runs, i), "metrics"), 1, 8, 8,
                             num(get(v0, "engine_model"), "decode_bytes_per_step"));
    CHECK_HAS(str(v0, "engine_kernels"), "matmul=scalar");
    CHECK_STR(str(get(v0, "engine_model"), "format"), "synthetic");
    CHECK(num(get(v0, "engine_model"), "seq_len") == 256);
    const cJSON *oa = get(get(d, "output_agreement"), "scalar");
    CHECK(oa && num(oa, "runs") == 2 && num(oa, "match_variant_first") == 2 && cJSON_IsTrue(get(oa, "stable")));
    CHECK(cJSON_IsNumber(get(get(get(d, "output_agreement"), "default"), "match_first_variant")));

    /* A variant whose outputs change between runs is flagged: doctor one
     * run's hash, mark the file interrupted, and --resume recomputes. */
    cJSON *r4 = cJSON_GetArrayItem(get(d, "runs"), 4);
    cJSON_ReplaceItemInObjectCaseSensitive(r4, "output_tokens_hash", cJSON_CreateString("0123456789abcdef"));
    cJSON_ReplaceItemInObjectCaseSensitive(d, "status", cJSON_CreateString("interrupted"));
    char *text = cJSON_Print(d), rp[600];
    snprintf(rp, sizeof rp, "%s/results.json", dir);
    write_file(rp, text);
    free(text);
    cJSON_Delete(d);
    CHECK(run((const char *[]){"--resume", dir, "--no-report", NULL}) == 0);
    CHECK_HAS(err_text, "warning: variant 'scalar': generated tokens differ between runs");
    d = results(dir);
    oa = d ? get(get(d, "output_agreement"), "scalar") : NULL;
    CHECK(oa && num(oa, "runs") == 2 && num(oa, "match_variant_first") == 1 && cJSON_IsFalse(get(oa, "stable")));
    CHECK(d && cJSON_GetArraySize(get(d, "runs")) == 6 && !strcmp(str(d, "status"), "complete"));
    cJSON_Delete(d);
    char p[600];
    snprintf(p, sizeof p, "%s/config.json", dir);
    cJSON *c = load_json(p);
    CHECK(c && !strcmp(str(c, "name"), "eng") && num(c, "repetitions") == 2);
    cJSON_Delete(c);
    struct stat st;
    snprintf(p, sizeof p, "%s/telemetry.csv", dir);
    CHECK(stat(p, &st) == 0 && st.st_size > 0);

    /* A variant the engine refuses fails with the engine's reason; the
     * other variant's runs go on. (tiny's context is 256 tokens.) */
    snprintf(path, sizeof path, "%s/enginefail.json", tmp);
    snprintf(dir, sizeof dir, "%s/enginefail", tmp);
    write_file(path, "{\"name\": \"ef\", \"workload\": {\"preset\": \"tiny\", \"threads\": 1, \"input_len\": 8, \"output_len\": 8},"
                     " \"variants\": [{\"name\": \"toolong\", \"input_len\": 200, \"output_len\": 100}, {\"name\": \"fine\"}],"
                     " \"repetitions\": 2, \"warmup\": 0, \"probes\": {\"enabled\": false}}");
    CHECK(run((const char *[]){path, "--out", dir, "--no-report", NULL}) == 0);
    d = results(dir);
    const cJSON *r = d ? run_of(d, "toolong") : NULL;
    CHECK(r && !strcmp(str(r, "status"), "failed"));
    CHECK_HAS(r ? str(r, "failure") : "", "engine: input_len + output_len = 300 exceeds the model's context of 256");
    r = d ? run_of(d, "fine") : NULL;
    CHECK(r && !strcmp(str(r, "status"), "ok") && cJSON_IsNull(get(r, "telemetry")));
    CHECK(d && cJSON_GetArraySize(get(d, "runs")) == 4);
    cJSON_Delete(d);
}

/* Each run's telemetry headlines its own device: an OpenCL variant reads
 * the GPU's channels (the fake NVML: SM clock 1980 MHz, 250 W, 45 C), a CPU
 * variant of the same experiment the CPU's (no clock source here: null).
 * Whether OpenCL can run here does not matter: a failed run keeps its
 * telemetry. */
static void test_gpu_headline(void)
{
    char path[512], dir[512], cfg[2048];
    snprintf(path, sizeof path, "%s/gpu.json", tmp);
    snprintf(dir, sizeof dir, "%s/gpu", tmp);
    snprintf(cfg, sizeof cfg,
             "{\"name\": \"gpu\", \"workload\": {\"preset\": \"tiny\", \"threads\": 1, \"input_len\": 4, \"output_len\": 2},"
             " \"variants\": [{\"name\": \"cpu\"}, {\"name\": \"gpu\", \"backend\": \"opencl\"}],"
             " \"repetitions\": 1, \"warmup\": 0,"
             " \"probes\": {\"only\": \"nvml,memory\", \"nvml_library\": \"%s\", \"fast_period_ms\": 20}}", FAKE_NVML);
    write_file(path, cfg);
    CHECK(run((const char *[]){path, "--out", dir, "--no-report", NULL}) == 0);
    cJSON *d = results(dir);
    const cJSON *g = d ? get(run_of(d, "gpu"), "telemetry") : NULL, *c = d ? get(run_of(d, "cpu"), "telemetry") : NULL;
    CHECKF(cJSON_IsObject(g) && cJSON_IsObject(c), "no telemetry: %s", err_text);
    if (cJSON_IsObject(g) && cJSON_IsObject(c)) {
        CHECK_STR(str(g, "device"), "gpu0");
        CHECK_STR(str(g, "temp_channel"), "gpu0.temp_c");
        CHECK(num(g, "clock_mean_mhz") == 1980 && num(g, "clock_min_mhz") == 1980);
        CHECK(num(g, "power_mean_w") == 250);
        CHECK(num(g, "temp_peak_c") == 45 && num(g, "temp_mean_c") == 45);
        /* the GPU's own figures (telemetry.gpu): the fake's 700 W limit, 2619 MHz memory clock */
        const cJSON *gg = get(g, "gpu");
        CHECK(cJSON_IsObject(gg) && num(gg, "power_limit_w") == 700 && num(gg, "mem_clock_mean_mhz") == 2619);
        CHECK(num(gg, "power_of_limit_pct") > 35.7 && num(gg, "power_of_limit_pct") < 35.8);   /* 250 of 700 W */
        CHECK(num(gg, "clock_event_mask") == 0 && !strcmp(str(gg, "clock_events"), ""));
        CHECK(num(gg, "util_mean_pct") == 97);
        CHECK(get(c, "gpu") == NULL);
        CHECK_STR(str(c, "device"), "cpu");
        CHECK(cJSON_IsNull(get(c, "clock_mean_mhz")) && cJSON_IsNull(get(c, "temp_channel")));
    }
    cJSON_Delete(d);
}

/* bench --json files its figures under the same names as results.json. */
static void test_bench_json(void)
{
    char cmd[1024], path[512];
    snprintf(path, sizeof path, "%s/bench.json", tmp);
    snprintf(cmd, sizeof cmd, "'%s' bench --preset tiny --batch-size 2 --input-len 12 --output-len 5 --threads 1 --json >'%s'",
             TB_BINARY, path);
    CHECK(system(cmd) == 0);
    cJSON *b = load_json(path);
    CHECK(b != NULL);
    if (!b) return;
    check_engine_metrics(b, 2, 12, 5, num(get(b, "model"), "decode_bytes_per_step"));
    CHECK(cJSON_IsString(get(b, "output_tokens_hash")) && strlen(str(b, "output_tokens_hash")) == 16);
    cJSON_Delete(b);
}

/* Waits until results.json shows at least n finished runs. */
static bool wait_runs(const char *dir, int n, int max_ms)
{
    for (int t = 0; t < max_ms; t += 20) {
        cJSON *d = results(dir);
        int got = d ? cJSON_GetArraySize(get(d, "runs")) : -1;
        cJSON_Delete(d);
        if (got >= n) return true;
        sleep_ms(20);
    }
    return false;
}

static void test_interrupt_and_resume(void)
{
    char cfg[2048], path[512], dir[512];
    snprintf(cfg, sizeof cfg,
             "{\"name\": \"slow\", \"workload\": {\"type\": \"command\", \"command\": [\"%s\", \"slow\", \"150\", \"5\"],"
             " \"metrics\": [{\"name\": \"tok_s\", \"json_path\": \"result.tok_s\"}]},"
             " \"variants\": [{\"name\": \"A\"}, {\"name\": \"B\", \"command\": [\"%s\", \"slow\", \"150\", \"6\"]}],"
             " \"repetitions\": 4, \"warmup\": 0, \"probes\": {\"only\": \"memory\"}, \"cpu_affinity\": [0],"
             " \"cooldown\": {\"mode\": \"fixed\", \"seconds\": 0.05}}", fake, fake);
    snprintf(path, sizeof path, "%s/slow.json", tmp);
    snprintf(dir, sizeof dir, "%s/slow", tmp);
    write_file(path, cfg);
    pid_t pid = start((const char *[]){path, "--out", dir, "--no-report", NULL});
    CHECK(wait_runs(dir, 1, 20000));
    kill(pid, SIGINT);
    CHECK(finish(pid) == 130);
    CHECK_HAS(err_text, "--resume");
    cJSON *d = results(dir);
    CHECK(d != NULL);
    if (!d) return;
    CHECK_STR(str(d, "status"), "interrupted");
    int n = cJSON_GetArraySize(get(d, "runs"));
    CHECK(n >= 1 && n < 8);
    for (int i = 0; i < n; i++) {
        const cJSON *r = cJSON_GetArrayItem(get(d, "runs"), i);
        CHECK_STR(str(r, "status"), "ok");
        CHECK(num(r, "index") == i);
    }
    cJSON_Delete(d);

    CHECK(run((const char *[]){"--resume", dir, "--no-report", NULL}) == 0);
    d = results(dir);
    CHECK(d != NULL);
    if (!d) return;
    CHECK_STR(str(d, "status"), "complete");
    CHECK(cJSON_GetArraySize(get(d, "runs")) == 8);
    for (int i = 0; i < 8 && i < cJSON_GetArraySize(get(d, "runs")); i++) {
        const cJSON *r = cJSON_GetArrayItem(get(d, "runs"), i);
        CHECK(num(r, "index") == i);
        CHECK_STR(str(r, "variant"), i % 2 ? "B" : "A");
        CHECK(num(get(r, "metrics"), "tok_s") == (i % 2 ? 6 : 5));
    }
    CHECK(cJSON_GetArraySize(get(d, "sessions")) == 2);
    CHECK(cJSON_IsObject(get(cJSON_GetArrayItem(get(d, "sessions"), 1), "environment")));
    CHECK(cJSON_GetArraySize(get(d, "notes")) == 0);   /* affinity to CPU 0 worked */
    const cJSON *cd = get(cJSON_GetArrayItem(get(d, "runs"), 1), "cooldown");
    CHECK(num(cd, "waited_s") >= 0.05 && cJSON_IsNull(get(cd, "target_c")) && cJSON_IsFalse(get(cd, "timed_out")));
    CHECK(cJSON_IsNull(get(cJSON_GetArrayItem(get(d, "runs"), 0), "cooldown")));
    cJSON_Delete(d);

    /* Ctrl-C during an engine run: the run finishes and is kept. */
    snprintf(path, sizeof path, "%s/eslow.json", tmp);
    snprintf(dir, sizeof dir, "%s/eslow", tmp);
    write_file(path, "{\"name\": \"eslow\", \"workload\": {\"preset\": \"15M\", \"threads\": 1, \"input_len\": 8,"
                     " \"output_len\": 24, \"kernels\": {\"matmul\": \"scalar\"}}, \"repetitions\": 50, \"warmup\": 0,"
                     " \"probes\": {\"only\": \"memory\"}}");
    pid = start((const char *[]){path, "--out", dir, "--no-report", NULL});
    CHECK(wait_runs(dir, 1, 30000));
    kill(pid, SIGINT);
    CHECK(finish(pid) == 130);
    d = results(dir);
    n = d ? cJSON_GetArraySize(get(d, "runs")) : 0;
    CHECK(d && !strcmp(str(d, "status"), "interrupted") && n >= 1 && n < 50);
    for (int i = 0; i < n; i++)
        CHECK_STR(str(cJSON_GetArrayItem(get(d, "runs"), i), "status"), "ok");
    cJSON_Delete(d);

    /* SIGTERM while a run hangs: its process group is killed, the hanging
     * run is not recorded, and the results say "interrupted". */
    snprintf(cfg, sizeof cfg,
             "{\"name\": \"hang\", \"workload\": {\"type\": \"command\", \"command\": [\"%s\", \"hang\"],"
             " \"metrics\": [{\"name\": \"x\", \"json_path\": \"x\"}]}, \"repetitions\": 1, \"warmup\": 0,"
             " \"timeout_s\": 60, \"probes\": {\"enabled\": false}}", fake);
    write_file(path, cfg);
    snprintf(dir, sizeof dir, "%s/hang", tmp);
    pid = start((const char *[]){path, "--out", dir, "--no-report", NULL});
    CHECK(wait_runs(dir, 0, 20000));
    sleep_ms(200);
    kill(pid, SIGTERM);
    CHECK(finish(pid) == 130);
    d = results(dir);
    CHECK(d && !strcmp(str(d, "status"), "interrupted") && cJSON_GetArraySize(get(d, "runs")) == 0);
    cJSON_Delete(d);
}

/* The pid a fake workload wrote to path (waits up to 20 s for it), or 0. */
static int wait_pidfile(const char *path)
{
    for (int t = 0; t < 20000; t += 20) {
        char buf[32] = "";
        read_file(path, buf, sizeof buf);
        if (atoi(buf) > 0) return atoi(buf);
        sleep_ms(20);
    }
    return 0;
}

static bool process_gone(int pid)
{
    /* Reaped by the harness before it exits: no zombie is left to see. */
    return pid > 0 && kill(pid, 0) < 0 && errno == ESRCH;
}

/* Ctrl-C ends every workload the harness started: one that ignores SIGTERM
 * (a second Ctrl-C during the grace period hastens the kill and never skips
 * it), and a child that left the process group with setsid. */
static void test_signals_end_workloads(void)
{
    const char *modes[] = {"ignoreterm", "setsid"};
    for (int m = 0; m < 2; m++) {
        char cfg[2048], path[512], dir[512], pidfile[512];
        snprintf(path, sizeof path, "%s/%s.json", tmp, modes[m]);
        snprintf(pidfile, sizeof pidfile, "%s/%s.pid", tmp, modes[m]);
        snprintf(dir, sizeof dir, "%s/%s", tmp, modes[m]);
        snprintf(cfg, sizeof cfg,
                 "{\"name\": \"%s\", \"workload\": {\"type\": \"command\", \"command\": [\"%s\", \"%s\", \"%s\"]},"
                 " \"repetitions\": 1, \"warmup\": 0, \"timeout_s\": 120, \"probes\": {\"enabled\": false}}",
                 modes[m], fake, modes[m], pidfile);
        write_file(path, cfg);
        pid_t pid = start((const char *[]){path, "--out", dir, "--no-report", NULL});
        int wpid = wait_pidfile(pidfile);
        CHECKF(wpid > 0, "%s: no pid file", modes[m]);
        kill(pid, SIGINT);
        if (m == 0) {
            sleep_ms(100);
            kill(pid, SIGINT);
        }
        CHECKF(finish(pid) == 130, "%s: exit status 130", modes[m]);
        CHECKF(process_gone(wpid), "%s: workload %d still running after the harness exited", modes[m], wpid);
        if (wpid > 0) kill(wpid, SIGKILL);
    }
}

/* A command that prints every byte value and NULs: results.json is still
 * JSON that Python's json module reads (strict UTF-8), the exact bytes are
 * in base64 beside the text, and the metric after them is found. */
static void test_arbitrary_bytes(void)
{
    char cfg[2048], path[512], dir[512], cmd[2048];
    snprintf(path, sizeof path, "%s/bytes.json", tmp);
    snprintf(dir, sizeof dir, "%s/bytes", tmp);
    snprintf(cfg, sizeof cfg,
             "{\"name\": \"bytes\", \"workload\": {\"type\": \"command\", \"command\": [\"%s\", \"bytes\", \"2.5\"],"
             " \"metrics\": [{\"name\": \"tok_s\", \"json_path\": \"result.tok_s\"}]},"
             " \"variants\": [{\"name\": \"bytes\"}], \"repetitions\": 2, \"warmup\": 0, \"probes\": {\"enabled\": false}}",
             fake);
    write_file(path, cfg);
    CHECK(run((const char *[]){path, "--out", dir, NULL}) == 0);
    snprintf(cmd, sizeof cmd, "'%s' '%s/tests/scripts/check_results_bytes.py' '%s/results.json' >&2", TB_PYTHON3,
             TB_SOURCE_DIR, dir);
    CHECKF(system(cmd) == 0, "%s", cmd);
}

static void expect_config_error(const char *name, const char *text, const char *expect)
{
    char path[512], want[1024];
    snprintf(path, sizeof path, "%s/%s.json", tmp, name);
    write_file(path, text);
    CHECKF(run((const char *[]){path, NULL}) == 2, "%s: exit status 2", name);
    snprintf(want, sizeof want, "thermabench run: %s: %s", path, expect);
    CHECK_HAS(err_text, want);
}

static void test_config_errors(void)
{
    expect_config_error("unknown", "{\"name\": \"x\", \"workload\": {\"ouput_len\": 4}}",
                        "workload: unknown field 'ouput_len' (did you mean 'output_len'?)");
    expect_config_error("type", "{\"name\": \"x\", \"warmup\": \"2\"}", "warmup: expected an integer, got a string");
    expect_config_error("range", "{\"name\": \"x\", \"cooldown\": {\"mode\": \"temperature\", \"within_c\": -1}}",
                        "cooldown.within_c: -1 is out of range [0, 100]");
    expect_config_error("missing", "{\"name\": \"x\", \"variants\": [{\"name\": \"a\"}, {\"preset\": \"tiny\"}]}",
                        "variants[1]: missing required field 'name'");
    expect_config_error("syntax", "{\n  \"name\": \"x\"\n  \"warmup\": 1\n}", "line 3, column 3: invalid JSON");
    CHECK(run((const char *[]){"--bogus", NULL}) == 2);
    CHECK_HAS(err_text, "unknown option '--bogus'");
    CHECK(run((const char *[]){"--resume", "/nonexistent/dir", NULL}) == 2);
    CHECK_HAS(err_text, "/nonexistent/dir/config.json: cannot open");
}

static pid_t start_thermal(const char *dir, const char *tau_s)
{
    pid_t pid = fork();
    if (pid == 0) {
        execl(fake, fake, "thermal", dir, "40", "70", tau_s, (char *)NULL);
        _exit(127);
    }
    char p[600];
    snprintf(p, sizeof p, "%s/sys/class/thermal/thermal_zone0/temp", dir);
    for (int i = 0; i < 500 && access(p, R_OK); i++) sleep_ms(10);
    return pid;
}

static void stop_thermal(const char *dir, pid_t pid)
{
    char p[600];
    snprintf(p, sizeof p, "%s/stop", dir);
    write_file(p, "");
    waitpid(pid, NULL, 0);
}

static cJSON *cooldown_experiment(const char *name, const char *tau_s, const char *timeout_s)
{
    char zone[512], cfg[2048], path[512], dir[512];
    snprintf(zone, sizeof zone, "%s/zone-%s", tmp, name);
    mkdir(zone, 0755);
    pid_t drv = start_thermal(zone, tau_s);
    snprintf(cfg, sizeof cfg,
             "{\"name\": \"%s\", \"workload\": {\"type\": \"command\", \"command\": [\"%s\", \"heat\", \"%s\", \"300\", \"10\"],"
             " \"metrics\": [{\"name\": \"tok_s\", \"json_path\": \"result.tok_s\"}]}, \"repetitions\": 3, \"warmup\": 0,"
             " \"probes\": {\"root\": \"%s\", \"only\": \"thermal\", \"fast_period_ms\": 20, \"slow_period_ms\": 100},"
             " \"cooldown\": {\"mode\": \"temperature\", \"within_c\": 1.0, \"timeout_s\": %s, \"baseline_s\": 0.3, \"poll_ms\": 20}}",
             name, fake, zone, zone, timeout_s);
    snprintf(path, sizeof path, "%s/%s.json", tmp, name);
    snprintf(dir, sizeof dir, "%s/%s", tmp, name);
    write_file(path, cfg);
    int rc = run((const char *[]){path, "--out", dir, "--no-report", NULL});
    stop_thermal(zone, drv);
    CHECKF(rc == 0, "%s: exit status %d: %s", name, rc, err_text);
    return results(dir);
}

static void test_cooldown(void)
{
    /* Cools with a 2 s time constant: from 60 C back within 1 C of the 40 C
     * baseline in about 6 s, inside the 60 s timeout; slow enough that a
     * harness that runs late on a busy machine still sees the heat. */
    cJSON *d = cooldown_experiment("cool", "2", "60");
    CHECK(d != NULL);
    if (!d) return;
    const cJSON *cd = get(d, "cooldown");
    CHECK_STR(str(cd, "channel"), "thermal.zone0.temp_c");
    double base = num(cd, "baseline_c");
    CHECK_NEAR(base, 40.0, 0.5);
    const cJSON *runs = get(d, "runs");
    CHECK(cJSON_GetArraySize(runs) == 3);
    CHECK(cJSON_IsNull(get(cJSON_GetArrayItem(runs, 0), "cooldown")));
    for (int i = 0; i < 3 && i < cJSON_GetArraySize(runs); i++) {
        const cJSON *r = cJSON_GetArrayItem(runs, i);
        CHECK_STR(str(r, "status"), "ok");
        CHECK(num(get(r, "telemetry"), "temp_peak_c") > 45);   /* the workload heated the zone */
        if (i == 0) continue;
        const cJSON *c = get(r, "cooldown");
        CHECK(cJSON_IsFalse(get(c, "timed_out")));
        CHECK_NEAR(num(c, "target_c"), base + 1.0, 1e-9);
        CHECK(num(c, "temp_start_c") > base + 5);
        CHECK(num(c, "temp_end_c") <= base + 1.0);
        CHECK(num(c, "waited_s") > 0);
        /* The run started cool: its telemetry agrees with the cooldown. */
        CHECK(num(get(r, "telemetry"), "temp_start_c") < base + 3);
    }
    cJSON_Delete(d);

    /* Cools with a 100 s time constant: the 0.4 s timeout ends the wait. */
    d = cooldown_experiment("slowcool", "100", "0.4");
    CHECK(d != NULL);
    if (!d) return;
    base = num(get(d, "cooldown"), "baseline_c");
    const cJSON *c = get(cJSON_GetArrayItem(get(d, "runs"), 1), "cooldown");
    CHECK(cJSON_IsTrue(get(c, "timed_out")));
    CHECK(num(c, "waited_s") >= 0.4);
    CHECK(num(c, "temp_end_c") > base + 1.0);
    cJSON_Delete(d);
}

static void test_strict_and_default(void)
{
    char root[512], p[700], cfg[1024], path[512], dir[512];
    snprintf(root, sizeof root, "%s/fakeroot", tmp);
    snprintf(p, sizeof p, "mkdir -p %s/sys/devices/system/cpu/cpu0/cpufreq", root);
    CHECK(system(p) == 0);
    snprintf(p, sizeof p, "%s/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor", root);
    write_file(p, "powersave\n");
    snprintf(cfg, sizeof cfg,
             "{\"name\": \"strict\", \"workload\": {\"type\": \"command\", \"command\": [\"%s\", \"json\", \"1\"],"
             " \"metrics\": [{\"name\": \"tok_s\", \"json_path\": \"result.tok_s\"}]}, \"repetitions\": 1,"
             " \"probes\": {\"enabled\": false, \"root\": \"%s\"}}", fake, root);
    snprintf(path, sizeof path, "%s/strict.json", tmp);
    snprintf(dir, sizeof dir, "%s/strict", tmp);
    write_file(path, cfg);
    CHECK(run((const char *[]){path, "--out", dir, "--strict", NULL}) == 1);
    CHECK_HAS(err_text, "preflight: governor: 0 of 1 CPUs on 'performance'; others: powersave");
    CHECK_HAS(err_text, "--strict");
    CHECK(access(dir, F_OK) != 0);
    /* Without --strict the warning is recorded and the experiment runs. */
    CHECK(run((const char *[]){path, "--out", dir, "--no-report", NULL}) == 0);
    cJSON *d = results(dir);
    const cJSON *pf = d ? cJSON_GetArrayItem(get(d, "preflight"), 0) : NULL;
    CHECK(pf && !strcmp(str(pf, "check"), "governor") && !strcmp(str(pf, "status"), "warn"));
    CHECK(d && !strcmp(str(get(d, "environment"), "governor"), "powersave"));
    cJSON_Delete(d);

    /* The built-in default parses and is what configs/default.json says. */
    CHECK(run((const char *[]){"--print-config", NULL}) == 0);
    cJSON *c = cJSON_Parse(out_text);
    CHECK(c && !strcmp(str(c, "name"), "default-ab") && cJSON_GetArraySize(get(c, "variants")) == 2);
    cJSON_Delete(c);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_harness_e2e FAKE_WORKLOAD\n");
        return TB_SKIP;
    }
    fake = argv[1];
    if (access(TB_BINARY, X_OK)) {
        fprintf(stderr, "no thermabench executable at %s\n", TB_BINARY);
        return 1;
    }
    snprintf(tmp, sizeof tmp, "/tmp/tb_harness_XXXXXX");
    if (!mkdtemp(tmp)) { perror("mkdtemp"); return 1; }
    test_external();
    test_engine();
    test_bench_json();
    test_gpu_headline();
    test_interrupt_and_resume();
    test_signals_end_workloads();
    test_arbitrary_bytes();
    test_config_errors();
    test_cooldown();
    test_strict_and_default();
    if (!tb_failed) {
        char cmd[512];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
        if (system(cmd)) {}
    } else fprintf(stderr, "kept %s for inspection\n", tmp);
    TB_MAIN_END();
}
