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
 *   fake_workload thermal DIR AMB HOT TAU_S
 *       drives DIR/sys/class/thermal/thermal_zone0/temp: rises towards HOT
 *       (time constant 0.3 s) while DIR/heating exists, decays towards AMB
 *       with time constant TAU_S otherwise; exits when DIR/stop exists. */
#include <math.h>
#include <signal.h>
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
    if (!strcmp(mode, "thermal") && argc > 5)
        return thermal(argv[2], atof(argv[3]), atof(argv[4]), atof(argv[5]));
    fprintf(stderr, "fake_workload: bad arguments\n");
    return 64;
}
