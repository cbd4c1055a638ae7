/* thermabench kernels: every registered kernel variant, what it needs,
 * whether this machine can run it, and which one is picked by default. */
#include <stdio.h>
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

int cmd_kernels(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: thermabench kernels\n\nLists each op's kernel variants: backend, whether this machine "
                   "can run it,\nwhat it requires; '*' marks the default for its backend (for matmul: on f32 weights;\n"
                   "for OpenCL: on GPU devices; each OpenCL device's 'defaults here' line names its own).\n"
                   "Choose one with --kernel op=variant in generate, bench or a config.\n");
            return TB_EXIT_OK;
        }
        cli_usage_error("kernels", "unexpected argument '%s'", argv[i]);
        return TB_EXIT_USAGE;
    }
    printf("    %-16s %-7s %-4s %s\n", "variant", "backend", "runs", "requires");
    for (int op = 0; op < ENGINE_OP_COUNT; op++)
        print_op((engine_op)op);
    print_opencl_devices();
    return TB_EXIT_OK;
}
