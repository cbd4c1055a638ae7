/* K-quant weights for the matrix kernels (matmul.cl), built with -DWT_Q4K
 * or -DWT_Q6K.
 *
 * q4_K:
 * Repacked on upload (engine/opencl_kquant.c): `w` holds the 4-bit quants
 * in element order (element i in the low nibble of byte i/2 when i is
 * even, the high one when odd), so a row's 16 elements are one 8-byte
 * load; `d` holds per super-block of 256 ten halves: d, dmin, then 16
 * bytes, the eight 6-bit scales and the eight mins unpacked. Element i of
 * sub-block j is d * sc[j] * q - dmin * m[j], as ggml's dequantisation
 * (the scale and min multiplied out in float first). */
#if defined(WT_Q4K)
#define VEC 16
#define Q4K_SIDE 10   /* halves of side data per super-block */
typedef uchar wtype;
typedef float16 vtype;

/* d * sc and dmin * m of the sub-block holding element i. */
inline float2 q4k_scale_min(__global const half *d, size_t i)
{
    size_t blk = i / 256;
    __global const uchar *sm = (__global const uchar *)(d + blk * Q4K_SIDE + 2);
    int j = (int)((i / 32) % 8);
    return (float2)(vload_half(blk * Q4K_SIDE, d) * (float)sm[j], vload_half(blk * Q4K_SIDE + 1, d) * (float)sm[8 + j]);
}

inline float wget(__global const wtype *w, __global const half *d, size_t i)
{
    float2 sm = q4k_scale_min(d, i);
    float q = (float)((w[i / 2] >> (4 * (i & 1))) & 15);
    return sm.x * q - sm.y;
}

typedef uint2 wraw;   /* 16 quants */
inline wraw wload(__global const wtype *w, size_t i) { return *(__global const uint2 *)(w + i / 2); }

/* Eight nibbles of u, in element order, as floats. */
inline float8 nibbles8(uint u)
{
    uint8 v = (uint8)(u, u >> 4, u >> 8, u >> 12, u >> 16, u >> 20, u >> 24, u >> 28) & 15u;
    return convert_float8(v);
}

inline vtype wwiden(wraw u) { return (float16)(nibbles8(u.x), nibbles8(u.y)); }
typedef float2 wside;
inline wside wside_get(__global const half *d, size_t i) { return q4k_scale_min(d, i); }

/* acc + the 16 elements (one sub-block) times b: d1 * sum(q b) - m1 * sum(b). */
inline float vdot_acc(vtype q, wside sm, vtype b, float acc)
{
    float16 p = q * b;
    float8 s8 = p.lo + p.hi, b8 = b.lo + b.hi;
    float4 s4 = s8.lo + s8.hi, b4 = b8.lo + b8.hi;
    return acc + (sm.x * ((s4.s0 + s4.s1) + (s4.s2 + s4.s3)) - sm.y * ((b4.s0 + b4.s1) + (b4.s2 + b4.s3)));
}

/* The single-token kernels' dot of one vector: vdot_acc from 0 (the
 * same value). */
inline float wdotr(wraw u, __global const half *d, size_t i, vtype b)
{
    return vdot_acc(wwiden(u), wside_get(d, i), b, 0.0f);
}
#endif

/* q6_K: `w` holds q - 32 as int8 in element order, `d` per super-block of
 * 256 nine halves: d, then the 16 int8 sub-block scales. Element i is
 * d * sc[i / 16] * q, as ggml's dequantisation (d * sc first, in float). */
#if defined(WT_Q6K)
#define VEC 16
#define Q6K_SIDE 9
typedef char wtype;
typedef float16 vtype;

/* d * sc of the sub-block of 16 holding element i. */
inline float q6k_scale(__global const half *d, size_t i)
{
    size_t blk = i / 256;
    __global const char *sc = (__global const char *)(d + blk * Q6K_SIDE + 1);
    return vload_half(blk * Q6K_SIDE, d) * (float)sc[(i / 16) % 16];
}

inline float wget(__global const wtype *w, __global const half *d, size_t i) { return q6k_scale(d, i) * (float)w[i]; }

typedef char16 wraw;   /* one sub-block */
inline wraw wload(__global const wtype *w, size_t i) { return *(__global const char16 *)(w + i); }

inline vtype wwiden(wraw q) { return convert_float16(q); }
typedef float wside;
inline wside wside_get(__global const half *d, size_t i) { return q6k_scale(d, i); }

/* acc + the 16 elements from i (a sub-block) times b: d * sc * sum(q b). */
inline float vdot_acc(vtype q, wside s, vtype b, float acc)
{
    float16 p = q * b;
    float8 s8 = p.lo + p.hi;
    float4 s4 = s8.lo + s8.hi;
    return acc + ((s4.s0 + s4.s1) + (s4.s2 + s4.s3)) * s;
}

/* The single-token kernels' dot of one vector: vdot_acc from 0 (the
 * same value). */
inline float wdotr(wraw u, __global const half *d, size_t i, vtype b)
{
    return vdot_acc(wwiden(u), wside_get(d, i), b, 0.0f);
}
#endif
