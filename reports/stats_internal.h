/* Helpers shared inside reports/ (not part of the public header). */
#ifndef THERMABENCH_STATS_INTERNAL_H
#define THERMABENCH_STATS_INTERNAL_H

#include <stddef.h>

double *stats_sorted_copy(const double *x, size_t n);   /* malloc'd, ascending */
void stats_sort(double *x, size_t n);
double stats_quantile_sorted(const double *s, size_t n, double p);
/* The k-th smallest (1-based) of the differences sb[j] - sa[i] of two sorted
 * non-empty samples, without forming them: O((na + nb) * 64). */
double stats_pairwise_diff_kth(const double *sa, size_t na, const double *sb, size_t nb, double k);



#include <stdio.h>

/* Offset of the first byte of s[0, n) that is not well-formed UTF-8
 * (surrogates and overlong forms included), or n (report_escape.c). */
size_t report_utf8_invalid_at(const char *s, size_t n);

/* Writes path via path.tmp + fsync + rename. 0 or -1 with err set. */
struct report_error;
/* Formats the message into err; returns -1, for `return report_fail(...)`. */
int report_fail(struct report_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int report_write_atomic(const char *path, const char *data, size_t len, struct report_error *err);
#endif
