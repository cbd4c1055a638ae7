/* thermabench roofline: bad options exit 2 with a message; --json gives
 * plausible figures (positive; no FMA figure on a CPU without AVX2). */
#include <stdlib.h>
#include <sys/wait.h>

#include "tb_test.h"

static int run(const char *args, char *out, size_t cap)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' roofline %s 2>&1", TB_BINARY, args);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int main(void)
{
    char out[4096];
    CHECK(run("--threads 0", out, sizeof out) == 2);
    CHECK(strstr(out, "thermabench roofline: --threads") != NULL);
    CHECK(run("--bogus", out, sizeof out) == 2);
    CHECK(strstr(out, "unknown option '--bogus'") != NULL);
    CHECK(run("--repeats", out, sizeof out) == 2);
    CHECK(run("--help", out, sizeof out) == 0);
    CHECK(strstr(out, "usage: thermabench roofline") != NULL);
    CHECK(run("--threads 1 --repeats 1 --json", out, sizeof out) == 0);
    const char *r = strstr(out, "\"read_gb_per_s\":"), *f = strstr(out, "\"fma_gflop_per_s\":");
    CHECK(r && f);
    if (r && f) {
        double read = atof(r + strlen("\"read_gb_per_s\":")), fma = atof(f + strlen("\"fma_gflop_per_s\":"));
        CHECKF(read > 0.1 && read < 10000, "read %g GB/s", read);
        if (strstr(out, "\"isa\":\t\"scalar\"") || strstr(out, "\"isa\": \"scalar\""))
            CHECK(fma == 0); /* no vector FMA to measure */
        else
            CHECKF(fma > 1 && fma < 100000, "fma %g GFLOP/s", fma);
    }
    TB_MAIN_END();
}
