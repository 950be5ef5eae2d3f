"""Whether copylearn runs its compiled (numba) kernels: decided here, for every kernel set.

numba is optional (``pip install 'copylearn[fast]'``). Four modules hold compiled kernels,
each with a NumPy fallback in its caller that computes the same numbers:

* :data:`BLOCKS` (:mod:`copylearn.backends.block_kernels`): the block sampler's per-shot loop;
* :data:`COLLAPSE` (:mod:`copylearn.backends.collapse_kernels`): the state path's reduced
  states and collapse (docs/theory.md §12.2);
* :data:`ESTIMATORS` (:mod:`copylearn.estimator_kernels_numba`): the bit-sliced Pauli sums
  (docs/theory.md §3.2, §4.2);
* :data:`GLOBAL_STAGE` (:mod:`copylearn.backends.global_stage_kernels`): the global-stage
  path's per-setting unitaries and inverse-CDF draw (docs/theory.md §12.6).

Each of them imports numba at module level and is imported only through :func:`load`.

Policy
------
* **Switch.** ``COPYLEARN_NO_NUMBA`` set to anything but ``""`` or ``"0"`` selects NumPy
  everywhere. It is read at every call, so a test or a benchmark can flip it.
* **Lazy loading.** Importing copylearn never imports numba. A kernel module (and numba with
  it) is imported the first time a caller asks for it with enough work: the caller passes
  ``work`` (its elementary operations, e.g. shots times observables) and the module is loaded
  once the process's total for that module reaches ``load_after``; until then :func:`load`
  returns None and the caller runs NumPy. Loading runs the module's ``warm_up()``, which
  compiles its kernels (or loads them from numba's on-disk cache, ``cache=True``) on tiny
  inputs of the types the callers pass, so a compile failure surfaces here.
* **Failure.** numba not importable: None, silently. Any other error while importing or
  warming up: one ``RuntimeWarning`` for that module, then NumPy for the rest of the process.
* **Same numbers.** Every kernel does the floating-point and integer operations of its
  fallback in the same order, so data and estimates are bit-identical with and without
  numba (tests/test_state_sampling.py, tests/test_stream_pins.py,
  tests/test_estimator_kernels.py run both).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import warnings
from types import ModuleType

ENV_NO_NUMBA = "COPYLEARN_NO_NUMBA"

BLOCKS = "copylearn.backends.block_kernels"
COLLAPSE = "copylearn.backends.collapse_kernels"
ESTIMATORS = "copylearn.estimator_kernels_numba"
GLOBAL_STAGE = "copylearn.backends.global_stage_kernels"

_loaded: dict[str, ModuleType] = {}
_failed: set[str] = set()
_work: dict[str, int] = {}


def switched_off() -> bool:
    """Whether ``COPYLEARN_NO_NUMBA`` selects the NumPy paths (read at every call)."""
    return os.environ.get(ENV_NO_NUMBA, "") not in ("", "0")


def available() -> bool:
    """Whether compiled kernels can be used: numba is installed and not switched off.

    Does not import numba (a kernel that then fails to compile still falls back, see
    :func:`load`).
    """
    return not switched_off() and importlib.util.find_spec("numba") is not None


def load(module: str, *, work: int | None = None, load_after: int = 0) -> ModuleType | None:
    """The compiled kernel module ``module``, or None where the caller must run NumPy.

    Parameters
    ----------
    module : str
        One of :data:`BLOCKS`, :data:`COLLAPSE`, :data:`ESTIMATORS`, :data:`GLOBAL_STAGE`.
    work : int, optional
        The caller's work in this call; it counts towards ``load_after`` until the module is
        loaded. Without it the module is loaded now.
    load_after : int
        Work the process does on NumPy before loading ``module`` (importing numba and loading
        cached machine code costs a fraction of a second, which small one-off calls never
        repay).

    Returns
    -------
    module or None
        None when switched off (:data:`ENV_NO_NUMBA`), numba is missing, loading failed
        before (with a warning then), or ``work`` has not yet reached ``load_after``.
    """
    if switched_off() or module in _failed:
        return None
    kernels = _loaded.get(module)
    if kernels is not None:
        return kernels
    if work is not None:
        _work[module] = _work.get(module, 0) + work
        if _work[module] < load_after:
            return None
    try:
        kernels = importlib.import_module(module)
        warm_up = getattr(kernels, "warm_up", None)
        if warm_up is not None:
            warm_up()
    except ImportError as exc:
        _failed.add(module)
        if exc.name not in ("numba", module):  # numba missing is expected: silent
            _warn(module, exc)
        return None
    except Exception as exc:  # a numba that cannot compile here: NumPy, and say so once
        _failed.add(module)
        _warn(module, exc)
        return None
    _loaded[module] = kernels
    return kernels


def _warn(module: str, exc: BaseException) -> None:
    warnings.warn(
        f"copylearn: compiled kernels {module} unavailable ({exc.__class__.__name__}: {exc}); "
        f"using NumPy, with identical results (set {ENV_NO_NUMBA}=1 to silence).",
        RuntimeWarning,
        stacklevel=3,
    )
