"""Storage noise, the damping law of docs/theory.md §8.2, and the calibrated estimators.

Statistical checks use fixed seeds and 5-standard-error thresholds; the truth is the state's
exact density matrix and the closed-form damping f^(2|Q|) (Bell) or f^|Q| (shadows).
"""

from __future__ import annotations

import itertools
import json
import math

import cirq
import numpy as np
import pytest

import copylearn as cl
from copylearn.calibration import Calibration
from copylearn.collect import prepare_collector
from copylearn.complexity import run_point
from copylearn.crossover import PREDICTED_FIDELITY, analyse, finite_n_fidelity, storage_fidelity
from copylearn.errors import CopylearnError
from copylearn.noise import STATE_NOISE_TAG, LocalNoise, parse_noise, with_state_noise
from copylearn.pauli import parse_paulis, unpack_bits
from copylearn.states import pauli_matrix

P_STORAGE = 0.15
F = 1 - 4 * P_STORAGE / 3  # per-qubit Pauli fidelity 0.8
N = 3
ALL_PAULIS = ["".join(p) for p in itertools.product("IXYZ", repeat=N)][1:]
WEIGHTS = np.array([sum(c != "I" for c in q) for q in ALL_PAULIS])
# A pure product state: many Paulis of every weight have tr(Q rho) far from 0.
STATE = cl.random_product_state(N, seed=2024)


def _truth() -> np.ndarray:
    rho = STATE.density_matrix()
    return np.array([np.trace(pauli_matrix(q) @ rho).real for q in ALL_PAULIS])


def _within(values, truth, stderr, what: str) -> None:
    z = np.abs(values - truth) / stderr
    worst = int(np.argmax(z))
    assert z.max() < 5, f"{what}: {ALL_PAULIS[worst]} off by {z[worst]:.1f} standard errors"


# ----------------------------------------------------------------------------- states, noise


@pytest.mark.parametrize("sign", [1, -1])
@pytest.mark.parametrize("label", ["XY", "ZX", "YY", "ZZ"])
def test_eigenstate_circuit_prepares_its_density_matrix(label, sign):
    state = cl.PauliEigenstate(label, sign)
    qubits = cirq.LineQubit.range(2)
    row = state.sample_parameters(np.random.default_rng(0), 3)
    assert (row == row[0]).all()
    resolver = dict(zip(state.parameter_names, row[0].tolist(), strict=True))
    circuit = cirq.resolve_parameters(state.prep_circuit(qubits), resolver)
    rho = cirq.final_density_matrix(circuit, qubit_order=qubits)
    np.testing.assert_allclose(rho, state.density_matrix(), atol=1e-6)
    for i, letter in enumerate(label):
        single = "I" * i + letter + "I" * (1 - i)
        assert np.trace(pauli_matrix(single) @ rho).real == pytest.approx(sign, abs=1e-6)


def test_random_sign_eigenstates_report_their_signs():
    state = cl.PauliEigenstate("ZZ", 0)
    collector = prepare_collector(cl.PauliMixedState("ZZ"), "pauli-shadow")
    (data,), _ = collector.sample_many(
        [state], 4000, [np.random.SeedSequence(1)], np.random.SeedSequence(2), with_values=True
    )
    values = data["values"]
    assert values.shape == (4000, len(collector.parameter_names))
    flips = values[:, [collector.parameter_names.index(f"flip{i}") for i in range(2)]]
    assert 0.45 < flips.mean() < 0.55  # uniform signs
    # Z measured in the Z basis: the outcome bit equals the flip whenever Z was measured.
    bits = data["bits"]
    measured_z = unpack_bits(data["bases_z"], 2) & (1 - unpack_bits(data["bases_x"], 2))
    outcome = unpack_bits(bits, 2)
    assert np.array_equal(outcome[measured_z == 1], flips[measured_z == 1])


@pytest.mark.parametrize("bad", [("XI", 1), ("", 1), ("XQ", 1), ("XX", 2), ("XX", True)])
def test_eigenstate_rejects_bad_input(bad):
    with pytest.raises(CopylearnError):
        cl.PauliEigenstate(*bad)


