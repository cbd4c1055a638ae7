/* Statistics against independent values. Unless a line says otherwise, the
 * expected numbers were printed by tests/data/reports/stats_oracle.py
 * (Python standard library + mpmath: t by quadrature of the density and root
 * finding, Mann-Whitney by enumerating every split, OLS in exact rationals). */
#include <stdlib.h>

#include "reports.h"
#include "tb_test.h"

static const double X[] = {12.1, 11.8, 12.5, 13.0, 11.9, 12.2, 12.7, 12.0, 30.0, 12.3};
static const double A[] = {41.2, 40.8, 41.5, 40.9, 41.1, 41.3, 40.7, 41.0};
static const double B[] = {42.0, 41.9, 42.4, 41.15, 42.2, 41.45, 41.8, 42.5, 42.3};
#define NX 10
#define NA 8
#define NB 9

static void test_distributions(void)
{
    CHECK_NEAR(report_betainc(2.5, 1.5, 0.3), 0.0889437231706655916, 1e-13);
    CHECK_NEAR(report_betainc(10, 0.5, 0.9), 0.151640909634709969, 1e-13);
    CHECK_NEAR(report_t_cdf(1.7, 7.3), 0.934417315823456537, 1e-12);
    CHECK_NEAR(report_t_cdf(-2.5, 3), 0.0438533235040327736, 1e-12);
    CHECK_NEAR(report_t_quantile(0.975, 10), 2.22813885198627422, 1e-9);
    CHECK_NEAR(report_t_quantile(0.995, 5), 4.03214298355522718, 1e-9);
    CHECK_NEAR(report_t_quantile(0.9, 2.5), 1.73025092880717683, 1e-9);
    CHECK_NEAR(report_t_quantile(0.025, 10), -2.22813885198627422, 1e-9);
    /* Published table (e.g. NIST/SEMATECH e-Handbook 1.3.6.7.2): t(0.975, 1) = 12.706, t(0.95, 30) = 1.697. */
    CHECK_NEAR(report_t_quantile(0.975, 1), 12.706, 5e-4);
    CHECK_NEAR(report_t_quantile(0.95, 30), 1.697, 5e-4);
    /* Python statistics.NormalDist().inv_cdf */
    CHECK_NEAR(report_normal_quantile(0.975), 1.9599639845400536, 1e-12);
    CHECK_NEAR(report_normal_quantile(1e-6), -4.753424308822899, 1e-9);
    CHECK_NEAR(report_normal_cdf(1.96), 0.9750021048517795, 1e-12);
    CHECK(isnan(report_t_quantile(0.5, -1)));
}

static void test_descriptive(void)
{
    CHECK_NEAR(report_mean(X, NX), 14.05, 1e-12);
    CHECK_NEAR(report_sd(X, NX), 5.616493568054716, 1e-12);
    CHECK_NEAR(report_median(X, NX), 12.25, 1e-12);
    /* statistics.quantiles(method="inclusive") is Hyndman-Fan type 7 */
    CHECK_NEAR(report_quantile(X, NX, 0.25), 12.025, 1e-12);
    CHECK_NEAR(report_quantile(X, NX, 0.75), 12.65, 1e-12);
    CHECK_NEAR(report_mad(X, NX), 0.3, 1e-12);
    CHECK_NEAR(report_mean_ci_half_width(X, NX, 0.95), 4.01779746124776094, 1e-9);
    CHECK(isnan(report_sd(X, 1)));
    CHECK(isnan(report_mean_ci_half_width(X, 1, 0.95)));

    /* By hand: for n = 10, P(Bin(10, .5) <= 1) = 11/1024 <= .025 < P(<= 2) = 56/1024,
     * so the 95 % median CI is [x(2), x(9)] of the sorted sample = [11.9, 13.0]. */
    double lo, hi;
    report_median_ci(X, NX, 0.95, &lo, &hi);
    CHECK_NEAR(lo, 11.9, 1e-12);
    CHECK_NEAR(hi, 13.0, 1e-12);

    /* By hand: IQR = 0.625; 30.0 is beyond q3 + 3 IQR = 14.525: severe; the rest are inside
     * the 1.5 IQR fences [11.0875, 13.5875]. Robust z of 30 = 0.6745 * 17.75 / 0.3. */
    int cls[NX];
    report_outliers_tukey(X, NX, cls);
    int severe = 0, mild = 0;
    for (int i = 0; i < NX; i++) {
        severe += cls[i] == REPORT_OUTLIER_SEVERE;
        mild += cls[i] == REPORT_OUTLIER_MILD;
    }
    CHECK(cls[8] == REPORT_OUTLIER_SEVERE);
    CHECK(severe == 1 && mild == 0);
    double z[NX];
    report_robust_z(X, NX, z);
    CHECK_NEAR(z[8], 0.6745 * 17.75 / 0.3, 1e-9);
    report_summary s;
    report_summarize(X, NX, &s);
    CHECK(s.n == NX && s.outliers_severe == 1 && s.outliers_robust_z == 1);
    CHECK(s.mean_ci_lo < 14.05 && s.mean_ci_hi > 14.05);
}

