#!/usr/bin/env python3
"""Independent expected values for tests/test_reports_stats.c.

Uses only the Python standard library and mpmath (numerical integration and
root finding, arbitrary precision): none of thermabench's C code.
Run: python3 tests/data/reports/stats_oracle.py
"""
import itertools, statistics as st
from fractions import Fraction as F
from statistics import NormalDist
import mpmath as mp

mp.mp.dps = 30
N = NormalDist()

def t_pdf(x, df):
    return mp.gamma((df + 1) / 2) / (mp.sqrt(df * mp.pi) * mp.gamma(df / 2)) * (1 + x * x / df) ** (-(df + 1) / 2)

def t_cdf(x, df):  # by quadrature of the density, not the incomplete beta
    df = mp.mpf(df)
    return mp.mpf(1) / 2 + mp.quad(lambda u: t_pdf(u, df), [0, x])

def t_q(p, df):
    return mp.findroot(lambda x: t_cdf(x, df) - p, 2)

print("betainc(2.5,1.5,0.3) =", mp.betainc(2.5, 1.5, 0, 0.3, regularized=True))
print("betainc(10,0.5,0.9) =", mp.betainc(10, 0.5, 0, 0.9, regularized=True))
print("t_cdf(1.7,7.3) =", t_cdf(1.7, 7.3))
print("t_cdf(-2.5,3) =", t_cdf(-2.5, 3))
print("t_q(0.975,10) =", t_q(0.975, 10))
print("t_q(0.995,5) =", t_q(0.995, 5))
print("t_q(0.9,2.5) =", t_q(0.9, 2.5))
print("norm_q(0.975) =", N.inv_cdf(0.975), " norm_q(1e-6) =", N.inv_cdf(1e-6))

x = [12.1, 11.8, 12.5, 13.0, 11.9, 12.2, 12.7, 12.0, 30.0, 12.3]
print("x mean", st.mean(x), "sd", st.stdev(x), "median", st.median(x))
q = st.quantiles(x, n=4, method="inclusive")
print("x q1 q3", q[0], q[2])
med = st.median(x)
mad = st.median([abs(v - med) for v in x])
print("x mad", mad)
n = len(x)
print("x ci half width 95", t_q(0.975, n - 1) * st.stdev(x) / mp.sqrt(n))

a = [41.2, 40.8, 41.5, 40.9, 41.1, 41.3, 40.7, 41.0]
b = [42.0, 41.9, 42.4, 41.15, 42.2, 41.45, 41.8, 42.5, 42.3]
ma, mb = st.mean(a), st.mean(b)
va, vb = st.variance(a) / len(a), st.variance(b) / len(b)
tt = (mb - ma) / mp.sqrt(va + vb)
df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
print("welch t", tt, "df", df, "p", 2 * t_cdf(-abs(tt), df))
qt = t_q(0.975, df)
print("welch ci", mb - ma - qt * mp.sqrt(va + vb), mb - ma + qt * mp.sqrt(va + vb))

def mwu_u(a, b):
    return sum(1 if x > y else 0.5 if x == y else 0 for x in a for y in b)

def mwu_exact_p(a, b):  # enumerate every split of the pooled sample
    pool = a + b
    u0 = mwu_u(a, b); mu = len(a) * len(b) / 2
    ext = cnt = 0
    for idx in itertools.combinations(range(len(pool)), len(a)):
        s = set(idx)
        aa = [pool[i] for i in idx]; bb = [pool[i] for i in range(len(pool)) if i not in s]
        cnt += 1
        if abs(mwu_u(aa, bb) - mu) >= abs(u0 - mu) - 1e-9:
            ext += 1
    return u0, F(ext, cnt)

males = [19, 22, 16, 29, 24]; females = [20, 11, 17, 12]
u, p = mwu_exact_p(males, females)
print("mwu males/females U", u, "p", p, float(p))
u, p = mwu_exact_p(a, b)
print("mwu a/b U", u, "p", float(p))

# ties: normal approximation with tie and continuity correction, by hand
ta = [1, 2, 2, 3, 3, 3, 4, 5, 5, 6, 7, 8, 8, 9, 10, 10, 11, 12, 12, 13, 14, 15]
tb = [3, 4, 5, 5, 6, 7, 7, 8, 9, 9, 10, 11, 12, 13, 13, 14, 15, 16, 16, 17, 18, 19, 20]
u = mwu_u(ta, tb); m1, m2 = len(ta), len(tb); NN = m1 + m2
pool = ta + tb
tie = sum(pool.count(v) ** 3 - pool.count(v) for v in set(pool))
var = m1 * m2 / 12 * ((NN + 1) - tie / (NN * (NN - 1)))
z = (abs(u - m1 * m2 / 2) - 0.5) / var ** 0.5
print("mwu ties U", u, "z", z, "p", 2 * N.cdf(-z))

