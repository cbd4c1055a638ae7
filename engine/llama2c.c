/* llama2.c checkpoints, memory-mapped; tensors point into the mapping.
 *
 * v0 (run.c): 7 int32 (dim, hidden_dim, n_layers, n_heads, n_kv_heads,
 * vocab_size, seq_len; a negative vocab_size means a separate classifier),
 * then float32 tok_embeddings, rms_att, wq, wk, wv, wo, rms_ffn, w1, w2, w3,
 * rms_final, freq_cis_real and freq_cis_imag (seq_len * head_size / 2 each,
 * unused), then wcls if not shared.
 *
 * v1 (export.py version1_export): uint32 magic "ak42", int32 version 1, the
 * 7 int32, uint8 shared_classifier, zeros to byte 256; then rms_att, rms_ffn,
 * rms_final, tok_embeddings, wq, wk, wv, wo, w1, w2, w3, [wcls].
 *
 * engine_llama2c_write writes v0, the layout llama2.c's run.c reads. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "engine.h"
#include "formats.h"

#define LLAMA2C_MAGIC 0x616b3432u
#define LLAMA2C_V1_HEADER 256

/* Hands out consecutive float32 arrays of the weight area. */
typedef struct cursor {
    const float *p;
} cursor;

static const float *take(cursor *c, uint64_t n)
{
    const float *p = c->p;
    c->p += n;
    return p;
}

static engine_tensor f32_matrix(const float *data, int64_t rows, int64_t cols)
{
    return (engine_tensor){.type = ENGINE_DTYPE_F32, .rows = rows, .cols = cols, .data = data};
}

/* Per-layer matrices stored layer after layer: wq of every layer, then wk... */
static void take_layers(cursor *c, engine_model *m, size_t field, int64_t rows, int64_t cols)
{
    for (int l = 0; l < m->cfg.n_layers; l++) {
        engine_tensor *t = (engine_tensor *)((char *)&m->layers[l] + field);
        *t = f32_matrix(take(c, (uint64_t)(rows * cols)), rows, cols);
    }
}

static void take_norms(cursor *c, engine_model *m, bool att)
{
    for (int l = 0; l < m->cfg.n_layers; l++) {
        if (att)
            m->layers[l].rms_att = take(c, (uint64_t)m->cfg.dim);
        else
            m->layers[l].rms_ffn = take(c, (uint64_t)m->cfg.dim);
    }
}

static void take_matrices(cursor *c, engine_model *m)
{
    const engine_config *p = &m->cfg;
    int64_t dim = p->dim, kv_dim = (int64_t)p->dim * p->n_kv_heads / p->n_heads;
    take_layers(c, m, offsetof(engine_layer, wq), dim, dim);
    take_layers(c, m, offsetof(engine_layer, wk), kv_dim, dim);
    take_layers(c, m, offsetof(engine_layer, wv), kv_dim, dim);
    take_layers(c, m, offsetof(engine_layer, wo), dim, dim);
}

static void take_ffn(cursor *c, engine_model *m)
{
    int64_t dim = m->cfg.dim, hid = m->cfg.hidden_dim;
    take_layers(c, m, offsetof(engine_layer, w1), hid, dim);
    take_layers(c, m, offsetof(engine_layer, w2), dim, hid);
    take_layers(c, m, offsetof(engine_layer, w3), hid, dim);
}

/* Float count of all weights, classifier and v0's freq_cis included. */
static uint64_t weight_floats(const engine_config *p, bool v0)
{
    uint64_t dim = (uint64_t)p->dim, L = (uint64_t)p->n_layers, hid = (uint64_t)p->hidden_dim;
    uint64_t kv_dim = dim * (uint64_t)p->n_kv_heads / (uint64_t)p->n_heads;
    uint64_t n = (uint64_t)p->vocab_size * dim           /* tok_embeddings */
               + 2 * L * dim + dim                         /* norms */
               + L * dim * (2 * dim + 2 * kv_dim)          /* wq wk wv wo */
               + 3 * L * dim * hid;                        /* w1 w2 w3 */
    if (v0)
        n += (uint64_t)p->seq_len * (dim / (uint64_t)p->n_heads);   /* freq_cis real + imag */
    if (!p->shared_classifier)
        n += (uint64_t)p->vocab_size * dim;
    return n;
}

