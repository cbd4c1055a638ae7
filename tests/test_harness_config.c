/* Harness units: config validation errors, config round trip, run plans,
 * the CI half-width, metric extraction, and the external command runner.
 * argv[1]: the fake_workload helper. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "harness_internal.h"
#include "tb_test.h"

static harness_error err;

/* Loads `text`; returns the error message ("" when it loaded). */
static const char *load_err(const char *text)
{
    harness_config *c = NULL;
    int rc = harness_config_load_text(text, "t.json", &c, &err);
    free(c);
    return rc ? err.msg : "";
}

#define CHECK_HAS(s, sub) CHECKF(strstr((s), (sub)) != NULL, "'%s' lacks '%s'", (s), (sub))

static void test_config_errors(void)
{
    const char *m;
    m = load_err("{\"name\": \"x\", \"repetitons\": 3}");
    CHECK_HAS(m, "t.json");
    CHECK_HAS(m, "unknown field 'repetitons'");
    CHECK_HAS(m, "did you mean 'repetitions'");
    CHECK(err.kind == HARNESS_ERR_INPUT);
    m = load_err("{\"name\": \"x\", \"cooldown\": {\"mode\": \"fixed\", \"secnds\": 1}}");
    CHECK_HAS(m, "t.json: cooldown: unknown field 'secnds' (did you mean 'seconds'?)");
    m = load_err("{\"name\": \"x\", \"workload\": {\"batch_size\": \"four\"}}");
    CHECK_HAS(m, "t.json: workload.batch_size: expected an integer, got a string");
    m = load_err("{\"name\": \"x\", \"workload\": {\"batch_size\": 0}}");
    CHECK_HAS(m, "workload.batch_size: 0 is out of range [1, 1024]");
    m = load_err("{\"name\": \"x\", \"repetitions\": 2.5}");
    CHECK_HAS(m, "repetitions: expected an integer, got a fraction");
    m = load_err("{\"name\": \"x\", \"order\": \"interleave\"}");
    CHECK_HAS(m, "order: 'interleave' is not one of sequential, interleaved, random, abba (did you mean 'interleaved'?)");
    m = load_err("{\"repetitions\": 3}");
    CHECK_HAS(m, "t.json: name: missing required field");
    m = load_err("{\"name\": \"x\", \"workload\": {\"type\": \"command\"}}");
    CHECK_HAS(m, "t.json: workload.command: missing required field");
    m = load_err("{\"name\": \"x\", \"workload\": {\"type\": \"command\", \"command\": [\"true\"], \"output\": \"discard\","
                 " \"metrics\": [{\"name\": \"t\", \"regex\": \"t=([0-9]+)\"}]}}");
    CHECK_HAS(m, "workload.output: \"discard\" leaves nothing to read the metrics from");
    m = load_err("{\"name\": \"x\", \"workload\": {\"type\": \"command\", \"command\": [\"true\"],"
                 " \"metrics\": [{\"name\": \"wall_ms\", \"regex\": \"t=([0-9]+)\"}]}}");
    CHECK_HAS(m, "workload.metrics[0]: 'wall_ms' is measured by the harness itself");
    m = load_err("{\"name\": \"x\", \"workload\": {\"type\": \"command\", \"command\": [\"true\"], \"prepare\": \"sync\"}}");
    CHECK_HAS(m, "workload.prepare: expected an array of strings");
    m = load_err("{\"name\": \"x\", \"variants\": [{\"kernels\": {}}]}");
    CHECK_HAS(m, "variants[0]: missing required field 'name'");
    m = load_err("{\"name\": \"x\", \"variants\": [{\"name\": \"a\", \"kernels\": {\"matmul\": \"scalr\"}}]}");
    CHECK_HAS(m, "variants[0].kernels.matmul: unknown matmul variant 'scalr' (did you mean 'scalar'?)");
    m = load_err("{\"name\": \"x\", \"variants\": [{\"name\": \"a\", \"batchsize\": 2}]}");
    CHECK_HAS(m, "variants[0]: unknown field 'batchsize' (did you mean 'batch_size'?)");
    m = load_err("{\"name\": \"x\",\n \"warmup\": tru}");
    CHECK_HAS(m, "t.json: line 2, column 12: invalid JSON near 'tru}'");
    m = load_err("{\"name\": \"x\", \"workload\": {\"preset\": \"15m\"}}");
    CHECK_HAS(m, "workload.preset: unknown preset '15m' (did you mean '15M'?)");
    m = load_err("{\"name\": \"x\", \"primary_metric\": \"decode_tokens_per_sec\"}");
    CHECK_HAS(m, "primary_metric: variant 'default' has no metric 'decode_tokens_per_sec' (did you mean 'decode_tokens_per_s'?)");
    m = load_err("{\"name\": \"x\", \"workload\": {\"type\": \"command\", \"command\": [\"true\"],"
                 " \"metrics\": [{\"name\": \"t\", \"regex\": \"no group\"}]}}");
    CHECK_HAS(m, "workload.metrics[0]: regex: regular expression 'no group' needs a capture group");
    m = load_err("{\"name\": \"x\", \"stop\": {\"rule\": \"adaptive\", \"max_repetitions\": 2}, \"repetitions\": 5}");
    CHECK_HAS(m, "stop.max_repetitions: 2 is below repetitions (5)");
    m = load_err("{\"name\": \"x\", \"cpu_affinity\": [0, -1]}");
    CHECK_HAS(m, "cpu_affinity[1]: -1 is out of range");
    m = load_err("[1, 2]");
    CHECK_HAS(m, "expected an object, got an array");

    harness_config *c = NULL;
    CHECK(harness_config_load_file("/nonexistent/x.json", &c, &err) == -1);
    CHECK_HAS(err.msg, "/nonexistent/x.json: cannot open");
    CHECK(harness_config_load_file("/tmp", &c, &err) == -1 && err.kind == HARNESS_ERR_INPUT);
    CHECK_HAS(err.msg, "/tmp: cannot read: Is a directory");
}

