/* OpenCL platforms and devices: listing, selection by spec, and the
 * per-process cache of contexts and programs (each built once). */
#ifdef THERMABENCH_HAVE_OPENCL

#include <ctype.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opencl_internal.h"

/* Kernel sources, embedded at build time from engine/cl/ (cmake/embed.cmake). */
extern const char engine_cl_src_common[];
extern const char engine_cl_src_ops[];
extern const char engine_cl_src_matmul[];
extern const char engine_cl_src_kquant[];

#define MAX_PLATFORMS 16
#define MAX_DEVICES 64

int clb_fail(engine_error *err, engine_error_kind kind, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->kind = kind;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

const char *clb_strerror(cl_int code)
{
    static __thread char buf[48];
    const char *name = "unknown error";
    switch (code) {
    case CL_DEVICE_NOT_FOUND: name = "CL_DEVICE_NOT_FOUND"; break;
    case CL_DEVICE_NOT_AVAILABLE: name = "CL_DEVICE_NOT_AVAILABLE"; break;
    case CL_MEM_OBJECT_ALLOCATION_FAILURE: name = "CL_MEM_OBJECT_ALLOCATION_FAILURE"; break;
    case CL_OUT_OF_RESOURCES: name = "CL_OUT_OF_RESOURCES"; break;
    case CL_OUT_OF_HOST_MEMORY: name = "CL_OUT_OF_HOST_MEMORY"; break;
    case CL_BUILD_PROGRAM_FAILURE: name = "CL_BUILD_PROGRAM_FAILURE"; break;
    case CL_INVALID_VALUE: name = "CL_INVALID_VALUE"; break;
    case CL_INVALID_BUFFER_SIZE: name = "CL_INVALID_BUFFER_SIZE"; break;
    case CL_INVALID_KERNEL_ARGS: name = "CL_INVALID_KERNEL_ARGS"; break;
    case CL_INVALID_WORK_GROUP_SIZE: name = "CL_INVALID_WORK_GROUP_SIZE"; break;
    case CL_INVALID_WORK_ITEM_SIZE: name = "CL_INVALID_WORK_ITEM_SIZE"; break;
    case CL_INVALID_GLOBAL_WORK_SIZE: name = "CL_INVALID_GLOBAL_WORK_SIZE"; break;
    case CL_INVALID_KERNEL_NAME: name = "CL_INVALID_KERNEL_NAME"; break;
    case -1001: name = "CL_PLATFORM_NOT_FOUND_KHR"; break;
    }
    snprintf(buf, sizeof buf, "%s (%d)", name, (int)code);
    return buf;
}

#define CLB_DEFINE(f) clb_##f##_fn *clb_##f;
CLB_FUNCS(CLB_DEFINE)

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static char load_error[512];

static void load_loader(void)
{
    const char *name = getenv("THERMABENCH_OPENCL_LIBRARY");
    if (!name || !*name)
        name = "libOpenCL.so.1";
    void *h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *why = dlerror();
        snprintf(load_error, sizeof load_error, "OpenCL: cannot open the ICD loader %s (%s): install "
                 "ocl-icd-libopencl1 and a driver (e.g. Debian's pocl-opencl-icd), or use --backend cpu",
                 name, why ? why : "not found");
        return;
    }
#define CLB_RESOLVE(f) \
    if (!load_error[0] && !(*(void **)&clb_##f = dlsym(h, #f))) \
        snprintf(load_error, sizeof load_error, "OpenCL: the ICD loader %s has no %s", name, #f);
    CLB_FUNCS(CLB_RESOLVE)
}

int clb_load(engine_error *err)
{
    pthread_once(&load_once, load_loader);
    return load_error[0] ? clb_fail(err, ENGINE_ERR_UNSUPPORTED, "%s", load_error) : 0;
}

/* Why no platform answered: the loader's vendor directory is the usual cause. */
static int no_platform(engine_error *err, cl_int rc)
{
    const char *vendors = getenv("OCL_ICD_VENDORS");
    return clb_fail(err, ENGINE_ERR_UNSUPPORTED,
                    "OpenCL: no platform found (%s; the ICD loader read vendors from %s): install an OpenCL "
                    "driver (e.g. Debian's pocl-opencl-icd, or the GPU vendor's) or use --backend cpu",
                    rc == CL_SUCCESS ? "0 platforms" : clb_strerror(rc),
                    vendors && *vendors ? vendors : "/etc/OpenCL/vendors");
}

static void info_string(cl_device_id d, cl_device_info what, char *out, size_t size)
{
    if (clGetDeviceInfo(d, what, size, out, NULL) != CL_SUCCESS)
        snprintf(out, size, "?");
    out[size - 1] = 0;
}

static void describe(cl_platform_id p, cl_device_id d, int pi, int di, engine_opencl_device *o)
{
    memset(o, 0, sizeof *o);
    o->platform = pi;
    o->device = di;
    if (clGetPlatformInfo(p, CL_PLATFORM_NAME, sizeof o->platform_name, o->platform_name, NULL) != CL_SUCCESS)
        strcpy(o->platform_name, "?");
    o->platform_name[sizeof o->platform_name - 1] = 0;
    info_string(d, CL_DEVICE_NAME, o->device_name, sizeof o->device_name);
    info_string(d, CL_DEVICE_VERSION, o->device_version, sizeof o->device_version);
    info_string(d, CL_DRIVER_VERSION, o->driver_version, sizeof o->driver_version);
    cl_device_type type = 0;
    clGetDeviceInfo(d, CL_DEVICE_TYPE, sizeof type, &type, NULL);
    strcpy(o->type, type & CL_DEVICE_TYPE_GPU ? "gpu" : type & CL_DEVICE_TYPE_CPU ? "cpu"
                    : type & CL_DEVICE_TYPE_ACCELERATOR ? "accel" : "other");
    cl_ulong mem = 0;
    cl_uint cu = 0, mhz = 0;
    clGetDeviceInfo(d, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof mem, &mem, NULL);
    clGetDeviceInfo(d, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof cu, &cu, NULL);
    clGetDeviceInfo(d, CL_DEVICE_MAX_CLOCK_FREQUENCY, sizeof mhz, &mhz, NULL);
    o->global_mem_bytes = mem;
    o->compute_units = (int)cu;
    o->max_clock_mhz = (int)mhz;
}

/* Every device of every platform, in (platform, device) order. */
typedef struct device_list {
    int n;
    cl_platform_id platform[MAX_DEVICES];
    cl_device_id device[MAX_DEVICES];
    engine_opencl_device info[MAX_DEVICES];
} device_list;

static int list_devices(device_list *l, engine_error *err)
{
    cl_platform_id plats[MAX_PLATFORMS];
    cl_uint np = 0;
    l->n = 0;
    if (clb_load(err))
        return -1;
    cl_int rc = clGetPlatformIDs(MAX_PLATFORMS, plats, &np);
    if (rc != CL_SUCCESS || np == 0)
        return no_platform(err, rc);
    for (cl_uint p = 0; p < np && p < MAX_PLATFORMS; p++) {
        cl_device_id devs[MAX_DEVICES];
        cl_uint nd = 0;
        if (clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, MAX_DEVICES, devs, &nd) != CL_SUCCESS)
            continue;   /* a platform without devices answers CL_DEVICE_NOT_FOUND */
        for (cl_uint d = 0; d < nd && d < MAX_DEVICES && l->n < MAX_DEVICES; d++) {
            l->platform[l->n] = plats[p];
            l->device[l->n] = devs[d];
            describe(plats[p], devs[d], (int)p, (int)d, &l->info[l->n]);
            l->n++;
        }
    }
    return 0;
}

int engine_opencl_devices(engine_opencl_device *out, int max, engine_error *err)
{
    device_list *l = malloc(sizeof *l);
    if (!l)
        return clb_fail(err, ENGINE_ERR_SYSTEM, "out of memory listing OpenCL devices");
    if (list_devices(l, err)) {
        free(l);
        return -1;
    }
    for (int i = 0; i < l->n && i < max; i++)
        out[i] = l->info[i];
    int n = l->n;
    free(l);
    return n;
}

static bool contains_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (!strncasecmp(hay, needle, n))
            return true;
    return n == 0;
}

/* Index into l of the device that `spec` names, or -1 with err set. */
static int match_spec(const device_list *l, const char *spec, engine_error *err)
{
    if (l->n == 0)
        return clb_fail(err, ENGINE_ERR_UNSUPPORTED, "OpenCL: platforms found but no device in any of them");
    if (!spec || !*spec) {
        for (int i = 0; i < l->n; i++)
            if (!strcmp(l->info[i].type, "gpu"))
                return i;
        return 0;
    }
    int p, d;
    char tail;
    if (sscanf(spec, "%d:%d%c", &p, &d, &tail) == 2) {
        for (int i = 0; i < l->n; i++)
            if (l->info[i].platform == p && l->info[i].device == d)
                return i;
        return clb_fail(err, ENGINE_ERR_INPUT, "OpenCL device '%s': no device %d on platform %d "
                        "(`thermabench kernels` lists them)", spec, d, p);
    }
    for (int i = 0; i < l->n; i++)
        if (contains_nocase(l->info[i].device_name, spec) || contains_nocase(l->info[i].platform_name, spec))
            return i;
    return clb_fail(err, ENGINE_ERR_INPUT, "OpenCL device '%s': no device or platform name contains it "
                    "(`thermabench kernels` lists them)", spec);
}

/* The process-wide cache: contexts and programs live until exit, so every
 * session on a device reuses the programs built by the first. */
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static clb_device *cache[MAX_DEVICES];
static int n_cache;

int clb_device_get(const char *spec, clb_device **out, engine_error *err)
{
    device_list *l = malloc(sizeof *l);
    if (!l)
        return clb_fail(err, ENGINE_ERR_SYSTEM, "out of memory listing OpenCL devices");
    int i = list_devices(l, err) ? -1 : match_spec(l, spec, err);
    if (i < 0) {
        free(l);
        return -1;
    }
    int rc = 0;
    pthread_mutex_lock(&cache_lock);
    clb_device *dev = NULL;
    for (int c = 0; c < n_cache; c++)
        if (cache[c]->device == l->device[i])
            dev = cache[c];
    if (!dev && n_cache < MAX_DEVICES && (dev = calloc(1, sizeof *dev))) {
        cl_int cr;
        cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)l->platform[i], 0};
        dev->context = clCreateContext(props, 1, &l->device[i], NULL, NULL, &cr);
        if (!dev->context) {
            rc = clb_fail(err, ENGINE_ERR_SYSTEM, "OpenCL: cannot create a context on %s: %s",
                          l->info[i].device_name, clb_strerror(cr));
            free(dev);
            dev = NULL;
        } else {
            dev->platform = l->platform[i];
            dev->device = l->device[i];
            dev->info = l->info[i];
            clGetDeviceInfo(dev->device, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof dev->max_alloc_bytes,
                            &dev->max_alloc_bytes, NULL);
            clGetDeviceInfo(dev->device, CL_DEVICE_LOCAL_MEM_SIZE, sizeof dev->local_mem_bytes,
                            &dev->local_mem_bytes, NULL);
            cache[n_cache++] = dev;
        }
    } else if (!dev) {
        rc = clb_fail(err, ENGINE_ERR_SYSTEM, "out of memory for the OpenCL device cache");
    }
    pthread_mutex_unlock(&cache_lock);
    free(l);
    *out = dev;
    return rc;
}

