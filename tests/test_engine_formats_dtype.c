/* Element types against hand-computed values (IEEE half/bfloat16 bit
 * patterns, ggml block layouts) and quantization round-trip bounds. */
#include <stdint.h>
#include <stdlib.h>

#include "quant.h"
#include "tb_test.h"

static void test_names(void)
{
    engine_dtype t;
    for (int i = 0; i < ENGINE_DTYPE_COUNT; i++) {
        CHECK(engine_dtype_parse(engine_dtype_name((engine_dtype)i), &t) == 0 && t == (engine_dtype)i);
    }
    CHECK(engine_dtype_parse("Q8_0", &t) == 0 && t == ENGINE_DTYPE_Q8_0);
    CHECK(engine_dtype_parse("q5_0", &t) == -1);
    CHECK(engine_dtype_parse("Q4_K", &t) == 0 && t == ENGINE_DTYPE_Q4_K);
    CHECK(engine_dtype_bytes(ENGINE_DTYPE_Q4_K, 512) == 288);
    CHECK(engine_dtype_bytes(ENGINE_DTYPE_Q5_K, 256) == 176);
    CHECK(engine_dtype_bytes(ENGINE_DTYPE_Q6_K, 768) == 630);
    CHECK(engine_dtype_block(ENGINE_DTYPE_Q6_K) == 256);
    CHECK(engine_dtype_bytes(ENGINE_DTYPE_F32, 64) == 256);
    CHECK(engine_dtype_bytes(ENGINE_DTYPE_BF16, 64) == 128);
    CHECK(engine_dtype_bytes(ENGINE_DTYPE_Q8_0, 64) == 68);
    CHECK(engine_dtype_bytes(ENGINE_DTYPE_Q4_0, 64) == 36);
    CHECK(engine_dtype_block(ENGINE_DTYPE_Q4_0) == 32 && engine_dtype_block(ENGINE_DTYPE_F16) == 1);
}

static void test_f16(void)
{
    CHECK(engine_f16_to_f32(0x3800) == 0.5f);
    CHECK(engine_f16_to_f32(0x3C00) == 1.0f);
    CHECK(engine_f16_to_f32(0xC000) == -2.0f);
    CHECK(engine_f16_to_f32(0x7BFF) == 65504.0f);
    CHECK(engine_f16_to_f32(0x0001) == 0x1p-24f);          /* smallest subnormal */
    CHECK(engine_f16_to_f32(0x0400) == 0x1p-14f);          /* smallest normal */
    CHECK(isinf(engine_f16_to_f32(0x7C00)));
    CHECK(isnan(engine_f16_to_f32(0x7E00)));
    CHECK(engine_f32_to_f16(1.0f) == 0x3C00);
    CHECK(engine_f32_to_f16(-2.0f) == 0xC000);
    CHECK(engine_f32_to_f16(0.1f) == 0x2E66);               /* 0.0999755859375 */
    CHECK(engine_f32_to_f16(65504.0f) == 0x7BFF);
    CHECK(engine_f32_to_f16(65519.0f) == 0x7BFF);           /* below the halfway point */
    CHECK(engine_f32_to_f16(65520.0f) == 0x7C00);           /* halfway, odd mantissa: up to inf */
    CHECK(engine_f32_to_f16(1.0f + 0x1p-11f) == 0x3C00);    /* tie: to even (down) */
    CHECK(engine_f32_to_f16(1.0f + 3 * 0x1p-11f) == 0x3C02); /* tie: to even (up) */
    CHECK(engine_f32_to_f16(0x1p-24f) == 0x0001);
    CHECK(engine_f32_to_f16(0x1p-25f) == 0x0000);           /* tie with zero: even */
    CHECK(engine_f32_to_f16(0x1.8p-24f) == 0x0002);         /* 1.5 units: tie to even 2 */
    CHECK(engine_f32_to_f16(-0.0f) == 0x8000);
    CHECK(engine_f32_to_f16(1e10f) == 0x7C00);
    CHECK((engine_f32_to_f16(NAN) & 0x7C00) == 0x7C00 && (engine_f32_to_f16(NAN) & 0x3FF));
}

static void test_bf16(void)
{
    CHECK(engine_bf16_to_f32(0x3F80) == 1.0f);
    CHECK(engine_bf16_to_f32(0x4049) == 3.140625f);
    CHECK(engine_bf16_to_f32(0xC000) == -2.0f);
    CHECK(engine_f32_to_bf16(1.0f) == 0x3F80);
    CHECK(engine_f32_to_bf16(1.0f + 0x1p-8f) == 0x3F80);        /* tie: to even (down) */
    CHECK(engine_f32_to_bf16(1.0f + 3 * 0x1p-8f) == 0x3F82);    /* tie: to even (up) */
    CHECK(engine_f32_to_bf16(3.14159265f) == 0x4049);
    CHECK(isnan(engine_bf16_to_f32(engine_f32_to_bf16(NAN))));
}

