/* The OpenCL backend's q4_K matrices: the llama3-tiny model of
 * ../shared/oracles (F32, Llama 3 vocabulary, rope theta 500000), its
 * matrices quantized to q4_K here, run on the device by every matmul
 * variant and on the CPU by the scalar reference (which dequantizes with
 * ggml's arithmetic, checked against llama.cpp in
 * test_engine_model_oracles). The logits of a 7-token prefill and of 24
 * decode steps agree within 1e-4 (the device sums in another order and
 * takes d * sc and dmin * m out of each 16-element dot product: measured
 * worst 6.7e-6 on PoCL; a wrong scale or nibble gives ~1); the greedy ids
 * are equal wherever the top-2 margin exceeds 2e-4. The same model with its rope
 * scaled (llama3-tiny-ropescaled) checks rope_freqs on the device.
 * Weight types without OpenCL kernels (q5_k, q4_0, bf16) are refused at
 * session creation, naming the tensor and its type. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "quant.h"
#include "tb_test.h"

#define MODELS TB_SHARED_DIR "/oracles/models/"
#define STEPS 24
#define TOL 1e-4

static void *quantized(const engine_tensor *t, engine_tensor *out)
{
    size_t rb = engine_dtype_bytes(ENGINE_DTYPE_Q4_K, t->cols);
    uint8_t *data = malloc(rb * (size_t)t->rows);
    float *row = malloc(sizeof(float) * (size_t)t->cols);
    for (int64_t r = 0; r < t->rows; r++) {
        engine_dequantize_row(t->type, (const char *)t->data + (size_t)r * engine_dtype_bytes(t->type, t->cols), row,
                              t->cols);
        engine_quantize_row(ENGINE_DTYPE_Q4_K, row, data + (size_t)r * rb, t->cols);
    }
    free(row);
    *out = (engine_tensor){.type = ENGINE_DTYPE_Q4_K, .rows = t->rows, .cols = t->cols, .data = data};
    return data;
}

/* Runs the prompt then STEPS greedy steps; logits of every step into lg. */
static int run(const engine_model *m, const char *backend, const char *matmul, float *lg, int *ids)
{
    engine_options o;
    engine_options_default(&o);
    strcpy(o.backend, backend);
    o.threads = 2;
    o.max_seq_len = 64;
    engine_error err = {0};
    char choice[64];
    snprintf(choice, sizeof choice, "matmul=%s", matmul);
    if (engine_options_add_kernel(&o, choice, &err)) {
        CHECKF(0, "%s", err.msg);
        return -1;
    }
    engine_session *s = NULL;
    if (engine_session_create(m, &o, &s, &err)) {
        CHECKF(0, "%s %s: %s", backend, matmul, err.msg);
        return -1;
    }
    int prompt[] = {4096, 1966, 346, 709, 263, 264, 892};   /* "Once upon a time" with BOS */
    const int np = 7, V = m->cfg.vocab_size;
    int seq[8] = {0}, pos[8];
    for (int i = 0; i < np; i++)
        pos[i] = i;
    engine_batch b = {.n = np, .token = prompt, .seq = seq, .pos = pos};
    int rc = engine_forward(s, &b, lg, &err);
    for (int i = 0; rc == 0 && i < STEPS; i++) {
        ids[i] = engine_argmax(lg + (size_t)i * V, V);
        int p = np + i;
        engine_batch one = {.n = 1, .token = &ids[i], .seq = seq, .pos = &p};
        rc = engine_forward(s, &one, lg + (size_t)(i + 1) * V, &err);
    }
    CHECKF(rc == 0, "%s %s: %s", backend, matmul, err.msg);
    engine_session_free(s);
    return rc;
}

