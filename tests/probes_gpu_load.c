/* A sustained GPU load for validating the NVML probe: an FMA-bound OpenCL
 * kernel enqueued back to back for SECONDS on the first GPU device.
 *   probes_gpu_load SECONDS */
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static const char *src =
    "__kernel void burn(__global float *out, int iters) {\n"
    "  size_t i = get_global_id(0);\n"
    "  float a = i * 1e-7f, b = 1.0001f, c = 0.9999f, d = 0.5f;\n"
    "  for (int k = 0; k < iters; k++) {\n"
    "    a = fma(a, b, c); d = fma(d, c, b); a = fma(a, c, d); d = fma(d, b, a);\n"
    "  }\n"
    "  out[i] = a + d;\n"
    "}\n";

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 60;
    cl_platform_id plats[8];
    cl_uint np = 0;
    cl_device_id dev = NULL;
    clGetPlatformIDs(8, plats, &np);
    for (cl_uint p = 0; p < np && !dev; p++)
        if (clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_GPU, 1, &dev, NULL) != CL_SUCCESS)
            dev = NULL;
    if (!dev) {
        fprintf(stderr, "probes_gpu_load: no OpenCL GPU (%u platforms)\n", np);
        return 1;
    }
    char name[256] = "";
    clGetDeviceInfo(dev, CL_DEVICE_NAME, sizeof name, name, NULL);
    cl_int err;
    cl_context ctx = clCreateContext(NULL, 1, &dev, NULL, NULL, &err);
    cl_command_queue q = clCreateCommandQueue(ctx, dev, 0, &err);
    cl_program prog = clCreateProgramWithSource(ctx, 1, &src, NULL, &err);
    if (clBuildProgram(prog, 1, &dev, "", NULL, NULL) != CL_SUCCESS) {
        fprintf(stderr, "probes_gpu_load: build failed\n");
        return 1;
    }
    cl_kernel k = clCreateKernel(prog, "burn", &err);
    size_t n = (size_t)1 << 22;
    cl_mem out = clCreateBuffer(ctx, CL_MEM_WRITE_ONLY, n * sizeof(float), NULL, &err);
    int iters = 4096;
    clSetKernelArg(k, 0, sizeof out, &out);
    clSetKernelArg(k, 1, sizeof iters, &iters);
    double t0 = now_s(), t;
    long launches = 0;
    while ((t = now_s()) - t0 < seconds) {
        if (clEnqueueNDRangeKernel(q, k, 1, NULL, &n, NULL, 0, NULL, NULL) != CL_SUCCESS) {
            fprintf(stderr, "probes_gpu_load: enqueue failed\n");
            return 1;
        }
        clFinish(q);
        launches++;
    }
    /* 4 FMAs per iteration, 2 flops each */
    printf("%s: %ld launches in %.1f s, %.1f TFLOP/s\n", name, launches, t - t0,
           launches * (double)n * iters * 8 / (t - t0) / 1e12);
    clReleaseMemObject(out);
    clReleaseKernel(k);
    clReleaseProgram(prog);
    clReleaseCommandQueue(q);
    clReleaseContext(ctx);
    return 0;
}
