"""two-query-bell and conventional-y against exact linear algebra (docs/theory.md §18.2, §18.3).

Truth: U from ``cirq.unitary`` of the process circuit, and the closed-form outcome law
p(m) = |tr(sigma_m^dagger U U^T)|^2 / 4^n with sigma_m = (x)_i Z^{m_A,i} X^{m_B,i}. The
protocols' exact distributions come from Cirq's simulator on the circuits they build;
sampled data come from ``collect`` (qsim). Fixed seeds; a chi-square test at alpha = 1e-4 and
5-standard-error bounds.
"""

from __future__ import annotations

import itertools

import cirq
import numpy as np
import pytest
from scipy import stats

from copylearn import collect
from copylearn.processes import sample_process, unitary
from copylearn.protocols import get_protocol

X = np.array([[0, 1], [1, 0]], dtype=complex)
Y = np.array([[0, -1j], [1j, 0]], dtype=complex)
Z = np.diag([1.0, -1.0]).astype(complex)
ALPHA = 1e-4
# n = 1: the dense families (a brickwork needs two qubits); n >= 2: the brickwork families.
CASES = [(1, "haar-orthogonal"), (1, "haar-unitary")] + [
    (n, f) for n in (2, 3, 4) for f in ("tsym", "scrambling")
]


def _kron(mats) -> np.ndarray:
    out = np.eye(1, dtype=complex)
    for m in mats:
        out = np.kron(out, m)
    return out


def outcome_law(u: np.ndarray, n: int) -> np.ndarray:
    """p over 2n-bit outcomes in the measured order a_0, b_0, a_1, b_1, ... (big-endian)."""
    w = u @ u.T
    p = np.empty(4**n)
    for index in range(4**n):
        bits = [(index >> (2 * n - 1 - k)) & 1 for k in range(2 * n)]
        sigma = _kron(
            np.linalg.matrix_power(Z, bits[2 * i]) @ np.linalg.matrix_power(X, bits[2 * i + 1])
            for i in range(n)
        )
        p[index] = abs(np.trace(sigma.conj().T @ w)) ** 2 / 4**n
    return p


def exact_distribution(protocol, process) -> np.ndarray:
    """The protocol circuit's exact outcome distribution (Cirq simulator, no measurements)."""
    circuit, _ = protocol.build(process)
    circuit = cirq.drop_terminal_measurements(circuit)
    qubits = sorted(circuit.all_qubits())
    state = cirq.final_state_vector(circuit, qubit_order=qubits, dtype=np.complex128)
    return np.abs(state) ** 2


def _process(n, family, seed=7):
    return sample_process(family, n, np.random.default_rng(seed))


@pytest.mark.parametrize("form", ["parallel", "swap"])
@pytest.mark.parametrize(("n", "family"), CASES)
def test_two_query_exact_law_is_the_trace_formula(n, family, form):
    process = _process(n, family)
    protocol = get_protocol("two-query-bell").with_options({"form": form})
    p = exact_distribution(protocol, process)
    law = outcome_law(unitary(process), n)
    np.testing.assert_allclose(law.sum(), 1.0, atol=1e-9)
    np.testing.assert_allclose(p, law, atol=1e-6)
    if process.symmetric:  # U U^T = e^{2 i theta} I: all zeros with probability 1
        assert p[0] == pytest.approx(1.0, abs=1e-6)
    else:
        assert p[0] < 0.9


def _outcome_index(data, n):
    shots = get_protocol("two-query-bell").unpack(data.arrays, n)
    index = np.zeros(len(shots["m_a"]), dtype=np.int64)
    for i in range(n):
        index = index * 4 + 2 * shots["m_a"][:, i].astype(np.int64) + shots["m_b"][:, i]
    return index


@pytest.mark.parametrize(
    ("n", "family"), [(1, "haar-unitary"), (2, "scrambling"), (3, "scrambling")]
)
def test_two_query_samples_follow_the_trace_formula(n, family):
    """Chi-square goodness of fit of qsim samples to |tr(sigma_m^dagger U U^T)|^2/4^n."""
    process = _process(n, family, seed=21)
    shots = 4000
    data = collect(process, "two-query-bell", copies=2 * shots, seed=5)
    assert data.metadata["queries"] == 2 * shots
    law = outcome_law(unitary(process), n)
    counts = np.bincount(_outcome_index(data, n), minlength=4**n)
    keep = law * shots > 5  # pool outcomes with fewer than 5 expected counts
    observed = np.append(counts[keep], counts[~keep].sum())
    expected = np.append(law[keep], law[~keep].sum()) * shots
    if expected[-1] == 0:
        assert observed[-1] == 0
        observed, expected = observed[:-1], expected[:-1]
    _, p_value = stats.chisquare(observed, expected)
    assert p_value > ALPHA


