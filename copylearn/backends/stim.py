"""stim backend: Clifford Cirq circuits with Pauli noise on stim's stabilizer simulator.

A Clifford circuit (H, S, CZ, CNOT, SWAP, the Paulis, X/Y/Z**(k/2), and any gate whose
unitary is Clifford) with Pauli noise channels (``cirq.depolarize``, ``cirq.bit_flip``,
``cirq.phase_flip``, ``cirq.asymmetric_depolarize``, two-qubit depolarizing) and resets and
measurements is translated operation by operation into a stim program (``stimcirq`` for
the translation of one operation, stim's own tableau synthesis for a Clifford gate that
stimcirq does not know) and executed on ``stim.TableauSimulator``: stabilizer-tableau
simulation (Aaronson and Gottesman, Phys. Rev. A 70, 052328 (2004); Gidney, Quantum 5, 497
(2021)), under which a Pauli channel is the mixture of its Paulis, so the outcome law is the
one Cirq's density matrix gives (tests/test_stim_backend.py compares the two). A gate
costs O(q) and a measurement O(q^2) bit operations on q qubits, so registers of thousands
of qubits run (the limit: :data:`MAX_QUBITS`).

Per-shot parameters (the protocols encode bases and flips as 0/1 exponents, ``H**h``,
``Z**(-s/2)``) are handled as in :mod:`copylearn.backends.grouped`: shots are grouped by
distinct setting, and each setting's stim program is the concatenation of the circuit's
fixed fragments (translated once per plan) and of each parameterised operation's fragment
at its resolved value (translated once per distinct value and cached across runs). A
setting with one shot runs on a fresh ``stim.TableauSimulator``; a setting with several
runs ``compile_sampler`` once and samples them together.

Seeding: each setting's stim seed is drawn, in the order of the settings' first shots, from a
generator seeded by the run's ``SeedSequence``, so the same seed gives bit-identical
outcomes on the same stim version and the same SIMD width of the machine (stim's own
seeding caveat); the stim version and its SIMD build are recorded in the metadata.

What is refused, with one line naming the first operation found (resolved at the offending
parameter values): a non-Clifford gate, a noise channel that is not a Pauli channel
(amplitude damping, a general Kraus channel), a measurement with a confusion map, a
channel that records a measurement key, a classically controlled operation.

``backend="auto"`` (:class:`StimPlan` with ``requested="auto"``) runs a circuit here when
every operation at every setting translates, and on qsim otherwise; the choice and its
reason are recorded in the metadata's ``execution``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import cirq
import numpy as np
import stim
import stimcirq

from copylearn.backends import Plan
from copylearn.backends.limits import STABILIZER_MAX_QUBITS
from copylearn.backends.limits import check_register as check_limits
from copylearn.errors import CopylearnError
from copylearn.seeding import substream

#: Largest register the stim backend runs (see :mod:`copylearn.backends.limits`).
MAX_QUBITS = STABILIZER_MAX_QUBITS
SIMULATOR = "stim TableauSimulator"
# Settings with at least this many shots are sampled by one compiled stim sampler.
_COMPILED_FROM_SHOTS = 2
# A resolved operation this close to the identity (cirq.trace_distance_bound) is dropped, as
# cirq.drop_negligible_operations does: stim consumes randomness only at measurements and
# noise, so the outcomes of a seed do not change.
_IDENTITY_ATOL = 1e-8


class NotStabilizer(Exception):
    """An operation the stabilizer simulator cannot run; the message says what it is."""


def stim_build() -> str:
    """The stim version and the SIMD build in use, e.g. ``"1.16.0 (_stim_sse2)"``."""
    return f"{stim.__version__} ({stim.TableauSimulator.__module__.rpartition('.')[2]})"


def _why_not(op: cirq.Operation) -> str:
    """What kind of operation ``op`` is, when stim cannot run it."""
    untagged = op.untagged
    if isinstance(untagged, cirq.ClassicallyControlledOperation):
        return "a classically controlled operation"
    if cirq.is_measurement(op):
        if not isinstance(op.gate, cirq.MeasurementGate):
            return "a channel that records a measurement key"
        return "a measurement with a confusion map (model readout error by cirq.bit_flip)"
    if cirq.has_unitary(op):
        return "not a Clifford gate"
    return "not a Pauli noise channel"


def _from_unitary(op: cirq.Operation, index: dict[cirq.Qid, int]) -> str:
    """stim text of a Clifford unitary that stimcirq does not translate (e.g. ``cirq.rz``)."""
    if not cirq.has_unitary(op) or len(op.qubits) > 6:
        raise NotStabilizer(_why_not(op))
    if not op.qubits:
        return ""  # a global phase
    try:
        tableau = stim.Tableau.from_unitary_matrix(cirq.unitary(op), endian="big")
    except ValueError:
        raise NotStabilizer(_why_not(op)) from None
    lines = []
    for instruction in tableau.to_circuit():
        targets = " ".join(str(index[op.qubits[t.value]]) for t in instruction.targets_copy())
        lines.append(f"{instruction.name} {targets}\n")
    return "".join(lines)


def _translate_direct(op: cirq.Operation, index: dict[cirq.Qid, int]) -> str:
    try:
        program = stimcirq.cirq_circuit_to_stim_circuit(cirq.Circuit(op), qubit_to_index_dict=index)
    except (TypeError, ValueError):
        return _from_unitary(op, index)
    return "".join(f"{line}\n" for line in str(program).splitlines() if line != "TICK")


# A gate's stim text on qubits 0..k-1, as (instruction, ((inverted, local qubit), ...)) lines:
# stimcirq takes milliseconds per call, and one gate recurs on many qubits and settings.
_GATE_TEMPLATES: dict[cirq.Gate, tuple[tuple[str, tuple[tuple[bool, int], ...]], ...]] = {}


def _template(gate: cirq.Gate, k: int):
    template = _GATE_TEMPLATES.get(gate)
    if template is None:
        local = cirq.LineQubit.range(k)
        text = _translate_direct(gate.on(*local), {q: i for i, q in enumerate(local)})
        lines = []
        for line in text.splitlines():
            name, *targets = line.split()
            if not all(t.lstrip("!").isdigit() for t in targets):
                return None  # a target stim writes otherwise (never for these gates)
            lines.append((name, tuple((t[0] == "!", int(t.lstrip("!"))) for t in targets)))
        template = _GATE_TEMPLATES[gate] = tuple(lines)
    return template


def translate(op: cirq.Operation, index: dict[cirq.Qid, int]) -> str:
    """stim program text (newline-terminated lines) of one resolved Cirq operation.

    Raises
    ------
    NotStabilizer
        If stim cannot run the operation; the message says what kind it is.
    """
    untagged = op.untagged
    if isinstance(untagged, cirq.ClassicallyControlledOperation):
        raise NotStabilizer(_why_not(op))
    if cirq.is_measurement(op):
        gate = op.gate
        if not isinstance(gate, cirq.MeasurementGate) or gate.confusion_map:
            raise NotStabilizer(_why_not(op))
    gate = untagged.gate
    if gate is None or not untagged.qubits:
        return _translate_direct(untagged, index)
    try:
        template = _template(gate, len(untagged.qubits))
    except (TypeError, ValueError):  # an unhashable gate, or one not on qubits
        template = None
    if template is None:
        return _translate_direct(untagged, index)
    qubits = [index[q] for q in untagged.qubits]
    return "".join(
        name + "".join(f" {'!' if inv else ''}{qubits[t]}" for inv, t in targets) + "\n"
        for name, targets in template
    )


def _describe(op: cirq.Operation, names: Sequence[str], values: Sequence[float]) -> str:
    where = ", ".join(f"{n}={v:g}" for n, v in zip(names, values, strict=True))
    return f"{op}" + (f" (at {where})" if where else "")


@dataclass
class _Segment:
    """Fixed program text, or one parameterised operation with its cache of fragments."""

    text: str = ""
    op: cirq.Operation | None = None
    names: tuple[str, ...] = ()
    columns: tuple[int, ...] = ()
    index: dict[cirq.Qid, int] = field(default_factory=dict)
    fragments: dict[tuple[float, ...], str] = field(default_factory=dict)


@dataclass
class Program:
    """A parameterised Cirq circuit as stim fragments; :meth:`texts` resolves settings.

    Attributes
    ----------
    qubits : int
        Register size; qubit k of the stim program is the k-th of the sorted Cirq qubits.
    keys : dict of str to (int, int)
        Measurement key to its (first, end) columns of the measurement record.
    segments : list
        Fixed text and parameterised operations, in circuit order.
    """

    qubits: int
    keys: dict[str, tuple[int, int]]
    segments: list[_Segment]

    def texts(self, settings: np.ndarray) -> list[str]:
        """The stim program text of every row of ``settings`` ``(k, parameters)``.

        Raises
        ------
        NotStabilizer
            The first parameterised operation (in circuit order) that some setting resolves
            to an operation stim cannot run, named with its parameter values.
        """
        k = len(settings)
        parts = np.empty((k, len(self.segments)), dtype=object)
        for j, segment in enumerate(self.segments):
            if segment.op is None:
                parts[:, j] = segment.text
                continue
            if len(segment.columns) == 1:  # 1-D unique: far faster than rows of a 2-D array
                distinct, inverse = np.unique(settings[:, segment.columns[0]], return_inverse=True)
                distinct = distinct[:, None]
            else:
                sub = settings[:, list(segment.columns)]
                distinct, inverse = np.unique(sub, axis=0, return_inverse=True)
            fragments = np.empty(len(distinct), dtype=object)
            for i, row in enumerate(distinct):
                key = tuple(float(v) for v in row)
                text = segment.fragments.get(key)
                if text is None:
                    text = segment.fragments[key] = _resolve(segment, key)
                fragments[i] = text
            parts[:, j] = fragments[inverse.reshape(-1)]
        return ["".join(row) for row in parts.tolist()]


def _resolve(segment: _Segment, values: tuple[float, ...]) -> str:
    assert segment.op is not None
    resolved = cirq.resolve_parameters(segment.op, dict(zip(segment.names, values, strict=True)))
    if not cirq.is_measurement(resolved) and cirq.trace_distance_bound(resolved) <= _IDENTITY_ATOL:
        return ""  # an exponent-0 gate (e.g. CNOT**0 of a Clifford template) is the identity
    try:
        return translate(resolved, segment.index)
    except NotStabilizer as exc:
        raise NotStabilizer(f"{_describe(resolved, segment.names, values)} is {exc}") from None


def compile_program(circuit: cirq.Circuit, parameter_names: Sequence[str]) -> Program:
    """Translate ``circuit``'s fixed operations now, its parameterised ones per value later.

    Raises
    ------
    NotStabilizer
        A fixed operation stim cannot run (the first in circuit order).
    CopylearnError
        A symbol with no column in ``parameter_names``, or a measurement key used twice.
    """
    nested = any(isinstance(op.untagged, cirq.CircuitOperation) for op in circuit.all_operations())
    flat = cirq.unroll_circuit_op(circuit, deep=True, tags_to_check=None) if nested else circuit
    order = sorted(flat.all_qubits())
    index = {q: i for i, q in enumerate(order)}
    column = {name: i for i, name in enumerate(parameter_names)}
    keys: dict[str, tuple[int, int]] = {}
    record = 0
    segments: list[_Segment] = []
    pending: list[str] = []
    for moment in flat:
        for op in moment:
            if cirq.is_measurement(op):
                key = cirq.measurement_key_name(op)
                if key in keys:
                    raise CopylearnError(
                        f"measurement key {key!r} is measured twice: give each measurement "
                        "its own key for backend='stim'."
                    )
                keys[key] = (record, record + len(op.qubits))
                record += len(op.qubits)
            names = tuple(sorted(cirq.parameter_names(op)))
            if not names:
                try:
                    pending.append(translate(op, index))
                except NotStabilizer as exc:
                    raise NotStabilizer(f"{op} is {exc}") from None
                continue
            missing = [n for n in names if n not in column]
            if missing:
                raise CopylearnError(
                    f"circuit symbol {missing[0]!r} of {op} has no parameter values: pass it in "
                    "parameter_names or resolve it before collecting."
                )
            if pending:
                segments.append(_Segment(text="".join(pending)))
                pending = []
            segments.append(
                _Segment(op=op, names=names, columns=tuple(column[n] for n in names), index=index)
            )
    if pending:
        segments.append(_Segment(text="".join(pending)))
    return Program(len(order), keys, segments)


def group_settings(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of ``values`` ``(shots, k)`` in order of first appearance, and each
    shot's row index into them (a hash of each row's bytes: far faster than sorting rows).
    """
    shots, k = values.shape
    if k == 0:
        return np.zeros((min(shots, 1), 0)), np.zeros(shots, dtype=np.int64)
    rows = np.ascontiguousarray(values, dtype=np.float64)
    first: dict[bytes, int] = {}
    inverse = np.fromiter(
        (first.setdefault(row.tobytes(), i) for i, row in enumerate(rows)), np.int64, shots
    )
    firsts, inverse = np.unique(inverse, return_inverse=True)
    return rows[firsts], inverse.reshape(-1)


