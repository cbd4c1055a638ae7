/* runs.csv: one row per run, every field the statistics use. */
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "reports.h"
#include "stats_internal.h"

int report_fail(report_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return -1;
}

int report_write_atomic(const char *path, const char *data, size_t len, report_error *err)
{
    char tmp[1024];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        snprintf(err->msg, sizeof err->msg, "%.400s: path too long", path);
        return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        snprintf(err->msg, sizeof err->msg, "%.400s: %s", tmp, strerror(errno));
        return -1;
    }
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            snprintf(err->msg, sizeof err->msg, "%.400s: %s", tmp, strerror(errno));
            close(fd);
            unlink(tmp);
            return -1;
        }
        off += (size_t)w;
    }
    if (fsync(fd) < 0 || close(fd) < 0 || rename(tmp, path) < 0) {
        snprintf(err->msg, sizeof err->msg, "%.400s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* Empty field for unknown values, as in telemetry.csv. */
static void num(textbuf *b, double v)
{
    if (isfinite(v))
        tb_printf(b, ",%.10g", v);
    else
        tb_puts(b, ",");
}

static void csv_text(textbuf *b, const char *s)
{
    tb_puts(b, ",\"");
    for (; *s; s++) {
        char c[3] = {*s, 0, 0};
        if (*s == '"')
            c[1] = '"';
        tb_puts(b, c);
    }
    tb_puts(b, "\"");
}

int report_write_csv(const report_results *r, const char *path, report_error *err)
{
    textbuf b = {0};
    tb_printf(&b, "index,variant,warmup,status,started_s,wall_ms,%s,temp_start_c,temp_end_c,temp_peak_c,"
                  "power_mean_w,energy_j,energy_per_token_j,clock_mean_mhz,clock_min_mhz,mem_psi_some_us,throttle\n",
              r->metric_name);
    for (int i = 0; i < r->nruns; i++) {
        const report_run *u = &r->runs[i];
        tb_printf(&b, "%d", u->index);
        csv_text(&b, u->variant);
        tb_printf(&b, ",%s,%s", u->warmup ? "true" : "false", u->ok ? "ok" : "failed");
        num(&b, u->started_s);
        num(&b, u->wall_ms);
        num(&b, u->metric);
        num(&b, u->temp_start_c);
        num(&b, u->temp_end_c);
        num(&b, u->temp_peak_c);
        num(&b, u->power_mean_w);
        num(&b, u->energy_j);
        num(&b, u->energy_per_token_j);
        num(&b, u->clock_mean_mhz);
        num(&b, u->clock_min_mhz);
        num(&b, u->mem_psi_some_us);
        tb_printf(&b, ",%s\n", u->throttle);
    }
    if (b.oom) {
        tb_free(&b);
        snprintf(err->msg, sizeof err->msg, "%.400s: out of memory", path);
        return -1;
    }
    int rc = report_write_atomic(path, b.s, b.len, err);
    tb_free(&b);
    return rc;
}
