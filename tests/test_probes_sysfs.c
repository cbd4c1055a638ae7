/* Probes on a fake sysfs/procfs tree: thermal zones, RAPL (with counter
 * wrap), cpufreq, thermal_throttle and memory pressure; a sensor that
 * vanishes mid-run, unreadable files, malformed contents; the sampler's
 * marks, per-phase summaries, throttle verdicts and the CSV timeline.
 * Every expected value is computed by hand from what the test writes. */
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "probes.h"
#include "tb_test.h"

static char root[256];

static void put(const char *rel, const char *text)
{
    char path[512], dir[512];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    /* mkdir -p the parent */
    snprintf(dir, sizeof dir, "%s", path);
    for (char *p = dir + strlen(root) + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            mkdir(dir, 0755);
            *p = '/';
        }
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(1);
    }
    fputs(text, f);
    fclose(f);
}

static void rm(const char *rel)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    unlink(path);
}

static void mkdir_at(const char *rel)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    mkdir(path, 0755);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static char pid_status[64], pid_cgroup[64];

static void psi(long long some, long long full)
{
    char buf[256];
    snprintf(buf, sizeof buf, "some avg10=1.00 avg60=0.50 avg300=0.10 total=%lld\n"
             "full avg10=0.00 avg60=0.00 avg300=0.00 total=%lld\n", some, full);
    put("proc/pressure/memory", buf);
}

static void build_tree(void)
{
    put("sys/class/thermal/thermal_zone0/type", "x86_pkg_temp\n");
    put("sys/class/thermal/thermal_zone0/temp", "45000\n");
    put("sys/class/thermal/thermal_zone1/type", "acpitz\n");
    put("sys/class/thermal/thermal_zone1/temp", "hot!\n");         /* malformed */
    put("sys/class/thermal/thermal_zone2/type", "broken\n");
    mkdir_at("sys/class/thermal/thermal_zone2/temp");              /* unreadable: EISDIR */
    put("sys/class/thermal/thermal_zone10/type", "iwlwifi\n");
    put("sys/class/thermal/thermal_zone10/temp", "-5500\n");

    put("sys/class/powercap/intel-rapl/enabled", "1\n");           /* control type, no zone */
    put("sys/class/powercap/intel-rapl:0/name", "package-0\n");
    put("sys/class/powercap/intel-rapl:0/energy_uj", "999000\n");
    put("sys/class/powercap/intel-rapl:0/max_energy_range_uj", "1000000\n");
    put("sys/class/powercap/intel-rapl:0:0/name", "core\n");
    put("sys/class/powercap/intel-rapl:0:0/energy_uj", "10\n");
    put("sys/class/powercap/intel-rapl:0:0/max_energy_range_uj", "1000000\n");

    for (int cpu = 0; cpu < 2; cpu++) {
        char p[256];
        snprintf(p, sizeof p, "sys/devices/system/cpu/cpu%d/cpufreq/scaling_cur_freq", cpu);
        put(p, cpu ? "1200000\n" : "2400000\n");
        snprintf(p, sizeof p, "sys/devices/system/cpu/cpu%d/cpufreq/cpuinfo_max_freq", cpu);
        put(p, "3000000\n");
        snprintf(p, sizeof p, "sys/devices/system/cpu/cpu%d/topology/physical_package_id", cpu);
        put(p, "0\n");
        snprintf(p, sizeof p, "sys/devices/system/cpu/cpu%d/thermal_throttle/core_throttle_count", cpu);
        put(p, cpu ? "3\n" : "2\n");
        snprintf(p, sizeof p, "sys/devices/system/cpu/cpu%d/thermal_throttle/package_throttle_count", cpu);
        put(p, "7\n");  /* the same package: counted once */
    }
    put("sys/devices/system/cpu/online", "0-1\n");  /* not a cpuN entry: ignored */

    psi(1000, 400);
    put("proc/meminfo", "MemTotal:       24000000 kB\nMemFree:         1000 kB\n"
        "MemAvailable:    2000 kB\nSwapTotal: 0 kB\nSwapFree:        0 kB\n");
    put("proc/vmstat", "nr_free_pages 12\npgmajfault 5\npswpin 1\npswpout 2\n"
        "allocstall_dma 0\nallocstall_dma32 3\nallocstall_normal 4\nallocstall_movable 5\n"
        "pgscan_direct 77\n");
    put(pid_status, "Name:\tx\nVmHWM:\t  300 kB\nVmRSS:\t  200 kB\n");
    put(pid_cgroup, "0::/bench.slice\n");
    put("sys/fs/cgroup/cgroup.controllers", "cpu memory\n");
    put("sys/fs/cgroup/bench.slice/memory.pressure",
        "some avg10=0.00 avg60=0.00 avg300=0.00 total=11\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=3\n");
    put("sys/fs/cgroup/bench.slice/memory.current", "4096\n");
}

