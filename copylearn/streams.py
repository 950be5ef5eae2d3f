"""Random-stream versions: what a collection draws from its seed, and in which form.

A dataset's bytes are a function of its seed *and* of the stream version it was drawn with
(``metadata["stream"]``; a sweep store's rows carry ``"stream"`` too). Three versions exist
(docs/theory.md §15):

* **Stream 1** (datasets and stores made before the version existed, which record none):
  flips as ``Generator.integers(0, 2)`` bytes, measurement bases as ``integers(0, 3)`` bytes
  and block outcomes by comparing a float64 uniform with the block's cumulative
  distribution. Kept bit-identical so that committed figures stay reproducible.
* **Stream 2** (the default of datasets and sweep stores made with copylearn 0.3 and 0.4):
  drawn for speed from packed 64-bit raw words of the bit generator (``bit_generator.random_raw``):

  - flips: bit ``i % 64`` of raw word ``i // 64`` of the shot (exactly uniform bits);
  - bases X, Y, Z: each byte of a raw word (least significant byte first) below 243 = 3^5
    gives five base-3 digits, least significant first (qubits 5g .. 5g + 4 of group g);
    bytes 243..255 are skipped. Every accepted byte is uniform on 0..242, so its five
    digits are independent and exactly uniform on {0, 1, 2}; 13/256 = 5.1 % of the bytes
    are skipped (1.69 random bits per basis instead of 8);
  - block outcomes: a 32-bit unsigned integer ``u`` per shot and block, shot after shot
    (:func:`uniforms`: ``ceil(blocks / 2)`` raw words a shot, low half first), against
    integer thresholds ``T_j = round(2^32 F_j)`` of the block's cumulative distribution F:
    outcome ``#{j : T_j <= u}``. The law drawn is ``P(outcome <= j) = T_j / 2^32``, within
    ``2^-33`` of the simulator's F_j.

  The parameters travel bit-packed (:class:`PackedColumns`) from the protocol's draw to the
  block sampler, which writes its outcomes packed, so no ``(shots, parameters)`` byte array
  is built. Other paths (state, whole circuit, stim) take the same flips and bases and draw
  their outcomes as in stream 1.
* **Stream 3** (the default of new datasets and new sweep stores): stream 2, except that a
  circuit with a per-shot multi-qubit measurement stage on qsim (a random global Clifford
  measuring a state that is not a stabilizer state) runs on the global-stage path
  (:mod:`copylearn.backends.global_stage`) instead of the whole-circuit path. Every circuit
  that the global-stage path does not take draws exactly as on stream 2.
"""

from __future__ import annotations

import contextvars
from collections.abc import Sequence

import numpy as np

from copylearn.errors import CopylearnError

#: Stream versions this copylearn draws.
STREAMS = (1, 2, 3)
#: What new datasets and new sweep stores draw with.
DEFAULT_STREAM = 3
#: What a dataset or a store that records no stream was drawn with.
LEGACY_STREAM = 1

_WORD = 64
_TRITS_PER_BYTE = 5
_ACCEPT = 3**_TRITS_PER_BYTE  # bytes 0..242 carry five trits; 243..255 are skipped


#: The stream a plan runs on when its caller passes none (a plan that wraps another, such as
#: the stabilizer backend's qsim fallback, passes the values on without the stream).
CURRENT: contextvars.ContextVar[int] = contextvars.ContextVar("stream", default=LEGACY_STREAM)


def check_stream(stream) -> int:
    """``stream`` as an int, or one line naming the versions.

    Raises
    ------
    CopylearnError
        Not one of :data:`STREAMS`.
    """
    if (
        isinstance(stream, bool)
        or not isinstance(stream, int | np.integer)
        or stream not in STREAMS
    ):
        raise CopylearnError(
            f"stream={stream!r} is not a random-stream version: use 1 (as the figures made "
            f"before stream versions), 2 (as copylearn 0.3 and 0.4) or 3 (the default)."
        )
    return int(stream)


class Generators(dict):
    """The generators a protocol's ``draw`` gets (``"state_a"``, ``"state_b"``, ``"protocol"``,
    ``"backend"``), and the stream version they are drawn with (:attr:`stream`)."""

    def __init__(self, generators, stream: int = LEGACY_STREAM):
        super().__init__(generators)
        self.stream = stream


