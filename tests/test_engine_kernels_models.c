/* Greedy outputs of the real models in ../shared/models with the fast F32
 * kernels: byte-exact against the expected files (written by independent
 * implementations), first with every op on its default pick (threaded),
 * then with one fast variant at a time and the rest scalar, so a flip is
 * pinned to the op that caused it. On a mismatch the test names the first
 * token that differs from the all-scalar run. */
#include <stdlib.h>

#include "engine.h"
#include "tb_models.h"
#include "tb_test.h"

/* Kernel sets: NULL op list = the machine's defaults. */
static const char *const sets[][5] = {
    {NULL},
    {"matmul=avx512", "attention=scalar", "rmsnorm=scalar", "rope=scalar", "swiglu=scalar"},
    {"matmul=avx512_dequant", "attention=scalar", "rmsnorm=scalar", "rope=scalar", "swiglu=scalar"},
    {"matmul=avx2", "attention=scalar", "rmsnorm=scalar", "rope=scalar", "swiglu=scalar"},
    {"matmul=scalar", "attention=fused_avx512", "rmsnorm=scalar", "rope=scalar", "swiglu=scalar"},
    {"matmul=scalar", "attention=fused", "rmsnorm=scalar", "rope=scalar", "swiglu=scalar"},
    {"matmul=scalar", "attention=scalar", "rmsnorm=avx512", "rope=scalar", "swiglu=scalar"},
    {"matmul=scalar", "attention=scalar", "rmsnorm=avx2", "rope=scalar", "swiglu=scalar"},
    {"matmul=scalar", "attention=scalar", "rmsnorm=scalar", "rope=avx512", "swiglu=scalar"},
    {"matmul=scalar", "attention=scalar", "rmsnorm=scalar", "rope=scalar", "swiglu=avx512"},
    {"matmul=scalar", "attention=scalar", "rmsnorm=scalar", "rope=scalar", "swiglu=scalar"},
};
#define N_SETS (sizeof sets / sizeof sets[0])

/* Generates with a kernel set; returns 1 when run, 0 when a variant is not
 * available here (skipped), -1 on error. */
static int run(const engine_model *m, const engine_tokenizer *t, const tb_model_case *c, const char *const *set,
               int threads, tb_text *out, int *tokens, int *n_tokens, char *kernels, size_t kcap)
{
    engine_error err = {0};
    engine_options o;
    engine_options_default(&o);
    o.threads = threads;
    o.max_seq_len = c->steps;
    for (int i = 0; set[0] && i < 5; i++)
        if (engine_options_add_kernel(&o, set[i], &err) != 0)
            return 0; /* variant not registered on this build */
    engine_session *s = NULL;
    if (engine_session_create(m, &o, &s, &err) != 0)
        return err.kind == ENGINE_ERR_UNSUPPORTED ? 0 : -1;
    snprintf(kernels, kcap, "%s", engine_session_kernels(s));
    engine_sampler sp;
    engine_sampler_init(&sp, 0, 1, 1);
    out->len = 0;
    int rc = engine_generate(s, t, c->prompt, c->steps, 0, &sp, tb_text_append, out, tokens, 1024, n_tokens, &err);
    if (rc != 0)
        fprintf(stderr, "generate: %s\n", err.msg);
    tb_text_append(out, "\n", 1);
    engine_session_free(s);
    return rc == 0 ? 1 : -1;
}

int main(void)
{
    int present = 0;
    for (size_t ci = 0; ci < TB_N_MODEL_CASES; ci++) {
        const tb_model_case *c = &tb_model_cases[ci];
        static char want[16384];
        long got = tb_read_into(c->expected, want, sizeof want);
        if (got < 0)
            continue;
        size_t want_len = (size_t)got;
        engine_error err = {0};
        engine_model *m = NULL;
        engine_tokenizer *t = NULL;
        if (engine_model_load(c->model, &m, &err) != 0) {
            CHECKF(0, "%s: %s", c->model, err.msg);
            continue;
        }
        if (c->tokenizer && engine_tokenizer_load(c->tokenizer, m->cfg.vocab_size, &t, &err) != 0) {
            CHECKF(0, "%s: %s", c->tokenizer, err.msg);
            engine_model_free(m);
            continue;
        }
        present++;
        static tb_text ref, out;
        static int ref_tok[1024], tok[1024];
        int n_ref = 0, n_tok = 0;
        char kernels[256];
        /* The scalar set last in the table is the baseline for naming flips. */
        CHECK(run(m, t, c, sets[N_SETS - 1], 1, &ref, ref_tok, &n_ref, kernels, sizeof kernels) == 1);
        for (size_t si = 0; si < N_SETS; si++) {
            int threads = si == 0 ? 3 : 2;
            int rc = run(m, t, c, sets[si], threads, &out, tok, &n_tok, kernels, sizeof kernels);
            if (rc == 0) {
                printf("skip %s (not available here)\n", sets[si][0] ? sets[si][0] : "defaults");
                continue;
            }
            CHECK(rc == 1);
            bool same = out.len == want_len && !memcmp(out.data, want, want_len);
            if (!same) {
                int k = 0;
                while (k < n_tok && k < n_ref && tok[k] == ref_tok[k])
                    k++;
                fprintf(stderr, "%s '%s' with %s: output differs; first token flip at position %d: %d (scalar %d)\n",
                        c->model, c->prompt, kernels, k, k < n_tok ? tok[k] : -1, k < n_ref ? ref_tok[k] : -1);
            }
            CHECKF(same, "%s '%s' with %s (%d threads): greedy output not byte-exact", c->model, c->prompt,
                   kernels, threads);
            if (si == 0)
                printf("%s '%s': defaults %s byte-exact: %s\n", c->model, c->prompt, kernels, same ? "yes" : "NO");
        }
        engine_tokenizer_free(t);
        engine_model_free(m);
    }
    if (!present) {
        fprintf(stderr, "skip: no models in " TB_MODELS "\n");
        return TB_SKIP;
    }
    TB_MAIN_END();
}
