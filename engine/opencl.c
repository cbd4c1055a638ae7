/* The OpenCL backend: weights, KV caches and activations live on the
 * device and the whole forward pass runs there; only the logits of the
 * tokens that want them are read back. One in-order queue per session; the
 * forward pass ends with a blocking read or clFinish, so a caller's clock
 * stopped after it measures finished work. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend_opencl.h"
#include "kernels.h"

#define ALL_CL_DTYPES ((1u << ENGINE_DTYPE_F32) | (1u << ENGINE_DTYPE_F16) | (1u << ENGINE_DTYPE_Q8_0) | \
                       (1u << ENGINE_DTYPE_Q4_K) | (1u << ENGINE_DTYPE_Q6_K))

/* Variants in the registry: the backend reads the choice by name. Their
 * function pointers are unused (the work is enqueued, not called). */
const kernel_variant kernel_variants_opencl[] = {
    {.info = {ENGINE_OP_MATMUL, "cl_rowgroup", "opencl", "OpenCL device",
              "default on GPU devices: decode "
              "matvec, 32 work-items per row (coalesced loads), 4 rows per work-group, local-memory "
              "reduction; RMSNorm fused into the q/k/v (with RoPE and the KV store), gate/up and classifier "
              "matvecs; batches of 2 to 8 tokens: 2 rows per warp, each weight and x vector loaded once; "
              "prefill (> 8 tokens) uses cl_tiled"},
     .dtypes = ALL_CL_DTYPES, .priority = 20, .priority_off_gpu = 10},
    {.info = {ENGINE_OP_MATMUL, "cl_rowitem", "opencl", "OpenCL device",
              "default on CPU and other non-GPU devices: decode matvec, one work-item per row with "
              "16-byte vector loads, no reduction; prefill "
              "(> 8 tokens) uses cl_tiled"},
     .dtypes = ALL_CL_DTYPES, .priority = 10, .priority_off_gpu = 20},
    {.info = {ENGINE_OP_MATMUL, "cl_tiled", "opencl", "OpenCL device",
              "64x64 output tiles through local memory, for decode and prefill alike"},
     .dtypes = ALL_CL_DTYPES, .priority = 5},
    {.info = {ENGINE_OP_ATTENTION, "cl_split", "opencl", "OpenCL device",
              "default on GPU devices: decode (<= 8 tokens) split over chunks of 32 positions, a work-group "
              "per chunk, head and token (partial max, sum of exp, weighted values); the last group of "
              "each head merges them (flash-decoding, one launch); prefill uses cl_attention"},
     .priority = 20, .priority_off_gpu = 10},
    {.info = {ENGINE_OP_ATTENTION, "cl_attention", "opencl", "OpenCL device",
              "default on CPU and other non-GPU devices: a work-group per head and token: scores, softmax, "
              "weighted sum over the device KV cache"},
     .priority = 10, .priority_off_gpu = 20},
    {.info = {ENGINE_OP_RMSNORM, "cl_rmsnorm", "opencl", "OpenCL device", "a work-group per token, tree reduction"},
     .priority = 10},
    {.info = {ENGINE_OP_ROPE, "cl_rope_table", "opencl", "OpenCL device",
              "RoPE (adjacent pairs, or neox halves for qwen2/qwen3) from a host-computed cos/sin table, "
              "with the q/k/v biases, the per-head q/k RMSNorm and the KV-cache store in the same kernel"},
     .priority = 10},
    {.info = {ENGINE_OP_SWIGLU, "cl_swiglu", "opencl", "OpenCL device",
              "SiLU(gate) * up; fused into the gate/up matvec when decoding"},
     .priority = 10},
    {.info = {.name = NULL}},
};

#ifndef THERMABENCH_HAVE_OPENCL

int cl_backend_create(const engine_model *m, const engine_options *o, cl_backend **out, engine_error *err)
{
    *out = NULL;
    err->kind = ENGINE_ERR_UNSUPPORTED;
    snprintf(err->msg, sizeof err->msg, "backend opencl: this build has no OpenCL support "
             "(configure with -DTHERMABENCH_OPENCL=ON and the OpenCL headers installed)");
    return -1;
}
int cl_backend_forward(cl_backend *b, const engine_batch *batch, float *logits, engine_error *err) { return -1; }
void cl_backend_reset(cl_backend *b, int seq) {}
const char *cl_backend_kernels(const cl_backend *b) { return ""; }
void cl_backend_free(cl_backend *b) {}
int cl_backend_profile(const cl_backend *b, engine_kernel_time *out, int max) { return 0; }
const char *cl_backend_device_name(const cl_backend *b) { return ""; }

#else

#include "opencl_internal.h"
#include "quant.h"

#define MATVEC_MAX_N 8        /* more tokens than this: the tiled matmul */
#define CHUNK_TOKENS 512      /* tokens per pass through the layers */

enum { MV_ROWGROUP, MV_ROWITEM, MV_TILED };
static const char *const mv_names[] = {"cl_rowgroup", "cl_rowitem", "cl_tiled"};

typedef struct clb_weight {
    int prog;           /* CLB_PROG_F32 / F16 / Q8 / Q4K / Q6K */
    int rows, cols;
    cl_mem w, d;        /* d: q8 scales, NULL otherwise */
} clb_weight;

typedef struct clb_layer {
    cl_mem rms_att, rms_ffn;
    /* wq, wk, wv: n_qkv 1, their rows stacked in wqkv[0], where they share a
     * type; else n_qkv 3 (Q4_K_M files make some wv q6_k) */
    clb_weight wqkv[3];
    int n_qkv;
    clb_weight wo, w1, w3, w2;
    cl_mem bias_qkv;                   /* qwen2: bq, bk, bv stacked (zeros where one is absent); else NULL */
    cl_mem q_norm, k_norm;             /* qwen3: per-head RMSNorm weights; else NULL */
} clb_layer;

typedef struct clb_mm_kernels {
    cl_kernel rowgroup, rowgroup_batch, rowgroup_swiglu, rowgroup_qkv, rowgroup_norm, rowitem, rowitem_swiglu, tiled,
        embed;
} clb_mm_kernels;

struct cl_backend {
    engine_config cfg;
    int head_dim, q_dim, kv_dim, qkv_dim, max_batch, seq_len;
    int neox;                        /* RoPE pairs half a head apart (qwen2, qwen3) */
    bool qkv_fused;                  /* cl_rowgroup's q/k/v kernel applies (llama: no biases, q/k norms) */
    bool qkv_apart;                  /* some layer projects q, k and v apart: qkv_part is needed */
    clb_device *dev;
    cl_command_queue queue;
    clb_layer *layers;
    clb_weight emb, cls;
    cl_mem rms_final, rope_cs, kcache, vcache;
    bool cls_is_emb;
    clb_mm_kernels mm[CLB_PROG_COUNT];
    cl_kernel k_rmsnorm, k_rope, k_attention, k_attention_local, k_swiglu;
    bool att_local;                  /* scores fit in local memory */
    bool att_split;                  /* cl_split for decode */
    cl_kernel k_att_split;
    int att_chunks;                  /* chunks of a whole context: the partials' stride */
    int step_chunks;                 /* chunks of the longest context in this pass */
    int matvec;                      /* MV_* */
    int rg_split;                    /* warps per row in matvec_rowgroup (1, 2, 4; 0: by row length) */
    bool batch_staged;               /* batches through the per-token staged kernels, not matvec_rowgroup_batch */
    int rg_batch_rows;               /* rows per warp in matvec_rowgroup_batch */
    /* activations for up to cap tokens */
    int cap;
    cl_mem x, xb, qkv, qkv_part, hb, hb2, token_rows, att, att_part, att_ml, att_count, logits, tok, seq, pos, idx;
    int *h_idx, *cache_len, *next, *last;
    /* profiling */
    bool profile;
    cl_event *events;
    const char **event_names;
    int n_events, cap_events;
    engine_kernel_time prof[16];
    int n_prof;
    /* THERMABENCH_OPENCL_HOST_TIMES: host time of single-token passes,
     * enqueueing (up to the final read) and waiting (the read), reported
     * after the kernels' times by cl_backend_profile */
    bool host_times;
    int ht_passes;
    double ht_enqueue, ht_wait;
    char kernels_desc[256];
};

