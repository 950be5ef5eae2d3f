"""numba kernels of the bit-sliced Pauli estimators; imported only through
:func:`copylearn.compiled.load` (:mod:`copylearn.estimator_kernels` says when; the callers in
:mod:`copylearn.pauli` fall back to NumPy, with identical sums).

Module-level functions with ``cache=True``: numba stores the machine code next to this
file (or in ``NUMBA_CACHE_DIR``), so only the first process ever compiles them.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import types
from numba.extending import intrinsic

# Words (64 shots each) per block: one block's table rows stay in L1/L2 cache.
BLOCK_WORDS = 128


@intrinsic
def popcount64(typingctx, x):
    """LLVM's ctpop on a uint64 (a single instruction where the CPU has one)."""
    if x != types.uint64:
        return None

    def codegen(context, builder, signature, args):
        return builder.ctpop(args[0])

    return types.uint64(types.uint64), codegen


@numba.njit(cache=True, nogil=True)
def prefix_counts(
    table, valid, and_rows, and_len, xor_rows, xor_len, end_word, end_rest, hits, odd
):  # pragma: no cover - compiled; tested against the NumPy path
    """Fill ``hits[g, m]`` and ``odd[g, m]`` for the sorted prefix ends ``g``.

    table : (R, words) uint64 rows of 64-shot words, words a multiple of 4.
    valid : (words,) mask of real shots (0 in padding words).
    and_rows, xor_rows : (M, K) int64 row indices; and_len, xor_len : (M,) counts.
    Observable m's match word is valid & AND of its and-rows, its parity word the XOR of
    its xor-rows. end_word, end_rest : (G,) the prefix ends (ascending) as
    ``end // 64`` and ``end % 64``.

    Four words (256 shots) are held in registers at a time; the AND over a query's sites
    stops as soon as no shot of the four words matches (for shadows at large weight most
    stop after a few sites), and its parity is then never formed.
    """
    words = table.shape[1]
    n_obs = and_rows.shape[0]
    n_ends = end_word.shape[0]
    acc = np.zeros(4, dtype=np.uint64)
    par = np.zeros(4, dtype=np.uint64)
    total_hits = np.zeros(n_obs, dtype=np.int64)
    total_odd = np.zeros(n_obs, dtype=np.int64)
    first = 0  # the first prefix end not yet recorded
    one = np.uint64(1)
    zero = np.uint64(0)
    for start in range(0, words, BLOCK_WORDS):
        stop = min(words, start + BLOCK_WORDS)
        last = first  # ends inside this block: first..last-1
        while last < n_ends and end_word[last] < stop:
            last += 1
        for m in range(n_obs):
            t = first
            h = np.int64(0)
            o = np.int64(0)
            n_and = and_len[m]
            n_xor = xor_len[m]
            for w in range(start, stop, 4):
                a0 = valid[w]
                a1 = valid[w + 1]
                a2 = valid[w + 2]
                a3 = valid[w + 3]
                k = 0
                while k < n_and and (a0 | a1 | a2 | a3) != zero:
                    row = and_rows[m, k]
                    a0 &= table[row, w]
                    a1 &= table[row, w + 1]
                    a2 &= table[row, w + 2]
                    a3 &= table[row, w + 3]
                    k += 1
                if (a0 | a1 | a2 | a3) == zero:
                    while t < last and end_word[t] < w + 4:
                        hits[t, m] = total_hits[m] + h
                        odd[t, m] = total_odd[m] + o
                        t += 1
                    continue
                p0 = zero
                p1 = zero
                p2 = zero
                p3 = zero
                for k in range(n_xor):
                    row = xor_rows[m, k]
                    p0 ^= table[row, w]
                    p1 ^= table[row, w + 1]
                    p2 ^= table[row, w + 2]
                    p3 ^= table[row, w + 3]
                if t < last and end_word[t] < w + 4:
                    acc[0], acc[1], acc[2], acc[3] = a0, a1, a2, a3
                    par[0], par[1], par[2], par[3] = p0, p1, p2, p3
                    hw = h
                    ow = o
                    for j in range(4):
                        while t < last and end_word[t] == w + j:
                            mask = (one << np.uint64(end_rest[t])) - one
                            hits[t, m] = total_hits[m] + hw + np.int64(popcount64(acc[j] & mask))
                            odd[t, m] = (
                                total_odd[m] + ow + np.int64(popcount64(acc[j] & par[j] & mask))
                            )
                            t += 1
                        hw += np.int64(popcount64(acc[j]))
                        ow += np.int64(popcount64(acc[j] & par[j]))
                h += np.int64(popcount64(a0) + popcount64(a1) + popcount64(a2) + popcount64(a3))
                o += np.int64(
                    popcount64(a0 & p0)
                    + popcount64(a1 & p1)
                    + popcount64(a2 & p2)
                    + popcount64(a3 & p3)
                )
            total_hits[m] += h
            total_odd[m] += o
        first = last
    for t in range(first, n_ends):  # ends at or past the last word
        for m in range(n_obs):
            hits[t, m] = total_hits[m]
            odd[t, m] = total_odd[m]


@numba.njit(cache=True, nogil=True)
def transpose_words(words, planes):  # pragma: no cover - compiled; tested against NumPy
    """Shot-major ``(N, W)`` rows into qubit-major ``(n, ceil(N/64))`` planes, in place.

    Each 64-shot by 64-qubit tile is transposed in registers by the recursive block swap
    (swap the off-diagonal 32 x 32 blocks, then 16 x 16 inside each, ... down to 1 x 1).
    """
    shots, width = words.shape
    n = planes.shape[0]
    tile = np.zeros(64, dtype=np.uint64)
    for block in range(planes.shape[1]):
        base = block * 64
        count = min(64, shots - base)
        for c in range(width):
            for s in range(count):
                tile[s] = words[base + s, c]
            for s in range(count, 64):
                tile[s] = 0
            j = 32
            mask = np.uint64(0x00000000FFFFFFFF)
            while j != 0:
                shift = np.uint64(j)
                k = 0
                while k < 64:
                    t = ((tile[k] >> shift) ^ tile[k + j]) & mask
                    tile[k + j] ^= t
                    tile[k] ^= t << shift
                    k = (k + j + 1) & ~j
                j >>= 1
                mask ^= mask << np.uint64(j)
            for i in range(min(64, n - 64 * c)):
                planes[64 * c + i, block] = tile[i]


def warm_up() -> None:
    """Compile (or load from numba's cache) both kernels now, on tiny inputs of the callers'
    types; :func:`copylearn.compiled.load` calls it."""
    table = np.zeros((3, 4), dtype=np.uint64)
    rows = np.zeros((1, 1), dtype=np.int64)
    count = np.ones(1, dtype=np.int64)
    ends = np.ones(1, dtype=np.int64)
    out = np.zeros((1, 1), dtype=np.int64)
    prefix_counts(table, table[0], rows, count, rows, count, ends, ends, out, out.copy())
    transpose_words(np.zeros((1, 1), dtype=np.uint64), np.zeros((1, 1), np.uint64))
