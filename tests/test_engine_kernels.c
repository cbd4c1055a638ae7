/* Every CPU kernel variant against double-precision oracles computed here,
 * on random shapes that are deliberately ragged (sizes not multiples of the
 * vector width, the 12x32 GEMM tile, the block size or the thread count),
 * with 1 and 3 threads. Variants this CPU cannot run are skipped, and each
 * is reported on stdout.
 *
 * Tolerances (stated, derived):
 *  - float weights and dequantized q8_0/q4_0: |y - y*| <= 2e-6 * K *
 *    sum_c |w_c x_c| + 1e-30 (f32 rounding over K terms in any order);
 *  - VNNI integer dots (activations rounded to q8 per block of 32, scale
 *    amax/127, so each x_c moves by at most amax_block/254): the bound
 *    above plus sum_c |w_c| * amax_block(c) / 254 * 1.001. */
#include <stdint.h>
#include <stdlib.h>

#include "kernels.h"
#include "quant.h"
#include "tb_test.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static float frand(void) /* uniform in [-1, 1) */
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((rng >> 40) / (double)(1ull << 24)) * 2.0f - 1.0f;
}

static engine_tensor make_weights(engine_dtype t, int64_t rows, int64_t cols, float *deq)
{
    float *f = malloc(sizeof(float) * rows * cols);
    for (int64_t i = 0; i < rows * cols; i++)
        f[i] = frand();
    size_t rb = engine_dtype_bytes(t, cols);
    char *data = malloc(rb * rows + 64);
    for (int64_t r = 0; r < rows; r++) {
        engine_quantize_row(t, f + r * cols, data + r * rb, cols);
        engine_dequantize_row(t, data + r * rb, deq + r * cols, cols);
    }
    free(f);
    return (engine_tensor){.type = t, .rows = rows, .cols = cols, .data = data};
}

/* Outputs of y = x deq^T (n tokens, rows x cols) outside the tolerance. */
static int matmul_off(const kernel_variant *v, engine_dtype t, const float *deq, const float *x, const float *y,
                      int64_t rows, int64_t cols, int n)
{
    /* The integer paths quantize activations: q8_0/q4_0 per 32 (decode
     * only, few tokens), K-quants per 256 (q8_K, every token count). */
    bool kq = (ENGINE_DTYPES_KQUANT >> t) & 1;
    bool int_dot = (t == ENGINE_DTYPE_Q8_0 || t == ENGINE_DTYPE_Q4_0 || kq) && !strstr(v->info.name, "dequant") &&
                   strcmp(v->info.name, "scalar");
    const int ab = kq ? 256 : 32;
    int bad = 0;
    for (int tok = 0; tok < n; tok++)
        for (int64_t r = 0; r < rows; r++) {
            double ref = 0, mag = 0, qerr = 0;
            for (int64_t c = 0; c < cols; c++) {
                ref += (double)deq[r * cols + c] * x[tok * cols + c];
                mag += fabs((double)deq[r * cols + c] * x[tok * cols + c]);
            }
            if (int_dot)
                for (int64_t b = 0; b < cols / ab; b++) {
                    double amax = 0, wsum = 0;
                    for (int j = 0; j < ab; j++) {
                        amax = fmax(amax, fabs(x[tok * cols + b * ab + j]));
                        wsum += fabs(deq[r * cols + b * ab + j]);
                    }
                    qerr += wsum * amax / 254.0 * 1.001;
                }
            double got = y[tok * rows + r], tol = 2e-6 * cols * mag + qerr + 1e-30;
            if (!(fabs(got - ref) <= tol) && bad++ < 3)
                fprintf(stderr, "matmul %s %s %lldx%lld n=%d: y[%d][%lld] = %.9g, expected %.9g (tol %.3g)\n",
                        v->info.name, engine_dtype_name(t), (long long)rows, (long long)cols, n, tok,
                        (long long)r, got, ref, tol);
        }
    return bad;
}

static void check_matmul(const kernel_variant *v, engine_dtype t, int64_t rows, int64_t cols, int n,
                         engine_pool *pool)
{
    float *deq = malloc(sizeof(float) * rows * cols);
    engine_tensor w = make_weights(t, rows, cols, deq);
    float *x = malloc(sizeof(float) * n * cols), *y = malloc(sizeof(float) * n * rows);
    for (int64_t i = 0; i < n * cols; i++)
        x[i] = frand() * 3.0f;
    for (int64_t i = 0; i < n * rows; i++)
        y[i] = NAN;
    v->fn.matmul(y, x, &w, n, pool);
    int bad = matmul_off(v, t, deq, x, y, rows, cols, n);
    CHECKF(bad == 0, "%s %s %lldx%lld n=%d threads=%d: %d outputs off", v->info.name, engine_dtype_name(t),
           (long long)rows, (long long)cols, n, engine_pool_threads(pool), bad);
    free((void *)w.data);
    free(deq);
    free(x);
    free(y);
}

