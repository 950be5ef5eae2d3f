"""Exponential fits, theory overlays and the figures drawn from a result store."""

from __future__ import annotations

import hashlib
import json
import math

import numpy as np
import pytest
from fit_data import synthetic

from copylearn.complexity import wilson_interval
from copylearn.errors import CopylearnError
from copylearn.fits import (
    bell_flat,
    c_alpha,
    fit_exponential,
    fit_groups,
    fit_prefactor,
    pauli_shadow_curve,
    single_copy_lower_bound,
)
from copylearn.plotting import plot_store

CONTRACT_FIT_KEYS = {"base", "base_ci", "log_base", "log_base_ci", "a", "ns", "n_min"}


# ------------------------------------------------------------------------------------------
# fit_exponential
# ------------------------------------------------------------------------------------------


def test_fit_recovers_base_three_within_its_ci():
    fit = fit_exponential(*synthetic(range(1, 11), 2.34, 3.0))
    assert CONTRACT_FIT_KEYS | {"log_base_se", "residuals", "note"} <= fit.keys()
    lo, hi = fit["base_ci"]
    assert lo < 3.0 < hi
    assert lo < fit["base"] < hi
    assert abs(fit["base"] - 3.0) < 0.05
    assert fit["log_base_ci"][0] < math.log(3.0) < fit["log_base_ci"][1]
    assert fit["ci_method"] == "pair-bootstrap+wls"
    assert 0 < fit["log_base_se"] < 0.02
    assert len(fit["residuals"]) == len(fit["ns"]) == 10
    assert fit["n_min"] == 1
    # a = log of the prefactor (natural log of copies).
    assert abs(math.exp(fit["a"]) - 2.34) / 2.34 < 0.15


def test_fit_flat_base_one_has_log_base_ci_around_zero():
    fit = fit_exponential(*synthetic(range(1, 41), 20.0, 1.0, sd=0.08, seed=3))
    assert fit["log_base_ci"][0] < 0.0 < fit["log_base_ci"][1]
    assert fit["base_ci"][0] < 1.0 < fit["base_ci"][1]
    assert abs(fit["log_base"]) < 2 * 1.96 * fit["log_base_se"] + 1e-3


def test_fit_is_reproducible():
    data = synthetic(range(1, 9), 2.0, 2.0)
    assert fit_exponential(*data) == fit_exponential(*data)


def test_points_at_the_floor_and_missing_are_left_out():
    ns, n_star, lo, hi = synthetic(range(3, 11), 2.34, 3.0)
    clean = fit_exponential(ns, n_star, lo, hi)
    # Prepend floor points (one or two copies) far off the exponential, and a missing N*.
    noisy = fit_exponential(
        [0, 1, 2, *ns, 11],
        [1.0, 2.0, 2.0, *n_star, None],
        [1.0, 1.0, 2.0, *lo, None],
        [1.0, 3.0, 2.0, *hi, None],
    )
    assert noisy["ns"] == ns
    assert noisy["n_min"] == 3
    assert noisy["base"] == pytest.approx(clean["base"], rel=1e-12)
    assert noisy["base_ci"] == pytest.approx(clean["base_ci"], rel=1e-12)
    assert "floor" in noisy["note"] and "not reached" in noisy["note"]


@pytest.mark.parametrize(
    ("ns", "n_star"),
    [([], []), ([5], [100.0]), ([1, 2, 3], [2.0, 1.0, None]), ([4, 4], [50.0, 60.0])],
)
def test_fewer_than_two_usable_n_gives_a_note_not_a_crash(ns, n_star):
    fit = fit_exponential(ns, n_star, None, None)
    assert fit["base"] is None and fit["base_ci"] is None and fit["log_base"] is None
    assert "need at least 2" in fit["note"]


def test_two_points_use_the_analytic_interval():
    fit = fit_exponential([3, 4], [27.0, 81.0], [25.0, 75.0], [29.0, 87.0])
    assert fit["base"] == pytest.approx(3.0)
    assert fit["ci_method"] == "analytic"
    lo, hi = fit["log_base_ci"]
    assert hi - lo == pytest.approx(2 * 1.959963984540054 * fit["log_base_se"])
    assert "analytic" in fit["note"] or "SE" in fit["note"]


