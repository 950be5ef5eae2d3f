"""The figure ``predictions_vs_copies``: copies needed N* versus the number of predictions M.

Drawn by :func:`copylearn.plotting.plot_store` when a store sweeps the query count
(``query_grid = "log"``, docs/theory.md §16): N* with its 95% bootstrap interval against M on
a logarithmic axis, one series per strategy and n, the weighted fit N* = a + b ln M over M >= 5
(solid, its slope with 95% interval in the legend) and the task's Chernoff-rate slope
(dashed, labelled "theory", drawn through the fitted points' weighted mean; §16.2).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

from copylearn.plotting import (
    OKABE_ITO,
    _declared_overlays,
    _measured,
    _strategy_style,
    n_star_errorbar,
)
from copylearn.query_fits import fit_log_queries

__all__ = ["has_query_sweep", "predictions_figure"]


def has_query_sweep(rows: list[dict[str, Any]]) -> bool:
    """Whether some row comes from a ``query_grid = "log"`` point."""
    return any(row["spec"].get("query_grid") == "log" for row in rows)


def predictions_figure(rows: list[dict[str, Any]]) -> Figure:
    """N* versus M (log axis) per strategy and n, with the fits and the theory slopes."""
    fits = fit_log_queries(rows)
    strategies = list(dict.fromkeys(fit["strategy"] for fit in fits))
    fig = Figure(figsize=(3.4, 2.6 * max(1, len(strategies))))
    axes = {s: fig.add_subplot(len(strategies) or 1, 1, i + 1) for i, s in enumerate(strategies)}
    used: dict[str, int] = {}
    for fit in fits:
        group, strategy = fit["group"], fit["strategy"]
        ax = axes[strategy]
        style = _strategy_style(strategy)
        k = used.get(strategy, 0)
        used[strategy] = k + 1
        colour = OKABE_ITO[style["colours"][k % len(style["colours"])]]
        members = [
            r
            for r in rows
            if {key: v for key, v in r["spec"].items() if key != "queries"} == group
            and _measured(r)
        ]
        members.sort(key=lambda r: r["spec"]["queries"])
        if not members:
            continue
        m = np.array([r["spec"]["queries"] for r in members], dtype=float)
        y = np.array([r["n_star"] for r in members])
        ci = np.array([r.get("n_star_ci") or [v, v] for r, v in zip(members, y, strict=True)])
        ci = np.array(
            [
                [lo if lo is not None else v, hi if hi is not None else v]
                for (lo, hi), v in zip(ci, y, strict=True)
            ],
            dtype=float,
        )
        label = f"{style['label']}, n = {group['n']}"
        if group.get("known_queries"):
            label += " (queries known in advance)"
        n_star_errorbar(ax, m, y, ci, marker=style["marker"], colour=colour, label=label)
        if fit["b"] is None:
            continue
        grid = np.geomspace(max(5, m.min()), m.max(), 50)
        lo, hi = fit["b_ci"]
        ax.plot(
            grid,
            fit["a"] + fit["b"] * np.log(grid),
            color=colour,
            lw=0.8,
            label=f"fit n = {group['n']}: b = {fit['b']:.3g} [{lo:.3g}, {hi:.3g}] per e-fold",
        )
        for overlay in _declared_overlays(strategy, group):
            if overlay["kind"] != "log-queries":
                continue
            x = np.log(np.array(fit["ms"], dtype=float))
            ys = np.array([r["n_star"] for r in members if r["spec"]["queries"] in fit["ms"]])
            slope = float(overlay["slope"])
            level = float(np.mean(ys - slope * x))
            ax.plot(
                grid,
                level + slope * np.log(grid),
                ls="--",
                lw=1.0,
                color=colour,
                label=f"theory: {overlay['label']}, n = {group['n']}: b = {slope:.3g}",
            )
    for strategy, ax in axes.items():
        ax.set_xscale("log")
        ax.set_xlabel("number of predictions M (queries)")
        ax.set_ylabel("copies needed N*")
        ax.set_title(f"{_strategy_style(strategy)['label']}: N* = a + b ln M", fontsize=7)
        ax.legend(fontsize=5, frameon=False, loc="upper left")
    fig.tight_layout()
    return fig