static double value(probe_set *ps, const char *name)
{
    int c = probe_set_find(ps, name);
    if (c < 0) {
        fprintf(stderr, "no channel %s\n", name);
        return -12345;
    }
    double *v = probe_set_read_all(ps);
    double x = v[c];
    free(v);
    return x;
}

static const probe_source_status *source(probe_set *ps, const char *name)
{
    for (size_t i = 0; i < probe_set_source_count(ps); i++)
        if (!strcmp(probe_set_source(ps, i)->name, name))
            return probe_set_source(ps, i);
    return NULL;
}

static bool note_has(probe_set *ps, const char *text)
{
    for (size_t i = 0; i < probe_set_note_count(ps); i++)
        if (strstr(probe_set_note(ps, i)->text, text))
            return true;
    return false;
}

static probe_set *open_fake(const char *only)
{
    probe_options o;
    probe_options_default(&o);
    o.root = root;
    o.only = only;
    o.perf_pid = 4242;  /* the fake /proc/4242 */
    probe_set *ps = NULL;
    probe_error err;
    CHECK(probe_set_open(&o, &ps, &err) == 0);
    return ps;
}

static void test_sources(void)
{
    probe_set *ps = open_fake("thermal,rapl,cpufreq,throttle,memory");
    CHECK(probe_set_source_count(ps) == 5);
    const probe_source_status *th = source(ps, "thermal");
    CHECK(th && th->available && th->n_channels == 2);
    CHECKF(th && strstr(th->reason, "2 zone(s) unreadable"), "reason: %s", th ? th->reason : "");
    CHECKF(th && strstr(th->reason, "malformed"), "reason: %s", th ? th->reason : "");
    CHECK_NEAR(value(ps, "thermal.zone0.temp_c"), 45.0, 1e-9);
    CHECK_NEAR(value(ps, "thermal.zone10.temp_c"), -5.5, 1e-9);
    CHECK(probe_set_find(ps, "thermal.zone1.temp_c") < 0);
    CHECK_STR(probe_set_channel(ps, probe_set_find(ps, "thermal.zone0.temp_c"))->label, "x86_pkg_temp");

    CHECK(source(ps, "rapl")->available);
    CHECK(probe_set_find(ps, "rapl.package-0.energy_j") >= 0);
    CHECK(probe_set_find(ps, "rapl.package-0.core.energy_j") >= 0);
    CHECK(probe_set_channel(ps, probe_set_find(ps, "rapl.package-0.energy_j"))->kind == PROBE_COUNTER);

    CHECK_NEAR(value(ps, "cpu0.clock_mhz"), 2400, 1e-9);
    CHECK_NEAR(value(ps, "cpu.clock_mean_mhz"), 1800, 1e-9);
    CHECK_NEAR(value(ps, "cpu.clock_min_mhz"), 1200, 1e-9);
    CHECK_STR(probe_set_channel(ps, probe_set_find(ps, "cpu1.clock_mhz"))->label, "max 3000 MHz");

    CHECK_NEAR(value(ps, "cpu.core_throttle_count"), 5, 1e-9);   /* 2 + 3 */
    CHECK_NEAR(value(ps, "cpu.pkg_throttle_count"), 7, 1e-9);    /* one package */
    CHECK(probe_set_find(ps, "cpu.core_throttle_ms") < 0);       /* no such file */

    CHECK_NEAR(value(ps, "mem.psi_some_us"), 1000, 0);
    CHECK_NEAR(value(ps, "mem.psi_full_us"), 400, 0);
    CHECK_NEAR(value(ps, "mem.available_bytes"), 2000.0 * 1024, 0);
    CHECK_NEAR(value(ps, "mem.major_faults"), 5, 0);
    CHECK_NEAR(value(ps, "mem.direct_reclaim_stalls"), 12, 0);   /* 0 + 3 + 4 + 5 */
    CHECK_NEAR(value(ps, "mem.direct_scan_pages"), 77, 0);
    CHECK_NEAR(value(ps, "proc.rss_bytes"), 200.0 * 1024, 0);
    CHECK_NEAR(value(ps, "proc.peak_rss_bytes"), 300.0 * 1024, 0);
    CHECK_NEAR(value(ps, "mem.cgroup_psi_some_us"), 11, 0);
    CHECK_NEAR(value(ps, "mem.cgroup_bytes"), 4096, 0);
    probe_set_close(ps);
}

