/* One writer per results directory: two `thermabench run` at once on one
 * directory (fresh and --resume), --wait, and the stale temporary files of a
 * killed writer. No expectation depends on how fast the machine is: the test
 * asks the lock itself whether a writer holds it, and waits on processes.
 *
 * usage: test_harness_lock FAKE_WORKLOAD [THERMABENCH] */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tb_test.h"

extern char **environ;

static const char *bin = TB_BINARY;
static char tmp[256];

static void nap_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* thermabench run ARGS..., stdout and stderr into tmp/<tag>.out. */
static pid_t spawn_run(const char *tag, const char *const *args)
{
    char *argv[16], out[512];
    int n = 0;
    argv[n++] = (char *)bin;
    argv[n++] = "run";
    while (*args && n < 15)
        argv[n++] = (char *)*args++;
    argv[n] = NULL;
    snprintf(out, sizeof out, "%s/%s.out", tmp, tag);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    pid_t pid = -1;
    if (posix_spawn(&pid, bin, &fa, NULL, argv, environ) != 0)
        pid = -1;
    posix_spawn_file_actions_destroy(&fa);
    return pid;
}

/* Exit code, or -1 after 300 s (never hang the suite). */
static int wait_exit(pid_t pid)
{
    int st;
    for (int i = 0; i < 30000; i++) {
        if (waitpid(pid, &st, WNOHANG) == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        nap_ms(10);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return -1;
}

/* True once some process holds dir's lock (asked without taking it for long). */
static bool lock_held(const char *dir)
{
    char p[600];
    snprintf(p, sizeof p, "%s/.thermabench.lock", dir);
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    bool held = flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK;
    close(fd);
    return held;
}

static bool wait_lock_held(const char *dir, pid_t writer)
{
    for (int i = 0; i < 30000; i++) {
        if (lock_held(dir))
            return true;
        siginfo_t si = {0};     /* ended? (left to reap by wait_exit) */
        if (waitid(P_PID, (id_t)writer, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == writer)
            return false;
        nap_ms(10);
    }
    return false;
}

static bool output_has(const char *tag, const char *needle)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s.out", tmp, tag);
    char *t = tb_read_all(p, NULL);
    bool r = t && strstr(t, needle);
    if (!r)
        fprintf(stderr, "%s.out lacks '%s':\n%s\n", tag, needle, t ? t : "(no file)");
    free(t);
    return r;
}

/* Every run of a complete results file, in order and ok: n of them. */
static void check_complete(const char *dir, int n)
{
    char p[600];
    snprintf(p, sizeof p, "%s/results.json", dir);
    char *t = tb_read_all(p, NULL);
    cJSON *d = t ? cJSON_Parse(t) : NULL;
    free(t);
    CHECK(d != NULL);
    const cJSON *runs = cJSON_GetObjectItem(d, "runs");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(d, "status")), "complete");
    CHECKF(cJSON_GetArraySize(runs) == n, "%s: %d runs, expected %d", dir, cJSON_GetArraySize(runs), n);
    for (int i = 0; i < cJSON_GetArraySize(runs); i++) {
        const cJSON *r = cJSON_GetArrayItem(runs, i);
        CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(r, "index")) == i);
        CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(r, "status")), "ok");
    }
    cJSON_Delete(d);
}

static bool exists(const char *dir, const char *name)
{
    char p[600];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return access(p, F_OK) == 0;
}

