/* Byte-level BPE against llama.cpp: its tokenizer test vectors for the full
 * Llama 3, Qwen2 and GPT-2 vocabularies and for the 4096-token vocabularies
 * of the oracle models, the prompt ids llama.cpp gave for every oracle case,
 * and the bytes of llama.cpp's greedy texts rebuilt from their ids. All of it
 * is read from ../shared/oracles at run time. */
#include <errno.h>
#include <glob.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "engine.h"
#include "tb_test.h"
#include "tb_vocab_gguf.h"

#define ORACLES TB_SHARED_DIR "/oracles"
#define VECTORS ORACLES "/tokenizer-vectors/"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Concatenated pieces of ids: must give back the text's bytes. */
static size_t decode(const engine_tokenizer *t, const int *ids, int n, char *out, size_t cap)
{
    size_t o = 0;
    for (int i = 0; i < n; i++) {
        size_t len;
        const char *p = engine_tokenizer_piece(t, i ? ids[i - 1] : -1, ids[i], &len);
        if (o + len > cap)
            return (size_t)-1;
        memcpy(out + o, p, len);
        o += len;
    }
    return o;
}

/* One .inp/.out pair: every string encodes to llama.cpp's ids (no BOS, no
 * special-token parsing) and its ids decode to the string. */
static void check_vectors(const char *name, const engine_tokenizer *t, const char *inp_path, const char *out_path)
{
    size_t inp_len, out_len;
    char *inp = tb_read_all(inp_path, &inp_len);
    char *out = tb_read_all(out_path, &out_len);
    CHECKF(inp && out, "%s: cannot read %s or %s", name, inp_path, out_path);
    if (!inp || !out) {
        free(inp);
        free(out);
        return;
    }
    static int want[8192], ids[8192];
    static char text[1 << 16];
    const char *sep = "\n__ggml_vocab_test__\n";
    int total = 0, encoded = 0, decoded = 0;
    double t0 = now_s();
    char *s = inp, *line = out;
    for (char *end; (end = strstr(s, sep)) && line; s = end + strlen(sep)) {
        *end = 0;
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = 0;
        int n_want = 0, n = 0;
        for (char *q = line, *e; n_want < 8192; q = e) {
            long v = strtol(q, &e, 10);
            if (e == q)
                break;
            want[n_want++] = (int)v;
        }
        total++;
        engine_error err = {0};
        int rc = engine_tokenizer_encode(t, s, false, false, ids, 8192, &n, &err);
        int same = rc == 0 && n == n_want, first = -1;
        for (int i = 0; same && i < n; i++)
            if (ids[i] != want[i])
                same = 0, first = i;
        encoded += same;
        if (!same)
            fprintf(stderr, "%s: string %d \"%s\": %d ids, llama.cpp %d; first difference at %d (%d vs %d) %s\n",
                    name, total, s, n, n_want, first, first >= 0 ? ids[first] : -1, first >= 0 ? want[first] : -1,
                    err.msg);
        size_t len = decode(t, want, n_want, text, sizeof text);
        if (len == strlen(s) && !memcmp(text, s, len))
            decoded++;
        else
            fprintf(stderr, "%s: string %d \"%s\": llama.cpp's ids decode to %zu bytes \"%.*s\"\n", name, total, s,
                    len, (int)(len == (size_t)-1 ? 0 : len), text);
        line = nl ? nl + 1 : NULL;
    }
    printf("%s: %d of %d strings encode to llama.cpp's ids, %d decode back (%.1f ms for all)\n", name, encoded,
           total, decoded, (now_s() - t0) * 1e3);
    CHECKF(total == 46, "%s: %d strings", name, total);
    CHECKF(encoded == total, "%s: %d of %d encode", name, encoded, total);
    CHECKF(decoded == total, "%s: %d of %d decode", name, decoded, total);
    free(inp);
    free(out);
}

static engine_tokenizer *load(const char *path, int vocab)
{
    engine_tokenizer *t = NULL;
    engine_error err = {0};
    double t0 = now_s();
    int rc = engine_tokenizer_load(path, vocab, &t, &err);
    CHECKF(rc == 0, "%s: %s", path, err.msg);
    if (rc == 0)
        printf("%s: %d tokens, %s, loaded in %.0f ms\n", path, engine_tokenizer_vocab_size(t),
               engine_tokenizer_kind(t), (now_s() - t0) * 1e3);
    return t;
}

