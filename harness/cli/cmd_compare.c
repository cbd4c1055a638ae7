/* thermabench compare: placeholder until its issue lands; replaced, not extended. */
#include <stdio.h>

#include "cli.h"

int cmd_compare(int argc, char **argv)
{
    fprintf(stderr, "thermabench compare: not built yet\n");
    return TB_EXIT_USAGE;
}
