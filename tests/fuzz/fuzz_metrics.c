/* Fuzz target: metric extraction from a command's output. The first line of
 * the input is a JSON path, the rest the output: harness_json_path_number
 * reads it by that path, and harness_regex_number by each regex of the
 * shipped configs' kinds (arbitrary regexes are the config loader's to
 * refuse: see fuzz_config). */
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
    char *out = strchr(text, '\n');
    if (out)
        *out++ = 0;
    else
        out = text + size;
    double v;
    harness_json_path_number(out, text, &v);
    static const char *const regexes[] = {"throughput: ([0-9.]+) tok/s", "speed = ([0-9.eE+-]+)",
                                          "(ab|cd)+ ([[:digit:].]+)", "t=([0-9]{1,3})\\s*ms"};
    for (size_t k = 0; k < sizeof regexes / sizeof regexes[0]; k++) {
        harness_error err;
        harness_regex_number(out, regexes[k], &v, &err);
    }
    free(text);
    return 0;
}
