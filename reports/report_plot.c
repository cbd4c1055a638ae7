/* Plots through gnuplot (svg terminal), run at report time: data files and a
 * script in a private temporary directory, the SVG read back and inlined.
 * gnuplot is started with posix_spawnp and an argument vector, in that
 * directory, its script a file there: no shell ever sees a path or a name. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>


extern char **environ;

#include "report_plot.h"

static const char *palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"};

const char *plot_color(int i)
{
    return palette[i % 6];
}

/* gnuplot ARG in p->dir, stdin from /dev/null, stdout and stderr to log (a
 * path relative to p->dir). Its exit status, or -1 when it could not start. */
static int run_gnuplot(plot_ctx *p, const char *arg, const char *log)
{
    char *argv[] = {"gnuplot", (char *)arg, NULL};
    posix_spawn_file_actions_t fa;
    if (posix_spawn_file_actions_init(&fa) != 0)
        return -1;
    int rc = posix_spawn_file_actions_addchdir_np(&fa, p->dir) ||
             posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0) ||
             posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0600) ||
             posix_spawn_file_actions_adddup2(&fa, 1, 2);
    pid_t pid;
    if (rc == 0)
        rc = posix_spawnp(&pid, "gnuplot", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return -1;
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int plot_begin(plot_ctx *p)
{
    memset(p, 0, sizeof *p);
    snprintf(p->dir, sizeof p->dir, "%s/thermabench-plot-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(p->dir)) {
        snprintf(p->why, sizeof p->why, "cannot create a temporary directory for gnuplot");
        return -1;
    }
    /* gnuplot present? "gnuplot --version" exits 0. */
    if (run_gnuplot(p, "--version", "/dev/null") != 0) {
        snprintf(p->why, sizeof p->why, "gnuplot is not installed (apt-get install gnuplot-nox): plots left out; "
                 "regenerate the report where gnuplot is, from results.json and telemetry.csv");
        return -1;
    }
    p->ok = 1;
    return 0;
}

FILE *plot_data(plot_ctx *p, const char *name)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", p->dir, name);
    return fopen(path, "w");
}

void plot_num(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, " %.10g", v);
    else
        fputs(" NaN", f);
}

/* Prefixes the ids gnuplot writes (gpPt0, gnuplot_canvas, ...) so several
 * inlined plots do not share ids. */
static char *prefix_ids(const char *svg, int k)
{
    size_t n = strlen(svg), cap = n + n / 4 + 1024, o = 0;
    char *out = malloc(cap), pre[16];
    if (!out)
        return NULL;
    int pl = snprintf(pre, sizeof pre, "p%d", k);
    for (size_t i = 0; i < n; i++) {
        if ((!strncmp(svg + i, "gpPt", 4) || !strncmp(svg + i, "gpDot", 5) || !strncmp(svg + i, "gnuplot_", 8)) &&
            i > 0 && (svg[i - 1] == '\'' || svg[i - 1] == '"' || svg[i - 1] == '#')) {
            if (o + (size_t)pl + 1 >= cap)
                break;
            memcpy(out + o, pre, (size_t)pl);
            o += (size_t)pl;
        }
        if (o + 2 >= cap)
            break;
        out[o++] = svg[i];
    }
    out[o] = 0;
    return out;
}

char *plot_run(plot_ctx *p, const char *name, const char *script, int width, int height)
{
    if (!p->ok)
        return NULL;
    /* Names relative to p->dir, where gnuplot runs; name is one of ours. */
    char gp[64], svgp[64], logp[64], path[600];
    snprintf(gp, sizeof gp, "%.40s.gp", name);
    snprintf(svgp, sizeof svgp, "%.40s.svg", name);
    snprintf(logp, sizeof logp, "%.40s.log", name);
    FILE *f = plot_data(p, gp);
    if (!f)
        return NULL;
    fprintf(f, "set terminal svg size %d,%d dynamic noenhanced font 'sans,11' background rgb 'white'\n"
               "set output '%s'\nset datafile missing 'NaN'\nset grid lc rgb '#dddddd'\n"
               "set key outside right top\nset offsets graph 0.02, graph 0.02, graph 0.06, graph 0.06\n%s\n",
            width, height, svgp, script);
    fclose(f);
    if (run_gnuplot(p, gp, logp) != 0) {
        char msg[300] = "";
        snprintf(path, sizeof path, "%s/%s", p->dir, logp);
        FILE *lf = fopen(path, "r");
        if (lf) {
            size_t n = fread(msg, 1, sizeof msg - 1, lf);
            msg[n] = 0;
            fclose(lf);
        }
        snprintf(p->why, sizeof p->why, "gnuplot failed on the %.40s plot: %.300s", name, msg);
        return NULL;
    }
    snprintf(path, sizeof path, "%s/%s", p->dir, svgp);
    f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)len + 1);
    if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) {
        free(buf);
        fclose(f);
        return NULL;
    }
    fclose(f);
    buf[len] = 0;
    const char *start = strstr(buf, "<svg");      /* drop the XML prolog */
    char *out = start ? prefix_ids(start, ++p->count) : NULL;
    free(buf);
    return out;
}

/* Removes the temporary directory and what is in it. */
void plot_end(plot_ctx *p)
{
    if (!p->dir[0])
        return;
    DIR *d = opendir(p->dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            char path[900];
            snprintf(path, sizeof path, "%s/%s", p->dir, e->d_name);
            unlink(path);
        }
        closedir(d);
    }
    rmdir(p->dir);
    p->dir[0] = 0;
}
