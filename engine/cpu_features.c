/* CPU features from cpuid, probed once. A feature counts only when the OS
 * also saves its register state (XGETBV), or using it would fault. */
#include <pthread.h>
#include <stdint.h>

#include "kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static uint64_t xgetbv0(void)
{
    uint32_t eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((uint64_t)edx << 32) | eax;
}

static void probe(cpu_features *f)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return;
    bool osxsave = c & (1u << 27), avx = c & (1u << 28);
    if (!osxsave || !avx)
        return;
    uint64_t xcr0 = xgetbv0();
    bool ymm_ok = (xcr0 & 0x6) == 0x6;       /* SSE and AVX state */
    bool zmm_ok = (xcr0 & 0xe6) == 0xe6;     /* plus opmask, ZMM0-15 hi, ZMM16-31 */
    if (!ymm_ok)
        return;
    f->fma = c & (1u << 12);
    f->f16c = c & (1u << 29);
    if (__get_cpuid_max(0, 0) < 7)
        return;
    __cpuid_count(7, 0, a, b, c, d);
    f->avx2 = b & (1u << 5);
    if (zmm_ok) {
        f->avx512f = b & (1u << 16);
        f->avx512bw = b & (1u << 30);
        f->avx512vl = b & (1u << 31);
        f->avx512vnni = c & (1u << 11);
        unsigned a1, b1, c1, d1;
        __cpuid_count(7, 1, a1, b1, c1, d1);
        f->avx512bf16 = a1 & (1u << 5);
    }
}
#else
static void probe(cpu_features *f) { (void)f; }
#endif

static cpu_features features;
static pthread_once_t features_once = PTHREAD_ONCE_INIT;

static void probe_once(void) { probe(&features); }

const cpu_features *cpu_features_get(void)
{
    pthread_once(&features_once, probe_once);
    return &features;
}
