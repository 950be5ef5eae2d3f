"""Copies needed versus the qubits of quantum memory k: the fit, the theory curve, the figure.

A store that sweeps a protocol's ``memory_qubits`` option (``partial-bell``, docs/theory.md
§20) at fixed n holds one N* per k. :func:`fit_memory` fits ``log N* = a + (n - k) log b`` by
the weighted least squares of :func:`copylearn.fits.fit_exponential` (weights from each
point's 95% interval, the interval on b of docs/theory.md §10.2) over k <= n - 1: at k = n
the rest is empty and the protocol is Bell sampling, whose single-shot second moment is 1, not
2^0 + 1 = 2, so that point is off the law by construction (§20.4) and is drawn, not fitted.
It also compares every k with the single-copy level of the same store (the N* of a
single-copy protocol at the same n, alpha and query count).

The theory curve is docs/theory.md §20.4's
``min(c1 (2^n + 1) / alpha^2, c2 (2^{n-k} + 1) / alpha^4)``: the shapes are theory, the two
prefactors are fitted, one each, with the shape held fixed (as the shadow overlay of §7.2 is),
c1 on the single-copy points and c2 on the memory points. Drawn for every alpha of the store,
and for :data:`THEORY_ONLY_ALPHAS` not in it (labelled "theory" only), to show where the min
switches branch (the kink). Theory overlays only: nothing here makes data.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from copylearn.errors import CopylearnError
from copylearn.fits import _ci_end, fit_exponential

__all__ = ["KEY", "fit_memory", "has_memory_sweep", "memory_figure", "summary_lines", "theory"]

#: The protocol option that sets the qubits of quantum memory.
KEY = "memory_qubits"
#: Bias values the figure adds as theory curves when the store does not hold them.
THEORY_ONLY_ALPHAS = (0.3,)


def _memory_default(strategy: str) -> int | None:
    """The default of the protocol's ``memory_qubits`` option, or None without one."""
    from copylearn.protocols import get_protocol

    try:
        protocol = get_protocol(strategy)
    except CopylearnError:
        return None
    for p in protocol.parameters:
        if p.name == KEY:
            return int(p.default)
    return None


def _single_copy(strategy: str) -> bool:
    from copylearn.protocols import get_protocol

    try:
        return get_protocol(strategy).copies_per_shot == 1
    except CopylearnError:
        return False


def memory_of(spec: dict[str, Any]) -> int | None:
    """k of a point (its ``memory_qubits``, or the protocol's default), or None for a
    protocol without the option."""
    default = _memory_default(str(spec.get("strategy", "")))
    if default is None:
        return None
    return int(spec.get(KEY, default))


def has_memory_sweep(rows: Sequence[dict[str, Any]]) -> bool:
    """Whether some group of rows takes two or more values of ``memory_qubits``."""
    return any(len(members) >= 2 for _, members in _groups(rows))


def _groups(rows: Iterable[dict[str, Any]]) -> list[tuple[dict[str, Any], list[dict]]]:
    """Rows of memory protocols grouped by their spec without ``memory_qubits``."""
    groups: dict[str, list[dict]] = {}
    for row in rows:
        spec = row["spec"]
        if memory_of(spec) is None:
            continue
        group = {key: v for key, v in spec.items() if key != KEY}
        groups.setdefault(json.dumps(group, sort_keys=True), []).append(row)
    out = []
    for text, members in sorted(groups.items()):
        members.sort(key=lambda r: memory_of(r["spec"]))
        out.append((json.loads(text), members))
    return out


def _usable(row: dict[str, Any]) -> bool:
    return row.get("n_star") is not None and row.get("reached") is not False


def single_copy_levels(rows: Iterable[dict[str, Any]], group: dict[str, Any]) -> list[dict]:
    """Rows of single-copy protocols at the group's n, alpha and query count."""
    keys = ("task", "n", "alpha", "queries", "weight", "noise", "target")
    return [
        r
        for r in rows
        if _single_copy(str(r["spec"].get("strategy", "")))
        and all(r["spec"].get(key) == group.get(key) for key in keys)
    ]


