"""Two copies with k qubits of quantum memory, registered as ``partial-bell``.

One experiment consumes two copies of rho. The register splits into the memory qubits
M = {0, ..., k-1} and the rest R = {k, ..., n-1}, m = n - k (docs/theory.md §20.1):

* the rest of both copies is measured in the computational basis after the *same* random
  rotation V: a uniformly random m-qubit Clifford (``rest = "clifford"``, drawn and
  synthesised exactly as ``clifford-shadow`` does, :mod:`copylearn.clifford`) or the same
  uniformly random local Pauli bases B in {X, Y, Z}^m (``rest = "pauli"``, the rotations of
  ``pauli-shadow``);
* the k memory pairs (A_i, B_i) are Bell-measured: CNOT(A_i -> B_i), H(A_i), as ``bell``.

``memory_qubits = n`` is Bell sampling (same circuit, arrays and estimator); ``memory_qubits
= 0`` is two single-copy snapshots in one shared random basis. Physically copy A's rest is
measured before copy B arrives, so only A's k memory qubits are ever stored (§20.3).

Layout: copy A on ``LineQubit(2i)``, copy B on ``LineQubit(2i + 1)`` (as ``bell``). The V of
both copies is one parameterised circuit with *shared* symbols, so one parameter row per
experiment applies the same V to both. Every outcome comes from executing that circuit on
the chosen simulator backend (``backend="stim"`` or ``"auto"`` runs the Clifford rest on
the stabilizer simulator).

Dataset arrays (packed uint64, fixed for both rests so that a file's layout does not depend
on its options): ``m_a``, ``m_b`` (every qubit of each copy; for i < k the Bell outcome bits,
for i >= k the rest's bits z1, z2), ``tableau_x``, ``tableau_z``, ``signs_x``, ``signs_z``
(Clifford rest: the m-qubit tableau of V in ``clifford-shadow``'s layout, rows 0..2m-1 and
columns 0..m-1 of 2n rows of n bits, column j being qubit k + j; zero for the Pauli rest) and
``bases_x``, ``bases_z`` (Pauli rest: the shared bases on the rest's qubits in
``pauli-shadow``'s symplectic code; zero for the Clifford rest).

Estimator of tr(Q rho)^2, Q = Q_M (x) Q_R (docs/theory.md §20.2): f_Q =
prod_{i<k} lambda_{Q_i}(Bell outcome i) * g_R with g_R = x1 x2 / c, where x1, x2 are the
single-copy shadow values of Q_R from z1 and z2 under the shared V and c is their second
moment (2^m + 1 for a Clifford rest, 3^|Q_R| for Pauli bases); g_R = 1 when Q_R = I.
E f_Q = tr(Q rho)^2, E f_Q^2 = 2^m + 1 (Clifford rest, Q_R != I) or 3^|Q_R| (Pauli rest).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, ClassVar

import cirq
import numpy as np
import sympy

from copylearn.clifford import random_tableaux, template, template_exponents
from copylearn.errors import CopylearnError
from copylearn.parameters import Parameter, ParameterError
from copylearn.pauli import (
    Paulis,
    bell_values,
    n_words,
    pack_bits,
    shadow_values,
    unpack_bits,
)
from copylearn.protocols import Protocol, prefix_sums, register_protocol, state_columns
from copylearn.protocols.clifford_shadow import tableaux
from copylearn.protocols.two_copy import pair_capacity, place_pairs, registers
from copylearn.streams import as_array, stream_of

RESTS = ("clifford", "pauli")
_TABLEAU_ARRAYS = ("tableau_x", "tableau_z")
# Shots per chunk of the Clifford-rest estimator: bounds its (shots, M, 2m, m) temporaries.
_CHUNK_ELEMENTS = 1 << 21
#: Largest register: the Clifford rest synthesises an m-qubit Clifford per experiment, as
#: ``clifford-shadow`` does (its limit).
MAX_QUBITS = 64


def _memory_qubits(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise ValueError(
            f"{value!r} is not a qubit count >= 0: give how many qubit pairs are stored and "
            "Bell-measured, 0..n (e.g. memory_qubits = 2)."
        )
    return int(value)


def _rest(value) -> str:
    if not isinstance(value, str) or value not in RESTS:
        raise ValueError(
            f"{value!r} is not a rest measurement: use 'clifford' (the same random Clifford on "
            "the unstored qubits of both copies) or 'pauli' (the same random local Pauli bases)."
        )
    return value


def _too_many(k: int, n: int) -> str:
    return (
        f"memory_qubits: {k} stored qubits is more than the state's n = {n} qubits: use "
        f"memory_qubits in 0..{n}."
    )


@lru_cache(maxsize=32)
def _measurement_stage(n: int, k: int, rest: str) -> tuple[cirq.FrozenCircuit, tuple[str, ...]]:
    """The shared rotation V on both copies' rest, the Bell stage of the memory pairs and the
    measurements; its symbol names (built once per (n, k, rest))."""
    a, b = registers(n)
    m = n - k
    circuit = cirq.Circuit()
    names: tuple[str, ...] = ()
    if m and rest == "clifford":
        tpl = template(m)
        # One template per copy, the same symbols: every parameter row applies one V to both.
        circuit += tpl.circuit(a[k:]).zip(tpl.circuit(b[k:]))
        names = tpl.parameter_names
    elif m:
        s_names = tuple(f"basis_s{i}" for i in range(k, n))
        h_names = tuple(f"basis_h{i}" for i in range(k, n))
        s_ops, h_ops = [], []
        for i, s, h in zip(range(k, n), s_names, h_names, strict=True):
            for q in (a[i], b[i]):
                s_ops.append(cirq.Z(q) ** (-0.5 * sympy.Symbol(s)))
                h_ops.append(cirq.H(q) ** sympy.Symbol(h))
        circuit += cirq.Circuit(cirq.Moment(s_ops), cirq.Moment(h_ops))
        names = s_names + h_names
    if k:
        bell = cirq.Circuit(
            cirq.Moment(cirq.CNOT(a[i], b[i]) for i in range(k)),
            cirq.Moment(cirq.H(a[i]) for i in range(k)),
        )
        circuit = circuit.zip(bell)  # disjoint qubits: the Bell stage runs beside V
    circuit += cirq.Circuit(cirq.Moment(cirq.measure(*a, key="a"), cirq.measure(*b, key="b")))
    return circuit.freeze(), names


def _restricted(paulis: Paulis, lo: int, hi: int) -> Paulis:
    """``paulis`` with every letter outside qubits lo..hi-1 set to I and sign +1."""
    mask_bits = np.zeros((1, paulis.n), dtype=np.uint8)
    mask_bits[0, lo:hi] = 1
    mask = pack_bits(mask_bits)
    return Paulis(
        paulis.n,
        paulis.x & mask,
        paulis.z & mask,
        np.ones(len(paulis), dtype=paulis.sign.dtype),
        paulis.labels,
    )


@register_protocol
class PartialBell(Protocol):
    """k stored qubit pairs Bell-measured, the rest of both copies in one shared random basis.

    f_Q = prod_{i<k} lambda_{Q_i} * g_R, mean tr(Q rho)^2, second moment 2^{n-k} + 1
    (Clifford rest, Q_R != I) or 3^{|Q_R|} (Pauli rest) (docs/theory.md §20.2).
    """

    name = "partial-bell"
    description = (
        "two copies, k qubits of quantum memory: Bell on k pairs, the rest in one shared "
        "random Clifford (or Pauli) basis"
    )
    copies_per_shot = 2
    arrays = (
        "m_a",
        "m_b",
        "tableau_x",
        "tableau_z",
        "signs_x",
        "signs_z",
        "bases_x",
        "bases_z",
    )
    estimators = ("tr(Q rho)^2", "|tr(Q rho)|")
    statistic = "tr(Q rho)^2"
    unsupported_notes: ClassVar[dict[str, str]] = {
        "tr(Q rho)": " (two-copy data determine tr(Q rho)^2 only, not the sign)",
        "calibration": "; the noise of a random Clifford on the rest does not factor over qubits",
    }
    #: At fixed k the second moment 2^{n-k} + 1 grows as 2^n: no flat two-copy overlay.
    variance_growth: ClassVar[tuple[float, str] | None] = (2.0, "k-qubit memory")
    plot_style: ClassVar[dict[str, Any]] = {
        "label": "k-qubit memory (partial Bell)",
        "short": "partial Bell",
        "marker": "D",
        "marker_name": "◆",
        "colours": ["reddish_purple", "orange", "sky_blue"],
    }
    parameters: ClassVar[tuple[Parameter, ...]] = (
        Parameter(
            "memory_qubits",
            0,
            _memory_qubits,
            "k, the qubit pairs stored and Bell-measured (qubits 0..k-1), 0..n",
        ),
        Parameter(
            "rest",
            "clifford",
            _rest,
            "the other n-k qubits of both copies: 'clifford' (one shared random Clifford) or "
            "'pauli' (shared random local Pauli bases)",
        ),
    )

    def __init__(self, *, memory_qubits: int = 0, rest: str = "clifford") -> None:
        self.memory_qubits = self.parameters[0].validate(memory_qubits)
        self.rest = self.parameters[1].validate(rest)

    def check_n(self, n: int) -> None:
        """Refuse more memory qubits than the register holds.

        Raises
        ------
        ParameterError
            ``memory_qubits > n`` (key ``memory_qubits``).
        """
        if self.memory_qubits > n:
            raise ParameterError("memory_qubits", _too_many(self.memory_qubits, n))
        if n > MAX_QUBITS:
            raise CopylearnError(
                f"protocol {self.name!r} holds at most {MAX_QUBITS} qubits per copy, got "
                f"n = {n}: use a smaller n."
            )

    # ----- circuits and data ---------------------------------------------------------------
    def build(self, state) -> tuple[cirq.Circuit, tuple[str, ...]]:
        """Both copies' preparations, the shared rotation of the rest, the Bell stage of the
        memory pairs, measurement of every qubit (keys ``"a"``, ``"b"``)."""
        n = state.n
        self.check_n(n)
        a, b = registers(n)
        stage, own = _measurement_stage(n, self.memory_qubits, self.rest)
        circuit = state.prep_circuit(a, prefix="a_").zip(state.prep_circuit(b, prefix="b_"))
        circuit += stage.unfreeze(copy=True)
        names = tuple("a_" + p for p in state.parameter_names)
        names += tuple("b_" + p for p in state.parameter_names)
        return circuit, names + own

    def draw(
        self, state, shots: int, rngs: dict[str, np.random.Generator]
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Per-shot values (copy A's and copy B's state randomness, then V's parameters) and
        the record of V.

        ``rngs["state_a"]``, ``rngs["state_b"]`` drive the copies, ``rngs["protocol"]`` the
        rest's rotation: one m-qubit Clifford (:func:`copylearn.clifford.random_tableaux`)
        or m uniform bases per experiment.
        """
        n, k = state.n, self.memory_qubits
        self.check_n(n)
        m = n - k
        stream = stream_of(rngs)
        cols_a = as_array(state_columns(state, rngs["state_a"], shots, stream))
        cols_b = as_array(state_columns(state, rngs["state_b"], shots, stream))
        words = n_words(n)
        zeros = np.zeros((shots, words), dtype=np.uint64)
        record = {
            "tableau_x": np.zeros((shots, 2 * n * words), dtype=np.uint64),
            "tableau_z": np.zeros((shots, 2 * n * words), dtype=np.uint64),
            "signs_x": zeros,
            "signs_z": zeros.copy(),
            "bases_x": zeros.copy(),
            "bases_z": zeros.copy(),
        }
        if m == 0:
            own = np.zeros((shots, 0))
        elif self.rest == "clifford":
            xs, zs, rs = random_tableaux(m, shots, rngs["protocol"])
            own = template_exponents(xs, zs, rs).astype(np.float64)
            for name, rows in (("tableau_x", xs), ("tableau_z", zs)):
                full = np.zeros((shots, 2 * n, n), dtype=np.uint8)
                full[:, : 2 * m, :m] = rows
                record[name] = pack_bits(full).reshape(shots, -1)
            sx = np.zeros((shots, n), dtype=np.uint8)
            sz = np.zeros((shots, n), dtype=np.uint8)
            sx[:, :m], sz[:, :m] = rs[:, :m], rs[:, m:]
            record["signs_x"], record["signs_z"] = pack_bits(sx), pack_bits(sz)
        else:
            codes = rngs["protocol"].integers(0, 3, size=(shots, m), dtype=np.uint8)
            s, h = (codes == 1).astype(np.uint8), (codes != 2).astype(np.uint8)
            own = np.concatenate([s, h], axis=1)
            bx = np.zeros((shots, n), dtype=np.uint8)
            bz = np.zeros((shots, n), dtype=np.uint8)
            bx[:, k:], bz[:, k:] = h, (codes != 0)  # X = (1, 0), Y = (1, 1), Z = (0, 1)
            record["bases_x"], record["bases_z"] = pack_bits(bx), pack_bits(bz)
        dtype = np.float64 if own.dtype == np.float64 else np.uint8
        values = np.concatenate(
            [cols_a.astype(dtype), cols_b.astype(dtype), own.astype(dtype)], axis=1
        )
        return values, record

    def array_words(self, name: str, n: int) -> int:
        """Tableau arrays hold 2n rows of ``n_words(n)`` words; the others one row."""
        return 2 * n * n_words(n) if name in _TABLEAU_ARRAYS else n_words(n)

    def outcome_arrays(
        self, record: dict[str, np.ndarray], measurements: dict[str, np.ndarray]
    ) -> dict[str, np.ndarray]:
        """Dataset arrays: copy A's and copy B's packed bits and the record of V."""
        return {"m_a": pack_bits(measurements["a"]), "m_b": pack_bits(measurements["b"]), **record}

    def _tableaux(self, arrays, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The rest's m-qubit tableaux: ``(shots, 2m, m)`` twice and ``(shots, 2m)``."""
        m = n - self.memory_qubits
        xs, zs, rs = tableaux(arrays, n)  # clifford-shadow's layout, the rest in rows < 2m
        return xs[:, : 2 * m, :m], zs[:, : 2 * m, :m], rs[:, np.r_[0:m, n : n + m]]

    def unpack(self, arrays: dict[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
        """``"m_a"``, ``"m_b"`` ``(shots, n)`` (qubits < k: Bell outcomes, (0,0) = Phi+,
        (0,1) = Psi+, (1,0) = Phi-, (1,1) = Psi-; qubits >= k: the rest's bits of each copy)
        and the rest's rotation: ``"xs"``, ``"zs"`` ``(shots, 2m, m)`` and ``"rs"``
        ``(shots, 2m)`` (Clifford rest, ``clifford-shadow``'s tableau layout) or ``"bases"``
        ``(shots, m)`` (Pauli rest, X = 1, Y = 2, Z = 3)."""
        out = {"m_a": unpack_bits(arrays["m_a"], n), "m_b": unpack_bits(arrays["m_b"], n)}
        k = self.memory_qubits
        if self.rest == "clifford":
            out["xs"], out["zs"], out["rs"] = self._tableaux(arrays, n)
        else:
            x = unpack_bits(arrays["bases_x"], n)[:, k:]
            z = unpack_bits(arrays["bases_z"], n)[:, k:]
            out["bases"] = (x * (1 + z) + 3 * z * (1 - x)).astype(np.uint8)
        return out

    def place(self, device, n: int, ladder: bool) -> dict[cirq.Qid, cirq.Qid]:
        """Pauli rest: every qubit pair (A_i, B_i) on a coupler, as Bell sampling places them
        (the memory pairs' Bell stage acts on couplers, the rest's bases are single-qubit
        gates). Clifford rest: refused (its Clifford joins qubits that are not neighbours,
        and copylearn does not route circuits onto couplers)."""
        if self.rest == "clifford":
            raise CopylearnError(self._no_device())
        return place_pairs(device, n, ladder)

    def device_capacity(self, device) -> tuple[int, str]:
        """As :meth:`place`: the Bell pairs on couplers the device holds (Pauli rest)."""
        if self.rest == "clifford":
            raise CopylearnError(self._no_device())
        return pair_capacity(device)

    def _no_device(self) -> str:
        return (
            f"protocol {self.name!r} with rest = 'clifford' is not placed on devices (its "
            "random Clifford joins qubits that are not neighbours, and copylearn does not route "
            "circuits onto couplers): use rest = 'pauli' on a device, or run without a device."
        )

    # ----- estimators ----------------------------------------------------------------------
    def second_moment(self, paulis: Paulis) -> np.ndarray:
        """``(M,)`` E f_Q^2 of each Pauli: 2^m + 1 (Clifford rest) or 3^|Q_R| (Pauli rest),
        1 when Q_R = I (docs/theory.md §20.2)."""
        n, k = paulis.n, self.memory_qubits
        rest = _restricted(paulis, k, n)
        weight = rest.weight
        if self.rest == "clifford":
            return np.where(weight > 0, 2.0 ** (n - k) + 1.0, 1.0)
        return np.power(3.0, weight)

    def value_bound(self, paulis: Paulis) -> np.ndarray:
        """``(M,)`` the largest |f_Q|: c, since an experiment yields 0 or +-c with c the second
        moment (docs/theory.md §20.2); ``estimate_square``'s zero-variance floor uses it."""
        return self.second_moment(paulis)

    def sums_values(self, paulis: Paulis, data: dict[str, np.ndarray]) -> np.ndarray:
        """``(shots, M)`` single-shot values f_Q (docs/theory.md §20.2)."""
        n, k = paulis.n, self.memory_qubits
        self.check_n(n)
        m = n - k
        values = bell_values(_restricted(paulis, 0, k), data["m_a"], data["m_b"])
        values = values.astype(np.float64)
        if m == 0:
            return values
        rest = _restricted(paulis, k, n)
        if self.rest == "pauli":
            x1 = shadow_values(rest, data["bases_x"], data["bases_z"], data["m_a"])
            x2 = shadow_values(rest, data["bases_x"], data["bases_z"], data["m_b"])
            return values * x1 * x2 / np.power(3.0, rest.weight)[None]
        q = np.concatenate(
            [unpack_bits(paulis.x, n)[:, k:], unpack_bits(paulis.z, n)[:, k:]], axis=1
        ).astype(np.float64)  # (M, 2m): Q_R's X bits, then its Z bits
        identity = ~q.any(axis=1)
        xs, zs, _ = self._tableaux(data, n)
        flips = unpack_bits(data["m_a"] ^ data["m_b"], n)[:, k:].astype(np.float64)  # z1 + z2
        g = np.empty_like(values)
        size = max(1, _CHUNK_ELEMENTS // max(1, len(paulis) * 2 * m))
        for start in range(0, values.shape[0], size):
            sl = slice(start, start + size)
            # V Q_R V^dagger up to its phase, which appears in x1 and x2 alike and cancels.
            a = np.matmul(q, xs[sl].astype(np.float64)) % 2  # (S, M, m) X bits
            b = np.matmul(q, zs[sl].astype(np.float64)) % 2  # (S, M, m) Z bits
            parity = np.matmul(b, flips[sl, :, None])[..., 0] % 2
            hit = ~a.any(axis=-1)
            g[sl] = np.where(hit, (2.0**m + 1.0) * (1.0 - 2.0 * parity), 0.0)
        g[:, identity] = 1.0
        return values * g

    def sums(self, paulis, arrays, ends=None):
        """Sums of f_Q and f_Q^2, over all shots or per prefix (see :meth:`Protocol.sums`)."""
        return prefix_sums(self.sums_values(paulis, arrays), ends)
