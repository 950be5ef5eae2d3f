"""Papercuts of the 0.4.0 new-user review: each refusal is one line (CLI: ``copylearn: error:``,
exit status 2, no output file) and each fixed number follows the estimator it belongs to."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import copylearn as cl
from copylearn.cli import main
from copylearn.errors import CopylearnError


def _one_line(capsys, *words):
    err = capsys.readouterr().err
    assert err.startswith("copylearn: error:") and err.count("\n") == 1, err
    for word in words:
        assert word in err, err


def _import(tmp_path, capsys, fmt, *names, words):
    """``copylearn import`` of zero (T, 3) int64 arrays saved under ``names`` is refused."""
    for name in names:
        np.save(tmp_path / name, np.zeros((6, 3), np.int64))
    before = sorted(p.name for p in tmp_path.iterdir())
    files = [str(tmp_path / name) for name in names]
    assert main(["import", "--format", fmt, *files, "--out", str(tmp_path / "o.npz")]) == 2
    _one_line(capsys, *words)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


# ----- 1: a PennyLane shadow is two arrays ----------------------------------------------------
def test_pennylane_bits_without_recipes_name_the_recipes_file(tmp_path, capsys):
    _import(
        tmp_path,
        capsys,
        "pennylane",
        "bits.npy",
        words=["without recipes", "two (T, n) arrays", "RECIPES.npy after BITS.npy"],
    )


def test_pennylane_bits_without_recipes_in_python():
    with pytest.raises(CopylearnError, match=r"from_pennylane\(bits, recipes\)") as info:
        cl.from_pennylane(np.zeros((4, 2), np.int8))
    assert "\n" not in str(info.value)


# ----- 2: recirq-states reads states names only -----------------------------------------------
@pytest.mark.parametrize(
    ("name", "words"),
    [
        (
            "1D-scramble-Q-size-3-depth-6-type-1-batch-0-number-0.npy",
            ["not a ReCirq states file name", "--format recirq-dynamics"],
        ),
        ("shots.npy", ["not a ReCirq states file name", "Q-size-N-pauli-P.npy"]),
    ],
)
def test_recirq_states_refuses_other_names(tmp_path, capsys, name, words):
    _import(tmp_path, capsys, "recirq-states", name, words=words)


def test_recirq_states_refuses_a_foreign_partner_of_a_states_file(tmp_path, capsys):
    _import(
        tmp_path,
        capsys,
        "recirq-states",
        "Q-size-3-pauli-XYZ.npy",
        "bases.npy",
        words=["bases.npy is not a ReCirq states file name"],
    )


# ----- 4: the principal ratio's error when every shot agreed; its CLI route --------------------
def _jeffreys_numerator(k: int, far: float) -> float:
    p = 0.5 / (k + 1)
    return far**2 * p * (1 - p)


@pytest.fixture(scope="module")
def fixed_bell():
    """Bell data of (I + XY)/4: f_XY = 1 on every shot, sigma = +-1 (tr rho^2 = 1/2)."""
    return cl.collect(cl.PauliMixedState("XY", alpha=1.0), "bell", copies=400, seed=5)


def test_principal_ratio_error_is_not_zero_when_every_shot_agreed(fixed_bell):
    spec = fixed_bell.spec
    sigma = spec.purity_values(fixed_bell.arrays)
    assert np.all(spec.sums_values(cl.parse_paulis(["XY"], 2), fixed_bell.arrays) == 1)
    for k in (fixed_bell.shots, int(np.flatnonzero(np.cumsum(sigma) > 0)[1]) + 1):
        part = {name: a[:k] for name, a in fixed_bell.arrays.items()}
        est = cl.Dataset("bell", 2, part, fixed_bell.metadata).estimate_principal_ratio("XY")
        mx = sigma[:k].mean()
        assert est.values[0] == 1.0
        expected = np.sqrt(_jeffreys_numerator(k, 2.0) / (k * mx**2))
        assert est.stderr[0] == pytest.approx(expected, rel=1e-12), k


def test_estimate_cli_prints_the_principal_ratio_of_bell_data(fixed_bell, tmp_path, capsys):
    import json

    path = fixed_bell.save(tmp_path / "b.npz")
    assert main(["estimate", str(path), "--observables", "XY,ZZ", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    ratio = [r for r in report["results"] if r["quantity"] == "tr(Q rho Q rho)/tr(rho^2)"]
    assert len(ratio) == 1
    direct = fixed_bell.estimate_principal_ratio(["XY", "ZZ"])
    assert [e["value"] for e in ratio[0]["estimates"]] == pytest.approx(direct.values.tolist())
    assert main(["estimate", str(path), "--observables", "XY"]) == 0
    assert "tr(Q rho Q rho)/tr(rho^2)" in capsys.readouterr().out


# ----- 7: partial-bell's zero-variance floor follows its value range ---------------------------
def test_partial_bell_square_floor_scales_with_its_values():
    """Pauli rest, k = 0, Q = XYZ: f_Q is 0 or +-27 (docs/theory.md §20.2); 12 shots of
    seed 0 all miss, so the sample variance is 0 and the floor is 27 sqrt(p (1 - p) / N)."""
    state = cl.PauliMixedState("XYZ", alpha=0.5)
    options = {"memory_qubits": 0, "rest": "pauli"}
    data = cl.collect(state, "partial-bell", copies=24, seed=0, backend="stim", options=options)
    f = data.spec.sums_values(cl.parse_paulis(["XYZ"], 3), data.arrays)
    assert data.shots == 12 and np.all(f == 0)
    est = data.estimate_square("XYZ")
    expected = np.sqrt(_jeffreys_numerator(12, 27.0) / 12)
    assert est.values[0] == 0.0 and est.stderr[0] == pytest.approx(expected, rel=1e-12)
    # Bell data keep the +-1 floor: every shot of (I + XY)/4 gives f_XY = 1.
    bell = cl.collect(cl.PauliMixedState("XY", alpha=1.0), "bell", copies=40, seed=5)
    sq = bell.estimate_square("XY")
    assert sq.stderr[0] == pytest.approx(np.sqrt(_jeffreys_numerator(20, 2.0) / 20), rel=1e-12)


# ----- 9: the side figures' N* error bars come from one helper --------------------------------
@pytest.mark.parametrize(
    ("module", "figure", "store"),
    [
        ("qpca_plot", "noise_fraction_figure", "qpca_noise_fraction"),
        ("query_plot", "predictions_figure", "predictions_vs_copies"),
    ],
)
def test_side_figures_draw_n_star_through_the_shared_helper(monkeypatch, module, figure, store):
    import importlib

    import matplotlib

    matplotlib.use("Agg")
    from copylearn import plotting

    mod = importlib.import_module(f"copylearn.{module}")
    calls = []

    def recording(ax, x, y, ci, **style):
        calls.append(style)
        return plotting.n_star_errorbar(ax, x, y, ci, **style)

    monkeypatch.setattr(mod, "n_star_errorbar", recording)
    rows = plotting._read_rows(Path(__file__).resolve().parent.parent / "figures" / store)
    getattr(mod, figure)(rows)
    assert calls and all(set(c) == {"marker", "colour", "label"} for c in calls)


# ----- 5: principal-component refuses the degenerate n = 2 -----------------------------------
def test_principal_component_refuses_n_2_in_one_line(tmp_path, capsys):
    config = tmp_path / "qpca.toml"
    config.write_text(
        '[sweep]\ntask = "principal-component"\nseed = 1\nstrategies = ["bell"]\n'
        "[grid]\nn = [2, 3]\n"
    )
    assert main(["sweep", str(config), "--out", str(tmp_path / "out")]) == 2
    _one_line(capsys, "grid.n", "n = 2", "n >= 3", "§19.1")
    assert not (tmp_path / "out").exists()


# ----- 8: the memory check counts every worker process ----------------------------------------
_BIG = '[sweep]\ntask = "pauli-prediction"\nseed = 1\nstrategies = ["bell"]\n[grid]\nn = 12\n'
_BIG += 'queries = "all"\n'  # about 51 GiB per point (tests/test_sweep_hardening.py)


def test_check_runnable_multiplies_by_the_workers():
    from copylearn.sweep import check_runnable, parse_config, point_memory

    config = parse_config(_BIG)
    each = sum(point_memory(config.points()[0]).values()) + (256 << 20)
    check_runnable(config, memory=64 << 30)  # one process fits
    with pytest.raises(CopylearnError) as info:
        check_runnable(config, memory=64 << 30, workers=2)
    text = str(info.value)
    assert f"2 worker processes need about {2 * each / 2**30:.1f} GiB" in text, text
    assert f"{each / 2**30:.1f} GiB each" in text and "--workers K, K < 2" in text
    assert "\n" not in text


def test_sweep_cli_refuses_workers_that_do_not_fit(tmp_path, capsys, monkeypatch):
    """A small point on a machine whose free memory holds one process's estimate, not two."""
    from copylearn import sweep

    text = (
        '[sweep]\ntask = "pauli-prediction"\nseed = 1\nstrategies = ["bell"]\n[grid]\nn = 2\n'
        "trials = 40\nmax_copies = 2000\n"
    )
    point = sweep.parse_config(text).points()[0]
    each = sum(sweep.point_memory(point).values()) + (256 << 20)
    monkeypatch.setattr(sweep, "available_memory", lambda: int(1.5 * each))
    config = tmp_path / "small.toml"
    config.write_text(text)
    out = tmp_path / "out"
    assert main(["sweep", str(config), "--out", str(out), "--workers", "2", "--quiet"]) == 2
    _one_line(capsys, "2 worker processes", "fewer workers")
    assert not out.exists()


