"""Random n-qubit Clifford unitaries: a seeded uniform sampler, tableau algebra, Cirq synthesis.

A Clifford C (modulo global phase) is held as its tableau, the layout of
``cirq.CliffordTableau``: row j < n is C X_j C†, row n + j is C Z_j C†, each a Hermitian
Pauli (-1)^r i^{x.z} X^x Z^z written as bits ``xs[row]``, ``zs[row]`` (length n) and a sign
bit ``rs[row]``. Every function takes a batch: ``xs``, ``zs`` of shape ``(B, 2n, n)`` and
``rs`` of shape ``(B, 2n)``, all ``uint8``.

* :func:`random_tableaux` draws B Cliffords uniformly from the group (modulo phase) with a
  ``numpy.random.Generator``: symplectic Gram-Schmidt (docs/theory.md §13.2).
* :func:`conjugate` maps Paulis Q to C Q C† from the tableau alone, vectorised over
  tableaux and Paulis; :func:`clifford_shadow_values` turns that into the shadow estimate
  x̂_Q = (2^n + 1) [C Q C† diagonal] <b|C Q C†|b> (docs/theory.md §13.1).
* :func:`template` is one fixed parameterised Cirq circuit per n, gates H, S, CNOT, X, Z
  with exponents 0 or 1 (stabilizer-simulable once resolved); :func:`template_exponents`
  gives, per tableau, the exponents for which the circuit implements exactly that Clifford
  (docs/theory.md §13.3).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cirq
import numpy as np
import sympy

from copylearn.errors import CopylearnError


def _check_n(n) -> int:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n <= 0:
        raise CopylearnError(f"n={n!r} must be a positive integer number of qubits.")
    return int(n)


# ----- sampler -------------------------------------------------------------------------------
def _omega(u: np.ndarray, v: np.ndarray, n: int) -> np.ndarray:
    """Symplectic form u_x.v_z + u_z.v_x (mod 2) over the last axis (length 2n)."""
    return (
        (u[..., :n].astype(np.int64) * v[..., n:]).sum(-1)
        + (u[..., n:].astype(np.int64) * v[..., :n]).sum(-1)
    ) % 2


def _project(u: np.ndarray, vs: np.ndarray, ws: np.ndarray, n: int) -> np.ndarray:
    """Project ``u`` (B, 2n) onto the symplectic complement of the pairs ``vs``, ``ws``.

    proj(u) = u + sum_k [omega(u, w_k) v_k + omega(u, v_k) w_k] (mod 2); ``vs``, ``ws`` are
    ``(B, m, 2n)``. A linear surjection onto the complement with equal-size fibres, so a
    uniform u gives a uniform vector of the complement.
    """
    if vs.shape[1] == 0:
        return u
    a = _omega(u[:, None, :], ws, n)  # (B, m)
    b = _omega(u[:, None, :], vs, n)
    add = (a[..., None] * vs + b[..., None] * ws).sum(axis=1)
    return ((u.astype(np.int64) + add) % 2).astype(np.uint8)


def random_tableaux(
    n: int, size: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``size`` Cliffords drawn uniformly from the n-qubit Clifford group modulo phase.

    For m = 1..n: v_m uniform among the nonzero vectors of the symplectic complement of the
    pairs chosen so far, w_m uniform among the vectors of that complement with
    omega(v_m, w_m) = 1 (rejection from uniform projections); rows C X_m C† = v_m,
    C Z_m C† = w_m and 2n uniform sign bits. Every Clifford modulo phase then has probability
    1 / (4^n |Sp(2n, 2)|) (docs/theory.md §13.2). Vectorised over the batch; O(n^3) bit
    operations per sample. Same generator state -> same tableaux.

    Parameters
    ----------
    n : int
        Qubits (positive).
    size : int
        Number of Cliffords (non-negative).
    rng : numpy.random.Generator
        The only source of randomness.

    Returns
    -------
    (xs, zs, rs)
        ``uint8`` arrays of shapes ``(size, 2n, n)``, ``(size, 2n, n)``, ``(size, 2n)``.

    Raises
    ------
    CopylearnError
        ``n`` not a positive integer or ``size`` negative.
    """
    n = _check_n(n)
    if isinstance(size, bool) or not isinstance(size, int | np.integer) or size < 0:
        raise CopylearnError(f"size={size!r} must be a non-negative integer.")
    vs = np.zeros((size, n, 2 * n), dtype=np.uint8)
    ws = np.zeros((size, n, 2 * n), dtype=np.uint8)
    for m in range(n):
        v = np.zeros((size, 2 * n), dtype=np.uint8)
        todo = np.arange(size)
        while todo.size:
            u = rng.integers(0, 2, size=(todo.size, 2 * n), dtype=np.uint8)
            p = _project(u, vs[todo, :m], ws[todo, :m], n)
            ok = p.any(axis=1)
            v[todo[ok]] = p[ok]
            todo = todo[~ok]
        w = np.zeros((size, 2 * n), dtype=np.uint8)
        todo = np.arange(size)
        while todo.size:
            u = rng.integers(0, 2, size=(todo.size, 2 * n), dtype=np.uint8)
            p = _project(u, vs[todo, :m], ws[todo, :m], n)
            ok = _omega(v[todo], p, n) == 1
            w[todo[ok]] = p[ok]
            todo = todo[~ok]
        vs[:, m] = v
        ws[:, m] = w
    rows = np.concatenate([vs, ws], axis=1)  # (size, 2n, 2n): X rows, then Z rows
    rs = rng.integers(0, 2, size=(size, 2 * n), dtype=np.uint8)
    return np.ascontiguousarray(rows[..., :n]), np.ascontiguousarray(rows[..., n:]), rs


