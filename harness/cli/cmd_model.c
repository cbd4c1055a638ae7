/* thermabench model: synthesise a seeded model as GGUF or as a llama2.c
 * checkpoint (synth), or describe any model file the engine loads (info). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "engine.h"

enum { S_PRESET, S_DTYPE, S_ARCH, S_SEED, S_TIED, S_UNTIED, S_FORMAT, S_TOKENIZER_OUT, S_OUTPUT, S_HELP };
static const cli_option synth_options[] = {
    [S_PRESET] = {"preset", 'p', "P", "tiny, 15M, 42M, 110M, 1B (llama2.c shapes), llama3-8B, qwen3-0.6B,\nllama3.2-1B, qwen2.5-0.5B, smollm2-135M (real shapes and vocabularies; required)"},
    [S_DTYPE] = {"dtype", 'd', "D", "f32, f16, bf16, q8_0, q4_0, q4_k, q5_k or q6_k (required)"},
    [S_ARCH] = {"arch", 0, "A", "llama, qwen2 or qwen3: the preset's shape as that family (qwen2: q/k/v\nbiases, qwen3: q/k norms; both NeoX RoPE); default: the preset's own"},
    [S_SEED] = {"seed", 's', "S", "weights seed (default 1)"},
    [S_TIED] = {"tied", 0, NULL, "the classifier shares the embedding (default up to 110M)"},
    [S_UNTIED] = {"untied", 0, NULL, "the classifier has its own weights (default for 1B)"},
    [S_FORMAT] = {"format", 'f', "F", "gguf (default): GGUF v3 with the vocabulary embedded, FILE *.gguf;\n"
                                       "llama2c: a llama2.c checkpoint (the v0 layout run.c reads; f32 only),\n"
                                       "FILE *.bin"},
    [S_TOKENIZER_OUT] = {"tokenizer-out", 0, "TOKENIZER.bin", "with --format llama2c: also write the vocabulary as tokenizer.bin"},
    [S_OUTPUT] = {"output", 'o', "FILE", "where to write it (required)"},
    [S_HELP] = {"help", 'h', NULL, "this help"},
    {0},
};

enum { I_JSON, I_HELP };
static const cli_option info_options[] = {
    [I_JSON] = {"json", 0, NULL, "print one JSON object"},
    [I_HELP] = {"help", 'h', NULL, "this help"},
    {0},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: thermabench model synth --preset P --dtype D [options] -o FILE\n"
               "       thermabench model info FILE [--json]\n\n"
               "synth  writes a seeded synthetic model. Rows that are not whole K-quant super-blocks of 256\n"
               "       are written q4_0 for q4_k, q8_0 for q5_k/q6_k; the classifier is tied except for\n"
               "       1B and llama3-8B unless --tied or --untied says otherwise.\n");
    cli_help(f, "", synth_options,
             "\ninfo   prints a model's format, config, tokenizer, the bytes of its matrices and the\n"
             "       bytes one decoded token reads (as bench's decode GB/s counts them), and its tensor\n"
             "       table (GGUF or llama2.c checkpoint, detected by content).\n");
    cli_help(f, "", info_options, NULL);
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
    const char *preset = NULL, *dtype_name = NULL, *out = NULL, *format = "gguf", *tokenizer_out = NULL, *v;
    const char *arch = NULL;
    unsigned long long seed = 1;
    int shared = -1, id, prc = 0;
    cli_parser p;
    if (cli_parser_init(&p, "model synth", synth_options, argc, argv)) return TB_EXIT_FAIL;
    while (!prc && (id = cli_next(&p, &v)) != CLI_END) {
        switch (id) {
        case CLI_ERROR: prc = TB_EXIT_USAGE; break;
        case S_HELP: usage(stdout); prc = -1; break;
        case S_TIED: shared = 1; break;
        case S_UNTIED: shared = 0; break;
        case S_PRESET: preset = v; break;
        case S_DTYPE: dtype_name = v; break;
        case S_FORMAT: format = v; break;
        case S_TOKENIZER_OUT: tokenizer_out = v; break;
        case S_OUTPUT: out = v; break;
        case S_SEED: if (cli_parse_u64("model synth", "--seed", v, &seed)) prc = TB_EXIT_USAGE; break;
        case S_ARCH: arch = v; break;
        }
    }
    if (!prc && cli_positional(&p) < argc) {
        cli_usage_error("model synth", "unexpected argument '%s'", argv[cli_positional(&p)]);
        prc = TB_EXIT_USAGE;
    }
    cli_parser_free(&p);
    if (prc) return prc < 0 ? TB_EXIT_OK : prc;
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

static cJSON *info_json(const engine_model *m)
{
    const engine_config *c = &m->cfg;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "source", m->source);
    cJSON_AddStringToObject(o, "format", m->format);
    cJSON *cfg = cJSON_AddObjectToObject(o, "config");
    cJSON_AddNumberToObject(cfg, "dim", c->dim);
    cJSON_AddNumberToObject(cfg, "hidden_dim", c->hidden_dim);
    cJSON_AddNumberToObject(cfg, "n_layers", c->n_layers);
    cJSON_AddNumberToObject(cfg, "n_heads", c->n_heads);
    cJSON_AddNumberToObject(cfg, "n_kv_heads", c->n_kv_heads);
    cJSON_AddNumberToObject(cfg, "vocab_size", c->vocab_size);
    cJSON_AddNumberToObject(cfg, "seq_len", c->seq_len);
    cJSON_AddNumberToObject(cfg, "head_dim", c->dim / c->n_heads);
    cJSON_AddNumberToObject(cfg, "rope_theta", c->rope_theta);
    cJSON_AddNumberToObject(cfg, "norm_eps", c->norm_eps);
    cJSON_AddBoolToObject(cfg, "shared_classifier", c->shared_classifier);
    cJSON_AddNumberToObject(o, "weight_bytes", (double)m->weight_bytes);
    cJSON_AddNumberToObject(o, "decode_bytes_per_token", (double)m->decode_bytes);
    if (m->tokenizer) {
        cJSON *t = cJSON_AddObjectToObject(o, "tokenizer");
        cJSON_AddNumberToObject(t, "vocab_size", engine_tokenizer_vocab_size(m->tokenizer));
        cJSON_AddNumberToObject(t, "bos", engine_tokenizer_bos(m->tokenizer));
        cJSON_AddNumberToObject(t, "eos", engine_tokenizer_eos(m->tokenizer));
    } else {
        cJSON_AddNullToObject(o, "tokenizer");
    }
    int max = 3 + 9 * c->n_layers;
    engine_tensor_row *rows = malloc((size_t)max * sizeof *rows);
    cJSON *ts = cJSON_AddArrayToObject(o, "tensors");
    int n = rows ? engine_model_tensors(m, rows, max) : 0;
    for (int i = 0; i < n; i++) {
        cJSON *r = cJSON_CreateObject();
        cJSON_AddStringToObject(r, "name", rows[i].name);
        cJSON_AddStringToObject(r, "type", engine_dtype_name(rows[i].type));
        cJSON *shape = cJSON_AddArrayToObject(r, "shape");
        cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)rows[i].ne0));
        if (rows[i].n_dims > 1) cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)rows[i].ne1));
        cJSON_AddNumberToObject(r, "bytes", (double)rows[i].bytes);
        if (rows[i].file_offset >= 0) cJSON_AddNumberToObject(r, "offset", (double)rows[i].file_offset);
        else cJSON_AddNullToObject(r, "offset");
        cJSON_AddItemToArray(ts, r);
    }
    free(rows);
    return o;
}

static int cmd_info(int argc, char **argv)
{
    const char *path = NULL, *v;
    bool json = false;
    int id, rc = 0;
    cli_parser p;
    if (cli_parser_init(&p, "model info", info_options, argc, argv)) return TB_EXIT_FAIL;
    while (!rc && (id = cli_next(&p, &v)) != CLI_END) {
        if (id == CLI_ERROR) rc = TB_EXIT_USAGE;
        else if (id == I_HELP) usage(stdout), rc = -1;
        else if (id == I_JSON) json = true;
    }
    for (int i = cli_positional(&p); !rc && i < argc; i++) {
        if (path) {
            cli_usage_error("model info", "unexpected argument '%s'", argv[i]);
            rc = TB_EXIT_USAGE;
        }
        path = argv[i];
    }
    cli_parser_free(&p);
    if (rc) return rc < 0 ? TB_EXIT_OK : rc;
    if (!path)
        return cli_usage_error("model info", "a model file is required"), TB_EXIT_USAGE;
    engine_model *m;
    engine_error err = {0};
    if (engine_model_load(path, &m, &err))
        return fail(&err);
    if (json) {
        cJSON *o = info_json(m);
        char *t = cJSON_Print(o);
        cJSON_Delete(o);
        if (t) puts(t);
        free(t);
    } else {
        print_info(m);
    }
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
