/* GGUF v2/v3 reader (architectures "llama", "qwen2", "qwen3") and v3 writer.
 *
 * Layout (ggml docs/gguf.md): "GGUF", uint32 version, uint64 tensor count,
 * uint64 metadata count; metadata as (string key, uint32 type, value);
 * tensor infos as (string name, uint32 n_dims, uint64 ne[n_dims], uint32
 * ggml type, uint64 offset); then the data section at the next multiple of
 * general.alignment (default 32), each tensor at its offset from there.
 * Strings are uint64 length + bytes. ne[0] is the row length.
 *
 * The reader checks every read against the end of the file and every count
 * against what the remaining bytes could hold, so a truncated or hostile
 * file gives an error naming the byte offset or key, never a crash. */
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
#include "quant.h"
#include "quant_k.h"

enum gguf_type {
    GGUF_U8 = 0, GGUF_I8, GGUF_U16, GGUF_I16, GGUF_U32, GGUF_I32, GGUF_F32, GGUF_BOOL,
    GGUF_STRING, GGUF_ARRAY, GGUF_U64, GGUF_I64, GGUF_F64, GGUF_TYPE_COUNT
};

static const size_t gguf_type_size[GGUF_TYPE_COUNT] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};

/* ggml_type numbers of the element types this engine runs. */
enum { GGML_F32 = 0, GGML_F16 = 1, GGML_Q4_0 = 2, GGML_Q8_0 = 8, GGML_Q4_K = 12, GGML_Q5_K = 13, GGML_Q6_K = 14,
       GGML_BF16 = 30 };

#define GGUF_MAX_TENSORS 65536
#define GGUF_MAX_KV 65536
#define GGUF_MAX_NAME 256
#define GGUF_DEFAULT_ALIGNMENT 32

typedef struct gguf_kv {
    const char *key;
    size_t key_len;
    uint32_t type;
    size_t value_off;     /* file offset of the value */
    uint32_t arr_type;    /* arrays: element type, count, offset of the first element */
    uint64_t arr_n;
    size_t arr_off;
} gguf_kv;

typedef struct gguf_tensor {
    char name[GGUF_MAX_NAME + 1];
    size_t info_off;      /* file offset of the info record, for messages */
    uint32_t n_dims;
    uint64_t ne[4];
    uint32_t ggml_type;
    engine_dtype type;
    uint64_t offset;      /* from the data section start */
    uint64_t bytes;
    const uint8_t *data;
} gguf_tensor;

typedef struct gguf_file {
    const char *path;
    const uint8_t *data;
    size_t len, pos;
    engine_error *err;
    uint32_t version;
    uint64_t n_tensors, n_kv;
    gguf_kv *kv;
    gguf_tensor *tensors;
    size_t alignment, data_start;
} gguf_file;

/* ---- bounds-checked reads --------------------------------------------- */

static int need(gguf_file *g, size_t n, const char *what)
{
    if (g->len - g->pos < n)
        return formats_error(g->err, ENGINE_ERR_INPUT,
                             "%s: truncated at byte %zu: expected %s (%zu bytes), %zu bytes left",
                             g->path, g->pos, what, n, g->len - g->pos);
    return 0;
}

static int rd_u32(gguf_file *g, uint32_t *v, const char *what)
{
    if (need(g, 4, what))
        return -1;
    memcpy(v, g->data + g->pos, 4);
    g->pos += 4;
    return 0;
}

static int rd_u64(gguf_file *g, uint64_t *v, const char *what)
{
    if (need(g, 8, what))
        return -1;
    memcpy(v, g->data + g->pos, 8);
    g->pos += 8;
    return 0;
}

static int rd_str(gguf_file *g, const char **s, size_t *len, uint64_t max, const char *what)
{
    uint64_t n;
    size_t at = g->pos;
    if (rd_u64(g, &n, what))
        return -1;
    if (n > max || n > g->len - g->pos)
        return formats_error(g->err, ENGINE_ERR_INPUT,
                             "%s: byte %zu: %s has length %llu, expected at most %llu (%zu bytes left)",
                             g->path, at, what, (unsigned long long)n, (unsigned long long)max,
                             g->len - g->pos);
    *s = (const char *)g->data + g->pos;
    *len = (size_t)n;
    g->pos += (size_t)n;
    return 0;
}

/* Skips one value of `type`; arrays recurse once (arrays of arrays are legal GGUF). */
static int skip_value(gguf_file *g, uint32_t type, int depth, const char *key)
{
    if (type >= GGUF_TYPE_COUNT)
        return formats_error(g->err, ENGINE_ERR_INPUT, "%s: byte %zu: key %s has unknown value type %u",
                             g->path, g->pos, key, type);
    if (type == GGUF_STRING) {
        const char *s;
        size_t n;
        return rd_str(g, &s, &n, UINT64_MAX, key);
    }
    if (type != GGUF_ARRAY)
        return need(g, gguf_type_size[type], key) ? -1 : (g->pos += gguf_type_size[type], 0);
    uint32_t et;
    uint64_t n;
    size_t at = g->pos;
    if (depth > 2)
        return formats_error(g->err, ENGINE_ERR_INPUT, "%s: byte %zu: key %s nests arrays too deep",
                             g->path, at, key);
    if (rd_u32(g, &et, key) || rd_u64(g, &n, key))
        return -1;
    if (et >= GGUF_TYPE_COUNT)
        return formats_error(g->err, ENGINE_ERR_INPUT, "%s: byte %zu: key %s: unknown array element type %u",
                             g->path, at, key, et);
    if (et != GGUF_STRING && et != GGUF_ARRAY) {
        if (n > (g->len - g->pos) / gguf_type_size[et])
            return formats_error(g->err, ENGINE_ERR_INPUT,
                                 "%s: byte %zu: key %s: array of %llu elements does not fit in the %zu bytes left",
                                 g->path, at, key, (unsigned long long)n, g->len - g->pos);
        g->pos += (size_t)n * gguf_type_size[et];
        return 0;
    }
    /* Each string or array needs at least 8 bytes, which bounds the count. */
    if (n > (g->len - g->pos) / 8)
        return formats_error(g->err, ENGINE_ERR_INPUT,
                             "%s: byte %zu: key %s: array of %llu elements does not fit in the %zu bytes left",
                             g->path, at, key, (unsigned long long)n, g->len - g->pos);
    for (uint64_t i = 0; i < n; i++)
        if (skip_value(g, et, depth + 1, key))
            return -1;
    return 0;
}

/* ---- header, metadata, tensor infos ----------------------------------- */

static const gguf_kv *find_kv(const gguf_file *g, const char *key)
{
    size_t n = strlen(key);
    for (uint64_t i = 0; i < g->n_kv; i++)
        if (g->kv[i].key_len == n && !memcmp(g->kv[i].key, key, n))
            return &g->kv[i];
    return NULL;
}

