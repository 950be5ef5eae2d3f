"""Publication figures from a sweep's result store.

:func:`plot_store` reads ``DIR/results.jsonl`` and draws

* ``separation``: copies needed N* versus qubit count n on a log axis, one series per
  strategy and setting, with 95% intervals, the fitted base with its 95% interval in the
  legend, and the theory overlays of docs/theory.md §7 (dashed, labelled "theory"): random-Pauli
  shadows ``C·3^n`` with one fitted prefactor, the single-copy lower bound ``N_LB`` (no fit)
  and a flat line at the two-copy Bell mean. With more than three series per strategy (a
  noise or alpha sweep) it draws one panel per strategy instead, the swept setting as an
  ordered colour map with a colour bar, and leaves the fitted bases to ``summary``. A point
  whose target was not reached (``reached: false``) is an open upward triangle at its
  ``max_copies`` (a lower bound) and never enters a fit. :func:`select_rows` chooses a
  subset (``--where KEY=VALUE``, ``--n 1-4``);
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
import operator
import os
import pathlib
import re
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
from copylearn.noise import parse_noise
from copylearn.paths import check_output_dir
from copylearn.sweep import OPTIONAL_KEYS, STORE_NAME, normalise_row, spec_value, summary_rows

__all__ = ["parse_n_selection", "parse_where", "plot_store", "select_rows"]


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
#: Style of a protocol that declares none (``Protocol.plot_style``), label = its name.
_FALLBACK_STYLE = {
    "marker": "D",
    "marker_name": "◆",
    "colours": ["black", "reddish_purple", "bluish_green"],
}
_KEY_LABELS = {
    "alpha": "α",
    "queries": "M",
    "noise": "noise",
    "weight": "weight",
    "memory_qubits": "k",
}

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
#: zorder of every N* marker (measured points and "not reached" lower bounds): above the error
#: bars and caps of every series (zorder <= 3) and the theory lines, so that no bar or cap of
#: any series is drawn over a marker's shape.
MARKER_ZORDER = 3.5


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


def _options_set(group: dict[str, Any]) -> list[str]:
    """The protocol options a series sets away from their defaults (e.g. ``memory_qubits``
    of partial-bell at fixed k): part of what the series is, so its label names them."""
    from copylearn.sweep import protocol_defaults

    try:
        return [k for k in protocol_defaults(str(group.get("strategy"))) if k in group]
    except CopylearnError:
        return []


def _setting_text(group: dict[str, Any], keys: Sequence[str]) -> str:
    return ", ".join(f"{_KEY_LABELS.get(k, k)}={group.get(k)}" for k in keys)


def _strategy_style(strategy: str) -> dict[str, Any]:
    """The series style the protocol declares (``Protocol.plot_style``) over the fallback.

    A strategy no registered protocol has (a plug-in not imported) gets the fallback style
    labelled with its name.
    """
    from copylearn.protocols import get_protocol

    try:
        declared = get_protocol(strategy).plot_style
    except CopylearnError:
        declared = {}
    return {"label": strategy, "short": strategy, **_FALLBACK_STYLE, **declared}


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


def _measured(row: dict[str, Any]) -> bool:
    """Whether a row holds a measured N*: the search reached the target within max_copies.

    A row with ``reached: false`` is a lower bound (N* > max_copies) whatever its ``n_star``
    field holds, so it is never drawn as a measurement nor fitted.
    """
    return row.get("reached") is not False and row.get("n_star") is not None


def _censor(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Copies of ``rows`` with N* and its interval removed where the target was not reached.

    The fits (:func:`copylearn.fits.fit_groups`) and the crossover analysis leave a missing
    N* out, so an unreached point can only ever be drawn as a lower bound. The rule is the
    store's own (:func:`copylearn.sweep.normalise_row`), applied again for rows that did not
    come through :func:`copylearn.sweep.summary_rows`.
    """
    return [normalise_row(row) for row in rows]