static void touch(const char *dir, const char *name)
{
    char p[600];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    if (f)
        fclose(f);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    if (argc > 2)
        bin = argv[2];
    snprintf(tmp, sizeof tmp, "/tmp/tb-lock-XXXXXX");
    if (!mkdtemp(tmp))
        return 1;
    /* 2 variants x 3 runs of 300 ms: long enough that the second writer
     * starts while the first holds the lock (the test checks that it does). */
    char cfg[600], dir[300], dir2[300], text[1500];
    snprintf(cfg, sizeof cfg, "%s/cfg.json", tmp);
    snprintf(dir, sizeof dir, "%s/out", tmp);
    snprintf(dir2, sizeof dir2, "%s/out2", tmp);
    snprintf(text, sizeof text,
             "{\"name\": \"lock\", \"workload\": {\"type\": \"command\", \"command\": [\"%s\", \"slow\", \"300\", \"5\"],"
             " \"metrics\": [{\"name\": \"tok_s\", \"json_path\": \"result.tok_s\"}]},"
             " \"variants\": [{\"name\": \"A\"}, {\"name\": \"B\"}], \"repetitions\": 3, \"warmup\": 0,"
             " \"timeout_s\": 120, \"probes\": {\"enabled\": false}}", argv[1]);
    FILE *f = fopen(cfg, "w");
    if (!f)
        return 1;
    fputs(text, f);
    fclose(f);

    /* Two writers at once: the second, fresh or --resume, refuses with exit 1
     * and says who holds the directory; the first finishes every run. */
    pid_t first = spawn_run("first", (const char *[]){cfg, "--out", dir, "--no-report", "--quiet", NULL});
    CHECK(first > 0 && wait_lock_held(dir, first));
    CHECK(wait_exit(spawn_run("second", (const char *[]){cfg, "--out", dir, "--no-report", NULL})) == 1);
    CHECK(output_has("second", "is in use by another thermabench run (pid "));
    CHECK(wait_exit(spawn_run("resume", (const char *[]){"--resume", dir, "--no-report", NULL})) == 1);
    CHECK(output_has("resume", "is in use by another thermabench run"));
    CHECK(wait_exit(first) == 0);
    check_complete(dir, 6);

    /* --wait: the second writer waits for the first, then finds nothing left
     * to do; it never ends before the first, and nothing is duplicated. */
    pid_t a = spawn_run("a", (const char *[]){cfg, "--out", dir2, "--no-report", "--quiet", NULL});
    CHECK(a > 0 && wait_lock_held(dir2, a));
    pid_t b = spawn_run("b", (const char *[]){"--resume", dir2, "--wait", "--no-report", "--quiet", NULL});
    int st, a_rc = -1, b_rc = -1;
    bool b_before_a = false;
    for (int i = 0; i < 30000 && (a_rc < 0 || b_rc < 0); i++) {
        if (a_rc < 0 && waitpid(a, &st, WNOHANG) == a)
            a_rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
        if (b_rc < 0 && waitpid(b, &st, WNOHANG) == b) {
            b_rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
            b_before_a |= a_rc < 0 && waitpid(a, &st, WNOHANG) == 0;
        }
        nap_ms(10);
    }
    CHECK(a_rc == 0 && b_rc == 0);
    CHECK(!b_before_a);
    check_complete(dir2, 6);

    /* A killed writer's temporary files are removed by the next one to open
     * the directory; other files stay. */
    touch(dir2, "results.json.tmp.999999");
    touch(dir2, "config.json.tmp.12");
    touch(dir2, "report.md.tmp");
    touch(dir2, "notes.tmp");
    touch(dir2, "results.json.tmp.x");
    CHECK(wait_exit(spawn_run("clean", (const char *[]){"--resume", dir2, "--no-report", "--quiet", NULL})) == 0);
    CHECK(!exists(dir2, "results.json.tmp.999999") && !exists(dir2, "config.json.tmp.12") &&
          !exists(dir2, "report.md.tmp"));
    CHECK(exists(dir2, "notes.tmp") && exists(dir2, "results.json.tmp.x"));
    check_complete(dir2, 6);

    /* kill -9 mid-run: the lock dies with the writer, --resume finishes the job. */
    char dir3[300];
    snprintf(dir3, sizeof dir3, "%s/out3", tmp);
    pid_t k = spawn_run("killed", (const char *[]){cfg, "--out", dir3, "--no-report", "--quiet", NULL});
    CHECK(k > 0 && wait_lock_held(dir3, k));
    for (int i = 0; i < 30000 && !exists(dir3, "results.json"); i++)
        nap_ms(10);
    kill(k, SIGKILL);
    CHECK(wait_exit(k) == 128 + SIGKILL);
    /* A workload the writer was starting shares the lock until its exec
     * closes it (the descriptor is close-on-exec): moments, however late. */
    bool released = false;
    for (int i = 0; i < 6000 && !(released = !lock_held(dir3)); i++)
        nap_ms(10);
    CHECK(released);
    CHECK(wait_exit(spawn_run("after", (const char *[]){"--resume", dir3, "--no-report", "--quiet", NULL})) == 0);
    check_complete(dir3, 6);

    /* An output directory that cannot be written (here: under /proc, where
     * even root cannot create one) is exit 1, a system failure, not 2. */
    CHECK(wait_exit(spawn_run("unwritable", (const char *[]){cfg, "--out", "/proc/tb-no/out", "--no-report", NULL})) == 1);
    CHECK(output_has("unwritable", "/proc/tb-no/out: cannot create the results directory"));

    if (!tb_failed) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", tmp);
    } else {
        fprintf(stderr, "files kept in %s\n", tmp);
    }
    TB_MAIN_END();
}
