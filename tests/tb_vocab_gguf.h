/* A vocabulary-only GGUF built in memory, for the BPE tokenizer's tests and
 * its fuzz target: tokenizer.ggml.model, optionally tokenizer.ggml.pre, five
 * tokens ("a", "b", "ab", "Ġ" = space, "Ġab"), two merges ("a b", "Ġ ab")
 * and, with `types`, token types making "ab" a user-defined token. */
#ifndef TB_VOCAB_GGUF_H
#define TB_VOCAB_GGUF_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct tb_gbuf {
    char *p;
    size_t len;
} tb_gbuf;

static inline void tb_gput(tb_gbuf *b, const void *d, size_t n)
{
    char *p = realloc(b->p, b->len + n);
    if (!p)
        abort();
    b->p = p;
    memcpy(b->p + b->len, d, n);
    b->len += n;
}

static inline void tb_gstr(tb_gbuf *b, const char *s)
{
    uint64_t n = strlen(s);
    tb_gput(b, &n, 8);
    tb_gput(b, s, n);
}

static inline void tb_gkey(tb_gbuf *b, const char *key, uint32_t type)
{
    tb_gstr(b, key);
    tb_gput(b, &type, 4);
}

static inline void tb_gstrings(tb_gbuf *b, const char *key, const char *const *v, int n)
{
    uint32_t et = 8;   /* GGUF string */
    uint64_t cnt = (uint64_t)n;
    tb_gkey(b, key, 9);   /* GGUF array */
    tb_gput(b, &et, 4);
    tb_gput(b, &cnt, 8);
    for (int i = 0; i < n; i++)
        tb_gstr(b, v[i]);
}

/* pre may be NULL (key left out). The caller frees .p. */
static inline tb_gbuf tb_tiny_vocab(const char *model, const char *pre, bool types)
{
    static const int32_t type_ids[] = {1, 1, 4, 1, 1};
    static const char *const tokens[] = {"a", "b", "ab", "\xc4\xa0", "\xc4\xa0" "ab"};
    static const char *const merges[] = {"a b", "\xc4\xa0 ab"};
    tb_gbuf b = {0};
    uint32_t version = 3;
    uint64_t n_tensors = 0, n_kv = 3 + (pre != NULL) + types;
    tb_gput(&b, "GGUF", 4);
    tb_gput(&b, &version, 4);
    tb_gput(&b, &n_tensors, 8);
    tb_gput(&b, &n_kv, 8);
    tb_gkey(&b, "tokenizer.ggml.model", 8);
    tb_gstr(&b, model);
    if (pre) {
        tb_gkey(&b, "tokenizer.ggml.pre", 8);
        tb_gstr(&b, pre);
    }
    tb_gstrings(&b, "tokenizer.ggml.tokens", tokens, 5);
    tb_gstrings(&b, "tokenizer.ggml.merges", merges, 2);
    if (types) {
        uint32_t et = 5;   /* int32 */
        uint64_t cnt = 5;
        tb_gkey(&b, "tokenizer.ggml.token_type", 9);
        tb_gput(&b, &et, 4);
        tb_gput(&b, &cnt, 8);
        tb_gput(&b, type_ids, sizeof type_ids);
    }
    return b;
}

#endif