static int cl_check(cl_int rc, engine_error *err, const char *what)
{
    if (rc == CL_SUCCESS)
        return 0;
    return clb_fail(err, ENGINE_ERR_SYSTEM, "OpenCL: %s: %s", what, clb_strerror(rc));
}

static cl_mem dev_alloc(cl_backend *b, size_t bytes, cl_mem_flags flags, engine_error *err, const char *what)
{
    cl_int rc;
    if (bytes > b->dev->max_alloc_bytes) {
        clb_fail(err, ENGINE_ERR_UNSUPPORTED, "OpenCL: %s needs %zu bytes in one buffer; %s allows at most %llu",
                 what, bytes, b->dev->info.device_name, (unsigned long long)b->dev->max_alloc_bytes);
        return NULL;
    }
    cl_mem m = clCreateBuffer(b->dev->context, flags, bytes ? bytes : 4, NULL, &rc);
    if (!m)
        clb_fail(err, ENGINE_ERR_SYSTEM, "OpenCL: allocating %zu bytes for %s on %s: %s", bytes, what,
                 b->dev->info.device_name, clb_strerror(rc));
    return m;
}

static int write_buf(cl_backend *b, cl_mem m, size_t off, size_t bytes, const void *src, engine_error *err)
{
    return cl_check(clEnqueueWriteBuffer(b->queue, m, CL_TRUE, off, bytes, src, 0, NULL, NULL), err,
                    "writing a buffer");
}

/* Per-step inputs, not waited for: the step ends with a blocking read or
 * clFinish, until which src stays valid (a blocking write mid-step would
 * stall the queue while the host enqueues what follows). */
static int write_async(cl_backend *b, cl_mem m, size_t bytes, const void *src, engine_error *err)
{
    return cl_check(clEnqueueWriteBuffer(b->queue, m, CL_FALSE, 0, bytes, src, 0, NULL, NULL), err,
                    "writing the step's inputs");
}

static cl_mem upload(cl_backend *b, const void *src, size_t bytes, engine_error *err, const char *what)
{
    cl_mem m = dev_alloc(b, bytes, CL_MEM_READ_ONLY, err, what);
    if (m && write_buf(b, m, 0, bytes, src, err)) {
        clReleaseMemObject(m);
        return NULL;
    }
    return m;
}

static int prog_for(engine_dtype t)
{
    return t == ENGINE_DTYPE_F32 ? CLB_PROG_F32 : t == ENGINE_DTYPE_F16 ? CLB_PROG_F16
         : t == ENGINE_DTYPE_Q8_0 ? CLB_PROG_Q8 : t == ENGINE_DTYPE_Q4_K ? CLB_PROG_Q4K
         : t == ENGINE_DTYPE_Q6_K ? CLB_PROG_Q6K : -1;
}

/* Uploads matrices stacked by rows (same type and width). q8_0 blocks are
 * split into int8 rows and a scale array so rows stay 16-byte aligned. */
static int upload_weight(cl_backend *b, const engine_tensor *const *parts, int n_parts, const char *what,
                         clb_weight *out, engine_error *err)
{
    const engine_tensor *p0 = parts[0];
    int64_t rows = 0;
    for (int i = 0; i < n_parts; i++) {
        if (parts[i]->type != p0->type || parts[i]->cols != p0->cols)
            return clb_fail(err, ENGINE_ERR_UNSUPPORTED, "OpenCL backend: %s mixes element types or widths", what);
        rows += parts[i]->rows;
    }
    out->prog = prog_for(p0->type);
    if (out->prog < 0)
        return clb_fail(err, ENGINE_ERR_UNSUPPORTED, "OpenCL backend: %s is %s; the OpenCL kernels handle f32, "
                        "f16, q8_0, q4_k and q6_k weights (use the cpu backend)", what, engine_dtype_name(p0->type));
    if (rows > INT32_MAX || p0->cols > INT32_MAX)
        return clb_fail(err, ENGINE_ERR_UNSUPPORTED, "OpenCL backend: %s is too large", what);
    out->rows = (int)rows;
    out->cols = (int)p0->cols;
    size_t n = (size_t)rows * (size_t)p0->cols;
    if (out->prog == CLB_PROG_Q4K || out->prog == CLB_PROG_Q6K) {
        void *qs;
        uint16_t *side;
        size_t qs_bytes, side_bytes;
        if (clb_repack_kquant(p0->type, parts, n_parts, &qs, &side, &qs_bytes, &side_bytes))
            return clb_fail(err, ENGINE_ERR_SYSTEM, "out of memory repacking %s", what);
        int rc = (out->w = upload(b, qs, qs_bytes, err, what)) && (out->d = upload(b, side, side_bytes, err, what))
                     ? 0 : -1;
        free(qs);
        free(side);
        return rc;
    }
    if (out->prog != CLB_PROG_Q8) {
        size_t es = out->prog == CLB_PROG_F32 ? 4 : 2, off = 0;
        if (!(out->w = dev_alloc(b, n * es, CL_MEM_READ_ONLY, err, what)))
            return -1;
        for (int i = 0; i < n_parts; i++) {
            size_t bytes = (size_t)parts[i]->rows * parts[i]->cols * es;
            if (write_buf(b, out->w, off, bytes, parts[i]->data, err))
                return -1;
            off += bytes;
        }
        return 0;
    }
    size_t blocks = n / QK8_0;
    int8_t *qs = malloc(n);
    uint16_t *d = malloc(blocks * sizeof *d);
    size_t at = 0;
    for (int i = 0; i < n_parts && qs && d; i++) {
        const block_q8_0 *blk = parts[i]->data;
        size_t nb = (size_t)parts[i]->rows * parts[i]->cols / QK8_0;
        for (size_t j = 0; j < nb; j++, at++) {
            d[at] = blk[j].d;
            memcpy(qs + at * QK8_0, blk[j].qs, QK8_0);
        }
    }
    int rc = -1;
    if (!qs || !d)
        clb_fail(err, ENGINE_ERR_SYSTEM, "out of memory repacking %s", what);
    else if ((out->w = upload(b, qs, n, err, what)) && (out->d = upload(b, d, blocks * 2, err, what)))
        rc = 0;
    free(qs);
    free(d);
    return rc;
}

static void release_weight(clb_weight *w)
{
    if (w->w)
        clReleaseMemObject(w->w);
    if (w->d)
        clReleaseMemObject(w->d);
    w->w = w->d = NULL;
}

/* cos and sin of pos * theta^(-2j/head_dim) / freq_factors[j], computed as
 * the CPU reference does. */
static int upload_rope_table(cl_backend *b, const float *freq_factors, engine_error *err)
{
    int half = b->head_dim / 2;
    float *cs = malloc((size_t)b->seq_len * half * 2 * sizeof *cs);
    if (!cs)
        return clb_fail(err, ENGINE_ERR_SYSTEM, "out of memory for the RoPE table");
    for (int p = 0; p < b->seq_len; p++)
        for (int j = 0; j < half; j++) {
            float freq = 1.0f / powf(b->cfg.rope_theta, (2 * j) / (float)b->head_dim);
            if (freq_factors)
                freq /= freq_factors[j];
            float val = p * freq;
            cs[((size_t)p * half + j) * 2] = cosf(val);
            cs[((size_t)p * half + j) * 2 + 1] = sinf(val);
        }
    b->rope_cs = upload(b, cs, (size_t)b->seq_len * half * 2 * sizeof *cs, err, "the RoPE table");
    free(cs);
    return b->rope_cs ? 0 : -1;
}

static int make_kernel(cl_program p, const char *name, cl_kernel *out, engine_error *err)
{
    cl_int rc;
    *out = clCreateKernel(p, name, &rc);
    return *out ? 0 : clb_fail(err, ENGINE_ERR_SYSTEM, "OpenCL: kernel %s: %s", name, clb_strerror(rc));
}