static void test_two_sample(void)
{
    report_welch w;
    report_welch_test(A, NA, B, NB, &w);
    CHECK_NEAR(w.t, 5.11900666838864046, 1e-9);
    CHECK_NEAR(w.df, 13.251974652688007, 1e-9);
    CHECK_NEAR(w.p, 0.000185515257641880534, 1e-10);
    CHECK_NEAR(w.ci_lo, 0.523318452526348968, 1e-9);
    CHECK_NEAR(w.ci_hi, 1.28501488080698815, 1e-9);

    /* scipy.stats.mannwhitneyu docs example (males vs females): U = 17, exact p = 0.1111 = 1/9. */
    const double males[] = {19, 22, 16, 29, 24}, females[] = {20, 11, 17, 12};
    report_mwu m;
    report_mann_whitney(males, 5, females, 4, &m);
    CHECK(m.exact);
    CHECK_NEAR(m.u, 17, 0);
    CHECK_NEAR(m.p, 1.0 / 9.0, 1e-12);
    report_mann_whitney(A, NA, B, NB, &m);
    CHECK(m.exact);
    CHECK_NEAR(m.u, 4, 0);
    CHECK_NEAR(m.p, 0.0009872480460715754, 1e-12);
    /* With ties: normal approximation, tie + continuity correction (formula by hand in the script). */
    const double ta[] = {1, 2, 2, 3, 3, 3, 4, 5, 5, 6, 7, 8, 8, 9, 10, 10, 11, 12, 12, 13, 14, 15};
    const double tb[] = {3, 4, 5, 5, 6, 7, 7, 8, 9, 9, 10, 11, 12, 13, 13, 14, 15, 16, 16, 17, 18, 19, 20};
    report_mann_whitney(ta, 22, tb, 23, &m);
    CHECK(!m.exact);
    CHECK_NEAR(m.u, 147, 0);
    CHECK_NEAR(m.z, -2.3994940797403195, 1e-9);
    CHECK_NEAR(m.p, 0.01641774530375606, 1e-9);

    CHECK_NEAR(report_hodges_lehmann(A, NA, B, NB), 1.0, 1e-12);
    CHECK_NEAR(report_cliffs_delta(A, NA, B, NB), 0.8888888888888888, 1e-12);

    report_ratio r;
    CHECK(report_ratio_fieller(A, NA, B, NB, 0.95, &r) == 0);
    CHECK_NEAR(r.ratio, 1.0220192795535261, 1e-12);
    CHECK_NEAR(r.lo, 1.01272101803434421, 1e-9);
    CHECK_NEAR(r.hi, 1.03136762630486907, 1e-9);
    /* A denominator indistinguishable from 0 gives an unbounded interval. */
    const double z0[] = {-1, 1, -2, 2, 0.1};
    CHECK(report_ratio_fieller(z0, 5, B, NB, 0.95, &r) == -1);

    /* Bootstrap: deterministic for a seed, and close to Fieller on well-behaved data. */
    report_ratio b1, b2;
    CHECK(report_ratio_bootstrap(A, NA, B, NB, 0.95, 2000, 42, &b1) == 0);
    report_ratio_bootstrap(A, NA, B, NB, 0.95, 2000, 42, &b2);
    CHECK(b1.lo == b2.lo && b1.hi == b2.hi);
    CHECK(b1.lo < 1.0220 && b1.hi > 1.0220);
    CHECK_NEAR(b1.lo, 1.0127, 0.004);
    CHECK_NEAR(b1.hi, 1.0314, 0.004);

    /* Published Mann-Whitney critical values (two-sided .05): U = 23 for (10, 10),
     * 15 for (8, 9); the CI rank is one above. (4, 5) by hand: of C(9,4) = 126 splits,
     * U <= 0: 1, U <= 1: 2, U <= 2: 4 (4/126 > .025), so the critical U is 1, rank 2. */
    CHECK(report_mwu_ci_rank(10, 10, 0.95) == 24);
    CHECK(report_mwu_ci_rank(8, 9, 0.95) == 16);
    CHECK(report_mwu_ci_rank(4, 5, 0.95) == 2);
    CHECK(report_mwu_ci_rank(2, 2, 0.95) == 0);     /* too small: unbounded */
    CHECK(report_ratio_hodges_lehmann(A, NA, B, NB, 0.95, &r) == 0);
    CHECK_NEAR(r.ratio, 1.0241547286394386, 1e-12);
    CHECK_NEAR(r.lo, 1.0120481927710847, 1e-12);
    CHECK_NEAR(r.hi, 1.0317848410757948, 1e-12);

    /* Holm by hand: p = .01 .04 .03 .005 -> sorted .005*4, .01*3, .03*2, .04*1 -> running max. */
    double p[] = {0.01, 0.04, 0.03, 0.005}, adj[4];
    report_holm(p, 4, adj);
    CHECK_NEAR(adj[0], 0.03, 1e-15);
    CHECK_NEAR(adj[1], 0.06, 1e-15);
    CHECK_NEAR(adj[2], 0.06, 1e-15);
    CHECK_NEAR(adj[3], 0.02, 1e-15);
}

