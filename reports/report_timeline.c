/* The telemetry timeline plot: temperature, power, clock and memory
 * pressure over the experiment, runs shaded by variant and prefill/decode
 * phases marked. From telemetry.csv next to results.json (probes' format:
 * t_s,tier,latency_ms,mark,<channels>; marks "phase:begin|end:run"), else
 * from the per-run summaries in results.json. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_doc.h"
#include "stats_internal.h"

enum { CH_TEMP, CH_POWER, CH_CLOCK, CH_PSI, NCH };
static const char *ch_label[NCH] = {"temperature (C)", "power (W)", "clock (MHz)", "memory pressure (% time stalled)"};

typedef struct tl_point {
    double t, v[NCH];
} tl_point;

typedef struct tl_span {
    double t0, t1;
    int run, kind;      /* kind 0 run, 1 prefill, 2 decode */
} tl_span;

typedef struct timeline {
    tl_point *pt;
    size_t npt, cappt;
    tl_span span[2048];
    int nspan;
    char chan[NCH][64];
    char source[64];
} timeline;

static void add_point(timeline *tl, tl_point p)
{
    if (tl->npt == tl->cappt) {
        size_t cap = tl->cappt ? tl->cappt * 2 : 1024;
        tl_point *n = realloc(tl->pt, cap * sizeof *n);
        if (!n)
            return;
        tl->pt = n;
        tl->cappt = cap;
    }
    tl->pt[tl->npt++] = p;
}

/* Splits a CSV line in place; empty fields stay empty. */
static int split(char *line, char **f, int max)
{
    int n = 0;
    f[n++] = line;
    for (char *c = line; *c && n < max; c++)
        if (*c == ',') {
            *c = 0;
            f[n++] = c + 1;
        } else if (*c == '\n' || *c == '\r') {
            *c = 0;
            break;
        }
    return n;
}

static bool ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

static double field(char **f, int n, int i)
{
    if (i < 0 || i >= n || !f[i][0])
        return NAN;
    return strtod(f[i], NULL);
}

static void open_span(timeline *tl, double t, const char *phase, bool begin, int run, double *open_t)
{
    int kind = !strcmp(phase, "run") ? 0 : !strcmp(phase, "prefill") ? 1 : !strcmp(phase, "decode") ? 2 : -1;
    if (kind < 0)
        return;
    if (begin)
        open_t[kind] = t;
    else if (isfinite(open_t[kind]) && tl->nspan < 2048) {
        tl->span[tl->nspan++] = (tl_span){open_t[kind], t, run, kind};
        open_t[kind] = NAN;
    }
}

/* Channel choice: the GPU's own when the runs were GPU runs (prefix
 * "gpu0."), else the CPU package temperature, the first power and clock. */
static bool pick(const char *h, int c, const int *ich, const char *gpu)
{
    static const char *gpu_suffix[NCH] = {"temp_c", "power_w", "sm_clock_mhz", NULL};
    size_t gl = strlen(gpu);
    if (gl && gpu_suffix[c] && !strncmp(h, gpu, gl) && !strcmp(h + gl, gpu_suffix[c]))
        return true;    /* the GPU's channel always wins */
    if (ich[c] >= 0)
        return c == CH_TEMP && !gl && !strcmp(h, "cpu.pkg.temp_c");
    switch (c) {
    case CH_TEMP: return ends_with(h, ".temp_c");
    case CH_POWER: return ends_with(h, "power_w");
    case CH_CLOCK: return strstr(h, "mhz") != NULL;
    default: return !strcmp(h, "mem.psi_some_us");
    }
}

static int read_csv(timeline *tl, const char *path, const char *gpu)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char *line = NULL;
    size_t cap = 0;
    char *fl[512];
    int it = -1, imark = -1, itier = -1, ich[NCH] = {-1, -1, -1, -1};
    if (getline(&line, &cap, f) < 0) {
        free(line);
        fclose(f);
        return -1;
    }
    int nh = split(line, fl, 512);
    for (int i = 0; i < nh; i++) {
        const char *h = fl[i];
        if (!strcmp(h, "t_s")) it = i;
        else if (!strcmp(h, "mark")) imark = i;
        else if (!strcmp(h, "tier")) itier = i;
        else
            for (int c = 0; c < NCH; c++)
                if (pick(h, c, ich, gpu)) {
                    ich[c] = i;
                    break;
                }
    }
    for (int c = 0; c < NCH; c++)
        if (ich[c] >= 0)
            snprintf(tl->chan[c], sizeof tl->chan[c], "%s", fl[ich[c]]);
    if (it < 0) {
        free(line);
        fclose(f);
        return -1;
    }
    double open_t[3] = {NAN, NAN, NAN}, last_psi = NAN, last_t = NAN;
    while (getline(&line, &cap, f) > 0) {
        int n = split(line, fl, 512);
        double t = field(fl, n, it);
        if (!isfinite(t))
            continue;
        if (itier >= 0 && itier < n && !strcmp(fl[itier], "mark") && imark >= 0 && imark < n) {
            char phase[32] = "", dir[16] = "";
            int run = -1;
            if (sscanf(fl[imark], "%31[^:]:%15[^:]:%d", phase, dir, &run) >= 2)
                open_span(tl, t, phase, !strcmp(dir, "begin"), run, open_t);
            continue;
        }
        tl_point p = {t, {field(fl, n, ich[0]), field(fl, n, ich[1]), field(fl, n, ich[2]), NAN}};
        double psi = field(fl, n, ich[CH_PSI]);
        if (isfinite(psi) && isfinite(last_psi) && t > last_t)
            p.v[CH_PSI] = 100 * (psi - last_psi) / 1e6 / (t - last_t);
        if (isfinite(psi)) {
            last_psi = psi;
            last_t = t;
        }
        add_point(tl, p);
    }
    free(line);
    fclose(f);
    snprintf(tl->source, sizeof tl->source, "telemetry.csv");
    return 0;
}