/* Loads a command config whose metric regex is `re`, in a child process
 * that a watchdog ends after 60 s (a pattern that compiles for minutes must
 * fail this test, not hang it). Returns the child's message, "" when loaded. */
static const char *load_regex(const char *re)
{
    static char msg[1200];
    cJSON *root = cJSON_Parse("{\"name\": \"x\", \"workload\": {\"type\": \"command\", \"command\": [\"true\"],"
                              " \"metrics\": [{\"name\": \"t\"}]}}");
    cJSON *m = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(root, "workload"), "metrics"), 0);
    cJSON_AddStringToObject(m, "regex", re);
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    int fd[2];
    msg[0] = 0;
    if (!text || pipe(fd)) {
        free(text);
        return "(no pipe)";
    }
    pid_t pid = fork();
    if (pid == 0) {
        close(fd[0]);
        alarm(60);
        const char *e = load_err(text);
        if (write(fd[1], e, strlen(e)) < 0) {}
        _exit(0);
    }
    close(fd[1]);
    free(text);
    ssize_t n = read(fd[0], msg, sizeof msg - 1), k;
    while (n >= 0 && n < (ssize_t)sizeof msg - 1 && (k = read(fd[0], msg + n, sizeof msg - 1 - (size_t)n)) > 0)
        n += k;
    msg[n > 0 ? n : 0] = 0;
    close(fd[0]);
    int st;
    waitpid(pid, &st, 0);
    if (!WIFEXITED(st))
        snprintf(msg, sizeof msg, "(killed by signal %d: the pattern hung)", WTERMSIG(st));
    return msg;
}

/* Regexes with a catastrophic case are input errors, said at once. */
static void test_regex_limits(void)
{
    char stacked[64] = "v: (2)";
    strcat(stacked, "++++++++++++++++++++++++");      /* 24: glibc's regcomp takes minutes */
    CHECK_HAS(load_regex(stacked), "t.json: workload.metrics[0]: regex: 'v: (2)++");
    CHECK_HAS(load_regex(stacked), "a quantifier right after another");
    CHECK_HAS(load_regex("v: 2++++++++++++++++++++++++"), "a quantifier right after another");
    CHECK_HAS(load_regex("(([0-9]+)*)*"), "a quantified group that holds a quantifier");
    CHECK_HAS(load_regex("((a|b+)c)+ ([0-9]+)"), "a quantified group that holds a quantifier");
    CHECK_HAS(load_regex("x([0-9]+){2}"), "a quantified group that holds a quantifier");
    CHECK_HAS(load_regex("x{1000}([0-9]+)"), "a bound above {100}");
    CHECK_HAS(load_regex("x{2,}([0-9]+)"), "open bounds such as {2,}");
    CHECK_HAS(load_regex("(a)\\1([0-9]+)"), "backreferences");
    CHECK_STR(load_regex("speed = ([0-9.eE+-]+) it/s"), "");
    CHECK_STR(load_regex("[]+*]([0-9]+)"), "");
    CHECK_STR(load_regex("[^]+]{1,3} t=([0-9]{1,3})"), "");
    CHECK_STR(load_regex("(ab|cd)+ ([[:digit:].]+)"), "");
    CHECK_STR(load_regex("a\\++ ([0-9]+)"), "");       /* an escaped '+' is a character */
    CHECK_HAS(load_regex("(unbalanced"), "invalid regular expression");
}