static void test_rapl_wrap(void)
{
    put("sys/class/powercap/intel-rapl:0/energy_uj", "999000\n");
    probe_set *ps = open_fake("rapl");
    double e0 = value(ps, "rapl.package-0.energy_j");
    CHECK_NEAR(e0, 0.999, 1e-12);
    put("sys/class/powercap/intel-rapl:0/energy_uj", "999900\n");
    CHECK_NEAR(value(ps, "rapl.package-0.energy_j") - e0, 900e-6, 1e-12);
    /* wrapped: 999900 -> 1000000 (range) -> 500: 100 + 500 uJ more */
    put("sys/class/powercap/intel-rapl:0/energy_uj", "500\n");
    CHECK_NEAR(value(ps, "rapl.package-0.energy_j") - e0, 1500e-6, 1e-12);
    put("sys/class/powercap/intel-rapl:0/energy_uj", "2500\n");
    CHECK_NEAR(value(ps, "rapl.package-0.energy_j") - e0, 3500e-6, 1e-12);
    probe_set_close(ps);
    put("sys/class/powercap/intel-rapl:0/energy_uj", "999000\n");
}

static void test_vanish_and_malformed(void)
{
    probe_set *ps = open_fake("thermal,memory,cpufreq");
    CHECK_NEAR(value(ps, "thermal.zone0.temp_c"), 45.0, 1e-9);
    size_t notes0 = probe_set_note_count(ps);
    rm("sys/class/thermal/thermal_zone0/temp");
    double v = value(ps, "thermal.zone0.temp_c");
    CHECK(isnan(v));                                     /* NAN, never zero */
    CHECK(probe_set_note_count(ps) == notes0 + 1);
    CHECK(note_has(ps, "thermal.zone0.temp_c"));
    CHECK_NEAR(value(ps, "thermal.zone10.temp_c"), -5.5, 1e-9);  /* the rest goes on */
    CHECK(isnan(value(ps, "thermal.zone0.temp_c")));
    CHECK(probe_set_note_count(ps) == notes0 + 1);       /* reported once */
    put("sys/class/thermal/thermal_zone0/temp", "47000\n");
    CHECK_NEAR(value(ps, "thermal.zone0.temp_c"), 47.0, 1e-9);
    CHECK(note_has(ps, "readable again"));

    /* malformed mid-run */
    put("proc/vmstat", "pgmajfault five\n");
    CHECK(isnan(value(ps, "mem.major_faults")));
    CHECK(note_has(ps, "mem.major_faults"));
    put("sys/devices/system/cpu/cpu1/cpufreq/scaling_cur_freq", "");
    CHECK(isnan(value(ps, "cpu1.clock_mhz")));
    CHECK_NEAR(value(ps, "cpu.clock_mean_mhz"), 2400, 1e-9);  /* over the CPUs still readable */
    probe_set_close(ps);
    put("sys/class/thermal/thermal_zone0/temp", "45000\n");
    put("sys/devices/system/cpu/cpu1/cpufreq/scaling_cur_freq", "1200000\n");
    build_tree();
}

static void test_unavailable(void)
{
    char saved[256];
    snprintf(saved, sizeof saved, "%s", root);
    snprintf(root, sizeof root, "%.200s/sys/class/thermal", saved);  /* a root with nothing */
    probe_set *ps = open_fake(NULL);
    snprintf(root, sizeof root, "%s", saved);
    const probe_source_status *s = source(ps, "thermal");
    CHECK(s && !s->available && s->reason[0]);
    s = source(ps, "rapl");
    CHECKF(s && !s->available && strstr(s->reason, "powercap"), "%s", s ? s->reason : "");
    s = source(ps, "hwmon");
    CHECKF(s && !s->available && strstr(s->reason, "libsensors"), "%s", s ? s->reason : "");
    s = source(ps, "memory");
    CHECK(s && !s->available);
    s = source(ps, "nvml");
    CHECK(s != NULL);
    probe_set_close(ps);

    probe_options o;
    probe_options_default(&o);
    o.only = "thermal,gpu";
    probe_error err;
    CHECK(probe_set_open(&o, &ps, &err) == -1);
    CHECKF(strstr(err.msg, "'gpu'") != NULL, "%s", err.msg);
}

