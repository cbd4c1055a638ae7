/* Fuzz target: the byte-level BPE tokenizer, its GGUF vocabulary loader and
 * its encoder. The first input byte picks what the rest is: odd, a GGUF file
 * given to engine_tokenizer_load (it may fail, never crash); even, text
 * encoded with one of three real vocabularies from the shared oracles
 * (llama3-tiny, qwen2-tiny, GPT-2), where valid UTF-8 must decode back to the
 * same bytes (abort otherwise). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "fuzz_input.h"

static const char *shared_dir(void)
{
    const char *env = getenv("THERMABENCH_SHARED_DIR");
    return env && env[0] ? env : TB_SHARED_DIR;
}

/* Strict UTF-8: no overlong forms, surrogates or values past U+10FFFF. */
static bool valid_utf8(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint8_t c = s[i];
        size_t k = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
        if (k == 0 || i + k > n)
            return false;
        uint32_t cp = k == 1 ? c : (uint32_t)(c & (0x7F >> k));
        for (size_t j = 1; j < k; j++) {
            if ((s[i + j] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + j] & 0x3F);
        }
        static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min[k] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += k;
    }
    return true;
}

static void encode_and_check(const engine_tokenizer *t, const char *text, size_t len, bool must_round_trip)
{
    int max = 3 * (int)len + 2, n = 0;
    int *ids = malloc((size_t)max * sizeof *ids);
    char *back = malloc(4 * len + 1);
    engine_error err = {0};
    if (!ids || !back)
        abort();
    if (engine_tokenizer_encode(t, text, false, false, ids, max, &n, &err) == 0 && must_round_trip) {
        size_t o = 0;
        for (int i = 0; i < n; i++) {
            size_t pl;
            const char *p = engine_tokenizer_piece(t, i ? ids[i - 1] : -1, ids[i], &pl);
            if (o + pl > 4 * len)
                abort();
            memcpy(back + o, p, pl);
            o += pl;
        }
        if (o != len || memcmp(back, text, len)) {
            fprintf(stderr, "fuzz_tokenizer_bpe: %zu bytes of text decode to %zu other bytes\n", len, o);
            abort();
        }
    } else if (must_round_trip) {
        fprintf(stderr, "fuzz_tokenizer_bpe: encoding failed: %s\n", err.msg);
        abort();
    }
    free(ids);
    free(back);
}

static void fuzz_loader(const uint8_t *data, size_t size)
{
    int fd;
    char path[64];
    if (fuzz_input_file(data, size, &fd, path, sizeof path) < 0)
        return;
    engine_tokenizer *t = NULL;
    engine_error err = {0};
    if (engine_tokenizer_load(path, 0, &t, &err) == 0) {
        static const char *const texts[] = {"ab ab", "ba 12 'll", "\xe2\x82\xac\xff", "  \n\tab"};
        for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
            encode_and_check(t, texts[i], strlen(texts[i]), false);
        engine_tokenizer_free(t);
    } else if (err.kind != ENGINE_ERR_INPUT && err.kind != ENGINE_ERR_SYSTEM) {
        abort();
    }
    close(fd);
}

static engine_tokenizer *vocab[3];

static void load_vocabularies(void)
{
    static const char *const files[3] = {"/oracles/models/llama3-tiny-F32.gguf", "/oracles/models/qwen2-tiny-F32.gguf",
                                         "/oracles/tokenizer-vectors/ggml-vocab-gpt-2.gguf"};
    for (int i = 0; i < 3 && !vocab[i]; i++) {
        char path[1024];
        engine_error err = {0};
        snprintf(path, sizeof path, "%s%s", shared_dir(), files[i]);
        if (engine_tokenizer_load(path, 0, &vocab[i], &err)) {
            fprintf(stderr, "fuzz_tokenizer_bpe: %s\n", err.msg);
            exit(1);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (data[0] & 1) {
        fuzz_loader(data + 1, size - 1);
        return 0;
    }
    load_vocabularies();
    size_t len = strnlen((const char *)data + 1, size - 1);
    char *text = malloc(len + 1);
    if (!text)
        abort();
    memcpy(text, data + 1, len);
    text[len] = 0;
    encode_and_check(vocab[(data[0] >> 1) % 3], text, len, valid_utf8((const uint8_t *)text, len));
    free(text);
    return 0;
}
