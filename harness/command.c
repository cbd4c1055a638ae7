/* External workloads: fork/exec an argument vector (no shell) in its own
 * process group, capture stdout and stderr, enforce a timeout, and read the
 * metrics from what it printed (a JSON field path or a regex group). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "harness.h"

#define CAPTURE_MAX (4u << 20)   /* keep at most 4 MiB of each stream */

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

typedef struct buf {
    char *data;
    size_t len, cap;
} buf;

/* Reads what is available; returns 0 at EOF, 1 otherwise. */
static int drain(int fd, buf *b)
{
    char tmp[8192];
    ssize_t n = read(fd, tmp, sizeof tmp);
    if (n == 0) return 0;
    if (n < 0) return errno == EINTR || errno == EAGAIN ? 1 : 0;
    if (b->len + (size_t)n + 1 > b->cap && b->len < CAPTURE_MAX) {
        size_t cap = b->cap ? b->cap * 2 : 16384;
        while (cap < b->len + (size_t)n + 1) cap *= 2;
        char *nd = realloc(b->data, cap);
        if (nd) b->data = nd, b->cap = cap;
    }
    if (b->len + (size_t)n + 1 <= b->cap) {
        memcpy(b->data + b->len, tmp, (size_t)n);
        b->len += (size_t)n;
        b->data[b->len] = 0;
    }
    return 1;
}

static void set_failure(harness_command_result *r, const char *fmt, const char *a, double x)
{
    r->ok = false;
    if (!r->failure[0]) snprintf(r->failure, sizeof r->failure, fmt, a, x);
}

static pid_t spawn(const harness_workload *w, int out_fd[2], int err_fd[2], int exec_fd[2])
{
    pid_t pid = fork();
    if (pid != 0) return pid;
    /* Child: own process group so a timeout kills everything it started,
     * and a terminal's Ctrl-C reaches only the harness, which decides. */
    setpgid(0, 0);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    dup2(out_fd[1], 1);
    dup2(err_fd[1], 2);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    close(out_fd[0]); close(err_fd[0]); close(exec_fd[0]);
    char *argv[HARNESS_MAX_ARGS + 1];
    for (int i = 0; i < w->argc; i++) argv[i] = (char *)w->argv[i];
    argv[w->argc] = NULL;
    execvp(argv[0], argv);
    int e = errno;
    if (write(exec_fd[1], &e, sizeof e) < 0) _exit(127);
    _exit(127);
}

