"""copylearn.clifford: the seeded uniform Clifford sampler, tableau conjugation, synthesis.

Truths: the group orders |C_1 / U(1)| = 24 and |C_2 / U(1)| = 11520 (4^n |Sp(2n, 2)|), dense
matrices (U P U^dagger computed with numpy), Cirq's own tableau decomposition and stim's
tableau of the converted circuit. Uniformity by a chi-square test at a fixed alpha.
"""

from __future__ import annotations

import itertools
from functools import reduce

import cirq
import numpy as np
import pytest
from scipy import stats

from copylearn import clifford
from copylearn.errors import CopylearnError

ALPHA = 1e-3  # fixed significance level of the chi-square tests
Z_MAX = 5.0
PAULI = {
    (0, 0): np.eye(2, dtype=complex),
    (1, 0): np.array([[0, 1], [1, 0]], dtype=complex),
    (1, 1): np.array([[0, -1j], [1j, 0]], dtype=complex),
    (0, 1): np.array([[1, 0], [0, -1]], dtype=complex),
}


def dense(x, z, sign=1.0) -> np.ndarray:
    """Dense Hermitian Pauli with bits x, z (qubit 0 leftmost)."""
    return sign * reduce(np.kron, [PAULI[(int(a), int(b))] for a, b in zip(x, z, strict=True)])


def unitary(circuit: cirq.Circuit, n: int) -> np.ndarray:
    qubits = cirq.LineQubit.range(n)
    return cirq.Circuit(circuit, [cirq.I(q) for q in qubits]).unitary(qubit_order=qubits)


def class_keys(xs, zs, rs) -> np.ndarray:
    """One integer per tableau (its 4n^2 + 2n bits): equal iff the Cliffords agree mod phase."""
    bits = np.concatenate([xs.reshape(len(xs), -1), zs.reshape(len(zs), -1), rs], axis=1)
    return bits.astype(np.int64) @ (1 << np.arange(bits.shape[1], dtype=np.int64))


@pytest.mark.parametrize(("n", "order", "per_class"), [(1, 24, 400), (2, 11520, 20)])
def test_sampler_is_uniform_over_the_whole_group(n, order, per_class):
    """Every Clifford mod phase appears, nothing else does, and the counts pass chi-square."""
    xs, zs, rs = clifford.random_tableaux(n, order * per_class, np.random.default_rng(12 + n))
    assert clifford.is_symplectic(xs, zs).all()
    _, counts = np.unique(class_keys(xs, zs, rs), return_counts=True)
    assert len(counts) == order
    p_value = stats.chisquare(counts).pvalue
    assert p_value > ALPHA, p_value


def test_group_order_by_exhaustive_count():
    """Symplectic 2n x 2n matrices over F_2: 6 at n = 1, 720 at n = 2 (the sampler's support)."""
    for n, order in ((1, 6), (2, 720)):
        codes = np.arange(2 ** (4 * n * n), dtype=np.int64)
        bits = ((codes[:, None] >> np.arange(4 * n * n)) & 1).astype(np.uint8)
        rows = bits.reshape(-1, 2 * n, 2 * n)
        assert int(clifford.is_symplectic(rows[..., :n], rows[..., n:]).sum()) == order


def test_sampler_is_seeded_and_symplectic_up_to_n8():
    for n in range(1, 9):
        a = clifford.random_tableaux(n, 50, np.random.default_rng(n))
        b = clifford.random_tableaux(n, 50, np.random.default_rng(n))
        for u, v in zip(a, b, strict=True):
            np.testing.assert_array_equal(u, v)
        assert clifford.is_symplectic(a[0], a[1]).all()
    c = clifford.random_tableaux(3, 50, np.random.default_rng(99))
    assert not np.array_equal(c[0], clifford.random_tableaux(3, 50, np.random.default_rng(3))[0])


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_synthesised_circuit_implements_the_tableau(n):
    """U X_j U^dagger and U Z_j U^dagger equal the tableau rows, densely; and U equals Cirq's
    decomposition of the same cirq.CliffordTableau up to a global phase."""
    xs, zs, rs = clifford.random_tableaux(n, 12, np.random.default_rng(40 + n))
    qubits = cirq.LineQubit.range(n)
    eye = np.eye(n, dtype=np.uint8)
    zero = np.zeros(n, dtype=np.uint8)
    for s in range(len(xs)):
        circuit = clifford.tableau_circuit(xs[s], zs[s], rs[s], qubits)
        assert cirq.has_stabilizer_effect(circuit) or all(
            cirq.has_stabilizer_effect(op) for op in circuit.all_operations()
        )
        u = unitary(circuit, n)
        for r in range(2 * n):
            j = r % n
            generator = dense(eye[j], zero) if r < n else dense(zero, eye[j])
            row = dense(xs[s, r], zs[s, r], (-1.0) ** int(rs[s, r]))
            np.testing.assert_allclose(u @ generator @ u.conj().T, row, atol=1e-9)
        tableau = cirq.CliffordTableau(
            n, rs=rs[s].astype(bool), xs=xs[s].astype(bool), zs=zs[s].astype(bool)
        )
        reference = unitary(
            cirq.Circuit(cirq.decompose_clifford_tableau_to_operations(qubits, tableau)), n
        )
        overlap = np.trace(reference.conj().T @ u) / 2**n
        assert abs(abs(overlap) - 1) < 1e-9


