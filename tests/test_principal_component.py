"""Quantum PCA task ``principal-component`` (docs/theory.md §19) against exact density matrices.

Truth: the state's density matrix by NumPy Kraus evolution (``density_matrix``) and, for the
per-shot noise branches, Cirq's density-matrix simulator over every flip setting (tests only).
Statistical checks: fixed seeds, 5 standard errors of the estimator under test.
"""

from __future__ import annotations

import itertools
import json

import cirq
import numpy as np
import pytest

import copylearn as cl
from copylearn.cli import main
from copylearn.complexity import run_point
from copylearn.errors import CopylearnError
from copylearn.pauli import parse_paulis
from copylearn.states import pauli_matrix
from copylearn.sweep import parse_config
from copylearn.tasks import ParameterError, get_task
from copylearn.tasks.principal_component import (
    RATIO,
    Instance,
    PrincipalComponentState,
    RatioLearner,
    ThresholdLearner,
    principal_circuit,
)

Z_MAX = 5.0
TASK = get_task("principal-component")


def _state(n: int, seed: int, lam: float = 0.3, noise_state: str = "white"):
    spec = {"n": n, "noise_fraction": lam, "noise_state": noise_state}
    return TASK.sample_instance(spec, np.random.default_rng(seed)).state


def _exact_ratio(rho: np.ndarray, label: str) -> tuple[float, float, float]:
    """tr(Q rho Q rho), tr(rho^2) and their ratio."""
    q = pauli_matrix(label)
    num = float(np.trace(q @ rho @ q @ rho).real)
    den = float(np.trace(rho @ rho).real)
    return num, den, num / den


# ----- the preparation ------------------------------------------------------------------------
@pytest.mark.parametrize("n", [2, 3, 4])
def test_preparation_fixes_p_to_s_and_zeroes_anticommuting_paulis(n):
    rng = np.random.default_rng(n)
    for sign in (1, -1):
        pauli = "".join(rng.choice(list("XYZ"), size=n))
        circuit = principal_circuit(pauli, sign, rng)
        psi = cirq.final_state_vector(circuit, qubit_order=cirq.LineQubit.range(n))
        assert np.vdot(psi, pauli_matrix(pauli) @ psi).real == pytest.approx(sign, abs=1e-6)
        anticommuting = 0
        for letters in itertools.product("IXYZ", repeat=n):
            q = "".join(letters)
            differ = sum(a != "I" and a != b for a, b in zip(q, pauli, strict=True))
            if differ % 2:
                anticommuting += 1
                assert abs(np.vdot(psi, pauli_matrix(q) @ psi)) < 1e-6, q
        assert anticommuting == 4**n // 2


@pytest.mark.parametrize("noise_state", ["white", "structured", "101"])
def test_flip_branches_average_to_the_noisy_state(noise_state):
    """The circuit, averaged over its per-shot flips, prepares (1-lambda)psi + lambda sigma:
    every flip setting simulated exactly (Cirq's density-matrix simulator), weighted by its
    probability, against density_matrix() (NumPy Kraus evolution)."""
    n, lam = 3, 0.3
    state = _state(n, 7, lam, noise_state)
    qubits = cirq.LineQubit.range(n)
    circuit = state.prep_circuit(qubits)
    sim = cirq.DensityMatrixSimulator()
    weights = {(0,) * n: 1 - lam}
    noise = [state.flips] if state.flips is not None else itertools.product((0, 1), repeat=n)
    noise = list(noise)
    for bits in noise:
        weights[tuple(bits)] = weights.get(tuple(bits), 0.0) + lam / len(noise)
    settings = list(weights.items())
    rho = np.zeros((2**n, 2**n), dtype=complex)
    for bits, weight in settings:
        resolver = {name: b for name, b in zip(state.parameter_names, bits, strict=True)}
        result = sim.simulate(circuit, param_resolver=resolver, qubit_order=qubits)
        rho += weight * result.final_density_matrix
    np.testing.assert_allclose(rho, state.density_matrix(), atol=1e-5)
    # The parameter draws follow the branch probabilities.
    values = state.sample_parameters(np.random.default_rng(1), 20_000)
    noisy = values.any(axis=1).mean()
    expected = lam * (1 - 2.0**-n) if state.flips is None else lam
    assert abs(noisy - expected) < Z_MAX * np.sqrt(expected * (1 - expected) / 20_000)