static void test_q8_0(void)
{
    /* Decoding: d = 0.5 (f16 0x3800), q = -3 -> -1.5, q = 127 -> 63.5. */
    block_q8_0 b = {.d = 0x3800};
    b.qs[0] = -3;
    b.qs[1] = 127;
    b.qs[31] = -128;
    float out[32];
    engine_dequantize_row(ENGINE_DTYPE_Q8_0, &b, out, 32);
    CHECK(out[0] == -1.5f && out[1] == 63.5f && out[2] == 0.0f && out[31] == -64.0f);

    /* Encoding: amax 127 gives d = 1 exactly; roundf rounds halves away from zero. */
    float x[32] = {0};
    x[0] = -127.0f;
    x[1] = 2.5f;
    x[2] = -2.5f;
    x[3] = 0.49f;
    x[4] = 100.6f;
    block_q8_0 q;
    engine_quantize_q8_0(x, &q, 32);
    CHECK(q.d == 0x3C00);
    CHECK(q.qs[0] == -127 && q.qs[1] == 3 && q.qs[2] == -3 && q.qs[3] == 0 && q.qs[4] == 101 && q.qs[5] == 0);

    float zero[32] = {0};
    engine_quantize_q8_0(zero, &q, 32);
    CHECK(q.d == 0 && q.qs[0] == 0);
}

static void test_q4_0(void)
{
    /* Decoding: low nibble is element j, high nibble element j + 16. */
    block_q4_0 b = {.d = 0x3800};
    memset(b.qs, 0x88, sizeof b.qs);
    b.qs[0] = 0x1F;
    float out[32];
    engine_dequantize_row(ENGINE_DTYPE_Q4_0, &b, out, 32);
    CHECK(out[0] == 3.5f && out[16] == -3.5f && out[1] == 0.0f && out[31] == 0.0f);

    /* Encoding: largest magnitude -16 gives d = -16 / -8 = 2 (f16 0x4000), id = 0.5;
     * q = min(15, (int)(x * 0.5 + 8.5)). */
    float x[32] = {0};
    x[0] = -16.0f;  /* 0 */
    x[1] = 14.0f;   /* 15 */
    x[2] = 3.0f;    /* 10 */
    x[17] = -5.0f;  /* 6 (high nibble of byte 1) */
    block_q4_0 q;
    engine_quantize_q4_0(x, &q, 32);
    CHECK(q.d == 0x4000);
    CHECK(q.qs[0] == (0 | 8 << 4));
    CHECK(q.qs[1] == (15 | 6 << 4));
    CHECK(q.qs[2] == (10 | 8 << 4));
    /* Positive extreme: d = 16 / -8 = -2; x = 16 -> -8 + 8.5 -> 0. */
    memset(x, 0, sizeof x);
    x[5] = 16.0f;
    engine_quantize_q4_0(x, &q, 32);
    CHECK(q.d == 0xC000 && (q.qs[5] & 0xF) == 0);
}

static float frand(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((*s >> 40) / 16777216.0) * 2.0f - 1.0f;
}

/* Round trips stay within the format's error bound for every element. */
static void test_round_trip(void)
{
    enum { N = 4096 };
    float *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y);
    void *buf = malloc(N * 4);
    uint64_t s = 42;
    for (int i = 0; i < N; i++)
        x[i] = frand(&s) * (i % 97 == 0 ? 10.0f : 1.0f);
    for (int t = 0; t < ENGINE_DTYPE_COUNT; t++) {
        engine_quantize_row((engine_dtype)t, x, buf, N);
        engine_dequantize_row((engine_dtype)t, buf, y, N);
        int bad = 0;
        for (int i = 0; i < N; i++) {
            /* K-quants: the sub-block of 32 (q6_k: 16) shares one scale */
            int sub = t == ENGINE_DTYPE_Q6_K ? 16 : 32, b = i / sub * sub;
            float amax = 0, lo = 0, hi = 0;
            for (int j = b; j < b + sub; j++) {
                amax = fmaxf(amax, fabsf(x[j]));
                lo = fminf(lo, x[j]);
                hi = fmaxf(hi, x[j]);
            }
            float bound;
            switch (t) {
            case ENGINE_DTYPE_F32: bound = 0; break;
            case ENGINE_DTYPE_F16: bound = fabsf(x[i]) * 0x1p-11f + 0x1p-25f; break;
            case ENGINE_DTYPE_BF16: bound = fabsf(x[i]) * 0x1p-8f; break;
            case ENGINE_DTYPE_Q8_0: bound = amax / 127 * 0.57f; break;  /* half a step + f16 scale error */
            /* a step of range / levels, its 6-bit scale and min rounded to the super-block's: ~1.5 steps */
            case ENGINE_DTYPE_Q4_K: bound = (hi - lo) / 15 * 1.5f; break;
            case ENGINE_DTYPE_Q5_K: bound = (hi - lo) / 31 * 1.5f; break;
            case ENGINE_DTYPE_Q6_K: bound = amax / 31 * 1.5f; break;
            default: bound = amax / 8 * 1.01f; break;   /* clamp at +7 costs up to one step */
            }
            if (fabsf(x[i] - y[i]) > bound)
                bad++;
        }
        CHECKF(bad == 0, "%s: %d of %d elements outside the error bound", engine_dtype_name((engine_dtype)t), bad, N);
    }
    free(x);
    free(y);
    free(buf);
}

int main(void)
{
    test_names();
    test_f16();
    test_bf16();
    test_q8_0();
    test_q4_0();
    test_round_trip();
    TB_MAIN_END();
}
