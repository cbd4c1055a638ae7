/* The gate's verdict as JSON: every interval, reason and the evidence behind it. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>

#include "reports.h"

static void num(cJSON *o, const char *k, double v)
{
    if (isfinite(v))
        cJSON_AddNumberToObject(o, k, v);
    else
        cJSON_AddNullToObject(o, k);
}

static void pct_interval(cJSON *o, const char *k, const report_interval *iv)
{
    if (!iv->ok) {
        cJSON_AddNullToObject(o, k);
        return;
    }
    cJSON *x = cJSON_AddObjectToObject(o, k);
    cJSON_AddStringToObject(x, "method", iv->method);
    num(x, "change_pct", 100 * (iv->ratio - 1));
    num(x, "lo_pct", 100 * (iv->lo - 1));
    num(x, "hi_pct", 100 * (iv->hi - 1));
    num(x, "df", iv->df);
}

char *report_gate_result_json(const report_gate_result *g, const char *name, const char *metric)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", name ? name : "");
    cJSON_AddStringToObject(o, "metric", metric ? metric : "");
    cJSON_AddStringToObject(o, "verdict", report_gate_verdict_name(g->verdict));
    cJSON_AddStringToObject(o, "reason", g->reason);
    cJSON_AddStringToObject(o, "design", g->design);
    num(o, "change_pct", 100 * (g->ratio - 1));
    num(o, "ci_lo_pct", 100 * (g->lo - 1));
    num(o, "ci_hi_pct", 100 * (g->hi - 1));
    num(o, "decision_lo_pct", 100 * (g->dec_lo - 1));
    num(o, "decision_hi_pct", 100 * (g->dec_hi - 1));
    pct_interval(o, "primary", &g->primary);
    cJSON *n = cJSON_AddObjectToObject(o, "runs");
    cJSON_AddNumberToObject(n, "baseline", (double)g->runs_base);
    cJSON_AddNumberToObject(n, "candidate", (double)g->runs_cand);
    cJSON *s = cJSON_AddObjectToObject(o, "sessions");
    cJSON_AddNumberToObject(s, "baseline", g->sessions_base);
    cJSON_AddNumberToObject(s, "candidate", g->sessions_cand);
    num(s, "sd_within_pct", g->sd_within_pct);
    num(s, "sd_between_pct", g->sd_between_pct);
    cJSON *ev = cJSON_AddObjectToObject(o, "evidence");
    cJSON *st = cJSON_AddArrayToObject(ev, "steps");
    for (int i = 0; i < g->nsteps; i++) {
        const report_step *p = &g->steps[i];
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "arm", p->arm);
        cJSON_AddNumberToObject(x, "session", p->session);
        cJSON_AddNumberToObject(x, "at_run", p->at_run);
        cJSON_AddNumberToObject(x, "session_runs", p->session_runs);
        num(x, "change_pct", p->change_pct);
        num(x, "p", p->p);
        cJSON_AddStringToObject(x, "telemetry", p->telemetry);
        cJSON_AddItemToArray(st, x);
    }
    cJSON *h = cJSON_AddObjectToObject(ev, "temperature");
    num(h, "baseline_start_c", g->temp_base_c);
    num(h, "candidate_start_c", g->temp_cand_c);
    cJSON_AddBoolToObject(h, "differs", g->heat_differs);
    cJSON_AddBoolToObject(h, "overlap", g->heat_overlap);
    cJSON_AddBoolToObject(h, "adjusted", g->heat_used);
    pct_interval(h, "adjusted_effect", &g->heat_adjusted);
    cJSON *u = cJSON_AddObjectToObject(ev, "stability");
    num(u, "robust_cv_baseline_pct", 100 * g->robust_cv_base);
    num(u, "robust_cv_candidate_pct", 100 * g->robust_cv_cand);
    num(u, "robust_cv_pairs_pct", 100 * g->robust_cv_pairs);
    cJSON_AddBoolToObject(u, "unstable", g->unstable);
    cJSON_AddBoolToObject(u, "short_session", g->short_session);
    num(u, "decision_level_pct", 100 * g->decision_level);
    pct_interval(u, "robust", &g->robust);
    cJSON *e = cJSON_AddObjectToObject(o, "environment");
    cJSON_AddBoolToObject(e, "machine_differs", g->machine_differs);
    cJSON_AddStringToObject(e, "machine", g->machine_detail);
    cJSON_AddBoolToObject(e, "workload_differs", g->workload_differs);
    cJSON_AddStringToObject(e, "workload", g->workload_detail);
    cJSON_AddBoolToObject(e, "build_differs", g->build_differs);
    cJSON_AddStringToObject(e, "build", g->build_detail);
    cJSON_AddBoolToObject(e, "kernels_differ", g->kernels_differ);
    cJSON_AddStringToObject(e, "kernel_change", g->kernel_change);
    cJSON_AddBoolToObject(e, "program_differs", g->program_differs);
    cJSON_AddStringToObject(e, "program_change", g->program_change);
    char *text = cJSON_Print(o);
    cJSON_Delete(o);
    return text;
}
