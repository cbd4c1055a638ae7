/* Scalar reference kernels: the numerics of llama2.c run.c, one loop per op,
 * single-threaded. Every other variant is checked against these. */
#include <math.h>
#include <string.h>

#include "kernels.h"
#include "quant.h"

/* Tokens handled together per weight row, so a row is read (and dequantized)
 * once per group of tokens instead of once per token. */
#define MATMUL_TOKENS 64
#define MATMUL_COLS 32   /* a q8_0/q4_0 block */
#define MATMUL_COLS_MAX 256   /* a K-quant super-block: its unit of dequantisation */

/* out[t][r] = sum_c W[r][c] x[t][c], accumulated in float in index order
 * (as llama2.c), whatever the element type: rows are dequantized a block of
 * 32 (K-quants: a super-block of 256) at a time into a stack buffer. */
static void matmul_scalar(float *out, const float *x, const engine_tensor *w, int n, engine_pool *pool)
{
    (void)pool;
    const int64_t rows = w->rows, cols = w->cols;
    const size_t row_bytes = engine_dtype_bytes(w->type, cols);
    const int64_t step = engine_dtype_block(w->type) > MATMUL_COLS ? engine_dtype_block(w->type) : MATMUL_COLS;
    float tmp[MATMUL_COLS_MAX], acc[MATMUL_TOKENS];
    for (int64_t r = 0; r < rows; r++) {
        const char *row = (const char *)w->data + (size_t)r * row_bytes;
        for (int t0 = 0; t0 < n; t0 += MATMUL_TOKENS) {
            int nt = n - t0 < MATMUL_TOKENS ? n - t0 : MATMUL_TOKENS;
            for (int t = 0; t < nt; t++)
                acc[t] = 0.0f;
            for (int64_t c0 = 0; c0 < cols; c0 += step) {
                int nc = cols - c0 < step ? (int)(cols - c0) : (int)step;
                const float *wr;
                if (w->type == ENGINE_DTYPE_F32) {
                    wr = (const float *)row + c0;
                } else {
                    engine_dequantize_row(w->type, row + engine_dtype_bytes(w->type, c0), tmp, nc);
                    wr = tmp;
                }
                for (int t = 0; t < nt; t++) {
                    const float *xt = x + (size_t)(t0 + t) * cols + c0;
                    float a = acc[t];
                    for (int j = 0; j < nc; j++)
                        a += wr[j] * xt[j];
                    acc[t] = a;
                }
            }
            for (int t = 0; t < nt; t++)
                out[(size_t)(t0 + t) * rows + r] = acc[t];
        }
    }
}

static void softmax(float *x, int size)
{
    float max_val = x[0];
    for (int i = 1; i < size; i++)
        if (x[i] > max_val)
            max_val = x[i];
    float sum = 0.0f;
    for (int i = 0; i < size; i++) {
        x[i] = expf(x[i] - max_val);
        sum += x[i];
    }
    for (int i = 0; i < size; i++)
        x[i] /= sum;
}

static void attention_scalar(const kernel_attention_args *a, engine_pool *pool)
{
    (void)pool;
    const int hd = a->head_dim, q_dim = a->n_heads * hd;
    const int kv_mul = a->n_heads / a->n_kv_heads;
    for (int t = 0; t < a->n; t++) {
        for (int h = 0; h < a->n_heads; h++) {
            const float *q = a->q + (size_t)t * q_dim + h * hd;
            float *att = a->scratch + ((size_t)t * a->n_heads + h) * a->seq_len;
            const int kv_off = (h / kv_mul) * hd;
            for (int p = 0; p <= a->pos[t]; p++) {
                const float *k = a->k_cache + (size_t)p * a->kv_stride + kv_off;
                float score = 0.0f;
                for (int i = 0; i < hd; i++)
                    score += q[i] * k[i];
                att[p] = score / sqrtf((float)hd);
            }
            softmax(att, a->pos[t] + 1);
            float *out = a->out + (size_t)t * q_dim + h * hd;
            memset(out, 0, hd * sizeof *out);
            for (int p = 0; p <= a->pos[t]; p++) {
                const float *v = a->v_cache + (size_t)p * a->kv_stride + kv_off;
                float w = att[p];
                for (int i = 0; i < hd; i++)
                    out[i] += w * v[i];
            }
        }
    }
}

static void rmsnorm_scalar(float *out, const float *x, const float *weight, int n, int dim, float eps)
{
    for (int t = 0; t < n; t++) {
        const float *xt = x + (size_t)t * dim;
        float *ot = out + (size_t)t * dim;
        float ss = 0.0f;
        for (int j = 0; j < dim; j++)
            ss += xt[j] * xt[j];
        ss /= dim;
        ss += eps;
        ss = 1.0f / sqrtf(ss);
        for (int j = 0; j < dim; j++)
            ot[j] = weight[j] * (ss * xt[j]);
    }
}

/* Turns the pair (v[i], v[j]) by the angle with cosine fcr and sine fci. */
static void rotate(float *v, int i, int j, float fcr, float fci)
{
    float v0 = v[i], v1 = v[j];
    v[i] = v0 * fcr - v1 * fci;
    v[j] = v0 * fci + v1 * fcr;
}

static void rope_scalar(float *q, float *k, int n, const int *pos, int q_dim, int k_dim,
                        const kernel_rope_params *p)
{
    const int head_dim = p->head_dim, half = head_dim / 2;
    for (int t = 0; t < n; t++) {
        float *qt = q + (size_t)t * q_dim, *kt = k + (size_t)t * k_dim;
        for (int i = 0; i < q_dim; i += 2) {
            int hdi = i % head_dim, pair = hdi / 2;
            float freq = 1.0f / powf(p->theta, hdi / (float)head_dim);
            if (p->freq_factors)
                freq /= p->freq_factors[pair];
            float val = pos[t] * freq;
            float fcr = cosf(val), fci = sinf(val);
            /* the pair's two elements: adjacent, or a half head apart */
            int a = p->neox ? i - hdi + pair : i, b = p->neox ? a + half : i + 1;
            rotate(qt, a, b, fcr, fci);
            if (i < k_dim)
                rotate(kt, a, b, fcr, fci);
        }
    }
}

static void swiglu_scalar(float *gate, const float *up, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        float val = gate[i];
        val *= 1.0f / (1.0f + expf(-val));
        val *= up[i];
        gate[i] = val;
    }
}

#define ALL_DTYPES ((1u << ENGINE_DTYPE_COUNT) - 1)

const kernel_variant kernel_variants_scalar[] = {
    {.info = {ENGINE_OP_MATMUL, "scalar", "cpu", "", "reference, single-threaded: dequantize a block at a time, float dot in index order"},
     .dtypes = ALL_DTYPES, .priority = 0, .fn.matmul = matmul_scalar},
    {.info = {ENGINE_OP_ATTENTION, "scalar", "cpu", "", "reference, single-threaded: scores, softmax, weighted sum per head"},
     .priority = 0, .fn.attention = attention_scalar},
    {.info = {ENGINE_OP_RMSNORM, "scalar", "cpu", "", "reference RMSNorm"},
     .priority = 0, .fn.rmsnorm = rmsnorm_scalar},
    {.info = {ENGINE_OP_ROPE, "scalar", "cpu", "", "reference RoPE: adjacent pairs or NeoX halves, optional frequency divisors"},
     .priority = 0, .fn.rope = rope_scalar},
    {.info = {ENGINE_OP_SWIGLU, "scalar", "cpu", "", "reference SiLU(gate) * up"},
     .priority = 0, .fn.swiglu = swiglu_scalar},
    {.info = {.name = NULL}},
};
