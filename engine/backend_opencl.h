/* Internal to engine/: the OpenCL backend, which keeps weights and KV caches
 * on the device and runs the whole forward pass there. session.c delegates
 * to it when engine_options.backend is "opencl". Without OpenCL at build
 * time (THERMABENCH_HAVE_OPENCL unset) cl_backend_create fails with
 * ENGINE_ERR_UNSUPPORTED and a clear message. */
#ifndef THERMABENCH_ENGINE_BACKEND_OPENCL_H
#define THERMABENCH_ENGINE_BACKEND_OPENCL_H

#include "engine.h"

typedef struct cl_backend cl_backend;

int cl_backend_create(const engine_model *m, const engine_options *o,
                      cl_backend **out, engine_error *err);
/* Same contract as engine_forward. */
int cl_backend_forward(cl_backend *b, const engine_batch *batch, float *logits, engine_error *err);
void cl_backend_reset(cl_backend *b, int seq);
/* "matmul=cl_rowgroup attention=cl_ref ..." */
const char *cl_backend_kernels(const cl_backend *b);
void cl_backend_free(cl_backend *b);

/* Per-kernel device times of a session created with opencl_profile. */
int cl_backend_profile(const cl_backend *b, engine_kernel_time *out, int max);
/* The device the session runs on, e.g. "NVIDIA H100 80GB HBM3". */
const char *cl_backend_device_name(const cl_backend *b);

#endif
