"""Simulated Google devices: layouts, compilation to native gates, calibrated noise."""

from __future__ import annotations

import itertools

import cirq
import numpy as np
import pytest
import sympy

import copylearn as cl
from copylearn.backends import plan
from copylearn.backends.blocks import plan_blocks
from copylearn.errors import CopylearnError
from copylearn.protocols import get_protocol, two_copy

cirq_google = pytest.importorskip("cirq_google")
qsimcirq = pytest.importorskip("qsimcirq")

from copylearn import devices  # noqa: E402  (needs cirq_google)

NAMES = devices.DEVICE_NAMES
# Qubits, and the largest n for pairs, ladders and chains, leaving out calibration outliers
# (exact: the searches end within their budget) ...
EXPECTED = {"rainbow": (23, 8, 4, 17), "weber": (53, 21, 6, 46), "willow_pink": (105, 49, 13, 99)}
# ... and using every qubit (pairs and chains reach the bipartite bound min(#even, #odd)).
EXPECTED_ALL = {"rainbow": (8, 4, 17), "weber": (24, 8, 49), "willow_pink": (49, 13, 99)}
NATIVE = {"rainbow": cirq.ISWAP**0.5, "weber": cirq_google.SYC, "willow_pink": cirq.CZ}


def two_qubit_gates(circuit: cirq.Circuit) -> list[cirq.Operation]:
    return [
        op for op in circuit.all_operations() if len(op.qubits) == 2 and not cirq.is_measurement(op)
    ]


def science_bell_circuit(device, n: int, pauli: str = "XYZ"):
    """The Science-task two-copy circuit (prep of both copies, then the Bell measurement)."""
    state = cl.PauliMixedState((pauli * n)[:n], alpha=0.9, sign=-1)
    a, b = devices.place_pairs(device, n)
    circuit = state.prep_circuit(a, prefix="a_").zip(
        state.prep_circuit(b, prefix="b_")
    ) + two_copy.bell_measurement(a, b)
    names = tuple("a_" + p for p in state.parameter_names) + tuple(
        "b_" + p for p in state.parameter_names
    )
    return state, circuit, names, a, b


@pytest.mark.parametrize("name", NAMES)
def test_load_device(name):
    device = devices.load_device(name)
    assert device is devices.load_device(name)  # cached
    assert len(device.qubits) == EXPECTED[name][0]
    assert device.native_gate == devices.DEFAULT_GATES[name]
    assert device.calibration_date is not None and device.calibration_date.endswith("Z")
    for a, b in device.couplers:
        assert a.is_adjacent(b) and a in device.qubits and b in device.qubits
    assert device.name in repr(device)
    assert set(device.outliers) <= set(device.qubits)
    if name == "weber":  # 58% readout error; T1 = 2.7 us
        assert {cirq.GridQubit(3, 2), cirq.GridQubit(5, 4)} <= set(device.outliers)


def test_unknown_device_and_uncalibrated_gate():
    with pytest.raises(CopylearnError, match="rainbow, weber, willow_pink"):
        devices.load_device("sycamore")
    with pytest.raises(CopylearnError, match="sqrt_iswap, sycamore"):
        devices.load_device("weber", gate="cz")
    assert devices.load_device("weber", gate="sqrt_iswap").native_gate == "sqrt_iswap"


