/* GPU-aware cooldown and preflight against the fake NVML (argv[1]) and a
 * fake thermal tree: the channel a cooldown watches by default, the idle
 * baseline (cold reading, stored, start reading, config), and the preflight
 * GPU check's verdict and numbers. */
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "harness_internal.h"
#include "tb_test.h"

static int (*fake_set)(const char *, double);
static char tmp[256], root[512];

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static harness_config *config(const char *workload, const char *cooldown)
{
    char text[2048];
    snprintf(text, sizeof text, "{\"name\": \"t\", \"workload\": %s, \"cooldown\": %s}", workload, cooldown);
    harness_config *c = NULL;
    harness_error err;
    int rc = harness_config_load_text(text, "t.json", &c, &err);
    CHECKF(rc == 0, "%s", err.msg);
    return c;
}

static probe_set *open_probes(const char *nvml)
{
    probe_options o;
    probe_options_default(&o);
    o.root = root;
    o.only = "thermal,nvml";
    o.nvml_library = nvml;
    probe_set *ps = NULL;
    probe_error pe;
    CHECK(probe_set_open(&o, &ps, &pe) == 0);
    return ps;
}

static const char *channel_name(probe_set *ps, int i) { return i >= 0 ? probe_set_channel(ps, (size_t)i)->name : "(none)"; }

static void test_channel(const char *nvml)
{
    probe_set *ps = open_probes(nvml);
    /* An OpenCL engine workload cools on the GPU, a CPU one on the CPU's zone. */
    harness_config *gpu = config("{\"backend\": \"opencl\"}", "{\"mode\": \"temperature\"}");
    harness_config *cpu = config("{\"backend\": \"cpu\"}", "{\"mode\": \"temperature\"}");
    harness_config *mixed = config("{\"backend\": \"cpu\"}", "{\"mode\": \"temperature\"}");
    harness_config *named = config("{\"backend\": \"opencl\"}", "{\"mode\": \"temperature\", \"channel\": \"thermal.zone0.temp_c\"}");
    CHECK_STR(channel_name(ps, harness_temp_channel(gpu, ps)), "gpu0.temp_c");
    CHECK_STR(channel_name(ps, harness_temp_channel(cpu, ps)), "thermal.zone0.temp_c");
    CHECK_STR(channel_name(ps, harness_temp_channel(named, ps)), "thermal.zone0.temp_c");
    /* one OpenCL variant among CPU ones is enough */
    if (mixed) {
        mixed->n_variants = 2;
        mixed->variants[1] = mixed->variants[0];
        snprintf(mixed->variants[1].workload.backend, sizeof mixed->variants[1].workload.backend, "opencl");
        CHECK_STR(channel_name(ps, harness_temp_channel(mixed, ps)), "gpu0.temp_c");
    }
    free(gpu), free(cpu), free(mixed), free(named);
    probe_set_close(ps);
}

static harness_idle baseline(probe_set *ps, harness_config *c)
{
    harness_idle idle;
    probe_sampler *s = NULL;
    probe_error pe;
    CHECK(probe_sampler_start(ps, 10, 20, &s, &pe) == 0);
    harness_idle_baseline(c, ps, s, harness_temp_channel(c, ps), &idle);
    probe_sampler_free(s);
    return idle;
}

static void test_baseline(const char *nvml)
{
    char state[300];
    snprintf(state, sizeof state, "%s/state", tmp);
    setenv("THERMABENCH_STATE_DIR", state, 1);
    probe_set *ps = open_probes(nvml);
    harness_config *c = config("{\"backend\": \"opencl\"}", "{\"mode\": \"temperature\", \"baseline_s\": 0.2, \"poll_ms\": 20}");
    int ch = harness_temp_channel(c, ps);

    /* Busy and hot with nothing stored: the start reading, flagged. */
    fake_set("temp_c", 66), fake_set("util", 97);
    harness_idle i = baseline(ps, c);
    CHECK_STR(i.source, "start reading");
    CHECK(i.busy && !i.cold);
    CHECK_NEAR(i.baseline_c, 66, 1e-9);
    CHECKF(strstr(i.detail, "66.0 C now (device busy)") && strstr(i.detail, "set cooldown.idle_c"), "%s", i.detail);
    double v;
    CHECK(harness_idle_lookup(ps, ch, &v, NULL, 0) == -1);   /* a busy reading is never stored */

    /* Idle and cool: a cold reading, stored. */
    fake_set("temp_c", 41), fake_set("util", 0);
    i = baseline(ps, c);
    CHECK_STR(i.source, "cold reading");
    CHECK_NEAR(i.baseline_c, 41, 1e-9);
    CHECK(harness_idle_lookup(ps, ch, &v, NULL, 0) == 0);
    CHECK_NEAR(v, 41, 1e-9);

    /* Right after another experiment: hot, the GPU idle again. The start
     * temperature is not the baseline; the stored idle is. */
    fake_set("temp_c", 63);
    i = baseline(ps, c);
    CHECK_STR(i.source, "stored");
    CHECK_NEAR(i.baseline_c, 41, 1e-9);
    CHECK_NEAR(i.start_c, 63, 1e-9);
    CHECKF(strstr(i.detail, "63.0 C now (warmer than its stored idle); stored idle 41.0 C") != NULL, "%s", i.detail);

    /* Another process on the GPU: busy, the stored idle again. */
    fake_set("temp_c", 42), fake_set("processes", 1);
    i = baseline(ps, c);
    CHECK_STR(i.source, "stored");
    CHECK(i.busy);
    fake_set("processes", 0);

    /* A known idle level in the config wins without measuring. */
    harness_config *k = config("{\"backend\": \"opencl\"}", "{\"mode\": \"temperature\", \"idle_c\": 35}");
    i = baseline(ps, k);
    CHECK_STR(i.source, "config");
    CHECK_NEAR(i.baseline_c, 35, 1e-9);

    /* Stored per device: another GPU model on this host has no idle level. */
    CHECK(harness_idle_store(ps, ch, 39.5) == 0);
    CHECK(harness_idle_lookup(ps, ch, &v, NULL, 0) == 0 && v == 39.5);
    free(c), free(k);
    probe_set_close(ps);
}

