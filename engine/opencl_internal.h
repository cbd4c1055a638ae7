/* Internal to the OpenCL backend (opencl.c, opencl_device.c): device
 * selection and the per-process cache of contexts and built programs. */
#ifndef THERMABENCH_ENGINE_OPENCL_INTERNAL_H
#define THERMABENCH_ENGINE_OPENCL_INTERNAL_H

#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>

#include "engine.h"

/* Work-group shapes, shared by the build options and the enqueues. */
#define CLB_RG_LANES 32   /* work-items per row in matvec_rowgroup */
#define CLB_RG_ROWS 4     /* work-item rows per work-group in matvec_rowgroup */
#define CLB_RG_R 4        /* matrix rows per work-item row */
#define CLB_RG_BLOCK (CLB_RG_ROWS * CLB_RG_R)   /* matrix rows per work-group (even) */
#define CLB_NORM_WG 256
#define CLB_ATT_WG 256

/* Programs, built once per process and device: the op kernels, and the
 * matrix kernels for each weight type. */
enum { CLB_PROG_OPS = 0, CLB_PROG_F32, CLB_PROG_F16, CLB_PROG_Q8, CLB_PROG_COUNT };

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
