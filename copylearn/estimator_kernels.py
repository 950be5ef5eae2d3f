"""The compiled (numba) path of the bit-sliced Pauli estimators, and when it is used.

The kernels (:mod:`copylearn.estimator_kernels_numba`) transpose shot-major packed rows
into qubit-major bit planes and count, for every observable and every prefix of the shots,
the shots whose bit-sliced *match* word is set (``hits``) and those among them whose
*parity* word is set (``odd``). :func:`copylearn.pauli.shadow_sums` and
:func:`copylearn.pauli.bell_sums` turn these integer counts into sums exactly as their
NumPy path does, so both paths give identical numbers (estimators: docs/theory.md §3.2,
§4.2).

numba is optional (``pip install copylearn[fast]``). :func:`kernels` returns None, and
callers use NumPy, when numba is not importable, when the environment sets
``COPYLEARN_NO_NUMBA=1`` (read at every call), or when compiling failed once (then with a
warning). The kernels are compiled with ``cache=True``: the first call in a fresh
environment compiles them (seconds; benchmarks/RESULTS.md), later processes load them from
numba's cache.
"""

from __future__ import annotations

import os
import warnings
from types import SimpleNamespace

import numpy as np

ENV_NO_NUMBA = "COPYLEARN_NO_NUMBA"

# Shot-observable pairs a process estimates on the NumPy path before it loads numba: below
# this (about 0.3 s of NumPy work) importing numba and loading its cached code costs more
# than the kernel saves, so one-off small estimates never pay for it.
LOAD_AFTER_WORK = 1 << 27

_kernels: SimpleNamespace | None = None
_failed = False
_work = 0


def numba_available() -> bool:
    """Whether the compiled path will be used (numba importable and not switched off)."""
    return kernels() is not None


def kernels(work: int | None = None) -> SimpleNamespace | None:
    """The compiled kernels (``prefix_counts``, ``transpose_words``), or None for NumPy.

    None when numba is not importable, ``COPYLEARN_NO_NUMBA=1`` is set, or compiling failed.
    ``work`` (shots times observables of the caller's estimate) defers loading numba until
    the process has done :data:`LOAD_AFTER_WORK` of it; without ``work`` it loads now.
    """
    global _kernels, _failed, _work
    if os.environ.get(ENV_NO_NUMBA, "") not in ("", "0") or _failed:
        return None
    if _kernels is None and work is not None:
        _work += work
        if _work < LOAD_AFTER_WORK:
            return None
    if _kernels is None:
        try:
            _kernels = _build()
            _warm_up(_kernels)
        except ImportError:
            _failed = True
        except Exception as exc:  # a numba that cannot compile here: NumPy, and say so once
            _failed = True
            warnings.warn(
                f"copylearn: numba kernel unavailable ({exc.__class__.__name__}: {exc}); "
                f"using NumPy (set {ENV_NO_NUMBA}=1 to silence).",
                RuntimeWarning,
                stacklevel=2,
            )
    return _kernels


def _build() -> SimpleNamespace:
    from copylearn import estimator_kernels_numba as compiled

    return SimpleNamespace(
        prefix_counts=compiled.prefix_counts, transpose_words=compiled.transpose_words
    )


def _warm_up(kernels_: SimpleNamespace) -> None:
    """Compile (or load from numba's cache) both kernels now, on tiny inputs."""
    table = np.zeros((3, 4), dtype=np.uint64)
    rows = np.zeros((1, 1), dtype=np.int64)
    count = np.ones(1, dtype=np.int64)
    ends = np.ones(1, dtype=np.int64)
    out = np.zeros((1, 1), dtype=np.int64)
    kernels_.prefix_counts(table, table[0], rows, count, rows, count, ends, ends, out, out.copy())
    kernels_.transpose_words(np.zeros((1, 1), dtype=np.uint64), np.zeros((1, 1), np.uint64))