static const char *gpu_check(probe_set *ps, harness_config *c, char *status, size_t n)
{
    static char detail[512];
    static harness_preflight a;
    harness_preflight_run(c, ps, &a);
    detail[0] = status[0] = 0;
    for (int i = 0; i < a.n; i++) {
        if (strcmp(a.checks[i].check, "gpu")) continue;
        snprintf(status, n, "%s", a.checks[i].status);
        snprintf(detail, sizeof detail, "%s", a.checks[i].detail);
    }
    return detail;
}

static void test_preflight(const char *nvml)
{
    char state[300], st[16];
    snprintf(state, sizeof state, "%s/state-preflight", tmp);
    setenv("THERMABENCH_STATE_DIR", state, 1);
    probe_set *ps = open_probes(nvml);
    harness_config *c = config("{\"backend\": \"opencl\"}", "{\"mode\": \"temperature\"}");
    int ch = harness_temp_channel(c, ps);

    /* Nothing stored: 58 C is below the 60 C stand-in, and says so. */
    fake_set("temp_c", 58), fake_set("util", 0), fake_set("processes", 0);
    const char *d = gpu_check(ps, c, st, sizeof st);
    CHECK_STR(st, "ok");
    CHECKF(strstr(d, "gpu0 (Fake H100): 58 C, no stored idle temperature") && strstr(d, "32 C below slowdown") &&
           strstr(d, "utilisation 0 %") && strstr(d, "0 compute processes"), "%s", d);

    /* With an idle level of 41 C known, 58 C is warm: a warning with the numbers. */
    CHECK(harness_idle_store(ps, ch, 41) == 0);
    d = gpu_check(ps, c, st, sizeof st);
    CHECK_STR(st, "warn");
    CHECKF(strstr(d, "58 C, +17 C against its idle 41.0 C") && strstr(d, ": warmer than idle"), "%s", d);

    /* Cool but used by another process. */
    fake_set("temp_c", 42), fake_set("processes", 2), fake_set("util", 35);
    d = gpu_check(ps, c, st, sizeof st);
    CHECK_STR(st, "warn");
    CHECKF(strstr(d, "utilisation 35 %, 2 compute processes: busy") != NULL, "%s", d);

    fake_set("processes", 0), fake_set("util", 0);
    d = gpu_check(ps, c, st, sizeof st);
    CHECK_STR(st, "ok");
    free(c);
    probe_set_close(ps);
}

int main(int argc, char **argv)
{
    if (argc < 2) return 1;
    void *h = dlopen(argv[1], RTLD_NOW);
    if (!h) {
        fprintf(stderr, "%s\n", dlerror());
        return 1;
    }
    fake_set = (int (*)(const char *, double))dlsym(h, "fake_nvml_set");
    CHECK(fake_set != NULL);
    if (!fake_set) TB_MAIN_END();
    snprintf(tmp, sizeof tmp, "/tmp/tb-gpu-idle-XXXXXX");
    CHECK(mkdtemp(tmp) != NULL);
    /* a CPU temperature: a thermal zone in a fake tree the probes read under root */
    snprintf(root, sizeof root, "%s/root", tmp);
    char p[700];
    snprintf(p, sizeof p, "mkdir -p %s/sys/class/thermal/thermal_zone0", root);
    CHECK(system(p) == 0);
    snprintf(p, sizeof p, "%s/sys/class/thermal/thermal_zone0/type", root);
    write_file(p, "x86_pkg_temp\n");
    snprintf(p, sizeof p, "%s/sys/class/thermal/thermal_zone0/temp", root);
    write_file(p, "45000\n");
    test_channel(argv[1]);
    test_baseline(argv[1]);
    test_preflight(argv[1]);
    snprintf(p, sizeof p, "rm -rf %s", tmp);
    if (system(p)) {}
    dlclose(h);
    TB_MAIN_END();
}
