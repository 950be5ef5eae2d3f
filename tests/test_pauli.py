"""Tests for copylearn.pauli: parsing, bit packing, symplectic algebra and per-shot estimators.

Every estimator is checked against a brute-force per-shot formula written here, independently
of the packed implementation (docs/theory.md §3.2, §4.2), and the Bell eigenvalue table is checked
against exact quantum mechanics on small density matrices.
"""

from __future__ import annotations

import itertools

import cirq
import numpy as np
import pytest

from copylearn.errors import CopylearnError
from copylearn.pauli import (
    Paulis,
    bell_values,
    commutes,
    n_words,
    pack_bits,
    parse_paulis,
    shadow_values,
    shot_chunks,
    unpack_bits,
)

LETTERS = "IXYZ"
SYMPLECTIC = {"I": (0, 0), "X": (1, 0), "Y": (1, 1), "Z": (0, 1)}
FROM_SYMPLECTIC = {v: k for k, v in SYMPLECTIC.items()}
MATRICES = {
    "I": np.eye(2, dtype=complex),
    "X": np.array([[0, 1], [1, 0]], dtype=complex),
    "Y": np.array([[0, -1j], [1j, 0]], dtype=complex),
    "Z": np.array([[1, 0], [0, -1]], dtype=complex),
}


def random_labels(rng: np.random.Generator, m: int, n: int, letters: str = LETTERS) -> list[str]:
    return ["".join(rng.choice(list(letters), size=n)) for _ in range(m)]


def dense(label: str) -> np.ndarray:
    out = np.eye(1, dtype=complex)
    for c in label:
        out = np.kron(out, MATRICES[c])
    return out


def random_density_matrix(rng: np.random.Generator, dim: int) -> np.ndarray:
    g = rng.normal(size=(dim, dim)) + 1j * rng.normal(size=(dim, dim))
    rho = g @ g.conj().T
    return rho / np.trace(rho)


# --------------------------------------------------------------------------- parse_paulis


class TestParseLabels:
    def test_single_label(self):
        p = parse_paulis("XYZI")
        assert isinstance(p, Paulis)
        assert p.n == 4
        assert len(p) == 1
        assert p.labels == ("XYZI",)
        assert p.sign.tolist() == [1]
        assert unpack_bits(p.x, 4).tolist() == [[1, 1, 0, 0]]
        assert unpack_bits(p.z, 4).tolist() == [[0, 1, 1, 0]]
        assert p.letters() == ["XYZI"]

    def test_negative_sign_and_plus(self):
        p = parse_paulis(["-ZZ", "+XY", "IX"])
        assert p.labels == ("-ZZ", "XY", "IX")
        assert p.sign.tolist() == [-1, 1, 1]
        assert p.letters() == ["ZZ", "XY", "IX"]
        assert unpack_bits(p.z, 2)[0].tolist() == [1, 1]
        assert unpack_bits(p.x, 2)[0].tolist() == [0, 0]

    def test_lowercase_and_whitespace(self):
        p = parse_paulis(["xyzi", " -zZiy "], n=4)
        assert p.labels == ("XYZI", "-ZZIY")
        assert p.sign.tolist() == [1, -1]
        lower = parse_paulis("xyzi")
        upper = parse_paulis("XYZI")
        assert lower.labels == upper.labels
        np.testing.assert_array_equal(lower.x, upper.x)
        np.testing.assert_array_equal(lower.z, upper.z)

    def test_comma_separated(self):
        p = parse_paulis("XX,ZZ")
        assert p.labels == ("XX", "ZZ")
        assert p.n == 2
        q = parse_paulis(" xx , -zz ")
        assert q.labels == ("XX", "-ZZ")
        assert q.sign.tolist() == [1, -1]

    def test_symplectic_code_matches_letters(self):
        rng = np.random.default_rng(11)
        labels = random_labels(rng, 20, 70)
        p = parse_paulis(labels)
        xs, zs = unpack_bits(p.x, 70), unpack_bits(p.z, 70)
        for row, label in enumerate(labels):
            for i, c in enumerate(label):
                assert (xs[row, i], zs[row, i]) == SYMPLECTIC[c]

    def test_paulis_passthrough(self):
        p = parse_paulis("XZ")
        assert parse_paulis(p) is p
        assert parse_paulis(p, n=2) is p
        with pytest.raises(CopylearnError, match="qubits"):
            parse_paulis(p, n=3)