# ----- 10: recirq judge takes a calibrated collision threshold for noisy C files ---------------
def test_recirq_judge_takes_a_calibrated_collision_threshold(tmp_path, capsys):
    """Depolarizing 0.05 at n = 3 shrinks a scrambling U's D-hat below the noiseless
    1/(2(d + 1)); the midpoint of held-out classes' means (seeds 10-12, never the judged files'
    40, 41) separates them again, as the task's noisy rule does (docs/theory.md §18.3)."""
    from copylearn.collect import collect
    from copylearn.processes import sample_process
    from copylearn.recirq import export_dataset
    from copylearn.tasks.time_reversal import collision_threshold, d_hat

    def noisy(family, seed):
        process = sample_process(family, 3, np.random.default_rng(seed))
        return collect(process, "conventional-y", copies=400, noise="depolarizing:0.05", seed=seed)

    means = [
        np.mean([d_hat(noisy(family, seed).arrays["bits"], 3) for seed in range(10, 13)])
        for family in ("tsym", "scrambling")
    ]
    tau = 0.5 * (means[0] + means[1])
    assert means[1] < collision_threshold(3)  # the noiseless threshold cannot apply
    files = [
        str(export_dataset(noisy(f, s), tmp_path)) for f, s in (("tsym", 40), ("scrambling", 41))
    ]
    assert main(["recirq", "judge", *files]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].endswith("symmetric (rule collisions, tau=0.0555556, noiseless data)"), lines
    assert main(["recirq", "judge", *files, "--collision-tau", str(tau)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{files[0]}: symmetric (rule collisions, tau={tau:.6g}, calib")
    assert lines[1].startswith(f"{files[1]}: scrambling (rule collisions, tau={tau:.6g}, calib")
    assert main(["recirq", "judge", files[0], "--collision-tau", "nan"]) == 2
    _one_line(capsys, "--collision-tau nan", "[-1, 1]")


# ----- 3: every --out creates missing parent directories, as the README says ------------------
def test_every_output_path_creates_missing_parents(tmp_path, capsys):
    """collect, import, export (three layouts) and summary --csv, each into ``new/<command>/``
    under a directory that does not exist yet (sweep and plot: the next test)."""
    root = tmp_path / "new"
    shadow, tq = root / "collect" / "s.npz", root / "collect2" / "q.npz"
    common = ["--copies", "40", "--seed", "1"]
    assert main(["collect", "--state", "pauli:XY", "--protocol", "pauli-shadow", *common,
                 "--out", str(shadow)]) == 0  # fmt: skip
    assert main(["collect", "--process", "tsym:n=2,seed=1", "--protocol", "two-query-bell",
                 *common, "--out", str(tq)]) == 0  # fmt: skip
    pl = root / "export" / "p.npz"
    assert main(["export", "--format", "pennylane", str(shadow), "--out", str(pl)]) == 0
    back = root / "import" / "b.npz"
    assert main(["import", "--format", "pennylane", str(pl), "--out", str(back)]) == 0
    rs = ["export", "--format", "recirq-states", str(shadow), "--pauli", "XY"]
    assert main([*rs, "--out", str(root / "states" / "d")]) == 0
    dyn = ["export", "--format", "recirq-dynamics", str(tq), "--out", str(root / "dyn" / "d")]
    assert main(dyn) == 0
    store = Path(__file__).resolve().parent.parent / "figures" / "qpca_noise_fraction"
    csv = root / "summary" / "t.csv"
    assert main(["summary", str(store), "--csv", str(csv)]) == 0
    capsys.readouterr()
    for path in (shadow, tq, pl, back, csv):
        assert path.is_file(), path
    for folder in ("states/d", "dyn/d"):
        assert any((root / folder).iterdir()), folder


def test_sweep_and_plot_create_missing_parents(tmp_path, capsys):
    config = tmp_path / "tiny.toml"
    config.write_text(
        '[sweep]\ntask = "pauli-prediction"\nseed = 1\nstrategies = ["bell"]\n[grid]\nn = 2\n'
        "trials = 40\nmax_copies = 200\n"
    )
    store = tmp_path / "new" / "sweep" / "store"
    assert main(["sweep", str(config), "--out", str(store), "--workers", "0", "--quiet"]) == 0
    figures = tmp_path / "new" / "plot" / "figs"
    assert main(["plot", str(store), "--out", str(figures)]) == 0
    capsys.readouterr()
    assert (store / "results.jsonl").is_file() and any(figures.iterdir())