static void test_matmul(const kernel_variant *v, engine_pool *pool)
{
    static const int64_t rows[] = {1, 5, 13, 37, 100};
    static const int64_t fcols[] = {7, 16, 33, 129, 600};
    static const int64_t qcols[] = {32, 96, 160, 576};
    static const int64_t kcols[] = {256, 512, 768, 1280};   /* K-quants: whole super-blocks */
    static const int ns[] = {1, 2, 5, 6, 7, 33, 70};
    for (int t = 0; t < ENGINE_DTYPE_COUNT; t++) {
        if (!(v->dtypes & (1u << t)))
            continue;
        bool q = engine_dtype_block(t) > 1;
        for (int i = 0; i < 5; i++)
            for (int j = 0; j < (q ? 4 : 5); j++) {
                int n = ns[(i * 5 + j) % 7];
                check_matmul(v, t, rows[i], engine_dtype_block(t) == 256 ? kcols[j] : q ? qcols[j] : fcols[j], n, pool);
            }
    }
}

/* kernel_matmul_group: every job's output against the oracle, and bit for
 * bit what one fn.matmul per job (then swiglu over the whole range) gives;
 * rows ragged and unequal across jobs (without swiglu). */
static void check_matmul_group(const kernel_variant *v, engine_dtype t, const int64_t *rows, int n_jobs,
                               int64_t cols, int n, kernel_swiglu_fn swiglu, engine_pool *pool)
{
    engine_tensor w[3];
    float *deq[3], *y[3], *ref[3];
    kernel_matmul_job jobs[3];
    float *x = malloc(sizeof(float) * n * cols);
    for (int64_t i = 0; i < n * cols; i++)
        x[i] = frand() * 3.0f;
    for (int j = 0; j < n_jobs; j++) {
        deq[j] = malloc(sizeof(float) * rows[j] * cols);
        w[j] = make_weights(t, rows[j], cols, deq[j]);
        y[j] = malloc(sizeof(float) * n * rows[j]);
        ref[j] = malloc(sizeof(float) * n * rows[j]);
        for (int64_t i = 0; i < n * rows[j]; i++)
            y[j][i] = NAN;
        v->fn.matmul(ref[j], x, &w[j], n, pool);
        jobs[j] = (kernel_matmul_job){y[j], &w[j]};
    }
    kernel_matmul_group(v, jobs, n_jobs, x, n, NULL, pool);
    int bad = 0, differ = 0;
    for (int j = 0; j < n_jobs; j++) {
        bad += matmul_off(v, t, deq[j], x, y[j], rows[j], cols, n);
        differ += memcmp(y[j], ref[j], sizeof(float) * n * rows[j]) != 0;
    }
    if (swiglu) {
        kernel_matmul_group(v, jobs, 2, x, n, swiglu, pool);
        swiglu(ref[0], ref[1], (size_t)n * rows[0]);
        differ += memcmp(y[0], ref[0], sizeof(float) * n * rows[0]) != 0;
    }
    CHECKF(bad == 0 && differ == 0, "group %s %s %d jobs (rows %lld..) x %lld n=%d swiglu=%d threads=%d: %d off, %d differ",
           v->info.name, engine_dtype_name(t), n_jobs, (long long)rows[0], (long long)cols, n, swiglu != NULL,
           engine_pool_threads(pool), bad, differ);
    for (int j = 0; j < n_jobs; j++) {
        free((void *)w[j].data);
        free(deq[j]);
        free(y[j]);
        free(ref[j]);
    }
    free(x);
}

static void test_matmul_group(const kernel_variant *v, engine_pool *pool)
{
    static const int64_t qkv[][3] = {{37, 5, 100}, {1, 13, 13}, {100, 37, 37}};
    static const int64_t pair[][3] = {{100, 100}, {13, 13}, {1, 1}};
    static const int64_t fcols[] = {7, 129, 600};
    static const int64_t qcols[] = {32, 160, 576};
    static const int64_t kcols[] = {256, 768, 1280};
    static const int ns[] = {1, 2, 5, 7, 33};
    const kernel_variant *sw = kernel_pick(ENGINE_OP_SWIGLU, ENGINE_DTYPE_F32);
    for (int t = 0; t < ENGINE_DTYPE_COUNT; t++) {
        if (!(v->dtypes & (1u << t)))
            continue;
        bool q = engine_dtype_block(t) > 1;
        for (int i = 0; i < 3; i++)
            for (int k = 0; k < 5; k++) {
                int64_t cols = engine_dtype_block(t) == 256 ? kcols[(i + k) % 3] : q ? qcols[(i + k) % 3] : fcols[(i + k) % 3];
                check_matmul_group(v, t, qkv[i], 3, cols, ns[k], NULL, pool);
                check_matmul_group(v, t, pair[i], 2, cols, ns[k], sw->fn.swiglu, pool);
            }
    }
}

