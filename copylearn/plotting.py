"""Publication figures from a sweep's result store.

:func:`plot_store` reads ``DIR/results.jsonl`` and draws

* ``separation``: copies needed N* versus qubit count n on a log axis, one series per
  strategy and setting, with 95% intervals, the fitted base with its 95% interval in the
  legend, and the theory overlays of docs/theory.md §7 (dashed, labelled "theory"): random-Pauli
  shadows ``C·3^n`` with one fitted prefactor, the single-copy lower bound ``N_LB`` (no fit)
  and a flat line at the two-copy Bell mean;
* ``success_curves``: success probability versus copies N, one line per n with its Wilson
  95% band, one panel per strategy and setting, with the target line;
* ``crossover`` (stores that sweep storage noise for both strategies): the map of
  log10(N*_Bell / N*_shadows) over fidelity f and n with the measured and derived equal-cost
  boundaries, and the fitted exponential bases versus f with their theory (f^-4, 3 f^-2) and
  the measured crossing next to docs/theory.md §8.4's f = 1/sqrt(3) (:mod:`copylearn.crossover`).

Each figure is written as PNG (200 dpi) and PDF, atomically. Figures are drawn on
matplotlib's Agg canvas without pyplot, so importing this module changes no global state and
needs no display.
"""

from __future__ import annotations

import json
import math
import os
import pathlib
from collections.abc import Sequence
from typing import Any

import matplotlib as mpl
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from copylearn import crossover
from copylearn.atomic import atomic_path
from copylearn.complexity import wilson_interval
from copylearn.errors import CopylearnError
from copylearn.fits import (
    bell_flat,
    fit_groups,
    fit_prefactor,
    pauli_shadow_curve,
    single_copy_lower_bound,
)
from copylearn.sweep import STORE_NAME, summary_rows

__all__ = ["plot_store"]


# Okabe & Ito (2008) colour-blind-safe palette.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
_STRATEGY_STYLE = {
    "bell": {
        "label": "two-copy Bell sampling",
        "short": "Bell",
        "marker": "o",
        "colours": ["blue", "sky_blue", "bluish_green"],
    },
    "pauli-shadow": {
        "label": "random-Pauli shadows",
        "short": "shadows",
        "marker": "s",
        "colours": ["vermillion", "orange", "reddish_purple"],
    },
}
_KEY_LABELS = {"alpha": "α", "queries": "M", "noise": "noise", "weight": "weight"}

_STYLE = {
    "font.size": 8,
    "axes.labelsize": 8,
    "axes.titlesize": 8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "legend.title_fontsize": 8,
    "axes.linewidth": 0.6,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "xtick.minor.width": 0.4,
    "ytick.minor.width": 0.4,
    "lines.linewidth": 1.2,
    "lines.markersize": 4,
    "errorbar.capsize": 1.5,
    "pdf.fonttype": 42,  # embed TrueType, so the text stays editable in a journal's tools
    "ps.fonttype": 42,
    "savefig.dpi": 200,
    "mathtext.default": "regular",
}
_WIDTH_IN = 3.4  # one journal column


# --------------------------------------------------------------------------------------------
# Reading the store
# --------------------------------------------------------------------------------------------


def _read_rows(store_dir: pathlib.Path) -> list[dict[str, Any]]:
    """The store's rows (read by :func:`copylearn.sweep.summary_rows`), with plotting's errors."""
    path = store_dir / STORE_NAME
    hint = "run `copylearn sweep CONFIG --out DIR` first, or point at the directory it wrote"
    if not store_dir.is_dir():
        raise CopylearnError(f"no results: {store_dir} is not a directory; {hint}.")
    if not path.is_file():
        raise CopylearnError(f"no results: {path} does not exist; {hint}.")
    rows = summary_rows(store_dir)
    if not rows:
        raise CopylearnError(f"no results: {path} holds no complete rows yet; {hint}.")
    return rows


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _group_of(spec: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in spec.items() if k != "n"}, sort_keys=True)


