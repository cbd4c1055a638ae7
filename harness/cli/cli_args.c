/* Option-value parsing shared by the subcommands. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "thermabench %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n(see 'thermabench %s --help')\n", cmd);
    return -1;
}

int cli_parse_long(const char *cmd, const char *opt, const char *text, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end)
        return cli_usage_error(cmd, "%s: expected an integer, got '%s'", opt, text);
    if (v < min || v > max)
        return cli_usage_error(cmd, "%s: %ld is out of range [%ld, %ld]", opt, v, min, max);
    *out = v;
    return 0;
}

int cli_parse_double(const char *cmd, const char *opt, const char *text, double min, double max, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || *end || !isfinite(v))
        return cli_usage_error(cmd, "%s: expected a number, got '%s'", opt, text);
    if (v < min || v > max)
        return cli_usage_error(cmd, "%s: %g is out of range [%g, %g]", opt, v, min, max);
    *out = v;
    return 0;
}

int cli_parse_u64(const char *cmd, const char *opt, const char *text, unsigned long long *out)
{
    char *end;
    errno = 0;
    if (text[0] == '-')
        return cli_usage_error(cmd, "%s: expected a non-negative integer, got '%s'", opt, text);
    unsigned long long v = strtoull(text, &end, 0);
    if (errno || end == text || *end)
        return cli_usage_error(cmd, "%s: expected a non-negative integer, got '%s'", opt, text);
    *out = v;
    return 0;
}

int cli_parse_pct(const char *cmd, const char *opt, const char *text, double min, double max, double *out)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%s", text);
    size_t n = strlen(buf);
    if (n && buf[n - 1] == '%')
        buf[n - 1] = 0;
    if (cli_parse_double(cmd, opt, buf, min, max, out) < 0)
        return -1;
    *out /= 100;
    return 0;
}
