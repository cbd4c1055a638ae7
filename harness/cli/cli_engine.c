/* Engine options shared by the subcommands that run the engine (bench, generate). */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cli_parse_engine_option(const char *cmd, const char *opt, const char *value, engine_options *o)
{
    engine_error err;
    long l;
    if (!strcmp(opt, "--threads")) {
        if (cli_parse_long(cmd, opt, value, 0, 4096, &l))
            return -1;
        o->threads = (int)l;
    } else if (!strcmp(opt, "--kernel")) {
        if (engine_options_add_kernel(o, value, &err))
            return cli_usage_error(cmd, "--kernel: %s", err.msg);
    } else if (!strcmp(opt, "--backend")) {
        if (strcmp(value, "cpu") && strcmp(value, "opencl"))
            return cli_usage_error(cmd, "--backend: unknown backend '%s' (expected cpu or opencl)", value);
        snprintf(o->backend, sizeof o->backend, "%s", value);
    } else if (!strcmp(opt, "--opencl-device")) {
        if (strlen(value) >= sizeof o->opencl_device)
            return cli_usage_error(cmd, "--opencl-device: '%s' is too long", value);
        snprintf(o->opencl_device, sizeof o->opencl_device, "%s", value);
    } else
        return 1;
    return 0;
}

int cli_engine_option(const char *cmd, const cli_option *row, const char *value, engine_options *o)
{
    char name[64];
    snprintf(name, sizeof name, "--%s", row->name);
    return cli_parse_engine_option(cmd, name, value, o) ? -1 : 0;
}
