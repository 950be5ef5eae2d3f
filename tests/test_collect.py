"""collect(): argument validation, seeding, metadata, noise specs."""

from __future__ import annotations

import re

import cirq
import numpy as np
import pytest

import copylearn as cl
from copylearn.errors import CopylearnError
from copylearn.noise import LocalNoise, parse_noise, resolve_noise

STATE = cl.PauliMixedState("XYZ", alpha=0.9, sign=-1)


@pytest.mark.parametrize("protocol", ["bell", "pauli-shadow"])
@pytest.mark.parametrize("noise", [None, "depolarizing:0.02+readout:0.01"])
def test_same_seed_gives_bit_identical_data(protocol, noise):
    first = cl.collect(STATE, protocol=protocol, copies=400, noise=noise, seed=11)
    again = cl.collect(STATE, protocol=protocol, copies=400, noise=noise, seed=11)
    other = cl.collect(STATE, protocol=protocol, copies=400, noise=noise, seed=12)
    assert first.arrays.keys() == again.arrays.keys()
    for key in first.arrays:
        assert first.arrays[key].tobytes() == again.arrays[key].tobytes()
    assert first.metadata == again.metadata
    assert any(not np.array_equal(first.arrays[k], other.arrays[k]) for k in first.arrays)


def test_unseeded_run_records_its_seed_and_can_be_repeated():
    data = cl.collect(STATE, protocol="bell", copies=200)
    repeat = cl.collect(STATE, protocol="bell", copies=200, seed=data.metadata["seed"])
    assert np.array_equal(data.arrays["m_a"], repeat.arrays["m_a"])
    assert np.array_equal(data.arrays["m_b"], repeat.arrays["m_b"])


def test_copies_and_experiments_are_counted():
    bell = cl.collect(STATE, protocol="bell", copies=300, seed=1)
    shadow = cl.collect(STATE, protocol="pauli-shadow", copies=300, seed=1)
    assert (bell.copies, bell.shots) == (300, 150)
    assert (shadow.copies, shadow.shots) == (300, 300)
    assert bell.metadata["copies"] == 300 and bell.metadata["experiments"] == 150
    assert shadow.arrays["bits"].shape == (300, 1)
    assert bell.arrays["m_a"].dtype == np.uint64


def test_metadata_records_the_run():
    data = cl.collect(STATE, protocol="bell", copies=20, noise="readout:0.1", seed=3)
    meta = data.metadata
    assert meta["state"] == "pauli:XYZ:0.9:-1"
    assert meta["noise"] == "readout:0.1"
    assert meta["backend"] == "qsim"
    assert meta["seed"] == 3
    assert meta["execution"]["path"] in ("blocks", "circuit")
    assert {"cirq-core", "qsimcirq", "numpy", "copylearn"} <= set(meta["versions"])


def test_circuit_states_are_accepted_directly():
    q = cirq.LineQubit.range(2)
    data = cl.collect(
        cirq.Circuit(cirq.H(q[0]), cirq.CNOT(*q)), protocol="bell", copies=200, seed=2
    )
    assert data.n == 2
    assert "state_circuit" in data.metadata
    # A Bell state is pure: every shot has an even number of singlets.
    assert data.purity().values[0] == 1.0


