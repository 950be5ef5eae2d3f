"""qsim backend: qsimcirq state-vector simulation, whole-register noise by trajectories."""

from __future__ import annotations

import os

import cirq
import numpy as np
import qsimcirq

from copylearn.backends import exact
from copylearn.seeding import integer_seed

# Below this many qubits, extra threads cost more than they save.
_THREADS_FROM_QUBITS = 18
BLOCK_SIMULATOR = "qsim state vector (noiseless blocks), cirq density matrix (noisy blocks)"


def simulator(circuit: cirq.Circuit, seed: np.random.SeedSequence) -> qsimcirq.QSimSimulator:
    """A seeded qsim simulator; qsimcirq takes an integer seed, drawn here from ``seed``.

    Threads are passed through ``QSimOptions`` (a plain options dict silently runs on one).
    """
    threads = (os.cpu_count() or 1) if len(circuit.all_qubits()) >= _THREADS_FROM_QUBITS else 1
    return qsimcirq.QSimSimulator(
        qsimcirq.QSimOptions(cpu_threads=threads), seed=integer_seed(seed)
    )


def block_distribution(circuit: cirq.Circuit, n_measured: int) -> np.ndarray:
    """Outcome probabilities of the first ``n_measured`` of the circuit's line qubits.

    Noiseless: qsim's final state vector. Noisy: an exact mixed-state distribution is needed,
    which qsim's trajectories do not give, so Cirq's density-matrix simulator runs it.
    """
    if not cirq.has_unitary(circuit):
        return exact.block_distribution(circuit, n_measured)
    qubits = sorted(circuit.all_qubits())
    state = qsimcirq.QSimSimulator().simulate(circuit, qubit_order=qubits).final_state_vector
    probabilities = np.abs(state.astype(np.complex128)) ** 2
    return probabilities.reshape(2**n_measured, -1).sum(axis=1)
