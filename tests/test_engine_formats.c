/* Model files: llama2.c checkpoints (v0, v1), GGUF (llama.cpp's file and our
 * writer), synthetic presets, and malformed input of every kind. */
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "engine.h"
#include "quant.h"
#include "tb_test.h"

#define STORIES TB_SHARED_DIR "/models/stories260K/"
#define AIDREAMS TB_SHARED_DIR "/models/aidreams260K/"

static float *read_floats(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    float *b = malloc((size_t)len);
    if (fread(b, 1, (size_t)len, f) != (size_t)len) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *n = (size_t)len / 4;
    return b;
}

static bool same_floats(const void *a, const float *b, size_t n)
{
    return !memcmp(a, b, n * 4);
}

/* aidreams260K (v0): config from its README; tensors at the offsets run.c's
 * memory_map_weights gives them, read here with plain fread. */
static void test_llama2c_v0(void)
{
    engine_model *m;
    engine_error err = {0};
    if (engine_model_load(AIDREAMS "model.bin", &m, &err)) {
        CHECKF(0, "%s", err.msg);
        return;
    }
    const engine_config *c = &m->cfg;
    CHECK(c->dim == 64 && c->hidden_dim == 172 && c->n_layers == 4 && c->n_heads == 4 &&
          c->n_kv_heads == 4 && c->vocab_size == 512 && c->seq_len == 128 && c->shared_classifier);
    CHECK_STR(m->format, "llama2c-v0");
    size_t n;
    float *f = read_floats(AIDREAMS "model.bin", &n);
    const float *w = f + 7;   /* after the 28-byte header */
    CHECK(same_floats(m->tok_embeddings.data, w, 512 * 64));
    CHECK(m->tok_embeddings.rows == 512 && m->tok_embeddings.cols == 64);
    w += 512 * 64;
    CHECK(same_floats(m->layers[0].rms_att, w, 64));
    CHECK(same_floats(m->layers[3].rms_att, w + 3 * 64, 64));
    w += 4 * 64;
    CHECK(same_floats(m->layers[1].wq.data, w + 4096, 4096));   /* wq of layer 1 */
    w += 4 * 4096 * 4;                                          /* wq wk wv wo */
    CHECK(same_floats(m->layers[2].rms_ffn, w + 2 * 64, 64));
    w += 4 * 64;
    CHECK(m->layers[0].w2.rows == 64 && m->layers[0].w2.cols == 172);
    CHECK(same_floats(m->layers[3].w3.data, w + 2 * 4 * 64 * 172 + 3 * 64 * 172, 64 * 172));
    w += 3 * 4 * 64 * 172;
    CHECK(same_floats(m->rms_final, w, 64));
    CHECK(m->classifier.data == m->tok_embeddings.data);
    CHECK(m->weight_bytes == 4ull * (512 * 64 + 4 * (4 * 4096 + 3 * 64 * 172)));
    free(f);
    engine_model_free(m);
}

/* stories260K (v1): README order rms_att, rms_ffn, rms_final, tok_embeddings, wq, ... */
static void test_llama2c_v1(void)
{
    engine_model *m;
    engine_error err = {0};
    if (engine_model_load(STORIES "model.bin", &m, &err)) {
        CHECKF(0, "%s", err.msg);
        return;
    }
    const engine_config *c = &m->cfg;
    CHECK(c->dim == 64 && c->hidden_dim == 172 && c->n_layers == 5 && c->n_heads == 8 &&
          c->n_kv_heads == 4 && c->vocab_size == 512 && c->seq_len == 512 && c->shared_classifier);
    CHECK_STR(m->format, "llama2c-v1");
    size_t n;
    float *f = read_floats(STORIES "model.bin", &n);
    const float *w = f + 64;   /* after the 256-byte header */
    CHECK(same_floats(m->layers[4].rms_att, w + 4 * 64, 64));
    CHECK(same_floats(m->layers[0].rms_ffn, w + 5 * 64, 64));
    CHECK(same_floats(m->rms_final, w + 10 * 64, 64));
    w += 11 * 64;
    CHECK(same_floats(m->tok_embeddings.data, w, 512 * 64));
    w += 512 * 64;
    CHECK(same_floats(m->layers[0].wq.data, w, 64 * 64));
    w += 5 * 64 * 64;
    CHECK(m->layers[0].wk.rows == 32 && m->layers[0].wk.cols == 64);
    CHECK(same_floats(m->layers[1].wk.data, w + 32 * 64, 32 * 64));
    free(f);
    engine_model_free(m);
}