static void test_full_vocabularies(void)
{
    static const struct {
        const char *name, *kind;
        int vocab, bos, eos;
        bool add_bos;
    } v[] = {
        {"llama-bpe", "llama-bpe", 128256, 128000, 128001, true},
        {"qwen2", "qwen2", 151665, 151643, 151643, false},
        {"gpt-2", "gpt-2", 50257, 50256, 50256, false},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char gguf[400], inp[512], out[512];
        snprintf(gguf, sizeof gguf, VECTORS "ggml-vocab-%s.gguf", v[i].name);
        snprintf(inp, sizeof inp, "%s.inp", gguf);
        snprintf(out, sizeof out, "%s.out", gguf);
        engine_tokenizer *t = load(gguf, v[i].vocab);
        if (!t)
            continue;
        CHECK_STR(engine_tokenizer_kind(t), v[i].kind);
        CHECK(engine_tokenizer_bos(t) == v[i].bos && engine_tokenizer_eos(t) == v[i].eos);
        CHECK(engine_tokenizer_add_bos(t) == v[i].add_bos && !engine_tokenizer_add_eos(t));
        check_vectors(v[i].name, t, inp, out);
        engine_tokenizer_free(t);
    }
}

/* The truncated vocabularies inside the oracle models (4096 BPE tokens). */
static void test_truncated_vocabularies(void)
{
    engine_tokenizer *t = load(ORACLES "/models/llama3-tiny-F32.gguf", 4352);
    if (t) {
        check_vectors("llama3-tiny", t, VECTORS "ggml-vocab-llama-bpe.gguf.inp",
                      VECTORS "truncated-N4096-llama-bpe.out");
        engine_tokenizer_free(t);
    }
    t = load(ORACLES "/models/qwen2-tiny-F32.gguf", 4118);
    if (t) {
        check_vectors("qwen2-tiny", t, VECTORS "ggml-vocab-qwen2.gguf.inp", VECTORS "truncated-N4096-qwen2.out");
        engine_tokenizer_free(t);
    }
}

static int int_array(const cJSON *a, int *out, int max)
{
    int n = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, a) {
        if (n < max && cJSON_IsNumber(e))
            out[n++] = e->valueint;
    }
    return n;
}

static int hex_bytes(const char *hex, char *out, int max)
{
    int n = 0;
    for (; hex && hex[0] && hex[1] && n < max; hex += 2) {
        char b[3] = {hex[0], hex[1], 0};
        out[n++] = (char)strtol(b, NULL, 16);
    }
    return n;
}

/* Every case of every expected.json: the prompt's ids (BOS as the model's
 * metadata says) equal llama.cpp's, and the greedy ids decode to the bytes
 * llama.cpp printed (special tokens by name). */
