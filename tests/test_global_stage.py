"""The global-stage path: each preparation simulated once on qsim, each shot's multi-qubit
measurement unitary applied to that state (docs/theory.md §12.6).

Truth is Cirq's density-matrix simulator run on the whole resolved circuit (exact
probabilities at small n) and exact tr(Q rho) of the task's density matrix. Statistical
checks use Pearson's chi-square with a fixed alpha = 1e-3 and 5 standard errors, never a
tuned threshold.
"""

from __future__ import annotations

import cirq
import numpy as np
import pytest
import sympy
from kernel_paths import both_paths
from scipy import stats
from test_state_sampling import (
    ALPHA,
    chi_square_pvalue,
    entangled,
    exact_probabilities,
    outcome_index,
)

import copylearn as cl
from copylearn.backends import plan
from copylearn.backends.global_stage import plan_global_stage
from copylearn.compiled import GLOBAL_STAGE
from copylearn.errors import CopylearnError
from copylearn.noise import parse_noise
from copylearn.protocols import get_protocol
from copylearn.states import pauli_matrix
from copylearn.tasks.principal_component import PrincipalComponentState, principal_circuit


def principal_state(pauli: str = "XYZ", seed: int = 4, noise_fraction: float = 0.3):
    circuit = principal_circuit(pauli, 1, np.random.default_rng(seed))
    return PrincipalComponentState(
        circuit=circuit, name="t", pauli=pauli, sign=1, noise_fraction=noise_fraction
    )


def clifford_experiment(state, shots: int, seed: int = 2, **options):
    protocol = get_protocol("clifford-shadow")
    if options:
        protocol = type(protocol)(**options)
    circuit, names = protocol.build(state)
    rngs = {"state_a": np.random.default_rng(seed), "protocol": np.random.default_rng(seed + 1)}
    values, _ = protocol.draw(state, shots, rngs)
    return circuit, names, np.asarray(values, dtype=np.float64)


def test_the_split_puts_flips_and_state_in_the_preparation_and_the_clifford_in_the_stage():
    state = principal_state()
    circuit, names, _ = clifford_experiment(state, 1)
    stage, reason = plan_global_stage(circuit, names)
    assert reason is None
    assert [names[c] for c in stage.prep_columns] == [f"noise_flip{i}" for i in range(3)]
    template = {n for n in names if n.startswith("clifford_g")}
    assert {str(s) for op in stage.operations for s in cirq.parameter_names(op)} == template
    assert stage.front is not None and stage.qubits == 3


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ("noise", "no multi-qubit operation"),
        ("single", "no multi-qubit operation"),
    ],
)
def test_circuits_of_another_shape_are_not_planned(extra, reason):
    if extra == "noise":
        circuit, names, _ = clifford_experiment(principal_state(), 1)
        circuit = circuit.with_noise(parse_noise("depolarizing:0.01"))
    else:  # a Pauli shadow: single-qubit stages are the state path's
        circuit, names = get_protocol("pauli-shadow").build(cl.CircuitState(entangled(3)))
    stage, why = plan_global_stage(circuit, names)
    assert stage is None and reason in why
    if extra == "single":
        with pytest.raises(CopylearnError, match="global-stage path does not apply") as err:
            plan(circuit, names, "qsim", "global-stage")
        assert "\n" not in str(err.value)


def test_outcomes_pass_chi_square_against_the_exact_density_matrix():
    """Eight Cliffords and the flip settings the draw gives them, 4000 shots each."""
    state = principal_state("YXZ", seed=9)
    circuit, names, values = clifford_experiment(state, 8)
    values = np.repeat(values, 4000, axis=0)
    the_plan = plan(circuit, names, "qsim", "global-stage")
    outcomes, info = the_plan.run(values, np.random.SeedSequence(5))
    assert info["path"] == "global-stage" and info["stage_settings_applied"] == 8
    index = outcome_index(outcomes)
    statistic, dof = 0.0, 0
    for k in range(8):
        rows = slice(4000 * k, 4000 * (k + 1))
        truth = exact_probabilities(circuit, dict(zip(names, values[4000 * k], strict=True)))
        observed = np.bincount(index[rows], minlength=len(truth)).astype(float)
        s, d = chi_square_pvalue(observed, truth)
        statistic, dof = statistic + s, dof + d
    assert stats.chi2.sf(statistic, dof) > ALPHA, (statistic, dof)


def test_an_unmeasured_qubit_and_an_inverted_bit_are_respected():
    """Stage on q0, q1 (CNOT**e, H**f); q2 entangled in the preparation and not measured."""
    q = cirq.LineQubit.range(3)
    e, f = sympy.Symbol("e"), sympy.Symbol("f")
    circuit = cirq.Circuit(
        cirq.H(q[0]),
        cirq.CNOT(q[0], q[2]),
        cirq.ry(0.7).on(q[1]),
        cirq.CNOT(q[0], q[1]) ** e,
        cirq.H(q[1]) ** f,
        cirq.measure(q[0], q[1], key="m", invert_mask=(False, True)),
    )
    names = ("e", "f")
    values = np.repeat(np.array([[0.0, 0.0], [1.0, 1.0], [1.0, 0.0]]), 6000, axis=0)
    outcomes, info = plan(circuit, names, "qsim", "global-stage").run(
        values, np.random.SeedSequence(1)
    )
    assert info["state_qubits"] == 3
    index = outcome_index(outcomes)
    statistic, dof = 0.0, 0
    for k in range(3):
        rows = slice(6000 * k, 6000 * (k + 1))
        truth = exact_probabilities(circuit, dict(zip(names, values[6000 * k], strict=True)))
        s, d = chi_square_pvalue(np.bincount(index[rows], minlength=4).astype(float), truth)
        statistic, dof = statistic + s, dof + d
    assert stats.chi2.sf(statistic, dof) > ALPHA, (statistic, dof)


