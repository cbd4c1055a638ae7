/* OpenCL matvec microbenchmark (not a test): the backend's own decode
 * kernels, built by the backend with its options, on the 1B preset's
 * shapes, each against a plain read of the same bytes. Device time per
 * launch back to back: a long single-work-item kernel goes first, so the
 * host has queued every timed launch before the device reaches them, and
 * its own time (measured alone) is subtracted. "DRAM": weights cycle over
 * copies totalling more than 320 MB, so no launch finds them in cache;
 * "cached": the same copy every launch.
 *
 *   bench_engine_opencl DTYPE [DEVICE [PRESET]]   DTYPE f32, f16 or q8_0; PRESET 1B (default) or llama3-8B
 *   bench_engine_opencl f16 NVIDIA llama3-8B
 * docs/PERFORMANCE.md ("Each kernel against a plain read") has figures. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "opencl_internal.h"

#define MAX_COPIES 64

static const char *aux_src =
    "__kernel void spin(__global float *a, int n)\n"
    "{ float v = a[0]; for (int i = 0; i < n; i++) v = v * 1.0000001f + 1e-7f; a[0] = v; }\n"
    "__kernel void plain_read(__global const uint4 *b, int n4, __global uint *sink)\n"
    "{ uint4 s = 0; for (int j = get_global_id(0); j < n4; j += get_global_size(0)) s ^= b[j];\n"
    "  if (s.x == 0x12345678u && s.y == 0x9abcdefu) sink[0] = s.z; }\n";

typedef struct bench {
    cl_context ctx;
    cl_command_queue q;
    cl_kernel spin;
    double spin_s;
    int es, q8;         /* bytes per weight; q8_0 (scales in a second buffer) */
} bench;

typedef struct mat {
    int rows, cols, copies;
    size_t bytes;       /* weights and scales of one copy */
    cl_mem w[MAX_COPIES], d[MAX_COPIES];
} mat;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void die(const char *what, cl_int rc)
{
    fprintf(stderr, "bench_engine_opencl: %s: %s\n", what, clb_strerror(rc));
    exit(1);
}

static cl_mem buffer(bench *b, size_t bytes, const void *init)
{
    cl_int rc;
    cl_mem m = clCreateBuffer(b->ctx, CL_MEM_READ_WRITE, bytes, NULL, &rc);
    if (!m)
        die("allocating a buffer", rc);
    if (init && (rc = clEnqueueWriteBuffer(b->q, m, CL_TRUE, 0, bytes, init, 0, NULL, NULL)) != CL_SUCCESS)
        die("writing a buffer", rc);
    return m;
}

/* Small weights (1e-3 in f32, 2^-13 in f16, 1 with scale 2^-13 in q8_0): the
 * sums stay finite, the time does not depend on them. */
static void mat_make(bench *b, mat *m, int rows, int cols, const void *pattern, const void *scales)
{
    size_t wb = (size_t)rows * cols * b->es, db = b->q8 ? (size_t)rows * cols / 32 * 2 : 0;
    m->rows = rows, m->cols = cols, m->bytes = wb + db;
    m->copies = (int)(320e6 / (double)m->bytes) + 2;
    m->copies = m->copies > MAX_COPIES ? MAX_COPIES : m->copies;
    for (int i = 0; i < m->copies; i++) {
        m->w[i] = buffer(b, wb, pattern);
        m->d[i] = b->q8 ? buffer(b, db, scales) : NULL;
    }
}

static void mat_free(mat *m)
{
    for (int i = 0; i < m->copies; i++) {
        clReleaseMemObject(m->w[i]);
        if (m->d[i])
            clReleaseMemObject(m->d[i]);
    }
}

static void check_args(cl_int rc)
{
    if (rc != CL_SUCCESS)
        die("setting kernel arguments", rc);
}

static void enqueue(bench *b, cl_kernel k, cl_uint dims, const size_t *g, const size_t *l)
{
    cl_int rc = clEnqueueNDRangeKernel(b->q, k, dims, NULL, g, l, 0, NULL, NULL);
    if (rc != CL_SUCCESS)
        die("enqueueing", rc);
}