static void test_oracle_prompts(void)
{
    glob_t gl;
    int g = glob(ORACLES "/oracles/*/*/expected.json", 0, NULL, &gl);
    CHECKF(g == 0 && gl.gl_pathc == 16, "expected 16 oracle files, found %zu", g == 0 ? gl.gl_pathc : 0);
    int cases = 0, prompts_ok = 0, texts_ok = 0;
    for (size_t f = 0; g == 0 && f < gl.gl_pathc; f++) {
        char *json = tb_read_all(gl.gl_pathv[f], NULL);
        cJSON *root = json ? cJSON_Parse(json) : NULL;
        free(json);
        const cJSON *file = cJSON_GetObjectItem(root, "model_file");
        CHECKF(root && cJSON_IsString(file), "%s: not an oracle file", gl.gl_pathv[f]);
        if (!root || !cJSON_IsString(file)) {
            cJSON_Delete(root);
            continue;
        }
        char path[1024];
        snprintf(path, sizeof path, ORACLES "/models/%s", file->valuestring);
        engine_tokenizer *t = load(path, 0);
        const cJSON *c;
        cJSON_ArrayForEach(c, cJSON_GetObjectItem(root, "cases")) {
            if (!t)
                break;
            static int want[4096], ids[4096];
            static char bytes[1 << 16], text[1 << 16];
            const char *prompt = cJSON_GetObjectItem(c, "prompt")->valuestring;
            int n_want = int_array(cJSON_GetObjectItem(c, "prompt_ids"), want, 4096), n = 0;
            engine_error err = {0};
            int rc = engine_tokenizer_encode(t, prompt, engine_tokenizer_add_bos(t), engine_tokenizer_add_eos(t),
                                             ids, 4096, &n, &err);
            int same = rc == 0 && n == n_want && n > 0 && !memcmp(ids, want, (size_t)n * sizeof *ids);
            CHECKF(same, "%s \"%s\": %d ids, llama.cpp %d %s", file->valuestring, prompt, n, n_want, err.msg);
            prompts_ok += same;
            int n_greedy = int_array(cJSON_GetObjectItem(c, "greedy_ids"), want, 4096);
            int n_bytes = hex_bytes(cJSON_GetStringValue(cJSON_GetObjectItem(c, "greedy_text_utf8_hex")), bytes,
                                    sizeof bytes);
            size_t len = decode(t, want, n_greedy, text, sizeof text);
            same = n_greedy > 0 && len == (size_t)n_bytes && !memcmp(text, bytes, len);
            CHECKF(same, "%s \"%s\": greedy ids decode to %zu bytes, llama.cpp printed %d", file->valuestring, prompt,
                   len, n_bytes);
            texts_ok += same;
            cases++;
        }
        engine_tokenizer_free(t);
        cJSON_Delete(root);
    }
    printf("oracle cases: %d prompts of %d tokenized as llama.cpp, %d greedy texts rebuilt\n", prompts_ok, cases,
           texts_ok);
    CHECK(cases == 32);
    if (g == 0)
        globfree(&gl);
}

/* Special tokens typed in the text: user-defined ones (Qwen's <tool_call>)
 * are cut out as their own token, as llama.cpp does even with
 * parse_special = false; control ones (<|im_start|>, Llama 3's
 * <|begin_of_text|>) stay text. Either way the ids decode to the text. */
static void test_special_tokens(void)
{
    static const struct {
        const char *model, *text, *special;
        bool one_token;
    } c[] = {
        {"qwen2-tiny-F32.gguf", "a<tool_call>b</tool_call>", "<tool_call>", true},
        {"qwen2-tiny-F32.gguf", "x<|im_start|>user", "<|im_start|>", false},
        {"llama3-tiny-F32.gguf", "<|begin_of_text|>Hi", "<|begin_of_text|>", false},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, ORACLES "/models/%s", c[i].model);
        engine_tokenizer *t = load(path, 0);
        if (!t)
            continue;
        int ids[64], n = 0, found = 0;
        char text[256];
        engine_error err = {0};
        CHECKF(engine_tokenizer_encode(t, c[i].text, false, false, ids, 64, &n, &err) == 0, "%s", err.msg);
        for (int k = 0; k < n; k++) {
            size_t len;
            const char *p = engine_tokenizer_piece(t, -1, ids[k], &len);
            found += len == strlen(c[i].special) && !memcmp(p, c[i].special, len);
        }
        CHECKF(found == (c[i].one_token ? 1 : 0), "\"%s\": %d tokens print as %s", c[i].text, found, c[i].special);
        size_t len = decode(t, ids, n, text, sizeof text);
        CHECKF(len == strlen(c[i].text) && !memcmp(text, c[i].text, len), "\"%s\" decodes to \"%.*s\"", c[i].text,
               (int)len, text);
        engine_tokenizer_free(t);
    }
}

/* An invalid UTF-8 byte is read as U+FFFD (llama.cpp's reading), so the
 * ids decode to U+FFFD's bytes; a 200,000-letter word merges in
 * O(n log n) (no timing bound, the figure is printed). */
static void test_odd_text(void)
{
    engine_tokenizer *t = load(VECTORS "ggml-vocab-llama-bpe.gguf", 128256);
    if (!t)
        return;
    int ids[16], n = 0;
    char text[64];
    engine_error err = {0};
    CHECK(engine_tokenizer_encode(t, "a\xff" "b", false, false, ids, 16, &n, &err) == 0);
    size_t len = decode(t, ids, n, text, sizeof text);
    CHECK(len == 5 && !memcmp(text, "a\xef\xbf\xbd" "b", 5));
    size_t big = 200000;
    char *word = malloc(big + 1);
    int *many = malloc(big * sizeof *many);
    char *back = malloc(big + 1);
    memset(word, 'q', big);
    word[big] = 0;
    double t0 = now_s();
    int rc = engine_tokenizer_encode(t, word, false, false, many, (int)big, &n, &err);
    printf("a %zu-letter word: %d tokens in %.0f ms\n", big, n, (now_s() - t0) * 1e3);
    CHECKF(rc == 0 && n > 0 && n < (int)big, "%s", err.msg);
    len = decode(t, many, n, back, big + 1);
    CHECK(len == big && !memcmp(back, word, big));
    free(word);
    free(many);
    free(back);
    engine_tokenizer_free(t);
}

