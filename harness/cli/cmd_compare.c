/* thermabench compare: per-variant statistics and A/B effects with a
 * one-line verdict, from one results file (several variants) or two. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "reports.h"

static const char *CMD = "compare";

static void usage(FILE *f)
{
    fprintf(f, "usage: thermabench compare RESULTS.json [CANDIDATE.json] [options]\n\n"
               "One file: every variant against the baseline (the first variant).\n"
               "Two files: the candidate file's variant against the first file's.\n\n"
               "  --baseline NAME    baseline variant\n"
               "  --candidate NAME   candidate variant (default: every other variant)\n"
               "  --detect PCT       also say how many runs would detect a change of PCT (e.g. 1%%)\n"
               "  --json             machine-readable output\n"
               "  -h, --help         this help\n");
}

typedef struct pair {
    const report_results *ra, *rb;
    const char *va, *vb;
} pair;

/* The shortest trailing part of each path (whole components) that tells
 * the two files apart: "base/results.json" and "new/results.json" for two
 * files both called results.json; "baseline file" and "candidate file" when
 * both name the same file. */
static void distinct_suffixes(const char *pa, const char *pb, char *oa, char *ob, size_t n)
{
    char ra[4096], rb[4096];
    const char *a = realpath(pa, ra) ? ra : pa, *b = realpath(pb, rb) ? rb : pb;
    if (!strcmp(a, b)) {
        snprintf(oa, n, "baseline file");
        snprintf(ob, n, "candidate file");
        return;
    }
    size_t la = strlen(a), lb = strlen(b);
    const char *sa = a + la, *sb = b + lb;
    /* widen by one component at a time until the suffixes differ */
    for (;;) {
        const char *na = sa, *nb = sb;
        while (na > a && *(na - 1) == '/') na--;
        while (na > a && *(na - 1) != '/') na--;
        while (nb > b && *(nb - 1) == '/') nb--;
        while (nb > b && *(nb - 1) != '/') nb--;
        sa = na, sb = nb;
        if (strcmp(sa, sb) || (sa == a && sb == b)) break;
    }
    /* keep the end of a long suffix: that is where they differ least often */
    size_t ka = strlen(sa), kb = strlen(sb), max = n > 4 ? n - 4 : 0;
    snprintf(oa, n, "%s%s", ka > max ? "..." : "", ka > max ? sa + ka - max : sa);
    snprintf(ob, n, "%s%s", kb > max ? "..." : "", kb > max ? sb + kb - max : sb);
}

/* Tells apart same-named variants from two files: "A (base/results.json)". */
static void label(report_variant_stats *s, const char *suffix)
{
    char name[REPORT_NAME_MAX];
    snprintf(name, sizeof name, "%.20s (%.40s)", s->name, suffix);
    memcpy(s->name, name, sizeof name);
}

static int make_pairs(report_results *r, int nfiles, const char *base, const char *cand, pair *p, int max)
{
    const report_results *ra = &r[0], *rb = &r[nfiles - 1];
    int n = 0;
    if (nfiles == 1) {
        const char *va = base ? base : ra->variants[0];
        for (int i = 0; i < ra->nvariants && n < max; i++) {
            const char *vb = ra->variants[i];
            if (strcmp(vb, va) && (!cand || !strcmp(vb, cand)))
                p[n++] = (pair){ra, ra, va, vb};
        }
        return n;
    }
    if (base || cand || (ra->nvariants == 1 && rb->nvariants == 1)) {
        p[n++] = (pair){ra, rb, base ? base : ra->variants[0], cand ? cand : (base ? base : rb->variants[0])};
        return n;
    }
    for (int i = 0; i < ra->nvariants && n < max; i++)
        for (int j = 0; j < rb->nvariants; j++)
            if (!strcmp(ra->variants[i], rb->variants[j]))
                p[n++] = (pair){ra, rb, ra->variants[i], rb->variants[j]};
    return n;
}

