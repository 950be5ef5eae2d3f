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


def unsupported(circuit: cirq.Circuit) -> str | None:
    """Why qsim cannot run ``circuit``, or ``None`` if it can.

    qsim rejects measurements with a confusion map (a user's ``cirq.NoiseModel`` may attach
    one to model readout error), channels that record a measurement key
    (``cirq.KrausChannel(..., key=...)``, ``cirq.MixedUnitaryChannel(..., key=...)``) and
    classically controlled operations.
    """
    for op in circuit.all_operations():
        untagged = op.untagged
        if isinstance(untagged, cirq.ClassicallyControlledOperation):
            return f"a classically controlled operation ({op})"
        if isinstance(untagged, cirq.CircuitOperation):
            reason = unsupported(untagged.mapped_circuit(deep=True))
            if reason is not None:
                return reason
            continue
        if cirq.is_measurement(op):
            gate = op.gate
            if not isinstance(gate, cirq.MeasurementGate):
                return f"a channel that records a measurement key ({op})"
            if gate.confusion_map:
                return "a measurement with a confusion map (readout error)"
    return None


def cirq_simulator(circuit: cirq.Circuit, seed: np.random.SeedSequence) -> cirq.Sampler:
    """The Cirq simulator that runs what qsim cannot (see :func:`unsupported`).

    Cirq's density-matrix simulator up to ``exact.MAX_QUBITS`` qubits (exact noise), Cirq's
    state-vector simulator (Monte-Carlo trajectories for noise, as qsim) above.
    """
    if len(circuit.all_qubits()) <= exact.MAX_QUBITS:
        return exact.simulator(circuit, seed)
    return cirq.Simulator(dtype=np.complex128, seed=integer_seed(seed))


def simulator(circuit: cirq.Circuit, seed: np.random.SeedSequence) -> cirq.Sampler:
    """A seeded qsim simulator; qsimcirq takes an integer seed, drawn here from ``seed``.

    Threads are passed through ``QSimOptions`` (a plain options dict silently runs on one).
    A circuit that qsim cannot run (:func:`unsupported`) gets :func:`cirq_simulator`
    instead; :func:`copylearn.backends.Plan.run` records which simulator ran and why.
    """
    if unsupported(circuit) is not None:
        return cirq_simulator(circuit, seed)
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