/* `thermabench generate` on every oracle model file: stdout is the prompt
 * and llama.cpp's greedy text, up to the first step whose top-2 margin is
 * below 0.01 (oracles README). Quantized files run llama.cpp's arithmetic
 * (matmul scalar_q8, attention scalar), as a machine's default kernels may
 * dequantize the weights and legitimately pick the other of two close
 * tokens; Q8_0 files stop at a margin of 0.04, twice their logit tolerance
 * (test_engine_model_oracles). */
static void test_cli_generate(void)
{
    glob_t gl;
    int g = glob(ORACLES "/oracles/*/*/expected.json", 0, NULL, &gl);
    int n_cases = 0;
    for (size_t f = 0; g == 0 && f < gl.gl_pathc; f++) {
        char *json = tb_read_all(gl.gl_pathv[f], NULL);
        cJSON *root = json ? cJSON_Parse(json) : NULL;
        free(json);
        const cJSON *file = cJSON_GetObjectItem(root, "model_file");
        char model[1024];
        snprintf(model, sizeof model, ORACLES "/models/%s", cJSON_IsString(file) ? file->valuestring : "");
        engine_tokenizer *t = load(model, 0);
        const cJSON *c;
        cJSON_ArrayForEach(c, cJSON_GetObjectItem(root, "cases")) {
            if (!t)
                break;
            static int greedy[4096];
            static char want[1 << 16];
            const char *prompt = cJSON_GetObjectItem(c, "prompt")->valuestring;
            int n_prompt = cJSON_GetArraySize(cJSON_GetObjectItem(c, "prompt_ids"));
            int n = int_array(cJSON_GetObjectItem(c, "greedy_ids"), greedy, 4096), n_cmp = 0;
            const bool f32 = strstr(file->valuestring, "-F32.") != NULL;
            const double stop = strstr(file->valuestring, "-Q8_0.") ? 0.04 : 0.01;
            const cJSON *m;
            cJSON_ArrayForEach(m, cJSON_GetObjectItem(c, "greedy_margins")) {
                if (n_cmp >= n || m->valuedouble < stop)
                    break;
                n_cmp++;
            }
            size_t pl = strlen(prompt);
            memcpy(want, prompt, pl);
            size_t len = pl + decode(t, greedy, n_cmp, want + pl, sizeof want - pl - 1);
            want[len++] = '\n';
            char cmd[2048], out_path[64];
            snprintf(out_path, sizeof out_path, "tb_bpe_gen.%d.out", (int)getpid());
            /* steps counts positions: the prompt's, less the one the first generated token takes */
            snprintf(cmd, sizeof cmd, "'%s' generate --model %s --prompt '%s' --steps %d --threads 1 %s >%s",
                     TB_BINARY, model, prompt, n_prompt - 1 + n_cmp,
                     f32 ? "" : "--kernel matmul=scalar_q8 --kernel attention=scalar", out_path);
            int st = system(cmd);
            size_t got_len = 0;
            char *got = tb_read_all(out_path, &got_len);
            remove(out_path);
            CHECKF(WIFEXITED(st) && WEXITSTATUS(st) == 0, "generate %s \"%s\": exit status %d", file->valuestring,
                   prompt, st);
            CHECKF(got && got_len == len && !memcmp(got, want, len), "generate %s \"%s\" (%d tokens compared): "
                   "stdout \"%s\", expected \"%.*s\"", file->valuestring, prompt, n_cmp, got ? got : "", (int)len,
                   want);
            free(got);
            n_cases++;
        }
        engine_tokenizer_free(t);
        cJSON_Delete(root);
    }
    printf("generate: %d oracle cases compared\n", n_cases);
    CHECK(n_cases == 32);
    if (g == 0)
        globfree(&gl);
}

