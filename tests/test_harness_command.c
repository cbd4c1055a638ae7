/* The command runner on its own: timing without polling granularity, CPU
 * time and peak RSS from rusage (children included), the head + tail capture
 * window, metrics found anywhere in it (NULs included), no wait for a child
 * that keeps stdout open, and the UTF-8/base64 helpers results.json uses.
 * argv[1]: the fake_workload helper. Time limits are wide: this runs under
 * ASan on a loaded 2-core machine. */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "reports.h"
#include "tb_test.h"

static const char *fake;

static harness_argv args(const char *a1, const char *a2, const char *a3)
{
    harness_argv a;
    memset(&a, 0, sizeof a);
    const char *v[] = {fake, a1, a2, a3};
    for (int i = 0; i < 4 && v[i]; i++) strcpy(a.argv[a.argc++], v[i]);
    return a;
}

static harness_command_result exec(harness_argv a, harness_output output)
{
    harness_command_result r;
    harness_error err = {0};
    harness_exec_options o = {.timeout_s = 60, .output = output};
    if (harness_command_exec(&a, &o, &r, &err)) {
        fprintf(stderr, "harness_command_exec: %s\n", err.msg);
        memset(&r, 0, sizeof r);
    }
    return r;
}

static void test_timing(void)
{
    /* Wall time ends at the exit, not at the next tick of a poll loop: the
     * program stamps CLOCK_MONOTONIC just before it exits; the harness's end
     * (started_ms + wall_ms) follows within milliseconds (a 50 ms poll loop
     * gave 50). Best of 10, so a busy machine's scheduling delay does not count. */
    double best = 1e9;
    for (int i = 0; i < 10; i++) {
        harness_command_result r = exec(args("stamp", NULL, NULL), HARNESS_OUTPUT_CAPTURE);
        double t_start = NAN, t_end = NAN;
        CHECK(r.ok && r.out.data && sscanf(r.out.data, "%lf %lf", &t_start, &t_end) == 2);
        CHECK(r.spawn_ms >= 0 && r.spawn_ms <= r.wall_ms);
        CHECKF(r.started_ms <= t_start && t_end <= r.started_ms + r.wall_ms, "run [%.3f, %.3f] outside [%.3f, %.3f]",
               t_start, t_end, r.started_ms, r.started_ms + r.wall_ms);
        double latency = r.started_ms + r.wall_ms - t_end;
        if (latency < best) best = latency;
        harness_command_result_free(&r);
    }
    CHECKF(best < 20, "exit noticed %.2f ms after the program's last stamp (best of 10)", best);

    /* CPU time: its own, and a waited-for child's. */
    harness_command_result r = exec(args("burn", "300", NULL), HARNESS_OUTPUT_DISCARD);
    double cpu = r.user_ms + r.sys_ms;
    CHECKF(r.ok && cpu >= 295 && cpu < 900, "burn 300: user %.1f sys %.1f", r.user_ms, r.sys_ms);
    CHECKF(r.wall_ms >= cpu * 0.9, "wall %.1f ms below its CPU time %.1f", r.wall_ms, cpu);
    harness_command_result_free(&r);
    r = exec(args("child-burn", "300", NULL), HARNESS_OUTPUT_DISCARD);
    cpu = r.user_ms + r.sys_ms;
    CHECKF(r.ok && cpu >= 295 && cpu < 900, "child-burn 300: user %.1f sys %.1f", r.user_ms, r.sys_ms);
    harness_command_result_free(&r);

    /* Peak RSS: 96 MiB touched against 1 MiB. */
    r = exec(args("alloc", "96", NULL), HARNESS_OUTPUT_DISCARD);
    CHECKF(r.ok && r.max_rss_bytes >= 96.0 * (1 << 20), "alloc 96: max_rss_bytes %.0f", r.max_rss_bytes);
    double big = r.max_rss_bytes;
    harness_command_result_free(&r);
    r = exec(args("alloc", "1", NULL), HARNESS_OUTPUT_DISCARD);
    CHECKF(r.ok && r.max_rss_bytes > 0 && r.max_rss_bytes < big - 64.0 * (1 << 20), "alloc 1: %.0f", r.max_rss_bytes);
    harness_command_result_free(&r);
}

/* A child that keeps stdout open does not hold the run up: it is ended at
 * the command's exit (it used to cost a 1 s grace period per run). */
static void test_background_child(void)
{
    harness_command_result r = exec(args("background", NULL, NULL), HARNESS_OUTPUT_CAPTURE);
    CHECK(r.ok && r.leftovers_killed >= 1);
    CHECKF(r.reap_ms < 500 && r.wall_ms < 500, "reap %.1f ms, wall %.1f ms", r.reap_ms, r.wall_ms);
    CHECK(r.out.data && strstr(r.out.data, "started a child"));
    harness_command_result_free(&r);
}

static harness_workload metric_workload(harness_argv a, const char *json_path, const char *regex)
{
    harness_workload w;
    memset(&w, 0, sizeof w);
    w.kind = HARNESS_WORKLOAD_COMMAND;
    w.argc = a.argc;
    memcpy(w.argv, a.argv, sizeof w.argv);
    w.n_metrics = 1;
    strcpy(w.metrics[0].name, "tok_s");
    snprintf(w.metrics[0].json_path, sizeof w.metrics[0].json_path, "%s", json_path ? json_path : "");
    snprintf(w.metrics[0].regex, sizeof w.metrics[0].regex, "%s", regex ? regex : "");
    return w;
}

