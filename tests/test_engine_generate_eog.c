/* Where generation ends. Byte-level BPE vocabularies: the end-of-generation
 * sets llama.cpp prints when it loads the full Llama 3 and Qwen2
 * vocabularies of ../shared/oracles ("printing all EOG tokens": Llama 3.2
 * 128001 <|end_of_text|>, 128008 <|eom_id|>, 128009 <|eot_id|>; Qwen2.5
 * 151643 <|endoftext|>, 151645 <|im_end|>, 151662 <|fim_pad|>, 151663
 * <|repo_name|>, 151664 <|file_sep|>; GPT-2 50256 <|endoftext|>), and
 * nothing else. Generation: qwen2-tiny-F32 greedy from "Once upon a time"
 * follows llama.cpp's greedy ids; with the file's EOS id moved onto the
 * k-th greedy token it stops right before that token, as it does with that
 * token named by tokenizer.ggml.eot_token_id, and with
 * ENGINE_GENERATE_IGNORE_EOS it runs every step; an end-of-turn id outside
 * the vocabulary is an input error naming the key. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "tb_test.h"

#define ORACLES TB_SHARED_DIR "/oracles"

static void check_eog_set(const char *file, const int *want, int n_want)
{
    char path[512];
    snprintf(path, sizeof path, "%s/tokenizer-vectors/%s", ORACLES, file);
    engine_tokenizer *t = NULL;
    engine_error err = {0};
    CHECKF(engine_tokenizer_load(path, 0, &t, &err) == 0, "%s: %s", path, err.msg);
    if (!t)
        return;
    int n = engine_tokenizer_vocab_size(t), found = 0;
    for (int i = 0; i < n_want; i++)
        CHECKF(engine_tokenizer_ends_generation(t, want[i]), "%s: id %d should end generation", file, want[i]);
    for (int id = 0; id < n; id++)
        found += engine_tokenizer_ends_generation(t, id);
    CHECKF(found == n_want, "%s: %d ids end generation, llama.cpp has %d", file, found, n_want);
    CHECKF(!engine_tokenizer_ends_generation(t, engine_tokenizer_bos(t)) || engine_tokenizer_bos(t) ==
               engine_tokenizer_eos(t), "%s: BOS %d ends generation", file, engine_tokenizer_bos(t));
    CHECK(!engine_tokenizer_ends_generation(t, -1) && !engine_tokenizer_ends_generation(t, n));
    engine_tokenizer_free(t);
}

/* A copy of the GGUF file at src whose key tokenizer.ggml.eos_token_id is
 * named `key` (of the same length) and holds id. */
static int write_with_key(const char *src, const char *dst, const char *key, int id)
{
    size_t len, klen = strlen(key);
    char *data = tb_read_all(src, &len);
    if (!data)
        return -1;
    static const char eos[] = "tokenizer.ggml.eos_token_id";
    char *p = NULL;
    for (size_t i = 0; i + sizeof eos + 4 <= len && !p && klen == sizeof eos - 1; i++)
        if (!memcmp(data + i, eos, sizeof eos - 1)) {
            memcpy(data + i, key, klen);
            p = data + i + klen;
        }
    uint32_t type = 0, v = (uint32_t)id;
    if (p)
        memcpy(&type, p, 4);
    int rc = -1;
    if (p && type == 4) {   /* GGUF_TYPE_UINT32 */
        memcpy(p + 4, &v, 4);
        FILE *f = fopen(dst, "wb");
        rc = f && fwrite(data, 1, len, f) == len ? 0 : -1;
        if (f && fclose(f))
            rc = -1;
    }
    free(data);
    return rc;
}

/* Greedy generation of `steps` positions: the ids (prompt included). */
static int generate(const char *model, const char *prompt, int steps, unsigned flags, int *ids, int max)
{
    engine_model *m = NULL;
    engine_session *s = NULL;
    engine_error err = {0};
    engine_options o;
    engine_options_default(&o);
    o.threads = 1;
    int n = -1;
    if (engine_model_load(model, &m, &err) || engine_session_create(m, &o, &s, &err)) {
        CHECKF(0, "%s: %s", model, err.msg);
    } else {
        engine_sampler sp;
        engine_sampler_init(&sp, 0.0f, 1.0f, 1);
        CHECKF(engine_generate(s, m->tokenizer, prompt, steps, flags, &sp, NULL, NULL, ids, max, &n, &err) == 0,
               "%s: %s", model, err.msg);
    }
    engine_session_free(s);
    engine_model_free(m);
    return n;
}

static int ints(const cJSON *a, int *out, int max)
{
    int n = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, a) if (n < max) out[n++] = e->valueint;
    return n;
}

