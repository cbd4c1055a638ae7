/* External workloads: posix_spawn an argument vector (no shell) in its own
 * process group, time it from spawn to exit, capture stdout and stderr, end
 * whatever it leaves running, and read metrics from what it printed.
 *
 * Timing: wall time is CLOCK_MONOTONIC from just before posix_spawn to the
 * moment a pidfd of the child becomes readable (the kernel wakes poll when it
 * exits: no polling interval); user/system CPU time and peak RSS come from
 * wait4's rusage, which covers the command and every child it waited for. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "harness_internal.h"

extern char **environ;

const char *const harness_command_timing_names[HARNESS_COMMAND_TIMING_METRICS] = {
    "wall_ms", "user_ms", "sys_ms", "max_rss_bytes"};

#define GRACE_MS 1000.0          /* SIGTERM to SIGKILL, unless a second signal comes */
#define PIPE_LINGER_MS 200.0     /* after exit: how long a pipe an unkillable process holds is read */

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ---- capture: a head and a tail window ------------------------------ */

typedef struct capture_state {
    char *head;
    size_t head_len, head_cap;
    char *ring;                  /* HARNESS_CAPTURE_TAIL bytes once the head is full */
    size_t ring_pos, ring_len;
    uint64_t total;
    bool open;
} capture_state;

static void capture_add(capture_state *c, const char *p, size_t n)
{
    c->total += n;
    if (c->head_len < HARNESS_CAPTURE_HEAD) {
        size_t take = HARNESS_CAPTURE_HEAD - c->head_len;
        if (take > n) take = n;
        if (c->head_len + take > c->head_cap) {
            size_t cap = c->head_cap ? c->head_cap : 16384;
            while (cap < c->head_len + take) cap *= 2;
            if (cap > HARNESS_CAPTURE_HEAD) cap = HARNESS_CAPTURE_HEAD;
            char *nh = realloc(c->head, cap);
            if (!nh) return;   /* out of memory: counted in total, so reported as omitted */
            c->head = nh, c->head_cap = cap;
        }
        memcpy(c->head + c->head_len, p, take);
        c->head_len += take;
        p += take, n -= take;
    }
    if (!n) return;
    if (!c->ring && !(c->ring = malloc(HARNESS_CAPTURE_TAIL))) return;
    if (n > HARNESS_CAPTURE_TAIL) p += n - HARNESS_CAPTURE_TAIL, n = HARNESS_CAPTURE_TAIL;
    size_t first = HARNESS_CAPTURE_TAIL - c->ring_pos;
    if (first > n) first = n;
    memcpy(c->ring + c->ring_pos, p, first);
    memcpy(c->ring, p + first, n - first);
    c->ring_pos = (c->ring_pos + n) % HARNESS_CAPTURE_TAIL;
    c->ring_len = c->ring_len + n > HARNESS_CAPTURE_TAIL ? HARNESS_CAPTURE_TAIL : c->ring_len + n;
}

/* Reads what is there; false at EOF or error. */
static bool capture_read(int fd, capture_state *c)
{
    char tmp[65536];
    ssize_t n = read(fd, tmp, sizeof tmp);
    if (n < 0) return errno == EINTR || errno == EAGAIN;
    if (n == 0) return false;
    capture_add(c, tmp, (size_t)n);
    return true;
}

static void capture_finish(capture_state *c, harness_capture *out)
{
    size_t len = c->head_len + c->ring_len;
    out->data = malloc(len + 1);
    out->total = c->total;
    if (out->data) {
        if (c->head_len) memcpy(out->data, c->head, c->head_len);
        /* The ring's oldest byte is at ring_pos once it has wrapped. */
        size_t start = c->ring_len == HARNESS_CAPTURE_TAIL ? c->ring_pos : 0;
        size_t first = c->ring_len - (c->ring_len == HARNESS_CAPTURE_TAIL ? c->ring_pos : 0);
        if (c->ring_len) {
            memcpy(out->data + c->head_len, c->ring + start, first);
            memcpy(out->data + c->head_len + first, c->ring, c->ring_len - first);
        }
        out->data[len] = 0;
        out->len = len;
        out->head_len = c->head_len;
    }
    out->omitted = out->total - out->len;
    free(c->head);
    free(c->ring);
}

