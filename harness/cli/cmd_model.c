/* thermabench model: synthesise a seeded model as GGUF or as a llama2.c
 * checkpoint (synth), or describe any model file the engine loads (info). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "engine.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: thermabench model synth --preset P --dtype D [--arch A] [--seed S] [--tied|--untied]\n"
            "                               [--format gguf|llama2c] [--tokenizer-out TOKENIZER.bin] -o FILE\n"
            "       thermabench model info FILE\n\n"
            "synth  writes a seeded synthetic model.\n"
            "       presets: tiny, 15M, 42M, 110M, 1B (llama2.c shapes), llama3-8B, qwen3-0.6B,\n"
            "       llama3.2-1B, qwen2.5-0.5B, smollm2-135M (real shapes and vocabulary sizes);\n"
            "       dtypes: f32, f16, bf16, q8_0, q4_0, q4_k, q5_k, q6_k (rows that are not whole\n"
            "       K-quant super-blocks of 256 are written q4_0 for q4_k, q8_0 for q5_k/q6_k);\n"
            "       --arch llama|qwen2|qwen3 writes the preset's shape as that family (qwen2: q/k/v\n"
            "       biases, qwen3: q/k norms; both NeoX RoPE); default: the preset's own.\n"
            "       seed defaults to 1; the classifier is tied except for 1B and llama3-8B\n"
            "       unless --tied or --untied says otherwise.\n"
            "       --format gguf (default): GGUF v3 with the vocabulary embedded; FILE ends in .gguf.\n"
            "       --format llama2c: a llama2.c checkpoint (the v0 layout run.c reads; f32 llama only);\n"
            "       FILE ends in .bin; --tokenizer-out also writes the vocabulary as tokenizer.bin.\n"
            "info   prints a model's format, config, tokenizer, the bytes of its matrices and the\n"
            "       bytes one decoded token reads (as bench's decode GB/s counts them), and its tensor\n"
            "       table (GGUF or llama2.c checkpoint, detected by content).\n");
}

static int fail(const engine_error *err)
{
    fprintf(stderr, "thermabench model: %s\n", err->msg);
    return err->kind == ENGINE_ERR_INPUT ? TB_EXIT_USAGE : TB_EXIT_FAIL;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

/* The output name must say what the file is: .gguf for GGUF, .bin for a
 * llama2.c checkpoint (as llama2.c names them). 0 or -1 (printed). */
static int check_output(const char *format, const char *out, const char *tokenizer_out)
{
    const char *cmd = "model synth";
    if (strcmp(format, "gguf") && strcmp(format, "llama2c"))
        return cli_usage_error(cmd, "--format: expected gguf or llama2c, got '%s'", format);
    bool llama2c = !strcmp(format, "llama2c");
    const char *ext = llama2c ? ".bin" : ".gguf";
    if (!ends_with(out, ext))
        return cli_usage_error(cmd, "-o %s: --format %s writes a %s file; name it *%s%s", out, format,
                               llama2c ? "llama2.c checkpoint" : "GGUF", ext,
                               ends_with(out, ".bin") ? " (or give --format llama2c for a llama2.c checkpoint)"
                               : ends_with(out, ".gguf") ? " (or leave out --format llama2c)" : "");
    if (tokenizer_out && !llama2c)
        return cli_usage_error(cmd, "--tokenizer-out: GGUF embeds the vocabulary; it applies to --format llama2c");
    if (tokenizer_out && !ends_with(tokenizer_out, ".bin"))
        return cli_usage_error(cmd, "--tokenizer-out %s: a llama2.c tokenizer is a .bin file", tokenizer_out);
    return 0;
}

static int cmd_synth(int argc, char **argv)
{
    const char *preset = NULL, *dtype_name = NULL, *out = NULL, *format = "gguf", *tokenizer_out = NULL;
    const char *arch = NULL;
    unsigned long long seed = 1;
    int shared = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_value = i + 1 < argc;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return TB_EXIT_OK;
        } else if (!strcmp(a, "--tied")) {
            shared = 1;
        } else if (!strcmp(a, "--untied")) {
            shared = 0;
        } else if (!strcmp(a, "--preset") || !strcmp(a, "--dtype") || !strcmp(a, "--seed") ||
                   !strcmp(a, "-o") || !strcmp(a, "--output") || !strcmp(a, "--format") ||
                   !strcmp(a, "--tokenizer-out") || !strcmp(a, "--arch")) {
            if (!has_value)
                return cli_usage_error("model synth", "%s needs a value", a), TB_EXIT_USAGE;
            const char *v = argv[++i];
            if (!strcmp(a, "--preset"))
                preset = v;
            else if (!strcmp(a, "--dtype"))
                dtype_name = v;
            else if (!strcmp(a, "--arch"))
                arch = v;
            else if (!strcmp(a, "--format"))
                format = v;
            else if (!strcmp(a, "--tokenizer-out"))
                tokenizer_out = v;
            else if (!strcmp(a, "--seed")) {
                if (cli_parse_u64("model synth", "--seed", v, &seed))
                    return TB_EXIT_USAGE;
            } else
                out = v;
        } else {
            return cli_usage_error("model synth", "unexpected argument '%s'", a), TB_EXIT_USAGE;
        }
    }
    if (!preset || !dtype_name || !out)
        return cli_usage_error("model synth", "--preset, --dtype and -o are required"), TB_EXIT_USAGE;
    if (check_output(format, out, tokenizer_out))
        return TB_EXIT_USAGE;
    engine_dtype dtype;
    if (engine_dtype_parse(dtype_name, &dtype))
        return cli_usage_error("model synth", "--dtype: unknown type '%s', expected f32, f16, bf16, q8_0, q4_0, "
                               "q4_k, q5_k or q6_k",
                               dtype_name), TB_EXIT_USAGE;
    bool llama2c = !strcmp(format, "llama2c");
    if (llama2c && dtype != ENGINE_DTYPE_F32)
        return cli_usage_error("model synth", "--format llama2c: llama2.c checkpoints hold f32 weights only, "
                               "not %s (give --dtype f32)", dtype_name), TB_EXIT_USAGE;
    engine_model *m;
    engine_error err = {0};
    if (engine_model_synth_arch(preset, arch, dtype, seed, shared, &m, &err))
        return fail(&err);
    int rc = llama2c ? engine_llama2c_write(m, out, &err) : engine_gguf_write(m, out, &err);
    if (rc == 0)
        printf("wrote %s: %s as %s, %.1f MB of weights\n", out, m->source, llama2c ? "a llama2.c checkpoint" : "GGUF",
               m->weight_bytes / 1e6);
    if (rc == 0 && tokenizer_out) {
        rc = engine_llama2c_tokenizer_write(m, tokenizer_out, &err);
        if (rc == 0)
            printf("wrote %s: the vocabulary as a llama2.c tokenizer.bin\n", tokenizer_out);
    }
    engine_model_free(m);
    return rc ? fail(&err) : TB_EXIT_OK;
}

