"""Exact expectation values of the per-shot estimators, independent of copylearn's estimators.

For a state, a protocol and a noise spec this module takes the protocol's circuit (built by
``copylearn.protocols.*.prepare``), enumerates every per-shot parameter setting with its
exact probability, applies the noise model exactly as ``copylearn.collect`` does
(``circuit.with_noise(model)``), drops the measurements, runs
``cirq.DensityMatrixSimulator`` on each resolved circuit and reads the outcome
distribution off the diagonal of the final density matrix. The per-shot estimators are
then averaged with plain Python written from docs/theory.md §3, §4, not from ``copylearn.pauli``:

* shadows (§3.2): ``x_Q = prod_{i in supp Q} 3 * 1[B_i == Q_i] * (-1)^{bit_i}``;
* Bell sampling (§4.2): ``f_Q = prod_i lambda_{Q_i}(m_A,i, m_B,i)`` with the table
  I -> 1, X -> (-1)^mA, Z -> (-1)^mB, Y -> -(-1)^(mA + mB), and the purity estimator
  ``(-1)^{#singlets}`` with a singlet being (mA, mB) = (1, 1).

The parameter distributions are written here from docs/theory.md §2.2 and the protocol
docstrings: shadows choose each qubit's basis uniformly from X, Y, Z, rotated by
``Z**(-s/2)`` then ``H**h`` with (s, h) = (0, 1), (1, 1), (0, 0); a ``PauliMixedState`` draws
flip pattern b with probability 2^-(n-1) * ((1 + alpha)/2 if the P-parity of b is the
target parity of ``sign`` else (1 - alpha)/2); the two Bell copies draw independently.

Everything is exact and small: meant for n <= 3 (n = 4 works, slowly).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import reduce

import cirq
import numpy as np

from copylearn.noise import parse_noise
from copylearn.protocols import prepare, two_copy
from copylearn.states import CircuitState, PauliMixedState

PAULI_MATRICES = {
    "I": np.eye(2, dtype=complex),
    "X": np.array([[0, 1], [1, 0]], dtype=complex),
    "Y": np.array([[0, -1j], [1j, 0]], dtype=complex),
    "Z": np.array([[1, 0], [0, -1]], dtype=complex),
}
# Rotation before the Z measurement, per basis: (exponent of Z, exponent of H).
SHADOW_ROTATIONS = {"X": (0.0, 1.0), "Y": (1.0, 1.0), "Z": (0.0, 0.0)}


def all_paulis(n: int) -> list[str]:
    """The 4^n - 1 non-identity Pauli labels on n qubits."""
    return ["".join(p) for p in itertools.product("IXYZ", repeat=n) if set(p) != {"I"}]


def pauli_matrix(label: str) -> np.ndarray:
    """Dense matrix of a Pauli label (qubit 0 is the leftmost tensor factor)."""
    return reduce(np.kron, (PAULI_MATRICES[c] for c in label), np.eye(1, dtype=complex))


def expectation(rho: np.ndarray, label: str) -> float:
    """tr(Q rho) for a Hermitian rho."""
    return float(np.real(np.trace(pauli_matrix(label) @ rho)))


def state_settings(state) -> list[tuple[tuple[float, ...], float]]:
    """Every value of the state's per-shot parameters with its exact probability."""
    if isinstance(state, CircuitState):
        return [((), 1.0)]
    if isinstance(state, PauliMixedState):
        n = len(state.pauli)
        support = [i for i, p in enumerate(state.pauli) if p != "I"]
        target = 1 if state.sign < 0 else 0  # P-eigenvalue (-1)^parity equals sign
        keep, flip = (1 + state.alpha) / 2, (1 - state.alpha) / 2
        out = []
        # P's eigenbasis turns: H for X and Y, then S for Y (constant per state).
        turns = tuple(float(p in "XY") for p in state.pauli) + tuple(
            float(p == "Y") for p in state.pauli
        )
        for bits in itertools.product((0, 1), repeat=n):
            parity = sum(bits[i] for i in support) % 2
            out.append(
                (
                    tuple(float(b) for b in bits) + turns,
                    2.0 ** -(n - 1) * (keep if parity == target else flip),
                )
            )
        return out
    raise TypeError(f"no exact parameter distribution for {type(state).__name__}")


def _without_measurements(circuit: cirq.Circuit) -> cirq.Circuit:
    return cirq.Circuit(
        cirq.Moment(op for op in moment if not cirq.is_measurement(op)) for moment in circuit
    )


def _noisy(circuit: cirq.Circuit, noise: str | None) -> cirq.Circuit:
    model = parse_noise(noise) if noise else None
    circuit = circuit if model is None else circuit.with_noise(model)
    return _without_measurements(circuit)