static void check_generation(void)
{
    const char *model = ORACLES "/models/qwen2-tiny-F32.gguf";
    char *text = tb_read_all(ORACLES "/oracles/qwen2-tiny/F32/expected.json", NULL);
    cJSON *j = text ? cJSON_Parse(text) : NULL;
    free(text);
    CHECKF(j != NULL, "%s", "qwen2-tiny/F32/expected.json: missing or not JSON");
    if (!j)
        return;
    const cJSON *c = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "cases"), 0);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(c, "prompt")), "Once upon a time");
    int prompt[64], greedy[128], np = ints(cJSON_GetObjectItem(c, "prompt_ids"), prompt, 64), sure = 0;
    int ng = ints(cJSON_GetObjectItem(c, "greedy_ids"), greedy, 128);
    const cJSON *mg;
    cJSON_ArrayForEach(mg, cJSON_GetObjectItem(c, "greedy_margins")) {
        if (sure >= ng || mg->valuedouble < 0.01)
            break;
        sure++;   /* greedy steps where llama.cpp's choice is not a near-tie */
    }
    /* The stop token: a greedy token that is not earlier in the text. */
    int k = -1;
    for (int i = 3; i < sure && k < 0; i++) {
        bool seen = false;
        for (int q = 0; q < np; q++)
            seen |= prompt[q] == greedy[i];
        for (int q = 0; q < i; q++)
            seen |= greedy[q] == greedy[i];
        k = seen ? -1 : i;
    }
    CHECKF(k > 0 && sure > k, "no usable stop token (%d sure steps)", sure);
    if (k < 0) {
        cJSON_Delete(j);
        return;
    }
    /* `steps` positions: the prompt and `sure` sampled ids, the last one
     * sampled at the final position. */
    int steps = np + sure - 1, full = np + sure, ids[256];
    int n = generate(model, "Once upon a time", steps, 0, ids, 256);
    CHECKF(n == full, "unchanged file: %d ids, expected all %d", n, full);
    for (int i = 0; i < np && n == full; i++)
        CHECKF(ids[i] == prompt[i], "prompt id %d: %d, llama.cpp %d", i, ids[i], prompt[i]);
    for (int i = 0; i < sure && n == full; i++)
        CHECKF(ids[np + i] == greedy[i], "greedy step %d: %d, llama.cpp %d", i, ids[np + i], greedy[i]);

    char dst[] = "/tmp/tb-eog-XXXXXX";
    int fd = mkstemp(dst);
    CHECK(fd >= 0);
    if (fd >= 0) {
        close(fd);
        CHECKF(write_with_key(model, dst, "tokenizer.ggml.eos_token_id", greedy[k]) == 0, "cannot write %s with EOS %d",
               dst, greedy[k]);
        n = generate(dst, "Once upon a time", steps, 0, ids, 256);
        CHECKF(n == np + k, "EOS = greedy token %d (id %d): %d ids, expected to stop at %d", k, greedy[k], n, np + k);
        for (int i = 0; i < k && n == np + k; i++)
            CHECKF(ids[np + i] == greedy[i], "before the stop, step %d: %d, llama.cpp %d", i, ids[np + i], greedy[i]);
        n = generate(dst, "Once upon a time", steps, ENGINE_GENERATE_IGNORE_EOS, ids, 256);
        CHECKF(n == full, "ignoring EOS: %d ids, expected %d", n, full);
        CHECKF(n == full && ids[np + k] == greedy[k], "ignoring EOS: step %d is %d, llama.cpp %d", k,
               n == full ? ids[np + k] : -1, greedy[k]);
        /* The same id as the end-of-turn token (the key renamed; EOS falls back
         * to llama.cpp's BPE default, 11). */
        bool eleven = false;
        for (int i = 0; i < k; i++)
            eleven |= greedy[i] == 11;
        CHECKF(!eleven, "%s", "greedy ids before the stop hold 11, the default EOS: pick another case");
        CHECK(write_with_key(model, dst, "tokenizer.ggml.eot_token_id", greedy[k]) == 0);
        n = generate(dst, "Once upon a time", steps, 0, ids, 256);
        CHECKF(n == np + k, "EOT = greedy token %d (id %d): %d ids, expected to stop at %d", k, greedy[k], n, np + k);
        /* An id outside the vocabulary: an input error naming the key. */
        CHECK(write_with_key(model, dst, "tokenizer.ggml.eot_token_id", 999999) == 0);
        engine_model *m = NULL;
        engine_error err = {0};
        CHECK(engine_model_load(dst, &m, &err) != 0 && err.kind == ENGINE_ERR_INPUT);
        CHECKF(strstr(err.msg, "tokenizer.ggml.eot_token_id = 999999, outside the 4118-token vocabulary") != NULL,
               "message: %s", err.msg);
        engine_model_free(m);
        unlink(dst);
    }
    cJSON_Delete(j);
}

int main(void)
{
    if (access(ORACLES "/README.md", R_OK)) {
        fprintf(stderr, "skip: no oracle pack at %s\n", ORACLES);
        return TB_SKIP;
    }
    check_eog_set("ggml-vocab-llama-bpe.gguf", (const int[]){128001, 128008, 128009}, 3);
    check_eog_set("ggml-vocab-qwen2.gguf", (const int[]){151643, 151645, 151662, 151663, 151664}, 5);
    check_eog_set("ggml-vocab-gpt-2.gguf", (const int[]){50256}, 1);
    check_generation();
    TB_MAIN_END();
}
