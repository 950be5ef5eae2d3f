"""The block planner: it must give exactly the distribution of the whole-circuit path."""

from __future__ import annotations

import itertools

import cirq
import numpy as np
import pytest
from scipy import stats

import copylearn as cl
from copylearn.backends import exact, execute, qsim
from copylearn.backends.blocks import plan_blocks
from copylearn.errors import CopylearnError
from copylearn.noise import parse_noise
from copylearn.protocols import prepare

NOISE = "depolarizing:0.05+amplitude_damping:0.04+readout:0.03"
# A chi-square homogeneity test at this level never fails by chance in this suite's lifetime.
P_FALSE_ALARM = 1e-6


def experiment_for(state, protocol, shots=200, noise=None, seed=3):
    rngs = {
        k: np.random.default_rng([seed, i])
        for i, k in enumerate(("state_a", "state_b", "protocol"))
    }
    experiment = prepare(protocol, state, shots, rngs)
    model = parse_noise(noise) if noise else None
    circuit = experiment.circuit if model is None else experiment.circuit.with_noise(model)
    return experiment, circuit


def whole_register_distribution(circuit, names, setting, keys):
    """Exact outcome distribution of the whole resolved circuit, bits ordered key by key."""
    resolved = cirq.resolve_parameters(circuit, dict(zip(names, map(float, setting), strict=True)))
    order = [
        q
        for key in keys
        for op in resolved.all_operations()
        if cirq.is_measurement(op) and cirq.measurement_key_name(op) == key
        for q in op.qubits
    ]
    body = cirq.Circuit(resolved[:-1])
    rho = (
        cirq.DensityMatrixSimulator(dtype=np.complex128)
        .simulate(body, qubit_order=order)
        .final_density_matrix
    )
    return np.real(np.diagonal(rho))


def block_product_distribution(circuit, names, setting, keys, block_distribution):
    """Product of the planner's block distributions, as a distribution over all bits."""
    blocks = plan_blocks(circuit, names)
    assert blocks is not None
    sizes = {
        cirq.measurement_key_name(op): len(op.qubits)
        for op in circuit.all_operations()
        if cirq.is_measurement(op)
    }
    offsets = dict(zip(keys, np.cumsum([0] + [sizes[k] for k in keys]), strict=False))
    total = sum(sizes.values())
    probabilities = np.ones(2**total)
    outcomes = np.array(list(itertools.product((0, 1), repeat=total)))
    resolver = {names[c]: float(setting[c]) for b in blocks for c in b.columns}
    for block in blocks:
        resolved = cirq.resolve_parameters(block.circuit, resolver)
        order = block.measured + block.others
        mapping = {q: cirq.LineQubit(i) for i, q in enumerate(order)}
        moved = cirq.Circuit(
            cirq.Moment(cirq.I(q) for q in mapping.values())
        ) + resolved.transform_qubits(lambda q, m=mapping: m[q])
        p = block_distribution(moved, len(block.measured))
        positions = [offsets[key] + pos for key, pos in block.targets]
        index = np.zeros(len(outcomes), dtype=int)
        for bit in positions:
            index = 2 * index + outcomes[:, bit]
        probabilities *= p[index]
    return probabilities


FACTORABLE = [
    cl.PauliMixedState("XY", alpha=0.8, sign=-1),
    cl.PauliMixedState("ZIY", alpha=0.9, sign=1),
    cl.random_product_state(2, seed=5),
    cl.random_product_state(3, seed=6),
]


@pytest.mark.parametrize(
    "state", FACTORABLE, ids=lambda s: s.spec() if hasattr(s, "pauli") else f"product{s.n}"
)
@pytest.mark.parametrize("protocol", ["bell", "pauli-shadow"])
@pytest.mark.parametrize("noise", [None, NOISE])
@pytest.mark.parametrize("backend", ["qsim", "exact"])
def test_block_distribution_equals_whole_register_exactly(state, protocol, noise, backend):
    experiment, circuit = experiment_for(state, protocol, shots=40, noise=noise)
    keys = ["a", "b"] if protocol == "bell" else ["m"]
    module = {"qsim": qsim, "exact": exact}[backend]
    tolerance = 1e-6 if backend == "qsim" else 1e-10  # qsim's state vector is single precision
    for setting in np.unique(experiment.values, axis=0)[:6]:
        whole = whole_register_distribution(circuit, experiment.parameter_names, setting, keys)
        blocks = block_product_distribution(
            circuit, experiment.parameter_names, setting, keys, module.block_distribution
        )
        np.testing.assert_allclose(blocks, whole, atol=tolerance)


def _histogram(outcomes, keys):
    bits = np.concatenate([outcomes[k] for k in keys], axis=1).astype(np.int64)
    code = bits @ (1 << np.arange(bits.shape[1])[::-1])
    return np.bincount(code, minlength=2 ** bits.shape[1])


