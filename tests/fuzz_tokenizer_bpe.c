/* Fuzz target for the byte-level BPE tokenizer: the GGUF vocabulary loader
 * and the encoder.
 *
 * The first input byte picks what the rest is: odd, a GGUF file given to
 * engine_tokenizer_load (it may fail, never crash); even, text encoded with
 * one of three real vocabularies from the shared oracles (llama3-tiny,
 * qwen2-tiny, GPT-2), where valid UTF-8 must decode back to the same bytes
 * (abort otherwise). With -DTB_LIBFUZZER and clang -fsanitize=fuzzer this is
 * a libFuzzer target; without, main() replays files named on the command
 * line, or by default runs deterministic mutations of built-in seeds (a
 * ctest smoke run, under the sanitizers in the asan preset). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "engine.h"
#include "tb_vocab_gguf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
    int fd = memfd_create("tb_fuzz_vocab", 0);
    if (fd < 0 || write(fd, data, size) != (ssize_t)size) {
        if (fd >= 0)
            close(fd);
        return;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
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

#ifndef TB_LIBFUZZER
static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* A few random byte edits: overwrite, insert, delete, or copy a run. */
static size_t mutate(uint8_t *buf, size_t len, size_t cap)
{
    int edits = 1 + (int)(next_rand() % 4);
    for (int e = 0; e < edits; e++) {
        size_t at = len ? next_rand() % len : 0;
        switch (next_rand() % 4) {
        case 0:
            if (len)
                buf[at] = (uint8_t)next_rand();
            break;
        case 1:
            if (len < cap) {
                memmove(buf + at + 1, buf + at, len - at);
                buf[at] = (uint8_t)next_rand();
                len++;
            }
            break;
        case 2:
            if (len > 1) {
                memmove(buf + at, buf + at + 1, len - at - 1);
                len--;
            }
            break;
        default: {
            size_t from = len ? next_rand() % len : 0, n = 1 + next_rand() % 8;
            if (from + n <= len && len + n <= cap) {
                memmove(buf + at + n, buf + at, len - at);
                memmove(buf + at, buf + (from >= at ? from + n : from), n);
                len += n;
            }
        }
        }
    }
    return len;
}

static void run_seed(const uint8_t *seed, size_t len, int rounds)
{
    enum { CAP = 1 << 14 };
    static uint8_t buf[CAP];
    LLVMFuzzerTestOneInput(seed, len);
    for (int r = 0; r < rounds; r++) {
        memcpy(buf, seed, len < CAP ? len : CAP);
        size_t n = mutate(buf + 1, len - 1, CAP - 1) + 1;
        LLVMFuzzerTestOneInput(buf, n);
    }
}

int main(int argc, char **argv)
{
    if (argc > 1) {   /* replay inputs, e.g. a crash libFuzzer saved */
        for (int i = 1; i < argc; i++) {
            FILE *f = fopen(argv[i], "rb");
            if (!f)
                return perror(argv[i]), 1;
            static uint8_t buf[1 << 20];
            size_t n = fread(buf, 1, sizeof buf, f);
            fclose(f);
            LLVMFuzzerTestOneInput(buf, n);
        }
        return 0;
    }
    static const char *const texts[] = {
        "Hello world! It's 2026-12-07, 3.14159 \xe2\x82\xac and 'LL 'Re\n\n\t  spaces   ",
        "\xe1\x84\x80\xe1\x85\xa1 \xf0\x9f\x98\x80 \xe4\xbd\xa0\xe5\xa5\xbd<tool_call>x</tool_call><|im_start|>",
        "   \r\n  12345678 a\xcc\x81 \xc2\xa0\xe2\x80\xa8 ''''s \xef\xbf\xbd",
    };
    int runs = 0;
    for (int v = 0; v < 3; v++)
        for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
            uint8_t seed[512];
            size_t n = strlen(texts[i]);
            seed[0] = (uint8_t)(v << 1);
            memcpy(seed + 1, texts[i], n);
            run_seed(seed, n + 1, 300);
            runs += 301;
        }
    static const char *const pres[] = {"llama-bpe", "qwen2", "gpt-2", "smollm"};
    for (int p = 0; p < 8; p++) {
        tb_gbuf g = tb_tiny_vocab("gpt2", pres[p % 4], p >= 4);
        uint8_t *seed = malloc(g.len + 1);
        if (!seed)
            abort();
        seed[0] = 1;
        memcpy(seed + 1, g.p, g.len);
        run_seed(seed, g.len + 1, 300);
        runs += 301;
        free(seed);
        free(g.p);
    }
    for (int i = 0; i < 3; i++)
        engine_tokenizer_free(vocab[i]);
    printf("fuzz_tokenizer_bpe: %d inputs, no failure\n", runs);
    return 0;
}
#endif
