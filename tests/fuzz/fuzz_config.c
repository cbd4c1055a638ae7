/* Fuzz target: experiment configs (harness_config_load_text: JSON, every
 * field's validation, the metric regex subset, did-you-mean); a config that
 * loads is printed back as JSON and loaded again. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_input.h"
#include "harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = 0;
    harness_config *c = NULL;
    harness_error err;
    if (harness_config_load_text(text, "fuzz.json", &c, &err) == 0) {
        char *again = harness_config_to_json_text(c);
        harness_config *c2 = NULL;
        if (again && harness_config_load_text(again, "printed.json", &c2, &err) != 0)
            abort();        /* what the loader printed must load */
        free(c2);
        free(again);
        free(c);
    }
    free(text);
    return 0;
}
