"""Two-copy Bell sampling: two copies held in quantum memory, measured jointly.

Copy A sits on ``LineQubit(2i)`` and copy B on ``LineQubit(2i + 1)``, so each Bell pair
(A_i, B_i) is adjacent. The measurement stage is CNOT(A_i -> B_i), H(A_i), then Z on all
qubits, mapping Phi+ -> (0,0), Psi+ -> (0,1), Phi- -> (1,0), Psi- -> (1,1) (docs/theory.md §4.1).
The two copies carry independent draws of the state's per-shot randomness, so the data
state is exactly rho (x) rho.
"""

from __future__ import annotations

from collections.abc import Sequence

import cirq
import numpy as np

from copylearn.pauli import pack_bits

NAME = "bell"
COPIES_PER_SHOT = 2


def registers(n: int) -> tuple[list[cirq.LineQubit], list[cirq.LineQubit]]:
    """Copy A's and copy B's qubits: A_i = LineQubit(2i), B_i = LineQubit(2i + 1)."""
    return [cirq.LineQubit(2 * i) for i in range(n)], [cirq.LineQubit(2 * i + 1) for i in range(n)]


def bell_measurement(a: Sequence[cirq.Qid], b: Sequence[cirq.Qid]) -> cirq.Circuit:
    """CNOT(a_i -> b_i), H(a_i), then measure A under key ``"a"`` and B under key ``"b"``."""
    return cirq.Circuit(
        cirq.Moment(cirq.CNOT(x, y) for x, y in zip(a, b, strict=True)),
        cirq.Moment(cirq.H(x) for x in a),
        cirq.Moment(cirq.measure(*a, key="a"), cirq.measure(*b, key="b")),
    )


def build(state) -> tuple[cirq.Circuit, tuple[str, ...]]:
    """The parameterised two-copy circuit for ``state`` and its parameter names."""
    a, b = registers(state.n)
    circuit = state.prep_circuit(a, prefix="a_").zip(
        state.prep_circuit(b, prefix="b_")
    ) + bell_measurement(a, b)
    names = tuple("a_" + p for p in state.parameter_names) + tuple(
        "b_" + p for p in state.parameter_names
    )
    return circuit, names


def draw(
    state, shots: int, rngs: dict[str, np.random.Generator]
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Per-shot parameter values: independent draws for copy A and copy B.

    ``rngs["state_a"]`` and ``rngs["state_b"]`` drive the two copies; nothing is recorded.
    """
    values = np.concatenate(
        [
            state.sample_parameters(rngs["state_a"], shots),
            state.sample_parameters(rngs["state_b"], shots),
        ],
        axis=1,
    )
    return values, {}


def outcome_arrays(
    record: dict[str, np.ndarray], measurements: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Dataset arrays: packed outcome bits of copy A (``m_a``) and copy B (``m_b``)."""
    return {"m_a": pack_bits(measurements["a"]), "m_b": pack_bits(measurements["b"])}
