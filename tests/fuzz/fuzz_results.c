/* Fuzz target: results files (report_results_load: UTF-8, JSON, schema,
 * ranges, names); a file that loads has every variant summarised, which
 * walks every run. */
#include "fuzz_input.h"
#include "reports.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd;
    char path[64];
    if (fuzz_input_file(data, size, &fd, path, sizeof path) < 0)
        return 0;
    report_results r;
    report_error err;
    if (report_results_load(path, &r, &err) == 0) {
        for (int v = 0; v < r.nvariants && v < 4; v++) {
            report_variant_stats s;
            report_variant_summary(&r, r.variants[v], &s);
        }
        report_results_free(&r);
    }
    close(fd);
    return 0;
}
