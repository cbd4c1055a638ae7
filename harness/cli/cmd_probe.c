/* thermabench probe: placeholder until its issue lands; replaced, not extended. */
#include <stdio.h>

#include "cli.h"

int cmd_probe(int argc, char **argv)
{
    fprintf(stderr, "thermabench probe: not built yet\n");
    return TB_EXIT_USAGE;
}
