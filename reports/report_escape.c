/* Escaping for every output format: any string that came from a user (a
 * results file, a config, a command line) reaches report.html, report.md,
 * runs.csv, JUnit, gnuplot scripts or a terminal through report_put_escaped
 * or report_fprintf, never through a bare format string.
 *
 * Every mode first decodes the input as UTF-8: invalid bytes, control
 * characters (C0 except where a mode keeps them, DEL, C1), surrogates,
 * noncharacters U+FFFE/U+FFFF and bidirectional overrides become U+FFFD, so
 * the output is valid UTF-8 and valid XML 1.0 characters whatever the input. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reports.h"
#include "stats_internal.h"

#define REPLACEMENT 0xFFFD

/* Decodes one code point at s (n bytes left, n >= 1); *len gets the bytes
 * consumed. Malformed or overlong sequences give REPLACEMENT and 1 byte. */
static unsigned decode_utf8(const unsigned char *s, size_t n, size_t *len)
{
    *len = 1;
    if (s[0] < 0x80)
        return s[0];
    int need = s[0] >= 0xF0 && s[0] <= 0xF4 ? 3 : s[0] >= 0xE0 ? (s[0] <= 0xEF ? 2 : -1) : s[0] >= 0xC2 ? 1 : -1;
    if (need < 0 || (size_t)need >= n)
        return REPLACEMENT;
    unsigned cp = s[0] & (0x3F >> need);
    for (int i = 1; i <= need; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return REPLACEMENT;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    static const unsigned min[4] = {0, 0x80, 0x800, 0x10000};
    if (cp < min[need] || cp > 0x10FFFF)
        return REPLACEMENT;
    *len = (size_t)need + 1;
    return cp;
}

size_t report_utf8_invalid_at(const char *text, size_t n)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t len;
    for (size_t i = 0; i < n; i += len) {
        unsigned cp = decode_utf8(s + i, n - i, &len);
        if ((cp == REPLACEMENT && len == 1) || (cp >= 0xD800 && cp <= 0xDFFF) || s[i] == 0)
            return i;
    }
    return n;
}

static void put_utf8(FILE *f, unsigned cp)
{
    if (cp < 0x80) {
        fputc((int)cp, f);
    } else if (cp < 0x800) {
        fputc((int)(0xC0 | cp >> 6), f);
        fputc((int)(0x80 | (cp & 0x3F)), f);
    } else if (cp < 0x10000) {
        fputc((int)(0xE0 | cp >> 12), f);
        fputc((int)(0x80 | (cp >> 6 & 0x3F)), f);
        fputc((int)(0x80 | (cp & 0x3F)), f);
    } else {
        fputc((int)(0xF0 | cp >> 18), f);
        fputc((int)(0x80 | (cp >> 12 & 0x3F)), f);
        fputc((int)(0x80 | (cp >> 6 & 0x3F)), f);
        fputc((int)(0x80 | (cp & 0x3F)), f);
    }
}

/* Characters no output keeps: controls, surrogates, noncharacters, and the
 * bidirectional overrides that reorder what a reader sees. */
