/* The tokenizer against independent oracles: llama.cpp's own test vectors
 * for the Llama SentencePiece vocabulary (read from a GGUF file llama.cpp
 * wrote), and llama2.c tokenizer.bin encodings computed with a separate
 * Python port of llama2.c's encode. */
#include <stdlib.h>

#include "engine.h"
#include "tb_test.h"

static void check_encode(const engine_tokenizer *t, const char *text, const int *want, int n_want)
{
    int ids[256], n = -1;
    engine_error err = {0};
    int rc = engine_tokenizer_encode(t, text, false, false, ids, 256, &n, &err);
    int same = rc == 0 && n == n_want;
    for (int i = 0; same && i < n; i++)
        same = ids[i] == want[i];
    CHECKF(same, "encode \"%s\": rc %d, %d ids (want %d) %s", text, rc, n, n_want, err.msg);
}

/* Expected ids from a Python port of llama2.c run.c encode(), not this code. */
static void test_llama2c(void)
{
    engine_tokenizer *t;
    engine_error err = {0};
    if (engine_tokenizer_load(TB_SHARED_DIR "/models/stories260K/tokenizer.bin", 512, &t, &err)) {
        CHECKF(0, "%s", err.msg);
        return;
    }
    CHECK(engine_tokenizer_vocab_size(t) == 512 && engine_tokenizer_bos(t) == 1 && engine_tokenizer_eos(t) == 2);
    check_encode(t, "Once upon a time", (int[]){403, 407, 261, 378}, 4);
    check_encode(t, "The machine", (int[]){291, 284, 412, 402, 271, 411}, 6);
    check_encode(t, "Über ½!", (int[]){410, 198, 159, 430, 285, 410, 197, 192, 443}, 9);
    int ids[8], n;
    CHECK(engine_tokenizer_encode(t, "", true, true, ids, 8, &n, &err) == 0 && n == 2 && ids[0] == 1 && ids[1] == 2);
    CHECK(engine_tokenizer_encode(t, "Once upon a time", true, false, ids, 3, &n, &err) == -1 &&
          err.kind == ENGINE_ERR_INPUT);
    /* Decoding: leading space dropped after BOS, <0xXX> becomes the byte. */
    size_t len;
    const char *p = engine_tokenizer_piece(t, 1, 403, &len);
    CHECK(len == 4 && !memcmp(p, "Once", 4));
    p = engine_tokenizer_piece(t, 403, 407, &len);
    CHECK(len == 5 && !memcmp(p, " upon", 5));
    p = engine_tokenizer_piece(t, 5, 13, &len);   /* <0x0A> */
    CHECK(len == 1 && p[0] == '\n');
    engine_tokenizer_free(t);

    if (engine_tokenizer_load(TB_SHARED_DIR "/models/aidreams260K/tokenizer.bin", 512, &t, &err)) {
        CHECKF(0, "%s", err.msg);
        return;
    }
    check_encode(t, "The machine", (int[]){368, 430, 276, 435, 307, 259, 430}, 7);
    check_encode(t, "Echoes of light", (int[]){388, 355, 260, 275, 308, 305, 434}, 7);
    check_encode(t, "Once upon a time", (int[]){429, 491, 433, 295, 429, 444, 445, 265, 262, 263, 342, 430}, 12);
    engine_tokenizer_free(t);

    /* A vocabulary that does not fit the model. */
    CHECK(engine_tokenizer_load(TB_SHARED_DIR "/models/aidreams260K/tokenizer.bin", 32000, &t, &err) == -1);
    CHECK(err.kind == ENGINE_ERR_INPUT && strstr(err.msg, "tokenizer.bin") && strstr(err.msg, "32000"));
}

/* llama.cpp's tokenizer test vectors: every string must give llama.cpp's ids. */
static void test_spm_vectors(void)
{
    const char *dir = TB_SHARED_DIR "/tokenizer-vectors/ggml-vocab-llama-spm.gguf";
    engine_model *m = NULL;
    engine_error err = {0};
    size_t inp_len, out_len;
    char *inp = tb_read_all(TB_SHARED_DIR "/tokenizer-vectors/ggml-vocab-llama-spm.gguf.inp", &inp_len);
    char *out = tb_read_all(TB_SHARED_DIR "/tokenizer-vectors/ggml-vocab-llama-spm.gguf.out", &out_len);
    int rc = engine_model_load(dir, &m, &err);
    CHECKF(rc != 0 && err.kind == ENGINE_ERR_INPUT, "a vocabulary-only GGUF is not a model: %s", err.msg);
    engine_tokenizer *t = NULL;
    if (engine_tokenizer_load(dir, 32000, &t, &err)) {
        CHECKF(0, "%s", err.msg);
        free(inp);
        free(out);
        return;
    }
    CHECK(engine_tokenizer_vocab_size(t) == 32000);
    const char *sep = "\n__ggml_vocab_test__\n";
    int total = 0, matched = 0;
    char *s = inp, *line = out;
    for (char *end; (end = strstr(s, sep)) && line; s = end + strlen(sep)) {
        *end = 0;
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = 0;
        int want[512], n_want = 0, ids[512], n = 0;
        for (char *q = line, *e; n_want < 512; q = e) {
            long v = strtol(q, &e, 10);
            if (e == q)
                break;
            want[n_want++] = (int)v;
        }
        total++;
        rc = engine_tokenizer_encode(t, s, false, false, ids, 512, &n, &err);
        int same = rc == 0 && n == n_want;
        int first = -1;
        for (int i = 0; i < n && i < n_want; i++)
            if (ids[i] != want[i]) {
                same = 0;
                first = i;
                break;
            }
        if (same)
            matched++;
        else
            fprintf(stderr, "mismatch %d \"%s\": %d ids, llama.cpp %d; first difference at %d (%d vs %d)\n",
                    total, s, n, n_want, first, first >= 0 ? ids[first] : -1, first >= 0 ? want[first] : -1);
        line = nl ? nl + 1 : NULL;
    }
    printf("llama.cpp SPM vectors: %d of %d match\n", matched, total);
    CHECK(total == 46);
    CHECK(matched == total);
    engine_tokenizer_free(t);
    free(inp);
    free(out);
}

int main(void)
{
    test_llama2c();
    test_spm_vectors();
    TB_MAIN_END();
}
