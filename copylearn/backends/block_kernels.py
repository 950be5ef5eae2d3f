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