static void spin_alone(bench *b)
{
    size_t one = 1;
    b->spin_s = 1e9;
    for (int i = 0; i < 4; i++) {
        double t0 = now_s();
        enqueue(b, b->spin, 1, &one, &one);
        clFinish(b->q);
        double t = now_s() - t0;
        b->spin_s = t < b->spin_s ? t : b->spin_s;
    }
}

/* Best of three sets: device seconds per launch of k. Argument 0 (and 1,
 * the scales, when `scales`) takes copy i % copies (cached: copy 0); a
 * second matrix at w2_arg >= 0 (and its scales) takes the next copy. */
static int launches = 200;   /* 60 for the llama3-8B shapes, whose launches are long */

static double time_launches(bench *b, cl_kernel k, mat *m, bool scales, int w2_arg, bool cached, cl_uint dims,
                            const size_t *g, const size_t *l)
{
    double best = 1e9;
    size_t one = 1;
    for (int set = 0; set < 3; set++) {
        double t0 = now_s();
        enqueue(b, b->spin, 1, &one, &one);
        for (int i = 0; i < launches; i++) {
            int c = cached ? 0 : i % m->copies, c2 = cached ? 0 : (i + 1) % m->copies;
            cl_int rc = clSetKernelArg(k, 0, sizeof(cl_mem), &m->w[c]);
            if (scales)
                rc |= clSetKernelArg(k, 1, sizeof(cl_mem), &m->d[c]);
            if (w2_arg >= 0)
                rc |= clSetKernelArg(k, w2_arg, sizeof(cl_mem), &m->w[c2]) |
                      clSetKernelArg(k, w2_arg + 1, sizeof(cl_mem), &m->d[c2]);
            if (rc != CL_SUCCESS)
                die("setting the weight arguments", rc);
            enqueue(b, k, dims, g, l);
        }
        double queued = now_s() - t0;
        clFinish(b->q);
        if (queued > b->spin_s * 0.9)
            fprintf(stderr, "warning: enqueueing took %.2f ms, longer than the lead kernel\n", queued * 1e3);
        double t = (now_s() - t0 - b->spin_s) / launches;
        best = t < best ? t : best;
    }
    return best;
}

