/* thermabench generate: text from a model, by the reference's rules
 * (greedy unless --temperature > 0); the output is the generated text and a
 * final newline, nothing else on stdout. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "engine.h"

static const char usage_text[] =
    "usage: thermabench generate --model FILE [--tokenizer FILE] [--prompt TEXT] [--steps N]\n"
    "                            [--temperature T] [--top-p P] [--seed S] [--threads N]\n"
    "                            [--kernel op=variant ...] [--backend cpu|opencl]\n"
    "\n"
    "  --model FILE        llama2.c checkpoint (v0/v1) or GGUF file\n"
    "  --tokenizer FILE    llama2.c tokenizer.bin (default: the model's embedded vocabulary)\n"
    "  --prompt TEXT       prompt (default: empty, BOS only)\n"
    "  --steps N           positions to run, prompt included (default 256 or the model's\n"
    "                      context if shorter; more than the declared context runs, with a note)\n"
    "  --temperature T     0 is greedy (default 0)\n"
    "  --top-p P           nucleus sampling when T > 0 (default 0.9; 1 is off)\n"
    "  --seed S            sampler seed (default 1)\n"
    "  --threads N         worker threads, 0 = all online CPUs (default 0)\n"
    "  --kernel op=variant kernel variant for an op (see 'thermabench kernels'); repeatable;\n"
    "                      all=V picks V for every op that has it (all=scalar: the reference)\n"
    "  --backend B         cpu (default) or opencl\n"
    "  --opencl-device D   OpenCL device: P:D indices or a name substring (default: first GPU)\n";

typedef struct gen_args {
    const char *model, *tokenizer, *prompt;
    long steps;
    bool steps_given;
    double temperature, top_p;
    unsigned long long seed;
    engine_options opt;
} gen_args;

static void write_piece(void *ctx, const char *bytes, size_t len) { fwrite(bytes, 1, len, (FILE *)ctx); }

/* 1: --help shown; 0: parsed; -1: usage error (already printed). */
static int parse_args(int argc, char **argv, gen_args *a)
{
    const char *cmd = "generate";
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (!strcmp(o, "--help") || !strcmp(o, "-h")) {
            fputs(usage_text, stdout);
            return 1;
        }
        if (i + 1 >= argc)
            return cli_usage_error(cmd, "%s: %s", o,
                                   o[0] == '-' && o[1] == '-' ? "missing value (or unknown option)" : "unexpected argument");
        const char *v = argv[++i];
        if (!strcmp(o, "--model"))
            a->model = v;
        else if (!strcmp(o, "--tokenizer"))
            a->tokenizer = v;
        else if (!strcmp(o, "--prompt"))
            a->prompt = v;
        else if (!strcmp(o, "--steps")) {
            if (cli_parse_long(cmd, o, v, 1, 1L << 20, &a->steps))
                return -1;
            a->steps_given = true;
        } else if (!strcmp(o, "--temperature")) {
            if (cli_parse_double(cmd, o, v, 0, 100, &a->temperature))
                return -1;
        } else if (!strcmp(o, "--top-p")) {
            if (cli_parse_double(cmd, o, v, 0, 1, &a->top_p))
                return -1;
        } else if (!strcmp(o, "--seed")) {
            if (cli_parse_u64(cmd, o, v, &a->seed))
                return -1;
        } else {
            int rc = cli_parse_engine_option(cmd, o, v, &a->opt);
            if (rc)
                return rc > 0 ? cli_usage_error(cmd, "unknown option '%s'", o) : rc;
        }
    }
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
    if (engine_generate(s, tok ? tok : m->tokenizer, a.prompt, (int)a.steps, &sampler, write_piece, stdout,
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
