/* thermabench bench: one bench_one_batch measurement (warm-up, prefill of
 * batch x input tokens, output_len decode steps) on a model file or a
 * seeded synthetic preset; text for people or --json for programs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "harness.h"

enum {
    O_MODEL, O_PRESET, O_DTYPE, O_ARCH, O_SEED, O_TIED, O_UNTIED, O_BATCH, O_INPUT, O_OUTPUT, O_WARMUP, O_THREADS, O_KERNEL,
    O_BACKEND, O_OPENCL_DEVICE, O_OPENCL_PROFILE, O_JSON, O_ROOFLINE, O_HELP
};

/* Defaults as in a config's workload (docs/CONFIG.md): input_len 32,
 * output_len 32, engine_warmup 0, seed 1, batch_size 1, threads 0. */
static const cli_option options[] = {
    [O_MODEL] = {"model", 'm', "FILE", "llama2.c checkpoint or GGUF file"},
    [O_PRESET] = {"preset", 'p', "P", "synthetic model: tiny, 15M, 42M, 110M, 1B, llama3-8B, qwen3-0.6B,\nllama3.2-1B, qwen2.5-0.5B, smollm2-135M"},
    [O_DTYPE] = {"dtype", 'd', "D", "synthetic weights: f32, f16, bf16, q8_0, q4_0, q4_k, q5_k, q6_k\n(default f32)"},
    [O_ARCH] = {"arch", 0, "A", "llama, qwen2 or qwen3: the preset's shape as that family\n(default: the preset's own)"},
    [O_SEED] = {"seed", 0, "S", "synthetic weights and prompt tokens (default 1)"},
    [O_TIED] = {"tied", 0, NULL, "the classifier shares the embedding (default: the preset's)"},
    [O_UNTIED] = {"untied", 0, NULL, "the classifier has its own weights"},
    [O_BATCH] = {"batch-size", 'b', "B", "sequences decoded together (default 1)"},
    [O_INPUT] = {"input-len", 'i', "I", "prompt tokens per sequence (default 32, as in configs)"},
    [O_OUTPUT] = {"output-len", 'o', "O", "decode steps (default 32, as in configs)"},
    [O_WARMUP] = {"warmup", 'w', "N", "shorter warm-up passes first (default 0, as a config's\nengine_warmup)"},
    CLI_ENGINE_OPTION_ROWS(O_THREADS, O_KERNEL, O_BACKEND, O_OPENCL_DEVICE),
    [O_OPENCL_PROFILE] = {"opencl-profile", 0, NULL, "per-kernel device times from OpenCL profiling events"},
    [O_JSON] = {"json", 0, NULL, "print one JSON object with every figure and the configuration"},
    [O_ROOFLINE] = {"roofline", 0, NULL, "also measure this machine's read bandwidth and FMA peak (cpu backend)\nand print decode GB/s and prefill GFLOP/s as fractions of them"},
    [O_HELP] = {"help", 'h', NULL, "this help"},
    {0},
};

typedef struct bench_args {
    const char *model, *preset, *dtype, *arch;
    unsigned long long seed;
    int tied;  /* -1: preset default */
    long batch, input, output, warmup;
    bool json;
    bool roofline;               /* --roofline: measure and print it next to the figures */
    bool have_roofline;
    engine_roofline rf;
    engine_options opt;
} bench_args;

