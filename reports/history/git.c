/* The code under test: commit, branch, dirty flag and describe of a git
 * work tree, read by running git (no shell: the directory is an argument,
 * never interpreted). */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "history_internal.h"

extern char **environ;

/* First line of `git -C dir args...` into out; 0 when git exited 0. */
static int git_line(const char *dir, const char *const *args, char *out, size_t cap)
{
    const char *argv[12] = {"git", "-C", dir};
    int n = 3;
    for (int i = 0; args[i] && n < 11; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    int fd[2];
    if (pipe(fd) < 0)
        return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fd[1], 1);
    posix_spawn_file_actions_addclose(&fa, fd[0]);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    int rc = posix_spawnp(&pid, "git", &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fd[1]);
    size_t len = 0;
    if (rc == 0) {
        char buf[4096];
        ssize_t k;
        while ((k = read(fd[0], buf, sizeof buf)) > 0) {    /* to the end, so git never blocks */
            size_t take = (size_t)k < cap - 1 - len ? (size_t)k : cap - 1 - len;
            memcpy(out + len, buf, take);
            len += take;
        }
    }
    close(fd[0]);
    out[len] = 0;
    out[strcspn(out, "\n")] = 0;
    if (rc != 0)
        return -1;
    int st;
    if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return -1;
    return 0;
}

static void add_tag(history_tag *tags, int *ntags, int max, const char *key, const char *value)
{
    for (int i = 0; i < *ntags; i++)
        if (!strcmp(tags[i].key, key))
            return;     /* the user's --tag wins */
    if (*ntags >= max || !value[0])
        return;
    snprintf(tags[*ntags].key, sizeof tags[0].key, "%s", key);
    snprintf(tags[*ntags].value, sizeof tags[0].value, "%s", value);
    (*ntags)++;
}

int history_git_tags(const char *dir, history_tag *tags, int *ntags, int max)
{
    char commit[128], branch[256], status[64], describe[256];
    if (git_line(dir, (const char *[]){"rev-parse", "HEAD", NULL}, commit, sizeof commit) < 0)
        return 0;       /* not a git work tree (or no git): nothing to add */
    add_tag(tags, ntags, max, "commit", commit);
    if (git_line(dir, (const char *[]){"symbolic-ref", "--short", "-q", "HEAD", NULL}, branch, sizeof branch) == 0)
        add_tag(tags, ntags, max, "branch", branch);
    if (git_line(dir, (const char *[]){"status", "--porcelain", "--untracked-files=no", NULL}, status,
                 sizeof status) == 0)
        add_tag(tags, ntags, max, "dirty", status[0] ? "1" : "0");
    if (git_line(dir, (const char *[]){"describe", "--always", "--dirty", "--tags", NULL}, describe,
                 sizeof describe) == 0)
        add_tag(tags, ntags, max, "describe", describe);
    return 1;
}