/* Causal attention for n tokens at positions p0 .. p0 + n - 1. */
static void check_attention(const kernel_variant *v, int n, int p0, int n_heads, int n_kv, int hd,
                            engine_pool *pool)
{
    int seq = p0 + n, q_dim = n_heads * hd, kv_dim = n_kv * hd, stride = kv_dim + 3;
    float *q = malloc(sizeof(float) * n * q_dim), *out = malloc(sizeof(float) * n * q_dim);
    float *kc = malloc(sizeof(float) * seq * stride), *vc = malloc(sizeof(float) * seq * stride);
    float *scratch = malloc(sizeof(float) * n * n_heads * seq);
    int *pos = malloc(sizeof(int) * n);
    for (int i = 0; i < n * q_dim; i++)
        q[i] = frand() * 2;
    for (int i = 0; i < seq * stride; i++) {
        kc[i] = frand() * 2;
        vc[i] = frand();
    }
    for (int t = 0; t < n; t++)
        pos[t] = p0 + t;
    kernel_attention_args a = {n, q, out, kc, vc, pos, n_heads, n_kv, hd, stride, seq, scratch};
    v->fn.attention(&a, pool);
    int bad = 0;
    double *sc = malloc(sizeof(double) * seq);
    for (int t = 0; t < n; t++)
        for (int h = 0; h < n_heads; h++) {
            int kvh = h / (n_heads / n_kv);
            double mx = -1e300, sum = 0;
            for (int p = 0; p <= pos[t]; p++) {
                double s = 0;
                for (int i = 0; i < hd; i++)
                    s += (double)q[t * q_dim + h * hd + i] * kc[p * stride + kvh * hd + i];
                sc[p] = s / sqrt(hd);
                mx = fmax(mx, sc[p]);
            }
            for (int p = 0; p <= pos[t]; p++)
                sum += (sc[p] = exp(sc[p] - mx));
            for (int i = 0; i < hd; i++) {
                double ref = 0;
                for (int p = 0; p <= pos[t]; p++)
                    ref += sc[p] / sum * vc[p * stride + kvh * hd + i];
                double got = out[t * q_dim + h * hd + i];
                if (!(fabs(got - ref) <= 2e-5) && bad++ < 3)
                    fprintf(stderr, "attention %s: out[%d][%d][%d] = %.8g, expected %.8g\n", v->info.name, t, h,
                            i, got, ref);
            }
        }
    CHECKF(bad == 0, "attention %s n=%d p0=%d heads=%d/%d hd=%d: %d off", v->info.name, n, p0, n_heads, n_kv,
           hd, bad);
    free(sc);
    free(q);
    free(out);
    free(kc);
    free(vc);
    free(scratch);
    free(pos);
}

static void check_rmsnorm(const kernel_variant *v, int n, int dim)
{
    float *x = malloc(sizeof(float) * n * dim), *w = malloc(sizeof(float) * dim);
    float *y = malloc(sizeof(float) * n * dim);
    for (int i = 0; i < n * dim; i++)
        x[i] = frand() * 4;
    for (int i = 0; i < dim; i++)
        w[i] = frand();
    v->fn.rmsnorm(y, x, w, n, dim, 1e-5f);
    int bad = 0;
    for (int t = 0; t < n; t++) {
        double ss = 0;
        for (int i = 0; i < dim; i++)
            ss += (double)x[t * dim + i] * x[t * dim + i];
        double s = 1 / sqrt(ss / dim + 1e-5);
        for (int i = 0; i < dim; i++) {
            double ref = w[i] * s * x[t * dim + i];
            if (!(fabs(y[t * dim + i] - ref) <= 1e-5 * fabs(ref) + 1e-7))
                bad++;
        }
    }
    /* in place */
    memcpy(y, x, sizeof(float) * n * dim);
    v->fn.rmsnorm(y, y, w, n, dim, 1e-5f);
    float *y2 = malloc(sizeof(float) * n * dim);
    v->fn.rmsnorm(y2, x, w, n, dim, 1e-5f);
    CHECKF(bad == 0 && !memcmp(y, y2, sizeof(float) * n * dim), "rmsnorm %s n=%d dim=%d: %d off", v->info.name,
           n, dim, bad);
    free(x);
    free(w);
    free(y);
    free(y2);
}

