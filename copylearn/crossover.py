"""Where the two-copy advantage dies: N* versus n and storage-noise fidelity, both strategies.

Reads sweep rows whose noise is storage depolarizing (``state_depolarizing:p``, per-qubit
Pauli fidelity f = 1 - 4p/3; ``"none"`` is f = 1) and compares the strategies two ways:

* **exponential bases** (docs/theory.md §8.4, §8.6): at each f, fit log N* = a + n log b for Bell
  sampling and for random-Pauli shadows (:func:`copylearn.fits.fit_exponential`, n >= 2).
  With full-weight P theory gives b_Bell = f^-4 and b_shadow = 3 f^-2, so Bell's base is the
  smaller one exactly while f > 1/sqrt(3) = 0.577 (:data:`PREDICTED_FIDELITY`). The measured
  boundary is where log b_Bell - log b_shadow crosses zero, interpolated linearly in f, with
  a 95% interval from a parametric bootstrap over the fitted log-bases;
* **copies at each n**: the fidelity where N*_Bell = N*_shadow at fixed n (interpolated in f
  on log N*). A derived finite-n estimate (docs/theory.md §8.5: the coin picture with Gaussian
  thresholds; Bell consumes two copies per experiment) puts it at (3 f^2)^n = 2 / alpha^2,
  which tends to 1/sqrt(3) as n grows.

The intervals on N* (and so on the bases) resample trials; each point's calibration is
shared by its trials and its error is not in them (100,000 copies per eigenstate put about 2.5%
on the damping of a weight-4 Pauli at f = 0.5).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from copylearn.errors import CopylearnError
from copylearn.fits import fit_exponential
from copylearn.noise import parse_noise

#: docs/theory.md §8.4: Bell beats random-Pauli shadows while f > 1/sqrt(3).
PREDICTED_FIDELITY = 1 / math.sqrt(3)
#: Smallest n used in the base fits (n = 1 is dominated by the decision threshold).
FIT_N_MIN = 2
_BOOTSTRAP = 4000
#: The (two-copy, single-copy) protocols compared when the rows' task declares no pair
#: (``Task.crossover_pair``; pauli-prediction declares this one). The figure is drawn for
#: tasks that declare it (``Task.figures``).
PAIR = ("bell", "pauli-shadow")


def pair_of(rows: Iterable[dict[str, Any]]) -> tuple[str, str]:
    """The protocols to compare: the ``crossover_pair`` the rows' one task declares.

    Rows of several tasks, of a task that is not registered (a plug-in not imported) or that
    declares no pair get :data:`PAIR`.
    """
    from copylearn.tasks import get_task

    specs = [r.get("spec") if isinstance(r, dict) else None for r in rows]
    tasks = {str(s.get("task", "pauli-prediction")) for s in specs if isinstance(s, dict)}
    if len(tasks) == 1:
        try:
            pair = tuple(get_task(tasks.pop()).crossover_pair)
        except CopylearnError:
            pair = ()
        if len(pair) == 2:
            return pair[0], pair[1]
    return PAIR


def storage_fidelity(noise: str) -> float | None:
    """Per-qubit Pauli fidelity f of a noise spec that is storage depolarizing only.

    ``"none"`` gives 1.0; ``"state_depolarizing:p"`` gives 1 - 4p/3; anything else None.
    """
    model = parse_noise(noise)
    if model is None:
        return 1.0
    if model.spec() != f"state_depolarizing:{model.state_depolarizing:g}":
        return None
    return 1.0 - 4.0 * model.state_depolarizing / 3.0


def finite_n_fidelity(n: float | np.ndarray, alpha: float) -> float | np.ndarray:
    """Derived finite-n boundary: the f with (3 f^2)^n = 2 / alpha^2."""
    return (2.0 / alpha**2) ** (1.0 / (2.0 * np.asarray(n, dtype=float))) / math.sqrt(3.0)


def _zero_crossing(f: np.ndarray, delta: np.ndarray) -> float | None:
    """The f (interpolated) where ``delta`` changes sign, scanning from high to low f."""
    order = np.argsort(-f)
    f, delta = f[order], delta[order]
    for i in range(len(f) - 1):
        if delta[i] < 0 <= delta[i + 1] or delta[i] <= 0 < delta[i + 1]:
            t = -delta[i] / (delta[i + 1] - delta[i])
            return float(f[i] + t * (f[i + 1] - f[i]))
    return None


def crossover_rows(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows of a storage-noise sweep, each with its fidelity under ``"f"``.

    A row whose target was not reached (``reached: false``) keeps no N*: it is a lower bound
    and is left out of the base fits and the equal-cost interpolation.

    Raises
    ------
    CopylearnError
        If the rows differ in anything besides strategy, n and noise (alpha, queries,
        calibration, ...): the comparison would mix settings.
    """
    out, settings = [], set()
    for row in rows:
        spec = row["spec"]
        f = storage_fidelity(str(spec.get("noise", "none")))
        if f is not None:
            if row.get("reached") is False:  # N* > max_copies: a lower bound, never a value
                row = {**row, "n_star": None, "n_star_ci": None}
            out.append({**row, "f": f})
            rest = {k: v for k, v in spec.items() if k not in ("strategy", "n", "noise")}
            settings.add(json.dumps(rest, sort_keys=True))
    if len(settings) > 1:
        raise CopylearnError(
            "the store's storage-noise points differ in more than strategy, n and noise "
            f"({len(settings)} settings): compare one setting at a time."
        )
    return out


