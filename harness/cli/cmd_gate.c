/* thermabench gate: baseline against candidate with a verdict and an exit
 * code for CI: 0 pass or improvement, 1 regression, 3 inconclusive, 2 usage
 * or input error. The statistics are in reports/compare.c and
 * docs/STATISTICS.md. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "reports.h"

static const char *CMD = "gate";

static void usage(FILE *f)
{
    fprintf(f, "usage: thermabench gate --baseline BASE.json --candidate NEW.json [options]\n\n"
               "  --max-regression PCT      equivalence margin, e.g. 3%% (default 3%%)\n"
               "  --confidence PCT          CI level (default 95%%; split over several variants)\n"
               "  --max-cv PCT              robust CV above which runs are unstable (default 10%%)\n"
               "  --baseline-variant NAME   variant in BASE.json (default: the only one, or every common one)\n"
               "  --candidate-variant NAME  variant in NEW.json (default: the same name)\n"
               "  --inconclusive pass|fail|exit3   how to exit on inconclusive (default exit3: exit code 3)\n"
               "  --allow-machine-change    the machine (CPU, cores, OS kernel, microcode, GPU) may differ\n"
               "  --allow-workload-change   the requested workload (model, dtype, threads, batch, lengths,\n"
               "                            forced kernels) may differ; else that is an input error\n"
               "  --allow-env-mismatch      both of the above\n"
               "  --allow-throttle          throttled runs do not make the verdict inconclusive\n"
               "  --junit FILE              JUnit XML, one test case per variant\n"
               "  --markdown FILE           summary for a CI job page\n"
               "  --json                    every verdict, interval, reason and its evidence as JSON on stdout\n\n"
               "exit codes: 0 pass or improvement, 1 regression, 3 inconclusive, 2 usage or input error\n");
}

/* "3%", "3" and "3.5%" are all percentages. */
static int parse_pct(const char *opt, const char *text, double min, double max, double *out)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%s", text);
    size_t n = strlen(buf);
    if (n && buf[n - 1] == '%')
        buf[n - 1] = 0;
    if (cli_parse_double(CMD, opt, buf, min, max, out) < 0)
        return -1;
    *out /= 100;
    return 0;
}

static void xml_escaped(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '<') fputs("&lt;", f);
        else if (*s == '>') fputs("&gt;", f);
        else if (*s == '&') fputs("&amp;", f);
        else if (*s == '"') fputs("&quot;", f);
        else fputc(*s, f);
    }
}

typedef struct gate_item {
    char name[REPORT_NAME_MAX];
    report_gate_result g;
} gate_item;

static int write_junit(const char *path, const gate_item *it, int n, const char *metric)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    int fails = 0, skipped = 0;
    for (int i = 0; i < n; i++) {
        fails += it[i].g.verdict == REPORT_GATE_REGRESSION;
        skipped += it[i].g.verdict == REPORT_GATE_INCONCLUSIVE;
    }
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<testsuites><testsuite name=\"thermabench gate\" tests=\"%d\" failures=\"%d\" skipped=\"%d\">\n",
            n, fails, skipped);
    for (int i = 0; i < n; i++) {
        const report_gate_result *g = &it[i].g;
        fprintf(f, "  <testcase classname=\"thermabench.gate\" name=\"");
        xml_escaped(f, it[i].name);
        fprintf(f, " %s\">\n", metric);
        const char *tag = g->verdict == REPORT_GATE_REGRESSION ? "failure"
                          : g->verdict == REPORT_GATE_INCONCLUSIVE ? "skipped" : "system-out";
        fprintf(f, "    <%s message=\"%s\">", tag, report_gate_verdict_name(g->verdict));
        xml_escaped(f, g->reason);
        fprintf(f, "</%s>\n  </testcase>\n", tag);
    }
    fprintf(f, "</testsuite></testsuites>\n");
    return fclose(f) == 0 ? 0 : -1;
}