def _draw_series(
    ax: Any,
    pts: Sequence[dict[str, Any]],
    *,
    colour: Any,
    marker: str,
    label: str | None,
    line: str | None = None,
) -> tuple[Any, list[float], bool]:
    """Draw one series: measured N* with 95% bars, unreached points as lower bounds.

    A measured point is a filled marker with its interval; a point whose target was not
    reached is an open upward triangle at its ``max_copies`` (N* lies above it). ``line``
    (a matplotlib line style) joins the measured points. Returns the legend handle, the y
    values drawn (for the axis limits) and whether a lower bound was drawn.
    """
    reached = [r for r in pts if _measured(r)]
    missing = [r for r in pts if not _measured(r)]
    y_values: list[float] = []
    handle: Any
    if reached:
        n = np.array([r["spec"]["n"] for r in reached], dtype=float)
        y = np.array([float(r["n_star"]) for r in reached])
        ci = [r.get("n_star_ci") or [r["n_star"], r["n_star"]] for r in reached]
        lo = np.array([float(c[0]) if c[0] is not None else v for c, v in zip(ci, y, strict=True)])
        hi = np.array([float(c[1]) if c[1] is not None else v for c, v in zip(ci, y, strict=True)])
        yerr = np.vstack([np.clip(y - lo, 0, None), np.clip(hi - y, 0, None)])
        if line is not None and len(n) > 1:
            ax.plot(n, y, ls=line, lw=0.7, color=colour, zorder=2.5)
        handle = ax.errorbar(
            n,
            y,
            yerr=yerr,
            fmt=marker,
            color=colour,
            markersize=3.2,
            markeredgewidth=0.5,
            markeredgecolor="white",
            elinewidth=0.8,
            label=label,
            zorder=3,
        )
        _markers_on_top(handle)
        y_values.extend(lo.tolist() + hi.tolist())
    else:
        handle = Line2D([], [], ls="none", marker=marker, color=colour, label=label)
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
            ms=4.5,
            zorder=MARKER_ZORDER,
            gid="not-reached",
        )
        y_values.extend(cap[np.isfinite(cap)].tolist())
    return handle, y_values, bool(missing)


def _markers_on_top(container: Any) -> Any:
    """Lift the markers of an ``ax.errorbar`` result to :data:`MARKER_ZORDER`, above the bars
    and caps of every series in the axes (matplotlib only lifts them above their own)."""
    data_line = container.lines[0]
    if data_line is not None:
        data_line.set_zorder(MARKER_ZORDER)
    return container


def n_star_errorbar(
    ax: Any,
    x: Any,
    y: Any,
    ci: Any,
    *,
    marker: str,
    colour: str,
    label: str,
    zorder: float = 2,
):
    """Measured N* with its confidence interval as error bars, in the style the side figures
    share (``noise_fraction`` of :mod:`copylearn.qpca_plot`, ``predictions`` of
    :mod:`copylearn.query_plot`, ``memory_tradeoff`` of :mod:`copylearn.memory_tradeoff`).
    The markers are drawn at :data:`MARKER_ZORDER`, above every error bar and cap.

    Parameters
    ----------
    ax : matplotlib Axes
    x, y : array-like, shape (P,)
        Positions and N* of the P measured points.
    ci : array-like, shape (P, 2)
        Lower and upper ends of N*'s interval (a missing end already replaced by N*; an end
        on the wrong side of N* draws no bar on that side).
    marker, colour, label : str
        The series' marker, colour and legend label.
    zorder : float, default 2
        The zorder of the bars and caps (the markers are above them at any value <= 3).
    """
    ci = np.asarray(ci, dtype=float).reshape(-1, 2)
    y = np.asarray(y, dtype=float)
    return _markers_on_top(
        ax.errorbar(
            x,
            y,
            yerr=[np.clip(y - ci[:, 0], 0, None), np.clip(ci[:, 1] - y, 0, None)],
            fmt=marker,
            ms=3.5,
            color=colour,
            lw=0.8,
            capsize=1.5,
            label=label,
            zorder=zorder,
        )
    )


def _not_reached_handle() -> Line2D:
    return Line2D(
        [],
        [],
        ls="none",
        marker="^",
        mfc="none",
        mec="0.3",
        label="not reached (> max_copies): a lower bound",
    )


