/* thermabench kernels: every registered kernel variant, what it needs,
 * whether this machine can run it, and which one is picked by default. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "engine.h"

static void print_op(engine_op op)
{
    printf("%s\n", engine_op_name(op));
    for (size_t i = 0; i < engine_kernel_count(); i++) {
        const engine_kernel_info *k = engine_kernel_at(i);
        if (k->op != op)
            continue;
        const char *def = engine_kernel_default(op, k->backend);
        bool is_default = def && !strcmp(def, k->name);
        printf("  %c %-16s %-7s %-4s %s\n", is_default ? '*' : ' ', k->name, k->backend,
               k->available ? "yes" : "no", k->requires[0] ? k->requires : "-");
        printf("      %s\n", k->description);
    }
}

/* No OpenCL is not an error here: the section says why it is empty. */
static void print_opencl_devices(void)
{
    engine_opencl_device devs[16];
    engine_error err = {0};
    int n = engine_opencl_devices(devs, 16, &err);
    printf("\nOpenCL devices (--opencl-device P:D)\n");
    if (n < 0) {
        printf("  none: %s\n", err.msg);
        return;
    }
    if (n == 0)
        printf("  none\n");
    for (int i = 0; i < n && i < 16; i++) {
        const engine_opencl_device *d = &devs[i];
        printf("  %d:%d %-5s %s (%s; %s; driver %s), %d compute units, %d MHz, %.1f GiB\n", d->platform,
               d->device, d->type, d->device_name, d->platform_name, d->device_version, d->driver_version,
               d->compute_units, d->max_clock_mhz, d->global_mem_bytes / 1073741824.0);
        /* The backend ranks some variants by device type: say what this one gets. */
        printf("        defaults here:");
        for (int op = 0; op < ENGINE_OP_COUNT; op++) {
            const char *v = engine_kernel_default_opencl((engine_op)op, d->type);
            if (v)
                printf(" %s=%s", engine_op_name((engine_op)op), v);
        }
        printf("\n");
    }
}

/* Every variant and OpenCL device as one JSON object. */
static int print_json(void)
{
    cJSON *root = cJSON_CreateObject(), *ks = cJSON_AddArrayToObject(root, "kernels");
    for (size_t i = 0; i < engine_kernel_count(); i++) {
        const engine_kernel_info *k = engine_kernel_at(i);
        const char *def = engine_kernel_default(k->op, k->backend);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "op", engine_op_name(k->op));
        cJSON_AddStringToObject(o, "name", k->name);
        cJSON_AddStringToObject(o, "backend", k->backend);
        cJSON_AddBoolToObject(o, "available", k->available);
        cJSON_AddBoolToObject(o, "default", def && !strcmp(def, k->name));
        cJSON_AddStringToObject(o, "requires", k->requires);
        cJSON_AddStringToObject(o, "description", k->description);
        cJSON_AddItemToArray(ks, o);
    }
    engine_opencl_device devs[16];
    engine_error err = {0};
    int n = engine_opencl_devices(devs, 16, &err);
    cJSON *ds = cJSON_AddArrayToObject(root, "opencl_devices");
    if (n < 0) cJSON_AddStringToObject(root, "opencl_unavailable", err.msg);
    for (int i = 0; i < n && i < 16; i++) {
        const engine_opencl_device *d = &devs[i];
        cJSON *o = cJSON_CreateObject();
        char id[32];
        snprintf(id, sizeof id, "%d:%d", d->platform, d->device);
        cJSON_AddStringToObject(o, "id", id);
        cJSON_AddStringToObject(o, "type", d->type);
        cJSON_AddStringToObject(o, "name", d->device_name);
        cJSON_AddStringToObject(o, "platform", d->platform_name);
        cJSON_AddStringToObject(o, "version", d->device_version);
        cJSON_AddStringToObject(o, "driver", d->driver_version);
        cJSON_AddNumberToObject(o, "compute_units", d->compute_units);
        cJSON_AddNumberToObject(o, "max_clock_mhz", d->max_clock_mhz);
        cJSON_AddNumberToObject(o, "global_mem_bytes", (double)d->global_mem_bytes);
        cJSON *def = cJSON_AddObjectToObject(o, "defaults");
        for (int op = 0; op < ENGINE_OP_COUNT; op++) {
            const char *v = engine_kernel_default_opencl((engine_op)op, d->type);
            if (v) cJSON_AddStringToObject(def, engine_op_name((engine_op)op), v);
        }
        cJSON_AddItemToArray(ds, o);
    }
    char *t = cJSON_Print(root);
    cJSON_Delete(root);
    if (t) puts(t);
    free(t);
    return t ? TB_EXIT_OK : TB_EXIT_FAIL;
}

enum { O_JSON, O_HELP };
static const cli_option options[] = {
    [O_JSON] = {"json", 0, NULL, "print one JSON object"},
    [O_HELP] = {"help", 'h', NULL, "this help"},
    {0},
};

int cmd_kernels(int argc, char **argv)
{
    cli_parser p;
    const char *v;
    int id, rc = 0;
    bool json = false;
    if (cli_parser_init(&p, "kernels", options, argc, argv)) return TB_EXIT_FAIL;
    while (!rc && (id = cli_next(&p, &v)) != CLI_END) {
        if (id == CLI_ERROR) rc = TB_EXIT_USAGE;
        else if (id == O_JSON) json = true;
        else if (id == O_HELP) {
            cli_help(stdout,
                     "usage: thermabench kernels [--json]\n\nLists each op's kernel variants: backend, whether this machine "
                     "can run it,\nwhat it requires; '*' marks the default for its backend (for matmul: on f32 weights;\n"
                     "for OpenCL: on GPU devices; each OpenCL device's 'defaults here' line names its own).\n"
                     "Choose one with --kernel op=variant in generate, bench or a config.\n",
                     options, NULL);
            rc = -1;
        }
    }
    if (!rc && cli_positional(&p) < argc) {
        cli_usage_error("kernels", "unexpected argument '%s'", argv[cli_positional(&p)]);
        rc = TB_EXIT_USAGE;
    }
    cli_parser_free(&p);
    if (rc) return rc < 0 ? TB_EXIT_OK : rc;
    if (json) return print_json();
    printf("    %-16s %-7s %-4s %s\n", "variant", "backend", "runs", "requires");
    for (int op = 0; op < ENGINE_OP_COUNT; op++)
        print_op((engine_op)op);
    print_opencl_devices();
    return TB_EXIT_OK;
}
