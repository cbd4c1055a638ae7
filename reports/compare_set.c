/* Comparisons over one or two results files (thermabench compare): which
 * pairs of variants, each compared by report_compare() in compare.c, and the
 * Holm adjustment over them. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reports.h"
#include "stats_internal.h"

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
    const char *sa = a + strlen(a), *sb = b + strlen(b);
    /* widen by one component at a time until the suffixes differ */
    for (;;) {
        while (sa > a && *(sa - 1) == '/') sa--;
        while (sa > a && *(sa - 1) != '/') sa--;
        while (sb > b && *(sb - 1) == '/') sb--;
        while (sb > b && *(sb - 1) != '/') sb--;
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

static int make_pairs(const report_results *r, int nfiles, const char *base, const char *cand, pair *p, int max)
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

int report_compare_files(const report_results *r, int nfiles, const char *base, const char *cand,
                         report_comparison_set *out, report_error *err)
{
    memset(out, 0, sizeof *out);
    if (nfiles == 2 && strcmp(r[0].metric_name, r[1].metric_name))
        return report_fail(err, "primary metrics differ: %s has '%s', %s has '%s'", r[0].path, r[0].metric_name,
                           r[1].path, r[1].metric_name);
    pair p[REPORT_MAX_VARIANTS];
    int np = make_pairs(r, nfiles, base, cand, p, REPORT_MAX_VARIANTS);
    if (np == 0)
        return report_fail(err, "nothing to compare (need two variants; %s has %d)", r[0].path, r[0].nvariants);
    out->c = calloc((size_t)np, sizeof *out->c);
    if (!out->c)
        return report_fail(err, "out of memory");
    snprintf(out->metric, sizeof out->metric, "%s", r[0].metric_name);
    snprintf(out->unit, sizeof out->unit, "%s", r[0].metric_unit);
    double pv[REPORT_MAX_VARIANTS];
    for (int i = 0; i < np; i++) {
        report_comparison *c = &out->c[out->n];
        report_error e;
        if (report_compare(p[i].ra, p[i].va, p[i].rb, p[i].vb, c, &e) < 0) {
            snprintf(out->skipped[out->nskipped++], sizeof out->skipped[0], "%s", e.msg);
            continue;
        }
        if (nfiles == 2 && !strcmp(p[i].va, p[i].vb)) {
            char sa[41], sb[41];
            distinct_suffixes(p[i].ra->path, p[i].rb->path, sa, sb, sizeof sa);
            label(&c->a, sa);
            label(&c->b, sb);
        }
        pv[out->n++] = c->welch.p;
    }
    if (!out->n) {     /* the last reason becomes the error */
        snprintf(err->msg, sizeof err->msg, "%s", out->skipped[--out->nskipped]);
        report_comparison_set_free(out);
        return -1;
    }
    report_holm(pv, (size_t)out->n, out->holm_p);
    return 0;
}

void report_comparison_set_free(report_comparison_set *s)
{
    free(s->c);
    s->c = NULL;
    s->n = 0;
}

void report_comparison_set_print(FILE *f, const report_comparison_set *s, double detect)
{
    report_variant_stats vs[REPORT_MAX_VARIANTS + 1];
    int nv = 0;
    vs[nv++] = s->c[0].a;
    for (int i = 0; i < s->n; i++)
        vs[nv++] = s->c[i].b;
    report_print_variants(f, vs, nv, s->metric, s->unit, false);
    for (int i = 0; i < s->n; i++) {
        report_print_comparison(f, &s->c[i], false);
        if (s->n > 1)
            fprintf(f, "  (Welch p adjusted for %d comparisons, Holm: %.3g)\n\n", s->n, s->holm_p[i]);
        if (detect > 0) {
            const report_summary *sa = &s->c[i].a.s, *sb = &s->c[i].b.s;
            double cv = sqrt((sa->cv * sa->cv + sb->cv * sb->cv) / 2);
            fprintf(f, "  runs per variant to detect a %.3g%% change at this noise (alpha 0.05, power 0.8): %d\n\n",
                    100 * detect, report_runs_needed(cv, detect, 0.05, 0.8));
        }
    }
}

char *report_comparison_set_json(const report_comparison_set *s)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    fputs("{\"comparisons\": [\n", f);
    for (int i = 0; i < s->n; i++) {
        char *t = report_comparison_json(&s->c[i], s->metric, s->unit);
        fprintf(f, "%s%s\n", t ? t : "null", i + 1 < s->n ? "," : "");
        free(t);
    }
    fputs("], \"holm_adjusted_welch_p\": [", f);
    for (int i = 0; i < s->n; i++)
        fprintf(f, "%s%.6g", i ? ", " : "", s->holm_p[i]);
    fputs("]}\n", f);
    if (fclose(f)) {
        free(text);
        return NULL;
    }
    return text;
}
