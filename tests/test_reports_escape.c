/* The escaping writers byte for byte: what each format gets for markup,
 * quotes, formulas, control characters and malformed UTF-8, and
 * report_fprintf escaping every %s while formatting numbers as printf does. */
#include <stdlib.h>

#include "reports.h"
#include "tb_test.h"

static char *esc(report_escape how, const char *s)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    report_put_escaped(f, how, s);
    fclose(f);
    return buf;
}

#define CHECK_ESC(how, in, want) do { \
    char *got_ = esc(how, in); \
    CHECK_STR(got_, want); \
    free(got_); \
} while (0)

#define FFFD "\xEF\xBF\xBD"

int main(void)
{
    CHECK_ESC(REPORT_ESC_HTML, "<p><script>alert(1)</script> (", "&lt;p&gt;&lt;script&gt;alert(1)&lt;/script&gt; (");
    CHECK_ESC(REPORT_ESC_HTML, "a\"b'c&d", "a&quot;b&#39;c&amp;d");
    CHECK_ESC(REPORT_ESC_HTML, "tab\tnl\nesc\x1b", "tab\tnl\nesc" FFFD);
    /* Malformed UTF-8: a lone continuation byte, a truncated sequence, an
     * overlong '/', 0xFF: each bad byte one U+FFFD; an encoded surrogate: one U+FFFD. */
    CHECK_ESC(REPORT_ESC_HTML, "\x80|\xE2\x82|\xC0\xAF|\xED\xA0\x80|\xFF|\xC3\xA9\xE2\x82\xAC",
              FFFD "|" FFFD FFFD "|" FFFD FFFD "|" FFFD "|" FFFD "|\xC3\xA9\xE2\x82\xAC");
    CHECK_ESC(REPORT_ESC_HTML, "\xE2\x80\xAE" "evil", FFFD "evil");      /* right-to-left override */
    CHECK_ESC(REPORT_ESC_XML_TEXT, "a<b>&\"]]>\x01\xEF\xBF\xBE", "a&lt;b&gt;&amp;&quot;]]&gt;" FFFD FFFD);
    CHECK_ESC(REPORT_ESC_XML_ATTR, "a\tb\nc\rd", "a&#9;b&#10;c&#13;d");
    CHECK_ESC(REPORT_ESC_MARKDOWN, "a | b\n# h", "a \\| b" FFFD "\\# h");
    CHECK_ESC(REPORT_ESC_MARKDOWN, "# heading", "\\# heading");
    CHECK_ESC(REPORT_ESC_MARKDOWN, "- item", "\\- item");
    CHECK_ESC(REPORT_ESC_MARKDOWN, "12. x", "12\\. x");
    CHECK_ESC(REPORT_ESC_MARKDOWN, "v1.2-rc", "v1.2-rc");
    CHECK_ESC(REPORT_ESC_MARKDOWN, "decode_tokens_per_s", "decode_tokens_per_s");
    CHECK_ESC(REPORT_ESC_MARKDOWN, "_x_ *y*", "\\_x\\_ \\*y\\*");
    CHECK_ESC(REPORT_ESC_MARKDOWN, "[l](javascript:x) <b>", "\\[l\\]\\(javascript\\:x\\) \\<b\\>");
    CHECK_ESC(REPORT_ESC_MARKDOWN, "see www.x.org", "see www\\.x.org");
    CHECK_ESC(REPORT_ESC_MARKDOWN, "a&amp;`c`", "a\\&amp;\\`c\\`");
    CHECK_ESC(REPORT_ESC_CSV, "plain", "\"plain\"");
    CHECK_ESC(REPORT_ESC_CSV, "say \"hi\", ok", "\"say \"\"hi\"\", ok\"");
    CHECK_ESC(REPORT_ESC_CSV, "=HYPERLINK(\"x\")", "\"'=HYPERLINK(\"\"x\"\")\"");
    CHECK_ESC(REPORT_ESC_CSV, "@SUM(1)", "\"'@SUM(1)\"");
    CHECK_ESC(REPORT_ESC_CSV, "-2+3", "\"'-2+3\"");
    CHECK_ESC(REPORT_ESC_CSV, "a=1", "\"a=1\"");
    CHECK_ESC(REPORT_ESC_CSV, "", "\"\"");
    CHECK_ESC(REPORT_ESC_GNUPLOT, "x'; system 'id'; '", "x''; system ''id''; ''");
    CHECK_ESC(REPORT_ESC_GNUPLOT, "a\nb", "a" FFFD "b");
    CHECK_ESC(REPORT_ESC_TERMINAL, "\x1b[31mred\x07", FFFD "[31mred" FFFD);

    /* report_fprintf: %s escaped (with width and precision), numbers as printf. */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    report_fprintf(f, REPORT_ESC_HTML, "<td>%s</td>|%-5s|%5s|%.2s|%d|%zu|%.3f|%+.1e|%5.1f%%|%ld|%llu|%x|%c|%*d|%-*s|",
                   "<b>", "a&", "z", "<<<", -7, (size_t)42, 3.14159, 12345.0, 99.44, -5L, 18446744073709551615ULL,
                   255u, 'q', 4, 7, 3, "<");
    fclose(f);
    CHECK_STR(buf, "<td>&lt;b&gt;</td>|a&amp;|    z|&lt;&lt;|-7|42|3.142|+1.2e+04| 99.4%|-5|18446744073709551615|ff|q|"
                   "   7|&lt;|");
    free(buf);
    TB_MAIN_END();
}
