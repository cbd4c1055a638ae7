/* Without the OpenCL ICD loader (THERMABENCH_OPENCL_LIBRARY pointing at a
 * file that does not exist) the OpenCL backend fails with a clear message
 * and the CPU path of the same process still works. */
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "tb_test.h"

int main(void)
{
    setenv("THERMABENCH_OPENCL_LIBRARY", "/nonexistent/libOpenCL.so.1", 1);
    engine_opencl_device d;
    engine_error err = {0};
    CHECK(engine_opencl_devices(&d, 1, &err) == -1);
    CHECK(err.kind == ENGINE_ERR_UNSUPPORTED);
    CHECKF(strstr(err.msg, "ICD loader") && strstr(err.msg, "--backend cpu"), "%s", err.msg);

    engine_model *m = NULL;
    CHECKF(engine_model_load(TB_SHARED_DIR "/models/aidreams260K/model.bin", &m, &err) == 0, "%s", err.msg);
    if (m) {
        engine_options o;
        engine_options_default(&o);
        strcpy(o.backend, "opencl");
        engine_session *s = NULL;
        CHECK(engine_session_create(m, &o, &s, &err) == -1 && err.kind == ENGINE_ERR_UNSUPPORTED);
        CHECKF(strstr(err.msg, "ICD loader") != NULL, "%s", err.msg);
        strcpy(o.backend, "cpu");
        o.threads = 1;
        CHECKF(engine_session_create(m, &o, &s, &err) == 0, "%s", err.msg);
        if (s) {
            /* BOS then "The": the logits are finite and the greedy pick is in range. */
            int tok[2] = {1, 400}, seq[2] = {0, 0}, pos[2] = {0, 1};
            engine_batch b = {2, tok, seq, pos, NULL};
            static float logits[512];
            CHECKF(engine_forward(s, &b, logits, &err) == 0, "%s", err.msg);
            int best = 0;
            for (int i = 1; i < m->cfg.vocab_size; i++)
                if (logits[i] > logits[best])
                    best = i;
            CHECK(isfinite(logits[best]) && best >= 0 && best < m->cfg.vocab_size);
        }
        engine_session_free(s);
    }
    engine_model_free(m);
    TB_MAIN_END();
}