/* The matrix kernels of one weight type, created the first time a weight needs them. */
static int need_mm(cl_backend *b, int prog, engine_error *err)
{
    clb_mm_kernels *k = &b->mm[prog];
    if (k->tiled)
        return 0;
    cl_program p;
    if (clb_program_get(b->dev, prog, &p, err))
        return -1;
    return make_kernel(p, "matvec_rowgroup", &k->rowgroup, err) ||
           make_kernel(p, "matvec_rowgroup_batch", &k->rowgroup_batch, err) ||
           make_kernel(p, "matvec_rowgroup_swiglu", &k->rowgroup_swiglu, err) ||
           make_kernel(p, "matvec_rowgroup_qkv", &k->rowgroup_qkv, err) ||
           make_kernel(p, "matvec_rowgroup_norm", &k->rowgroup_norm, err) ||
           make_kernel(p, "matvec_rowitem", &k->rowitem, err) ||
           make_kernel(p, "matvec_rowitem_swiglu", &k->rowitem_swiglu, err) ||
           make_kernel(p, "embed", &k->embed, err) ||
           make_kernel(p, "matmul_tiled", &k->tiled, err) ? -1 : 0;
}

/* The family-specific attention weights: q/k/v biases (qwen2), stacked as
 * the q/k/v rows are, and the per-head q/k norms (qwen3). */
static int upload_attention_extras(cl_backend *b, const engine_layer *L, clb_layer *D, engine_error *err)
{
    if (L->bq || L->bk || L->bv) {
        float *bias = calloc(b->qkv_dim, sizeof *bias);
        if (!bias)
            return clb_fail(err, ENGINE_ERR_SYSTEM, "out of memory for the q/k/v biases");
        const float *parts[] = {L->bq, L->bk, L->bv};
        const int off[] = {0, b->q_dim, b->q_dim + b->kv_dim}, len[] = {b->q_dim, b->kv_dim, b->kv_dim};
        for (int i = 0; i < 3; i++)
            if (parts[i])
                memcpy(bias + off[i], parts[i], len[i] * sizeof *bias);
        D->bias_qkv = upload(b, bias, b->qkv_dim * sizeof *bias, err, "the q/k/v biases");
        free(bias);
        if (!D->bias_qkv)
            return -1;
    }
    size_t nb = b->head_dim * sizeof(float);
    if ((L->q_norm && !(D->q_norm = upload(b, L->q_norm, nb, err, "attn_q_norm"))) ||
        (L->k_norm && !(D->k_norm = upload(b, L->k_norm, nb, err, "attn_k_norm"))))
        return -1;
    if (D->bias_qkv || D->q_norm || D->k_norm)
        b->qkv_fused = false;
    return 0;
}

static int upload_model(cl_backend *b, const engine_model *m, engine_error *err)
{
    const engine_config *c = &m->cfg;
    char what[64];
    b->layers = calloc(c->n_layers, sizeof *b->layers);
    if (!b->layers)
        return clb_fail(err, ENGINE_ERR_SYSTEM, "out of memory for the OpenCL layers");
    for (int l = 0; l < c->n_layers; l++) {
        const engine_layer *L = &m->layers[l];
        clb_layer *D = &b->layers[l];
        const engine_tensor *qkv[] = {&L->wq, &L->wk, &L->wv};
        D->n_qkv = L->wq.type == L->wk.type && L->wq.type == L->wv.type ? 1 : 3;
        for (int i = 0; i < D->n_qkv; i++) {
            snprintf(what, sizeof what, D->n_qkv == 1 ? "layer %d wq/wk/wv" : "layer %d %s", l,
                     (const char *[]){"wq", "wk", "wv"}[i]);
            if (upload_weight(b, qkv + i, D->n_qkv == 1 ? 3 : 1, what, &D->wqkv[i], err) ||
                need_mm(b, D->wqkv[i].prog, err))
                return -1;
        }
        if (D->n_qkv == 3)
            b->qkv_apart = true;
        const engine_tensor *wo[] = {&L->wo}, *w1[] = {&L->w1}, *w2[] = {&L->w2}, *w3[] = {&L->w3};
        snprintf(what, sizeof what, "layer %d wo", l);
        if (upload_weight(b, wo, 1, what, &D->wo, err))
            return -1;
        snprintf(what, sizeof what, "layer %d w1", l);
        if (upload_weight(b, w1, 1, what, &D->w1, err))
            return -1;
        snprintf(what, sizeof what, "layer %d w2", l);
        if (upload_weight(b, w2, 1, what, &D->w2, err))
            return -1;
        snprintf(what, sizeof what, "layer %d w3", l);
        if (upload_weight(b, w3, 1, what, &D->w3, err))
            return -1;
        if (D->w1.prog != D->w3.prog)
            return clb_fail(err, ENGINE_ERR_UNSUPPORTED, "OpenCL backend: layer %d w1 and w3 differ in type", l);
        if (!(D->rms_att = upload(b, L->rms_att, c->dim * sizeof(float), err, "rms_att")) ||
            !(D->rms_ffn = upload(b, L->rms_ffn, c->dim * sizeof(float), err, "rms_ffn")) ||
            upload_attention_extras(b, L, D, err))
            return -1;
        int progs[] = {D->wo.prog, D->w1.prog, D->w2.prog};
        for (int i = 0; i < 3; i++)
            if (need_mm(b, progs[i], err))
                return -1;
    }
    const engine_tensor *emb[] = {&m->tok_embeddings}, *cls[] = {&m->classifier};
    if (upload_weight(b, emb, 1, "tok_embeddings", &b->emb, err) || need_mm(b, b->emb.prog, err))
        return -1;
    b->cls_is_emb = m->classifier.data == m->tok_embeddings.data && m->classifier.type == m->tok_embeddings.type;
    if (b->cls_is_emb)
        b->cls = b->emb;
    else if (upload_weight(b, cls, 1, "classifier", &b->cls, err) || need_mm(b, b->cls.prog, err))
        return -1;
    if (!(b->rms_final = upload(b, m->rms_final, c->dim * sizeof(float), err, "rms_final")))
        return -1;
    size_t cache = (size_t)b->max_batch * c->n_layers * b->seq_len * b->kv_dim * sizeof(float);
    if (!(b->kcache = dev_alloc(b, cache, CL_MEM_READ_WRITE, err, "the key cache")) ||
        !(b->vcache = dev_alloc(b, cache, CL_MEM_READ_WRITE, err, "the value cache")))
        return -1;
    return upload_rope_table(b, m->rope_freqs, err);
}

static void release_acts(cl_backend *b)
{
    cl_mem *bufs[] = {&b->qkv_part, &b->x, &b->xb, &b->qkv, &b->token_rows, &b->hb, &b->hb2, &b->att,
                      &b->att_part, &b->att_ml, &b->att_count, &b->logits, &b->tok, &b->seq, &b->pos, &b->idx};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
        if (*bufs[i]) {
            clReleaseMemObject(*bufs[i]);
            *bufs[i] = NULL;
        }
    free(b->h_idx);
    b->h_idx = NULL;
    b->cap = 0;
}

