/* Byte-level BPE (GGUF tokenizer.ggml.model "gpt2"), as llama.cpp's
 * llm_tokenizer_bpe does it:
 *
 *  1. The text is cut at the special tokens the user may type (USER_DEFINED
 *     tokens that are not CONTROL: llama.cpp's parse_special = false).
 *  2. Each remaining piece is decoded to code points (an invalid UTF-8 byte
 *     becomes U+FFFD, as llama.cpp does) and split into words by the
 *     pre-tokenizer named in tokenizer.ggml.pre. The splits are written as
 *     code over Unicode categories (letters, numbers, white space) taken from
 *     utf8proc, following llama.cpp's hand-written versions of the regexes.
 *  3. Each word is merged by rank: the adjacent pair with the lowest merge
 *     rank (leftmost on ties) until no pair has a rank. With ignore_merges
 *     (llama-bpe) a word that is itself a token is emitted as that token.
 *
 * GPT-2's byte-to-unicode table makes every byte one printable character;
 * vocabulary and merges are stored in that encoding. Because the table is a
 * bijection, they are decoded to raw bytes once at load time and all matching
 * happens on raw bytes: a word's symbols are byte spans of the word. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "formats.h"

enum bpe_pre { PRE_LLAMA3, PRE_QWEN2, PRE_GPT2, PRE_SMOLLM };

/* tokenizer.ggml.pre values and the split each one uses (llama.cpp's names). */
static const struct {
    const char *name;
    enum bpe_pre pre;
} pre_names[] = {
    {"llama-bpe", PRE_LLAMA3}, {"llama3", PRE_LLAMA3}, {"llama-v3", PRE_LLAMA3},
    {"qwen2", PRE_QWEN2}, {"deepseek-r1-qwen", PRE_QWEN2},
    {"gpt-2", PRE_GPT2}, {"smollm", PRE_SMOLLM},
};

/* llama.cpp's token attributes, from GGUF token_type. */
enum {
    ATTR_NORMAL = 1, ATTR_UNKNOWN = 2, ATTR_CONTROL = 4, ATTR_USER = 8, ATTR_UNUSED = 16, ATTR_BYTE = 32,
    ATTR_EOG = 64   /* ends generation (thermabench's flag, not a llama.cpp attribute) */
};

/* Names that end generation in llama.cpp (llama_vocab's special_eog_ids):
 * end of text, turn or message, and the fill-in-the-middle pad, repository
 * and file-separator tokens. EOS and the ids the metadata names join them. */
static const char *const eog_names[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<end_of_turn>", "<|endoftext|>",
    "<|eom_id|>", "<EOT>", "_<EOT>", "<|end_of_text|>", "<end_of_utterance>",
    "<\xef\xbd\x9c" "end\xe2\x96\x81" "of\xe2\x96\x81" "sentence\xef\xbd\x9c>",
    "<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>",
    "<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>", "<|file_sep|>",
};

/* Names llama.cpp marks CONTROL whatever their token_type says (end of
 * turn/generation and fill-in-the-middle tokens). */
static const char *const control_names[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>", "<EOT>",
    "_<EOT>", "[EOT]", "[EOS]", "<\xef\xbd\x9c" "end\xe2\x96\x81" "of\xe2\x96\x81" "sentence\xef\xbd\x9c>",
    "<end_of_utterance>", "<|eom_id|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>", "</s>", "<eos>",
    "<turn|>", "<|tool_response>", "[e~[",
    "<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<\xef\xbd\x9c" "fim\xe2\x96\x81" "begin\xef\xbd\x9c>",
    "<PRE>", "\xe2\x96\x81<PRE>", "<|code_prefix|>", "<|prefix|>",
    "<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<\xef\xbd\x9c" "fim\xe2\x96\x81" "hole\xef\xbd\x9c>",
    "<SUF>", "\xe2\x96\x81<SUF>", "<|code_suffix|>", "<|suffix|>",
    "<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<\xef\xbd\x9c" "fim\xe2\x96\x81" "end\xef\xbd\x9c>",
    "<MID>", "\xe2\x96\x81<MID>", "<|code_middle|>", "<|middle|>",
    "<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]",
    "<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>", "<|file_sep|>",
};

/* Names llama.cpp always renders as plain text (USER_DEFINED only). */
static const char *const user_names[] = {"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"};

struct formats_bpe {
    int n;
    enum bpe_pre pre;
    char pre_name[32];
    bool ignore_merges, add_bos, add_eos;
    uint8_t *attr;
    /* Token texts as stored (the GPT-2 encoding), for special tokens and writers. */
    char *raw;
    size_t *raw_off;            /* n + 1 offsets */
    /* Token texts decoded to bytes; len UINT32_MAX where a text is not in the encoding. */
    uint8_t *dec;
    size_t *dec_off;
    uint32_t *dec_len;
    int32_t *tok_hash;          /* open addressing over decoded texts, -1 empty */
    uint32_t tok_mask;
    int raw_single[256];        /* token whose stored text is this one byte, or -1 */
    /* Merges, decoded: left bytes then right bytes; rank = position in the list. */
    int n_merges;
    char *m_raw;                /* as stored, for writers */
    size_t *m_raw_off;          /* n_merges + 1 offsets */
    uint8_t *mdec;
    size_t *m_off;
    uint32_t *m_llen, *m_rlen;
    int32_t *m_hash;            /* merge index, -1 empty */
    uint32_t m_mask;
    /* Tokens cut out of the text before splitting, longest first. */
    int *special;
    int n_special;
    /* What each token prints as (llama.cpp's token_to_piece with special = true). */
    char *piece;
    size_t *piece_off;
    uint16_t byte_cp[256];      /* GPT-2 byte -> code point */
    int16_t cp_byte[324];       /* code point -> byte, -1 */
};

