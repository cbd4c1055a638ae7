/* thermabench gate: placeholder until its issue lands; replaced, not extended. */
#include <stdio.h>

#include "cli.h"

int cmd_gate(int argc, char **argv)
{
    fprintf(stderr, "thermabench gate: not built yet\n");
    return TB_EXIT_USAGE;
}