def _theory_overlays(
    ax: Any,
    fit: dict[str, Any],
    pts: Sequence[dict[str, Any]],
    *,
    colour: Any,
    n_range: tuple[int, int],
    note: str = "",
) -> list[Any]:
    """The noiseless laws tied to one series (shadows C·3^n fitted, Bell flat); labelled.

    ``note`` (e.g. the series' setting) is appended to the labels.
    """
    reached = [r for r in pts if _measured(r)]
    if not reached:
        return []
    ns_r = [int(r["spec"]["n"]) for r in reached]
    ys_r = [float(r["n_star"]) for r in reached]
    handles = []
    # The task declares its laws (e.g. noiseless only); plotting draws what it declares.
    for overlay in _declared_overlays(fit["strategy"], fit["group"]):
        if overlay["kind"] == "exponential":
            base = float(overlay["base"])
            fixed = overlay.get("prefactor")  # a law with no free parameter, when declared
            c = fit_prefactor(ns_r, ys_r, base=base) if fixed is None else float(fixed)
            if c is None:
                continue
            grid = np.linspace(min(ns_r), max(ns_r), 200)
            (h,) = ax.plot(
                grid,
                c * base**grid if base != 3.0 else pauli_shadow_curve(grid, c),
                ls="--",
                lw=1.0,
                color=colour,
                zorder=2,
                label=rf"theory: {overlay['label']} ${_fmt_prefactor(c)}\cdot{base:g}^{{\,n}}$"
                + f" ({'fitted' if fixed is None else 'fixed'} prefactor{note})",
            )
            handles.append(h)
        elif overlay["kind"] == "flat":
            level = float(np.exp(np.mean(np.log(ys_r))))
            full = np.linspace(n_range[0], n_range[1], 2)
            (h,) = ax.plot(
                full,
                bell_flat(full, level),
                ls="--",
                lw=1.0,
                color=colour,
                zorder=2,
                label=f"theory: {overlay['label']} constant in n (at the data's mean, "
                f"{level:.3g}{note})",
            )
            handles.append(h)
    return handles


def _declared_overlays(strategy: object, group: dict[str, Any]) -> tuple[dict, ...]:
    """The overlays the series' task declares for its protocol (none if either is unknown)."""
    from copylearn.protocols import get_protocol
    from copylearn.tasks import get_task

    try:
        task = get_task(group.get("task", ""))
        protocol = get_protocol(str(strategy))
    except CopylearnError:
        return ()
    return task.overlays(protocol, group)


