"""Single-copy random-Pauli classical shadows (HKP20).

Each copy is measured on its own: every qubit in a basis X, Y or Z drawn uniformly at
random per shot. The rotation before the Z measurement is ``Z**(-s/2)`` then ``H**h`` with
0/1 parameters (s, h) = (0, 1) for X, (1, 1) for Y (S-dagger then H) and (0, 0) for Z, so
the measured observable is +X, +Y, +Z and the eigenvalue is ``(-1)^bit`` in every basis.
"""

from __future__ import annotations

import cirq
import numpy as np
import sympy

from copylearn.pauli import pack_bits

NAME = "pauli-shadow"
COPIES_PER_SHOT = 1
BASES = "XYZ"
# Per basis code X, Y, Z: (parameter s, parameter h, symplectic x bit, symplectic z bit).
_BASIS_TABLE = np.array([[0, 1, 1, 0], [1, 1, 1, 1], [0, 0, 0, 1]], dtype=np.uint8)


def build(state) -> tuple[cirq.Circuit, tuple[str, ...]]:
    """The parameterised shadow circuit for ``state`` and its parameter names."""
    n = state.n
    qubits = cirq.LineQubit.range(n)
    s_names = tuple(f"basis_s{i}" for i in range(n))
    h_names = tuple(f"basis_h{i}" for i in range(n))
    circuit = state.prep_circuit(qubits) + cirq.Circuit(
        cirq.Moment(
            cirq.Z(q) ** (-0.5 * sympy.Symbol(s)) for q, s in zip(qubits, s_names, strict=True)
        ),
        cirq.Moment(cirq.H(q) ** sympy.Symbol(h) for q, h in zip(qubits, h_names, strict=True)),
        cirq.Moment(cirq.measure(*qubits, key="m")),
    )
    return circuit, state.parameter_names + s_names + h_names


def draw(
    state, shots: int, rngs: dict[str, np.random.Generator]
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Per-shot parameter values (state randomness, then bases) and the bases to record.

    ``rngs["state_a"]`` drives the state's randomness, ``rngs["protocol"]`` the bases.
    """
    codes = rngs["protocol"].integers(0, 3, size=(shots, state.n), dtype=np.uint8)
    table = _BASIS_TABLE[codes]  # (shots, n, 4)
    values = np.concatenate(
        [state.sample_parameters(rngs["state_a"], shots), table[..., 0], table[..., 1]], axis=1
    )
    record = {"bases_x": pack_bits(table[..., 2]), "bases_z": pack_bits(table[..., 3])}
    return values, record


def outcome_arrays(
    record: dict[str, np.ndarray], measurements: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Dataset arrays: packed bases and packed eigenvalue bits (eigenvalue ``(-1)^bit``)."""
    return {**record, "bits": pack_bits(measurements["m"])}