d = sorted(y - x_ for x_ in a for y in b)
print("HL", st.median(d))
print("cliff", sum((y > x_) - (y < x_) for x_ in a for y in b) / (len(a) * len(b)))

# Fieller: the two roots of (mb - r ma)^2 = t^2 (vb + r^2 va), found numerically
R = mb / ma
v = vb + R * R * va
dff = v * v / (vb ** 2 / (len(b) - 1) + (R * R * va) ** 2 / (len(a) - 1))
tq = t_q(0.975, dff)
g = lambda r: (mb - r * ma) ** 2 - tq ** 2 * (vb + r * r * va)
print("fieller", R, mp.findroot(g, R - 0.01), mp.findroot(g, R + 0.01))

# Mann-Kendall on a series with a tie
s = [10.0, 10.2, 10.1, 10.4, 10.4, 10.3, 10.6, 10.8, 10.7, 11.0, 10.9, 11.2]
S = sum((s[j] > s[i]) - (s[j] < s[i]) for i in range(len(s)) for j in range(i + 1, len(s)))
n = len(s)
tg = sum(s.count(v) * (s.count(v) - 1) * (2 * s.count(v) + 5) for v in set(s))
var = (n * (n - 1) * (2 * n + 5) - tg) / 18
z = (S - 1) / var ** 0.5
print("MK S", S, "var", var, "z", z, "p", 2 * N.cdf(-abs(z)), "tau", S / (n * (n - 1) / 2))

# OLS with exact rational arithmetic on the uncentred normal equations
y = [40.0, 39.6, 39.9, 39.1, 38.8, 38.9, 38.2, 38.4, 41.5, 41.0, 40.6, 40.9]
ind = [0] * 6 + [1] * 6
tmp = [50, 52, 53, 55, 57, 58, 60, 61, 51, 54, 56, 57]
X = [[F(1), F(i), F(t)] for i, t in zip(ind, tmp)]
Y = [F(v).limit_denominator(1000) for v in y]
k = 3
A = [[sum(r[i] * r[j] for r in X) for j in range(k)] for i in range(k)]
B = [sum(r[i] * yy for r, yy in zip(X, Y)) for i in range(k)]
M = [A[i] + [B[i]] + [F(int(i == j)) for j in range(k)] for i in range(k)]
for c in range(k):
    pv = M[c][c]
    M[c] = [e / pv for e in M[c]]
    for r in range(k):
        if r != c:
            f = M[r][c]
            M[r] = [e - f * ec for e, ec in zip(M[r], M[c])]
coef = [M[i][k] for i in range(k)]
inv = [[M[i][k + 1 + j] for j in range(k)] for i in range(k)]
res = [yy - sum(c * xx for c, xx in zip(coef, r)) for r, yy in zip(X, Y)]
sse = sum(e * e for e in res); ybar = sum(Y) / len(Y)
syy = sum((yy - ybar) ** 2 for yy in Y)
s2 = sse / (len(Y) - k)
print("ols coef", [float(c) for c in coef], "se", [float(mp.sqrt(s2 * inv[i][i])) for i in range(k)],
      "r2", float(1 - sse / syy))
ma_ = sum(Y[:6]) / 6
tq = t_q(0.975, len(Y) - k)
print("adjusted pct", float(100 * coef[1] / ma_), "lo", float(100 * (float(coef[1]) - tq * mp.sqrt(float(s2 * inv[1][1]))) / float(ma_)),
      "p", 2 * t_cdf(-abs(float(coef[1]) / float(mp.sqrt(s2 * inv[1][1]))), len(Y) - k))

# thermal sensitivity: simple regression of y on temperature, as % of mean per C
sl = st.linear_regression(tmp, y).slope
print("sensitivity pct/C", 100 * sl / st.mean(y), "r2", st.correlation(tmp, y) ** 2)

# Hodges-Lehmann ratio with the Moses CI. Critical values from the published
# Mann-Whitney table (two-sided alpha .05): n=(8,9) -> 15, so the CI is
# [D_(16), D_(72-16+1)] of the sorted log differences.
import math
d = sorted(math.log(y) - math.log(x_) for x_ in a for y in b)
print("HL ratio", math.exp(st.median(d)), "lo", math.exp(d[15]), "hi", math.exp(d[len(d) - 16]))
