/* `thermabench cmd` end to end: the one-line mode's options (both option
 * spellings, did-you-mean, shell-free word splitting, parameters, names,
 * the gate), its results, and every export read by its consumer
 * (tests/scripts/check_exports.py). argv[1]: the fake_workload helper. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "tb_test.h"

static const char *fake;
static char tmp[256];
static char out_text[1 << 16], err_text[1 << 16];

static void read_into(const char *path, char *buf, size_t n)
{
    FILE *f = fopen(path, "r");
    size_t len = f ? fread(buf, 1, n - 1, f) : 0;
    if (f) fclose(f);
    buf[len] = 0;
}

/* Runs thermabench with args (NULL-terminated); stdout and stderr kept. */
static int tb(const char *const *args)
{
    char *argv[64];
    int n = 0;
    argv[n++] = (char *)TB_BINARY;
    for (; args[n - 1] && n < 63; n++) argv[n] = (char *)args[n - 1];
    argv[n] = NULL;
    char po[512], pe[512];
    snprintf(po, sizeof po, "%s/stdout", tmp);
    snprintf(pe, sizeof pe, "%s/stderr", tmp);
    pid_t pid = fork();
    if (pid == 0) {
        int fo = open(po, O_WRONLY | O_CREAT | O_TRUNC, 0644), fe = open(pe, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fo, 1);
        dup2(fe, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    read_into(po, out_text, sizeof out_text);
    read_into(pe, err_text, sizeof err_text);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

#define CHECK_HAS(s, sub) CHECKF(strstr((s), (sub)) != NULL, "'%s' lacks '%s'", (s), (sub))

static cJSON *results_of(const char *dir)
{
    char p[512];
    snprintf(p, sizeof p, "%s/results.json", dir);
    size_t len;
    char *text = tb_read_all(p, &len);
    cJSON *d = text ? cJSON_Parse(text) : NULL;
    free(text);
    return d;
}

static void test_exports(void)
{
    char dir[300], fast[600], slow[600], e[7][400];
    const char *files[7] = {"hyperfine.json", "hyperfine.csv", "hyperfine.md", "bmf.json", "github.json", "gbench.json",
                            "metrics.txt"};
    snprintf(dir, sizeof dir, "%s/exports", tmp);
    for (int i = 0; i < 7; i++) snprintf(e[i], sizeof e[i], "%s/%s", dir, files[i]);
    snprintf(fast, sizeof fast, "'%s' burn 5", fake);
    snprintf(slow, sizeof slow, "'%s' burn 150", fake);
    int rc = tb((const char *[]){"cmd", "--runs=4", "-w", "1", "--no-probes", "-q", "-P", "n", "1", "1", "-n", "fast",
                                 "--command-name", "slow", "--out", dir, "--export-json", e[0], "--export-csv", e[1],
                                 "--export-markdown", e[2], "--export-bmf", e[3], "--export-github-benchmark", e[4],
                                 "--export-google-benchmark", e[5], "--export-openmetrics", e[6], fast, slow, NULL});
    CHECKF(rc == 0, "exit %d: %s", rc, err_text);
    CHECK_HAS(out_text, "Benchmark 1: fast");
    CHECK_HAS(out_text, "Summary (wall_ms)");
    CHECK_HAS(out_text, "'fast' ran");
    CHECK_HAS(out_text, "times faster than 'slow'");
    CHECK_HAS(out_text, "95% CI");
    cJSON *d = results_of(dir);
    CHECK(d != NULL);
    /* ABBA by default: fast slow, slow fast, fast slow, slow fast. */
    const char *abba[] = {"fast", "slow", "slow", "fast", "fast", "slow", "slow", "fast"};
    int measured = 0, order_ok = 1;
    const cJSON *r;
    cJSON_ArrayForEach(r, cJSON_GetObjectItem(d, "runs")) {
        if (cJSON_IsTrue(cJSON_GetObjectItem(r, "warmup"))) continue;
        CHECK(cJSON_IsNumber(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "metrics"), "user_ms")));
        if (measured < 8 && strcmp(cJSON_GetObjectItem(r, "variant")->valuestring, abba[measured])) order_ok = 0;
        measured++;
    }
    CHECK(measured == 8 && order_ok);
    CHECK(cJSON_IsObject(cJSON_GetObjectItem(d, "harness_overhead")));
    cJSON_Delete(d);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "'%s' '%s/tests/scripts/check_exports.py' '%s' >&2", TB_PYTHON3, TB_SOURCE_DIR, dir);
    CHECKF(system(cmd) == 0, "%s", cmd);

    /* The same exports from the results file afterwards. */
    char again[400];
    snprintf(again, sizeof again, "%s/again.json", tmp);
    snprintf(cmd, sizeof cmd, "%s/results.json", dir);
    CHECK(tb((const char *[]){"export", "hyperfine-json", cmd, "-o", again, NULL}) == 0);
    size_t l1, l2;
    char *a = tb_read_all(again, &l1), *b = tb_read_all(e[0], &l2);
    CHECK(a && b && l1 == l2 && !memcmp(a, b, l1));
    free(a);
    free(b);
    CHECK(tb((const char *[]){"export", "hyperfin-json", cmd, NULL}) == 2);
    CHECK_HAS(err_text, "unknown format 'hyperfin-json'");
}