static int run(report_results *r, int nfiles, const char *base, const char *cand, bool json, double detect)
{
    pair p[REPORT_MAX_VARIANTS];
    int np = make_pairs(r, nfiles, base, cand, p, REPORT_MAX_VARIANTS);
    if (np == 0) {
        fprintf(stderr, "thermabench compare: nothing to compare (need two variants; %s has %d)\n", r[0].path,
                r[0].nvariants);
        return TB_EXIT_USAGE;
    }
    report_comparison *c = calloc((size_t)np, sizeof *c);
    double pv[REPORT_MAX_VARIANTS], adj[REPORT_MAX_VARIANTS];
    int ok = 0;
    for (int i = 0; i < np; i++) {
        report_error err;
        if (report_compare(p[i].ra, p[i].va, p[i].rb, p[i].vb, &c[ok], &err) < 0) {
            fprintf(stderr, "thermabench compare: %s\n", err.msg);
            continue;
        }
        if (nfiles == 2 && !strcmp(p[i].va, p[i].vb)) {
            char sa[41], sb[41];
            distinct_suffixes(p[i].ra->path, p[i].rb->path, sa, sb, sizeof sa);
            label(&c[ok].a, sa);
            label(&c[ok].b, sb);
        }
        pv[ok] = c[ok].welch.p;
        ok++;
    }
    if (!ok) {
        free(c);
        return TB_EXIT_USAGE;
    }
    report_holm(pv, (size_t)ok, adj);
    const char *metric = r[0].metric_name, *unit = r[0].metric_unit;
    if (json) {
        printf("{\"comparisons\": [\n");
        for (int i = 0; i < ok; i++) {
            char *t = report_comparison_json(&c[i], metric, unit);
            printf("%s%s\n", t ? t : "null", i + 1 < ok ? "," : "");
            free(t);
        }
        printf("], \"holm_adjusted_welch_p\": [");
        for (int i = 0; i < ok; i++)
            printf("%s%.6g", i ? ", " : "", adj[i]);
        printf("]}\n");
    } else {
        report_variant_stats vs[REPORT_MAX_VARIANTS + 1];
        int nv = 0;
        vs[nv++] = c[0].a;
        for (int i = 0; i < ok; i++)
            vs[nv++] = c[i].b;
        report_print_variants(stdout, vs, nv, metric, unit, false);
        for (int i = 0; i < ok; i++) {
            report_print_comparison(stdout, &c[i], false);
            if (ok > 1)
                printf("  (Welch p adjusted for %d comparisons, Holm: %.3g)\n\n", ok, adj[i]);
            if (detect > 0) {
                const report_summary *sa = &c[i].a.s, *sb = &c[i].b.s;
                double cv = sqrt((sa->cv * sa->cv + sb->cv * sb->cv) / 2);
                printf("  runs per variant to detect a %.3g%% change at this noise (alpha 0.05, power 0.8): %d\n\n",
                       100 * detect, report_runs_needed(cv, detect, 0.05, 0.8));
            }
        }
    }
    free(c);
    return TB_EXIT_OK;
}

int cmd_compare(int argc, char **argv)
{
    const char *files[2] = {0}, *base = NULL, *cand = NULL;
    int nfiles = 0;
    bool json = false;
    double detect = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return TB_EXIT_OK;
        } else if (!strcmp(a, "--json")) {
            json = true;
        } else if (!strcmp(a, "--detect")) {
            char buf[64];
            snprintf(buf, sizeof buf, "%s", i + 1 < argc ? argv[++i] : "");
            size_t n = strlen(buf);
            if (n && buf[n - 1] == '%')
                buf[n - 1] = 0;
            if (cli_parse_double(CMD, "--detect", buf, 0.01, 1000, &detect) < 0)
                return TB_EXIT_USAGE;
            detect /= 100;
        } else if (!strcmp(a, "--baseline") || !strcmp(a, "--candidate")) {
            if (i + 1 >= argc) {
                cli_usage_error(CMD, "%s needs a variant name", a);
                return TB_EXIT_USAGE;
            }
            *(a[2] == 'b' ? &base : &cand) = argv[++i];
        } else if (a[0] == '-' && a[1]) {
            cli_usage_error(CMD, "unknown option '%s'", a);
            return TB_EXIT_USAGE;
        } else if (nfiles < 2) {
            files[nfiles++] = a;
        } else {
            cli_usage_error(CMD, "at most two results files");
            return TB_EXIT_USAGE;
        }
    }
    if (!nfiles) {
        cli_usage_error(CMD, "which results file?");
        return TB_EXIT_USAGE;
    }
    report_results r[2];
    for (int i = 0; i < nfiles; i++) {
        report_error err;
        if (report_results_load(files[i], &r[i], &err) < 0) {
            fprintf(stderr, "thermabench compare: %s\n", err.msg);
            for (int k = 0; k < i; k++)
                report_results_free(&r[k]);
            return TB_EXIT_USAGE;
        }
    }
    int rc = TB_EXIT_USAGE;
    if (nfiles == 2 && strcmp(r[0].metric_name, r[1].metric_name))
        fprintf(stderr, "thermabench compare: primary metrics differ: %s has '%s', %s has '%s'\n", files[0],
                r[0].metric_name, files[1], r[1].metric_name);
    else
        rc = run(r, nfiles, base, cand, json, detect);
    for (int i = 0; i < nfiles; i++)
        report_results_free(&r[i]);
    return rc;
}