def _outcome_probabilities(
    simulator: cirq.DensityMatrixSimulator,
    circuit: cirq.Circuit,
    names: tuple[str, ...],
    values: tuple[float, ...],
    qubits: list[cirq.Qid],
) -> np.ndarray:
    assert len(names) == len(values), (names, values)
    resolved = cirq.resolve_parameters(circuit, dict(zip(names, values, strict=True)))
    rho = simulator.simulate(resolved, qubit_order=qubits).final_density_matrix
    probs = np.real(np.diag(rho)).astype(np.float64)
    assert abs(probs.sum() - 1) < 1e-6 and probs.min() > -1e-6, probs
    probs = np.clip(probs, 0.0, None)
    return probs / probs.sum()


def _bit_table(n_bits: int) -> np.ndarray:
    """Big-endian bits of every basis index: ``(2^n_bits, n_bits)``."""
    idx = np.arange(2**n_bits)
    return ((idx[:, None] >> np.arange(n_bits - 1, -1, -1)[None]) & 1).astype(np.int64)


def _dummy_rngs() -> dict[str, np.random.Generator]:
    return {k: np.random.default_rng(0) for k in ("state_a", "state_b", "protocol", "backend")}


@dataclass(frozen=True)
class Moments:
    """Exact first and second moments of a per-shot estimator, one entry per observable."""

    labels: tuple[str, ...]
    mean: np.ndarray
    second: np.ndarray

    @property
    def variance(self) -> np.ndarray:
        """Per-shot variance."""
        return np.maximum(self.second - self.mean**2, 0.0)

    def __getitem__(self, label: str) -> float:
        return float(self.mean[self.labels.index(label)])


def shadow_moments(state, labels: list[str], noise: str | None = None) -> Moments:
    """Exact E x_Q and E x_Q^2 of the random-Pauli shadow estimator under ``noise``."""
    n = state.n
    experiment = prepare("pauli-shadow", state, 1, _dummy_rngs())
    circuit = _noisy(experiment.circuit, noise)
    qubits = cirq.LineQubit.range(n)
    simulator = cirq.DensityMatrixSimulator(dtype=np.complex128)
    signs = 1 - 2 * _bit_table(n)  # (2^n, n) eigenvalues (-1)^bit
    mean = np.zeros(len(labels))
    second = np.zeros(len(labels))
    for state_values, p_state in state_settings(state):
        for bases in itertools.product("XYZ", repeat=n):
            s_values = tuple(SHADOW_ROTATIONS[b][0] for b in bases)
            h_values = tuple(SHADOW_ROTATIONS[b][1] for b in bases)
            probs = _outcome_probabilities(
                simulator,
                circuit,
                experiment.parameter_names,
                state_values + s_values + h_values,
                qubits,
            )
            weight = p_state / 3**n
            for k, label in enumerate(labels):
                x = np.ones(len(probs))
                for i, q in enumerate(label):
                    if q == "I":
                        continue
                    x = x * (3.0 * (bases[i] == q) * signs[:, i])
                mean[k] += weight * float(probs @ x)
                second[k] += weight * float(probs @ (x * x))
    return Moments(tuple(labels), mean, second)


def _bell_lambda(letter: str, m_a: np.ndarray, m_b: np.ndarray) -> np.ndarray:
    """Eigenvalue of Q_i (x) Q_i on the Bell outcome (m_a, m_b), docs/theory.md §4.2."""
    if letter == "I":
        return np.ones(len(m_a))
    if letter == "X":
        return (-1.0) ** m_a
    if letter == "Z":
        return (-1.0) ** m_b
    if letter == "Y":
        return -((-1.0) ** (m_a + m_b))
    raise ValueError(letter)


def bell_outcome_distributions(state, noise: str | None = None):
    """Yield ``(probability of setting, outcome probabilities, m_A bits, m_B bits)``.

    Outcomes are indexed over the qubit order A_0, B_0, A_1, B_1, ...
    """
    n = state.n
    experiment = prepare("bell", state, 1, _dummy_rngs())
    circuit = _noisy(experiment.circuit, noise)
    a, b = two_copy.registers(n)
    qubits = [q for pair in zip(a, b, strict=True) for q in pair]
    assert set(qubits) == set(circuit.all_qubits())
    bits = _bit_table(2 * n)
    m_a, m_b = bits[:, 0::2], bits[:, 1::2]
    simulator = cirq.DensityMatrixSimulator(dtype=np.complex128)
    settings = state_settings(state)
    for (va, pa), (vb, pb) in itertools.product(settings, settings):
        probs = _outcome_probabilities(
            simulator, circuit, experiment.parameter_names, va + vb, qubits
        )
        yield pa * pb, probs, m_a, m_b