/* ---- GPT-2 byte encoding ---------------------------------------------- */

static void byte_tables(formats_bpe *b)
{
    int next = 256;
    for (int i = 0; i < 324; i++)
        b->cp_byte[i] = -1;
    for (int c = 0; c < 256; c++) {
        bool printable = (c >= 0x21 && c <= 0x7E) || (c >= 0xA1 && c <= 0xAC) || c >= 0xAE;
        b->byte_cp[c] = (uint16_t)(printable ? c : next++);
        b->cp_byte[b->byte_cp[c]] = (int16_t)c;
    }
}

/* Decodes a GPT-2-encoded string to bytes; -1 when it holds anything but
 * the 256 byte characters (such a text can never equal an encoded word). */
static long decode_encoded(const formats_bpe *b, const uint8_t *s, size_t len, uint8_t *out)
{
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        if (s[i] < 0x80) {
            cp = s[i++];
        } else if ((s[i] & 0xE0) == 0xC0 && i + 1 < len && (s[i + 1] & 0xC0) == 0x80) {
            cp = ((uint32_t)(s[i] & 0x1F) << 6) | (s[i + 1] & 0x3F);
            i += 2;
            if (cp < 0x80)
                return -1;   /* overlong: no encoder writes it */
        } else {
            return -1;
        }
        if (cp >= 324 || b->cp_byte[cp] < 0)
            return -1;
        out[o++] = (uint8_t)b->cp_byte[cp];
    }
    return (long)o;
}

/* ---- hashing ------------------------------------------------------------ */

static uint32_t fnv(uint32_t h, const uint8_t *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        h = (h ^ s[i]) * 16777619u;
    return h;
}

static uint32_t pair_hash(const uint8_t *l, size_t ll, const uint8_t *r, size_t rl)
{
    uint32_t h = fnv(2166136261u, l, ll);
    h = (h ^ (uint32_t)(ll + 0x100)) * 16777619u;
    return fnv(h, r, rl);
}

static uint32_t table_size(uint64_t n)
{
    uint32_t cap = 16;
    while (cap < 2 * n)
        cap <<= 1;
    return cap;
}

static int tok_find(const formats_bpe *b, const uint8_t *s, size_t len)
{
    for (uint32_t i = fnv(2166136261u, s, len) & b->tok_mask;; i = (i + 1) & b->tok_mask) {
        int32_t id = b->tok_hash[i];
        if (id < 0)
            return -1;
        if (b->dec_len[id] == len && !memcmp(b->dec + b->dec_off[id], s, len))
            return id;
    }
}

/* Later duplicates replace earlier ones, as for the SentencePiece vocabulary. */
static void tok_insert(formats_bpe *b, int id)
{
    const uint8_t *s = b->dec + b->dec_off[id];
    size_t len = b->dec_len[id];
    for (uint32_t i = fnv(2166136261u, s, len) & b->tok_mask;; i = (i + 1) & b->tok_mask) {
        int32_t old = b->tok_hash[i];
        if (old < 0 || (b->dec_len[old] == len && !memcmp(b->dec + b->dec_off[old], s, len))) {
            b->tok_hash[i] = id;
            return;
        }
    }
}

/* Rank of merging l (ll bytes) with r (rl bytes), -1 when no merge. */
static int merge_rank(const formats_bpe *b, const uint8_t *l, size_t ll, const uint8_t *r, size_t rl)
{
    for (uint32_t i = pair_hash(l, ll, r, rl) & b->m_mask;; i = (i + 1) & b->m_mask) {
        int32_t m = b->m_hash[i];
        if (m < 0)
            return -1;
        const uint8_t *p = b->mdec + b->m_off[m];
        if (b->m_llen[m] == ll && b->m_rlen[m] == rl && !memcmp(p, l, ll) && !memcmp(p + ll, r, rl))
            return m;
    }
}

/* The first of equal pairs keeps its rank (llama.cpp's emplace). */
static void merge_insert(formats_bpe *b, int m)
{
    const uint8_t *p = b->mdec + b->m_off[m];
    size_t ll = b->m_llen[m], rl = b->m_rlen[m];
    for (uint32_t i = pair_hash(p, ll, p + ll, rl) & b->m_mask;; i = (i + 1) & b->m_mask) {
        int32_t old = b->m_hash[i];
        if (old < 0) {
            b->m_hash[i] = m;
            return;
        }
        const uint8_t *q = b->mdec + b->m_off[old];
        if (b->m_llen[old] == ll && b->m_rlen[old] == rl && !memcmp(q, p, ll + rl))
            return;
    }
}

/* ---- UTF-8 as llama.cpp reads it ---------------------------------------- */

/* One code point from s[*off]; an invalid sequence gives U+FFFD and
 * consumes one byte (llama.cpp's unicode_cpts_from_utf8). Overlong forms
 * and surrogates are accepted as llama.cpp accepts them; values past
 * U+10FFFF, which llama.cpp cannot re-encode, become U+FFFD as well. */
