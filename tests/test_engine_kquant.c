/* K-quants: dequantisation of hand-built blocks against values worked out
 * from ggml's block layout, the q8_K dot products against the
 * dequantised rows, the avx512_kq kernel against the scalar_q8 reference,
 * and malformed files (non-finite scales, K-quant rows that are not whole
 * super-blocks, unknown architectures) refused with exit code 2 and the
 * tensor or key named. Model files are copied from ../shared/oracles. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kernels.h"
#include "quant.h"
#include "quant_k.h"
#include "tb_test.h"

#define ORACLE_MODEL TB_SHARED_DIR "/oracles/models/qwen3-tiny-Q4_K_M.gguf"

static void test_q4_K_layout(void)
{
    block_q4_K b;
    memset(&b, 0, sizeof b);
    b.d = 0x3C00;      /* 1.0 */
    b.dmin = 0x3800;   /* 0.5 */
    /* sc0..3 = 1..4 (byte 0 also carries sc4's top bits 01), m0..3 = 0..3,
     * sc4..7 low nibbles 5..8, m4..7 low nibbles 1..4 */
    const uint8_t scales[12] = {0x41, 2, 3, 4, 0, 1, 2, 3, 0x15, 0x26, 0x37, 0x48};
    memcpy(b.scales, scales, 12);
    memset(b.qs, 0x21, sizeof b.qs);   /* low nibble 1, high nibble 2 */
    const float sc[8] = {1, 2, 3, 4, 5 + 16, 6, 7, 8}, m[8] = {0, 1, 2, 3, 1, 2, 3, 4};
    float y[QK_K];
    quant_k_dequantize_q4_K(&b, y, QK_K);
    int bad = 0;
    for (int e = 0; e < QK_K; e++) {
        int j = e / 32;                      /* sub-block j: low nibbles for even j, high for odd */
        float want = sc[j] * (j % 2 ? 2 : 1) - 0.5f * m[j];
        bad += y[e] != want;
    }
    CHECKF(bad == 0, "q4_K: %d of 256 values differ from the layout's", bad);

    block_q5_K b5;
    memset(&b5, 0, sizeof b5);
    b5.d = 0x3C00;
    memcpy(b5.scales, scales, 12);
    memset(b5.qs, 0x21, sizeof b5.qs);
    b5.qh[3] = 0x81;   /* element 3 of sub-blocks 0 and 7 get their fifth bit */
    quant_k_dequantize_q5_K(&b5, y, QK_K);
    CHECKF(y[3] == 1 * 17 && y[7 * 32 + 3] == 8 * 18 && y[4] == 1 && y[7 * 32 + 4] == 16,
           "q5_K: %g %g %g %g", y[3], y[7 * 32 + 3], y[4], y[7 * 32 + 4]);

    block_q6_K b6;
    memset(&b6, 0, sizeof b6);
    b6.d = 0x3C00;
    for (int j = 0; j < 16; j++)
        b6.scales[j] = (int8_t)(j % 2 ? -(j + 1) : j + 1);
    b6.ql[0] = 0x0F;      /* element 0: low 4 bits 15; element 64: high nibble 0 */
    b6.qh[0] = 0x03 | 0x30;   /* element 0: bits 4-5 = 3; element 64: bits 4-5 = 3 */
    b6.ql[64 + 33] = 0xA0;    /* element 128 + 96 + 1: high nibble of ql[64 + 32 + 1] = 10 */
    quant_k_dequantize_q6_K(&b6, y, QK_K);
    bad = 0;
    for (int e = 0; e < QK_K; e++) {
        int q = e == 0 ? 63 : e == 64 ? 48 : e == 225 ? 10 : 0;
        float want = (float)b6.scales[e / 16] * (q - 32);
        bad += y[e] != want;
    }
    CHECKF(bad == 0, "q6_K: %d of 256 values differ from the layout's", bad);
}

static uint64_t rng = 88172645463325252ull;
static float frand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((rng >> 40) / 16777216.0) * 2.0f - 1.0f;
}