/* Integer metadata of any integer type; 1 found, 0 absent, -1 bad. */
static int kv_int(gguf_file *g, const char *key, int64_t *out)
{
    const gguf_kv *kv = find_kv(g, key);
    if (!kv)
        return 0;
    const uint8_t *p = g->data + kv->value_off;
    switch (kv->type) {
    case GGUF_U8: *out = *p; return 1;
    case GGUF_I8: *out = (int8_t)*p; return 1;
    case GGUF_U16: { uint16_t v; memcpy(&v, p, 2); *out = v; return 1; }
    case GGUF_I16: { int16_t v; memcpy(&v, p, 2); *out = v; return 1; }
    case GGUF_U32: { uint32_t v; memcpy(&v, p, 4); *out = v; return 1; }
    case GGUF_I32: { int32_t v; memcpy(&v, p, 4); *out = v; return 1; }
    case GGUF_U64: { uint64_t v; memcpy(&v, p, 8); *out = v > INT64_MAX ? INT64_MAX : (int64_t)v; return 1; }
    case GGUF_I64: { int64_t v; memcpy(&v, p, 8); *out = v; return 1; }
    default:
        return formats_error(g->err, ENGINE_ERR_INPUT, "%s: key %s: value type %u, expected an integer",
                             g->path, key, kv->type);
    }
}

static int kv_float(gguf_file *g, const char *key, double *out)
{
    const gguf_kv *kv = find_kv(g, key);
    if (!kv)
        return 0;
    const uint8_t *p = g->data + kv->value_off;
    if (kv->type == GGUF_F32) {
        float v;
        memcpy(&v, p, 4);
        *out = v;
        return 1;
    }
    if (kv->type == GGUF_F64) {
        memcpy(out, p, 8);
        return 1;
    }
    int64_t i;
    int rc = kv_int(g, key, &i);
    if (rc == 1)
        *out = (double)i;
    return rc;
}

/* String metadata: 1 found (s, len point into the file), 0 absent, -1 bad. */
static int kv_str(gguf_file *g, const char *key, const char **s, size_t *len)
{
    const gguf_kv *kv = find_kv(g, key);
    if (!kv)
        return 0;
    if (kv->type != GGUF_STRING)
        return formats_error(g->err, ENGINE_ERR_INPUT, "%s: key %s: value type %u, expected a string",
                             g->path, key, kv->type);
    uint64_t n;
    memcpy(&n, g->data + kv->value_off, 8);
    *s = (const char *)g->data + kv->value_off + 8;
    *len = (size_t)n;
    return 1;
}

static int parse_kvs(gguf_file *g)
{
    g->kv = calloc(g->n_kv ? (size_t)g->n_kv : 1, sizeof *g->kv);
    if (!g->kv)
        return formats_error(g->err, ENGINE_ERR_SYSTEM, "out of memory");
    for (uint64_t i = 0; i < g->n_kv; i++) {
        gguf_kv *kv = &g->kv[i];
        char what[64];
        snprintf(what, sizeof what, "the key of metadata entry %llu", (unsigned long long)i);
        if (rd_str(g, &kv->key, &kv->key_len, 65535, what))
            return -1;
        char key[128];
        snprintf(key, sizeof key, "%.*s", (int)(kv->key_len < 100 ? kv->key_len : 100), kv->key);
        if (rd_u32(g, &kv->type, key))
            return -1;
        kv->value_off = g->pos;
        if (kv->type == GGUF_ARRAY && g->len - g->pos >= 12) {
            memcpy(&kv->arr_type, g->data + g->pos, 4);
            memcpy(&kv->arr_n, g->data + g->pos + 4, 8);
            kv->arr_off = g->pos + 12;
        }
        if (skip_value(g, kv->type, 0, key))
            return -1;
    }
    return 0;
}

static int ggml_to_dtype(uint32_t t, engine_dtype *out)
{
    switch (t) {
    case GGML_F32: *out = ENGINE_DTYPE_F32; return 0;
    case GGML_F16: *out = ENGINE_DTYPE_F16; return 0;
    case GGML_BF16: *out = ENGINE_DTYPE_BF16; return 0;
    case GGML_Q8_0: *out = ENGINE_DTYPE_Q8_0; return 0;
    case GGML_Q4_0: *out = ENGINE_DTYPE_Q4_0; return 0;
    case GGML_Q4_K: *out = ENGINE_DTYPE_Q4_K; return 0;
    case GGML_Q5_K: *out = ENGINE_DTYPE_Q5_K; return 0;
    case GGML_Q6_K: *out = ENGINE_DTYPE_Q6_K; return 0;
    default: return -1;
    }
}

static uint32_t dtype_to_ggml(engine_dtype t)
{
    static const uint32_t map[ENGINE_DTYPE_COUNT] = {GGML_F32, GGML_F16, GGML_BF16, GGML_Q8_0, GGML_Q4_0,
                                                     GGML_Q4_K, GGML_Q5_K, GGML_Q6_K};
    return map[t];
}

static int parse_tensor_info(gguf_file *g, gguf_tensor *t, uint64_t i)
{
    const char *name;
    size_t name_len;
    char what[64];
    t->info_off = g->pos;
    snprintf(what, sizeof what, "the name of tensor %llu", (unsigned long long)i);
    if (rd_str(g, &name, &name_len, GGUF_MAX_NAME, what))
        return -1;
    memcpy(t->name, name, name_len);
    t->name[name_len] = 0;
    size_t at = g->pos;
    if (rd_u32(g, &t->n_dims, t->name))
        return -1;
    if (t->n_dims < 1 || t->n_dims > 4)
        return formats_error(g->err, ENGINE_ERR_INPUT, "%s: byte %zu: tensor %s has %u dimensions, expected 1..4",
                             g->path, at, t->name, t->n_dims);
    uint64_t count = 1;
    for (uint32_t d = 0; d < 4; d++) {
        t->ne[d] = 1;
        if (d >= t->n_dims)
            continue;
        at = g->pos;
        if (rd_u64(g, &t->ne[d], t->name))
            return -1;
        if (t->ne[d] < 1 || t->ne[d] > (1ull << 40) || count > (1ull << 44) / t->ne[d])
            return formats_error(g->err, ENGINE_ERR_INPUT,
                                 "%s: byte %zu: tensor %s: ne[%u] = %llu, expected 1..2^40 with at most 2^44 elements",
                                 g->path, at, t->name, d, (unsigned long long)t->ne[d]);
        count *= t->ne[d];
    }
    at = g->pos;
    if (rd_u32(g, &t->ggml_type, t->name) || rd_u64(g, &t->offset, t->name))
        return -1;
    if (ggml_to_dtype(t->ggml_type, &t->type))
        return formats_error(g->err, ENGINE_ERR_INPUT,
                             "%s: byte %zu: tensor %s has ggml type %u, expected F32 (0), F16 (1), BF16 (30), "
                             "Q8_0 (8), Q4_0 (2), Q4_K (12), Q5_K (13) or Q6_K (14)", g->path, at, t->name,
                             t->ggml_type);
    int block = engine_dtype_block(t->type);
    if (t->ne[0] % (uint64_t)block)
        return formats_error(g->err, ENGINE_ERR_INPUT,
                             "%s: tensor %s: row length ne[0] = %llu is not a multiple of the %s block (%d)",
                             g->path, t->name, (unsigned long long)t->ne[0], engine_dtype_name(t->type), block);
    t->bytes = engine_dtype_bytes(t->type, (int64_t)count);
    return 0;
}

