"""Compiled kernels of the state path's collapse (numba; imported only where it is installed).

Both kernels do, in one pass over the branch amplitudes, what
:mod:`copylearn.backends.state_sampling` otherwise does in NumPy with temporary copies; the
tests check that both give the same numbers.
"""

from __future__ import annotations

import numba
import numpy as np

_CHUNK = 1 << 14


@numba.njit(cache=True)
def _reduced_chunks(view, chunk):  # pragma: no cover - compiled
    n_branches, _, rest = view.shape
    n_chunks = (rest + chunk - 1) // chunk
    partial = np.zeros((n_branches * n_chunks, 4), dtype=np.float64)
    for job in range(n_branches * n_chunks):
        b = job // n_chunks
        start = (job % n_chunks) * chunk
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
            re01 += xr * yr + xi * yi  # x * conj(y)
            im01 += xi * yr - xr * yi
        partial[job, 0] = p00
        partial[job, 1] = p11
        partial[job, 2] = re01
        partial[job, 3] = im01
    return partial.reshape(n_branches, n_chunks, 4).sum(axis=1)


def reduced(view: np.ndarray) -> np.ndarray:
    """``(B, 2, 2)`` complex128 reduced states of the leading qubit of ``(B, 2, R)`` complex64."""
    sums = _reduced_chunks(view, _CHUNK)
    out = np.empty((view.shape[0], 2, 2), dtype=np.complex128)
    out[:, 0, 0] = sums[:, 0]
    out[:, 1, 1] = sums[:, 1]
    out[:, 0, 1] = sums[:, 2] + 1j * sums[:, 3]
    out[:, 1, 0] = sums[:, 2] - 1j * sums[:, 3]
    return out


@numba.njit(cache=True)
def _collapse(view, source, coeff, out, chunk):  # pragma: no cover - compiled
    n_children = source.shape[0]
    rest = view.shape[2]
    n_chunks = (rest + chunk - 1) // chunk
    for job in range(n_children * n_chunks):
        c = job // n_chunks
        start = (job % n_chunks) * chunk
        stop = min(start + chunk, rest)
        s = source[c]
        a = coeff[c, 0]
        b = coeff[c, 1]
        for r in range(start, stop):
            out[c, r] = a * view[s, 0, r] + b * view[s, 1, r]


def collapse(view: np.ndarray, source: np.ndarray, coeff: np.ndarray) -> np.ndarray:
    """``(C, R)`` children ``coeff[c, 0] * view[source[c], 0] + coeff[c, 1] * view[...,1]``."""
    out = np.empty((len(source), view.shape[2]), dtype=np.complex64)
    _collapse(view, source.astype(np.int64), coeff.astype(np.complex64), out, _CHUNK)
    return out
