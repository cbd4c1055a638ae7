/* One writer per results directory: an exclusive flock on DIR/.thermabench.lock
 * held for the whole run or resume. The lock belongs to the open file, so it
 * ends when the process does, however it ends (kill -9 included): a stale
 * lock file never blocks anyone. Workloads never inherit it (O_CLOEXEC).
 *
 * Holding the lock also proves that every temporary file a writer leaves
 * (NAME.tmp.PID from harness_write_atomic, NAME.tmp from the report writers)
 * belongs to a writer that is gone: they are removed on open. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "harness_internal.h"

#define LOCK_NAME ".thermabench.lock"

/* The files a run writes through a temporary: "results.json.tmp.1234"
 * (harness_write_atomic), "report.md.tmp" (the report writers). Nothing else
 * in the directory is touched. */
static bool is_stale_temporary(const char *name)
{
    static const char *const written[] = {"results.json", "config.json", "telemetry.csv", "report.md",
                                          "report.html", "runs.csv", NULL};
    for (const char *const *w = written; *w; w++) {
        size_t n = strlen(*w);
        if (strncmp(name, *w, n) || strncmp(name + n, ".tmp", 4))
            continue;
        const char *t = name + n + 4;
        if (!*t)
            return true;
        if (*t++ != '.' || !*t)
            return false;
        for (; *t; t++)
            if (*t < '0' || *t > '9')
                return false;
        return true;
    }
    return false;
}

static int remove_stale_temporaries(const char *dir, harness_error *err)
{
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err->msg, sizeof err->msg, "%.900s: cannot list: %s", dir, strerror(errno));
        err->kind = HARNESS_ERR_SYSTEM;
        return -1;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!is_stale_temporary(e->d_name))
            continue;
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (unlink(path) && errno != ENOENT) {
            snprintf(err->msg, sizeof err->msg, "%.900s: cannot remove a stale temporary file: %s", path,
                     strerror(errno));
            err->kind = HARNESS_ERR_SYSTEM;
            closedir(d);
            return -1;
        }
    }
    closedir(d);
    return 0;
}

int harness_results_lock(const char *dir, bool wait, harness_error *err)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/" LOCK_NAME, dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err->msg, sizeof err->msg, "%.900s: cannot open the lock file: %s", path, strerror(errno));
        err->kind = HARNESS_ERR_SYSTEM;
        return -1;
    }
    int rc;
    while ((rc = flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB))) < 0 && errno == EINTR && wait)
        ;
    if (rc < 0) {
        int e = errno;
        char holder[32] = "";
        ssize_t n = pread(fd, holder, sizeof holder - 1, 0);
        holder[n > 0 ? n : 0] = 0;
        holder[strcspn(holder, "\n")] = 0;
        close(fd);
        if (e == EWOULDBLOCK)
            snprintf(err->msg, sizeof err->msg,
                     "%.900s is in use by another thermabench run%s%s%s; wait for it to end, or add --wait", dir,
                     holder[0] ? " (pid " : "", holder, holder[0] ? ")" : "");
        else
            snprintf(err->msg, sizeof err->msg, "%.900s: cannot lock: %s", path, strerror(e));
        err->kind = HARNESS_ERR_SYSTEM;
        return -1;
    }
    char pid[32];
    int len = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
    if (ftruncate(fd, 0) == 0 && pwrite(fd, pid, (size_t)len, 0) != len) {
        /* The pid is only for the message a second writer prints. */
    }
    if (remove_stale_temporaries(dir, err) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

void harness_results_unlock(int fd)
{
    if (fd >= 0)
        close(fd);
}
