/* The greedy cases of ../shared/models: model, tokenizer (NULL: the GGUF's
 * own vocabulary), prompt, steps and the file holding the expected output of
 * an independent implementation. Shared by every test that checks them. */
#ifndef TB_MODELS_H
#define TB_MODELS_H

#include <stdio.h>
#include <string.h>

#define TB_MODELS TB_SHARED_DIR "/models/"

typedef struct tb_model_case {
    const char *model, *tokenizer, *prompt;
    int steps;
    const char *expected;
} tb_model_case;

static const tb_model_case tb_model_cases[] = {
    {TB_MODELS "aidreams260K/model.bin", TB_MODELS "aidreams260K/tokenizer.bin", "", 128,
     TB_MODELS "aidreams260K/greedy-bos-128.txt"},
    {TB_MODELS "aidreams260K/model.bin", TB_MODELS "aidreams260K/tokenizer.bin", "The machine", 64,
     TB_MODELS "aidreams260K/greedy-the-machine-64.txt"},
    {TB_MODELS "aidreams260K/model.bin", TB_MODELS "aidreams260K/tokenizer.bin", "Echoes of light", 100,
     TB_MODELS "aidreams260K/greedy-echoes-of-light-100.txt"},
    {TB_MODELS "stories260K/model.bin", TB_MODELS "stories260K/tokenizer.bin", "", 200,
     TB_MODELS "stories260K/greedy-bos-200.txt"},
    {TB_MODELS "stories260K/model.bin", TB_MODELS "stories260K/tokenizer.bin", "Once upon a time", 60,
     TB_MODELS "stories260K/greedy-once-upon-a-time-60.txt"},
    {TB_MODELS "stories260K/model.gguf", NULL, "", 200, TB_MODELS "stories260K/greedy-bos-200.txt"},
    {TB_MODELS "stories260K/model.gguf", NULL, "Once upon a time", 60,
     TB_MODELS "stories260K/greedy-once-upon-a-time-60.txt"},
};
#define TB_N_MODEL_CASES (sizeof tb_model_cases / sizeof tb_model_cases[0])

/* Generated text, collected by the engine's piece callback. */
typedef struct tb_text {
    char data[16384];
    size_t len;
} tb_text;

static inline void tb_text_append(void *ctx, const char *bytes, size_t len)
{
    tb_text *b = ctx;
    if (b->len + len < sizeof b->data) {
        memcpy(b->data + b->len, bytes, len);
        b->len += len;
    }
}

/* Up to cap bytes of a file into buf: the count, or -1 if it cannot be opened. */
static inline long tb_read_into(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return (long)n;
}

#endif