/* The q8_K dot equals the dequantised row times the dequantised activations. */
static void test_dots(void)
{
    enum { NB = 3, N = NB * QK_K };
    float w[N], x[N], wd[N], xd[N];
    for (int i = 0; i < N; i++) {
        w[i] = frand() * (i % 61 == 0 ? 8.0f : 1.0f);
        x[i] = frand() * 2.0f;
    }
    block_q8_K xq[NB];
    quant_k_quantize_q8_K(x, xq, N);
    for (int i = 0; i < N; i++)
        xd[i] = xq[i / QK_K].d * xq[i / QK_K].qs[i % QK_K];
    for (int t = ENGINE_DTYPE_Q4_K; t <= ENGINE_DTYPE_Q6_K; t++) {
        _Alignas(64) uint8_t buf[NB * sizeof(block_q6_K)];   /* the largest of the three */
        engine_quantize_row((engine_dtype)t, w, buf, N);
        engine_dequantize_row((engine_dtype)t, buf, wd, N);
        double want = 0, mag = 0;
        for (int i = 0; i < N; i++) {
            want += (double)wd[i] * xd[i];
            mag += fabs((double)wd[i] * xd[i]);
        }
        float got = t == ENGINE_DTYPE_Q4_K   ? quant_k_dot_q4_K((void *)buf, xq, NB)
                    : t == ENGINE_DTYPE_Q5_K ? quant_k_dot_q5_K((void *)buf, xq, NB)
                                             : quant_k_dot_q6_K((void *)buf, xq, NB);
        CHECKF(fabs(got - want) <= 1e-5 * mag, "%s: dot %.7g, dequantised %.7g", engine_dtype_name((engine_dtype)t),
               got, want);
    }
}

/* avx512_kq gives scalar_q8's sums up to float order: 1e-5 of the sum of |terms|. */
static void test_avx512_kq(void)
{
    const kernel_variant *ref = kernel_find(ENGINE_OP_MATMUL, "scalar_q8");
    const kernel_variant *v = kernel_find(ENGINE_OP_MATMUL, "avx512_kq");
    CHECK(ref && v);
    bool available = false;
    for (size_t i = 0; i < engine_kernel_count(); i++)
        if (!strcmp(engine_kernel_at(i)->name, "avx512_kq"))
            available = engine_kernel_at(i)->available;
    if (!ref || !v || !available) {
        printf("avx512_kq: not available on this machine, comparison skipped\n");
        return;
    }
    engine_pool *pools[2] = {NULL, engine_pool_create(2)};
    static const int64_t shapes[][2] = {{1, 256}, {7, 512}, {33, 768}, {70, 1280}};
    static const int ns[] = {1, 2, 7, 8, 9, 17};
    for (int t = ENGINE_DTYPE_Q4_K; t <= ENGINE_DTYPE_Q6_K; t++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
            for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
                int64_t rows = shapes[s][0], cols = shapes[s][1];
                int n = ns[k];
                size_t rb = engine_dtype_bytes((engine_dtype)t, cols);
                uint8_t *wq = malloc(rb * rows);
                float *row = malloc(sizeof(float) * cols), *x = malloc(sizeof(float) * cols * n);
                float *a = malloc(sizeof(float) * rows * n), *b = malloc(sizeof(float) * rows * n);
                for (int64_t r = 0; r < rows; r++) {
                    for (int64_t c = 0; c < cols; c++)
                        row[c] = frand();
                    engine_quantize_row((engine_dtype)t, row, wq + r * rb, cols);
                }
                for (int64_t i = 0; i < cols * n; i++)
                    x[i] = frand() * 4.0f;
                engine_tensor w = {.type = (engine_dtype)t, .rows = rows, .cols = cols, .data = wq};
                ref->fn.matmul(a, x, &w, n, NULL);
                v->fn.matmul(b, x, &w, n, pools[k % 2]);
                int bad = 0;
                for (int64_t i = 0; i < rows * n; i++)
                    bad += !(fabsf(a[i] - b[i]) <= 1e-5f * (fabsf(a[i]) + 1.0f) * sqrtf((float)cols));
                CHECKF(bad == 0, "avx512_kq %s %lldx%lld n=%d: %d outputs differ from scalar_q8",
                       engine_dtype_name((engine_dtype)t), (long long)rows, (long long)cols, n, bad);
                free(wq);
                free(row);
                free(x);
                free(a);
                free(b);
            }
    engine_pool_free(pools[1]);
}

/* ---- malformed files ---------------------------------------------------- */

static char *read_file(const char *path, size_t *len) { return tb_read_all(path, len); }

