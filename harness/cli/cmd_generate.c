/* thermabench generate: text from a model, by the reference's rules
 * (greedy unless --temperature > 0); the output is the generated text and a
 * final newline, nothing else on stdout. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "engine.h"

enum {
    O_MODEL, O_TOKENIZER, O_PROMPT, O_STEPS, O_IGNORE_EOS, O_TEMPERATURE, O_TOP_P, O_SEED, O_THREADS, O_KERNEL,
    O_BACKEND, O_OPENCL_DEVICE, O_HELP
};

static const cli_option options[] = {
    [O_MODEL] = {"model", 'm', "FILE", "llama2.c checkpoint (v0/v1) or GGUF file (required)"},
    [O_TOKENIZER] = {"tokenizer", 'z', "FILE", "llama2.c tokenizer.bin (default: the model's embedded vocabulary)"},
    [O_PROMPT] = {"prompt", 'p', "TEXT", "prompt (default: empty, BOS only)"},
    [O_STEPS] = {"steps", 'n', "N", "positions to run, prompt included (default 256 or the model's\ncontext if shorter; more than the declared context runs, with a note)"},
    [O_IGNORE_EOS] = {"ignore-eos", 0, NULL, "run all --steps: do not stop at BOS (llama2.c models) or at an\nend-of-generation token (GGUF byte-level BPE: EOS, <|eot_id|>, ...)"},
    [O_TEMPERATURE] = {"temperature", 'T', "T", "0 is greedy (default 0)"},
    [O_TOP_P] = {"top-p", 0, "P", "nucleus sampling when T > 0 (default 0.9; 1 is off)"},
    [O_SEED] = {"seed", 's', "S", "sampler seed (default 1)"},
    CLI_ENGINE_OPTION_ROWS(O_THREADS, O_KERNEL, O_BACKEND, O_OPENCL_DEVICE),
    [O_HELP] = {"help", 'h', NULL, "this help"},
    {0},
};

typedef struct gen_args {
    const char *model, *tokenizer, *prompt;
    long steps;
    bool steps_given, ignore_eos;
    double temperature, top_p;
    unsigned long long seed;
    engine_options opt;
} gen_args;

static void write_piece(void *ctx, const char *bytes, size_t len) { fwrite(bytes, 1, len, (FILE *)ctx); }

/* 1: --help shown; 0: parsed; -1: usage error (already printed). */
static int parse_args(int argc, char **argv, gen_args *a)
{
    const char *cmd = "generate", *v;
    cli_parser p;
    int id, rc = 0;
    if (cli_parser_init(&p, cmd, options, argc, argv)) return -1;
    while (!rc && (id = cli_next(&p, &v)) != CLI_END) {
        switch (id) {
        case CLI_ERROR: rc = -1; break;
        case O_HELP:
            cli_help(stdout, "usage: thermabench generate --model FILE [options]\n", options, NULL);
            rc = 1;
            break;
        case O_MODEL: a->model = v; break;
        case O_TOKENIZER: a->tokenizer = v; break;
        case O_PROMPT: a->prompt = v; break;
        case O_STEPS:
            rc = cli_parse_long(cmd, "--steps", v, 1, 1L << 20, &a->steps);
            a->steps_given = true;
            break;
        case O_IGNORE_EOS: a->ignore_eos = true; break;
        case O_TEMPERATURE: rc = cli_parse_double(cmd, "--temperature", v, 0, 100, &a->temperature); break;
        case O_TOP_P: rc = cli_parse_double(cmd, "--top-p", v, 0, 1, &a->top_p); break;
        case O_SEED: rc = cli_parse_u64(cmd, "--seed", v, &a->seed); break;
        default:
            rc = cli_engine_option(cmd, &options[id], v, &a->opt);
            break;
        }
    }
    if (!rc && cli_positional(&p) < argc) rc = cli_usage_error(cmd, "unexpected argument '%s'", argv[cli_positional(&p)]);
    cli_parser_free(&p);
    if (rc) return rc;
    if (!a->model)
        return cli_usage_error(cmd, "--model FILE is required");
    return 0;
}

static void print_stdout(void) { fputc('\n', stdout); }

int cmd_generate(int argc, char **argv)
{
    gen_args a = {.prompt = "", .steps = 256, .temperature = 0, .top_p = 0.9, .seed = 1};
    engine_options_default(&a.opt);
    int rc = parse_args(argc, argv, &a);
    if (rc)
        return rc > 0 ? TB_EXIT_OK : TB_EXIT_USAGE;

    engine_error err = {0};
    engine_model *m = NULL;
    engine_tokenizer *tok = NULL;
    engine_session *s = NULL;
    int status = TB_EXIT_OK;
    if (engine_model_load(a.model, &m, &err))
        goto fail;
    if (a.tokenizer && engine_tokenizer_load(a.tokenizer, m->cfg.vocab_size, &tok, &err))
        goto fail;
    if (!tok && !m->tokenizer) {
        cli_usage_error("generate", "%s has no embedded vocabulary: give --tokenizer FILE", a.model);
        status = TB_EXIT_USAGE;
        goto out;
    }
    if (!a.steps_given && a.steps > m->cfg.seq_len)
        a.steps = m->cfg.seq_len;  /* the default fits the model, as llama2.c */
    if (a.steps > m->cfg.seq_len) {
        /* GGUF converters often declare a short context; RoPE has no limit */
        fprintf(stderr, "thermabench generate: note: --steps %ld runs past the model's declared context (%d)\n",
                a.steps, m->cfg.seq_len);
        a.opt.max_seq_len = (int)a.steps;
    }
    if (engine_session_create(m, &a.opt, &s, &err))
        goto fail;
    engine_sampler sampler;
    engine_sampler_init(&sampler, (float)a.temperature, (float)a.top_p, a.seed);
    unsigned flags = a.ignore_eos ? ENGINE_GENERATE_IGNORE_EOS : 0;
    if (engine_generate(s, tok ? tok : m->tokenizer, a.prompt, (int)a.steps, flags, &sampler, write_piece, stdout,
                        NULL, 0, NULL, &err)) {
        print_stdout();  /* keep what was generated readable */
        goto fail;
    }
    print_stdout();
    goto out;
fail:
    fprintf(stderr, "thermabench generate: %s\n", err.msg);
    status = err.kind == ENGINE_ERR_SYSTEM ? TB_EXIT_FAIL : TB_EXIT_USAGE;
out:
    engine_session_free(s);
    engine_tokenizer_free(tok);
    engine_model_free(m);
    return fflush(stdout) == 0 || status ? status : TB_EXIT_FAIL;
}
