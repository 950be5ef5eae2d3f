"""The state path: simulate a fixed preparation once, measure every shot from that state.

Truth is Cirq's density-matrix simulator run on the whole resolved circuit (exact
probabilities at small n). Statistical checks use Pearson's chi-square with a fixed
alpha = 1e-3 (expected counts below 5 pooled), never a tuned threshold.
"""

from __future__ import annotations

import itertools

import cirq
import numpy as np
import pytest
import sympy
from kernel_paths import both_paths
from scipy import stats

import copylearn as cl
from copylearn.backends import limits, plan
from copylearn.backends.state_sampling import (
    DENSITY_MATRIX_QUBITS,
    measurement_rows,
    plan_state,
    prepared_ensemble,
)
from copylearn.compiled import COLLAPSE
from copylearn.errors import CopylearnError
from copylearn.noise import parse_noise
from copylearn.protocols import get_protocol

ALPHA = 1e-3


def entangled(n: int, seed: int = 0) -> cirq.Circuit:
    """Random single-qubit rotations then a CNOT chain (does not factor)."""
    rng = np.random.default_rng(seed)
    q = cirq.LineQubit.range(n)
    rotations = [
        cirq.PhasedXZGate(
            x_exponent=rng.uniform(0, 1), z_exponent=rng.uniform(-1, 1), axis_phase_exponent=0.3
        ).on(x)
        for x in q
    ]
    return cirq.Circuit(rotations, *(cirq.CNOT(q[i], q[i + 1]) for i in range(n - 1)))


def noisy_plan(state, protocol, noise, execution="auto", backend="qsim"):
    circuit, names = get_protocol(protocol).build(state)
    model = parse_noise(noise) if noise else None
    if model is not None:
        circuit = circuit.with_noise(model)
    return plan(circuit, names, backend, execution), names


def keyed_qubits(circuit: cirq.Circuit) -> list[cirq.Qid]:
    """Measured qubits in the order the outcome index below reads them (keys sorted)."""
    ops = sorted(
        (op for op in circuit.all_operations() if cirq.is_measurement(op)),
        key=lambda op: cirq.measurement_key_name(op),
    )
    return [q for op in ops for q in op.qubits]


def exact_probabilities(circuit: cirq.Circuit, resolver: dict) -> np.ndarray:
    """Outcome probabilities of the resolved circuit by Cirq's density-matrix simulator."""
    measured = keyed_qubits(circuit)
    body = cirq.resolve_parameters(cirq.drop_terminal_measurements(circuit), resolver)
    others = sorted(set(circuit.all_qubits()) - set(measured))
    body += cirq.Circuit(cirq.I.on_each(*measured, *others))
    rho = (
        cirq.DensityMatrixSimulator(dtype=np.complex128)
        .simulate(body, qubit_order=measured + others)
        .final_density_matrix
    )
    return np.real(np.diagonal(rho)).reshape(2 ** len(measured), -1).sum(axis=1)


def outcome_index(outcomes: dict[str, np.ndarray]) -> np.ndarray:
    bits = np.concatenate([outcomes[k] for k in sorted(outcomes)], axis=1).astype(np.int64)
    return bits @ (1 << np.arange(bits.shape[1] - 1, -1, -1))


def path_probabilities(the_plan, names, setting: np.ndarray) -> np.ndarray:
    """The state path's outcome distribution, exactly: its ensemble and its stage effects."""
    stage = the_plan.stage
    states, weights = prepared_ensemble(stage, the_plan.backend)
    resolver = dict(zip(names, setting.astype(float), strict=True))
    effects = []
    for ops, (_, _, invert) in zip(stage.stages, stage.targets, strict=True):
        rows, bits = measurement_rows([cirq.resolve_parameters(op, resolver) for op in ops])
        pair = [
            sum(np.outer(r.conj(), r) for r, b in zip(rows, bits, strict=True) if b == c)
            for c in (0, 1)
        ]
        effects.append(pair[::-1] if invert else pair)
    m, q = len(stage.targets), stage.qubits
    by_order = {}
    for outcome in itertools.product((0, 1), repeat=m):
        total = 0.0
        for vector, w in zip(states.astype(np.complex128), weights, strict=True):
            psi = vector.reshape((2,) * q)
            for k, b in enumerate(outcome):
                psi = np.moveaxis(np.tensordot(effects[k][b], psi, axes=([1], [k])), 0, k)
            total += w * np.vdot(vector, psi.reshape(-1)).real
        by_order[outcome] = total
    # Re-index from the path's sampling order to the keyed order of exact_probabilities.
    position = {(key, bit): j for j, (key, bit, _) in enumerate(stage.targets)}
    keyed = sorted(position)
    result = np.zeros(2**m)
    for outcome, p in by_order.items():
        bits = [outcome[position[kb]] for kb in keyed]
        result[int("".join(map(str, bits)), 2)] = p
    return result