static void gguf_close(gguf_file *g)
{
    free(g->kv);
    free(g->tensors);
    g->kv = NULL;
    g->tensors = NULL;
}

/* Header and metadata only (enough for the vocabulary). */
static int gguf_parse_metadata(gguf_file *g, const char *path, const uint8_t *data, size_t len, engine_error *err)
{
    memset(g, 0, sizeof *g);
    g->path = path;
    g->data = data;
    g->len = len;
    g->err = err;
    if (len < 4 || memcmp(data, "GGUF", 4))
        return formats_error(err, ENGINE_ERR_INPUT, "%s: byte 0: expected the magic \"GGUF\"", path);
    g->pos = 4;
    if (rd_u32(g, &g->version, "the version"))
        return -1;
    if (g->version != 2 && g->version != 3)
        return formats_error(err, ENGINE_ERR_INPUT, "%s: byte 4: GGUF version %u, expected 2 or 3", path, g->version);
    if (rd_u64(g, &g->n_tensors, "the tensor count") || rd_u64(g, &g->n_kv, "the metadata count"))
        return -1;
    if (g->n_tensors > GGUF_MAX_TENSORS || g->n_tensors > len / 24)
        return formats_error(err, ENGINE_ERR_INPUT, "%s: byte 8: tensor count %llu, expected at most %d",
                             path, (unsigned long long)g->n_tensors, GGUF_MAX_TENSORS);
    if (g->n_kv > GGUF_MAX_KV || g->n_kv > len / 12)
        return formats_error(err, ENGINE_ERR_INPUT, "%s: byte 16: metadata count %llu, expected at most %d",
                             path, (unsigned long long)g->n_kv, GGUF_MAX_KV);
    return parse_kvs(g);
}

/* Parses everything but the meaning: header, metadata, tensor infos, and
 * checks that every tensor lies inside the file. */
static int gguf_parse(gguf_file *g, const char *path, const uint8_t *data, size_t len, engine_error *err)
{
    if (gguf_parse_metadata(g, path, data, len, err))
        return -1;
    int64_t align = GGUF_DEFAULT_ALIGNMENT;
    int rc = kv_int(g, "general.alignment", &align);
    if (rc < 0)
        return -1;
    if (align < 1 || align > (1 << 20) || (align & (align - 1)))
        return formats_error(err, ENGINE_ERR_INPUT, "%s: key general.alignment = %lld, expected a power of two",
                             path, (long long)align);
    g->alignment = (size_t)align;
    g->tensors = calloc(g->n_tensors ? (size_t)g->n_tensors : 1, sizeof *g->tensors);
    if (!g->tensors)
        return formats_error(err, ENGINE_ERR_SYSTEM, "out of memory");
    for (uint64_t i = 0; i < g->n_tensors; i++)
        if (parse_tensor_info(g, &g->tensors[i], i))
            return -1;
    g->data_start = (g->pos + g->alignment - 1) / g->alignment * g->alignment;
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        gguf_tensor *t = &g->tensors[i];
        if (t->offset % g->alignment)
            return formats_error(err, ENGINE_ERR_INPUT, "%s: byte %zu: tensor %s: offset %llu is not a multiple of "
                                 "the alignment %zu", path, t->info_off, t->name,
                                 (unsigned long long)t->offset, g->alignment);
        if (g->data_start > len || t->offset > len - g->data_start || t->bytes > len - g->data_start - t->offset)
            return formats_error(err, ENGINE_ERR_INPUT,
                                 "%s: tensor %s (info at byte %zu): data at bytes %llu..%llu lies past the end "
                                 "of the file (%zu bytes)", path, t->name, t->info_off,
                                 (unsigned long long)(g->data_start + t->offset),
                                 (unsigned long long)(g->data_start + t->offset + t->bytes), len);
        t->data = data + g->data_start + t->offset;
    }
    return 0;
}

/* ---- vocabulary --------------------------------------------------------- */

/* Boolean metadata: 1 found, 0 absent, -1 bad. */
static int kv_bool(gguf_file *g, const char *key, bool *out)
{
    const gguf_kv *kv = find_kv(g, key);
    if (!kv)
        return 0;
    if (kv->type != GGUF_BOOL)
        return formats_error(g->err, ENGINE_ERR_INPUT, "%s: key %s: value type %u, expected a bool",
                             g->path, key, kv->type);
    *out = g->data[kv->value_off] != 0;
    return 1;
}

/* An array of strings as pointers into the file (parse_kvs checked their
 * bounds); each at most 65535 bytes. */
static int kv_strings(gguf_file *g, const char *key, const gguf_kv *kv, const char ***out, uint32_t **lens, int *n)
{
    *out = NULL;
    *lens = NULL;
    if (!kv || kv->type != GGUF_ARRAY || kv->arr_type != GGUF_STRING)
        return formats_error(g->err, ENGINE_ERR_INPUT, "%s: key %s: %s, expected an array of strings", g->path, key,
                             kv ? "wrong type" : "missing");
    if (kv->arr_n > (1u << 24))
        return formats_error(g->err, ENGINE_ERR_INPUT, "%s: key %s: %llu entries, expected at most %d",
                             g->path, key, (unsigned long long)kv->arr_n, 1 << 24);
    *n = (int)kv->arr_n;
    *out = malloc(((size_t)*n + 1) * sizeof **out);
    *lens = malloc(((size_t)*n + 1) * sizeof **lens);
    if (!*out || !*lens)
        return formats_error(g->err, ENGINE_ERR_SYSTEM, "out of memory");
    size_t off = kv->arr_off;
    for (int i = 0; i < *n; i++) {
        uint64_t l;
        memcpy(&l, g->data + off, 8);
        if (l > 65535)
            return formats_error(g->err, ENGINE_ERR_INPUT, "%s: byte %zu: %s entry %d has length %llu, expected "
                                 "< 65536", g->path, off, key, i, (unsigned long long)l);
        (*out)[i] = (const char *)g->data + off + 8;
        (*lens)[i] = (uint32_t)l;
        off += 8 + (size_t)l;
    }
    return 0;
}

/* Reads tokenizer.ggml.* into a tokenizer: "llama" (SentencePiece) or
 * "gpt2" (byte-level BPE). *out stays NULL when the file has no vocabulary
 * (no tokenizer.ggml.model, or "none"/"no_vocab"); any other model is an
 * error naming the key. */