static uint32_t cpt_from_utf8(const uint8_t *s, size_t len, size_t *off)
{
    size_t o = *off;
    uint8_t c = s[o];
    uint32_t cp;
    size_t n;
    if (!(c & 0x80)) {
        *off = o + 1;
        return c;
    }
    if (!(c & 0x40))
        n = 0;
    else if (!(c & 0x20))
        n = 2, cp = c & 0x1F;
    else if (!(c & 0x10))
        n = 3, cp = c & 0x0F;
    else if (!(c & 0x08))
        n = 4, cp = c & 0x07;
    else
        n = 0;
    if (n == 0 || o + n - 1 >= len) {
        *off = o + 1;
        return 0xFFFD;
    }
    for (size_t k = 1; k < n; k++) {
        if ((s[o + k] & 0xC0) != 0x80) {
            *off = o + 1;
            return 0xFFFD;
        }
        cp = (cp << 6) | (s[o + k] & 0x3F);
    }
    if (cp > 0x10FFFF) {
        *off = o + 1;
        return 0xFFFD;
    }
    *off = o + n;
    return cp;
}

static int cpt_to_utf8(uint32_t cp, uint8_t *out)
{
    if (cp < 0x80) {
        out[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (uint8_t)(0xC0 | (cp >> 6));
        out[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (uint8_t)(0xE0 | (cp >> 12));
        out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (uint8_t)(0xF0 | (cp >> 18));
    out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

/* ---- categories ------------------------------------------------------------ */

enum { CF_LETTER = 1, CF_NUMBER = 2, CF_SPACE = 4 };

/* \p{L}, \p{N} and \s as llama.cpp's tables give them. White space is the
 * Unicode White_Space property: the Z categories plus U+0009..U+000D and
 * U+0085 (the only code points outside Z that carry it). */
static uint8_t cpt_flags(uint32_t cp)
{
    if ((cp >= 0x09 && cp <= 0x0D) || cp == 0x85)
        return CF_SPACE;
    switch (utf8proc_category((utf8proc_int32_t)cp)) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO:
        return CF_LETTER;
    case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
        return CF_NUMBER;
    case UTF8PROC_CATEGORY_ZS: case UTF8PROC_CATEGORY_ZL: case UTF8PROC_CATEGORY_ZP:
        return CF_SPACE;
    default:
        return 0;
    }
}

/* ---- pre-tokenizer splits ------------------------------------------------- */

/* The code points of one piece of text and the words found in it. */
typedef struct split {
    const uint32_t *cp;
    const uint8_t *fl;
    size_t end;           /* code points [ini, end) are in range */
    size_t *cuts;         /* word ends, in code points */
    size_t n_cuts;
} split;

#define OUT_OF_RANGE 0xFFFFFFFFu

static uint32_t sp_cpt(const split *s, size_t pos) { return pos < s->end ? s->cp[pos] : OUT_OF_RANGE; }
/* Flags with bit 8 set for every code point in range, so "no flags" means past the end. */
static unsigned sp_flags(const split *s, size_t pos) { return pos < s->end ? s->fl[pos] | 8u : 0u; }

static size_t cut(split *s, size_t pos)
{
    if (s->n_cuts == 0 || s->cuts[s->n_cuts - 1] != pos)
        s->cuts[s->n_cuts++] = pos;
    return pos;
}

static bool is_contraction(const split *s, size_t pos, bool any_case, size_t *len)
{
    if (sp_cpt(s, pos) != '\'' || pos + 1 >= s->end)
        return false;
    uint32_t a = sp_cpt(s, pos + 1);
    if (any_case)
        a = (uint32_t)utf8proc_tolower((utf8proc_int32_t)a);
    if (a == 's' || a == 't' || a == 'm' || a == 'd') {
        *len = 2;
        return true;
    }
    if (pos + 2 >= s->end)
        return false;
    uint32_t b = sp_cpt(s, pos + 2);
    if (any_case)
        b = (uint32_t)utf8proc_tolower((utf8proc_int32_t)b);
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) {
        *len = 3;
        return true;
    }
    return false;
}

/* Runs of white space: \s+(?!\S) leaves the last one to the next word. */
static size_t split_spaces(split *s, size_t pos)
{
    size_t n = 0;
    while (sp_flags(s, pos + n) & CF_SPACE)
        n++;
    if (n > 1 && sp_cpt(s, pos + n) != OUT_OF_RANGE)
        return cut(s, pos + n - 1);
    if (n > 0)
        return cut(s, pos + n);
    return cut(s, pos + 1);
}

/* GPT-2: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ */
static void split_gpt2(split *s, size_t ini)
{
    for (size_t pos = ini; pos < s->end;) {
        uint32_t c = sp_cpt(s, pos);
        size_t clen;
        if (is_contraction(s, pos, false, &clen)) {
            pos = cut(s, pos + clen);
            continue;
        }
        unsigned f2 = c == ' ' ? sp_flags(s, pos + 1) : sp_flags(s, pos);
        unsigned want = f2 & CF_LETTER ? CF_LETTER : f2 & CF_NUMBER ? CF_NUMBER : 0;
        if (want) {
            pos += c == ' ';
            while (sp_flags(s, pos) & want)
                pos++;
            cut(s, pos);
            continue;
        }
        if (!(f2 & (CF_SPACE | CF_LETTER | CF_NUMBER)) && f2) {
            pos += c == ' ';
            while (!(f2 & (CF_SPACE | CF_LETTER | CF_NUMBER)) && f2)
                f2 = sp_flags(s, ++pos);
            cut(s, pos);
            continue;
        }
        pos = split_spaces(s, pos);
    }
}

/* Llama 3 (digits 3) and Qwen2 (digits 1):
 * (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,digits}| ?[^\s\p{L}\p{N}]+[\r\n]*|
 * \s*[\r\n]+|\s+(?!\S)|\s+
 * llama.cpp runs Llama 3's as code and Qwen2's through std::regex; for
 * these alternatives both give the same words. */
static void split_llama3(split *s, size_t ini, size_t digits)
{
    for (size_t pos = ini; pos < s->end;) {
        uint32_t c = sp_cpt(s, pos);
        unsigned f = sp_flags(s, pos);
        size_t clen;
        if (is_contraction(s, pos, true, &clen)) {
            pos = cut(s, pos + clen);
            continue;
        }
        if (!(c == '\r' || c == '\n' || (f & CF_NUMBER)) &&
            ((f & CF_LETTER) || (sp_flags(s, pos + 1) & CF_LETTER))) {
            pos++;
            while (sp_flags(s, pos) & CF_LETTER)
                pos++;
            cut(s, pos);
            continue;
        }
        if (f & CF_NUMBER) {
            size_t start = pos;
            while (sp_flags(s, pos) & CF_NUMBER)
                if (++pos - start >= digits)
                    start = cut(s, pos);
            cut(s, pos);
            continue;
        }
        unsigned f2 = c == ' ' ? sp_flags(s, pos + 1) : f;
        if (!(f2 & (CF_SPACE | CF_LETTER | CF_NUMBER)) && f) {
            pos += c == ' ';
            while (!(f2 & (CF_SPACE | CF_LETTER | CF_NUMBER)) && f2)
                f2 = sp_flags(s, ++pos);
            while (sp_cpt(s, pos) == '\r' || sp_cpt(s, pos) == '\n')
                pos++;
            cut(s, pos);
            continue;
        }
        size_t n = 0, last_rn = 0;
        while (sp_flags(s, pos + n) & CF_SPACE) {
            uint32_t c2 = sp_cpt(s, pos + n);
            if (c2 == '\r' || c2 == '\n')
                last_rn = pos + n + 1;
            n++;
        }
        if (last_rn > 0) {
            pos = cut(s, last_rn);
            continue;
        }
        pos = split_spaces(s, pos);
    }
}

/* SmolLM: every \p{N} alone first, then GPT-2's split inside each piece. */
static void split_smollm(split *s)
{
    size_t total = s->end, start = 0;
    for (size_t pos = 0; pos <= total; pos++) {
        bool number = pos < total && (s->fl[pos] & CF_NUMBER);
        if (pos < total && !number)
            continue;
        if (pos > start) {
            s->end = pos;
            split_gpt2(s, start);
        }
        if (number)
            cut(s, pos + 1);
        start = pos + 1;
    }
    s->end = total;
}

/* ---- merging one word ---------------------------------------------------- */

typedef struct sym {
    int start, n, prev, next;
} sym;

typedef struct bigram {
    int rank, left, right, ln, rn;
} bigram;

typedef struct work {
    sym *syms;
    bigram *heap;
    int n_heap, cap_heap, cap_syms;
} work;

static bool before(const bigram *a, const bigram *b)
{
    return a->rank < b->rank || (a->rank == b->rank && a->left < b->left);
}

static void heap_push(work *w, bigram g)
{
    int i = w->n_heap++;
    while (i > 0 && before(&g, &w->heap[(i - 1) / 2])) {
        w->heap[i] = w->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    w->heap[i] = g;
}

static bigram heap_pop(work *w)
{
    bigram top = w->heap[0], last = w->heap[--w->n_heap];
    int i = 0;
    for (;;) {
        int c = 2 * i + 1;
        if (c >= w->n_heap)
            break;
        if (c + 1 < w->n_heap && before(&w->heap[c + 1], &w->heap[c]))
            c++;
        if (!before(&w->heap[c], &last))
            break;
        w->heap[i] = w->heap[c];
        i = c;
    }
    if (w->n_heap > 0)
        w->heap[i] = last;
    return top;
}

static void add_bigram(const formats_bpe *b, work *w, const uint8_t *word, int left, int right)
{
    if (left < 0 || right < 0)
        return;
    const sym *l = &w->syms[left], *r = &w->syms[right];
    int rank = merge_rank(b, word + l->start, (size_t)l->n, word + r->start, (size_t)r->n);
    if (rank >= 0)
        heap_push(w, (bigram){.rank = rank, .left = left, .right = right, .ln = l->n, .rn = r->n});
}

typedef struct out_ids {
    int *ids;
    int max, n;
    engine_error *err;
} out_ids;

static int emit(out_ids *o, int id)
{
    if (o->n >= o->max)
        return formats_error(o->err, ENGINE_ERR_INPUT, "text needs more than %d tokens", o->max);
    o->ids[o->n++] = id;
    return 0;
}

/* A symbol that is no token: each byte of its GPT-2 encoding as a one-byte
 * token where one exists (llama.cpp skips the others). */
static int emit_fallback(const formats_bpe *b, out_ids *o, const uint8_t *s, int n)
{
    for (int i = 0; i < n; i++) {
        uint8_t enc[4];
        int k = cpt_to_utf8(b->byte_cp[s[i]], enc);
        for (int j = 0; j < k; j++)
            if (b->raw_single[enc[j]] >= 0 && emit(o, b->raw_single[enc[j]]))
                return -1;
    }
    return 0;
}

static int bpe_word(const formats_bpe *b, work *w, const uint8_t *word, int len, out_ids *o)
{
    if (b->ignore_merges) {
        int id = tok_find(b, word, (size_t)len);
        if (id >= 0)
            return emit(o, id);
    }
    for (int i = 0; i < len; i++)
        w->syms[i] = (sym){.start = i, .n = 1, .prev = i - 1, .next = i + 1 < len ? i + 1 : -1};
    w->n_heap = 0;
    for (int i = 1; i < len; i++)
        add_bigram(b, w, word, i - 1, i);
    while (w->n_heap > 0) {
        bigram g = heap_pop(w);
        sym *l = &w->syms[g.left], *r = &w->syms[g.right];
        if (l->n == 0 || r->n == 0 || l->n != g.ln || r->n != g.rn)
            continue;   /* outdated: one side has merged since */
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0)
            w->syms[r->next].prev = g.left;
        add_bigram(b, w, word, l->prev, g.left);
        add_bigram(b, w, word, g.left, l->next);
    }
    for (int i = 0; i >= 0 && i < len; i = w->syms[i].next) {
        const sym *s = &w->syms[i];
        int id = tok_find(b, word + s->start, (size_t)s->n);
        int rc = id >= 0 ? emit(o, id) : emit_fallback(b, o, word + s->start, s->n);
        if (rc)
            return -1;
    }
    return 0;
}

static int work_reserve(work *w, int len, engine_error *err)
{
    if (len <= w->cap_syms)
        return 0;
    sym *s = realloc(w->syms, (size_t)len * sizeof *s);
    if (s)
        w->syms = s;
    bigram *h = s ? realloc(w->heap, (size_t)len * 3 * sizeof *h) : NULL;
    if (!s || !h)
        return formats_error(err, ENGINE_ERR_SYSTEM, "out of memory for a %d-byte word", len);
    w->heap = h;
    w->cap_syms = len;
    return 0;
}

/* ---- one piece of text without special tokens ---------------------------- */

static int encode_piece(const formats_bpe *b, const uint8_t *text, size_t len, work *w, out_ids *o)
{
    /* Code points, their flags, and the text re-encoded from them (invalid
     * bytes become U+FFFD's three bytes, as in llama.cpp). */
    uint32_t *cp = malloc((len + 1) * sizeof *cp);
    uint8_t *fl = malloc(len + 1);
    size_t *at = malloc((len + 2) * sizeof *at);
    size_t *cuts = malloc((len + 1) * sizeof *cuts);
    uint8_t *norm = malloc(3 * len + 1);
    int rc = -1;
    if (!cp || !fl || !at || !cuts || !norm) {
        formats_error(o->err, ENGINE_ERR_SYSTEM, "out of memory encoding %zu bytes", len);
        goto done;
    }
    size_t n = 0, nb = 0;
    for (size_t off = 0; off < len;) {
        cp[n] = cpt_from_utf8(text, len, &off);
        fl[n] = cpt_flags(cp[n]);
        at[n] = nb;
        nb += (size_t)cpt_to_utf8(cp[n], norm + nb);
        n++;
    }
    at[n] = nb;
    split s = {.cp = cp, .fl = fl, .end = n, .cuts = cuts};
    switch (b->pre) {
    case PRE_LLAMA3: split_llama3(&s, 0, 3); break;
    case PRE_QWEN2: split_llama3(&s, 0, 1); break;
    case PRE_GPT2: split_gpt2(&s, 0); break;
    case PRE_SMOLLM: split_smollm(&s); break;
    }
    size_t from = 0;
    for (size_t i = 0; i < s.n_cuts; i++) {
        size_t to = s.cuts[i];
        if (to <= from)
            continue;
        int wlen = (int)(at[to] - at[from]);
        if (work_reserve(w, wlen, o->err) || bpe_word(b, w, norm + at[from], wlen, o))
            goto done;
        from = to;
    }
    rc = 0;
done:
    free(cp);
    free(fl);
    free(at);
    free(cuts);
    free(norm);
    return rc;
}

/* Cuts the text at every special token, longest token first, leftmost
 * occurrence first (llama.cpp's tokenizer_st_partition). */
typedef struct frag {
    size_t off, len;
    int token;            /* -1: text */
} frag;

int formats_bpe_encode(const formats_bpe *b, const char *text, size_t len, int *ids, int max, int *n,
                       engine_error *err)
{
    out_ids o = {.ids = ids, .max = max, .n = *n, .err = err};
    frag *f = malloc(sizeof *f), *g = NULL;
    work w = {0};
    int rc = -1, nf = 0;
    if (!f)
        return formats_error(err, ENGINE_ERR_SYSTEM, "out of memory");
    if (len > 0)
        f[nf++] = (frag){.off = 0, .len = len, .token = -1};
    for (int k = 0; k < b->n_special && nf > 0; k++) {
        int id = b->special[k];
        const char *st = b->raw + b->raw_off[id];
        size_t sl = b->raw_off[id + 1] - b->raw_off[id];
        /* Each occurrence adds at most two fragments. */
        size_t count = 0;
        for (int i = 0; i < nf; i++)
            if (f[i].token < 0)
                for (const char *p = text + f[i].off, *e = p + f[i].len;
                     (p = memmem(p, (size_t)(e - p), st, sl)); p += sl)
                    count++;
        if (count == 0)
            continue;
        size_t need = (size_t)nf + 2 * count;
        g = malloc(need * sizeof *g);
        if (!g) {
            formats_error(err, ENGINE_ERR_SYSTEM, "out of memory");
            goto done;
        }
        int ng = 0;
        for (int i = 0; i < nf; i++) {
            if (f[i].token >= 0) {
                g[ng++] = f[i];
                continue;
            }
            size_t off = f[i].off, end = f[i].off + f[i].len;
            for (const char *p; off < end && (p = memmem(text + off, end - off, st, sl));) {
                size_t m = (size_t)(p - text);
                if (m > off)
                    g[ng++] = (frag){.off = off, .len = m - off, .token = -1};
                g[ng++] = (frag){.token = id};
                off = m + sl;
            }
            if (off < end)
                g[ng++] = (frag){.off = off, .len = end - off, .token = -1};
        }
        free(f);
        f = g;
        g = NULL;
        nf = ng;
    }
    for (int i = 0; i < nf; i++) {
        if (f[i].token >= 0 ? emit(&o, f[i].token)
                            : encode_piece(b, (const uint8_t *)text + f[i].off, f[i].len, &w, &o))
            goto done;
    }
    rc = 0;
done:
    *n = o.n;
    free(f);
    free(g);
    free(w.syms);
    free(w.heap);
    return rc;
}

/* ---- building ------------------------------------------------------------ */

void formats_bpe_free(formats_bpe *b)
{
    if (!b)
        return;
    free(b->attr);
    free(b->raw);
    free(b->raw_off);
    free(b->dec);
    free(b->dec_off);
    free(b->dec_len);
    free(b->tok_hash);
    free(b->m_raw);
    free(b->m_raw_off);
    free(b->mdec);
    free(b->m_off);
    free(b->m_llen);
    free(b->m_rlen);
    free(b->m_hash);
    free(b->special);
    free(b->piece);
    free(b->piece_off);
    free(b);
}

static bool is_in(const char *s, size_t len, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(list[i]) == len && !memcmp(list[i], s, len))
            return true;
    return false;
}

static uint8_t attr_of(int32_t type)
{
    switch (type) {
    case 1: return ATTR_NORMAL;
    case 2: return ATTR_UNKNOWN;
    case 3: return ATTR_CONTROL;
    case 4: return ATTR_USER;
    case 5: return ATTR_UNUSED;
    case 6: return ATTR_BYTE;
    default: return 0;    /* undefined */
    }
}

/* Longest first; equal lengths by id so the order does not depend on qsort. */
static int by_length(const void *a, const void *b, void *ctx)
{
    const size_t *off = ctx;
    int x = *(const int *)a, y = *(const int *)b;
    size_t lx = off[x + 1] - off[x], ly = off[y + 1] - off[y];
    if (lx != ly)
        return lx > ly ? -1 : 1;
    return (x > y) - (x < y);
}

/* What a token prints as: special tokens by name, normal ones decoded to
 * bytes (a character outside the byte encoding shows as llama.cpp shows it),
 * <0xXX> byte tokens as their byte, anything else as nothing. */
static size_t make_piece(const formats_bpe *b, int id, char *out)
{
    const char *t = b->raw + b->raw_off[id];
    size_t len = b->raw_off[id + 1] - b->raw_off[id];
    uint8_t a = b->attr[id];
    if (a & (ATTR_UNKNOWN | ATTR_CONTROL | ATTR_USER)) {
        if (out)
            memcpy(out, t, len);
        return len;
    }
    if (a & ATTR_NORMAL) {
        size_t o = 0;
        for (size_t off = 0; off < len;) {
            uint32_t cp = cpt_from_utf8((const uint8_t *)t, len, &off);
            if (cp < 324 && b->cp_byte[cp] >= 0) {
                if (out)
                    out[o] = (char)b->cp_byte[cp];
                o++;
                continue;
            }
            uint8_t enc[4];
            char head[64];
            int k = cpt_to_utf8(cp, enc), h = snprintf(head, sizeof head, "[UNK_BYTE_0x");
            for (int j = 0; j < k; j++)
                h += snprintf(head + h, sizeof head - (size_t)h, "%02x", enc[j]);
            if (out) {
                memcpy(out + o, head, (size_t)h);
                memcpy(out + o + h, t, len);
                out[o + (size_t)h + len] = ']';
            }
            o += (size_t)h + len + 1;
        }
        return o;
    }
    if ((a & ATTR_BYTE) && len >= 5) {
        char hex[3] = {t[3], t[4], 0};
        if (out)
            out[0] = (char)strtol(hex, NULL, 16);
        return 1;
    }
    return 0;
}

static int build_pieces(formats_bpe *b, engine_error *err)
{
    size_t total = 0;
    b->piece_off = malloc(((size_t)b->n + 1) * sizeof *b->piece_off);
    if (!b->piece_off)
        return formats_error(err, ENGINE_ERR_SYSTEM, "out of memory");
    for (int i = 0; i < b->n; i++) {
        b->piece_off[i] = total;
        total += make_piece(b, i, NULL);
    }
    b->piece_off[b->n] = total;
    b->piece = malloc(total + 1);
    if (!b->piece)
        return formats_error(err, ENGINE_ERR_SYSTEM, "out of memory");
    for (int i = 0; i < b->n; i++)
        make_piece(b, i, b->piece + b->piece_off[i]);
    return 0;
}

static int build_tokens(formats_bpe *b, const formats_vocab *v, engine_error *err)
{
    size_t total = 0;
    char empty[32];
    for (int i = 0; i < v->n; i++)
        total += v->lens[i] ? v->lens[i] : (size_t)snprintf(empty, sizeof empty, "[EMPTY_%d]", i);
    b->attr = malloc((size_t)v->n);
    b->raw = malloc(total + 1);
    b->raw_off = malloc(((size_t)v->n + 1) * sizeof *b->raw_off);
    b->dec = malloc(total + 1);
    b->dec_off = malloc((size_t)v->n * sizeof *b->dec_off);
    b->dec_len = malloc((size_t)v->n * sizeof *b->dec_len);
    b->tok_mask = table_size((uint64_t)v->n) - 1;
    b->tok_hash = malloc(((size_t)b->tok_mask + 1) * sizeof *b->tok_hash);
    if (!b->attr || !b->raw || !b->raw_off || !b->dec || !b->dec_off || !b->dec_len || !b->tok_hash)
        return formats_error(err, ENGINE_ERR_SYSTEM, "out of memory for a %d-token vocabulary", v->n);
    memset(b->tok_hash, 0xff, ((size_t)b->tok_mask + 1) * sizeof *b->tok_hash);
    for (int c = 0; c < 256; c++)
        b->raw_single[c] = -1;
    size_t off = 0, doff = 0;
    for (int i = 0; i < v->n; i++) {
        b->raw_off[i] = off;
        /* llama.cpp names an empty token [EMPTY_i] */
        if (v->lens[i])
            memcpy(b->raw + off, v->pieces[i], v->lens[i]), off += v->lens[i];
        else
            off += (size_t)sprintf(b->raw + off, "[EMPTY_%d]", i);
        size_t len = off - b->raw_off[i];
        const char *t = b->raw + b->raw_off[i];
        b->attr[i] = v->types ? attr_of(v->types[i]) : ATTR_NORMAL;
        if (is_in(t, len, control_names, sizeof control_names / sizeof control_names[0]))
            b->attr[i] |= ATTR_CONTROL;
        if (is_in(t, len, user_names, sizeof user_names / sizeof user_names[0]))
            b->attr[i] = ATTR_USER;
        if (len == 1)
            b->raw_single[(uint8_t)t[0]] = i;
        long d = decode_encoded(b, (const uint8_t *)t, len, b->dec + doff);
        b->dec_off[i] = doff;
        b->dec_len[i] = d < 0 ? UINT32_MAX : (uint32_t)d;
        if (d >= 0) {
            doff += (size_t)d;
            tok_insert(b, i);
        }
    }
    b->raw_off[v->n] = off;
    return 0;
}

static int build_merges(formats_bpe *b, const formats_vocab *v, engine_error *err)
{
    size_t total = 0;
    b->n_merges = v->n_merges;
    for (int i = 0; i < v->n_merges; i++)
        total += v->merge_lens[i];
    int nm = v->n_merges ? v->n_merges : 1;
    b->m_raw = malloc(total + 1);
    b->m_raw_off = malloc(((size_t)nm + 1) * sizeof *b->m_raw_off);
    b->mdec = malloc(total + 1);
    b->m_off = malloc((size_t)nm * sizeof *b->m_off);
    b->m_llen = malloc((size_t)nm * sizeof *b->m_llen);
    b->m_rlen = malloc((size_t)nm * sizeof *b->m_rlen);
    b->m_mask = table_size((uint64_t)v->n_merges) - 1;
    b->m_hash = malloc(((size_t)b->m_mask + 1) * sizeof *b->m_hash);
    if (!b->m_raw || !b->m_raw_off || !b->mdec || !b->m_off || !b->m_llen || !b->m_rlen || !b->m_hash)
        return formats_error(err, ENGINE_ERR_SYSTEM, "out of memory for %d merges", v->n_merges);
    memset(b->m_hash, 0xff, ((size_t)b->m_mask + 1) * sizeof *b->m_hash);
    size_t doff = 0, roff = 0;
    b->m_raw_off[0] = 0;
    for (int i = 0; i < v->n_merges; i++) {
        size_t len = v->merge_lens[i];
        const uint8_t *s = (const uint8_t *)memcpy(b->m_raw + roff, v->merges[i], len);
        b->m_raw_off[i] = roff;
        roff += len;
        b->m_raw_off[i + 1] = roff;
        /* "left right", split at the first space after the first byte */
        const uint8_t *sp = len > 1 ? memchr(s + 1, ' ', len - 1) : NULL;
        b->m_off[i] = doff;
        b->m_llen[i] = b->m_rlen[i] = 0;
        if (!sp)
            continue;
        long l = decode_encoded(b, s, (size_t)(sp - s), b->mdec + doff);
        long r = l < 0 ? -1 : decode_encoded(b, sp + 1, len - (size_t)(sp - s) - 1, b->mdec + doff + l);
        if (l <= 0 || r <= 0)
            continue;   /* can never match a pair of symbols */
        b->m_llen[i] = (uint32_t)l;
        b->m_rlen[i] = (uint32_t)r;
        doff += (size_t)(l + r);
        merge_insert(b, i);
    }
    return 0;
}

static void printable(char *out, size_t cap, const char *s, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o + 1 < cap; i++)
        out[o++] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
    out[o] = 0;
}

