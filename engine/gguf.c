/* GGUF reader and writer (in progress). */
#include "engine.h"
#include "formats.h"

int formats_load_gguf(engine_model *m, const char *path, const uint8_t *data, size_t len,
                      engine_error *err)
{
    (void)m; (void)data; (void)len;
    return formats_error(err, ENGINE_ERR_UNSUPPORTED, "%s: GGUF reader not built yet", path);
}