CASES = [
    ("pauli-shadow", None),
    ("pauli-shadow", "depolarizing:0.05+readout:0.04+state_depolarizing:0.03"),
    ("pauli-shadow", "amplitude_damping:0.1"),
    ("bell", None),
    ("bell", "depolarizing:0.03+readout:0.02"),
]


@pytest.mark.parametrize(("protocol", "noise"), CASES)
def test_distribution_equals_the_exact_density_matrix(protocol, noise):
    n = 3 if protocol == "pauli-shadow" else 2
    state = cl.CircuitState(entangled(n, seed=4))
    the_plan, names = noisy_plan(state, protocol, noise, execution="state")
    assert the_plan.stage is not None and the_plan.blocks is None
    settings = list(itertools.product((0, 1), repeat=2 * n)) if protocol == "pauli-shadow" else [()]
    for setting in settings[:: 3 if len(settings) > 8 else 1]:
        setting = np.array(setting, dtype=np.uint8)
        truth = exact_probabilities(
            the_plan.circuit, dict(zip(names, setting.astype(float), strict=True))
        )
        mine = path_probabilities(the_plan, names, setting)
        np.testing.assert_allclose(mine, truth, atol=2e-6)


def test_exact_backend_distribution_and_invert_mask():
    q = cirq.LineQubit.range(3)
    s = sympy.Symbol("t")
    circuit = entangled(3, seed=2) + cirq.Circuit(
        cirq.rx(s)(q[1]),
        cirq.bit_flip(0.1)(q[0]),
        cirq.measure(q[0], q[2], key="m", invert_mask=(True, False)),
        cirq.measure(q[1], key="k"),
    )
    the_plan = plan(circuit, ["t"], "exact", "state")
    for t in (0.0, 0.7):
        truth = exact_probabilities(circuit, {"t": t})
        np.testing.assert_allclose(
            path_probabilities(the_plan, ["t"], np.array([t])), truth, atol=1e-9
        )


def chi_square_pvalue(observed: np.ndarray, expected_p: np.ndarray) -> tuple[float, int]:
    """Pearson chi-square statistic and dof with expected counts below 5 pooled into one bin."""
    total = observed.sum()
    expected = expected_p * total
    small = expected < 5
    obs = np.append(observed[~small], observed[small].sum())
    exp = np.append(expected[~small], expected[small].sum())
    keep = exp > 0
    obs, exp = obs[keep], exp[keep]
    return float(((obs - exp) ** 2 / exp).sum()), len(obs) - 1


@pytest.mark.parametrize(("protocol", "noise"), CASES)
def test_samples_pass_chi_square_at_small_n(protocol, noise):
    n = 3 if protocol == "pauli-shadow" else 2
    state = cl.CircuitState(entangled(n, seed=7))
    the_plan, names = noisy_plan(state, protocol, noise, execution="state")
    k = len(names)
    settings = np.array(list(itertools.product((0, 1), repeat=k)), dtype=np.uint8)
    settings = settings.reshape(2**k, k)[::5]  # 13 of the 64 shadow settings; Bell has one
    shots_each = 3000
    values = np.repeat(settings, shots_each, axis=0)
    values = values[np.random.default_rng(3).permutation(len(values))]
    outcomes, info = the_plan.run(values, np.random.SeedSequence(11))
    assert info["path"] == "state"
    index = outcome_index(outcomes)
    statistic, dof = 0.0, 0
    for setting in settings:
        rows = np.all(values == setting, axis=1)
        truth = exact_probabilities(
            the_plan.circuit, dict(zip(names, setting.astype(float), strict=True))
        )
        observed = np.bincount(index[rows], minlength=len(truth)).astype(float)
        s, d = chi_square_pvalue(observed, truth)
        statistic, dof = statistic + s, dof + d
    assert stats.chi2.sf(statistic, dof) > ALPHA, (statistic, dof)