static void test_capture(void)
{
    harness_error err = {0};
    harness_command_result r;
    /* 3 MiB of log, then the JSON: the head window keeps the first MiB, the
     * tail the last, the middle is counted as omitted, the metric is found. */
    harness_workload w = metric_workload(args("spew", "3", "7.5"), "result.tok_s", NULL);
    CHECK(harness_command_run(&w, 60, &r, &err) == 0);
    CHECKF(r.ok && r.metrics[0] == 7.5, "spew: %s", r.failure);
    CHECK(r.out.total > (3u << 20) && r.out.head_len == HARNESS_CAPTURE_HEAD);
    CHECK(r.out.len == HARNESS_CAPTURE_HEAD + HARNESS_CAPTURE_TAIL);
    CHECK(r.out.omitted == r.out.total - r.out.len && r.out.omitted > 0);
    CHECK(!memcmp(r.out.data, "log line", 8));
    CHECK(strstr(r.out.data + r.out.len - 100, "\"tok_s\": 7.5") != NULL);
    harness_command_result_free(&r);

    /* Every byte value, NULs first and last: the JSON line after them. */
    w = metric_workload(args("bytes", "2.5", NULL), "result.tok_s", NULL);
    CHECK(harness_command_run(&w, 60, &r, &err) == 0);
    CHECKF(r.ok && r.metrics[0] == 2.5, "bytes: %s", r.failure);
    CHECK(r.out.total == r.out.len && r.out.len > 259 && r.out.data[0] == 0 && r.out.data[257] == 0);
    for (int i = 0; i < 256; i++) CHECK((unsigned char)r.out.data[1 + i] == i);
    CHECK(r.err.len == 256 && (unsigned char)r.err.data[0] == 255);
    harness_command_result_free(&r);

    /* Output that starts with a NUL byte is output: the regex reads past it. */
    w = metric_workload(args("nulfirst", "12.25", NULL), NULL, "throughput: ([0-9.]+) tok/s");
    CHECK(harness_command_run(&w, 60, &r, &err) == 0);
    CHECKF(r.ok && r.metrics[0] == 12.25, "nulfirst: %s", r.failure);
    harness_command_result_free(&r);

    /* Discarded output is not read at all. */
    r = exec(args("json", "1", NULL), HARNESS_OUTPUT_DISCARD);
    CHECK(r.ok && r.out.total == 0 && r.out.len == 0);
    harness_command_result_free(&r);
}

static void test_text_helpers(void)
{
    bool lossy;
    char *s = report_utf8_sanitize("a\xC3\xA9z", 4, &lossy);
    CHECK_STR(s, "a\xC3\xA9z");
    CHECK(!lossy);
    free(s);
    /* NUL, a lone continuation byte, an overlong NUL, a surrogate, above U+10FFFF. */
    s = report_utf8_sanitize("\0x\x80\xC0\x80\xED\xA0\x80\xF4\x90\x80\x80", 12, &lossy);
    const char *want = "\xEF\xBF\xBDx\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"
                       "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD";
    CHECK_STR(s, want);
    CHECK(lossy);
    free(s);
    s = report_utf8_sanitize("\xF0\x9F\x98\x80", 4, &lossy);   /* U+1F600 */
    CHECK(!lossy && !strcmp(s, "\xF0\x9F\x98\x80"));
    free(s);
    /* RFC 4648 test vectors. */
    const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *out[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (int i = 0; i < 7; i++) {
        char *b = report_base64((const unsigned char *)in[i], strlen(in[i]));
        CHECK_STR(b, out[i]);
        free(b);
    }
}

/* Timeout: SIGTERM, then SIGKILL after the grace period for a program that
 * ignores SIGTERM; it ends either way. */
static void test_timeout_ignoring_sigterm(void)
{
    char pidfile[] = "/tmp/tb_ignoreterm_XXXXXX";
    int fd = mkstemp(pidfile);
    if (fd >= 0) close(fd);
    unlink(pidfile);
    harness_argv a = args("ignoreterm", pidfile, NULL);
    harness_command_result r;
    harness_error err = {0};
    harness_exec_options o = {.timeout_s = 0.5, .output = HARNESS_OUTPUT_CAPTURE};
    CHECK(harness_command_exec(&a, &o, &r, &err) == 0);
    CHECK(!r.ok && r.timed_out && r.term_signal == SIGKILL);
    harness_command_result_free(&r);
    FILE *f = fopen(pidfile, "r");
    int pid = 0;
    if (f) {
        if (fscanf(f, "%d", &pid) != 1) pid = 0;
        fclose(f);
    }
    CHECK(pid > 0 && kill(pid, 0) < 0 && errno == ESRCH);
    unlink(pidfile);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_harness_command FAKE_WORKLOAD\n");
        return 1;
    }
    fake = argv[1];
    test_timing();
    test_background_child();
    test_capture();
    test_text_helpers();
    test_timeout_ignoring_sigterm();
    TB_MAIN_END();
}