def test_synthesised_circuit_converts_to_stim():
    """The resolved template is a stim circuit whose tableau is the drawn one (n = 1..6)."""
    stim = pytest.importorskip("stim")
    stimcirq = pytest.importorskip("stimcirq")
    for n in range(1, 7):
        xs, zs, rs = clifford.random_tableaux(n, 5, np.random.default_rng(70 + n))
        qubits = cirq.LineQubit.range(n)
        for s in range(len(xs)):
            circuit = clifford.tableau_circuit(xs[s], zs[s], rs[s], qubits)
            padded = cirq.Circuit(circuit, [cirq.I(q) for q in qubits])
            t = stim.Tableau.from_circuit(stimcirq.cirq_circuit_to_stim_circuit(padded))
            assert len(t) == n
            for j in range(n):
                for r, image in ((j, t.x_output(j)), (n + j, t.z_output(j))):
                    x, z = image.to_numpy()
                    np.testing.assert_array_equal(x, xs[s, r].astype(bool))
                    np.testing.assert_array_equal(z, zs[s, r].astype(bool))
                    assert image.sign == (-1) ** int(rs[s, r])


@pytest.mark.parametrize("n", [1, 2, 3])
def test_conjugate_matches_dense_matrices(n):
    """C Q C^dagger = i^k X^a Z^b for random Cliffords and every signed Pauli, densely."""
    xs, zs, rs = clifford.random_tableaux(n, 6, np.random.default_rng(80 + n))
    labels = list(itertools.product((0, 1), repeat=2 * n))
    qx = np.array([lab[:n] for lab in labels], dtype=np.uint8)
    qz = np.array([lab[n:] for lab in labels], dtype=np.uint8)
    sign = np.where(np.arange(len(labels)) % 2, -1.0, 1.0)
    qk = ((qx.astype(int) * qz).sum(1) + np.where(sign < 0, 2, 0)) % 4
    a, b, k = clifford.conjugate(xs, zs, rs, qx, qz, qk)
    qubits = cirq.LineQubit.range(n)
    for s in range(len(xs)):
        u = unitary(clifford.tableau_circuit(xs[s], zs[s], rs[s], qubits), n)
        for m in range(len(labels)):
            q = dense(qx[m], qz[m], sign[m])
            x_part = dense(a[s, m], np.zeros(n))
            z_part = dense(np.zeros(n), b[s, m])
            image = (1j ** int(k[s, m])) * x_part @ z_part
            np.testing.assert_allclose(u @ q @ u.conj().T, image, atol=1e-9)


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_second_moment_is_two_to_the_n_plus_one(n):
    """E x_Q^2 = 2^n + 1 for every Q != I (x_Q^2 = (2^n+1)^2 [C Q C^dagger diagonal], which
    the tableau alone decides): within 5 binomial standard errors, 40,000 Cliffords."""
    shots = 40_000
    rng = np.random.default_rng(90 + n)
    xs, zs, rs = clifford.random_tableaux(n, shots, rng)
    bits = rng.integers(0, 2, size=(shots, n), dtype=np.uint8)
    picks = rng.choice(4**n - 1, size=min(15, 4**n - 1), replace=False) + 1
    codes = ((picks[:, None] >> (2 * np.arange(n))) & 3).astype(np.uint8)
    qx, qz = (codes & 1).astype(np.uint8), (codes >> 1).astype(np.uint8)
    values = clifford.clifford_shadow_values(xs, zs, rs, bits, qx, qz, np.ones(len(picks)))
    d1 = 2.0**n + 1
    p = 1 / d1  # probability that C Q C^dagger is diagonal
    se = d1**2 * np.sqrt(p * (1 - p) / shots)
    np.testing.assert_array_less(np.abs((values**2).mean(axis=0) - d1), Z_MAX * se)
    assert set(np.unique(np.abs(values))) <= {0.0, d1}


def test_template_size_and_gate_set():
    for n in (1, 2, 5, 8):
        tpl = clifford.template(n)
        assert len(tpl.gates) == (7 * n * n + 7 * n) // 2
        assert {kind for kind, _ in tpl.gates} <= {"H", "S", "CX", "X", "Z"}
        assert len(cirq.parameter_names(tpl.circuit(cirq.LineQubit.range(n)))) == len(tpl.gates)


def test_bad_input_is_refused_in_one_line():
    rng = np.random.default_rng(0)
    for bad in (0, -1, 1.5, True):
        with pytest.raises(CopylearnError, match=r"^n=.* must be a positive integer"):
            clifford.random_tableaux(bad, 1, rng)
    with pytest.raises(CopylearnError, match="size=-1"):
        clifford.random_tableaux(2, -1, rng)
    xs = np.zeros((1, 2, 1), dtype=np.uint8)  # both rows the identity: not a Clifford
    with pytest.raises(CopylearnError, match="commutation relations") as info:
        clifford.template_exponents(xs, xs.copy(), np.zeros((1, 2), dtype=np.uint8))
    assert "\n" not in str(info.value)
