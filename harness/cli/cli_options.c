/* One option table per subcommand: getopt_long parses it (--opt=value,
 * --opt value, -o value, unambiguous prefixes) and the same table prints the
 * command's --help, so the two cannot drift apart. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define CLI_LONG_BASE 1000

static size_t count(const cli_option *o)
{
    size_t n = 0;
    while (o[n].name) n++;
    return n;
}

int cli_parser_init(cli_parser *p, const char *cmd, const cli_option *opts, int argc, char **argv)
{
    memset(p, 0, sizeof *p);
    p->cmd = cmd, p->opts = opts, p->argc = argc, p->argv = argv;
    size_t n = count(opts);
    p->longopts = calloc(n + 1, sizeof *p->longopts);
    if (!p->longopts) return -1;
    size_t k = 0;
    p->shortopts[k++] = ':';   /* ':' reports a missing value apart from an unknown option */
    for (size_t i = 0; i < n; i++) {
        p->longopts[i] = (struct option){opts[i].name, opts[i].arg ? required_argument : no_argument, NULL,
                                         CLI_LONG_BASE + (int)i};
        if (opts[i].short_name && k + 3 < sizeof p->shortopts) {
            p->shortopts[k++] = (char)opts[i].short_name;
            if (opts[i].arg) p->shortopts[k++] = ':';
        }
    }
    p->shortopts[k] = 0;
    optind = 0;   /* glibc: a full re-initialisation */
    opterr = 0;
    return 0;
}

void cli_parser_free(cli_parser *p)
{
    free(p->longopts);
    p->longopts = NULL;
}

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), row[64];
    if (lb >= 64 || la >= 64) return 99;
    for (size_t j = 0; j <= lb; j++) row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* The option nearest to a mistyped one, or NULL when none is close. */
static const char *nearest(const cli_option *opts, const char *name)
{
    const char *best = NULL;
    size_t best_d = 99;
    for (size_t i = 0; opts[i].name; i++) {
        size_t d = edit_distance(name, opts[i].name);
        if (d < best_d) best_d = d, best = opts[i].name;
    }
    size_t len = strlen(name);
    return best && best_d <= (len > 6 ? len / 3 : 2) ? best : NULL;
}

static int index_of_short(const cli_parser *p, int c)
{
    for (size_t i = 0; p->opts[i].name; i++)
        if (p->opts[i].short_name == c) return (int)i;
    return -1;
}

int cli_next(cli_parser *p, const char **value)
{
    *value = NULL;
    int c = getopt_long(p->argc, p->argv, p->shortopts, p->longopts, NULL);
    if (c == -1) return CLI_END;
    if (c >= CLI_LONG_BASE) {
        *value = optarg;
        return c - CLI_LONG_BASE;
    }
    if (c != '?' && c != ':') {
        *value = optarg;
        return index_of_short(p, c);
    }
    const char *bad = optind > 0 && optind <= p->argc ? p->argv[optind - 1] : "?";
    if (c == ':') {
        int i = optopt >= CLI_LONG_BASE ? optopt - CLI_LONG_BASE : index_of_short(p, optopt);
        if (i >= 0)
            cli_usage_error(p->cmd, "--%s needs a value (%s)", p->opts[i].name, p->opts[i].arg);
        else
            cli_usage_error(p->cmd, "option '%s' needs a value", bad);
        return CLI_ERROR;
    }
    if (optopt && optopt < CLI_LONG_BASE && optopt != '?') {
        cli_usage_error(p->cmd, "unknown option '-%c'", optopt);
        return CLI_ERROR;
    }
    if (optopt >= CLI_LONG_BASE) {   /* a value given to a flag: --flag=x */
        cli_usage_error(p->cmd, "--%s takes no value (got '%s')", p->opts[optopt - CLI_LONG_BASE].name, bad);
        return CLI_ERROR;
    }
    char name[128];
    snprintf(name, sizeof name, "%s", bad + strspn(bad, "-"));
    name[strcspn(name, "=")] = 0;
    /* An abbreviation that fits several options. */
    char which[512] = "";
    int matches = 0;
    for (size_t i = 0; p->opts[i].name && name[0]; i++)
        if (!strncmp(p->opts[i].name, name, strlen(name))) {
            size_t l = strlen(which);
            snprintf(which + l, sizeof which - l, "%s--%s", matches++ ? ", " : "", p->opts[i].name);
        }
    if (matches > 1) {
        cli_usage_error(p->cmd, "ambiguous option '%s' (%s)", bad, which);
        return CLI_ERROR;
    }
    const char *near = nearest(p->opts, name);
    if (near) cli_usage_error(p->cmd, "unknown option '%s' (did you mean '--%s'?)", bad, near);
    else cli_usage_error(p->cmd, "unknown option '%s'", bad);
    return CLI_ERROR;
}

int cli_positional(const cli_parser *p) { (void)p; return optind; }

void cli_help(FILE *f, const char *usage, const cli_option *opts, const char *tail)
{
    fputs(usage, f);
    fputs("\noptions:\n", f);
    for (size_t i = 0; opts[i].name; i++) {
        char left[96];
        if (opts[i].short_name)
            snprintf(left, sizeof left, "-%c, --%s%s%s", opts[i].short_name, opts[i].name, opts[i].arg ? " " : "",
                     opts[i].arg ? opts[i].arg : "");
        else
            snprintf(left, sizeof left, "    --%s%s%s", opts[i].name, opts[i].arg ? " " : "", opts[i].arg ? opts[i].arg : "");
        /* Help text may hold line breaks: continuation lines line up. */
        const char *h = opts[i].help;
        if (strlen(left) > 26) fprintf(f, "  %s\n  %-26s ", left, "");
        else fprintf(f, "  %-26s ", left);
        for (; *h; h++) {
            fputc(*h, f);
            if (*h == '\n') fprintf(f, "  %-26s ", "");
        }
        fputc('\n', f);
    }
    if (tail) fputs(tail, f);
}