class TestParseCirq:
    def test_line_qubits_with_n(self):
        q = cirq.LineQubit.range(4)
        ps = cirq.X(q[0]) * cirq.Z(q[2])
        p = parse_paulis(ps, n=4)
        assert p.labels == ("XIZI",)
        assert p.sign.tolist() == [1]
        assert p.n == 4

    def test_negative_coefficient(self):
        q = cirq.LineQubit.range(3)
        p = parse_paulis(-cirq.Y(q[1]) * cirq.Z(q[2]), n=3)
        assert p.labels == ("-IYZ",)
        assert p.sign.tolist() == [-1]

    def test_inferred_n(self):
        q = cirq.LineQubit.range(3)
        p = parse_paulis(cirq.X(q[0]) * cirq.Z(q[2]))
        assert p.n == 3
        assert p.labels == ("XIZ",)

    def test_matches_label_parse(self):
        rng = np.random.default_rng(5)
        for n in (5, 130):
            labels = random_labels(rng, 6, n)
            qubits = cirq.LineQubit.range(n)
            strings = [cirq.DensePauliString(label).on(*qubits) for label in labels]
            strings[0] = -strings[0]
            from_cirq = parse_paulis(strings, n=n)
            from_labels = parse_paulis(["-" + labels[0], *labels[1:]], n=n)
            assert from_cirq.labels == from_labels.labels
            np.testing.assert_array_equal(from_cirq.x, from_labels.x)
            np.testing.assert_array_equal(from_cirq.z, from_labels.z)
            np.testing.assert_array_equal(from_cirq.sign, from_labels.sign)

    def test_mixed_labels_and_cirq(self):
        q = cirq.LineQubit.range(3)
        p = parse_paulis(["ZZI", cirq.Y(q[2])])
        assert p.labels == ("ZZI", "IIY")

    @pytest.mark.parametrize("coefficient", [1j, -1j, 0.5, 2])
    def test_bad_coefficient(self, coefficient):
        q = cirq.LineQubit.range(2)
        with pytest.raises(CopylearnError, match="coefficient"):
            parse_paulis(coefficient * cirq.X(q[0]) * cirq.Z(q[1]), n=2)

    @pytest.mark.parametrize(
        "qubit", [cirq.GridQubit(0, 0), cirq.NamedQubit("a")], ids=["grid", "named"]
    )
    def test_non_line_qubits(self, qubit):
        with pytest.raises(CopylearnError, match="LineQubit"):
            parse_paulis(cirq.X(qubit), n=1)

    def test_qubit_outside_state(self):
        with pytest.raises(CopylearnError, match="outside"):
            parse_paulis(cirq.Z(cirq.LineQubit(5)), n=3)


class TestParseByQubit:
    """Issue 9 item 2: with the state's qubits, a cirq.PauliString maps by qubit identity."""

    def test_gapped_line_qubits(self):
        q0, q1, q2 = cirq.LineQubit.range(3)
        p = parse_paulis([cirq.Z(q2), cirq.X(q0) * cirq.Y(q2)], qubits=[q0, q2])
        assert p.n == 2 and p.labels == ("IZ", "XY")
        with pytest.raises(
            CopylearnError, match=r"not one of the state's qubits \[q\(0\), q\(2\)\]"
        ):
            parse_paulis(cirq.Z(q1), qubits=[q0, q2])

    def test_grid_and_named_qubits(self):
        g = cirq.GridQubit.rect(2, 2)
        p = parse_paulis(-cirq.X(g[3]) * cirq.Z(g[0]), qubits=g)
        assert p.labels == ("-ZIIX",) and p.sign.tolist() == [-1]
        a, b = cirq.NamedQubit("a"), cirq.NamedQubit("b")
        assert parse_paulis(cirq.Y(b), qubits=[a, b]).labels == ("IY",)
        with pytest.raises(CopylearnError, match="not one of the state's qubits"):
            parse_paulis(cirq.Y(cirq.NamedQubit("c")), qubits=[a, b])

    def test_labels_stay_positional(self):
        g = cirq.GridQubit.rect(1, 3)
        p = parse_paulis(["XIZ", cirq.Z(g[2])], qubits=g)
        assert p.labels == ("XIZ", "IIZ")
        with pytest.raises(CopylearnError, match="2 letters but the state has 3 qubits"):
            parse_paulis("XZ", qubits=g)

    def test_long_qubit_lists_are_abbreviated(self):
        qubits = cirq.LineQubit.range(0, 40, 2)
        with pytest.raises(CopylearnError, match=r"\.\.\. \(20 in all\)"):
            parse_paulis(cirq.Z(cirq.LineQubit(1)), qubits=qubits)

    def test_qubits_must_match_n(self):
        with pytest.raises(CopylearnError, match="2 qubits given for a state of 3"):
            parse_paulis("XYZ", 3, qubits=cirq.LineQubit.range(2))