static const char *write_tmp(const char *name, const char *data, size_t len)
{
    static char path[256];
    snprintf(path, sizeof path, "/tmp/tb_kquant_%d_%s", (int)getpid(), name);
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(data, 1, len, f);
        fclose(f);
    }
    return path;
}

/* Runs `thermabench model info FILE`; returns the exit code, stderr in err. */
static int model_info(const char *path, char *err, size_t cap)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s model info %s 2>&1 >/dev/null", TB_BINARY, path);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    size_t n = fread(err, 1, cap - 1, p);
    err[n] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The byte offset of tensor `name`'s ggml type field in the header. */
static size_t type_field(const char *data, size_t len, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 8; i + n + 4 < len; i++)
        if (!memcmp(data + i, name, n)) {
            uint64_t l;
            memcpy(&l, data + i - 8, 8);
            if (l != n)
                continue;
            uint32_t dims;
            memcpy(&dims, data + i + n, 4);
            return i + n + 4 + 8 * dims;
        }
    return 0;
}

static void test_malformed(void)
{
    size_t len;
    char *orig = read_file(ORACLE_MODEL, &len);
    CHECKF(orig != NULL, "cannot read %s", ORACLE_MODEL);
    if (!orig)
        return;
    char *data = malloc(len), msg[2048];
    engine_error err;
    engine_model *m = NULL;

    /* the good file loads */
    CHECKF(model_info(ORACLE_MODEL, msg, sizeof msg) == 0, "good file: %s", msg);

    /* an infinite d in block 1 of blk.0.attn_q.weight */
    CHECK(engine_model_load(ORACLE_MODEL, &m, &err) == 0);
    int64_t off = -1;
    engine_dtype ty = ENGINE_DTYPE_F32;
    if (m) {
        engine_tensor_row rows[64];
        int nr = engine_model_tensors(m, rows, 64);
        for (int i = 0; i < nr; i++)
            if (!strcmp(rows[i].name, "blk.0.attn_q.weight"))
                off = rows[i].file_offset, ty = rows[i].type;
        engine_model_free(m);
    }
    CHECKF(off > 0 && (ENGINE_DTYPES_KQUANT >> ty & 1), "blk.0.attn_q.weight: offset %lld, %s", (long long)off,
           engine_dtype_name(ty));
    if (off > 0) {
        memcpy(data, orig, len);
        size_t d_at = (size_t)off + engine_dtype_bytes(ty, QK_K) + (ty == ENGINE_DTYPE_Q6_K ? 208 : 0);
        data[d_at] = 0x00;
        data[d_at + 1] = 0x7C;   /* f16 +inf */
        const char *p = write_tmp("inf.gguf", data, len);
        CHECK(engine_model_load(p, &m, &err) == -1 && err.kind == ENGINE_ERR_INPUT);
        CHECKF(strstr(err.msg, "blk.0.attn_q.weight") && strstr(err.msg, "block 1"), "%s", err.msg);
        CHECKF(model_info(p, msg, sizeof msg) == 2 && strstr(msg, "blk.0.attn_q.weight"), "%s", msg);
        unlink(p);
    }

    /* a 64-element vector declared Q4_K: not whole super-blocks */
    size_t at = type_field(orig, len, "blk.0.attn_q_norm.weight");
    CHECK(at > 0);
    if (at) {
        memcpy(data, orig, len);
        uint32_t q4k = 12;
        memcpy(data + at, &q4k, 4);
        const char *p = write_tmp("rows.gguf", data, len);
        CHECKF(model_info(p, msg, sizeof msg) == 2 && strstr(msg, "blk.0.attn_q_norm.weight") && strstr(msg, "256"),
               "%s", msg);
        unlink(p);
    }

    /* an architecture this engine does not run */
    char *arch = memmem(orig, len, "qwen3", 5);
    CHECK(arch != NULL);
    if (arch) {
        memcpy(data, orig, len);
        memcpy(data + (arch - orig), "qwen9", 5);
        const char *p = write_tmp("arch.gguf", data, len);
        CHECKF(model_info(p, msg, sizeof msg) == 2 && strstr(msg, "general.architecture") && strstr(msg, "qwen9"),
               "%s", msg);
        unlink(p);
    }
    free(data);
    free(orig);
}

int main(void)
{
    test_q4_K_layout();
    test_dots();
    test_avx512_kq();
    test_malformed();
    TB_MAIN_END();
}
