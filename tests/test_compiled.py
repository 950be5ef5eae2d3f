"""copylearn.compiled: the one place that decides whether the numba kernels run.

The kernels' numbers are compared with their NumPy fallbacks in tests/test_state_sampling.py,
tests/test_stream_pins.py and tests/test_estimator_kernels.py; here: the switch, lazy
loading, and the fallback when numba is missing or cannot compile.
"""

from __future__ import annotations

import subprocess
import sys
import types

import pytest

from copylearn import compiled

MODULES = (compiled.BLOCKS, compiled.COLLAPSE, compiled.ESTIMATORS)


@pytest.fixture
def fresh(monkeypatch):
    """compiled's process state emptied (restored afterwards), the switch unset."""
    monkeypatch.setattr(compiled, "_loaded", {})
    monkeypatch.setattr(compiled, "_failed", set())
    monkeypatch.setattr(compiled, "_work", {})
    monkeypatch.delenv(compiled.ENV_NO_NUMBA, raising=False)
    return monkeypatch


def test_importing_copylearn_does_not_import_numba():
    code = (
        "import sys, copylearn, copylearn.compiled, copylearn.pauli, copylearn.backends.blocks, "
        "copylearn.backends.state_sampling; print('numba' in sys.modules)"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "False"


@pytest.mark.parametrize(("value", "off"), [("1", True), ("yes", True), ("0", False), ("", False)])
def test_the_switch_is_read_at_every_call(fresh, value, off):
    fresh.setenv(compiled.ENV_NO_NUMBA, value)
    assert compiled.switched_off() is off
    if off:
        assert not compiled.available()
        assert all(compiled.load(module) is None for module in MODULES)


def test_without_numba_every_kernel_set_falls_back_silently(fresh, recwarn):
    fresh.setitem(sys.modules, "numba", None)
    for module in MODULES:
        fresh.delitem(sys.modules, module, raising=False)
    assert all(compiled.load(module) is None for module in MODULES)
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_a_kernel_that_fails_to_compile_warns_once_then_numpy(fresh):
    broken = types.ModuleType("copylearn_test_broken_kernels")

    def warm_up():
        raise RuntimeError("no LLVM target")

    broken.warm_up = warm_up
    fresh.setitem(sys.modules, broken.__name__, broken)
    with pytest.warns(RuntimeWarning, match="no LLVM target.*identical results"):
        assert compiled.load(broken.__name__) is None
    broken.warm_up = lambda: None  # even if it would work now: decided once per process
    assert compiled.load(broken.__name__) is None


def test_loading_waits_for_enough_work(fresh):
    name = "copylearn_test_kernels"
    fresh.setitem(sys.modules, name, types.ModuleType(name))
    assert compiled.load(name, work=5, load_after=10) is None
    assert compiled.load(name, work=4, load_after=10) is None
    assert compiled.load(name, work=1, load_after=10) is sys.modules[name]
    assert compiled.load(name, work=0, load_after=10) is sys.modules[name]  # stays loaded


@pytest.mark.parametrize("module", MODULES)
def test_every_kernel_set_loads_where_numba_is_installed(fresh, module):
    pytest.importorskip("numba")
    kernels = compiled.load(module)
    assert kernels is not None and compiled.available()
    assert compiled.load(module) is kernels
