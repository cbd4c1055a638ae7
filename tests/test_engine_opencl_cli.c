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
#include "tb_test.h"

#define M TB_SHARED_DIR "/models/"

static long read_all(FILE *f, char *buf, size_t cap)
{
    size_t n = 0, r;
    while (n < cap && (r = fread(buf + n, 1, cap - n, f)) > 0)
        n += r;
    return (long)n;
}

static long read_file(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    long n = read_all(f, buf, cap);
    fclose(f);
    return n;
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

static const struct {
    const char *model, *tokenizer, *prompt;
    int steps;
    const char *expected;
} cases[] = {
    {M "aidreams260K/model.bin", M "aidreams260K/tokenizer.bin", "", 128, M "aidreams260K/greedy-bos-128.txt"},
    {M "aidreams260K/model.bin", M "aidreams260K/tokenizer.bin", "The machine", 64,
     M "aidreams260K/greedy-the-machine-64.txt"},
    {M "aidreams260K/model.bin", M "aidreams260K/tokenizer.bin", "Echoes of light", 100,
     M "aidreams260K/greedy-echoes-of-light-100.txt"},
    {M "stories260K/model.bin", M "stories260K/tokenizer.bin", "", 200, M "stories260K/greedy-bos-200.txt"},
    {M "stories260K/model.bin", M "stories260K/tokenizer.bin", "Once upon a time", 60,
     M "stories260K/greedy-once-upon-a-time-60.txt"},
    {M "stories260K/model.gguf", NULL, "Once upon a time", 60, M "stories260K/greedy-once-upon-a-time-60.txt"},
};

int main(void)
{
    static char want[8192], got[8192], cmd[2048];
    long want_len, got_len;
    engine_opencl_device d;
    engine_error err = {0};
    if (engine_opencl_devices(&d, 1, &err) >= 1) {
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            want_len = read_file(cases[i].expected, want, sizeof want);
            CHECKF(want_len > 0, "missing %s", cases[i].expected);
            int n = snprintf(cmd, sizeof cmd, "'%s' generate --backend opencl --model '%s' --prompt '%s' --steps %d",
                             TB_BINARY, cases[i].model, cases[i].prompt, cases[i].steps);
            if (cases[i].tokenizer)
                snprintf(cmd + n, sizeof cmd - n, " --tokenizer '%s'", cases[i].tokenizer);
            int rc = run(cmd, got, sizeof got, &got_len);
            CHECKF(rc == 0, "%s: exit %d", cmd, rc);
            CHECKF(got_len == want_len && !memcmp(got, want, (size_t)got_len), "%s: got %ld bytes:\n%.*s", cmd,
                   got_len, (int)got_len, got);
        }
    } else {
        fprintf(stderr, "no OpenCL device (%s): only the no-platform checks run\n", err.msg);
    }

    /* No platform: the ICD loader pointed at an empty vendor directory. */
    char dir[] = "/tmp/tb-no-opencl-cli-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    snprintf(cmd, sizeof cmd, "OCL_ICD_VENDORS='%s' '%s' generate --backend opencl --model '%s' --tokenizer '%s' "
             "--prompt 'Once upon a time' --steps 60 2>&1", dir, TB_BINARY, M "stories260K/model.bin",
             M "stories260K/tokenizer.bin");
    int rc = run(cmd, got, sizeof got - 1, &got_len);
    got[got_len > 0 ? got_len : 0] = 0;
    CHECKF(rc == 2, "exit %d: %s", rc, got);
    CHECKF(strstr(got, "thermabench generate:") && strstr(got, "no platform"), "%s", got);
    snprintf(cmd, sizeof cmd, "OCL_ICD_VENDORS='%s' '%s' generate --backend cpu --threads 1 --model '%s' "
             "--tokenizer '%s' --prompt 'Once upon a time' --steps 60", dir, TB_BINARY,
             M "stories260K/model.bin", M "stories260K/tokenizer.bin");
    rc = run(cmd, got, sizeof got, &got_len);
    want_len = read_file(M "stories260K/greedy-once-upon-a-time-60.txt", want, sizeof want);
    CHECK(rc == 0 && got_len == want_len && !memcmp(got, want, (size_t)got_len));
    rmdir(dir);
    TB_MAIN_END();
}
