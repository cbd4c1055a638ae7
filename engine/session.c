/* Sessions: resolved kernel variants, per-sequence KV caches, scratch
 * buffers sized once, and the batched forward pass (llama2.c run.c's
 * transformer, with n tokens going through each matmul together). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "backend_opencl.h"
#include "kernels.h"
#include "quant.h"
#include "session.h"

/* Tokens per forward chunk: scratch is sized for this many; larger batches
 * are processed in chunks, in order. */
#define SESSION_MAX_TOKENS 256
/* Query tokens per attention call (bounds the score scratch). */
#define ATT_TOKENS 32

struct engine_session {
    const engine_model *m;
    engine_options opt;
    int max_batch, max_seq_len, max_tokens;
    int head_dim, q_dim, kv_dim;
    kernel_rope_params rope;
    const kernel_variant *k[ENGINE_OP_COUNT];
    char kernels_desc[256];
    engine_pool *pool;
    cl_backend *cl;
    float *key_cache, *value_cache;  /* [seq][layer][pos][kv_dim] */
    int *cache_len;                  /* positions held per sequence */
    int *last_token;                 /* per sequence: last token index in the batch */
    int *batch_next;                 /* per sequence: validation while scanning a batch */
    float *x, *xb, *xb2, *q, *kk, *vv, *hb, *hb2, *att;
};