/* Activation buffers for n tokens per pass (grown, never shrunk). */
static int ensure_cap(cl_backend *b, int n, engine_error *err)
{
    if (n <= b->cap)
        return 0;
    int cap = b->cap ? b->cap : 1;
    while (cap < n)
        cap *= 2;
    if (cap > CHUNK_TOKENS)
        cap = CHUNK_TOKENS;
    release_acts(b);
    err->msg[0] = 0;
    const engine_config *c = &b->cfg;
    size_t f = sizeof(float), rw = CL_MEM_READ_WRITE;
    /* Scores go to global scratch only when local memory cannot hold them. */
    size_t att_bytes = b->att_local ? f : (size_t)cap * c->n_heads * b->seq_len * f;
    /* cl_split's partials and counts, for the decode passes that use it. */
    size_t split_heads = b->att_split ? (size_t)(cap < MATVEC_MAX_N ? cap : MATVEC_MAX_N) * c->n_heads : 1;
    size_t split_slots = split_heads * b->att_chunks;
    /* token_rows: 0, 1, ..., for matvec_rowgroup_norm on every token */
    int *zeros = calloc(split_heads, sizeof(int)), *row_numbers = malloc(cap * sizeof(int));
    for (int i = 0; row_numbers && i < cap; i++)
        row_numbers[i] = i;
    if (!(b->x = dev_alloc(b, cap * c->dim * f, rw, err, "activations")) ||
        !(b->xb = dev_alloc(b, cap * (c->dim > b->q_dim ? c->dim : b->q_dim) * f, rw, err, "activations")) ||
        !(b->qkv = dev_alloc(b, cap * b->qkv_dim * f, rw, err, "q/k/v")) ||
        !(b->hb = dev_alloc(b, cap * c->hidden_dim * f, rw, err, "feed-forward activations")) ||
        !(b->hb2 = dev_alloc(b, cap * c->hidden_dim * f, rw, err, "feed-forward activations")) ||
        !(b->att = dev_alloc(b, att_bytes, rw, err, "attention scores")) ||
        !(b->att_part = dev_alloc(b, split_slots * b->head_dim * f, rw, err, "attention partials")) ||
        !(b->att_ml = dev_alloc(b, split_slots * 2 * f, rw, err, "attention partials")) ||
        !(b->att_count = dev_alloc(b, split_heads * sizeof(int), rw, err, "attention counts")) || !zeros ||
        write_buf(b, b->att_count, 0, split_heads * sizeof(int), zeros, err) ||
        !(b->logits = dev_alloc(b, (size_t)cap * c->vocab_size * f, rw, err, "logits")) ||
        !(b->tok = dev_alloc(b, cap * sizeof(int), rw, err, "token ids")) ||
        !(b->seq = dev_alloc(b, cap * sizeof(int), rw, err, "sequence ids")) ||
        !(b->pos = dev_alloc(b, cap * sizeof(int), rw, err, "positions")) ||
        !(b->idx = dev_alloc(b, cap * sizeof(int), rw, err, "logit rows")) ||
        !(b->h_idx = malloc(cap * sizeof(int))) ||
        (b->qkv_apart && !(b->qkv_part = dev_alloc(b, cap * b->kv_dim * f, rw, err, "k/v projection"))) ||
        !row_numbers || !(b->token_rows = dev_alloc(b, cap * sizeof(int), rw, err, "row numbers")) ||
        write_buf(b, b->token_rows, 0, cap * sizeof(int), row_numbers, err)) {
        free(zeros);
        free(row_numbers);
        release_acts(b);
        return err->msg[0] ? -1 : clb_fail(err, ENGINE_ERR_SYSTEM, "out of memory for OpenCL staging");
    }
    free(zeros);
    free(row_numbers);
    b->cap = cap;
    return 0;
}

/* ---- enqueueing ------------------------------------------------------- */

static int record_event(cl_backend *b, cl_event ev, const char *name, engine_error *err);

static int enqueue(cl_backend *b, cl_kernel k, const char *name, cl_uint dims, const size_t *global,
                   const size_t *local, engine_error *err)
{
    cl_event ev = NULL;
    cl_int rc = clEnqueueNDRangeKernel(b->queue, k, dims, NULL, global, local, 0, NULL, b->profile ? &ev : NULL);
    if (rc != CL_SUCCESS)
        return clb_fail(err, ENGINE_ERR_SYSTEM, "OpenCL: enqueueing %s: %s", name, clb_strerror(rc));
    return record_event(b, ev, name, err);
}

/* Keeps a profiled command's event for collect_profile (ev NULL: not profiling). */
static int record_event(cl_backend *b, cl_event ev, const char *name, engine_error *err)
{
    if (ev) {
        if (b->n_events == b->cap_events) {
            int cap = b->cap_events ? 2 * b->cap_events : 256;
            cl_event *e = realloc(b->events, cap * sizeof *e);
            const char **nm = e ? realloc(b->event_names, cap * sizeof *nm) : NULL;
            if (e)
                b->events = e;
            if (!e || !nm) {
                clReleaseEvent(ev);
                return clb_fail(err, ENGINE_ERR_SYSTEM, "out of memory for profiling events");
            }
            b->event_names = nm;
            b->cap_events = cap;
        }
        b->events[b->n_events] = ev;
        b->event_names[b->n_events++] = name;
    }
    return 0;
}

/* Adds the finished events' device times to the per-kernel totals. */
static void collect_profile(cl_backend *b)
{
    for (int i = 0; i < b->n_events; i++) {
        cl_ulong t0 = 0, t1 = 0;
        clGetEventProfilingInfo(b->events[i], CL_PROFILING_COMMAND_START, sizeof t0, &t0, NULL);
        clGetEventProfilingInfo(b->events[i], CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL);
        clReleaseEvent(b->events[i]);
        int j = 0;
        while (j < b->n_prof && strcmp(b->prof[j].name, b->event_names[i]))
            j++;
        if (j == b->n_prof) {
            if (j == (int)(sizeof b->prof / sizeof *b->prof))
                continue;
            b->prof[j].name = b->event_names[i];
            b->n_prof++;
        }
        b->prof[j].calls++;
        b->prof[j].total_ms += t1 > t0 ? (double)(t1 - t0) / 1e6 : 0.0;
    }
    b->n_events = 0;
}

static size_t round_up(size_t n, size_t m) { return (n + m - 1) / m * m; }

static int rmsnorm(cl_backend *b, cl_mem x, cl_mem w, cl_mem out, int rows, int use_idx, engine_error *err)
{
    cl_kernel k = b->k_rmsnorm;
    size_t g = (size_t)rows * CLB_NORM_WG, l = CLB_NORM_WG;
    cl_int rc = SETARG(k, 0, x) | SETARG(k, 1, w) | SETARG(k, 2, out) | SETARG(k, 3, b->idx) |
                SETARG(k, 4, use_idx) | SETARG(k, 5, b->cfg.dim) | SETARG(k, 6, b->cfg.norm_eps);
    return rc != CL_SUCCESS ? cl_check(rc, err, "rmsnorm") : enqueue(b, k, "rmsnorm", 1, &g, &l, err);
}

/* Warps sharing a row of matvec_rowgroup: 2 for rows of CLB_RG_SPLIT_COLS
 * columns or more (fewer dependent load passes per warp; w2 of the 1B
 * preset), else 1 (shorter rows were slower split), unless
 * THERMABENCH_OPENCL_RG_SPLIT forces it. */
static int rg_split_for(const cl_backend *b, int cols)
{
    return b->rg_split ? b->rg_split : cols >= CLB_RG_SPLIT_COLS ? 2 : 1;
}

static bool use_rowgroup(const cl_backend *b, int n) { return b->matvec == MV_ROWGROUP && n <= MATVEC_MAX_N; }

/* The rowgroup kernels that normalise x into local memory, for one token
 * and rows that fit; a batch goes through matvec_rowgroup_batch, which
 * reads each weight once for all its tokens (x from global memory). */
static bool use_staged(const cl_backend *b, int n, int cols)
{
    return use_rowgroup(b, n) && (n == 1 || b->batch_staged) && cols <= CLB_XS_MAX;
}

/* out[t * stride + r] = W[r] . rmsnorm(x[rows[t]], nw) for n tokens, the
 * norm inside cl_rowgroup's matvec (decoding). */
static int matvec_norm(cl_backend *b, const clb_weight *w, cl_mem x, cl_mem nw, cl_mem rows, cl_mem out, int n,
                       int stride, const char *name, engine_error *err)
{
    cl_kernel k = b->mm[w->prog].rowgroup_norm;
    size_t g[2], l[2];
    clb_rowgroup_range(w->rows, 1, 1, g, l);
    cl_int rc = SETARG(k, 0, w->w) | SETARG(k, 1, w->d) | SETARG(k, 2, x) | SETARG(k, 3, out) |
                SETARG(k, 4, w->rows) | SETARG(k, 5, w->cols) | SETARG(k, 6, n) | SETARG(k, 7, stride) |
                SETARG(k, 8, nw) | SETARG(k, 9, b->cfg.norm_eps) | SETARG(k, 10, rows);
    return rc != CL_SUCCESS ? cl_check(rc, err, name) : enqueue(b, k, name, 2, g, l, err);
}