static void test_options(void)
{
    char dir[300], c1[600];
    snprintf(dir, sizeof dir, "%s/opts", tmp);
    snprintf(c1, sizeof c1, "%s nothing", fake);
    CHECK(tb((const char *[]){"cmd", "--rnus", "3", c1, NULL}) == 2);
    CHECK_HAS(err_text, "unknown option '--rnus' (did you mean '--runs'?)");
    CHECK(tb((const char *[]){"cmd", c1, "--runs", NULL}) == 2);
    CHECK_HAS(err_text, "--runs needs a value (N)");
    CHECK(tb((const char *[]){"cmd", "--runs", "zero", c1, NULL}) == 2);
    CHECK_HAS(err_text, "--runs: expected an integer, got 'zero'");
    CHECK(tb((const char *[]){"cmd", "--quiet=yes", c1, NULL}) == 2);
    CHECK_HAS(err_text, "--quiet takes no value");
    CHECK(tb((const char *[]){"cmd", "--export", "x", c1, NULL}) == 2);
    CHECK_HAS(err_text, "ambiguous option '--export'");
    /* No shell: what only a shell could do is refused, not run literally. */
    CHECK(tb((const char *[]){"cmd", "echo a | wc -l", NULL}) == 2);
    CHECK_HAS(err_text, "'|' needs a shell (quote it, or use --shell=sh)");
    CHECK(tb((const char *[]){"cmd", "echo 'unterminated", NULL}) == 2);
    CHECK_HAS(err_text, "unterminated single quote");
    CHECK(tb((const char *[]){"cmd", "-n", "a", "-n", "b", c1, NULL}) == 2);
    CHECK_HAS(err_text, "2 --command-name for 1 commands");
    CHECK(tb((const char *[]){"cmd", "--help", NULL}) == 0);
    CHECK_HAS(out_text, "--parameter-scan VAR MIN MAX");

    /* Quotes: one argument with a space reaches the program whole. */
    char q[600];
    snprintf(q, sizeof q, "'%s' regex \"1.5 x\"", fake);
    CHECK(tb((const char *[]){"cmd", "-r", "2", "--no-probes", "-q", "--output=capture", "--out", dir, q, NULL}) == 0);
    cJSON *d = results_of(dir);
    const cJSON *run = cJSON_GetArrayItem(cJSON_GetObjectItem(d, "runs"), 0);
    const cJSON *tail = cJSON_GetObjectItem(run, "stdout_tail");
    CHECK(cJSON_IsString(tail) && strstr(tail->valuestring, "throughput: 1.5 x tok/s"));
    const cJSON *argv0 = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(d, "variants"), 0), "workload"), "command"), 2);
    CHECK(cJSON_IsString(argv0) && !strcmp(argv0->valuestring, "1.5 x"));
    cJSON_Delete(d);

    /* Through a shell: its startup is measured and reported, not subtracted. */
    snprintf(dir, sizeof dir, "%s/shell", tmp);
    CHECK(tb((const char *[]){"cmd", "-r", "2", "--shell=sh", "--no-probes", "-q", "--out", dir, "true | true", NULL}) == 0);
    CHECK_HAS(out_text, "includes sh's startup: sh -c '' takes");

    /* Hooks: a failing prepare fails its run (untimed, with the reason); a
     * failing cleanup is a warning; the command itself never ran. */
    char prep[600], clean[600];
    snprintf(dir, sizeof dir, "%s/hooks", tmp);
    snprintf(prep, sizeof prep, "%s exit 3", fake);
    snprintf(clean, sizeof clean, "%s exit 5", fake);
    CHECK(tb((const char *[]){"cmd", "-r", "2", "--no-probes", "--prepare", prep, "--cleanup", clean, "--out", dir,
                              c1, NULL}) == 1);
    CHECK_HAS(err_text, "cleanup '");
    CHECK_HAS(err_text, "failed: exit status 5");
    d = results_of(dir);
    run = cJSON_GetArrayItem(cJSON_GetObjectItem(d, "runs"), 0);
    CHECK(run && strstr(cJSON_GetObjectItem(run, "failure")->valuestring, "prepare '") &&
          strstr(cJSON_GetObjectItem(run, "failure")->valuestring, "failed: exit status 3"));
    cJSON_Delete(d);

    /* A parameter list: one command per value, {n} substituted. */
    snprintf(dir, sizeof dir, "%s/list", tmp);
    snprintf(q, sizeof q, "%s slow {ms} 1", fake);
    CHECK(tb((const char *[]){"cmd", "-r", "2", "-L", "ms", "1,30", "--no-probes", "-q", "--out", dir, q, NULL}) == 0);
    d = results_of(dir);
    const cJSON *vs = cJSON_GetObjectItem(d, "variants");
    CHECK(cJSON_GetArraySize(vs) == 2);
    const cJSON *v1 = cJSON_GetArrayItem(vs, 1);
    CHECK(v1 && strstr(cJSON_GetObjectItem(v1, "name")->valuestring, "slow 30 1") &&
          !strcmp(cJSON_GetObjectItem(cJSON_GetObjectItem(v1, "parameters"), "ms")->valuestring, "30"));
    cJSON_Delete(d);
}