def _bounded_groups(groups: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The groups whose task declares the single-copy lower bound N_LB for their protocol.

    N_LB is a statement about the Pauli-prediction task only (docs/theory.md §7.3): it is
    never drawn on another task's figure.
    """
    return [
        g
        for g in groups
        if any(
            o["kind"] == "single-copy-lower-bound" for o in _declared_overlays(g.get("strategy"), g)
        )
    ]


def _lower_bound_curves(
    ax: Any, groups: Sequence[dict[str, Any]], n_range: tuple[int, int]
) -> tuple[list[Any], list[float]]:
    """Single-copy lower bound: one curve per distinct (alpha, target), no fitted constant."""
    bounds = sorted(
        {(float(g["alpha"]), float(g["target"])) for g in groups if "alpha" in g and "target" in g}
    )
    grid = np.linspace(n_range[0], n_range[1], 200)
    dashes = [(4, 2), (1.5, 1.5), (6, 2, 1.5, 2)]
    handles, y_values = [], []
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
        handles.append(h)
        y_values.append(float(single_copy_lower_bound(n_range[1], alpha, delta)))
    return handles, y_values


def _style_separation_axes(ax: Any, y_values: list[float], n_range: tuple[int, int]) -> None:
    positive = [v for v in y_values if v > 0 and math.isfinite(v)]
    if positive:
        ax.set_ylim(min(1.0, min(positive) / 1.5), max(positive) * 3)
    ax.set_xlim(n_range[0] - 0.5, n_range[1] + 0.5)
    ax.xaxis.set_major_locator(mpl.ticker.MaxNLocator(integer=True, nbins=8))
    ax.yaxis.set_major_locator(mpl.ticker.LogLocator(base=10, numticks=8))
    ax.yaxis.set_minor_locator(mpl.ticker.LogLocator(base=10, subs="auto", numticks=30))
    ax.yaxis.set_minor_formatter(mpl.ticker.NullFormatter())
    ax.set_xlabel("number of qubits, n")
    ax.grid(True, which="major", lw=0.3, color="0.85")
    ax.set_axisbelow(True)
    ax.tick_params(which="both", direction="in", top=True, right=True)


def _y_label(strategies: Sequence[str]) -> str:
    """The N* axis label in the drawn protocols' unit (``Protocol.unit``: copies of ρ,
    queries of U); notes the copies one experiment consumes for each drawn protocol that uses
    more than one (a protocol this process does not know is left out)."""
    from copylearn.protocols import get_protocol, unit_of

    words = {2: "two", 3: "three", 4: "four"}
    notes = []
    for strategy in dict.fromkeys(strategies):
        try:
            k = int(get_protocol(strategy).copies_per_shot)
        except CopylearnError:
            continue
        if k > 1:
            short = _strategy_style(strategy)["short"]
            notes.append(f"a {short} experiment uses {words.get(k, k)}")
    label = f"{unit_of(strategies)} needed, $N^*$"
    return label + (f"\n({'; '.join(notes)})" if notes else "")


#: Series per strategy up to which each gets its own colour and legend entry (with its
#: fitted base); beyond it the swept setting is drawn with a colour map and a colour bar.
_LEGEND_SERIES_MAX = 3
#: Settings of the other swept keys that line styles can tell apart in colour-map mode.
_LINESTYLES: list[Any] = ["-", (0, (4, 1.5)), (0, (1, 1)), (0, (4, 1, 1, 1))]


def _separation_figure(rows: list[dict[str, Any]]) -> Figure:
    rows = _censor(rows)
    fits = fit_groups(rows)
    per_strategy: dict[str, int] = {}
    for fit in fits:
        per_strategy[str(fit["strategy"])] = per_strategy.get(str(fit["strategy"]), 0) + 1
    if max(per_strategy.values()) <= _LEGEND_SERIES_MAX:
        return _separation_legend_figure(rows, fits)
    return _separation_map_figure(rows, fits)


def _members(rows: Sequence[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    members: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        members.setdefault(_group_of(row["spec"]), []).append(row)
    for pts in members.values():
        pts.sort(key=lambda r: r["spec"]["n"])
    return members


def _separation_legend_figure(rows: list[dict[str, Any]], fits: list[dict[str, Any]]) -> Figure:
    """Few series: one colour each, every series and its fitted base in the legend."""
    members = _members(rows)
    groups = [f["group"] for f in fits]
    varying = _varying_keys(groups)
    colours = _colours_by_group(groups)
    all_n = [int(r["spec"]["n"]) for r in rows]
    n_range = (min(all_n), max(all_n))

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
        pts = members[_group_of({**fit["group"], "n": 0})]
        shown = [*varying, *(k for k in _options_set(fit["group"]) if k not in varying)]
        setting = _setting_text(fit["group"], shown)
        label = f"{_series_label(strategy, setting)}: {_fmt_base(fit)}"
        handle, ys, censored = _draw_series(
            ax, pts, colour=colour, marker=_strategy_style(strategy)["marker"], label=label
        )
        data_handles.append(handle)
        y_values += ys
        censored_drawn |= censored
        theory_handles += _theory_overlays(ax, fit, pts, colour=colour, n_range=n_range)

    handles, ys = _lower_bound_curves(ax, _bounded_groups(groups), n_range)
    theory_handles += handles
    y_values += ys
    if censored_drawn:
        theory_handles.append(_not_reached_handle())
    _style_separation_axes(ax, y_values, n_range)
    ax.set_ylabel(_y_label([str(f["strategy"]) for f in fits]))

    legend = fig.legend(
        handles=data_handles + theory_handles,
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


def _noise_strength(spec: Any) -> tuple[str, float] | None:
    """``("kind", p)`` of a one-term noise spec, ``("", 0.0)`` for none, else None."""
    if spec in (None, "", "none"):
        return ("", 0.0)
    match = re.fullmatch(r"([a-z_]+):([0-9.eE+-]+)", str(spec))
    if match is None:
        return None
    try:
        return (match[1], float(match[2]))
    except ValueError:
        return None


def _ordered_axis(key: str, values: Sequence[Any]) -> tuple[list[Any], list[str], str, str]:
    """Sort a swept key's values; return them, their tick labels, a short and a long label.

    Noise specs of one kind (``state_depolarizing:p`` and ``none``) are ordered by p and
    labelled by p; numbers by value; anything else by its text.
    """
    distinct = sorted({json.dumps(v, sort_keys=True) for v in values})
    parsed = [json.loads(v) for v in distinct]
    label = _KEY_LABELS.get(key, key)
    if key == "noise":
        strengths = [_noise_strength(v) for v in parsed]
        kinds = {s[0] for s in strengths if s is not None} - {""}
        if None not in strengths and len(kinds) <= 1:
            order = sorted(range(len(parsed)), key=lambda i: strengths[i][1])  # type: ignore[index]
            kind = kinds.pop() if kinds else "noise"
            name = "storage depolarizing" if kind == "state_depolarizing" else kind
            return (
                [parsed[i] for i in order],
                [f"{strengths[i][1]:g}" for i in order],  # type: ignore[index]
                f"{name} p",
                f"{name} p (noise = {kind}:p)",
            )
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in parsed):
        parsed.sort()
        return parsed, [f"{v:g}" for v in parsed], label, f"{label} ({key})"
    parsed.sort(key=str)
    return parsed, [str(v) for v in parsed], label, f"{label} ({key})"


def _separation_map_figure(rows: list[dict[str, Any]], fits: list[dict[str, Any]]) -> Figure:
    """Many series: one panel per strategy, the swept setting as a colour map with a bar.

    The key with the most values is the colour axis (ordered: noise strength, α, ...); the
    other swept keys, if any (at most four settings), get line styles.
    """
    members = _members(rows)
    groups = [f["group"] for f in fits]
    varying = _varying_keys(groups)
    colour_key = max(varying, key=lambda k: (len({json.dumps(g.get(k)) for g in groups}), k))
    values, ticks, axis_label, axis_text = _ordered_axis(
        colour_key, [g.get(colour_key) for g in groups]
    )
    index = {json.dumps(v, sort_keys=True): i for i, v in enumerate(values)}
    colours = mpl.colormaps["viridis"](np.linspace(0.0, 0.85, max(len(values), 2)))
    others = [k for k in varying if k != colour_key]
    combos = sorted({_setting_text(g, others) for g in groups})
    if len(combos) > len(_LINESTYLES):
        raise CopylearnError(
            f"this store sweeps {', '.join(varying)} ({len(fits)} series): too many to draw "
            f"readably in one figure; choose a subset, e.g. --where {others[0]}="
            f"{groups[0].get(others[0])}."
        )
    linestyle = {c: _LINESTYLES[i] for i, c in enumerate(combos)}
    strategies = sorted({str(f["strategy"]) for f in fits}, key=_strategy_order)
    all_n = [int(r["spec"]["n"]) for r in rows]
    n_range = (min(all_n), max(all_n))

    panel_w, axes_h, gap = 2.55, 2.2, 0.22
    left, right, top = 0.62, 1.25, 0.28
    panels_end = left + len(strategies) * panel_w + (len(strategies) - 1) * gap
    width = panels_end + right
    fig = Figure(figsize=(width, 4.0))
    FigureCanvasAgg(fig)
    axes = []
    y_values: list[float] = []
    theory: dict[str, Any] = {}
    censored_drawn = False
    for p, strategy in enumerate(strategies):
        ax = fig.add_subplot(1, len(strategies), p + 1, sharey=axes[0] if axes else None)
        ax.set_yscale("log")
        axes.append(ax)
        style = _strategy_style(strategy)
        for fit in fits:
            if fit["strategy"] != strategy:
                continue
            pts = members[_group_of({**fit["group"], "n": 0})]
            colour = colours[index[json.dumps(fit["group"].get(colour_key), sort_keys=True)]]
            line = linestyle[_setting_text(fit["group"], others)]
            _, ys, censored = _draw_series(
                ax, pts, colour=colour, marker=style["marker"], label=None, line=line
            )
            y_values += ys
            censored_drawn |= censored
            setting = _setting_text(fit["group"], others)
            overlays = _theory_overlays(
                ax,
                fit,
                pts,
                colour="0.45",
                n_range=n_range,
                note=f"; {setting}" if len(combos) > 1 else "",
            )
            for h in overlays:
                theory.setdefault(h.get_label(), h)
        bounded = _bounded_groups([g for g in groups if g["strategy"] == strategy])
        if bounded:
            handles, ys = _lower_bound_curves(ax, bounded, n_range)
            for h in handles:
                theory.setdefault(h.get_label(), h)
            y_values += ys
        ax.set_title(f"{style['label']} ({style['marker_name']})", loc="left", pad=3)
    for p, ax in enumerate(axes):
        _style_separation_axes(ax, y_values, n_range)
        if p == 0:
            ax.set_ylabel(_y_label(strategies))
        else:
            ax.tick_params(labelleft=False)

    handles: list[Any] = []
    if len(combos) > 1:
        handles += [Line2D([], [], color="0.3", ls=linestyle[c], lw=0.9, label=c) for c in combos]
    handles += list(theory.values())
    if censored_drawn:
        handles.append(_not_reached_handle())
    title = [
        _context_text(groups),
        "bars: 95% CI on N*; lines join one series; colour: " + axis_text,
        "fitted bases per series: `copylearn summary DIR`",
    ]
    legend = fig.legend(
        handles=handles,
        loc="upper left",
        ncol=2 if len(handles) > 3 and len(strategies) > 1 else 1,
        frameon=False,
        handlelength=2.2,
        borderaxespad=0.0,
        title="\n".join(filter(None, title)),
        alignment="left",
    )

    fig.canvas.draw()
    box = legend.get_window_extent(fig.canvas.get_renderer())
    legend_h = box.height / fig.dpi
    width = max(width, box.width / fig.dpi + 0.2)  # widen rather than cut a long legend
    bottom_label = 0.42
    height = top + axes_h + bottom_label + legend_h + 0.08
    fig.set_size_inches(width, height)
    for p, ax in enumerate(axes):
        ax.set_position(
            [
                (left + p * (panel_w + gap)) / width,
                (height - top - axes_h) / height,
                panel_w / width,
                axes_h / height,
            ]
        )
    legend.set_bbox_to_anchor((0.02 * _WIDTH_IN / width, (legend_h + 0.06) / height))
    # Discrete colour bar for the swept setting, right of the last panel.
    bounds = np.arange(len(values) + 1) - 0.5
    cmap = ListedColormap(colours[: len(values)])
    mappable = mpl.cm.ScalarMappable(norm=BoundaryNorm(bounds, cmap.N), cmap=cmap)
    cax = fig.add_axes(
        [
            (panels_end + 0.12) / width,
            (height - top - axes_h) / height,
            0.1 / width,
            axes_h / height,
        ]
    )
    cbar = fig.colorbar(mappable, cax=cax)
    shown = _colourbar_ticks(len(values))
    cbar.set_ticks(shown)
    cbar.set_ticklabels([ticks[t] for t in shown])
    cbar.ax.tick_params(length=2)
    cbar.set_label(axis_label, labelpad=2)
    cbar.outline.set_linewidth(0.5)
    return fig


def _stack_legend_below(fig: Figure, ax: Any, legend: Any) -> None:
    """Grow the figure downwards (and wider, if need be) so the legend sits under the axes.

    The axes keep one journal column's width; a legend wider than that widens the figure
    instead of being cut at its right edge.
    """
    axes_h_in = 2.2
    fig.set_size_inches(_WIDTH_IN, 4.0)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    box = legend.get_window_extent(renderer)
    legend_h_in, legend_w_in = box.height / fig.dpi, box.width / fig.dpi
    top_in, bottom_label_in, left_in, right_in = 0.1, 0.4, 0.62, 0.1
    width = max(_WIDTH_IN, legend_w_in + 0.12)
    total = top_in + axes_h_in + bottom_label_in + legend_h_in + 0.05
    fig.set_size_inches(width, total)
    ax.set_position(
        [
            left_in / width,
            (total - top_in - axes_h_in) / total,
            (_WIDTH_IN - left_in - right_in) / width,
            axes_h_in / total,
        ]
    )
    legend.set_bbox_to_anchor(
        (0.02 * _WIDTH_IN / width, (legend_h_in + 0.05) / total), transform=fig.transFigure
    )


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
    from copylearn.protocols import unit_of

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
        ax.set_xlabel(f"{unit_of([strategy])}, N" + _per_experiment_note(strategy))

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
            b, s = (star.get((strategy, n, f)) for strategy in result["pair"])
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
        (result["pair"][0], f_line**-4.0, "theory f⁻⁴"),
        (result["pair"][1], 3.0 * f_line**-2.0, "theory 3f⁻²"),
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
# Choosing a subset of the store
# --------------------------------------------------------------------------------------------

_N_ITEM = re.compile(r"(\d+)(?:-(\d+))?")
_WHERE_HELP = "write KEY=VALUE[,VALUE...], e.g. --where noise=state_depolarizing:0.1"
_N_HELP = "write qubit counts and ranges such as 1-4 or 2,5,8-10"


def parse_n_selection(text: str) -> set[int]:
    """Qubit counts from ``"1-4"``, ``"2,5,8-10"`` (ranges inclusive).

    Raises
    ------
    CopylearnError
        Malformed text, a range whose end is below its start, or n < 1.
    """
    if not isinstance(text, str) or not text.strip():
        raise CopylearnError(f"--n {text!r} is empty: {_N_HELP}.")
    out: set[int] = set()
    for item in text.replace(" ", "").split(","):
        match = _N_ITEM.fullmatch(item)
        if match is None:
            raise CopylearnError(f"--n {text!r}: {item!r} is not a count or range; {_N_HELP}.")
        lo = int(match[1])
        hi = int(match[2]) if match[2] is not None else lo
        if hi < lo:
            raise CopylearnError(
                f"--n {text!r}: the range {item!r} runs backwards; write {hi}-{lo}."
            )
        if lo < 1:
            raise CopylearnError(f"--n {text!r}: qubit counts start at 1.")
        out.update(range(lo, hi + 1))
    return out


def parse_where(items: Sequence[str]) -> list[tuple[str, list[str]]]:
    """``["noise=none,state_depolarizing:0.1", "strategy=bell"]`` as (key, values) pairs.

    Raises
    ------
    CopylearnError
        An item without ``=``, an empty key or an empty value.
    """
    if isinstance(items, str):
        items = [items]
    out = []
    for item in items:
        if not isinstance(item, str):
            raise CopylearnError(f"--where {item!r} is not text; {_WHERE_HELP}.")
        key, sep, text = item.partition("=")
        key = key.strip()
        values = [v.strip() for v in text.split(",")]
        if not sep or not key:
            raise CopylearnError(f"--where {item!r} has no KEY=VALUE; {_WHERE_HELP}.")
        if not all(values):
            raise CopylearnError(f"--where {item!r} has an empty value; {_WHERE_HELP}.")
        out.append((key, values))
    return out


def _matches(key: str, stored: Any, text: str) -> bool:
    """Whether a spec value equals a value typed on the command line."""
    if isinstance(stored, bool):
        return text.lower() == str(stored).lower()
    if isinstance(stored, int | float):
        try:
            return math.isclose(float(stored), float(text), rel_tol=1e-12, abs_tol=0.0)
        except ValueError:
            return False
    if key == "noise":
        return _canonical_noise(str(stored)) == _canonical_noise(text)
    return str(stored) == text


def _canonical_noise(spec: str) -> str:
    model = parse_noise(spec)
    return "none" if model is None else model.spec()


def _spec_value(spec: dict[str, Any], key: str) -> Any:
    """The spec's value, an optional key's default, or None for a key it lacks."""
    try:
        return spec_value(spec, key)
    except KeyError:
        return None


def select_rows(
    rows: Sequence[dict[str, Any]],
    *,
    where: Sequence[str] | None = None,
    n: str | Sequence[int] | None = None,
) -> list[dict[str, Any]]:
    """The rows that match every ``--where KEY=V1,V2`` (any listed value) and ``--n``.

    Parameters
    ----------
    rows : sequence of dict
        Result rows (``spec`` holds the grid point).
    where : sequence of str, optional
        Conditions ``KEY=VALUE[,VALUE...]`` on spec keys (``strategy``, ``noise``,
        ``alpha``, ...); a row must match each condition, with any of its values. Numbers
        compare by value, noise specs in canonical form.
    n : str or sequence of int, optional
        Qubit counts to keep: ``"1-4"``, ``"2,5,8-10"`` or a list of ints.

    Raises
    ------
    CopylearnError
        A malformed condition, a key the store's points do not have, a value no point holds
        (the message lists the values there are), or an empty selection.
    """
    conditions = parse_where(where or [])
    if n is None:
        wanted_n = None
    elif isinstance(n, str):
        wanted_n = parse_n_selection(n)
    else:
        try:
            wanted_n = {operator.index(v) for v in n}
        except TypeError:
            raise CopylearnError(
                f"n={n!r} must be qubit counts (ints) or text like '1-4'."
            ) from None
    keys = sorted({k for r in rows for k in r["spec"]} | set(OPTIONAL_KEYS))
    selected = list(rows)
    for key, values in conditions:
        if key not in keys:
            raise CopylearnError(
                f"--where {key}=...: {key!r} is not a grid key of this store; use one of "
                f"{', '.join(keys)}."
            )
        stored = sorted({json.dumps(_spec_value(r["spec"], key)) for r in rows})
        present = [json.loads(s) for s in stored]
        for value in values:
            if not any(_matches(key, s, value) for s in present):
                raise CopylearnError(
                    f"--where {key}={value} matches no point: the store's {key} values are "
                    f"{', '.join(str(s) for s in present)}."
                )
        selected = [
            r
            for r in selected
            if any(_matches(key, _spec_value(r["spec"], key), v) for v in values)
        ]
    if wanted_n is not None:
        have = sorted({int(r["spec"]["n"]) for r in rows})
        if not wanted_n & set(have):
            raise CopylearnError(
                f"--n matches no point: the store has n = {', '.join(map(str, have))}."
            )
        selected = [r for r in selected if int(r["spec"]["n"]) in wanted_n]
    if not selected:
        raise CopylearnError(
            "no point matches all of --where and --n together: loosen one of them."
        )
    return selected


# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------


def plot_store(
    store_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    where: Sequence[str] | None = None,
    n: str | Sequence[int] | None = None,
) -> list[pathlib.Path]:
    """Draw the figures of a sweep's result store and write them as PNG and PDF.

    Points whose search did not reach the target (``reached: false``) are drawn as lower
    bounds at their ``max_copies`` (open upward triangles, "not reached") and left out of
    every fit. With more than three series per strategy (e.g. eight noise levels) the
    separation figure draws one panel per strategy and the swept setting as a colour map with
    a colour bar; otherwise every series has its own colour and legend entry.

    Parameters
    ----------
    store_dir : path
        Directory holding ``results.jsonl`` (one JSON result row per line, as written by
        ``copylearn sweep``; a trailing partial line from an interrupted write is ignored).
    out_dir : path
        Directory for the figures; created if missing. Each file is written to a temporary
        file in this directory and moved into place, so a reader never sees half a figure.
    where : sequence of str, optional
        Keep only points matching each ``KEY=VALUE[,VALUE...]`` (see :func:`select_rows`),
        e.g. ``["noise=none,state_depolarizing:0.1", "strategy=bell"]``.
    n : str or sequence of int, optional
        Keep only these qubit counts: ``"1-4"``, ``"2,5,8-10"`` or a list of ints.

    Returns
    -------
    list of pathlib.Path
        ``separation.png``, ``separation.pdf``, ``success_curves.png`` and
        ``success_curves.pdf`` under ``out_dir`` (the last two only if the rows carry
        success curves), then ``crossover.png`` and ``crossover.pdf`` for a storage-noise
        sweep of both strategies.

    Raises
    ------
    CopylearnError
        If ``store_dir`` holds no results or ``results.jsonl`` is damaged; a malformed or
        unmatched ``where`` / ``n``; an ``out_dir`` that is a file, lies under a file or
        cannot be written (checked before anything is drawn).
    """
    store = pathlib.Path(store_dir)
    out = pathlib.Path(out_dir)
    rows = _read_rows(store)
    if where is not None or n is not None:
        rows = select_rows(rows, where=where, n=n)
    rows = _censor(rows)
    check_output_dir(out, what="--out")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CopylearnError(
            f"--out {out}: cannot create it ({exc.strerror or exc}); choose another directory."
        ) from None
    paths: list[pathlib.Path] = []
    with mpl.rc_context(_STYLE):
        figures = [("separation", _separation_figure(rows))]
        if any(isinstance(r.get("curve"), dict) and r["curve"].get("copies") for r in rows):
            figures.append(("success_curves", _success_figure(rows)))
        if _has_crossover(rows):
            figures.append(("crossover", _crossover_figure(rows)))
        from copylearn.query_plot import has_query_sweep, predictions_figure

        if has_query_sweep(rows):  # N* versus the number of predictions (docs/theory.md §16)
            figures.append(("predictions_vs_copies", predictions_figure(rows)))
        from copylearn.memory_tradeoff import has_memory_sweep, memory_figure

        if has_memory_sweep(rows):  # N* versus the qubits of quantum memory (docs/theory.md §20)
            figures.append(("memory_tradeoff", memory_figure(rows)))

        from copylearn.qpca_plot import has_noise_fraction_sweep, noise_fraction_figure

        if has_noise_fraction_sweep(rows):  # N* versus lambda (docs/theory.md §19.5)
            figures.append(("noise_fraction", noise_fraction_figure(rows)))
        for stem, fig in figures:
            paths += _save(fig, out, stem)
    return paths


def _has_crossover(rows: list[dict[str, Any]]) -> bool:
    """Whether the rows sweep storage noise (two or more fidelities) for both strategies."""
    try:
        crows = crossover.crossover_rows(rows)
    except CopylearnError:
        return False
    strategies = {r["spec"]["strategy"] for r in crows}
    if not _tasks_declare(rows, "crossover"):
        return False
    return len({r["f"] for r in crows}) >= 2 and set(crossover.pair_of(rows)) <= strategies


def _tasks_declare(rows: list[dict[str, Any]], figure: str) -> bool:
    """Whether every row's task declares the extra figure ``figure`` (Task.figures)."""
    from copylearn.tasks import get_task

    try:
        return all(figure in get_task(r["spec"]["task"]).figures for r in rows)
    except (CopylearnError, KeyError, TypeError):
        return False


def _strategy_order(strategy: str) -> tuple:
    """Panels: protocols holding more copies per experiment first (Bell before shadows)."""
    from copylearn.protocols import get_protocol

    try:
        return (-get_protocol(strategy).copies_per_shot, strategy)
    except CopylearnError:
        return (0, strategy)


def _per_experiment_note(strategy: str) -> str:
    """`` (two per Bell experiment)`` for a protocol holding several copies per experiment."""
    from copylearn.protocols import get_protocol

    try:
        protocol = get_protocol(strategy)
    except CopylearnError:
        return ""
    if protocol.copies_per_shot == 1:
        return ""
    words = {2: "two", 3: "three"}
    count = words.get(protocol.copies_per_shot, str(protocol.copies_per_shot))
    return f" ({count} per {_strategy_style(strategy)['short']} experiment)"
