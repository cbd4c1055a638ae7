/* runs.csv: one row per run, every field the statistics use. */
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
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
static void num(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, ",%.10g", v);
    else
        fputc(',', f);
}

/* Every text field goes through report_put_escaped (quoted, no formula):
 * the metric name in the header, the variant and the throttle state. */
int report_write_csv(const report_results *r, const char *path, report_error *err)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return report_fail(err, "%.400s: out of memory", path);
    fputs("index,variant,warmup,status,started_s,wall_ms,", f);
    report_put_escaped(f, REPORT_ESC_CSV, r->metric_name);
    fputs(",temp_start_c,temp_end_c,temp_peak_c,power_mean_w,energy_j,energy_per_token_j,clock_mean_mhz,"
          "clock_min_mhz,mem_psi_some_us,throttle\n", f);
    for (int i = 0; i < r->nruns; i++) {
        const report_run *u = &r->runs[i];
        report_fprintf(f, REPORT_ESC_CSV, "%d,%s,", u->index, u->variant);
        fputs(u->warmup ? "true," : "false,", f);
        fputs(u->ok ? "ok" : "failed", f);
        num(f, u->started_s);
        num(f, u->wall_ms);
        num(f, u->metric);
        num(f, u->temp_start_c);
        num(f, u->temp_end_c);
        num(f, u->temp_peak_c);
        num(f, u->power_mean_w);
        num(f, u->energy_j);
        num(f, u->energy_per_token_j);
        num(f, u->clock_mean_mhz);
        num(f, u->clock_min_mhz);
        num(f, u->mem_psi_some_us);
        report_fprintf(f, REPORT_ESC_CSV, ",%s\n", u->throttle);
    }
    if (fclose(f) != 0 || !buf) {
        free(buf);
        return report_fail(err, "%.400s: out of memory", path);
    }
    int rc = report_write_atomic(path, buf, len, err);
    free(buf);
    return rc;
}
