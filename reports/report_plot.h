/* gnuplot plumbing for report.html (internal to reports/). */
#ifndef THERMABENCH_REPORT_PLOT_H
#define THERMABENCH_REPORT_PLOT_H

#include <stdio.h>

typedef struct plot_ctx {
    char dir[512];      /* private temporary directory */
    char why[512];      /* why plots are missing, for the report */
    int ok, count;
} plot_ctx;

int plot_begin(plot_ctx *p);                            /* -1: no gnuplot (why says so) */
FILE *plot_data(plot_ctx *p, const char *name);         /* a data file in the directory */
void plot_num(FILE *f, double v);                       /* " v" or " NaN" */
/* Runs the script (terminal and output are set here); returns the SVG text
 * (malloc'd, from "<svg") or NULL. */
char *plot_run(plot_ctx *p, const char *name, const char *script, int width, int height);
void plot_end(plot_ctx *p);
const char *plot_color(int i);

#endif
