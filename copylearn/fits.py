"""Exponential fits of the copies needed versus qubit count, and the theory curves to overlay.

The fit follows docs/theory.md §10: ``log N*(n) = a + n log b`` by weighted least squares over
the n where N* is off its floor, with weights ``1 / Var(log N*)`` taken from each point's
95% bootstrap interval, and a 95% interval on the base b that is the hull of a pair bootstrap
over n and the analytic WLS interval (:func:`slope_interval`, docs/theory.md §10.2).

The theory curves follow docs/theory.md §7. They are *theory overlays*, never data: the
random-Pauli shadow scaling ``C·3^k``, the single-copy lower bound
``N_LB(n) = (2^n + 1)·ln(1/(2δ))/c_α`` with ``c_α = -½ ln(1 - α²)``, and the flat (constant
in n) two-copy Bell curve.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from copylearn.errors import CopylearnError

__all__ = [
    "bell_flat",
    "c_alpha",
    "fit_exponential",
    "fit_groups",
    "fit_prefactor",
    "pauli_shadow_curve",
    "single_copy_lower_bound",
    "slope_interval",
]

_Z95 = 1.959963984540054  # two-sided 95% normal quantile


# --------------------------------------------------------------------------------------------
# Exponential fit
# --------------------------------------------------------------------------------------------


def _as_float_or_none(value: Any) -> float | None:
    if value is None:
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _log_variances(
    n_star: np.ndarray, lo: list[float | None], hi: list[float | None], min_sd: float
) -> np.ndarray:
    """Var(log N*) from the 95% intervals; a missing interval gets the largest known variance."""
    var = np.full(n_star.shape, np.nan)
    for i, (lo_i, hi_i) in enumerate(zip(lo, hi, strict=True)):
        if lo_i is not None and hi_i is not None and 0 < lo_i <= hi_i:
            var[i] = ((math.log(hi_i) - math.log(lo_i)) / (2 * _Z95)) ** 2
    known = var[np.isfinite(var)]
    fill = float(known.max()) if known.size else 1.0
    var[~np.isfinite(var)] = fill
    return np.maximum(var, min_sd**2)


def _wls_line(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[float, float, np.ndarray]:
    """Weighted least squares y = a + s·x; returns (a, s, covariance of (a, s))."""
    design = np.column_stack([np.ones_like(x), x])
    normal = design.T @ (w[:, None] * design)
    cov = np.linalg.inv(normal)
    a, s = cov @ (design.T @ (w * y))
    return float(a), float(s), cov


def _bootstrap_slopes(
    x: np.ndarray, y: np.ndarray, w: np.ndarray, n_boot: int, seed: int
) -> np.ndarray:
    """Pair-bootstrap WLS slopes; resamples with fewer than 2 distinct x are skipped."""
    rng = np.random.default_rng(seed)
    m = x.size
    idx = rng.integers(0, m, size=(n_boot, m))
    xb, yb, wb = x[idx], y[idx], w[idx]
    keep = np.ptp(xb, axis=1) > 0
    xb, yb, wb = xb[keep], yb[keep], wb[keep]
    s0 = wb.sum(axis=1)
    sx = (wb * xb).sum(axis=1)
    sy = (wb * yb).sum(axis=1)
    sxx = (wb * xb * xb).sum(axis=1)
    sxy = (wb * xb * yb).sum(axis=1)
    return (s0 * sxy - sx * sy) / (s0 * sxx - sx * sx)


#: ``ci_method`` of an interval that is the hull of the pair bootstrap and the WLS interval.
HULL_METHOD = "pair-bootstrap+wls"


def slope_interval(
    x: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    slope: float,
    se: float,
    *,
    n_boot: int = 2000,
    seed: int = 0,
) -> dict[str, Any]:
    """95% interval on the slope of a weighted line: the hull of the pair bootstrap and WLS.

    The pair bootstrap over the points only sees their scatter about the line; the analytic
    interval ``slope ± 1.96·se`` only sees the points' own error bars (the weights). With few
    points either can be the narrower one (points closer to the line than their error bars
    say, reduced χ² < 1: the bootstrap; more scatter than they say, χ² > 1: the analytic
    one), so the interval reported is their hull: the smaller lower end and the larger upper
    end (docs/theory.md §10.2). With two distinct x the bootstrap is degenerate and the
    interval is the analytic one.

    Parameters
    ----------
    x, y, w : ndarray, shape (m,)
        The abscissae, ordinates and weights (1/variance) of the m points of the fit.
    slope, se : float
        The WLS slope and its analytic standard error (from the inverse normal matrix).
    n_boot : int, default 2000
        Pair-bootstrap resamples (resamples with fewer than 2 distinct x are skipped).
    seed : int, default 0
        Seed of the bootstrap, so the interval is reproducible.

    Returns
    -------
    dict
        ``ci`` ([lo, hi], the interval reported), ``method`` (:data:`HULL_METHOD`, or
        ``"analytic"`` with fewer than 3 distinct x), ``bootstrap`` ([lo, hi] of the
        percentile pair bootstrap, or None) and ``wls`` ([lo, hi], ``slope ± 1.96·se``).
    """
    wls = [slope - _Z95 * se, slope + _Z95 * se]
    if np.unique(x).size < 3:
        return {"ci": list(wls), "method": "analytic", "bootstrap": None, "wls": wls}
    slopes = _bootstrap_slopes(x, y, w, n_boot, seed)
    b_lo, b_hi = (float(v) for v in np.percentile(slopes, [2.5, 97.5]))
    return {
        "ci": [min(b_lo, wls[0]), max(b_hi, wls[1])],
        "method": HULL_METHOD,
        "bootstrap": [b_lo, b_hi],
        "wls": wls,
    }


def _empty_fit(ns: list[int], note: str) -> dict[str, Any]:
    return {
        "base": None,
        "base_ci": None,
        "log_base": None,
        "log_base_ci": None,
        "log_base_se": None,
        "a": None,
        "ns": ns,
        "n_min": min(ns) if ns else None,
        "residuals": [],
        "reduced_chi2": None,
        "ci_method": None,
        "log_base_ci_bootstrap": None,
        "log_base_ci_wls": None,
        "note": note,
    }


def fit_exponential(
    ns: Sequence[int],
    n_star: Sequence[float | None],
    ci_lo: Sequence[float | None] | None,
    ci_hi: Sequence[float | None] | None,
    floor: float = 2.0,
    *,
    n_boot: int = 2000,
    seed: int = 0,
    min_sd: float = 0.025,
) -> dict[str, Any]:
    """Fit ``log N* = a + n log b`` by weighted least squares, with a 95% interval on b.

    Parameters
    ----------
    ns : sequence of int
        Qubit counts.
    n_star : sequence of float or None
        Copies needed at each n; None (target not reached) is left out of the fit.
    ci_lo, ci_hi : sequence of float or None, or None
        Lower and upper ends of each point's 95% interval on N*. They set the weights
        ``1/Var(log N*)`` with ``Var = ((log hi - log lo) / (2·1.96))²``. A missing interval
        gets the largest variance among the others (all missing: equal weights).
    floor : float, default 2.0
        Points with ``N* <= floor`` sit at the floor of the search (one or two copies) and
        carry no information on the base; they are left out.
    n_boot : int, default 2000
        Pair-bootstrap resamples over n (resamples with < 2 distinct n are skipped).
    seed : int, default 0
        Seed of the bootstrap, so the interval is reproducible.
    min_sd : float, default 0.025
        Floor on the standard deviation of log N* (about the half-step of the ~5% search
        grid), so that a zero-width interval does not take all the weight.

    Returns
    -------
    dict
        ``base`` (b), ``base_ci`` (95% [lo, hi] on b, ``exp`` of ``log_base_ci``),
        ``log_base`` (log b), ``log_base_ci`` (95% on log b: the hull of the pair bootstrap
        and ``log b ± 1.96·log_base_se``, :func:`slope_interval`), ``log_base_se`` (analytic
        WLS standard error of log b, from the interval-derived variances), ``a`` (intercept,
        natural log of copies), ``ns`` (the n used, sorted), ``n_min`` (smallest n used),
        ``residuals`` (log N* - fit at each n in ``ns``), ``reduced_chi2`` (weighted
        residual sum of squares per degree of freedom; None with 2 points), ``ci_method``
        (``"pair-bootstrap+wls"``, or ``"analytic"`` when only two n are usable and the
        bootstrap is degenerate), ``log_base_ci_bootstrap`` and ``log_base_ci_wls`` (the two
        intervals the hull joins; the first None with two n) and ``note`` (None, or why the
        fit is missing or weak). With fewer than 2 usable n, ``base`` and the other estimates are
        None and ``note`` says why.

    Raises
    ------
    CopylearnError
        If the sequences have different lengths.
    """
    ns_list = list(ns)
    n_star_list = list(n_star)
    m = len(ns_list)
    lo_list = list(ci_lo) if ci_lo is not None else [None] * m
    hi_list = list(ci_hi) if ci_hi is not None else [None] * m
    if not (len(n_star_list) == len(lo_list) == len(hi_list) == m):
        raise CopylearnError(
            f"fit_exponential needs one N* and one interval per n: got {m} n, "
            f"{len(n_star_list)} N*, {len(lo_list)} lower and {len(hi_list)} upper ends."
        )

    rows = []
    n_missing = n_floor = 0
    for n_i, y_i, lo_i, hi_i in zip(ns_list, n_star_list, lo_list, hi_list, strict=True):
        value = _as_float_or_none(y_i)
        if value is None:
            n_missing += 1
        elif value <= floor:
            n_floor += 1
        else:
            rows.append((int(n_i), value, _as_float_or_none(lo_i), _as_float_or_none(hi_i)))
    rows.sort(key=lambda r: r[0])
    used_ns = [r[0] for r in rows]

    dropped = []
    if n_floor:
        dropped.append(f"{n_floor} at the floor N* <= {floor:g}")
    if n_missing:
        dropped.append(f"{n_missing} with no N* (target not reached)")
    dropped_text = f" (left out: {', '.join(dropped)})" if dropped else ""

    if len(set(used_ns)) < 2:
        return _empty_fit(
            used_ns,
            f"no fit: {len(set(used_ns))} usable n, need at least 2 distinct n with N* above "
            f"the floor{dropped_text}.",
        )

    x = np.asarray(used_ns, dtype=float)
    y_copies = np.asarray([r[1] for r in rows])
    y = np.log(y_copies)
    var = _log_variances(y_copies, [r[2] for r in rows], [r[3] for r in rows], min_sd)
    w = 1.0 / var

    a, log_b, cov = _wls_line(x, y, w)
    se = math.sqrt(cov[1, 1])
    residuals = y - (a + log_b * x)
    dof = x.size - 2
    reduced_chi2 = float(np.sum(w * residuals**2) / dof) if dof > 0 else None

    notes = []
    interval = slope_interval(x, y, w, log_b, se, n_boot=n_boot, seed=seed)
    lo, hi = interval["ci"]
    if interval["method"] == "analytic":
        notes.append("only 2 usable n: the pair bootstrap is degenerate, CI from the WLS SE")
    elif len(set(used_ns)) < 5:
        notes.append(f"only {len(set(used_ns))} usable n: the interval on b is rough")
    if dropped:
        notes.append("left out: " + ", ".join(dropped))

    return {
        "base": math.exp(log_b),
        "base_ci": [math.exp(lo), math.exp(hi)],
        "log_base": log_b,
        "log_base_ci": [float(lo), float(hi)],
        "log_base_se": se,
        "a": a,
        "ns": used_ns,
        "n_min": used_ns[0],
        "residuals": [float(r) for r in residuals],
        "reduced_chi2": reduced_chi2,
        "ci_method": interval["method"],
        "log_base_ci_bootstrap": interval["bootstrap"],
        "log_base_ci_wls": interval["wls"],
        "note": "; ".join(notes) + "." if notes else None,
    }


def _declared_n_min(group: dict[str, Any]) -> int | None:
    """The smallest n the series' task fits from (``Task.fit_n_min``); None if it declares
    none, or if the task or protocol is not registered in this process."""
    from copylearn.protocols import get_protocol
    from copylearn.tasks import get_task

    try:
        task = get_task(str(group.get("task", "")))
        protocol = get_protocol(str(group.get("strategy", "")))
    except CopylearnError:
        return None
    return task.fit_n_min(protocol, group)


def _group_key(spec: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in spec.items() if k != "n"}, sort_keys=True)


def _ci_end(ci: Any, i: int) -> float | None:
    if isinstance(ci, list | tuple) and len(ci) == 2:
        return _as_float_or_none(ci[i])
    return None


def _declared_floor(group: dict[str, Any], floor: float) -> float:
    """The series' task's ``Task.fit_floor`` when it declares one, else ``floor``."""
    from copylearn.tasks import get_task

    try:
        task = get_task(str(group.get("task", "")))
    except CopylearnError:
        return floor
    return floor if task.fit_floor is None else float(task.fit_floor)


def fit_groups(rows: Iterable[dict[str, Any]], floor: float = 2.0) -> list[dict[str, Any]]:
    """Fit the base of N* versus n for every group of store rows that differ only in n.

    Parameters
    ----------
    rows : iterable of dict
        Result rows as written by the sweep: ``{"id", "spec": {...}, "n_star",
        "n_star_ci", ...}``. Rows with the same ``id`` count once (the last one wins). A row
        whose search did not reach the target (``reached`` False) is left out of the fit,
        whatever its ``n_star``. A group whose task declares ``Task.fit_n_min`` for its
        protocol keeps its rows with n >= that only (the fit's note says so).
    floor : float, default 2.0
        Passed to :func:`fit_exponential`, unless the group's task declares ``fit_floor``.

    Returns
    -------
    list of dict
        One dict per group (every spec key except ``"n"``), sorted by strategy and then by
        the group's spec: ``{"group": {...}, "strategy": str}`` plus everything
        :func:`fit_exponential` returns (``base``, ``base_ci``, ``log_base``,
        ``log_base_ci``, ``a``, ``ns``, ``n_min``, ``log_base_se``, ``residuals``, ...).

    Raises
    ------
    CopylearnError
        If a row has no ``spec`` with an ``n`` and a ``strategy``.
    """
    unique: dict[str, dict[str, Any]] = {}
    for k, row in enumerate(rows):
        spec = row.get("spec") if isinstance(row, dict) else None
        if not isinstance(spec, dict) or "n" not in spec or "strategy" not in spec:
            raise CopylearnError(
                f"result row {k} has no spec with 'n' and 'strategy'; is this a copylearn "
                f"results.jsonl written by `copylearn sweep`?"
            )
        unique[str(row.get("id", k))] = row

    groups: dict[str, list[dict[str, Any]]] = {}
    for row in unique.values():
        groups.setdefault(_group_key(row["spec"]), []).append(row)

    fits = []
    for key, members in groups.items():
        members.sort(key=lambda r: r["spec"]["n"])
        group = json.loads(key)
        n_min = _declared_n_min(group)
        below = [r for r in members if n_min is not None and r["spec"]["n"] < n_min]
        members = [r for r in members if r not in below]
        group_floor = _declared_floor(group, floor)
        fit = fit_exponential(
            [r["spec"]["n"] for r in members],
            [None if r.get("reached") is False else r.get("n_star") for r in members],
            [_ci_end(r.get("n_star_ci"), 0) for r in members],
            [_ci_end(r.get("n_star_ci"), 1) for r in members],
            floor=group_floor,
        )
        if below:
            declared = (
                f"fit over n >= {n_min} as the task declares ({len(below)} smaller n left out)"
            )
            fit["note"] = declared + ("; " + fit["note"] if fit["note"] else ".")
            fit["fit_n_min"] = n_min
        fits.append({"group": group, "strategy": group["strategy"], **fit})
    fits.sort(key=lambda f: (str(f["strategy"]), _group_key(f["group"])))
    return fits


# --------------------------------------------------------------------------------------------
# Theory curves (docs/theory.md §7): overlays, not data
# --------------------------------------------------------------------------------------------


def pauli_shadow_curve(
    k: float | np.ndarray, prefactor: float = 1.0, base: float = 3.0
) -> float | np.ndarray:
    """Theory: copies a random-Pauli shadow needs for one weight-k Pauli, ``C·3^k``.

    The variance of the single-shot estimate is 3^k (HKP20), so the copies needed scale as
    ``C·3^k/α²``; for full-weight P, k = n. The prefactor C is not predicted: fit it with
    :func:`fit_prefactor`.

    Parameters
    ----------
    k : float or array
        Weight of the Pauli (n for full weight).
    prefactor : float, default 1.0
        The constant C (copies).
    base : float, default 3.0
        The base of the exponential; 3 for random-Pauli shadows.

    Returns
    -------
    float or ndarray
        ``prefactor * base**k``.
    """
    return prefactor * np.power(base, k)


def fit_prefactor(
    ns: Sequence[int],
    n_star: Sequence[float | None],
    base: float = 3.0,
    floor: float = 2.0,
) -> float | None:
    """Least-squares prefactor C of ``N* = C·base^n`` on log N*, with the slope held fixed.

    Minimises ``Σ (log N*_i - log C - n_i log base)²`` over the points above the floor, so
    ``log C`` is the mean of ``log N*_i - n_i log base``.

    Parameters
    ----------
    ns : sequence of int
        Qubit counts.
    n_star : sequence of float or None
        Copies needed; None and values ``<= floor`` are left out.
    base : float, default 3.0
        The fixed base.
    floor : float, default 2.0
        Points at or below the floor are left out.

    Returns
    -------
    float or None
        C, or None when no point is usable.
    """
    resid = [
        math.log(float(y)) - n * math.log(base)
        for n, y in zip(ns, n_star, strict=True)
        if _as_float_or_none(y) is not None and float(y) > floor
    ]
    return math.exp(sum(resid) / len(resid)) if resid else None


def c_alpha(alpha: float) -> float:
    """The constant ``c_α = -½ ln(1 - α²)`` of the single-copy lower bound (docs/theory.md §7.3).

    Parameters
    ----------
    alpha : float
        Bias of the hidden Pauli, in (0, 1]; ``c_α`` is infinite at α = 1.

    Returns
    -------
    float
        ``-0.5 * log(1 - alpha**2)`` (0.830 at α = 0.9).
    """
    if not 0 < alpha <= 1:
        raise CopylearnError(f"alpha={alpha!r} must be in (0, 1].")
    if alpha == 1:
        return math.inf
    return -0.5 * math.log1p(-(alpha**2))


def single_copy_lower_bound(
    n: float | np.ndarray, alpha: float = 0.9, delta: float = 1 / 3
) -> float | np.ndarray:
    """Theory: copies any single-copy (adaptive) protocol needs, ``(2^n + 1)·ln(1/(2δ))/c_α``.

    From docs/theory.md §7.3 (the project's own derivation): the total variation distance a
    single-copy learner reaches with T copies is at most ``1 - exp(-c_α T/(2^n + 1))``, and
    success probability ``1 - δ`` needs it to reach ``1 - 2δ``. No fitted constant.

    Parameters
    ----------
    n : float or array
        Qubit count.
    alpha : float, default 0.9
        Bias of the hidden Pauli, in (0, 1].
    delta : float, default 1/3
        Failure probability, ``1 - target``; must be in (0, 1/2).

    Returns
    -------
    float or ndarray
        ``N_LB(n)`` in copies of ρ (0 at α = 1, where one copy can already succeed).
    """
    if not 0 < delta < 0.5:
        raise CopylearnError(
            f"delta={delta!r} must be in (0, 1/2): the bound is trivial for success "
            f"probability <= 1/2."
        )
    c = c_alpha(alpha)
    dim_term = np.power(2.0, n) + 1.0
    if math.isinf(c):
        return dim_term * 0.0
    return dim_term * math.log(1.0 / (2.0 * delta)) / c


def bell_flat(n: float | np.ndarray, level: float) -> float | np.ndarray:
    """Theory: the two-copy Bell curve is constant in n; a flat line at ``level``.

    Parameters
    ----------
    n : float or array
        Qubit count(s).
    level : float
        The constant (e.g. the mean of the measured Bell N*).

    Returns
    -------
    float or ndarray
        ``level`` broadcast to the shape of ``n``.
    """
    return np.full(np.shape(n), float(level)) if np.ndim(n) else float(level)