def test_zero_width_interval_does_not_take_all_the_weight():
    ns, n_star, lo, hi = synthetic(range(1, 9), 2.0, 3.0, sd=0.05)
    n_star[0] *= 1.3  # an outlier whose interval is reported with zero width
    lo[0] = hi[0] = n_star[0]
    fit = fit_exponential(ns, n_star, lo, hi)
    assert math.isfinite(fit["log_base_se"]) and fit["log_base_se"] > 0
    assert abs(fit["base"] - 3.0) < 0.15


def test_mismatched_lengths_are_a_clear_error():
    with pytest.raises(CopylearnError, match="one N"):
        fit_exponential([1, 2, 3], [10.0, 30.0], None, None)


# ------------------------------------------------------------------------------------------
# fit_groups
# ------------------------------------------------------------------------------------------


def make_spec(strategy, n, alpha=0.9, target=0.9, max_copies=10**7):
    return {
        "task": "pauli-prediction",
        "strategy": strategy,
        "n": n,
        "alpha": alpha,
        "weight": "full",
        "queries": 100,
        "noise": "none",
        "target": target,
        "trials": 400,
        "max_copies": max_copies,
    }


def make_row(spec, n_star, rng, trials=400):
    """A result row in the contract's format, with a logistic success curve around N*."""
    sid = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]
    per = 2 if spec["strategy"] == "bell" else 1
    centre = n_star if n_star is not None else 3.0 * spec["max_copies"]
    top = min(4 * centre, spec["max_copies"])
    copies = sorted({per * max(1, round(c / per)) for c in np.geomspace(2, top, 10)})
    p = 1 / (1 + np.exp(-3 * (np.log(copies) - np.log(centre)) - np.log(9)))
    return {
        "id": sid,
        "spec": spec,
        "n_star": n_star,
        "n_star_ci": None if n_star is None else [0.92 * n_star, 1.09 * n_star],
        "n_star_2_3": None,
        "n_star_2_3_ci": None,
        "copies_per_experiment": per,
        "experiments_star": None if n_star is None else n_star / per,
        "curve": {
            "copies": copies,
            "successes": rng.binomial(trials, p).tolist(),
            "trials": trials,
        },
        "reached": n_star is not None,
        "seconds": 0.5,
        "versions": {"copylearn": "test"},
    }


def make_rows(seed=11):
    rng = np.random.default_rng(seed)
    rows = []
    for n in range(1, 9):
        rows.append(make_row(make_spec("bell", n), 24.0 * math.exp(0.05 * rng.normal()), rng))
    for n in range(1, 7):
        rows.append(make_row(make_spec("pauli-shadow", n), 4.2 * 3.0**n, rng))
    rows.append(make_row(make_spec("pauli-shadow", 7), None, rng))
    return rows


def test_fit_groups_one_fit_per_setting():
    rng = np.random.default_rng(0)
    rows = make_rows()
    rows += [make_row(make_spec("bell", n, alpha=0.5), 300.0 + n, rng) for n in (2, 4, 6)]
    rows.append(dict(rows[0]))  # the same id twice counts once
    fits = fit_groups(rows)
    assert [f["strategy"] for f in fits] == ["bell", "bell", "pauli-shadow"]
    for f in fits:
        assert CONTRACT_FIT_KEYS | {"group", "strategy"} <= f.keys()
        assert "n" not in f["group"]
        assert f["group"]["strategy"] == f["strategy"]
    bell_09 = next(f for f in fits if f["strategy"] == "bell" and f["group"]["alpha"] == 0.9)
    assert bell_09["ns"] == list(range(1, 9))
    assert bell_09["log_base_ci"][0] < 0 < bell_09["log_base_ci"][1]
    shadow = fits[-1]
    assert shadow["ns"] == list(range(1, 7))  # the point not reached is left out
    assert shadow["base"] == pytest.approx(3.0, rel=1e-6)
    json.dumps(fits)  # JSON-serialisable, for `copylearn summary --json`


def test_fit_groups_rejects_rows_without_spec():
    with pytest.raises(CopylearnError, match="spec"):
        fit_groups([{"id": "x", "n_star": 3.0}])


