/* A CPU without AVX-512 (or without AVX2 either), simulated with
 * THERMABENCH_CPU_DISABLE: the variants that need it are listed as
 * unavailable, the defaults fall back to the next best, asking for an
 * unavailable variant is a clear error (library: ENGINE_ERR_UNSUPPORTED;
 * CLI: exit 2 with a message), and the real models' greedy outputs stay
 * byte-exact on the fallback kernels.
 *
 *   test_engine_kernels_fallback avx512        # AVX2 machine
 *   test_engine_kernels_fallback avx512,avx2   # baseline x86-64 */
#include <stdlib.h>
#include <sys/wait.h>

#include "engine.h"
#include "tb_test.h"

#define M TB_SHARED_DIR "/models/"

static void append(void *ctx, const char *bytes, size_t len)
{
    char *buf = ctx;
    size_t have = strlen(buf);
    if (have + len < 8192) {
        memcpy(buf + have, bytes, len);
        buf[have + len] = '\0';
    }
}

static void check_model(const char *model, const char *tokenizer, const char *prompt, int steps,
                        const char *expected)
{
    static char want[8192], got[8192];
    FILE *f = fopen(expected, "rb");
    if (!f)
        return;
    size_t n = fread(want, 1, sizeof want - 1, f);
    fclose(f);
    want[n] = '\0';
    engine_error err = {0};
    engine_model *m = NULL;
    engine_tokenizer *t = NULL;
    engine_session *s = NULL;
    CHECKF(engine_model_load(model, &m, &err) == 0, "%s", err.msg);
    if (!m)
        return;
    CHECKF(engine_tokenizer_load(tokenizer, m->cfg.vocab_size, &t, &err) == 0, "%s", err.msg);
    engine_options o;
    engine_options_default(&o);
    o.threads = 2;
    o.max_seq_len = steps;
    CHECKF(engine_session_create(m, &o, &s, &err) == 0, "%s", err.msg);
    if (s && t) {
        engine_sampler sp;
        engine_sampler_init(&sp, 0, 1, 1);
        got[0] = '\0';
        CHECKF(engine_generate(s, t, prompt, steps, 0, &sp, append, got, NULL, 0, NULL, &err) == 0, "%s", err.msg);
        append(got, "\n", 1);
        CHECKF(!strcmp(got, want), "%s with %s: greedy output not byte-exact:\n%s", model,
               engine_session_kernels(s), got);
        printf("%s: %s byte-exact\n", model, engine_session_kernels(s));
    }
    engine_session_free(s);
    engine_tokenizer_free(t);
    engine_model_free(m);
}

int main(int argc, char **argv)
{
    const char *disable = argc > 1 ? argv[1] : "avx512";
    setenv("THERMABENCH_CPU_DISABLE", disable, 1);
    bool no_avx2 = strstr(disable, "avx2") != NULL;

    int avx512_listed = 0;
    for (size_t i = 0; i < engine_kernel_count(); i++) {
        const engine_kernel_info *k = engine_kernel_at(i);
        if (strstr(k->requires, "avx512")) {
            avx512_listed++;
            CHECKF(!k->available, "%s/%s listed as available", engine_op_name(k->op), k->name);
        }
        if (!strcmp(k->name, "avx2"))
            CHECK(k->available == !no_avx2);
    }
    CHECK(avx512_listed >= 6);
    CHECK_STR(engine_kernel_default(ENGINE_OP_MATMUL, "cpu"), no_avx2 ? "scalar" : "avx2");
    CHECK_STR(engine_kernel_default(ENGINE_OP_ATTENTION, "cpu"), "fused");
    CHECK_STR(engine_kernel_default(ENGINE_OP_RMSNORM, "cpu"), no_avx2 ? "scalar" : "avx2");

    /* Asking for AVX-512 anyway: a clear error, not a crash. */
    engine_model *m = NULL;
    engine_session *s = NULL;
    engine_error err = {0};
    CHECKF(engine_model_synth("tiny", ENGINE_DTYPE_Q8_0, 1, -1, &m, &err) == 0, "%s", err.msg);
    engine_options o;
    engine_options_default(&o);
    int rc = engine_options_add_kernel(&o, "matmul=avx512", &err);
    if (rc == 0)
        rc = engine_session_create(m, &o, &s, &err);
    CHECK(rc == -1 && s == NULL);
    CHECKF(err.kind == ENGINE_ERR_UNSUPPORTED && strstr(err.msg, "avx512"), "kind %d: %s", err.kind, err.msg);
    printf("asking for matmul=avx512: %s\n", err.msg);
    /* A q8_0 model runs on whatever is left (the fallback handles every type). */
    engine_options_default(&o);
    o.threads = 2;
    CHECKF(engine_session_create(m, &o, &s, &err) == 0, "%s", err.msg);
    if (s) {
        int tok[3] = {1, 5, 9}, seq[3] = {0, 0, 0}, pos[3] = {0, 1, 2};
        engine_batch b = {3, tok, seq, pos, NULL};
        float *logits = malloc(sizeof(float) * m->cfg.vocab_size);
        CHECKF(engine_forward(s, &b, logits, &err) == 0, "%s", err.msg);
        CHECK(isfinite(logits[0]) && isfinite(logits[m->cfg.vocab_size - 1]));
        free(logits);
    }
    engine_session_free(s);
    engine_model_free(m);

    /* The CLI says so and exits 2. */
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' bench --preset tiny --output-len 2 --input-len 4 --kernel matmul=avx512 2>&1",
             TB_BINARY);
    FILE *p = popen(cmd, "r");
    char out[2048] = "";
    size_t n = p ? fread(out, 1, sizeof out - 1, p) : 0;
    out[n] = '\0';
    int status = p ? pclose(p) : -1;
    CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 2, "exit status %d: %s", status, out);
    CHECKF(strstr(out, "thermabench bench:") && strstr(out, "avx512"), "message: %s", out);

    check_model(M "stories260K/model.bin", M "stories260K/tokenizer.bin", "", 200, M "stories260K/greedy-bos-200.txt");
    check_model(M "aidreams260K/model.bin", M "aidreams260K/tokenizer.bin", "Echoes of light", 100,
                M "aidreams260K/greedy-echoes-of-light-100.txt");
    TB_MAIN_END();
}
