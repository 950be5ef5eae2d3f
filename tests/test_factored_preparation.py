"""The state path's factored preparation (docs/theory.md §12.5): two copies simulated apart.

Truth: qsim's state of the whole preparation, and Cirq's exact density matrix of the Bell
circuit (outcome distribution), in tests only.
"""

from __future__ import annotations

import cirq
import numpy as np
import pytest
import qsimcirq
from exact_reference import two_copy_bell_law
from scipy import stats

from copylearn.backends import plan
from copylearn.backends.state_sampling import factored_front, plan_state, prepared_ensemble
from copylearn.protocols import get_protocol
from copylearn.states import CircuitState, PauliMixedState
from copylearn.tasks.purity_testing import brickwork_circuit

ALPHA = 1e-3  # fixed chi-square level


def _bell_circuit(n: int, seed: int):
    state = CircuitState(brickwork_circuit(n, 2 * n, np.random.default_rng(seed)))
    return get_protocol("bell").build(state)


def test_two_copies_split_into_one_group_each_and_the_cnots():
    circuit, names = _bell_circuit(3, 1)
    stage, why = plan_state(circuit, names)
    assert why is None
    front, groups, rest = factored_front(stage.preparation, stage.order)
    assert sorted(len(g) for g in groups) == [3, 3]
    assert {q.x % 2 for q in groups[0]} != {q.x % 2 for q in groups[1]}  # A even, B odd
    assert all(isinstance(op.gate, cirq.CXPowGate) for op in rest.all_operations())
    assert len(list(rest.all_operations())) == 3
    assert sum(len(ops) for ops in front) + 3 == len(list(stage.preparation.all_operations()))


def test_single_copy_and_product_preparations_are_not_split():
    single = brickwork_circuit(4, 8, np.random.default_rng(2))
    qubits = sorted(single.all_qubits())
    assert factored_front(single, qubits) is None
    circuit, names = get_protocol("bell").build(PauliMixedState("XYZ", 0.9, 1))
    stage, _ = plan_state(circuit, names)
    assert stage is None or factored_front(stage.preparation, stage.order) is None


@pytest.mark.parametrize("n", [2, 4])
def test_factored_state_equals_the_whole_preparation(n):
    circuit, names = _bell_circuit(n, 3 + n)
    stage, _ = plan_state(circuit, names)
    states, weights = prepared_ensemble(stage, "qsim")
    whole = stage.preparation + cirq.Circuit(cirq.I.on_each(*stage.order))
    expected = qsimcirq.QSimSimulator().simulate(whole, qubit_order=list(stage.order))
    assert weights.tolist() == [1.0]
    np.testing.assert_allclose(states[0], expected.final_state_vector, atol=2e-6)


def test_bell_outcomes_of_two_copies_follow_the_exact_distribution():
    """Chi-square against the exact density matrix; outcomes of probability 0 (the
    antisymmetric part of two identical pure copies, sigma = -1) never occur."""
    n, shots = 2, 20_000
    circuit, names = _bell_circuit(n, 11)
    plan_ = plan(circuit, names, "qsim", "state")  # auto takes blocks at 4 qubits
    assert plan_.stage is not None
    assert factored_front(plan_.stage.preparation, plan_.stage.order) is not None
    outcomes, info = plan_.run(np.zeros((shots, 0)), np.random.SeedSequence(5))
    assert info["path"] == "state" and info["state_groups"] == 2
    a, b = outcomes["a"].astype(np.int64), outcomes["b"].astype(np.int64)
    weights = 2 ** np.arange(2 * n - 1, -1, -1)
    index = np.concatenate([a, b], axis=1) @ weights
    observed = np.bincount(index, minlength=4**n)
    p, sigma = two_copy_bell_law(circuit, n)
    zero = p < 1e-12
    assert np.all(sigma[zero] < 0) and zero.any()  # the pure state's sigma = -1 outcomes
    assert observed[zero].sum() == 0
    result = stats.chisquare(observed[~zero], shots * p[~zero])
    assert result.pvalue > ALPHA