int clb_rg_batch_rows(int *out, engine_error *err)
{
    const char *v = getenv("THERMABENCH_OPENCL_RG_BATCH_ROWS");
    *out = CLB_RG_BATCH_ROWS;
    if (!v || !*v)
        return 0;
    if (strcmp(v, "1") && strcmp(v, "2") && strcmp(v, "4") && strcmp(v, "8"))
        return clb_fail(err, ENGINE_ERR_INPUT, "THERMABENCH_OPENCL_RG_BATCH_ROWS: '%s' is not 1, 2, 4 or 8", v);
    *out = atoi(v);
    return 0;
}

static const char *const prog_defines[CLB_PROG_COUNT] = {"", "-DWT_F32", "-DWT_F16", "-DWT_Q8", "-DWT_Q4K",
                                                          "-DWT_Q6K"};

int clb_program_get(clb_device *dev, int which, cl_program *out, engine_error *err)
{
    pthread_mutex_lock(&cache_lock);
    int rc = 0;
    if (!dev->programs[which]) {
        /* matrix programs: the K-quant loads (empty unless -DWT_Q4K or -DWT_Q6K), then the kernels */
        int rb;
        if (clb_rg_batch_rows(&rb, err)) {
            pthread_mutex_unlock(&cache_lock);
            return -1;
        }
        const char *src[3] = {engine_cl_src_common, which == CLB_PROG_OPS ? engine_cl_src_ops : engine_cl_src_kquant,
                              engine_cl_src_matmul};
        cl_int cr;
        cl_program p = clCreateProgramWithSource(dev->context, which == CLB_PROG_OPS ? 2 : 3, src, NULL, &cr);
        char opts[600];
        /* Inline PTX (engine/cl/common.cl) where NVIDIA's compiler builds the kernels. */
        bool nv = contains_nocase(dev->info.platform_name, "NVIDIA");
        /* THERMABENCH_OPENCL_BUILD_OPTIONS is appended to the options
         * (compiler flags such as -cl-nv-verbose; docs/PERFORMANCE.md). */
        const char *extra = getenv("THERMABENCH_OPENCL_BUILD_OPTIONS");
        /* No fast-relaxed math: the reference path keeps IEEE division and sqrt. */
        snprintf(opts, sizeof opts, "-cl-std=CL1.2 -cl-fp32-correctly-rounded-divide-sqrt %s%s "
                 "-DRG_LANES=%d -DRG_ROWS=%d -DRG_RB=%d -DNORM_WG=%d -DATT_WG=%d -DXS_MAX=%d "
                 "-DATT_CHUNK=%d -DATT_SPLIT_WG=%d -DHEAD_WG=%d %.200s", prog_defines[which], nv ? " -DCLB_NV" : "",
                 CLB_RG_LANES, CLB_RG_ROWS, rb, CLB_NORM_WG, CLB_ATT_WG, CLB_XS_MAX,
                 CLB_ATT_CHUNK, CLB_ATT_SPLIT_WG, CLB_HEAD_WG, extra ? extra : "");
        if (p)
            cr = clBuildProgram(p, 1, &dev->device, opts, NULL, NULL);
        if (cr != CL_SUCCESS) {
            char log[600] = "";
            size_t len = 0;
            char *full = NULL;
            if (p && clGetProgramBuildInfo(p, dev->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &len) == CL_SUCCESS
                && len > 0 && (full = calloc(1, len + 1))
                && clGetProgramBuildInfo(p, dev->device, CL_PROGRAM_BUILD_LOG, len, full, NULL) == CL_SUCCESS)
                snprintf(log, sizeof log, "%s", full);   /* the first errors are the useful ones */
            free(full);
            rc = clb_fail(err, ENGINE_ERR_SYSTEM, "OpenCL: building the %s kernels (%s) on %s failed: %s; "
                          "build log: %s", which == CLB_PROG_OPS ? "op" : "matrix", opts,
                          dev->info.device_name, clb_strerror(cr), log[0] ? log : "(empty)");
            if (p)
                clReleaseProgram(p);
        } else {
            dev->programs[which] = p;
        }
    }
    *out = dev->programs[which];
    pthread_mutex_unlock(&cache_lock);
    return rc;
}

#else /* no OpenCL in this build */

#include <stdio.h>

#include "engine.h"

int engine_opencl_devices(engine_opencl_device *out, int max, engine_error *err)
{
    if (err) {
        err->kind = ENGINE_ERR_UNSUPPORTED;
        snprintf(err->msg, sizeof err->msg, "OpenCL: this build has no OpenCL support "
                 "(configure with -DTHERMABENCH_OPENCL=ON and the OpenCL headers installed)");
    }
    return -1;
}

#endif
