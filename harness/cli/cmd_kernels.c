/* thermabench kernels: placeholder until its issue lands; replaced, not extended. */
#include <stdio.h>

#include "cli.h"

int cmd_kernels(int argc, char **argv)
{
    fprintf(stderr, "thermabench kernels: not built yet\n");
    return TB_EXIT_USAGE;
}