def analyse(
    rows: Iterable[dict[str, Any]], seed: int = 0, *, pair: tuple[str, str] | None = None
) -> dict[str, Any]:
    """Fitted bases per fidelity, the measured boundaries and the predictions.

    ``pair`` names the (two-copy, single-copy) strategies compared; by default the pair
    the rows' task declares (:func:`pair_of`).

    Returns
    -------
    dict
        ``pair`` (the two strategies compared); ``fidelities`` (sorted, descending);
        ``bases``: per strategy, a list (one per f) of fits
        (:func:`copylearn.fits.fit_exponential` output); ``boundary`` (measured f where the
        bases cross, or None) with ``boundary_ci`` (95%; an end is None where it falls
        outside the grid's fidelities); ``predicted`` (1/sqrt(3));
        ``per_n``: for each n, the f where N*_Bell = N*_shadow (or None) and the derived
        finite-n value; ``alpha``.
    """
    rows = list(rows)
    pair = tuple(pair) if pair is not None else pair_of(rows)
    rows = crossover_rows(rows)
    fids = sorted({r["f"] for r in rows}, reverse=True)
    alpha = float(rows[0]["spec"]["alpha"]) if rows else 0.9
    bases: dict[str, list[dict[str, Any]]] = {}
    two, one = pair
    for strategy in pair:
        bases[strategy] = []
        for f in fids:
            pts = sorted(
                (r for r in rows if r["spec"]["strategy"] == strategy and r["f"] == f),
                key=lambda r: r["spec"]["n"],
            )
            pts = [r for r in pts if r["spec"]["n"] >= FIT_N_MIN]
            ci = [r.get("n_star_ci") or [None, None] for r in pts]
            bases[strategy].append(
                fit_exponential(
                    [r["spec"]["n"] for r in pts],
                    [r.get("n_star") for r in pts],
                    [c[0] for c in ci],
                    [c[1] for c in ci],
                )
            )
    usable = [
        i
        for i in range(len(fids))
        if bases[two][i]["log_base"] is not None and bases[one][i]["log_base"] is not None
    ]
    f_arr = np.array([fids[i] for i in usable])
    delta = np.array([bases[two][i]["log_base"] - bases[one][i]["log_base"] for i in usable])
    se = np.array(
        [math.hypot(bases[two][i]["log_base_se"], bases[one][i]["log_base_se"]) for i in usable]
    )
    boundary = _zero_crossing(f_arr, delta) if len(usable) >= 2 else None
    boundary_ci = None
    if boundary is not None:
        # A draw without a crossing puts the boundary past the grid: below its lowest f when
        # Bell's base stays the smaller one, above its highest f otherwise.
        rng = np.random.default_rng(seed)
        draws = delta + se * rng.standard_normal((_BOOTSTRAP, len(delta)))
        found = [_zero_crossing(f_arr, d) for d in draws]
        beyond = [-np.inf if d[np.argmin(f_arr)] < 0 else np.inf for d in draws]
        values = np.array([v if v is not None else b for v, b in zip(found, beyond, strict=True)])
        lo, hi = np.quantile(values, [0.025, 0.975], method="inverted_cdf")
        boundary_ci = [None if np.isinf(lo) else float(lo), None if np.isinf(hi) else float(hi)]
    per_n = []
    for n in sorted({r["spec"]["n"] for r in rows}):
        star = {}
        for strategy in pair:
            star[strategy] = {
                r["f"]: r.get("n_star")
                for r in rows
                if r["spec"]["strategy"] == strategy and r["spec"]["n"] == n
            }
        common = [f for f in fids if star[two].get(f) is not None and star[one].get(f) is not None]
        ratio = np.array([math.log(star[two][f] / star[one][f]) for f in common])
        per_n.append(
            {
                "n": n,
                "fidelity": _zero_crossing(np.array(common), ratio) if len(common) >= 2 else None,
                "derived": float(finite_n_fidelity(n, alpha)),
            }
        )
    return {
        "pair": list(pair),
        "alpha": alpha,
        "fidelities": fids,
        "bases": bases,
        "boundary": boundary,
        "boundary_ci": boundary_ci,
        "predicted": PREDICTED_FIDELITY,
        "per_n": per_n,
    }