@pytest.mark.parametrize("protocol", ["bell", "pauli-shadow"])
@pytest.mark.parametrize("noise", [None, NOISE])
def test_sampled_block_path_matches_circuit_path(protocol, noise):
    """Two-sample chi-square test on the joint outcome histogram (all parameters mixed)."""
    state = cl.PauliMixedState("XZ", alpha=0.9, sign=-1)
    experiment, circuit = experiment_for(state, protocol, shots=6000, noise=noise, seed=8)
    keys = ["a", "b"] if protocol == "bell" else ["m"]
    runs = {}
    for execution in ("blocks", "circuit"):
        outcomes, info = execute(
            circuit,
            experiment.parameter_names,
            experiment.values,
            np.random.SeedSequence(21),
            execution=execution,
        )
        assert info["path"] == execution
        runs[execution] = _histogram(outcomes, keys)
    table = np.array([runs["blocks"], runs["circuit"]])
    table = table[:, table.sum(axis=0) > 0]
    chi2, p_value, dof, _ = stats.chi2_contingency(table)
    assert p_value > P_FALSE_ALARM, (chi2, dof)


def test_shots_keep_their_parameters_on_the_block_path():
    """Per-shot outcome must follow that shot's own setting: X flips read back exactly."""
    q = cirq.LineQubit.range(3)
    import sympy

    circuit = cirq.Circuit(
        [cirq.X(x) ** sympy.Symbol(f"f{i}") for i, x in enumerate(q)], cirq.measure(*q, key="m")
    )
    values = np.random.default_rng(0).integers(0, 2, size=(500, 3), dtype=np.uint8)
    for backend in ("qsim", "exact"):
        outcomes, info = execute(
            circuit,
            ["f0", "f1", "f2"],
            values,
            np.random.SeedSequence(1),
            backend=backend,
            execution="blocks",
        )
        assert info["path"] == "blocks" and info["blocks"] == 3
        np.testing.assert_array_equal(outcomes["m"], values)


def test_entangled_blocks_are_planned_and_large_ones_fall_back():
    small = cl.random_brickwork_state(3, depth=2, seed=1)
    experiment, circuit = experiment_for(small, "pauli-shadow")
    blocks = plan_blocks(circuit, experiment.parameter_names)
    assert [len(b.measured) for b in blocks] == [3]  # one entangled block, simulated exactly
    assert plan_blocks(circuit, experiment.parameter_names, max_block_qubits=2) is None
    state = cl.random_brickwork_state(11, depth=2, seed=1)
    data = cl.collect(state, protocol="pauli-shadow", copies=50, seed=1)
    assert data.metadata["execution"]["path"] == "state"  # a fixed preparation: simulated once
    forced = cl.collect(state, protocol="pauli-shadow", copies=50, seed=1, execution="circuit")
    assert forced.metadata["execution"]["path"] == "circuit"
    with pytest.raises(CopylearnError, match="does not factor"):
        cl.collect(state, protocol="pauli-shadow", copies=50, seed=1, execution="blocks")
    with pytest.raises(CopylearnError, match="unknown execution"):
        cl.collect(state, protocol="pauli-shadow", copies=50, execution="fast")


def test_correlated_noise_joins_blocks():
    class PairNoise(cirq.NoiseModel):
        def noisy_operation(self, operation):
            return (
                [operation, cirq.depolarize(0.2, n_qubits=2).on(*cirq.LineQubit.range(2))]
                if not cirq.is_measurement(operation)
                else operation
            )

    state = cl.PauliMixedState("XYZ")
    experiment, _ = experiment_for(state, "pauli-shadow")
    circuit = experiment.circuit.with_noise(PairNoise())
    blocks = plan_blocks(circuit, experiment.parameter_names)
    assert sorted(len(b.measured) for b in blocks) == [1, 2]


def test_mid_circuit_measurement_is_not_planned():
    q = cirq.LineQubit.range(2)
    circuit = cirq.Circuit(cirq.measure(q[0], key="x"), cirq.X(q[0]), cirq.measure(*q, key="m"))
    assert plan_blocks(circuit, []) is None


def test_science_state_executes_few_block_circuits_at_80_qubits():
    rng = np.random.default_rng(5)
    state = cl.PauliMixedState("".join(rng.choice(list("XYZ"), size=40)), alpha=0.9, sign=1)
    data = cl.collect(
        state, protocol="bell", copies=20_000, noise="depolarizing:0.01+readout:0.01", seed=4
    )
    info = data.metadata["execution"]
    assert info["path"] == "blocks" and info["blocks"] == 40
    # Distinct block circuits: 3 letters x 4 flip settings at most, whatever n is.
    assert info["block_circuits_executed"] <= 12
    est = data.estimate_square([state.pauli, "Z" * 40])
    assert abs(est.values[1]) <= 5 * est.stderr[1]
