"""Distinct per-shot settings by mixed-radix codes: shared by the block and state paths.

Both paths group the shots by their setting (the values of the parameter columns a block or a
measured qubit depends on) so that each distinct setting is resolved and simulated once.
"""

from __future__ import annotations

import math

import numpy as np

#: Largest number of possible codes counted by a bincount; above it ``np.unique`` runs.
MAX_CODES = 1 << 20


def distinct(keys: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(keys, return_inverse=True)`` for integer keys in ``[0, size)``, in O(N).

    Returns the sorted distinct keys and each key's index among them (int64).
    """
    present = np.flatnonzero(np.bincount(keys, minlength=size))
    lookup = np.zeros(size, dtype=np.int64)
    lookup[present] = np.arange(len(present))
    return present, lookup[keys]


def digits(codes: np.ndarray, radices: np.ndarray, dtype) -> np.ndarray:
    """``(len(codes), len(radices))`` mixed-radix digits of ``codes``, first most significant."""
    out = np.empty((len(codes), len(radices)), dtype=dtype)
    rest = np.asarray(codes, dtype=np.int64)
    for j in reversed(range(len(radices))):
        out[:, j] = rest % radices[j]
        rest = rest // radices[j]
    return out


def setting_index(columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of ``(shots, k)`` ``columns`` (sorted) and each shot's row index.

    Small unsigned-integer columns (the protocols' 0/1 and turn parameters) take an O(shots)
    mixed-radix code (first column most significant) and a bincount; anything else
    ``np.unique``. Both give the rows in the same lexicographic order.
    """
    shots, k = columns.shape
    if k == 0:
        return np.zeros((1, 0), dtype=columns.dtype), np.zeros(shots, dtype=np.int64)
    if columns.dtype.kind == "u" and shots:
        radices = columns.max(axis=0).astype(np.int64) + 1
        total = math.prod(int(r) for r in radices)
        if total <= MAX_CODES:
            code = np.zeros(shots, dtype=np.int64)
            for j in range(k):
                code = code * radices[j] + columns[:, j]
            present, inverse = distinct(code, total)
            return digits(present, radices, columns.dtype), inverse
    settings, inverse = np.unique(columns, axis=0, return_inverse=True)
    return settings, inverse.reshape(-1)
