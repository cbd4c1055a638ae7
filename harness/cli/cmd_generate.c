/* thermabench generate: placeholder until its issue lands; replaced, not extended. */
#include <stdio.h>

#include "cli.h"

int cmd_generate(int argc, char **argv)
{
    fprintf(stderr, "thermabench generate: not built yet\n");
    return TB_EXIT_USAGE;
}