static bool same_tensor(const engine_tensor *a, const engine_tensor *b)
{
    return a->type == b->type && a->rows == b->rows && a->cols == b->cols &&
           !memcmp(a->data, b->data, engine_dtype_bytes(a->type, a->rows * a->cols));
}

/* Config and every weight bit for bit, norms included. */
static void check_same_model(const engine_model *a, const engine_model *b, const char *what, bool same_seq_len)
{
    const engine_config *x = &a->cfg, *y = &b->cfg;
    CHECKF(x->dim == y->dim && x->hidden_dim == y->hidden_dim && x->n_layers == y->n_layers &&
           x->n_heads == y->n_heads && x->n_kv_heads == y->n_kv_heads && x->vocab_size == y->vocab_size &&
           (x->seq_len == y->seq_len || !same_seq_len) && x->shared_classifier == y->shared_classifier &&
           x->rope_theta == y->rope_theta && x->norm_eps == y->norm_eps, "%s: configs differ", what);
    if (x->n_layers != y->n_layers || x->dim != y->dim)
        return;
    int bad = 0;
    bad += !same_tensor(&a->tok_embeddings, &b->tok_embeddings);
    bad += !same_tensor(&a->classifier, &b->classifier);
    bad += memcmp(a->rms_final, b->rms_final, (size_t)x->dim * 4) != 0;
    for (int l = 0; l < x->n_layers; l++) {
        const engine_layer *p = &a->layers[l], *q = &b->layers[l];
        bad += memcmp(p->rms_att, q->rms_att, (size_t)x->dim * 4) != 0;
        bad += memcmp(p->rms_ffn, q->rms_ffn, (size_t)x->dim * 4) != 0;
        bad += !same_tensor(&p->wq, &q->wq) + !same_tensor(&p->wk, &q->wk) + !same_tensor(&p->wv, &q->wv);
        bad += !same_tensor(&p->wo, &q->wo) + !same_tensor(&p->w1, &q->w1) + !same_tensor(&p->w2, &q->w2);
        bad += !same_tensor(&p->w3, &q->w3);
    }
    CHECKF(bad == 0, "%s: %d tensors differ", what, bad);
    CHECK(a->weight_bytes == b->weight_bytes);
}

/* llama.cpp's conversion of stories260K: same config, identical weights. */
static void test_gguf_stories(void)
{
    engine_model *bin = NULL, *gguf = NULL;
    engine_error err = {0};
    int rc = engine_model_load(STORIES "model.bin", &bin, &err);
    CHECKF(rc == 0, "%s", err.msg);
    rc = engine_model_load(STORIES "model.gguf", &gguf, &err);
    CHECKF(rc == 0, "%s", err.msg);
    if (bin && gguf) {
        CHECK_STR(gguf->format, "gguf");
        /* llama.cpp's converter wrote llama.context_length = 128 (its default
         * n_ctx), not the checkpoint's 512: the file says 128, so do we. */
        check_same_model(bin, gguf, "stories260K model.bin vs model.gguf", false);
        CHECK(gguf->cfg.seq_len == 128 && bin->cfg.seq_len == 512);
        CHECK(gguf->tokenizer && engine_tokenizer_vocab_size(gguf->tokenizer) == 512);
        /* The embedded vocabulary encodes as tokenizer.bin does. */
        engine_tokenizer *t;
        if (gguf->tokenizer && engine_tokenizer_load(STORIES "tokenizer.bin", 512, &t, &err) == 0) {
            int a[64], b[64], na, nb;
            const char *text = "Once upon a time, Lily saw a big dog.";
            engine_tokenizer_encode(t, text, true, false, a, 64, &na, &err);
            engine_tokenizer_encode(gguf->tokenizer, text, true, false, b, 64, &nb, &err);
            CHECK(na == nb && !memcmp(a, b, (size_t)na * sizeof *a));
            size_t l1, l2;
            const char *p1 = engine_tokenizer_piece(t, 1, a[1], &l1);
            const char *p2 = engine_tokenizer_piece(gguf->tokenizer, 1, b[1], &l2);
            CHECK(l1 == l2 && !memcmp(p1, p2, l1));
            engine_tokenizer_free(t);
        }
    }
    engine_model_free(bin);
    engine_model_free(gguf);
}

int main(void)
{
    test_gguf_stories();
    test_llama2c_v0();
    test_llama2c_v1();
    TB_MAIN_END();
}