static int write_markdown(const char *path, const gate_item *it, int n, const char *overall, const char *metric,
                          const char *unit)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "## thermabench gate: %s\n\n| variant | verdict | change | 95%% CI | why |\n|---|---|---|---|---|\n",
            overall);
    for (int i = 0; i < n; i++) {
        const report_gate_result *g = &it[i].g;
        fprintf(f, "| %s | **%s** | %+.2f%% | %+.2f%% to %+.2f%% | %s |\n", it[i].name,
                report_gate_verdict_name(g->verdict), 100 * (g->ratio - 1), 100 * (g->lo - 1), 100 * (g->hi - 1),
                g->reason);
    }
    fputc('\n', f);
    for (int i = 0; i < n; i++) {
        const report_variant_stats v[2] = {it[i].g.cmp.a, it[i].g.cmp.b};
        report_print_variants(f, v, 2, metric, unit, true);
        fprintf(f, "Design: %s\n\n", it[i].g.design);
        if (it[i].g.machine_differs)
            fprintf(f, "Machine differs: %s\n\n", it[i].g.machine_detail);
        if (it[i].g.workload_differs)
            fprintf(f, "Workload differs: %s\n\n", it[i].g.workload_detail);
        if (it[i].g.kernels_differ)
            fprintf(f, "Kernels resolved differently (the code under test): %s\n\n", it[i].g.kernel_change);
    }
    return fclose(f) == 0 ? 0 : -1;
}

typedef struct gate_args {
    const char *base, *cand, *vbase, *vcand, *junit, *markdown;
    int inconclusive_exit;
    bool json;
    report_gate_options o;
} gate_args;

static int parse(int argc, char **argv, gate_args *a)
{
    memset(a, 0, sizeof *a);
    report_gate_defaults(&a->o);
    a->inconclusive_exit = TB_EXIT_INCONCLUSIVE;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(o, "-h") || !strcmp(o, "--help")) {
            usage(stdout);
            return 1;
        }
        if (!strcmp(o, "--allow-env-mismatch")) {
            a->o.allow_env_mismatch = true;
            continue;
        }
        if (!strcmp(o, "--allow-machine-change")) {
            a->o.allow_machine_change = true;
            continue;
        }
        if (!strcmp(o, "--allow-workload-change")) {
            a->o.allow_workload_change = true;
            continue;
        }
        if (!strcmp(o, "--json")) {
            a->json = true;
            continue;
        }
        if (!strcmp(o, "--allow-throttle")) {
            a->o.allow_throttle = true;
            continue;
        }
        if (!v)
            return cli_usage_error(CMD, o[0] == '-' ? "%s needs a value" : "unexpected argument '%s'", o);
        i++;
        if (!strcmp(o, "--baseline")) a->base = v;
        else if (!strcmp(o, "--candidate")) a->cand = v;
        else if (!strcmp(o, "--baseline-variant")) a->vbase = v;
        else if (!strcmp(o, "--candidate-variant")) a->vcand = v;
        else if (!strcmp(o, "--junit")) a->junit = v;
        else if (!strcmp(o, "--markdown")) a->markdown = v;
        else if (!strcmp(o, "--max-regression")) {
            if (parse_pct(o, v, 0, 100, &a->o.max_regression) < 0)
                return -1;
        } else if (!strcmp(o, "--confidence")) {
            if (parse_pct(o, v, 50, 99.99, &a->o.confidence) < 0)
                return -1;
        } else if (!strcmp(o, "--max-cv")) {
            if (parse_pct(o, v, 0.01, 1000, &a->o.max_cv) < 0)
                return -1;
        } else if (!strcmp(o, "--inconclusive")) {
            if (!strcmp(v, "pass")) a->inconclusive_exit = TB_EXIT_OK;
            else if (!strcmp(v, "fail")) a->inconclusive_exit = TB_EXIT_FAIL;
            else if (!strcmp(v, "exit3")) a->inconclusive_exit = TB_EXIT_INCONCLUSIVE;
            else return cli_usage_error(CMD, "--inconclusive: expected pass, fail or exit3, got '%s'", v);
        } else
            return cli_usage_error(CMD, "unknown option '%s'", o);
    }
    if (!a->base || !a->cand)
        return cli_usage_error(CMD, "--baseline and --candidate are both required");
    return 0;
}

/* Which variants to gate: the named one, the only one, or every common name. */
static int pick(const report_results *b, const report_results *c, const gate_args *a, char (*names)[REPORT_NAME_MAX])
{
    if (a->vbase || a->vcand || (b->nvariants == 1 && c->nvariants == 1)) {
        snprintf(names[0], REPORT_NAME_MAX, "%.63s", a->vbase ? a->vbase : b->variants[0]);
        return 1;
    }
    int n = 0;
    for (int i = 0; i < b->nvariants; i++)
        for (int j = 0; j < c->nvariants; j++)
            if (!strcmp(b->variants[i], c->variants[j]))
                snprintf(names[n++], REPORT_NAME_MAX, "%.63s", b->variants[i]);
    return n;
}