static void row(const char *what, const mat *m, double bytes, double dram, double cached, double read)
{
    printf("%-44s %6d x %-6d %9.2f us %6.0f GB/s %5.2fx read   cached %9.2f us\n", what, m->rows, m->cols,
           dram * 1e6, bytes / dram / 1e9, read > 0 ? dram / read : 1.0, cached * 1e6);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    const char *dtype = argc > 1 ? argv[1] : "";
    int prog = !strcmp(dtype, "f32") ? CLB_PROG_F32 : !strcmp(dtype, "f16") ? CLB_PROG_F16
             : !strcmp(dtype, "q8_0") ? CLB_PROG_Q8 : -1;
    const char *preset = argc > 3 ? argv[3] : "1B";
    bool l8 = !strcmp(preset, "llama3-8B");
    launches = l8 ? 60 : 200;
    if (prog < 0 || (!l8 && strcmp(preset, "1B"))) {
        fprintf(stderr, "usage: bench_engine_opencl f32|f16|q8_0 [DEVICE [1B|llama3-8B]]\n");
        return 2;
    }
    engine_error err = {0};
    clb_device *dev;
    int rb;
    cl_program mp, aux;
    cl_int rc;
    bench b = {.es = prog == CLB_PROG_F32 ? 4 : prog == CLB_PROG_F16 ? 2 : 1, .q8 = prog == CLB_PROG_Q8};
    if (clb_rg_batch_rows(&rb, &err) || clb_device_get(argc > 2 ? argv[2] : "", &dev, &err) ||
        clb_program_get(dev, prog, &mp, &err)) {
        fprintf(stderr, "bench_engine_opencl: %s\n", err.msg);
        return err.kind == ENGINE_ERR_INPUT ? 2 : 1;
    }
    b.ctx = dev->context;
    if (!(b.q = clCreateCommandQueue(b.ctx, dev->device, 0, &rc)))
        die("creating a queue", rc);
    if (!(aux = clCreateProgramWithSource(b.ctx, 1, &aux_src, NULL, &rc)) ||
        (rc = clBuildProgram(aux, 1, &dev->device, "", NULL, NULL)) != CL_SUCCESS)
        die("building the lead and plain-read kernels", rc);
    cl_uint cus = 1;
    clGetDeviceInfo(dev->device, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof cus, &cus, NULL);
    printf("%s (%s), %u compute units, %s weights, %s shapes, batch kernel %d rows per warp; device time "
           "per launch, best of 3 x %d\n", dev->info.device_name, dev->info.platform_name, cus, dtype, preset, rb,
           launches);

    const int DIM = l8 ? 4096 : 2048, HIDDEN = l8 ? 14336 : 5632, QKV = l8 ? 6144 : 2560, VOCAB = l8 ? 128256 : 32000;
    enum { NB = 8 };   /* batch kernel tokens */
    static float ones[NB * 14336];
    float seed = 1.0f;
    for (int i = 0; i < NB * HIDDEN; i++)
        ones[i] = 1.0f;
    size_t big = (size_t)VOCAB * DIM * b.es;
    unsigned char *pattern = malloc(big);
    unsigned short *scales = malloc(big / 16 + 2);
    if (!pattern || !scales) {
        fprintf(stderr, "bench_engine_opencl: out of memory for %zu bytes of weights\n", big);
        return 1;
    }
    for (size_t i = 0; i < big / b.es; i++) {
        if (b.es == 4)
            memcpy(pattern + 4 * i, &(float){1e-3f}, 4);
        else if (b.es == 2)
            memcpy(pattern + 2 * i, &(unsigned short){0x0800}, 2);
        else
            pattern[i] = 1;
    }
    for (size_t i = 0; i < big / 16 / 2 + 1; i++)
        scales[i] = 0x0800;
    int zero = 0, one = 1, nb = NB;
    cl_mem x = buffer(&b, NB * HIDDEN * sizeof *ones, ones), nw = buffer(&b, HIDDEN * sizeof *ones, ones);
    cl_mem out = buffer(&b, (size_t)NB * VOCAB * sizeof(float), NULL), sink = buffer(&b, 64, NULL);
    cl_mem s1 = buffer(&b, 4, &seed), idx = buffer(&b, sizeof zero, &zero);
    b.spin = clCreateKernel(aux, "spin", &rc);
    cl_kernel rd = clCreateKernel(aux, "plain_read", &rc);
    cl_kernel mv = clCreateKernel(mp, "matvec_rowgroup", &rc);
    cl_kernel mb = clCreateKernel(mp, "matvec_rowgroup_batch", &rc);
    cl_kernel sw = clCreateKernel(mp, "matvec_rowgroup_swiglu", &rc);
    cl_kernel nm = clCreateKernel(mp, "matvec_rowgroup_norm", &rc);
    if (!b.spin || !rd || !mv || !mb || !sw || !nm)
        die("creating the kernels", rc);
    int spins = 4000000;
    float eps = 1e-5f;
    check_args(SETARG(b.spin, 0, s1) | SETARG(b.spin, 1, spins));
    spin_alone(&b);

    /* Each matrix of a layer and the classifier; `staged`: the backend's
     * single-token kernel normalises x in local memory (q/k/v, the
     * classifier: matvec_rowgroup_norm stands for both). */
    const struct { int rows, cols; const char *name; bool staged, pair; } shapes[] = {
        {QKV, DIM, "q/k/v", true, false},  {DIM, DIM, "wo", false, false},  {HIDDEN, DIM, "w1 and w3", true, true},
        {DIM, HIDDEN, "w2", false, false}, {VOCAB, DIM, "classifier", true, false},
    };
    for (int s = 0; s < (int)(sizeof shapes / sizeof *shapes); s++) {
        mat m;
        mat_make(&b, &m, shapes[s].rows, shapes[s].cols, pattern, scales);
        int rows = m.rows, cols = m.cols, stride = rows, split = cols >= CLB_RG_SPLIT_COLS ? 2 : 1;
        double pair = shapes[s].pair ? 2.0 : 1.0;
        size_t g2[2], l2[2];
        char what[64];
        int n4 = (int)((size_t)rows * cols * b.es / 16);
        size_t g = (size_t)16 * cus * 128, l = 128;
        check_args(SETARG(rd, 1, n4) | SETARG(rd, 2, sink));
        double read = time_launches(&b, rd, &m, false, -1, false, 1, &g, &l);
        snprintf(what, sizeof what, "%s: plain read of the weights", shapes[s].name);
        row(what, &m, (double)n4 * 16, read, time_launches(&b, rd, &m, false, -1, true, 1, &g, &l), read);
        /* the plain read of the weights and q8_0 scales, as the kernels read them */
        read = read * m.bytes / ((double)n4 * 16);
        if (shapes[s].staged && cols <= CLB_XS_MAX) {
            cl_kernel k = shapes[s].pair ? sw : nm;
            clb_rowgroup_range(rows, 1, 1, g2, l2);
            if (shapes[s].pair)
                check_args(SETARG(sw, 4, x) | SETARG(sw, 5, out) | SETARG(sw, 6, rows) | SETARG(sw, 7, cols) |
                           SETARG(sw, 8, one) | SETARG(sw, 9, nw) | SETARG(sw, 10, eps));
            else
                check_args(SETARG(nm, 2, x) | SETARG(nm, 3, out) | SETARG(nm, 4, rows) | SETARG(nm, 5, cols) |
                           SETARG(nm, 6, one) | SETARG(nm, 7, stride) | SETARG(nm, 8, nw) | SETARG(nm, 9, eps) |
                           SETARG(nm, 10, idx));
            snprintf(what, sizeof what, "%s: %s", shapes[s].name,
                     shapes[s].pair ? "matvec_rowgroup_swiglu" : "matvec_rowgroup_norm");
            row(what, &m, pair * m.bytes, time_launches(&b, k, &m, true, shapes[s].pair ? 2 : -1, false, 2, g2, l2),
                time_launches(&b, k, &m, true, shapes[s].pair ? 2 : -1, true, 2, g2, l2), pair * read);
        } else {
            check_args(SETARG(mv, 2, x) | SETARG(mv, 3, out) | SETARG(mv, 4, rows) | SETARG(mv, 5, cols) |
                       SETARG(mv, 6, one) | SETARG(mv, 7, stride) | SETARG(mv, 8, zero));
            for (int sp = 1; sp <= 2; sp++) {
                clb_rowgroup_range(rows, sp, 1, g2, l2);
                check_args(SETARG(mv, 9, sp));
                snprintf(what, sizeof what, "%s: matvec_rowgroup split %d%s", shapes[s].name, sp,
                         sp == split ? " (default)" : "");
                row(what, &m, m.bytes, time_launches(&b, mv, &m, true, -1, false, 2, g2, l2),
                    time_launches(&b, mv, &m, true, -1, true, 2, g2, l2), read);
            }
        }
        /* the batch kernel, 8 tokens (a pair: w1 then w3, as the backend enqueues them) */
        clb_rowgroup_range(rows, split, rb, g2, l2);
        check_args(SETARG(mb, 2, x) | SETARG(mb, 3, out) | SETARG(mb, 4, rows) | SETARG(mb, 5, cols) |
                   SETARG(mb, 6, nb) | SETARG(mb, 7, stride) | SETARG(mb, 8, zero) | SETARG(mb, 9, split));
        snprintf(what, sizeof what, "%s: matvec_rowgroup_batch, 8 tokens", shapes[s].name);
        double t8 = time_launches(&b, mb, &m, true, -1, false, 2, g2, l2);
        row(what, &m, pair * m.bytes, pair * t8, pair * time_launches(&b, mb, &m, true, -1, true, 2, g2, l2), pair * read);
        mat_free(&m);
    }
    free(pattern);
    free(scales);
    return 0;
}
