/* `thermabench probe` end to end: JSON on a fake tree (values computed by
 * hand), the fake NVML, usage errors with exit code 2, and --record with a
 * CSV timeline. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "tb_test.h"

static char root[256];

static void put(const char *rel, const char *text)
{
    char path[512], cmd[700];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    snprintf(cmd, sizeof cmd, "mkdir -p \"$(dirname '%s')\"", path);
    if (system(cmd) != 0)
        exit(1);
    FILE *f = fopen(path, "w");
    if (!f)
        exit(1);
    fputs(text, f);
    fclose(f);
}

/* Runs the command, captures stdout; returns the exit status. */
static int run_cmd(const char *sub, const char *args, char *out, size_t n)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' %s %s 2>/dev/null", TB_BINARY, sub, args);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    size_t got = fread(out, 1, n - 1, p);
    out[got] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int run(const char *args, char *out, size_t n) { return run_cmd("probe", args, out, n); }

/* doctor: the missing OpenCL loader gets the ldd hint and the variable to
 * set; NVML (the fake) is found with its GPU; exit 1 while OpenCL is missing. */
static void test_doctor(void)
{
    static char out[1 << 14], args[1024];
    snprintf(args, sizeof args, "--nvml-library '%s'", FAKE_NVML);
    setenv("THERMABENCH_OPENCL_LIBRARY", "/nonexistent/libOpenCL.so.1", 1);
    CHECK(run_cmd("doctor", args, out, sizeof out) == 1);
    unsetenv("THERMABENCH_OPENCL_LIBRARY");
    CHECKF(strstr(out, "ICD loader: /nonexistent/libOpenCL.so.1 not found") != NULL, "%s", out);
    CHECKF(strstr(out, "`ldd thermabench` does not list it") && strstr(out, "THERMABENCH_OPENCL_LIBRARY="), "%s", out);
    CHECKF(strstr(out, "gpu0: Fake H100") != NULL, "%s", out);
    CHECK(strstr(out, "not ready for GPU experiments") != NULL);
    snprintf(args, sizeof args, "--nvml-library /nonexistent/libnvidia-ml.so.1");
    CHECK(run_cmd("doctor", args, out, sizeof out) == 1);
    CHECKF(strstr(out, "NVML\n  unavailable: no NVML") != NULL, "%s", out);
    CHECK(run_cmd("doctor", "--bogus", out, sizeof out) == 2);
}

static cJSON *channel(cJSON *doc, const char *name)
{
    cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "channels"))
        if (!strcmp(cJSON_GetObjectItem(c, "name")->valuestring, name))
            return c;
    return NULL;
}

int main(void)
{
    snprintf(root, sizeof root, "/tmp/tb_probe_cli_XXXXXX");
    if (!mkdtemp(root))
        return 1;
    put("sys/class/thermal/thermal_zone0/type", "x86_pkg_temp\n");
    put("sys/class/thermal/thermal_zone0/temp", "61500\n");
    put("proc/pressure/memory", "some avg10=0.00 avg60=0.00 avg300=0.00 total=42\n"
        "full avg10=0.00 avg60=0.00 avg300=0.00 total=7\n");

    static char out[1 << 16], args[1024];
    snprintf(args, sizeof args, "--json --root '%s' --only thermal,memory,rapl,nvml --nvml-library '%s'",
             root, FAKE_NVML);
    CHECK(run(args, out, sizeof out) == 0);
    cJSON *doc = cJSON_Parse(out);
    CHECK(doc != NULL);
    if (doc) {
        cJSON *t = channel(doc, "thermal.zone0.temp_c");
        CHECK(t && cJSON_GetObjectItem(t, "value")->valuedouble == 61.5);
        cJSON *p = channel(doc, "mem.psi_some_us");
        CHECK(p && cJSON_GetObjectItem(p, "value")->valuedouble == 42);
        CHECK_STR(p ? cJSON_GetObjectItem(p, "kind")->valuestring : NULL, "counter");
        cJSON *g = channel(doc, "gpu0.power_w");
        CHECK(g && cJSON_GetObjectItem(g, "value")->valuedouble == 250.0);
        cJSON *s;
        int rapl_seen = 0;
        cJSON_ArrayForEach(s, cJSON_GetObjectItem(doc, "sources"))
            if (!strcmp(cJSON_GetObjectItem(s, "name")->valuestring, "rapl")) {
                rapl_seen = 1;
                CHECK(cJSON_IsFalse(cJSON_GetObjectItem(s, "available")));
                CHECK(strlen(cJSON_GetObjectItem(s, "reason")->valuestring) > 0);
            }
        CHECK(rapl_seen);
        cJSON_Delete(doc);
    }

    /* --watch --count 2 --json: two objects, the second with rates */
    snprintf(args, sizeof args, "--json --watch --count 2 --interval-ms 20 --root '%s' --only memory", root);
    CHECK(run(args, out, sizeof out) == 0);
    char *second = strchr(out, '\n');
    CHECK(second && strstr(second, "\"rate_per_s\":0"));

    /* text mode names what is unavailable and why */
    snprintf(args, sizeof args, "--root '%s'", root);
    CHECK(run(args, out, sizeof out) == 0);
    CHECK(strstr(out, "unavailable") && strstr(out, "thermal.zone0.temp_c") && strstr(out, "working here:"));

    /* usage errors: exit 2 */
    CHECK(run("--bogus", out, sizeof out) == 2);
    CHECK(run("--interval-ms abc --watch", out, sizeof out) == 2);
    CHECK(run("--only thermal,nope", out, sizeof out) == 2);
    CHECK(run("--record 1 --watch", out, sizeof out) == 2);
    CHECK(run("--timeline /tmp/x.csv", out, sizeof out) == 2);
    CHECK(run("--fast-ms 100 --slow-ms 10 --record 1", out, sizeof out) == 2);
    CHECK(run("--help", out, sizeof out) == 0 && strstr(out, "usage: thermabench probe"));

    /* --record: summary and a CSV timeline with marks */
    char csv[400];
    snprintf(csv, sizeof csv, "%s/t.csv", root);
    snprintf(args, sizeof args, "--record 1 --fast-ms 50 --slow-ms 200 --root '%s' --only thermal,memory --timeline '%s'",
             root, csv);
    CHECK(run(args, out, sizeof out) == 0);
    CHECK(strstr(out, "throttle: unknown") != NULL);   /* no source here can tell */
    CHECK(strstr(out, "thermal.zone0.temp_c") != NULL);
    FILE *f = fopen(csv, "r");
    CHECK(f != NULL);
    int rows = 0, marks = 0;
    char line[4096];
    while (f && fgets(line, sizeof line, f)) {
        rows++;
        marks += strstr(line, "run:begin:0") || strstr(line, "run:end:0");
    }
    if (f)
        fclose(f);
    CHECK(marks == 2);
    CHECK(rows >= 1 + 2 + 15);   /* header, two marks, about 20 samples in 1 s */
    snprintf(line, sizeof line, "rm -rf '%s'", root);
    if (system(line) != 0)
        return 1;
    test_doctor();
    TB_MAIN_END();
}
