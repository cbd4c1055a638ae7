/* With no OpenCL platform (the ICD loader pointed at an empty vendor
 * directory) the backend fails with a clear message and the CPU path still
 * produces the shared model's expected greedy text. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine.h"
#include "tb_test.h"

static void append(void *ctx, const char *b, size_t n)
{
    char *buf = ctx;
    size_t len = strlen(buf);
    if (len + n < 4096) {
        memcpy(buf + len, b, n);
        buf[len + n] = 0;
    }
}

int main(void)
{
    char dir[] = "/tmp/tb-no-opencl-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    setenv("OCL_ICD_VENDORS", dir, 1);   /* read by ocl-icd when the first call loads vendors */

    engine_opencl_device d;
    engine_error err = {0};
    CHECK(engine_opencl_devices(&d, 1, &err) == -1);
    CHECK(err.kind == ENGINE_ERR_UNSUPPORTED);
    CHECKF(strstr(err.msg, "no platform") || strstr(err.msg, "no OpenCL"), "%s", err.msg);

    engine_model *m = NULL;
    engine_tokenizer *t = NULL;
    CHECKF(engine_model_load(TB_SHARED_DIR "/models/stories260K/model.bin", &m, &err) == 0, "%s", err.msg);
    if (m)
        CHECKF(engine_tokenizer_load(TB_SHARED_DIR "/models/stories260K/tokenizer.bin", m->cfg.vocab_size, &t,
                                     &err) == 0, "%s", err.msg);
    if (m && t) {
        engine_options o;
        engine_options_default(&o);
        strcpy(o.backend, "opencl");
        engine_session *s = NULL;
        CHECK(engine_session_create(m, &o, &s, &err) == -1 && err.kind == ENGINE_ERR_UNSUPPORTED);
        CHECKF(strstr(err.msg, "--backend cpu") || strstr(err.msg, "no OpenCL"), "%s", err.msg);

        strcpy(o.backend, "cpu");
        o.threads = 1;
        o.max_seq_len = 60;
        CHECKF(engine_session_create(m, &o, &s, &err) == 0, "%s", err.msg);
        static char got[4096], want[4096];
        FILE *f = fopen(TB_SHARED_DIR "/models/stories260K/greedy-once-upon-a-time-60.txt", "rb");
        size_t n = f ? fread(want, 1, sizeof want - 1, f) : 0;
        if (f)
            fclose(f);
        CHECK(n > 0);
        engine_sampler sp;
        engine_sampler_init(&sp, 0, 1, 1);
        if (s)
            CHECKF(engine_generate(s, t, "Once upon a time", 60, 0, &sp, append, got, NULL, 0, NULL, &err) == 0,
                   "%s", err.msg);
        append(got, "\n", 1);
        CHECK_STR(got, want);
        engine_session_free(s);
    }
    engine_tokenizer_free(t);
    engine_model_free(m);
    rmdir(dir);
    TB_MAIN_END();
}
