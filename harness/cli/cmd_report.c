/* thermabench report: placeholder until its issue lands; replaced, not extended. */
#include <stdio.h>

#include "cli.h"

int cmd_report(int argc, char **argv)
{
    fprintf(stderr, "thermabench report: not built yet\n");
    return TB_EXIT_USAGE;
}
