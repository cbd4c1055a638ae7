/* thermabench doctor: what this host offers the GPU path, and what to set.
 * The binary loads libOpenCL and libnvidia-ml at run time (dlopen), so `ldd`
 * does not list them; a binary carried to a GPU host can lose the OpenCL
 * backend or the GPU telemetry without a word. doctor names the loader it
 * found (or did not), the ICD files the loader reads and the drivers they
 * name, NVML and its GPUs, and gnuplot for the report's plots. */
#include <dirent.h>
#include <dlfcn.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "probes.h"

enum { O_NVML, O_HELP };
static const cli_option options[] = {
    [O_NVML] = {"nvml-library", 0, "FILE", "NVML library to load (default libnvidia-ml.so.1)"},
    [O_HELP] = {"help", 'h', NULL, "this help"},
    {0},
};

static void usage(FILE *f)
{
    cli_help(f,
             "usage: thermabench doctor [--nvml-library FILE]\n\n"
             "Checks what the OpenCL backend and the GPU probes need on this host: the OpenCL ICD\n"
             "loader (libOpenCL, loaded at run time, so ldd does not show it), the ICD files and the\n"
             "drivers they name, the OpenCL devices, NVML, and gnuplot for report plots; prints what\n"
             "to install or set for whatever is missing. Exit 0 when OpenCL and NVML both work, 1 otherwise.\n",
             options, "\nThe OpenCL loader is libOpenCL.so.1 unless THERMABENCH_OPENCL_LIBRARY names another.\n");
}

/* dlopen's answer for a library name: the path it resolved to, or why not. */
static bool try_load(const char *name, char *out, size_t n)
{
    void *h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        snprintf(out, n, "%s", e ? e : "not found");
        return false;
    }
    struct link_map *lm = NULL;
    if (dlinfo(h, RTLD_DI_LINKMAP, &lm) == 0 && lm && lm->l_name && lm->l_name[0]) snprintf(out, n, "%s", lm->l_name);
    else snprintf(out, n, "%s", name);
    dlclose(h);
    return true;
}

/* The .icd files the loader reads (OCL_ICD_VENDORS: a directory or one
 * file; else /etc/OpenCL/vendors), each with the driver it names. Returns
 * how many name a driver that loads; *nvidia is set when one is NVIDIA's. */
static int list_icds(bool *nvidia)
{
    const char *env = getenv("OCL_ICD_VENDORS"), *dir = env && *env ? env : "/etc/OpenCL/vendors";
    char path[1024], lib[512], where[1024];
    int ok = 0, n = 0;
    printf("  ICD files (%s%s):\n", dir, env && *env ? ", from OCL_ICD_VENDORS" : "");
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 4 || strcmp(e->d_name + len - 4, ".icd")) continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "r");
        lib[0] = 0;
        if (f) {
            if (!fgets(lib, sizeof lib, f)) lib[0] = 0;
            fclose(f);
        }
        lib[strcspn(lib, "\r\n")] = 0;
        bool loads = lib[0] && try_load(lib, where, sizeof where);
        printf("    %s -> %s: %s%s\n", e->d_name, lib[0] ? lib : "(empty)", loads ? "loads from " : "does not load: ",
               lib[0] ? where : "no library named");
        ok += loads;
        n++;
        if (strstr(lib, "nvidia")) *nvidia = true;
    }
    if (d) closedir(d);
    else if (env && *env && try_load(dir, where, sizeof where)) {
        printf("    OCL_ICD_VENDORS names a library, not a directory of .icd files\n");
    }
    if (!n) printf("    none\n");
    return ok;
}