int formats_load_llama2c(engine_model *m, const char *path, const uint8_t *data, size_t len,
                         engine_error *err)
{
    uint32_t magic = 0;
    if (len >= 4)
        memcpy(&magic, data, 4);
    bool v1 = magic == LLAMA2C_MAGIC;
    size_t header = v1 ? LLAMA2C_V1_HEADER : 7 * 4;
    if (len < header)
        return formats_error(err, ENGINE_ERR_INPUT,
                             "%s: truncated at byte %zu: a llama2.c %s header needs %zu bytes",
                             path, len, v1 ? "v1" : "v0", header);
    int32_t h[7], version = 0;
    if (v1) {
        memcpy(&version, data + 4, 4);
        if (version != 1)
            return formats_error(err, ENGINE_ERR_INPUT,
                                 "%s: byte 4: llama2.c checkpoint version %d, expected 1", path, version);
    }
    memcpy(h, data + (v1 ? 8 : 0), sizeof h);
    engine_config *c = &m->cfg;
    c->dim = h[0];
    c->hidden_dim = h[1];
    c->n_layers = h[2];
    c->n_heads = h[3];
    c->n_kv_heads = h[4];
    c->vocab_size = h[5] < 0 && h[5] != INT32_MIN ? -h[5] : h[5];
    c->seq_len = h[6];
    c->shared_classifier = v1 ? data[36] != 0 : h[5] > 0;
    snprintf(m->format, sizeof m->format, v1 ? "llama2c-v1" : "llama2c-v0");
    if (formats_check_config(c, path, err)) {
        if (!v1) {   /* most likely not a model at all: say what was looked for */
            char why[sizeof err->msg];
            snprintf(why, sizeof why, "%s", err->msg + strlen(path) + 2);
            formats_error(err, ENGINE_ERR_INPUT, "%s: byte 0: no GGUF or llama2.c v1 magic, and not a "
                          "plausible llama2.c v0 header (%s)", path, why);
        }
        return -1;
    }
    uint64_t need = header + 4 * weight_floats(c, !v1);
    if (len != need)
        return formats_error(err, ENGINE_ERR_INPUT,
                             "%s: %s the header's shapes (dim %d, hidden %d, %d layers, vocab %d, %s classifier) "
                             "need exactly %llu bytes, the file has %zu",
                             path, len < need ? "truncated:" : "size mismatch:", c->dim, c->hidden_dim,
                             c->n_layers, c->vocab_size, c->shared_classifier ? "shared" : "separate",
                             (unsigned long long)need, len);
    if (formats_model_layers(m, c->n_layers, err))
        return -1;
    int64_t dim = c->dim;
    cursor cur = {(const float *)(data + header)};
    if (v1) {
        take_norms(&cur, m, true);
        take_norms(&cur, m, false);
        m->rms_final = take(&cur, (uint64_t)dim);
        m->tok_embeddings = f32_matrix(take(&cur, (uint64_t)(c->vocab_size * dim)), c->vocab_size, dim);
        take_matrices(&cur, m);
        take_ffn(&cur, m);
    } else {
        m->tok_embeddings = f32_matrix(take(&cur, (uint64_t)(c->vocab_size * dim)), c->vocab_size, dim);
        take_norms(&cur, m, true);
        take_matrices(&cur, m);
        take_norms(&cur, m, false);
        take_ffn(&cur, m);
        m->rms_final = take(&cur, (uint64_t)dim);
        take(&cur, (uint64_t)c->seq_len * (uint64_t)(dim / c->n_heads));  /* freq_cis */
    }
    m->classifier = c->shared_classifier
                        ? m->tok_embeddings
                        : f32_matrix(take(&cur, (uint64_t)(c->vocab_size * dim)), c->vocab_size, dim);
    return 0;
}

/* ---- writing v0 ---------------------------------------------------------- */

typedef struct writer {
    FILE *f;
    bool ok;
} writer;

static void put(writer *w, const void *p, size_t bytes)
{
    if (w->ok && bytes && fwrite(p, 1, bytes, w->f) != bytes)
        w->ok = false;
}

static void put_tensor(writer *w, const engine_tensor *t)
{
    put(w, t->data, (size_t)(t->rows * t->cols) * sizeof(float));
}

static void put_layers(writer *w, const engine_model *m, size_t field)
{
    for (int l = 0; l < m->cfg.n_layers; l++)
        put_tensor(w, (const engine_tensor *)((const char *)&m->layers[l] + field));
}

static void put_norms(writer *w, const engine_model *m, bool att)
{
    for (int l = 0; l < m->cfg.n_layers; l++)
        put(w, att ? m->layers[l].rms_att : m->layers[l].rms_ffn, (size_t)m->cfg.dim * sizeof(float));
}

/* freq_cis_real then freq_cis_imag, [seq_len][head_size / 2] each, as
 * llama2.c's legacy export wrote them (run.c skips them; so does the loader). */
static void put_freq_cis(writer *w, const engine_config *c)
{
    int half = c->dim / c->n_heads / 2;
    for (int part = 0; part < 2; part++)
        for (int t = 0; t < c->seq_len; t++)
            for (int i = 0; i < half; i++) {
                float freq = (float)(1.0 / pow(c->rope_theta, 2.0 * i / (2.0 * half)));
                double angle = (double)((float)t * freq);
                float v = (float)(part ? sin(angle) : cos(angle));
                put(w, &v, sizeof v);
            }
}

