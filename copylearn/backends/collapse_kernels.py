"""Compiled kernels of the state path's collapse (numba; imported only through
:func:`copylearn.compiled.load`).

Each kernel does, in one pass over the branch amplitudes and without temporary copies, the
floating-point operations of its NumPy fallback in :mod:`copylearn.backends.state_sampling`
in the same order, so both give bit-identical numbers (docs/theory.md §12.2):

* :func:`chunk_sums`: per branch and per chunk of ``state_sampling.CHUNK`` amplitudes, four
  float64 sums accumulated left to right from 0.0; the caller adds the chunks, in order.
* :func:`collapse`: ``a x + b y`` in float32 real arithmetic, real part
  ``(ar xr - ai xi) + (br yr - bi yi)``, imaginary part ``(ai xr + ar xi) + (bi yr + br yi)``,
  each product and sum rounded on its own (numba emits no fused multiply-adds without
  ``fastmath``).
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True)
def chunk_sums(view, chunk):  # pragma: no cover - compiled; tested against NumPy
    """``(B, n_chunks, 4)`` float64 sums over each chunk of ``r`` of a ``(B, 2, R)`` complex64
    view: ``|x|^2``, ``|y|^2``, ``Re x conj(y)``, ``Im x conj(y)`` with ``x = view[b, 0, r]``,
    ``y = view[b, 1, r]``, each term as ``p * q + s * t`` of float64 components."""
    n_branches, _, rest = view.shape
    n_chunks = (rest + chunk - 1) // chunk
    partial = np.zeros((n_branches, n_chunks, 4), dtype=np.float64)
    for b in range(n_branches):
        for c in range(n_chunks):
            start = c * chunk
            stop = min(start + chunk, rest)
            p00 = 0.0
            p11 = 0.0
            re01 = 0.0
            im01 = 0.0
            for r in range(start, stop):
                x = view[b, 0, r]
                y = view[b, 1, r]
                xr, xi = np.float64(x.real), np.float64(x.imag)
                yr, yi = np.float64(y.real), np.float64(y.imag)
                p00 += xr * xr + xi * xi
                p11 += yr * yr + yi * yi
                re01 += xr * yr + xi * yi
                im01 += xi * yr - xr * yi
            partial[b, c, 0] = p00
            partial[b, c, 1] = p11
            partial[b, c, 2] = re01
            partial[b, c, 3] = im01
    return partial


@numba.njit(cache=True)
def collapse(view, source, coeff, out):  # pragma: no cover - compiled; tested against NumPy
    """``out[c] = coeff[c, 0] * view[source[c], 0] + coeff[c, 1] * view[source[c], 1]``.

    All arguments are float32 views of complex64 arrays (real, imaginary interleaved):
    ``view`` ``(B, 2, 2R)``, ``coeff`` ``(C, 4)``, ``out`` ``(C, 2R)``; ``source`` int64.
    """
    rest = out.shape[1] // 2
    for c in range(source.shape[0]):
        s = source[c]
        ar = coeff[c, 0]
        ai = coeff[c, 1]
        br = coeff[c, 2]
        bi = coeff[c, 3]
        for r in range(rest):
            xr = view[s, 0, 2 * r]
            xi = view[s, 0, 2 * r + 1]
            yr = view[s, 1, 2 * r]
            yi = view[s, 1, 2 * r + 1]
            out[c, 2 * r] = (ar * xr - ai * xi) + (br * yr - bi * yi)
            out[c, 2 * r + 1] = (ai * xr + ar * xi) + (bi * yr + br * yi)


def warm_up() -> None:
    """Compile (or load from numba's cache) both kernels on tiny inputs of the state path's
    types; :func:`copylearn.compiled.load` calls it."""
    view = np.zeros((1, 2, 1), dtype=np.complex64)
    chunk_sums(view, 1 << 14)
    collapse(
        view.view(np.float32),
        np.zeros(1, dtype=np.int64),
        np.zeros((1, 4), dtype=np.float32),
        np.zeros((1, 2), dtype=np.float32),
    )