def sample(
    program: Program, values: np.ndarray, rng: np.random.Generator
) -> tuple[dict[str, np.ndarray], int]:
    """Execute ``program`` for every row of ``values`` ``(shots, k)`` on stim.

    Returns the ``(shots, bits)`` uint8 outcomes per measurement key, rows in shot order,
    and the number of distinct settings executed.

    Raises
    ------
    NotStabilizer
        If a setting resolves to an operation stim cannot run.
    """
    shots = values.shape[0]
    settings, inverse = group_settings(values)
    texts = program.texts(settings)
    seeds = rng.integers(0, 2**63, size=len(settings), dtype=np.int64)
    order = np.argsort(inverse, kind="stable")
    counts = np.bincount(inverse, minlength=len(settings))
    width = max((end for _, end in program.keys.values()), default=0)
    bits = np.zeros((shots, width), dtype=np.uint8)
    start = 0
    for text, seed, count in zip(texts, seeds.tolist(), counts.tolist(), strict=True):
        rows = order[start : start + count]
        start += count
        if count == 0:
            continue
        circuit = stim.Circuit(text)
        if count < _COMPILED_FROM_SHOTS:
            simulator = stim.TableauSimulator(seed=seed)
            simulator.do_circuit(circuit)
            bits[rows] = simulator.current_measurement_record()
        else:
            bits[rows] = circuit.compile_sampler(seed=seed).sample(count)
    out = {key: bits[:, a:b] for key, (a, b) in program.keys.items()}
    return out, len(settings)


