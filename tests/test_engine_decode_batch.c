/* Batched decode: B sequences decoded in one step must each get exactly
 * the logits (bit for bit) and greedy tokens they get decoded alone, for
 * every weight type and each CPU row-dot path, on 1 and 2 threads. The
 * sequences have prompts of different lengths, so their positions differ
 * at every step, and go into the batch in an order that
 * is not their sequence order: a kernel that mixed tokens' activations,
 * wrote a token's result into another's row, or attended to another
 * sequence's cache would change some logits. Synthetic 15M model: its
 * dimensions are whole q8_0/q4_0 blocks, so every matrix has the type
 * under test; for the K-quants (super-blocks of 256) w2 has it (768
 * columns), the others fall back to f16. */
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "tb_test.h"

enum { B = 4, STEPS = 4, MAX_PROMPT = 7 };

static const int prompt_len[B] = {3, 1, 7, 2};
/* decode batch order: slot i carries sequence order[i] */
static const int order[B] = {2, 0, 3, 1};

static engine_session *new_session(const engine_model *m, const char *matmul, int threads, int max_batch)
{
    engine_options o;
    engine_error err = {0};
    engine_options_default(&o);
    o.threads = threads;
    o.max_batch = max_batch;
    o.max_seq_len = 64;
    if (matmul && engine_options_add_kernel(&o, matmul, &err))
        return NULL; /* not registered in this build */
    engine_session *s = NULL;
    if (engine_session_create(m, &o, &s, &err)) {
        CHECKF(err.kind == ENGINE_ERR_UNSUPPORTED, "session: %s", err.msg);
        return NULL;
    }
    return s;
}

static int argmax(const float *x, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best])
            best = i;
    return best;
}

/* Prefills sequence q of session s (as one forward of its prompt) into
 * sequence slot `slot`; returns the first greedy token. */
static int prefill(engine_session *s, const engine_model *m, const int *prompt, int q, int slot, float *logits)
{
    int tok[MAX_PROMPT], seq[MAX_PROMPT], pos[MAX_PROMPT];
    for (int p = 0; p < prompt_len[q]; p++)
        tok[p] = prompt[p], seq[p] = slot, pos[p] = p;
    engine_error err = {0};
    engine_batch b = {.n = prompt_len[q], .token = tok, .seq = seq, .pos = pos};
    CHECKF(engine_forward(s, &b, logits, &err) == 0, "prefill: %s", err.msg);
    return argmax(logits, m->cfg.vocab_size);
}

/* Decodes the B sequences alone, then together, and compares. */
static void check_case(const engine_model *m, const char *matmul, int threads)
{
    const int V = m->cfg.vocab_size;
    int prompts[B][MAX_PROMPT];
    uint64_t rng = 0x243f6a8885a308d3ull;
    for (int q = 0; q < B; q++)
        for (int p = 0; p < MAX_PROMPT; p++) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            prompts[q][p] = (int)((rng >> 33) % (uint64_t)V);
        }
    float *alone = malloc((size_t)B * STEPS * V * sizeof *alone);
    float *together = malloc((size_t)B * STEPS * V * sizeof *together);
    float *logits = malloc((size_t)B * V * sizeof *logits);
    int tokens_alone[B][STEPS], tokens_together[B][STEPS];
    CHECK(alone && together && logits);
    engine_error err = {0};

    engine_session *s = new_session(m, matmul, threads, 1);
    if (!s)
        goto done;
    for (int q = 0; q < B; q++) {
        engine_session_reset(s, -1);
        int next = prefill(s, m, prompts[q], q, 0, logits);
        for (int i = 0; i < STEPS; i++) {
            int seq = 0, pos = prompt_len[q] + i;
            tokens_alone[q][i] = next;
            engine_batch b = {.n = 1, .token = &next, .seq = &seq, .pos = &pos};
            CHECKF(engine_forward(s, &b, logits, &err) == 0, "decode alone: %s", err.msg);
            memcpy(alone + ((size_t)q * STEPS + i) * V, logits, V * sizeof *logits);
            next = argmax(logits, V);
        }
    }
    engine_session_free(s);

    s = new_session(m, matmul, threads, B);
    CHECK(s != NULL);
    if (!s)
        goto done;
    int next[B];
    for (int q = 0; q < B; q++)
        next[q] = prefill(s, m, prompts[q], q, q, logits);
    for (int i = 0; i < STEPS; i++) {
        int tok[B], seq[B], pos[B];
        for (int k = 0; k < B; k++) {
            int q = order[k];
            tok[k] = next[q], seq[k] = q, pos[k] = prompt_len[q] + i;
            tokens_together[q][i] = next[q];
        }
        engine_batch b = {.n = B, .token = tok, .seq = seq, .pos = pos};
        CHECKF(engine_forward(s, &b, logits, &err) == 0, "decode batched: %s", err.msg);
        for (int k = 0; k < B; k++) {
            int q = order[k];
            memcpy(together + ((size_t)q * STEPS + i) * V, logits + (size_t)k * V, V * sizeof *logits);
            next[q] = argmax(logits + (size_t)k * V, V);
        }
    }
    engine_session_free(s);

    for (int q = 0; q < B; q++) {
        int differ = -1;
        for (int i = 0; i < STEPS && differ < 0; i++)
            if (memcmp(alone + ((size_t)q * STEPS + i) * V, together + ((size_t)q * STEPS + i) * V,
                       V * sizeof *logits))
                differ = i;
        CHECKF(differ < 0, "%s, %s, %d threads: sequence %d: batched logits differ from alone at step %d",
               engine_dtype_name(m->layers[0].wq.type), matmul ? matmul : "default", threads, q, differ);
        CHECKF(!memcmp(tokens_alone[q], tokens_together[q], sizeof tokens_alone[q]),
               "%s, %s, %d threads: sequence %d: batched greedy tokens differ from alone",
               engine_dtype_name(m->layers[0].wq.type), matmul ? matmul : "default", threads, q);
    }
done:
    free(alone);
    free(together);
    free(logits);
}

int main(void)
{
    /* The default pick (avx512 or avx2 by the machine) on 1 and 2 threads,
     * then the other row-dot paths on 2: f32-dequantized q8_0/q4_0 and
     * avx2 where avx512 is the default. */
    static const struct {
        const char *matmul;
        int threads;
        bool quant_only;
    } cases[] = {
        {NULL, 1, false}, {NULL, 2, false}, {"matmul=avx512_dequant", 2, true}, {"matmul=avx2", 2, false},
    };
    for (int t = 0; t < ENGINE_DTYPE_COUNT; t++) {
        engine_model *m = NULL;
        engine_error err = {0};
        CHECKF(engine_model_synth("15M", (engine_dtype)t, 7, 0, &m, &err) == 0, "synth: %s", err.msg);
        if (!m)
            continue;
        CHECK(m->layers[0].w2.type == (engine_dtype)t);
        bool quant = t == ENGINE_DTYPE_Q8_0 || t == ENGINE_DTYPE_Q4_0;
        for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
            if (quant || !cases[k].quant_only)
                check_case(m, cases[k].matmul, cases[k].threads);
        engine_model_free(m);
    }
    TB_MAIN_END();
}
