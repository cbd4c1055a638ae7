/* Seeded Monte Carlo check of the gate's statistical validity: A/A false
 * alarms under several noise models, power against a 3 % slowdown, CI
 * coverage. Small by default (seconds under ASan); the figures in
 * docs/STATISTICS.md come from the same program with more trials:
 *   build/reports/tests/test_reports_montecarlo --trials 20000 --table */
#include <stdlib.h>

#include "reports.h"
#include "tb_test.h"

enum noise { NORMAL, LOGNORMAL, HEAVY, CONTAMINATED, DRIFT_INTERLEAVED, DRIFT_BLOCKED };
static const char *noise_name[] = {"normal", "log-normal", "heavy-tailed (t3)", "contaminated (5% slow runs)",
                                   "thermal drift -5%, interleaved", "thermal drift -5%, blocked AAA..BBB"};

static double student_t3(uint64_t *s)
{
    double z = report_rng_normal(s), c = 0;
    for (int i = 0; i < 3; i++) {
        double g = report_rng_normal(s);
        c += g * g;
    }
    return z / sqrt(c / 3);
}

/* One run's throughput: true mean mu, relative noise cv, run position pos of
 * total (for drift). */
static double draw(enum noise kind, double mu, double cv, int pos, int total, uint64_t *s)
{
    double drift = 1.0;
    if (kind == DRIFT_INTERLEAVED || kind == DRIFT_BLOCKED)
        drift = 1 - 0.05 * pos / (double)(total - 1);
    switch (kind) {
    case LOGNORMAL: return mu * exp(cv * report_rng_normal(s));
    case HEAVY: return mu * (1 + cv * student_t3(s) / sqrt(3.0));
    case CONTAMINATED: {
        double v = mu * (1 + cv * report_rng_normal(s));
        if (report_rng_uniform(s) < 0.05)
            v *= 1 - (0.05 + 0.15 * report_rng_uniform(s));
        return v;
    }
    default: return drift * mu * (1 + cv * report_rng_normal(s));
    }
}

static void sample(enum noise kind, double mu_a, double mu_b, double cv, int n, double *a, double *b, uint64_t *s)
{
    int total = 2 * n;
    for (int i = 0; i < n; i++) {
        int pa = kind == DRIFT_BLOCKED ? i : 2 * i, pb = kind == DRIFT_BLOCKED ? n + i : 2 * i + 1;
        a[i] = draw(kind, mu_a, cv, pa, total, s);
        b[i] = draw(kind, mu_b, cv, pb, total, s);
    }
}

typedef struct rates {
    double regression, improvement, inconclusive, not_pass, compare_slower, naive_welch;
} rates;

static rates run_gate(enum noise kind, double shift, double cv, int n, int trials, uint64_t seed, double margin)
{
    report_gate_options o;
    report_gate_defaults(&o);
    if (margin > 0)
        o.max_regression = margin;
    double a[256], b[256], r, lo, hi;
    char why[256];
    uint64_t s = seed;
    rates k = {0};
    for (int t = 0; t < trials; t++) {
        sample(kind, 100, 100 * (1 - shift), cv, n, a, b, &s);
        report_gate_verdict v = report_gate_samples(a, n, b, n, true, &o, &r, &lo, &hi, why, sizeof why);
        k.regression += v == REPORT_GATE_REGRESSION;
        k.improvement += v == REPORT_GATE_IMPROVEMENT;
        k.inconclusive += v == REPORT_GATE_INCONCLUSIVE;
        k.not_pass += v != REPORT_GATE_PASS;
        report_ratio f;
        k.compare_slower += report_ratio_fieller(a, n, b, n, 0.95, &f) == 0 && f.hi < 1;
        report_welch w;
        report_welch_test(a, n, b, n, &w);
        k.naive_welch += w.p < 0.05;
    }
    k.regression /= trials;
    k.improvement /= trials;
    k.inconclusive /= trials;
    k.not_pass /= trials;
    k.compare_slower /= trials;
    k.naive_welch /= trials;
    return k;
}

/* Coverage of the 95 % CIs: the mean (Student t) and the ratio (Fieller). */
static void coverage(double cv, int n, int trials, uint64_t seed, double *cov_mean, double *cov_ratio)
{
    double a[256], b[256];
    uint64_t s = seed;
    int cm = 0, cr = 0;
    for (int t = 0; t < trials; t++) {
        sample(NORMAL, 100, 97, cv, n, a, b, &s);
        double hw = report_mean_ci_half_width(a, n, 0.95), m = report_mean(a, n);
        cm += m - hw <= 100 && 100 <= m + hw;
        report_ratio f;
        cr += report_ratio_fieller(a, n, b, n, 0.95, &f) == 0 && f.lo <= 0.97 && 0.97 <= f.hi;
    }
    *cov_mean = (double)cm / trials;
    *cov_ratio = (double)cr / trials;
}

/* 20 unchanged benchmarks: how often does at least one of them fire? */
static void family(int n, double cv, int trials, uint64_t seed, double *gate_any, double *naive_any)
{
    report_gate_options o;
    report_gate_defaults(&o);
    double a[256], b[256], r, lo, hi;
    char why[256];
    uint64_t s = seed;
    int g = 0, w = 0;
    for (int t = 0; t < trials; t++) {
        int gf = 0, wf = 0;
        for (int k = 0; k < 20; k++) {
            sample(NORMAL, 100, 100, cv, n, a, b, &s);
            gf |= report_gate_samples(a, n, b, n, true, &o, &r, &lo, &hi, why, sizeof why) == REPORT_GATE_REGRESSION;
            report_welch wt;
            report_welch_test(a, n, b, n, &wt);
            wf |= wt.p < 0.05;
        }
        g += gf;
        w += wf;
    }
    *gate_any = (double)g / trials;
    *naive_any = (double)w / trials;
}