/* A model that adds no BOS (add_bos_token patched to false in a copy of
 * llama3-tiny): the prompt still comes out whole, its first token included. */
static void test_cli_generate_no_bos(void)
{
    size_t len;
    char *data = tb_read_all(ORACLES "/models/llama3-tiny-F32.gguf", &len);
    const char key[] = "tokenizer.ggml.add_bos_token";
    char *k = data ? memmem(data, len, key, sizeof key - 1) : NULL;
    CHECK(k && k[sizeof key - 1] == 7 && k[sizeof key - 1 + 4] == 1);   /* GGUF bool, true */
    if (!k) {
        free(data);
        return;
    }
    k[sizeof key - 1 + 4] = 0;
    char path[128], out_path[160], cmd[1024];
    snprintf(path, sizeof path, "tb_bpe_nobos.%d.gguf", (int)getpid());
    snprintf(out_path, sizeof out_path, "%s.out", path);
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(data, 1, len, f) == len);
    if (f)
        fclose(f);
    free(data);
    snprintf(cmd, sizeof cmd, "'%s' generate --model %s --prompt 'Once upon a time' --steps 8 >%s", TB_BINARY, path,
             out_path);
    int st = system(cmd);
    char *got = tb_read_all(out_path, NULL);
    CHECKF(WIFEXITED(st) && WEXITSTATUS(st) == 0 && got && !strncmp(got, "Once upon a time", 16),
           "generate without BOS: stdout \"%s\"", got ? got : "");
    free(got);
    /* An empty prompt gives nothing to start from: exit 2 */
    snprintf(cmd, sizeof cmd, "'%s' generate --model %s --steps 8 >/dev/null 2>%s", TB_BINARY, path, out_path);
    st = system(cmd);
    got = tb_read_all(out_path, NULL);
    CHECKF(WIFEXITED(st) && WEXITSTATUS(st) == 2 && got && strstr(got, "adds no BOS"), "empty prompt: %s",
           got ? got : "");
    free(got);
    remove(out_path);
    remove(path);
}

/* A model with a BPE vocabulary written back as GGUF keeps it: the copy
 * tokenizes llama.cpp's vectors as the original does. */
static void test_gguf_roundtrip(void)
{
    engine_model *m = NULL;
    engine_error err = {0};
    char path[128];
    snprintf(path, sizeof path, "tb_bpe_copy.%d.gguf", (int)getpid());
    int rc = engine_model_load(ORACLES "/models/llama3-tiny-F32.gguf", &m, &err);
    CHECKF(rc == 0 && m->tokenizer, "%s", err.msg);
    if (rc == 0)
        CHECKF(engine_gguf_write(m, path, &err) == 0, "%s", err.msg);
    engine_model_free(m);
    engine_tokenizer *t = load(path, 4352);
    if (t) {
        CHECK_STR(engine_tokenizer_kind(t), "llama-bpe");
        CHECK(engine_tokenizer_bos(t) == 4096 && engine_tokenizer_eos(t) == 4097 && engine_tokenizer_add_bos(t));
        check_vectors("llama3-tiny, written back", t, VECTORS "ggml-vocab-llama-bpe.gguf.inp",
                      VECTORS "truncated-N4096-llama-bpe.out");
        engine_tokenizer_free(t);
    }
    remove(path);
}

/* ---- malformed vocabularies --------------------------------------------- */

static const char *write_vocab(const char *model, const char *pre, const char *name)
{
    static char path[256];
    snprintf(path, sizeof path, "tb_bpe_%s.%d.gguf", name, (int)getpid());
    tb_gbuf b = tb_tiny_vocab(model, pre, false);
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(b.p, 1, b.len, f);
        fclose(f);
    }
    free(b.p);
    return path;
}