def stream_of(rngs) -> int:
    """The stream version of a ``draw``'s generators (1 for a plain dict)."""
    return getattr(rngs, "stream", LEGACY_STREAM)


def n_words(bits: int) -> int:
    """64-bit words that hold ``bits`` bits."""
    return (bits + _WORD - 1) // _WORD


class PackedColumns:
    """A ``(shots, columns)`` 0/1 array held as bits.

    The bits live in *parts*, ``(shots, w)`` uint64 arrays side by side (a part that is the
    same in every shot may be a broadcast view, :meth:`constant`, and is never copied per
    shot). Column c is bit ``positions[c] % 64`` of word ``positions[c] // 64`` of a shot's
    row of all parts' words (by default ``positions[c] = c``: one part in the layout of
    :func:`copylearn.pauli.pack_bits`). Joining fields (:meth:`join`) appends parts, each
    starting at a word, so it copies and shifts no bits.

    Parameters
    ----------
    parts : np.ndarray or sequence of np.ndarray
        ``(shots, w)`` uint64 words (one array, or the parts); bits at no position are 0.
    columns : int
        Number of columns.
    positions : np.ndarray, optional
        ``(columns,)`` int64 bit position of each column (default ``arange(columns)``).
    """

    def __init__(self, parts, columns: int, positions: np.ndarray | None = None):
        self.parts = (parts,) if isinstance(parts, np.ndarray) else tuple(parts)
        self.columns = columns
        self.positions = positions

    @property
    def words(self) -> np.ndarray:
        """``(shots, total words)`` uint64: every part's words, materialised."""
        if len(self.parts) == 1 and not _is_constant(self.parts[0]):
            return self.parts[0]
        return np.concatenate([np.ascontiguousarray(p) for p in self.parts], axis=1)

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self), self.columns)

    @property
    def bit_positions(self) -> np.ndarray:
        """``(columns,)`` int64: where each column's bit is."""
        if self.positions is None:
            return np.arange(self.columns, dtype=np.int64)
        return self.positions

    def __len__(self) -> int:
        return self.parts[0].shape[0]

    def __getitem__(self, rows) -> PackedColumns:
        return PackedColumns([p[rows] for p in self.parts], self.columns, self.positions)

    def unpack(self) -> np.ndarray:
        """The ``(shots, columns)`` uint8 array."""
        from copylearn.pauli import unpack_bits

        words = self.words
        bits = unpack_bits(words, _WORD * words.shape[1])
        return np.ascontiguousarray(bits[:, self.bit_positions])

    def layout(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """What the compiled sampler reads: the words that vary between shots, transposed,
        and where each column is.

        Returns
        -------
        (varying, where, constant)
            ``varying``: ``(words that vary, shots)`` uint64, C-contiguous; ``where``:
            ``(columns,)`` int64, a column's bit position in ``varying`` (word * 64 + bit),
            or -1 for a column of a constant part; ``constant``: ``(columns,)`` uint8, the
            value of each column of a constant part (0 elsewhere).
        """
        shots = len(self)
        word_index, varying, constant_words = [], [], []
        for p in self.parts:
            for k in range(p.shape[1]):
                if _is_constant(p):
                    word_index.append(-1)
                    constant_words.append(p[0, k] if shots else np.uint64(0))
                else:
                    word_index.append(len(varying))
                    varying.append(p[:, k])
                    constant_words.append(np.uint64(0))
        stacked = (np.stack(varying) if varying else np.zeros((0, shots), dtype=np.uint64)).astype(
            np.uint64, copy=False
        )
        positions = self.bit_positions
        words = np.array(word_index, dtype=np.int64)[positions // _WORD]
        bits = positions % _WORD
        where = np.where(words >= 0, words * _WORD + bits, -1)
        constant = (
            np.array(constant_words, dtype=np.uint64)[positions // _WORD] >> bits.astype(np.uint64)
        ) & np.uint64(1)
        return stacked, where.astype(np.int64), constant.astype(np.uint8)

    @staticmethod
    def concatenate(parts: Sequence[PackedColumns]) -> PackedColumns:
        """The rows of ``parts`` (same columns, positions and part widths) one after the
        other; a part constant in all of them with one value stays a broadcast view."""
        if len(parts) == 1:
            return parts[0]
        shots = sum(len(p) for p in parts)
        joined = []
        for k in range(len(parts[0].parts)):
            pieces = [p.parts[k] for p in parts]
            first = pieces[0]
            if (
                all(_is_constant(q) for q in pieces)
                and all(len(q) == 0 or np.array_equal(q[0], first[0]) for q in pieces)
                and len(first)
            ):
                joined.append(np.broadcast_to(first[0], (shots, first.shape[1])))
            else:
                joined.append(np.concatenate([np.ascontiguousarray(q) for q in pieces]))
        return PackedColumns(joined, parts[0].columns, parts[0].positions)

    @staticmethod
    def join(parts: Sequence[PackedColumns]) -> PackedColumns:
        """The columns of ``parts`` (same shots) side by side, each part's words after the
        previous part's."""
        positions, offset, arrays = [], 0, []
        for p in parts:
            positions.append(p.bit_positions + offset)
            offset += _WORD * sum(q.shape[1] for q in p.parts)
            arrays.extend(p.parts)
        return PackedColumns(arrays, sum(p.columns for p in parts), np.concatenate(positions))

    @staticmethod
    def constant(bits: np.ndarray, shots: int) -> PackedColumns:
        """The same 0/1 row ``bits`` in every one of ``shots`` rows (a broadcast view)."""
        row = constant_row(bits)
        return PackedColumns(np.broadcast_to(row, (shots, len(row))), len(bits))


def _is_constant(part: np.ndarray) -> bool:
    """Whether ``part`` is one row broadcast over the shots (stride 0)."""
    return part.ndim == 2 and part.strides[0] == 0


def takes_packed(method):
    """Mark a protocol's ``outcome_arrays`` as taking :class:`PackedColumns` measurements
    (it packs them with :func:`copylearn.pauli.pack_bits`, which passes packed bits through).
    An override without the mark (a plug-in subclass) gets ``(shots, bits)`` uint8 arrays."""
    method.takes_packed = True
    return method


def as_array(values) -> np.ndarray:
    """``values`` as a ``(shots, columns)`` array (unpacking a :class:`PackedColumns`)."""
    return values.unpack() if isinstance(values, PackedColumns) else values


def concatenate(parts: Sequence) -> np.ndarray | PackedColumns:
    """Rows of several ``draw`` values: packed if all are packed alike, else uint8 arrays."""
    if len(parts) == 1:
        return parts[0]
    if all(isinstance(p, PackedColumns) for p in parts) and all(
        np.array_equal(p.bit_positions, parts[0].bit_positions)
        and [q.shape[1] for q in p.parts] == [q.shape[1] for q in parts[0].parts]
        for p in parts
    ):
        return PackedColumns.concatenate(parts)
    return np.concatenate([as_array(p) for p in parts])


def constant_row(bits: np.ndarray) -> np.ndarray:
    """A 0/1 vector packed into one ``(n_words(len(bits)),)`` uint64 row."""
    from copylearn.pauli import pack_bits

    return pack_bits(np.asarray(bits, dtype=np.uint8)[None, :])[0]


def raw_words(rng: np.random.Generator, count: int) -> np.ndarray:
    """``count`` raw 64-bit outputs of the generator's bit generator, as uint64."""
    return np.asarray(rng.bit_generator.random_raw(count), dtype=np.uint64)


def random_bits(rng: np.random.Generator, shots: int, n: int) -> np.ndarray:
    """Stream 2's uniform bits: ``(shots, n_words(n))`` uint64, ``n_words(n)`` raw words per
    shot in shot order, the bits at and above ``n`` cleared."""
    words = n_words(n)
    out = raw_words(rng, shots * words).reshape(shots, words)
    if n % _WORD and words:
        out[:, -1] &= np.uint64((1 << (n % _WORD)) - 1)
    return out


def trit_bytes(rng: np.random.Generator, count: int) -> np.ndarray:
    """``count`` bytes uniform on 0..242 (``(count,)`` uint8): the bytes of raw words, least
    significant first, skipping 243..255 (draws more words until ``count`` are accepted)."""
    parts, have = [], 0
    while have < count:
        missing = count - have
        words = -(-int(missing * 256 / _ACCEPT * 1.02 + 64) // 8)
        raw = raw_words(rng, words).astype("<u8", copy=False).view(np.uint8)
        accepted = raw[raw < _ACCEPT]
        parts.append(accepted)
        have += len(accepted)
    return np.concatenate(parts)[:count]


def _byte_planes() -> np.ndarray:
    """For each accepted byte, the five trits' s, x and z bits: ``s | x << 5 | z << 10``."""
    codes = np.arange(_ACCEPT)[:, None] // 3 ** np.arange(_TRITS_PER_BYTE) % 3  # (243, 5)
    weights = 1 << np.arange(_TRITS_PER_BYTE)
    s = ((codes == 1) * weights).sum(axis=1)
    x = ((codes != 2) * weights).sum(axis=1)
    z = ((codes != 0) * weights).sum(axis=1)
    return (s | x << 5 | z << 10).astype(np.uint64)


_PLANES = _byte_planes()


def basis_planes(rng: np.random.Generator, shots: int, n: int) -> tuple[np.ndarray, ...]:
    """Stream 2's uniform bases X, Y, Z (codes 0, 1, 2) as three packed planes.

    Shot i's qubits 5g .. 5g + 4 take the five trits of accepted byte ``i * G + g``
    (``G = ceil(n / 5)``; a last group's unused trits are dropped).

    Returns
    -------
    (s, x, z) : three ``(shots, n_words(n))`` uint64
        ``s = [code == 1]`` (Y), ``x = [code != 2]`` (X or Y), ``z = [code != 0]`` (Y or Z).
    """
    from copylearn import compiled

    groups = -(-n // _TRITS_PER_BYTE)
    accepted = trit_bytes(rng, shots * groups).reshape(shots, groups)
    out = np.zeros((3, shots, n_words(n)), dtype=np.uint64)
    kernels = compiled.load(compiled.BLOCKS, work=shots * groups, load_after=1 << 18)
    if kernels is not None:
        kernels.trit_planes(accepted, _PLANES, n, out)
        return out[0], out[1], out[2]
    planes = _PLANES[accepted]
    for g in range(groups):
        width = min(_TRITS_PER_BYTE, n - _TRITS_PER_BYTE * g)
        mask = np.uint64((1 << width) - 1)
        word, shift = divmod(_TRITS_PER_BYTE * g, _WORD)
        for k in range(3):
            field = (planes[:, g] >> np.uint64(5 * k)) & mask
            out[k, :, word] |= field << np.uint64(shift)
            if shift + width > _WORD:
                out[k, :, word + 1] |= field >> np.uint64(_WORD - shift)
    return out[0], out[1], out[2]


def uniforms(rng: np.random.Generator, shots: int, blocks: int) -> np.ndarray:
    """Stream 2's outcome draws for the next ``shots`` shots: ``(shots, 2 * ceil(blocks / 2))``
    uint32, shot-major. Shot i takes ``ceil(blocks / 2)`` raw words, block b the low (even b)
    or high (odd b) half of its word ``b // 2``; a last half word is unused. Drawing the shots
    in chunks therefore draws the same numbers as drawing them at once."""
    per_shot = -(-blocks // 2)
    raw = raw_words(rng, shots * per_shot).astype("<u8", copy=False)
    return raw.view("<u4").reshape(shots, 2 * per_shot).astype(np.uint32, copy=False)


#: Shots whose outcome draws the block sampler holds at once (:func:`uniforms`): small
#: enough to stay in the cache, large enough that the per-chunk Python work is negligible.
SHOT_CHUNK = 1 << 14


#: Denominator of stream 2's outcome thresholds.
SCALE = 1 << 32


def thresholds(cdf: np.ndarray) -> np.ndarray:
    """Integer thresholds ``round(2^32 F)`` (int64, in 0..2^32) of cumulative probabilities."""
    return np.rint(np.clip(np.asarray(cdf, dtype=np.float64), 0.0, 1.0) * SCALE).astype(np.int64)
