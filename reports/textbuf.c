/* A growable text buffer: the report is assembled in memory, then written
 * atomically. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "stats_internal.h"

static int grow(textbuf *b, size_t need)
{
    if (b->oom)
        return -1;
    if (b->len + need + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + need + 1)
        cap *= 2;
    char *s = realloc(b->s, cap);
    if (!s) {
        b->oom = 1;
        return -1;
    }
    b->s = s;
    b->cap = cap;
    return 0;
}

void tb_printf(textbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || grow(b, (size_t)n) < 0)
        return;
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void tb_puts(textbuf *b, const char *s)
{
    size_t n = strlen(s);
    if (grow(b, n) < 0)
        return;
    memcpy(b->s + b->len, s, n + 1);
    b->len += n;
}

void tb_html(textbuf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': tb_puts(b, "&lt;"); break;
        case '>': tb_puts(b, "&gt;"); break;
        case '&': tb_puts(b, "&amp;"); break;
        case '"': tb_puts(b, "&quot;"); break;
        default: {
            char c[2] = {*s, 0};
            tb_puts(b, c);
        }
        }
    }
}

void tb_free(textbuf *b)
{
    free(b->s);
    memset(b, 0, sizeof *b);
}