def _varying_keys(groups: Sequence[dict[str, Any]]) -> list[str]:
    """Spec keys (other than strategy) whose value differs between groups of one strategy.

    A key set per strategy only (e.g. fewer trials for the costly strategy) is not a setting
    to tell series apart by: the strategy already does.
    """
    keys = sorted({k for g in groups for k in g} - {"strategy"})
    out = []
    for k in keys:
        per_strategy: dict[str, set[str]] = {}
        for g in groups:
            per_strategy.setdefault(str(g["strategy"]), set()).add(json.dumps(g.get(k)))
        if any(len(values) > 1 for values in per_strategy.values()):
            out.append(k)
    return out


def _context_text(groups: Sequence[dict[str, Any]]) -> str:
    """What every series shares and a reader must know: the device, the calibrated rule."""
    parts = []
    devices = {g.get("device", "none") for g in groups}
    if len(devices) == 1 and devices != {"none"}:
        (device,) = devices
        scales = {g.get("noise_scale", 1.0) for g in groups}
        scale = f" ×{scales.pop():g}" if len(scales) == 1 and scales != {1.0} else ""
        parts.append(f"simulated {device}, calibrated noise{scale}")
    if all(g.get("calibration_copies", 0) for g in groups):
        parts.append("noise-calibrated rule")
    return "; ".join(parts)


def _setting_text(group: dict[str, Any], keys: Sequence[str]) -> str:
    return ", ".join(f"{_KEY_LABELS.get(k, k)}={group.get(k)}" for k in keys)


def _strategy_style(strategy: str) -> dict[str, Any]:
    return _STRATEGY_STYLE.get(
        strategy,
        {
            "label": strategy,
            "short": strategy,
            "marker": "D",
            "colours": ["black", "reddish_purple", "bluish_green"],
        },
    )


def _colours_by_group(groups: Sequence[dict[str, Any]]) -> list[str]:
    used: dict[str, int] = {}
    out = []
    for g in groups:
        style = _strategy_style(str(g["strategy"]))
        k = used.get(g["strategy"], 0)
        used[g["strategy"]] = k + 1
        out.append(OKABE_ITO[style["colours"][k % len(style["colours"])]])
    return out


def _series_label(strategy: str, setting: str) -> str:
    label = _strategy_style(strategy)["label"]
    return f"{label} ({setting})" if setting else label


def _fmt_base(fit: dict[str, Any]) -> str:
    if fit.get("base") is None:
        return "no fit (too few n above the floor)"
    lo, hi = fit["base_ci"]
    d = 2 if hi - lo >= 0.02 else 3
    return rf"$N^* \propto {fit['base']:.{d}f}^{{\,n}}$ [{lo:.{d}f}, {hi:.{d}f}]"


def _fmt_prefactor(c: float) -> str:
    if 0.1 <= c < 100:
        return f"{c:.2g}" if c < 10 else f"{c:.0f}"
    exp = math.floor(math.log10(c))
    return rf"{c / 10**exp:.1f}\times10^{{{exp}}}"


def _save(fig: Figure, out_dir: pathlib.Path, stem: str) -> list[pathlib.Path]:
    """Write ``stem.png`` and ``stem.pdf`` atomically (temp file in out_dir, then replace)."""
    paths = []
    for fmt in ("png", "pdf"):
        final = out_dir / f"{stem}.{fmt}"
        metadata = {"CreationDate": None} if fmt == "pdf" else {"Software": None}
        with atomic_path(final) as tmp:
            fig.savefig(tmp, format=fmt, dpi=200, metadata=metadata)
        paths.append(final)
    return paths


# --------------------------------------------------------------------------------------------
# Figure (a): copies needed versus n
# --------------------------------------------------------------------------------------------