static void test_malformed(void)
{
    engine_tokenizer *t = NULL;
    engine_error err = {0};
    /* A minimal vocabulary works: " ab ab" -> " ab" merged by rank, then "ab"... */
    const char *ok = write_vocab("gpt2", "gpt-2", "ok");
    CHECKF(engine_tokenizer_load(ok, 5, &t, &err) == 0, "%s", err.msg);
    if (t) {
        int ids[8], n = 0;
        CHECK(engine_tokenizer_encode(t, "ab ab", false, false, ids, 8, &n, &err) == 0 && n == 2 &&
              ids[0] == 2 && ids[1] == 4);
        /* "ba": no merge of "b a"; bytes stay single tokens */
        CHECK(engine_tokenizer_encode(t, "ba", false, false, ids, 8, &n, &err) == 0 && n == 2 && ids[0] == 1 &&
              ids[1] == 0);
        /* BOS asked for but the vocabulary has none (default id 11 is outside it) */
        CHECK(engine_tokenizer_encode(t, "ab", true, false, ids, 8, &n, &err) == -1 && err.kind == ENGINE_ERR_INPUT);
        CHECK(engine_tokenizer_encode(t, "ab ab ab", false, false, ids, 2, &n, &err) == -1 &&
              err.kind == ENGINE_ERR_INPUT);
        engine_tokenizer_free(t);
        t = NULL;
    }
    remove(ok);

    const char *bert = write_vocab("bert", NULL, "bert");
    CHECK(engine_tokenizer_load(bert, 5, &t, &err) == -1 && !t);
    CHECKF(err.kind == ENGINE_ERR_INPUT && strstr(err.msg, "tokenizer.ggml.model") && strstr(err.msg, "\"bert\""),
           "%s", err.msg);
    remove(bert);

    const char *pre = write_vocab("gpt2", "tekken\x01", "pre");
    CHECK(engine_tokenizer_load(pre, 5, &t, &err) == -1 && !t);
    CHECKF(err.kind == ENGINE_ERR_INPUT && strstr(err.msg, "tokenizer.ggml.pre") && strstr(err.msg, "tekken?"),
           "%s", err.msg);
    remove(pre);

    const char *nopre = write_vocab("gpt2", NULL, "nopre");
    CHECK(engine_tokenizer_load(nopre, 5, &t, &err) == -1 && !t);
    CHECKF(err.kind == ENGINE_ERR_INPUT && strstr(err.msg, "tokenizer.ggml.pre is missing"), "%s", err.msg);
    remove(nopre);
}

/* The CLI on a file whose tokenizer model is unknown: exit 2, key named. */
static void test_cli_unknown_model(void)
{
    char path[128], cmd[1024];
    snprintf(path, sizeof path, "tb_bpe_cli.%d.gguf", (int)getpid());
    engine_model *m = NULL;
    engine_error err = {0};
    if (engine_model_synth("tiny", ENGINE_DTYPE_F32, 1, -1, &m, &err) || engine_gguf_write(m, path, &err)) {
        CHECKF(0, "synth: %s", err.msg);
        engine_model_free(m);
        return;
    }
    engine_model_free(m);
    /* Rename the tokenizer model in place: "llama" -> "wpm!!" (same length). */
    size_t len;
    char *data = tb_read_all(path, &len);
    const char key[] = "tokenizer.ggml.model";
    char *k = data ? memmem(data, len, key, sizeof key - 1) : NULL;
    CHECK(k && !memcmp(k + sizeof key - 1 + 12, "llama", 5));
    if (k) {
        memcpy(k + sizeof key - 1 + 12, "wpm!!", 5);
        FILE *f = fopen(path, "wb");
        fwrite(data, 1, len, f);
        fclose(f);
    }
    free(data);
    char err_path[160];
    snprintf(err_path, sizeof err_path, "%s.err", path);
    snprintf(cmd, sizeof cmd, "'%s' generate --model %s --steps 4 >/dev/null 2>%s", TB_BINARY, path, err_path);
    int st = system(cmd);
    char *msg = tb_read_all(err_path, NULL);
    CHECKF(WIFEXITED(st) && WEXITSTATUS(st) == 2, "exit %d", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    CHECKF(msg && strstr(msg, "tokenizer.ggml.model") && strstr(msg, "wpm!!"), "stderr: %s", msg ? msg : "");
    free(msg);
    remove(err_path);
    remove(path);
}

int main(void)
{
    test_full_vocabularies();
    test_truncated_vocabularies();
    test_oracle_prompts();
    test_special_tokens();
    test_odd_text();
    test_cli_generate();
    test_cli_generate_no_bos();
    test_gguf_roundtrip();
    test_malformed();
    test_cli_unknown_model();
    TB_MAIN_END();
}
