"""copylearn: learning from quantum experiments with and without quantum memory.

Single-copy classical shadows against two-copy Bell sampling, executed as Cirq circuits
on qsim (or Cirq's density-matrix simulator), with validated estimators.

Public API (documented in the README)::

    import copylearn as cl
    state = cl.PauliMixedState("XYZI", alpha=0.9, sign=-1)
    data = cl.collect(state, protocol="bell", copies=20_000, noise="depolarizing:0.01", seed=7)
    data.estimate_square(["XYZI", "ZZII"])

The public names are imported on first use (PEP 562), so that ``import copylearn`` and the
``copylearn`` command stay fast until a simulator is needed.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names for type checkers and IDEs; at run time see __getattr__
    __version__: str
    from copylearn.calibration import Calibration
    from copylearn.collect import collect
    from copylearn.data import Dataset, Estimates, load
    from copylearn.errors import CopylearnError
    from copylearn.interop import (
        from_cirq_result,
        from_pennylane,
        from_recirq_states,
        to_cirq_result,
        to_pennylane,
        to_recirq_states,
    )
    from copylearn.noise import LocalNoise, parse_noise
    from copylearn.pauli import Paulis, parse_paulis
    from copylearn.results import Results, load_results
    from copylearn.states import (
        CircuitState,
        PauliEigenstate,
        PauliMixedState,
        random_brickwork_state,
        random_mixed_state,
        random_product_state,
    )

# public name -> the module that defines it
_EXPORTS = {
    "Calibration": "copylearn.calibration",
    "CircuitState": "copylearn.states",
    "CopylearnError": "copylearn.errors",
    "Dataset": "copylearn.data",
    "Estimates": "copylearn.data",
    "LocalNoise": "copylearn.noise",
    "PauliEigenstate": "copylearn.states",
    "PauliMixedState": "copylearn.states",
    "Paulis": "copylearn.pauli",
    "Results": "copylearn.results",
    "collect": "copylearn.collect",
    "from_cirq_result": "copylearn.interop",
    "from_pennylane": "copylearn.interop",
    "from_recirq_states": "copylearn.interop",
    "load": "copylearn.data",
    "load_results": "copylearn.results",
    "parse_noise": "copylearn.noise",
    "parse_paulis": "copylearn.pauli",
    "random_brickwork_state": "copylearn.states",
    "random_mixed_state": "copylearn.states",
    "random_product_state": "copylearn.states",
    "to_cirq_result": "copylearn.interop",
    "to_pennylane": "copylearn.interop",
    "to_recirq_states": "copylearn.interop",
}

__all__ = [
    "Calibration",
    "CircuitState",
    "CopylearnError",
    "Dataset",
    "Estimates",
    "LocalNoise",
    "PauliEigenstate",
    "PauliMixedState",
    "Paulis",
    "Results",
    "__version__",
    "collect",
    "from_cirq_result",
    "from_pennylane",
    "from_recirq_states",
    "load",
    "load_results",
    "parse_noise",
    "parse_paulis",
    "random_brickwork_state",
    "random_mixed_state",
    "random_product_state",
    "to_cirq_result",
    "to_pennylane",
    "to_recirq_states",
]


def __getattr__(name: str) -> Any:
    if name == "__version__":  # the package metadata or the source tree (copylearn.version)
        from copylearn.version import package_version

        value = package_version()
        setattr(sys.modules[__name__], name, value)
        return value
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'copylearn' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    setattr(sys.modules[__name__], name, value)
    return value


def __dir__() -> list[str]:
    return sorted({*__all__, *(name for name in globals() if name.startswith("__"))})


class _Package(types.ModuleType):
    """The package module; keeps ``copylearn.collect`` the function, not the submodule.

    Importing the submodule ``copylearn.collect`` binds it as an attribute of the package;
    the public name ``copylearn.collect`` is the function of that module (as it always was).
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "collect" and isinstance(value, types.ModuleType):
            function = getattr(value, "collect", None)
            if function is None:  # still initialising: resolved later by __getattr__
                return
            value = function
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