static void test_default_and_round_trip(void)
{
    harness_config *c = NULL, *c2 = NULL;
    CHECK(harness_config_load_text(harness_default_config_json, "default", &c, &err) == 0);
    if (!c) { fprintf(stderr, "%s\n", err.msg); return; }
    CHECK(c->n_variants == 2);
    CHECK_STR(c->variants[0].workload.kernels[0].variant, "scalar");
    CHECK(c->variants[1].workload.n_kernels == 0);
    CHECK(c->order == HARNESS_ORDER_INTERLEAVED);
    CHECK_STR(c->primary_metric, "decode_tokens_per_s");
    char *t1 = harness_config_to_json_text(c);
    CHECK(harness_config_load_text(t1, "as-run", &c2, &err) == 0);
    char *t2 = c2 ? harness_config_to_json_text(c2) : NULL;
    CHECK(t2 && !strcmp(t1, t2));
    free(t1); free(t2); free(c); free(c2);

    const char *cmd = "{\"name\": \"ext\", \"workload\": {\"type\": \"command\", \"command\": [\"a\", \"b c\"],"
                      " \"metrics\": [{\"name\": \"lat\", \"unit\": \"ms\", \"higher_is_better\": false, \"regex\": \"lat=([0-9.]+)\"}]},"
                      " \"variants\": [{\"name\": \"A\"}, {\"name\": \"B\", \"command\": [\"b\"]}],"
                      " \"cooldown\": {\"mode\": \"temperature\", \"below_c\": 45}, \"cpu_affinity\": [1]}";
    CHECK(harness_config_load_text(cmd, "t.json", &c, &err) == 0);
    if (!c) { fprintf(stderr, "%s\n", err.msg); return; }
    CHECK_STR(c->primary_metric, "lat");
    CHECK(c->variants[0].workload.argc == 2 && !strcmp(c->variants[0].workload.argv[1], "b c"));
    CHECK(c->variants[1].workload.argc == 1 && !strcmp(c->variants[1].workload.argv[0], "b"));
    CHECK(c->variants[1].workload.n_metrics == 1 && !c->variants[1].workload.metrics[0].higher_is_better);
    t1 = harness_config_to_json_text(c);
    CHECK(harness_config_load_text(t1, "as-run", &c2, &err) == 0);
    t2 = c2 ? harness_config_to_json_text(c2) : NULL;
    CHECK(t2 && !strcmp(t1, t2));
    CHECK(c2 && c2->cooldown.below_c == 45 && c2->n_cpus == 1 && c2->cpus[0] == 1);
    free(t1); free(t2); free(c); free(c2);
}

/* The plan's sequence as "Aw Bw A B ...". */
static void plan_string(const harness_config *c, harness_run_record *rec, const double *values, char *out, size_t n)
{
    int nd = 0, v;
    bool w;
    out[0] = 0;
    while (nd < 200 && harness_plan_next(c, rec, nd, &v, &w)) {
        rec[nd] = (harness_run_record){v, w, true, values ? values[nd % 7] : 1.0, 0};
        snprintf(out + strlen(out), n - strlen(out), "%s%c%s", nd ? " " : "", 'A' + v, w ? "w" : "");
        nd++;
    }
}

