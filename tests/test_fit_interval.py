"""The 95% interval on a fitted base (docs/theory.md §10.2): hull of pair bootstrap and WLS.

The truth the tests compare against is computed here independently of copylearn.fits: the WLS
slope and its standard error from the closed-form weighted normal equations, and the pair
bootstrap from ``np.polyfit`` on each resample.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from fit_data import synthetic

from copylearn.fits import fit_exponential, slope_interval
from copylearn.query_fits import fit_log_queries

Z95 = 1.959963984540054


def wls_truth(x, y, w):
    """Weighted least-squares slope and its standard error, from the closed form."""
    x, y, w = (np.asarray(v, dtype=float) for v in (x, y, w))
    s0, sx, sy = w.sum(), (w * x).sum(), (w * y).sum()
    sxx, sxy = (w * x * x).sum(), (w * x * y).sum()
    det = s0 * sxx - sx * sx
    return (s0 * sxy - sx * sy) / det, math.sqrt(s0 / det)


def bootstrap_truth(x, y, w, n_boot=2000, seed=0):
    """Percentile pair bootstrap of the weighted slope, one np.polyfit per resample."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, x.size, size=(n_boot, x.size))
    slopes = [np.polyfit(x[i], y[i], 1, w=np.sqrt(w[i]))[0] for i in idx if np.ptp(x[i]) > 0]
    return np.percentile(slopes, [2.5, 97.5])


def log_data(ns, n_star, lo, hi):
    x = np.asarray(ns, dtype=float)
    y = np.log(n_star)
    w = 1.0 / ((np.log(hi) - np.log(lo)) / (2 * Z95)) ** 2
    return x, y, w


def test_near_collinear_points_with_wide_intervals_report_the_analytic_interval():
    # Points 100x closer to the line than their intervals say (reduced chi^2 ~ 1e-3): the
    # bootstrap sees only the scatter and is far too narrow; the reported one is the WLS one.
    data = synthetic(range(3, 9), 10.0, 2.0, sd=0.002, seed=1, width=0.2)
    fit = fit_exponential(*data)
    slope, se = wls_truth(*log_data(*data))
    analytic = [slope - Z95 * se, slope + Z95 * se]
    assert fit["reduced_chi2"] < 0.1
    assert fit["ci_method"] == "pair-bootstrap+wls"
    assert fit["log_base_ci"] == pytest.approx(analytic, rel=1e-9)
    assert fit["base_ci"] == pytest.approx(np.exp(analytic).tolist(), rel=1e-9)
    boot = bootstrap_truth(*log_data(*data))
    assert fit["log_base_ci_bootstrap"] == pytest.approx(boot.tolist(), rel=1e-9)
    # Strictly wider than the pure bootstrap at both ends.
    assert fit["log_base_ci"][0] < boot[0] and fit["log_base_ci"][1] > boot[1]


def test_large_scatter_reports_the_bootstrap_interval():
    # Scatter 10x the per-point errors (sd 0.03, above the 0.025 floor): reduced chi^2 >> 1,
    # the WLS interval is too narrow and the bootstrap is the reported interval at both ends.
    data = synthetic(range(3, 11), 10.0, 2.0, sd=0.3, seed=4, width=0.03)
    fit = fit_exponential(*data)
    x, y, w = log_data(*data)
    boot = bootstrap_truth(x, y, w)
    slope, se = wls_truth(x, y, w)
    assert fit["reduced_chi2"] > 20
    assert fit["log_base_ci"] == pytest.approx(boot.tolist(), rel=1e-9)
    assert boot[0] < slope - Z95 * se and boot[1] > slope + Z95 * se
    assert fit["log_base_se"] == pytest.approx(se, rel=1e-9)


REPEATS = 300
# Coverage of a 95% interval over REPEATS independent fits, less 5 binomial standard errors.
COVERAGE_FLOOR = 0.95 - 5 * math.sqrt(0.95 * 0.05 / REPEATS)


