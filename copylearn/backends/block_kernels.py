"""Compiled per-shot loops of the block sampler (numba, optional), fused over blocks.

:func:`copylearn.backends.blocks.run_blocks` has two implementations of its per-shot work
that give bit-identical outcomes: NumPy (always available) and the kernels here, used when
numba is installed (``pip install 'copylearn[fast]'``) and the work is large enough to repay
loading numba. The kernels do no sampling of their own: they compare the uniforms the
sampler drew against the cumulative distributions that the simulator computed.
"""

from __future__ import annotations

import functools
import os

import numpy as np

# Below this many (shot, block) pairs the NumPy path is as fast as loading numba.
MIN_WORK = 1 << 18


@functools.cache
def kernels():
    """The compiled kernels, or ``None`` when numba is not installed (or is switched off).

    ``COPYLEARN_NO_NUMBA=1`` in the environment forces the NumPy path (tests compare both).
    """
    if os.environ.get("COPYLEARN_NO_NUMBA"):
        return None
    try:
        import numba
    except ImportError:
        return None
    return _compile(numba)


def _compile(numba):
    jit = numba.njit(cache=True, nogil=True, boundscheck=False)

    @jit
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

    @jit
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

    @jit
    def pack_rows(bits, words):
        """Pack ``(shots, n)`` 0/1 rows into ``(shots, W)`` little-endian uint64 words."""
        shots, n = bits.shape
        for i in range(shots):
            for w in range(words.shape[1]):
                word = np.uint64(0)
                stop = min(n, 64 * (w + 1))
                for j in range(64 * w, stop):
                    word |= np.uint64(bits[i, j] & 1) << np.uint64(j - 64 * w)
                words[i, w] = word

    return {"setting_codes": setting_codes, "sample": sample, "pack_rows": pack_rows}