@pytest.mark.parametrize("n", [6, 8])
def test_random_bases_pass_chi_square_at_n_6_and_8(n):
    """Random per-shot bases as collect draws them; chi-square per setting for 12 settings."""
    state = cl.CircuitState(entangled(n, seed=n))
    the_plan, names = noisy_plan(state, "pauli-shadow", None)
    rng = np.random.default_rng(n)
    settings = rng.integers(0, 2, size=(12, 2 * n)).astype(np.uint8)
    settings[:, n:] |= settings[:, :n]  # s = 1 needs h = 1 (Y): only X, Y, Z bases
    values = np.repeat(settings, 2000, axis=0)
    outcomes, _ = the_plan.run(values, np.random.SeedSequence(5))
    index = outcome_index(outcomes)
    statistic, dof = 0.0, 0
    for j, setting in enumerate(settings):
        truth = exact_probabilities(
            the_plan.circuit, dict(zip(names, setting.astype(float), strict=True))
        )
        observed = np.bincount(index[j * 2000 : (j + 1) * 2000], minlength=len(truth))
        s, d = chi_square_pvalue(observed.astype(float), truth)
        statistic, dof = statistic + s, dof + d
    assert stats.chi2.sf(statistic, dof) > ALPHA, (statistic, dof)


def test_collect_takes_the_state_path_and_is_reproducible():
    state = cl.CircuitState(entangled(5, seed=1))
    first = cl.collect(state, protocol="pauli-shadow", copies=400, seed=9)
    again = cl.collect(state, protocol="pauli-shadow", copies=400, seed=9)
    other = cl.collect(state, protocol="pauli-shadow", copies=400, seed=10)
    assert first.metadata["execution"]["path"] == "state"
    for name in first.arrays:
        np.testing.assert_array_equal(first.arrays[name], again.arrays[name])
    assert not np.array_equal(first.arrays["bits"], other.arrays["bits"])
    bell = cl.collect(state, protocol="bell", copies=400, seed=9, execution="state")
    assert bell.metadata["execution"]["state_qubits"] == 10


def test_memory_stays_bounded_when_branches_are_expanded_in_groups(monkeypatch):
    """A tiny branch budget forces the depth-first groups; the data must not change."""
    from copylearn.backends import state_sampling

    state = cl.CircuitState(entangled(7, seed=3))
    the_plan, _ = noisy_plan(state, "pauli-shadow", None)
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 3, size=(3000, 7))
    values = np.concatenate([(codes == 1), (codes != 2)], axis=1).astype(np.uint8)
    wide, _ = the_plan.run(values, np.random.SeedSequence(2))
    monkeypatch.setattr(state_sampling, "BRANCH_BYTES", 64)
    the_plan.cache.clear()
    narrow, _ = the_plan.run(values, np.random.SeedSequence(2))
    np.testing.assert_array_equal(wide["m"], narrow["m"])


# ----- where the path does not apply: the whole-circuit path runs instead -------------------