/* What v0 cannot hold: weights other than f32, a RoPE theta or norm epsilon
 * other than llama2.c's fixed 10000 and 1e-5, another architecture. */
static int check_writable(const engine_model *m, const char *path, engine_error *err)
{
    const engine_config *c = &m->cfg;
    if (c->rope_theta != 10000.0f || c->norm_eps != 1e-5f)
        return formats_error(err, ENGINE_ERR_INPUT, "%s: a llama2.c checkpoint fixes rope_theta 10000 and norm_eps "
                             "1e-5; this model has %g and %g", path, c->rope_theta, c->norm_eps);
    if (c->arch != ENGINE_ARCH_LLAMA || engine_config_head_dim(c) * c->n_heads != c->dim || m->rope_freqs)
        return formats_error(err, ENGINE_ERR_INPUT, "%s: a llama2.c checkpoint holds the llama architecture with "
                             "head_dim = dim / n_heads and plain RoPE; this model is %s (head_dim %d%s)", path,
                             engine_arch_name(c->arch), engine_config_head_dim(c), m->rope_freqs ? ", rope_freqs" : "");
    engine_tensor_row rows[4 + 14 * 64];
    int max = (int)(sizeof rows / sizeof rows[0]);
    if (c->n_layers > 64)
        return formats_error(err, ENGINE_ERR_INPUT, "%s: %d layers; the writer handles up to 64", path, c->n_layers);
    int n = engine_model_tensors(m, rows, max);
    for (int i = 0; i < n; i++)
        if (rows[i].type != ENGINE_DTYPE_F32)
            return formats_error(err, ENGINE_ERR_INPUT, "%s: llama2.c checkpoints hold f32 weights only; tensor %s "
                                 "is %s (synthesise with --dtype f32)", path, rows[i].name,
                                 engine_dtype_name(rows[i].type));
    return 0;
}

int engine_llama2c_write(const engine_model *m, const char *path, engine_error *err)
{
    if (check_writable(m, path, err))
        return -1;
    const engine_config *c = &m->cfg;
    char tmp[4096];
    writer w = {formats_create_tmp(path, tmp, sizeof tmp, err), true};
    if (!w.f)
        return -1;
    int32_t h[7] = {c->dim, c->hidden_dim, c->n_layers, c->n_heads, c->n_kv_heads,
                    c->shared_classifier ? c->vocab_size : -c->vocab_size, c->seq_len};
    put(&w, h, sizeof h);
    put_tensor(&w, &m->tok_embeddings);
    put_norms(&w, m, true);
    put_layers(&w, m, offsetof(engine_layer, wq));
    put_layers(&w, m, offsetof(engine_layer, wk));
    put_layers(&w, m, offsetof(engine_layer, wv));
    put_layers(&w, m, offsetof(engine_layer, wo));
    put_norms(&w, m, false);
    put_layers(&w, m, offsetof(engine_layer, w1));
    put_layers(&w, m, offsetof(engine_layer, w2));
    put_layers(&w, m, offsetof(engine_layer, w3));
    put(&w, m->rms_final, (size_t)c->dim * sizeof(float));
    put_freq_cis(&w, c);
    if (!c->shared_classifier)
        put_tensor(&w, &m->classifier);
    return formats_commit_tmp(w.f, tmp, path, w.ok, err);
}

int engine_llama2c_tokenizer_write(const engine_model *m, const char *path, engine_error *err)
{
    const engine_tokenizer *t = m->tokenizer;
    if (!t)
        return formats_error(err, ENGINE_ERR_INPUT, "%s: the model has no embedded vocabulary to write", path);
    int n = engine_tokenizer_vocab_size(t);
    int32_t max_len = 0;
    for (int i = 0; i < n; i++) {
        uint32_t len;
        formats_tokenizer_raw(t, i, &len);
        if ((int32_t)len > max_len)
            max_len = (int32_t)len;
    }
    char tmp[4096];
    writer w = {formats_create_tmp(path, tmp, sizeof tmp, err), true};
    if (!w.f)
        return -1;
    put(&w, &max_len, sizeof max_len);
    for (int i = 0; i < n; i++) {
        uint32_t len;
        const char *piece = formats_tokenizer_raw(t, i, &len);
        float score = formats_tokenizer_score(t, i);
        int32_t len32 = (int32_t)len;
        put(&w, &score, sizeof score);
        put(&w, &len32, sizeof len32);
        put(&w, piece, len);
    }
    return formats_commit_tmp(w.f, tmp, path, w.ok, err);
}
