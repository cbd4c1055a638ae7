/* thermabench roofline: placeholder until its issue lands; replaced, not extended. */
#include <stdio.h>

#include "cli.h"

int cmd_roofline(int argc, char **argv)
{
    fprintf(stderr, "thermabench roofline: not built yet\n");
    return TB_EXIT_USAGE;
}
