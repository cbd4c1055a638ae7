/* Helpers shared by ops.cl and matmul.cl (the host passes this source
 * first). On NVIDIA's platform the host adds -DCLB_NV and these use inline
 * PTX: the driver's OpenCL reports neither cl_khr_fp16 nor
 * cl_khr_subgroups, but its compiler takes PTX (sm_30 and later
 * instructions). Other devices get the portable code. */
#ifdef CLB_NV
#define NV_PTX 1
#endif

#ifdef NV_PTX
/* v of the lane `delta` above this one in its warp (its own beyond lane 31). */
inline float warp_down(float v, int delta)
{
    uint r;
    asm volatile("shfl.sync.down.b32 %0, %1, %2, 0x1f, 0xffffffff;" : "=r"(r) : "r"(as_uint(v)), "r"(delta));
    return as_float(r);
}

inline float warp_lane0(float v)
{
    uint r;
    asm volatile("shfl.sync.idx.b32 %0, %1, 0, 0x1f, 0xffffffff;" : "=r"(r) : "r"(as_uint(v)));
    return as_float(r);
}

/* Sum over the 32 work-items of a warp, in a local-memory tree's order
 * (step s adds lane i + s into lane i, s = 16, 8, ... 1), so lane 0's
 * result has the same bits; every lane gets lane 0's. Needs the whole
 * warp, converged, and 32 consecutive work-items per warp. */
inline float warp_sum(float v)
{
#pragma unroll
    for (int s = 16; s > 0; s >>= 1)
        v += warp_down(v, s);
    return warp_lane0(v);
}

inline float warp_max(float v)
{
#pragma unroll
    for (int s = 16; s > 0; s >>= 1)
        v = fmax(v, warp_down(v, s));
    return warp_lane0(v);
}
#endif
