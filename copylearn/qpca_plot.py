"""The figure ``noise_fraction``: copies needed N* versus the noise weight lambda at fixed n.

Drawn by :func:`copylearn.plotting.plot_store` for a store of the ``principal-component``
task (docs/theory.md §19) whose rows sweep ``noise_fraction`` (two or more values of one
series): N* with its 95% bootstrap interval against lambda, one series per strategy and n,
and the theory shapes of §19.5 (dashed, labelled "theory", one prefactor each fitted to the
measured points as their weighted geometric mean): the two-copy ratio's N* proportional to
1 / tr(rho^2)^2 with tr(rho^2) = (1 - lambda)^2 + (2 lambda - lambda^2) / 2^n (white noise),
the single-copy rule's proportional to 1 / (1 - lambda)^2. The single-copy rule is told
lambda (its threshold is (1 - lambda)/2); the two-copy rule is not.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

from copylearn.plotting import (
    MARKER_ZORDER,
    OKABE_ITO,
    _measured,
    _strategy_style,
    n_star_errorbar,
)

__all__ = ["has_noise_fraction_sweep", "noise_fraction_figure", "theory_shape"]

_KEY = "noise_fraction"


def _series(rows: list[dict[str, Any]]) -> dict[tuple, list[dict[str, Any]]]:
    """Rows of the principal-component task grouped by every spec key but lambda."""
    out: dict[tuple, list[dict[str, Any]]] = {}
    for row in rows:
        spec = row.get("spec", {})
        if spec.get("task") != "principal-component" or _KEY not in spec:
            continue
        key = tuple(sorted((k, str(v)) for k, v in spec.items() if k != _KEY))
        out.setdefault(key, []).append(row)
    return out


def has_noise_fraction_sweep(rows: list[dict[str, Any]]) -> bool:
    """Whether some principal-component series holds two or more values of lambda."""
    return any(len({r["spec"][_KEY] for r in members}) >= 2 for members in _series(rows).values())


def theory_shape(two_copy: bool, lam: np.ndarray, n: int) -> np.ndarray:
    """N* up to a constant (docs/theory.md §19.5): 1/tr(rho^2)^2 (white noise) for the
    two-copy ratio, 1/(1 - lambda)^2 for the single-copy threshold rule."""
    lam = np.asarray(lam, dtype=float)
    if two_copy:
        purity = (1 - lam) ** 2 + (2 * lam - lam**2) / 2.0**n
        return 1.0 / purity**2
    return 1.0 / (1 - lam) ** 2


def noise_fraction_figure(rows: list[dict[str, Any]]) -> Figure:
    """N* versus lambda per strategy and n, with the theory shapes."""
    from copylearn.protocols import get_protocol

    fig = Figure(figsize=(3.6, 2.8))
    ax = fig.add_subplot(1, 1, 1)
    used: dict[str, int] = {}
    for members in _series(rows).values():
        if len({r["spec"][_KEY] for r in members}) < 2:
            continue
        spec = members[0]["spec"]
        strategy, n = str(spec["strategy"]), int(spec["n"])
        style = _strategy_style(strategy)
        k = used.get(strategy, 0)
        used[strategy] = k + 1
        colour = OKABE_ITO[style["colours"][k % len(style["colours"])]]
        members = sorted(members, key=lambda r: r["spec"][_KEY])
        shown = [r for r in members if _measured(r)]
        lam = np.array([r["spec"][_KEY] for r in shown], dtype=float)
        y = np.array([r["n_star"] for r in shown], dtype=float)
        ci = np.array(
            [
                [(r.get("n_star_ci") or [v, v])[i] or v for i in (0, 1)]
                for r, v in zip(shown, y, strict=True)
            ],
            dtype=float,
        ).reshape(-1, 2)
        n_star_errorbar(
            ax,
            lam,
            y,
            ci,
            marker=style["marker"],
            colour=colour,
            label=f"{style['label']}, n = {n}",
        )
        missing = [r for r in members if not _measured(r)]
        if missing:
            ax.plot(
                [r["spec"][_KEY] for r in missing],
                [r["spec"]["max_copies"] for r in missing],
                "^",
                mfc="none",
                color=colour,
                label="not reached (> max_copies)",
                zorder=MARKER_ZORDER,
            )
        if len(shown) < 1:
            continue
        two_copy = get_protocol(strategy).copies_per_shot == 2
        weights = 1.0 / np.maximum(np.log(ci[:, 1] / np.maximum(ci[:, 0], 1e-9)), 1e-3) ** 2
        level = np.exp(np.average(np.log(y / theory_shape(two_copy, lam, n)), weights=weights))
        grid = np.linspace(0.0, max(0.49, lam.max()), 100)
        what = "1/tr(ρ²)²" if two_copy else "1/(1−λ)²"
        ax.plot(
            grid,
            level * theory_shape(two_copy, grid, n),
            ls="--",
            lw=1.0,
            color=colour,
            label=f"theory: ∝ {what}, n = {n}",
        )
    ax.set_yscale("log")
    ax.set_xlabel("noise weight λ (ρ = (1−λ)|ψ⟩⟨ψ| + λ I/2ⁿ)")
    ax.set_ylabel("copies needed N*")
    ax.set_title(
        "two-copy ratio (rule R > 1/2, no λ) vs single-copy (rule |x̄| > (1−λ)/2, needs λ)",
        fontsize=5.5,
    )
    ax.legend(fontsize=5, frameon=False, loc="upper left")
    fig.tight_layout()
    return fig