static void test_plan(void)
{
    harness_config *c = NULL;
    harness_run_record rec[256];
    char s[2048];
    CHECK(harness_config_load_text("{\"name\": \"p\", \"variants\": [{\"name\": \"a\"}, {\"name\": \"b\"}],"
                                   " \"repetitions\": 3, \"warmup\": 1, \"order\": \"interleaved\"}", "p", &c, &err) == 0);
    if (!c) return;
    plan_string(c, rec, NULL, s, sizeof s);
    CHECK_STR(s, "Aw Bw A B A B A B");
    c->order = HARNESS_ORDER_SEQUENTIAL;
    plan_string(c, rec, NULL, s, sizeof s);
    CHECK_STR(s, "Aw A A A Bw B B B");
    free(c);
    c = NULL;
    CHECK(harness_config_load_text("{\"name\": \"p\", \"variants\": [{\"name\": \"a\"}, {\"name\": \"b\"}],"
                                   " \"repetitions\": 3, \"warmup\": 1, \"order\": \"abba\"}", "p", &c, &err) == 0);
    if (!c) return;
    CHECK(c->order == HARNESS_ORDER_ABBA);
    plan_string(c, rec, NULL, s, sizeof s);
    CHECK_STR(s, "Aw Bw A B B A A B");
    c->repetitions = 4;
    plan_string(c, rec, NULL, s, sizeof s);
    CHECK_STR(s, "Aw Bw A B B A A B B A");
    c->repetitions = 3;
    /* Random blocks: every round holds each variant once; the seed decides. */
    c->order = HARNESS_ORDER_RANDOM;
    c->repetitions = 20;
    c->warmup = 0;
    plan_string(c, rec, NULL, s, sizeof s);
    CHECK(strlen(s) == 20 * 2 * 2 - 1);
    bool all_ab = true, blocks_ok = true;
    for (int r = 0; r < 20; r++) {
        char x = s[r * 4], y = s[r * 4 + 2];
        blocks_ok &= x != y;
        all_ab &= x == 'A';
    }
    CHECK(blocks_ok);
    CHECK(!all_ab);   /* 20 rounds all AB: chance 2^-20 for a fair shuffle */
    char s2[2048];
    plan_string(c, rec, NULL, s2, sizeof s2);
    CHECK_STR(s, s2);
    c->order_seed = 2;
    plan_string(c, rec, NULL, s2, sizeof s2);
    CHECK(strcmp(s, s2) != 0);
    /* Resuming mid-plan continues with the same next run. */
    int v1, v2;
    bool w1, w2;
    CHECK(harness_plan_next(c, rec, 7, &v1, &w1) == 1);
    harness_run_record copy[7];
    memcpy(copy, rec, sizeof copy);
    CHECK(harness_plan_next(c, copy, 7, &v2, &w2) == 1);
    CHECK(v1 == v2 && w1 == w2);

    /* Adaptive: identical values meet any CI target at the minimum count;
     * alternating noisy values never do, so the maximum stops it. */
    c->order = HARNESS_ORDER_INTERLEAVED;
    c->stop.rule = HARNESS_STOP_ADAPTIVE;
    c->repetitions = 3;
    c->stop.max_repetitions = 6;
    c->stop.target_ci_pct = 1.0;
    double same[7] = {10, 10, 10, 10, 10, 10, 10};
    plan_string(c, rec, same, s, sizeof s);
    CHECK_STR(s, "A B A B A B");
    double noisy[7] = {10, 20, 5, 17, 9, 30, 12};
    plan_string(c, rec, noisy, s, sizeof s);
    CHECK_STR(s, "A B A B A B A B A B A B");
    CHECK(harness_plan_remaining(c, rec, 0) == 12);
    free(c);
    c = NULL;

    /* Sessions: each repeats the warm-up and takes its share of the rounds;
     * random blocks are re-drawn in every session. */
    CHECK(harness_config_load_text("{\"name\": \"p\", \"variants\": [{\"name\": \"a\"}, {\"name\": \"b\"}],"
                                   " \"repetitions\": 3, \"warmup\": 1, \"order\": \"interleaved\","
                                   " \"sessions\": {\"count\": 2, \"pause_s\": 5}}", "p", &c, &err) == 0);
    if (!c) return;
    CHECK(c->sessions.count == 2 && c->sessions.pause_s == 5);
    int nd = 0, v;
    bool w;
    s[0] = 0;
    for (int sess = 0; sess < 3; sess++) {
        while (nd < 100 && harness_plan_next_in_session(c, rec, nd, sess, &v, &w)) {
            rec[nd] = (harness_run_record){v, w, true, 1.0, sess};
            snprintf(s + strlen(s), sizeof s - strlen(s), "%s%c%s", nd ? " " : "", 'A' + v, w ? "w" : "");
            nd++;
        }
        snprintf(s + strlen(s), sizeof s - strlen(s), " |");
    }
    CHECK_STR(s, "Aw Bw A B A B | Aw Bw A B | |");
    free(c);
    c = NULL;
    CHECK(harness_config_load_text("{\"name\": \"p\", \"variants\": [{\"name\": \"a\"}, {\"name\": \"b\"}],"
                                   " \"order\": \"sequential\", \"sessions\": {\"count\": 2}}", "p", &c, &err) == -1);
    CHECK(strstr(err.msg, "sessions.count") && strstr(err.msg, "sequential"));
    free(c);
}