def is_symplectic(xs: np.ndarray, zs: np.ndarray) -> np.ndarray:
    """Whether each tableau's rows obey the Pauli commutation relations, ``(B,)`` bool."""
    n = xs.shape[-1]
    rows = np.concatenate([xs, zs], axis=-1).astype(np.int64)
    gram = (rows[..., :n] @ np.swapaxes(rows[..., n:], -1, -2)) % 2
    gram = (gram + np.swapaxes(gram, -1, -2)) % 2
    expected = np.zeros((2 * n, 2 * n), dtype=np.int64)
    expected[:n, n:] = np.eye(n, dtype=np.int64)
    expected[n:, :n] = np.eye(n, dtype=np.int64)
    return np.all(gram == expected, axis=(-1, -2))


# ----- conjugation and the shadow estimate ---------------------------------------------------
def conjugate(
    xs: np.ndarray, zs: np.ndarray, rs: np.ndarray, qx: np.ndarray, qz: np.ndarray, qk: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """C Q C† for every tableau C and Pauli Q, as i^k X^a Z^b.

    Q = i^{qk} X^{qx} Z^{qz}; the image multiplies the tableau rows of its X and Z factors
    in row order, each row written i^{2r + x.z} X^x Z^z, with
    (i^{k1} X^{a1} Z^{b1})(i^{k2} X^{a2} Z^{b2}) = i^{k1 + k2 + 2 b1.a2} X^{a1+a2} Z^{b1+b2}
    (docs/theory.md §13.1).

    Parameters
    ----------
    xs, zs, rs : np.ndarray
        Tableaux, ``(S, 2n, n)``, ``(S, 2n, n)``, ``(S, 2n)``.
    qx, qz : np.ndarray
        ``(M, n)`` 0/1 bits of the Paulis.
    qk : np.ndarray
        ``(M,)`` power of i in front of X^{qx} Z^{qz} (a Hermitian Pauli with sign s has
        qk = qx.qz + (0 if s = +1 else 2)).

    Returns
    -------
    (a, b, k)
        ``(S, M, n)`` uint8 X and Z bits and ``(S, M)`` int64 power of i (mod 4).
    """
    q = np.concatenate([qx, qz], axis=1).astype(np.float64)  # (M, 2n)
    fx = xs.astype(np.float64)
    fz = zs.astype(np.float64)
    a = (np.einsum("mr,srj->smj", q, fx) % 2).astype(np.uint8)
    b = (np.einsum("mr,srj->smj", q, fz) % 2).astype(np.uint8)
    row_k = (2 * rs.astype(np.int64) + (xs.astype(np.int64) * zs).sum(-1)) % 4  # (S, 2n)
    k = np.asarray(qk, dtype=np.int64)[None, :] + np.rint(row_k @ q.T).astype(np.int64)
    # 2 * sum over selected row pairs i < j of b_i . a_j: only its parity matters.
    gram = np.triu(np.einsum("sij,skj->sik", fz, fx) % 2, k=1)  # (S, 2n, 2n)
    cross = np.einsum("smi,mi->sm", np.einsum("sik,mk->smi", gram, q), q)
    k = (k + 2 * np.rint(cross).astype(np.int64)) % 4
    return a, b, k


def clifford_shadow_values(
    xs: np.ndarray,
    zs: np.ndarray,
    rs: np.ndarray,
    bits: np.ndarray,
    qx: np.ndarray,
    qz: np.ndarray,
    sign: np.ndarray,
) -> np.ndarray:
    """Single-shot estimates x̂_Q = (2^n + 1) [C Q C† diagonal] <b|C Q C†|b>, ``(S, M)``.

    With C Q C† = i^k Z^{b'} when diagonal (k even for a Hermitian Q), the value is
    (2^n + 1) (-1)^{k/2} (-1)^{b'.b}; its mean over uniform C and measured b is tr(Q rho)
    and its second moment 2^n + 1 for every Q != I (docs/theory.md §13.1). The identity
    gets 1.

    Parameters
    ----------
    xs, zs, rs : np.ndarray
        Tableaux of the snapshots, ``(S, 2n, n)``, ``(S, 2n, n)``, ``(S, 2n)``.
    bits : np.ndarray
        ``(S, n)`` measured bits.
    qx, qz : np.ndarray
        ``(M, n)`` Pauli bits ((1, 1) is Y).
    sign : np.ndarray
        ``(M,)`` +1 or -1.
    """
    n = xs.shape[-1]
    qk = ((qx.astype(np.int64) * qz).sum(-1) + np.where(np.asarray(sign) < 0, 2, 0)) % 4
    a, b, k = conjugate(xs, zs, rs, qx, qz, qk)
    diagonal = ~a.any(axis=-1)  # (S, M)
    parity = np.einsum("smj,sj->sm", b.astype(np.int64), bits.astype(np.int64)) % 2
    value = np.where((k // 2 + parity) % 2 == 1, -1.0, 1.0) * (2.0**n + 1.0)
    value = np.where(diagonal, value, 0.0)
    identity = ~(np.asarray(qx).any(-1) | np.asarray(qz).any(-1))
    value[:, identity] = np.where(np.asarray(sign)[identity] < 0, -1.0, 1.0)
    return value


# ----- tableau gates (conjugation P -> g P g†, on a batch, masked) ---------------------------
def _h(t, q, e) -> None:
    xs, zs, rs = t
    rs ^= e[:, None] & xs[:, :, q] & zs[:, :, q]
    swap = e[:, None].astype(bool)
    x, z = xs[:, :, q].copy(), zs[:, :, q].copy()
    xs[:, :, q] = np.where(swap, z, x)
    zs[:, :, q] = np.where(swap, x, z)


def _s(t, q, e) -> None:
    xs, zs, rs = t
    rs ^= e[:, None] & xs[:, :, q] & zs[:, :, q]
    zs[:, :, q] ^= e[:, None] & xs[:, :, q]


def _cx(t, c, tq, e) -> None:
    xs, zs, rs = t
    em = e[:, None]
    rs ^= em & xs[:, :, c] & zs[:, :, tq] & (xs[:, :, tq] ^ zs[:, :, c] ^ 1)
    xs[:, :, tq] ^= em & xs[:, :, c]
    zs[:, :, c] ^= em & zs[:, :, tq]


def _x(t, q, e) -> None:
    t[2][...] ^= e[:, None] & t[1][:, :, q]


def _z(t, q, e) -> None:
    t[2][...] ^= e[:, None] & t[0][:, :, q]


_SINGLE = {"H": _h, "S": _s, "X": _x, "Z": _z}


@dataclass(frozen=True)
class Template:
    """The fixed gate sequence of the n-qubit synthesis, in reduction order.

    Attributes
    ----------
    n : int
        Qubits.
    gates : tuple of (str, tuple of int)
        ``("H" | "S" | "CX" | "X" | "Z", qubits)`` in the order the reduction applies them to
        the tableau; one exponent (0 or 1) per gate.
    """

    n: int
    gates: tuple[tuple[str, tuple[int, ...]], ...]

    @property
    def parameter_names(self) -> tuple[str, ...]:
        """One symbol per gate: ``clifford_g0``, ``clifford_g1``, ..."""
        return tuple(f"clifford_g{i}" for i in range(len(self.gates)))

    def circuit(self, qubits) -> cirq.Circuit:
        """The parameterised circuit of C: the inverse of the reduction, gates reversed.

        H**e, CNOT**e, X**e, Z**e and Z**(-e/2) (S^-1) with e in {0, 1}, so every resolved
        circuit is a Clifford circuit (docs/theory.md §13.3).
        """
        ops = []
        for (kind, qs), name in zip(
            reversed(self.gates), reversed(self.parameter_names), strict=True
        ):
            e = sympy.Symbol(name)
            targets = [qubits[i] for i in qs]
            if kind == "H":
                ops.append(cirq.H(*targets) ** e)
            elif kind == "S":
                ops.append(cirq.Z(*targets) ** (-0.5 * e))
            elif kind == "CX":
                ops.append(cirq.CNOT(*targets) ** e)
            elif kind == "X":
                ops.append(cirq.X(*targets) ** e)
            else:
                ops.append(cirq.Z(*targets) ** e)
        return cirq.Circuit(ops)


def _reduce(n: int, t) -> tuple[list[tuple[str, tuple[int, ...]]], list[np.ndarray]]:
    """Reduce the tableaux ``t`` to the identity; returns the gate sequence and exponents.

    With ``t`` of batch size 0 it only records the (tableau-independent) gate sequence.
    """
    xs, zs, rs = t
    gates: list[tuple[str, tuple[int, ...]]] = []
    exps: list[np.ndarray] = []

    def apply(kind: str, qs: tuple[int, ...], e: np.ndarray) -> None:
        e = e.astype(np.uint8)
        gates.append((kind, qs))
        exps.append(e)
        if kind == "CX":
            _cx(t, qs[0], qs[1], e)
        else:
            _SINGLE[kind](t, qs[0], e)

    for j in range(n):
        p, q = j, n + j  # rows C X_j C† and C Z_j C†, reduced to X_j and Z_j
        for k in range(j, n):  # P's letters on k >= j to X or I: Y -> X by S, Z -> X by H
            apply("S", (k,), xs[:, p, k] & zs[:, p, k])
            apply("H", (k,), zs[:, p, k].copy())
        for k in range(j + 1, n):  # an X onto qubit j if it has none (first k with an X)
            apply("CX", (k, j), (1 - xs[:, p, j]) & xs[:, p, k])
        for k in range(j + 1, n):  # clear P's X on k > j
            apply("CX", (j, k), xs[:, p, k].copy())
        for k in range(j + 1, n):  # Q's letters on k > j to Z or I: Y -> X by S, X -> Z by H
            apply("S", (k,), xs[:, q, k] & zs[:, q, k])
            apply("H", (k,), xs[:, q, k].copy())
        for k in range(j + 1, n):  # clear Q's Z on k > j (X_j is unchanged)
            apply("CX", (k, j), zs[:, q, k].copy())
        y = xs[:, q, j].copy()  # Q = Y_j -> Z_j by H S H (fixes X_j)
        apply("H", (j,), y)
        apply("S", (j,), y)
        apply("H", (j,), y)
    for j in range(n):  # signs: Z_j flips the sign of X_j, X_j that of Z_j
        apply("Z", (j,), rs[:, j].copy())
        apply("X", (j,), rs[:, n + j].copy())
    return gates, exps


@lru_cache(maxsize=64)
def template(n: int) -> Template:
    """The n-qubit synthesis template (cached): 3.5 n^2 + 3.5 n gates."""
    n = _check_n(n)
    empty = np.zeros((0, 2 * n, n), dtype=np.uint8)
    gates, _ = _reduce(n, (empty, empty.copy(), np.zeros((0, 2 * n), dtype=np.uint8)))
    return Template(n, tuple(gates))


@lru_cache(maxsize=16)
def line_template_circuit(n: int) -> cirq.FrozenCircuit:
    """:func:`template` ``(n).circuit`` on ``cirq.LineQubit.range(n)``, built once per n.

    The circuit holds 3.5 n^2 + 3.5 n parameterised gates; building it (sympy symbols, Cirq
    moments) costs more than simulating it at n ~ 14, so a protocol that builds one circuit
    per state (a fresh Haar-random state per trial) reuses this frozen copy.
    """
    return template(n).circuit(cirq.LineQubit.range(n)).freeze()


def template_exponents(xs: np.ndarray, zs: np.ndarray, rs: np.ndarray) -> np.ndarray:
    """Exponents of :func:`template` that implement each tableau, ``(B, gates)`` uint8.

    Runs the reduction (docs/theory.md §13.3) on copies of the tableaux and checks that it
    ends at the identity tableau.

    Raises
    ------
    CopylearnError
        A tableau that is not a Clifford (its rows break the Pauli commutation relations).
    """
    n = xs.shape[-1]
    if not np.all(is_symplectic(xs, zs)):
        raise CopylearnError(
            "a tableau's rows do not obey the Pauli commutation relations: it is no Clifford."
        )
    t = (xs.astype(np.uint8).copy(), zs.astype(np.uint8).copy(), rs.astype(np.uint8).copy())
    gates, exps = _reduce(n, t)
    eye, zero = np.eye(n, dtype=np.uint8), np.zeros((n, n), dtype=np.uint8)
    if not (
        np.all(t[0] == np.concatenate([eye, zero]))
        and np.all(t[1] == np.concatenate([zero, eye]))
        and not np.any(t[2])
    ):  # pragma: no cover - a symplectic tableau always reduces
        raise AssertionError("the Clifford reduction did not reach the identity")
    assert tuple(gates) == template(n).gates
    if not exps:
        return np.zeros((xs.shape[0], 0), dtype=np.uint8)
    return np.stack(exps, axis=1)


def tableau_circuit(xs: np.ndarray, zs: np.ndarray, rs: np.ndarray, qubits) -> cirq.Circuit:
    """One tableau's Clifford as a resolved Cirq circuit, exponent-0 gates dropped.

    The parameterised template resolved at :func:`template_exponents`, then
    ``cirq.drop_negligible_operations`` (a resolved template keeps its exponent-0 gates,
    which stimcirq does not translate: drop them the same way before converting).
    """
    n = xs.shape[-1]
    exps = template_exponents(xs[None], zs[None], rs[None])[0]
    tpl = template(n)
    resolver = cirq.ParamResolver(
        {name: float(e) for name, e in zip(tpl.parameter_names, exps, strict=True)}
    )
    resolved = cirq.resolve_parameters(tpl.circuit(qubits), resolver)
    return cirq.drop_empty_moments(cirq.drop_negligible_operations(resolved))
