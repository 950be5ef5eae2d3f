"""Clifford shadows in sweeps: protocol options, the ``backend`` grid key, grouped shots,
the clifford-shadow batch rule and overlays of the Pauli-prediction task, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from committed_rows import recompute_row
from scipy import stats

import copylearn as cl
from copylearn.cli import main
from copylearn.errors import CopylearnError
from copylearn.parameters import ParameterError
from copylearn.protocols import get_protocol
from copylearn.sweep import parse_config, point_id, run_sweep
from copylearn.tasks import get_task

PROVENANCE = {"seconds", "versions", "format", "sweep_seed", "config_hash", "copylearn"}
ALPHA_TEST = 1e-3  # fixed significance level of the chi-square checks

CONFIG = """
[sweep]
task = "pauli-prediction"
seed = 11
strategies = ["bell", "clifford-shadow"]
[grid]
n = [1]
alpha = 0.9
queries = 3
trials = 40
target = 0.8
"""


# ----- protocol options ------------------------------------------------------------------------
def test_default_options_give_the_same_data_and_are_recorded():
    state = cl.PauliMixedState("XZ", alpha=0.9)
    plain = cl.collect(state, "clifford-shadow", 64, backend="stim", seed=5)
    same = cl.collect(
        state, "clifford-shadow", 64, backend="stim", seed=5, options={"shots_per_unitary": 1}
    )
    assert plain.metadata["protocol_options"] == {"shots_per_unitary": 1}
    assert all(np.array_equal(plain.arrays[k], same.arrays[k]) for k in plain.arrays)
    grouped = cl.collect(
        state, "clifford-shadow", 64, backend="stim", seed=5, options={"shots_per_unitary": 4}
    )
    assert grouped.metadata["protocol_options"] == {"shots_per_unitary": 4}
    assert grouped.spec.shots_per_unitary == 4
    # R shots share one tableau
    tab = grouped.arrays["tableau_x"].reshape(16, 4, -1)
    assert np.all(tab == tab[:, :1])
    assert "protocol_options" not in cl.collect(state, "pauli-shadow", 8, seed=1).metadata


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"shots_per_unitary": 0}, ("shots_per_unitary", "positive integer")),
        ({"shots_per_unitary": -2}, ("shots_per_unitary", "positive integer")),
        ({"shots": 4}, ("shots:", "no such option", "shots_per_unitary")),
    ],
)
def test_bad_options_are_one_line_naming_the_key(options, words):
    with pytest.raises(ParameterError) as info:
        cl.collect(cl.PauliMixedState("XZ"), "clifford-shadow", 8, backend="stim", options=options)
    text = str(info.value)
    assert "\n" not in text and all(w in text for w in words)


def test_a_protocol_without_parameters_refuses_options():
    with pytest.raises(ParameterError, match="it takes no options"):
        cl.collect(cl.PauliMixedState("XZ"), "bell", 8, options={"shots_per_unitary": 2})


def test_cli_option_bad_value_exits_2_in_one_line(tmp_path, capsys):
    for option in ("shots_per_unitary=0", "shots_per_unitary", "=3"):
        code = main(
            [
                "collect",
                "--state",
                "pauli:XZ",
                "--protocol",
                "clifford-shadow",
                "--copies",
                "8",
                "--backend",
                "stim",
                "--option",
                option,
                "--out",
                str(tmp_path / "d.npz"),
            ]
        )
        err = capsys.readouterr().err
        assert code == 2 and err.startswith("copylearn: error:") and err.count("\n") == 1
    assert not (tmp_path / "d.npz").exists()


def test_cli_option_is_recorded(tmp_path, capsys):
    out = tmp_path / "d.npz"
    args = ["collect", "--state", "pauli:XZ", "--protocol", "clifford-shadow", "--copies", "8"]
    argv = [*args, "--backend", "stim", "--option", "shots_per_unitary=2", "--out", str(out)]
    assert main(argv) == 0
    capsys.readouterr()
    assert cl.load(out).metadata["protocol_options"] == {"shots_per_unitary": 2}


# ----- grouped shots: honest errors against exact truth ------------------------------------------
def test_grouped_standard_error_is_calibrated_against_exact_truth():
    """z = (estimate - tr(Q rho)) / stderr over 24 independent datasets with R = 8 shots per
    Clifford: sum z^2 is chi-square(24) per observable when the group-level error is right
    (a per-shot error ignoring the groups is too small and fails)."""
    state = cl.PauliMixedState("XZ", alpha=0.9, sign=-1)
    observables = ["XZ", "ZZ", "YI"]
    truth = np.array([-0.9, 0.0, 0.0])  # tr(Q rho) = alpha s [Q = P]
    zs = []
    for seed in range(24):
        data = cl.collect(
            state,
            "clifford-shadow",
            240,
            backend="stim",
            seed=seed,
            options={"shots_per_unitary": 8},
        )
        est = data.estimate(observables)
        assert est.method == "mean over 30 groups"
        zs.append((est.values - truth) / est.stderr)
    zs = np.array(zs)
    assert np.all(np.abs(zs) < 5.0)
    chi2 = (zs**2).sum(axis=0)
    p = stats.chi2.sf(chi2, df=len(zs))
    p_low = stats.chi2.cdf(chi2, df=len(zs))
    assert np.all(p > ALPHA_TEST) and np.all(p_low > ALPHA_TEST), (chi2, p, p_low)


def test_grouped_data_refuse_estimators_that_assume_independence():
    data = cl.collect(
        cl.PauliMixedState("XZ"), "clifford-shadow", 64, backend="stim", seed=1,
        options={"shots_per_unitary": 4},
    )  # fmt: skip
    for call in (
        lambda: data.estimate_square("XZ"),
        lambda: data.estimate("XZ", median_of_means=2),
    ):
        with pytest.raises(CopylearnError, match="assumes independent shots") as info:
            call()
        assert "\n" not in str(info.value)
    # |tr(Q rho)| of shadow data is the magnitude of the signed mean: group-level error too
    assert data.estimate_abs("XZ").method.startswith("abs of")


def test_clifford_median_of_means_batch_rule():
    spec = get_protocol("clifford-shadow")
    assert spec.min_batch_shots(1, 3) == 90 and spec.min_batch_shots(3, 3) == 90
    data = cl.collect(cl.PauliMixedState("XZ"), "clifford-shadow", 200, backend="stim", seed=2)
    with pytest.raises(CopylearnError, match=r"10\*\(2\^2 \+ 1\) = 50") as info:
        data.estimate("XZ", median_of_means=5)
    assert "median_of_means <= 4" in str(info.value)
    assert data.estimate("XZ", median_of_means=4).method == "median of 4 means"


def test_clifford_shadow_beyond_its_size_is_one_line():
    with pytest.raises(CopylearnError, match="at most 64 qubits") as info:
        cl.collect(cl.PauliMixedState("Z" * 65), "clifford-shadow", 2, backend="stim")
    assert "\n" not in str(info.value)


# ----- sweeps: backend key, protocol options, overlays --------------------------------------
def test_backend_key_is_optional_and_validated():
    base = parse_config(CONFIG)
    assert all("backend" not in s for s in base.points())
    text = CONFIG + '[strategy.clifford-shadow]\nbackend = "stim"\nshots_per_unitary = 2\n'
    specs = parse_config(text).points()
    bell = [s for s in specs if s["strategy"] == "bell"]
    cliff = [s for s in specs if s["strategy"] == "clifford-shadow"]
    assert bell == [s for s in base.points() if s["strategy"] == "bell"]
    assert cliff[0]["backend"] == "stim" and cliff[0]["shots_per_unitary"] == 2
    at_default = CONFIG + "[strategy.clifford-shadow]\nshots_per_unitary = 1\nbackend = 'qsim'\n"
    assert {point_id(s) for s in parse_config(at_default).points()} == {
        point_id(s) for s in base.points()
    }
    for bad, words in (
        ("backend = 'gpu'", ("strategy.clifford-shadow.backend", "'qsim', 'exact'")),
        ("shots_per_unitary = 0", ("strategy.clifford-shadow.shots_per_unitary", "positive")),
        ("shots = 2", ("strategy.clifford-shadow.shots", "unknown key", "shots_per_unitary")),
    ):
        with pytest.raises(CopylearnError) as info:
            parse_config(CONFIG + f"[strategy.clifford-shadow]\n{bad}\n")
        assert "\n" not in str(info.value) and all(w in str(info.value) for w in words)


def test_cli_sweep_bad_shots_per_unitary_exits_2(tmp_path, capsys):
    config = tmp_path / "c.toml"
    config.write_text(CONFIG + "[strategy.clifford-shadow]\nshots_per_unitary = -1\n")
    assert main(["sweep", str(config), "--out", str(tmp_path / "out"), "--workers", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "shots_per_unitary" in err
    assert not (tmp_path / "out").exists()


def test_clifford_sweep_on_stim_is_bit_identical_for_any_worker_count(tmp_path):
    text = CONFIG.replace('"bell", ', "") + '[strategy.clifford-shadow]\nbackend = "stim"\n'
    config = parse_config(text)
    one = run_sweep(config, tmp_path / "w0", workers=0, progress=False)
    two = run_sweep(config, tmp_path / "w2", workers=2, progress=False)

    def results(rows):
        return sorted(
            json.dumps({k: v for k, v in r.items() if k not in PROVENANCE}, sort_keys=True)
            for r in rows
        )

    assert results(one) == results(two)
    assert all(r["spec"]["backend"] == "stim" and r["reached"] for r in one)


def test_pauli_prediction_overlays_ask_the_protocol():
    task = get_task("pauli-prediction")
    group = {"noise": "none", "weight": "full", "alpha": 0.9, "target": 0.9}
    cliff = task.overlays(get_protocol("clifford-shadow"), group)
    pauli = task.overlays(get_protocol("pauli-shadow"), group)
    assert {"kind": "exponential", "base": 2.0, "label": "Clifford shadows"} in cliff
    assert {"kind": "exponential", "base": 3.0, "label": "shadows"} in pauli
    assert {"kind": "single-copy-lower-bound"} in cliff
    assert not any(o.get("base") == 3.0 for o in cliff)
    # 3^n holds for a full-weight hidden P only; 2^n for any P
    uniform = {**group, "weight": "uniform"}
    assert not any(
        o["kind"] == "exponential" for o in task.overlays(get_protocol("pauli-shadow"), uniform)
    )
    assert any(
        o["kind"] == "exponential" for o in task.overlays(get_protocol("clifford-shadow"), uniform)
    )


@pytest.mark.slow
def test_committed_clifford_row_is_reproduced(tmp_path):
    """The n = 1 clifford-shadow row of figures/pauli_separation, recomputed on stim."""
    from pathlib import Path

    store = Path(__file__).parent.parent / "figures" / "pauli_separation" / "results.jsonl"
    rows = [json.loads(line) for line in store.read_text().splitlines()]
    (row,) = [r for r in rows if r["spec"]["strategy"] == "clifford-shadow" and r["spec"]["n"] == 1]
    computed = recompute_row(row, 2022, tmp_path / "out")
    assert computed["id"] == row["id"]
    assert {k: v for k, v in computed.items() if k not in PROVENANCE} == {
        k: v for k, v in row.items() if k not in PROVENANCE
    }
