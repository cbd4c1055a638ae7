/* The generate, bench and kernels subcommands through the real binary:
 * stdout bytes against the expected outputs of independent implementations,
 * and exit code 2 with a clear message for bad input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tb_test.h"

#define M TB_SHARED_DIR "/models/"

static char out_buf[1 << 16], err_buf[1 << 14];

static long slurp(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
    fclose(f);
    return (long)n;
}

/* Runs TB_BINARY with args (a shell fragment); captures stdout and stderr;
 * returns the exit code. */
static int run(const char *args, long *out_len)
{
    char cmd[4096], out_path[64], err_path[64];
    snprintf(out_path, sizeof out_path, "tb_compute_cli.%d.out", (int)getpid());
    snprintf(err_path, sizeof err_path, "tb_compute_cli.%d.err", (int)getpid());
    snprintf(cmd, sizeof cmd, "'%s' %s >%s 2>%s", TB_BINARY, args, out_path, err_path);
    int st = system(cmd);
    long n = slurp(out_path, out_buf, sizeof out_buf);
    if (out_len)
        *out_len = n;
    slurp(err_path, err_buf, sizeof err_buf);
    remove(out_path);
    remove(err_path);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

typedef struct gen_case {
    const char *args, *expected;
} gen_case;

static const gen_case cases[] = {
    {"--model " M "aidreams260K/model.bin --tokenizer " M "aidreams260K/tokenizer.bin --steps 128",
     M "aidreams260K/greedy-bos-128.txt"},
    {"--model " M "aidreams260K/model.bin --tokenizer " M "aidreams260K/tokenizer.bin --prompt 'The machine' --steps 64",
     M "aidreams260K/greedy-the-machine-64.txt"},
    {"--model " M "aidreams260K/model.bin --tokenizer " M "aidreams260K/tokenizer.bin --prompt 'Echoes of light' --steps 100",
     M "aidreams260K/greedy-echoes-of-light-100.txt"},
    {"--model " M "stories260K/model.bin --tokenizer " M "stories260K/tokenizer.bin --steps 200 --threads 1",
     M "stories260K/greedy-bos-200.txt"},
    {"--model " M "stories260K/model.bin --tokenizer " M "stories260K/tokenizer.bin --prompt 'Once upon a time' --steps 60",
     M "stories260K/greedy-once-upon-a-time-60.txt"},
    {"--model " M "stories260K/model.gguf --steps 200", M "stories260K/greedy-bos-200.txt"},
    {"--model " M "stories260K/model.gguf --prompt 'Once upon a time' --steps 60 --kernel matmul=scalar",
     M "stories260K/greedy-once-upon-a-time-60.txt"},
};

static void test_generate(void)
{
    static char want[1 << 16];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        long want_len = slurp(cases[i].expected, want, sizeof want);
        if (want_len < 0)
            continue;
        char args[2048];
        snprintf(args, sizeof args, "generate %s", cases[i].args);
        long n;
        int rc = run(args, &n);
        CHECKF(rc == 0, "generate %s: exit %d: %s", cases[i].args, rc, err_buf);
        CHECKF(n == want_len && !memcmp(out_buf, want, n), "generate %s: stdout differs:\n%s", cases[i].args,
               out_buf);
    }
}

typedef struct err_case {
    const char *args, *needle;
} err_case;

static const err_case errors[] = {
    {"generate --model " M "stories260K/model.gguf --kernel matmul=nope", "nope"},
    {"generate --model " M "stories260K/model.gguf --kernel frob=scalar", "frob"},
    {"generate --model " M "stories260K/model.gguf --backend tpu", "tpu"},
    {"generate --model " M "stories260K/model.gguf --steps 0", "--steps"},
    {"generate --model /nonexistent/model.bin", "/nonexistent/model.bin"},
    {"generate --model " M "stories260K/model.bin", "--tokenizer"},
    {"generate --model " M "stories260K/model.bin --tokenizer /nonexistent/tok.bin", "/nonexistent/tok.bin"},
    {"generate --steps 3", "--model"},
    {"generate --model " M "stories260K/model.gguf --bogus 1", "--bogus"},
    {"bench --preset no-such-preset --input-len 4 --output-len 2", "no-such-preset"},
    {"bench --preset tiny --dtype f99 --input-len 4 --output-len 2", "f99"},
    {"bench --model " M "stories260K/model.gguf --kernel attention=nope", "nope"},
    {"bench --model " M "stories260K/model.gguf --backend tpu", "tpu"},
    {"bench --model " M "stories260K/model.gguf --input-len 500 --output-len 100", "context"},
    {"bench", "--model"},
    {"kernels --bogus", "--bogus"},
};