/* Hostile names (a formula, markup, quotes, a backslash, a line break, a
 * pipe) through every export, read back by each consumer's parser. */
static void test_hostile_names(void)
{
    const char *n1 = "=HYPERLINK(\"http://x\")|<script>alert(1)</script>";
    const char *n2 = "two \"quoted\", back\\slash\nnext line";
    char dir[300], c1[600], e[7][400], cmd[3000];
    const char *files[7] = {"hyperfine.json", "hyperfine.csv", "hyperfine.md", "bmf.json", "github.json", "gbench.json",
                            "metrics.txt"};
    snprintf(dir, sizeof dir, "%s/hostile", tmp);
    for (int i = 0; i < 7; i++) snprintf(e[i], sizeof e[i], "%s/%s", dir, files[i]);
    snprintf(c1, sizeof c1, "'%s' nothing", fake);
    int rc = tb((const char *[]){"cmd", "-r", "2", "--no-probes", "-q", "-n", n1, "-n", n2, "--out", dir,
                                 "--export-json", e[0], "--export-csv", e[1], "--export-markdown", e[2], "--export-bmf", e[3],
                                 "--export-github-benchmark", e[4], "--export-google-benchmark", e[5],
                                 "--export-openmetrics", e[6], c1, c1, NULL});
    CHECKF(rc == 0, "exit %d: %s", rc, err_text);
    /* The names go to the script through files: no shell quoting to get wrong. */
    char p1[400], p2[400];
    snprintf(p1, sizeof p1, "%s/name1", tmp);
    snprintf(p2, sizeof p2, "%s/name2", tmp);
    FILE *f = fopen(p1, "w");
    if (f) fputs(n1, f), fclose(f);
    f = fopen(p2, "w");
    if (f) fputs(n2, f), fclose(f);
    snprintf(cmd, sizeof cmd,
             "'%s' -c 'import sys,subprocess; n=[open(p).read() for p in sys.argv[2:4]]; "
             "sys.exit(subprocess.call([sys.executable, sys.argv[1], sys.argv[4]] + n))' "
             "'%s/tests/scripts/check_exports_hostile.py' '%s' '%s' '%s' >&2",
             TB_PYTHON3, TB_SOURCE_DIR, p1, p2, dir);
    CHECKF(system(cmd) == 0, "%s", cmd);
}

/* The gate: the second command against the first, exit 1 on a regression;
 * on CPU time, which a loaded machine does not stretch as it does wall time.
 * The baseline burns 20 ms: a 2 ms command can read 0 ms of user time (the
 * kernel charges a tick to system time), and the gate's log ratio needs
 * every value positive. */
static void test_gate(void)
{
    char dir[300], a[600], b[600];
    snprintf(dir, sizeof dir, "%s/gate", tmp);
    snprintf(a, sizeof a, "%s burn 20", fake);
    snprintf(b, sizeof b, "%s burn 150", fake);
    int rc = tb((const char *[]){"cmd", "-r", "5", "--no-probes", "-q", "--max-regression", "3%", "-m", "user_ms", "--max-cv", "100%", "--out", dir, a, b, NULL});
    CHECKF(rc == 1, "gate exit %d", rc);
    CHECK_HAS(out_text, "regression");
}

static cJSON *stdout_json(void)
{
    cJSON *j = cJSON_Parse(out_text);
    CHECKF(j != NULL, "not JSON: %.200s", out_text);
    return j;
}

