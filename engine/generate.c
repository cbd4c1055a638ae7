/* Generation by the rules of the reference (models/aidreams260K/README.md):
 * BOS prepended (unless the vocabulary's metadata says the model adds none,
 * as Qwen's), `steps` counts positions with the prompt included, prompt
 * tokens forced, stop early when the next token is BOS. Byte-level BPE
 * vocabularies (GGUF) stop where llama.cpp does instead: at a token of the
 * end-of-generation set. The prompt goes through the model as one batch
 * (prefill); then one token per step. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats.h"
#include "session.h"

/* SentencePiece: only printable bytes or whitespace reach the output, as
 * llama2.c's safe_printf: a lone control byte from a <0xXX> piece is
 * dropped. Byte-level BPE pieces go out whole: a character's bytes are often
 * split over tokens. */
static void emit_piece(const engine_tokenizer *t, engine_emit_fn emit, void *ctx, const char *piece, size_t len)
{
    if (!emit || !piece || len == 0)
        return;
    if (len == 1 && !formats_tokenizer_bpe(t)) {
        unsigned char c = (unsigned char)piece[0];
        if (!(isprint(c) || isspace(c)))
            return;
    }
    emit(ctx, piece, len);
}

static void record(int *tokens_out, int tokens_max, int *n_out, int token)
{
    if (tokens_out && *n_out < tokens_max)
        tokens_out[*n_out] = token;
    (*n_out)++;
}

static int gen_error(engine_error *err, const char *msg)
{
    err->kind = ENGINE_ERR_INPUT;
    snprintf(err->msg, sizeof err->msg, "%s", msg);
    return -1;
}

int engine_generate(engine_session *s, const engine_tokenizer *t, const char *prompt, int steps, unsigned flags,
                    engine_sampler *sampler, engine_emit_fn emit, void *emit_ctx, int *tokens_out,
                    int tokens_max, int *n_tokens_out, engine_error *err)
{
    const engine_model *m = session_model(s);
    const int vocab = m->cfg.vocab_size;
    int n_out = 0;
    if (n_tokens_out)
        *n_tokens_out = 0;
    if (!t)
        t = m->tokenizer;
    if (!t)
        return gen_error(err, "generate: the model has no embedded vocabulary; give a tokenizer file");
    if (engine_tokenizer_vocab_size(t) != vocab) {
        snprintf(err->msg, sizeof err->msg, "generate: tokenizer has %d tokens but the model's vocab_size is %d",
                 engine_tokenizer_vocab_size(t), vocab);
        err->kind = ENGINE_ERR_INPUT;
        return -1;
    }
    if (steps < 1)
        return gen_error(err, "generate: steps must be at least 1");
    if (steps > session_max_seq_len(s)) {
        snprintf(err->msg, sizeof err->msg, "generate: steps %d exceeds the context length %d", steps,
                 session_max_seq_len(s));
        err->kind = ENGINE_ERR_INPUT;
        return -1;
    }
    if (!prompt)
        prompt = "";
    /* At most one token per byte of the re-encoded text (an invalid byte
     * becomes U+FFFD's three), plus BOS and EOS. */
    int max_ids = 3 * (int)strlen(prompt) + 3, n_ids = 0;
    int *ids = malloc(max_ids * sizeof *ids);
    int *pos = malloc(max_ids * sizeof *pos);
    int *seq = calloc(max_ids, sizeof *seq);
    float *logits = malloc((size_t)vocab * sizeof *logits);
    int rc = -1;
    if (!ids || !pos || !seq || !logits) {
        err->kind = ENGINE_ERR_SYSTEM;
        snprintf(err->msg, sizeof err->msg, "generate: out of memory");
        goto done;
    }
    if (engine_tokenizer_encode(t, prompt, engine_tokenizer_add_bos(t), engine_tokenizer_add_eos(t), ids, max_ids,
                                &n_ids, err))
        goto done;
    if (n_ids == 0) {
        gen_error(err, "generate: the prompt is empty and the model adds no BOS token: give --prompt TEXT");
        goto done;
    }
    engine_session_reset(s, 0);

    /* Prefill the prompt positions that fit in `steps`, in one batch. */
    int n_pre = n_ids < steps ? n_ids : steps;
    for (int i = 0; i < n_pre; i++)
        pos[i] = i;
    engine_batch b = {.n = n_pre, .token = ids, .seq = seq, .pos = pos, .want_logits = NULL};
    if (engine_forward(s, &b, logits, err))
        goto done;
    record(tokens_out, tokens_max, &n_out, ids[0]);
    if (!engine_tokenizer_add_bos(t)) {   /* no BOS: the first id is the prompt's own */
        size_t len;
        const char *piece = engine_tokenizer_piece(t, -1, ids[0], &len);
        emit_piece(t, emit, emit_ctx, piece, len);
    }
    int n_forced = n_ids - 1 < steps ? n_ids - 1 : steps;
    for (int i = 0; i < n_forced; i++) {
        size_t len;
        const char *piece = engine_tokenizer_piece(t, ids[i], ids[i + 1], &len);
        emit_piece(t, emit, emit_ctx, piece, len);
        record(tokens_out, tokens_max, &n_out, ids[i + 1]);
    }
    int token = ids[n_pre - 1], p = n_pre - 1;
    while (n_pre == n_ids) {  /* the whole prompt fitted: sample from here on */
        int next = engine_sample(sampler, logits, vocab);
        if (next < 0) {
            err->kind = ENGINE_ERR_SYSTEM;
            snprintf(err->msg, sizeof err->msg, "generate: out of memory while sampling");
            goto done;
        }
        p++;
        if (!(flags & ENGINE_GENERATE_IGNORE_EOS) && engine_tokenizer_ends_generation(t, next))
            break;
        size_t len;
        const char *piece = engine_tokenizer_piece(t, token, next, &len);
        emit_piece(t, emit, emit_ctx, piece, len);
        record(tokens_out, tokens_max, &n_out, next);
        token = next;
        if (p >= steps)
            break;
        engine_batch one = {.n = 1, .token = &token, .seq = seq, .pos = &p, .want_logits = NULL};
        if (engine_forward(s, &one, logits, err))
            goto done;
    }
    rc = 0;
done:
    if (n_tokens_out)
        *n_tokens_out = n_out < tokens_max ? n_out : tokens_max;
    free(ids);
    free(pos);
    free(seq);
    free(logits);
    return rc;
}