/* ---- leftovers ------------------------------------------------------ */

/* Children of this process that were not there before the command started:
 * as a child subreaper the harness adopts the command's orphaned descendants,
 * including those that left its process group with setsid. */
static int adopted_children(const pid_t *before, int n_before, pid_t *out, int max)
{
    DIR *d = opendir("/proc");
    if (!d) return 0;
    pid_t self = getpid();
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < max) {
        if (de->d_name[0] < '1' || de->d_name[0] > '9') continue;
        char path[320], buf[512];
        snprintf(path, sizeof path, "/proc/%s/stat", de->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;
        ssize_t len = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (len <= 0) continue;
        buf[len] = 0;
        const char *rp = strrchr(buf, ')');   /* the name may hold spaces and parentheses */
        char state;
        int ppid;
        if (!rp || sscanf(rp + 1, " %c %d", &state, &ppid) != 2 || ppid != self) continue;
        pid_t pid = (pid_t)atoi(de->d_name);
        bool old = false;
        for (int i = 0; i < n_before; i++) old |= before[i] == pid;
        if (!old) out[n++] = pid;
    }
    closedir(d);
    return n;
}

/* Kills adopted descendants, a generation at a time, until none is left (killing one hands its own
 * children to the harness); returns how many were ended. */
static int end_adopted(const pid_t *before, int n_before)
{
    int killed = 0;
    for (int generation = 0; generation < 64; generation++) {
        /* ECHILD: no child at all, so nothing to look for in /proc. */
        siginfo_t si;
        si.si_pid = 0;
        if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 && errno == ECHILD) break;
        pid_t kids[256];
        int n = adopted_children(before, n_before, kids, 256);
        if (!n) break;
        for (int i = 0; i < n; i++) {
            if (getpgid(kids[i]) == kids[i]) kill(-kids[i], SIGKILL);
            kill(kids[i], SIGKILL);
        }
        for (int i = 0; i < n; i++)
            while (waitpid(kids[i], NULL, 0) < 0 && errno == EINTR) {}
        killed += n;
    }
    return killed;
}

/* ---- spawning and waiting ------------------------------------------- */

static int pidfd_open_(pid_t pid)
{
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, pid, 0);
#else
    (void)pid;
    errno = ENOSYS;
    return -1;
#endif
}

static int spawn(const harness_argv *a, harness_output output, int out_w, int err_w, pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t def, none;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&at);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (output == HARNESS_OUTPUT_DISCARD) {
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_adddup2(&fa, 1, 2);
    } else {
        posix_spawn_file_actions_adddup2(&fa, out_w, 1);
        posix_spawn_file_actions_adddup2(&fa, err_w, 2);
    }
    /* Own process group: a timeout ends everything it started, and a
     * terminal's Ctrl-C reaches only the harness, which decides. */
    posix_spawnattr_setpgroup(&at, 0);
    sigemptyset(&def);
    sigaddset(&def, SIGINT);
    sigaddset(&def, SIGTERM);
    sigaddset(&def, SIGPIPE);
    sigaddset(&def, SIGQUIT);
    posix_spawnattr_setsigdefault(&at, &def);
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    char *argv[HARNESS_MAX_ARGS + 1];
    for (int i = 0; i < a->argc; i++) argv[i] = (char *)a->argv[i];
    argv[a->argc] = NULL;
    int rc = posix_spawnp(pid, argv[0], &fa, &at, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    return rc;
}

typedef struct waiter {
    pid_t pid;
    int pidfd;                   /* -1: fall back to a 1 ms waitid loop */
    capture_state out, err;
    int out_fd, err_fd;
} waiter;

/* Waits up to ms (< 0: no limit) for the child to exit, reading its pipes
 * meanwhile; with stop_on_signal, returns early on SIGINT/SIGTERM. True once
 * it has exited (not yet reaped). */
