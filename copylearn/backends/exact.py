"""Exact backend: Cirq's density-matrix simulator, the reference for small registers."""

from __future__ import annotations

import cirq
import numpy as np

from copylearn.errors import CopylearnError
from copylearn.seeding import integer_seed

MAX_QUBITS = 12
BLOCK_SIMULATOR = "cirq density matrix"


def simulator(circuit: cirq.Circuit, seed: np.random.SeedSequence) -> cirq.DensityMatrixSimulator:
    """A seeded ``cirq.DensityMatrixSimulator`` (whole registers up to ``MAX_QUBITS``)."""
    qubits = len(circuit.all_qubits())
    if qubits > MAX_QUBITS:
        raise CopylearnError(
            f"the exact backend simulates density matrices and is limited to {MAX_QUBITS} qubits "
            f"(this circuit has {qubits} and does not factor into blocks): use backend='qsim'."
        )
    return cirq.DensityMatrixSimulator(dtype=np.complex128, seed=integer_seed(seed))


def block_distribution(circuit: cirq.Circuit, n_measured: int) -> np.ndarray:
    """Outcome probabilities of the first ``n_measured`` of the circuit's (sorted) qubits."""
    qubits = sorted(circuit.all_qubits())
    simulator = cirq.DensityMatrixSimulator(dtype=np.complex128)
    rho = simulator.simulate(circuit, qubit_order=qubits).final_density_matrix
    diagonal = np.real(np.diagonal(rho)).astype(np.float64)
    return diagonal.reshape(2**n_measured, -1).sum(axis=1)