# ------------------------------------------------------------------------------------------
# Theory overlays (docs/theory.md §7)
# ------------------------------------------------------------------------------------------


def test_single_copy_lower_bound_matches_physics_numbers():
    assert c_alpha(0.9) == pytest.approx(0.830, abs=5e-4)
    n_lb = single_copy_lower_bound(20, alpha=0.9, delta=1 / 3)
    assert n_lb == pytest.approx(5.1e5, rel=0.02)
    # Independent check from the derivation: at N_LB the TV bound reaches exactly 1 - 2δ.
    tv = 1 - math.exp(-c_alpha(0.9) * n_lb / (2**20 + 1))
    assert tv == pytest.approx(1 - 2 / 3, rel=1e-12)
    # Vectorised, doubling (2^n + 1) per qubit.
    curve = single_copy_lower_bound(np.array([1, 2, 3]), 0.9, 0.1)
    assert curve == pytest.approx(np.array([3, 5, 9]) * math.log(5) / c_alpha(0.9))


@pytest.mark.parametrize("delta", [0.0, 0.5, 0.7])
def test_single_copy_lower_bound_rejects_trivial_delta(delta):
    with pytest.raises(CopylearnError, match="delta"):
        single_copy_lower_bound(5, 0.9, delta)


def test_shadow_and_bell_overlays():
    ns = [2, 3, 4, 5]
    assert fit_prefactor(ns, [2.34 * 3.0**n for n in ns]) == pytest.approx(2.34)
    assert fit_prefactor([1, 2], [1.0, None]) is None
    assert pauli_shadow_curve(np.array([0, 2]), 2.0) == pytest.approx([2.0, 18.0])
    assert bell_flat(np.arange(4), 16.0).tolist() == [16.0] * 4
    assert bell_flat(7, 16.0) == 16.0


def test_wilson_interval():
    lo, hi = wilson_interval(np.array([0, 36, 40]), 40).T
    assert lo[0] == pytest.approx(0, abs=1e-15) and 0 < hi[0] < 0.1
    assert lo[1] < 0.9 < hi[1]
    assert hi[2] == pytest.approx(1.0) and 0.9 < lo[2] < 1


# ------------------------------------------------------------------------------------------
# plot_store
# ------------------------------------------------------------------------------------------