static bool wait_exit(waiter *w, double ms, bool stop_on_signal)
{
    double end = ms >= 0 ? now_ms() + ms : INFINITY;
    for (;;) {
        struct pollfd pf[3] = {{w->pidfd, POLLIN, 0},
                               {w->out.open ? w->out_fd : -1, POLLIN, 0},
                               {w->err.open ? w->err_fd : -1, POLLIN, 0}};
        double left = end - now_ms();
        /* A signal may land on another thread and not wake poll: look at
         * the interrupt flag every 50 ms. The exit itself wakes poll. */
        int to = left > 50 ? 50 : left > 0 ? (int)ceil(left) : 0;
        if (w->pidfd < 0 && to > 1) to = 1;
        int pr = poll(pf, 3, to);
        if (pr > 0) {
            if (pf[1].revents && !capture_read(w->out_fd, &w->out)) w->out.open = false;
            if (pf[2].revents && !capture_read(w->err_fd, &w->err)) w->err.open = false;
            if (pf[0].revents) return true;
        }
        if (w->pidfd < 0) {
            siginfo_t si;
            si.si_pid = 0;
            if (waitid(P_PID, (id_t)w->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == w->pid)
                return true;
        }
        if (now_ms() >= end) return false;
        if (stop_on_signal && harness_interrupt_count() > 0) return false;
    }
}

/* SIGTERM to the group, then SIGKILL after the grace period or at once when
 * a second SIGINT/SIGTERM arrives. */
static void terminate(waiter *w)
{
    int signals = harness_interrupt_count();
    kill(-w->pid, SIGTERM);
    kill(w->pid, SIGTERM);
    double end = now_ms() + GRACE_MS;
    while (now_ms() < end) {
        if (harness_interrupt_count() > signals && harness_interrupt_count() >= 2) break;
        double left = end - now_ms();
        if (wait_exit(w, left < 20 ? left : 20, false)) return;
    }
    kill(-w->pid, SIGKILL);
    kill(w->pid, SIGKILL);
}

static void set_failure(harness_command_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_failure(harness_command_result *r, const char *fmt, ...)
{
    r->ok = false;
    if (r->failure[0]) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->failure, sizeof r->failure, fmt, ap);
    va_end(ap);
}

static void result_init(harness_command_result *r)
{
    memset(r, 0, sizeof *r);
    r->exit_status = -1;
    r->wall_ms = r->spawn_ms = r->user_ms = r->sys_ms = r->max_rss_bytes = r->reap_ms = NAN;
    for (int i = 0; i < HARNESS_MAX_METRICS; i++) r->metrics[i] = NAN;
}

int harness_command_exec(const harness_argv *a, const harness_exec_options *o, harness_command_result *r,
                         harness_error *err)
{
    result_init(r);
    if (a->argc < 1) {
        snprintf(err->msg, sizeof err->msg, "empty command");
        err->kind = HARNESS_ERR_INPUT;
        return -1;
    }
    /* Orphaned descendants come to the harness, not to init, so none escapes. */
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    pid_t before[256];
    int n_before = 0;
    siginfo_t si;
    si.si_pid = 0;
    if (!(waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 && errno == ECHILD))
        n_before = adopted_children(NULL, 0, before, 256);

    waiter w = {.pidfd = -1, .out_fd = -1, .err_fd = -1};
    int op[2] = {-1, -1}, ep[2] = {-1, -1};
    bool capture = o->output == HARNESS_OUTPUT_CAPTURE;
    if (capture && (pipe2(op, O_CLOEXEC) || pipe2(ep, O_CLOEXEC))) {
        int e = errno;
        if (op[0] >= 0) close(op[0]), close(op[1]);
        snprintf(err->msg, sizeof err->msg, "cannot start '%s': pipe: %s", a->argv[0], strerror(e));
        err->kind = HARNESS_ERR_SYSTEM;
        return -1;
    }
    harness_command_live(true);
    double t0 = now_ms();
    int rc = spawn(a, o->output, op[1], ep[1], &w.pid);
    double t_spawned = now_ms();
    if (capture) close(op[1]), close(ep[1]);
    w.out_fd = op[0], w.err_fd = ep[0];
    w.out.open = w.err.open = capture;
    if (rc) {
        harness_command_live(false);
        if (capture) close(op[0]), close(ep[0]);
        capture_finish(&w.out, &r->out);
        capture_finish(&w.err, &r->err);
        set_failure(r, "cannot run '%s': %s", a->argv[0], strerror(rc));
        return 0;
    }
    r->spawn_ms = t_spawned - t0;
    r->started_ms = t0;
    w.pidfd = pidfd_open_(w.pid);

    bool exited = false;
    while (!exited) {
        double left = o->timeout_s > 0 ? o->timeout_s * 1e3 - (now_ms() - t0) : -1;
        if (o->timeout_s > 0 && left <= 0) {
            r->timed_out = true;
            terminate(&w);
            break;
        }
        if (harness_interrupt_count() > 0) {
            r->interrupted = true;
            terminate(&w);
            break;
        }
        exited = wait_exit(&w, left < 0 ? -1 : left, true);
    }
    double t_exit = now_ms();
    /* Reap it (rusage) while its process group still exists, so the group
     * id cannot be reused before the leftovers are killed. */
    bool keep = o->keep_leftovers && !r->timed_out && !r->interrupted;
    if (!keep) kill(-w.pid, SIGKILL);
    int status = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    while (wait4(w.pid, &status, 0, &ru) < 0 && errno == EINTR) {}
    if (w.pidfd >= 0) close(w.pidfd);
    r->leftovers_killed = keep ? 0 : end_adopted(before, n_before);
    harness_command_live(false);
    /* Output still in the pipes; a holder the harness could not end (not
     * its descendant any more) is not waited for beyond a short linger. */
    double linger_end = now_ms() + PIPE_LINGER_MS;
    while ((w.out.open || w.err.open) && now_ms() < linger_end) {
        struct pollfd pf[2] = {{w.out.open ? w.out_fd : -1, POLLIN, 0}, {w.err.open ? w.err_fd : -1, POLLIN, 0}};
        if (poll(pf, 2, 20) > 0) {
            if (pf[0].revents && !capture_read(w.out_fd, &w.out)) w.out.open = false;
            if (pf[1].revents && !capture_read(w.err_fd, &w.err)) w.err.open = false;
        }
    }
    if (capture) close(w.out_fd), close(w.err_fd);
    capture_finish(&w.out, &r->out);
    capture_finish(&w.err, &r->err);
    r->wall_ms = t_exit - t0;
    r->user_ms = ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3;
    r->sys_ms = ru.ru_stime.tv_sec * 1e3 + ru.ru_stime.tv_usec / 1e3;
    r->max_rss_bytes = (double)ru.ru_maxrss * 1024.0;
    r->reap_ms = now_ms() - t_exit;
    r->ok = true;
    if (WIFSIGNALED(status)) r->term_signal = WTERMSIG(status);
    else if (WIFEXITED(status)) r->exit_status = WEXITSTATUS(status);
    if (r->interrupted) set_failure(r, "interrupted");
    else if (r->timed_out) set_failure(r, "timeout after %g s", o->timeout_s);
    else if (r->term_signal) set_failure(r, "killed by signal %d (%s)", r->term_signal, strsignal(r->term_signal));
    else if (r->exit_status != 0) set_failure(r, "exit status %d", r->exit_status);
    return 0;
}

static void extract_metrics(const harness_workload *w, harness_command_result *r)
{
    const harness_capture *c = &r->out;
    for (int i = 0; i < w->n_metrics; i++) {
        const harness_metric_spec *m = &w->metrics[i];
        harness_error e = {0};
        int rc;
        if (m->json_path[0]) {
            /* The tail first: tools print their JSON last. */
            rc = harness_json_path_number_n(c->data + c->head_len, c->len - c->head_len, m->json_path, &r->metrics[i]);
            if (rc) rc = harness_json_path_number_n(c->data, c->head_len, m->json_path, &r->metrics[i]);
        } else {
            rc = harness_regex_number_n(c->data, c->head_len, m->regex, &r->metrics[i], &e);
            if (rc && !e.kind)
                rc = harness_regex_number_n(c->data + c->head_len, c->len - c->head_len, m->regex, &r->metrics[i], &e);
        }
        if (rc) {
            r->metrics[i] = NAN;
            if (c->total == 0) set_failure(r, "no output (metric '%s' missing)", m->name);
            else if (m->json_path[0]) set_failure(r, "no metric '%s' in output (JSON path not found)", m->name);
            else set_failure(r, "no metric '%s' in output (regex did not match)", m->name);
        }
    }
}

int harness_command_run(const harness_workload *w, double timeout_s, harness_command_result *r,
                        harness_error *err)
{
    harness_argv a;
    a.argc = w->argc;
    memcpy(a.argv, w->argv, sizeof a.argv);
    harness_exec_options o = {.timeout_s = timeout_s, .output = w->output};
    if (harness_command_exec(&a, &o, r, err)) return -1;
    if (!r->ok && w->ignore_failure && r->exit_status > 0) {
        r->ok = true;       /* recorded in exit_status, not a failure */
        r->failure[0] = 0;
    }
    if (r->ok && w->n_metrics) extract_metrics(w, r);
    return 0;
}

void harness_command_result_free(harness_command_result *r)
{
    free(r->out.data);
    free(r->err.data);
    r->out.data = r->err.data = NULL;
}

/* ---- metric extraction ---------------------------------------------- */

static const cJSON *walk(const cJSON *node, const char *path)
{
    const char *s = path;
    while (node && *s) {
        if (*s == '.') { s++; continue; }
        if (*s == '[') {
            char *end;
            long i = strtol(s + 1, &end, 10);
            if (*end != ']' || !cJSON_IsArray(node)) return NULL;
            node = cJSON_GetArrayItem(node, (int)i);
            s = end + 1;
            continue;
        }
        char key[128];
        size_t n = strcspn(s, ".[");
        if (n >= sizeof key) return NULL;
        memcpy(key, s, n);
        key[n] = 0;
        node = cJSON_IsObject(node) ? cJSON_GetObjectItemCaseSensitive(node, key) : NULL;
        s += n;
    }
    return node;
}

static int number_at(const char *json, size_t len, const char *path, double *out)
{
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!root) return -1;
    const cJSON *v = walk(root, path);
    int rc = -1;
    if (v && cJSON_IsNumber(v) && isfinite(v->valuedouble)) *out = v->valuedouble, rc = 0;
    cJSON_Delete(root);
    return rc;
}

