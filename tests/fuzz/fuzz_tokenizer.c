/* Fuzz target: llama2.c tokenizer.bin (engine_tokenizer_load). The file does
 * not say its vocabulary size, so each input is tried at the size of the
 * test models (512) and of the small seed (8); a tokenizer that loads encodes
 * a line with byte fallback and decodes it back. */
#include "engine.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd;
    char path[64];
    if (fuzz_input_file(data, size, &fd, path, sizeof path) < 0)
        return 0;
    static const int vocab[] = {512, 8};
    for (size_t k = 0; k < sizeof vocab / sizeof vocab[0]; k++) {
        engine_tokenizer *t = NULL;
        engine_error err;
        if (engine_tokenizer_load(path, vocab[k], &t, &err) != 0)
            continue;
        int ids[128], n = 0;
        if (engine_tokenizer_encode(t, "Once upon a time, \xc3\xa9\xe2\x82\xac <0x0A>\n", true, true, ids, 128, &n,
                                    &err) == 0)
            for (int i = 1; i < n; i++) {
                size_t len;
                engine_tokenizer_piece(t, ids[i - 1], ids[i], &len);
            }
        engine_tokenizer_free(t);
    }
    close(fd);
    return 0;
}