static void test_trend_and_regression(void)
{
    const double s[] = {10.0, 10.2, 10.1, 10.4, 10.4, 10.3, 10.6, 10.8, 10.7, 11.0, 10.9, 11.2};
    report_mann_kendall mk;
    report_mann_kendall_test(s, 12, &mk);
    CHECK_NEAR(mk.s, 55, 0);
    CHECK_NEAR(mk.var_s, 211.66666666666666, 1e-9);
    CHECK_NEAR(mk.z, 3.711654341766742, 1e-9);
    CHECK_NEAR(mk.p, 0.00020590905178674568, 1e-10);
    CHECK_NEAR(mk.tau, 0.8333333333333334, 1e-12);

    const double y[] = {40.0, 39.6, 39.9, 39.1, 38.8, 38.9, 38.2, 38.4, 41.5, 41.0, 40.6, 40.9};
    const double ind[] = {0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1};
    const int isb[] = {0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1};
    const double tmp[] = {50, 52, 53, 55, 57, 58, 60, 61, 51, 54, 56, 57};
    const double *cols[2] = {ind, tmp};
    report_ols f;
    CHECK(report_ols_fit(y, cols, 2, 12, &f) == 0);
    CHECK_NEAR(f.coef[0], 54.04247851002865, 1e-8);
    CHECK_NEAR(f.coef[1], 1.348137535816619, 1e-9);
    CHECK_NEAR(f.coef[2], -0.27063037249283667, 1e-10);
    CHECK_NEAR(f.se[0], 2.9032095203911243, 1e-8);
    CHECK_NEAR(f.se[1], 0.35525181055284766, 1e-9);
    CHECK_NEAR(f.se[2], 0.0534214926754446, 1e-10);
    CHECK_NEAR(f.r2, 0.7710208488906936, 1e-10);

    report_adjusted adj;
    CHECK(report_adjusted_effect(y, isb, tmp, NULL, 12, &adj) == 0);
    CHECK_NEAR(adj.pct, 3.4231168916206998, 1e-8);
    CHECK_NEAR(adj.pct_lo, 1.3825698890667724, 1e-7);
    CHECK_NEAR(adj.p, 0.00425067014344461, 1e-9);

    /* statistics.linear_regression / statistics.correlation */
    report_sensitivity sens;
    CHECK(report_thermal_sensitivity(y, tmp, 12, &sens) == 0);
    CHECK_NEAR(sens.pct_per_c, -0.5019857096343534, 1e-9);
    CHECK_NEAR(sens.r2, 0.40462610645667196, 1e-9);
    /* No temperature (null in the results): not computed, no crash. */
    double nan_t[12];
    for (int i = 0; i < 12; i++)
        nan_t[i] = NAN;
    CHECK(report_thermal_sensitivity(y, nan_t, 12, &sens) == -1);
    CHECK(report_adjusted_effect(y, isb, nan_t, NULL, 12, &adj) == -1);
    /* Collinear regressors are refused. */
    const double *cols2[2] = {ind, ind};
    CHECK(report_ols_fit(y, cols2, 2, 12, &f) == -1);
}

static void test_sample_size(void)
{
    /* By hand with the normal approximation: 2 ((1.95996 + 0.84162) * 1 / 3)^2 = 1.74 runs;
     * the t correction at small df raises it; with t(.975, 4) = 2.776 and t(.8, 4) = 0.941
     * (tables): n = 3 gives (2.776 + 0.941) sqrt(2/3) * 1 % = 3.03 % > 3 %, n = 4 (df 6:
     * 2.447 + 0.906) sqrt(2/4) = 2.37 % <= 3 %, so 4 runs. */
    CHECK(report_runs_needed(0.01, 0.03, 0.05, 0.8) == 4);
    CHECK_NEAR(report_min_detectable(0.01, 4, 0.05, 0.8), (2.446912 + 0.905703) * sqrt(0.5) * 0.01, 1e-6);
    /* Large n: normal approximation 2 (2.80158 * 5 / 1)^2 = 392.4 runs for a 1 % change at CV 5 %. */
    int n = report_runs_needed(0.05, 0.01, 0.05, 0.8);
    CHECK(n >= 393 && n <= 396);
}

int main(void)
{
    test_distributions();
    test_descriptive();
    test_two_sample();
    test_trend_and_regression();
    test_sample_size();
    TB_MAIN_END();
}