static void test_ci(void)
{
    /* x = 1..5: mean 3, sd sqrt(2.5) = 1.5811, t(0.975, 4) = 2.7764:
     * half-width 2.7764 * 1.5811 / sqrt(5) = 1.9632, 65.44 % of the mean. */
    double x[] = {1, 2, 3, 4, 5};
    CHECK_NEAR(harness_ci_half_width_pct(x, 5), 65.44, 0.02);
    CHECK(isnan(harness_ci_half_width_pct(x, 1)));
    /* 10, 12: mean 11, sd 1.4142, t(0.975, 1) = 12.706: 12.706 * 1 = 12.706 -> 115.5 % */
    double y[] = {10, 12};
    CHECK_NEAR(harness_ci_half_width_pct(y, 2), 115.51, 0.05);
}

static void test_extraction(void)
{
    double v = 0;
    CHECK(harness_json_path_number("{\"a\": {\"b\": [1, {\"c\": 4.5}]}}", "a.b[1].c", &v) == 0 && v == 4.5);
    CHECK(harness_json_path_number("log line\n{\"x\": 7}\n", "x", &v) == 0 && v == 7);
    CHECK(harness_json_path_number("{\"x\": \"7\"}", "x", &v) == -1);
    CHECK(harness_json_path_number("{\"x\": 7}", "y", &v) == -1);
    CHECK(harness_json_path_number("not json", "x", &v) == -1);
    harness_error e = {0};
    CHECK(harness_regex_number("a\nspeed = 12.5e1 it/s\n", "speed = ([0-9.eE+-]+)", &v, &e) == 0 && v == 125);
    CHECK(harness_regex_number("speed = fast", "speed = ([0-9.]+)", &v, &e) == -1 && e.kind == HARNESS_ERR_NONE);
    CHECK(harness_regex_number("x", "(", &v, &e) == -1 && e.kind == HARNESS_ERR_INPUT);
}

static void test_command(const char *fake)
{
    harness_workload w;
    harness_command_result r;
    memset(&w, 0, sizeof w);
    w.kind = HARNESS_WORKLOAD_COMMAND;
    w.argc = 3;
    strcpy(w.argv[0], fake);
    strcpy(w.argv[1], "json");
    strcpy(w.argv[2], "41.5");
    w.n_metrics = 1;
    strcpy(w.metrics[0].name, "tok_s");
    strcpy(w.metrics[0].json_path, "result.tok_s");
    CHECK(harness_command_run(&w, 10, &r, &err) == 0);
    CHECK(r.ok && r.exit_status == 0 && r.metrics[0] == 41.5);
    harness_command_result_free(&r);

    strcpy(w.argv[1], "hang");
    w.argc = 2;
    CHECK(harness_command_run(&w, 0.3, &r, &err) == 0);
    CHECK(!r.ok && r.timed_out);
    CHECK_STR(r.failure, "timeout after 0.3 s");
    CHECK(strstr(r.out.data, "about to hang") != NULL);
    harness_command_result_free(&r);

    strcpy(w.argv[1], "crash");
    CHECK(harness_command_run(&w, 10, &r, &err) == 0);
    CHECK(!r.ok && r.term_signal == 6);
    CHECK(strstr(r.failure, "killed by signal 6") == r.failure);
    harness_command_result_free(&r);

    strcpy(w.argv[0], "/nonexistent/program");
    CHECK(harness_command_run(&w, 10, &r, &err) == 0);
    CHECK(!r.ok && strstr(r.failure, "cannot run '/nonexistent/program'"));
    harness_command_result_free(&r);
}

static void put(const char *root, const char *rel, const char *text)
{
    char path[1024], cmd[1200];
    snprintf(path, sizeof path, "%s%s", root, rel);
    snprintf(cmd, sizeof cmd, "mkdir -p \"$(dirname '%s')\"", path);
    if (system(cmd)) return;
    FILE *f = fopen(path, "w");
    if (f) { fputs(text, f); fclose(f); }
}

static const char *check_status(const cJSON *a, const char *check, const char **detail)
{
    const cJSON *o;
    cJSON_ArrayForEach(o, a)
        if (!strcmp(cJSON_GetObjectItem(o, "check")->valuestring, check)) {
            if (detail) *detail = cJSON_GetObjectItem(o, "detail")->valuestring;
            return cJSON_GetObjectItem(o, "status")->valuestring;
        }
    return "(missing)";
}

/* Every preflight check against a fake /sys and /proc: first a machine set up
 * for benchmarking, then one with everything wrong. */
