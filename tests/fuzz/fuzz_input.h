/* Shared by the fuzz targets: a fuzz input as a file path, for loaders that
 * open and map files. The bytes live in an anonymous memory file
 * (memfd_create), named /proc/self/fd/N: no disk, nothing left behind. */
#ifndef TB_FUZZ_INPUT_H
#define TB_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Writes data into a fresh memory file; *fd gets it (close it after), path
 * its name. 0 or -1. */
static inline int fuzz_input_file(const uint8_t *data, size_t size, int *fd, char *path, size_t cap)
{
    *fd = memfd_create("tb-fuzz", MFD_CLOEXEC);
    if (*fd < 0)
        return -1;
    size_t off = 0;
    while (off < size) {
        ssize_t w = write(*fd, data + off, size - off);
        if (w <= 0) {
            close(*fd);
            return -1;
        }
        off += (size_t)w;
    }
    snprintf(path, cap, "/proc/self/fd/%d", *fd);
    return 0;
}

#endif