static int unwanted(unsigned cp)
{
    return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || (cp >= 0xD800 && cp <= 0xDFFF) || cp == 0xFFFE ||
           cp == 0xFFFF || (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

static int is_alnum(unsigned cp)
{
    return (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z');
}

/* Markdown (CommonMark, GitHub's tables and autolinks): a backslash before
 * every character that can start markup anywhere (':' too, so no "http://"
 * or "javascript:" becomes a link, and the '.' of "www." for the same
 * reason), and before those that start a block (list, heading, quote) when
 * they open the text; '_' inside a word cannot start emphasis and stays as it
 * is. Line breaks are already gone, so the text cannot leave its table cell,
 * list item or paragraph. */
typedef struct md_state {
    unsigned prev[3];       /* the last three code points, newest first */
    int digits_only;        /* everything so far was a digit */
} md_state;

static void put_markdown(FILE *f, unsigned cp, unsigned next, size_t pos, md_state *m)
{
    int esc = cp < 0x80 && strchr("\\`*[]<>()#!|~&$@:", (int)cp) != NULL;
    if (cp == '_')
        esc = !(is_alnum(m->prev[0]) && is_alnum(next));
    if (pos == 0 && (cp == '-' || cp == '+' || cp == '='))
        esc = 1;
    if (m->digits_only && pos > 0 && (cp == '.' || cp == ')'))
        esc = 1;                     /* "1." or "1)" opening the text: an ordered list */
    if (cp == '.' && (m->prev[0] | 0x20) == 'w' && (m->prev[1] | 0x20) == 'w' && (m->prev[2] | 0x20) == 'w')
        esc = 1;
    if (!(cp >= '0' && cp <= '9'))
        m->digits_only = 0;
    if (esc)
        fputc('\\', f);
    put_utf8(f, cp);
    m->prev[2] = m->prev[1];
    m->prev[1] = m->prev[0];
    m->prev[0] = cp;
}

static int needs_formula_guard(unsigned first)
{
    /* Spreadsheets evaluate a cell starting with these as a formula. */
    return first == '=' || first == '+' || first == '-' || first == '@' || first == 0x09 || first == 0x0D ||
           first == 0xFF1D /* fullwidth = */ || first == 0xFF0B || first == 0xFF0D || first == 0xFF20;
}

void report_put_escaped(FILE *f, report_escape how, const char *text)
{
    const unsigned char *s = (const unsigned char *)(text ? text : "");
    size_t n = strlen((const char *)s), len;
    if (how == REPORT_ESC_CSV) {
        fputc('"', f);
        if (n && needs_formula_guard(decode_utf8(s, n, &len)))
            fputc('\'', f);
    }
    md_state md = {{0, 0, 0}, 1};
    for (size_t i = 0; i < n; i += len) {
        unsigned cp = decode_utf8(s + i, n - i, &len), next = 0;
        size_t nlen;
        if (i + len < n)
            next = decode_utf8(s + i + len, n - i - len, &nlen);
        int keep_ws = (how == REPORT_ESC_XML_TEXT || how == REPORT_ESC_HTML) && (cp == '\n' || cp == '\t');
        if (how == REPORT_ESC_XML_ATTR && (cp == '\n' || cp == '\t' || cp == '\r')) {
            fprintf(f, "&#%u;", cp);     /* kept, not normalised to a space by the parser */
            continue;
        }
        if (unwanted(cp) && !keep_ws)
            cp = REPLACEMENT;
        switch (how) {
        case REPORT_ESC_HTML:
        case REPORT_ESC_XML_TEXT:
        case REPORT_ESC_XML_ATTR:
            if (cp == '<') fputs("&lt;", f);
            else if (cp == '>') fputs("&gt;", f);
            else if (cp == '&') fputs("&amp;", f);
            else if (cp == '"') fputs("&quot;", f);
            else if (cp == '\'') fputs("&#39;", f);
            else put_utf8(f, cp);
            break;
        case REPORT_ESC_MARKDOWN:
            put_markdown(f, cp, next, i, &md);
            break;
        case REPORT_ESC_CSV:
            if (cp == '"')
                fputc('"', f);
            put_utf8(f, cp);
            break;
        case REPORT_ESC_GNUPLOT:
            if (cp == '\'')
                fputc('\'', f);      /* '' is a quote inside a single-quoted gnuplot string */
            put_utf8(f, cp);
            break;
        case REPORT_ESC_TERMINAL:
        default:
            put_utf8(f, cp);
            break;
        }
    }
    if (how == REPORT_ESC_CSV)
        fputc('"', f);
}

/* Formats one conversion (spec is "%...X" without '*') with its argument. */
static void put_number(FILE *f, const char *spec, char conv, const char *lenmod, va_list *ap)
{
    char buf[512];
    if (strchr("diouxXc", conv)) {
        if (!strcmp(lenmod, "l")) {
            if (conv == 'd' || conv == 'i') snprintf(buf, sizeof buf, spec, va_arg(*ap, long));
            else snprintf(buf, sizeof buf, spec, va_arg(*ap, unsigned long));
        } else if (!strcmp(lenmod, "ll")) {
            if (conv == 'd' || conv == 'i') snprintf(buf, sizeof buf, spec, va_arg(*ap, long long));
            else snprintf(buf, sizeof buf, spec, va_arg(*ap, unsigned long long));
        } else if (!strcmp(lenmod, "z")) {
            snprintf(buf, sizeof buf, spec, va_arg(*ap, size_t));
        } else if (!strcmp(lenmod, "j")) {
            snprintf(buf, sizeof buf, spec, va_arg(*ap, long long));
        } else if (conv == 'd' || conv == 'i' || conv == 'c') {
            snprintf(buf, sizeof buf, spec, va_arg(*ap, int));
        } else {
            snprintf(buf, sizeof buf, spec, va_arg(*ap, unsigned));
        }
    } else if (strchr("fFeEgGaA", conv)) {
        if (!strcmp(lenmod, "L"))
            snprintf(buf, sizeof buf, spec, va_arg(*ap, long double));
        else
            snprintf(buf, sizeof buf, spec, va_arg(*ap, double));
    } else if (conv == 'p') {
        snprintf(buf, sizeof buf, spec, va_arg(*ap, void *));
    } else {
        return;     /* %n and unknown conversions write nothing */
    }
    fputs(buf, f);
}

int report_vfprintf(FILE *f, report_escape how, const char *fmt, va_list ap)
{
    va_list cp;
    va_copy(cp, ap);
    for (const char *p = fmt; *p; p++) {
        if (*p != '%') {
            fputc(*p, f);
            continue;
        }
        if (p[1] == '%') {
            fputc('%', f);
            p++;
            continue;
        }
        /* %[flags][width][.precision][length]conversion; '*' read from the arguments. */
        char spec[64];
        size_t k = 0;
        int width = -1, prec = -1, left = 0;
        spec[k++] = *p++;
        while (*p && strchr("-+ #0'", *p)) {
            left |= *p == '-';
            if (k < 40) spec[k++] = *p;
            p++;
        }
        if (*p == '*') {
            width = va_arg(cp, int);
            left |= width < 0;
            k += (size_t)snprintf(spec + k, sizeof spec - k, "%d", width);
            p++;
        } else {
            if (*p >= '0' && *p <= '9')
                width = atoi(p);
            while (*p >= '0' && *p <= '9') {
                if (k < 50) spec[k++] = *p;
                p++;
            }
        }
        if (*p == '.') {
            p++;
            if (*p == '*') {
                prec = va_arg(cp, int);
                p++;
            } else {
                prec = atoi(p);
                while (*p >= '0' && *p <= '9')
                    p++;
            }
            if (k < 50)
                k += (size_t)snprintf(spec + k, sizeof spec - k, ".%d", prec < 0 ? 0 : prec);
        }
        char lenmod[4] = "";
        size_t lk = 0;
        while (*p && strchr("hlLzjt", *p) && lk < 2) {
            lenmod[lk++] = *p;
            spec[k++] = *p++;
        }
        lenmod[lk] = 0;
        char conv = *p;
        if (!conv)
            break;
        spec[k++] = conv;
        spec[k] = 0;
        if (conv == 's') {
            const char *s = va_arg(cp, const char *);
            char *esc = NULL, *trim = NULL;
            size_t elen = 0;
            if (s && prec >= 0)
                s = trim = strndup(s, (size_t)prec);
            FILE *m = open_memstream(&esc, &elen);
            if (m) {
                report_put_escaped(m, how, s ? s : "(null)");
                fclose(m);
            }
            int pad = width > 0 && (size_t)width > elen ? width - (int)elen : 0;
            for (int i = 0; !left && i < pad; i++)
                fputc(' ', f);
            if (esc)
                fputs(esc, f);
            for (int i = 0; left && i < pad; i++)
                fputc(' ', f);
            free(esc);
            free(trim);
        } else {
            put_number(f, spec, conv, lenmod, &cp);
        }
    }
    va_end(cp);
    return ferror(f) ? -1 : 0;
}

int report_fprintf(FILE *f, report_escape how, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = report_vfprintf(f, how, fmt, ap);
    va_end(ap);
    return rc;
}