/* out[t * out_stride + r] (+)= W[r] . x'[t] for n tokens, where x' is x
 * RMS-normalised with weight nw when nw is set (inside the matvec when
 * decoding with cl_rowgroup, else into xb first). */
static int matmul(cl_backend *b, const clb_weight *w, cl_mem x, cl_mem nw, cl_mem out, int n, int out_stride,
                  int add, engine_error *err)
{
    const clb_mm_kernels *k = &b->mm[w->prog];
    cl_kernel kk;
    const char *name;
    size_t g[2], l[2];
    cl_uint dims = 1;
    int split = 1;
    if (nw && use_staged(b, n, w->cols))   /* the norm inside the matvec: one launch fewer */
        return matvec_norm(b, w, x, nw, b->token_rows, out, n, out_stride, "matvec_rowgroup_norm", err);
    if (nw) {
        if (rmsnorm(b, x, nw, b->xb, n, 0, err))
            return -1;
        x = b->xb, nw = NULL;
    }
    if (b->matvec == MV_TILED || n > MATVEC_MAX_N) {
        kk = k->tiled, name = "matmul_tiled", dims = 2;
        g[0] = round_up(w->rows, 64) / 4, g[1] = round_up(n, 64) / 4, l[0] = l[1] = 16;
    } else if (b->matvec == MV_ROWGROUP && n > 1 && !b->batch_staged) {
        kk = k->rowgroup_batch, name = "matvec_rowgroup_batch", dims = 2;
        split = rg_split_for(b, w->cols);
        clb_rowgroup_range(w->rows, split, b->rg_batch_rows, g, l);
    } else if (b->matvec == MV_ROWGROUP) {
        kk = k->rowgroup, name = "matvec_rowgroup", dims = 2;
        split = rg_split_for(b, w->cols);
        clb_rowgroup_range(w->rows, split, 1, g, l);
    } else {
        kk = k->rowitem, name = "matvec_rowitem";
        g[0] = round_up(w->rows, 64), l[0] = 64;
    }
    cl_int rc = SETARG(kk, 0, w->w) | SETARG(kk, 1, w->d) | SETARG(kk, 2, x) | SETARG(kk, 3, out) |
                SETARG(kk, 4, w->rows) | SETARG(kk, 5, w->cols) | SETARG(kk, 6, n) | SETARG(kk, 7, out_stride) |
                SETARG(kk, 8, add);
    if (kk == k->rowgroup || kk == k->rowgroup_batch)
        rc |= SETARG(kk, 9, split);
    if (rc != CL_SUCCESS)
        return cl_check(rc, err, name);
    return enqueue(b, kk, name, dims, g, l, err);
}

/* hb = silu(W1 x') * (W3 x'), x' = rmsnorm(x) * rms_ffn: the norm, then one
 * fused matvec when decoding, or two tiled matmuls and swiglu. */
static int ffn_in(cl_backend *b, const clb_layer *L, int n, engine_error *err)
{
    cl_mem x = b->xb;
    bool rg = use_staged(b, n, L->w1.cols);
    if (!rg && rmsnorm(b, b->x, L->rms_ffn, b->xb, n, 0, err))
        return -1;
    if (!rg && (b->matvec != MV_ROWITEM || n > MATVEC_MAX_N)) {
        int len = n * b->cfg.hidden_dim;
        size_t g = round_up(len, 64);
        if (matmul(b, &L->w1, x, NULL, b->hb, n, L->w1.rows, 0, err) ||
            matmul(b, &L->w3, x, NULL, b->hb2, n, L->w3.rows, 0, err))
            return -1;
        cl_kernel k = b->k_swiglu;
        cl_int rc = SETARG(k, 0, b->hb) | SETARG(k, 1, b->hb2) | SETARG(k, 2, len);
        return rc != CL_SUCCESS ? cl_check(rc, err, "swiglu") : enqueue(b, k, "swiglu", 1, &g, NULL, err);
    }
    const clb_mm_kernels *mk = &b->mm[L->w1.prog];
    cl_kernel k = rg ? mk->rowgroup_swiglu : mk->rowitem_swiglu;
    const char *name = rg ? "matvec_rowgroup_swiglu+rmsnorm" : "matvec_rowitem_swiglu";
    size_t g[2], l[2];
    if (rg) {
        clb_rowgroup_range(L->w1.rows, 1, 1, g, l);
        x = b->x;   /* normalised inside the kernel */
    } else {
        g[0] = round_up(L->w1.rows, 64), l[0] = 64;
    }
    cl_int rc = SETARG(k, 0, L->w1.w) | SETARG(k, 1, L->w1.d) | SETARG(k, 2, L->w3.w) | SETARG(k, 3, L->w3.d) |
                SETARG(k, 4, x) | SETARG(k, 5, b->hb) | SETARG(k, 6, L->w1.rows) | SETARG(k, 7, L->w1.cols) |
                SETARG(k, 8, n);
    if (rg)
        rc |= SETARG(k, 9, L->rms_ffn) | SETARG(k, 10, b->cfg.norm_eps);
    return rc != CL_SUCCESS ? cl_check(rc, err, name) : enqueue(b, k, name, rg ? 2 : 1, g, l, err);
}

/* The steps between the q/k/v projection and attention, in one kernel
 * (engine/cl/ops.cl): q/k/v biases (qwen2), per-head q/k RMSNorm (qwen3),
 * RoPE, and the key/value store; a NULL buffer skips its step. */
static int bias_norm_rope_store(cl_backend *b, int l, int n, engine_error *err)
{
    const engine_config *c = &b->cfg;
    const clb_layer *L = &b->layers[l];
    cl_kernel k = b->k_rope;
    size_t g[2] = {(size_t)(c->n_heads + 2 * c->n_kv_heads) * CLB_HEAD_WG, n}, lo[2] = {CLB_HEAD_WG, 1};
    cl_int rc = SETARG(k, 0, b->qkv) | SETARG(k, 1, L->bias_qkv) | SETARG(k, 2, L->q_norm) |
                SETARG(k, 3, L->k_norm) | SETARG(k, 4, c->norm_eps) | SETARG(k, 5, b->rope_cs) |
                SETARG(k, 6, b->neox) | SETARG(k, 7, b->kcache) | SETARG(k, 8, b->vcache) | SETARG(k, 9, b->seq) |
                SETARG(k, 10, b->pos) | SETARG(k, 11, l) | SETARG(k, 12, c->n_layers) | SETARG(k, 13, c->n_heads) |
                SETARG(k, 14, c->n_kv_heads) | SETARG(k, 15, b->head_dim) | SETARG(k, 16, b->seq_len);
    const char *name = "qkv_bias_norm_rope_store";
    return rc != CL_SUCCESS ? cl_check(rc, err, name) : enqueue(b, k, name, 2, g, lo, err);
}

/* Rows of `width` floats from src into dst's columns from `col` on, dst's
 * rows being qkv_dim floats. A rectangular copy rather than a sub-buffer
 * at that column: sub-buffer origins must be aligned to the device's
 * CL_DEVICE_MEM_BASE_ADDR_ALIGN, which a column offset rarely is. */
static int copy_columns(cl_backend *b, cl_mem src, cl_mem dst, int col, int width, int n, engine_error *err)
{
    const size_t f = sizeof(float);
    const size_t src_origin[3] = {0, 0, 0}, dst_origin[3] = {(size_t)col * f, 0, 0};
    const size_t region[3] = {(size_t)width * f, (size_t)n, 1};
    cl_event ev = NULL;
    cl_int rc = clEnqueueCopyBufferRect(b->queue, src, dst, src_origin, dst_origin, region, (size_t)width * f, 0,
                                        (size_t)b->qkv_dim * f, 0, 0, NULL, b->profile ? &ev : NULL);
    if (rc != CL_SUCCESS)
        return clb_fail(err, ENGINE_ERR_SYSTEM, "OpenCL: copying k/v into the q/k/v rows: %s", clb_strerror(rc));
    return record_event(b, ev, "copy_kv_columns", err);
}

/* [q | k | v] = Wqkv rmsnorm(x): one matmul where wq, wk and wv are
 * stacked, else q straight into qkv's first columns and k and v each
 * through qkv_part into theirs. */
