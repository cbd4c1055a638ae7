/* SentencePiece-style BPE tokenizer, as llama2.c's encode and llama.cpp's
 * SPM tokenizer do it: a dummy leading space, the text split into UTF-8
 * characters, then the adjacent pair whose concatenation is the
 * best-scoring vocabulary piece merged (leftmost on ties) until no pair is in
 * the vocabulary; characters that are not pieces fall back to <0xXX> byte
 * tokens. All vocabularies are kept with spaces as ' ' (SentencePiece's
 * "▁" is converted when loading). Byte-level BPE vocabularies (GGUF "gpt2")
 * are kept as stored and encoded by tokenizer_bpe.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "formats.h"

struct engine_tokenizer {
    int n;
    char **pieces;        /* NUL-terminated copies */
    uint32_t *lens;
    float *scores;
    int32_t *types;
    int bos, eos, unk;
    int byte_token[256];  /* id of <0xXX>, or -1 */
    unsigned char byte_char[256];
    int32_t *hash;        /* open addressing over piece bytes, -1 empty */
    uint32_t hash_mask;
    bool add_bos, add_eos;  /* what a prompt gets (GGUF add_bos_token/add_eos_token) */
    formats_bpe *bpe;     /* byte-level BPE, or NULL */
};

static uint32_t hash_bytes(const char *s, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

static int lookup(const engine_tokenizer *t, const char *s, size_t len)
{
    for (uint32_t i = hash_bytes(s, len) & t->hash_mask;; i = (i + 1) & t->hash_mask) {
        int32_t id = t->hash[i];
        if (id < 0)
            return -1;
        if (t->lens[id] == len && !memcmp(t->pieces[id], s, len))
            return id;
    }
}

/* Later duplicates replace earlier ones, as llama.cpp's token_to_id map does. */
static void insert(engine_tokenizer *t, int id)
{
    const char *s = t->pieces[id];
    size_t len = t->lens[id];
    for (uint32_t i = hash_bytes(s, len) & t->hash_mask;; i = (i + 1) & t->hash_mask) {
        int32_t old = t->hash[i];
        if (old < 0 || (t->lens[old] == len && !memcmp(t->pieces[old], s, len))) {
            t->hash[i] = id;
            return;
        }
    }
}

/* "<0xXX>" exactly: returns the byte or -1. */
static int byte_piece_value(const char *p, size_t len)
{
    unsigned v;
    char tail;
    if (len != 6 || strncmp(p, "<0x", 3) || p[5] != '>')
        return -1;
    if (sscanf(p + 3, "%2X%c", &v, &tail) != 2 || tail != '>')
        return -1;
    return (int)v;
}

/* Copies a piece, turning each U+2581 (E2 96 81) into ' ' when escaped. */
static char *copy_piece(const char *s, uint32_t len, bool escaped, uint32_t *out_len)
{
    char *p = malloc((size_t)len + 1);
    if (!p)
        return NULL;
    uint32_t o = 0;
    for (uint32_t i = 0; i < len; i++) {
        if (escaped && i + 2 < len && (unsigned char)s[i] == 0xE2 &&
            (unsigned char)s[i + 1] == 0x96 && (unsigned char)s[i + 2] == 0x81) {
            p[o++] = ' ';
            i += 2;
        } else {
            p[o++] = s[i];
        }
    }
    p[o] = 0;
    *out_len = o;
    return p;
}

int formats_tokenizer_build(const formats_vocab *v, engine_tokenizer **out, engine_error *err)
{
    *out = NULL;
    if (v->n < 1 || v->n > (1 << 24))
        return formats_error(err, ENGINE_ERR_INPUT, "vocabulary size %d out of range 1..%d", v->n, 1 << 24);
    engine_tokenizer *t = calloc(1, sizeof *t);
    if (!t)
        return formats_error(err, ENGINE_ERR_SYSTEM, "out of memory for the tokenizer");
    t->n = v->n;
    uint32_t cap = 16;
    while (cap < 2u * (uint32_t)v->n)
        cap <<= 1;
    t->hash_mask = cap - 1;
    t->pieces = calloc((size_t)v->n, sizeof *t->pieces);
    t->lens = calloc((size_t)v->n, sizeof *t->lens);
    t->scores = calloc((size_t)v->n, sizeof *t->scores);
    t->types = calloc((size_t)v->n, sizeof *t->types);
    t->hash = malloc(cap * sizeof *t->hash);
    if (!t->pieces || !t->lens || !t->scores || !t->types || !t->hash)
        goto oom;
    memset(t->hash, 0xff, cap * sizeof *t->hash);
    for (int i = 0; i < 256; i++) {
        t->byte_token[i] = -1;
        t->byte_char[i] = (unsigned char)i;
    }
    t->unk = 0;
    for (int i = 0; i < v->n; i++) {
        t->pieces[i] = copy_piece(v->pieces[i], v->lens[i], v->spm_escaped, &t->lens[i]);
        if (!t->pieces[i])
            goto oom;
        t->scores[i] = v->scores ? v->scores[i] : 0.0f;
        t->types[i] = v->types ? v->types[i] : 1;
        int b = byte_piece_value(t->pieces[i], t->lens[i]);
        if (b >= 0 && t->byte_token[b] < 0)
            t->byte_token[b] = i;
        insert(t, i);
    }
    t->bos = v->bos;
    t->eos = v->eos;
    t->add_bos = v->add_bos >= 0;   /* SentencePiece: on unless the file says otherwise */
    t->add_eos = v->add_eos > 0;
    if (v->kind == FORMATS_VOCAB_BPE) {
        if (formats_bpe_build(v, &t->bpe, err)) {
            engine_tokenizer_free(t);
            return -1;
        }
        t->add_bos = formats_bpe_add_bos(t->bpe);
        t->add_eos = formats_bpe_add_eos(t->bpe);
    }
    if ((t->add_bos && (t->bos < 0 || t->bos >= t->n)) || (t->add_eos && (t->eos < 0 || t->eos >= t->n))) {
        int bad_eos = !(t->add_bos && (t->bos < 0 || t->bos >= t->n));
        formats_error(err, ENGINE_ERR_INPUT, "%s: tokenizer.ggml.add_%s_token is true but the vocabulary has no "
                      "%s token (tokenizer.ggml.%s_token_id)", v->source ? v->source : "vocabulary",
                      bad_eos ? "eos" : "bos", bad_eos ? "EOS" : "BOS", bad_eos ? "eos" : "bos");
        engine_tokenizer_free(t);
        return -1;
    }
    *out = t;
    return 0;
oom:
    engine_tokenizer_free(t);
    return formats_error(err, ENGINE_ERR_SYSTEM, "out of memory for a %d-token vocabulary", v->n);
}

void engine_tokenizer_free(engine_tokenizer *t)
{
    if (!t)
        return;
    if (t->pieces)
        for (int i = 0; i < t->n; i++)
            free(t->pieces[i]);
    free(t->pieces);
    free(t->lens);
    free(t->scores);
    free(t->types);
    free(t->hash);
    formats_bpe_free(t->bpe);
    free(t);
}

int engine_tokenizer_vocab_size(const engine_tokenizer *t) { return t->n; }
int engine_tokenizer_bos(const engine_tokenizer *t) { return t->bos; }
int engine_tokenizer_eos(const engine_tokenizer *t) { return t->eos; }
bool engine_tokenizer_add_bos(const engine_tokenizer *t) { return t->add_bos; }
bool engine_tokenizer_add_eos(const engine_tokenizer *t) { return t->add_eos; }
bool engine_tokenizer_ends_generation(const engine_tokenizer *t, int id)
{
    return t->bpe ? formats_bpe_is_eog(t->bpe, id) : id == t->bos;
}
const formats_bpe *formats_tokenizer_bpe(const engine_tokenizer *t) { return t->bpe; }

const char *engine_tokenizer_kind(const engine_tokenizer *t)
{
    return t->bpe ? formats_bpe_pre(t->bpe) : "sentencepiece";
}

const char *formats_tokenizer_raw(const engine_tokenizer *t, int id, uint32_t *len)
{
    *len = t->lens[id];
    return t->pieces[id];
}

float formats_tokenizer_score(const engine_tokenizer *t, int id) { return t->scores[id]; }
int32_t formats_tokenizer_type(const engine_tokenizer *t, int id) { return t->types[id]; }

/* llama2.c tokenizer.bin: int32 max_token_length, then per token a float
 * score, an int32 length and the bytes. A GGUF file gives its embedded
 * vocabulary instead. */
int engine_tokenizer_load(const char *path, int vocab_size, engine_tokenizer **out, engine_error *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return formats_error(err, ENGINE_ERR_INPUT, "%s: cannot open: %s", path, strerror(errno));
    char magic[4] = {0};
    if (fread(magic, 1, 4, f) == 4 && !memcmp(magic, "GGUF", 4)) {
        fclose(f);
        return formats_tokenizer_load_gguf(path, vocab_size, out, err);
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = size > 0 ? malloc((size_t)size) : NULL;
    if (!buf || fread(buf, 1, (size_t)size, f) != (size_t)size) {
        fclose(f);
        free(buf);
        return formats_error(err, size > 0 ? ENGINE_ERR_SYSTEM : ENGINE_ERR_INPUT,
                             "%s: cannot read (size %ld bytes)", path, size);
    }
    fclose(f);
    int rc = -1;
    const char **pieces = NULL;
    uint32_t *lens = NULL;
    float *scores = NULL;
    if (size < 4) {
        formats_error(err, ENGINE_ERR_INPUT, "%s: truncated at byte 0: expected a 4-byte max_token_length", path);
        goto done;
    }
    /* Count the entries first so a vocabulary that does not fit the model is named as such. */
    int count = 0;
    size_t off = 4;
    while (off < (size_t)size) {
        int32_t len;
        if ((size_t)size - off < 8) {
            formats_error(err, ENGINE_ERR_INPUT, "%s: truncated at byte %zu: token %d needs a score and a length",
                          path, off, count);
            goto done;
        }
        memcpy(&len, buf + off + 4, 4);
        if (len < 0 || (size_t)len > (size_t)size - off - 8) {
            formats_error(err, ENGINE_ERR_INPUT, "%s: byte %zu: token %d has length %d, only %zu bytes left",
                          path, off + 4, count, len, (size_t)size - off - 8);
            goto done;
        }
        off += 8 + (size_t)len;
        count++;
    }
    if (count != vocab_size) {
        formats_error(err, ENGINE_ERR_INPUT, "%s: holds %d tokens, the model's vocab_size is %d",
                      path, count, vocab_size);
        goto done;
    }
    pieces = calloc((size_t)count, sizeof *pieces);
    lens = calloc((size_t)count, sizeof *lens);
    scores = calloc((size_t)count, sizeof *scores);
    if (!pieces || !lens || !scores) {
        formats_error(err, ENGINE_ERR_SYSTEM, "out of memory");
        goto done;
    }
    off = 4;
    for (int i = 0; i < count; i++) {
        int32_t len;
        memcpy(&scores[i], buf + off, 4);
        memcpy(&len, buf + off + 4, 4);
        pieces[i] = (const char *)buf + off + 8;
        lens[i] = (uint32_t)len;
        off += 8 + (size_t)len;
    }
    formats_vocab v = {.n = count, .pieces = pieces, .lens = lens, .scores = scores,
                       .bos = 1, .eos = 2, .add_bos = 1, .add_eos = -1, .source = path};
    rc = formats_tokenizer_build(&v, out, err);
done:
    free(pieces);
    free(lens);
    free(scores);
    free(buf);
    return rc;
}

static int utf8_len(unsigned char c)
{
    static const int lookup_len[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    return lookup_len[c >> 4];
}

static int push_id(int *ids, int max, int *n, int id, engine_error *err)
{
    if (*n >= max)
        return formats_error(err, ENGINE_ERR_INPUT, "text needs more than %d tokens", max);
    ids[(*n)++] = id;
    return 0;
}

/* Symbols are spans of the (prefixed) text; merging two adjacent spans
 * makes one span, so no concatenation buffer is needed. */
typedef struct symbol {
    int start, len, prev, next;
    float pair_score;   /* score of merging with next; -inf-like when impossible */
    int pair_id;
} symbol;

static void score_pair(const engine_tokenizer *t, const char *s, symbol *sym, int i)
{
    sym[i].pair_id = -1;
    if (sym[i].next < 0)
        return;
    int id = lookup(t, s + sym[i].start, (size_t)(sym[i].len + sym[sym[i].next].len));
    if (id >= 0) {
        sym[i].pair_id = id;
        sym[i].pair_score = t->scores[id];
    }
}

static int encode_text(const engine_tokenizer *t, const char *text, int *ids, int max, int *n,
                       engine_error *err)
{
    size_t tlen = strlen(text);
    char *s = malloc(tlen + 2);
    symbol *sym = malloc((tlen + 1) * sizeof *sym);
    if (!s || !sym) {
        free(s);
        free(sym);
        return formats_error(err, ENGINE_ERR_SYSTEM, "out of memory encoding %zu bytes", tlen);
    }
    s[0] = ' ';                     /* the dummy leading space */
    memcpy(s + 1, text, tlen + 1);
    int ns = 0;
    for (int pos = 0; pos < (int)tlen + 1;) {
        int len = utf8_len((unsigned char)s[pos]);
        if (len > (int)tlen + 1 - pos)
            len = (int)tlen + 1 - pos;
        sym[ns] = (symbol){.start = pos, .len = len, .prev = ns - 1, .next = -1};
        if (ns > 0)
            sym[ns - 1].next = ns;
        ns++;
        pos += len;
    }
    for (int i = 0; i < ns; i++)
        score_pair(t, s, sym, i);
    for (;;) {
        int best = -1;
        for (int i = 0; i >= 0; i = sym[i].next)
            if (sym[i].pair_id >= 0 && (best < 0 || sym[i].pair_score > sym[best].pair_score))
                best = i;
        if (best < 0)
            break;
        int right = sym[best].next;
        sym[best].len += sym[right].len;
        sym[best].next = sym[right].next;
        if (sym[best].next >= 0)
            sym[sym[best].next].prev = best;
        score_pair(t, s, sym, best);
        if (sym[best].prev >= 0)
            score_pair(t, s, sym, sym[best].prev);
    }
    int rc = 0;
    for (int i = 0; i >= 0 && rc == 0; i = sym[i].next) {
        int id = lookup(t, s + sym[i].start, (size_t)sym[i].len);
        if (id >= 0) {
            rc = push_id(ids, max, n, id, err);
            continue;
        }
        for (int j = 0; j < sym[i].len && rc == 0; j++) {
            int b = t->byte_token[(unsigned char)s[sym[i].start + j]];
            rc = push_id(ids, max, n, b >= 0 ? b : t->unk, err);
        }
    }
    free(s);
    free(sym);
    return rc;
}

int engine_tokenizer_encode(const engine_tokenizer *t, const char *text, bool bos, bool eos,
                            int *ids, int max, int *n, engine_error *err)
{
    *n = 0;
    if (!text)
        text = "";
    if ((bos && t->bos < 0) || (eos && t->eos < 0))
        return formats_error(err, ENGINE_ERR_INPUT, "the vocabulary has no %s token", bos && t->bos < 0 ? "BOS" : "EOS");
    if (bos && push_id(ids, max, n, t->bos, err))
        return -1;
    if (t->bpe) {
        if (formats_bpe_encode(t->bpe, text, strlen(text), ids, max, n, err))
            return -1;
    } else if (text[0] && encode_text(t, text, ids, max, n, err)) {
        return -1;
    }
    if (eos && push_id(ids, max, n, t->eos, err))
        return -1;
    return 0;
}

const char *engine_tokenizer_piece(const engine_tokenizer *t, int prev, int token, size_t *len)
{
    if (token < 0 || token >= t->n) {
        *len = 0;
        return "";
    }
    if (t->bpe)
        return formats_bpe_piece(t->bpe, token, len);
    const char *p = t->pieces[token];
    size_t l = t->lens[token];
    if (prev == t->bos && l > 0 && p[0] == ' ') {
        p++;
        l--;
    }
    int b = byte_piece_value(p, l);
    if (b >= 0) {
        *len = 1;
        return (const char *)&t->byte_char[b];
    }
    *len = l;
    return p;
}
