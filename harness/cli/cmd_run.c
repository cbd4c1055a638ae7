/* thermabench run: placeholder until its issue lands; replaced, not extended. */
#include <stdio.h>

#include "cli.h"

int cmd_run(int argc, char **argv)
{
    fprintf(stderr, "thermabench run: not built yet\n");
    return TB_EXIT_USAGE;
}
