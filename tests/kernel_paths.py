"""Test helper: run the same computation on the compiled kernels and on the NumPy fallback."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import pytest

from copylearn import compiled

T = TypeVar("T")


def both_paths(monkeypatch, module: str, fn: Callable[[], T]) -> tuple[T, T]:
    """``fn()`` with the compiled kernel module ``module`` (a :mod:`copylearn.compiled` name),
    then with ``COPYLEARN_NO_NUMBA=1``; skips the test where numba is not installed."""
    monkeypatch.delenv(compiled.ENV_NO_NUMBA, raising=False)
    if compiled.load(module) is None:
        pytest.skip("numba is not installed: only the NumPy fallback runs")
    fast = fn()
    monkeypatch.setenv(compiled.ENV_NO_NUMBA, "1")
    assert compiled.load(module) is None
    return fast, fn()