static void test_errors(void)
{
    for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++) {
        int rc = run(errors[i].args, NULL);
        CHECKF(rc == 2, "%s: exit %d, expected 2 (stderr: %s)", errors[i].args, rc, err_buf);
        CHECKF(strstr(err_buf, errors[i].needle) != NULL, "%s: stderr lacks '%s': %s", errors[i].args,
               errors[i].needle, err_buf);
        CHECKF(strncmp(err_buf, "thermabench ", 12) == 0, "%s: stderr: %s", errors[i].args, err_buf);
    }
}

/* A well-formed llama2.c tokenizer with 3 tokens: too few for any model here. */
static void test_tokenizer_mismatch(void)
{
    char path[64], args[512];
    snprintf(path, sizeof path, "tb_compute_tok3.%d.bin", (int)getpid());
    FILE *f = fopen(path, "wb");
    if (!f)
        return;
    int32_t max_len = 1, len = 1;
    float score = 0;
    fwrite(&max_len, 4, 1, f);
    for (int i = 0; i < 3; i++) {
        fwrite(&score, 4, 1, f);
        fwrite(&len, 4, 1, f);
        fputc('a' + i, f);
    }
    fclose(f);
    snprintf(args, sizeof args, "generate --model %saidreams260K/model.bin --tokenizer %s --steps 4", M, path);
    int rc = run(args, NULL);
    CHECKF(rc == 2, "tokenizer of 3 tokens: exit %d: %s", rc, err_buf);
    CHECKF(strstr(err_buf, "512") && strstr(err_buf, "3"), "stderr: %s", err_buf);
    remove(path);
}

/* Sampling is reproducible from its seed, and the seed matters. */
static void test_sampled_generation(void)
{
    static char first[1 << 16];
    const char *base = "generate --model " M "stories260K/model.gguf --prompt 'Once upon a time' --steps 60 "
                       "--temperature 1 --top-p 0.9";
    char args[1024];
    long n1, n2;
    snprintf(args, sizeof args, "%s --seed 7", base);
    CHECK(run(args, &n1) == 0);
    memcpy(first, out_buf, sizeof first);
    CHECK(run(args, &n2) == 0);
    CHECK(n1 == n2 && !memcmp(first, out_buf, n1));
    CHECK(strncmp(out_buf, "Once upon a time", 16) == 0);
    snprintf(args, sizeof args, "%s --seed 8", base);
    CHECK(run(args, &n2) == 0);
    CHECK(n1 != n2 || memcmp(first, out_buf, n1));
}

static void test_bench_and_kernels(void)
{
    long n;
    int rc = run("bench --model " M "stories260K/model.gguf --batch-size 2 --input-len 8 --output-len 4 --threads 1 --json",
                 &n);
    CHECKF(rc == 0, "bench --json: exit %d: %s", rc, err_buf);
    CHECK(strstr(out_buf, "\"decode_tokens_per_s\":") != NULL);
    CHECK(strstr(out_buf, "\"prefill_tokens_per_s\":") != NULL);
    CHECK(strstr(out_buf, "\"batch_size\":2") != NULL);
    CHECK(strstr(out_buf, "\"kernels\":\"matmul=") != NULL);
    CHECK(strstr(out_buf, "\"n_kv_heads\":4") != NULL);
    rc = run("kernels", &n);
    CHECKF(rc == 0, "kernels: exit %d", rc);
    CHECK(strstr(out_buf, "matmul") && strstr(out_buf, "swiglu") && strstr(out_buf, "scalar"));
}

int main(void)
{
    if (slurp(M "stories260K/model.gguf", out_buf, 16) < 0) {
        fprintf(stderr, "skip: %s missing\n", M "stories260K/model.gguf");
        return TB_SKIP;
    }
    test_generate();
    test_errors();
    test_tokenizer_mismatch();
    test_sampled_generation();
    test_bench_and_kernels();
    TB_MAIN_END();
}
