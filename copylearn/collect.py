"""``collect``: run a protocol on copies of a state on a simulator backend and keep the data."""

from __future__ import annotations

import platform
from importlib import metadata as importlib_metadata
from typing import Any

import cirq
import numpy as np

from copylearn.backends import check_backend, execute
from copylearn.data import Dataset
from copylearn.errors import CopylearnError
from copylearn.noise import resolve_noise
from copylearn.protocols import get_protocol
from copylearn.seeding import substream
from copylearn.states import CircuitState, PauliMixedState

# Streams spawned from the run's seed, by identity (not by order of use).
_STREAMS = {"state_a": 0, "state_b": 1, "protocol": 2, "backend": 3}


def _versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for dist in ("copylearn", "cirq-core", "qsimcirq", "numpy"):
        try:
            versions[dist] = importlib_metadata.version(dist)
        except importlib_metadata.PackageNotFoundError:
            versions[dist] = "unknown"
    return versions


def _check_state(state) -> PauliMixedState | CircuitState:
    if isinstance(state, cirq.Circuit):
        return CircuitState(state)
    if not isinstance(state, PauliMixedState | CircuitState):
        raise CopylearnError(
            f"state must be a PauliMixedState, a CircuitState or a cirq.Circuit, "
            f"got {type(state).__name__}."
        )
    return state


def _check_copies(copies, copies_per_shot: int, protocol: str) -> int:
    if isinstance(copies, bool) or not isinstance(copies, int | np.integer) or copies <= 0:
        raise CopylearnError(f"copies={copies!r} must be a positive integer.")
    if copies % copies_per_shot:
        raise CopylearnError(
            f"copies={copies} is odd, but protocol {protocol!r} consumes {copies_per_shot} copies "
            f"per experiment: use an even number, e.g. {copies + 1}."
        )
    return int(copies) // copies_per_shot


def _check_seed(seed) -> int:
    if seed is None:
        return int(np.random.SeedSequence().entropy)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise CopylearnError(f"seed={seed!r} must be a non-negative integer or None.")
    return int(seed)


def collect(
    state: PauliMixedState | CircuitState | cirq.Circuit,
    protocol: str = "bell",
    copies: int = 1000,
    noise: str | cirq.NoiseModel | None = None,
    backend: str = "qsim",
    seed: int | None = None,
    execution: str = "auto",
) -> Dataset:
    """Measure copies of ``state`` with ``protocol`` on a simulated (noisy) device.

    Every outcome comes from executing the protocol's Cirq circuit on the backend.

    Parameters
    ----------
    state : PauliMixedState, CircuitState or cirq.Circuit
        The unknown state.
    protocol : {"bell", "pauli-shadow"}
        Two-copy Bell sampling or single-copy random-Pauli shadows.
    copies : int
        Copies of the state consumed. A Bell experiment consumes two, so it must be even.
    noise : str, cirq.NoiseModel or None
        ``None``, a spec such as ``"depolarizing:0.01+readout:0.02"`` (see
        :mod:`copylearn.noise`) or any ``cirq.NoiseModel``; it acts on every operation of the
        executed circuits.
    backend : {"qsim", "exact"}
        qsimcirq (trajectories for noise) or Cirq's density-matrix simulator.
    seed : int, optional
        Seed of the run; the same seed gives bit-identical data. ``None`` draws fresh entropy,
        recorded in the metadata so the run can be repeated.
    execution : {"auto", "blocks", "circuit"}
        ``"auto"`` executes independent qubit blocks separately whenever the circuit factors
        (O(n) per shot) and the whole register otherwise; ``"blocks"`` and ``"circuit"`` force
        a path (see :mod:`copylearn.backends`). The path taken is recorded in the metadata.

    Returns
    -------
    Dataset
    """
    state = _check_state(state)
    module = get_protocol(protocol)
    shots = _check_copies(copies, module.COPIES_PER_SHOT, protocol)
    model, noise_description = resolve_noise(noise)
    check_backend(backend, execution)
    entropy = _check_seed(seed)
    root = np.random.SeedSequence(entropy)
    streams = {name: substream(root, key) for name, key in _STREAMS.items()}
    rngs = {name: np.random.default_rng(s) for name, s in streams.items()}

    experiment = module.prepare(state, shots, rngs)
    circuit = experiment.circuit if model is None else experiment.circuit.with_noise(model)
    measurements, path = execute(
        circuit,
        experiment.parameter_names,
        experiment.values,
        streams["backend"],
        backend=backend,
        execution=execution,
    )
    arrays = module.outcome_arrays(experiment, measurements)
    meta: dict[str, Any] = {
        "state": state.spec(),
        "protocol": protocol,
        "n": state.n,
        "copies": shots * module.COPIES_PER_SHOT,
        "experiments": shots,
        "noise": noise_description,
        "backend": backend,
        "seed": entropy,
        "execution": path,
        "versions": _versions(),
    }
    if isinstance(state, PauliMixedState):
        meta["state_parameters"] = {"pauli": state.pauli, "alpha": state.alpha, "sign": state.sign}
    else:
        meta["state_circuit"] = cirq.to_json(state.circuit)
    return Dataset(protocol=protocol, n=state.n, arrays=arrays, metadata=meta)