def fit_memory(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Fit ``log N* = a + (n - k) log b`` per group of rows that differ only in k.

    Parameters
    ----------
    rows : sequence of dict
        Summary rows (:func:`copylearn.sweep.summary_rows`).

    Returns
    -------
    list of dict
        Per group that holds two or more k: ``group`` (spec without k), ``strategy``,
        ``n``, ``ks`` (every k with an N*), everything
        :func:`copylearn.fits.fit_exponential` returns for x = n - k over k <= n - 1
        (``base``, ``base_ci``, ``ns`` holding the n - k used, ...), ``single`` (the
        single-copy level: ``strategy``, ``n_star``, ``n_star_ci``; None if the store has
        none) and ``beats_from`` (smallest k from which every measured N* is below the
        single-copy N*; None if none or no level), ``beats_from_ci`` (the same with the
        upper end of each k's 95% interval below the lower end of the level's).
    """
    fits = []
    for group, members in _groups(rows):
        if len(members) < 2:  # one k (e.g. N* versus n at fixed k): nothing to fit in n - k
            continue
        n = int(group["n"])
        usable = [r for r in members if _usable(r)]
        fitted = [r for r in usable if memory_of(r["spec"]) < n]
        fit = fit_exponential(
            [n - memory_of(r["spec"]) for r in fitted],
            [r["n_star"] for r in fitted],
            [_ci_end(r.get("n_star_ci"), 0) for r in fitted],
            [_ci_end(r.get("n_star_ci"), 1) for r in fitted],
        )
        out: dict[str, Any] = {"group": group, "strategy": group["strategy"], "n": n, **fit}
        out["ks"] = [memory_of(r["spec"]) for r in usable]
        levels = [r for r in single_copy_levels(rows, group) if _usable(r)]
        out["single"] = None
        out["beats_from"] = out["beats_from_ci"] = None
        if levels:
            level = min(levels, key=lambda r: float(r["n_star"]))
            out["single"] = {
                "strategy": level["spec"]["strategy"],
                "n_star": float(level["n_star"]),
                "n_star_ci": level.get("n_star_ci"),
            }
            out["beats_from"] = _beats_from(usable, float(level["n_star"]), upper=False)
            lo = _ci_end(level.get("n_star_ci"), 0)
            if lo is not None:
                out["beats_from_ci"] = _beats_from(usable, lo, upper=True)
        fits.append(out)
    return fits


def _beats_from(members: Sequence[dict[str, Any]], level: float, *, upper: bool) -> int | None:
    """Smallest k such that every measured k' >= k has N* (or its upper 95% end) < level."""
    best = None
    for row in sorted(members, key=lambda r: -memory_of(r["spec"])):
        value = _ci_end(row.get("n_star_ci"), 1) if upper else float(row["n_star"])
        if value is None or value >= level:
            break
        best = memory_of(row["spec"])
    return best


def theory(
    k: np.ndarray, n: int, alpha: float, c1: float | None, c2: float | None
) -> dict[str, np.ndarray | float | None]:
    """docs/theory.md §20.4: ``single = c1 (2^n + 1) / alpha^2``,
    ``memory = c2 (2^{n-k} + 1) / alpha^4`` and their minimum (copies), None where a
    prefactor is missing."""
    k = np.asarray(k, dtype=float)
    single = None if c1 is None else c1 * (2.0**n + 1.0) / alpha**2
    memory = None if c2 is None else c2 * (2.0 ** (n - k) + 1.0) / alpha**4
    both = None if single is None or memory is None else np.minimum(single, memory)
    return {"single": single, "memory": memory, "min": both}


def prefactors(fit: dict[str, Any], rows: Sequence[dict[str, Any]]) -> tuple[float | None, ...]:
    """Fitted c1 (single-copy level) and c2 (memory points, k <= n - 1) of a group: the
    geometric means of N* alpha^2 / (2^n + 1) and N* alpha^4 / (2^{n-k} + 1)."""
    group, n = fit["group"], fit["n"]
    alpha = float(group.get("alpha", 0.9))
    members = [r for g, m in _groups(rows) if g == group for r in m if _usable(r)]
    logs = [
        math.log(float(r["n_star"]) * alpha**4 / (2.0 ** (n - memory_of(r["spec"])) + 1.0))
        for r in members
        if memory_of(r["spec"]) < n and float(r["n_star"]) > 2.0
    ]
    c2 = math.exp(sum(logs) / len(logs)) if logs else None
    c1 = None
    if fit.get("single"):
        c1 = fit["single"]["n_star"] * alpha**2 / (2.0**n + 1.0)
    return c1, c2


def summary_lines(rows: Sequence[dict[str, Any]]) -> list[str]:
    """The ``copylearn summary`` lines of the fits in (n - k) (empty when no group sweeps k)."""
    lines = []
    for fit in fit_memory(rows):
        group = fit["group"]
        name = f"{fit['strategy']} n={fit['n']} alpha={group.get('alpha')}"
        if fit.get("base") is None:
            lines.append(f"  {name}: {fit.get('note')}")
            continue
        lo, hi = fit["base_ci"]
        ms = fit["ns"]
        text = (
            f"  {name}: N* = C b^(n-k), b = {fit['base']:.3g} 95% CI [{lo:.3g}, {hi:.3g}] "
            f"(k = {fit['n'] - max(ms)}..{fit['n'] - min(ms)}, {len(ms)} points; k = n is "
            "Bell sampling, drawn, not fitted)"
        )
        c1, c2 = prefactors(fit, rows)
        if c2 is not None:
            text += f"; theory prefactor c2 = {c2:.3g} (N* = c2 (2^(n-k)+1)/alpha^4)"
        lines.append(text)
        single = fit["single"]
        if single is None:
            lines.append("    no single-copy level in this store to compare with")
            continue
        beats = fit["beats_from"]
        beats_ci = fit["beats_from_ci"]
        lines.append(
            f"    single-copy level: {single['strategy']} N* = {single['n_star']:.4g} copies"
            f" (c1 = {c1:.3g}); memory below it from k = "
            f"{'-' if beats is None else beats} on (N*), from k = "
            f"{'-' if beats_ci is None else beats_ci} on (whole 95% intervals apart)"
        )
    if lines:
        lines.insert(
            0,
            "\nfitted log N* = a + (n - k) log b over the memory qubits k (weighted least "
            "squares, docs/theory.md §20.4):",
        )
    return lines


def memory_figure(rows: Sequence[dict[str, Any]]):
    """Copies needed versus k: measured N* with 95% intervals, the single-copy level, and
    the theory curves (memory branch, single-copy level and their minimum, per alpha); one
    panel per n when the store holds several."""
    from matplotlib.figure import Figure

    fits = fit_memory(rows)
    ns = sorted({fit["n"] for fit in fits})
    fig = Figure(figsize=(3.6 * max(1, len(ns)), 2.9))
    axes = fig.subplots(1, max(1, len(ns)), squeeze=False)[0]
    for ax, n in zip(axes, ns, strict=False):
        _memory_panel(ax, [fit for fit in fits if fit["n"] == n], rows)
        if len(ns) > 1:
            ax.set_title(f"n = {n}", fontsize=8)
    fig.tight_layout()
    return fig


def _memory_panel(ax, fits: Sequence[dict[str, Any]], rows: Sequence[dict[str, Any]]) -> None:
    """One n: the groups of ``fits`` (all at that n), their levels and theory curves."""
    from matplotlib.lines import Line2D

    from copylearn.plotting import OKABE_ITO, _strategy_style, n_star_errorbar

    palette = ["reddish_purple", "vermillion", "blue", "orange"]
    ys: list[float] = []
    c1_ref = c2_ref = None
    n_ref = None
    for i, fit in enumerate(fits):
        group, n = fit["group"], fit["n"]
        alpha = float(group.get("alpha", 0.9))
        colour = OKABE_ITO[palette[i % len(palette)]]
        members = [r for g, m in _groups(rows) if g == group for r in m if _usable(r)]
        k = np.array([memory_of(r["spec"]) for r in members], dtype=float)
        y = np.array([float(r["n_star"]) for r in members])
        ends = [(_ci_end(r.get("n_star_ci"), 0), _ci_end(r.get("n_star_ci"), 1)) for r in members]
        lo = np.array([v if e[0] is None else e[0] for e, v in zip(ends, y, strict=True)])
        hi = np.array([v if e[1] is None else e[1] for e, v in zip(ends, y, strict=True)])
        base = "" if fit.get("base") is None else f",\nb = {fit['base']:.2f} in n − k"
        style = _strategy_style(fit["strategy"])
        n_star_errorbar(
            ax,
            k,
            y,
            np.column_stack([lo, hi]),
            marker=style.get("marker", "D"),
            colour=colour,
            label=f"{style.get('label', fit['strategy'])}, n = {n}, α = {alpha:g}{base}",
            zorder=3,
        )
        ys += lo.tolist() + hi.tolist()
        c1, c2 = prefactors(fit, rows)
        grid = np.linspace(0, n, 200)
        curves = theory(grid, n, alpha, c1, c2)
        if curves["memory"] is not None:
            ax.plot(grid, curves["memory"], ls="--", lw=0.8, color=colour, zorder=2)
        single = fit["single"]
        if single is not None:
            s_lo = _ci_end(single.get("n_star_ci"), 0) or single["n_star"]
            s_hi = _ci_end(single.get("n_star_ci"), 1) or single["n_star"]
            ax.axhspan(s_lo, s_hi, color=OKABE_ITO["bluish_green"], alpha=0.15, lw=0)
            ax.axhline(
                single["n_star"],
                color=OKABE_ITO["bluish_green"],
                lw=1.0,
                label=f"single-copy level ({_strategy_style(single['strategy'])['label']})",
            )
            ys += [s_lo, s_hi]
        if curves["min"] is not None:
            ax.plot(grid, curves["min"], ls=":", lw=1.2, color="0.2", zorder=2)
            c1_ref, c2_ref, n_ref = c1, c2, n
    have = {float(f["group"].get("alpha", 0.9)) for f in fits}
    extra = [a for a in THEORY_ONLY_ALPHAS if a not in have]
    if n_ref is not None:
        grid = np.linspace(0, n_ref, 200)
        for alpha in extra:
            curves = theory(grid, n_ref, alpha, c1_ref, c2_ref)
            ax.plot(grid, curves["min"], ls="-.", lw=1.0, color="0.45", zorder=2)
            ys += [float(np.min(curves["min"])), float(np.max(curves["min"]))]
            ax.annotate(
                f"theory, α = {alpha:g}",
                (grid[20], curves["min"][20]),
                textcoords="offset points",
                xytext=(2, 4),
                fontsize=6.5,
                color="0.35",
            )
    handles, _ = ax.get_legend_handles_labels()
    handles.append(
        Line2D(
            [], [], ls="--", color="0.3", lw=0.8, label="theory c₂(2^(n−k)+1)/α⁴ (series colour)"
        )
    )
    if n_ref is not None:  # the min is drawn only where a single-copy level gives c1
        handles.append(
            Line2D([], [], ls=":", color="0.2", lw=1.2, label="theory min(c₁(2^n+1)/α², ·)")
        )
    if extra and n_ref is not None:
        handles.append(
            Line2D([], [], ls="-.", color="0.45", lw=1.0, label=f"theory min at α = {extra[0]:g}")
        )
    ax.set_yscale("log")
    ax.set_xlabel("memory qubits k")
    ax.set_ylabel("copies needed N* (two per experiment)")
    if ys:
        finite = [v for v in ys if v and math.isfinite(v) and v > 0]
        ax.set_ylim(min(finite) / 1.6, max(finite) * 1.6)
    if fits:
        ax.set_xticks(range(int(fits[0]["n"]) + 1))
    if fits and all(fit["single"] is None for fit in fits):
        ax.text(
            0.98,
            0.97,
            "no single-copy level measured",
            transform=ax.transAxes,
            ha="right",
            va="top",
            fontsize=6,
            color="0.35",
        )
    ax.legend(handles=handles, fontsize=5.5, loc="lower left", frameon=False)