def _separation_figure(rows: list[dict[str, Any]]) -> Figure:
    fits = fit_groups(rows)
    members: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        members.setdefault(_group_of(row["spec"]), []).append(row)
    groups = [f["group"] for f in fits]
    varying = _varying_keys(groups)
    colours = _colours_by_group(groups)
    all_n = [int(r["spec"]["n"]) for r in rows]
    n_lo, n_hi = min(all_n), max(all_n)

    data_handles: list[Any] = []
    theory_handles: list[Any] = []
    y_values: list[float] = []
    censored_drawn = False

    fig = Figure(figsize=(_WIDTH_IN, 2.4))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.set_yscale("log")

    for fit, colour in zip(fits, colours, strict=True):
        strategy = str(fit["strategy"])
        style = _strategy_style(strategy)
        pts = sorted(members[_group_of({**fit["group"], "n": 0})], key=lambda r: r["spec"]["n"])
        reached = [r for r in pts if r.get("n_star") is not None]
        setting = _setting_text(fit["group"], varying)
        label = f"{_series_label(strategy, setting)}: {_fmt_base(fit)}"
        if reached:
            n = np.array([r["spec"]["n"] for r in reached], dtype=float)
            y = np.array([float(r["n_star"]) for r in reached])
            ci = [r.get("n_star_ci") or [r["n_star"], r["n_star"]] for r in reached]
            lo = np.array(
                [float(c[0]) if c[0] is not None else v for c, v in zip(ci, y, strict=True)]
            )
            hi = np.array(
                [float(c[1]) if c[1] is not None else v for c, v in zip(ci, y, strict=True)]
            )
            yerr = np.vstack([np.clip(y - lo, 0, None), np.clip(hi - y, 0, None)])
            h = ax.errorbar(
                n,
                y,
                yerr=yerr,
                fmt=style["marker"],
                color=colour,
                markersize=3.2,
                markeredgewidth=0.5,
                markeredgecolor="white",
                elinewidth=0.8,
                label=label,
                zorder=3,
            )
            data_handles.append(h)
            y_values.extend(lo.tolist() + hi.tolist())
        else:
            data_handles.append(
                Line2D([], [], ls="none", marker=style["marker"], color=colour, label=label)
            )
        missing = [r for r in pts if r.get("n_star") is None]
        if missing:
            cap = np.array([float(r["spec"].get("max_copies", np.nan)) for r in missing])
            ax.plot(
                [r["spec"]["n"] for r in missing],
                cap,
                ls="none",
                marker="^",
                mfc="none",
                mec=colour,
                mew=0.8,
                zorder=3,
            )
            y_values.extend(cap[np.isfinite(cap)].tolist())
            censored_drawn = True

        # Theory overlays tied to this series.
        if not reached:
            continue
        ns_r = [int(r["spec"]["n"]) for r in reached]
        ys_r = [float(r["n_star"]) for r in reached]
        grid = np.linspace(min(ns_r), max(ns_r), 200)
        # The 3^n and constant-in-n laws are noiseless; noisy series get no law overlay.
        clean = fit["group"].get("noise", "none") in ("none", None, "") and fit["group"].get(
            "device", "none"
        ) in ("none", None)
        if not clean:
            continue
        if strategy == "pauli-shadow" and fit["group"].get("weight", "full") == "full":
            c = fit_prefactor(ns_r, ys_r, base=3.0)
            if c is not None:
                (h,) = ax.plot(
                    grid,
                    pauli_shadow_curve(grid, c),
                    ls="--",
                    lw=1.0,
                    color=colour,
                    zorder=2,
                    label=rf"theory: shadows ${_fmt_prefactor(c)}\cdot3^{{\,n}}$"
                    + " (fitted prefactor)",
                )
                theory_handles.append(h)
        elif strategy == "bell":
            level = float(np.exp(np.mean(np.log(ys_r))))
            full = np.linspace(n_lo, n_hi, 2)
            (h,) = ax.plot(
                full,
                bell_flat(full, level),
                ls="--",
                lw=1.0,
                color=colour,
                zorder=2,
                label=f"theory: Bell constant in n (at the data's mean, {level:.3g})",
            )
            theory_handles.append(h)

    # Single-copy lower bound: one curve per distinct (alpha, target), no fitted constant.
    bounds = sorted(
        {(float(g["alpha"]), float(g["target"])) for g in groups if "alpha" in g and "target" in g}
    )
    grid = np.linspace(n_lo, n_hi, 200)
    dashes = [(4, 2), (1.5, 1.5), (6, 2, 1.5, 2)]
    for k, (alpha, target) in enumerate(bounds):
        delta = 1.0 - target
        if not 0 < delta < 0.5 or alpha >= 1:
            continue
        extra = f" (α={alpha:g}, δ={delta:.2g})"
        (h,) = ax.plot(
            grid,
            single_copy_lower_bound(grid, alpha, delta),
            color=OKABE_ITO["black"],
            lw=1.0,
            dashes=dashes[k % len(dashes)],
            zorder=1,
            label="theory: single-copy lower bound $N_{LB}$" + extra,
        )
        theory_handles.append(h)
        y_values.append(float(single_copy_lower_bound(n_hi, alpha, delta)))

    if censored_drawn:
        theory_handles.append(
            Line2D(
                [],
                [],
                ls="none",
                marker="^",
                mfc="none",
                mec="0.3",
                label="target not reached by max_copies (lower limit)",
            )
        )

    positive = [v for v in y_values if v > 0 and math.isfinite(v)]
    if positive:
        ymin = min(1.0, min(positive) / 1.5)
        ymax = max(positive) * 3
        ax.set_ylim(ymin, ymax)
    ax.set_xlim(n_lo - 0.5, n_hi + 0.5)
    ax.xaxis.set_major_locator(mpl.ticker.MaxNLocator(integer=True, nbins=8))
    ax.yaxis.set_major_locator(mpl.ticker.LogLocator(base=10, numticks=8))
    ax.yaxis.set_minor_locator(mpl.ticker.LogLocator(base=10, subs="auto", numticks=30))
    ax.yaxis.set_minor_formatter(mpl.ticker.NullFormatter())
    ax.set_xlabel("number of qubits, n")
    ax.set_ylabel("copies of ρ needed, $N^*$\n(a Bell experiment uses two)")
    ax.grid(True, which="major", lw=0.3, color="0.85")
    ax.set_axisbelow(True)
    ax.tick_params(which="both", direction="in", top=True, right=True)

    handles = data_handles + theory_handles
    legend = fig.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(0.0, 0.0),
        ncol=1,
        frameon=False,
        handlelength=2.2,
        borderaxespad=0.0,
        title="\n".join(
            filter(
                None, [_context_text(groups), "bars: 95% CI on N*;  [ ]: 95% CI on the fitted base"]
            )
        ),
        alignment="left",
    )
    _stack_legend_below(fig, ax, legend)
    return fig