class TestParseErrors:
    @pytest.mark.parametrize("label", ["XQZ", "AB", "X1", "X Z", "-", "+"])
    def test_unknown_letters(self, label):
        with pytest.raises(CopylearnError, match="unknown letters"):
            parse_paulis(label)

    def test_unknown_letter_named_in_message(self):
        with pytest.raises(CopylearnError, match="Q") as info:
            parse_paulis("XQZ")
        assert "I, X, Y, Z" in str(info.value)

    def test_wrong_length_given_n(self):
        with pytest.raises(CopylearnError, match="3 letters but the state has 4 qubits"):
            parse_paulis("XYZ", n=4)

    def test_wrong_length_inferred(self):
        with pytest.raises(CopylearnError, match="letters but the state has 2 qubits"):
            parse_paulis(["XX", "XYZ"])
        with pytest.raises(CopylearnError, match="letters but the state has"):
            parse_paulis("XX,ZZZ")

    @pytest.mark.parametrize("empty", [[], (), "", " , ,"])
    def test_empty(self, empty):
        with pytest.raises(CopylearnError, match="no observables"):
            parse_paulis(empty)

    def test_empty_label_in_list(self):
        with pytest.raises(CopylearnError, match="unknown letters"):
            parse_paulis(["XX", ""])

    def test_not_a_pauli(self):
        with pytest.raises(CopylearnError, match="neither a label"):
            parse_paulis(["XX", 3])

    def test_error_is_value_error(self):
        assert issubclass(CopylearnError, ValueError)


# --------------------------------------------------------------------------- bit packing


