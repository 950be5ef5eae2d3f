"""Compiled per-shot loops of the block sampler (numba, optional), fused over blocks.

:func:`copylearn.backends.blocks.run_blocks` has two implementations of its per-shot work
that give bit-identical outcomes: NumPy (always available) and the kernels here, used when
numba is installed (``pip install 'copylearn[fast]'``) and the run is large enough
(``blocks.COMPILED_MIN_WORK``). The kernels do no sampling of their own: they compare the
uniforms the sampler drew against the cumulative distributions that the simulator computed.
This module imports numba; it is imported only through :func:`copylearn.compiled.load`.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True, boundscheck=False)
def setting_codes(values, columns, ncolumns, multipliers, offsets, codes, present):
    """Every shot's setting code in every block, and which codes occur.

    ``codes[i, b] = sum_j values[i, columns[b, j]] * multipliers[b, j]`` over
    ``j < ncolumns[b]``; ``present[offsets[b] + codes[i, b]]`` is set. Up to three
    columns (the protocols' blocks) are written out so the loop needs no inner loop.
    """
    shots = values.shape[0]
    blocks = columns.shape[0]
    for i in range(shots):
        row = values[i]
        for b in range(blocks):
            k = ncolumns[b]
            if k == 0:
                code = 0
            elif k == 1:
                code = row[columns[b, 0]] * multipliers[b, 0]
            elif k == 2:
                code = row[columns[b, 0]] * multipliers[b, 0] + row[columns[b, 1]]
            elif k == 3:
                code = (
                    row[columns[b, 0]] * multipliers[b, 0]
                    + row[columns[b, 1]] * multipliers[b, 1]
                    + row[columns[b, 2]]
                )
            else:
                code = 0
                for j in range(k):
                    code += row[columns[b, j]] * multipliers[b, j]
            codes[i, b] = code
            present[offsets[b] + code] = True


@numba.njit(cache=True, nogil=True, boundscheck=False)
def sample(codes, thresholds, rows, counts, u, first, widths, out, targets):
    """Outcome bits of blocks ``first .. first + len(u) - 1`` into ``out``.

    A shot's outcome index in block ``b`` is the number of its setting's CDF thresholds
    (``thresholds[rows[b] + code * counts[b] :][: counts[b]]``, non-decreasing) that are at
    most its uniform ``u[b - first, i]``: inverse-CDF sampling, as
    ``numpy.searchsorted(cdf[:-1], u, side="right")``. Bit ``q`` of the index (most
    significant first) goes to ``out[i, targets[b, q]]``.
    """
    shots = codes.shape[0]
    for i in range(shots):
        for k in range(u.shape[0]):
            b = first + k
            count = counts[b]
            row = rows[b] + codes[i, b] * count
            x = u[k, i]
            if count == 1:
                out[i, targets[b, 0]] = x >= thresholds[row]
                continue
            if count <= 15:  # branch-free count: random outcomes defeat branch prediction
                outcome = 0
                for t in range(count):
                    outcome += thresholds[row + t] <= x
            else:  # binary search for the first threshold above x
                low, high = 0, count
                while low < high:
                    middle = (low + high) // 2
                    if thresholds[row + middle] <= x:
                        low = middle + 1
                    else:
                        high = middle
                outcome = low
            w = widths[b]
            for q in range(w):
                out[i, targets[b, q]] = (outcome >> (w - 1 - q)) & 1


def warm_up() -> None:
    """Compile (or load from numba's cache) the kernels on tiny inputs of the sampler's types;
    :func:`copylearn.compiled.load` calls it."""
    one = np.zeros((1, 1), dtype=np.int64)
    ones = np.ones(1, dtype=np.int64)
    codes = np.zeros((1, 1), dtype=np.uint16)
    setting_codes(
        np.zeros((1, 1), dtype=np.uint8),
        one,
        ones,
        one,
        np.zeros(2, np.int64),
        codes,
        np.zeros(1, dtype=np.bool_),
    )
    sample(
        codes,
        np.zeros(1),
        np.zeros(2, np.int64),
        ones,
        np.zeros((1, 1)),
        0,
        ones,
        np.zeros((1, 1), dtype=np.uint8),
        one,
    )
    warm_up_packed()


# ----- stream 2 (copylearn.streams): packed parameter columns in, packed outcome bits out ------
#: Shots per chunk of the stream-2 kernels: a chunk's codes and outcome words stay in the
#: L1/L2 cache while every block passes over them, and the loops over a chunk's shots read
#: contiguous memory, so the compiler vectorises them.
CHUNK = 2048


@numba.njit(cache=True, nogil=True, boundscheck=False)
def _chunk_codes(varying, start, m, columns, places, ncolumns, fixed, b, codes):
    """``codes[i]`` (i < m) of chunk shot ``start + i`` in block b: ``fixed[b]`` (its
    constant columns) plus, for each varying column j, the shot's bit ``columns[b, j]`` of
    ``varying`` (word * 64 + bit) placed at bit ``places[b, j]``."""
    one = np.uint64(1)
    base = np.uint64(fixed[b])
    for i in range(m):
        codes[i] = base
    for j in range(ncolumns[b]):
        c = columns[b, j]
        row = varying[c >> 6, start : start + m]
        shift = np.uint64(c & 63)
        place = np.uint64(places[b, j])
        for i in range(m):
            codes[i] |= ((row[i] >> shift) & one) << place


@numba.njit(cache=True, nogil=True, boundscheck=False)
def sample_packed(
    varying,
    columns,
    places,
    ncolumns,
    fixed,
    offsets,
    thresholds,
    rows,
    counts,
    u,
    first,
    widths,
    out,
    word_of,
    bit_of,
    needed,
):
    """Stream 2's outcome bits of shots ``first .. first + len(u) - 1`` into ``out``.

    A shot's outcome index in block ``b`` is the number of its setting's integer thresholds
    (``thresholds[rows[b] + code * counts[b] :][: counts[b]]``) that are at most its 32-bit
    draw ``u[i - first, b]``; bit ``q`` of the index (most significant first) is set in word
    ``word_of[b, q]``, bit ``bit_of[b, q]`` of ``out[i]`` (whose words start at 0).

    Thresholds not computed yet are -1: a sub-chunk of shots that meets one marks every such
    code it holds in ``needed[offsets[b] + code]`` and the call returns their number without
    writing that sub-chunk; the caller computes them and calls again from the same shot (the
    returned value is 0 once every shot is written). So only codes that occur are executed,
    without a separate pass over the shots to find them.
    """
    blocks = columns.shape[0]
    total = u.shape[0]
    held = np.zeros((out.shape[1], CHUNK), dtype=np.uint64)
    codes = np.empty(CHUNK, dtype=np.uint64)
    outcome = np.empty(CHUNK, dtype=np.int64)
    for offset in range(0, total, CHUNK):
        m = min(total, offset + CHUNK) - offset
        start = first + offset
        held[:, :m] = 0
        missing = 0
        for b in range(blocks):
            _chunk_codes(varying, start, m, columns, places, ncolumns, fixed, b, codes)
            mine = u[offset : offset + m, b]
            count = counts[b]
            base = rows[b]
            low = np.int64(0)
            if count == 1:  # one measured qubit: one comparison
                target = held[word_of[b, 0]]
                shift = np.uint64(bit_of[b, 0])
                for i in range(m):
                    t = thresholds[base + np.int64(codes[i])]
                    low = min(low, t)
                    target[i] |= np.uint64(t <= np.int64(mine[i])) << shift
            else:
                for i in range(m):
                    x = np.int64(mine[i])
                    row = base + np.int64(codes[i]) * count
                    low = min(low, thresholds[row])
                    o = 0
                    for t in range(count):  # branch-free count of thresholds <= x
                        o += thresholds[row + t] <= x
                    outcome[i] = o
                w = widths[b]
                for q in range(w):
                    target = held[word_of[b, q]]
                    shift = np.uint64(bit_of[b, q])
                    down = w - 1 - q
                    for i in range(m):
                        target[i] |= np.uint64((outcome[i] >> down) & 1) << shift
            if low < 0:
                for i in range(m):
                    code = np.int64(codes[i])
                    if thresholds[base + code * count] < 0 and not needed[offsets[b] + code]:
                        needed[offsets[b] + code] = True
                        missing += 1
        if missing:
            return missing
        for i in range(m):
            for w in range(out.shape[1]):
                out[start + i, w] = held[w, i]
    return 0


def warm_up_packed() -> None:
    """Compile the stream-2 kernels on tiny inputs of the sampler's types."""
    one = np.zeros((1, 1), dtype=np.int64)
    ones = np.ones(1, dtype=np.int64)
    zero = np.zeros(1, dtype=np.int64)
    sample_packed(
        np.zeros((1, 1), dtype=np.uint64),
        one,
        one,
        ones,
        zero,
        np.zeros(2, np.int64),
        np.zeros(2, dtype=np.int64),
        np.zeros(2, np.int64),
        ones,
        np.zeros((1, 1), dtype=np.uint32),
        0,
        ones,
        np.zeros((1, 1), dtype=np.uint64),
        one,
        one,
        np.zeros(2, dtype=np.bool_),
    )
    trit_planes(
        np.zeros((1, 1), dtype=np.uint8),
        np.zeros(243, dtype=np.uint64),
        1,
        np.zeros((3, 1, 1), dtype=np.uint64),
    )


@numba.njit(cache=True, nogil=True, boundscheck=False)
def trit_planes(accepted, planes, n, out):
    """Stream 2's basis planes from accepted bytes (:func:`copylearn.streams.basis_planes`).

    ``planes[byte]`` holds the byte's five trits' s, x and z bits (``s | x << 5 | z << 10``);
    group g's bits go to qubits 5g .. 5g + 4 (fewer in a last group) of ``out[k, i]``.
    """
    shots, groups = accepted.shape
    for g in range(groups):
        width = min(5, n - 5 * g)
        mask = np.uint64((1 << width) - 1)
        start = 5 * g
        word = start >> 6
        shift = np.uint64(start & 63)
        spill = (start & 63) + width > 64
        back = np.uint64(64 - (start & 63))
        for k in range(3):
            down = np.uint64(5 * k)
            plane = out[k]
            for i in range(shots):
                field = (planes[accepted[i, g]] >> down) & mask
                plane[i, word] |= field << shift
                if spill:
                    plane[i, word + 1] |= field >> back