static probe_phase_summary phase(probe_sampler *s, int a, int b)
{
    probe_phase_summary p;
    probe_error err;
    CHECK(probe_summarize(s, a, b, &p, &err) == 0);
    return p;
}

static const probe_channel_summary *chan(probe_set *ps, probe_phase_summary *p, const char *name)
{
    int c = probe_set_find(ps, name);
    return c >= 0 ? &p->channels[c] : NULL;
}

/* Waits until the sampler has taken n more samples than `from` (up to 60 s):
 * on a loaded machine its thread may not run for a long time, so the checks
 * count samples, never milliseconds. */
static void wait_samples(probe_sampler *s, size_t from, size_t n)
{
    for (int waited = 0; probe_sampler_sample_count(s) < from + n && waited < 60000; waited += 5)
        sleep_ms(5);
}

static void test_sampler(void)
{
    probe_set *ps = open_fake("thermal,rapl,throttle,memory");
    probe_sampler *s;
    probe_error err;
    CHECK(probe_sampler_start(ps, 0, 10, &s, &err) == -1);       /* bad period */
    CHECK(probe_sampler_start(ps, 10, 40, &s, &err) == 0);
    wait_samples(s, 0, 1);
    int m0 = probe_sampler_mark(s, "run", true, 0);
    psi(1500, 400);
    put("sys/class/thermal/thermal_zone0/temp", "50000\n");
    put("sys/class/powercap/intel-rapl:0/energy_uj", "200\n");  /* wraps: +1000000-999000+200 */
    wait_samples(s, probe_sampler_sample_count(s), 2);
    psi(2250, 410);
    put("sys/devices/system/cpu/cpu1/thermal_throttle/core_throttle_count", "4\n");
    int m1 = probe_sampler_mark(s, "run", false, 0);
    /* a phase far shorter than the period: deltas still exact */
    int m2 = probe_sampler_mark(s, "decode", true, 0);
    psi(2300, 410);
    int m3 = probe_sampler_mark(s, "decode", false, 0);
    wait_samples(s, probe_sampler_sample_count(s), 1);
    probe_sampler_stop(s);
    int m4 = probe_sampler_mark(s, "after", true, -1);           /* after stop: still works */
    CHECK(m0 == 0 && m1 == 1 && m2 == 2 && m3 == 3 && m4 == 4);
    CHECK(probe_sampler_mark_count(s) == 5);
    CHECK(probe_sampler_sample_count(s) >= 4);
    CHECK(probe_sampler_find_mark(s, "run", false, 0) == 1);
    CHECK(probe_sampler_find_mark(s, "decode", true, -1) == 2);
    CHECK(probe_sampler_find_mark(s, "prefill", true, -1) == -1);
    CHECK_NEAR(probe_sampler_latest(s, probe_set_find(ps, "mem.psi_some_us")), 2300, 0);
    for (size_t i = 1; i < probe_sampler_sample_count(s); i++)
        CHECK(probe_sampler_sample(s, i)->t_ns > probe_sampler_sample(s, i - 1)->t_ns);

    probe_phase_summary run = phase(s, m0, m1);
    const probe_channel_summary *c = chan(ps, &run, "mem.psi_some_us");
    CHECK_NEAR(c->delta, 1250, 0);
    double secs = (run.t_end_ns - run.t_begin_ns) / 1e9;
    CHECK_NEAR(c->rate_per_s, 1250 / secs, 1e-6);
    CHECK_NEAR(chan(ps, &run, "mem.psi_full_us")->delta, 10, 0);
    CHECK_NEAR(chan(ps, &run, "rapl.package-0.energy_j")->delta, 1200e-6, 1e-12);
    c = chan(ps, &run, "thermal.zone0.temp_c");
    CHECK_NEAR(c->start, 45, 1e-9);
    CHECK_NEAR(c->end, 50, 1e-9);
    CHECK_NEAR(c->min, 45, 1e-9);
    CHECK_NEAR(c->max, 50, 1e-9);
    CHECK(c->mean > 45 && c->mean < 50);
    CHECK(c->n_samples >= 3);
    CHECK(run.throttle == PROBE_THROTTLE_YES);
    CHECKF(strstr(run.throttle_cause, "core_throttle_count") != NULL, "%s", run.throttle_cause);

    probe_phase_summary dec = phase(s, m2, m3);
    CHECK_NEAR(chan(ps, &dec, "mem.psi_some_us")->delta, 50, 0);
    CHECK(dec.throttle == PROBE_THROTTLE_NO);
    CHECK(dec.throttle_cause[0] == 0);
    probe_phase_summary_free(&run);
    probe_phase_summary_free(&dec);

    probe_phase_summary bad;
    CHECK(probe_summarize(s, 1, 0, &bad, &err) == -1);
    CHECK(strstr(err.msg, "before") != NULL);
    CHECK(probe_summarize(s, 0, 9, &bad, &err) == -1);

    char csv[512], line[8192];
    snprintf(csv, sizeof csv, "%s/timeline.csv", root);
    CHECK(probe_timeline_write_csv(s, csv, &err) == 0);
    FILE *f = fopen(csv, "r");
    size_t rows = 0, mark_rows = 0;
    int psi_col = -1, col = 0;
    CHECK(f && fgets(line, sizeof line, f));
    CHECK(strncmp(line, "t_s,tier,latency_ms,mark,", 25) == 0);
    CHECK(strstr(line, ",mem.psi_some_us") != NULL);
    for (char *tok = strtok(line, ",\n"); tok; tok = strtok(NULL, ",\n"), col++)
        if (!strcmp(tok, "mem.psi_some_us"))
            psi_col = col;
    char last_mark[8192] = "";
    while (f && fgets(line, sizeof line, f)) {
        rows++;
        if (strstr(line, ",mark,")) {
            mark_rows++;
            snprintf(last_mark, sizeof last_mark, "%s", line);
        }
    }
    /* the "after" mark's PSI cell holds the value written last */
    col = 0;
    const char *cell = NULL;
    for (char *p = last_mark; p && col <= psi_col; col++) {
        if (col == psi_col)
            cell = p;
        p = strchr(p, ',');
        p = p ? p + 1 : NULL;
    }
    CHECK(strstr(last_mark, "after:begin:-1") != NULL);
    CHECK(cell && atof(cell) == 2300);
    if (f)
        fclose(f);
    CHECK(rows == probe_sampler_sample_count(s) + 5);
    CHECK(mark_rows == 5);
    snprintf(csv, sizeof csv, "%s/no/such/dir/t.csv", root);
    CHECK(probe_timeline_write_csv(s, csv, &err) == -1);
    CHECK(strstr(err.msg, "no/such/dir") != NULL);
    probe_sampler_free(s);
    probe_set_close(ps);
    build_tree();
}

