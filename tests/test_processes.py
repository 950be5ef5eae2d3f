"""Process families (copylearn.processes): seeded, recorded, and of the right symmetry."""

from __future__ import annotations

import cirq
import numpy as np
import pytest

from copylearn.errors import CopylearnError
from copylearn.processes import FAMILIES, brickwork, sample_process, unitary


def _phase_free(u: np.ndarray) -> np.ndarray:
    """u divided by the phase of its largest entry, so that U* = e^{i theta} U reads U* = U."""
    k = np.argmax(np.abs(u))
    return u / (u.flat[k] / abs(u.flat[k]))


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("n", [2, 3, 4])
def test_symmetric_families_are_real_up_to_phase_and_others_are_not(family, n):
    process = sample_process(family, n, np.random.default_rng(11))
    u = _phase_free(unitary(process))
    np.testing.assert_allclose(u @ u.conj().T, np.eye(2**n), atol=1e-6)
    real = np.max(np.abs(u.imag))
    if process.symmetric:
        assert real < 1e-6
    else:  # a generic scrambling or Haar-unitary U is far from real (fixed seed)
        assert real > 0.05


@pytest.mark.parametrize("family", FAMILIES)
def test_same_stream_same_process_and_parameters_rebuild_it(family):
    a = sample_process(family, 3, np.random.default_rng(5))
    b = sample_process(family, 3, np.random.default_rng(5))
    c = sample_process(family, 3, np.random.default_rng(6))
    assert a.circuit == b.circuit and a.parameters == b.parameters
    assert a.circuit != c.circuit
    assert a.parameters["family"] == family and a.parameters["n"] == 3
    if family in ("tsym", "scrambling"):
        assert a.parameters["depth"] == 6  # default 2n
        rebuilt = brickwork(family, 3, 6, np.array(a.parameters["random_source"]))
        assert rebuilt == a.circuit


def test_brickwork_layers_follow_the_block_pattern():
    n, depth = 5, 3
    circuit = brickwork("scrambling", n, depth, np.full((depth * n, 2), 3.5))
    pairs = [
        tuple(q.x for q in op.qubits) for op in circuit.all_operations() if len(op.qubits) == 2
    ]
    assert pairs == [(0, 1), (2, 3), (1, 2), (3, 4), (0, 1), (2, 3)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("tsym", 1), "n >= 2"),
        (("haar-unitary", 7), "n <= 6"),
        (("nope", 3), "unknown process family"),
    ],
)
def test_bad_process_arguments_are_refused_in_one_line(args, message):
    with pytest.raises(CopylearnError, match=message) as info:
        sample_process(*args, np.random.default_rng(0))
    assert "\n" not in str(info.value)


def test_collect_records_the_process_parameters_and_counts_queries():
    from copylearn import collect

    process = sample_process("tsym", 2, np.random.default_rng(3), depth=2)
    data = collect(process, "conventional-y", copies=10, seed=1)
    assert data.metadata["process"] == process.parameters
    assert data.metadata["queries"] == 10
    assert cirq.read_json(json_text=data.metadata["state_circuit"]) == process.circuit