static int qkv_projection(cl_backend *b, const clb_layer *L, int n, engine_error *err)
{
    if (L->n_qkv == 1)
        return matmul(b, &L->wqkv[0], b->x, L->rms_att, b->qkv, n, b->qkv_dim, 0, err);
    if (rmsnorm(b, b->x, L->rms_att, b->xb, n, 0, err) ||
        matmul(b, &L->wqkv[0], b->xb, NULL, b->qkv, n, b->qkv_dim, 0, err))
        return -1;
    const int col[] = {0, b->q_dim, b->q_dim + b->kv_dim};
    for (int i = 1; i < 3; i++)
        if (matmul(b, &L->wqkv[i], b->xb, NULL, b->qkv_part, n, b->kv_dim, 0, err) ||
            copy_columns(b, b->qkv_part, b->qkv, col[i], b->kv_dim, n, err))
            return -1;
    return 0;
}

/* RMSNorm, the q/k/v projection, RoPE and the cache store in one kernel. */
static int qkv_rowgroup(cl_backend *b, int l, int n, engine_error *err)
{
    const engine_config *c = &b->cfg;
    const clb_layer *L = &b->layers[l];
    cl_kernel k = b->mm[L->wqkv[0].prog].rowgroup_qkv;
    size_t g[2], lo[2];
    clb_rowgroup_range(L->wqkv[0].rows, 1, 1, g, lo);
    cl_int rc = SETARG(k, 0, L->wqkv[0].w) | SETARG(k, 1, L->wqkv[0].d) | SETARG(k, 2, b->x) | SETARG(k, 3, b->qkv) |
                SETARG(k, 4, L->wqkv[0].rows) | SETARG(k, 5, L->wqkv[0].cols) | SETARG(k, 6, n) |
                SETARG(k, 7, L->rms_att) | SETARG(k, 8, c->norm_eps) | SETARG(k, 9, b->rope_cs) |
                SETARG(k, 10, b->kcache) | SETARG(k, 11, b->vcache) | SETARG(k, 12, b->seq) |
                SETARG(k, 13, b->pos) | SETARG(k, 14, l) | SETARG(k, 15, c->n_layers) | SETARG(k, 16, b->kv_dim) |
                SETARG(k, 17, b->head_dim) | SETARG(k, 18, b->seq_len);
    const char *name = "matvec_rowgroup_qkv+rmsnorm+rope";
    return rc != CL_SUCCESS ? cl_check(rc, err, name) : enqueue(b, k, name, 2, g, lo, err);
}

/* cl_split: a work-group per chunk of the context, head and token, into xb. */
static int attention_split(cl_backend *b, int l, int n, engine_error *err)
{
    const engine_config *c = &b->cfg;
    cl_kernel k = b->k_att_split;
    size_t g[3] = {(size_t)b->step_chunks * CLB_ATT_SPLIT_WG, c->n_heads, n}, lo[3] = {CLB_ATT_SPLIT_WG, 1, 1};
    cl_int rc = SETARG(k, 0, b->qkv) | SETARG(k, 1, b->kcache) | SETARG(k, 2, b->vcache) |
                SETARG(k, 3, b->att_part) | SETARG(k, 4, b->att_ml) | SETARG(k, 5, b->att_count) |
                SETARG(k, 6, b->xb) | SETARG(k, 7, b->seq) | SETARG(k, 8, b->pos) | SETARG(k, 9, l) |
                SETARG(k, 10, c->n_layers) | SETARG(k, 11, c->n_heads) | SETARG(k, 12, c->n_kv_heads) |
                SETARG(k, 13, b->head_dim) | SETARG(k, 14, b->seq_len) | SETARG(k, 15, b->att_chunks);
    return rc != CL_SUCCESS ? cl_check(rc, err, "attention_split") : enqueue(b, k, "attention_split", 3, g, lo, err);
}

/* Attention of every token over its sequence's cache, into xb. */
static int attention(cl_backend *b, int l, int n, engine_error *err)
{
    const engine_config *c = &b->cfg;
    if (b->att_split && n <= MATVEC_MAX_N)
        return attention_split(b, l, n, err);
    cl_kernel k = b->att_local ? b->k_attention_local : b->k_attention;
    size_t ga[2] = {(size_t)c->n_heads * CLB_ATT_WG, n}, la[2] = {CLB_ATT_WG, 1};
    cl_int rc;
    if (b->att_local)
        rc = SETARG(k, 0, b->qkv) | SETARG(k, 1, b->kcache) | SETARG(k, 2, b->vcache) | SETARG(k, 3, b->xb) |
             SETARG(k, 4, b->seq) | SETARG(k, 5, b->pos) | SETARG(k, 6, l) | SETARG(k, 7, c->n_layers) |
             SETARG(k, 8, c->n_heads) | SETARG(k, 9, c->n_kv_heads) | SETARG(k, 10, b->head_dim) |
             SETARG(k, 11, b->seq_len) | clSetKernelArg(k, 12, (size_t)b->seq_len * sizeof(float), NULL);
    else
        rc = SETARG(k, 0, b->qkv) | SETARG(k, 1, b->kcache) | SETARG(k, 2, b->vcache) | SETARG(k, 3, b->att) |
             SETARG(k, 4, b->xb) | SETARG(k, 5, b->seq) | SETARG(k, 6, b->pos) | SETARG(k, 7, l) |
             SETARG(k, 8, c->n_layers) | SETARG(k, 9, c->n_heads) | SETARG(k, 10, c->n_kv_heads) |
             SETARG(k, 11, b->head_dim) | SETARG(k, 12, b->seq_len);
    return rc != CL_SUCCESS ? cl_check(rc, err, "attention") : enqueue(b, k, "attention", 2, ga, la, err);
}

/* logits = classifier . rmsnorm(x[idx]) for the n_want rows of idx. */
static int classify(cl_backend *b, int n_want, engine_error *err)
{
    const clb_weight *w = &b->cls;
    if (!use_staged(b, n_want, w->cols))
        return rmsnorm(b, b->x, b->rms_final, b->xb, n_want, 1, err) ||
               matmul(b, w, b->xb, NULL, b->logits, n_want, b->cfg.vocab_size, 0, err) ? -1 : 0;
    return matvec_norm(b, w, b->x, b->rms_final, b->idx, b->logits, n_want, b->cfg.vocab_size,
                       "matvec_rowgroup_cls+rmsnorm", err);
}

static int layer_forward(cl_backend *b, int l, int n, engine_error *err)
{
    const engine_config *c = &b->cfg;
    const clb_layer *L = &b->layers[l];
    if (b->qkv_fused && L->n_qkv == 1 && use_staged(b, n, c->dim)) {
        if (qkv_rowgroup(b, l, n, err))
            return -1;
    } else if (qkv_projection(b, L, n, err) || bias_norm_rope_store(b, l, n, err)) {
        return -1;
    }
    if (attention(b, l, n, err))
        return -1;
    return matmul(b, &L->wo, b->xb, NULL, b->x, n, c->dim, 1, err) ||
           ffn_in(b, L, n, err) ||
           matmul(b, &L->w2, b->hb, NULL, b->x, n, c->dim, 1, err) ? -1 : 0;
}

/* ---- the backend's public face --------------------------------------- */

/* The CPU session's rules: ids in range, and each sequence's positions
 * increase from its cache length with no gap. */
static int check_batch(cl_backend *b, const engine_batch *bt, engine_error *err)
{
    if (bt->n < 0 || (bt->n > 0 && (!bt->token || !bt->seq || !bt->pos)))
        return clb_fail(err, ENGINE_ERR_INPUT, "batch: n = %d with missing token/seq/pos arrays", bt->n);
    for (int i = 0; i < b->max_batch; i++)
        b->next[i] = b->cache_len[i], b->last[i] = -1;
    for (int t = 0; t < bt->n; t++) {
        int tok = bt->token[t], sq = bt->seq[t], p = bt->pos[t];
        if (tok < 0 || tok >= b->cfg.vocab_size)
            return clb_fail(err, ENGINE_ERR_INPUT, "batch token %d: id %d outside the vocabulary [0, %d)", t, tok,
                            b->cfg.vocab_size);
        if (sq < 0 || sq >= b->max_batch)
            return clb_fail(err, ENGINE_ERR_INPUT, "batch token %d: sequence %d outside [0, max_batch %d)", t, sq,
                            b->max_batch);
        if (p < 0 || p >= b->seq_len)
            return clb_fail(err, ENGINE_ERR_INPUT, "batch token %d: position %d outside [0, max_seq_len %d)", t,
                            p, b->seq_len);
        if (p != b->next[sq] && !(p < b->next[sq] && b->last[sq] < 0))
            return clb_fail(err, ENGINE_ERR_INPUT, "batch token %d: position %d of sequence %d is out of order "
                            "(next position is %d)", t, p, sq, b->next[sq]);
        b->next[sq] = p + 1;
        b->last[sq] = t;
    }
    return 0;
}