/* The end-of-generation set, as llama.cpp builds it: the names above, EOS
 * and the metadata's ids; where <|return|> and <|call|> are both there
 * (gpt-oss), <|end|> ends a message, not the generation. */
static void mark_eog(formats_bpe *b, const formats_vocab *v)
{
    int end = -1, ret = 0, call = 0;
    for (int i = 0; i < v->n; i++) {
        const char *t = b->raw + b->raw_off[i];
        size_t len = b->raw_off[i + 1] - b->raw_off[i];
        if (!is_in(t, len, eog_names, sizeof eog_names / sizeof eog_names[0]))
            continue;
        b->attr[i] |= ATTR_EOG;
        end = len == 7 && !memcmp(t, "<|end|>", 7) ? i : end;
        ret |= len == 10 && !memcmp(t, "<|return|>", 10);
        call |= len == 8 && !memcmp(t, "<|call|>", 8);
    }
    if (end >= 0 && ret && call)
        b->attr[end] &= (uint8_t)~ATTR_EOG;
    if (v->eos >= 0 && v->eos < v->n)
        b->attr[v->eos] |= ATTR_EOG;
    for (int k = 0; k < v->n_eog_meta; k++)
        b->attr[v->eog_meta[k]] |= ATTR_EOG;
}

int formats_bpe_build(const formats_vocab *v, formats_bpe **out, engine_error *err)
{
    *out = NULL;
    const char *src = v->source ? v->source : "vocabulary";
    int pre = -1;
    for (size_t i = 0; i < sizeof pre_names / sizeof pre_names[0] && v->pre; i++)
        if (strlen(pre_names[i].name) == v->pre_len && !memcmp(pre_names[i].name, v->pre, v->pre_len))
            pre = (int)i;
    if (pre < 0) {
        char name[64];
        printable(name, sizeof name, v->pre ? v->pre : "", v->pre ? v->pre_len : 0);
        return formats_error(err, ENGINE_ERR_INPUT, "%s: key tokenizer.ggml.pre is %s%s%s, expected one of "
                             "llama-bpe, llama3, llama-v3, qwen2, deepseek-r1-qwen, gpt-2, smollm", src,
                             v->pre ? "\"" : "", v->pre ? name : "missing", v->pre ? "\"" : "");
    }
    formats_bpe *b = calloc(1, sizeof *b);
    if (!b)
        return formats_error(err, ENGINE_ERR_SYSTEM, "out of memory for the tokenizer");
    b->n = v->n;
    b->pre = pre_names[pre].pre;
    snprintf(b->pre_name, sizeof b->pre_name, "%s", pre_names[pre].name);
    b->ignore_merges = b->pre == PRE_LLAMA3;
    b->add_bos = v->add_bos ? v->add_bos > 0 : b->pre == PRE_LLAMA3;
    b->add_eos = v->add_eos > 0;
    byte_tables(b);
    if (build_tokens(b, v, err) || build_merges(b, v, err) || build_pieces(b, err))
        goto fail;
    b->special = malloc((size_t)v->n * sizeof *b->special);
    if (!b->special) {
        formats_error(err, ENGINE_ERR_SYSTEM, "out of memory");
        goto fail;
    }
    for (int i = 0; i < v->n; i++)
        if ((b->attr[i] & ATTR_USER) && !(b->attr[i] & (ATTR_CONTROL | ATTR_UNKNOWN)))
            b->special[b->n_special++] = i;
    mark_eog(b, v);
    qsort_r(b->special, (size_t)b->n_special, sizeof *b->special, by_length, b->raw_off);
    *out = b;
    return 0;
fail:
    formats_bpe_free(b);
    return -1;
}

const char *formats_bpe_piece(const formats_bpe *b, int id, size_t *len)
{
    *len = b->piece_off[id + 1] - b->piece_off[id];
    return b->piece + b->piece_off[id];
}

bool formats_bpe_add_bos(const formats_bpe *b) { return b->add_bos; }
bool formats_bpe_add_eos(const formats_bpe *b) { return b->add_eos; }
bool formats_bpe_is_eog(const formats_bpe *b, int id) { return id >= 0 && id < b->n && (b->attr[id] & ATTR_EOG); }
const char *formats_bpe_pre(const formats_bpe *b) { return b->pre_name; }
int formats_bpe_merge_count(const formats_bpe *b) { return b->n_merges; }

const char *formats_bpe_merge(const formats_bpe *b, int i, uint32_t *len)
{
    *len = (uint32_t)(b->m_raw_off[i + 1] - b->m_raw_off[i]);
    return b->m_raw + b->m_raw_off[i];
}
