"""Measurement protocols: single-copy random-Pauli shadows and two-copy Bell sampling.

Each protocol module turns a state into an :class:`Experiment`: one parameterised Cirq
circuit (state preparation plus the protocol's measurement stage) and one row of
parameter values per shot, and turns the measured bits back into dataset arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

import cirq
import numpy as np

from copylearn.errors import CopylearnError


@dataclass(frozen=True)
class Experiment:
    """What a backend executes for one data collection.

    Attributes
    ----------
    circuit : cirq.Circuit
        Parameterised circuit with terminal measurements.
    parameter_names : tuple of str
        Names of the circuit's symbols, one column of ``values`` each.
    values : np.ndarray
        ``(shots, len(parameter_names))`` per-shot parameter values.
    record : dict of str to np.ndarray
        Per-shot choices the learner knows and keeps (e.g. measurement bases).
    """

    circuit: cirq.Circuit
    parameter_names: tuple[str, ...]
    values: np.ndarray
    record: dict[str, np.ndarray]


def get_protocol(name: str) -> ModuleType:
    """The protocol module for ``name`` ("pauli-shadow" or "bell")."""
    from copylearn.protocols import single_copy, two_copy

    modules = {single_copy.NAME: single_copy, two_copy.NAME: two_copy}
    if name not in modules:
        raise CopylearnError(f"unknown protocol {name!r}: use one of {', '.join(sorted(modules))}.")
    return modules[name]


PROTOCOL_NAMES = ("pauli-shadow", "bell")
