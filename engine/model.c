/* engine_model_load (format detected by content), engine_model_free, and the
 * storage and checks the loaders share. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine.h"
#include "formats.h"

int formats_error(engine_error *err, engine_error_kind kind, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->kind = kind;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static const char *const arch_names[ENGINE_ARCH_COUNT] = {"llama", "qwen2", "qwen3"};

const char *engine_arch_name(engine_arch a)
{
    return (unsigned)a < ENGINE_ARCH_COUNT ? arch_names[a] : "?";
}

int engine_arch_parse(const char *name, engine_arch *out)
{
    for (int i = 0; name && i < ENGINE_ARCH_COUNT; i++)
        if (!strcmp(name, arch_names[i])) {
            *out = (engine_arch)i;
            return 0;
        }
    return -1;
}

int engine_config_head_dim(const engine_config *c)
{
    return c->head_dim > 0 ? c->head_dim : c->n_heads > 0 ? c->dim / c->n_heads : 0;
}

FILE *formats_create_tmp(const char *path, char *tmp, size_t tmp_len, engine_error *err)
{
    snprintf(tmp, tmp_len, "%s.tmp%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f)
        formats_error(err, ENGINE_ERR_INPUT, "%s: cannot create (as %s): %s", path, tmp, strerror(errno));
    return f;
}

int formats_commit_tmp(FILE *f, const char *tmp, const char *path, bool ok, engine_error *err)
{
    int e = errno;
    if (ok && (fflush(f) || fsync(fileno(f))))
        ok = false, e = errno;
    if (fclose(f) && ok)
        ok = false, e = errno;
    if (ok && rename(tmp, path))
        ok = false, e = errno;
    if (ok)
        return 0;
    unlink(tmp);
    return formats_error(err, ENGINE_ERR_SYSTEM, "%s: write failed: %s", path, strerror(e));
}

engine_model *formats_model_new(int n_layers)
{
    engine_model *m = calloc(1, sizeof *m);
    formats_store *st = calloc(1, sizeof *st);
    engine_layer *layers = calloc((size_t)(n_layers > 0 ? n_layers : 1), sizeof *layers);
    if (!m || !st || !layers) {
        free(m);
        free(st);
        free(layers);
        return NULL;
    }
    m->impl = st;
    m->layers = layers;
    m->cfg.rope_theta = 10000.0f;
    m->cfg.norm_eps = 1e-5f;
    return m;
}

int formats_model_layers(engine_model *m, int n, engine_error *err)
{
    engine_layer *layers = calloc((size_t)(n > 0 ? n : 1), sizeof *layers);
    if (!layers)
        return formats_error(err, ENGINE_ERR_SYSTEM, "out of memory for %d layers", n);
    free(m->layers);
    m->layers = layers;
    return 0;
}

void *formats_model_alloc(engine_model *m, size_t bytes)
{
    formats_store *st = m->impl;
    if (st->n_owned == st->cap_owned) {
        int cap = st->cap_owned ? 2 * st->cap_owned : 16;
        void **owned = realloc(st->owned, (size_t)cap * sizeof *owned);
        if (!owned)
            return NULL;
        st->owned = owned;
        st->cap_owned = cap;
    }
    /* 64-byte aligned so SIMD kernels may use aligned loads on synthetic weights.
     * Matrices of 2 MiB or more start on a 2 MiB boundary and ask for huge
     * pages before first touch: decode streams them, and 4 KiB pages cost
     * it about 10 % of read bandwidth (BENCH_SMALL_PAGES=1 in
     * bench_engine_kernels measures it). */
    void *p = NULL;
    size_t huge = (size_t)2 << 20;
    if (posix_memalign(&p, bytes >= huge ? huge : 64, bytes ? bytes : 1))
        return NULL;
    if (bytes >= huge)
        madvise(p, bytes & ~(huge - 1), MADV_HUGEPAGE);
    st->owned[st->n_owned++] = p;
    return p;
}