def _stack_legend_below(fig: Figure, ax: Any, legend: Any) -> None:
    """Grow the figure downwards so that the legend sits under the axes at full size."""
    axes_h_in = 2.2
    fig.set_size_inches(_WIDTH_IN, 4.0)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legend_h_in = legend.get_window_extent(renderer).height / fig.dpi
    top_in, bottom_label_in, left_in, right_in = 0.1, 0.4, 0.62, 0.1
    total = top_in + axes_h_in + bottom_label_in + legend_h_in + 0.05
    fig.set_size_inches(_WIDTH_IN, total)
    ax.set_position(
        [
            left_in / _WIDTH_IN,
            (total - top_in - axes_h_in) / total,
            (_WIDTH_IN - left_in - right_in) / _WIDTH_IN,
            axes_h_in / total,
        ]
    )
    legend.set_bbox_to_anchor((0.02, (legend_h_in + 0.05) / total), transform=fig.transFigure)


# --------------------------------------------------------------------------------------------
# Figure (b): success probability versus copies
# --------------------------------------------------------------------------------------------


def _colourbar_ticks(count: int, most: int = 10) -> list[int]:
    """Indices to label on a discrete colour bar: all of them, or evenly spaced ends included."""
    if count <= most:
        return list(range(count))
    step = math.ceil((count - 1) / (most - 1))
    ticks = list(range(0, count - 1, step))
    if count - 1 - ticks[-1] < step / 2:
        ticks.pop()
    return [*ticks, count - 1]