@pytest.mark.parametrize("name", NAMES)
def test_bell_pair_compiles_to_couplers_and_ideal_unitary(name):
    device = devices.load_device(name)
    (a,), (b,) = devices.place_pairs(device, 1)
    ideal = cirq.Circuit(cirq.H(a), cirq.CNOT(a, b), cirq.measure(a, b, key="m"))
    compiled = devices.compile_for_device(ideal, device)
    gates = two_qubit_gates(compiled)
    assert gates
    for op in gates:
        assert op.gate == NATIVE[name]
        assert devices.is_coupler(device, *op.qubits)
    assert compiled.are_all_measurements_terminal()
    assert all(
        isinstance(op.gate, cirq.PhasedXZGate)
        for op in compiled.all_operations()
        if len(op.qubits) == 1
    )
    device.grid_device.validate_circuit(compiled)
    cirq.testing.assert_circuits_with_terminal_measurements_are_equivalent(
        compiled, ideal, atol=1e-6
    )
    u_ideal = ideal[:-1].unitary(qubit_order=[a, b])
    u_compiled = compiled[:-1].unitary(qubit_order=[a, b])
    assert cirq.allclose_up_to_global_phase(u_compiled, u_ideal, atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_pair_placements(name):
    device = devices.load_device(name)
    largest = devices.max_pairs(device)
    assert largest == EXPECTED[name][1]
    assert devices.max_pairs(device, avoid_outliers=False) == EXPECTED_ALL[name][0]
    full_a, full_b = devices.place_pairs(device, largest)
    assert not set(full_a + full_b) & set(device.outliers)
    for n in (1, 2, 5, largest):
        a, b = devices.place_pairs(device, n)
        assert (a, b) == devices.place_pairs(device, n)  # deterministic
        assert (a, b) == (full_a[:n], full_b[:n])  # qubit i keeps its pair for every n
        assert len(set(a) | set(b)) == 2 * n
        assert all(devices.is_coupler(device, x, y) for x, y in zip(a, b, strict=True))
        assert all(devices.is_coupler(device, x, y) for x, y in itertools.pairwise(a))
    with pytest.raises(CopylearnError, match=rf"at most {largest} Bell pairs.*n <= {largest}"):
        devices.place_pairs(device, largest + 1)
    everything = EXPECTED_ALL[name][0]
    assert len(devices.place_pairs(device, everything, avoid_outliers=False)[0]) == everything
    with pytest.raises(CopylearnError, match="positive integer"):
        devices.place_pairs(device, 0)


@pytest.mark.parametrize("name", NAMES)
def test_chain_placements(name):
    device = devices.load_device(name)
    longest = devices.max_chain(device)
    assert longest == EXPECTED[name][3]
    assert devices.max_chain(device, avoid_outliers=False) == EXPECTED_ALL[name][2]
    chain = devices.place_chain(device, longest)
    assert not set(chain) & set(device.outliers)
    assert len(set(chain)) == longest
    assert all(devices.is_coupler(device, x, y) for x, y in itertools.pairwise(chain))
    assert devices.place_chain(device, 4) == chain[:4]
    with pytest.raises(CopylearnError, match=rf"{longest} of its"):
        devices.place_chain(device, longest + 1)


@pytest.mark.parametrize("name", NAMES)
def test_ladder_placements(name):
    device = devices.load_device(name)
    largest = devices.max_pairs(device, ladder=True)
    assert largest == EXPECTED[name][2]
    assert devices.max_pairs(device, ladder=True, avoid_outliers=False) == EXPECTED_ALL[name][1]
    a, b = devices.place_pairs(device, largest, ladder=True)
    assert len(set(a) | set(b)) == 2 * largest
    assert all(devices.is_coupler(device, x, y) for x, y in zip(a, b, strict=True))
    for chain in (a, b):
        assert all(devices.is_coupler(device, x, y) for x, y in itertools.pairwise(chain))
    with pytest.raises(CopylearnError, match=rf"at most {largest} Bell pairs.*both copies"):
        devices.place_pairs(device, largest + 1, ladder=True)


def test_entangled_and_mixed_preparations_compile():
    device = devices.load_device("willow_pink")
    a, b = devices.place_pairs(device, 3, ladder=True)
    pure = cl.random_brickwork_state(3, depth=2, seed=4)
    circuit = pure.prep_circuit(a).zip(pure.prep_circuit(b)) + two_copy.bell_measurement(a, b)
    compiled = devices.compile_for_device(circuit, device)
    assert all(op.gate == cirq.CZ for op in two_qubit_gates(compiled))
    cirq.testing.assert_circuits_with_terminal_measurements_are_equivalent(
        compiled, circuit, atol=1e-6
    )
    comb_a, comb_b = devices.place_pairs(device, 3)
    with pytest.raises(CopylearnError, match="not coupled"):  # copy B of a comb is no chain
        devices.compile_for_device(pure.prep_circuit(comb_a).zip(pure.prep_circuit(comb_b)), device)
    mixed = cl.random_mixed_state(2, depth=1, seed=5).prep_circuit(a[:2])
    simulator = cirq.DensityMatrixSimulator()
    np.testing.assert_allclose(
        simulator.simulate(devices.compile_for_device(mixed, device)).final_density_matrix,
        simulator.simulate(mixed).final_density_matrix,
        atol=1e-6,
    )


def _random_settings(names, count, seed):
    rng = np.random.default_rng(seed)
    return [
        dict(zip(names, map(float, rng.integers(0, 2, len(names))), strict=True))
        for _ in range(count)
    ]


@pytest.mark.parametrize("name", NAMES)
def test_parameterised_bell_circuit_compiles_exactly(name):
    device = devices.load_device(name)
    _, circuit, names, _, _ = science_bell_circuit(device, 3)
    compiled = devices.compile_for_device(circuit, device)
    assert cirq.is_parameterized(compiled)
    assert cirq.parameter_names(compiled) <= set(names)
    assert compiled.are_all_measurements_terminal()
    _assert_equal_at_settings(compiled, circuit, names, 6, seed=1)


def _assert_equal_at_settings(compiled, circuit, names, count: int, seed: int) -> None:
    """The two circuits are equivalent at ``count`` random 0/1 settings of ``names``."""
    for resolver in _random_settings(names, count, seed=seed):
        cirq.testing.assert_circuits_with_terminal_measurements_are_equivalent(
            cirq.resolve_parameters(compiled, resolver),
            cirq.resolve_parameters(circuit, resolver),
            atol=1e-6,
        )


def test_parameterised_shadow_circuit_compiles_exactly():
    device = devices.load_device("weber")
    state = cl.PauliMixedState("XYZI")
    chain = devices.place_chain(device, state.n)
    circuit, names = get_protocol("pauli-shadow").build(state)
    mapping = dict(zip(cirq.LineQubit.range(state.n), chain, strict=True))
    circuit = circuit.transform_qubits(lambda q: mapping[q])
    compiled = devices.compile_for_device(circuit, device)
    assert len(compiled) == 2  # one PhasedXZGate per qubit, then the measurement
    _assert_equal_at_settings(compiled, circuit, names, 8, seed=2)


def test_compile_refuses_bad_circuits():
    device = devices.load_device("weber")
    line = cirq.LineQubit.range(2)
    with pytest.raises(CopylearnError, match="place it first"):
        devices.compile_for_device(cirq.Circuit(cirq.CNOT(*line)), device)
    chain = devices.place_chain(device, 3)
    with pytest.raises(CopylearnError, match="not coupled"):
        devices.compile_for_device(cirq.Circuit(cirq.CNOT(chain[0], chain[2])), device)
    with pytest.raises(CopylearnError, match="parameterised multi-qubit"):
        devices.compile_for_device(
            cirq.Circuit(cirq.CZ(chain[0], chain[1]) ** sympy.Symbol("t")), device
        )
    with pytest.raises(CopylearnError, match="mid-circuit"):
        devices.compile_for_device(
            cirq.Circuit(cirq.measure(chain[0], key="x"), cirq.X(chain[0])), device
        )


def test_noise_model_equals_google_model():
    """The hashable model only rewrites each thermal Kraus channel as AD + PD."""
    device = devices.load_device("weber")
    (a,), (b,) = devices.place_pairs(device, 1)
    compiled = devices.compile_for_device(cirq.Circuit(cirq.H(a), cirq.CNOT(a, b)), device)
    simulator = cirq.DensityMatrixSimulator()
    ours = simulator.simulate(compiled.with_noise(devices.device_noise_model(device)))
    google = simulator.simulate(compiled.with_noise(devices.device_noise_model(device, False)))
    np.testing.assert_allclose(ours.final_density_matrix, google.final_density_matrix, atol=1e-7)
    kraus = [
        op
        for op in compiled.with_noise(devices.device_noise_model(device)).all_operations()
        if type(op.untagged.gate) is cirq.KrausChannel
    ]
    assert not kraus


@pytest.mark.parametrize("name", NAMES)
def test_noise_model_runs_on_qsim(name):
    device = devices.load_device(name)
    a, b = devices.place_pairs(device, 2)
    bell = cirq.Circuit(
        [cirq.H(x) for x in a], [cirq.CNOT(x, y) for x, y in zip(a, b, strict=True)]
    ) + two_copy.bell_measurement(a, b)  # prepare Phi+ on each pair, then measure it
    compiled = devices.compile_for_device(bell, device)
    for hashable in (True, False):
        noisy = compiled.with_noise(devices.device_noise_model(device, hashable))
        result = qsimcirq.QSimSimulator(seed=5).run(noisy, repetitions=300)
        outcomes = np.concatenate([result.measurements["a"], result.measurements["b"]], axis=1)
        # Phi+ -> (0, 0) on every pair; calibrated errors are a few percent per pair.
        assert (outcomes == 0).all(axis=1).mean() > 0.75


def test_noisy_science_circuit_still_factors_into_pairs():
    device = devices.load_device("weber")
    state, circuit, names, a, b = science_bell_circuit(device, 4)
    noisy = devices.compile_for_device(circuit, device).with_noise(
        devices.device_noise_model(device)
    )
    blocks = plan_blocks(noisy, names)
    assert blocks is not None
    assert {frozenset(block.measured + block.others) for block in blocks} == {
        frozenset(pair) for pair in zip(a, b, strict=True)
    }
    rngs = {k: np.random.default_rng(i) for i, k in enumerate(("state_a", "state_b"))}
    values, _ = get_protocol("bell").draw(state, 200, rngs)
    measurements, info = plan(noisy, names, "qsim").run(values, np.random.SeedSequence(0))
    assert info["path"] == "blocks" and info["largest_block_qubits"] == 2
    assert measurements["a"].shape == measurements["b"].shape == (200, 4)


def test_device_metadata_round_trips():
    device = devices.load_device("rainbow")
    meta = devices.device_metadata(device)
    assert meta["device"] == "rainbow"
    assert meta["native_gate"] == "sqrt_iswap"
    assert meta["calibration_date"].startswith("2021-11-16")
    assert meta["outlier_qubits"] == [str(q) for q in device.outliers]
    assert cirq.read_json(json_text=meta["noise_properties"]) == device.noise_properties


def test_collect_on_a_device_records_it_and_keeps_pairs_as_blocks():
    state = cl.PauliMixedState("XYZ", alpha=0.9, sign=-1)
    data = cl.collect(state, protocol="bell", copies=2000, device="weber", seed=3)
    assert data.metadata["noise"] == "device:weber"
    assert data.metadata["device"]["device"] == "weber"
    assert data.metadata["device"]["calibration_date"]
    assert data.metadata["execution"]["path"] == "blocks"
    assert data.metadata["execution"]["blocks"] == 3
    # calibrated noise damps tr(P rho)^2 below its noiseless 0.81, but not to zero
    est = data.estimate_square("XYZ")
    assert 0.05 < est.values[0] < 0.81 - 5 * est.stderr[0]
    shadow = cl.collect(state, protocol="pauli-shadow", copies=200, device="rainbow", seed=3)
    assert shadow.metadata["device"]["device"] == "rainbow"
    with pytest.raises(CopylearnError, match="either noise or device"):
        cl.collect(state, protocol="bell", copies=20, device="weber", noise="readout:0.1")


def test_calibration_on_weber_removes_the_damping():
    """Device noise is not a Pauli channel (T1, coherent FSim errors), but the calibration on
    random eigenstates still removes its damping here: at 10^6 copies, Bell's
    tr(XYZ rho)^2 = 0.81 reads 0.486 raw and 0.815 +- 0.003 calibrated, shadows'
    tr(XYZ rho) = -0.9 reads -0.746 and -0.899 +- 0.007."""
    state = cl.PauliMixedState("XYZ", alpha=0.9, sign=-1)
    for protocol, truth, copies in (("bell", 0.81, 40_000), ("pauli-shadow", -0.9, 400_000)):
        data = cl.collect(
            state, protocol, copies=copies, device="weber", seed=6, calibration_copies=40_000
        )
        table = data.calibration
        assert table.damping.shape == (3, 3) and np.all((0.5 < table.damping) & (table.damping < 1))
        if protocol == "bell":
            raw = data.estimate_square("XYZ")
            cal = data.estimate_square("XYZ", calibrated=True)
        else:
            raw = data.estimate("XYZ")
            cal = data.estimate("XYZ", calibrated=True)
        assert abs(raw.values[0] - truth) > 10 * raw.stderr[0]  # the device damps it
        assert abs(cal.values[0] - truth) < 5 * cal.stderr[0]


def test_scale_noise_multiplies_every_calibrated_error():
    device = devices.load_device("weber")
    half = devices.scale_noise(device, 0.5)
    assert devices.scale_noise(device, 1.0) is device
    assert half.noise_scale == 0.5 and half.qubits == device.qubits
    assert half.outliers == device.outliers  # the same layout whatever the factor
    old, new = device.noise_properties, half.noise_properties
    q = next(q for q in old.t1_ns if q not in device.outliers)
    assert new.t1_ns[q] == pytest.approx(2 * old.t1_ns[q])
    assert new.tphi_ns[q] == pytest.approx(2 * old.tphi_ns[q])
    assert new.readout_errors[q] == pytest.approx([e / 2 for e in old.readout_errors[q]])
    op = next(op for op in old.gate_pauli_errors if not set(op.qubits) & set(device.outliers))
    assert new.gate_pauli_errors[op] == pytest.approx(old.gate_pauli_errors[op] / 2)
    op = next(op for op in old.fsim_errors if not set(op.qubits) & set(device.outliers))
    assert new.fsim_errors[op].phi == pytest.approx(old.fsim_errors[op].phi / 2)
    assert devices.device_metadata(half)["noise_scale"] == 0.5
    for bad in (0, -1.0, float("nan"), float("inf"), True, "2"):
        with pytest.raises(CopylearnError, match="noise_scale"):
            devices.scale_noise(device, bad)
    with pytest.raises(CopylearnError, match="> 1"):
        devices.scale_noise(device, 1000.0)


def test_more_device_noise_damps_more():
    state = cl.PauliMixedState("XYZ", alpha=0.9, sign=-1)
    values = []
    for scale in (0.5, 1.0, 2.0):
        data = cl.collect(state, "bell", copies=40_000, device="weber", seed=9, noise_scale=scale)
        assert data.metadata["noise"] == (
            "device:weber" if scale == 1 else f"device:weber*{scale:g}"
        )
        assert data.metadata["device"]["noise_scale"] == scale
        values.append(data.estimate_square("XYZ"))
    for weaker, stronger in itertools.pairwise(values):
        gap = weaker.values[0] - stronger.values[0]
        assert gap > 5 * np.hypot(weaker.stderr[0], stronger.stderr[0])
    with pytest.raises(CopylearnError, match="pass device="):
        cl.collect(state, "bell", copies=20, noise_scale=0.5)
