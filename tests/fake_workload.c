/* Test helper for the harness: an external workload that behaves as told,
 * and a fake thermal zone driver.
 *
 *   fake_workload json VALUE          prints {"result": {"tok_s": VALUE}}
 *   fake_workload logjson VALUE       log lines, then that JSON on its last line
 *   fake_workload regex VALUE         prints "throughput: VALUE tok/s" among log lines
 *   fake_workload crash               abort()
 *   fake_workload hang                sleeps forever (and a child of it too)
 *   fake_workload garbage             prints bytes that are no metric
 *   fake_workload nothing             prints nothing, exit 0
 *   fake_workload exit CODE           prints the JSON metric, exits CODE
 *   fake_workload slow MS VALUE       sleeps MS, then like json
 *   fake_workload heat DIR MS VALUE   creates DIR/heating for MS and until the zone reads 60 C,
 *                                     then like json
 *   fake_workload bytes VALUE         every byte value 0-255, NULs first and last, then the JSON
 *   fake_workload nulfirst VALUE      a NUL byte, then "throughput: VALUE tok/s"
 *   fake_workload spew MIB VALUE      MIB MiB of log lines, then the JSON on its last line
 *   fake_workload stamp               prints CLOCK_MONOTONIC (ms) at its start and just before it exits
 *   fake_workload burn MS             busy on the CPU for MS of its own CPU time
 *   fake_workload child-burn MS       a child busy for MS of CPU time, waited for
 *   fake_workload alloc MIB           touches MIB MiB of memory
 *   fake_workload background          leaves a child holding stdout for 30 s, exits at once
 *   fake_workload ignoreterm PIDFILE  ignores SIGTERM, writes its pid, sleeps forever
 *   fake_workload setsid PIDFILE      a child in its own session (ignoring SIGTERM) writes
 *                                     its pid to PIDFILE; both sleep forever
 *   fake_workload thermal DIR AMB HOT TAU_S
 *       drives DIR/sys/class/thermal/thermal_zone0/temp: rises towards HOT
 *       (time constant 0.3 s) while DIR/heating exists, decays towards AMB
 *       with time constant TAU_S otherwise; exits when DIR/stop exists. */
#include <math.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(double ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(fmod(ms, 1000) * 1e6)};
    nanosleep(&ts, NULL);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void print_json(const char *value)
{
    printf("{\"result\": {\"tok_s\": %s, \"runs\": [1, 2]}}\n", value);
}

static int exists(const char *dir, const char *name)
{
    char p[1024];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return stat(p, &st) == 0;
}

static void write_temp(const char *dir, double c)
{
    char p[1024], tmp[1100];
    snprintf(p, sizeof p, "%s/sys/class/thermal/thermal_zone0/temp", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", p);
    FILE *f = fopen(tmp, "w");
    if (!f) return;
    fprintf(f, "%ld\n", lround(c * 1000));
    fclose(f);
    rename(tmp, p);
}

static double zone_temp(const char *dir)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/sys/class/thermal/thermal_zone0/temp", dir);
    FILE *f = fopen(p, "r");
    long milli = 0;
    if (f) {
        if (fscanf(f, "%ld", &milli) != 1) milli = 0;
        fclose(f);
    }
    return milli / 1000.0;
}

static int thermal(const char *dir, double amb, double hot, double tau_s)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/sys/class/thermal/thermal_zone0", dir);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", p);
    if (system(cmd)) return 1;
    snprintf(cmd, sizeof cmd, "%s/type", p);
    FILE *f = fopen(cmd, "w");
    if (f) { fputs("fake-zone\n", f); fclose(f); }
    double t = amb, last = now_s();
    write_temp(dir, t);
    while (!exists(dir, "stop")) {
        sleep_ms(20);
        double now = now_s(), dt = now - last;   /* real time: a busy machine only coarsens the steps */
        last = now;
        if (exists(dir, "heating")) t = hot + (t - hot) * exp(-dt / 0.3);
        else t = amb + (t - amb) * exp(-dt / tau_s);
        write_temp(dir, t);
    }
    return 0;
}

static double cpu_ms(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3 + ru.ru_stime.tv_sec * 1e3 + ru.ru_stime.tv_usec / 1e3;
}

static void burn(double ms)
{
    volatile double x = 0;
    double start = cpu_ms();
    while (cpu_ms() - start < ms)
        for (int i = 0; i < 100000; i++) x += sqrt((double)i);
}

