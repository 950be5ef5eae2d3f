"""Compiled loop of the global-stage path (numba; imported only through
:func:`copylearn.compiled.load`).

:func:`apply_and_sample` does, row by row, what :func:`copylearn.backends.global_stage._apply_numpy`
and ``_sample_numpy`` do array by array, with the same floating-point operations in the same
order: each output amplitude a left-to-right sum over its matrix row of
``(m_r a_r - m_i a_i) + i (m_r a_i + m_i a_r)`` (one term for a monomial row), each product
and sum rounded on its own (numba emits no fused multiply-adds without ``fastmath``); the
cumulative probabilities ``re^2 + im^2`` summed left to right; the outcome the number of them
(all but the last) at most ``u * total``. Outcomes are therefore bit-identical to NumPy's
(docs/theory.md §12.6).
"""

from __future__ import annotations

import numba
import numpy as np

_IDENTITY, _DENSE1, _MONOMIAL1, _DENSE2, _MONOMIAL2 = 0, 1, 2, 3, 4


@numba.njit(cache=True, nogil=True, boundscheck=False, inline="always")
def _term(m, k, t, xr, xi):  # pragma: no cover - compiled
    """(m_r x_r - m_i x_i, m_r x_i + m_i x_r) for matrix entry (k, t)."""
    mr = m[k, t, 0]
    mi = m[k, t, 1]
    return mr * xr - mi * xi, mr * xi + mi * xr


@numba.njit(cache=True, nogil=True, boundscheck=False)
def _apply_one(re, im, r, m, src, kind, s0, dim):  # pragma: no cover - compiled
    """A single-qubit matrix on row ``r``: pairs (i, i + s0) with bit s0 of i clear."""
    for block in range(0, dim, 2 * s0):
        for i in range(block, block + s0):
            j = i + s0
            a_r = re[r, i]
            a_i = im[r, i]
            b_r = re[r, j]
            b_i = im[r, j]
            if kind == _MONOMIAL1:
                t0 = src[0]
                t1 = src[1]
                x0r, x0i = (a_r, a_i) if t0 == 0 else (b_r, b_i)
                x1r, x1i = (a_r, a_i) if t1 == 0 else (b_r, b_i)
                re[r, i], im[r, i] = _term(m, 0, t0, x0r, x0i)
                re[r, j], im[r, j] = _term(m, 1, t1, x1r, x1i)
            else:
                p_r, p_i = _term(m, 0, 0, a_r, a_i)
                q_r, q_i = _term(m, 0, 1, b_r, b_i)
                u_r, u_i = _term(m, 1, 0, a_r, a_i)
                v_r, v_i = _term(m, 1, 1, b_r, b_i)
                re[r, i] = p_r + q_r
                im[r, i] = p_i + q_i
                re[r, j] = u_r + v_r
                im[r, j] = u_i + v_i


@numba.njit(cache=True, nogil=True, boundscheck=False)
def _apply_two(re, im, r, m, src, kind, s0, s1, dim, ar, ai):  # pragma: no cover - compiled
    """A two-qubit matrix on row ``r``: quadruples base + (0, s1, s0, s0 + s1)."""
    mask = s0 | s1
    for base in range(dim):
        if base & mask:
            continue
        i0 = base
        i1 = base + s1
        i2 = base + s0
        i3 = base + s0 + s1
        ar[0] = re[r, i0]
        ar[1] = re[r, i1]
        ar[2] = re[r, i2]
        ar[3] = re[r, i3]
        ai[0] = im[r, i0]
        ai[1] = im[r, i1]
        ai[2] = im[r, i2]
        ai[3] = im[r, i3]
        for k in range(4):
            if kind == _MONOMIAL2:
                t = src[k]
                o_r, o_i = _term(m, k, t, ar[t], ai[t])
            else:
                o_r, o_i = _term(m, k, 0, ar[0], ai[0])
                for t in range(1, 4):
                    x_r, x_i = _term(m, k, t, ar[t], ai[t])
                    o_r = o_r + x_r
                    o_i = o_i + x_i
            idx = i0 if k == 0 else (i1 if k == 1 else (i2 if k == 2 else i3))
            re[r, idx] = o_r
            im[r, idx] = o_i


@numba.njit(cache=True, nogil=True, boundscheck=False)
def apply_and_sample(
    re, im, kinds, matrices, sources, axes, codes, q, shot_rows, u
):  # pragma: no cover - compiled; tested against the NumPy path
    """Apply the stage to every row of ``re``/``im`` (``(R, 2^q)`` float64) in place, then
    return each shot's outcome index (``shot_rows`` its row, ``u`` its uniform)."""
    rows, dim = re.shape
    n_ops = kinds.shape[0]
    ar = np.empty(4)
    ai = np.empty(4)
    for r in range(rows):
        for j in range(n_ops):
            s = codes[r, j]
            kind = kinds[j, s]
            if kind == _IDENTITY:
                continue
            s0 = 1 << (q - 1 - axes[j, 0])
            if axes[j, 1] < 0:
                _apply_one(re, im, r, matrices[j, s], sources[j, s], kind, s0, dim)
            else:
                s1 = 1 << (q - 1 - axes[j, 1])
                _apply_two(re, im, r, matrices[j, s], sources[j, s], kind, s0, s1, dim, ar, ai)
    cdf = np.empty((rows, dim))
    for r in range(rows):
        total = 0.0
        for i in range(dim):
            total = total + (re[r, i] * re[r, i] + im[r, i] * im[r, i])
            cdf[r, i] = total
    out = np.empty(shot_rows.shape[0], dtype=np.int64)
    for t in range(shot_rows.shape[0]):
        r = shot_rows[t]
        scaled = u[t] * cdf[r, dim - 1]
        lo = 0
        hi = dim - 1  # count of cdf[r, :dim-1] <= scaled, by bisection (cdf is nondecreasing)
        while lo < hi:
            mid = (lo + hi) // 2
            if cdf[r, mid] <= scaled:
                lo = mid + 1
            else:
                hi = mid
        out[t] = lo
    return out


def warm_up() -> None:
    """Compile (or load from numba's cache) on tiny inputs of the callers' types."""
    re = np.zeros((1, 2))
    re[0, 0] = 1.0
    im = np.zeros((1, 2))
    kinds = np.zeros((1, 1), dtype=np.int64)
    matrices = np.zeros((1, 1, 4, 4, 2))
    sources = np.zeros((1, 1, 4), dtype=np.int64)
    axes = np.array([[0, -1]], dtype=np.int64)
    codes = np.zeros((1, 1), dtype=np.int64)
    apply_and_sample(
        re, im, kinds, matrices, sources, axes, codes, 1, np.zeros(1, dtype=np.int64),
        np.zeros(1),
    )  # fmt: skip
