/* The CLI on the OpenCL backend: `thermabench generate --backend opencl`
 * prints exactly the shared models' expected greedy bytes (outputs of
 * independent implementations), and without an OpenCL platform it exits 2
 * with a clear message while --backend cpu still works. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine.h"
#include "tb_models.h"
#include "tb_test.h"

static long read_all(FILE *f, char *buf, size_t cap)
{
    size_t n = 0, r;
    while (n < cap && (r = fread(buf + n, 1, cap - n, f)) > 0)
        n += r;
    return (long)n;
}

/* Runs cmd; stdout into out, returns the exit status (-1 if it did not exit). */
static int run(const char *cmd, char *out, size_t cap, long *len)
{
    FILE *p = popen(cmd, "r");
    *len = 0;
    if (!p)
        return -1;
    *len = read_all(p, out, cap);
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int main(void)
{
    static char want[8192], got[8192], cmd[2048];
    long want_len, got_len;
    engine_opencl_device d;
    engine_error err = {0};
    if (engine_opencl_devices(&d, 1, &err) >= 1) {
        /* Every case with the device's defaults, then with cl_rowgroup's
         * rows split over 2 and 4 warps (THERMABENCH_OPENCL_RG_SPLIT). */
        static const char *const modes[] = {"", "THERMABENCH_OPENCL_RG_SPLIT=2 ", "THERMABENCH_OPENCL_RG_SPLIT=4 "};
        const size_t n_modes = sizeof modes / sizeof *modes;
        for (size_t j = 0; j < n_modes * TB_N_MODEL_CASES; j++) {
            size_t i = j % TB_N_MODEL_CASES, m = j / TB_N_MODEL_CASES;
            want_len = tb_read_into(tb_model_cases[i].expected, want, sizeof want);
            CHECKF(want_len > 0, "missing %s", tb_model_cases[i].expected);
            int n = snprintf(cmd, sizeof cmd, "%s'%s' generate --backend opencl%s --model '%s' --prompt '%s' --steps %d",
                             modes[m], TB_BINARY, m ? " --kernel matmul=cl_rowgroup" : "", tb_model_cases[i].model,
                             tb_model_cases[i].prompt, tb_model_cases[i].steps);
            if (tb_model_cases[i].tokenizer)
                snprintf(cmd + n, sizeof cmd - n, " --tokenizer '%s'", tb_model_cases[i].tokenizer);
            int rc = run(cmd, got, sizeof got, &got_len);
            CHECKF(rc == 0, "%s: exit %d", cmd, rc);
            CHECKF(got_len == want_len && !memcmp(got, want, (size_t)got_len), "%s: got %ld bytes:\n%.*s", cmd,
                   got_len, (int)got_len, got);
        }
        /* `kernels` names each device's own defaults. */
        snprintf(cmd, sizeof cmd, "'%s' kernels", TB_BINARY);
        int rc = run(cmd, got, sizeof got - 1, &got_len);
        got[got_len > 0 ? got_len : 0] = 0;
        char want_line[128];
        snprintf(want_line, sizeof want_line, "defaults here: matmul=%s attention=%s",
                 strcmp(d.type, "gpu") ? "cl_rowitem" : "cl_rowgroup", strcmp(d.type, "gpu") ? "cl_attention" : "cl_split");
        CHECKF(rc == 0 && strstr(got, want_line), "kernels: exit %d, no '%s' in:\n%s", rc, want_line, got);

        /* THERMABENCH_OPENCL_HOST_TIMES: bench lists the host times (one
         * pair per single-token pass: the warm-up's and the 4 timed), and
         * only when asked. */
        for (int on = 0; on < 2; on++) {
            snprintf(cmd, sizeof cmd, "%s'%s' bench --backend opencl --preset tiny --input-len 8 --output-len 4",
                     on ? "THERMABENCH_OPENCL_HOST_TIMES=1 " : "", TB_BINARY);
            rc = run(cmd, got, sizeof got - 1, &got_len);
            got[got_len > 0 ? got_len : 0] = 0;
            const char *h = strstr(got, "host: enqueue 1-token pass");
            CHECKF(rc == 0 && (on ? h != NULL : h == NULL), "host times %s: exit %d:\n%s", on ? "on" : "off", rc,
                   got);
            if (on && h)
                CHECKF(atol(h + strlen("host: enqueue 1-token pass")) >= 4 && strstr(got, "host: wait for its logits"),
                       "%s", h);
        }
        /* A decode batch of cl_rowgroup goes through matvec_rowgroup_batch
         * (at 1, 2, 4 and 8 rows per warp: THERMABENCH_OPENCL_RG_BATCH_ROWS,
         * the same sums in the same order), or with
         * THERMABENCH_OPENCL_BATCH_STAGED=1 through the per-token kernels
         * (tree sums): the greedy ids of the tiny preset are the same. */
        static const char *const batch_modes[] = {
            "THERMABENCH_OPENCL_BATCH_STAGED=1 ", "", "THERMABENCH_OPENCL_RG_BATCH_ROWS=1 ",
            "THERMABENCH_OPENCL_RG_BATCH_ROWS=2 ", "THERMABENCH_OPENCL_RG_BATCH_ROWS=4 ",
            "THERMABENCH_OPENCL_RG_BATCH_ROWS=8 "};
        char hash[6][32] = {""};
        for (int m = 0; m < 6; m++) {
            bool staged = m == 0;
            snprintf(cmd, sizeof cmd, "%s'%s' bench --backend opencl --preset tiny --kernel matmul=cl_rowgroup "
                     "--batch-size 4 --input-len 8 --output-len 3 --opencl-profile", batch_modes[m], TB_BINARY);
            rc = run(cmd, got, sizeof got - 1, &got_len);
            got[got_len > 0 ? got_len : 0] = 0;
            bool batch = strstr(got, "matvec_rowgroup_batch") != NULL;
            CHECKF(rc == 0 && batch == !staged, "%s: exit %d:\n%s", batch_modes[m], rc, got);
            const char *o = strstr(got, "output    ");
            if (o)
                sscanf(o + 10, "%31s", hash[m]);
            CHECKF(hash[m][0] && !strcmp(hash[m], hash[0]), "%s: greedy ids %s, per-token kernels %s", batch_modes[m],
                   hash[m], hash[0]);
        }
        /* Rows per warp other than 1, 2, 4 or 8: exit 2, naming the variable. */
        snprintf(cmd, sizeof cmd, "THERMABENCH_OPENCL_RG_BATCH_ROWS=3 '%s' bench --backend opencl --preset tiny 2>&1",
                 TB_BINARY);
        rc = run(cmd, got, sizeof got - 1, &got_len);
        got[got_len > 0 ? got_len : 0] = 0;
        CHECKF(rc == 2 && strstr(got, "THERMABENCH_OPENCL_RG_BATCH_ROWS: '3' is not 1, 2, 4 or 8"),
               "bad rows: exit %d: %s", rc, got);
        /* A split other than 1, 2 or 4: exit 2, naming the variable. */
        snprintf(cmd, sizeof cmd, "THERMABENCH_OPENCL_RG_SPLIT=3 '%s' bench --backend opencl --preset tiny 2>&1",
                 TB_BINARY);
        rc = run(cmd, got, sizeof got - 1, &got_len);
        got[got_len > 0 ? got_len : 0] = 0;
        CHECKF(rc == 2 && strstr(got, "THERMABENCH_OPENCL_RG_SPLIT: '3' is not 1, 2 or 4"), "bad split: exit %d: %s",
               rc, got);
        /* THERMABENCH_OPENCL_BUILD_OPTIONS reaches the kernel compiler: a
         * define that breaks matmul.cl fails the matrix kernels' build, and
         * the error names the options it was built with. */
        snprintf(cmd, sizeof cmd, "THERMABENCH_OPENCL_BUILD_OPTIONS='-Dhalf_bits=(' '%s' bench --backend opencl "
                 "--preset tiny 2>&1", TB_BINARY);
        rc = run(cmd, got, sizeof got - 1, &got_len);
        got[got_len > 0 ? got_len : 0] = 0;
        CHECKF(rc != 0 && strstr(got, "building the matrix kernels") && strstr(got, "-Dhalf_bits=("),
               "build options: exit %d: %s", rc, got);
    } else {
        fprintf(stderr, "no OpenCL device (%s): only the no-platform checks run\n", err.msg);
    }

    /* No platform: the ICD loader pointed at an empty vendor directory. */
    char dir[] = "/tmp/tb-no-opencl-cli-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    snprintf(cmd, sizeof cmd, "OCL_ICD_VENDORS='%s' '%s' generate --backend opencl --model '%s' --tokenizer '%s' "
             "--prompt 'Once upon a time' --steps 60 2>&1", dir, TB_BINARY, TB_MODELS "stories260K/model.bin",
             TB_MODELS "stories260K/tokenizer.bin");
    int rc = run(cmd, got, sizeof got - 1, &got_len);
    got[got_len > 0 ? got_len : 0] = 0;
    CHECKF(rc == 2, "exit %d: %s", rc, got);
    CHECKF(strstr(got, "thermabench generate:") && strstr(got, "no platform"), "%s", got);
    snprintf(cmd, sizeof cmd, "OCL_ICD_VENDORS='%s' '%s' generate --backend cpu --threads 1 --model '%s' "
             "--tokenizer '%s' --prompt 'Once upon a time' --steps 60", dir, TB_BINARY,
             TB_MODELS "stories260K/model.bin", TB_MODELS "stories260K/tokenizer.bin");
    rc = run(cmd, got, sizeof got, &got_len);
    want_len = tb_read_into(TB_MODELS "stories260K/greedy-once-upon-a-time-60.txt", want, sizeof want);
    CHECK(rc == 0 && got_len == want_len && !memcmp(got, want, (size_t)got_len));
    rmdir(dir);
    TB_MAIN_END();
}