def _success_figure(rows: list[dict[str, Any]]) -> Figure:
    members: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if isinstance(row.get("curve"), dict) and row["curve"].get("copies"):
            members.setdefault(_group_of(row["spec"]), []).append(row)
    keys = sorted(
        members, key=lambda k: (str(json.loads(k).get("strategy")), k)
    )  # same order as the fits
    if not keys:
        raise CopylearnError(
            "no success curves in the store (no row has a non-empty 'curve'); rerun the sweep "
            "with a copylearn version that records them."
        )
    groups = [json.loads(k) for k in keys]
    varying = _varying_keys(groups)
    panel_h, top, bottom, gap = 1.75, 0.62, 0.42, 0.78
    left, right = 0.55, 0.72
    height = top + bottom + len(keys) * panel_h + (len(keys) - 1) * gap
    fig = Figure(figsize=(_WIDTH_IN, height))
    FigureCanvasAgg(fig)
    cmap_full = mpl.colormaps["viridis"]
    fig.text(
        0.02,
        1 - 0.06 / height,
        "dashed: target success probability\nbands: Wilson 95% intervals on each success rate",
        ha="left",
        va="top",
        linespacing=1.3,
    )

    for p, (key, group) in enumerate(zip(keys, groups, strict=True)):
        pts = sorted(members[key], key=lambda r: r["spec"]["n"])
        ns = [int(r["spec"]["n"]) for r in pts]
        colours = cmap_full(np.linspace(0.0, 0.88, max(len(ns), 2)))[: len(ns)]
        bottom_in = height - top - (p + 1) * panel_h - p * gap
        ax = fig.add_axes(
            [
                left / _WIDTH_IN,
                bottom_in / height,
                (_WIDTH_IN - left - right) / _WIDTH_IN,
                panel_h / height,
            ]
        )
        for row, colour in zip(pts, colours, strict=True):
            curve = row["curve"]
            order = np.argsort(curve["copies"])
            copies = np.asarray(curve["copies"], dtype=float)[order]
            succ = np.asarray(curve["successes"], dtype=float)[order]
            trials = int(curve["trials"])
            lo, hi = np.clip(wilson_interval(succ, trials), 0, 1).T
            ax.fill_between(copies, lo, hi, color=colour, alpha=0.18, lw=0)
            ax.plot(copies, succ / trials, color=colour, lw=0.9, marker=".", markersize=2.5)
        target = float(group.get("target", 0.9))
        ax.axhline(target, color=OKABE_ITO["black"], ls="--", lw=0.8, zorder=3)
        ax.set_xscale("log")
        # Plain labels at 1-2-5 steps: the default minor labels collide on a short log axis.
        ax.xaxis.set_major_locator(mpl.ticker.LogLocator(base=10, subs=(1, 2, 5), numticks=12))
        ax.xaxis.set_major_formatter(mpl.ticker.FormatStrFormatter("%g"))
        ax.xaxis.set_minor_formatter(mpl.ticker.NullFormatter())
        if (
            max(r["curve"]["copies"][-1] for r in pts) / min(r["curve"]["copies"][0] for r in pts)
            > 1e3
        ):
            ax.xaxis.set_major_locator(mpl.ticker.LogLocator(base=10, numticks=8))
            ax.xaxis.set_major_formatter(mpl.ticker.LogFormatterSciNotation())
        ax.set_ylim(0, 1.02)
        ax.set_yticks(sorted({0.0, 0.2, 0.4, 0.6, 0.8, 1.0, round(target, 3)}))
        ax.yaxis.set_major_formatter(mpl.ticker.FormatStrFormatter("%g"))
        ax.set_ylabel("success probability")
        strategy = str(group["strategy"])
        trials_set = sorted({int(r["curve"]["trials"]) for r in pts})
        trials_text = "/".join(str(t) for t in trials_set) + " trials per N"
        setting = _setting_text(group, varying)
        title = _strategy_style(strategy)["label"] + f" ({trials_text}"
        ax.set_title(title + (f", {setting})" if setting else ")"), loc="left", pad=3)
        ax.grid(True, which="major", lw=0.3, color="0.85")
        ax.set_axisbelow(True)
        ax.tick_params(which="both", direction="in", top=True, right=True)
        ax.set_xlabel(
            "copies of ρ, N" + (" (two per Bell experiment)" if strategy == "bell" else "")
        )

        # Discrete colour bar for n.
        bounds = np.arange(len(ns) + 1) - 0.5
        cmap = ListedColormap(colours)
        mappable = mpl.cm.ScalarMappable(norm=BoundaryNorm(bounds, cmap.N), cmap=cmap)
        cax = fig.add_axes(
            [
                (_WIDTH_IN - right + 0.08) / _WIDTH_IN,
                bottom_in / height,
                0.09 / _WIDTH_IN,
                panel_h / height,
            ]
        )
        cbar = fig.colorbar(mappable, cax=cax)
        ticks = _colourbar_ticks(len(ns))
        cbar.set_ticks(ticks)
        cbar.set_ticklabels([str(ns[t]) for t in ticks])
        cbar.ax.tick_params(length=2)
        cbar.set_label("qubits, n", labelpad=2)
        cbar.outline.set_linewidth(0.5)

    return fig


