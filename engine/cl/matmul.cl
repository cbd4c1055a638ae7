/* Matrix kernels for one weight type, chosen when the program is built:
 * -DWT_F32, -DWT_F16 or -DWT_Q8 (q8_0 repacked on upload: int8 rows, then
 * one half scale per 32 weights in a separate buffer `d`, so rows stay
 * 16-byte aligned for wide loads). out[t * out_stride + r] = W[r] . x[t],
 * plus the old value when `add` is set (the residual connection). */

/* IEEE binary16 bits to float, exact for every value: the exponent and
 * mantissa shifted into place are scaled by 2^112 (which also turns half
 * subnormals into the right float); infinities and NaNs keep all-ones. */
inline float half_bits(uint h)
{
    uint e = h & 0x7fffu;
    float f = as_float(e << 13) * 0x1.0p112f;
    if (e >= 0x7c00u)
        f = as_float((e << 13) | 0x7f800000u);
    return as_float(as_uint(f) | ((h & 0x8000u) << 16));
}

#if defined(WT_F32)
#define VEC 4
typedef float wtype;
typedef float4 vtype;
inline float wget(__global const wtype *w, __global const half *d, size_t i) { return w[i]; }
typedef float4 wraw;   /* one 16-byte weight load, before widening */
inline wraw wload(__global const wtype *w, size_t i) { return *(__global const float4 *)(w + i); }
inline float wdotr(wraw a, __global const half *d, size_t i, float4 b)
{
    float4 p = a * b;
    return (p.s0 + p.s1) + (p.s2 + p.s3);
}
#elif defined(WT_F16)
#define VEC 8
typedef half wtype;
typedef float8 vtype;
inline float wget(__global const wtype *w, __global const half *d, size_t i) { return vload_half(i, w); }
typedef uint4 wraw;
inline wraw wload(__global const wtype *w, size_t i) { return *(__global const uint4 *)(w + i); }
#if defined(NV_PTX)
/* The conversion instruction through PTX (the driver does not report
 * cl_khr_fp16; cvt.f32.f16 becomes one full-rate instruction, where
 * half_bits takes seven integer operations). Exact, like half_bits. */
inline float2 widen2(uint u)
{
    float a, b;
    asm("{.reg .b16 lo, hi;\n\tmov.b32 {lo, hi}, %2;\n\tcvt.f32.f16 %0, lo;\n\tcvt.f32.f16 %1, hi;\n\t}"
        : "=f"(a), "=f"(b) : "r"(u));
    return (float2)(a, b);
}
inline float8 widen8(uint4 u) { return (float8)(widen2(u.x), widen2(u.y), widen2(u.z), widen2(u.w)); }
#elif defined(cl_khr_fp16)
#pragma OPENCL EXTENSION cl_khr_fp16 : enable
/* One conversion instruction per half where the device has them (exact,
 * like half_bits). */
inline float8 widen8(uint4 u) { return convert_float8(as_half8(u)); }
#else
/* The halves are widened in registers (a private-memory vload_half would
 * go through the stack). */
inline float8 widen8(uint4 u)
{
    return (float8)(half_bits(u.x & 0xffffu), half_bits(u.x >> 16), half_bits(u.y & 0xffffu),
                    half_bits(u.y >> 16), half_bits(u.z & 0xffffu), half_bits(u.z >> 16),
                    half_bits(u.w & 0xffffu), half_bits(u.w >> 16));
}
#endif
inline float wdotr(wraw u, __global const half *d, size_t i, float8 b)
{
    float8 p = widen8(u) * b;
    return ((p.s0 + p.s1) + (p.s2 + p.s3)) + ((p.s4 + p.s5) + (p.s6 + p.s7));
}
#elif defined(WT_Q8)
#define VEC 16
typedef char wtype;
typedef float16 vtype;
inline float wget(__global const wtype *w, __global const half *d, size_t i)
{
    return (float)w[i] * vload_half(i / 32, d);
}
typedef char16 wraw;
inline wraw wload(__global const wtype *w, size_t i) { return *(__global const char16 *)(w + i); }
/* Four int8 to float without the conversion instruction (quarter rate on
 * NVIDIA GPUs): the biased byte q + 128 as the low mantissa bits of 2^23,
 * minus 2^23 + 128. Exact, like convert_float. */