def test_parameterised_preparation_falls_back():
    q = cirq.LineQubit.range(2)
    s = sympy.Symbol("a")
    circuit = cirq.Circuit(cirq.rx(s)(q[0]), cirq.CNOT(q[0], q[1]), cirq.measure(*q, key="m"))
    assert plan(circuit, ["a"]).stage is None  # auto: blocks (this one factors) or the circuit
    with pytest.raises(CopylearnError, match="a preparation with per-shot parameters") as info:
        plan(circuit, ["a"], execution="state")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ("confusion", "confusion map"),
        ("two-qubit noise", "per-shot parameters"),
        ("mid-circuit", "mid-circuit measurement"),
    ],
)
def test_unsupported_measurement_stages_fall_back(extra, reason):
    q = cirq.LineQubit.range(2)
    s = sympy.Symbol("h")
    prep = cirq.Circuit(cirq.H(q[0]), cirq.CNOT(q[0], q[1]))
    stage = cirq.Circuit(cirq.H(q[0]) ** s, cirq.H(q[1]) ** s)
    if extra == "confusion":
        flip = np.array([[0.9, 0.1], [0.2, 0.8]])
        measure = cirq.MeasurementGate(2, key="m", confusion_map={(0,): flip}).on(*q)
        circuit = prep + stage + cirq.Circuit(measure)
    elif extra == "two-qubit noise":
        channel = cirq.asymmetric_depolarize(error_probabilities={"XX": 0.1}).on(*q)
        circuit = prep + stage + cirq.Circuit(channel, cirq.measure(*q, key="m"))
    else:
        circuit = prep + cirq.Circuit(cirq.measure(q[0], key="x")) + stage
        circuit += cirq.Circuit(cirq.measure(*q, key="m"))
    stage_plan, why = plan_state(circuit, ["h"])
    assert stage_plan is None and reason in why
    assert plan(circuit, ["h"]).stage is None  # auto: the whole-circuit path
    with pytest.raises(CopylearnError, match="does not apply"):
        plan(circuit, ["h"], execution="state")


def test_noisy_preparation_above_the_density_matrix_limit_falls_back():
    n = DENSITY_MATRIX_QUBITS + 1
    state = cl.CircuitState(entangled(n))
    the_plan, _ = noisy_plan(state, "pauli-shadow", "depolarizing:0.01")
    assert the_plan.stage is None and the_plan.blocks is None
    with pytest.raises(CopylearnError, match=f"at most {DENSITY_MATRIX_QUBITS} qubits"):
        noisy_plan(state, "pauli-shadow", "depolarizing:0.01", execution="state")
    # Storage and measurement-stage noise alone keep the preparation pure: the path applies.
    pure_prep, _ = noisy_plan(state, "pauli-shadow", "state_depolarizing:0.02+readout:0.01")
    circuit = pure_prep.circuit
    assert plan_state(circuit, pure_prep.parameter_names)[0] is not None


# ----- size limits: one line, before allocating --------------------------------------------


@pytest.mark.parametrize(
    ("qubits", "density", "available", "expected"),
    [
        (32, False, 16 * limits.GIB, "prepared 32-qubit state vector and needs about 96 GiB"),
        (20, False, 2**20, "the state path runs at most 15 qubits here"),
        (11, True, 2**50, "density matrices of at most 10 qubits"),
        (10, True, 2**20, "runs at most 7 qubits here"),
    ],
)
def test_check_state_refuses_in_one_line(qubits, density, available, expected):
    with pytest.raises(CopylearnError) as info:
        limits.check_state(qubits, density_matrix=density, available=available)
    assert expected in str(info.value) and "\n" not in str(info.value)


def test_bell_of_a_16_qubit_entangled_state_refuses_before_allocating(monkeypatch):
    """32 qubits on the state path need three 32 GiB state vectors: refused at planning."""
    monkeypatch.setenv(limits.MEMORY_ENV, "16")
    state = cl.CircuitState(entangled(16))
    with pytest.raises(CopylearnError) as info:
        cl.collect(state, protocol="bell", copies=20, seed=1)
    message = str(info.value)
    assert "prepared 32-qubit state vector" in message and "\n" not in message


def test_path_limits_list_every_path():
    table = limits.path_limits(available=limits.GIB)
    assert table["blocks"] == 10 and table["state noisy"] == 10
    assert table["circuit qsim"] == 27 and table["state pure"] == 25
    limits.register_path_limit("stabilizer (test)", lambda available: 1000)
    try:
        assert limits.path_limits(available=limits.GIB)["stabilizer (test)"] == 1000
    finally:
        limits._PATH_LIMITS.pop("stabilizer (test)")