/* Without telemetry.csv: each run's start/end temperature and mean power and clock. */
static void from_runs(timeline *tl, const report_results *r)
{
    for (int i = 0; i < r->nruns; i++) {
        const report_run *u = &r->runs[i];
        if (!isfinite(u->started_s) || !isfinite(u->wall_ms))
            continue;
        double t0 = u->started_s, t1 = t0 + u->wall_ms / 1000;
        double psi = isfinite(u->mem_psi_some_us) && u->wall_ms > 0 ? 100 * u->mem_psi_some_us / 1e3 / u->wall_ms : NAN;
        add_point(tl, (tl_point){t0, {u->temp_start_c, u->power_mean_w, u->clock_mean_mhz, psi}});
        add_point(tl, (tl_point){t1, {u->temp_end_c, u->power_mean_w, u->clock_mean_mhz, psi}});
        if (tl->nspan < 2048)
            tl->span[tl->nspan++] = (tl_span){t0, t1, u->index, 0};
    }
    snprintf(tl->source, sizeof tl->source, "per-run summaries in results.json");
}

static int run_variant(const report_doc *d, int run)
{
    for (int i = 0; i < d->r.nruns; i++)
        if (d->r.runs[i].index == run) {
            if (d->r.runs[i].warmup)
                return -2;
            for (int v = 0; v < d->nv; v++)
                if (!strcmp(d->r.variants[v], d->r.runs[i].variant))
                    return v;
        }
    return -1;
}

static void script(const report_doc *d, timeline *tl, plot_ctx *p, FILE *s, bool *have)
{
    double tmin = tl->pt[0].t, tmax = tl->pt[tl->npt - 1].t;
    report_fprintf(s, REPORT_ESC_GNUPLOT, "set multiplot layout %d,1 title 'Telemetry timeline (%s): runs shaded by variant "
                 "(grey: warm-up), dark band: prefill, light band: decode'\n"
                 "set xrange [%g:%g]\nset lmargin 12\nset rmargin 20\n",
              NCH, tl->source, tmin, tmax > tmin ? tmax : tmin + 1);
    int obj = 1;
    for (int i = 0; i < tl->nspan; i++) {
        const tl_span *sp = &tl->span[i];
        int v = run_variant(d, sp->run);
        if (sp->kind == 0)
            report_fprintf(s, REPORT_ESC_GNUPLOT, "set object %d rect from %g, graph 0 to %g, graph 1 fc rgb '%s' fs transparent solid 0.12 "
                         "noborder behind\n",
                      obj++, sp->t0, sp->t1, v >= 0 ? plot_color(v) : "#888888");
        else
            report_fprintf(s, REPORT_ESC_GNUPLOT, "set object %d rect from %g, graph 0.9 to %g, graph 1 fc rgb '%s' fs solid %s noborder "
                         "front\n",
                      obj++, sp->t0, sp->t1, "#444444", sp->kind == 1 ? "0.8" : "0.25");
    }
    for (int c = 0; c < NCH; c++) {
        report_fprintf(s, REPORT_ESC_GNUPLOT, "set ylabel '%s'\nunset label\n", ch_label[c]);
        fputs(c == NCH - 1 ? "set xlabel 'time (s)'\n" : "unset xlabel\n", s);
        if (have[c]) {
            /* Pressure and power are never negative: keep 0 at the bottom even when flat. */
            report_fprintf(s, REPORT_ESC_GNUPLOT, "%s\nplot 'tl.dat' using 1:%d with lines lw 1.5 lc rgb '#333333' title '%s'\n",
                      c == CH_PSI || c == CH_POWER ? "set yrange [0:*]" : "set autoscale y", c + 2,
                      tl->chan[c][0] ? tl->chan[c] : ch_label[c]);
        } else {
            report_fprintf(s, REPORT_ESC_GNUPLOT, "set yrange [0:1]\nset label 1 'not recorded on this machine' at graph 0.5, graph 0.5 "
                         "center\nplot 2 notitle\n");
        }
    }
    fputs("unset multiplot\n", s);
    (void)p;
}

void report_doc_timeline(report_doc *d, plot_ctx *p)
{
    timeline *tl = calloc(1, sizeof *tl);
    if (!tl)
        return;
    char gpu[24] = "";
    if (d->any_gpu)
        snprintf(gpu, sizeof gpu, "%s.", d->r.gpu_name);
    if (read_csv(tl, d->telemetry_csv, gpu) < 0 || tl->npt == 0) {
        tl->npt = 0;
        tl->nspan = 0;
        from_runs(tl, &d->r);
    }
    if (tl->npt == 0) {
        free(tl->pt);
        free(tl);
        return;
    }
    bool have[NCH] = {0};
    size_t stride = tl->npt > 3000 ? tl->npt / 3000 + 1 : 1;
    FILE *f = plot_data(p, "tl.dat");
    for (size_t i = 0; i < tl->npt && f; i += stride) {
        fprintf(f, "%.6f", tl->pt[i].t);
        for (int c = 0; c < NCH; c++) {
            plot_num(f, tl->pt[i].v[c]);
            have[c] |= isfinite(tl->pt[i].v[c]);
        }
        fputc('\n', f);
    }
    if (f)
        fclose(f);
    char *text = NULL;
    size_t text_len = 0;
    FILE *s = open_memstream(&text, &text_len);
    if (s) {
        script(d, tl, p, s, have);
        d->svg[3] = fclose(s) == 0 && text ? plot_run(p, "timeline", text, 960, 720) : NULL;
        free(text);
    }
    free(tl->pt);
    free(tl);
}