static int gguf_vocab(gguf_file *g, engine_tokenizer **out)
{
    *out = NULL;
    const char *model = NULL;
    size_t model_len = 0;
    int rc = kv_str(g, "tokenizer.ggml.model", &model, &model_len);
    if (rc <= 0)
        return rc;
#define MODEL_IS(name) (model_len == strlen(name) && !memcmp(model, name, model_len))
    if (MODEL_IS("none") || MODEL_IS("no_vocab"))
        return 0;
    bool bpe = MODEL_IS("gpt2");
    if (!bpe && !MODEL_IS("llama")) {
        char shown[64];
        size_t k = 0;
        for (size_t i = 0; i < model_len && k + 1 < sizeof shown; i++)
            shown[k++] = model[i] >= 0x20 && model[i] < 0x7f ? model[i] : '?';
        shown[k] = 0;
        return formats_error(g->err, ENGINE_ERR_INPUT, "%s: key tokenizer.ggml.model is \"%s\", expected \"llama\" "
                             "(SentencePiece) or \"gpt2\" (byte-level BPE)", g->path, shown);
    }
#undef MODEL_IS
    const char **pieces = NULL, **merges = NULL;
    uint32_t *lens = NULL, *merge_lens = NULL;
    float *scores = NULL;
    int32_t *types = NULL;
    int n = 0, n_merges = 0;
    rc = -1;
    if (kv_strings(g, "tokenizer.ggml.tokens", find_kv(g, "tokenizer.ggml.tokens"), &pieces, &lens, &n))
        goto done;
    const gguf_kv *sc = find_kv(g, "tokenizer.ggml.scores");
    const gguf_kv *ty = find_kv(g, "tokenizer.ggml.token_type");
    if (sc && (sc->type != GGUF_ARRAY || sc->arr_type != GGUF_F32 || sc->arr_n != (uint64_t)n)) {
        formats_error(g->err, ENGINE_ERR_INPUT, "%s: key tokenizer.ggml.scores: expected %d float32", g->path, n);
        goto done;
    }
    if (ty && (ty->type != GGUF_ARRAY || ty->arr_type != GGUF_I32 || ty->arr_n != (uint64_t)n)) {
        formats_error(g->err, ENGINE_ERR_INPUT, "%s: key tokenizer.ggml.token_type: expected %d int32", g->path, n);
        goto done;
    }
    scores = sc ? malloc((size_t)n * sizeof *scores + 1) : NULL;
    types = ty ? malloc((size_t)n * sizeof *types + 1) : NULL;
    if ((sc && !scores) || (ty && !types)) {
        formats_error(g->err, ENGINE_ERR_SYSTEM, "out of memory");
        goto done;
    }
    if (sc)
        memcpy(scores, g->data + sc->arr_off, (size_t)n * 4);
    if (ty)
        memcpy(types, g->data + ty->arr_off, (size_t)n * 4);
    const char *pre = NULL;
    size_t pre_len = 0;
    if (bpe && (kv_strings(g, "tokenizer.ggml.merges", find_kv(g, "tokenizer.ggml.merges"), &merges, &merge_lens,
                           &n_merges) || kv_str(g, "tokenizer.ggml.pre", &pre, &pre_len) < 0))
        goto done;
    /* Default ids as llama.cpp's: 1/2 (SentencePiece), 11/11 (BPE), none when outside the vocabulary. */
    int64_t ids[2] = {bpe ? 11 : 1, bpe ? 11 : 2};
    const char *id_keys[2] = {"tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id"};
    for (int k = 0; k < 2; k++) {
        int found = kv_int(g, id_keys[k], &ids[k]);
        if (found < 0)
            goto done;
        if (found && (ids[k] < 0 || ids[k] >= n)) {
            formats_error(g->err, ENGINE_ERR_INPUT, "%s: key %s = %lld, outside the %d-token vocabulary", g->path,
                          id_keys[k], (long long)ids[k], n);
            goto done;
        }
        if (!found && ids[k] >= n)
            ids[k] = -1;
    }
    static const char *const eog_keys[5] = {"tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id",
                                            "tokenizer.ggml.fim_pad_token_id", "tokenizer.ggml.fim_rep_token_id",
                                            "tokenizer.ggml.fim_sep_token_id"};
    int eog_meta[5] = {0}, n_eog_meta = 0;
    for (int k = 0; k < 5; k++) {
        int64_t id = -1;
        int found = kv_int(g, eog_keys[k], &id);
        if (found < 0)
            goto done;
        if (found && (id < 0 || id >= n)) {
            formats_error(g->err, ENGINE_ERR_INPUT, "%s: key %s = %lld, outside the %d-token vocabulary", g->path,
                          eog_keys[k], (long long)id, n);
            goto done;
        }
        if (found)
            eog_meta[n_eog_meta++] = (int)id;
    }
    bool add_bos = false, add_eos = false;
    int has_bos = kv_bool(g, "tokenizer.ggml.add_bos_token", &add_bos);
    int has_eos = kv_bool(g, "tokenizer.ggml.add_eos_token", &add_eos);
    if (has_bos < 0 || has_eos < 0)
        goto done;
    formats_vocab v = {.n = n, .pieces = pieces, .lens = lens, .scores = scores, .types = types,
                       .bos = (int)ids[0], .eos = (int)ids[1], .spm_escaped = !bpe,
                       .kind = bpe ? FORMATS_VOCAB_BPE : FORMATS_VOCAB_SPM,
                       .add_bos = has_bos ? (add_bos ? 1 : -1) : 0, .add_eos = has_eos ? (add_eos ? 1 : -1) : 0,
                       .n_merges = n_merges, .merges = merges, .merge_lens = merge_lens,
                       .pre = pre, .pre_len = pre_len, .source = g->path};
    v.n_eog_meta = n_eog_meta;
    memcpy(v.eog_meta, eog_meta, sizeof v.eog_meta);
    rc = formats_tokenizer_build(&v, out, g->err);
done:
    free(pieces);
    free(lens);
    free(merges);
    free(merge_lens);
    free(scores);
    free(types);
    return rc;
}

int formats_tokenizer_load_gguf(const char *path, int vocab_size, engine_tokenizer **out, engine_error *err)
{
    *out = NULL;
    engine_model *holder = formats_model_new(1);   /* owns the mapping until we are done */
    if (!holder)
        return formats_error(err, ENGINE_ERR_SYSTEM, "out of memory");
    const uint8_t *data;
    size_t len;
    gguf_file g = {0};
    int rc = formats_map_file(holder, path, &data, &len, err);
    if (rc == 0)
        rc = gguf_parse_metadata(&g, path, data, len, err);
    if (rc == 0)
        rc = gguf_vocab(&g, out);
    if (rc == 0 && !*out)
        rc = formats_error(err, ENGINE_ERR_INPUT, "%s: no vocabulary (tokenizer.ggml.model \"llama\" or \"gpt2\" "
                           "with tokenizer.ggml.tokens)", path);
    if (rc == 0 && vocab_size > 0 && engine_tokenizer_vocab_size(*out) != vocab_size)
        rc = formats_error(err, ENGINE_ERR_INPUT, "%s: holds %d tokens, the model's vocab_size is %d", path,
                           engine_tokenizer_vocab_size(*out), vocab_size);
    if (rc) {
        engine_tokenizer_free(*out);
        *out = NULL;
    }
    gguf_close(&g);
    engine_model_free(holder);
    return rc;
}

