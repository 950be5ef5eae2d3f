"""Measurement protocols: single-copy random-Pauli shadows and two-copy Bell sampling.

Each protocol module has ``build(state)``, one parameterised Cirq circuit (state preparation
plus the protocol's measurement stage) and its parameter names; ``draw(state, shots, rngs)``,
one row of parameter values per shot and the choices to record; and ``outcome_arrays``, which
turns the measured bits into dataset arrays. :func:`prepare` bundles the first two into an
:class:`Experiment`.
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


def prepare(protocol: str, state, shots: int, rngs: dict[str, np.random.Generator]) -> Experiment:
    """The protocol's circuit for ``state`` and ``shots`` rows of per-shot parameters.

    ``rngs`` holds the generators the protocol's ``draw`` uses (``"state_a"``, ``"state_b"``,
    ``"protocol"``).
    """
    module = get_protocol(protocol)
    circuit, names = module.build(state)
    values, record = module.draw(state, shots, rngs)
    return Experiment(circuit, names, values, record)