static void write_pid(const char *path)
{
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return;
    fprintf(f, "%d\n", (int)getpid());
    fclose(f);
    rename(tmp, path);
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    if (!strcmp(mode, "json") && argc > 2) { print_json(argv[2]); return 0; }
    if (!strcmp(mode, "logjson") && argc > 2) {
        printf("loading model...\nwarming up\n");
        print_json(argv[2]);
        return 0;
    }
    if (!strcmp(mode, "regex") && argc > 2) {
        printf("starting\nthroughput: %s tok/s\ndone\n", argv[2]);
        return 0;
    }
    if (!strcmp(mode, "crash")) { fflush(stdout); abort(); }
    if (!strcmp(mode, "hang")) {
        printf("about to hang\n");
        fflush(stdout);
        if (fork() == 0) for (;;) pause();   /* the group kill must reach it too */
        for (;;) pause();
    }
    if (!strcmp(mode, "garbage")) { printf("%%$#@ {not json]] throughput: lots\n\x01\x02\n"); return 0; }
    if (!strcmp(mode, "nothing")) return 0;
    if (!strcmp(mode, "exit") && argc > 2) { print_json("1"); return atoi(argv[2]); }
    if (!strcmp(mode, "slow") && argc > 3) { sleep_ms(atof(argv[2])); print_json(argv[3]); return 0; }
    if (!strcmp(mode, "heat") && argc > 4) {
        char p[1024];
        snprintf(p, sizeof p, "%s/heating", argv[2]);
        FILE *f = fopen(p, "w");
        if (f) fclose(f);
        sleep_ms(atof(argv[3]));
        /* ... and on until the zone is hot (60 C), however late the driver
         * runs on a busy machine (at most 60 s). */
        for (double t0 = now_s(); zone_temp(argv[2]) < 60 && now_s() - t0 < 60;)
            sleep_ms(10);
        unlink(p);
        print_json(argv[4]);
        return 0;
    }
    if (!strcmp(mode, "bytes") && argc > 2) {
        putchar(0);
        for (int i = 0; i < 256; i++) putchar(i);
        putchar(0);
        putchar('\n');
        print_json(argv[2]);
        for (int i = 255; i >= 0; i--) fputc(i, stderr);
        return 0;
    }
    if (!strcmp(mode, "nulfirst") && argc > 2) {
        putchar(0);
        printf("throughput: %s tok/s\n", argv[2]);
        return 0;
    }
    if (!strcmp(mode, "spew") && argc > 3) {
        long bytes = atol(argv[2]) << 20;
        for (long n = 0; n < bytes; n += 64)
            fputs("log line that fills the capture window past its head and tail....\n", stdout);
        print_json(argv[3]);
        return 0;
    }
    if (!strcmp(mode, "stamp")) {
        char line[64];
        int n = snprintf(line, sizeof line, "%.6f\n", now_s() * 1e3);
        burn(1);
        n += snprintf(line + n, sizeof line - (size_t)n, "%.6f\n", now_s() * 1e3);
        if (write(1, line, (size_t)n) < 0) return 1;
        _exit(0);
    }
    if (!strcmp(mode, "burn") && argc > 2) { burn(atof(argv[2])); return 0; }
    if (!strcmp(mode, "child-burn") && argc > 2) {
        pid_t pid = fork();
        if (pid == 0) { burn(atof(argv[2])); _exit(0); }
        waitpid(pid, NULL, 0);
        return 0;
    }
    if (!strcmp(mode, "alloc") && argc > 2) {
        size_t n = (size_t)atol(argv[2]) << 20;
        volatile char *p = malloc(n);
        for (size_t i = 0; p && i < n; i += 4096) p[i] = 1;
        int rc = p ? 0 : 1;
        free((void *)p);   /* a sanitizer build reports a leak with a non-zero exit */
        return rc;
    }
    if (!strcmp(mode, "background")) {
        if (fork() == 0) { sleep_ms(30000); _exit(0); }
        printf("started a child\n");
        return 0;
    }
    if (!strcmp(mode, "ignoreterm") && argc > 2) {
        signal(SIGTERM, SIG_IGN);
        write_pid(argv[2]);
        for (;;) pause();
    }
    if (!strcmp(mode, "setsid") && argc > 2) {
        if (fork() == 0) {
            setsid();
            signal(SIGTERM, SIG_IGN);
            write_pid(argv[2]);
            for (;;) pause();
        }
        for (;;) pause();
    }
    if (!strcmp(mode, "thermal") && argc > 5)
        return thermal(argv[2], atof(argv[3]), atof(argv[4]), atof(argv[5]));
    fprintf(stderr, "fake_workload: bad arguments\n");
    return 64;
}