/* ---- the model ------------------------------------------------------- */

static const gguf_tensor *find_tensor(const gguf_file *g, const char *name)
{
    for (uint64_t i = 0; i < g->n_tensors; i++)
        if (!strcmp(g->tensors[i].name, name))
            return &g->tensors[i];
    return NULL;
}

/* A tensor of ne0 x ne1 (ne1 = 0: a vector of ne0). */
static const gguf_tensor *get_tensor(gguf_file *g, const char *name, uint64_t ne0, uint64_t ne1, bool optional)
{
    const gguf_tensor *t = find_tensor(g, name);
    if (!t) {
        if (!optional)
            formats_error(g->err, ENGINE_ERR_INPUT, "%s: missing tensor %s", g->path, name);
        return NULL;
    }
    uint64_t want1 = ne1 ? ne1 : 1;
    if (t->ne[0] != ne0 || t->ne[1] != want1 || t->ne[2] != 1 || t->ne[3] != 1) {
        formats_error(g->err, ENGINE_ERR_INPUT,
                      "%s: tensor %s (info at byte %zu) has shape [%llu, %llu, %llu, %llu], expected [%llu, %llu]",
                      g->path, name, t->info_off, (unsigned long long)t->ne[0], (unsigned long long)t->ne[1],
                      (unsigned long long)t->ne[2], (unsigned long long)t->ne[3], (unsigned long long)ne0,
                      (unsigned long long)want1);
        return NULL;
    }
    return t;
}

/* K-quant blocks hold f16 super-block scales: an infinite or NaN one
 * would poison every dot product it enters, so it is refused at load. */
static int check_blocks(gguf_file *g, const gguf_tensor *t)
{
    if (!(ENGINE_DTYPES_KQUANT & (1u << t->type)))
        return 0;
    int block_bytes = (int)engine_dtype_bytes(t->type, QK_K);
    int64_t bad = quant_k_check_blocks(block_bytes, t->data, (int64_t)(t->bytes / (uint64_t)block_bytes));
    if (bad >= 0)
        return formats_error(g->err, ENGINE_ERR_INPUT,
                             "%s: tensor %s: %s block %lld (byte %llu) has a non-finite f16 scale (d or dmin)",
                             g->path, t->name, engine_dtype_name(t->type), (long long)bad,
                             (unsigned long long)(g->data_start + t->offset + (uint64_t)bad * block_bytes));
    return 0;
}

static int get_matrix(gguf_file *g, const char *name, int64_t rows, int64_t cols, engine_tensor *out)
{
    const gguf_tensor *t = get_tensor(g, name, (uint64_t)cols, (uint64_t)rows, false);
    if (!t || check_blocks(g, t))
        return -1;
    *out = (engine_tensor){.type = t->type, .rows = rows, .cols = cols, .data = t->data};
    return 0;
}

/* Vectors (norms, biases, rope_freqs) of len elements end as f32: pointed
 * at when stored so, converted otherwise. An optional one that is absent
 * leaves *out NULL. */
static int get_vector(gguf_file *g, engine_model *m, const char *name, int len, bool optional, const float **out)
{
    int dim = len;
    *out = NULL;
    const gguf_tensor *t = get_tensor(g, name, (uint64_t)dim, 0, optional);
    if (!t)
        return optional && !find_tensor(g, name) ? 0 : -1;
    if (check_blocks(g, t))
        return -1;
    if (t->type == ENGINE_DTYPE_F32 && ((uintptr_t)t->data & 3) == 0) {
        *out = (const float *)t->data;
        return 0;
    }
    float *f = formats_model_alloc(m, (size_t)dim * sizeof *f);
    if (!f)
        return formats_error(g->err, ENGINE_ERR_SYSTEM, "out of memory");
    engine_dequantize_row(t->type, t->data, f, dim);
    *out = f;
    return 0;
}

/* "<arch>.<suffix>" into key. */
static const char *arch_key(char *key, size_t cap, const engine_config *c, const char *suffix)
{
    snprintf(key, cap, "%s.%s", engine_arch_name(c->arch), suffix);
    return key;
}

static int read_config(gguf_file *g, engine_config *c)
{
    const char *arch = NULL;
    size_t arch_len = 0;
    char name[32] = "", key[128];
    int rc = kv_str(g, "general.architecture", &arch, &arch_len);
    if (rc < 0)
        return -1;
    if (rc == 1 && arch_len < sizeof name)
        memcpy(name, arch, arch_len);
    if (rc == 0 || arch_len >= sizeof name || engine_arch_parse(name, &c->arch))
        return formats_error(g->err, ENGINE_ERR_INPUT, "%s: key general.architecture is \"%.*s\", expected "
                             "\"llama\", \"qwen2\" or \"qwen3\"", g->path,
                             rc ? (int)(arch_len < 64 ? arch_len : 64) : 0, rc ? arch : "");
    struct { const char *suffix; int *field; bool required; } ints[] = {
        {"embedding_length", &c->dim, true},
        {"feed_forward_length", &c->hidden_dim, true},
        {"block_count", &c->n_layers, true},
        {"attention.head_count", &c->n_heads, true},
        {"attention.head_count_kv", &c->n_kv_heads, false},
        {"context_length", &c->seq_len, true},
        {"attention.key_length", &c->head_dim, false},
    };
    c->n_kv_heads = 0;
    c->head_dim = 0;
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        int64_t v;
        arch_key(key, sizeof key, c, ints[i].suffix);
        rc = kv_int(g, key, &v);
        if (rc < 0)
            return -1;
        if (rc == 0 && ints[i].required)
            return formats_error(g->err, ENGINE_ERR_INPUT, "%s: missing key %s", g->path, key);
        if (rc == 1 && (v < 1 || v > (1 << 22)))
            return formats_error(g->err, ENGINE_ERR_INPUT, "%s: key %s = %lld, expected 1..%d", g->path,
                                 key, (long long)v, 1 << 22);
        if (rc == 1)
            *ints[i].field = (int)v;
    }
    if (c->n_kv_heads == 0)
        c->n_kv_heads = c->n_heads;
    if (c->head_dim && c->head_dim > 1024)
        return formats_error(g->err, ENGINE_ERR_INPUT, "%s: key %s = %d, expected at most 1024", g->path,
                             arch_key(key, sizeof key, c, "attention.key_length"), c->head_dim);
    /* q, k and v share one head width here: value_length must agree. */
    int64_t iv;
    if ((rc = kv_int(g, arch_key(key, sizeof key, c, "attention.value_length"), &iv)) < 0)
        return -1;
    if (rc && iv != engine_config_head_dim(c))
        return formats_error(g->err, ENGINE_ERR_INPUT, "%s: key %s = %lld, expected the head width %d "
                             "(attention.key_length or embedding_length / head_count)", g->path, key, (long long)iv,
                             engine_config_head_dim(c));
    /* RoPE over the whole head only. */
    if ((rc = kv_int(g, arch_key(key, sizeof key, c, "rope.dimension_count"), &iv)) < 0)
        return -1;
    if (rc && iv != engine_config_head_dim(c))
        return formats_error(g->err, ENGINE_ERR_INPUT, "%s: key %s = %lld, expected the head width %d (partial "
                             "RoPE is not supported)", g->path, key, (long long)iv, engine_config_head_dim(c));
    /* Scaling other than Llama 3's (which comes as rope_freqs.weight) would be silently wrong. */
    const char *scaling;
    size_t scaling_len;
    if ((rc = kv_str(g, arch_key(key, sizeof key, c, "rope.scaling.type"), &scaling, &scaling_len)) < 0)
        return -1;
    if (rc && !(scaling_len == 4 && !memcmp(scaling, "none", 4)))
        return formats_error(g->err, ENGINE_ERR_INPUT, "%s: key %s = \"%.*s\": RoPE scaling of this kind is not "
                             "supported (expected none; Llama 3 scaling comes as rope_freqs.weight)", g->path, key,
                             (int)(scaling_len < 64 ? scaling_len : 64), scaling);
    double v;
    if ((rc = kv_float(g, arch_key(key, sizeof key, c, "rope.freq_base"), &v)) < 0)
        return -1;
    if (rc)
        c->rope_theta = (float)v;
    if ((rc = kv_float(g, arch_key(key, sizeof key, c, "attention.layer_norm_rms_epsilon"), &v)) < 0)
        return -1;
    if (rc)
        c->norm_eps = (float)v;
    return 0;
}