int harness_json_path_number_n(const char *text, size_t len, const char *path, double *out)
{
    if (len && number_at(text, len, path, out) == 0) return 0;
    /* Tools that log before their JSON: their last line that parses. */
    size_t end = len;
    while (end > 0) {
        while (end > 0 && (text[end - 1] == '\n' || text[end - 1] == '\r')) end--;
        size_t line = end;
        while (line > 0 && text[line - 1] != '\n') line--;
        if (end > line && (text[line] == '{' || text[line] == '[') && number_at(text + line, end - line, path, out) == 0)
            return 0;
        end = line;
    }
    return -1;
}

int harness_json_path_number(const char *json_text, const char *path, double *out)
{
    return harness_json_path_number_n(json_text, strlen(json_text), path, out);
}

int harness_regex_number_n(const char *text, size_t len, const char *regex, double *out, harness_error *err)
{
    regex_t re;
    regmatch_t m[2];
    int rc = regcomp(&re, regex, REG_EXTENDED);
    if (rc) {
        char msg[256];
        regerror(rc, &re, msg, sizeof msg);
        snprintf(err->msg, sizeof err->msg, "invalid regular expression '%s': %s", regex, msg);
        err->kind = HARNESS_ERR_INPUT;
        return -1;
    }
    if (re.re_nsub < 1) {
        regfree(&re);
        snprintf(err->msg, sizeof err->msg, "regular expression '%s' needs a capture group ( ) around the number", regex);
        err->kind = HARNESS_ERR_INPUT;
        return -1;
    }
    /* REG_STARTEND: the whole buffer, NUL bytes included. */
    m[0].rm_so = 0;
    m[0].rm_eo = (regoff_t)len;
    rc = regexec(&re, text, 2, m, REG_STARTEND);
    regfree(&re);
    if (rc || m[1].rm_so < 0) return -1;
    char num[64];
    size_t n = (size_t)(m[1].rm_eo - m[1].rm_so);
    if (n == 0 || n >= sizeof num) return -1;
    memcpy(num, text + m[1].rm_so, n);
    num[n] = 0;
    char *end;
    double v = strtod(num, &end);
    if (*end || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

int harness_regex_number(const char *text, const char *regex, double *out, harness_error *err)
{
    return harness_regex_number_n(text, strlen(text), regex, out, err);
}
