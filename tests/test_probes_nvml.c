/* The NVML source against a fake libnvidia-ml loaded by path: channel
 * names, instant power (not the 1 s average), energy as a slow-tier
 * counter, throttle reasons decoded into a verdict, a GPU that is lost
 * mid-run, and a library that is missing or fails to initialise. */
#include <dlfcn.h>
#include <time.h>
#include <stdlib.h>

#include "probes.h"
#include "tb_test.h"

static int (*fake_set)(const char *, double);

static probe_set *open_nvml(const char *lib)
{
    probe_options o;
    probe_options_default(&o);
    o.only = "nvml";
    o.nvml_library = lib;
    probe_set *ps = NULL;
    probe_error err;
    CHECK(probe_set_open(&o, &ps, &err) == 0);
    return ps;
}

static double read1(probe_set *ps, const char *name)
{
    int c = probe_set_find(ps, name);
    if (c < 0)
        return -12345;
    double *v = probe_set_read_all(ps);
    double x = v[c];
    free(v);
    return x;
}

int main(void)
{
    void *h = dlopen(FAKE_NVML, RTLD_NOW);
    if (!h) {
        fprintf(stderr, "%s\n", dlerror());
        return 1;
    }
    fake_set = (int (*)(const char *, double))dlsym(h, "fake_nvml_set");
    CHECK(fake_set != NULL);
    if (!fake_set)
        TB_MAIN_END();

    probe_set *ps = open_nvml(FAKE_NVML);
    const probe_source_status *st = probe_set_source(ps, 0);
    CHECK(st->available);
    CHECK_STR(st->name, "nvml");
    CHECK_NEAR(read1(ps, "gpu0.temp_c"), 45, 0);
    CHECK_NEAR(read1(ps, "gpu0.power_w"), 250.0, 1e-9);   /* instant field, not the 100 W average */
    CHECK_NEAR(read1(ps, "gpu0.energy_j"), 1000.0, 1e-9);
    CHECK_NEAR(read1(ps, "gpu0.sm_clock_mhz"), 1980, 0);
    CHECK_NEAR(read1(ps, "gpu0.mem_used_bytes"), 1 << 30, 0);
    CHECK_NEAR(read1(ps, "gpu0.util_pct"), 97, 0);
    CHECK_NEAR(read1(ps, "gpu0.pstate"), 0, 0);
    CHECK_NEAR(read1(ps, "gpu0.throttle_reasons"), 0, 0);
    int e = probe_set_find(ps, "gpu0.energy_j");
    CHECK(e >= 0 && probe_set_channel(ps, e)->tier == PROBE_TIER_SLOW);
    CHECK(e >= 0 && probe_set_channel(ps, e)->kind == PROBE_COUNTER);
    /* the limits a run is judged against, and who else uses the GPU */
    CHECK_NEAR(read1(ps, "gpu0.power_limit_w"), 700.0, 1e-9);
    CHECK_NEAR(read1(ps, "gpu0.temp_slowdown_c"), 90, 0);
    CHECK_NEAR(read1(ps, "gpu0.temp_max_c"), 87, 0);
    CHECK_NEAR(read1(ps, "gpu0.compute_processes"), 0, 0);
    fake_set("processes", 3);   /* NVML answers INSUFFICIENT_SIZE with the count */
    CHECK_NEAR(read1(ps, "gpu0.compute_processes"), 3, 0);
    fake_set("processes", 0);
    int pl = probe_set_find(ps, "gpu0.power_limit_w");
    CHECK(pl >= 0 && probe_set_channel(ps, pl)->tier == PROBE_TIER_SLOW);
    int sm = probe_set_find(ps, "gpu0.sm_clock_mhz");
    CHECK(sm >= 0 && strstr(probe_set_channel(ps, sm)->label, "max 1980 MHz"));

    /* a sampled phase: energy delta, mean power, throttle verdict */
    probe_sampler *s;
    probe_error err;
    CHECK(probe_sampler_start(ps, 10, 20, &s, &err) == 0);
    int a = probe_sampler_mark(s, "decode", true, 0);
    fake_set("energy_mj", 1000000 + 12345);
    fake_set("reasons", 0x1 | 0x4);                  /* idle + SW power cap */
    fake_set("power_violation_ns", 5e6);
    struct timespec ts = {0, 50 * 1000000L};
    nanosleep(&ts, NULL);
    int b = probe_sampler_mark(s, "decode", false, 0);
    probe_sampler_stop(s);
    probe_phase_summary p;
    CHECK(probe_summarize(s, a, b, &p, &err) == 0);
    CHECK_NEAR(p.channels[e].delta, 12.345, 1e-9);
    CHECK_NEAR(p.channels[probe_set_find(ps, "gpu0.power_cap_time_ms")].delta, 5.0, 1e-9);
    CHECK(p.throttle == PROBE_THROTTLE_YES);
    CHECKF(strstr(p.throttle_cause, "gpu0: SW power cap") != NULL, "%s", p.throttle_cause);
    CHECK(strstr(p.throttle_cause, "idle") == NULL);
    /* the GPU headline: every clock-event reason by name, the limit, the
     * violation time, the memory clock and the mean temperature */
    probe_headline hg;
    probe_phase_headline(ps, &p, PROBE_DEVICE_GPU, -1, &hg);
    CHECK_STR(hg.device, "gpu0");
    CHECK_NEAR(hg.clock_event_mask, 0x5, 0);
    CHECK_STR(hg.clock_events, "GPU idle, SW power cap");
    CHECK_NEAR(hg.power_limit_w, 700, 1e-9);
    CHECK_NEAR(hg.power_cap_time_ms, 5.0, 1e-9);
    CHECK_NEAR(hg.mem_clock_mean_mhz, 2619, 1e-9);
    CHECK_NEAR(hg.temp_mean_c, 45, 1e-9);
    CHECK_NEAR(hg.energy_j, 12.345, 1e-9);
    probe_headline hc;   /* the CPU's headline has none of the GPU's figures */
    probe_phase_headline(ps, &p, PROBE_DEVICE_CPU, -1, &hc);
    CHECK(isnan(hc.power_limit_w) && isnan(hc.clock_event_mask) && hc.clock_events[0] == 0);
    probe_phase_summary_free(&p);
    probe_sampler_free(s);

    /* idle only, no violations: a verdict of no */
    fake_set("reasons", 0x1);
    CHECK(probe_sampler_start(ps, 10, 20, &s, &err) == 0);
    a = probe_sampler_mark(s, "run", true, 1);
    b = probe_sampler_mark(s, "run", false, 1);
    probe_sampler_stop(s);
    CHECK(probe_summarize(s, a, b, &p, &err) == 0);
    CHECK(p.throttle == PROBE_THROTTLE_NO);
    probe_phase_summary_free(&p);
    probe_sampler_free(s);

    /* the GPU falls off the bus: NAN and one note per channel, no crash */
    fake_set("lost", 1);
    CHECK(isnan(read1(ps, "gpu0.temp_c")));
    bool noted = false;
    for (size_t i = 0; i < probe_set_note_count(ps); i++)
        noted = noted || strstr(probe_set_note(ps, i)->text, "gpu0.temp_c: NVML: GPU is lost");
    CHECK(noted);
    fake_set("lost", 0);
    probe_set_close(ps);

    /* thresholds not supported: those channels are absent, not zero */
    fake_set("no_thresholds", 1);
    ps = open_nvml(FAKE_NVML);
    CHECK(probe_set_find(ps, "gpu0.temp_slowdown_c") < 0);
    CHECK(probe_set_find(ps, "gpu0.temp_c") >= 0);
    probe_set_close(ps);
    fake_set("no_thresholds", 0);

    /* no instant power field: the 1 s average, and the label says so */
    fake_set("no_instant", 1);
    ps = open_nvml(FAKE_NVML);
    CHECK_NEAR(read1(ps, "gpu0.power_w"), 100.0, 1e-9);
    int pw = probe_set_find(ps, "gpu0.power_w");
    CHECK(pw >= 0 && strstr(probe_set_channel(ps, pw)->label, "1 s average"));
    probe_set_close(ps);
    fake_set("no_instant", 0);

    fake_set("init_fails", 1);
    ps = open_nvml(FAKE_NVML);
    CHECK(!probe_set_source(ps, 0)->available);
    CHECKF(strstr(probe_set_source(ps, 0)->reason, "Driver Not Loaded") != NULL, "%s", probe_set_source(ps, 0)->reason);
    probe_set_close(ps);
    fake_set("init_fails", 0);

    ps = open_nvml("/nonexistent/libnvidia-ml.so.1");
    CHECK(!probe_set_source(ps, 0)->available);
    CHECK(strstr(probe_set_source(ps, 0)->reason, "no NVML") != NULL);
    CHECK(probe_set_channel_count(ps) == 0);
    probe_set_close(ps);
    dlclose(h);
    TB_MAIN_END();
}
