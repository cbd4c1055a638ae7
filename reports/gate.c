/* The gate over results files: which variants to gate, the per-variant
 * verdicts with the confidence split over them, the overall verdict, and
 * its outputs (text, JSON, JUnit XML, Markdown for a CI job page). The
 * verdict of one variant is report_gate() in verdict.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reports.h"
#include "stats_internal.h"

/* Which variants to gate: the named one, the only one, or every common name. */
static int pick(const report_results *b, const report_results *c, const char *vbase, const char *vcand,
                char (*names)[REPORT_NAME_MAX])
{
    if (vbase || vcand || (b->nvariants == 1 && c->nvariants == 1)) {
        snprintf(names[0], REPORT_NAME_MAX, "%.63s", vbase ? vbase : b->variants[0]);
        return 1;
    }
    int n = 0;
    for (int i = 0; i < b->nvariants; i++)
        for (int j = 0; j < c->nvariants; j++)
            if (!strcmp(b->variants[i], c->variants[j]))
                snprintf(names[n++], REPORT_NAME_MAX, "%.63s", b->variants[i]);
    return n;
}

/* Regression outranks inconclusive, which outranks improvement, then pass. */
static report_gate_verdict worse(report_gate_verdict worst, report_gate_verdict v)
{
    if (v == REPORT_GATE_REGRESSION || (v == REPORT_GATE_INCONCLUSIVE && worst != REPORT_GATE_REGRESSION) ||
        (v == REPORT_GATE_IMPROVEMENT && worst == REPORT_GATE_PASS))
        return v;
    return worst;
}

int report_gate_files(const report_results *b, const char *vbase, const report_results *c, const char *vcand,
                      const report_gate_options *opt, report_gate_set *out, report_error *err)
{
    const report_results *bases[1] = {b};
    return report_gate_sets(bases, 1, vbase, c, vcand, opt, out, err);
}

int report_gate_sets(const report_results *const *bases, int nbases, const char *vbase, const report_results *c,
                     const char *vcand, const report_gate_options *opt, report_gate_set *out, report_error *err)
{
    memset(out, 0, sizeof *out);
    if (nbases < 1)
        return report_fail(err, "no baseline");
    const report_results *b = bases[nbases - 1];     /* the newest names the variants and the build */
    for (int i = 0; i < nbases; i++)
        if (strcmp(bases[i]->metric_name, c->metric_name))
            return report_fail(err, "primary metrics differ: '%s' vs '%s'", bases[i]->metric_name, c->metric_name);
    char names[REPORT_MAX_VARIANTS][REPORT_NAME_MAX];
    int n = pick(b, c, vbase, vcand, names);
    if (!n)
        return report_fail(err, "no variant name in common between %s and %s; use --baseline-variant", b->path,
                           c->path);
    out->items = calloc((size_t)n, sizeof *out->items);
    if (!out->items)
        return report_fail(err, "out of memory");
    out->options = *opt;
    out->options.confidence = 1 - (1 - opt->confidence) / n;     /* Bonferroni over the variants gated */
    out->options.decision = 1 - (1 - opt->decision) / n;
    out->overall = REPORT_GATE_PASS;
    snprintf(out->metric, sizeof out->metric, "%s", b->metric_name);
    snprintf(out->unit, sizeof out->unit, "%s", b->metric_unit);
    report_results_build(b, out->base_build, sizeof out->base_build);
    report_results_build(c, out->cand_build, sizeof out->cand_build);
    for (int i = 0; i < n; i++) {
        const char *vb = vbase || n > 1 || vcand ? names[i] : NULL;
        const char *vc = vcand ? vcand : vb;
        report_gate_item *it = &out->items[i];
        memcpy(it->name, names[i], sizeof it->name);
        const report_results *cands[1] = {c};
        report_side bs = {bases, nbases, vb}, cs = {cands, 1, vc};
        if (report_gate_sides(&bs, &cs, &out->options, &it->g, err) < 0) {
            report_gate_set_free(out);
            return -1;
        }
        out->n++;
        out->overall = worse(out->overall, it->g.verdict);
    }
    return 0;
}

void report_gate_set_free(report_gate_set *s)
{
    free(s->items);
    s->items = NULL;
    s->n = 0;
}

/* The design and what differed between the sides, one line each. */
static void environment_lines(FILE *f, const report_gate_result *g, const report_gate_options *o, report_escape how,
                              const char *indent)
{
    report_fprintf(f, how, "%sdesign: %s\n", indent, g->design);
    if (g->machine_differs)
        report_fprintf(f, how, "%smachine differs%s: %s\n", indent,
                       o->allow_machine_change || o->allow_env_mismatch ? " (allowed)" : "", g->machine_detail);
    if (g->workload_differs)
        report_fprintf(f, how, "%sworkload differs (allowed): %s\n", indent, g->workload_detail);
    if (g->build_differs)
        report_fprintf(f, how, "%sbuild differs%s: %s\n", indent, o->allow_build_change ? " (allowed)" : "",
                       g->build_detail);
    if (g->kernels_differ)
        report_fprintf(f, how, "%skernels resolved differently (the code under test): %s\n", indent,
                       g->kernel_change);
    if (g->program_differs)
        report_fprintf(f, how, "%sanother program (the code under test): %s\n", indent, g->program_change);
}