static void print_shape(char *buf, size_t n, const engine_tensor_row *r)
{
    if (r->n_dims == 1)
        snprintf(buf, n, "[%lld]", (long long)r->ne0);
    else
        snprintf(buf, n, "[%lld, %lld]", (long long)r->ne0, (long long)r->ne1);
}

static void print_info(const engine_model *m)
{
    const engine_config *c = &m->cfg;
    printf("source      %s\nformat      %s\n", m->source, m->format);
    printf("config      dim %d, hidden_dim %d, n_layers %d, n_heads %d, n_kv_heads %d, vocab_size %d, seq_len %d\n",
           c->dim, c->hidden_dim, c->n_layers, c->n_heads, c->n_kv_heads, c->vocab_size, c->seq_len);
    printf("            architecture %s, head_dim %d, rope_theta %g%s, norm_eps %g, classifier %s\n",
           engine_arch_name(c->arch), engine_config_head_dim(c), c->rope_theta,
           m->rope_freqs ? " (scaled by rope_freqs)" : "", c->norm_eps,
           c->shared_classifier ? "tied to the embedding" : "separate");
    printf("weights     %llu bytes in matrices (%.1f MB), embedding table included\n",
           (unsigned long long)m->weight_bytes, m->weight_bytes / 1e6);
    printf("decode      %llu bytes read per decoded token (%.1f MB): every layer matrix and the classifier,\n"
           "            not the embedding table (one row); bench's decode_gb_per_s divides this by the step time\n",
           (unsigned long long)m->decode_bytes, m->decode_bytes / 1e6);
    if (m->tokenizer) {
        const engine_tokenizer *t = m->tokenizer;
        size_t l1, l2;
        const char *b = engine_tokenizer_piece(t, -1, engine_tokenizer_bos(t), &l1);
        const char *e = engine_tokenizer_piece(t, -1, engine_tokenizer_eos(t), &l2);
        printf("tokenizer   embedded %s, %d tokens, bos %d \"%.*s\", eos %d \"%.*s\", BOS %s to prompts\n",
               engine_tokenizer_kind(t), engine_tokenizer_vocab_size(t), engine_tokenizer_bos(t), (int)l1, b,
               engine_tokenizer_eos(t), (int)l2, e, engine_tokenizer_add_bos(t) ? "added" : "not added");
    } else {
        printf("tokenizer   none embedded (give a llama2.c tokenizer.bin)\n");
    }
    int max = 4 + 14 * c->n_layers;
    engine_tensor_row *rows = malloc((size_t)max * sizeof *rows);
    if (!rows)
        return;
    int n = engine_model_tensors(m, rows, max);
    printf("\n%-28s %-5s %-14s %12s %12s\n", "tensor", "type", "[cols, rows]", "bytes", "offset");
    for (int i = 0; i < n; i++) {
        char shape[48], off[24];
        print_shape(shape, sizeof shape, &rows[i]);
        if (rows[i].file_offset >= 0)
            snprintf(off, sizeof off, "%lld", (long long)rows[i].file_offset);
        else
            snprintf(off, sizeof off, "-");
        printf("%-28s %-5s %-14s %12llu %12s\n", rows[i].name, engine_dtype_name(rows[i].type), shape,
               (unsigned long long)rows[i].bytes, off);
    }
    free(rows);
}

static int cmd_info(int argc, char **argv)
{
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return TB_EXIT_OK;
        }
        if (path || argv[i][0] == '-')
            return cli_usage_error("model info", "unexpected argument '%s'", argv[i]), TB_EXIT_USAGE;
        path = argv[i];
    }
    if (!path)
        return cli_usage_error("model info", "a model file is required"), TB_EXIT_USAGE;
    engine_model *m;
    engine_error err = {0};
    if (engine_model_load(path, &m, &err))
        return fail(&err);
    print_info(m);
    engine_model_free(m);
    return TB_EXIT_OK;
}

int cmd_model(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return TB_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(stdout);
        return TB_EXIT_OK;
    }
    if (!strcmp(argv[1], "synth"))
        return cmd_synth(argc - 1, argv + 1);
    if (!strcmp(argv[1], "info"))
        return cmd_info(argc - 1, argv + 1);
    return cli_usage_error("model", "unknown subcommand '%s', expected synth or info", argv[1]), TB_EXIT_USAGE;
}
