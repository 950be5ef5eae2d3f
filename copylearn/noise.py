"""Noise models: gate-local depolarizing and amplitude damping, storage and readout error.

A spec string joins terms with ``+``: ``"depolarizing:0.01+amplitude_damping:0.02+readout:0.03"``.

* ``depolarizing:p``: after every gate, ``cirq.depolarize(p)`` on each qubit the gate acts on
  (X, Y, Z each with probability p/3, so the Pauli fidelity is f = 1 - 4p/3);
* ``amplitude_damping:g``: after every gate, ``cirq.amplitude_damp(g)`` on each qubit it acts on;
* ``readout:q``: a bit flip with probability q on every measured qubit just before its
  measurement (a channel, because qsim rejects confusion maps on measurements);
* ``state_depolarizing:p``: ``cirq.depolarize(p)`` once on every qubit of every copy, after
  the state is prepared and before the protocol's measurement stage: the stored copies
  decohere (the model of docs/theory.md §8.2; per-qubit Pauli fidelity f = 1 - 4p/3, so Bell
  sampling sees tr(Q rho)^2 damped by f^(2|Q|) and shadows see tr(Q rho) damped by f^|Q|).

Any ``cirq.NoiseModel`` may be passed instead of a spec. The same model acts on every
circuit a protocol executes, state preparation and measurement stage alike (one exception:
the calibration states of a circuit state are prepared noise-free, see
:mod:`copylearn.calibration`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cirq

from copylearn.errors import CopylearnError

NOISE_KINDS = ("depolarizing", "amplitude_damping", "readout", "state_depolarizing")


@dataclass(frozen=True)
class StateNoiseTag:
    """Marks the storage channels :func:`with_state_noise` inserts (no further gate noise)."""

    def __str__(self) -> str:
        return "state-noise"


STATE_NOISE_TAG = StateNoiseTag()


@dataclass(frozen=True)
class LocalNoise(cirq.NoiseModel):
    """Gate-local noise after every gate plus a bit flip before every measurement.

    Parameters
    ----------
    depolarizing : float
        Single-qubit depolarizing probability p after each gate, on each of its qubits.
    amplitude_damping : float
        Amplitude-damping probability after each gate, on each of its qubits.
    readout : float
        Bit-flip probability before each measurement.
    state_depolarizing : float
        Depolarizing probability on every qubit of every copy between state preparation and
        measurement stage (inserted by :func:`with_state_noise`, not by ``noisy_moment``).
    """

    depolarizing: float = 0.0
    amplitude_damping: float = 0.0
    readout: float = 0.0
    state_depolarizing: float = 0.0

    def __post_init__(self) -> None:
        for kind in NOISE_KINDS:
            value = getattr(self, kind)
            try:
                if isinstance(value, bool) or isinstance(value, str):
                    raise TypeError
                p = float(value)
            except (TypeError, ValueError):
                raise CopylearnError(
                    f"LocalNoise({kind}={value!r}): give a probability as a number in [0, 1]."
                ) from None
            if not 0.0 <= p <= 1.0:
                raise CopylearnError(
                    f"LocalNoise({kind}={value!r}): the probability is outside [0, 1]."
                )
            object.__setattr__(self, kind, p)

    def spec(self) -> str:
        """The canonical spec string, e.g. ``"depolarizing:0.01+readout:0.02"``."""
        terms = [f"{kind}:{getattr(self, kind):g}" for kind in NOISE_KINDS if getattr(self, kind)]
        return "+".join(terms) or "none"

    def noisy_moment(self, moment: cirq.Moment, system_qubits: Sequence[cirq.Qid]) -> cirq.OP_TREE:
        if any(STATE_NOISE_TAG in op.tags for op in moment):
            return moment
        measured = [q for op in moment if cirq.is_measurement(op) for q in op.qubits]
        gate_qubits = sorted(q for op in moment if not cirq.is_measurement(op) for q in op.qubits)
        before, after = [], []
        if measured and self.readout:
            before.append(cirq.Moment(cirq.bit_flip(self.readout).on(q) for q in measured))
        if gate_qubits and self.depolarizing:
            after.append(cirq.Moment(cirq.depolarize(self.depolarizing).on(q) for q in gate_qubits))
        if gate_qubits and self.amplitude_damping:
            after.append(
                cirq.Moment(cirq.amplitude_damp(self.amplitude_damping).on(q) for q in gate_qubits)
            )
        return [*before, moment, *after]


def parse_noise(spec: str | None) -> LocalNoise | None:
    """Parse a noise spec string; ``None``, ``""`` and ``"none"`` mean no noise.

    Raises
    ------
    CopylearnError
        Not a string, an unknown kind, a malformed term or a probability outside [0, 1].
    """
    if spec is None:
        return None
    if not isinstance(spec, str):
        raise CopylearnError(
            f"noise spec {spec!r} is a {type(spec).__name__}, not a string: write e.g. "
            "'depolarizing:0.01' (a cirq.NoiseModel goes to collect(noise=...) directly)."
        )
    text = spec.strip().lower()
    if text in ("", "none"):
        return None
    values: dict[str, float] = {}
    for term in text.split("+"):
        kind, sep, value = term.strip().partition(":")
        kind = kind.strip().replace("-", "_")
        if kind not in NOISE_KINDS:
            raise CopylearnError(
                f"unknown noise {kind!r} in {spec!r}: use terms KIND:P joined by '+', "
                f"KIND one of {', '.join(NOISE_KINDS)} (e.g. 'depolarizing:0.01+readout:0.02')."
            )
        if not sep:
            raise CopylearnError(
                f"noise term {term!r} has no probability: write it as {kind}:P, e.g. {kind}:0.01."
            )
        try:
            p = float(value)
        except ValueError:
            raise CopylearnError(
                f"noise term {term!r}: {value!r} is not a number; write e.g. {kind}:0.01."
            ) from None
        if not 0.0 <= p <= 1.0:
            raise CopylearnError(f"noise term {term!r}: probability {p} is outside [0, 1].")
        if kind in values:
            raise CopylearnError(f"noise {kind!r} appears twice in {spec!r}: give it once.")
        values[kind] = p
    model = LocalNoise(**values)
    return model if model.spec() != "none" else None


def with_state_noise(
    circuit: cirq.Circuit, prep_depth: int, model: cirq.NoiseModel | None
) -> cirq.Circuit:
    """Insert ``model``'s storage noise after the first ``prep_depth`` moments of ``circuit``.

    Only a :class:`LocalNoise` with ``state_depolarizing > 0`` has storage noise: one moment
    of ``cirq.depolarize(p)`` on every qubit of the circuit, tagged :data:`STATE_NOISE_TAG`.
    Any other model leaves the circuit as it is.
    """
    if not isinstance(model, LocalNoise) or not model.state_depolarizing:
        return circuit
    channel = cirq.depolarize(model.state_depolarizing)
    storage = cirq.Moment(
        channel.on(q).with_tags(STATE_NOISE_TAG) for q in sorted(circuit.all_qubits())
    )
    return cirq.Circuit([*circuit[:prep_depth], storage, *circuit[prep_depth:]])


def resolve_noise(noise: str | cirq.NoiseModel | None) -> tuple[cirq.NoiseModel | None, str]:
    """Turn the ``noise`` argument of :func:`copylearn.collect` into a model and a description."""
    if noise is None:
        return None, "none"
    if isinstance(noise, str):
        model = parse_noise(noise)
        return model, (model.spec() if model is not None else "none")
    if isinstance(noise, LocalNoise):
        return noise, noise.spec()
    if isinstance(noise, cirq.NoiseModel):
        try:
            description = cirq.to_json(noise)
        except (TypeError, ValueError):
            description = repr(noise)
        return noise, description
    raise CopylearnError(
        f"noise={noise!r} is not understood: pass None, a spec such as "
        "'depolarizing:0.01+readout:0.02', or a cirq.NoiseModel."
    )