static void test_preflight(void)
{
    char root[] = "/tmp/tb_preflight_XXXXXX";
    if (!mkdtemp(root)) return;
    harness_config *c = NULL;
    CHECK(harness_config_load_text("{\"name\": \"p\"}", "p", &c, &err) == 0);
    if (!c) return;
    snprintf(c->probes.root, sizeof c->probes.root, "%s", root);
    put(root, "/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor", "performance\n");
    put(root, "/sys/devices/system/cpu/cpu1/cpufreq/scaling_governor", "performance\n");
    put(root, "/sys/devices/system/cpu/intel_pstate/no_turbo", "1\n");
    put(root, "/proc/loadavg", "0.01 0.02 0.00 1/92 7257\n");
    put(root, "/proc/stat", "cpu 1 2 3\nprocs_running 1\nprocs_blocked 0\n");
    put(root, "/proc/pressure/memory", "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
    put(root, "/proc/meminfo", "MemTotal: 16000000 kB\nMemAvailable: 12000000 kB\nSwapTotal: 1000 kB\nSwapFree: 1000 kB\n");
    put(root, "/sys/class/power_supply/AC/type", "Mains\n");
    put(root, "/sys/class/power_supply/AC/online", "1\n");
    harness_preflight pf;
    harness_preflight_run(c, NULL, &pf);
    cJSON *a = harness_results_preflight(&pf);
    CHECK(pf.n_warn == 0);
    const char *d = "";
    CHECK_STR(check_status(a, "governor", &d), "ok");
    CHECK_STR(d, "2 of 2 CPUs on 'performance'");
    CHECK_STR(check_status(a, "turbo", NULL), "ok");
    CHECK_STR(check_status(a, "load", NULL), "ok");
    CHECK_STR(check_status(a, "busy_processes", NULL), "ok");
    CHECK_STR(check_status(a, "memory_pressure", NULL), "ok");
    CHECK_STR(check_status(a, "memory_available", NULL), "ok");
    CHECK_STR(check_status(a, "swap", NULL), "ok");
    CHECK_STR(check_status(a, "battery", NULL), "ok");
    CHECK_STR(check_status(a, "gpu", NULL), "unknown");   /* no probes given */
    cJSON_Delete(a);

    put(root, "/sys/devices/system/cpu/cpu1/cpufreq/scaling_governor", "powersave\n");
    put(root, "/sys/devices/system/cpu/intel_pstate/no_turbo", "0\n");
    put(root, "/proc/loadavg", "900.00 2.00 1.00 4/92 7257\n");   /* over the threshold on any CPU count */
    put(root, "/proc/stat", "cpu 1 2 3\nprocs_running 4\n");
    put(root, "/proc/pressure/memory", "some avg10=12.50 avg60=3.00 avg300=1.00 total=99\n");
    put(root, "/proc/meminfo", "MemTotal: 16000000 kB\nMemAvailable: 1000000 kB\nSwapTotal: 4096 kB\nSwapFree: 1024 kB\n");
    put(root, "/sys/class/power_supply/AC/online", "0\n");
    harness_preflight_run(c, NULL, &pf);
    a = harness_results_preflight(&pf);
    CHECK(pf.n_warn == 8);
    CHECK_STR(check_status(a, "governor", &d), "warn");
    CHECK_STR(d, "1 of 2 CPUs on 'performance'; others: powersave");
    CHECK_STR(check_status(a, "turbo", NULL), "warn");
    CHECK_STR(check_status(a, "load", &d), "warn");
    CHECK(strstr(d, "load average 900.00") != NULL);
    CHECK_STR(check_status(a, "busy_processes", &d), "warn");
    CHECK_STR(d, "3 other runnable processes");
    CHECK_STR(check_status(a, "memory_pressure", &d), "warn");
    CHECK_STR(d, "memory PSI some avg10 = 12.50%");
    CHECK_STR(check_status(a, "memory_available", NULL), "warn");
    CHECK_STR(check_status(a, "swap", &d), "warn");
    CHECK_STR(d, "3 MiB swap in use");
    CHECK_STR(check_status(a, "battery", NULL), "warn");
    cJSON_Delete(a);
    free(c);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd)) {}
}

int main(int argc, char **argv)
{
    test_config_errors();
    test_regex_limits();
    test_default_and_round_trip();
    test_plan();
    test_ci();
    test_extraction();
    test_preflight();
    if (argc > 1) test_command(argv[1]);
    TB_MAIN_END();
}