int main(int argc, char **argv)
{
    int trials = 400, n = 15, table = 0;   /* 15: the default experiment's repetitions */
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--trials") && i + 1 < argc)
            trials = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--n") && i + 1 < argc)
            n = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--table"))
            table = 1;
    }
    if (trials < 10 || n < 3 || n > 256) {
        fprintf(stderr, "usage: %s [--trials N>=10] [--n 3..256] [--table]\n", argv[0]);
        return 2;
    }
    if (table)
        printf("n = %d runs per variant, %d trials, gate defaults (max regression 3%%, 95%% CI, max CV 10%%)\n\n"
               "| scenario | CV | true change | regression | improvement | inconclusive | not pass | compare says slower | naive Welch p<.05 |\n"
               "|---|---|---|---|---|---|---|---|---|\n", n, trials);
    /* A/A: false alarms of the gate under every noise model, CV 1 % and 3 %. */
    const double cvs[] = {0.01, 0.03};
    for (int c = 0; c < 2; c++)
        for (int kind = NORMAL; kind <= DRIFT_BLOCKED; kind++) {
            rates k = run_gate(kind, 0, cvs[c], n, trials, 1000 + 10 * kind + c, 0);
            if (table)
                printf("| A/A %s | %.0f%% | 0 | %.4f | %.4f | %.4f | %.4f | %.4f | %.4f |\n", noise_name[kind],
                       100 * cvs[c], k.regression, k.improvement, k.inconclusive, k.not_pass,
                       k.compare_slower, k.naive_welch);
            /* A false regression never (<= 1 %) with an interleaved order; at CV 1 %
             * not even an inconclusive verdict (<= 1 %, <= 5 % with slow runs mixed in).
             * At CV 3 % and 10 runs, inconclusive is the honest answer: see STATISTICS.md. */
            if (kind != DRIFT_BLOCKED)
                CHECKF(k.regression <= 0.01, "%s cv %.2f: regression rate %.4f", noise_name[kind], cvs[c], k.regression);
            /* Two bare samples carry no run order to pair: a drift inside each arm is
             * evidence of instability there (test_reports_validity pairs interleaved files). */
            if (kind != DRIFT_BLOCKED && kind != DRIFT_INTERLEAVED && c == 0)
                CHECKF(k.not_pass <= (kind == CONTAMINATED ? 0.05 : 0.01), "%s cv %.2f: not-pass rate %.4f",
                       noise_name[kind], cvs[c], k.not_pass);
        }
    /* Power: a 3 % slowdown at CV 1 %. */
    rates p = run_gate(NORMAL, 0.03, 0.01, n, trials, 77, 0);
    rates p5 = run_gate(NORMAL, 0.05, 0.01, n, trials, 78, 0);
    rates p1 = run_gate(NORMAL, 0.03, 0.01, n, trials, 79, 0.01);
    rates a1 = run_gate(NORMAL, 0, 0.01, n, trials, 80, 0.01);
    if (table) {
        printf("| 3%% slower, normal | 1%% | -3%% | %.4f | %.4f | %.4f | %.4f | %.4f | %.4f |\n", p.regression,
               p.improvement, p.inconclusive, p.not_pass, p.compare_slower, p.naive_welch);
        printf("| 5%% slower, normal | 1%% | -5%% | %.4f | %.4f | %.4f | %.4f | %.4f | %.4f |\n", p5.regression,
               p5.improvement, p5.inconclusive, p5.not_pass, p5.compare_slower, p5.naive_welch);
        printf("| 3%% slower, normal, --max-regression 1%% | 1%% | -3%% | %.4f | %.4f | %.4f | %.4f | %.4f | %.4f |\n",
               p1.regression, p1.improvement, p1.inconclusive, p1.not_pass, p1.compare_slower, p1.naive_welch);
        printf("| A/A normal, --max-regression 1%% | 1%% | 0 | %.4f | %.4f | %.4f | %.4f | %.4f | %.4f |\n",
               a1.regression, a1.improvement, a1.inconclusive, a1.not_pass, a1.compare_slower, a1.naive_welch);
    }
    CHECKF(p.not_pass >= 0.90, "3%% shift: gate does not pass it in only %.4f", p.not_pass);
    CHECKF(p.compare_slower >= 0.90, "3%% shift: compare says slower in only %.4f", p.compare_slower);
    CHECKF(p5.regression >= 0.90, "5%% shift: regression in only %.4f", p5.regression);
    CHECKF(p1.regression >= 0.90, "3%% shift, 1%% margin: regression in only %.4f", p1.regression);
    CHECKF(a1.regression <= 0.01, "A/A, 1%% margin: regression in %.4f", a1.regression);

    double cm, cr;
    coverage(0.01, n, trials * 5, 4242, &cm, &cr);
    if (table)
        printf("\n95%% CI coverage (normal, CV 1%%, %d trials): mean (Student t) %.4f, ratio (Fieller) %.4f\n",
               trials * 5, cm, cr);
    CHECKF(cm >= 0.93 && cm <= 0.97, "mean CI coverage %.4f", cm);
    CHECKF(cr >= 0.93 && cr <= 0.97, "Fieller coverage %.4f", cr);

    double ga, na;
    family(n, 0.01, trials / 4 > 50 ? trials / 4 : 50, 999, &ga, &na);
    if (table)
        printf("20 unchanged benchmarks (normal, CV 1%%): P(any gate regression) %.4f, "
               "P(any naive Welch p < .05) %.4f\n", ga, na);
    CHECKF(ga <= 0.01, "family-wise gate false alarm %.4f", ga);
    CHECKF(na > 0.4, "the naive gate should fire often (about 64%%): %.4f", na);
    TB_MAIN_END();
}
