/* Internal to engine/: what the model loaders (llama2c.c, gguf.c, synth.c)
 * and the tokenizer share: the storage behind an engine_model, error
 * helpers, and building a tokenizer from an in-memory vocabulary. */
#ifndef THERMABENCH_ENGINE_FORMATS_H
#define THERMABENCH_ENGINE_FORMATS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "engine.h"

/* Loader-owned storage behind engine_model.impl: one read-only mapping of the
 * file (tensors point into it) and a list of heap buffers (converted norms,
 * synthetic weights). engine_model_free releases all of it. */
typedef struct formats_store {
    void *map;
    size_t map_len;
    void **owned;
    int n_owned, cap_owned;
} formats_store;

/* A zeroed model with n_layers layers and an empty store; NULL when out of memory. */
engine_model *formats_model_new(int n_layers);
/* Replaces m->layers with n zeroed layers (loaders learn n from the file). */
int formats_model_layers(engine_model *m, int n, engine_error *err);
/* malloc tracked by the model's store (freed with the model); NULL on failure. */
void *formats_model_alloc(engine_model *m, size_t bytes);
/* Maps a whole file read-only. Sets *data and *len; the mapping is kept in
 * the model's store. */
int formats_map_file(engine_model *m, const char *path, const uint8_t **data, size_t *len,
                     engine_error *err);

/* Fills err (kind and printf-style message) and returns -1. */
int formats_error(engine_error *err, engine_error_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Checks the config for sane, consistent values (name: file or preset for
 * messages). */
int formats_check_config(const engine_config *c, const char *name, engine_error *err);
/* Sum of bytes of all matrices (embedding table included). */
uint64_t formats_weight_bytes(const engine_model *m);
/* Bytes one decode step reads: layer matrices and the classifier. */
uint64_t formats_decode_bytes(const engine_model *m);

/* Model writers create `path` under a temporary name in the same folder
 * (tmp, tmp_len bytes) and rename it when whole and synced: a crash never
 * leaves a half-written file under the requested name. formats_create_tmp
 * returns NULL with err set; formats_commit_tmp closes f, and renames it
 * when ok (else removes it), returning 0 or -1 with err set. */
FILE *formats_create_tmp(const char *path, char *tmp, size_t tmp_len, engine_error *err);
int formats_commit_tmp(FILE *f, const char *tmp, const char *path, bool ok, engine_error *err);

/* Loaders; each fills a model created by engine_model_load. */
int formats_load_llama2c(engine_model *m, const char *path, const uint8_t *data, size_t len,
                         engine_error *err);
int formats_load_gguf(engine_model *m, const char *path, const uint8_t *data, size_t len,
                      engine_error *err);

/* ---- tokenizer -------------------------------------------------------- */

/* A vocabulary in memory. Pieces are copied. With `spm_escaped`, U+2581
 * ("▁") in pieces stands for a space (SentencePiece, GGUF) and is turned
 * into ' ' so that all vocabularies share one representation. `types` may be
 * NULL (GGUF token_type: 1 normal, 2 unknown, 3 control, 4 user-defined,
 * 5 unused, 6 byte).
 *
 * kind FORMATS_VOCAB_BPE is byte-level BPE (GGUF tokenizer.ggml.model
 * "gpt2"): pieces in GPT-2's byte encoding, kept as stored; `merges` ("left
 * right", rank = position) and `pre` (tokenizer.ggml.pre) are required. */
typedef enum formats_vocab_kind { FORMATS_VOCAB_SPM = 0, FORMATS_VOCAB_BPE } formats_vocab_kind;

typedef struct formats_vocab {
    int n;
    const char *const *pieces;
    const uint32_t *lens;
    const float *scores;
    const int32_t *types;
    int bos, eos;             /* -1: none */
    /* tokenizer.ggml.{eot,eom,fim_pad,fim_rep,fim_sep}_token_id, those the
     * file has: tokens that end generation besides EOS (llama.cpp's set) */
    int n_eog_meta, eog_meta[5];
    bool spm_escaped;
    formats_vocab_kind kind;
    int add_bos, add_eos;     /* tokenizer.ggml.add_bos_token/add_eos_token: 1 on, -1 off, 0 the kind's default */
    int n_merges;
    const char *const *merges;
    const uint32_t *merge_lens;
    const char *pre;          /* not NUL-terminated; NULL: key missing */
    size_t pre_len;
    const char *source;       /* file name for messages, may be NULL */
} formats_vocab;

/* The SentencePiece vocabulary embedded in a GGUF file (vocab-only files too). */
int formats_tokenizer_load_gguf(const char *path, int vocab_size, engine_tokenizer **out, engine_error *err);
int formats_tokenizer_build(const formats_vocab *v, engine_tokenizer **out, engine_error *err);
/* Byte-level BPE (tokenizer_bpe.c), held by a tokenizer of kind BPE. */
typedef struct formats_bpe formats_bpe;
int formats_bpe_build(const formats_vocab *v, formats_bpe **out, engine_error *err);
void formats_bpe_free(formats_bpe *b);
/* Appends the ids of `text` (len bytes) at ids[*n..max), updating *n. */
int formats_bpe_encode(const formats_bpe *b, const char *text, size_t len, int *ids, int max, int *n,
                       engine_error *err);
/* The bytes token `id` prints as (special tokens by name). */
const char *formats_bpe_piece(const formats_bpe *b, int id, size_t *len);
bool formats_bpe_add_bos(const formats_bpe *b);
bool formats_bpe_add_eos(const formats_bpe *b);
/* Whether token `id` ends generation (llama.cpp's end-of-generation set). */
bool formats_bpe_is_eog(const formats_bpe *b, int id);
const char *formats_bpe_pre(const formats_bpe *b);
int formats_bpe_merge_count(const formats_bpe *b);
const char *formats_bpe_merge(const formats_bpe *b, int i, uint32_t *len);
/* The tokenizer's BPE part, NULL for a SentencePiece vocabulary. */
const formats_bpe *formats_tokenizer_bpe(const engine_tokenizer *t);

/* Piece bytes exactly as stored in the vocabulary (spaces as ' '), for writers. */
const char *formats_tokenizer_raw(const engine_tokenizer *t, int id, uint32_t *len);
float formats_tokenizer_score(const engine_tokenizer *t, int id);
int32_t formats_tokenizer_type(const engine_tokenizer *t, int id);

#endif