def _coverage(factor: float) -> tuple[float, float]:
    """Share of REPEATS fits whose reported and whose WLS-only interval hold the true log b.

    Six points n = 3..8 on N* = 10·2^n, each stated with a 95% interval exp(±1.96·0.3) while
    the true log-normal scatter is ``factor`` times 0.3.
    """
    rng = np.random.default_rng(int(factor * 100))
    ns = np.arange(3, 9)
    hull = wls = 0
    for repeat in range(REPEATS):
        n_star = 10.0 * 2.0**ns * np.exp(factor * 0.3 * rng.standard_normal(ns.size))
        fit = fit_exponential(
            ns.tolist(),
            n_star.tolist(),
            (n_star * np.exp(-Z95 * 0.3)).tolist(),
            (n_star * np.exp(Z95 * 0.3)).tolist(),
            seed=repeat,
        )
        assert fit["base_ci"] == pytest.approx([math.exp(v) for v in fit["log_base_ci"]])
        hull += fit["log_base_ci"][0] <= math.log(2.0) <= fit["log_base_ci"][1]
        wls += fit["log_base_ci_wls"][0] <= math.log(2.0) <= fit["log_base_ci_wls"][1]
    return hull / REPEATS, wls / REPEATS


@pytest.mark.parametrize("factor", [0.5, 1.0, 2.0])
def test_reported_interval_covers_the_true_base(factor):
    """At least 95% coverage (less 5 SE) whether the points scatter less, as much as or more
    than their intervals say; at twice the stated scatter the WLS part alone falls short, so
    this test sees an interval that drops the bootstrap (docs/theory.md §10.2)."""
    hull, wls = _coverage(factor)
    assert hull >= COVERAGE_FLOOR, (factor, hull)
    if factor == 2.0:
        assert wls < COVERAGE_FLOOR, wls


def test_two_points_keep_the_analytic_interval():
    fit = fit_exponential([3, 4], [27.0, 81.0], [25.0, 75.0], [29.0, 87.0])
    assert fit["ci_method"] == "analytic" and fit["log_base_ci_bootstrap"] is None
    assert fit["log_base_ci"] == pytest.approx(fit["log_base_ci_wls"], rel=1e-12)


def test_slope_interval_is_seeded_and_centred_on_the_wls_part():
    x = np.arange(5.0)
    y = 0.5 * x + np.array([0.01, -0.02, 0.0, 0.02, -0.01])
    w = np.full(5, 100.0)
    a = slope_interval(x, y, w, 0.5, 0.05, seed=3)
    assert a == slope_interval(x, y, w, 0.5, 0.05, seed=3)
    assert a["method"] == "pair-bootstrap+wls" and a["ci"] == pytest.approx(
        [0.5 - Z95 * 0.05, 0.5 + Z95 * 0.05]
    )


def _log_rows(b, ms, *, scatter, half_width, seed):
    rng = np.random.default_rng(seed)
    spec = {"task": "pauli-prediction", "strategy": "bell", "n": 4, "query_grid": "log"}
    rows = []
    for m in ms:
        v = 10.0 + b * math.log(m) + scatter * rng.standard_normal()
        rows.append(
            {
                "spec": {**spec, "queries": m},
                "n_star": v,
                "n_star_ci": [v - half_width, v + half_width],
            }
        )
    return rows


def test_log_queries_fit_uses_the_same_hull():
    ms = [5, 9, 17, 33, 65, 129, 257]
    # Close to the line, wide intervals: the WLS interval b ± 1.96 se.
    (near,) = fit_log_queries(_log_rows(24.0, ms, scatter=0.01, half_width=8.0, seed=2))
    assert near["ci_method"] == "pair-bootstrap+wls"
    assert near["b_ci"] == pytest.approx(
        [near["b"] - Z95 * near["b_se"], near["b"] + Z95 * near["b_se"]], rel=1e-9
    )
    # Scattered, narrow intervals: the pair bootstrap over M.
    rows = _log_rows(24.0, ms, scatter=3.0, half_width=0.2, seed=2)
    (far,) = fit_log_queries(rows)
    x = np.log(np.array(ms, dtype=float))
    y = np.array([r["n_star"] for r in rows])
    boot = bootstrap_truth(x, y, np.full(len(ms), 1 / (0.4 / (2 * Z95)) ** 2))
    assert far["b_ci"] == pytest.approx(boot.tolist(), rel=1e-9)