def bell_moments(state, labels: list[str], noise: str | None = None) -> tuple[Moments, Moments]:
    """Exact moments of f_Q (for ``labels``) and of the purity estimator (label ``"purity"``)."""
    mean = np.zeros(len(labels))
    second = np.zeros(len(labels))
    purity = 0.0
    for p_setting, probs, m_a, m_b in bell_outcome_distributions(state, noise):
        for k, label in enumerate(labels):
            f = np.ones(len(probs))
            for i, q in enumerate(label):
                f = f * _bell_lambda(q, m_a[:, i], m_b[:, i])
            mean[k] += p_setting * float(probs @ f)
            second[k] += p_setting * float(probs @ (f * f))
        singlets = (m_a * m_b).sum(axis=1)
        purity += p_setting * float(probs @ ((-1.0) ** singlets))
    return (
        Moments(tuple(labels), mean, second),
        Moments(("purity",), np.array([purity]), np.array([1.0])),
    )


def clifford_conditional_moments(state, dataset, labels: list[str], noise: str | None = None):
    """Exact E[x_Q | C] and E[x_Q^2 | C] of each shot of a ``clifford-shadow`` dataset.

    ``dataset`` was collected from ``state`` with ``noise``. Given the Clifford C of a shot
    (its recorded tableau), the outcome law p(b | C) is read off the final density matrix
    of the noisy circuit: the protocol's template resolved at C, every state parameter
    setting enumerated, noise attached as ``collect`` attaches it. The single-shot value
    x_Q(C, b) = (2^n + 1) <b| U Q U^dagger |b> (Q != I) uses a dense U from Cirq's own
    decomposition of the recorded tableau (``cirq.decompose_clifford_tableau_to_operations``),
    not copylearn's conjugation.

    Returns
    -------
    (mean, second)
        ``(shots, len(labels))`` arrays.
    """
    from copylearn.clifford import template_exponents
    from copylearn.protocols import get_protocol

    n = dataset.n
    raw = dataset.outcomes()
    xs, zs, rs = raw["xs"], raw["zs"], raw["rs"]
    circuit, names = get_protocol("clifford-shadow").build(state)
    circuit = _noisy(circuit, noise)
    qubits = cirq.LineQubit.range(n)
    simulator = cirq.DensityMatrixSimulator(dtype=np.complex128)
    key = np.concatenate([xs.reshape(len(xs), -1), zs.reshape(len(zs), -1), rs], axis=1)
    distinct, inverse = np.unique(key, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    paulis = [reduce(np.kron, [PAULI_MATRICES[c] for c in q]) for q in labels]
    mean = np.zeros((len(distinct), len(labels)))
    second = np.zeros((len(distinct), len(labels)))
    for g in range(len(distinct)):
        s = int(np.flatnonzero(inverse == g)[0])
        tableau = cirq.CliffordTableau(
            n, rs=rs[s].astype(bool), xs=xs[s].astype(bool), zs=zs[s].astype(bool)
        )
        ops = cirq.decompose_clifford_tableau_to_operations(qubits, tableau)
        u = cirq.Circuit(ops, [cirq.I(q) for q in qubits]).unitary(qubit_order=qubits)
        exps = template_exponents(xs[s : s + 1], zs[s : s + 1], rs[s : s + 1])[0]
        probs = np.zeros(2**n)
        for state_values, p_state in state_settings(state):
            probs += p_state * _outcome_probabilities(
                simulator, circuit, tuple(names), state_values + tuple(map(float, exps)), qubits
            )
        for k, q in enumerate(paulis):
            x = (2**n + 1) * np.real(np.diag(u @ q @ u.conj().T))
            mean[g, k] = probs @ x
            second[g, k] = probs @ (x * x)
    return mean[inverse], second[inverse]


def two_copy_bell_law(circuit: cirq.Circuit, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact law of the 2n Bell-measurement bits of a two-copy circuit, and sigma per outcome.

    Copy A sits on ``LineQubit(2i)`` and copy B on ``LineQubit(2i + 1)`` (the two-copy
    protocols' layout). The circuit (its measurements dropped) runs on Cirq's density-matrix
    simulator.

    Returns
    -------
    p : ndarray, shape (4**n,)
        Probability of the outcome whose index reads A's n bits then B's n bits, big-endian.
    sigma : ndarray, shape (4**n,)
        ``(-1)^{#singlets}`` of each outcome, a singlet being (m_A,i, m_B,i) = (1, 1)
        (docs/theory.md §4.2).
    """
    qa = [cirq.LineQubit(2 * i) for i in range(n)]
    qb = [cirq.LineQubit(2 * i + 1) for i in range(n)]
    unmeasured = cirq.Circuit(op for op in circuit.all_operations() if not cirq.is_measurement(op))
    rho = cirq.DensityMatrixSimulator(dtype=np.complex128).simulate(unmeasured, qubit_order=qa + qb)
    p = np.clip(np.diag(rho.final_density_matrix).real, 0, None)
    p /= p.sum()
    index = np.arange(4**n)
    sigma = (-1.0) ** np.array([bin(i).count("1") for i in (index >> n) & index & (2**n - 1)])
    return p, sigma