static int read_layers(gguf_file *g, engine_model *m)
{
    const engine_config *c = &m->cfg;
    int hd = engine_config_head_dim(c);
    int64_t dim = c->dim, q_dim = (int64_t)hd * c->n_heads, kv_dim = (int64_t)hd * c->n_kv_heads, hid = c->hidden_dim;
    /* qwen3 needs its q/k norms; biases are read wherever a file has them
     * (qwen2 always does; llama.cpp applies them for llama too). */
    bool norms = c->arch == ENGINE_ARCH_QWEN3;
    char name[96];
    for (int l = 0; l < c->n_layers; l++) {
        engine_layer *L = &m->layers[l];
#define MATRIX(field, suffix, rows, cols) \
        snprintf(name, sizeof name, "blk.%d." suffix ".weight", l); \
        if (get_matrix(g, name, rows, cols, &L->field)) return -1;
#define VECTOR(field, suffix, len, optional) \
        snprintf(name, sizeof name, "blk.%d." suffix, l); \
        if (get_vector(g, m, name, (int)(len), optional, &L->field)) return -1;
        VECTOR(rms_att, "attn_norm.weight", dim, false)
        VECTOR(rms_ffn, "ffn_norm.weight", dim, false)
        MATRIX(wq, "attn_q", q_dim, dim)
        MATRIX(wk, "attn_k", kv_dim, dim)
        MATRIX(wv, "attn_v", kv_dim, dim)
        MATRIX(wo, "attn_output", dim, q_dim)
        MATRIX(w1, "ffn_gate", hid, dim)
        MATRIX(w2, "ffn_down", dim, hid)
        MATRIX(w3, "ffn_up", hid, dim)
        VECTOR(bq, "attn_q.bias", q_dim, true)
        VECTOR(bk, "attn_k.bias", kv_dim, true)
        VECTOR(bv, "attn_v.bias", kv_dim, true)
        if (c->arch == ENGINE_ARCH_QWEN2 && (!L->bq || !L->bk || !L->bv))
            return formats_error(g->err, ENGINE_ERR_INPUT, "%s: missing tensor blk.%d.attn_%s.bias (qwen2 has q/k/v "
                                 "biases)", g->path, l, !L->bq ? "q" : !L->bk ? "k" : "v");
        if (norms) {
            VECTOR(q_norm, "attn_q_norm.weight", hd, false)
            VECTOR(k_norm, "attn_k_norm.weight", hd, false)
        }
#undef MATRIX
#undef VECTOR
    }
    return 0;
}

int formats_load_gguf(engine_model *m, const char *path, const uint8_t *data, size_t len, engine_error *err)
{
    gguf_file g;
    int rc = -1;
    if (gguf_parse(&g, path, data, len, err) || read_config(&g, &m->cfg))
        goto done;
    snprintf(m->format, sizeof m->format, "gguf");
    engine_config *c = &m->cfg;
    const gguf_tensor *emb = find_tensor(&g, "token_embd.weight");
    if (!emb) {
        formats_error(err, ENGINE_ERR_INPUT, "%s: missing tensor token_embd.weight%s", path,
                      g.n_tensors ? "" : " (the file holds no tensors: a vocabulary-only GGUF?)");
        goto done;
    }
    if (emb->ne[1] > (1u << 22)) {
        formats_error(err, ENGINE_ERR_INPUT, "%s: tensor token_embd.weight: %llu rows, expected a vocabulary of at "
                      "most %d", path, (unsigned long long)emb->ne[1], 1 << 22);
        goto done;
    }
    c->vocab_size = (int)emb->ne[1];
    if (formats_check_config(c, path, err) || formats_model_layers(m, c->n_layers, err))
        goto done;
    if (get_matrix(&g, "token_embd.weight", c->vocab_size, c->dim, &m->tok_embeddings) ||
        get_vector(&g, m, "output_norm.weight", c->dim, false, &m->rms_final) ||
        get_vector(&g, m, "rope_freqs.weight", engine_config_head_dim(c) / 2, true, &m->rope_freqs) ||
        read_layers(&g, m))
        goto done;
    for (int j = 0; m->rope_freqs && j < engine_config_head_dim(c) / 2; j++)
        if (!(m->rope_freqs[j] > 0.0f && m->rope_freqs[j] < 1e30f)) {
            formats_error(err, ENGINE_ERR_INPUT, "%s: tensor rope_freqs.weight: element %d is %g, expected a positive "
                          "finite divisor", path, j, m->rope_freqs[j]);
            goto done;
        }
    /* No output tensor means a tied classifier; so does one that is a byte
     * copy of the embedding (llama.cpp's llama2.c converter writes both). */
    const gguf_tensor *out = get_tensor(&g, "output.weight", (uint64_t)c->dim, (uint64_t)c->vocab_size, true);
    if ((!out && find_tensor(&g, "output.weight")) || (out && check_blocks(&g, out)))
        goto done;
    c->shared_classifier = !out || (out->type == emb->type && !memcmp(out->data, emb->data, emb->bytes));
    m->classifier = m->tok_embeddings;
    if (!c->shared_classifier)
        m->classifier = (engine_tensor){.type = out->type, .rows = c->vocab_size, .cols = c->dim, .data = out->data};
    if (gguf_vocab(&g, &m->tokenizer))
        goto done;
    if (m->tokenizer && engine_tokenizer_vocab_size(m->tokenizer) != c->vocab_size) {
        formats_error(err, ENGINE_ERR_INPUT, "%s: the embedded vocabulary has %d tokens, token_embd.weight has %d rows",
                      path, engine_tokenizer_vocab_size(m->tokenizer), c->vocab_size);
        goto done;
    }
    rc = 0;
done:
    gguf_close(&g);
    return rc;
}