# ----- Bell data: E[f sigma], E[sigma] and the ratio --------------------------------------------
@pytest.mark.parametrize(
    ("n", "noise_state", "seed"), [(2, "white", 1), (3, "white", 2), (3, "structured", 3)]
)
def test_bell_moments_and_ratio_match_exact_values(n, noise_state, seed):
    state = _state(n, seed, 0.3, noise_state)
    rho = state.density_matrix()
    data = cl.collect(state, protocol="bell", copies=60_000, seed=seed)
    rng = np.random.default_rng(seed)
    others = ["".join(rng.choice(list("XYZ"), size=n)) for _ in range(4)]
    labels = [state.pauli, *others]
    spec = data.spec
    sigma = spec.purity_values(data.arrays)
    f = spec.sums_values(parse_paulis(labels, n), data.arrays)
    k = len(sigma)
    purity = float(np.trace(rho @ rho).real)
    assert abs(sigma.mean() - purity) < Z_MAX * sigma.std(ddof=1) / np.sqrt(k)
    ratio = data.estimate_principal_ratio(labels)
    for j, label in enumerate(labels):
        num, _, exact = _exact_ratio(rho, label)
        y = f[:, j] * sigma
        assert abs(y.mean() - num) < Z_MAX * y.std(ddof=1) / np.sqrt(k), label
        assert abs(ratio.values[j] - exact) < Z_MAX * ratio.stderr[j], label
    assert ratio.values[0] == pytest.approx(1.0, abs=Z_MAX * ratio.stderr[0])


def test_ratio_standard_error_matches_the_spread_over_repetitions():
    """The delta-method error against the spread of 40 independent ratio estimates."""
    state = _state(3, 5)
    data = cl.collect(state, protocol="bell", copies=40 * 400, seed=11)
    labels = [state.pauli, "XYZ"]
    values, errors = [], []
    for r in range(40):
        part = {k: a[r * 200 : (r + 1) * 200] for k, a in data.arrays.items()}
        est = cl.Dataset("bell", 3, part, data.metadata).estimate_principal_ratio(labels)
        values.append(est.values)
        errors.append(est.stderr)
    spread = np.std(values, axis=0, ddof=1)
    typical = np.median(errors, axis=0)
    # The spread of 40 draws has relative standard error 1/sqrt(78) ~ 0.11.
    np.testing.assert_array_less(np.abs(spread / typical - 1), Z_MAX * 0.12)


def test_ratio_under_storage_noise_matches_the_exact_noisy_state():
    """A noise model (storage depolarizing, docs/theory.md §8.2) on both copies."""
    n, p = 3, 0.05
    state = _state(n, 9)
    data = cl.collect(
        state, protocol="bell", copies=60_000, noise=f"state_depolarizing:{p}", seed=4
    )
    rho = state.density_matrix()
    f = 1 - 4 * p / 3
    for i in range(n):  # depolarize qubit i: rho -> f rho + (1 - f) tr_i(rho) (x) I/2
        t = rho.reshape((2,) * (2 * n))
        reduced = np.trace(t, axis1=i, axis2=n + i)
        mixed = np.expand_dims(np.expand_dims(reduced, i), n + i) * (np.eye(2) / 2).reshape(
            [2 if a in (i, n + i) else 1 for a in range(2 * n)]
        )
        rho = (f * t + (1 - f) * mixed).reshape(2**n, 2**n)
    labels = [state.pauli, "ZZZ", "XYX"]
    est = data.estimate_principal_ratio(labels)
    for j, label in enumerate(labels):
        assert abs(est.values[j] - _exact_ratio(rho, label)[2]) < Z_MAX * est.stderr[j], label
    # The noise acts (a cold ratio moves by many standard errors), while R_P stays exactly 1:
    # a Pauli channel commutes with conjugation by P (docs/theory.md §19.3).
    clean = _exact_ratio(state.density_matrix(), "ZZZ")[2]
    assert abs(_exact_ratio(rho, "ZZZ")[2] - clean) > Z_MAX * est.stderr[1]
    assert _exact_ratio(rho, state.pauli)[2] == pytest.approx(1.0, abs=1e-9)


def test_ratio_is_refused_for_single_copy_data_in_one_line():
    state = _state(3, 1)
    data = cl.collect(state, protocol="pauli-shadow", copies=200, seed=1)
    with pytest.raises(CopylearnError) as info:
        data.estimate_principal_ratio([state.pauli])
    text = str(info.value)
    assert "'pauli-shadow' does not support tr(Q rho Q rho)/tr(rho^2)" in text
    assert "\n" not in text and "protocol='bell'" in text


# ----- the learners' rules on hand-made data ------------------------------------------------------
class _FakeBell:
    def __init__(self, f, sigma):
        self.f, self.sigma = np.asarray(f, float), np.asarray(sigma, float)

    def purity_values(self, data):
        return self.sigma

    def sums_values(self, paulis, data):
        return self.f[:, None]

    def supports(self, estimator):
        return estimator == RATIO


def _instance(hot: bool) -> Instance:
    return Instance(_state(3, 1), parse_paulis(["XXX"], 3), hot)


