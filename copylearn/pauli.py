"""Pauli strings in symplectic, bit-packed form and their vectorised per-shot estimators.

A Pauli string Q on n qubits is stored as two bit vectors (x, z): site i carries
X if (x_i, z_i) = (1, 0), Z if (0, 1), Y if (1, 1) and I if (0, 0). Bit i lives in
bit ``i % 64`` of 64-bit word ``i // 64``, so any number of qubits is supported.
Qubit 0 is the leftmost letter of a label such as ``"XYZI"`` (Cirq's big-endian order).

Per-shot estimators (docs/theory.md §3.2, §4.2):

* random-Pauli shadow: ``x_Q = prod_{i in supp Q} 3 * 1[B_i = Q_i] * e_i`` where B is
  the measured basis and ``e_i = (-1)^bit_i`` the measured eigenvalue;
* Bell sampling: ``f_Q(m) = (-1)^{#Y(Q)} (-1)^{q.m}`` with ``q.m`` the parity of
  ``(x & m_A) ^ (z & m_B)``; ``E f_Q = tr(Q rho)^2``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import cirq
import numpy as np

from copylearn.errors import CopylearnError
from copylearn.estimator_kernels import kernels

WORD_BITS = 64
_LETTERS = {"I": (0, 0), "X": (1, 0), "Y": (1, 1), "Z": (0, 1)}
_CIRQ_LETTERS = {cirq.X: "X", cirq.Y: "Y", cirq.Z: "Z"}
# Elements of an (N, M, W) temporary per chunk in the vectorised estimators.
_CHUNK_ELEMENTS = 1 << 22


def n_words(n: int) -> int:
    """Number of 64-bit words that hold ``n`` bits."""
    return (n + WORD_BITS - 1) // WORD_BITS


def pack_bits(bits: np.ndarray) -> np.ndarray:
    """Pack the last axis of a 0/1 array into little-endian 64-bit words.

    Parameters
    ----------
    bits : np.ndarray or copylearn.streams.PackedColumns
        Array of shape ``(..., n)`` holding 0 and 1, or bits already packed so (the block
        sampler's stream-2 outcomes), whose words are returned as they are.

    Returns
    -------
    np.ndarray
        ``uint64`` array of shape ``(..., n_words(n))``;
        bit i is bit ``i % 64`` of word ``i // 64``.
    """
    from copylearn.streams import PackedColumns

    if isinstance(bits, PackedColumns):
        return bits.words
    bits = np.asarray(bits)
    if bits.dtype != np.bool_:
        bits = bits.astype(np.uint8, copy=False)
    words = n_words(bits.shape[-1])
    # Pack the bytes first, then pad them to whole words (8x less to pad than the bits).
    packed = np.packbits(bits, axis=-1, bitorder="little")
    padded = np.zeros((*bits.shape[:-1], words * 8), dtype=np.uint8)
    padded[..., : packed.shape[-1]] = packed
    return padded.view("<u8").astype(np.uint64, copy=False)


def unpack_bits(words: np.ndarray, n: int) -> np.ndarray:
    """Inverse of :func:`pack_bits`: ``(..., W) uint64`` to ``(..., n) uint8``."""
    words = np.ascontiguousarray(np.asarray(words, dtype="<u8"))
    as_bytes = words.view(np.uint8)
    return np.unpackbits(as_bytes, axis=-1, bitorder="little")[..., :n]


def popcount(words: np.ndarray) -> np.ndarray:
    """Number of set bits, summed over the last (word) axis."""
    return np.bitwise_count(words).sum(axis=-1, dtype=np.int64)


@dataclass(frozen=True)
class Paulis:
    """A list of M Pauli strings on n qubits in packed symplectic form.

    Attributes
    ----------
    n : int
        Number of qubits.
    x, z : np.ndarray
        ``uint64`` arrays of shape ``(M, n_words(n))``.
    sign : np.ndarray
        ``(M,)`` array of +1 / -1 coefficients.
    labels : tuple of str
        Labels such as ``"XYZI"`` or ``"-ZZ"``, in input order.
    """

    n: int
    x: np.ndarray
    z: np.ndarray
    sign: np.ndarray
    labels: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def support(self) -> np.ndarray:
        """Packed mask of the non-identity sites, ``(M, W)``."""
        return self.x | self.z

    @property
    def weight(self) -> np.ndarray:
        """Number of non-identity sites of each string, ``(M,)``."""
        return popcount(self.support)

    @property
    def n_y(self) -> np.ndarray:
        """Number of Y sites of each string, ``(M,)``."""
        return popcount(self.x & self.z)

    @functools.cached_property
    def kernel_rows(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each string's non-identity sites, for the compiled estimators; computed once.

        Returns ``(sites, rows, count)``: ``(M, n)`` int64 site indices with the
        non-identity sites first in qubit order, ``rows = 3 * site + letter - 1``
        (letters X = 1, Y = 2, Z = 3) and ``(M,)`` the number of such sites; entries past
        ``count`` are padding.
        """
        letters = letter_codes(self)
        nonzero = letters != 0
        sites = np.argsort(~nonzero, axis=1, kind="stable").astype(np.int64)
        rows = 3 * sites + np.take_along_axis(letters, sites, axis=1).astype(np.int64) - 1
        return sites, np.maximum(rows, 0), nonzero.sum(axis=1, dtype=np.int64)

    def letters(self) -> list[str]:
        """Unsigned labels, one letter per qubit."""
        return [label.lstrip("+-") for label in self.labels]


def _parse_label(label: str, n: int | None) -> tuple[int, list[tuple[int, int]], str]:
    text = label.strip().upper()
    sign = 1
    if text[:1] in "+-" and text:
        sign = -1 if text[0] == "-" else 1
        text = text[1:]
    bad = sorted({c for c in text if c not in _LETTERS})
    if not text or bad:
        raise CopylearnError(
            f"Pauli label {label!r} has unknown letters {''.join(bad) or '(empty)'}: "
            "use one of I, X, Y, Z per qubit, e.g. 'XYZI'."
        )
    if n is not None and len(text) != n:
        raise CopylearnError(
            f"Pauli label {label!r} has {len(text)} letters but the state has {n} qubits: "
            f"give exactly one of I, X, Y, Z per qubit."
        )
    return sign, [_LETTERS[c] for c in text], text


def _parse_cirq(
    ps: cirq.PauliString, n: int | None, qubits: Sequence[cirq.Qid] | None = None
) -> tuple[int, list[tuple[int, int]], str]:
    coefficient = complex(ps.coefficient)
    if coefficient not in (1, -1):
        raise CopylearnError(
            f"cirq.PauliString {ps} has coefficient {coefficient}: only +1 and -1 are supported."
        )
    if qubits is not None:
        # Map by qubit identity: position i of the label is the state's i-th (sorted) qubit.
        index = {q: i for i, q in enumerate(qubits)}
        letters = ["I"] * len(qubits)
        for q, p in ps.items():
            if q not in index:
                raise CopylearnError(
                    f"cirq.PauliString {ps} acts on {q!r}, which is not one of the state's "
                    f"qubits {_qubit_list(qubits)}: use those qubits, or a label such as "
                    f"{'Z' * len(qubits)!r}."
                )
            letters[index[q]] = _CIRQ_LETTERS[p]
        text = "".join(letters)
        return (1 if coefficient == 1 else -1), [_LETTERS[c] for c in text], text
    found = list(ps.qubits)
    if not all(isinstance(q, cirq.LineQubit) for q in found):
        raise CopylearnError(
            f"cirq.PauliString {ps} acts on {found}: without the state's qubits (pass "
            "qubits=...) use cirq.LineQubit(i) for qubit i, or give a label such as 'XYZI'."
        )
    if n is None and not found:
        raise CopylearnError(
            f"cannot tell the number of qubits of the identity {ps}: pass n, or use a label."
        )
    size = n if n is not None else max(q.x for q in found) + 1
    letters = ["I"] * size
    for q, p in ps.items():
        if not 0 <= q.x < size:
            raise CopylearnError(
                f"cirq.PauliString {ps} acts on {q}, outside the state's qubits 0..{size - 1}."
            )
        letters[q.x] = _CIRQ_LETTERS[p]
    text = "".join(letters)
    return (1 if coefficient == 1 else -1), [_LETTERS[c] for c in text], text


def _qubit_list(qubits: Sequence[cirq.Qid], limit: int = 8) -> str:
    """A short list of qubits for messages: ``[q(0), q(2)]`` or the first few and a count."""
    shown = ", ".join(str(q) for q in qubits[:limit])
    more = f", ... ({len(qubits)} in all)" if len(qubits) > limit else ""
    return f"[{shown}{more}]"


def parse_paulis(
    observables: str | cirq.PauliString | Paulis | Iterable[str | cirq.PauliString],
    n: int | None = None,
    *,
    qubits: Sequence[cirq.Qid] | None = None,
) -> Paulis:
    """Parse Pauli observables into packed form.

    Parameters
    ----------
    observables : str, cirq.PauliString, Paulis or iterable of str / cirq.PauliString
        Labels like ``"XYZI"`` (optionally prefixed by ``+``/``-``; letter i acts on qubit
        i), or Cirq Pauli strings. A single comma-separated string ``"XX,ZZ"`` is accepted.
    n : int, optional
        The number of qubits every string must have. Inferred from the first string if omitted.
    qubits : sequence of cirq.Qid, optional
        The state's qubits in order (qubit i is ``qubits[i]``, e.g. a circuit's sorted
        qubits). A ``cirq.PauliString`` is then mapped by qubit identity, whatever the qubit
        type (``LineQubit``, ``GridQubit``, ``NamedQubit``), and a qubit not in ``qubits`` is
        an error. Without it, a ``cirq.PauliString`` must act on ``cirq.LineQubit(i)``,
        meaning qubit i. Labels are positional either way.

    Returns
    -------
    Paulis

    Raises
    ------
    CopylearnError
        Unknown letters, a wrong length, an unsupported coefficient, or a qubit that is not
        one of ``qubits``.
    """
    if qubits is not None:
        qubits = list(qubits)
        if n is None:
            n = len(qubits)
        elif len(qubits) != n:
            raise CopylearnError(f"{len(qubits)} qubits given for a state of {n} qubits.")
    if isinstance(observables, Paulis):
        if n is not None and observables.n != n:
            raise CopylearnError(f"observables act on {observables.n} qubits, the state on {n}.")
        return observables
    if isinstance(observables, str):
        items: Sequence = [s for s in observables.split(",") if s.strip()]
    elif isinstance(observables, cirq.PauliString):
        items = [observables]
    elif isinstance(observables, Iterable):
        items = list(observables)
    else:
        raise CopylearnError(
            f"observables {observables!r} are not understood: give labels like 'XYZ', a "
            "comma-separated string 'XX,ZZ', or cirq.PauliStrings."
        )
    if not items:
        raise CopylearnError("no observables given: pass at least one Pauli label such as 'XZ'.")
    if all(type(item) is str for item in items) and (n is None or isinstance(n, int | np.integer)):
        return _parse_label_set(tuple(items), n)
    return _parse_items(items, n, qubits)


def _parse_items(
    items: Sequence, n: int | None, qubits: Sequence[cirq.Qid] | None = None
) -> Paulis:
    """Parse labels and cirq.PauliStrings one by one (the reference parser; every error)."""
    signs, rows, labels = [], [], []
    for item in items:
        if isinstance(item, cirq.PauliString):
            sign, sites, text = _parse_cirq(item, n, qubits)
        elif isinstance(item, str):
            sign, sites, text = _parse_label(item, n)
        else:
            raise CopylearnError(
                f"observable {item!r} is neither a label like 'XYZ' nor a cirq.PauliString."
            )
        if n is None:
            n = len(text)
        signs.append(sign)
        rows.append(sites)
        labels.append(("-" if sign < 0 else "") + text)
    bits = np.array(rows, dtype=np.uint8)  # (M, n, 2)
    return Paulis(
        n=int(n),
        x=pack_bits(bits[..., 0]),
        z=pack_bits(bits[..., 1]),
        sign=np.array(signs, dtype=np.int8),
        labels=tuple(labels),
    )


# Label letter -> x bit, z bit, and whether the byte is a letter at all (ASCII codes).
_X_OF_BYTE = np.zeros(256, dtype=np.uint8)
_Z_OF_BYTE = np.zeros(256, dtype=np.uint8)
_IS_LETTER = np.zeros(256, dtype=bool)
for _letter, (_x, _z) in _LETTERS.items():
    _X_OF_BYTE[ord(_letter)], _Z_OF_BYTE[ord(_letter)], _IS_LETTER[ord(_letter)] = _x, _z, True
# Query sets parsed recently, by (labels, n): estimating the same labels again skips parsing.
LABEL_CACHE_SIZE = 64


@functools.lru_cache(maxsize=LABEL_CACHE_SIZE)
def _parse_label_set(items: tuple[str, ...], n: int | None) -> Paulis:
    """Parse a tuple of labels at once (vectorised), cached; arrays are read-only.

    Any label the vectorised path does not accept goes to :func:`_parse_items`, so results
    and error messages are exactly the reference parser's (errors are not cached).
    """
    texts = [item.strip().upper() for item in items]
    negative = [text[:1] == "-" for text in texts]
    bodies = [text[1:] if text[:1] in ("+", "-") else text for text in texts]
    size = len(bodies[0]) if n is None else n
    joined = "".join(bodies)
    if size < 1 or not joined.isascii() or set(map(len, bodies)) != {size}:
        paulis = _parse_items(items, n)
    else:
        codes = np.frombuffer(joined.encode("ascii"), dtype=np.uint8).reshape(len(bodies), size)
        if not _IS_LETTER[codes].all():
            paulis = _parse_items(items, n)
        else:
            paulis = Paulis(
                n=int(size),
                x=pack_bits(_X_OF_BYTE[codes]),
                z=pack_bits(_Z_OF_BYTE[codes]),
                sign=np.where(negative, -1, 1).astype(np.int8),
                labels=tuple(
                    "-" + body if neg else body for body, neg in zip(bodies, negative, strict=True)
                ),
            )
    for array in (paulis.x, paulis.z, paulis.sign):
        array.flags.writeable = False  # shared by every caller that parses these labels
    return paulis


def commutes(a: Paulis, b: Paulis) -> np.ndarray:
    """Whether each string of ``a`` commutes with each of ``b``: ``(len(a), len(b))`` bool."""
    if a.n != b.n:
        raise CopylearnError(f"cannot compare Paulis on {a.n} and {b.n} qubits.")
    sym = (a.x[:, None, :] & b.z[None]) ^ (a.z[:, None, :] & b.x[None])
    return (popcount(sym) & 1) == 0


def shot_chunks(n_shots: int, n_obs: int, n_words_: int) -> list[slice]:
    """Slices of the shot axis small enough that an ``(chunk, M, W)`` temporary stays bounded.

    Callers evaluate the per-shot estimators chunk by chunk, so memory is independent of N.
    """
    size = max(1, _CHUNK_ELEMENTS // max(1, n_obs * n_words_))
    return [slice(start, min(n_shots, start + size)) for start in range(0, n_shots, size)]


def shadow_values(
    paulis: Paulis, bases_x: np.ndarray, bases_z: np.ndarray, bits: np.ndarray
) -> np.ndarray:
    """Single-shot random-Pauli shadow estimates of tr(Q rho).

    Parameters
    ----------
    paulis : Paulis
        The M observables.
    bases_x, bases_z : np.ndarray
        Packed ``(N, W)`` measured bases in the same symplectic code as the observables.
    bits : np.ndarray
        Packed ``(N, W)`` eigenvalue bits: the measured eigenvalue of qubit i is ``(-1)^bit_i``.

    Returns
    -------
    np.ndarray
        ``(N, M)`` float64 array of ``sign * 3^|Q| * 1[bases match] * (-1)^parity``.
    """
    support = paulis.support
    scale = paulis.sign * np.power(3.0, paulis.weight)
    mismatch = (bases_x[:, None, :] ^ paulis.x[None]) | (bases_z[:, None, :] ^ paulis.z[None])
    matched = ~np.any(mismatch & support[None], axis=-1)
    parity = popcount(bits[:, None, :] & support[None]) & 1
    return matched * scale * (1 - 2 * parity)


def bell_values(paulis: Paulis, m_a: np.ndarray, m_b: np.ndarray) -> np.ndarray:
    """Single-shot Bell-sampling values f_Q(m) in {+1, -1} with E f_Q = tr(Q rho)^2.

    Parameters
    ----------
    paulis : Paulis
        The M observables (their signs do not matter: the estimate is of a square).
    m_a, m_b : np.ndarray
        Packed ``(N, W)`` outcome bits of copy A's and copy B's qubits after CNOT(A->B), H(A).

    Returns
    -------
    np.ndarray
        ``(N, M)`` int8 array.
    """
    sym = (m_a[:, None, :] & paulis.x[None]) ^ (m_b[:, None, :] & paulis.z[None])
    parity = (popcount(sym) + (paulis.n_y & 1)[None]) & 1
    return (1 - 2 * parity).astype(np.int8)


# ----- bit-sliced estimators: 64 shots per machine word -------------------------------------
# The per-shot functions above cost O(N M W) words. Transposing the data to qubit-major bit
# planes (plane i holds qubit i of 64 consecutive shots per word) turns every observable's
# sums into AND/XOR over planes plus popcounts: O(n M N / 64) words, chunked over shots.

# Planes per chunk for an (M, chunk_words) temporary.
_PLANE_ELEMENTS = 1 << 21
_LETTER_CODE = {"I": 0, "X": 1, "Y": 2, "Z": 3}


def letter_codes(paulis: Paulis) -> np.ndarray:
    """``(M, n)`` uint8 letter codes: I = 0, X = 1, Y = 2, Z = 3."""
    x = unpack_bits(paulis.x, paulis.n)
    z = unpack_bits(paulis.z, paulis.n)
    return (x * (1 + z) + 3 * z * (1 - x)).astype(np.uint8)


def to_planes(words: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Transpose ``(N, W)`` shot-major packed rows to ``(n, ceil(N/64))`` qubit-major planes.

    Returns the planes and a ``(ceil(N/64),)`` mask of the valid shots (padding bits are 0).
    """
    planes = pack_bits(unpack_bits(words, n).T)
    valid = pack_bits(np.ones((1, words.shape[0]), dtype=np.uint8))[0]
    return planes, valid


def plane_chunks(n_shots: int, n_obs: int) -> list[slice]:
    """Shot slices (multiples of 64 shots) for the bit-sliced estimators."""
    words = max(1, _PLANE_ELEMENTS // max(1, n_obs))
    size = words * WORD_BITS
    return [slice(start, min(n_shots, start + size)) for start in range(0, n_shots, size)]


def _prefix_counts(planes: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Set bits among the first ``end`` shots of each ``(M, words)`` plane row: ``(G, M)``."""
    per_word = np.bitwise_count(planes).astype(np.int64)
    cumulative = np.concatenate(
        [np.zeros((planes.shape[0], 1), dtype=np.int64), np.cumsum(per_word, axis=1)], axis=1
    )
    word, rest = ends // WORD_BITS, ends % WORD_BITS
    counts = cumulative[:, word]
    partial = np.flatnonzero(rest)
    if partial.size:
        masks = (np.uint64(1) << rest[partial].astype(np.uint64)) - np.uint64(1)
        tail = np.bitwise_count(planes[:, word[partial]] & masks[None]).astype(np.int64)
        counts[:, partial] += tail
    return counts.T


def _check_ends(ends, shots: int) -> np.ndarray:
    ends = np.atleast_1d(np.asarray(shots if ends is None else ends, dtype=np.int64))
    if ends.size and (ends.min() < 0 or ends.max() > shots):
        raise ValueError(f"prefix ends {ends} outside 0..{shots}")
    return ends


def _planes(words: np.ndarray, n: int, compiled) -> tuple[np.ndarray, np.ndarray]:
    """:func:`to_planes`, by the compiled transpose when numba is in use (same result)."""
    if compiled is None:
        return to_planes(words, n)
    shots = words.shape[0]
    planes = np.empty((n, n_words(shots)), dtype=np.uint64)
    compiled.transpose_words(np.ascontiguousarray(words, dtype=np.uint64), planes)
    valid = np.full(planes.shape[1], np.uint64(2**64 - 1))
    if shots % WORD_BITS:
        valid[-1] = (np.uint64(1) << np.uint64(shots % WORD_BITS)) - np.uint64(1)
    return planes, valid


def _kernel_counts(compiled, table, valid, and_sel, xor_sel, prefixes, n_obs):
    """``(hits, odd)``, each ``(len(prefixes), M)`` int64, from the compiled kernel."""
    order = np.argsort(prefixes, kind="stable")
    ends = prefixes[order]
    hits = np.empty((ends.size, n_obs), dtype=np.int64)
    odd = np.empty((ends.size, n_obs), dtype=np.int64)
    words = -(-valid.size // 4) * 4  # the kernel reads 4 words at a time: pad with no shots
    padded = np.zeros((table.shape[0], words), dtype=np.uint64)
    padded[:, : valid.size] = table
    padded_valid = np.zeros(words, dtype=np.uint64)
    padded_valid[: valid.size] = valid
    compiled.prefix_counts(
        padded,
        padded_valid,
        np.ascontiguousarray(and_sel[0]),
        np.ascontiguousarray(and_sel[1]),
        np.ascontiguousarray(xor_sel[0]),
        np.ascontiguousarray(xor_sel[1]),
        ends // WORD_BITS,
        ends % WORD_BITS,
        hits,
        odd,
    )
    out_hits = np.empty_like(hits)
    out_odd = np.empty_like(odd)
    out_hits[order] = hits
    out_odd[order] = odd
    return out_hits, out_odd


def shadow_sums(
    paulis: Paulis,
    bases_x: np.ndarray,
    bases_z: np.ndarray,
    bits: np.ndarray,
    ends: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Sums over shots of the shadow estimates x_Q and of x_Q^2 (see :func:`shadow_values`).

    Parameters
    ----------
    paulis : Paulis
        The M observables.
    bases_x, bases_z, bits : np.ndarray
        One chunk of packed ``(N, W)`` rows (e.g. from :func:`plane_chunks`).
    ends : array of int, optional
        Prefix lengths: sums over the first ``end`` shots for each (nested prefixes, one pass).
        Default: all N shots.

    Returns
    -------
    (np.ndarray, np.ndarray)
        ``(M,)`` sums, or ``(len(ends), M)`` with ``ends``.

    Notes
    -----
    The integer match and parity counts come from the compiled kernel when numba is in use
    (:mod:`copylearn.estimator_kernels`), else from NumPy; the sums are identical.
    """
    n = paulis.n
    prefixes = _check_ends(ends, bits.shape[0])
    compiled = kernels(work=bits.shape[0] * len(paulis))
    bx, valid = _planes(bases_x, n, compiled)
    bz, _ = _planes(bases_z, n, compiled)
    e, _ = _planes(bits, n, compiled)
    if compiled is not None:
        # Rows 3i, 3i+1, 3i+2: shots measured in X, Y, Z on qubit i; rows 3n + i: bit i.
        table = np.concatenate(
            [np.stack([bx & ~bz, bx & bz, ~bx & bz], axis=1).reshape(3 * n, -1), e]
        )
        sites, rows, count = paulis.kernel_rows
        hits, odd = _kernel_counts(
            compiled, table, valid, (rows, count), (3 * n + sites, count), prefixes, len(paulis)
        )
    else:
        letters = letter_codes(paulis)
        match = np.broadcast_to(valid, (len(paulis), valid.size)).copy()
        parity = np.zeros_like(match)
        zero = np.zeros_like(valid)
        for i in np.flatnonzero(letters.any(axis=0)):
            table = np.stack([valid, bx[i] & ~bz[i], bx[i] & bz[i], ~bx[i] & bz[i]])
            match &= table[letters[:, i]]
            parity ^= np.stack([zero, e[i]])[(letters[:, i] != 0).astype(np.intp)]
        hits = _prefix_counts(match, prefixes)
        odd = _prefix_counts(match & parity, prefixes)
    weight = paulis.weight
    s1 = (paulis.sign * np.power(3.0, weight))[None] * (hits - 2 * odd)
    s2 = np.power(9.0, weight)[None] * hits
    if ends is None:
        return s1[0], s2[0]
    return s1, s2


def bell_sums(
    paulis: Paulis, m_a: np.ndarray, m_b: np.ndarray, ends: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Sums over shots of f_Q and of f_Q^2 (= the number of shots); see :func:`bell_values`.

    ``ends`` gives nested prefix lengths as in :func:`shadow_sums`.
    """
    n = paulis.n
    prefixes = _check_ends(ends, m_a.shape[0])
    compiled = kernels(work=m_a.shape[0] * len(paulis))
    a, valid = _planes(m_a, n, compiled)
    b, _ = _planes(m_b, n, compiled)
    if compiled is not None:
        # Rows 3i, 3i+1, 3i+2: the parity contributions of X, Y, Z on qubit i.
        table = np.stack([a, a ^ b, b], axis=1).reshape(3 * n, -1)
        _, rows, count = paulis.kernel_rows
        no_and = (np.zeros((len(paulis), 1), dtype=np.int64), np.zeros(len(paulis), np.int64))
        _, odd = _kernel_counts(
            compiled, table, valid, no_and, (rows, count), prefixes, len(paulis)
        )
    else:
        letters = letter_codes(paulis)
        parity = np.zeros((len(paulis), valid.size), dtype=np.uint64)
        zero = np.zeros_like(valid)
        for i in np.flatnonzero(letters.any(axis=0)):
            parity ^= np.stack([zero, a[i], a[i] ^ b[i], b[i]])[letters[:, i]]
        odd = _prefix_counts(parity & valid[None], prefixes)
    y_sign = 1 - 2 * (paulis.n_y & 1)
    s1 = y_sign[None] * (prefixes[:, None] - 2.0 * odd)
    s2 = np.broadcast_to(prefixes[:, None].astype(np.float64), s1.shape).copy()
    if ends is None:
        return s1[0], s2[0]
    return s1, s2
