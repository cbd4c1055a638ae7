/* thermabench bench: placeholder until its issue lands; replaced, not extended. */
#include <stdio.h>

#include "cli.h"

int cmd_bench(int argc, char **argv)
{
    fprintf(stderr, "thermabench bench: not built yet\n");
    return TB_EXIT_USAGE;
}