# --------------------------------------------------------------------------------------------
# Figure (c): where the two-copy advantage dies (storage-noise sweeps)
# --------------------------------------------------------------------------------------------


def _crossover_figure(rows: list[dict[str, Any]]) -> Figure:
    result = crossover.analyse(rows)
    crows = crossover.crossover_rows(rows)
    fids = np.array(result["fidelities"])
    ns = sorted({r["spec"]["n"] for r in crows})
    fig = Figure(figsize=(2 * _WIDTH_IN + 0.4, 3.5))
    FigureCanvasAgg(fig)
    ax_map, ax_base = fig.subplots(1, 2, gridspec_kw={"wspace": 0.5})

    # (left) log10(N*_Bell / N*_shadow) on the (f, n) grid.
    grid = np.full((len(ns), len(fids)), np.nan)
    star = {}
    for r in crows:
        star[(r["spec"]["strategy"], r["spec"]["n"], r["f"])] = r.get("n_star")
    for i, n in enumerate(ns):
        for j, f in enumerate(fids):
            b, s = star.get(("bell", n, f)), star.get(("pauli-shadow", n, f))
            if b and s:
                grid[i, j] = math.log10(b / s)
    order = np.argsort(fids)
    f_sorted = fids[order]
    edges = np.concatenate(
        [[f_sorted[0] - 0.025], (f_sorted[1:] + f_sorted[:-1]) / 2, [f_sorted[-1] + 0.025]]
    )
    n_edges = np.arange(len(ns) + 1) + 0.5 + (ns[0] - 1 if ns else 0)
    limit = max(1.0, float(np.nanmax(np.abs(grid)))) if np.isfinite(grid).any() else 1.0
    mesh = ax_map.pcolormesh(
        edges, n_edges, grid[:, order], cmap="RdBu_r", vmin=-limit, vmax=limit, shading="flat"
    )
    bar = fig.colorbar(mesh, ax=ax_map, pad=0.02)
    bar.set_label("log10(N*_Bell / N*_shadows)")
    measured = [(p["fidelity"], p["n"]) for p in result["per_n"] if p["fidelity"] is not None]
    if measured:
        ax_map.plot(
            *zip(*measured, strict=True), "o", color="black", ms=4, label="measured: equal N* at n"
        )
    n_line = np.linspace(min(ns) - 0.5, max(ns) + 0.5, 100) if ns else np.array([])
    ax_map.plot(
        crossover.finite_n_fidelity(np.maximum(n_line, 0.5), result["alpha"]),
        n_line,
        "--",
        color="black",
        lw=1,
        label="derived: (3f²)^n = 2/α²",
    )
    ax_map.axvline(
        result["predicted"], color=OKABE_ITO["bluish_green"], lw=1.2, label="theory: f = 1/√3"
    )
    ax_map.set_xlim(edges[0], edges[-1])
    ax_map.set_ylim(n_edges[0], n_edges[-1])
    ax_map.set_xlabel("per-qubit fidelity f of the stored copies")
    ax_map.set_ylabel("qubits n")
    ax_map.set_yticks(ns)
    ax_map.set_title("blue: Bell needs fewer copies", loc="left")
    ax_map.legend(loc="upper center", bbox_to_anchor=(0.5, -0.17), fontsize=6, ncols=2)

    # (right) fitted exponential bases versus f, with theory.
    f_line = np.linspace(min(fids.min(), 0.5), 1.0, 200)
    for strategy, theory, name in (
        ("bell", f_line**-4.0, "theory f⁻⁴"),
        ("pauli-shadow", 3.0 * f_line**-2.0, "theory 3f⁻²"),
    ):
        style = _strategy_style(strategy)
        colour = OKABE_ITO[style["colours"][0]]
        fits = result["bases"][strategy]
        have = [(f, fit) for f, fit in zip(fids, fits, strict=True) if fit["base"] is not None]
        if have:
            x = np.array([f for f, _ in have])
            y = np.array([fit["base"] for _, fit in have])
            lo = np.array([fit["base_ci"][0] for _, fit in have])
            hi = np.array([fit["base_ci"][1] for _, fit in have])
            ax_base.errorbar(
                x,
                y,
                yerr=[y - lo, hi - y],
                fmt=style["marker"],
                color=colour,
                label=f"{style['short']}, fitted base (n ≥ {crossover.FIT_N_MIN})",
            )
        ax_base.plot(f_line, theory, "--", color=colour, lw=1, label=name)
    ax_base.axvline(
        result["predicted"], color=OKABE_ITO["bluish_green"], lw=1.2, label="theory: f = 1/√3"
    )
    title = f"theory: Bell's base is smaller while f > 1/√3 = {result['predicted']:.3f}"
    if result["boundary"] is not None:
        title = f"measured crossing f = {result['boundary']:.3f}"
        if result["boundary_ci"]:
            lo, hi = result["boundary_ci"]
            ax_base.axvspan(
                f_line[0] if lo is None else lo, 1.0 if hi is None else hi, color="0.85", zorder=0
            )
            title += " [{}, {}]".format(
                *("out of grid" if v is None else f"{v:.3f}" for v in (lo, hi))
            )
        title += f"\ntheory f = 1/√3 = {result['predicted']:.3f}"
        ax_base.axvline(
            result["boundary"], color="black", lw=1, label="measured crossing (95% CI shaded)"
        )
    ax_base.set_title(title, loc="left")
    ax_base.set_yscale("log")
    ax_base.set_xlabel("per-qubit fidelity f of the stored copies")
    ax_base.set_ylabel("exponential base b of N* ∝ b^n")
    ax_base.legend(loc="upper center", bbox_to_anchor=(0.5, -0.17), fontsize=6, ncols=2)
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.3, top=0.88)
    return fig


# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------


def plot_store(
    store_dir: str | os.PathLike[str], out_dir: str | os.PathLike[str]
) -> list[pathlib.Path]:
    """Draw the figures of a sweep's result store and write them as PNG and PDF.

    Parameters
    ----------
    store_dir : path
        Directory holding ``results.jsonl`` (one JSON result row per line, as written by
        ``copylearn sweep``; a trailing partial line from an interrupted write is ignored).
    out_dir : path
        Directory for the figures; created if missing. Each file is written to a temporary
        file in this directory and moved into place, so a reader never sees half a figure.

    Returns
    -------
    list of pathlib.Path
        ``separation.png``, ``separation.pdf``, ``success_curves.png`` and
        ``success_curves.pdf`` under ``out_dir`` (the last two only if the rows carry
        success curves).

    Raises
    ------
    CopylearnError
        If ``store_dir`` holds no results, or ``results.jsonl`` is damaged.
    """
    store = pathlib.Path(store_dir)
    out = pathlib.Path(out_dir)
    rows = _read_rows(store)
    out.mkdir(parents=True, exist_ok=True)
    paths: list[pathlib.Path] = []
    with mpl.rc_context(_STYLE):
        paths += _save(_separation_figure(rows), out, "separation")
        if any(isinstance(r.get("curve"), dict) and r["curve"].get("copies") for r in rows):
            paths += _save(_success_figure(rows), out, "success_curves")
        if _has_crossover(rows):
            paths += _save(_crossover_figure(rows), out, "crossover")
    return paths


def _has_crossover(rows: list[dict[str, Any]]) -> bool:
    """Whether the rows sweep storage noise (two or more fidelities) for both strategies."""
    try:
        crows = crossover.crossover_rows(rows)
    except CopylearnError:
        return False
    strategies = {r["spec"]["strategy"] for r in crows}
    return len({r["f"] for r in crows}) >= 2 and {"bell", "pauli-shadow"} <= strategies