static void check_model(const char *file)
{
    engine_model *src = NULL;
    engine_error err = {0};
    CHECKF(engine_model_load(file, &src, &err) == 0, "%s", err.msg);
    if (!src)
        return;
    engine_model m = *src;
    engine_layer *layers = calloc((size_t)m.cfg.n_layers, sizeof *layers);
    void *owned[64];
    int n_owned = 0;
    owned[n_owned++] = quantized(&src->tok_embeddings, &m.tok_embeddings);
    owned[n_owned++] = quantized(&src->classifier, &m.classifier);
    for (int l = 0; l < m.cfg.n_layers; l++) {
        layers[l] = src->layers[l];
        engine_tensor *mats[] = {&layers[l].wq, &layers[l].wk, &layers[l].wv, &layers[l].wo,
                                 &layers[l].w1, &layers[l].w2, &layers[l].w3};
        for (int i = 0; i < 7; i++)
            owned[n_owned++] = quantized(mats[i], mats[i]);
    }
    m.layers = layers;
    const int V = m.cfg.vocab_size;
    float *ref = malloc(sizeof(float) * (size_t)V * (STEPS + 1)), *got = malloc(sizeof(float) * (size_t)V * (STEPS + 1));
    int ref_ids[STEPS], got_ids[STEPS];
    static const char *const variants[] = {"cl_rowgroup", "cl_rowitem", "cl_tiled"};
    if (run(&m, "cpu", "scalar", ref, ref_ids) == 0)
        for (size_t v = 0; v < 3; v++) {
            if (run(&m, "opencl", variants[v], got, got_ids))
                continue;
            double worst = 0;
            int same = 0;
            for (int i = 0; i <= STEPS; i++) {
                const float *a = ref + (size_t)i * V, *b = got + (size_t)i * V;
                for (int k = 0; k < V; k++)
                    worst = fmax(worst, fabs(a[k] - b[k]));
                if (i == STEPS || got_ids[i] != ref_ids[i])
                    break;
                same++;
            }
            /* where the ids part, the reference's top two must be within 2 TOL */
            if (same < STEPS) {
                const float *a = ref + (size_t)same * V;
                float t1 = a[ref_ids[same]], t2 = -INFINITY;
                for (int k = 0; k < V; k++)
                    if (k != ref_ids[same] && a[k] > t2)
                        t2 = a[k];
                CHECKF(t1 - t2 <= 2 * TOL, "%s %s: greedy step %d: id %d, cpu %d (margin %g)", file, variants[v],
                       same, got_ids[same], ref_ids[same], t1 - t2);
            }
            CHECKF(worst < TOL, "%s %s: logits differ from the cpu reference by up to %g", file, variants[v], worst);
            printf("%s q4_k %s: worst logit difference %.2e, %d of %d greedy ids equal\n",
                   strrchr(file, '/') + 1, variants[v], worst, same, STEPS);
        }
    for (int i = 0; i < n_owned; i++)
        free(owned[i]);
    free(layers);
    free(ref);
    free(got);
    engine_model_free(src);
}

/* A preset whose q/k/v matrices (512 columns: whole K-quant blocks) are
 * `dtype`, which the device has no kernel for. */
static void check_refused(const char *dtype_name, engine_dtype dtype)
{
    engine_model *m = NULL;
    engine_error err = {0};
    CHECKF(engine_model_synth_arch("42M", "qwen3", dtype, 1, -1, &m, &err) == 0, "synth %s: %s", dtype_name,
           err.msg);
    if (!m)
        return;
    engine_options o;
    engine_options_default(&o);
    strcpy(o.backend, "opencl");
    engine_session *s = NULL;
    memset(&err, 0, sizeof err);
    CHECKF(engine_session_create(m, &o, &s, &err) != 0, "%s weights: the OpenCL session was created", dtype_name);
    CHECKF(err.kind == ENGINE_ERR_UNSUPPORTED && strstr(err.msg, "layer 0 wq/wk/wv") && strstr(err.msg, dtype_name),
           "%s weights: error %d '%s' should name the tensor and the type", dtype_name, (int)err.kind, err.msg);
    engine_session_free(s);
    engine_model_free(m);
}

int main(void)
{
    engine_opencl_device d;
    engine_error err = {0};
    if (engine_opencl_devices(&d, 1, &err) < 1) {
        fprintf(stderr, "skip: no OpenCL device: %s\n", err.msg);
        return TB_SKIP;
    }
    check_model(MODELS "llama3-tiny-F32.gguf");
    check_model(MODELS "llama3-tiny-ropescaled-F32.gguf");
    check_refused("q5_k", ENGINE_DTYPE_Q5_K);
    check_refused("q4_0", ENGINE_DTYPE_Q4_0);
    check_refused("bf16", ENGINE_DTYPE_BF16);
    TB_MAIN_END();
}