static int gate(const report_results *b, const report_results *c, const gate_args *a)
{
    char names[REPORT_MAX_VARIANTS][REPORT_NAME_MAX];
    int n = pick(b, c, a, names);
    if (!n) {
        fprintf(stderr, "thermabench gate: no variant name in common between %s and %s; use --baseline-variant\n",
                b->path, c->path);
        return TB_EXIT_USAGE;
    }
    static gate_item it[REPORT_MAX_VARIANTS];     /* large: off the stack */
    report_gate_options o = a->o;
    o.confidence = 1 - (1 - a->o.confidence) / n;        /* Bonferroni over the variants gated */
    int worst = REPORT_GATE_PASS;
    for (int i = 0; i < n; i++) {
        report_error err;
        const char *vb = a->vbase || n > 1 || a->vcand ? names[i] : NULL;
        const char *vc = a->vcand ? a->vcand : vb;
        memcpy(it[i].name, names[i], sizeof it[i].name);
        if (report_gate(b, vb ? vb : b->variants[0], c, vc ? vc : c->variants[0], &o, &it[i].g, &err) < 0) {
            fprintf(stderr, "thermabench gate: %s\n", err.msg);
            return TB_EXIT_USAGE;
        }
        report_gate_verdict v = it[i].g.verdict;
        if (v == REPORT_GATE_REGRESSION || (v == REPORT_GATE_INCONCLUSIVE && worst != REPORT_GATE_REGRESSION) ||
            (v == REPORT_GATE_IMPROVEMENT && worst == REPORT_GATE_PASS))
            worst = (int)v;
    }
    const char *overall = report_gate_verdict_name(worst);
    for (int i = 0; a->json && i < n; i++) {
        char *t = report_gate_result_json(&it[i].g, it[i].name, b->metric_name);
        printf("%s%s%s", i ? "" : "{\"gate\": {\"verdicts\": [\n", t ? t : "null", i + 1 < n ? ",\n" : "\n");
        free(t);
    }
    if (a->json)
        printf("], \"verdict\": \"%s\", \"confidence\": %.6g}}\n", overall, o.confidence);
    for (int i = 0; !a->json && i < n; i++) {
        const report_gate_result *g = &it[i].g;
        printf("%s: %s: %s: %s\n", it[i].name, b->metric_name, report_gate_verdict_name(g->verdict), g->reason);
        printf("  design: %s\n", g->design);
        if (g->machine_differs)
            printf("  machine differs%s: %s\n", a->o.allow_machine_change || a->o.allow_env_mismatch ? " (allowed)" : "",
                   g->machine_detail);
        if (g->workload_differs)
            printf("  workload differs (allowed): %s\n", g->workload_detail);
        if (g->kernels_differ)
            printf("  kernels resolved differently (the code under test): %s\n", g->kernel_change);
    }
    if (n > 1 && !a->json)
        printf("confidence %.4g%% per variant (Bonferroni over %d variants)\n", 100 * o.confidence, n);
    if (!a->json)
        printf("gate: %s\n", overall);
    if (a->junit && write_junit(a->junit, it, n, b->metric_name) < 0) {
        fprintf(stderr, "thermabench gate: --junit %s: cannot write\n", a->junit);
        return TB_EXIT_USAGE;
    }
    if (a->markdown && write_markdown(a->markdown, it, n, overall, b->metric_name, b->metric_unit) < 0) {
        fprintf(stderr, "thermabench gate: --markdown %s: cannot write\n", a->markdown);
        return TB_EXIT_USAGE;
    }
    switch (worst) {
    case REPORT_GATE_REGRESSION: return TB_EXIT_FAIL;
    case REPORT_GATE_INCONCLUSIVE: return a->inconclusive_exit;
    default: return TB_EXIT_OK;
    }
}

int cmd_gate(int argc, char **argv)
{
    gate_args a;
    int p = parse(argc, argv, &a);
    if (p)
        return p > 0 ? TB_EXIT_OK : TB_EXIT_USAGE;
    report_results b, c;
    report_error err;
    if (report_results_load(a.base, &b, &err) < 0) {
        fprintf(stderr, "thermabench gate: %s\n", err.msg);
        return TB_EXIT_USAGE;
    }
    if (report_results_load(a.cand, &c, &err) < 0) {
        fprintf(stderr, "thermabench gate: %s\n", err.msg);
        report_results_free(&b);
        return TB_EXIT_USAGE;
    }
    int rc;
    if (strcmp(b.metric_name, c.metric_name)) {
        fprintf(stderr, "thermabench gate: primary metrics differ: '%s' vs '%s'\n", b.metric_name, c.metric_name);
        rc = TB_EXIT_USAGE;
    } else {
        rc = gate(&b, &c, &a);
    }
    report_results_free(&b);
    report_results_free(&c);
    return rc;
}