int cmd_doctor(int argc, char **argv)
{
    const char *nvml = NULL, *v;
    cli_parser p;
    int id, prc = 0;
    if (cli_parser_init(&p, "doctor", options, argc, argv)) return TB_EXIT_FAIL;
    while (!prc && (id = cli_next(&p, &v)) != CLI_END) {
        if (id == CLI_ERROR) prc = TB_EXIT_USAGE;
        else if (id == O_HELP) usage(stdout), prc = -1;
        else if (id == O_NVML) nvml = v;
    }
    if (!prc && cli_positional(&p) < argc) {
        cli_usage_error("doctor", "unexpected argument '%s'", argv[cli_positional(&p)]);
        prc = TB_EXIT_USAGE;
    }
    cli_parser_free(&p);
    if (prc) return prc < 0 ? TB_EXIT_OK : prc;
    char where[1024];
    bool opencl_ok = false, nvml_ok = false, nvidia_icd = false;

    printf("OpenCL\n");
    const char *name = getenv("THERMABENCH_OPENCL_LIBRARY");
    bool named = name && *name;
    if (!named) name = "libOpenCL.so.1";
    if (try_load(name, where, sizeof where)) {
        printf("  ICD loader: %s%s\n", where, named ? " (THERMABENCH_OPENCL_LIBRARY)" : "");
        int icds = list_icds(&nvidia_icd);
        engine_opencl_device dev[16];
        engine_error err = {0};
        int n = engine_opencl_devices(dev, 16, &err);
        if (n > 0) {
            opencl_ok = true;
            for (int i = 0; i < n && i < 16; i++)
                printf("  device %d:%d: %s (%s, %s, %d compute units, %.1f GiB)\n", dev[i].platform, dev[i].device,
                       dev[i].device_name, dev[i].platform_name, dev[i].type, dev[i].compute_units,
                       dev[i].global_mem_bytes / 1073741824.0);
        } else {
            printf("  no OpenCL device: %s\n", n < 0 ? err.msg : "the loader found platforms but no device");
        }
        if (!icds) printf("  hint: no ICD file names a driver that loads\n");
    } else {
        printf("  ICD loader: %s not found (%s)\n", name, where);
        printf("  hint: thermabench loads the loader at run time, so `ldd thermabench` does not list it.\n"
               "        Install it (Debian/Ubuntu: apt-get install ocl-icd-libopencl1), or copy a\n"
               "        libOpenCL.so.1 next to the binary and run with LD_LIBRARY_PATH=DIR, or set\n"
               "        THERMABENCH_OPENCL_LIBRARY=/path/to/libOpenCL.so.1.\n");
    }
    bool nv_driver = try_load("libnvidia-opencl.so.1", where, sizeof where);
    if (nv_driver && !nvidia_icd)
        printf("  NVIDIA's OpenCL driver is here (%s) but no ICD file names it:\n"
               "        mkdir -p ~/.icd && echo libnvidia-opencl.so.1 > ~/.icd/nvidia.icd && export OCL_ICD_VENDORS=~/.icd\n",
               where);

    printf("NVML\n");
    probe_options po;
    probe_options_default(&po);
    po.only = "nvml";
    po.nvml_library = nvml;
    probe_set *ps = NULL;
    probe_error pe;
    if (probe_set_open(&po, &ps, &pe) == 0) {
        const probe_source_status *s = probe_set_source(ps, 0);
        nvml_ok = s && s->available;
        if (nvml_ok) {
            printf("  %zu channels", s->n_channels);
            for (size_t i = 0; i < probe_set_channel_count(ps); i++) {
                const probe_channel *ch = probe_set_channel(ps, i);
                const char *dot = strchr(ch->name, '.');
                if (dot && !strcmp(dot, ".temp_c")) printf("; %.*s: %s", (int)(dot - ch->name), ch->name, ch->label);
            }
            printf("\n");
        } else {
            printf("  unavailable: %s\n", s ? s->reason : "no source");
            printf("  hint: GPU telemetry needs libnvidia-ml.so.1 from the NVIDIA driver on the library path\n");
        }
        probe_set_close(ps);
    } else {
        printf("  could not open the probes: %s\n", pe.msg);
    }

    printf("Reports\n");
    if (system("gnuplot --version >/dev/null 2>&1") == 0) printf("  gnuplot: found (report plots)\n");
    else
        printf("  gnuplot: not found: reports are written without plots; copy results.json and telemetry.csv\n"
               "        to a machine with gnuplot and run `thermabench report DIR/results.json -o OUT` there\n");
    printf("%s\n", opencl_ok && nvml_ok ? "ready for GPU experiments"
                                        : "not ready for GPU experiments: see the hints above");
    return opencl_ok && nvml_ok ? TB_EXIT_OK : TB_EXIT_FAIL;
}
