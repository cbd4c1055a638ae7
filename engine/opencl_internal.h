/* Internal to the OpenCL backend (opencl.c, opencl_device.c): device
 * selection and the per-process cache of contexts and built programs. */
#ifndef THERMABENCH_ENGINE_OPENCL_INTERNAL_H
#define THERMABENCH_ENGINE_OPENCL_INTERNAL_H

#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>

#include <stdbool.h>

#include "engine.h"

/* The ICD loader (libOpenCL.so.1) is opened at run time, so a machine
 * without it still runs the CPU path; THERMABENCH_OPENCL_LIBRARY names
 * another file. Every entry point the backend uses goes through a pointer. */
#define CLB_FUNCS(X) \
    X(clGetPlatformIDs) X(clGetPlatformInfo) X(clGetDeviceIDs) X(clGetDeviceInfo) X(clCreateContext) \
    X(clCreateProgramWithSource) X(clBuildProgram) X(clGetProgramBuildInfo) X(clReleaseProgram) \
    X(clCreateKernel) X(clReleaseKernel) X(clSetKernelArg) X(clCreateBuffer) X(clReleaseMemObject) \
    X(clEnqueueWriteBuffer) X(clEnqueueReadBuffer) X(clEnqueueNDRangeKernel) X(clFinish) \
    X(clCreateCommandQueue) X(clReleaseCommandQueue) X(clGetEventProfilingInfo) X(clReleaseEvent) \
    X(clEnqueueCopyBufferRect)

#define CLB_DECLARE(f) typedef __typeof__(f) clb_##f##_fn; extern clb_##f##_fn *clb_##f;
CLB_FUNCS(CLB_DECLARE)
#undef CLB_DECLARE

/* Opens the loader once per process; -1 with err set if it cannot. */
int clb_load(engine_error *err);

#define clGetPlatformIDs clb_clGetPlatformIDs
#define clGetPlatformInfo clb_clGetPlatformInfo
#define clGetDeviceIDs clb_clGetDeviceIDs
#define clGetDeviceInfo clb_clGetDeviceInfo
#define clCreateContext clb_clCreateContext
#define clCreateProgramWithSource clb_clCreateProgramWithSource
#define clBuildProgram clb_clBuildProgram
#define clGetProgramBuildInfo clb_clGetProgramBuildInfo
#define clReleaseProgram clb_clReleaseProgram
#define clCreateKernel clb_clCreateKernel
#define clReleaseKernel clb_clReleaseKernel
#define clSetKernelArg clb_clSetKernelArg
#define clCreateBuffer clb_clCreateBuffer
#define clReleaseMemObject clb_clReleaseMemObject
#define clEnqueueWriteBuffer clb_clEnqueueWriteBuffer
#define clEnqueueReadBuffer clb_clEnqueueReadBuffer
#define clEnqueueNDRangeKernel clb_clEnqueueNDRangeKernel
#define clFinish clb_clFinish
#define clCreateCommandQueue clb_clCreateCommandQueue
#define clReleaseCommandQueue clb_clReleaseCommandQueue
#define clGetEventProfilingInfo clb_clGetEventProfilingInfo
#define clReleaseEvent clb_clReleaseEvent
#define clEnqueueCopyBufferRect clb_clEnqueueCopyBufferRect

/* Work-group shapes, shared by the build options and the enqueues. */
#define CLB_RG_LANES 32   /* work-items per row in matvec_rowgroup */
#define CLB_RG_ROWS 4     /* rows per work-group in matvec_rowgroup (even: RoPE pairs); 4 measured best on the H100 */
#define CLB_RG_BLOCK CLB_RG_ROWS
#define CLB_RG_SPLIT_COLS 4096   /* rows this long or longer: 2 warps a row in matvec_rowgroup */
/* The NDRange of a cl_rowgroup kernel over `rows` rows, `split` warps
 * sharing `rpw` rows each (1 but in the batch kernel): RG_ROWS / split x
 * rpw rows per work-group. */