static int fail(engine_error *err, engine_error_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(engine_error *err, engine_error_kind kind, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        err->kind = kind;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* ---- options ---------------------------------------------------------- */

void engine_options_default(engine_options *o)
{
    memset(o, 0, sizeof *o);
    o->threads = 0;
    o->max_batch = 1;
    o->max_seq_len = 0;
    strcpy(o->backend, "cpu");
}

static int op_parse(const char *name, engine_op *out)
{
    for (int op = 0; op < ENGINE_OP_COUNT; op++)
        if (!strcmp(name, engine_op_name((engine_op)op))) {
            *out = (engine_op)op;
            return 0;
        }
    return -1;
}

/* "a, b, c": the variants registered for op, for error messages. */
static void variant_list(engine_op op, char *buf, size_t cap)
{
    buf[0] = '\0';
    for (size_t i = 0; i < engine_kernel_count(); i++) {
        const engine_kernel_info *k = engine_kernel_at(i);
        if (k->op != op)
            continue;
        size_t len = strlen(buf);
        snprintf(buf + len, cap - len, "%s%s", len ? ", " : "", k->name);
    }
}

static bool variant_available(const kernel_variant *v)
{
    for (size_t i = 0; i < engine_kernel_count(); i++) {
        const engine_kernel_info *k = engine_kernel_at(i);
        if (k->op == v->info.op && !strcmp(k->name, v->info.name))
            return k->available;
    }
    return false;
}

/* "all=V": V for every op that has a variant of that name (all=scalar: the
 * reference path). */
static int add_kernel_all(engine_options *o, const char *name, engine_error *err)
{
    int found = 0;
    for (int op = 0; op < ENGINE_OP_COUNT; op++) {
        if (!kernel_find((engine_op)op, name))
            continue;
        char choice[128];
        snprintf(choice, sizeof choice, "%s=%s", engine_op_name((engine_op)op), name);
        if (engine_options_add_kernel(o, choice, err))
            return -1;
        found++;
    }
    if (!found)
        return fail(err, ENGINE_ERR_INPUT, "kernel choice: no op has a variant named '%s'", name);
    return 0;
}

int engine_options_add_kernel(engine_options *o, const char *op_eq_variant, engine_error *err)
{
    const char *eq = strchr(op_eq_variant, '=');
    char op_name[32], list[512];
    if (!eq || eq == op_eq_variant || !eq[1])
        return fail(err, ENGINE_ERR_INPUT, "kernel choice '%s': expected op=variant (ops: matmul, attention, rmsnorm, rope, swiglu)",
                    op_eq_variant);
    size_t op_len = (size_t)(eq - op_eq_variant);
    if (op_len >= sizeof op_name)
        return fail(err, ENGINE_ERR_INPUT, "kernel choice '%s': unknown op", op_eq_variant);
    memcpy(op_name, op_eq_variant, op_len);
    op_name[op_len] = '\0';
    if (!strcmp(op_name, "all"))
        return add_kernel_all(o, eq + 1, err);
    engine_op op;
    if (op_parse(op_name, &op))
        return fail(err, ENGINE_ERR_INPUT, "kernel choice: unknown op '%s' (ops: matmul, attention, rmsnorm, rope, swiglu, all)",
                    op_name);
    const char *name = eq + 1;
    const kernel_variant *v = kernel_find(op, name);
    if (!v) {
        variant_list(op, list, sizeof list);
        return fail(err, ENGINE_ERR_INPUT, "kernel choice: unknown variant '%s=%s' (registered for %s: %s)",
                    op_name, name, op_name, list);
    }
    if (!variant_available(v)) {
        return fail(err, ENGINE_ERR_UNSUPPORTED, "kernel %s=%s cannot run on this machine (needs: %s)",
                    op_name, name, v->info.requires[0] ? v->info.requires : v->info.backend);
    }
    int slot = o->n_kernel_choices;
    for (int i = 0; i < o->n_kernel_choices; i++)
        if (!strcmp(o->kernel_choices[i].op, op_name))
            slot = i;  /* a later choice for the same op replaces the earlier one */
    if (slot >= ENGINE_MAX_KERNEL_CHOICES)
        return fail(err, ENGINE_ERR_INPUT, "too many kernel choices (at most %d)", ENGINE_MAX_KERNEL_CHOICES);
    if (strlen(name) >= sizeof o->kernel_choices[slot].variant)
        return fail(err, ENGINE_ERR_INPUT, "kernel variant name too long: '%s'", name);
    strcpy(o->kernel_choices[slot].op, op_name);
    strcpy(o->kernel_choices[slot].variant, name);
    if (slot == o->n_kernel_choices)
        o->n_kernel_choices++;
    return 0;
}

/* ---- sessions --------------------------------------------------------- */

/* Mask of the element types of every matrix that goes through matmul. */
static uint32_t matmul_dtypes(const engine_model *m)
{
    uint32_t mask = 1u << m->classifier.type;
    for (int l = 0; l < m->cfg.n_layers; l++) {
        const engine_layer *L = &m->layers[l];
        const engine_tensor *ts[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w1, &L->w2, &L->w3};
        for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++)
            mask |= 1u << ts[i]->type;
    }
    return mask;
}

static void dtype_names(uint32_t mask, char *buf, size_t cap)
{
    buf[0] = '\0';
    for (int t = 0; t < ENGINE_DTYPE_COUNT; t++)
        if (mask & (1u << t)) {
            size_t len = strlen(buf);
            snprintf(buf + len, cap - len, "%s%s", len ? " " : "", engine_dtype_name((engine_dtype)t));
        }
}

/* Picks each op's variant: the user's choice, checked, or the default. */
static int resolve_kernels(engine_session *s, engine_error *err)
{
    const engine_model *m = s->m;
    uint32_t need = matmul_dtypes(m);
    for (int i = 0; i < s->opt.n_kernel_choices; i++) {
        const engine_kernel_choice *c = &s->opt.kernel_choices[i];
        engine_op op;
        if (op_parse(c->op, &op))
            return fail(err, ENGINE_ERR_INPUT, "kernel choice: unknown op '%s'", c->op);
        const kernel_variant *v = kernel_find(op, c->variant);
        if (!v)
            return fail(err, ENGINE_ERR_INPUT, "kernel choice: unknown variant '%s=%s'", c->op, c->variant);
        if (strcmp(v->info.backend, "cpu"))
            return fail(err, ENGINE_ERR_INPUT, "kernel %s=%s is for the %s backend, not cpu", c->op,
                        c->variant, v->info.backend);
        if (!variant_available(v))
            return fail(err, ENGINE_ERR_UNSUPPORTED, "kernel %s=%s cannot run on this machine (needs: %s)",
                        c->op, c->variant, v->info.requires);
        if (op == ENGINE_OP_MATMUL && (need & ~v->dtypes)) {
            char have[64], want[64];
            dtype_names(v->dtypes, have, sizeof have);
            dtype_names(need, want, sizeof want);
            return fail(err, ENGINE_ERR_UNSUPPORTED,
                        "kernel matmul=%s handles %s but the model's matrices are %s", c->variant, have, want);
        }
        s->k[op] = v;
    }
    for (int op = 0; op < ENGINE_OP_COUNT; op++) {
        if (s->k[op])
            continue;
        /* matmul: the best variant that handles every type the model mixes */
        const kernel_variant *v = op == ENGINE_OP_MATMUL ? kernel_pick_dtypes(ENGINE_OP_MATMUL, need)
                                                         : kernel_pick((engine_op)op, m->classifier.type);
        if (!v)
            return fail(err, ENGINE_ERR_UNSUPPORTED, "no %s kernel runs on this machine",
                        engine_op_name((engine_op)op));
        s->k[op] = v;
    }
    s->kernels_desc[0] = '\0';
    for (int op = 0; op < ENGINE_OP_COUNT; op++) {
        size_t len = strlen(s->kernels_desc);
        snprintf(s->kernels_desc + len, sizeof s->kernels_desc - len, "%s%s=%s", op ? " " : "",
                 engine_op_name((engine_op)op), s->k[op]->info.name);
    }
    return 0;
}

static int check_config(const engine_config *c, engine_error *err)
{
    if (c->dim <= 0 || c->hidden_dim <= 0 || c->n_layers <= 0 || c->n_heads <= 0 || c->n_kv_heads <= 0 ||
        c->vocab_size <= 0 || c->seq_len <= 0)
        return fail(err, ENGINE_ERR_INPUT, "model config: every dimension must be positive");
    if ((!c->head_dim && c->dim % c->n_heads) || c->n_heads % c->n_kv_heads || engine_config_head_dim(c) % 2 ||
        engine_config_head_dim(c) < 2)
        return fail(err, ENGINE_ERR_INPUT,
                    "model config: dim %d, n_heads %d, n_kv_heads %d, head_dim %d do not make whole, even heads",
                    c->dim, c->n_heads, c->n_kv_heads, engine_config_head_dim(c));
    return 0;
}

/* calloc, then one byte written per 4 KiB page, so that the page faults of
 * first touch (and the kernel's zeroing of each page) happen at creation,
 * not in the first timed prefill or decode. `huge`: 2 MiB pages where THP
 * allows it ("madvise" mode), advised before that first touch; the KV
 * caches want them: a head reads its keys and values at a stride of kv_dim
 * floats, so with 4 KiB pages nearly every position is a TLB miss (a
 * two-level walk in a VM). */
static void *calloc_touched(size_t n, size_t size, bool huge)
{
    char *p = calloc(n, size);
    if (!p)
        return NULL;
    const uintptr_t page = (uintptr_t)2 << 20;
    uintptr_t a = ((uintptr_t)p + page - 1) & ~(page - 1), e = ((uintptr_t)p + n * size) & ~(page - 1);
    if (huge && e > a)
        madvise((void *)a, e - a, MADV_HUGEPAGE);
    volatile char *c = p;
    for (size_t i = 0; i < n * size; i += 4096)
        c[i] = 0;
    return p;
}

static int alloc_buffers(engine_session *s)
{
    const engine_config *c = &s->m->cfg;
    size_t T = (size_t)s->max_tokens;
    /* xb holds the normed input (dim) and the attention output (q_dim) */
    size_t wide = (size_t)(c->dim > s->q_dim ? c->dim : s->q_dim);
    size_t cache = (size_t)s->max_batch * c->n_layers * s->max_seq_len * s->kv_dim;
    s->key_cache = calloc_touched(cache, sizeof(float), true);
    s->value_cache = calloc_touched(cache, sizeof(float), true);
    s->cache_len = calloc(s->max_batch, sizeof(int));
    s->last_token = calloc(s->max_batch, sizeof(int));
    s->batch_next = calloc(s->max_batch, sizeof(int));
    s->x = calloc_touched(T * c->dim, sizeof(float), false);
    s->xb = calloc_touched(T * wide, sizeof(float), false);
    s->xb2 = calloc_touched(T * c->dim, sizeof(float), false);
    s->q = calloc_touched(T * s->q_dim, sizeof(float), false);
    s->kk = calloc_touched(T * s->kv_dim, sizeof(float), false);
    s->vv = calloc_touched(T * s->kv_dim, sizeof(float), false);
    s->hb = calloc_touched(T * c->hidden_dim, sizeof(float), false);
    s->hb2 = calloc_touched(T * c->hidden_dim, sizeof(float), false);
    s->att = calloc_touched((size_t)ATT_TOKENS * c->n_heads * s->max_seq_len, sizeof(float), false);
    return s->key_cache && s->value_cache && s->cache_len && s->last_token && s->batch_next && s->x &&
                   s->xb && s->xb2 && s->q && s->kk && s->vv && s->hb && s->hb2 && s->att
               ? 0
               : -1;
}

int engine_session_create(const engine_model *m, const engine_options *o, engine_session **out,
                          engine_error *err)
{
    *out = NULL;
    if (check_config(&m->cfg, err))
        return -1;
    if (o->max_batch < 1)
        return fail(err, ENGINE_ERR_INPUT, "max_batch must be at least 1, got %d", o->max_batch);
    /* max_seq_len may exceed the model's seq_len: that is a training hint
     * (GGUF converters write small ones), RoPE itself has no limit. */
    if (o->max_seq_len < 0 || o->max_seq_len > (1 << 20))
        return fail(err, ENGINE_ERR_INPUT, "max_seq_len %d is outside [0, 1048576] (0: the model's %d)",
                    o->max_seq_len, m->cfg.seq_len);
    if (o->threads < 0)
        return fail(err, ENGINE_ERR_INPUT, "threads must be >= 0 (0: all online CPUs), got %d", o->threads);
    bool opencl = !strcmp(o->backend, "opencl");
    if (!opencl && strcmp(o->backend, "cpu") && o->backend[0])
        return fail(err, ENGINE_ERR_INPUT, "unknown backend '%s' (expected cpu or opencl)", o->backend);

    engine_session *s = calloc(1, sizeof *s);
    if (!s)
        return fail(err, ENGINE_ERR_SYSTEM, "out of memory for the session");
    s->m = m;
    s->opt = *o;
    s->max_batch = o->max_batch;
    s->max_seq_len = o->max_seq_len ? o->max_seq_len : m->cfg.seq_len;
    if (opencl) {
#ifdef THERMABENCH_HAVE_OPENCL
        if (cl_backend_create(m, o, &s->cl, err)) {
            free(s);
            return -1;
        }
        *out = s;
        return 0;
#else
        free(s);
        return fail(err, ENGINE_ERR_UNSUPPORTED, "backend opencl: this build has no OpenCL support "
                    "(configure with -DTHERMABENCH_OPENCL=ON and the OpenCL headers installed)");
#endif
    }
    long long tokens = (long long)s->max_batch * s->max_seq_len;
    s->max_tokens = tokens < SESSION_MAX_TOKENS ? (int)tokens : SESSION_MAX_TOKENS;
    s->head_dim = engine_config_head_dim(&m->cfg);
    s->q_dim = s->head_dim * m->cfg.n_heads;
    s->kv_dim = s->head_dim * m->cfg.n_kv_heads;
    s->rope = (kernel_rope_params){.head_dim = s->head_dim, .theta = m->cfg.rope_theta,
                                   .freq_factors = m->rope_freqs, .neox = m->cfg.arch != ENGINE_ARCH_LLAMA};
    if (resolve_kernels(s, err)) {
        free(s);
        return -1;
    }
    int threads = o->threads;
    if (threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (int)n : 1;
    }
    s->pool = engine_pool_create(threads);
    if (!s->pool || alloc_buffers(s)) {
        engine_session_free(s);
        return fail(err, ENGINE_ERR_SYSTEM, "out of memory for KV caches and scratch (%d sequences x %d positions)",
                    o->max_batch, s->max_seq_len);
    }
    *out = s;
    return 0;
}

void engine_session_free(engine_session *s)
{
    if (!s)
        return;
#ifdef THERMABENCH_HAVE_OPENCL
    if (s->cl)
        cl_backend_free(s->cl);
#endif
    engine_pool_free(s->pool);
    free(s->key_cache);
    free(s->value_cache);
    free(s->cache_len);
    free(s->last_token);
    free(s->batch_next);
    free(s->x);
    free(s->xb);
    free(s->xb2);
    free(s->q);
    free(s->kk);
    free(s->vv);
    free(s->hb);
    free(s->hb2);
    free(s->att);
    free(s);
}

const char *engine_session_kernels(const engine_session *s)
{
#ifdef THERMABENCH_HAVE_OPENCL
    if (s->cl)
        return cl_backend_kernels(s->cl);
#endif
    return s->kernels_desc;
}

void engine_session_reset(engine_session *s, int seq)
{
#ifdef THERMABENCH_HAVE_OPENCL
    if (s->cl) {
        cl_backend_reset(s->cl, seq);
        return;
    }
#endif
    /* Positions beyond cache_len are never read, so forgetting them is enough. */
    for (int i = 0; i < s->max_batch; i++)
        if (seq < 0 || seq == i)
            s->cache_len[i] = 0;
}

/* ---- the forward pass ------------------------------------------------- */

static float *cache_at(const engine_session *s, float *cache, int seq, int layer)
{
    return cache + ((size_t)seq * s->m->cfg.n_layers + layer) * s->max_seq_len * s->kv_dim;
}

static void add_rows(float *x, const float *y, size_t len)
{
    for (size_t i = 0; i < len; i++)
        x[i] += y[i];
}

/* Attention for tokens [0, n) of the chunk, in runs of consecutive tokens
 * of one sequence (their K/V are already in the cache). */
static void attention_runs(engine_session *s, const int *seq, const int *pos, int n, int layer)
{
    const engine_config *c = &s->m->cfg;
    for (int i = 0; i < n;) {
        int j = i + 1;
        while (j < n && seq[j] == seq[i] && j - i < ATT_TOKENS)
            j++;
        kernel_attention_args a = {
            .n = j - i, .q = s->q + (size_t)i * s->q_dim, .out = s->xb + (size_t)i * s->q_dim,
            .k_cache = cache_at(s, s->key_cache, seq[i], layer),
            .v_cache = cache_at(s, s->value_cache, seq[i], layer),
            .pos = pos + i, .n_heads = c->n_heads, .n_kv_heads = c->n_kv_heads,
            .head_dim = s->head_dim, .kv_stride = s->kv_dim, .seq_len = s->max_seq_len,
            .scratch = s->att,
        };
        s->k[ENGINE_OP_ATTENTION]->fn.attention(&a, s->pool);
        i = j;
    }
}

/* y[t] += bias for n rows of len (no-op without a bias). */
static void add_bias(float *y, const float *bias, int n, int len)
{
    if (!bias)
        return;
    for (int t = 0; t < n; t++)
        add_rows(y + (size_t)t * len, bias, (size_t)len);
}

/* qwen2: q, k and v projections carry biases. */
static void qkv_biases(engine_session *s, const engine_layer *L, int n)
{
    add_bias(s->q, L->bq, n, s->q_dim);
    add_bias(s->kk, L->bk, n, s->kv_dim);
    add_bias(s->vv, L->bv, n, s->kv_dim);
}

/* qwen3: each head of q and of k gets its own RMSNorm (weights of
 * head_dim, shared by the heads) before RoPE. */
static void qk_norms(engine_session *s, const engine_layer *L, int n)
{
    const engine_config *c = &s->m->cfg;
    kernel_rmsnorm_fn norm = s->k[ENGINE_OP_RMSNORM]->fn.rmsnorm;
    if (L->q_norm)
        norm(s->q, s->q, L->q_norm, n * c->n_heads, s->head_dim, c->norm_eps);
    if (L->k_norm)
        norm(s->kk, s->kk, L->k_norm, n * c->n_kv_heads, s->head_dim, c->norm_eps);
}

static void store_kv(engine_session *s, const int *seq, const int *pos, int n, int l)
{
    const int kv_dim = s->kv_dim;
    for (int t = 0; t < n; t++) {
        size_t off = (size_t)pos[t] * kv_dim;
        memcpy(cache_at(s, s->key_cache, seq[t], l) + off, s->kk + (size_t)t * kv_dim, kv_dim * sizeof(float));
        memcpy(cache_at(s, s->value_cache, seq[t], l) + off, s->vv + (size_t)t * kv_dim, kv_dim * sizeof(float));
    }
}

/* One transformer layer for n tokens; the families differ only in the
 * optional steps (qkv_biases, qk_norms) and in the RoPE settings. */
static void layer_forward(engine_session *s, const int *seq, const int *pos, int n, int l)
{
    const engine_config *c = &s->m->cfg;
    const engine_layer *L = &s->m->layers[l];
    kernel_matmul_fn matmul = s->k[ENGINE_OP_MATMUL]->fn.matmul;
    int dim = c->dim;

    s->k[ENGINE_OP_RMSNORM]->fn.rmsnorm(s->xb, s->x, L->rms_att, n, dim, c->norm_eps);
    const kernel_matmul_job qkv[] = {{s->q, &L->wq}, {s->kk, &L->wk}, {s->vv, &L->wv}};
    kernel_matmul_group(s->k[ENGINE_OP_MATMUL], qkv, 3, s->xb, n, NULL, s->pool);
    qkv_biases(s, L, n);
    qk_norms(s, L, n);
    s->k[ENGINE_OP_ROPE]->fn.rope(s->q, s->kk, n, pos, s->q_dim, s->kv_dim, &s->rope);
    store_kv(s, seq, pos, n, l);
    attention_runs(s, seq, pos, n, l);
    matmul(s->xb2, s->xb, &L->wo, n, s->pool);
    add_rows(s->x, s->xb2, (size_t)n * dim);

    s->k[ENGINE_OP_RMSNORM]->fn.rmsnorm(s->xb, s->x, L->rms_ffn, n, dim, c->norm_eps);
    const kernel_matmul_job gate_up[] = {{s->hb, &L->w1}, {s->hb2, &L->w3}};
    kernel_matmul_group(s->k[ENGINE_OP_MATMUL], gate_up, 2, s->xb, n, s->k[ENGINE_OP_SWIGLU]->fn.swiglu,
                        s->pool);
    matmul(s->xb, s->hb, &L->w2, n, s->pool);
    add_rows(s->x, s->xb, (size_t)n * dim);
}

static bool wants_logits(const engine_session *s, const engine_batch *b, int t)
{
    return b->want_logits ? b->want_logits[t] : s->last_token[b->seq[t]] == t;
}

/* Tokens [c0, c0 + n) of the batch; logits of wanted tokens go to
 * logits + *n_logits * vocab onwards. */
static void forward_chunk(engine_session *s, const engine_batch *b, int c0, int n, float *logits, int *n_logits)
{
    const engine_model *m = s->m;
    const engine_config *c = &m->cfg;
    const int *seq = b->seq + c0, *pos = b->pos + c0;
    size_t emb_row = engine_dtype_bytes(m->tok_embeddings.type, c->dim);
    for (int t = 0; t < n; t++)
        engine_dequantize_row(m->tok_embeddings.type,
                              (const char *)m->tok_embeddings.data + (size_t)b->token[c0 + t] * emb_row,
                              s->x + (size_t)t * c->dim, c->dim);
    for (int l = 0; l < c->n_layers; l++)
        layer_forward(s, seq, pos, n, l);

    int n_want = 0;
    for (int t = 0; t < n; t++)
        if (wants_logits(s, b, c0 + t))
            s->k[ENGINE_OP_RMSNORM]->fn.rmsnorm(s->xb + (size_t)n_want++ * c->dim, s->x + (size_t)t * c->dim,
                                                m->rms_final, 1, c->dim, c->norm_eps);
    if (n_want && logits)
        s->k[ENGINE_OP_MATMUL]->fn.matmul(logits + (size_t)*n_logits * c->vocab_size, s->xb,
                                          &m->classifier, n_want, s->pool);
    *n_logits += n_want;
}

/* Rejects what would read outside the caches or attend to unwritten
 * positions: each sequence's positions must increase and leave no gap. */
static int check_batch(engine_session *s, const engine_batch *b, engine_error *err)
{
    if (b->n < 0 || (b->n > 0 && (!b->token || !b->seq || !b->pos)))
        return fail(err, ENGINE_ERR_INPUT, "batch: n = %d with missing token/seq/pos arrays", b->n);
    for (int i = 0; i < s->max_batch; i++)
        s->batch_next[i] = s->cache_len[i];
    for (int t = 0; t < b->n; t++) {
        int tok = b->token[t], sq = b->seq[t], p = b->pos[t];
        if (tok < 0 || tok >= s->m->cfg.vocab_size)
            return fail(err, ENGINE_ERR_INPUT, "batch token %d: id %d outside the vocabulary [0, %d)", t, tok,
                        s->m->cfg.vocab_size);
        if (sq < 0 || sq >= s->max_batch)
            return fail(err, ENGINE_ERR_INPUT, "batch token %d: sequence %d outside [0, max_batch %d)", t, sq,
                        s->max_batch);
        if (p < 0 || p >= s->max_seq_len)
            return fail(err, ENGINE_ERR_INPUT, "batch token %d: position %d outside [0, max_seq_len %d)", t, p,
                        s->max_seq_len);
        if (p > s->batch_next[sq])
            return fail(err, ENGINE_ERR_INPUT,
                        "batch token %d: position %d of sequence %d leaves a gap (next position is %d)", t, p,
                        sq, s->batch_next[sq]);
        s->batch_next[sq] = p + 1;
        s->last_token[sq] = t;
    }
    /* A repeated or decreasing position within the batch rewinds batch_next;
     * catch it by checking order per sequence. */
    for (int i = 0; i < s->max_batch; i++)
        s->batch_next[i] = -1;
    for (int t = 0; t < b->n; t++) {
        if (b->pos[t] <= s->batch_next[b->seq[t]])
            return fail(err, ENGINE_ERR_INPUT, "batch token %d: positions of sequence %d must increase", t,
                        b->seq[t]);
        s->batch_next[b->seq[t]] = b->pos[t];
    }
    return 0;
}

int engine_forward(engine_session *s, const engine_batch *b, float *logits, engine_error *err)
{
#ifdef THERMABENCH_HAVE_OPENCL
    if (s->cl)
        return cl_backend_forward(s->cl, b, logits, err);
#endif
    if (check_batch(s, b, err))
        return -1;
    int n_logits = 0;
    for (int c0 = 0; c0 < b->n; c0 += s->max_tokens) {
        int n = b->n - c0 < s->max_tokens ? b->n - c0 : s->max_tokens;
        forward_chunk(s, b, c0, n, logits, &n_logits);
    }
    for (int t = 0; t < b->n; t++)
        s->cache_len[b->seq[t]] = b->pos[t] + 1;
    return 0;
}

const engine_model *session_model(const engine_session *s) { return s->m; }
int session_max_batch(const engine_session *s) { return s->max_batch; }
int session_max_seq_len(const engine_session *s) { return s->max_seq_len; }

int engine_session_kernel_times(const engine_session *s, engine_kernel_time *out, int max)
{
#ifdef THERMABENCH_HAVE_OPENCL
    if (s->cl)
        return cl_backend_profile(s->cl, out, max);
#endif
    return 0;
}