inline float4 widen4(uint u)
{
    u ^= 0x80808080u;
    uint4 m = (uint4)(u & 0xffu, (u >> 8) & 0xffu, (u >> 16) & 0xffu, u >> 24);
    return as_float4(m | 0x4b000000u) - 8388736.0f;
}
inline float wdotr(wraw q, __global const half *d, size_t i, float16 b)
{
    uint4 u = as_uint4(q);
    float16 p = (float16)(widen4(u.x), widen4(u.y), widen4(u.z), widen4(u.w)) * b;
    float8 s8 = p.lo + p.hi;
    float4 s4 = s8.lo + s8.hi;
    return ((s4.s0 + s4.s1) + (s4.s2 + s4.s3)) * vload_half(i / 32, d);
}
#elif defined(WT_Q4K) || defined(WT_Q6K)
/* defined in kquant.cl, which precedes this file in the program */
#else
#error "build with -DWT_F32, -DWT_F16, -DWT_Q8, -DWT_Q4K or -DWT_Q6K"
#endif

/* For the batch kernel: the widened weight vector (wwiden), its side data
 * (wside_get: q8_0's scale; q4_K/q6_K in kquant.cl) loaded with it
 * (wvload), and vdot_acc = acc + w . x as an fma chain in column order. */
#define FMA4(a, b, acc) fma((a).s3, (b).s3, fma((a).s2, (b).s2, fma((a).s1, (b).s1, fma((a).s0, (b).s0, (acc)))))
#if defined(WT_F32)
typedef float wside;
inline vtype wwiden(wraw a) { return a; }
inline wside wside_get(__global const half *d, size_t i) { return 0.0f; }
inline float vdot_acc(vtype a, wside s, vtype b, float acc) { return FMA4(a, b, acc); }
#elif defined(WT_F16)
typedef float wside;
inline vtype wwiden(wraw u) { return widen8(u); }
inline wside wside_get(__global const half *d, size_t i) { return 0.0f; }
inline float vdot_acc(vtype a, wside s, vtype b, float acc) { return FMA4(a.hi, b.hi, FMA4(a.lo, b.lo, acc)); }
#elif defined(WT_Q8)
typedef float wside;
inline vtype wwiden(wraw q)
{
    uint4 u = as_uint4(q);
    return (float16)(widen4(u.x), widen4(u.y), widen4(u.z), widen4(u.w));
}
inline wside wside_get(__global const half *d, size_t i) { return vload_half(i / 32, d); }
/* The 16 products summed by an fma chain (exact integers times x), then
 * scaled once: acc + d * (q . x). */
inline float vdot_acc(vtype a, wside s, vtype b, float acc)
{
    float t = FMA4(a.hi.hi, b.hi.hi, FMA4(a.hi.lo, b.hi.lo, FMA4(a.lo.hi, b.lo.hi, FMA4(a.lo.lo, b.lo.lo, 0.0f))));
    return fma(t, s, acc);
}
#endif
typedef struct wvec {
    wraw q;
    wside s;
} wvec;
inline wvec wvload(__global const wtype *w, __global const half *d, size_t i)
{
    wvec v = {wload(w, i), wside_get(d, i)};
    return v;
}

inline float wdot(__global const wtype *w, __global const half *d, size_t i, vtype b)
{
    return wdotr(wload(w, i), d, i, b);
}

/* VEC floats of x at column c. x rows start at multiples of cols floats and
 * c is a multiple of VEC, so the vector-typed load is aligned: one wide load
 * where an element-aligned vloadn may be split into scalars (on the H100
 * that made q8_0 decode 1.75 times slower). */
inline vtype xvec(__global const float *x, int c) { return *(__global const vtype *)(x + c); }

#if defined(WT_Q8) || defined(WT_Q6K)
#define RG_UNROLL 2   /* 16 floats of x per load: more would cost occupancy */
#else
#define RG_UNROLL 4
#endif   /* independent vector loads per lane per pass: bytes in flight */

/* Sums a[RG_UNROLL] pairwise. */
inline float sum_unrolled(float *a)
{
#pragma unroll
    for (int s = RG_UNROLL / 2; s > 0; s /= 2)
#pragma unroll
        for (int i = 0; i < s; i++)
            a[i] += a[i + s];
    return a[0];
}