@pytest.mark.parametrize("shape", [(5, 2, 3000), (3, 2, 40000), (600, 2, 1), (2, 2, 1 << 14)])
def test_compiled_kernels_match_numpy_bit_for_bit(monkeypatch, shape):
    """The numba kernels and the NumPy fallback give the same bits (docs/theory.md §12.2):
    reduced states over one and several chunks, children one at a time and gathered."""
    from copylearn.backends import state_sampling

    rng = np.random.default_rng(shape[2])
    view = (rng.normal(size=shape) + 1j * rng.normal(size=shape)).astype(np.complex64)
    fast, numpy_ = both_paths(monkeypatch, COLLAPSE, lambda: state_sampling._reduced(view))
    assert fast.tobytes() == numpy_.tobytes()
    for k in (3, 9):  # the fallback's two branches: one child at a time, and gathered
        source = rng.integers(0, shape[0], size=k)
        rows = rng.normal(size=(k, 2)) + 1j * rng.normal(size=(k, 2))
        probability = rng.uniform(0.1, 1.0, size=k)
        args = (view, source, rows, probability)
        fast, numpy_ = both_paths(
            monkeypatch, COLLAPSE, lambda args=args: state_sampling._expand(*args)
        )
        assert fast.tobytes() == numpy_.tobytes()
        coeff = (rows / np.sqrt(probability)[:, None]).astype(np.complex64)
        exact = coeff[:, :1] * view[source, 0].astype(np.complex128) + coeff[:, 1:] * view[
            source, 1
        ].astype(np.complex128)
        np.testing.assert_allclose(fast, exact, rtol=0, atol=1e-5)


class _Uniforms:
    """A stand-in for the run's generator that hands ``run_state`` chosen uniforms."""

    def __init__(self, u: np.ndarray) -> None:
        self.u = u

    def random(self, size):
        assert size == self.u.shape
        return self.u


def test_draws_on_probability_boundaries_do_not_depend_on_numba(monkeypatch):
    """Uniforms placed on (and within 1e-15 .. 1e-9 of) each shot's conditional boundary
    p(0 | earlier bits), qubit by qubit, on a 16-qubit state (two chunks at the first qubit):
    the compiled and the NumPy state path give the same bits for every shot (§12.2)."""
    from copylearn.backends.state_sampling import run_state

    n, shots = 16, 240
    q = cirq.LineQubit.range(n)
    circuit = entangled(n, seed=3) + cirq.Circuit(cirq.measure(*q, key="m"))
    stage, why = plan_state(circuit, [])
    assert stage is not None, why
    psi = prepared_ensemble(stage, "qsim")[0][0].astype(np.complex128).reshape((2,) * n)
    rng = np.random.default_rng(4)
    offsets = np.array([0.0, 1e-15, -1e-15, 1e-12, -1e-12, 1e-9, -1e-9])
    u = np.empty((shots, n))
    for i in range(shots):
        branch = psi
        for k in range(n):
            weight = np.abs(branch.reshape(2, -1)) ** 2
            p0 = weight[0].sum() / weight.sum()
            u[i, k] = min(max(p0 * (1 + rng.choice(offsets)), 0.0), np.nextafter(1.0, 0.0))
            branch = branch[int(rng.integers(2)) if p0 in (0.0, 1.0) else int(u[i, k] >= p0)]
    values = np.zeros((shots, 0), dtype=np.uint8)
    fast, numpy_ = both_paths(
        monkeypatch,
        COLLAPSE,
        lambda: run_state(stage, [], values, _Uniforms(u), {"m": n})[0]["m"],
    )
    assert fast.tobytes() == numpy_.tobytes()


@pytest.mark.parametrize("check", ["state", "register"])
def test_32_qubit_qsim_registers_refuse_even_with_the_memory(check):
    """Bell on a non-factoring 16-qubit state: 32 qubits, refused in one line at any memory."""
    with pytest.raises(CopylearnError) as info:
        if check == "state":
            limits.check_state(32, density_matrix=False, available=2**50)
        else:
            limits.check_register(32, "qsim", available=2**50)
    message = str(info.value)
    assert "at most 31 qubits" in message and "\n" not in message
    limits.check_state(31, density_matrix=False, available=2**50)  # 31 fits on such a machine