/* ---- writer ------------------------------------------------------------ */

typedef struct wbuf {
    uint8_t *p;
    size_t len, cap;
    bool oom;
} wbuf;

static void put(wbuf *b, const void *data, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
}

static void put_u32(wbuf *b, uint32_t v) { put(b, &v, 4); }
static void put_u64(wbuf *b, uint64_t v) { put(b, &v, 8); }

static void put_str(wbuf *b, const char *s, size_t n)
{
    put_u64(b, n);
    put(b, s, n);
}

static void put_key(wbuf *b, const char *key, uint32_t type)
{
    put_str(b, key, strlen(key));
    put_u32(b, type);
}

static void kv_u32(wbuf *b, const char *key, uint32_t v) { put_key(b, key, GGUF_U32); put_u32(b, v); }
static void kv_f32(wbuf *b, const char *key, float v) { put_key(b, key, GGUF_F32); put(b, &v, 4); }
static void kv_string(wbuf *b, const char *key, const char *s) { put_key(b, key, GGUF_STRING); put_str(b, s, strlen(s)); }

static void put_array_header(wbuf *b, const char *key, uint32_t type, uint64_t n)
{
    put_key(b, key, GGUF_ARRAY);
    put_u32(b, type);
    put_u64(b, n);
}

static void put_types(wbuf *b, const engine_tokenizer *t, int n)
{
    put_array_header(b, "tokenizer.ggml.token_type", GGUF_I32, (uint64_t)n);
    for (int i = 0; i < n; i++) {
        int32_t ty = formats_tokenizer_type(t, i);
        put(b, &ty, 4);
    }
}

/* Byte-level BPE: tokens and merges as stored, the pre-tokenizer, the ids
 * and add_bos/add_eos (what llama.cpp reads). */
static int put_vocab_bpe(wbuf *b, const engine_tokenizer *t, const formats_bpe *bpe)
{
    int n = engine_tokenizer_vocab_size(t), n_kv = 6;
    kv_string(b, "tokenizer.ggml.model", "gpt2");
    kv_string(b, "tokenizer.ggml.pre", formats_bpe_pre(bpe));
    put_array_header(b, "tokenizer.ggml.tokens", GGUF_STRING, (uint64_t)n);
    for (int i = 0; i < n; i++) {
        uint32_t len;
        const char *s = formats_tokenizer_raw(t, i, &len);
        put_str(b, s, len);
    }
    put_types(b, t, n);
    int nm = formats_bpe_merge_count(bpe);
    put_array_header(b, "tokenizer.ggml.merges", GGUF_STRING, (uint64_t)nm);
    for (int i = 0; i < nm; i++) {
        uint32_t len;
        const char *s = formats_bpe_merge(bpe, i, &len);
        put_str(b, s, len);
    }
    if (engine_tokenizer_bos(t) >= 0)
        kv_u32(b, "tokenizer.ggml.bos_token_id", (uint32_t)engine_tokenizer_bos(t)), n_kv++;
    if (engine_tokenizer_eos(t) >= 0)
        kv_u32(b, "tokenizer.ggml.eos_token_id", (uint32_t)engine_tokenizer_eos(t)), n_kv++;
    uint8_t add_bos = engine_tokenizer_add_bos(t), add_eos = engine_tokenizer_add_eos(t);
    put_key(b, "tokenizer.ggml.add_bos_token", GGUF_BOOL);
    put(b, &add_bos, 1);
    put_key(b, "tokenizer.ggml.add_eos_token", GGUF_BOOL);
    put(b, &add_eos, 1);
    return n_kv;
}

/* Spaces go back to SentencePiece's U+2581 so llama.cpp reads the vocabulary. */
static int put_vocab(wbuf *b, const engine_tokenizer *t)
{
    if (formats_tokenizer_bpe(t))
        return put_vocab_bpe(b, t, formats_tokenizer_bpe(t));
    int n = engine_tokenizer_vocab_size(t);
    kv_string(b, "tokenizer.ggml.model", "llama");
    put_array_header(b, "tokenizer.ggml.tokens", GGUF_STRING, (uint64_t)n);
    for (int i = 0; i < n; i++) {
        uint32_t len, spaces = 0;
        const char *s = formats_tokenizer_raw(t, i, &len);
        for (uint32_t j = 0; j < len; j++)
            spaces += s[j] == ' ';
        put_u64(b, len + 2 * spaces);
        for (uint32_t j = 0; j < len; j++)
            put(b, s[j] == ' ' ? "\xE2\x96\x81" : &s[j], s[j] == ' ' ? 3 : 1);
    }
    put_array_header(b, "tokenizer.ggml.scores", GGUF_F32, (uint64_t)n);
    for (int i = 0; i < n; i++) {
        float sc = formats_tokenizer_score(t, i);
        put(b, &sc, 4);
    }
    put_types(b, t, n);
    kv_u32(b, "tokenizer.ggml.bos_token_id", (uint32_t)engine_tokenizer_bos(t));
    kv_u32(b, "tokenizer.ggml.eos_token_id", (uint32_t)engine_tokenizer_eos(t));
    kv_u32(b, "tokenizer.ggml.unknown_token_id", 0);
    return 7;   /* metadata entries written */
}

typedef struct wtensor {
    char name[64];
    engine_dtype type;
    uint32_t n_dims;
    uint64_t ne0, ne1;
    const void *data;
    uint64_t bytes, offset;
} wtensor;

static void add_matrix(wtensor *list, int *n, const char *name, const engine_tensor *t)
{
    wtensor *w = &list[(*n)++];
    snprintf(w->name, sizeof w->name, "%s", name);
    *w = (wtensor){.type = t->type, .n_dims = 2, .ne0 = (uint64_t)t->cols, .ne1 = (uint64_t)t->rows,
                   .data = t->data, .bytes = engine_dtype_bytes(t->type, t->rows * t->cols)};
    snprintf(w->name, sizeof w->name, "%s", name);
}

static void add_norm(wtensor *list, int *n, const char *name, const float *v, int dim)
{
    wtensor *w = &list[(*n)++];
    *w = (wtensor){.type = ENGINE_DTYPE_F32, .n_dims = 1, .ne0 = (uint64_t)dim, .ne1 = 1,
                   .data = v, .bytes = (uint64_t)dim * 4};
    snprintf(w->name, sizeof w->name, "%s", name);
}

