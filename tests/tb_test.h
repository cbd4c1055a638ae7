/* A minimal test harness: CHECK records a failure with its location and
 * goes on; TB_MAIN_END prints "N passed, N failed" and sets the exit code. */
#ifndef TB_TEST_H
#define TB_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tb_passed, tb_failed;

#define CHECK(cond) do { \
    if (cond) tb_passed++; \
    else { tb_failed++; fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); } \
} while (0)

#define CHECKF(cond, ...) do { \
    if (cond) tb_passed++; \
    else { tb_failed++; fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond); \
           fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } \
} while (0)

#define CHECK_NEAR(a, b, tol) do { \
    double tb_a_ = (a), tb_b_ = (b); \
    if (fabs(tb_a_ - tb_b_) <= (tol)) tb_passed++; \
    else { tb_failed++; fprintf(stderr, "%s:%d: %s = %.10g, expected %.10g (tol %g)\n", \
           __FILE__, __LINE__, #a, tb_a_, tb_b_, (double)(tol)); } \
} while (0)

#define CHECK_STR(a, b) do { \
    const char *tb_a_ = (a), *tb_b_ = (b); \
    if (tb_a_ && tb_b_ && !strcmp(tb_a_, tb_b_)) tb_passed++; \
    else { tb_failed++; fprintf(stderr, "%s:%d: %s = \"%s\", expected \"%s\"\n", \
           __FILE__, __LINE__, #a, tb_a_ ? tb_a_ : "(null)", tb_b_ ? tb_b_ : "(null)"); } \
} while (0)

#define TB_MAIN_END() do { \
    printf("%d passed, %d failed\n", tb_passed, tb_failed); \
    return tb_failed ? 1 : 0; \
} while (0)

/* A whole file, malloc'd and NUL-terminated; NULL if it cannot be read.
 * len (may be NULL) gets its size. */
static inline char *tb_read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    if (b) {
        b[n] = 0;
        if (len)
            *len = (size_t)n;
    }
    return b;
}

/* Exit code ctest reads as "skipped" (SKIP_RETURN_CODE). */
#define TB_SKIP 77

#endif
