"""copylearn: learning from quantum experiments with and without quantum memory.

Single-copy classical shadows against two-copy Bell sampling, executed as Cirq circuits
on qsim (or Cirq's density-matrix simulator), with validated estimators.

Public API (documented in the README)::

    import copylearn as cl
    state = cl.PauliMixedState("XYZI", alpha=0.9, sign=-1)
    data = cl.collect(state, protocol="bell", copies=20_000, noise="depolarizing:0.01", seed=7)
    data.estimate_square(["XYZI", "ZZII"])
"""

from copylearn.calibration import Calibration
from copylearn.collect import collect
from copylearn.data import Dataset, Estimates, load
from copylearn.errors import CopylearnError
from copylearn.noise import LocalNoise, parse_noise
from copylearn.pauli import Paulis, parse_paulis
from copylearn.states import (
    CircuitState,
    PauliEigenstate,
    PauliMixedState,
    random_brickwork_state,
    random_mixed_state,
    random_product_state,
)

__version__ = "0.1.0"

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
    "__version__",
    "collect",
    "load",
    "parse_noise",
    "parse_paulis",
    "random_brickwork_state",
    "random_mixed_state",
    "random_product_state",
]