/* The tensors in llama.cpp's order; optional vectors where the model has them. */
static int list_tensors(const engine_model *m, wtensor *list)
{
    int n = 0, hd = engine_config_head_dim(&m->cfg);
    int q_dim = hd * m->cfg.n_heads, kv_dim = hd * m->cfg.n_kv_heads;
    char name[64];
    add_matrix(list, &n, "token_embd.weight", &m->tok_embeddings);
    add_norm(list, &n, "output_norm.weight", m->rms_final, m->cfg.dim);
    if (!m->cfg.shared_classifier)
        add_matrix(list, &n, "output.weight", &m->classifier);
    if (m->rope_freqs)
        add_norm(list, &n, "rope_freqs.weight", m->rope_freqs, hd / 2);
    for (int l = 0; l < m->cfg.n_layers; l++) {
        const engine_layer *L = &m->layers[l];
#define M(suffix, field) snprintf(name, sizeof name, "blk.%d." suffix ".weight", l); add_matrix(list, &n, name, &L->field);
#define N(suffix, field, len) \
        if (L->field) { snprintf(name, sizeof name, "blk.%d." suffix, l); add_norm(list, &n, name, L->field, len); }
        N("attn_norm.weight", rms_att, m->cfg.dim)
        M("attn_q", wq) N("attn_q.bias", bq, q_dim)
        M("attn_k", wk) N("attn_k.bias", bk, kv_dim)
        M("attn_v", wv) N("attn_v.bias", bv, kv_dim)
        M("attn_output", wo)
        N("attn_q_norm.weight", q_norm, hd) N("attn_k_norm.weight", k_norm, hd)
        N("ffn_norm.weight", rms_ffn, m->cfg.dim)
        M("ffn_gate", w1) M("ffn_down", w2) M("ffn_up", w3)
#undef M
#undef N
    }
    return n;
}

static uint32_t file_type(engine_dtype t)
{
    /* llama_ftype; uniform K-quant files are the _S mixes' numbers */
    static const uint32_t map[ENGINE_DTYPE_COUNT] = {0, 1, 32, 7, 2, 14, 16, 18};
    return map[t];
}

/* Metadata and tensor infos: everything before the data section. */
static int build_header(const engine_model *m, wtensor *list, int n_tensors, wbuf *b)
{
    const engine_config *c = &m->cfg;
    wbuf kv = {0};
    int n_kv = 0;
    char key[128];
    int hd = engine_config_head_dim(c);
#define ARCH_U32(suffix, v) kv_u32(&kv, arch_key(key, sizeof key, c, suffix), (uint32_t)(v)), n_kv++;
    kv_string(&kv, "general.architecture", engine_arch_name(c->arch)), n_kv++;
    kv_string(&kv, "general.name", m->source), n_kv++;
    kv_u32(&kv, "general.alignment", GGUF_DEFAULT_ALIGNMENT), n_kv++;
    kv_u32(&kv, "general.file_type", file_type(m->layers[0].w2.type)), n_kv++;   /* w2: rows of hidden_dim, never a fallback type */
    ARCH_U32("context_length", c->seq_len)
    ARCH_U32("embedding_length", c->dim)
    ARCH_U32("feed_forward_length", c->hidden_dim)
    ARCH_U32("block_count", c->n_layers)
    ARCH_U32("attention.head_count", c->n_heads)
    ARCH_U32("attention.head_count_kv", c->n_kv_heads)
    ARCH_U32("rope.dimension_count", hd)
    if (hd * c->n_heads != c->dim) {
        ARCH_U32("attention.key_length", hd)
        ARCH_U32("attention.value_length", hd)
    }
#undef ARCH_U32
    kv_f32(&kv, arch_key(key, sizeof key, c, "rope.freq_base"), c->rope_theta), n_kv++;
    kv_f32(&kv, arch_key(key, sizeof key, c, "attention.layer_norm_rms_epsilon"), c->norm_eps), n_kv++;
    if (m->tokenizer)
        n_kv += put_vocab(&kv, m->tokenizer);
    put(b, "GGUF", 4);
    put_u32(b, 3);
    put_u64(b, (uint64_t)n_tensors);
    put_u64(b, (uint64_t)n_kv);
    put(b, kv.p, kv.len);
    b->oom |= kv.oom;
    free(kv.p);
    uint64_t off = 0;
    for (int i = 0; i < n_tensors; i++) {
        wtensor *t = &list[i];
        t->offset = off;
        put_str(b, t->name, strlen(t->name));
        put_u32(b, t->n_dims);
        put_u64(b, t->ne0);
        if (t->n_dims == 2)
            put_u64(b, t->ne1);
        put_u32(b, dtype_to_ggml(t->type));
        put_u64(b, t->offset);
        off += (t->bytes + GGUF_DEFAULT_ALIGNMENT - 1) / GGUF_DEFAULT_ALIGNMENT * GGUF_DEFAULT_ALIGNMENT;
    }
    static const uint8_t zeros[GGUF_DEFAULT_ALIGNMENT];
    put(b, zeros, (GGUF_DEFAULT_ALIGNMENT - b->len % GGUF_DEFAULT_ALIGNMENT) % GGUF_DEFAULT_ALIGNMENT);
    return b->oom ? -1 : 0;
}

static int write_all(FILE *f, const void *p, size_t n)
{
    return fwrite(p, 1, n, f) == n ? 0 : -1;
}

/* Written to a temporary name, synced, then renamed (formats_commit_tmp). */
int engine_gguf_write(const engine_model *m, const char *path, engine_error *err)
{
    int max_tensors = 4 + 14 * m->cfg.n_layers;
    wtensor *list = calloc((size_t)max_tensors, sizeof *list);
    wbuf hdr = {0};
    char tmp[4096];
    if (!list)
        return formats_error(err, ENGINE_ERR_SYSTEM, "out of memory");
    int n = list_tensors(m, list);
    if (build_header(m, list, n, &hdr)) {
        free(list);
        free(hdr.p);
        return formats_error(err, ENGINE_ERR_SYSTEM, "out of memory building the GGUF header");
    }
    FILE *f = formats_create_tmp(path, tmp, sizeof tmp, err);
    if (!f) {
        free(list);
        free(hdr.p);
        return -1;
    }
    static const uint8_t zeros[GGUF_DEFAULT_ALIGNMENT];
    int rc = write_all(f, hdr.p, hdr.len);
    for (int i = 0; i < n && rc == 0; i++) {
        rc = write_all(f, list[i].data, list[i].bytes);
        size_t pad = (GGUF_DEFAULT_ALIGNMENT - list[i].bytes % GGUF_DEFAULT_ALIGNMENT) % GGUF_DEFAULT_ALIGNMENT;
        if (rc == 0)   /* the last one too, as ggml's writer does */
            rc = write_all(f, zeros, pad);
    }
    rc = formats_commit_tmp(f, tmp, path, rc == 0, err);
    free(list);
    free(hdr.p);
    return rc;
}