static double host_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int forward_chunk(cl_backend *b, const engine_batch *bt, int c0, int n, float *logits, int *n_logits,
                         engine_error *err)
{
    const engine_config *c = &b->cfg;
    const bool timed = b->host_times && n == 1;
    double t0 = timed ? host_now() : 0.0;
    if (ensure_cap(b, n, err))
        return -1;
    int n_want = 0, max_pos = 0;
    for (int t = 0; t < n; t++)
        max_pos = bt->pos[c0 + t] > max_pos ? bt->pos[c0 + t] : max_pos;
    b->step_chunks = max_pos / CLB_ATT_CHUNK + 1;
    for (int t = 0; t < n; t++)
        if (bt->want_logits ? bt->want_logits[c0 + t] : b->last[bt->seq[c0 + t]] == c0 + t)
            b->h_idx[n_want++] = t;
    if (!logits)
        n_want = 0;
    size_t ib = (size_t)n * sizeof(int);
    if (write_async(b, b->tok, ib, bt->token + c0, err) || write_async(b, b->seq, ib, bt->seq + c0, err) ||
        write_async(b, b->pos, ib, bt->pos + c0, err) ||
        (n_want && write_async(b, b->idx, n_want * sizeof(int), b->h_idx, err)))
        return -1;
    cl_kernel k = b->mm[b->emb.prog].embed;
    size_t g[2] = {c->dim, n};
    cl_int rc = SETARG(k, 0, b->emb.w) | SETARG(k, 1, b->emb.d) | SETARG(k, 2, b->tok) | SETARG(k, 3, b->x) |
                SETARG(k, 4, c->dim);
    if (rc != CL_SUCCESS || enqueue(b, k, "embed", 2, g, NULL, err))
        return rc != CL_SUCCESS ? cl_check(rc, err, "embed") : -1;
    for (int l = 0; l < c->n_layers; l++)
        if (layer_forward(b, l, n, err))
            return -1;
    if (!n_want)
        return cl_check(clFinish(b->queue), err, "finishing the forward pass");
    if (classify(b, n_want, err))
        return -1;
    size_t bytes = (size_t)n_want * c->vocab_size * sizeof(float);
    float *dst = logits + (size_t)*n_logits * c->vocab_size;
    *n_logits += n_want;
    double t1 = timed ? host_now() : 0.0;
    int rrc = cl_check(clEnqueueReadBuffer(b->queue, b->logits, CL_TRUE, 0, bytes, dst, 0, NULL, NULL), err,
                       "reading the logits");
    if (timed) {
        b->ht_passes++;
        b->ht_enqueue += t1 - t0;
        b->ht_wait += host_now() - t1;
    }
    return rrc;
}

int cl_backend_forward(cl_backend *b, const engine_batch *bt, float *logits, engine_error *err)
{
    if (check_batch(b, bt, err))
        return -1;
    int n_logits = 0, rc = 0;
    for (int c0 = 0; c0 < bt->n && !rc; c0 += CHUNK_TOKENS)
        rc = forward_chunk(b, bt, c0, bt->n - c0 < CHUNK_TOKENS ? bt->n - c0 : CHUNK_TOKENS, logits, &n_logits, err);
    if (rc)
        clFinish(b->queue);   /* nothing may still use the buffers */
    else
        for (int t = 0; t < bt->n; t++)
            b->cache_len[bt->seq[t]] = bt->pos[t] + 1;
    if (b->profile)
        collect_profile(b);
    return rc;
}

void cl_backend_reset(cl_backend *b, int seq)
{
    for (int i = 0; i < b->max_batch; i++)
        if (seq < 0 || seq == i)
            b->cache_len[i] = 0;
}

const char *cl_backend_kernels(const cl_backend *b) { return b->kernels_desc; }
const char *cl_backend_device_name(const cl_backend *b) { return b->dev->info.device_name; }

int cl_backend_profile(const cl_backend *b, engine_kernel_time *out, int max)
{
    /* The host times (host, not device time: named so) follow the kernels'. */
    const engine_kernel_time host[] = {
        {.name = "host: enqueue 1-token pass", .calls = b->ht_passes, .total_ms = b->ht_enqueue * 1e3},
        {.name = "host: wait for its logits", .calls = b->ht_passes, .total_ms = b->ht_wait * 1e3},
    };
    const int n_host = b->ht_passes ? 2 : 0;
    for (int i = 0; i < b->n_prof + n_host && i < max; i++)
        out[i] = i < b->n_prof ? b->prof[i] : host[i - b->n_prof];
    return b->n_prof + n_host;
}

void cl_backend_free(cl_backend *b)
{
    if (!b)
        return;
    if (b->queue)
        clFinish(b->queue);
    for (int l = 0; b->layers && l < b->cfg.n_layers; l++) {
        clb_layer *L = &b->layers[l];
        for (int i = 0; i < 3; i++)
            release_weight(&L->wqkv[i]);
        release_weight(&L->wo), release_weight(&L->w1);
        release_weight(&L->w2), release_weight(&L->w3);
        if (L->rms_att)
            clReleaseMemObject(L->rms_att);
        if (L->rms_ffn)
            clReleaseMemObject(L->rms_ffn);
        cl_mem extras[] = {L->bias_qkv, L->q_norm, L->k_norm};
        for (int i = 0; i < 3; i++)
            if (extras[i])
                clReleaseMemObject(extras[i]);
    }
    free(b->layers);
    if (!b->cls_is_emb)
        release_weight(&b->cls);
    release_weight(&b->emb);
    cl_mem ms[] = {b->rms_final, b->rope_cs, b->kcache, b->vcache};
    for (int i = 0; i < 4; i++)
        if (ms[i])
            clReleaseMemObject(ms[i]);
    release_acts(b);
    for (int p = 0; p < CLB_PROG_COUNT; p++) {
        cl_kernel ks[] = {b->mm[p].rowgroup, b->mm[p].rowgroup_batch, b->mm[p].rowgroup_swiglu, b->mm[p].rowgroup_qkv,
                          b->mm[p].rowgroup_norm, b->mm[p].rowitem, b->mm[p].rowitem_swiglu, b->mm[p].tiled,
                          b->mm[p].embed};
        for (int i = 0; i < (int)(sizeof ks / sizeof ks[0]); i++)
            if (ks[i])
                clReleaseKernel(ks[i]);
    }
    cl_kernel ops[] = {b->k_rmsnorm, b->k_rope, b->k_attention, b->k_attention_local, b->k_att_split,
                       b->k_swiglu};
    for (int i = 0; i < 6; i++)
        if (ops[i])
            clReleaseKernel(ops[i]);
    for (int i = 0; i < b->n_events; i++)
        clReleaseEvent(b->events[i]);
    free(b->events);
    free(b->event_names);
    if (b->queue)
        clReleaseCommandQueue(b->queue);
    free(b->cache_len);
    free(b->next);
    free(b->last);
    free(b);
}

/* Applies --kernel choices: matmul and attention pick a variant (by
 * default the one that suits the device type); the other ops have one
 * OpenCL variant each, named to keep A/B configs explicit. */
