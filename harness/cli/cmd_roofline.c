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

enum { O_THREADS, O_REPEATS, O_JSON, O_HELP };
static const cli_option options[] = {
    [O_THREADS] = {"threads", 't', "N", "measure 1 thread and N threads (default: all online CPUs)"},
    [O_REPEATS] = {"repeats", 'r', "R", "passes per figure, the best is kept (default 5)"},
    [O_JSON] = {"json", 0, NULL, "print one JSON object"},
    [O_HELP] = {"help", 'h', NULL, "this help"},
    {0},
};

static void usage(FILE *f)
{
    cli_help(f, "usage: thermabench roofline [options]\n", options,
             "\nRead bandwidth streams a 512 MiB buffer; the FMA peak runs 24 independent\n"
             "f32 FMA chains per thread in the widest vectors this CPU has.\n");
}

int cmd_roofline(int argc, char **argv)
{
    long threads = sysconf(_SC_NPROCESSORS_ONLN), repeats = 5;
    bool json = false;
    if (threads < 1)
        threads = 1;
    cli_parser p;
    const char *v;
    int id, rc = 0;
    if (cli_parser_init(&p, "roofline", options, argc, argv)) return TB_EXIT_FAIL;
    while (!rc && (id = cli_next(&p, &v)) != CLI_END) {
        switch (id) {
        case CLI_ERROR: rc = TB_EXIT_USAGE; break;
        case O_HELP: usage(stdout); rc = -1; break;
        case O_JSON: json = true; break;
        case O_THREADS: if (cli_parse_long("roofline", "--threads", v, 1, 1024, &threads)) rc = TB_EXIT_USAGE; break;
        case O_REPEATS: if (cli_parse_long("roofline", "--repeats", v, 1, 1024, &repeats)) rc = TB_EXIT_USAGE; break;
        }
    }
    if (!rc && cli_positional(&p) < argc) rc = (cli_usage_error("roofline", "unexpected argument '%s'", argv[cli_positional(&p)]), TB_EXIT_USAGE);
    cli_parser_free(&p);
    if (rc) return rc < 0 ? TB_EXIT_OK : rc;
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
