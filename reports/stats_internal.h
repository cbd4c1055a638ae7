/* Helpers shared inside reports/ (not part of the public header). */
#ifndef THERMABENCH_STATS_INTERNAL_H
#define THERMABENCH_STATS_INTERNAL_H

#include <stddef.h>

double *stats_sorted_copy(const double *x, size_t n);   /* malloc'd, ascending */
void stats_sort(double *x, size_t n);
double stats_quantile_sorted(const double *s, size_t n, double p);

#endif
