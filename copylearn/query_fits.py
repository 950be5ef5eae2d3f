"""N* versus the number of predictions M: the fit N* = a + b ln M and its Chernoff-rate theory.

"Measure first, ask questions later": at fixed accuracy the copies needed to answer M queries
grow like ln M (docs/theory.md §16). :func:`fit_log_queries` fits ``N* = a + b ln M`` by
weighted least squares over the query counts ``M >= m_min`` of a store that sweeps M (a
``query_grid = "log"`` point, one summary row per M), with a 95% interval on the slope b (the
hull of the pair bootstrap and the WLS interval, :func:`copylearn.fits.slope_interval`, the
same rule as the fits in n) and the weighted R²; :func:`implied_predictions` inverts the line,
``M(N) = exp((N - a) / b)``. :func:`chernoff_rate` and :func:`chernoff_slope` give the theory
slope (copies per e-fold of M) that the task's overlay declares: the reciprocal Cramér rate of
one null query crossing the midpoint threshold (§16.2). Theory only: nothing here makes data.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from copylearn.errors import CopylearnError
from copylearn.fits import _ci_end, _wls_line, slope_interval

__all__ = [
    "chernoff_rate",
    "chernoff_slope",
    "extrapolation_note",
    "fit_log_queries",
    "implied_predictions",
]

_Z95 = 1.959963984540054


def chernoff_rate(hit: float, threshold: float) -> float:
    """Cramér rate of the mean of Y crossing ``hit * threshold`` (docs/theory.md §16.2).

    Y takes +1 and -1 with probability ``hit / 2`` each and 0 otherwise (a null query's
    single-shot value in units of its magnitude): the rate is
    ``sup_u [u·hit·threshold - ln(1 + hit·(cosh u - 1))]``, solved by bisection on the
    stationarity condition ``threshold·(1 + hit·(cosh u - 1)) = sinh u``.

    Parameters
    ----------
    hit : float
        Probability in (0, 1] that a shot sees the query (1 for Bell sampling, 3^-|Q| for
        random-Pauli shadows).
    threshold : float
        The midpoint threshold in units of the value's magnitude, in (0, 1) (alpha^2/2 for
        Bell sampling, alpha/2 for shadows).

    Returns
    -------
    float
        The rate I, per shot.

    Raises
    ------
    CopylearnError
        ``hit`` outside (0, 1] or ``threshold`` outside (0, 1).
    """
    if not 0.0 < hit <= 1.0 or not 0.0 < threshold < 1.0:
        raise CopylearnError(
            f"chernoff_rate needs hit in (0, 1] and threshold in (0, 1), got {hit}, {threshold}."
        )

    def gap(u: float) -> float:
        return threshold * (1.0 + hit * (math.cosh(u) - 1.0)) - math.sinh(u)

    lo, hi = 0.0, 1.0
    while gap(hi) > 0.0:
        hi *= 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if gap(mid) > 0.0 else (lo, mid)
    u = 0.5 * (lo + hi)
    return u * hit * threshold - math.log1p(hit * (math.cosh(u) - 1.0))


def chernoff_slope(statistic: str, n: int, alpha: float, copies_per_shot: int) -> float:
    """Theory slope b of N* = a + b ln M in copies per e-fold of M (docs/theory.md §16.2).

    ``statistic`` ``"tr(Q rho)^2"`` (Bell sampling: f_Q = ±1, every shot sees every query,
    threshold alpha^2/2) or ``"tr(Q rho)"`` (random-Pauli shadows: a full-weight query is
    seen by a shot with probability 3^-n, threshold alpha/2); b = copies_per_shot / I.
    """
    if statistic == "tr(Q rho)^2":
        rate = chernoff_rate(1.0, alpha**2 / 2)
    else:
        rate = chernoff_rate(3.0**-n, alpha / 2)
    return copies_per_shot / rate


def fit_log_queries(
    rows: Iterable[dict[str, Any]],
    *,
    m_min: int = 5,
    key: str = "queries",
    n_boot: int = 2000,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Fit N* = a + b ln M for every group of rows that differ only in the query count M.

    Parameters
    ----------
    rows : iterable of dict
        Summary rows (:func:`copylearn.sweep.summary_rows`). Only groups with
        ``query_grid = "log"`` in their spec are fitted; rows without N* are left out.
    m_min : int, default 5
        Smallest M fitted (below it the binding event is not yet a null query crossing).
    key : str
        The spec key holding M.
    n_boot : int
        Pair-bootstrap resamples over M for the 95% interval on b.
    seed : int
        The bootstrap's seed.

    Returns
    -------
    list of dict
        Per group: ``group`` (spec without M), ``strategy``, ``a``, ``b`` (copies per e-fold),
        ``b_se`` (WLS standard error), ``b_ci`` (95%: the hull of the pair bootstrap over M
        and ``b ± 1.96·b_se``, as for the base in n, docs/theory.md §10.2), ``ci_method``
        (``"pair-bootstrap+wls"``), ``r2`` (weighted R²), ``ms`` (the M fitted) and ``note``
        (None, or why there is no fit). Weights are 1/Var(N*) from each point's 95%
        bootstrap interval, Var = ((hi - lo)/(2·1.96))² (docs/theory.md §16.3).
    """
    groups: dict[str, list[dict]] = {}
    for row in rows:
        spec = row["spec"]
        if spec.get("query_grid") != "log":
            continue
        group = {k: v for k, v in spec.items() if k != key}
        groups.setdefault(json.dumps(group, sort_keys=True), []).append(row)
    fits = []
    for text, members in sorted(groups.items()):
        group = json.loads(text)
        usable = [
            r
            for r in members
            if r.get("n_star") is not None
            and r.get("reached") is not False
            and int(r["spec"][key]) >= m_min
        ]
        usable.sort(key=lambda r: r["spec"][key])
        fit: dict[str, Any] = {"group": group, "strategy": group["strategy"]}
        fit.update(a=None, b=None, b_se=None, b_ci=None, ci_method=None, r2=None, note=None)
        fit["ms"] = [int(r["spec"][key]) for r in usable]
        if len(usable) < 3:
            fit["note"] = f"no fit: {len(usable)} query counts M >= {m_min} with N*, need 3."
            fits.append(fit)
            continue
        x = np.log(np.array(fit["ms"], dtype=float))
        y = np.array([float(r["n_star"]) for r in usable])
        var = np.full(y.shape, np.nan)
        for i, r in enumerate(usable):
            lo, hi = _ci_end(r.get("n_star_ci"), 0), _ci_end(r.get("n_star_ci"), 1)
            if lo is not None and hi is not None and hi > lo:
                var[i] = ((hi - lo) / (2 * _Z95)) ** 2
        known = var[np.isfinite(var)]
        var[~np.isfinite(var)] = known.max() if known.size else 1.0
        w = 1.0 / np.maximum(var, 1e-12)
        a, b, cov = _wls_line(x, y, w)
        mean = np.sum(w * y) / np.sum(w)
        r2 = 1.0 - np.sum(w * (y - a - b * x) ** 2) / np.sum(w * (y - mean) ** 2)
        b_se = math.sqrt(cov[1, 1])
        interval = slope_interval(x, y, w, b, b_se, n_boot=n_boot, seed=seed)
        fit.update(a=a, b=b, b_se=b_se, b_ci=interval["ci"], ci_method=interval["method"])
        fit.update(r2=float(r2))
        fits.append(fit)
    return fits