def write_store(path, rows, tail=""):
    path.mkdir(parents=True, exist_ok=True)
    with open(path / "results.jsonl", "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row) + "\n")
        fh.write(tail)


def test_plot_store_writes_png_and_pdf(tmp_path):
    store = tmp_path / "store"
    # A trailing partial line, as a killed sweep might leave, is ignored.
    write_store(store, make_rows(), tail='{"id": "abc", "spec": {"n": 3, "str')
    out = tmp_path / "figures"
    paths = plot_store(store, out)
    names = [p.name for p in paths]
    assert names == [
        "separation.png",
        "separation.pdf",
        "success_curves.png",
        "success_curves.pdf",
    ]
    for p in paths:
        assert p.parent == out and p.stat().st_size > 5000
        head = p.read_bytes()[:8]
        assert head.startswith(b"\x89PNG") if p.suffix == ".png" else head.startswith(b"%PDF")
    assert sorted(x.name for x in out.iterdir()) == sorted(names)  # no temporary files left


def test_plot_store_errors(tmp_path):
    with pytest.raises(CopylearnError, match="no results"):
        plot_store(tmp_path, tmp_path / "figs")
    write_store(tmp_path, [])
    with pytest.raises(CopylearnError, match="no results"):
        plot_store(tmp_path, tmp_path / "figs")
    with pytest.raises(CopylearnError, match="not a directory"):
        plot_store(tmp_path / "missing", tmp_path / "figs")
    rows = make_rows()
    with open(tmp_path / "results.jsonl", "w", encoding="utf-8") as fh:
        fh.write(json.dumps(rows[0]) + "\n{broken\n" + json.dumps(rows[1]) + "\n")
    with pytest.raises(CopylearnError, match="line 2"):
        plot_store(tmp_path, tmp_path / "figs")


def test_plot_store_without_curves_draws_the_separation_only(tmp_path):
    rows = make_rows()
    for row in rows:
        row.pop("curve")
    write_store(tmp_path / "store", rows)
    paths = plot_store(tmp_path / "store", tmp_path / "figs")
    assert [p.name for p in paths] == ["separation.png", "separation.pdf"]


# ------------------------------------------------------------------------------------------
# Unreached points are lower bounds, never measurements (issue 9, item 3)
# ------------------------------------------------------------------------------------------


def _markers(fig, gid=None):
    """(x, y) of every marker drawn on the figure's data axes, optionally of one gid."""
    out = []
    for ax in fig.axes:
        for line in ax.get_lines():
            if line.get_marker() in (None, "None", "", " "):
                continue
            if gid is not None and line.get_gid() != gid:
                continue
            out += list(zip(line.get_xdata(), line.get_ydata(), strict=True))
    return out


def _unreached_row(spec, n_star, ci):
    """A row as the search writes it when the target is not reached: N* and CI still set."""
    row = make_row(spec, n_star, np.random.default_rng(0))
    row.update(reached=False, n_star=n_star, n_star_ci=ci)
    return row


def test_unreached_point_is_a_lower_bound_not_a_measurement():
    from copylearn.plotting import _separation_figure

    # The example: target 0.9999999, 10 trials, max_copies 1000 -> "N* = 90 [52, 90]"
    # with reached = false. Around it, shadows points on N* = 10·3^n exactly.
    rng = np.random.default_rng(1)
    rows = [make_row(make_spec("bell", n), 24.0, rng) for n in range(1, 6)]
    specs = {n: make_spec("pauli-shadow", n, target=0.9999999, max_copies=1000) for n in range(6)}
    for spec in specs.values():
        spec["trials"] = 10
    rows += [make_row(specs[n], 10.0 * 3.0**n, rng) for n in range(1, 5)]
    spec = specs[5] = {**specs[1], "n": 5}
    rows.append(_unreached_row(spec, 90.0, [52.0, 90.0]))
    fig = _separation_figure(rows)
    points = _markers(fig)
    assert (5, 90.0) not in points  # never drawn as a measurement
    assert _markers(fig, gid="not-reached") == [(5, 1000.0)]  # a lower bound at max_copies
    lower = next(ln for ln in fig.axes[0].get_lines() if ln.get_gid() == "not-reached")
    assert lower.get_marker() == "^" and lower.get_markerfacecolor() == "none"
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert any("not reached" in t for t in labels)
    # Left out of the fit: the shadow base is exactly 3 from n = 1..4 (90 at n = 5 would pull
    # it far below).
    shadow = next(t for t in labels if t.startswith("random-Pauli shadows"))
    base = float(shadow.split("\\propto ")[1].split("^")[0])
    assert base == pytest.approx(3.0, abs=5e-4)


def test_unreached_points_stay_out_of_the_colour_map_figure_and_the_crossover():
    from copylearn import crossover
    from copylearn.plotting import _censor, _separation_figure

    # Another member of the kind: a storage-noise sweep (colour-map figure, crossover fits).
    rng = np.random.default_rng(2)
    rows = []
    for p in [0.0, 0.05, 0.1, 0.15, 0.2]:
        noise = "none" if p == 0 else f"state_depolarizing:{p:g}"
        f = 1 - 4 * p / 3
        for n in range(1, 5):
            for strategy, base in (("bell", f**-4), ("pauli-shadow", 3 * f**-2)):
                spec = {**make_spec(strategy, n), "noise": noise}
                rows.append(make_row(spec, 20.0 * base**n, rng))
    spec = {**make_spec("bell", 5), "noise": "state_depolarizing:0.2"}
    rows.append(_unreached_row(spec, 77.0, [40.0, 77.0]))
    fig = _separation_figure(rows)
    assert len([ax for ax in fig.axes if ax.get_label() != "<colorbar>"]) == 3  # 2 panels + bar
    assert (5, 77.0) not in _markers(fig)
    assert _markers(fig, gid="not-reached") == [(5, 1e7)]  # its max_copies
    # The crossover analysis never fits the unreached value, censored or not.
    for given in (rows, _censor(rows)):
        result = crossover.analyse(given)
        bell_fit = result["bases"]["bell"][result["fidelities"].index(1 - 4 * 0.2 / 3)]
        assert bell_fit["ns"] == [2, 3, 4]
        assert bell_fit["base"] == pytest.approx((1 - 4 * 0.2 / 3) ** -4, rel=1e-9)


# ------------------------------------------------------------------------------------------
# Readable for any grid; subsets (issue 9, item 17)
# ------------------------------------------------------------------------------------------


def _inside(fig, artist):
    fig.canvas.draw()  # boxes at the figure's size, as savefig writes it
    box = artist.get_window_extent(fig.canvas.get_renderer())
    width, height = fig.get_size_inches() * fig.dpi
    return box.x0 >= -1 and box.y0 >= -1 and box.x1 <= width + 1 and box.y1 <= height + 1


def test_noise_crossover_separation_is_readable():
    """The issue's example: 8 noise levels x 2 strategies, drawn from the committed store."""
    import pathlib

    import matplotlib as mpl

    from copylearn.plotting import _STYLE, _read_rows, _separation_figure

    store = pathlib.Path(__file__).resolve().parent.parent / "figures" / "noise_crossover"
    with mpl.rc_context(_STYLE):
        fig = _separation_figure(_read_rows(store))
    panels = [ax for ax in fig.axes if ax.get_title(loc="left")]
    assert [ax.get_title(loc="left") for ax in panels] == [
        "two-copy Bell sampling (●)",
        "random-Pauli shadows (■)",
    ]
    bar = next(ax for ax in fig.axes if ax not in panels)
    assert [t.get_text() for t in bar.get_yticklabels()] == [
        "0", "0.075", "0.15", "0.225", "0.2625", "0.3", "0.3375", "0.375",
    ]  # fmt: skip
    # One colour per noise level, ordered: 8 distinct colours in each panel.
    for ax in panels:
        colours = {tuple(ln.get_color()) for ln in ax.get_lines() if ln.get_linestyle() == "-"}
        assert len(colours) == 8
    assert len(fig.legends[0].get_texts()) <= 4  # theory and markers, not 16 series
    assert _inside(fig, fig.legends[0])


def test_many_long_labels_fit_in_legend_mode():
    from copylearn.plotting import _separation_figure

    # Another member: three series per strategy with long labels (the legend mode).
    rng = np.random.default_rng(3)
    rows = []
    for noise in ("none", "depolarizing:0.001+readout:0.002", "amplitude_damping:0.0125"):
        for n in range(1, 5):
            for strategy in ("bell", "pauli-shadow"):
                spec = {**make_spec(strategy, n), "noise": noise}
                rows.append(make_row(spec, 30.0 * (1 if strategy == "bell" else 3.0**n), rng))
    fig = _separation_figure(rows)
    assert len(fig.legends[0].get_texts()) >= 6
    assert _inside(fig, fig.legends[0])


def test_select_rows_where_and_n():
    from copylearn.plotting import select_rows

    rows = make_rows()
    rows += [
        make_row(make_spec("bell", n, alpha=0.5), 300.0, np.random.default_rng(0)) for n in (2, 4)
    ]
    got = select_rows(rows, where=["strategy=bell", "alpha=0.50"], n="1-3")
    assert [(r["spec"]["strategy"], r["spec"]["n"], r["spec"]["alpha"]) for r in got] == [
        ("bell", 2, 0.5)
    ]
    got = select_rows(rows, where=["alpha=0.9,0.5"], n="2,4-5")
    assert sorted({r["spec"]["n"] for r in got}) == [2, 4, 5]
    assert len(got) == 2 + 2 + 2 + 2 - 0  # bell α=0.9 n=2,4,5; α=0.5 n=2,4; shadows n=2,4,5
    assert len(got) == 8
    # Noise specs compare in canonical form; optional keys by their default.
    noisy = [{**r, "spec": {**r["spec"], "noise": "state_depolarizing:0.1"}} for r in rows[:3]]
    got = select_rows(noisy + rows, where=["noise=STATE_DEPOLARIZING:0.10", "device=none"])
    assert got == noisy


def test_plot_store_with_a_subset(tmp_path):
    write_store(tmp_path / "store", make_rows())
    paths = plot_store(tmp_path / "store", tmp_path / "figs", where=["strategy=bell"], n=[1, 2])
    assert [p.name for p in paths][:2] == ["separation.png", "separation.pdf"]