static void check_rope(const kernel_variant *v, int n, int n_heads, int n_kv, int hd)
{
    int q_dim = n_heads * hd, k_dim = n_kv * hd;
    float *q = malloc(sizeof(float) * n * q_dim), *k = malloc(sizeof(float) * n * k_dim);
    float *q0 = malloc(sizeof(float) * n * q_dim), *k0 = malloc(sizeof(float) * n * k_dim);
    int *pos = malloc(sizeof(int) * n);
    for (int i = 0; i < n * q_dim; i++)
        q[i] = q0[i] = frand();
    for (int i = 0; i < n * k_dim; i++)
        k[i] = k0[i] = frand();
    for (int t = 0; t < n; t++)
        pos[t] = 3 * t + 1;
    v->fn.rope(q, k, n, pos, q_dim, k_dim, &(kernel_rope_params){.head_dim = hd, .theta = 10000.0f});
    int bad = 0;
    for (int t = 0; t < n; t++)
        for (int i = 0; i < q_dim; i += 2) {
            double ang = pos[t] * pow(10000.0, -(double)(i % hd) / hd), c = cos(ang), s = sin(ang);
            for (int which = 0; which < 2; which++) {
                if (which && i >= k_dim)
                    break;
                float *o = which ? k + t * k_dim : q + t * q_dim;
                const float *in = which ? k0 + t * k_dim : q0 + t * q_dim;
                double r0 = in[i] * c - in[i + 1] * s, r1 = in[i] * s + in[i + 1] * c;
                if (!(fabs(o[i] - r0) <= 2e-5 && fabs(o[i + 1] - r1) <= 2e-5))
                    bad++;
            }
        }
    CHECKF(bad == 0, "rope %s n=%d heads=%d/%d hd=%d: %d off", v->info.name, n, n_heads, n_kv, hd, bad);
    free(q);
    free(k);
    free(q0);
    free(k0);
    free(pos);
}

static void check_swiglu(const kernel_variant *v, size_t len)
{
    float *g = malloc(sizeof(float) * len), *u = malloc(sizeof(float) * len), *g0 = malloc(sizeof(float) * len);
    for (size_t i = 0; i < len; i++) {
        g[i] = g0[i] = frand() * 12;
        u[i] = frand();
    }
    g[0] = g0[0] = -100.0f; /* exp overflow side */
    if (len > 1)
        g[1] = g0[1] = 100.0f;
    v->fn.swiglu(g, u, len);
    int bad = 0;
    for (size_t i = 0; i < len; i++) {
        double ref = g0[i] / (1 + exp(-(double)g0[i])) * u[i];
        if (!(fabs(g[i] - ref) <= 2e-6 * fabs(ref) + 1e-30))
            bad++;
    }
    CHECKF(bad == 0, "swiglu %s len=%zu: %d off", v->info.name, len, bad);
    free(g);
    free(u);
    free(g0);
}

int main(void)
{
    engine_pool *pools[2] = {engine_pool_create(1), engine_pool_create(3)};
    CHECK(pools[0] && pools[1]);
    int tested = 0;
    for (size_t i = 0; i < engine_kernel_count(); i++) {
        const engine_kernel_info *info = engine_kernel_at(i);
        if (strcmp(info->backend, "cpu"))
            continue;
        if (!info->available) {
            printf("skip %s/%s (needs %s)\n", engine_op_name(info->op), info->name, info->requires);
            continue;
        }
        const kernel_variant *v = kernel_find(info->op, info->name);
        CHECK(v != NULL);
        printf("test %s/%s\n", engine_op_name(info->op), info->name);
        tested++;
        for (int p = 0; p < 2; p++) {
            engine_pool *pool = pools[p];
            switch (info->op) {
            case ENGINE_OP_MATMUL:
                test_matmul(v, pool);
                test_matmul_group(v, pool);
                break;
            case ENGINE_OP_ATTENTION:
                check_attention(v, 1, 0, 4, 4, 8, pool);
                check_attention(v, 1, 77, 6, 2, 64, pool);
                check_attention(v, 13, 0, 3, 1, 20, pool);
                check_attention(v, 9, 40, 4, 2, 33, pool);
                check_attention(v, 3, 21, 2, 1, 90, pool); /* past fused_avx512's inlined sizes */
                break;
            case ENGINE_OP_RMSNORM:
                check_rmsnorm(v, 3, 7);
                check_rmsnorm(v, 5, 768);
                check_rmsnorm(v, 2, 100);
                break;
            case ENGINE_OP_ROPE:
                check_rope(v, 3, 4, 2, 8);
                check_rope(v, 5, 6, 6, 64);
                check_rope(v, 2, 3, 1, 18);
                break;
            case ENGINE_OP_SWIGLU:
                check_swiglu(v, 1);
                check_swiglu(v, 37);
                check_swiglu(v, 2048);
                break;
            default:
                break;
            }
        }
    }
    CHECK(tested >= 5);
    engine_pool_free(pools[0]);
    engine_pool_free(pools[1]);
    TB_MAIN_END();
}