def test_compiled_kernel_and_numpy_give_the_same_bits(monkeypatch):
    state = principal_state("XZYX", seed=3)
    circuit, names, values = clifford_experiment(state, 3000)

    def run():
        the_plan = plan(circuit, names, "qsim", "global-stage")
        outcomes, _ = the_plan.run(values, np.random.SeedSequence(8))
        return outcomes["m"]

    monkeypatch.setattr("copylearn.backends.global_stage.COMPILED_LOAD_AFTER", 0)
    fast, slow = both_paths(monkeypatch, GLOBAL_STAGE, run)
    assert np.array_equal(fast, slow)


def test_stream_3_takes_the_path_and_stream_2_keeps_its_data():
    state = principal_state()
    new = cl.collect(state, protocol="clifford-shadow", copies=300, seed=4)
    old = cl.collect(state, protocol="clifford-shadow", copies=300, seed=4, stream=2)
    assert new.metadata["stream"] == 3 and new.metadata["execution"]["path"] == "global-stage"
    assert old.metadata["execution"]["path"] != "global-stage"
    again = cl.collect(state, protocol="clifford-shadow", copies=300, seed=4)
    assert all(np.array_equal(new.arrays[k], again.arrays[k]) for k in new.arrays)


@pytest.mark.parametrize("pauli", ["XYZ", "ZZXY"])
def test_clifford_shadow_of_a_noisy_principal_component_is_unbiased(pauli):
    """tr(Q rho) within 5 standard errors of the exact value, for P and two other Paulis."""
    state = principal_state(pauli, seed=len(pauli))
    data = cl.collect(state, protocol="clifford-shadow", copies=6000, seed=12)
    assert data.metadata["execution"]["path"] == "global-stage"
    rho = state.density_matrix()
    queries = [pauli, "Z" * len(pauli), "X" + "Y" * (len(pauli) - 1)]
    estimates = data.estimate(queries)
    for q, value, error in zip(queries, estimates.values, estimates.stderr, strict=True):
        exact = float(np.real(np.trace(pauli_matrix(q) @ rho)))
        assert abs(value - exact) < 5 * error, (q, value, exact, error)


def test_many_shots_per_clifford_share_one_stage_application():
    """Purity testing's collision test measures all shots in one Clifford basis."""
    state = cl.CircuitState(entangled(4, seed=1))
    circuit, names, values = clifford_experiment(state, 500, shots_per_unitary=250)
    outcomes, info = plan(circuit, names, "qsim", "global-stage").run(
        values, np.random.SeedSequence(3)
    )
    assert info["stage_settings_applied"] == 2 and info["preparations_simulated"] == 1
    assert outcomes["m"].shape == (500, 4)


def test_forcing_the_path_on_another_backend_is_refused_in_one_line():
    circuit, names, _ = clifford_experiment(principal_state(), 1)
    for backend in ("stim", "auto", "exact"):
        with pytest.raises(CopylearnError, match="global-stage") as err:
            plan(circuit, names, backend, "global-stage")
        assert "\n" not in str(err.value)


def test_continuous_stage_parameters_keep_a_bounded_cache(monkeypatch):
    """One resolved unitary per distinct value per run; at most CACHED_UNITARIES kept."""
    from copylearn.backends import global_stage

    monkeypatch.setattr(global_stage, "CACHED_UNITARIES", 10)
    q = cirq.LineQubit.range(2)
    s = sympy.Symbol("s")
    circuit = cirq.Circuit(cirq.H(q[0]), cirq.CZ(*q) ** s, cirq.measure(*q, key="m"))
    values = np.random.default_rng(0).random((200, 1))
    the_plan = plan(circuit, ("s",), "qsim", "global-stage")
    outcomes, _ = the_plan.run(values, np.random.SeedSequence(1))
    assert outcomes["m"].shape == (200, 2)
    assert sum(1 for k in the_plan.cache if isinstance(k, tuple) and k[0] == "op") == 10


def test_the_cli_collects_on_the_default_stream(tmp_path):
    from copylearn.cli import main
    from copylearn.streams import DEFAULT_STREAM

    out = tmp_path / "d.npz"
    assert main(["collect", "--state", "pauli:XZ:0.8:1", "--copies", "20", "--seed", "1",
                 "--out", str(out)]) == 0  # fmt: skip
    assert cl.load(out).metadata["stream"] == DEFAULT_STREAM == 3


def test_the_cli_help_names_the_default_stream():
    import subprocess
    import sys

    from copylearn.streams import DEFAULT_STREAM

    out = subprocess.run(
        [sys.executable, "-m", "copylearn", "collect", "--help"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert f"{DEFAULT_STREAM} (the default" in " ".join(out.split())