/* Partial dot product of row `base` with x: this lane's share of the columns
 * (lanes work-items interleave; vectors when the row allows them). */
inline float row_dot(__global const wtype *w, __global const half *d, size_t base, int cols,
                     __global const float *x, int lane, int lanes)
{
    if (cols % VEC == 0) {
        int step = lanes * VEC, c = lane * VEC;
        float a[RG_UNROLL];
#pragma unroll
        for (int u = 0; u < RG_UNROLL; u++)
            a[u] = 0.0f;
        /* All of a pass's loads are issued before any is used; the last
         * pass is partial (predicated) rather than a scalar tail loop. */
        for (; c < cols; c += RG_UNROLL * step) {
            wraw v[RG_UNROLL];
#pragma unroll
            for (int u = 0; u < RG_UNROLL; u++)
                if (c + u * step < cols)
                    v[u] = wload(w, base + c + u * step);
#pragma unroll
            for (int u = 0; u < RG_UNROLL; u++)
                if (c + u * step < cols)
                    a[u] += wdotr(v[u], d, base + c + u * step, xvec(x, c + u * step));
        }
        return sum_unrolled(a);
    }
    float acc = 0.0f;
    for (int c = lane; c < cols; c += lanes)
        acc += wget(w, d, base + c) * x[c];
    return acc;
}

inline void store(__global float *o, float v, int add) { *o = add ? *o + v : v; }

/* llama2.c's SwiGLU: silu(g) * u, in the same operation order. */
inline float swiglu(float g, float u)
{
    g *= (1.0f / (1.0f + exp(-g)));
    return g * u;
}

/* Bound (H100, llama3-8B, 2026-12-07): f16 1.0 to 1.27x a plain read of
 * the same bytes (a step at 68 % of 3.35 TB/s); q8_0 1.44 to 1.99x, inside
 * the SM (16 widenings and products per 16 bytes, 4 bytes of x per weight
 * byte), a step at 42 %.
 *
 * Decode variant "cl_rowgroup": RG_ROWS rows per work-group, RG_LANES
 * work-items per row reading adjacent vectors (coalesced), then a tree
 * reduction in local memory. The q/k/v kernel stages x in local memory,
 * RMS-normalised there, once per work-group. */
#define RG_WG (RG_LANES * RG_ROWS)

#if defined(NV_PTX) && RG_LANES == 32
/* A row's lanes are one warp: shuffles, no local memory or barriers (the
 * same order as the tree below, so the same bits). */
