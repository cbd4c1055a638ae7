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

int main(void)
{
    test_llama2c_v0();
    test_llama2c_v1();
    TB_MAIN_END();
}