static void kill_group(pid_t pid, int *status)
{
    kill(-pid, SIGTERM);
    kill(pid, SIGTERM);
    for (int i = 0; i < 20; i++) {           /* one second of grace */
        if (waitpid(pid, status, WNOHANG) == pid) { kill(-pid, SIGKILL); return; }
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    while (waitpid(pid, status, 0) < 0 && errno == EINTR) {}
}

static void extract_metrics(const harness_workload *w, harness_command_result *r)
{
    const char *text = r->out ? r->out : "";
    for (int i = 0; i < w->n_metrics; i++) {
        const harness_metric_spec *m = &w->metrics[i];
        harness_error e = {0};
        int rc = m->json_path[0] ? harness_json_path_number(text, m->json_path, &r->metrics[i])
                                 : harness_regex_number(text, m->regex, &r->metrics[i], &e);
        if (rc) {
            r->metrics[i] = NAN;
            if (!text[0]) set_failure(r, "no output (metric '%s' missing)", m->name, 0);
            else if (m->json_path[0]) set_failure(r, "no metric '%s' in output (JSON path not found)", m->name, 0);
            else set_failure(r, "no metric '%s' in output (regex did not match)", m->name, 0);
        }
    }
}

int harness_command_run(const harness_workload *w, double timeout_s, harness_command_result *r,
                        harness_error *err)
{
    int out_fd[2], err_fd[2], exec_fd[2];
    memset(r, 0, sizeof *r);
    r->exit_status = -1;
    for (int i = 0; i < HARNESS_MAX_METRICS; i++) r->metrics[i] = NAN;
    if (pipe(out_fd)) goto sysfail;
    if (pipe(err_fd)) { close(out_fd[0]); close(out_fd[1]); goto sysfail; }
    if (pipe2(exec_fd, O_CLOEXEC)) { close(out_fd[0]); close(out_fd[1]); close(err_fd[0]); close(err_fd[1]); goto sysfail; }
    fcntl(out_fd[0], F_SETFD, FD_CLOEXEC);
    fcntl(err_fd[0], F_SETFD, FD_CLOEXEC);
    double t0 = now_ms();
    pid_t pid = spawn(w, out_fd, err_fd, exec_fd);
    close(out_fd[1]); close(err_fd[1]); close(exec_fd[1]);
    if (pid < 0) {
        close(out_fd[0]); close(err_fd[0]); close(exec_fd[0]);
        goto sysfail;
    }
    setpgid(pid, pid);   /* also from the parent: no race with the kill below */
    int exec_errno = 0;
    ssize_t en;
    while ((en = read(exec_fd[0], &exec_errno, sizeof exec_errno)) < 0 && errno == EINTR) {}
    close(exec_fd[0]);
    buf bo = {0}, be = {0};
    bool open_o = true, open_e = true, exited = false;
    double t_exit = 0;
    int status = 0;
    while (!exited || open_o || open_e) {
        struct pollfd pf[2] = {{open_o ? out_fd[0] : -1, POLLIN, 0}, {open_e ? err_fd[0] : -1, POLLIN, 0}};
        int pr = poll(pf, 2, 50);
        if (pr > 0) {
            if (pf[0].revents && !drain(out_fd[0], &bo)) open_o = false;
            if (pf[1].revents && !drain(err_fd[0], &be)) open_e = false;
        }
        if (!exited && waitpid(pid, &status, WNOHANG) == pid) exited = true, t_exit = now_ms();
        if (exited && !open_o && !open_e) break;
        /* A grandchild may hold the pipes open: stop reading soon after. */
        if (exited && now_ms() - t_exit > 1000) break;
        if (!exited && harness_interrupted()) {
            r->interrupted = true;
            kill_group(pid, &status);
            exited = true;
            break;
        }
        if (!exited && timeout_s > 0 && now_ms() - t0 > timeout_s * 1e3) {
            r->timed_out = true;
            kill_group(pid, &status);
            exited = true;
            break;
        }
    }
    kill(-pid, SIGKILL);   /* whatever it left behind in its group */
    for (int k = 0; k < 256 && open_o; k++) {
        struct pollfd pf = {out_fd[0], POLLIN, 0};
        if (poll(&pf, 1, 0) <= 0 || !drain(out_fd[0], &bo)) break;
    }
    close(out_fd[0]);
    close(err_fd[0]);
    r->wall_ms = now_ms() - t0;
    r->out = bo.data ? bo.data : strdup("");
    r->errout = be.data ? be.data : strdup("");
    r->ok = true;
    if (en == sizeof exec_errno) {
        r->ok = false;
        snprintf(r->failure, sizeof r->failure, "cannot run '%s': %s", w->argv[0], strerror(exec_errno));
        return 0;
    }
    if (r->interrupted) {
        r->ok = false;
        snprintf(r->failure, sizeof r->failure, "interrupted");
        return 0;
    }
    if (r->timed_out) {
        set_failure(r, "%stimeout after %g s", "", timeout_s);
        return 0;
    }
    if (WIFSIGNALED(status)) {
        r->term_signal = WTERMSIG(status);
        r->ok = false;
        snprintf(r->failure, sizeof r->failure, "killed by signal %d (%s)", r->term_signal, strsignal(r->term_signal));
        return 0;
    }
    r->exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (r->exit_status != 0) {
        r->ok = false;
        snprintf(r->failure, sizeof r->failure, "exit status %d", r->exit_status);
        return 0;
    }
    extract_metrics(w, r);
    return 0;
sysfail:
    snprintf(err->msg, sizeof err->msg, "cannot start '%s': %s", w->argv[0], strerror(errno));
    err->kind = HARNESS_ERR_SYSTEM;
    return -1;
}

void harness_command_result_free(harness_command_result *r)
{
    free(r->out);
    free(r->errout);
    r->out = r->errout = NULL;
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

static int number_at(const char *json, const char *path, double *out)
{
    cJSON *root = cJSON_Parse(json);
    if (!root) return -1;
    const cJSON *v = walk(root, path);
    int rc = -1;
    if (v && cJSON_IsNumber(v) && isfinite(v->valuedouble)) *out = v->valuedouble, rc = 0;
    cJSON_Delete(root);
    return rc;
}

int harness_json_path_number(const char *json_text, const char *path, double *out)
{
    /* The whole output first; tools that log before their JSON get their
     * last line that parses instead. */
    if (number_at(json_text, path, out) == 0) return 0;
    size_t len = strlen(json_text);
    char *copy = malloc(len + 1);
    if (!copy) return -1;
    memcpy(copy, json_text, len + 1);
    int rc = -1;
    for (char *end = copy + len; rc && end > copy;) {
        while (end > copy && (end[-1] == '\n' || end[-1] == '\r')) *--end = 0;
        char *line = end;
        while (line > copy && line[-1] != '\n') line--;
        if (*line == '{' || *line == '[') rc = number_at(line, path, out);
        end = line;
    }
    free(copy);
    return rc;
}

int harness_regex_number(const char *text, const char *regex, double *out, harness_error *err)
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
    rc = regexec(&re, text, 2, m, 0);
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