int formats_map_file(engine_model *m, const char *path, const uint8_t **data, size_t *len,
                     engine_error *err)
{
    formats_store *st = m->impl;
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return formats_error(err, ENGINE_ERR_INPUT, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) || !S_ISREG(sb.st_mode)) {
        close(fd);
        return formats_error(err, ENGINE_ERR_INPUT, "%s: not a regular file", path);
    }
    if (sb.st_size == 0) {
        close(fd);
        return formats_error(err, ENGINE_ERR_INPUT, "%s: empty file (0 bytes), expected a model", path);
    }
    void *p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (p == MAP_FAILED)
        return formats_error(err, ENGINE_ERR_SYSTEM, "%s: mmap failed: %s", path, strerror(e));
    st->map = p;
    st->map_len = (size_t)sb.st_size;
    *data = p;
    *len = (size_t)sb.st_size;
    return 0;
}

void engine_model_free(engine_model *m)
{
    if (!m)
        return;
    formats_store *st = m->impl;
    if (st) {
        for (int i = 0; i < st->n_owned; i++)
            free(st->owned[i]);
        free(st->owned);
        if (st->map)
            munmap(st->map, st->map_len);
        free(st);
    }
    engine_tokenizer_free(m->tokenizer);
    free(m->layers);
    free(m);
}

/* Limits far beyond any model this engine runs; they keep products of
 * dimensions well inside 64 bits and reject garbage headers early. */