/* 1: --help shown; 0: parsed; -1: usage error (already printed). */
static int parse_args(int argc, char **argv, bench_args *a)
{
    const char *cmd = "bench", *v;
    cli_parser p;
    int id, rc = 0;
    if (cli_parser_init(&p, cmd, options, argc, argv)) return -1;
    while (!rc && (id = cli_next(&p, &v)) != CLI_END) {
        switch (id) {
        case CLI_ERROR: rc = -1; break;
        case O_HELP:
            cli_help(stdout, "usage: thermabench bench (--model FILE | --preset P [--dtype D]) [options]\n\n"
                             "One bench_one_batch measurement: warm-up, prefill of batch x input tokens,\n"
                             "output-len decode steps.\n", options, NULL);
            rc = 1;
            break;
        case O_MODEL: a->model = v; break;
        case O_PRESET: a->preset = v; break;
        case O_DTYPE: a->dtype = v; break;
        case O_ARCH: a->arch = v; break;
        case O_TIED: a->tied = 1; break;
        case O_UNTIED: a->tied = 0; break;
        case O_JSON: a->json = true; break;
        case O_ROOFLINE: a->roofline = true; break;
        case O_OPENCL_PROFILE: a->opt.opencl_profile = true; break;
        case O_SEED: rc = cli_parse_u64(cmd, "--seed", v, &a->seed); break;
        case O_BATCH: rc = cli_parse_long(cmd, "--batch-size", v, 1, 4096, &a->batch); break;
        case O_INPUT: rc = cli_parse_long(cmd, "--input-len", v, 1, 1L << 20, &a->input); break;
        case O_OUTPUT: rc = cli_parse_long(cmd, "--output-len", v, 1, 1L << 20, &a->output); break;
        case O_WARMUP: rc = cli_parse_long(cmd, "--warmup", v, 0, 100, &a->warmup); break;
        case O_THREADS:
        case O_KERNEL:
        case O_BACKEND:
        case O_OPENCL_DEVICE:
            rc = cli_engine_option(cmd, &options[id], v, &a->opt);
            break;
        }
    }
    if (!rc && cli_positional(&p) < argc) rc = cli_usage_error(cmd, "unexpected argument '%s'", argv[cli_positional(&p)]);
    cli_parser_free(&p);
    if (rc) return rc;
    if (!a->model == !a->preset)
        return cli_usage_error(cmd, "give exactly one of --model FILE or --preset P");
    if (a->model && (a->dtype || a->arch || a->tied >= 0))
        return cli_usage_error(cmd, "--dtype, --arch, --tied and --untied apply to --preset only");
    return 0;
}

static int load_model(const bench_args *a, engine_model **m, engine_error *err)
{
    if (a->model)
        return engine_model_load(a->model, m, err);
    engine_dtype dt = ENGINE_DTYPE_F32;
    if (a->dtype && engine_dtype_parse(a->dtype, &dt)) {
        err->kind = ENGINE_ERR_INPUT;
        snprintf(err->msg, sizeof err->msg, "--dtype: unknown type '%s' (expected f32, f16, bf16, q8_0, q4_0, q4_k, q5_k, q6_k)",
                 a->dtype);
        return -1;
    }
    return engine_model_synth_arch(a->preset, a->arch, dt, a->seed, a->tied, m, err);
}

static void print_text(const bench_args *a, const engine_model *m, const char *kernels, int threads,
                       const engine_bench_result *r)
{
    const engine_config *c = &m->cfg;
    printf("model     %s (%s): dim %d, hidden %d, %d layers, %d heads (%d kv), vocab %d, %s, %.3f GB of weights\n",
           m->source, m->format, c->dim, c->hidden_dim, c->n_layers, c->n_heads, c->n_kv_heads, c->vocab_size,
           engine_dtype_name(m->layers[0].wq.type), m->weight_bytes / 1e9);
    printf("run       batch %ld, input %ld, output %ld, warm-up %ld; backend %s, threads %d\n", a->batch,
           a->input, a->output, a->warmup, a->opt.backend, threads);
    printf("kernels   %s\n", kernels);
    printf("prefill   %10.2f ms  %10.1f tokens/s  %8.2f GFLOP/s\n", r->prefill_ms, r->prefill_tokens_per_s,
           r->prefill_gflop_per_s);
    printf("decode    %10.2f ms  %10.1f tokens/s  median step %.3f ms  %.2f GB/s\n", r->decode_ms,
           r->decode_tokens_per_s, r->decode_step_median_ms, r->decode_gb_per_s);
    if (a->have_roofline) {
        double gbs = r->decode_gb_per_s;
        printf("roofline  read %.1f GB/s, FMA %.1f GFLOP/s (%d threads): decode %.1f GB/s of matrices = %.0f%%, "
               "prefill %.0f%% of FMA peak\n", a->rf.read_gb_per_s, a->rf.fma_gflop_per_s, a->rf.threads, gbs,
               100 * gbs / a->rf.read_gb_per_s, 100 * r->prefill_gflop_per_s / a->rf.fma_gflop_per_s);
    }
    printf("total     %10.2f ms  %10.1f tokens/s\n", r->total_ms, r->total_tokens_per_s);
    printf("peak RSS  %.1f MiB\n", r->peak_rss_bytes / 1048576.0);
    printf("output    %016llx (fnv1a64 of %d greedy ids)\n",
           (unsigned long long)r->output_tokens_hash, r->n_output_tokens);
}