@dataclass
class StimPlan(Plan):
    """A :class:`~copylearn.backends.Plan` executed by stim (or, for ``auto``, by qsim).

    Attributes
    ----------
    requested : {"stim", "auto"}
        The backend asked for. ``auto`` falls back to qsim for a circuit stim cannot run.
    execution : str
        The execution mode asked for (the qsim fallback plans with it).
    program : Program or None
        The stim translation; ``None`` when a fixed operation rules stim out (``reason``).
    fallback : Plan or None
        The qsim plan of ``auto``, made on first use. The choice is made per run from that
        run's settings alone (never carried over from earlier runs of the plan), so data do
        not depend on the order in which a reused plan's runs happen.
    """

    requested: str = "stim"
    execution: str = "auto"
    program: Program | None = None
    fallback: Plan | None = None
    reason: str = ""

    def run(
        self, values: np.ndarray, seed: np.random.SeedSequence
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Execute the circuit for every row of ``values``; see :func:`copylearn.backends.execute`.

        Raises
        ------
        CopylearnError
            ``backend="stim"`` and a setting resolves to an operation stim cannot run.
        """
        if self.program is not None:
            try:
                outcomes, distinct = sample(
                    self.program, values, np.random.default_rng(substream(seed, 1))
                )
            except NotStabilizer as exc:
                if self.requested == "stim":
                    raise CopylearnError(_refusal(str(exc))) from None
                reason = str(exc)  # this run's settings only: the next run tries stim again
            else:
                info: dict[str, Any] = {
                    "path": "circuit",
                    "distinct_settings": distinct,
                    "simulator": SIMULATOR,
                    "stim": stim_build(),
                }
                if self.requested == "auto":
                    info["backend"] = "stim"
                return outcomes, info
        else:
            reason = self.reason
        if self.fallback is None:
            from copylearn.backends import plan

            self.fallback = plan(self.circuit, self.parameter_names, "qsim", self.execution)
        outcomes, info = self.fallback.run(values, seed)
        return outcomes, {**info, "backend": "qsim", "backend_reason": reason}


def _refusal(what: str) -> str:
    return (
        f"backend 'stim' runs Clifford circuits with Pauli noise only, and {what}: use "
        "backend='qsim', or backend='auto' (stim when a circuit is Clifford, qsim otherwise)."
    )


def check_register(qubits: int) -> None:
    """Refuse a register larger than :data:`MAX_QUBITS`, before anything is translated."""
    check_limits(qubits, "stim")


def plan_stim(
    circuit: cirq.Circuit, parameter_names: Sequence[str], backend: str, execution: str
) -> StimPlan:
    """Plan ``circuit`` for ``backend`` ``"stim"`` or ``"auto"``.

    ``stim`` always runs the whole register (stim gives samples, not the exact block
    distributions the block path needs, and a stabilizer register costs O(q^2) anyway);
    ``execution="blocks"`` is refused for it and makes ``auto`` choose qsim.

    Raises
    ------
    CopylearnError
        ``backend="stim"`` with a fixed operation stim cannot run, a register above
        :data:`MAX_QUBITS`, or ``execution="blocks"``.
    """
    names = tuple(parameter_names)
    stim_plan = StimPlan(circuit, names, "stim", None, requested=backend, execution=execution)
    qubits = len(circuit.all_qubits())
    if backend == "stim":
        if execution == "blocks":
            raise CopylearnError(
                "backend 'stim' runs the whole register (it gives samples, not the exact block "
                "distributions the block path needs): use execution='auto' or 'circuit'."
            )
        check_register(qubits)
    reason = ""
    if execution == "blocks":
        reason = "execution='blocks' needs exact block distributions, which stim does not give"
    elif qubits > MAX_QUBITS:
        reason = f"{qubits} qubits is above stim's limit of {MAX_QUBITS}"
    else:
        try:
            stim_plan.program = compile_program(circuit, names)
        except NotStabilizer as exc:
            if backend == "stim":
                raise CopylearnError(_refusal(str(exc))) from None
            reason = str(exc)
    if stim_plan.program is None:
        from copylearn.backends import plan

        stim_plan.reason = reason
        stim_plan.fallback = plan(circuit, names, "qsim", execution)  # refuses what cannot fit
    return stim_plan
