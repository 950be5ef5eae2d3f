"""When the bit-sliced Pauli estimators use their compiled kernels.

The kernels (:mod:`copylearn.estimator_kernels_numba`) transpose shot-major packed rows
into qubit-major bit planes and count, for every observable and every prefix of the shots,
the shots whose bit-sliced *match* word is set (``hits``) and those among them whose
*parity* word is set (``odd``). :func:`copylearn.pauli.shadow_sums` and
:func:`copylearn.pauli.bell_sums` turn these integer counts into sums exactly as their
NumPy path does, so both paths give identical numbers (estimators: docs/theory.md §3.2,
§4.2). Whether and when they are loaded follows the one policy of :mod:`copylearn.compiled`
(``COPYLEARN_NO_NUMBA``, lazy loading, fallback with a warning); this module only holds the
estimators' loading threshold.
"""

from __future__ import annotations

from types import ModuleType

from copylearn import compiled
from copylearn.compiled import ENV_NO_NUMBA

__all__ = ["ENV_NO_NUMBA", "LOAD_AFTER_WORK", "kernels", "numba_available"]

# Shot-observable pairs a process estimates on the NumPy path before it loads numba: below
# this (about 0.3 s of NumPy work) importing numba and loading its cached code costs more
# than the kernel saves, so one-off small estimates never pay for it.
LOAD_AFTER_WORK = 1 << 27


def numba_available() -> bool:
    """Whether the compiled path will be used (numba loads, compiles, and is not switched off)."""
    return kernels() is not None


def kernels(work: int | None = None) -> ModuleType | None:
    """The compiled kernels (``prefix_counts``, ``transpose_words``), or None for NumPy.

    ``work`` (shots times observables of the caller's estimate) defers loading numba until
    the process has done :data:`LOAD_AFTER_WORK` of it; without ``work`` it loads now.
    """
    return compiled.load(compiled.ESTIMATORS, work=work, load_after=LOAD_AFTER_WORK)