def test_storage_noise_is_one_tagged_moment_after_preparation():
    model = parse_noise("depolarizing:0.01+state_depolarizing:0.2")
    assert model == LocalNoise(depolarizing=0.01, state_depolarizing=0.2)
    assert model.spec() == "depolarizing:0.01+state_depolarizing:0.2"
    q = cirq.LineQubit.range(2)
    circuit = cirq.Circuit(cirq.H.on_each(*q), cirq.CNOT(*q), cirq.measure(*q, key="m"))
    stored = with_state_noise(circuit, 1, model)
    assert len(stored) == len(circuit) + 1
    assert all(STATE_NOISE_TAG in op.tags for op in stored[1])
    assert {op.gate for op in stored[1]} == {cirq.depolarize(0.2)}
    noisy = stored.with_noise(model)
    storage_ops = [op for op in noisy.all_operations() if op.gate == cirq.depolarize(0.2)]
    gate_noise = [op for op in noisy.all_operations() if op.gate == cirq.depolarize(0.01)]
    assert len(storage_ops) == 2
    assert len(gate_noise) == 4  # after H on both qubits and after CNOT on both, not after storage
    assert with_state_noise(circuit, 1, LocalNoise(depolarizing=0.1)) is circuit


# ----------------------------------------------------------------------------- the damping law


def test_bell_damping_matches_f_to_the_2q_and_calibration_removes_it():
    """docs/theory.md §8.2: E f_Q = f^(2|Q|) tr(Q rho)^2 under storage depolarizing."""
    truth = _truth() ** 2
    data = cl.collect(
        STATE,
        "bell",
        copies=400_000,
        noise=f"state_depolarizing:{P_STORAGE}",
        seed=1,
        calibration_copies=200_000,
    )
    raw = data.estimate_square(ALL_PAULIS)
    _within(raw.values, F ** (2 * WEIGHTS) * truth, raw.stderr, "raw Bell vs f^(2|Q|) tr^2")
    # The damping really is there: without it the raw estimates would be far off.
    heavy = (WEIGHTS == 3) & (truth > 0.2)
    assert heavy.any() and np.all(np.abs(raw.values - truth)[heavy] > 10 * raw.stderr[heavy])
    cal = data.estimate_square(ALL_PAULIS, calibrated=True)
    _within(cal.values, truth, cal.stderr, "calibrated Bell vs tr^2")
    assert cal.method == "bell mean, calibrated"
    table = data.calibration
    _within(table.damping.ravel(), np.full(3 * N, F**2), table.stderr.ravel(), "Bell d_i")


def test_shadow_damping_matches_f_to_the_q_and_calibration_removes_it():
    truth = _truth()
    data = cl.collect(
        STATE,
        "pauli-shadow",
        copies=400_000,
        noise=f"state_depolarizing:{P_STORAGE}",
        seed=2,
        calibration_copies=200_000,
    )
    raw = data.estimate(ALL_PAULIS)
    _within(raw.values, F**WEIGHTS * truth, raw.stderr, "raw shadows vs f^|Q| tr")
    cal = data.estimate(ALL_PAULIS, calibrated=True)
    _within(cal.values, truth, cal.stderr, "calibrated shadows vs tr")
    square = data.estimate_square(ALL_PAULIS, calibrated=True)
    _within(square.values, truth**2, square.stderr, "calibrated shadow U-statistic vs tr^2")
    table = data.calibration
    _within(table.damping.ravel(), np.full(3 * N, F), table.stderr.ravel(), "shadow d_i")


def test_noiseless_calibration_is_one():
    state = cl.PauliMixedState("XY", 0.9)
    bell = cl.collect(state, "bell", copies=2000, seed=3, calibration_copies=2000).calibration
    assert np.array_equal(bell.damping, np.ones((2, 3)))
    shadow = cl.collect(state, "pauli-shadow", copies=2000, seed=3, calibration_copies=4000)
    table = shadow.calibration
    assert np.all(np.abs(table.damping - 1) < 5 * table.stderr)


def test_calibration_on_a_circuit_state_uses_the_same_noise():
    data = cl.collect(
        STATE, "bell", copies=200, noise="state_depolarizing:0.3", seed=4, calibration_copies=4000
    )
    table = data.calibration
    assert table.copies == 3 * 4000
    _within(table.damping.ravel(), np.full(3 * N, 0.6**2), table.stderr.ravel(), "d_i")


# ----------------------------------------------------------------------------- the arithmetic