@pytest.mark.parametrize("n", [1, 63, 64, 65, 128, 130])
def test_pack_unpack_round_trip(n):
    rng = np.random.default_rng(1000 + n)
    bits = rng.integers(0, 2, size=(9, n), dtype=np.uint8)
    words = pack_bits(bits)
    assert words.dtype == np.uint64
    assert words.shape == (9, n_words(n))
    assert n_words(n) == -(-n // 64)
    back = unpack_bits(words, n)
    assert back.shape == (9, n)
    np.testing.assert_array_equal(back, bits)
    # 1-D and 3-D inputs
    np.testing.assert_array_equal(unpack_bits(pack_bits(bits[3]), n), bits[3])
    cube = bits.reshape(3, 3, n)
    np.testing.assert_array_equal(unpack_bits(pack_bits(cube), n), cube)
    # bool input packs the same way
    np.testing.assert_array_equal(pack_bits(bits.astype(bool)), words)


@pytest.mark.parametrize("n", [1, 63, 64, 65, 128, 130])
def test_pack_word_layout(n):
    rng = np.random.default_rng(2000 + n)
    bits = rng.integers(0, 2, size=(5, n), dtype=np.uint8)
    words = pack_bits(bits)
    for row in range(5):
        expected = [0] * n_words(n)
        for i in range(n):
            if bits[row, i]:
                expected[i // 64] |= 1 << (i % 64)
        assert [int(w) for w in words[row]] == expected


def test_pack_single_bits():
    for i in (0, 1, 63, 64, 65, 129):
        bits = np.zeros(130, dtype=np.uint8)
        bits[i] = 1
        words = pack_bits(bits)
        expected = np.zeros(3, dtype=np.uint64)
        expected[i // 64] = np.uint64(1) << np.uint64(i % 64)
        np.testing.assert_array_equal(words, expected)


# --------------------------------------------------------------------------- symplectic algebra


@pytest.mark.parametrize("n", [1, 5, 64, 130])
def test_weight_ny_support(n):
    rng = np.random.default_rng(3000 + n)
    labels = random_labels(rng, 25, n)
    labels.append("I" * n)
    labels.append("Y" * n)
    p = parse_paulis(labels)
    np.testing.assert_array_equal(p.weight, [sum(c != "I" for c in lab) for lab in labels])
    np.testing.assert_array_equal(p.n_y, [lab.count("Y") for lab in labels])
    np.testing.assert_array_equal(
        unpack_bits(p.support, n), [[int(c != "I") for c in lab] for lab in labels]
    )


@pytest.mark.parametrize("n", [5, 130])
def test_commutes_against_cirq(n):
    rng = np.random.default_rng(4000 + n)
    a_labels = random_labels(rng, 10, n)
    b_labels = random_labels(rng, 9, n)
    # include a few sparse strings so that both outcomes occur with structure
    b_labels.append("I" * n)
    b_labels.append("X" + "I" * (n - 1))
    qubits = cirq.LineQubit.range(n)
    a_cirq = [cirq.DensePauliString(label).on(*qubits) for label in a_labels]
    b_cirq = [cirq.DensePauliString(label).on(*qubits) for label in b_labels]
    expected = np.array([[cirq.commutes(a, b) for b in b_cirq] for a in a_cirq])
    got = commutes(parse_paulis(a_labels), parse_paulis(b_labels))
    assert got.shape == (10, 11)
    assert got.dtype == bool
    np.testing.assert_array_equal(got, expected)
    assert expected.any() and not expected.all()


def test_commutes_small_matrices():
    """n = 2: compare against dense matrix commutators for all 16 x 16 pairs."""
    labels = ["".join(t) for t in itertools.product(LETTERS, repeat=2)]
    got = commutes(parse_paulis(labels), parse_paulis(labels))
    for i, a in enumerate(labels):
        for j, b in enumerate(labels):
            ma, mb = dense(a), dense(b)
            assert got[i, j] == np.allclose(ma @ mb, mb @ ma)


def test_commutes_size_mismatch():
    with pytest.raises(CopylearnError, match="qubits"):
        commutes(parse_paulis("XX"), parse_paulis("XXX"))


# --------------------------------------------------------------------------- estimators


def brute_shadow(labels, signs, bases, bits):
    """x_Q = sign * prod_{i in supp Q} 3 * 1[B_i = Q_i] * (-1)^bit_i, one shot at a time.

    ``bases`` is an (N, n) array of letters in {"X", "Y", "Z"}.
    """
    out = np.zeros((len(bases), len(labels)))
    for s, (basis, shot_bits) in enumerate(zip(bases, bits, strict=True)):
        for j, (label, sign) in enumerate(zip(labels, signs, strict=True)):
            value = int(sign)  # exact integer arithmetic
            for i, c in enumerate(label):
                if c == "I":
                    continue
                value *= 3 * int(basis[i] == c) * (-1) ** int(shot_bits[i])
            out[s, j] = value
    return out


def bell_lambda(letter: str, ma: int, mb: int) -> int:
    if letter == "I":
        return 1
    if letter == "X":
        return (-1) ** ma
    if letter == "Z":
        return (-1) ** mb
    if letter == "Y":
        return -((-1) ** (ma + mb))
    raise AssertionError(letter)


def brute_bell(labels, m_a, m_b):
    out = np.zeros((len(m_a), len(labels)), dtype=int)
    for s in range(len(m_a)):
        for j, label in enumerate(labels):
            value = 1
            for i, c in enumerate(label):
                value *= bell_lambda(c, int(m_a[s, i]), int(m_b[s, i]))
            out[s, j] = value
    return out


def encode_bases(bases: np.ndarray):
    bx = np.vectorize(lambda c: SYMPLECTIC[c][0])(bases).astype(np.uint8)
    bz = np.vectorize(lambda c: SYMPLECTIC[c][1])(bases).astype(np.uint8)
    return pack_bits(bx), pack_bits(bz)


def shadow_inputs(rng, n, shots, labels):
    """Random bases and bits; on half the shots the bases copy one observable's support so
    that matches (which are rare at large weight) actually occur."""
    bases = rng.choice(list("XYZ"), size=(shots, n))
    for s in range(0, shots, 2):
        label = labels[rng.integers(len(labels))]
        for i, c in enumerate(label):
            if c != "I":
                bases[s, i] = c
    bits = rng.integers(0, 2, size=(shots, n), dtype=np.uint8)
    return bases, bits


@pytest.mark.parametrize("n", [3, 70, 130])
def test_shadow_values_brute_force(n):
    rng = np.random.default_rng(5000 + n)
    labels = random_labels(rng, 3, n)
    sparse = ["I" * n for _ in range(3)]
    for k in range(3):
        chars = list(sparse[k])
        for i in rng.choice(n, size=min(n, k + 1), replace=False):
            chars[i] = "XYZ"[rng.integers(3)]
        sparse[k] = "".join(chars)
    labels += [*sparse, "I" * n]
    signs = [1, -1, 1, -1, 1, 1, -1]
    shots = 60
    bases, bits = shadow_inputs(rng, n, shots, labels)
    signed = [("-" if s < 0 else "") + lab for s, lab in zip(signs, labels, strict=True)]
    paulis = parse_paulis(signed)
    bx, bz = encode_bases(bases)
    got = shadow_values(paulis, bx, bz, pack_bits(bits))
    expected = brute_shadow(labels, signs, bases, bits)
    assert got.shape == (shots, len(labels))
    assert got.dtype == np.float64
    # 3^|Q| exceeds 2^53 for |Q| > 33, so compare to the float rounding of the exact value
    np.testing.assert_allclose(got, expected, rtol=1e-14, atol=0)
    np.testing.assert_array_equal(got == 0, expected == 0)
    np.testing.assert_array_equal(np.sign(got), np.sign(expected))
    # the identity observable is always its sign; matched shots do occur
    np.testing.assert_array_equal(got[:, -1], -1.0)
    assert np.count_nonzero(got[:, :-1]) > 0
    assert np.count_nonzero(got[:, :-1] == 0) > 0


def test_shadow_values_ignores_off_support():
    """Bits and bases off the support of Q do not change x_Q."""
    rng = np.random.default_rng(6)
    n = 70
    label = "I" * 10 + "XYZ" + "I" * (n - 13)
    paulis = parse_paulis(label)
    bases = rng.choice(list("XYZ"), size=(40, n))
    bases[:, 10:13] = ["X", "Y", "Z"]
    bits = rng.integers(0, 2, size=(40, n), dtype=np.uint8)
    bx, bz = encode_bases(bases)
    base = shadow_values(paulis, bx, bz, pack_bits(bits))
    bases2 = rng.choice(list("XYZ"), size=(40, n))
    bases2[:, 10:13] = ["X", "Y", "Z"]
    bits2 = rng.integers(0, 2, size=(40, n), dtype=np.uint8)
    bits2[:, 10:13] = bits[:, 10:13]
    bx2, bz2 = encode_bases(bases2)
    np.testing.assert_array_equal(shadow_values(paulis, bx2, bz2, pack_bits(bits2)), base)
    np.testing.assert_array_equal(np.abs(base), 27.0)


def test_shadow_exact_expectation_n2():
    """Exact average over uniform bases and Born-rule outcomes: E x_Q = tr(Q rho) and
    E x_Q^2 = 3^|Q| (docs/theory.md §3.2), for a random 2-qubit rho and all 16 Q."""
    rng = np.random.default_rng(7)
    n = 2
    rho = random_density_matrix(rng, 4)
    labels = ["".join(t) for t in itertools.product(LETTERS, repeat=n)]
    paulis = parse_paulis(labels)
    rows_b, rows_bits, weights = [], [], []
    for basis in itertools.product("XYZ", repeat=n):
        for outcome in itertools.product((0, 1), repeat=n):
            projector = np.eye(1, dtype=complex)
            for b, e in zip(basis, outcome, strict=True):
                projector = np.kron(projector, (np.eye(2) + (-1) ** e * MATRICES[b]) / 2)
            weights.append(np.real(np.trace(projector @ rho)) / 3**n)
            rows_b.append(basis)
            rows_bits.append(outcome)
    weights = np.array(weights)
    assert np.isclose(weights.sum(), 1.0)
    bx, bz = encode_bases(np.array(rows_b))
    values = shadow_values(paulis, bx, bz, pack_bits(np.array(rows_bits, dtype=np.uint8)))
    mean = weights @ values
    second = weights @ values**2
    for j, label in enumerate(labels):
        assert mean[j] == pytest.approx(np.real(np.trace(dense(label) @ rho)), abs=1e-12)
        assert second[j] == pytest.approx(3.0 ** sum(c != "I" for c in label), abs=1e-12)


@pytest.mark.parametrize("n", [3, 70, 130])
def test_bell_values_brute_force(n):
    rng = np.random.default_rng(8000 + n)
    labels = random_labels(rng, 6, n)
    labels += ["I" * n, "Y" * n, "-" + "X" * n]
    m_a = rng.integers(0, 2, size=(50, n), dtype=np.uint8)
    m_b = rng.integers(0, 2, size=(50, n), dtype=np.uint8)
    paulis = parse_paulis(labels)
    got = bell_values(paulis, pack_bits(m_a), pack_bits(m_b))
    expected = brute_bell([lab.lstrip("-") for lab in labels], m_a, m_b)
    assert got.shape == (50, len(labels))
    assert got.dtype == np.int8
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(got[:, 6], 1)
    # the sign of Q does not matter: f estimates a square
    np.testing.assert_array_equal(
        got[:, -1], bell_values(parse_paulis("X" * n), pack_bits(m_a), pack_bits(m_b))[:, 0]
    )


def bell_vectors() -> dict[tuple[int, int], np.ndarray]:
    """Bell states on (a, b), basis index 2a + b, labelled by the (m_A, m_B) they map to."""
    s = 1 / np.sqrt(2)
    return {
        (0, 0): s * np.array([1, 0, 0, 1], dtype=complex),  # Phi+
        (0, 1): s * np.array([0, 1, 1, 0], dtype=complex),  # Psi+
        (1, 0): s * np.array([1, 0, 0, -1], dtype=complex),  # Phi-
        (1, 1): s * np.array([0, 1, -1, 0], dtype=complex),  # Psi-
    }


def test_bell_labels_match_cnot_h_circuit():
    """CNOT(a->b), H(a) maps each Bell state to the computational state |m_A m_B>."""
    a, b = cirq.LineQubit.range(2)
    unitary = cirq.unitary(cirq.Circuit(cirq.CNOT(a, b), cirq.H(a)))
    for (ma, mb), vec in bell_vectors().items():
        out = unitary @ vec
        expected = np.zeros(4)
        expected[2 * ma + mb] = 1
        np.testing.assert_allclose(np.abs(out), expected, atol=1e-12)


def test_bell_table_quantum_mechanics_n1():
    rng = np.random.default_rng(9)
    rho = random_density_matrix(rng, 2)
    rho2 = np.kron(rho, rho)
    outcomes = list(bell_vectors().items())
    probs = np.array([np.real(v.conj() @ rho2 @ v) for _, v in outcomes])
    assert probs.sum() == pytest.approx(1.0, abs=1e-12)
    m = np.array([k for k, _ in outcomes], dtype=np.uint8)
    values = bell_values(parse_paulis(list(LETTERS)), pack_bits(m[:, :1]), pack_bits(m[:, 1:]))
    for j, c in enumerate(LETTERS):
        expected = np.real(np.trace(MATRICES[c] @ rho)) ** 2
        assert probs @ values[:, j] == pytest.approx(expected, abs=1e-12)
    # purity: E (-1)^{#singlets} = tr rho^2
    singlet = (m[:, 0] & m[:, 1]).astype(int)
    assert probs @ (-1.0) ** singlet == pytest.approx(np.real(np.trace(rho @ rho)), abs=1e-12)


def test_bell_table_quantum_mechanics_n2():
    """rho on qubits (a0, a1), copy on (b0, b1); Bell-measure pairs (a0, b0) and (a1, b1)."""
    rng = np.random.default_rng(10)
    n = 2
    rho = random_density_matrix(rng, 4)
    # rho (x) rho in order (a0, a1, b0, b1) -> reorder to (a0, b0, a1, b1)
    t = np.kron(rho, rho).reshape((2,) * 8)
    order = [0, 2, 1, 3]
    t = t.transpose(order + [4 + k for k in order])
    rho2 = t.reshape(16, 16)
    assert np.trace(rho2) == pytest.approx(1.0)
    outcomes, probs = [], []
    for (k0, v0), (k1, v1) in itertools.product(bell_vectors().items(), repeat=2):
        v = np.kron(v0, v1)
        outcomes.append((k0[0], k1[0], k0[1], k1[1]))  # (mA0, mA1, mB0, mB1)
        probs.append(np.real(v.conj() @ rho2 @ v))
    probs = np.array(probs)
    assert probs.sum() == pytest.approx(1.0, abs=1e-12)
    m = np.array(outcomes, dtype=np.uint8)
    labels = ["".join(t) for t in itertools.product(LETTERS, repeat=n)]
    values = bell_values(parse_paulis(labels), pack_bits(m[:, :2]), pack_bits(m[:, 2:]))
    for j, label in enumerate(labels):
        expected = np.real(np.trace(dense(label) @ rho)) ** 2
        assert probs @ values[:, j] == pytest.approx(expected, abs=1e-12)


def test_bell_cross_check_cirq_simulation_n2():
    """Same as above, with outcome probabilities from Cirq's density-matrix simulator running the
    actual un-Bell circuit on rho (x) rho (qubits a0, b0, a1, b1)."""
    rng = np.random.default_rng(12)
    rho = random_density_matrix(rng, 4)
    a0, b0, a1, b1 = cirq.LineQubit.range(4)
    t = np.kron(rho, rho).reshape((2,) * 8)
    order = [0, 2, 1, 3]
    rho2 = t.transpose(order + [4 + k for k in order]).reshape(16, 16)
    circuit = cirq.Circuit(cirq.CNOT(a0, b0), cirq.CNOT(a1, b1), cirq.H(a0), cirq.H(a1))
    result = cirq.DensityMatrixSimulator(dtype=np.complex128).simulate(
        circuit, initial_state=rho2, qubit_order=[a0, b0, a1, b1]
    )
    probs = np.real(np.diag(result.final_density_matrix))
    m = np.array(list(itertools.product((0, 1), repeat=4)), dtype=np.uint8)  # a0 b0 a1 b1
    labels = ["".join(t) for t in itertools.product(LETTERS, repeat=2)]
    values = bell_values(parse_paulis(labels), pack_bits(m[:, [0, 2]]), pack_bits(m[:, [1, 3]]))
    for j, label in enumerate(labels):
        expected = np.real(np.trace(dense(label) @ rho)) ** 2
        assert probs @ values[:, j] == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize(
    ("n_shots", "n_obs", "words"),
    [
        (0, 3, 1),
        (1, 1, 1),
        (10, 3, 2),
        (100_000, 7, 3),
        (3_000_000, 2, 3),
        (5_000_000, 1, 1),
        (17, 1 << 23, 1),
    ],
)
def test_shot_chunks_cover_every_shot_once(n_shots, n_obs, words):
    chunks = shot_chunks(n_shots, n_obs, words)
    covered = np.concatenate([np.arange(n_shots)[c] for c in chunks]) if chunks else []
    np.testing.assert_array_equal(covered, np.arange(n_shots))
    assert all(c.stop > c.start for c in chunks)
    sizes = [c.stop - c.start for c in chunks]
    if sizes:
        # every chunk but the last has the same size, and the temporary stays bounded
        assert len(set(sizes[:-1])) <= 1
        assert max(sizes) * n_obs * words <= max(1 << 22, n_obs * words)


def test_chunked_evaluation_matches_whole():
    rng = np.random.default_rng(13)
    n, shots = 70, 300
    labels = random_labels(rng, 4, n, letters="IIIIIIIXYZ")
    paulis = parse_paulis(labels)
    m_a = pack_bits(rng.integers(0, 2, size=(shots, n), dtype=np.uint8))
    m_b = pack_bits(rng.integers(0, 2, size=(shots, n), dtype=np.uint8))
    whole = bell_values(paulis, m_a, m_b)
    parts = [bell_values(paulis, m_a[c], m_b[c]) for c in shot_chunks(shots, 4, 2)]
    np.testing.assert_array_equal(np.concatenate(parts), whole)


# --------------------------------------------------------------------------- regressions


def test_identity_cirq_pauli_string_with_n():
    p = parse_paulis(cirq.PauliString(), n=3)
    assert p.labels == ("III",)
    assert p.weight.tolist() == [0]


def test_identity_cirq_pauli_string_without_n():
    with pytest.raises(CopylearnError):
        parse_paulis(cirq.PauliString())


@pytest.mark.parametrize("bad", [5, cirq.X(cirq.LineQubit(0)) ** 0.5], ids=["int", "gate-op"])
def test_non_iterable_observable(bad):
    with pytest.raises(CopylearnError):
        parse_paulis(bad)