void report_gate_print_json(FILE *f, const report_gate_set *s)
{
    fputs("{\"gate\": {\"verdicts\": [\n", f);
    for (int i = 0; i < s->n; i++) {
        char *t = report_gate_result_json(&s->items[i].g, s->items[i].name, s->metric);
        fprintf(f, "%s%s\n", t ? t : "null", i + 1 < s->n ? "," : "");
        free(t);
    }
    fprintf(f, "], \"verdict\": \"%s\", \"confidence_per_variant\": %.6g}}\n", report_gate_verdict_name(s->overall),
            s->options.confidence);
}

void report_gate_print(FILE *f, const report_gate_set *s)
{
    report_fprintf(f, REPORT_ESC_TERMINAL, "baseline build:  %s\ncandidate build: %s\n", s->base_build, s->cand_build);
    for (int i = 0; i < s->n; i++) {
        const report_gate_result *g = &s->items[i].g;
        report_fprintf(f, REPORT_ESC_TERMINAL, "%s: %s: %s: %s\n", s->items[i].name, s->metric,
                       report_gate_verdict_name(g->verdict), g->reason);
        environment_lines(f, g, &s->options, REPORT_ESC_TERMINAL, "  ");
    }
    if (s->n > 1)
        fprintf(f, "confidence %.4g%% per variant (Bonferroni over %d variants)\n", 100 * s->options.confidence,
                s->n);
    fprintf(f, "gate: %s\n", report_gate_verdict_name(s->overall));
}

/* One test case per variant: a regression fails, an inconclusive one is skipped. */
int report_gate_write_junit(const report_gate_set *s, const char *path, report_error *err)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return report_fail(err, "%s: out of memory", path);
    int fails = 0, skipped = 0;
    for (int i = 0; i < s->n; i++) {
        fails += s->items[i].g.verdict == REPORT_GATE_REGRESSION;
        skipped += s->items[i].g.verdict == REPORT_GATE_INCONCLUSIVE;
    }
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<testsuites><testsuite name=\"thermabench gate\" tests=\"%d\" failures=\"%d\" skipped=\"%d\">\n",
            s->n, fails, skipped);
    report_fprintf(f, REPORT_ESC_XML_ATTR,
                   "  <properties><property name=\"baseline_build\" value=\"%s\"/>"
                   "<property name=\"candidate_build\" value=\"%s\"/></properties>\n", s->base_build, s->cand_build);
    for (int i = 0; i < s->n; i++) {
        const report_gate_result *g = &s->items[i].g;
        const char *tag = g->verdict == REPORT_GATE_REGRESSION ? "failure"
                          : g->verdict == REPORT_GATE_INCONCLUSIVE ? "skipped" : "system-out";
        report_fprintf(f, REPORT_ESC_XML_ATTR, "  <testcase classname=\"thermabench.gate\" name=\"%s %s\">\n",
                       s->items[i].name, s->metric);
        report_fprintf(f, REPORT_ESC_XML_TEXT, "    <%s message=\"%s\">", tag, report_gate_verdict_name(g->verdict));
        report_put_escaped(f, REPORT_ESC_XML_TEXT, g->reason);
        fprintf(f, "</%s>\n  </testcase>\n", tag);
    }
    fputs("</testsuite></testsuites>\n", f);
    int rc = fclose(f) ? report_fail(err, "%s: out of memory", path) : report_write_atomic(path, text, len, err);
    free(text);
    return rc;
}

int report_gate_write_markdown(const report_gate_set *s, const char *path, report_error *err)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return report_fail(err, "%s: out of memory", path);
    fprintf(f, "## thermabench gate: %s\n\n| variant | verdict | change | 95%% CI | why |\n|---|---|---|---|---|\n",
            report_gate_verdict_name(s->overall));
    for (int i = 0; i < s->n; i++) {
        const report_gate_result *g = &s->items[i].g;
        report_fprintf(f, REPORT_ESC_MARKDOWN, "| %s | **%s** | %+.2f%% | %+.2f%% to %+.2f%% | %s |\n", s->items[i].name,
                report_gate_verdict_name(g->verdict), 100 * (g->ratio - 1), 100 * (g->lo - 1), 100 * (g->hi - 1),
                g->reason);
    }
    report_fprintf(f, REPORT_ESC_MARKDOWN, "\nBaseline build: %s  \nCandidate build: %s\n\n", s->base_build,
                   s->cand_build);
    for (int i = 0; i < s->n; i++) {
        const report_variant_stats v[2] = {s->items[i].g.cmp.a, s->items[i].g.cmp.b};
        report_print_variants(f, v, 2, s->metric, s->unit, true);
        environment_lines(f, &s->items[i].g, &s->options, REPORT_ESC_MARKDOWN, "");
        fputc('\n', f);
    }
    int rc = fclose(f) ? report_fail(err, "%s: out of memory", path) : report_write_atomic(path, text, len, err);
    free(text);
    return rc;
}