def _table() -> Calibration:
    damping = np.array([[0.9, 0.8, 0.7], [0.5, 0.6, 0.95]])
    return Calibration("bell", 2, 120, damping, np.full((2, 3), 0.01))


def test_factors_multiply_over_the_support_with_delta_method_errors():
    d, rel = _table().factors(parse_paulis(["XI", "IZ", "YZ", "ZX"], 2))
    np.testing.assert_allclose(d, [0.9, 0.95, 0.8 * 0.95, 0.7 * 0.5])
    np.testing.assert_allclose(
        rel,
        [
            0.01 / 0.9,
            0.01 / 0.95,
            math.hypot(0.01 / 0.8, 0.01 / 0.95),
            math.hypot(0.01 / 0.7, 0.02),
        ],
    )


def test_correct_divides_by_the_damping_to_a_power():
    paulis = parse_paulis(["YZ"], 2)
    d = 0.8 * 0.95
    rel = math.hypot(0.01 / 0.8, 0.01 / 0.95)
    value, err = _table().correct(np.array([0.3]), np.array([0.02]), paulis, power=2)
    assert value[0] == pytest.approx(0.3 / d**2)
    assert err[0] == pytest.approx(math.hypot(0.02 / d**2, value[0] * 2 * rel))


def test_even_powers_of_a_negative_damping_are_positive():
    table = Calibration("pauli-shadow", 1, 12, np.array([[-0.5, 0.8, 0.9]]), np.full((1, 3), 0.01))
    paulis = parse_paulis(["X"], 1)
    value, _ = table.correct(np.array([0.25]), np.array([0.01]), paulis, power=2)
    assert value[0] == pytest.approx(1.0)
    value, _ = table.correct(np.array([-0.5]), np.array([0.01]), paulis, power=1)
    assert value[0] == pytest.approx(1.0)
    value, _ = table.correct(np.array([0.25]), np.array([0.01]), paulis, power=0.5)
    assert np.isnan(value[0])


def test_unresolved_damping_is_refused():
    table = Calibration(
        "bell", 2, 12, np.array([[0.9, 0.02, 0.9], [0.9, 0.9, 0.9]]), np.full((2, 3), 0.01)
    )
    table.check_resolved(parse_paulis(["XZ", "ZX"], 2))  # Y on qubit 0 is not used
    with pytest.raises(CopylearnError, match="Y on qubit 0"):
        table.check_resolved(parse_paulis(["YZ"], 2))


def test_eigenstates_can_be_collected_directly():
    data = cl.collect(cl.PauliEigenstate("XZ", -1), "pauli-shadow", copies=3000, seed=8)
    assert data.metadata["state"] == "eigenstate:XZ:-1"
    assert data.metadata["state_parameters"] == {"pauli": "XZ", "sign": -1}
    est = data.estimate(["XI", "IZ", "XZ"])
    _within_simple(est, np.array([-1.0, -1.0, 1.0]))


def _within_simple(est, truth) -> None:
    assert np.all(np.abs(est.values - truth) < 5 * est.stderr + 1e-12)


def test_calibration_round_trips_and_rejects_malformed_records(tmp_path):
    table = _table()
    again = Calibration.from_dict(json.loads(json.dumps(table.to_dict())))
    assert np.array_equal(again.damping, table.damping) and again.copies == 120
    for broken in (
        {},
        {**table.to_dict(), "damping": [[1, 2]]},
        {**table.to_dict(), "stderr": [[-1, 0, 0], [0, 0, 0]]},
        {**table.to_dict(), "n": "two"},
    ):
        with pytest.raises(CopylearnError, match="calibration record"):
            Calibration.from_dict(broken)
    with pytest.raises(CopylearnError, match="n = 2"):
        table.factors(parse_paulis(["XYZ"], 3))


def test_calibrated_estimates_need_a_calibration_and_survive_save(tmp_path):
    state = cl.PauliMixedState("XY", 0.9)
    plain = cl.collect(state, "bell", copies=200, seed=5)
    with pytest.raises(CopylearnError, match="calibration_copies"):
        plain.estimate_square(["XY"], calibrated=True)
    data = cl.collect(
        state, "bell", copies=200, noise="state_depolarizing:0.1", seed=5, calibration_copies=400
    )
    loaded = cl.load(data.save(tmp_path / "d.npz"))
    assert loaded.metadata["calibration"] == data.metadata["calibration"]
    assert loaded.estimate_abs(["XY"], calibrated=True).method.endswith("calibrated")


