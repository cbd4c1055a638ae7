/* thermabench model: placeholder until its issue lands; replaced, not extended. */
#include <stdio.h>

#include "cli.h"

int cmd_model(int argc, char **argv)
{
    fprintf(stderr, "thermabench model: not built yet\n");
    return TB_EXIT_USAGE;
}
