/* thermabench roofline: this machine's streaming read bandwidth and f32 FMA
 * peak, for 1 thread and for N, so decode (bandwidth-bound) and prefill
 * (FMA-bound) figures can be read as a fraction of what the machine can do. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "engine.h"

static const char usage_text[] =
    "usage: thermabench roofline [--threads N] [--repeats R] [--json]\n"
    "\n"
    "  --threads N   measure 1 thread and N threads (default: all online CPUs)\n"
    "  --repeats R   passes per figure, the best is kept (default 5)\n"
    "  --json        print one JSON object\n"
    "\n"
    "Read bandwidth streams a 512 MiB buffer; the FMA peak runs 24 independent\n"
    "f32 FMA chains per thread in the widest vectors this CPU has.\n";

int cmd_roofline(int argc, char **argv)
{
    long threads = sysconf(_SC_NPROCESSORS_ONLN), repeats = 5;
    bool json = false;
    if (threads < 1)
        threads = 1;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (!strcmp(o, "--help") || !strcmp(o, "-h")) {
            fputs(usage_text, stdout);
            return TB_EXIT_OK;
        } else if (!strcmp(o, "--json")) {
            json = true;
        } else if (!strcmp(o, "--threads") || !strcmp(o, "--repeats")) {
            if (i + 1 >= argc) {
                cli_usage_error("roofline", "%s needs a value", o);
                return TB_EXIT_USAGE;
            }
            long *dst = !strcmp(o, "--threads") ? &threads : &repeats;
            if (cli_parse_long("roofline", o, argv[++i], 1, 1024, dst) != 0)
                return TB_EXIT_USAGE;
        } else {
            cli_usage_error("roofline", "unknown option '%s'", o);
            return TB_EXIT_USAGE;
        }
    }
    int counts[2] = {1, (int)threads}, n = threads > 1 ? 2 : 1;
    engine_roofline r[2];
    for (int i = 0; i < n; i++) {
        engine_error err = {0};
        if (engine_roofline_measure(counts[i], (int)repeats, &r[i], &err) != 0) {
            fprintf(stderr, "thermabench roofline: %s\n", err.msg);
            return err.kind == ENGINE_ERR_INPUT ? TB_EXIT_USAGE : TB_EXIT_FAIL;
        }
    }
    if (json) {
        cJSON *o = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(o, "roofline");
        for (int i = 0; i < n; i++) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddNumberToObject(e, "threads", r[i].threads);
            cJSON_AddNumberToObject(e, "read_gb_per_s", r[i].read_gb_per_s);
            cJSON_AddNumberToObject(e, "fma_gflop_per_s", r[i].fma_gflop_per_s);
            cJSON_AddNumberToObject(e, "buffer_bytes", (double)r[i].buffer_bytes);
            cJSON_AddStringToObject(e, "isa", r[i].isa);
            cJSON_AddItemToArray(arr, e);
        }
        char *s = cJSON_Print(o);
        if (s)
            puts(s);
        free(s);
        cJSON_Delete(o);
        return s ? TB_EXIT_OK : TB_EXIT_FAIL;
    }
    printf("%-8s %12s %16s  %s\n", "threads", "read GB/s", "FMA f32 GFLOP/s", "vectors");
    for (int i = 0; i < n; i++)
        printf("%-8d %12.1f %16.1f  %s\n", r[i].threads, r[i].read_gb_per_s, r[i].fma_gflop_per_s, r[i].isa);
    printf("(best of %ld passes; read: %llu MiB buffer)\n", repeats,
           (unsigned long long)(r[0].buffer_bytes >> 20));
    return TB_EXIT_OK;
}
