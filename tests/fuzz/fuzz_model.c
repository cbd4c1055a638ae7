/* Fuzz target: model files, GGUF and llama2.c checkpoints (engine_model_load
 * detects the format by content; the two corpora start it on each). A model
 * that loads also lists its tensors and, with an embedded vocabulary,
 * encodes and decodes a line. */
#include "engine.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd;
    char path[64];
    if (fuzz_input_file(data, size, &fd, path, sizeof path) < 0)
        return 0;
    engine_model *m = NULL;
    engine_error err;
    if (engine_model_load(path, &m, &err) == 0) {
        engine_tensor_row rows[512];
        engine_model_tensors(m, rows, 512);
        if (m->tokenizer) {
            int ids[64], n = 0;
            if (engine_tokenizer_encode(m->tokenizer, "Once upon a time", true, false, ids, 64, &n, &err) == 0)
                for (int i = 1; i < n; i++) {
                    size_t len;
                    engine_tokenizer_piece(m->tokenizer, ids[i - 1], ids[i], &len);
                }
        }
        engine_model_free(m);
    }
    close(fd);
    return 0;
}