def test_ratio_rule_calls_hot_above_one_half_and_cold_without_purity_signal():
    # sigma sums -1, 0, 1, 2, 3; f sigma sums 1, 0, 1, 2, 1: no signal, no signal, 1, 1, 1/3
    fake = _FakeBell(f=[-1, -1, 1, 1, -1], sigma=[-1, 1, 1, 1, 1])
    ends = np.arange(1, 6)
    hot = RatioLearner(fake, _instance(True)).judge({}, ends, None)
    np.testing.assert_array_equal(hot, [False, False, True, True, False])
    cold = RatioLearner(fake, _instance(False)).judge({}, ends, None)
    np.testing.assert_array_equal(cold, [True, True, False, False, True])


def test_threshold_rule_uses_one_minus_lambda_over_two():
    class Shadow:
        def sums(self, paulis, data, ends):
            values = np.array([0.5, 0.2, 0.2, -0.2])
            return np.cumsum(values)[np.asarray(ends) - 1][:, None], None

    learner = ThresholdLearner(Shadow(), _instance(True), noise_fraction=0.4)  # threshold 0.3
    np.testing.assert_array_equal(
        learner.judge({}, np.array([1, 2, 3, 4]), np.array([1, 2, 3, 4])),
        [True, True, False, False],  # means 0.5, 0.35, 0.3, 0.175
    )


# ----- the task -----------------------------------------------------------------------------------
def test_query_is_hot_half_the_time_and_cold_queries_are_other_full_weight_paulis():
    rng = np.random.default_rng(0)
    hot = 0
    for _ in range(100):
        inst = TASK.sample_instance({"n": 3}, rng)
        label = inst.query.labels[0]
        assert set(label) <= set("XYZ")
        assert (label == inst.state.pauli) == inst.hot
        hot += inst.hot
    assert abs(hot - 50) < Z_MAX * np.sqrt(25)


def _search_spec(**extra) -> dict:
    spec = {
        "task": "principal-component",
        "strategy": "bell",
        "n": 3,
        "noise_fraction": 0.3,
        "noise_state": "white",
        "preparation": "brickwork",
        "depth": "2n",
        "noise": "none",
        "target": 0.6,
        "trials": 20,
        "max_copies": 512,
        "backend": "qsim",
    }
    return spec | extra


@pytest.mark.slow  # the committed-row test below runs a search by default
def test_search_with_the_ratio_learner_reaches_its_target():
    result = run_point(_search_spec(), np.random.SeedSequence(2))
    assert result["reached"] and result["n_star"] > 0 and result["copies_per_experiment"] == 2


@pytest.mark.slow
def test_search_runs_under_a_noise_model():
    """Gate noise: the noisy two-copy circuits run on Cirq's density-matrix simulator."""
    spec = _search_spec(noise="depolarizing:0.005", noise_fraction=0.2)
    result = run_point(spec, np.random.SeedSequence(2))
    assert result["reached"] and result["n_star"] > 0


