"""Issue 9 item 13: what qsim cannot run goes to a Cirq simulator that can, and says so.

qsim rejects measurements with a confusion map (a raw NumPy ValueError), channels that record
a measurement key and classically controlled operations. Those circuits run on Cirq's
density-matrix simulator (<= 12 qubits) or state-vector simulator, with the same results as
the exact backend, and the dataset's metadata records the simulator and the reason.
"""

from __future__ import annotations

import cirq
import numpy as np
import pytest

import copylearn as cl
from copylearn.backends import execute, qsim

CONFUSION = np.array([[0.8, 0.2], [0.2, 0.8]])
Q = cirq.LineQubit.range(2)


class ConfusedReadout(cirq.NoiseModel):
    """Readout error on LineQubit(0) as a measurement confusion map (what qsim rejects)."""

    def noisy_operation(self, operation):
        if cirq.is_measurement(operation) and Q[0] in operation.qubits:
            gate = operation.gate
            index = operation.qubits.index(Q[0])
            confused = cirq.MeasurementGate(
                gate.num_qubits(), gate.key, confusion_map={(index,): CONFUSION}
            )
            return confused.on(*operation.qubits)
        return operation


class KeyedFlips(cirq.NoiseModel):
    """A bit flip with probability 0.1 before every measurement, recorded under its own key."""

    def __init__(self):
        self.count = 0

    def noisy_operation(self, operation):
        if not cirq.is_measurement(operation):
            return operation
        flips = []
        for q in operation.qubits:
            self.count += 1
            channel = cirq.MixedUnitaryChannel(
                [(0.9, np.eye(2)), (0.1, cirq.unitary(cirq.X))], key=f"flip{self.count}"
            )
            flips.append(channel.on(q))
        return [cirq.Moment(flips), operation]


STATE = cl.CircuitState(cirq.Circuit(cirq.X(Q[0]), cirq.I(Q[1])))  # |10>


def within(est: cl.Estimates, truth: np.ndarray) -> None:
    assert np.all(np.abs(est.values - truth) <= 5 * est.stderr), (est.values, truth, est.stderr)


def test_confusion_map_runs_on_qsim_backend():
    """The issue's example: <ZI> = -(0.8 - 0.2) = -0.6 for X on q0, qsim no longer dies."""
    runs = {
        backend: cl.collect(
            STATE,
            protocol="pauli-shadow",
            copies=6000,
            noise=ConfusedReadout(),
            backend=backend,
            seed=21,
        )
        for backend in ("qsim", "exact")
    }
    data = runs["qsim"]
    execution = data.metadata["execution"]
    assert execution["simulator"] == "DensityMatrixSimulator"
    assert "confusion map" in execution["simulator_reason"]
    # Readout confusion scales every Pauli with support on q0 by 0.8 - 0.2, whatever the basis.
    within(data.estimate(["ZI", "IZ", "ZZ", "XI"]), np.array([-0.6, 1.0, -0.6, 0.0]))
    for key, array in data.arrays.items():  # the same simulator and seed as the exact backend
        assert np.array_equal(array, runs["exact"].arrays[key])


def test_confusion_map_on_bell_sampling():
    """Bell: LineQubit(0) is copy A's qubit 0, so the confusion flips m_A,0 with prob. 0.2."""
    data = cl.collect(STATE, protocol="bell", copies=8000, noise=ConfusedReadout(), seed=5)
    assert data.metadata["execution"]["simulator"] == "DensityMatrixSimulator"
    # f_Z on pair 0 reads m_B,0 only (unaffected); f_X reads m_A,0, uniform for |1>|1> anyway.
    # |10>: tr(ZI)^2 = 1, tr(IZ)^2 = 1, tr(XI)^2 = 0.
    within(data.estimate_square(["ZI", "IZ", "XI"]), np.array([1.0, 1.0, 0.0]))


def test_measurement_keyed_channels_run():
    """Another member: channels that record a key (qsim: 'can't be decomposed').

    Cirq samples such circuits one repetition at a time, hence few copies.
    """
    data = cl.collect(STATE, protocol="pauli-shadow", copies=600, noise=KeyedFlips(), seed=8)
    assert "measurement key" in data.metadata["execution"]["simulator_reason"]
    within(data.estimate(["ZI", "IZ", "ZZ"]), np.array([-0.8, 0.8, -0.64]))


def test_classically_controlled_operations_run():
    """Another member: a classically controlled X copies a mid-circuit outcome, shot by shot."""
    circuit = cirq.Circuit(
        cirq.H(Q[0]),
        cirq.measure(Q[0], key="a"),
        cirq.X(Q[1]).with_classical_controls("a"),
        cirq.measure(Q[1], key="m"),
    )
    assert "classically controlled" in qsim.unsupported(circuit)
    bits, info = execute(circuit, [], np.zeros((400, 0)), np.random.SeedSequence(3), "qsim")
    assert info["path"] == "circuit" and info["simulator"] == "DensityMatrixSimulator"
    assert np.array_equal(bits["m"], bits["a"])  # the right value, every shot
    assert 100 < bits["m"].sum() < 300


def test_large_registers_use_cirq_state_vector_simulator():
    qubits = cirq.LineQubit.range(13)
    circuit = cirq.Circuit(
        cirq.MeasurementGate(13, "m", confusion_map={(0,): CONFUSION}).on(*qubits)
    )
    assert isinstance(qsim.simulator(circuit, np.random.SeedSequence(1)), cirq.Simulator)
    small = cirq.Circuit(cirq.measure(*qubits, key="m"))
    assert qsim.unsupported(small) is None


@pytest.mark.parametrize(
    "circuit",
    [
        cirq.Circuit(cirq.measure(Q[0], key="m", invert_mask=(True,))),
        cirq.Circuit(cirq.X(Q[0]), cirq.ResetChannel().on(Q[0]), cirq.measure(Q[0], key="m")),
        cirq.Circuit(cirq.H(Q[0]), cirq.measure(Q[0], key="a"), cirq.measure(Q[0], key="m")),
    ],
    ids=["invert-mask", "reset", "mid-circuit-measurement"],
)
def test_what_qsim_runs_stays_on_qsim(circuit):
    assert qsim.unsupported(circuit) is None
    assert type(qsim.simulator(circuit, np.random.SeedSequence(1))).__name__ == "QSimSimulator"