@pytest.mark.parametrize("bad", [-2, 3, True, 1.5])
def test_calibration_copies_are_validated(bad):
    with pytest.raises(CopylearnError):
        cl.collect(cl.PauliMixedState("XY"), "bell", copies=20, seed=1, calibration_copies=bad)


# ----------------------------------------------------------------------------- the runner


def test_calibrated_decision_rule_reaches_the_target_under_storage_noise():
    spec = {
        "task": "pauli-prediction",
        "strategy": "bell",
        "n": 2,
        "alpha": 0.9,
        "weight": "full",
        "queries": 3,
        "noise": "state_depolarizing:0.3",  # f = 0.6: tr(P rho)^2 = 0.81 * 0.6^4 = 0.105
        "target": 0.9,
        "trials": 60,
        "max_copies": 20_000,
    }
    raw = run_point(spec, np.random.SeedSequence(1))
    # The raw midpoint alpha^2/2 = 0.405 sits 30 standard errors above the damped 0.105 at
    # 20,000 copies: P is never hot there, whatever the number of copies.
    assert not raw["reached"] and raw["n_star"] is None
    assert raw["curve"]["successes"][-1] == 0
    calibrated = run_point({**spec, "calibration_copies": 20_000}, np.random.SeedSequence(1))
    assert calibrated["reached"] and calibrated["n_star"] is not None
    assert calibrated["calibration"]["copies"] == 3 * 20_000
    # Naming P among all 16 Paulis: the likelihood score reaches the target too.
    named = run_point(
        {**spec, "queries": "all", "calibration_copies": 20_000}, np.random.SeedSequence(2)
    )
    assert named["reached"]


# ----------------------------------------------------------------------------- crossover


def test_storage_fidelity_reads_storage_noise_only():
    assert storage_fidelity("none") == 1.0
    assert storage_fidelity("state_depolarizing:0.3") == pytest.approx(0.6)
    assert storage_fidelity("depolarizing:0.1") is None
    assert storage_fidelity("state_depolarizing:0.1+readout:0.01") is None


def _synthetic_rows(fids, ns, base_bell, base_shadow):
    rows = []
    for f in fids:
        p = 0.75 * (1 - f)
        noise = "none" if p == 0 else LocalNoise(state_depolarizing=p).spec()
        for n in ns:
            for strategy, base in (("bell", base_bell(f)), ("pauli-shadow", base_shadow(f))):
                value = 40.0 * base**n
                rows.append(
                    {
                        "spec": {"strategy": strategy, "n": n, "noise": noise, "alpha": 0.9},
                        "n_star": value,
                        "n_star_ci": [value / 1.1, value * 1.1],
                    }
                )
    return rows


def test_crossover_recovers_the_boundary_of_exact_theory_curves():
    fids = [1.0, 0.9, 0.8, 0.7, 0.6, 0.55, 0.5]
    rows = _synthetic_rows(fids, [2, 3, 4, 5], lambda f: f**-4, lambda f: 3 * f**-2)
    result = analyse(rows)
    assert result["boundary"] == pytest.approx(PREDICTED_FIDELITY, abs=0.005)
    lo, hi = result["boundary_ci"]
    assert lo < PREDICTED_FIDELITY < hi
    for fit, f in zip(result["bases"]["bell"], result["fidelities"], strict=True):
        assert fit["base"] == pytest.approx(f**-4, rel=1e-6)
    assert [p["n"] for p in result["per_n"]] == [2, 3, 4, 5]
    assert finite_n_fidelity(1e9, 0.9) == pytest.approx(PREDICTED_FIDELITY)


def test_crossover_refuses_mixed_settings():
    rows = _synthetic_rows([1.0, 0.8], [2, 3], lambda f: f**-4, lambda f: 3 * f**-2)
    rows[0]["spec"]["alpha"] = 0.5
    with pytest.raises(CopylearnError, match="one setting at a time"):
        analyse(rows)


def test_crossover_reports_no_boundary_when_bell_always_wins():
    rows = _synthetic_rows([1.0, 0.8, 0.6], [2, 3, 4], lambda f: 1.0, lambda f: 3 * f**-2)
    assert analyse(rows)["boundary"] is None
