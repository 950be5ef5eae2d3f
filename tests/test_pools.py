"""Measurement-circuit pools: a protocol with several circuits in one collection.

The protocol here exists only in this file: a single copy is rotated by one of K fixed
Haar-random global unitaries U_k (drawn once, seeded per n), the member drawn uniformly per
group of R shots, and measured in the computational basis. Linear inversion of its
measurement map gives an unbiased single-shot estimate of tr(Q rho): with M[(k, b), P] =
tr(U_k^dag |b><b| U_k P) / 2^n, tr(Q rho) = sum_{k,b} M^+[Q, (k, b)] p_k(b), so
x_Q = K M^+[Q, (k, b)] of the shot's member k and outcome b has mean tr(Q rho) when k is
uniform (the pool is tomographically complete for the K used). Shots of one group share k,
so errors are taken over group means.

Truth: the exact density matrix of the state (noiseless), and each member's exact outcome
distribution from Cirq's density-matrix simulator on the planned (noisy) member circuit.
"""

from __future__ import annotations

import itertools
from functools import reduce

import cirq
import numpy as np
import pytest
from scipy import stats

from copylearn import calibration
from copylearn.collect import _POOL_STREAM, prepare_collector
from copylearn.errors import CopylearnError
from copylearn.protocols import _REGISTRY, Protocol
from copylearn.seeding import substream
from copylearn.states import PauliEigenstate, PauliMixedState, random_brickwork_state

POOL_SIZE = {1: 4, 2: 6}  # K(2^n - 1) + 1 >= 4^n: tomographically complete
GROUP = 5  # shots per group sharing one pool member
Z_MAX = 5.0
ALPHA = 1e-3  # chi-square significance, Bonferroni-split over the pool members
NOISE = "depolarizing:0.05"
LETTERS = {
    "I": np.eye(2, dtype=complex),
    "X": np.array([[0, 1], [1, 0]], dtype=complex),
    "Y": np.array([[0, -1j], [1j, 0]], dtype=complex),
    "Z": np.array([[1, 0], [0, -1]], dtype=complex),
}


def pauli_labels(n: int) -> list[str]:
    return ["".join(p) for p in itertools.product("IXYZ", repeat=n)]


def pauli_matrix(label: str) -> np.ndarray:
    return reduce(np.kron, (LETTERS[c] for c in label), np.eye(1, dtype=complex))


def pool_unitaries(n: int, size: int) -> list[np.ndarray]:
    """Haar-random unitaries (QR of a complex Ginibre matrix, phases fixed), seeded per n."""
    rng = np.random.default_rng(1000 + n)
    out = []
    for _ in range(size):
        z = rng.normal(size=(2**n, 2**n)) + 1j * rng.normal(size=(2**n, 2**n))
        q, r = np.linalg.qr(z)
        out.append(q * (np.diag(r) / np.abs(np.diag(r))))
    return out


def inversion(n: int, size: int) -> np.ndarray:
    """``(4^n, size * 2^n)``: K M^+, the single-shot value of each Pauli per (member, b)."""
    d = 2**n
    rows = []
    for u in pool_unitaries(n, size):
        for b in range(d):
            effect = u.conj().T @ np.outer(np.eye(d)[b], np.eye(d)[b]) @ u
            rows.append([np.trace(effect @ pauli_matrix(p)).real / d for p in pauli_labels(n)])
    m = np.array(rows)
    assert np.linalg.matrix_rank(m) == d * d  # the pool determines rho
    return size * np.linalg.pinv(m)