int formats_check_config(const engine_config *c, const char *name, engine_error *err)
{
    struct { const char *field; int v, max; } f[] = {
        {"dim", c->dim, 1 << 16},           {"hidden_dim", c->hidden_dim, 1 << 18},
        {"n_layers", c->n_layers, 1024},    {"n_heads", c->n_heads, 1024},
        {"n_kv_heads", c->n_kv_heads, 1024}, {"vocab_size", c->vocab_size, 1 << 22},
        {"seq_len", c->seq_len, 1 << 22},
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (f[i].v < 1 || f[i].v > f[i].max)
            return formats_error(err, ENGINE_ERR_INPUT, "%s: %s = %d, expected 1..%d",
                                 name, f[i].field, f[i].v, f[i].max);
    if ((unsigned)c->arch >= ENGINE_ARCH_COUNT)
        return formats_error(err, ENGINE_ERR_INPUT, "%s: architecture %d, expected llama, qwen2 or qwen3", name,
                             (int)c->arch);
    if (c->head_dim == 0 && c->dim % c->n_heads)
        return formats_error(err, ENGINE_ERR_INPUT, "%s: dim %d is not a multiple of n_heads %d",
                             name, c->dim, c->n_heads);
    int hd = engine_config_head_dim(c);
    if (hd < 2 || hd > 1024 || hd % 2)
        return formats_error(err, ENGINE_ERR_INPUT, "%s: head_dim %d, expected an even width in 2..1024", name, hd);
    if (c->n_heads % c->n_kv_heads)
        return formats_error(err, ENGINE_ERR_INPUT, "%s: n_heads %d is not a multiple of n_kv_heads %d",
                             name, c->n_heads, c->n_kv_heads);
    if (!(c->norm_eps > 0.0f && c->norm_eps < 1.0f))
        return formats_error(err, ENGINE_ERR_INPUT, "%s: norm_eps %g, expected 0 < eps < 1", name, c->norm_eps);
    if (!(c->rope_theta > 1.0f && c->rope_theta < 1e12f))
        return formats_error(err, ENGINE_ERR_INPUT, "%s: rope_theta %g, expected > 1", name, c->rope_theta);
    return 0;
}

static uint64_t tensor_bytes(const engine_tensor *t)
{
    return engine_dtype_bytes(t->type, t->rows * t->cols);
}

uint64_t formats_decode_bytes(const engine_model *m)
{
    uint64_t b = tensor_bytes(&m->classifier); /* the embedding itself when tied */
    for (int l = 0; l < m->cfg.n_layers; l++) {
        const engine_layer *L = &m->layers[l];
        b += tensor_bytes(&L->wq) + tensor_bytes(&L->wk) + tensor_bytes(&L->wv) +
             tensor_bytes(&L->wo) + tensor_bytes(&L->w1) + tensor_bytes(&L->w2) +
             tensor_bytes(&L->w3);
    }
    return b;
}

uint64_t formats_weight_bytes(const engine_model *m)
{
    /* decode reads one row of the embedding table; an untied one is extra storage */
    uint64_t b = formats_decode_bytes(m);
    if (!m->cfg.shared_classifier)
        b += tensor_bytes(&m->tok_embeddings);
    return b;
}

int engine_model_load(const char *path, engine_model **out, engine_error *err)
{
    *out = NULL;
    if (!path || !*path)
        return formats_error(err, ENGINE_ERR_INPUT, "no model path given");
    /* n_layers is not known yet: loaders grow m->layers once they read it. */
    engine_model *m = formats_model_new(1);
    if (!m)
        return formats_error(err, ENGINE_ERR_SYSTEM, "out of memory");
    const uint8_t *data;
    size_t len;
    if (formats_map_file(m, path, &data, &len, err)) {
        engine_model_free(m);
        return -1;
    }
    snprintf(m->source, sizeof m->source, "%s", path);
    int rc;
    if (len >= 4 && !memcmp(data, "GGUF", 4))
        rc = formats_load_gguf(m, path, data, len, err);
    else
        rc = formats_load_llama2c(m, path, data, len, err);
    if (rc == 0)
        rc = formats_check_config(&m->cfg, path, err);
    if (rc) {
        engine_model_free(m);
        return -1;
    }
    m->weight_bytes = formats_weight_bytes(m);
    m->decode_bytes = formats_decode_bytes(m);
    *out = m;
    return 0;
}

static int64_t file_offset(const engine_model *m, const void *p)
{
    const formats_store *st = m->impl;
    const uint8_t *base = st->map, *q = p;
    return base && q >= base && q < base + st->map_len ? (int64_t)(q - base) : -1;
}

static void add_row(const engine_model *m, engine_tensor_row *rows, int max, int *n, const char *name,
                    engine_dtype type, int n_dims, int64_t ne0, int64_t ne1, const void *data)
{
    if (*n >= max)
        return;
    if (!data)
        return;   /* an optional tensor the model has not */
    engine_tensor_row *r = &rows[(*n)++];
    snprintf(r->name, sizeof r->name, "%s", name);
    r->type = type;
    r->n_dims = n_dims;
    r->ne0 = ne0;
    r->ne1 = ne1;
    r->bytes = engine_dtype_bytes(type, ne0 * ne1);
    r->file_offset = file_offset(m, data);
}

int engine_model_tensors(const engine_model *m, engine_tensor_row *rows, int max)
{
    int n = 0, dim = m->cfg.dim, hd = engine_config_head_dim(&m->cfg);
    int q_dim = m->cfg.n_heads * hd, kv_dim = m->cfg.n_kv_heads * hd;
    char name[64];
#define MAT(nm, t) add_row(m, rows, max, &n, nm, (t).type, 2, (t).cols, (t).rows, (t).data)
#define VEC(nm, v, len) add_row(m, rows, max, &n, nm, ENGINE_DTYPE_F32, 1, len, 1, v)
    MAT("token_embd.weight", m->tok_embeddings);
    VEC("output_norm.weight", m->rms_final, dim);
    if (!m->cfg.shared_classifier)
        MAT("output.weight", m->classifier);
    VEC("rope_freqs.weight", m->rope_freqs, hd / 2);
    for (int l = 0; l < m->cfg.n_layers; l++) {
        const engine_layer *L = &m->layers[l];
        static const char *const names[] = {"attn_q", "attn_k", "attn_v", "attn_output",
                                            "ffn_gate", "ffn_down", "ffn_up"};
        const engine_tensor *mats[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w1, &L->w2, &L->w3};
        const float *biases[] = {L->bq, L->bk, L->bv};
        const int bias_len[] = {q_dim, kv_dim, kv_dim};
        snprintf(name, sizeof name, "blk.%d.attn_norm.weight", l);
        VEC(name, L->rms_att, dim);
        for (int i = 0; i < 7; i++) {
            snprintf(name, sizeof name, "blk.%d.%s.weight", l, names[i]);
            MAT(name, *mats[i]);
            if (i < 3) {
                snprintf(name, sizeof name, "blk.%d.%s.bias", l, names[i]);
                VEC(name, biases[i], bias_len[i]);
            }
            if (i == 1) {
                snprintf(name, sizeof name, "blk.%d.attn_q_norm.weight", l);
                VEC(name, L->q_norm, hd);
                snprintf(name, sizeof name, "blk.%d.attn_k_norm.weight", l);
                VEC(name, L->k_norm, hd);
            }
            if (i == 3) {
                snprintf(name, sizeof name, "blk.%d.ffn_norm.weight", l);
                VEC(name, L->rms_ffn, dim);
            }
        }
    }
#undef MAT
#undef VEC
    return n;
}