#define RG_WARP 1
inline float rg_reduce(__local float *red, float v, int lane) { return warp_sum(v); }
#else
inline float rg_reduce(__local float *red, float v, int lane)
{
    red[lane] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = RG_LANES / 2; s > 0; s >>= 1) {
        if (lane < s)
            red[lane] += red[lane + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float r = red[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return r;
}
#endif

/* Where float i of the staged x lives. A lane reads VEC / 4 adjacent
 * 16-byte segments (2 in f16, 4 in q8_0), so of the 8 lanes a 16-byte load
 * serves at once, those 8 segments apart share banks: a 2-way (f16) or
 * 4-way (q8_0) conflict on every load. In q8_0 segment s is stored at
 * s ^ ((s >> 3) & 3), which puts those 8 lanes on 8 different bank
 * groups. The values and the arithmetic are the same, so the results are.
 * f16 keeps its 2-way conflict (the swizzle measured slower there); f32
 * has none. */
#if defined(WT_Q8) || defined(WT_Q6K)
inline int xs_idx(int i)
{
    int s = i >> 2;
    return ((s ^ ((s >> 3) & 3)) << 2) | (i & 3);
}
#else
inline int xs_idx(int i) { return i; }
#endif

/* The staged x (see XS_DECLARE's comment below) and how it is passed. */
inline float4 xs4(__local const float *xs, int c) { return *(__local const float4 *)(xs + xs_idx(c)); }
#if VEC == 4
inline vtype xsvec(__local const float *xs, int c) { return xs4(xs, c); }
#elif VEC == 8
inline vtype xsvec(__local const float *xs, int c) { return (float8)(xs4(xs, c), xs4(xs, c + 4)); }
#else
inline vtype xsvec(__local const float *xs, int c)
{
    return (float16)(xs4(xs, c), xs4(xs, c + 4), xs4(xs, c + 8), xs4(xs, c + 12));
}
#endif
#define XS_DECLARE __local float16 xs_buf[XS_MAX / 16]; __local float *xs = (__local float *)xs_buf
#define XS_OUT __local float *xs
#define XS_IN __local const float *xs
#define XS_ARGS xs
#define XS_DOT(v, i, c) wdotr(v, d, i, xsvec(xs, c))

/* xs = nw * (ss * x) with ss = 1 / rms(x) (the CPU reference's
 * expression); red holds RG_WG floats. */
inline void rg_stage_x(XS_OUT, __local float *red, __global const float *x,
                       __global const float *nw, int cols, float eps)
{
    int lid = get_local_id(1) * RG_LANES + get_local_id(0);
    float ss = 0.0f;
    for (int i = lid; i < cols; i += RG_WG) {
        float v = x[i];
        xs[xs_idx(i)] = v;
        ss += v * v;
    }
    red[lid] = ss;
    barrier(CLK_LOCAL_MEM_FENCE);
#if defined(RG_WARP) && RG_WG == 128
    /* Every warp folds the four warps' sums as the tree's steps 64 and 32
     * would, then its own 32 by shuffles: the tree's order, one barrier. */
    {
        int l = lid % 32;
        ss = warp_sum((red[l] + red[l + 64]) + (red[l + 32] + red[l + 96]));
    }
#else
    for (int s = RG_WG / 2; s > 0; s >>= 1) {
        if (lid < s)
            red[lid] += red[lid + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    ss = red[0];
#endif
    ss /= cols;
    ss += eps;
    ss = 1.0f / sqrt(ss);
    for (int i = lid; i < cols; i += RG_WG) {
        int at = xs_idx(i);
        xs[at] = nw[i] * (ss * xs[at]);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
}

/* The first pass of this lane's weight loads, issued before x is staged
 * so the memory latency overlaps the staging and its barriers. */
typedef struct rg_pre {
    bool on;
    wraw v[RG_UNROLL];
} rg_pre;

inline rg_pre rg_prefetch(__global const wtype *w, size_t base, int cols, int lane, bool row_ok)
{
    rg_pre p;
    int step = RG_LANES * VEC, c = lane * VEC;
    p.on = row_ok && cols % VEC == 0;
    if (p.on)
#pragma unroll
        for (int u = 0; u < RG_UNROLL; u++)
            if (c + u * step < cols)
                p.v[u] = wload(w, base + c + u * step);
    return p;
}

/* The staged x: a static local array of float16, so vector-typed loads
 * are aligned (16-byte loads from a dynamic local buffer faulted on the
 * H100, and element-aligned vloadn became scalar loads, lane i reading
 * word VEC * i: a VEC-way bank conflict, which made staged f16 and q8_0
 * matvecs as slow as f32). Rows longer than XS_MAX are not staged. */

/* This lane's share of row `base` . xs. */
inline float rg_row_dot(__global const wtype *w, __global const half *d, size_t base, int cols,
                        XS_IN, int lane, rg_pre pre)
{
    if (cols % VEC == 0) {
        int step = RG_LANES * VEC, c = lane * VEC;
        float a[RG_UNROLL];
#pragma unroll
        for (int u = 0; u < RG_UNROLL; u++)
            a[u] = 0.0f;
        for (bool first = pre.on; c < cols; c += RG_UNROLL * step, first = false) {
            wraw v[RG_UNROLL];
#pragma unroll
            for (int u = 0; u < RG_UNROLL; u++)
                if (c + u * step < cols)
                    v[u] = first ? pre.v[u] : wload(w, base + c + u * step);
#pragma unroll
            for (int u = 0; u < RG_UNROLL; u++)
                if (c + u * step < cols)
                    a[u] += XS_DOT(v[u], base + c + u * step, c + u * step);
        }
        return sum_unrolled(a);
    }
    float acc = 0.0f;
    for (int c = lane; c < cols; c += RG_LANES)
        acc += wget(w, d, base + c) * xs[xs_idx(c)];
    return acc;
}

/* A row part's sum over its lanes, the split parts added in order (warp
 * wi holds part k), and the row's value stored by its first warp. The
 * barriers are uniform over the work-group; part[] is free again after. */
inline void rg_finish(__local float *red, __local float *part, float v, int lane, int wi, int k, int split,
                      bool row_ok, __global float *o, int add)
{
    v = rg_reduce(red, v, lane);
    if (split > 1) {
        if (lane == 0)
            part[wi] = v;
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int j = 1; j < split; j++)
            v += part[wi + j];
    }
    if (lane == 0 && k == 0 && row_ok)
        store(o, v, add);
    if (split > 1)
        barrier(CLK_LOCAL_MEM_FENCE);
}

/* Without a norm to apply, x is read straight from global memory (it
 * stays in L1): staging it would only add barriers. `split` (1, 2 or 4,
 * dividing RG_ROWS) warps share a row, interleaving warp-wide chunks of
 * its columns, so long rows take fewer dependent load passes; the work-group
 * then covers RG_ROWS / split rows and adds the split partial sums in order. */
__kernel __attribute__((reqd_work_group_size(RG_LANES, RG_ROWS, 1)))
void matvec_rowgroup(__global const wtype *w, __global const half *d, __global const float *x,
                     __global float *out, int rows, int cols, int n, int out_stride, int add, int split)
{
    __local float red[RG_ROWS][RG_LANES];
    __local float part[RG_ROWS];
    /* Warp wi holds part k of row r; with split 1, k = 0 and r = lr. */
    int lane = get_local_id(0), wi = get_local_id(1), k = wi % split;
    int r = get_group_id(0) * (RG_ROWS / split) + wi / split;
    for (int t = 0; t < n; t++) {
        __global const float *xt = x + (size_t)t * cols;
        /* split 1 passes constant lanes, so row_dot compiles as in the unsplit kernel */
        float acc = r >= rows ? 0.0f
                  : split == 1 ? row_dot(w, d, (size_t)r * cols, cols, xt, lane, RG_LANES)
                               : row_dot(w, d, (size_t)r * cols, cols, xt, k * RG_LANES + lane, RG_LANES * split);
        rg_finish(red[wi], part, acc, lane, wi, k, split, r < rows, out + (size_t)t * out_stride + r, add);
    }
}

#define RG_MAXN 8   /* most tokens a decode launch takes (MATVEC_MAX_N in opencl.c) */

/* Sums each of the m values of v over a row's lanes, adds the split parts
 * in order (warp wi holds part k; part[] holds RG_ROWS x m floats; only
 * part 0 reads them), and returns with lane 0 of part 0 holding the totals. The barriers are
 * uniform over the work-group. */
inline void rg_finish_n(__local float *red, __local float *part, float *v, int m, int lane, int wi, int k, int split)
{
    for (int i = 0; i < m; i++)
        v[i] = rg_reduce(red, v[i], lane);
    if (split > 1) {
        if (lane == 0)
            for (int i = 0; i < m; i++)
                part[wi * m + i] = v[i];
        barrier(CLK_LOCAL_MEM_FENCE);
        if (k == 0)
            for (int j = 1; j < split; j++)
                for (int i = 0; i < m; i++)
                    v[i] += part[(wi + j) * m + i];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
}

/* 16-byte weight vectors in flight per lane and row in the batch kernel:
 * RG_UNROLL / RG_RB passes (at least 1) of its RG_RB rows. */
#define RG_PB (RG_RB >= RG_UNROLL ? 1 : RG_UNROLL / RG_RB)

/* Bound (H100, llama3-8B, 2026-12-07): 2.2 to 6.9 times a plain read of
 * the weights at 8 tokens. Each weight byte brings 8 (f16) or 16 (q8_0)
 * bytes of x through L1, from L2 where the tokens' x rows do not fit (w2):
 * more rows per warp cut that traffic; 2 made a step 0.70x (f16) and
 * 0.63x (q8_0) of 1 row's.
 *
 * matvec_rowgroup for 2 to RG_MAXN tokens (batched decode): each warp
 * takes RG_RB rows; every weight vector is loaded and widened once and
 * applied to each token's x (read from global memory, L1-cached), so a
 * batch reads the weights once, and each x vector serves RG_RB rows.
 * Each token's sums are vdot_acc in column order, as in the single-token
 * kernels, so its bits are theirs. */
__kernel __attribute__((reqd_work_group_size(RG_LANES, RG_ROWS, 1)))
void matvec_rowgroup_batch(__global const wtype *w, __global const half *d, __global const float *x,
                           __global float *out, int rows, int cols, int n, int out_stride, int add, int split)
{
    __local float red[RG_ROWS][RG_LANES];
    __local float part[RG_ROWS * RG_RB * RG_MAXN];
    int lane = get_local_id(0), wi = get_local_id(1), k = wi % split;
    int r0 = (get_group_id(0) * (RG_ROWS / split) + wi / split) * RG_RB;
    int li = k * RG_LANES + lane, lanes = RG_LANES * split;
    float acc[RG_RB * RG_MAXN];
#pragma unroll
    for (int i = 0; i < RG_RB * RG_MAXN; i++)
        acc[i] = 0.0f;
    if (cols % VEC) {
        for (int r = 0; r < RG_RB; r++)
            for (int t = 0; t < n; t++)
                if (r0 + r < rows)
                    for (int c = li; c < cols; c += lanes)
                        acc[r * RG_MAXN + t] = fma(wget(w, d, (size_t)(r0 + r) * cols + c), x[(size_t)t * cols + c],
                                                   acc[r * RG_MAXN + t]);
    } else {
        int step = lanes * VEC;
        wvec v[RG_PB][RG_RB];
#pragma unroll
        for (int u = 0; u < RG_PB; u++)
#pragma unroll
            for (int r = 0; r < RG_RB; r++)
                if (li * VEC + u * step < cols && r0 + r < rows)
                    v[u][r] = wvload(w, d, (size_t)(r0 + r) * cols + li * VEC + u * step);
        for (int c = li * VEC; c < cols; c += RG_PB * step) {
            if (c != li * VEC)
#pragma unroll
                for (int u = 0; u < RG_PB; u++)
#pragma unroll
                    for (int r = 0; r < RG_RB; r++)
                        if (c + u * step < cols && r0 + r < rows)
                            v[u][r] = wvload(w, d, (size_t)(r0 + r) * cols + c + u * step);
#pragma unroll
            for (int u = 0; u < RG_PB; u++)
                if (c + u * step < cols) {
                    vtype wf[RG_RB];
#pragma unroll
                    for (int r = 0; r < RG_RB; r++)
                        wf[r] = wwiden(v[u][r].q);
#pragma unroll
                    for (int t = 0; t < RG_MAXN; t++)
                        if (t < n) {
                            vtype xv = xvec(x + (size_t)t * cols, c + u * step);
#pragma unroll
                            for (int r = 0; r < RG_RB; r++)
                                if (r0 + r < rows)
                                    acc[r * RG_MAXN + t] = vdot_acc(wf[r], v[u][r].s, xv, acc[r * RG_MAXN + t]);
                        }
                }
        }
    }
    rg_finish_n(red[wi], part, acc, RG_RB * RG_MAXN, lane, wi, k, split);
    if (lane == 0 && k == 0)
#pragma unroll
        for (int r = 0; r < RG_RB; r++)
#pragma unroll
            for (int t = 0; t < RG_MAXN; t++)
                if (t < n && r0 + r < rows)
                    store(out + (size_t)t * out_stride + r0 + r, acc[r * RG_MAXN + t], add);
}

/* RoPE on a pair, without fma contraction (as the CPU reference computes it). */
#pragma OPENCL FP_CONTRACT OFF
inline float2 rope_pair(float v0, float v1, float2 c)
{
    return (float2)(v0 * c.x - v1 * c.y, v0 * c.y + v1 * c.x);
}
#pragma OPENCL FP_CONTRACT ON

/* The attention input projection [q | k | v] = Wqkv rmsnorm(x), with RoPE
 * (cos/sin table as in ops.cl) and the key/value cache store fused in:
 * RG_ROWS is even, so both rows of a rotated pair are in one work-group. */
__kernel __attribute__((reqd_work_group_size(RG_LANES, RG_ROWS, 1)))
void matvec_rowgroup_qkv(__global const wtype *w, __global const half *d, __global const float *x,
                         __global float *qkv, int rows, int cols, int n,
                         __global const float *nw, float eps, __global const float2 *cs,
                         __global float *kcache, __global float *vcache,
                         __global const int *tok_seq, __global const int *tok_pos,
                         int layer, int n_layers, int kv_dim, int head_dim, int seq_len)
{
    __local float red[RG_WG];
    XS_DECLARE;
    __local float res[RG_ROWS];
    int lane = get_local_id(0), lr = get_local_id(1);
    int r = get_group_id(0) * RG_ROWS + lr, dim = cols;
    for (int t = 0; t < n; t++) {
        rg_pre pre = rg_prefetch(w, (size_t)r * cols, cols, lane, r < rows);
        rg_stage_x(XS_ARGS, red, x + (size_t)t * cols, nw, cols, eps);
        float acc = r < rows ? rg_row_dot(w, d, (size_t)r * cols, cols, XS_ARGS, lane, pre) : 0.0f;
        acc = rg_reduce(red + lr * RG_LANES, acc, lane);
        if (lane == 0)
            res[lr] = acc;
        barrier(CLK_LOCAL_MEM_FENCE);
        if (lane == 0 && lr % 2 == 0 && r < rows) {
            int pos = tok_pos[t];
            float v0 = res[lr], v1 = res[lr + 1];
            int i = r < dim ? r : r < dim + kv_dim ? r - dim : r - dim - kv_dim;
            float2 c = cs[(size_t)pos * (head_dim / 2) + (i % head_dim) / 2];
            size_t at = (((size_t)tok_seq[t] * n_layers + layer) * seq_len + pos) * kv_dim + i;
            __global float *q = qkv + (size_t)t * rows + r;
            if (r < dim) {
                float2 o = rope_pair(v0, v1, c);
                q[0] = o.x;
                q[1] = o.y;
            } else if (r < dim + kv_dim) {
                float2 o = rope_pair(v0, v1, c);
                kcache[at] = o.x;
                kcache[at + 1] = o.y;
            } else {
                vcache[at] = v0;
                vcache[at + 1] = v1;
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
}

/* The gate and up projections together, writing silu(W1 x') * (W3 x')
 * with x' = rmsnorm(x) * nw staged in local memory (one launch fewer per
 * layer than a separate rmsnorm kernel, whose launch cost more than its work). */
__kernel __attribute__((reqd_work_group_size(RG_LANES, RG_ROWS, 1)))
void matvec_rowgroup_swiglu(__global const wtype *w1, __global const half *d1,
                            __global const wtype *w3, __global const half *d3,
                            __global const float *x, __global float *out, int rows, int cols, int n,
                            __global const float *nw, float eps)
{
    __local float red[RG_WG];
    XS_DECLARE;
    int lane = get_local_id(0), lr = get_local_id(1);
    int r = get_group_id(0) * RG_ROWS + lr;
    size_t base = (size_t)r * cols;
    for (int t = 0; t < n; t++) {
        rg_pre p1 = rg_prefetch(w1, base, cols, lane, r < rows);
        rg_pre p3 = rg_prefetch(w3, base, cols, lane, r < rows);
        rg_stage_x(XS_ARGS, red, x + (size_t)t * cols, nw, cols, eps);
        float g = r < rows ? rg_row_dot(w1, d1, base, cols, XS_ARGS, lane, p1) : 0.0f;
        float u = r < rows ? rg_row_dot(w3, d3, base, cols, XS_ARGS, lane, p3) : 0.0f;
        g = rg_reduce(red + lr * RG_LANES, g, lane);
        u = rg_reduce(red + lr * RG_LANES, u, lane);
        if (lane == 0 && r < rows)
            out[(size_t)t * rows + r] = swiglu(g, u);
    }
}

/* out[t * out_stride + r] = W[r] . rmsnorm(x[idx[t]]) * nw: the final norm
 * and the classifier in one launch. */
__kernel __attribute__((reqd_work_group_size(RG_LANES, RG_ROWS, 1)))
void matvec_rowgroup_norm(__global const wtype *w, __global const half *d, __global const float *x,
                          __global float *out, int rows, int cols, int n, int out_stride,
                          __global const float *nw, float eps, __global const int *idx)
{
    __local float red[RG_WG];
    XS_DECLARE;
    int lane = get_local_id(0), lr = get_local_id(1);
    int r = get_group_id(0) * RG_ROWS + lr;
    size_t base = (size_t)r * cols;
    for (int t = 0; t < n; t++) {
        rg_pre pre = rg_prefetch(w, base, cols, lane, r < rows);
        rg_stage_x(XS_ARGS, red, x + (size_t)idx[t] * cols, nw, cols, eps);
        float acc = r < rows ? rg_row_dot(w, d, base, cols, XS_ARGS, lane, pre) : 0.0f;
        acc = rg_reduce(red + lr * RG_LANES, acc, lane);
        if (lane == 0 && r < rows)
            out[(size_t)t * out_stride + r] = acc;
    }
}

/* Decode variant "cl_rowitem": one work-item per row, walking it with wide
 * vector loads; no reduction, but neighbouring work-items read far apart. */
__kernel void matvec_rowitem(__global const wtype *w, __global const half *d, __global const float *x,
                             __global float *out, int rows, int cols, int n, int out_stride, int add)
{
    int r = get_global_id(0);
    if (r >= rows)
        return;
    for (int t = 0; t < n; t++)
        store(out + (size_t)t * out_stride + r, row_dot(w, d, (size_t)r * cols, cols, x + (size_t)t * cols, 0, 1), add);
}

__kernel void matvec_rowitem_swiglu(__global const wtype *w1, __global const half *d1,
                                    __global const wtype *w3, __global const half *d3,
                                    __global const float *x, __global float *out, int rows, int cols, int n)
{
    int r = get_global_id(0);
    if (r >= rows)
        return;
    for (int t = 0; t < n; t++) {
        __global const float *xt = x + (size_t)t * cols;
        float g = row_dot(w1, d1, (size_t)r * cols, cols, xt, 0, 1);
        float u = row_dot(w3, d3, (size_t)r * cols, cols, xt, 0, 1);
        out[(size_t)t * rows + r] = swiglu(g, u);
    }
}

/* Prefill variant "cl_tiled": 64 rows x 64 tokens per work-group of 16x16,
 * each work-item 4x4 outputs; weights are widened to f32 into local memory. */
#define TS 64
#define TK 16
__kernel __attribute__((reqd_work_group_size(16, 16, 1)))
void matmul_tiled(__global const wtype *w, __global const half *d, __global const float *x,
                  __global float *out, int rows, int cols, int n, int out_stride, int add)
{
    __local float ws[TK][TS + 1], xs[TK][TS + 1];
    int tx = get_local_id(0), ty = get_local_id(1), l = ty * 16 + tx;
    int r0 = get_group_id(0) * TS, t0 = get_group_id(1) * TS;
    float acc[4][4];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            acc[i][j] = 0.0f;
    for (int k0 = 0; k0 < cols; k0 += TK) {
        for (int i = 0; i < 4; i++) {
            int e = l + 256 * i, rr = e / TK, kk = e % TK, k = k0 + kk;
            int r = r0 + rr, t = t0 + rr;
            ws[kk][rr] = (r < rows && k < cols) ? wget(w, d, (size_t)r * cols + k) : 0.0f;
            xs[kk][rr] = (t < n && k < cols) ? x[(size_t)t * cols + k] : 0.0f;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int kk = 0; kk < TK; kk++) {
            float a[4], b[4];
            for (int i = 0; i < 4; i++) {
                a[i] = ws[kk][tx + 16 * i];
                b[i] = xs[kk][ty + 16 * i];
            }
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 4; j++)
                    acc[i][j] += a[i] * b[j];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) {
            int r = r0 + tx + 16 * i, t = t0 + ty + 16 * j;
            if (r < rows && t < n)
                store(out + (size_t)t * out_stride + r, acc[i][j], add);
        }
}

/* x[t] = embedding row tok[t], widened to f32. Global size (dim, n). */
__kernel void embed(__global const wtype *w, __global const half *d, __global const int *tok,
                    __global float *x, int dim)
{
    int i = get_global_id(0), t = get_global_id(1);
    if (i < dim)
        x[(size_t)t * dim + i] = wget(w, d, (size_t)tok[t] * dim + i);
}