static inline void clb_rowgroup_range(int rows, int split, int rpw, size_t global[2], size_t local[2])
{
    size_t per_group = (size_t)CLB_RG_BLOCK / split * rpw;
    global[0] = ((size_t)rows + per_group - 1) / per_group * CLB_RG_LANES, global[1] = CLB_RG_ROWS;
    local[0] = CLB_RG_LANES, local[1] = CLB_RG_ROWS;
}
#define CLB_NORM_WG 256
#define CLB_HEAD_WG 64    /* qkv_bias_norm_rope_store: work-items per head */
#define CLB_ATT_WG 256
#define CLB_XS_MAX 4096   /* longest row whose x is staged (normalised) in local memory */
#define CLB_ATT_LOCAL_MAX 4096   /* longest context whose scores go to local memory */
/* cl_split attention: positions per work-group (a power of two, at most
 * CLB_ATT_SPLIT_WG, between CLB_ATT_SPLIT_WG / 16 and CLB_ATT_SPLIT_WG / 2)
 * and the work-group size. 32 measured best of 16, 32 and 64 on the H100 at
 * 160 positions. Above half the work-group (16 values per work-item kept
 * across the softmax's barriers) PoCL 3.1 computed wrong results; why was
 * not found. */
#define CLB_ATT_CHUNK 32
#define CLB_ATT_SPLIT_WG 128
_Static_assert(CLB_ATT_CHUNK * 16 >= CLB_ATT_SPLIT_WG && CLB_ATT_CHUNK * 2 <= CLB_ATT_SPLIT_WG &&
               (CLB_ATT_CHUNK & (CLB_ATT_CHUNK - 1)) == 0, "CLB_ATT_CHUNK: see above");

/* clSetKernelArg of a variable (its size and address); results OR together. */
#define SETARG(k, i, v) clSetKernelArg((k), (i), sizeof(v), &(v))

/* Programs, built once per process and device: the op kernels, and the
 * matrix kernels for each weight type. */
enum { CLB_PROG_OPS = 0, CLB_PROG_F32, CLB_PROG_F16, CLB_PROG_Q8, CLB_PROG_Q4K, CLB_PROG_Q6K, CLB_PROG_COUNT };

/* Rows per warp in matvec_rowgroup_batch (RG_RB in matmul.cl): 2, or
 * the process's THERMABENCH_OPENCL_RG_BATCH_ROWS (1, 2, 4 or 8). Each x
 * vector a warp loads serves its RG_RB rows; at batch 8 on the H100
 * (2026-12-07) 2 rows made a llama3-8B step 0.70x (f16) and 0.63x (q8_0)
 * of 1 row's. -1 with err set for a bad value. */
#define CLB_RG_BATCH_ROWS 2
int clb_rg_batch_rows(int *out, engine_error *err);

/* K-quant matrices (type q4_k or q6_k) repacked for the OpenCL kernels
 * (engine/cl/kquant.cl), the parts stacked by rows. q4_k: *quants gets rows
 * x cols / 2 bytes of quants in element order, *side 10 halves per
 * super-block (d, dmin, eight scales and eight mins as bytes). q6_k:
 * *quants gets rows x cols int8 (q - 32) in element order (8 bits where the
 * file has 6.5625: simple aligned loads), *side 9 halves per super-block
 * (d, then the 16 int8 sub-block scales). Both malloc'd; -1 when out of
 * memory. */
int clb_repack_kquant(engine_dtype type, const engine_tensor *const *parts, int n_parts, void **quants,
                      uint16_t **side, size_t *quant_bytes, size_t *side_bytes);

typedef struct clb_device {
    cl_platform_id platform;
    cl_device_id device;
    cl_context context;
    cl_program programs[CLB_PROG_COUNT];
    engine_opencl_device info;
    cl_ulong max_alloc_bytes;
    cl_ulong local_mem_bytes;
} clb_device;

/* Resolves the --opencl-device spec ("" first GPU else first device, "P:D",
 * or a case-insensitive substring of the device or platform name) and
 * returns the process-wide entry, creating its context on first use. */
int clb_device_get(const char *spec, clb_device **out, engine_error *err);
/* The program `which` of dev, built on first use (the build log goes into err). */
int clb_program_get(clb_device *dev, int which, cl_program *out, engine_error *err);
/* "CL_OUT_OF_RESOURCES (-5)" */
const char *clb_strerror(cl_int code);
/* Fills err and returns -1. */
int clb_fail(engine_error *err, engine_error_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