def implied_predictions(fit: dict[str, Any], copies: float) -> float | None:
    """The number of predictions M = exp((N - a)/b) the fitted line allows at N copies.

    None when the fit has no slope or a non-positive one; ``math.inf`` when the exponent
    exceeds the float range. Outside the fitted range of M (``fit["ms"]``) the value is an
    extrapolation of the line: :func:`extrapolation_note` says so.
    """
    if fit.get("b") is None or fit["b"] <= 0:
        return None
    exponent = (copies - fit["a"]) / fit["b"]
    return math.inf if exponent > 700.0 else math.exp(exponent)


def extrapolation_note(fit: dict[str, Any], m: float | None) -> str | None:
    """Why an implied M is not a measured one: outside the fitted M range, below one query,
    or more than the 4^n - 1 non-identity Paulis of n qubits. None when it is inside."""
    if m is None:
        return None
    ms = fit.get("ms") or []
    n = fit.get("group", {}).get("n")
    if m < 1:
        return "below one prediction: N is under the line's intercept"
    if isinstance(n, int) and m > 4**n - 1:
        return f"more than the 4^n - 1 = {4**n - 1} Paulis of n = {n} qubits: the line's limit"
    if ms and not ms[0] <= m <= ms[-1]:
        return f"extrapolated beyond the fitted M = {ms[0]}..{ms[-1]}"
    return None


def summary_lines(rows: list[dict[str, Any]], at_copies: float | None = None) -> list[str]:
    """The ``copylearn summary`` lines of the ln M fits (empty when no group sweeps M).

    Each line: strategy and n, the slope b with its 95% interval, the intercept a, R², the
    Chernoff theory slope of the group's task overlay (docs/theory.md §16.2) and, with
    ``at_copies``, the implied number of predictions exp((N - a)/b) at N copies.
    """
    from copylearn.protocols import get_protocol
    from copylearn.tasks import get_task

    lines = []
    for fit in fit_log_queries(rows):
        group = fit["group"]
        name = f"{fit['strategy']} n={group.get('n')}"
        if fit["b"] is None:
            lines.append(f"  {name}: {fit['note']}")
            continue
        theory = ""
        try:
            protocol = get_protocol(fit["strategy"])
            for overlay in get_task(group["task"]).overlays(protocol, group):
                if overlay["kind"] == "log-queries":
                    theory = f", theory (Chernoff) b = {overlay['slope']:.3g}"
        except CopylearnError:
            pass
        lo, hi = fit["b_ci"]
        text = (
            f"  {name}: N* = {fit['a']:.3g} + {fit['b']:.3g} ln M copies, b 95% CI "
            f"[{lo:.3g}, {hi:.3g}], R^2 = {fit['r2']:.3f} (M = {fit['ms'][0]}..{fit['ms'][-1]}, "
            f"{len(fit['ms'])} points){theory}"
        )
        if at_copies is not None:
            m = implied_predictions(fit, at_copies)
            shown = "-" if m is None else f"{m:.3g}"
            text += f"; at N = {at_copies:g} copies: M = exp((N - a)/b) = {shown} predictions"
            note = extrapolation_note(fit, m)
            if note:
                text += f" ({note})"
        lines.append(text)
    if lines:
        lines.insert(0, "\nfitted N* = a + b ln M (weighted least squares over M >= 5):")
    return lines
