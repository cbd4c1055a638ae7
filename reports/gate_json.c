/* The gate's verdicts as JSON (thermabench gate --json). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>

#include "reports.h"

static void add_num(cJSON *o, const char *k, double v)
{
    if (isfinite(v)) cJSON_AddNumberToObject(o, k, v);
    else cJSON_AddNullToObject(o, k);
}

char *report_gate_set_json(const report_gate_set *s)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "verdict", report_gate_verdict_name(s->overall));
    cJSON_AddStringToObject(root, "metric", s->metric);
    cJSON_AddStringToObject(root, "unit", s->unit);
    cJSON *opt = cJSON_AddObjectToObject(root, "options");
    add_num(opt, "max_regression", s->options.max_regression);
    add_num(opt, "confidence_per_variant", s->options.confidence);
    add_num(opt, "max_cv", s->options.max_cv);
    cJSON_AddBoolToObject(opt, "allow_env_mismatch", s->options.allow_env_mismatch);
    cJSON_AddBoolToObject(opt, "allow_throttle", s->options.allow_throttle);
    cJSON_AddStringToObject(root, "baseline_build", s->base_build);
    cJSON_AddStringToObject(root, "candidate_build", s->cand_build);
    cJSON *items = cJSON_AddArrayToObject(root, "variants");
    for (int i = 0; i < s->n; i++) {
        const report_gate_result *g = &s->items[i].g;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", s->items[i].name);
        cJSON_AddStringToObject(o, "verdict", report_gate_verdict_name(g->verdict));
        add_num(o, "ratio", g->ratio);     /* oriented: < 1 is worse */
        add_num(o, "ratio_lo", g->lo);
        add_num(o, "ratio_hi", g->hi);
        cJSON_AddBoolToObject(o, "env_mismatch", g->env_mismatch);
        cJSON_AddStringToObject(o, "env_detail", g->env_detail);
        cJSON_AddStringToObject(o, "reason", g->reason);
        char *c = report_comparison_json(&g->cmp, s->metric, s->unit);
        cJSON *cj = c ? cJSON_Parse(c) : NULL;
        free(c);
        cJSON_AddItemToObject(o, "comparison", cj ? cj : cJSON_CreateNull());
        cJSON_AddItemToArray(items, o);
    }
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    return text;
}
