/* Element-wise and per-token kernels of the forward pass. Operation order
 * follows llama2.c's run.c so results stay close to the CPU reference;
 * contraction into fma is off for the same reason. */
#pragma OPENCL FP_CONTRACT OFF

/* Tree reductions over a work-group of WG work-items (a power of two). */
inline float wg_sum(__local float *red, float v, int lid, int wg)
{
    red[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = wg / 2; s > 0; s >>= 1) {
        if (lid < s)
            red[lid] += red[lid + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float r = red[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return r;
}

inline float wg_max(__local float *red, float v, int lid, int wg)
{
    red[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = wg / 2; s > 0; s >>= 1) {
        if (lid < s)
            red[lid] = fmax(red[lid], red[lid + s]);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float r = red[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return r;
}

/* out[k] = rmsnorm(x[idx[k]]) * weight, one work-group per output row;
 * idx NULL-equivalent (use_idx 0) means row k itself. */
__kernel __attribute__((reqd_work_group_size(NORM_WG, 1, 1)))
void rmsnorm(__global const float *x, __global const float *weight, __global float *out,
             __global const int *idx, int use_idx, int dim, float eps)
{
    __local float red[NORM_WG];
    int k = get_group_id(0), lid = get_local_id(0);
    __global const float *xr = x + (size_t)(use_idx ? idx[k] : k) * dim;
    float ss = 0.0f;
    for (int i = lid; i < dim; i += NORM_WG)
        ss += xr[i] * xr[i];
    ss = wg_sum(red, ss, lid, NORM_WG);
    ss /= dim;
    ss += eps;
    ss = 1.0f / sqrt(ss);
    for (int i = lid; i < dim; i += NORM_WG)
        out[(size_t)k * dim + i] = weight[i] * (ss * xr[i]);
}

/* What happens to the q/k/v projection before attention, per head and
 * token, as named steps: the projection bias (qwen2), a per-head RMSNorm
 * of q and k (qwen3), RoPE, then k and v go to the cache of the token's
 * sequence (q stays in qkv, rotated). qkv rows are [q | k | v], head after
 * head, so head slot h (q heads, then k heads, then v heads) starts at
 * h * head_dim. A NULL bias or norm weight skips that step. One work-group
 * of HEAD_WG per head slot and token; work-item j takes the rotation pairs
 * j, j + HEAD_WG, ... */

/* Element i of the head, with its bias. */
inline float biased(__global const float *x, __global const float *bias, int i)
{
    return bias ? x[i] + bias[i] : x[i];
}

/* 1 / rms of the (biased) head, as the rmsnorm kernel computes it. */
inline float head_inv_rms(__local float *red, __global const float *x, __global const float *bias, int head_dim,
                          float eps, int lid)
{
    float ss = 0.0f;
    for (int i = lid; i < head_dim; i += HEAD_WG) {
        float v = biased(x, bias, i);
        ss += v * v;
    }
    ss = wg_sum(red, ss, lid, HEAD_WG);   /* its barriers: every read before any write */
    ss /= head_dim;
    ss += eps;
    return 1.0f / sqrt(ss);
}

/* The j-th rotation pair of a head: adjacent elements (llama), or j and
 * j + head_dim / 2 (neox: qwen2, qwen3). */
inline int2 rope_pair_index(int j, int head_dim, int neox)
{
    return neox ? (int2)(j, j + head_dim / 2) : (int2)(2 * j, 2 * j + 1);
}

__kernel __attribute__((reqd_work_group_size(HEAD_WG, 1, 1)))
void qkv_bias_norm_rope_store(__global float *qkv, __global const float *bias, __global const float *q_norm,
                              __global const float *k_norm, float eps, __global const float2 *cs, int neox,
                              __global float *kcache, __global float *vcache,
                              __global const int *tok_seq, __global const int *tok_pos,
                              int layer, int n_layers, int n_heads, int n_kv_heads, int head_dim, int seq_len)
{
    __local float red[HEAD_WG];
    int h = get_group_id(0), t = get_group_id(1), lid = get_local_id(0), n_pairs = head_dim / 2;
    int kv_dim = n_kv_heads * head_dim, pos = tok_pos[t];
    bool is_q = h < n_heads, is_k = !is_q && h < n_heads + n_kv_heads;
    __global float *x = qkv + (size_t)t * (n_heads * head_dim + 2 * kv_dim) + (size_t)h * head_dim;
    __global const float *b = bias ? bias + (size_t)h * head_dim : bias;
    __global const float *nw = is_q ? q_norm : is_k ? k_norm : 0;
    float inv_rms = nw ? head_inv_rms(red, x, b, head_dim, eps, lid) : 1.0f;
    int kvh = h - n_heads - (is_q || is_k ? 0 : n_kv_heads);
    size_t at = (((size_t)tok_seq[t] * n_layers + layer) * seq_len + pos) * kv_dim + (size_t)kvh * head_dim;
    __global float *dst = is_q ? x : (is_k ? kcache : vcache) + at;
    for (int j = lid; j < n_pairs; j += HEAD_WG) {
        int2 i = rope_pair_index(j, head_dim, neox);
        float v0 = biased(x, b, i.x), v1 = biased(x, b, i.y);
        if (nw) {
            v0 = nw[i.x] * (inv_rms * v0);
            v1 = nw[i.y] * (inv_rms * v1);
        }
        if (is_q || is_k) {
            float2 c = cs[(size_t)pos * n_pairs + j];
            float r0 = v0 * c.x - v1 * c.y, r1 = v0 * c.y + v1 * c.x;
            v0 = r0, v1 = r1;
        }
        dst[i.x] = v0;
        dst[i.y] = v1;
    }
}

/* Causal attention, one work-group per (head, token): scores for positions
 * 0..pos in `att` (scratch, seq_len floats per head and token), softmax with
 * the max subtracted, then the weighted sum of values, the positions split
 * among ATT_WG / head_dim groups of work-items. out rows are dim wide.
 * head_dim <= ATT_WG (checked by the host). */
__kernel __attribute__((reqd_work_group_size(ATT_WG, 1, 1)))
void attention(__global const float *qkv, __global const float *kcache, __global const float *vcache,
               __global float *att, __global float *out,
               __global const int *tok_seq, __global const int *tok_pos,
               int layer, int n_layers, int n_heads, int n_kv_heads, int head_dim, int seq_len)
{
    __local float red[ATT_WG], qs[ATT_WG];
    int h = get_group_id(0), t = get_group_id(1), lid = get_local_id(0);
    int dim = n_heads * head_dim, kv_dim = n_kv_heads * head_dim;
    int pos = tok_pos[t], kvh = h / (n_heads / n_kv_heads);
    __global const float *q = qkv + (size_t)t * (dim + 2 * kv_dim) + h * head_dim;
    size_t c0 = ((size_t)tok_seq[t] * n_layers + layer) * seq_len * kv_dim + kvh * head_dim;
    __global float *a = att + ((size_t)t * n_heads + h) * seq_len;
    if (lid < head_dim)
        qs[lid] = q[lid];
    barrier(CLK_LOCAL_MEM_FENCE);
    float scale = sqrt((float)head_dim), m = -INFINITY;
    for (int p = lid; p <= pos; p += ATT_WG) {
        __global const float *k = kcache + c0 + (size_t)p * kv_dim;
        float s = 0.0f;
        if (head_dim % 4 == 0) {
            for (int i = 0; i < head_dim; i += 4) {   /* wide loads, index-order sum */
                float4 kv = vload4(0, k + i);
                s += qs[i] * kv.x;
                s += qs[i + 1] * kv.y;
                s += qs[i + 2] * kv.z;
                s += qs[i + 3] * kv.w;
            }
        } else {
            for (int i = 0; i < head_dim; i++)
                s += qs[i] * k[i];
        }
        s /= scale;
        a[p] = s;
        m = fmax(m, s);
    }
    m = wg_max(red, m, lid, ATT_WG);
    float sum = 0.0f;
    for (int p = lid; p <= pos; p += ATT_WG) {
        float e = exp(a[p] - m);
        a[p] = e;
        sum += e;
    }
    sum = wg_sum(red, sum, lid, ATT_WG);
    for (int p = lid; p <= pos; p += ATT_WG)
        a[p] /= sum;
    barrier(CLK_GLOBAL_MEM_FENCE);  /* every weight visible to the whole group */
    int groups = ATT_WG / head_dim, g = lid / head_dim, i = lid % head_dim;
    float acc = 0.0f;
    if (g < groups) {
        /* Four positions per pass: independent loads hide the latency. */
        __global const float *v = vcache + c0 + i;
        float a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
        int p = g;
        for (; p + 3 * groups <= pos; p += 4 * groups) {
            acc += a[p] * v[(size_t)p * kv_dim];
            a1 += a[p + groups] * v[(size_t)(p + groups) * kv_dim];
            a2 += a[p + 2 * groups] * v[(size_t)(p + 2 * groups) * kv_dim];
            a3 += a[p + 3 * groups] * v[(size_t)(p + 3 * groups) * kv_dim];
        }
        for (; p <= pos; p += groups)
            acc += a[p] * v[(size_t)p * kv_dim];
        acc = (acc + a1) + (a2 + a3);
    }
    red[lid] = acc;
    barrier(CLK_LOCAL_MEM_FENCE);
    if (g == 0) {
        for (int j = 1; j < groups; j++)
            acc += red[j * head_dim + i];
        out[(size_t)t * dim + h * head_dim + i] = acc;
    }
}

/* g[i] = silu(g[i]) * u[i] (prefill; decode fuses it into the matvec). */
__kernel void swiglu(__global float *g, __global const float *u, int len)
{
    int i = get_global_id(0);
    if (i < len) {
        float v = g[i];
        v *= (1.0f / (1.0f + exp(-v)));
        g[i] = v * u[i];
    }
}

/* attention with the scores in local memory (seq_len floats, set by the
 * host when they fit) and the weighted sum split over float4 lanes:
 * head_dim / 4 work-items per position, ATT_WG / (head_dim / 4) positions
 * at a time. Needs head_dim % 4 == 0. */
__kernel __attribute__((reqd_work_group_size(ATT_WG, 1, 1)))
void attention_local(__global const float *qkv, __global const float *kcache, __global const float *vcache,
                     __global float *out, __global const int *tok_seq, __global const int *tok_pos,
                     int layer, int n_layers, int n_heads, int n_kv_heads, int head_dim, int seq_len,
                     __local float *a)
{
    __local float red[ATT_WG], qs[ATT_WG];
    __local float4 part[ATT_WG];
    int h = get_group_id(0), t = get_group_id(1), lid = get_local_id(0);
    int dim = n_heads * head_dim, kv_dim = n_kv_heads * head_dim;
    int pos = tok_pos[t], kvh = h / (n_heads / n_kv_heads);
    __global const float *q = qkv + (size_t)t * (dim + 2 * kv_dim) + h * head_dim;
    size_t c0 = ((size_t)tok_seq[t] * n_layers + layer) * seq_len * kv_dim + kvh * head_dim;
    if (lid < head_dim)
        qs[lid] = q[lid];
    barrier(CLK_LOCAL_MEM_FENCE);
    float scale = sqrt((float)head_dim), m = -INFINITY;
    for (int p = lid; p <= pos; p += ATT_WG) {
        __global const float *k = kcache + c0 + (size_t)p * kv_dim;
        float s = 0.0f;
        int i = 0;
        for (; i + 16 <= head_dim; i += 16) {   /* four loads in flight, index-order sum */
            __global const float4 *k4 = (__global const float4 *)(k + i);   /* 16-byte aligned */
            float4 k0 = k4[0], k1 = k4[1], k2 = k4[2], k3 = k4[3];
            s += qs[i] * k0.x; s += qs[i + 1] * k0.y; s += qs[i + 2] * k0.z; s += qs[i + 3] * k0.w;
            s += qs[i + 4] * k1.x; s += qs[i + 5] * k1.y; s += qs[i + 6] * k1.z; s += qs[i + 7] * k1.w;
            s += qs[i + 8] * k2.x; s += qs[i + 9] * k2.y; s += qs[i + 10] * k2.z; s += qs[i + 11] * k2.w;
            s += qs[i + 12] * k3.x; s += qs[i + 13] * k3.y; s += qs[i + 14] * k3.z; s += qs[i + 15] * k3.w;
        }
        for (; i < head_dim; i++)
            s += qs[i] * k[i];
        s /= scale;
        a[p] = s;
        m = fmax(m, s);
    }
    m = wg_max(red, m, lid, ATT_WG);
    float sum = 0.0f;
    for (int p = lid; p <= pos; p += ATT_WG) {
        float e = exp(a[p] - m);
        a[p] = e;
        sum += e;
    }
    sum = wg_sum(red, sum, lid, ATT_WG);
    for (int p = lid; p <= pos; p += ATT_WG)
        a[p] /= sum;
    barrier(CLK_LOCAL_MEM_FENCE);
    int lanes = head_dim / 4, groups = ATT_WG / lanes, g = lid / lanes, j = lid % lanes;
    float4 acc = (float4)(0.0f);
    if (g < groups) {
        __global const float *v = vcache + c0 + 4 * j;
        float4 acc1 = (float4)(0.0f);
        int p = g;
        for (; p + groups <= pos; p += 2 * groups) {
            acc += a[p] * *(__global const float4 *)(v + (size_t)p * kv_dim);
            acc1 += a[p + groups] * *(__global const float4 *)(v + (size_t)(p + groups) * kv_dim);
        }
        if (p <= pos)
            acc += a[p] * *(__global const float4 *)(v + (size_t)p * kv_dim);
        acc += acc1;
    }
    part[lid] = acc;
    barrier(CLK_LOCAL_MEM_FENCE);
    if (g == 0) {
        for (int k = 1; k < groups; k++)
            acc += part[k * lanes + j];
        vstore4(acc, 0, out + (size_t)t * dim + h * head_dim + 4 * j);
    }
}

/* Flash-decoding: attention of decode tokens split over chunks of
 * ATT_CHUNK positions, a work-group of ATT_SPLIT_WG work-items per (chunk,
 * head, token), so a short context still spreads over many compute units.
 * Each group writes its chunk's max score m, sum of exp(s - m) and the
 * exp-weighted sum of values, and the group that finishes a (head, token)
 * last merges its chunks (an atomic count per head and token, reset by that
 * group): a second kernel would cost more than the merge, a launch's fixed
 * cost being most of a small kernel's time. At these sizes latency bounds
 * the kernel, not bandwidth, so every key, query and value load of a pass is
 * issued before any is used (unrolled, guarded loads). Needs head_dim % 4 ==
 * 0 and head_dim / 4 <= ATT_SPLIT_WG. */
#define SPLIT_K4 16                                   /* float4s of a key per pass */
#define SPLIT_V4 (ATT_CHUNK * 16 / ATT_SPLIT_WG)      /* values per work-item per pass (head_dim 64: one pass) */

/* Values of positions p0 + g, p0 + g + groups, ... (SPLIT_V4 of them), lane j. */
inline void split_load_values(float4 *vr, __global const float4 *v, int kv4, int p0, int np, int g, int groups)
{
#pragma unroll
    for (int r = 0; r < SPLIT_V4; r++) {
        int p = p0 + g + r * groups;
        vr[r] = p < np ? v[(size_t)p * kv4] : (float4)(0.0f);
    }
}

/* Folds a chunk (max score, sum of exp; weighted values) into a running
 * (m, den, acc), rescaling whichever side has the smaller maximum. A side
 * with no chunk yet has m = -inf and weighs 0. */
inline void split_fold(float *m, float *den, float4 *acc, float2 ml, float4 part)
{
    float mn = fmax(*m, ml.x), keep = exp(*m - mn), add = exp(ml.x - mn);
    *den = *den * keep + ml.y * add;
    *acc = *acc * keep + part * add;
    *m = mn;
}

__kernel __attribute__((reqd_work_group_size(ATT_SPLIT_WG, 1, 1)))
void attention_split(__global const float *qkv, __global const float *kcache, __global const float *vcache,
                     __global float4 *part, __global float2 *ml, __global int *count, __global float *out,
                     __global const int *tok_seq, __global const int *tok_pos, int layer, int n_layers,
                     int n_heads, int n_kv_heads, int head_dim, int seq_len, int n_chunks)
{
    __local float a[ATT_CHUNK], red[ATT_SPLIT_WG], dens[ATT_SPLIT_WG];
    __local float4 accs[ATT_SPLIT_WG];
    __local int last;
    int c = get_group_id(0), h = get_group_id(1), t = get_group_id(2), lid = get_local_id(0);
    int pos = tok_pos[t], first = c * ATT_CHUNK;
    if (first > pos)
        return;   /* the whole group: the merge reads chunks 0 .. pos / ATT_CHUNK only */
    int np = min(ATT_CHUNK, pos + 1 - first);
    int dim = n_heads * head_dim, kv_dim = n_kv_heads * head_dim, kv4 = kv_dim / 4, lanes = head_dim / 4;
    int kvh = h / (n_heads / n_kv_heads);
    size_t c0 = (((size_t)tok_seq[t] * n_layers + layer) * seq_len + first) * kv_dim + kvh * head_dim;
    int groups = ATT_SPLIT_WG / lanes, g = lid / lanes, j = lid % lanes;
    __global const float4 *v = (__global const float4 *)(vcache + c0) + j;
    float4 vr[SPLIT_V4];
    if (g < groups)
        split_load_values(vr, v, kv4, 0, np, g, groups);   /* in flight during the scores */
    /* Scores, a work-item per position, summed in index order. */
    float m = -INFINITY;
    if (lid < np) {
        __global const float4 *q4 = (__global const float4 *)(qkv + (size_t)t * (dim + 2 * kv_dim) + h * head_dim);
        __global const float4 *k4 = (__global const float4 *)(kcache + c0 + (size_t)lid * kv_dim);
        float s = 0.0f;
        for (int i0 = 0; i0 < lanes; i0 += SPLIT_K4) {
            float4 qr[SPLIT_K4], kr[SPLIT_K4];
#pragma unroll
            for (int r = 0; r < SPLIT_K4; r++) {
                qr[r] = i0 + r < lanes ? q4[i0 + r] : (float4)(0.0f);
                kr[r] = i0 + r < lanes ? k4[i0 + r] : (float4)(0.0f);
            }
#pragma unroll
            for (int r = 0; r < SPLIT_K4; r++)
                if (i0 + r < lanes) {
                    s += qr[r].x * kr[r].x;
                    s += qr[r].y * kr[r].y;
                    s += qr[r].z * kr[r].z;
                    s += qr[r].w * kr[r].w;
                }
        }
        s /= sqrt((float)head_dim);
        a[lid] = s;
        m = s;
    }
    float e = 0.0f, l = 0.0f;
#if defined(NV_PTX) && ATT_CHUNK == 32
    /* The chunk's scores are one warp's: shuffles (the tree's order), and a
     * single barrier to publish a[]. */
    if (lid < 32) {
        m = warp_max(m);
        if (lid < np) {
            e = exp(a[lid] - m);
            a[lid] = e;
        }
        l = warp_sum(e);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
#else
    m = wg_max(red, m, lid, ATT_CHUNK);
    if (lid < np) {
        e = exp(a[lid] - m);
        a[lid] = e;
    }
    l = wg_sum(red, e, lid, ATT_CHUNK);   /* its barriers also publish a[] */
#endif
    float4 acc = (float4)(0.0f);
    if (g < groups)
        for (int p0 = 0;;) {
#pragma unroll
            for (int r = 0; r < SPLIT_V4; r++) {
                int p = p0 + g + r * groups;
                if (p < np)
                    acc += a[p] * vr[r];
            }
            p0 += SPLIT_V4 * groups;
            if (p0 >= np)
                break;
            split_load_values(vr, v, kv4, p0, np, g, groups);
        }
    accs[lid] = acc;
    barrier(CLK_LOCAL_MEM_FENCE);
    size_t head = (size_t)t * n_heads + h, slot = head * n_chunks + c;
    if (g == 0) {
        for (int k = 1; k < groups; k++)
            acc += accs[k * lanes + j];
        part[slot * lanes + j] = acc;
    }
    if (lid == 0)
        ml[slot] = (float2)(m, l);
    mem_fence(CLK_GLOBAL_MEM_FENCE);   /* the partials reach memory before the count */
    barrier(CLK_LOCAL_MEM_FENCE);
    int nc = pos / ATT_CHUNK + 1;
    if (lid == 0) {
        last = atomic_inc(count + head) == nc - 1;
        if (last)
            count[head] = 0;   /* every chunk has counted: ready for the next launch */
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    if (!last)
        return;
    mem_fence(CLK_GLOBAL_MEM_FENCE);
    /* The merge: out = sum of exp(m_c - M) acc_c / sum of exp(m_c - M) l_c,
     * M the largest m_c, folded chunk by chunk with a running maximum so
     * that no reduction has to come first: work-item (g, j) folds chunks g,
     * g + groups, ...; lane j of group 0 then folds the groups in order (the
     * same order whichever group is last). Volatile loads: other groups'
     * partials, never from a stale cache. */
    volatile __global const float2 *mlv = (volatile __global const float2 *)ml + head * n_chunks;
    volatile __global const float4 *pv = (volatile __global const float4 *)part + head * n_chunks * lanes;
    float mr = -INFINITY, den = 0.0f;
    acc = (float4)(0.0f);
    if (g < groups)
        for (int k = g; k < nc; k += groups)
            split_fold(&mr, &den, &acc, mlv[k], pv[(size_t)k * lanes + j]);
    red[lid] = mr;
    dens[lid] = den;
    accs[lid] = acc;
    barrier(CLK_LOCAL_MEM_FENCE);
    if (g == 0) {
        for (int k = 1; k < groups; k++)
            split_fold(&mr, &den, &acc, (float2)(red[k * lanes + j], dens[k * lanes + j]), accs[k * lanes + j]);
        vstore4(acc / den, 0, out + (size_t)t * n_heads * head_dim + h * head_dim + 4 * j);
    }
}