class GlobalBases(Protocol):
    """Test only: one of K fixed random global bases per group of R shots."""

    name = "test-global-bases"
    description = "test only: a random global basis from a fixed pool per shot group"
    copies_per_shot = 1
    arrays = ("bits", "circuit")
    estimators = ("tr(Q rho)",)
    calibrates = True
    extra = 0  # pool members appended beyond POOL_SIZE[n] (never drawn)

    def circuits(self, state):
        qubits = cirq.LineQubit.range(state.n)
        size = POOL_SIZE[state.n] + self.extra
        return tuple(
            (
                state.prep_circuit(qubits)
                + cirq.Circuit(cirq.MatrixGate(u).on(*qubits), cirq.measure(*qubits, key="m")),
                state.parameter_names,
            )
            for u in pool_unitaries(state.n, size)
        )

    def build(self, state):
        return self.circuits(state)[0]

    def draw(self, state, shots, rngs):
        groups = -(-shots // GROUP)
        members = rngs["protocol"].integers(0, POOL_SIZE[state.n], size=groups)
        values = state.sample_parameters(rngs["state_a"], shots)
        return values, {"circuit": np.repeat(members, GROUP)[:shots]}

    def outcome_arrays(self, record, measurements):
        return {"circuit": record["circuit"], "bits": measurements["m"]}

    def sums_values(self, paulis, data):
        n = data["bits"].shape[1]
        table = inversion(n, POOL_SIZE[n])
        index = {p: i for i, p in enumerate(pauli_labels(n))}
        b = data["bits"] @ (1 << np.arange(n)[::-1])
        column = data["circuit"] * 2**n + b
        return np.stack([table[index[p], column] for p in paulis.labels], axis=1)

    def calibration_stderr(self, mean, w, shots):
        groups = w.reshape(-1, GROUP, w.shape[1]).mean(axis=1)
        return groups.std(axis=0, ddof=1) / np.sqrt(len(groups))


class WiderPool(GlobalBases):
    name = "test-global-bases-wider"
    extra = 2


@pytest.fixture(autouse=True)
def registered():
    for cls in (GlobalBases, WiderPool):
        _REGISTRY.entries[cls.name] = cls()
    yield
    for cls in (GlobalBases, WiderPool):
        del _REGISTRY.entries[cls.name]


def group_means(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    g = x.reshape(-1, GROUP, x.shape[1]).mean(axis=1)
    return g.mean(axis=0), g.std(axis=0, ddof=1) / np.sqrt(len(g))


def estimates(data: dict, n: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    from copylearn.pauli import parse_paulis

    labels = pauli_labels(n)[1:]
    x = GlobalBases().sums_values(parse_paulis(labels, n), data)
    return labels, *group_means(x)


def exact_distribution(collector, member: int, row: np.ndarray) -> np.ndarray:
    """Member ``member``'s outcome distribution at parameter values ``row``, exactly."""
    circuit = cirq.resolve_parameters(
        collector.plans[member].circuit,
        dict(zip(collector.parameter_names, map(float, row), strict=True)),
    )
    unmeasured = cirq.Circuit(op for op in circuit.all_operations() if not cirq.is_measurement(op))
    qubits = cirq.LineQubit.range(collector.n)
    rho = cirq.DensityMatrixSimulator(dtype=np.complex128).simulate(unmeasured, qubit_order=qubits)
    return np.real(np.diagonal(rho.final_density_matrix)).clip(0)


@pytest.mark.parametrize("n", [1, 2])
@pytest.mark.parametrize("backend", ["qsim", "exact"])
def test_pool_estimates_match_the_exact_density_matrix(n, backend):
    for i, state in enumerate(
        [random_brickwork_state(n, 2, seed=30 + n), PauliMixedState("XY"[:n], 0.7, -1)]
    ):
        collector = prepare_collector(state, GlobalBases.name, backend=backend)
        assert len(collector.plans) == POOL_SIZE[n]
        data, info = collector.sample(state, 6000, np.random.SeedSequence([n, i]))
        assert info["pool_circuits"] == POOL_SIZE[n]
        labels, mean, se = estimates(data, n)
        truth = np.array([np.trace(pauli_matrix(p) @ state.density_matrix()).real for p in labels])
        z = np.abs(mean - truth) / se
        assert z.max() < Z_MAX, (labels[int(np.argmax(z))], z.max())


@pytest.mark.parametrize("noise", [None, NOISE])
def test_pool_outcomes_follow_each_members_exact_distribution(noise):
    n = 2
    state = random_brickwork_state(n, 2, seed=4)
    collector = prepare_collector(state, GlobalBases.name, noise, backend="qsim")
    data, _ = collector.sample(state, 6000, np.random.SeedSequence(11))
    codes = data["bits"] @ (1 << np.arange(n)[::-1])
    for k in range(POOL_SIZE[n]):
        observed = np.bincount(codes[data["circuit"] == k], minlength=2**n)
        expected = exact_distribution(collector, k, np.zeros(0)) * observed.sum()
        keep = expected > 0
        chi2 = float((((observed - expected) ** 2)[keep] / expected[keep]).sum())
        p = stats.chi2.sf(chi2, keep.sum() - 1)
        assert p > ALPHA / POOL_SIZE[n], (k, observed, expected)


def test_same_seed_bit_identical_and_member_streams_independent_of_the_pool():
    state = PauliMixedState("XZ", 0.8)
    collector = prepare_collector(state, GlobalBases.name, NOISE)
    first, _ = collector.sample(state, 500, np.random.SeedSequence(3))
    again, _ = prepare_collector(state, GlobalBases.name, NOISE).sample(
        state, 500, np.random.SeedSequence(3)
    )
    for key in first:
        np.testing.assert_array_equal(first[key], again[key])
    # Member k's outcomes come from its own stream: the same with other members' shots absent
    # and with a larger pool (two members appended that are never drawn).
    rngs = {k: np.random.default_rng(i) for i, k in enumerate(("state_a", "state_b", "protocol"))}
    values, record = GlobalBases().draw(state, 500, rngs)
    members = record["circuit"]
    seed = np.random.SeedSequence(8)
    full, _ = collector._run_pool(values, members, seed)
    wider = prepare_collector(state, WiderPool.name, NOISE)
    assert len(wider.plans) == POOL_SIZE[2] + 2
    wide, _ = wider._run_pool(values, members, seed)
    np.testing.assert_array_equal(full["m"], wide["m"])
    rows = np.flatnonzero(members == 2)
    alone, _ = collector._run_pool(values[rows], members[rows], seed)
    np.testing.assert_array_equal(full["m"][rows], alone["m"])
    direct, _ = collector.plans[2].run(
        values[rows], substream(seed, _POOL_STREAM, 2), stream=collector.stream
    )
    np.testing.assert_array_equal(full["m"][rows], direct["m"])


def test_sample_many_routes_each_state_through_the_pool():
    """The sweep runner's path: several states in one run, each matching its own rho."""
    n = 2
    states = [PauliMixedState("XZ", 0.8, 1), PauliMixedState("YY", 0.6, -1)]
    collector = prepare_collector(states[0], GlobalBases.name, backend="exact")
    roots = [np.random.SeedSequence([5, t]) for t in range(len(states))]
    arrays, info = collector.sample_many(states, 6000, roots, np.random.SeedSequence(6))
    again, _ = collector.sample_many(states, 6000, roots, np.random.SeedSequence(6))
    assert info["pool_circuits_executed"] == POOL_SIZE[n]
    for state, data, repeat in zip(states, arrays, again, strict=True):
        np.testing.assert_array_equal(data["bits"], repeat["bits"])
        labels, mean, se = estimates(data, n)
        truth = np.array([np.trace(pauli_matrix(p) @ state.density_matrix()).real for p in labels])
        z = np.abs(mean - truth) / se
        assert z.max() < Z_MAX, (state.pauli, labels[int(np.argmax(z))], z.max())


@pytest.mark.parametrize("noise", [None, NOISE])
def test_calibration_runs_through_the_pool(noise):
    """The damping of each letter on qubit 0 (n = 1) against its exact value: the mean over
    the two eigenstates s of s * sum_k sum_b M^+[L, (k, b)] p_k(b | s) (noiseless: 1)."""
    n = 1
    collector = prepare_collector(PauliMixedState("Z"), GlobalBases.name, noise, backend="exact")
    cal = calibration.measure(collector, 6000, np.random.SeedSequence(2))
    table = inversion(n, POOL_SIZE[n]) / POOL_SIZE[n]
    for j, letter in enumerate("XYZ"):
        exact = 0.0
        for sign in (1, -1):
            eigen = PauliEigenstate(letter, sign)
            row = eigen.sample_parameters(np.random.default_rng(0), 1)[0]
            p = np.concatenate([exact_distribution(collector, k, row) for k in range(POOL_SIZE[n])])
            exact += sign * float(table[pauli_labels(n).index(letter)] @ p) / 2
        if noise is None:
            assert exact == pytest.approx(1.0, abs=1e-9)
        else:
            assert exact < 0.95  # the noise damps: the check below can tell 1 from exact
        z = abs(cal.damping[0, j] - exact) / cal.stderr[0, j]
        assert z < Z_MAX, (letter, cal.damping[0, j], exact, cal.stderr[0, j])


def test_a_pool_record_without_members_is_refused_in_one_line():
    class Forgetful(GlobalBases):
        name = "test-forgetful-pool"

        def draw(self, state, shots, rngs):
            values, _ = super().draw(state, shots, rngs)
            return values, {}

    _REGISTRY.entries[Forgetful.name] = Forgetful()
    try:
        state = PauliMixedState("Z")
        collector = prepare_collector(state, Forgetful.name)
        with pytest.raises(CopylearnError, match="records no 'circuit' entry") as info:
            collector.sample(state, 10, np.random.SeedSequence(0))
        assert "\n" not in str(info.value)
    finally:
        del _REGISTRY.entries[Forgetful.name]