static void test_unknown_verdict(void)
{
    probe_set *ps = open_fake("memory");
    probe_sampler *s;
    probe_error err;
    CHECK(probe_sampler_start(ps, 1000, 1000, &s, &err) == 0);
    int a = probe_sampler_mark(s, "run", true, 0);
    int b = probe_sampler_mark(s, "run", false, 0);
    probe_phase_summary p = phase(s, a, b);
    CHECK(p.throttle == PROBE_THROTTLE_UNKNOWN);  /* nothing can tell: never "no" */
    probe_phase_summary_free(&p);
    probe_sampler_free(s);
    probe_set_close(ps);
}

/* Readers walk the timeline while the sampler appends across chunk
 * boundaries: no lock, every published sample complete and in order. */
static void test_concurrent_reader(void)
{
    probe_set *ps = open_fake("thermal,memory");
    probe_sampler *s;
    probe_error err;
    CHECK(probe_sampler_start(ps, 1, 5, &s, &err) == 0);
    int c = probe_set_find(ps, "thermal.zone0.temp_c");
    size_t seen = 0, bad = 0;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        size_t n = probe_sampler_sample_count(s);
        for (size_t i = seen ? seen - 1 : 0; i + 1 < n; i++) {
            const probe_sample *a = probe_sampler_sample(s, i), *b = probe_sampler_sample(s, i + 1);
            bad += !a || !b || b->t_ns <= a->t_ns || b->values[c] != 45.0;
        }
        seen = n;
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while (seen < 600 && (t.tv_sec - t0.tv_sec) < 20);  /* 1 ms period: crosses a 256-sample chunk */
    probe_sampler_stop(s);
    CHECK(bad == 0);
    CHECKF(probe_sampler_sample_count(s) > 256, "%zu samples", probe_sampler_sample_count(s));
    probe_sampler_free(s);
    probe_set_close(ps);
}

/* The headline of a phase picks each device's own channels: the CPU's
 * package energy (not its core subzone), cpufreq's mean and minimum clock;
 * the GPU's SM clock, power and energy through NVML (the fake library). A
 * GPU run on a machine without GPU channels reads the CPU's. */