/* One convention for every subcommand: a help generated from the option
 * table, --opt=value and --opt value, did-you-mean, --json where it reports,
 * run's overrides (recorded in config.json) and --dry-run. */
static void test_conventions(void)
{
    const char *cmds[] = {"run", "cmd", "bench", "generate", "model", "kernels", "roofline", "probe", "compare", "gate",
                          "report", "export", "doctor", "plan-runs", "history"};
    for (int i = 0; i < 15; i++) {
        CHECKF(tb((const char *[]){cmds[i], "--help", NULL}) == 0, "%s --help", cmds[i]);
        CHECKF(strstr(out_text, "options:") && strstr(out_text, "-h, --help"), "%s --help: %.300s", cmds[i], out_text);
        if (strcmp(cmds[i], "model") && strcmp(cmds[i], "history")) {   /* these take a subcommand first */
            CHECKF(tb((const char *[]){cmds[i], "--no-such-option", NULL}) == 2, "%s --no-such-option", cmds[i]);
            CHECKF(strstr(err_text, "unknown option '--no-such-option'"), "%s: %s", cmds[i], err_text);
        }
    }
    CHECK(tb((const char *[]){"run", "--quite", NULL}) == 2);
    CHECK_HAS(err_text, "unknown option '--quite' (did you mean '--quiet'?)");
    CHECK(tb((const char *[]){"rnu", NULL}) == 2);
    CHECK_HAS(err_text, "unknown command 'rnu' (did you mean 'run'?)");

    /* --dry-run with overrides: the plan, not a run. */
    CHECK(tb((const char *[]){"run", "--dry-run", "--runs=2", "-w", "0", "--set", "cooldown.mode=fixed", "-s",
                              "cooldown.seconds=1.5", NULL}) == 0);
    CHECK_HAS(out_text, "2 measured + 0 warm-up");
    CHECK_HAS(out_text, "4 runs x each run's own time + 4 s of cooldown");
    CHECK(tb((const char *[]){"run", "--dry-run", "--set", "workload.threds=2", NULL}) == 2);
    CHECK_HAS(err_text, "workload: unknown field 'threds' (did you mean 'threads'?)");

    /* Overrides are what config.json records; --json summarises the run. */
    char cfg[1024], path[400], dir[400];
    snprintf(path, sizeof path, "%s/conv.json", tmp);
    snprintf(dir, sizeof dir, "%s/conv", tmp);
    snprintf(cfg, sizeof cfg, "{\"name\": \"conv\", \"workload\": {\"type\": \"command\", \"command\": [\"%s\", \"nothing\"]},"
             " \"variants\": [{\"name\": \"A\"}, {\"name\": \"B\"}], \"repetitions\": 9, \"probes\": {\"enabled\": false}}", fake);
    FILE *f = fopen(path, "w");
    if (f) fputs(cfg, f), fclose(f);
    CHECK(tb((const char *[]){"run", path, "-r", "3", "-w", "0", "--set", "variants[1].ignore_failure=true", "-o", dir, "-q",
                              "--no-report", "--json", NULL}) == 0);
    cJSON *j = stdout_json();
    CHECK(cJSON_GetObjectItem(j, "runs") && cJSON_GetObjectItem(j, "runs")->valueint == 6);
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(j, "comparisons")) == 1);
    cJSON_Delete(j);
    char cpath[500];
    snprintf(cpath, sizeof cpath, "%s/config.json", dir);
    char *text = tb_read_all(cpath, NULL);
    cJSON *c = text ? cJSON_Parse(text) : NULL;
    free(text);
    CHECK(c && cJSON_GetObjectItem(c, "repetitions")->valueint == 3);
    CHECK(c && cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(c, "variants"), 1), "ignore_failure")));
    cJSON_Delete(c);

    /* --json where a command reports. */
    char results[500];
    snprintf(results, sizeof results, "%s/results.json", dir);
    CHECK(tb((const char *[]){"gate", "-b", results, "--candidate=" , NULL}) == 2);
    CHECK(tb((const char *[]){"gate", "--baseline", results, "--candidate", results, "--baseline-variant", "A",
                              "--candidate-variant=B", "--max-cv=1000%", "--json", NULL}) != 2);
    j = stdout_json();
    const cJSON *verdicts = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "gate"), "verdicts");
    CHECK(cJSON_GetArraySize(verdicts) == 1 &&
          cJSON_IsString(cJSON_GetObjectItem(cJSON_GetArrayItem(verdicts, 0), "verdict")));
    cJSON_Delete(j);

    /* Two builds of one tool (another program, the same arguments) in one
     * file: the code under test, named, paired; other arguments: another
     * workload, an input error. */
    char fake2[500], two[4096];
    snprintf(fake2, sizeof fake2, "%s/fake-copy", tmp);
    size_t fake_len = 0;
    char *fake_bytes = tb_read_all(fake, &fake_len);
    FILE *fc = fake_bytes ? fopen(fake2, "wb") : NULL;
    CHECK(fc && fwrite(fake_bytes, 1, fake_len, fc) == fake_len && fclose(fc) == 0 && chmod(fake2, 0755) == 0);
    free(fake_bytes);
    snprintf(path, sizeof path, "%s/two.json", tmp);
    snprintf(dir, sizeof dir, "%s/two", tmp);
    snprintf(two, sizeof two, "{\"name\": \"two\", \"workload\": {\"type\": \"command\"},"
             " \"variants\": [{\"name\": \"old\", \"command\": [\"%s\", \"nothing\"]},"
             " {\"name\": \"new\", \"command\": [\"%s\", \"nothing\"]},"
             " {\"name\": \"other\", \"command\": [\"%s\", \"exit\", \"0\"]}],"
             " \"repetitions\": 6, \"warmup\": 0, \"order\": \"random\", \"probes\": {\"enabled\": false}}",
             fake, fake2, fake);
    f = fopen(path, "w");
    if (f) fputs(two, f), fclose(f);
    CHECK(tb((const char *[]){"run", path, "-o", dir, "-q", "--no-report", "--no-history", NULL}) == 0);
    snprintf(results, sizeof results, "%s/results.json", dir);
    int rc = tb((const char *[]){"gate", "--baseline", results, "--candidate", results, "--baseline-variant", "old",
                                 "--candidate-variant", "new", "--max-cv=1000%", NULL});
    CHECK(rc == 0 || rc == 1 || rc == 3);
    CHECK_HAS(out_text, "another program (the code under test): '");
    CHECK_HAS(out_text, "fake-copy'");
    CHECK_HAS(out_text, "design: paired");
    CHECK(tb((const char *[]){"gate", "--baseline", results, "--candidate", results, "--baseline-variant", "old",
                              "--candidate-variant", "other", NULL}) == 2);
    CHECK_HAS(err_text, "requested workloads differ");
    CHECK(tb((const char *[]){"kernels", "--json", NULL}) == 0);
    j = stdout_json();
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(j, "kernels")) > 3);
    cJSON_Delete(j);
    char model[600];
    snprintf(model, sizeof model, "%s/models/stories260K/model.gguf", TB_SHARED_DIR);
    CHECK(tb((const char *[]){"model", "info", model, "--json", NULL}) == 0);
    j = stdout_json();
    CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "config"), "dim") &&
          cJSON_GetObjectItem(cJSON_GetObjectItem(j, "config"), "dim")->valueint == 64);
    cJSON_Delete(j);
    CHECK(tb((const char *[]){"probe", "--record=1", "--json", "--no-hardware-counters", NULL}) == 0);
    j = stdout_json();
    CHECK(cJSON_IsObject(cJSON_GetObjectItem(j, "channels")) && cJSON_GetObjectItem(j, "samples"));
    cJSON_Delete(j);
    CHECK(tb((const char *[]){"bench", "-p", "tiny", "-i", "8", "-o", "8", "-t", "1", "--json", NULL}) == 0);
    j = stdout_json();
    CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "config"), "input_len")->valueint == 8);
    cJSON_Delete(j);
    /* bench's defaults are a config's: 32 prompt tokens, 32 decode steps, no warm-up pass. */
    CHECK(tb((const char *[]){"bench", "--preset=tiny", "--threads=1", "--json", NULL}) == 0);
    j = stdout_json();
    const cJSON *bc = cJSON_GetObjectItem(j, "config");
    CHECK(bc && cJSON_GetObjectItem(bc, "input_len")->valueint == 32 && cJSON_GetObjectItem(bc, "output_len")->valueint == 32 &&
          cJSON_GetObjectItem(bc, "warmup")->valueint == 0);
    cJSON_Delete(j);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_harness_cmd FAKE_WORKLOAD\n");
        return 1;
    }
    fake = argv[1];
    snprintf(tmp, sizeof tmp, "/tmp/tb_cmd_XXXXXX");
    if (!mkdtemp(tmp)) return 1;
    test_options();
    test_exports();
    test_gate();
    test_hostile_names();
    test_conventions();
    if (!tb_failed) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
        if (system(cmd)) {}
    } else fprintf(stderr, "kept %s\n", tmp);
    TB_MAIN_END();
}
