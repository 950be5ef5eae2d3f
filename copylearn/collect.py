"""``collect``: run a protocol on copies of a state on a simulator backend and keep the data."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import inspect
import platform
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from typing import Any

import cirq
import numpy as np

from copylearn import calibration, streams
from copylearn.backends import Plan, check_backend, plan
from copylearn.backends.limits import check_collection
from copylearn.data import Dataset
from copylearn.errors import CopylearnError
from copylearn.heartbeat import still_running
from copylearn.noise import resolve_noise, with_state_noise
from copylearn.processes import Process
from copylearn.protocols import Protocol, get_protocol
from copylearn.seeding import substream
from copylearn.states import CircuitState, PauliEigenstate, PauliMixedState
from copylearn.streams import DEFAULT_STREAM, LEGACY_STREAM, Generators, as_array, check_stream

# Streams spawned from the run's seed, by identity (not by order of use).
_STREAMS = {"state_a": 0, "state_b": 1, "protocol": 2, "backend": 3}
_CALIBRATION_STREAM = 4
# Child of the backend seed holding one stream per measurement-circuit pool member.
_POOL_STREAM = 7


def _versions() -> dict[str, str]:
    """Versions of Python and the packages that made a dataset (a copy per call)."""
    return dict(_installed_versions())


@functools.cache
def _installed_versions() -> dict[str, str]:
    """Read once per process: package metadata costs milliseconds per read."""
    from copylearn.version import package_version

    versions = {"python": platform.python_version(), "copylearn": package_version()}
    for dist in ("cirq-core", "qsimcirq", "numpy", "stim", "stimcirq"):
        try:
            versions[dist] = importlib_metadata.version(dist)
        except importlib_metadata.PackageNotFoundError:
            versions[dist] = "unknown"
    return versions


def _check_state(state) -> PauliMixedState | CircuitState:
    if isinstance(state, cirq.Circuit):
        return CircuitState(state)
    if not isinstance(state, PauliMixedState | PauliEigenstate | CircuitState):
        raise CopylearnError(
            "state must be a PauliMixedState, a PauliEigenstate, a CircuitState or a "
            f"cirq.Circuit, got {type(state).__name__}."
        )
    return state


def _check_unknown(state, module) -> None:
    """Refuse a Pauli state queried as a unitary, or a process measured as a state."""
    if module.unknown == "process" and isinstance(state, PauliMixedState | PauliEigenstate):
        raise CopylearnError(
            f"protocol {module.name!r} queries a unitary U, and {state.spec()} is a state: give "
            "a copylearn.processes.Process (sample_process) or a cirq.Circuit read as U."
        )
    if module.unknown == "state" and isinstance(state, Process):
        raise CopylearnError(
            f"protocol {module.name!r} measures copies of a state, and {state.spec()} is a "
            "process U: use a process protocol (two-query-bell, conventional-y), or "
            "CircuitState(process.circuit) for the state U|0...0>."
        )


def _check_copies(copies, copies_per_shot: int, protocol: str, name: str = "copies") -> int:
    if isinstance(copies, bool) or not isinstance(copies, int | np.integer) or copies <= 0:
        zero = " (or 0 for no calibration)" if name == "calibration_copies" else ""
        raise CopylearnError(f"{name}={copies!r} must be a positive integer{zero}.")
    if copies % copies_per_shot:
        raise CopylearnError(
            f"{name}={copies} is odd, but protocol {protocol!r} consumes {copies_per_shot} copies "
            f"per experiment: use an even number, e.g. {copies + 1}."
        )
    return int(copies) // copies_per_shot


def _check_seed(seed) -> np.random.SeedSequence:
    if seed is None:
        return np.random.SeedSequence()
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise CopylearnError(f"seed={seed!r} must be a non-negative integer or None.")
    return np.random.SeedSequence(int(seed))


@dataclass
class Collector:
    """A prepared collection: the protocol's noisy parameterised circuit(s) and their plans.

    Building the circuits and planning their execution happen once; :meth:`sample` then draws
    data for any state that shares the circuit (every :class:`PauliMixedState` on n qubits,
    whose Pauli is a parameter, or the same :class:`CircuitState`), reusing the executed
    block distributions. The sample-complexity runner collects thousands of datasets this way.

    A protocol with a measurement-circuit pool (``Protocol.circuits`` returns K > 1 circuits)
    gets one plan per pool member; its ``draw`` records each shot's member under
    ``"circuit"``, and :meth:`sample_many` executes each member's shots with its own plan and
    puts the outcomes back in shot order (docs/extending.md, measurement-circuit pools).
    """

    protocol: str
    n: int
    key: tuple
    noise_description: str
    plans: tuple[Plan, ...]
    parameter_names: tuple[str, ...] = ()
    device: Any = None  # the placed-on copylearn.devices.Device (noise scaled), if any
    #: The protocol's declared parameters set away from their defaults (``Protocol.with_options``).
    options: dict[str, Any] = field(default_factory=dict)
    #: The random-stream version drawn with (:mod:`copylearn.streams`).
    stream: int = DEFAULT_STREAM
    #: The circuit whose identity :attr:`key` names, kept alive with the collector: a key
    #: built from ``id()`` must not be reused by another circuit while the collector lives
    #: (a freed family circuit's id was taken by a trial's new circuit, which was then
    #: sampled with the family's plan).
    anchor: Any = field(default=None, repr=False, compare=False)

    @property
    def module(self):
        """The registered protocol, with :attr:`options` set."""
        return get_protocol(self.protocol).with_options(self.options)

    @property
    def plan(self) -> Plan:
        """The execution plan of the first (for most protocols the only) pool member."""
        return self.plans[0]

    def sample(
        self, state: PauliMixedState | CircuitState, shots: int, root: np.random.SeedSequence
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Measure ``shots`` experiments of ``state``; returns dataset arrays and the path info."""
        arrays, info = self.sample_many(
            [state], shots, [root], substream(root, _STREAMS["backend"])
        )
        return arrays[0], info

    def sample_many(
        self,
        states: list[PauliMixedState | CircuitState],
        shots: int,
        roots: list[np.random.SeedSequence],
        backend_seed: np.random.SeedSequence,
        with_values: bool = False,
    ) -> tuple[list[dict[str, np.ndarray]], dict[str, Any]]:
        """Measure ``shots`` experiments of each state in one simulator run.

        Each state's own randomness (its parameters, the protocol's bases) comes from its
        root seed; the backend draws with ``backend_seed``. ``with_values=True`` adds each
        state's per-shot parameter values (columns :attr:`parameter_names`) to its arrays
        under ``"values"``: what a calibration that prepared known states needs.
        """
        module = self.module
        values, records = [], []
        for state, root in zip(states, roots, strict=True):
            if circuit_key(state) != self.key:
                raise CopylearnError("this collector was prepared for a different circuit family.")
            rngs = Generators(
                {
                    name: np.random.default_rng(substream(root, key))
                    for name, key in _STREAMS.items()
                },
                self.stream,
            )
            v, record = module.draw(state, shots, rngs)
            values.append(v)
            records.append(record)
        if len(self.plans) == 1:
            measurements, info = _run_plan(
                self.plan, streams.concatenate(values), backend_seed, self.stream
            )
        else:
            members = np.concatenate([_pool_members(r, shots, len(self.plans)) for r in records])
            measurements, info = self._run_pool(
                np.concatenate([as_array(v) for v in values]), members, backend_seed
            )
        if not getattr(type(module).outcome_arrays, "takes_packed", False):
            measurements = {k: as_array(m) for k, m in measurements.items()}
        arrays = [
            module.outcome_arrays(
                record, {k: m[i * shots : (i + 1) * shots] for k, m in measurements.items()}
            )
            for i, record in enumerate(records)
        ]
        if with_values:
            for out, v in zip(arrays, values, strict=True):
                out["values"] = as_array(v)
        return arrays, info

    def _run_pool(
        self, values: np.ndarray, members: np.ndarray, seed: np.random.SeedSequence
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Execute each pool member's shots with its own plan; outcomes back in shot order.

        Member k draws from its own stream ``substream(seed, _POOL_STREAM, k)``, so its
        outcomes depend neither on the pool size nor on which other members ran.
        """
        out: dict[str, np.ndarray] = {}
        paths: dict[str, int] = {}
        executed = 0
        for k in np.unique(members):
            rows = np.flatnonzero(members == k)
            measured, info = _run_plan(
                self.plans[k], values[rows], substream(seed, _POOL_STREAM, int(k)), self.stream
            )
            for key, bits in measured.items():
                if key not in out:
                    out[key] = np.empty((len(members), bits.shape[1]), dtype=np.uint8)
                out[key][rows] = bits
            paths[info["path"]] = paths.get(info["path"], 0) + 1
            executed += 1
        info = {
            "path": "+".join(sorted(paths)),
            "pool_circuits": len(self.plans),
            "pool_circuits_executed": executed,
        }
        return out, info


def _run_plan(plan: Plan, values, seed: np.random.SeedSequence, stream: int):
    """``plan.run`` on ``stream``; a plan whose ``run`` takes no stream (stim's) gets the
    values unpacked and draws as it always does."""
    if stream == LEGACY_STREAM:
        return plan.run(as_array(values), seed)
    if "stream" not in inspect.signature(plan.run).parameters:
        token = streams.CURRENT.set(stream)  # reaches the plan's own fallback plans
        try:
            return plan.run(as_array(values), seed)
        finally:
            streams.CURRENT.reset(token)
    return plan.run(values, seed, stream=stream)


def _pool_members(record: dict[str, np.ndarray], shots: int, size: int) -> np.ndarray:
    """The ``(shots,)`` pool member of every shot, from ``draw``'s record ``"circuit"``.

    Raises
    ------
    CopylearnError
        The record has no ``"circuit"`` entry, or it is not one integer in [0, size) per shot
        (a protocol bug, named as such).
    """
    members = record.get("circuit")
    if members is None:
        raise CopylearnError(
            f"the protocol builds a pool of {size} measurement circuits but its draw() records "
            "no 'circuit' entry: record each shot's pool member under 'circuit'."
        )
    members = np.asarray(members)
    if (
        members.shape != (shots,)
        or not np.issubdtype(members.dtype, np.integer)
        or (shots and (members.min() < 0 or members.max() >= size))
    ):
        raise CopylearnError(
            f"the protocol's draw() record 'circuit' must hold one integer in [0, {size}) per "
            f"shot ({shots}), got shape {members.shape} of {members.dtype}."
        )
    return members.astype(np.int64)


def circuit_key(state: PauliMixedState | PauliEigenstate | CircuitState) -> tuple:
    """What a collector's plan is valid for: the Pauli family on n qubits, or one circuit by
    its identity (valid while that circuit lives: a :class:`Collector` keeps its own)."""
    if isinstance(state, PauliMixedState | PauliEigenstate):
        return ("pauli", state.n)
    return ("circuit", id(state.circuit))


def prepare_collector(
    state: PauliMixedState | CircuitState,
    protocol: str | Protocol = "bell",
    noise: str | cirq.NoiseModel | None = None,
    backend: str = "qsim",
    execution: str = "auto",
    device: str | None = None,
    ladder: bool | None = None,
    noise_scale: float = 1.0,
    *,
    prep_noise: bool = True,
    options: dict[str, Any] | None = None,
    stream: int = DEFAULT_STREAM,
) -> Collector:
    """Build and plan the (noisy) circuit(s) of ``protocol`` for ``state``'s circuit family.

    ``protocol`` is a registered name or a protocol object with its own settings (e.g.
    ``CliffordShadow(shots_per_unitary=64)``), which the collector then draws with.
    A protocol's measurement-circuit pool (``Protocol.circuits``) is planned member by
    member, each with the same noise (or device placement) and its own execution path.

    With ``device``, the circuit is placed on the device's qubits, compiled to its native
    gates and given its calibrated noise (:mod:`copylearn.devices`). ``ladder`` (Bell on a
    device only) forces copy B onto a chain as well; by default it does so exactly when the
    state's preparation may couple its qubits (a :class:`CircuitState`). ``noise_scale``
    multiplies the device's calibrated error rates (:func:`copylearn.devices.scale_noise`).
    ``prep_noise=False`` (no device only) executes the state's preparation moments without
    noise and applies the noise model from the storage moment on (storage noise, the
    measurement stage, readout): the calibration of a :class:`CircuitState` prepares its
    known states this way (:mod:`copylearn.calibration`). ``options`` sets the protocol's
    declared parameters (:meth:`copylearn.protocols.Protocol.with_options`). ``stream`` is
    the random-stream version its samples draw with (:mod:`copylearn.streams`).

    Raises
    ------
    CopylearnError
        ``prep_noise=False`` with a device (its compiler merges the preparation into the
        measurement stage's gates, so there is no noise-free preparation to split off), or a
        protocol whose pool holds several circuits (not executed yet).
    """
    module = get_protocol(protocol).with_options(options)
    check_backend(backend, execution)
    stream = check_stream(stream)
    memo = _memo_key(
        state,
        protocol,
        options,
        noise,
        backend,
        execution,
        device,
        ladder,
        noise_scale,
        prep_noise,
        stream,
    )
    if memo is not None and memo in _PREPARED:
        return _fresh(_PREPARED[memo])
    collector = _prepare(
        state,
        module,
        protocol,
        noise,
        backend,
        execution,
        device,
        ladder,
        noise_scale,
        prep_noise,
        options,
        stream,
    )
    if memo is not None:
        if len(_PREPARED) >= _PREPARED_MAX:
            del _PREPARED[next(iter(_PREPARED))]
        _PREPARED[memo] = collector
        return _fresh(collector)
    return collector


def _fresh(collector: Collector) -> Collector:
    """A copy of a memoised collector whose plans start with empty caches, as a newly
    planned one does (their block distributions still come from the process-wide store)."""
    plans = tuple(dataclasses.replace(p, cache={}) for p in collector.plans)
    return dataclasses.replace(collector, plans=plans)


# Collectors of the Pauli circuit family (their circuits depend on n only) prepared in this
# process, by every argument of prepare_collector: planning a 20-qubit family costs tens of
# milliseconds of Cirq work, as much as sampling 10^5 copies. Each call gets the plans with
# empty caches (:func:`_fresh`), so data and metadata are those of a newly planned collector.
_PREPARED: dict = {}
_PREPARED_MAX = 16


def _memo_key(
    state,
    protocol,
    options,
    noise,
    backend,
    execution,
    device,
    ladder,
    noise_scale,
    prep_noise,
    stream,
):
    """The key of :data:`_PREPARED`, or None for what is not memoised (a circuit state, a
    noise model object, a protocol object, options that are not plain values)."""
    if not isinstance(state, PauliMixedState | PauliEigenstate):
        return None
    if not isinstance(protocol, str) or not (noise is None or isinstance(noise, str)):
        return None
    try:
        frozen = tuple(sorted((options or {}).items()))
        hash(frozen)
    except TypeError:
        return None
    return (
        protocol,
        frozen,
        circuit_key(state),
        noise,
        backend,
        execution,
        device,
        ladder,
        float(noise_scale),
        prep_noise,
        stream,
    )


def _prepare(
    state,
    module,
    protocol,
    noise,
    backend,
    execution,
    device,
    ladder,
    noise_scale,
    prep_noise,
    options,
    stream,
) -> Collector:
    """:func:`prepare_collector` without the memo."""
    pool = module.circuits(state)
    if not pool:
        raise CopylearnError(f"protocol {protocol!r} builds no measurement circuit for this state.")
    names = tuple(pool[0][1])
    if any(tuple(member_names) != names for _, member_names in pool):
        raise CopylearnError(
            f"protocol {protocol!r} builds a pool of circuits with different parameter names: "
            "every pool member must take the same symbols (one column of draw()'s values each)."
        )
    if device is None:
        if noise_scale != 1.0:
            raise CopylearnError(
                "noise_scale scales a device's calibrated errors: pass device= too, or scale "
                "a noise spec's probabilities directly."
            )
    else:
        if not prep_noise:
            raise CopylearnError(
                "a device circuit cannot be split into a noise-free preparation and a noisy "
                "measurement stage: compilation merges them."
            )
        if noise is not None:
            raise CopylearnError(
                "pass either noise or device: a device brings its own calibrated noise."
            )
        if ladder is None:
            ladder = isinstance(state, CircuitState)
    plans, noise_description, placed_on = [], "", None
    for circuit, _ in pool:
        if device is None:
            model, noise_description = resolve_noise(noise)
            prep_depth = len(state.prep_circuit(cirq.LineQubit.range(state.n)))
            circuit = with_state_noise(circuit, prep_depth, model)
            if model is not None and not prep_noise:
                # Noise-free preparation, then the noisy rest, still one Cirq circuit.
                circuit = circuit[:prep_depth] + circuit[prep_depth:].with_noise(model)
                model = None
        else:
            circuit, model, noise_description, placed_on = _on_device(
                circuit, state, module, device, ladder, noise_scale
            )
        if model is not None:
            circuit = circuit.with_noise(model)
        plans.append(plan(circuit, names, backend, execution))
    return Collector(
        protocol,
        state.n,
        circuit_key(state),
        noise_description,
        tuple(plans),
        names,
        placed_on,
        {k: v for k, v in (options or {}).items() if k in module.options()},
        stream,
        getattr(state, "circuit", None),
    )


def _on_device(circuit: cirq.Circuit, state, module, name: str, ladder: bool, noise_scale: float):
    """Place ``circuit`` (built on LineQubits) on device ``name``, compile it, give its noise.

    Returns the compiled circuit, the noise model, its description and the device.
    """
    from copylearn import devices

    if name not in devices.DEVICE_NAMES:
        raise CopylearnError(
            f"unknown device {name!r}: use one of {', '.join(devices.DEVICE_NAMES)}."
        )
    device = devices.scale_noise(devices.load_device(name), noise_scale)
    n = state.n
    physical = module.place(device, n, ladder)  # the protocol with its options
    placed = circuit.transform_qubits(lambda q: physical[q])
    compiled = devices.compile_for_device(placed, device)
    label = f"device:{name}" + ("" if device.noise_scale == 1.0 else f"*{device.noise_scale:g}")
    return compiled, devices.device_noise_model(device), label, device


def _heartbeat(enabled: bool, label: str) -> contextlib.AbstractContextManager:
    """ "still running" lines on stderr while the block runs, if ``enabled``."""
    return still_running(label) if enabled else contextlib.nullcontext()


def _known_observables(observables, state) -> str:
    """``observables`` as comma-separated unsigned labels on the state's qubits."""
    from copylearn.pauli import parse_paulis

    qubits = list(getattr(state, "qubits", cirq.LineQubit.range(state.n)))
    paulis = parse_paulis(observables, state.n, qubits=qubits)
    return ",".join(label.lstrip("+-") for label in paulis.labels)


def collect(
    state: PauliMixedState | CircuitState | cirq.Circuit,
    protocol: str = "bell",
    copies: int = 1000,
    noise: str | cirq.NoiseModel | None = None,
    backend: str = "qsim",
    seed: int | np.random.SeedSequence | None = None,
    execution: str = "auto",
    device: str | None = None,
    calibration_copies: int = 0,
    noise_scale: float = 1.0,
    *,
    progress: bool = False,
    options: dict[str, Any] | None = None,
    stream: int = DEFAULT_STREAM,
    observables=None,
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
    backend : {"qsim", "exact", "stim", "auto"}
        qsimcirq (trajectories for noise), Cirq's density-matrix simulator, stim (Clifford
        circuits with Pauli noise, :mod:`copylearn.backends.stim`), or ``auto`` (stim when
        the circuit is Clifford with Pauli noise, else qsim; the choice is in ``execution``).
    seed : int or numpy.random.SeedSequence, optional
        Seed of the run; the same seed gives bit-identical data. ``None`` draws fresh entropy,
        recorded in the metadata so the run can be repeated.
    execution : {"auto", "blocks", "state", "circuit"}
        ``"auto"`` executes independent qubit blocks separately whenever the circuit factors
        (O(n) per shot), else simulates a fixed preparation once and measures every shot from
        that state when the circuit has that shape (``"state"``), and the whole register
        otherwise; ``"blocks"``, ``"state"`` and ``"circuit"`` force a path (see
        :mod:`copylearn.backends`). The path taken is recorded in the metadata.
    device : {"rainbow", "weber", "willow_pink"}, optional
        A simulated Google processor (needs ``pip install 'copylearn[devices]'``): the copies
        are placed on its qubits (Bell pairs on couplers, copy A a chain), the circuit is
        compiled to its native gates and its calibrated noise is attached. Exclusive with
        ``noise``. The device, calibration date and noise properties go into the metadata.
    calibration_copies : int
        If positive, also run the noisy protocol on known random eigenstates of X, Y and Z
        with this many copies per letter (:mod:`copylearn.calibration`) and keep the measured
        per-qubit damping in the metadata, so that ``Dataset.estimate(...,
        calibrated=True)`` can divide it out. 0 (default): no calibration. A Pauli state's
        calibration divides out preparation and measurement noise (target: the noiseless
        state); a circuit state's only storage and measurement-stage noise (target: the
        state as the noisy circuit prepares it); ``metadata["calibration"]["target"]`` says
        which. A circuit state on a device is refused; noise that is not a Pauli channel
        warns (:class:`copylearn.calibration.CalibrationWarning`).
    noise_scale : float
        With ``device``: multiply every calibrated error rate (gate, readout, coherent and
        thermal) by this factor, on the same qubits (1 = the calibration as loaded).
    progress : bool
        Write "copylearn: collect ...: still running, H:MM:SS elapsed" to stderr every 10 s
        (the first after 5 s) while simulating; it starts only after every input check, so a
        refused input prints nothing but its error. Default False (the CLI sets it).
    options : dict, optional
        The protocol's declared parameters (``copylearn list`` shows them), e.g.
        ``{"shots_per_unitary": 4}`` for ``clifford-shadow``; each is validated by its
        Parameter (one-line error naming the key). A protocol that declares parameters
        records all their values in ``metadata["protocol_options"]``.
    stream : {1, 2}
        The random-stream version (:mod:`copylearn.streams`, docs/theory.md §15), recorded in
        ``metadata["stream"]``: 2 (default) draws flips and bases from packed raw words and
        block outcomes from 32-bit integers; 1 reproduces data collected before stream
        versions existed (which record no stream).
    observables : str, cirq.PauliString or iterable of them, optional
        Observables known before any copy is measured, for a protocol that chooses its
        measurements from them (``derandomized-shadow``, docs/theory.md §17); the same as
        ``options={"observables": "XXI,ZZI"}``. Refused by a protocol without that option.

    Returns
    -------
    Dataset
    """
    state = _check_state(state)
    stream = check_stream(stream)
    if observables is not None:
        if options and "observables" in options:
            raise CopylearnError(
                "observables given twice (observables= or --observables, and the option "
                "observables): give them once."
            )
        options = {**(options or {}), "observables": _known_observables(observables, state)}
    module = get_protocol(protocol).with_options(options)
    _check_unknown(state, module)
    shots = _check_copies(copies, module.copies_per_shot, protocol)
    root = _check_seed(seed)
    calibration_shots = 0
    if calibration_copies:
        module.require_calibration("calibration_copies")
        calibration_shots = _check_copies(
            calibration_copies, module.copies_per_shot, protocol, "calibration_copies"
        )
        target = calibration.plan_target(state, noise, device)  # refuses or warns first
    check_collection(  # before any work: refuse what cannot fit in memory, with the estimate
        protocol,
        state.n,
        shots,
        copies_per_experiment=module.copies_per_shot,
        calibration_experiments=calibration_shots,
    )
    collector = prepare_collector(
        state,
        protocol,
        noise,
        backend,
        execution,
        device,
        noise_scale=noise_scale,
        options=options,
        stream=stream,
    )
    label = f"{module.copies_per_shot * shots} copies ({protocol}, {state.spec()})"
    with _heartbeat(progress, f"collect {label}"):
        arrays, path = collector.sample(state, shots, root)
    meta: dict[str, Any] = {
        "state": state.spec(),
        "protocol": protocol,
        "n": state.n,
        # The state's qubits in order (qubit i of labels and outcomes): cirq.PauliString
        # observables are mapped onto them by identity (Dataset.qubits).
        "qubits": cirq.to_json(
            list(getattr(state, "qubits", cirq.LineQubit.range(state.n))), indent=None
        ),
        "copies": shots * module.copies_per_shot,
        "experiments": shots,
        "noise": collector.noise_description,
        "backend": backend,
        "seed": root.entropy,
        "seed_spawn_key": list(root.spawn_key),
        "stream": stream,
        "execution": path,
        "versions": _versions(),
    }
    if module.parameters:
        meta["protocol_options"] = module.options()
    if collector.device is not None:
        from copylearn.devices import device_metadata

        meta["device"] = device_metadata(collector.device)
    if calibration_copies:
        if isinstance(state, CircuitState):
            # The eigenstates live in the Pauli circuit family: a second collector with the
            # same noise and measurement stage, its preparation executed noise-free, so that
            # only storage and measurement-stage noise is measured (target: as prepared).
            family = PauliMixedState("Z" * state.n)
            collector = prepare_collector(
                family,
                protocol,
                noise,
                backend,
                "auto" if execution == "state" else execution,  # the family's prep varies
                prep_noise=False,
                options=options,
                stream=stream,
            )
        with _heartbeat(progress, f"calibrate {calibration_copies} copies per letter for {label}"):
            cal = calibration.measure(
                collector, calibration_copies, substream(root, _CALIBRATION_STREAM), target
            )
        meta["calibration"] = cal.to_dict()
    if isinstance(state, PauliMixedState):
        meta["state_parameters"] = {"pauli": state.pauli, "alpha": state.alpha, "sign": state.sign}
    elif isinstance(state, PauliEigenstate):
        meta["state_parameters"] = {"pauli": state.pauli, "sign": state.sign}
    else:
        meta["state_circuit"] = cirq.to_json(state.circuit)
        if isinstance(state, Process):  # a unitary U the protocol queries: copies are queries
            meta["process"] = state.parameters
            meta["queries"] = meta["copies"]
    return Dataset(protocol=protocol, n=state.n, arrays=arrays, metadata=meta)