@pytest.mark.parametrize(
    ("kwargs", "phrase"),
    [
        ({"copies": 0}, "positive integer"),
        ({"copies": -4}, "positive integer"),
        ({"copies": 2.5}, "positive integer"),
        ({"copies": 11}, "even number"),
        ({"protocol": "tomography"}, "unknown protocol"),
        ({"backend": "gpu"}, "unknown backend"),
        ({"noise": "thermal:0.1"}, "unknown noise"),
        ({"noise": "depolarizing"}, "no probability"),
        ({"noise": "depolarizing:abc"}, "not a number"),
        ({"noise": "depolarizing:1.5"}, "outside [0, 1]"),
        ({"noise": 0.1}, "not understood"),
        ({"seed": -1}, "non-negative integer"),
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs, phrase):
    arguments = {"protocol": "bell", "copies": 10, "seed": 0} | kwargs
    with pytest.raises(CopylearnError, match=re.escape(phrase)):
        cl.collect(STATE, **arguments)


def test_bad_state_is_rejected():
    with pytest.raises(CopylearnError, match="PauliMixedState"):
        cl.collect("pauli:XX", copies=10)


def test_exact_backend_refuses_large_registers():
    # An entangled 7-qubit state: Bell sampling joins all 14 qubits into one register.
    state = cl.random_brickwork_state(7, depth=2, seed=0)
    with pytest.raises(CopylearnError, match="qsim"):
        cl.collect(state, protocol="bell", copies=2, backend="exact")
    # The Science state factors into pairs, so the exact backend handles it at any n.
    data = cl.collect(cl.PauliMixedState("XYZXYZXY"), protocol="bell", copies=2, backend="exact")
    assert data.metadata["execution"]["path"] == "blocks"


def test_noise_specs_parse_and_print_canonically():
    model = parse_noise("Depolarizing:0.01 + readout:0.02+amplitude-damping:0.5")
    assert model == LocalNoise(depolarizing=0.01, amplitude_damping=0.5, readout=0.02)
    assert model.spec() == "depolarizing:0.01+amplitude_damping:0.5+readout:0.02"
    assert parse_noise("none") is None and parse_noise("depolarizing:0") is None
    assert resolve_noise(None) == (None, "none")
    user = cirq.ConstantQubitNoiseModel(cirq.depolarize(0.01))
    assert resolve_noise(user)[0] is user


def test_noise_model_places_channels_around_gates_and_measurements():
    q = cirq.LineQubit.range(2)
    circuit = cirq.Circuit(cirq.CNOT(*q), cirq.measure(*q, key="m"))
    noisy = circuit.with_noise(LocalNoise(depolarizing=0.1, readout=0.2))
    ops = [op for moment in noisy for op in moment]
    kinds = [type(op.gate).__name__ for op in ops]
    assert kinds == [
        "CXPowGate",
        "DepolarizingChannel",
        "DepolarizingChannel",
        "BitFlipChannel",
        "BitFlipChannel",
        "MeasurementGate",
    ]


def test_user_noise_model_is_applied():
    # Full bit flips before measurement turn every Z-basis outcome around.
    q = cirq.LineQubit.range(1)
    model = cirq.ConstantQubitNoiseModel(cirq.X)
    clean = cl.collect(
        cl.CircuitState(cirq.Circuit(cirq.I(q[0]))), protocol="pauli-shadow", copies=300, seed=5
    )
    noisy = cl.collect(
        cl.CircuitState(cirq.Circuit(cirq.I(q[0]))),
        protocol="pauli-shadow",
        copies=300,
        noise=model,
        seed=5,
    )
    z_rows = clean.arrays["bases_x"][:, 0] == 0
    assert np.all(clean.arrays["bits"][z_rows, 0] == 0)
    assert np.all(noisy.arrays["bits"][z_rows, 0] == 1)


def test_unknown_device_is_rejected():
    with pytest.raises(CopylearnError, match="unknown device"):
        cl.collect(STATE, protocol="bell", copies=10, device="sycamore9000")


def test_a_collector_keeps_the_circuit_its_key_names():
    """A per-trial circuit must never take the key of a collector's freed circuit: the
    family state of a point is dropped after planning, and a trial's new circuit that took
    its id was sampled with the family's plan (a different state)."""
    from copylearn.collect import circuit_key, prepare_collector
    from copylearn.tasks.principal_component import PrincipalComponentState, principal_circuit

    def fresh(seed):
        circuit = principal_circuit("XZY", 1, np.random.default_rng(seed))
        return PrincipalComponentState(circuit, name="t", pauli="XZY", sign=1)

    collector = prepare_collector(fresh(0), "clifford-shadow")
    states = [fresh(seed) for seed in range(1, 300)]
    assert all(circuit_key(state) != collector.key for state in states)