static int apply_choices(cl_backend *b, const engine_options *o, engine_error *err)
{
    bool split_chosen = false;
    const char *mv = engine_kernel_default_opencl(ENGINE_OP_MATMUL, b->dev->info.type);
    for (int m = 0; m < 3; m++)
        if (mv && !strcmp(mv, mv_names[m]))
            b->matvec = m;
    const char *att = engine_kernel_default_opencl(ENGINE_OP_ATTENTION, b->dev->info.type);
    b->att_split = att && !strcmp(att, "cl_split");
    /* cl_rowgroup's q/k/v matvec stages a whole input row in local memory. */
    int widest = b->cfg.dim;
    bool rg_fits = (cl_ulong)widest * sizeof(float) + (CLB_RG_LANES + 1) * CLB_RG_BLOCK * sizeof(float) + 256 <=
                   b->dev->local_mem_bytes;
    for (int i = 0; i < o->n_kernel_choices; i++) {
        const engine_kernel_choice *ch = &o->kernel_choices[i];
        bool ok = false;
        for (const kernel_variant *v = kernel_variants_opencl; v->info.name; v++)
            if (!strcmp(engine_op_name(v->info.op), ch->op) && !strcmp(v->info.name, ch->variant))
                ok = true;
        if (!ok)
            return clb_fail(err, ENGINE_ERR_INPUT, "kernel choice %s=%s: not an OpenCL variant (`thermabench "
                            "kernels` lists those of backend opencl)", ch->op, ch->variant);
        for (int m = 0; m < 3; m++)
            if (!strcmp(ch->op, "matmul") && !strcmp(ch->variant, mv_names[m]))
                b->matvec = m;
        if (!strcmp(ch->op, "attention"))
            b->att_split = split_chosen = !strcmp(ch->variant, "cl_split");
    }
    /* cl_split loads keys and values as float4 lanes, one work-item each. */
    bool split_fits = b->head_dim % 4 == 0 && b->head_dim / 4 <= CLB_ATT_SPLIT_WG;
    if (split_chosen && !split_fits)
        return clb_fail(err, ENGINE_ERR_UNSUPPORTED, "kernel cl_split: head size %d is not a multiple of 4 "
                        "(at most %d); choose attention=cl_attention", b->head_dim, 4 * CLB_ATT_SPLIT_WG);
    b->att_split = b->att_split && split_fits;
    b->att_chunks = (b->seq_len + CLB_ATT_CHUNK - 1) / CLB_ATT_CHUNK;
    /* Scores in local memory next to the kernel's own 6 * ATT_WG floats, up
     * to 16 KiB of them (more would cut the work-groups an SM holds). */
    b->att_local = b->head_dim % 4 == 0 && b->seq_len <= CLB_ATT_LOCAL_MAX &&
                   (cl_ulong)b->seq_len * sizeof(float) + 6 * CLB_ATT_WG * sizeof(float) + 256 <= b->dev->local_mem_bytes;
    if (b->matvec == MV_ROWGROUP && !rg_fits)
        return clb_fail(err, ENGINE_ERR_UNSUPPORTED, "kernel cl_rowgroup: a %d-float input row does not fit in "
                        "the %llu bytes of local memory of %s; choose matmul=cl_rowitem", widest,
                        (unsigned long long)b->dev->local_mem_bytes, b->dev->info.device_name);
    snprintf(b->kernels_desc, sizeof b->kernels_desc,
             "matmul=%s attention=%s rmsnorm=cl_rmsnorm rope=cl_rope_table swiglu=cl_swiglu",
             mv_names[b->matvec], b->att_split ? "cl_split" : "cl_attention");
    return 0;
}

int cl_backend_create(const engine_model *m, const engine_options *o, cl_backend **out, engine_error *err)
{
    *out = NULL;
    const engine_config *c = &m->cfg;
    const int head_dim = engine_config_head_dim(c);
    if (c->n_heads <= 0 || c->n_kv_heads <= 0 || c->n_heads % c->n_kv_heads || head_dim < 2 || head_dim % 2)
        return clb_fail(err, ENGINE_ERR_INPUT, "OpenCL backend: %d heads, %d kv heads of size %d do not make "
                        "whole, even heads", c->n_heads, c->n_kv_heads, head_dim);
    if (head_dim > CLB_ATT_WG)
        return clb_fail(err, ENGINE_ERR_UNSUPPORTED, "OpenCL backend: head size %d is above the attention "
                        "kernel's %d", head_dim, CLB_ATT_WG);
    cl_backend *b = calloc(1, sizeof *b);
    if (!b)
        return clb_fail(err, ENGINE_ERR_SYSTEM, "out of memory for the OpenCL backend");
    b->cfg = *c;
    b->head_dim = head_dim;
    b->q_dim = head_dim * c->n_heads;
    b->kv_dim = head_dim * c->n_kv_heads;
    b->qkv_dim = b->q_dim + 2 * b->kv_dim;
    /* Same RoPE pairing as the CPU session (kernel_rope_params.neox). */
    b->neox = c->arch != ENGINE_ARCH_LLAMA;
    /* The fused kernel rotates adjacent pairs of [q | k | v] rows q = dim wide;
     * upload_attention_extras clears it for biases and q/k norms. */
    b->qkv_fused = !b->neox && b->q_dim == c->dim;
    b->max_batch = o->max_batch > 0 ? o->max_batch : 1;
    /* As on the CPU: the model's seq_len is a training hint, not a limit. */
    b->seq_len = o->max_seq_len > 0 ? o->max_seq_len : c->seq_len;
    b->profile = o->opencl_profile;
    /* THERMABENCH_OPENCL_RG_SPLIT: warps sharing a row in matvec_rowgroup
     * (wo, w2) for every matrix; unset: by row length (rg_split_for). */
    const char *sp = getenv("THERMABENCH_OPENCL_RG_SPLIT");
    b->rg_split = 0;
    if (sp && *sp) {
        if (strcmp(sp, "1") && strcmp(sp, "2") && strcmp(sp, "4")) {
            free(b);
            return clb_fail(err, ENGINE_ERR_INPUT, "THERMABENCH_OPENCL_RG_SPLIT: '%s' is not 1, 2 or 4", sp);
        }
        b->rg_split = atoi(sp);
    }
    if (clb_rg_batch_rows(&b->rg_batch_rows, err)) {
        free(b);
        return -1;
    }
    const char *ht = getenv("THERMABENCH_OPENCL_HOST_TIMES");
    b->host_times = ht && *ht && strcmp(ht, "0");
    /* THERMABENCH_OPENCL_BATCH_STAGED=1: decode batches of 2 to 8 tokens
     * through the single-token kernels, which loop over the tokens and read
     * the weights once per token (for comparison with matvec_rowgroup_batch). */
    const char *bs = getenv("THERMABENCH_OPENCL_BATCH_STAGED");
    b->batch_staged = bs && *bs && strcmp(bs, "0");
    b->cache_len = calloc(b->max_batch, sizeof(int));
    b->next = calloc(b->max_batch, sizeof(int));
    b->last = calloc(b->max_batch, sizeof(int));
    cl_program ops;
    cl_int rc = CL_SUCCESS;
    if (!b->cache_len || !b->next || !b->last)
        clb_fail(err, ENGINE_ERR_SYSTEM, "out of memory for the OpenCL backend");
    else if (!clb_device_get(o->opencl_device, &b->dev, err) && !apply_choices(b, o, err) &&
             (b->queue = clCreateCommandQueue(b->dev->context, b->dev->device,
                                              b->profile ? CL_QUEUE_PROFILING_ENABLE : 0, &rc)) &&
             !clb_program_get(b->dev, CLB_PROG_OPS, &ops, err) &&
             !make_kernel(ops, "rmsnorm", &b->k_rmsnorm, err) &&
             !make_kernel(ops, "qkv_bias_norm_rope_store", &b->k_rope, err) &&
             !make_kernel(ops, "attention", &b->k_attention, err) &&
             !make_kernel(ops, "attention_local", &b->k_attention_local, err) &&
             !make_kernel(ops, "attention_split", &b->k_att_split, err) &&
             !make_kernel(ops, "swiglu", &b->k_swiglu, err) &&
             !upload_model(b, m, err)) {
        *out = b;
        return 0;
    }
    if (b->dev && !b->queue)
        cl_check(rc, err, "creating a command queue");
    cl_backend_free(b);
    return -1;
}

#endif