static int print_json(const bench_args *a, const engine_model *m, const char *kernels, int threads,
                      const engine_bench_result *r, const engine_session *s)
{
    engine_kernel_time kt[32];
    int nk = engine_session_kernel_times(s, kt, 32);
    harness_bench_report b = {
        .model = m, .preset = a->preset, .seed = a->seed, .batch_size = (int)a->batch, .input_len = (int)a->input,
        .output_len = (int)a->output, .warmup = (int)a->warmup, .threads = threads, .backend = a->opt.backend,
        .kernels = kernels, .result = r, .kernel_times = a->opt.opencl_profile || nk > 0 ? kt : NULL, .n_kernel_times = nk < 32 ? nk : 32,
        .roofline = a->have_roofline ? &a->rf : NULL};
    char *text = harness_bench_json(&b);
    if (!text)
        return -1;
    puts(text);
    free(text);
    return 0;
}

int cmd_bench(int argc, char **argv)
{
    bench_args a = {.seed = 1, .tied = -1, .batch = 1, .input = 32, .output = 32, .warmup = 0};
    engine_options_default(&a.opt);
    int rc = parse_args(argc, argv, &a);
    if (rc)
        return rc > 0 ? TB_EXIT_OK : TB_EXIT_USAGE;

    engine_error err = {0};
    engine_model *m = NULL;
    engine_session *s = NULL;
    engine_bench_result r = {0};
    int status = TB_EXIT_OK;
    if (load_model(&a, &m, &err))
        goto fail;
    if (a.input + a.output > m->cfg.seq_len) {
        cli_usage_error("bench", "--input-len %ld + --output-len %ld exceeds the model's context length %d",
                        a.input, a.output, m->cfg.seq_len);
        status = TB_EXIT_USAGE;
        goto out;
    }
    a.opt.max_batch = (int)a.batch;
    a.opt.max_seq_len = (int)(a.input + a.output);
    if (engine_session_create(m, &a.opt, &s, &err))
        goto fail;
    int threads = a.opt.threads;
    if (threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (int)n : 1;
    }
    engine_bench_params p = {.batch_size = (int)a.batch, .input_len = (int)a.input, .output_len = (int)a.output,
                             .warmup = (int)a.warmup, .seed = a.seed};
    if (engine_bench(s, &p, &r, &err))
        goto fail;
    if (a.roofline && !strcmp(a.opt.backend, "cpu")) {
        if (engine_roofline_measure(threads, 3, &a.rf, &err))
            goto fail;
        a.have_roofline = true;
    }
    if (a.json) {
        if (print_json(&a, m, engine_session_kernels(s), threads, &r, s)) {
            fprintf(stderr, "thermabench bench: out of memory writing JSON\n");
            status = TB_EXIT_FAIL;
        }
    } else {
        print_text(&a, m, engine_session_kernels(s), threads, &r);
        engine_kernel_time kt[32];
        int n = engine_session_kernel_times(s, kt, 32);
        for (int i = 0; i < n && i < 32; i++)   /* --opencl-profile */
            printf("%-9s %-34s %7ld calls %10.3f ms %9.2f us/call\n", i ? "" : "kernel", kt[i].name, kt[i].calls,
                   kt[i].total_ms, kt[i].total_ms * 1e3 / (kt[i].calls ? kt[i].calls : 1));
    }
    goto out;
fail:
    fprintf(stderr, "thermabench bench: %s\n", err.msg);
    status = err.kind == ENGINE_ERR_SYSTEM ? TB_EXIT_FAIL : TB_EXIT_USAGE;
out:
    engine_bench_result_free(&r);
    engine_session_free(s);
    engine_model_free(m);
    return status;
}
