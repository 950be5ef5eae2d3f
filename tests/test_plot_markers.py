"""N* markers are drawn above every error bar and cap of their axes (copylearn/plotting.py).

Matplotlib draws artists in zorder order; ``ax.errorbar`` lifts a series' markers only
above its own bars (by 0.1), and a marker drawn by a separate call ties with the bars. The
figures below put two series' bars across each other's markers and add a "not reached"
lower-bound marker, then check every marker's zorder against every bar and cap of the axes.
"""

from __future__ import annotations

import matplotlib as mpl
import numpy as np
import pytest
from matplotlib.collections import LineCollection
from matplotlib.container import ErrorbarContainer
from matplotlib.figure import Figure

from copylearn import plotting
from copylearn.memory_tradeoff import memory_figure
from copylearn.qpca_plot import noise_fraction_figure


def _bars_and_caps(ax):
    bars, caps = [], []
    for container in ax.containers:
        if isinstance(container, ErrorbarContainer):
            _, cap_lines, bar_lines = container.lines
            caps += list(cap_lines)
            bars += list(bar_lines)
    return bars, caps


def _markers(ax):
    """Every Line2D that draws point markers without a line: N* markers, lower bounds."""
    return [
        line
        for line in ax.lines
        if line.get_linestyle() in ("None", "none", "")
        and line.get_marker() not in ("_", "|", "", "None", "none", None)
    ]


def _assert_markers_on_top(fig, *, expect_markers):
    seen = 0
    for ax in fig.axes:
        bars, caps = _bars_and_caps(ax)
        markers = _markers(ax)
        if not bars:
            continue
        assert all(isinstance(b, LineCollection) for b in bars)
        top = max(a.get_zorder() for a in bars + caps)
        for marker in markers:
            assert marker.get_zorder() > top, (marker.get_marker(), marker.get_label())
        # Theory lines and joins are under the markers too.
        lines = [line for line in ax.lines if line not in markers and line not in caps]
        for line in lines:
            for marker in markers:
                assert marker.get_zorder() > line.get_zorder()
        seen += len(markers)
    assert seen >= expect_markers


def _row(strategy, n, n_star, ci, *, reached=True, **spec):
    spec = {
        "task": "pauli-prediction",
        "strategy": strategy,
        "n": n,
        "alpha": 0.9,
        "weight": "full",
        "queries": 100,
        "noise": "none",
        "target": 0.9,
        "trials": 100,
        "max_copies": 4000,
        **spec,
    }
    return {
        "id": f"{strategy}-{n}-{sorted(spec.items())}",
        "spec": spec,
        "n_star": n_star if reached else None,
        "n_star_ci": ci if reached else None,
        "copies_per_experiment": 2 if strategy == "bell" else 1,
        "reached": reached,
    }


def test_separation_markers_are_above_every_bar_and_cap():
    rows = []
    for n in range(3, 7):
        y = 10.0 * 2.0**n
        rows.append(_row("pauli-shadow", n, y, [0.5 * y, 1.6 * y]))
        rows.append(_row("bell", n, 1.1 * y, [0.6 * y, 1.9 * y]))  # bars over the shadows'
    rows.append(_row("pauli-shadow", 7, None, None, reached=False))
    rows.append(_row("bell", 7, 1500.0, [300.0, 3900.0]))  # its bar crosses the lower bound
    with mpl.rc_context(plotting._STYLE):
        fig = plotting._separation_figure(plotting._censor(rows))
    _assert_markers_on_top(fig, expect_markers=3)
    (not_reached,) = [line for ax in fig.axes for line in ax.lines if line.get_gid()]
    assert not_reached.get_gid() == "not-reached"


def test_noise_fraction_markers_and_lower_bounds_are_above_the_bars():
    rows = []
    for strategy, scale in (("bell", 40.0), ("clifford-shadow", 50.0)):
        for lam in (0.0, 0.1, 0.2, 0.3):
            y = scale / (1 - lam) ** 2
            spec = {"task": "principal-component", "noise_fraction": lam}
            rows.append(_row(strategy, 4, y, [0.5 * y, 1.8 * y], **spec))
        spec = {"task": "principal-component", "noise_fraction": 0.45}
        rows.append(_row(strategy, 4, None, None, reached=False, **spec))
    with mpl.rc_context(plotting._STYLE):
        fig = noise_fraction_figure(rows)
    _assert_markers_on_top(fig, expect_markers=4)


def test_n_star_errorbar_lifts_markers_above_bars_at_any_bar_zorder():
    fig = Figure()
    ax = fig.subplots()
    x = np.arange(4.0)
    y = np.array([10.0, 20.0, 15.0, 30.0])
    ci = np.column_stack([0.5 * y, 1.5 * y])
    for zorder in (2, 3):
        plotting.n_star_errorbar(ax, x, y, ci, marker="^", colour="k", label="a", zorder=zorder)
    _assert_markers_on_top(fig, expect_markers=2)


def test_n_star_errorbar_draws_no_bar_below_a_point_outside_its_interval():
    fig = Figure()
    ax = fig.subplots()
    container = plotting.n_star_errorbar(
        ax, [1.0], [10.0], [[11.0, 12.0]], marker="o", colour="k", label="a"
    )
    (segments,) = [bar.get_segments() for bar in container.lines[2]]
    (segment,) = segments
    assert segment[:, 1].min() == pytest.approx(10.0) and segment[:, 1].max() == pytest.approx(12.0)


def test_memory_figure_markers_are_above_the_bars():
    rows = []
    for k in range(0, 5):
        y = 20.0 * 2.0 ** (5 - k) + 5
        spec = {"memory_qubits": k} if k else {}  # k = 0 is the default, left out of the spec
        rows.append(_row("partial-bell", 5, y, [0.5 * y, 1.7 * y], **spec))
    rows.append(_row("clifford-shadow", 5, 900.0, [600.0, 1300.0]))
    fig = memory_figure(rows)
    _assert_markers_on_top(fig, expect_markers=1)