static void test_headline(void)
{
    put("sys/class/powercap/intel-rapl:0/energy_uj", "100000\n");
    put("sys/class/powercap/intel-rapl:0:0/energy_uj", "10\n");
    void *lib = dlopen(FAKE_NVML, RTLD_NOW);
    int (*nvml_set)(const char *, double) = lib ? (int (*)(const char *, double))dlsym(lib, "fake_nvml_set") : NULL;
    CHECK(nvml_set != NULL);
    if (!nvml_set) return;
    nvml_set("energy_mj", 1000000);
    probe_options o;
    probe_options_default(&o);
    o.root = root;
    o.only = "thermal,rapl,cpufreq,nvml";
    o.nvml_library = FAKE_NVML;
    probe_set *ps = NULL;
    probe_error err;
    CHECK(probe_set_open(&o, &ps, &err) == 0);
    probe_sampler *s;
    CHECK(probe_sampler_start(ps, 10, 20, &s, &err) == 0);
    int m0 = probe_sampler_mark(s, "run", true, 0);
    put("sys/class/powercap/intel-rapl:0/energy_uj", "600000\n");     /* package: +0.5 J */
    put("sys/class/powercap/intel-rapl:0:0/energy_uj", "300010\n");   /* core: +0.3 J, inside the package's */
    nvml_set("energy_mj", 1003000);                                     /* GPU: +3 J */
    sleep_ms(50);
    int m1 = probe_sampler_mark(s, "run", false, 0);
    probe_sampler_stop(s);
    probe_phase_summary p = phase(s, m0, m1);
    probe_headline h;
    probe_phase_headline(ps, &p, PROBE_DEVICE_CPU, -1, &h);
    CHECK_STR(h.device, "cpu");
    CHECK(h.temp_channel == probe_set_find(ps, "thermal.zone0.temp_c"));
    CHECK_NEAR(h.temp_start_c, 45, 1e-9);
    CHECK_NEAR(h.energy_j, 0.5, 1e-9);
    CHECK_NEAR(h.power_mean_w, 0.5 / h.duration_s, 1e-6);
    CHECK_NEAR(h.clock_mean_mhz, 1800, 1e-9);
    CHECK_NEAR(h.clock_min_mhz, 1200, 1e-9);
    CHECK(isnan(h.mem_psi_some_us));   /* no memory source opened: unknown, not 0 */
    probe_phase_headline(ps, &p, PROBE_DEVICE_GPU, -1, &h);
    CHECK_STR(h.device, "gpu0");
    CHECK(h.temp_channel == probe_set_find(ps, "gpu0.temp_c"));
    CHECK_NEAR(h.clock_mean_mhz, 1980, 1e-9);
    CHECK_NEAR(h.clock_min_mhz, 1980, 1e-9);
    CHECK_NEAR(h.power_mean_w, 250, 1e-9);
    CHECK_NEAR(h.energy_j, 3, 1e-9);
    probe_phase_headline(ps, &p, PROBE_DEVICE_GPU, probe_set_find(ps, "thermal.zone0.temp_c"), &h);
    CHECK(h.temp_channel == probe_set_find(ps, "thermal.zone0.temp_c"));   /* a named channel wins */
    probe_phase_summary_free(&p);
    probe_sampler_free(s);
    probe_set_close(ps);

    ps = open_fake("thermal,cpufreq");
    CHECK(probe_sampler_start(ps, 10, 20, &s, &err) == 0);
    m0 = probe_sampler_mark(s, "run", true, 0);
    m1 = probe_sampler_mark(s, "run", false, 0);
    probe_sampler_stop(s);
    p = phase(s, m0, m1);
    probe_phase_headline(ps, &p, PROBE_DEVICE_GPU, -1, &h);
    CHECK_STR(h.device, "cpu");
    CHECK_NEAR(h.clock_mean_mhz, 1800, 1e-9);
    CHECK(isnan(h.energy_j) && isnan(h.power_mean_w));
    probe_phase_summary_free(&p);
    probe_sampler_free(s);
    probe_set_close(ps);
}

int main(void)
{
    snprintf(root, sizeof root, "/tmp/tb_probes_XXXXXX");
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(pid_status, sizeof pid_status, "proc/4242/status");
    snprintf(pid_cgroup, sizeof pid_cgroup, "proc/4242/cgroup");
    build_tree();
    test_sources();
    test_rapl_wrap();
    test_vanish_and_malformed();
    test_unavailable();
    test_sampler();
    test_unknown_verdict();
    test_concurrent_reader();
    test_headline();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", root);
    TB_MAIN_END();
}