def test_registered_and_listed(capsys):
    assert main(["list", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    tasks = {t["name"]: t for t in listing["tasks"]}
    assert tasks["principal-component"]["protocols"] == ["bell", "clifford-shadow", "pauli-shadow"]
    assert RATIO in cl.protocols.get_protocol("bell").estimators


@pytest.mark.parametrize(
    ("key", "value", "needle"),
    [
        ("noise_fraction", 0.5, "outside [0, 0.5)"),
        ("noise_fraction", -0.1, "outside [0, 0.5)"),
        ("noise_fraction", "0.3", "is not a number"),
        ("noise_state", "pink", "is not a noise state"),
        ("noise_state", "000", "is not a noise state"),
    ],
)
def test_bad_parameters_are_refused_in_one_line(key, value, needle):
    with pytest.raises(ParameterError) as info:
        TASK.parameter(key).validate(value)
    assert str(info.value).startswith(f"{key}: ") and needle in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("grid", "needle"),
    [
        ('n = 3\nnoise_state = "01"', "grid.noise_state"),
        ("n = 1", "grid.n"),
        ('n = 3\nnoise_state = "2x"', "grid.noise_state"),
        ('n = 3\ndevice = "weber"\npreparation = "haar"', "grid.preparation"),  # dense gate
    ],
)
def test_bad_specs_are_refused_naming_the_key(grid, needle):
    text = (
        f'[sweep]\ntask = "principal-component"\nseed = 1\nstrategies = ["bell"]\n[grid]\n{grid}\n'
    )
    with pytest.raises(CopylearnError) as info:
        parse_config(text)
    assert needle in str(info.value) and "\n" not in str(info.value)


def test_cli_refuses_lambda_out_of_range_with_exit_2(tmp_path, capsys):
    config = tmp_path / "qpca.toml"
    config.write_text(
        '[sweep]\ntask = "principal-component"\nseed = 1\nstrategies = ["bell"]\n'
        "[grid]\nn = 3\nnoise_fraction = 0.5\n"
    )
    assert main(["sweep", str(config), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("copylearn: error: ") and "noise_fraction" in err
    assert "\n" not in err and not (tmp_path / "out").exists()


def test_state_refuses_a_noise_input_that_is_not_a_state():
    circuit = principal_circuit("XYZ", 1, np.random.default_rng(0))
    with pytest.raises(CopylearnError, match="not a noise input"):
        PrincipalComponentState(circuit, noise_fraction=0.2, flips=(0, 0, 0))
    with pytest.raises(CopylearnError, match="outside"):
        PrincipalComponentState(circuit, noise_fraction=0.7)


# ----- the committed store ------------------------------------------------------------------------
PROVENANCE = ("seconds", "versions", "config_hash", "copylearn")


def _recomputed(store_name: str, pick, tmp_path):
    """A committed row of ``figures/<store_name>`` (the one ``pick(spec)`` selects) and the
    same point recomputed from its spec and the store's seed."""
    from pathlib import Path

    from committed_rows import recompute_row

    from copylearn.sweep import load_config

    store = Path(__file__).resolve().parents[1] / "figures" / store_name
    config = load_config(store / "config.toml")
    rows = [json.loads(line) for line in (store / "results.jsonl").read_text().splitlines()]
    (row,) = [r for r in rows if pick(r["spec"])]
    return row, recompute_row(row, config.seed, tmp_path / "p")


def test_committed_noise_fraction_store_reproduces_its_cheapest_row(tmp_path):
    """figures/qpca_noise_fraction: the Bell n = 5, lambda = 0 row, recomputed bit for bit."""
    row, computed = _recomputed(
        "qpca_noise_fraction",
        lambda spec: spec["noise_fraction"] == 0.0 and spec["strategy"] == "bell",
        tmp_path,
    )
    assert computed["id"] == row["id"]
    fresh = {k: v for k, v in computed.items() if k not in PROVENANCE}
    assert fresh == {k: v for k, v in row.items() if k not in PROVENANCE}


@pytest.mark.slow
def test_committed_single_copy_row_reproduces_on_the_global_stage_path(tmp_path):
    """figures/qpca_separation: the Clifford-shadow n = 6 row (stream 3, global-stage path,
    about a minute), recomputed bit for bit."""
    row, computed = _recomputed(
        "qpca_separation",
        lambda spec: spec["strategy"] == "clifford-shadow" and spec["n"] == 6,
        tmp_path,
    )
    assert row["stream"] == 3 and computed["id"] == row["id"]
    fresh = {k: v for k, v in computed.items() if k not in PROVENANCE}
    assert fresh == {k: v for k, v in row.items() if k not in PROVENANCE}


@pytest.mark.parametrize("n", [3, 4, 6])
def test_nearest_neighbour_parity_is_the_same_preparation(n):
    """For a device: CNOTs between line neighbours only, and the same unitary U (so the same
    psi) as the parity fan-in onto the last qubit, from the same random draws."""
    fan = principal_circuit("XYZZYX"[:n], -1, np.random.default_rng(n))
    line = principal_circuit("XYZZYX"[:n], -1, np.random.default_rng(n), nearest_neighbour=True)
    assert any(
        len(op.qubits) == 2 and abs(op.qubits[0].x - op.qubits[1].x) > 1
        for op in fan.all_operations()
    )
    assert all(
        abs(op.qubits[0].x - op.qubits[1].x) == 1
        for op in line.all_operations()
        if len(op.qubits) == 2
    )
    qubits = cirq.LineQubit.range(n)
    np.testing.assert_allclose(
        line.unitary(qubit_order=qubits), fan.unitary(qubit_order=qubits), atol=1e-10
    )


def test_bell_data_on_a_simulated_device():
    """A device-ready state (spec with a device) collects Bell data on weber: both copies'
    preparations placed on a ladder of couplers, compiled, with calibrated noise."""
    pytest.importorskip("cirq_google")
    spec = {"n": 3, "noise_fraction": 0.2, "noise_state": "white", "device": "weber"}
    state = TASK.sample_instance(spec, np.random.default_rng(1)).state
    data = cl.collect(state, protocol="bell", copies=40, device="weber", seed=2)
    assert data.metadata["device"]["device"] == "weber" and data.copies == 40


@pytest.mark.slow  # ~75 s: every trial's circuit compiled for the device
def test_bell_point_runs_on_a_simulated_device():
    """A principal-component Bell point on weber (ladder placement, calibrated noise)."""
    pytest.importorskip("cirq_google")
    spec = _search_spec(noise="none", noise_fraction=0.2)
    spec.update(device="weber", trials=12, target=0.7, max_copies=600)
    TASK.check_spec(spec)
    row = run_point(spec, np.random.SeedSequence(3))  # raised "not coupled" before
    assert row["copies_per_experiment"] == 2 and row["curve"]["trials"] == 12