@pytest.mark.parametrize(("n", "family"), [(1, "haar-orthogonal"), (2, "tsym"), (4, "tsym")])
def test_two_query_symmetric_data_are_all_zeros(n, family):
    data = collect(_process(n, family, seed=3), "two-query-bell", copies=2000, seed=2)
    assert not np.any(data.arrays["m_a"]) and not np.any(data.arrays["m_b"])


def _y_correlators(bits: np.ndarray, subsets) -> tuple[np.ndarray, np.ndarray]:
    """Means and standard errors of prod_{i in S} Y_i with Y_i = -(-1)^{y_i} (the -Y basis)."""
    values = np.stack(
        [np.prod(-(1 - 2 * bits[:, list(s)].astype(np.float64)), axis=1) for s in subsets], axis=1
    )
    return values.mean(axis=0), values.std(axis=0, ddof=1) / np.sqrt(len(values))


def _exact_y_correlators(process, subsets) -> np.ndarray:
    n = process.n
    psi = unitary(process)[:, 0]
    return np.array(
        [
            np.vdot(psi, _kron(Y if i in s else np.eye(2) for i in range(n)) @ psi).real
            for s in subsets
        ]
    )


def _odd_subsets(n):
    return [s for k in range(1, n + 1, 2) for s in itertools.combinations(range(n), k)]


@pytest.mark.parametrize(("n", "family"), CASES)
def test_conventional_exact_distribution_is_u_on_zero_in_the_minus_y_basis(n, family):
    process = _process(n, family)
    p = exact_distribution(get_protocol("conventional-y"), process)
    psi = unitary(process)[:, 0]
    # -Y eigenbasis: bit 0 <-> (|0> - i|1>)/sqrt(2) (Y = -1), bit 1 <-> (|0> + i|1>)/sqrt(2).
    basis = np.array([[1, 1], [-1j, 1j]]) / np.sqrt(2)
    np.testing.assert_allclose(p, np.abs(_kron([basis] * n).conj().T @ psi) ** 2, atol=1e-6)
    if process.symmetric:  # real psi: p(y) = p(flipped y)
        np.testing.assert_allclose(p, p[::-1], atol=1e-6)


@pytest.mark.parametrize(
    ("n", "family"), [(1, "haar-orthogonal"), (2, "tsym"), (3, "tsym"), (4, "tsym")]
)
def test_conventional_tsym_data_are_flip_symmetric(n, family):
    """Every odd-weight Y-correlator of a time-symmetric U's data is 0 within 5 SE."""
    data = collect(_process(n, family, seed=13), "conventional-y", copies=20_000, seed=4)
    bits = get_protocol("conventional-y").unpack(data.arrays, n)["bits"]
    mean, se = _y_correlators(bits, _odd_subsets(n))
    assert np.all(np.abs(mean) <= 5 * np.maximum(se, 1 / len(bits)))


@pytest.mark.parametrize("n", [2, 3, 4])
def test_conventional_scrambling_data_are_not_flip_symmetric(n):
    """The odd-weight correlator with the largest exact |<Y_S>| (picked from U, before any
    data) is nonzero in the data by more than 5 SE, and the data match every exact <Y_S>."""
    process = _process(n, "scrambling", seed=13)
    subsets = _odd_subsets(n)
    exact = _exact_y_correlators(process, subsets)
    pick = int(np.argmax(np.abs(exact)))
    data = collect(process, "conventional-y", copies=20_000, seed=4)
    bits = get_protocol("conventional-y").unpack(data.arrays, n)["bits"]
    mean, se = _y_correlators(bits, subsets)
    assert abs(mean[pick]) > 5 * se[pick]
    assert np.all(np.abs(mean - exact) <= 5 * np.maximum(se, 1 / len(bits)))


def test_same_seed_same_data():
    process = _process(3, "scrambling")
    for name, copies in (("two-query-bell", 400), ("conventional-y", 200)):
        a = collect(process, name, copies=copies, seed=9)
        b = collect(process, name, copies=copies, seed=9)
        for key in a.arrays:
            np.testing.assert_array_equal(a.arrays[key], b.arrays[key])
