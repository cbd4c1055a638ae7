/* The hwmon source through the real libsensors, on a fake hwmon tree: a
 * private user+mount namespace with a tmpfs over /sys/class (libsensors
 * only reads /sys). Skipped (77) where unprivileged namespaces are refused. */
#include <fcntl.h>
#include <time.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "probes.h"
#include "tb_test.h"

static int write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, text, strlen(text));
    close(fd);
    return n == (ssize_t)strlen(text) ? 0 : -1;
}

static int enter_namespace(void)
{
    uid_t uid = getuid();
    gid_t gid = getgid();
    char map[64];
    if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0)
        return -1;
    snprintf(map, sizeof map, "0 %d 1", (int)uid);
    if (write_file("/proc/self/uid_map", map) != 0)
        return -1;
    write_file("/proc/self/setgroups", "deny");
    snprintf(map, sizeof map, "0 %d 1", (int)gid);
    if (write_file("/proc/self/gid_map", map) != 0)
        return -1;
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        return -1;
    return mount("tmpfs", "/sys/class", "tmpfs", 0, "size=1m");
}

static const probe_channel *by_label(probe_set *ps, const char *label, int *index)
{
    for (size_t i = 0; i < probe_set_channel_count(ps); i++)
        if (!strcmp(probe_set_channel(ps, i)->label, label)) {
            *index = (int)i;
            return probe_set_channel(ps, i);
        }
    *index = -1;
    return NULL;
}

int main(void)
{
    if (enter_namespace() != 0) {
        perror("unshare/mount (skipping)");
        return TB_SKIP;
    }
    mkdir("/sys/class/hwmon", 0755);
    mkdir("/sys/class/hwmon/hwmon0", 0755);
    mkdir("/sys/class/hwmon/hwmon1", 0755);
    int bad = 0;
    bad |= write_file("/sys/class/hwmon/hwmon0/name", "k10temp\n");
    bad |= write_file("/sys/class/hwmon/hwmon0/temp1_input", "51250\n");
    bad |= write_file("/sys/class/hwmon/hwmon0/temp1_label", "Tctl\n");
    bad |= write_file("/sys/class/hwmon/hwmon0/temp3_input", "40000\n");
    bad |= write_file("/sys/class/hwmon/hwmon0/temp3_label", "Tccd1\n");
    bad |= write_file("/sys/class/hwmon/hwmon1/name", "fakepower\n");
    bad |= write_file("/sys/class/hwmon/hwmon1/power1_input", "12500000\n");  /* uW */
    bad |= write_file("/sys/class/hwmon/hwmon1/energy1_input", "3000000\n");  /* uJ */
    bad |= write_file("/sys/class/hwmon/hwmon1/fan1_input", "1200\n");
    CHECK(bad == 0);

    probe_options o;
    probe_options_default(&o);
    o.only = "hwmon";
    probe_set *ps;
    probe_error err;
    CHECK(probe_set_open(&o, &ps, &err) == 0);
    const probe_source_status *st = probe_set_source(ps, 0);
    CHECKF(st->available, "%s", st->reason);
    CHECK(st->n_channels == 5);
    double *v = probe_set_read_all(ps);
    int pkg = probe_set_find(ps, "cpu.pkg.temp_c"), i;
    CHECK(pkg >= 0);
    if (pkg >= 0) {
        CHECK_NEAR(v[pkg], 51.25, 1e-9);
        CHECK_STR(probe_set_channel(ps, pkg)->label, "Tctl");
    }
    const probe_channel *ccd = by_label(ps, "Tccd1", &i);
    CHECK(ccd && !strncmp(ccd->name, "hwmon.k10temp-", 14) && strstr(ccd->name, ".temp3_c"));
    if (ccd)
        CHECK_NEAR(v[i], 40.0, 1e-9);
    const probe_channel *pw = by_label(ps, "power1", &i);
    CHECK(pw && !strcmp(pw->unit, "w"));
    if (pw)
        CHECK_NEAR(v[i], 12.5, 1e-9);
    const probe_channel *en = by_label(ps, "energy1", &i);
    CHECK(en && en->kind == PROBE_COUNTER);
    if (en)
        CHECK_NEAR(v[i], 3.0, 1e-9);
    const probe_channel *fan = by_label(ps, "fan1", &i);
    CHECK(fan && !strcmp(fan->unit, "rpm"));
    if (fan)
        CHECK_NEAR(v[i], 1200, 1e-9);
    free(v);

    /* the CCD sensor vanishes while the sampler runs: NAN, a note, sampling goes on */
    probe_sampler *s;
    CHECK(probe_sampler_start(ps, 5, 20, &s, &err) == 0);
    int a = probe_sampler_mark(s, "run", true, 0);
    unlink("/sys/class/hwmon/hwmon0/temp3_input");
    write_file("/sys/class/hwmon/hwmon0/temp1_input", "60000\n");
    struct timespec ts = {0, 40 * 1000000L};
    nanosleep(&ts, NULL);
    int b = probe_sampler_mark(s, "run", false, 0);
    probe_sampler_stop(s);
    by_label(ps, "Tccd1", &i);
    CHECK(i >= 0 && isnan(probe_sampler_mark_at(s, b)->snapshot[i]));
    CHECK(pkg >= 0 && probe_sampler_mark_at(s, b)->snapshot[pkg] == 60.0);
    bool noted = false;
    for (size_t k = 0; k < probe_set_note_count(ps); k++)
        noted = noted || strstr(probe_set_note(ps, k)->text, ".temp3_c: libsensors");
    CHECK(noted);
    probe_phase_summary p;
    CHECK(probe_summarize(s, a, b, &p, &err) == 0);
    if (pkg >= 0) {
        CHECK_NEAR(p.channels[pkg].start, 51.25, 1e-9);
        CHECK_NEAR(p.channels[pkg].max, 60.0, 1e-9);
    }
    if (i >= 0)  /* only the begin snapshot saw it */
        CHECK(p.channels[i].n_samples >= 1 && p.channels[i].max == 40.0);
    probe_phase_summary_free(&p);
    probe_sampler_free(s);
    probe_set_close(ps);

    /* an empty hwmon class: unavailable, with the reason */
    unlink("/sys/class/hwmon/hwmon0/temp1_input");
    unlink("/sys/class/hwmon/hwmon0/temp1_label");
    unlink("/sys/class/hwmon/hwmon0/temp3_label");
    unlink("/sys/class/hwmon/hwmon0/name");
    rmdir("/sys/class/hwmon/hwmon0");
    system("rm -rf /sys/class/hwmon/hwmon1");
    CHECK(probe_set_open(&o, &ps, &err) == 0);
    CHECK(!probe_set_source(ps, 0)->available);
    CHECKF(strstr(probe_set_source(ps, 0)->reason, "no hwmon devices") != NULL, "%s",
           probe_set_source(ps, 0)->reason);
    probe_set_close(ps);
    TB_MAIN_END();
}
