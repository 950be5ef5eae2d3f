"""Global measurement stages: simulate each preparation once, then apply every shot's own
multi-qubit measurement unitary to that simulated state (docs/theory.md §12.6).

A random-Clifford shadow of a state that is not a stabilizer state has this shape: a
preparation (the state's circuit, possibly with per-shot parameters such as noise flips)
followed by a *global measurement stage*: a per-shot parameterised unitary on many qubits
(the Clifford synthesis template, :func:`copylearn.clifford.template`), then terminal
measurements. The whole-circuit path executes each shot's circuit on qsim from scratch, so
every snapshot costs one simulator call of the whole circuit. This path instead

1. splits the circuit (:func:`plan_global_stage`): walking back from the measurements, an
   operation belongs to the stage if it has per-shot parameters, is unitary, and every later
   operation on its qubits is in the stage or a measurement. Everything else is the
   preparation, which may depend on other parameter columns (never on the stage's). Every
   preparation operation can be moved before every stage operation (any that acts later on
   a shared qubit would have been a stage operation), so the circuit equals "preparation,
   then stage" exactly;
2. executes the preparation once per distinct preparation setting: qsim's final state
   vector of the resolved preparation circuit (two independent parts, such as two copies,
   simulated apart and joined as on the state path, §12.5);
3. applies the stage to that state once per distinct stage setting: operation by operation,
   in circuit order, each resolved operation's ``cirq.unitary`` (a resolved gate whose
   unitary equals the identity to :data:`IDENTITY_ATOL`, such as ``H**0``, is skipped),
   in float64 real arithmetic;
4. draws each shot's outcome from the resulting amplitudes by inverse-CDF sampling with one
   uniform per shot: the outcome index is the number of cumulative probabilities (summed
   left to right, the last one the total) that are at most ``u * total``.

Every outcome therefore comes from states a simulator computed from the Cirq circuit and
from the unitaries Cirq gives for the circuit's own stage operations; nothing is drawn from
a closed form. Circuits of another shape (a noisy preparation or stage, a stage of
single-qubit operations only, which the state path handles, a mid-circuit measurement, a
register above :data:`MAX_QUBITS` qubits) are not planned here.

With numba installed (``copylearn[fast]``) steps 3 and 4 run in the compiled loop of
:mod:`copylearn.backends.global_stage_kernels`, which does the same floating-point
operations in the same order: outcomes are bit-identical with and without it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cirq
import numpy as np
import qsimcirq

from copylearn import compiled
from copylearn.backends.setting_codes import setting_index
from copylearn.backends.state_sampling import _simulate_factored, factored_front

#: Largest register: the path holds a chunk of full state vectors (2^q float64 pairs each).
MAX_QUBITS = 20
#: A resolved stage operation whose unitary is within this of the identity (entrywise) is
#: skipped: Cirq computes H**0 by an eigendecomposition with 1.7e-16 off-diagonal rounding.
IDENTITY_ATOL = 1e-12
#: Bytes of state vectors (real and imaginary float64 parts) one chunk of settings holds.
CHUNK_BYTES = 32 * 2**20
#: Bytes of prepared states a plan keeps across runs (one per preparation setting).
CACHE_BYTES = 256 * 2**20
#: Resolved stage unitaries a plan keeps across runs (a stage with continuous per-shot
#: parameters resolves each distinct value once per run and keeps at most this many).
CACHED_UNITARIES = 1 << 14
#: Work (stage operations times amplitudes) before the compiled kernels are loaded.
COMPILED_LOAD_AFTER = 1 << 22

# Operation kinds of the compiled table (``kind`` column): how a resolved unitary is applied.
IDENTITY, DENSE1, MONOMIAL1, DENSE2, MONOMIAL2 = 0, 1, 2, 3, 4


@dataclass(frozen=True)
class GlobalStage:
    """A circuit split into a preparation and a global per-shot measurement stage.

    Attributes
    ----------
    preparation : cirq.Circuit
        Every operation outside the stage, unitary; may depend on ``prep_columns``.
    prep_columns : tuple of int
        Parameter columns the preparation depends on.
    front : tuple of cirq.Operation or None
        When every parameterised preparation operation is a single-qubit operation acting
        before any other operation on its qubit: those leading single-qubit operations
        (their product state is computed from their Cirq unitaries), else None.
    rest : cirq.Circuit or None
        The parameter-free rest of the preparation (identity on every qubit appended), which
        qsim runs from the front's product state; None with ``front``.
    order : tuple of cirq.Qid
        Register order of the simulated state: measured qubits (sorted), then the others.
    operations : tuple of cirq.Operation
        The stage, in circuit order.
    axes : tuple of tuple of int
        For each stage operation, the positions of its qubits in ``order``.
    columns : tuple of tuple of int
        For each stage operation, the parameter columns it depends on.
    targets : tuple of (str, int, bool)
        For each measured qubit (in ``order``), its measurement key, bit position, and
        whether the measurement inverts the bit.
    """

    preparation: cirq.Circuit
    prep_columns: tuple[int, ...]
    front: tuple[cirq.Operation, ...] | None
    rest: cirq.Circuit | None
    order: tuple[cirq.Qid, ...]
    operations: tuple[cirq.Operation, ...]
    axes: tuple[tuple[int, ...], ...]
    columns: tuple[tuple[int, ...], ...]
    targets: tuple[tuple[str, int, bool], ...]

    @property
    def qubits(self) -> int:
        """Qubits of the simulated state."""
        return len(self.order)


def _is_unitary_family(op: cirq.Operation) -> bool:
    """Whether ``op`` is a unitary at (all its parameters set to) 0 and 1."""
    names = cirq.parameter_names(op)
    return all(
        cirq.has_unitary(cirq.resolve_parameters(op, dict.fromkeys(names, value)))
        for value in (0.0, 1.0)
    )


def plan_global_stage(
    circuit: cirq.Circuit, parameter_names: Sequence[str]
) -> tuple[GlobalStage | None, str | None]:
    """Split ``circuit`` into preparation and global measurement stage, or say why not.

    Parameters
    ----------
    circuit : cirq.Circuit
        A (noisy) parameterised circuit with terminal measurements.
    parameter_names : sequence of str
        Names of the per-shot parameter columns.

    Returns
    -------
    (GlobalStage or None, str or None)
        The split, or ``None`` and a short reason.
    """
    if not circuit.are_all_measurements_terminal():
        return None, "a mid-circuit measurement"
    index = {name: i for i, name in enumerate(parameter_names)}
    ops = list(circuit.all_operations())
    targets: dict[cirq.Qid, tuple[str, int, bool]] = {}
    for op in ops:
        untagged = op.untagged
        if isinstance(untagged, cirq.ClassicallyControlledOperation | cirq.CircuitOperation):
            return None, "a classically controlled or nested circuit operation"
        if cirq.is_measurement(op):
            gate = op.gate
            if not isinstance(gate, cirq.MeasurementGate) or gate.confusion_map:
                return None, "a measurement that is not a plain terminal Z measurement"
            invert = gate.full_invert_mask()
            for bit, q in enumerate(op.qubits):
                if q in targets:
                    return None, f"qubit {q} measured twice"
                targets[q] = (gate.key, bit, bool(invert[bit]))
    if not targets:
        return None, "no measurement"
    closed: set[cirq.Qid] = set()
    in_stage = [False] * len(ops)
    for position in reversed(range(len(ops))):
        op = ops[position]
        if cirq.is_measurement(op) or not op.qubits:
            continue
        if (
            cirq.is_parameterized(op)
            and not closed.intersection(op.qubits)
            and _is_unitary_family(op)
        ):
            in_stage[position] = True
        else:
            closed.update(op.qubits)
    stage_ops = [op for op, s in zip(ops, in_stage, strict=True) if s]
    if not any(len(op.qubits) > 1 for op in stage_ops):
        return None, "no multi-qubit operation with per-shot parameters before the measurements"
    if any(len(op.qubits) > 2 for op in stage_ops):
        return None, "a measurement-stage operation on three qubits or more"
    preparation = [
        op for op, s in zip(ops, in_stage, strict=True) if not s and not cirq.is_measurement(op)
    ]
    for op in preparation:
        names = cirq.parameter_names(op)
        if not cirq.has_unitary(cirq.resolve_parameters(op, dict.fromkeys(names, 0.0))):
            return None, f"a non-unitary preparation operation ({op})"
    prep_names = set().union(*(cirq.parameter_names(op) for op in preparation))
    stage_names = set().union(*(cirq.parameter_names(op) for op in stage_ops))
    if prep_names & stage_names:
        return None, "a parameter used by both the preparation and the measurement stage"
    if any(name not in index for name in prep_names | stage_names):
        return None, "a symbol that is not a parameter column"
    measured = sorted(targets)
    order = tuple(measured + sorted(q for q in circuit.all_qubits() if q not in targets))
    if len(order) > MAX_QUBITS:
        return None, f"a {len(order)}-qubit register (this path holds at most {MAX_QUBITS})"
    position_of = {q: i for i, q in enumerate(order)}
    front, rest = _front(preparation, order)
    stage = GlobalStage(
        preparation=cirq.Circuit(preparation),
        prep_columns=tuple(sorted(index[name] for name in prep_names)),
        front=front,
        rest=rest,
        order=order,
        operations=tuple(stage_ops),
        axes=tuple(tuple(position_of[q] for q in op.qubits) for op in stage_ops),
        columns=tuple(
            tuple(sorted(index[name] for name in cirq.parameter_names(op))) for op in stage_ops
        ),
        targets=tuple(targets[q] for q in measured),
    )
    return stage, None


# ----- preparation ---------------------------------------------------------------------------
def _front(
    preparation: Sequence[cirq.Operation], order: Sequence[cirq.Qid]
) -> tuple[tuple[cirq.Operation, ...] | None, cirq.Circuit | None]:
    """Leading single-qubit operations and the rest, when the rest has no parameters."""
    front: list[cirq.Operation] = []
    rest: list[cirq.Operation] = []
    touched: set[cirq.Qid] = set()
    for op in preparation:
        if len(op.qubits) == 1 and op.qubits[0] not in touched:
            front.append(op)
        else:
            touched.update(op.qubits)
            rest.append(op)
    if cirq.is_parameterized(cirq.Circuit(rest)):
        return None, None
    return tuple(front), cirq.Circuit(rest) + cirq.Circuit(cirq.I.on_each(*order))


def _front_state(stage: GlobalStage, resolver: cirq.ParamResolver) -> np.ndarray:
    """``(2^q,)`` complex64 product state of the resolved front from |0...0>: per qubit, the
    product of its operations' ``cirq.unitary`` applied to |0>, in circuit order."""
    vectors = {q: np.array([1.0, 0.0], dtype=np.complex128) for q in stage.order}
    for op in stage.front:
        (q,) = op.qubits
        vectors[q] = cirq.unitary(cirq.resolve_parameters(op, resolver)) @ vectors[q]
    state = np.ones(1, dtype=np.complex128)
    for q in stage.order:
        state = np.kron(state, vectors[q])
    return state.astype(np.complex64)


def _prepared(
    stage: GlobalStage, parameter_names: Sequence[str], setting: np.ndarray, cache: dict
) -> np.ndarray:
    """qsim's final state vector of the preparation at ``setting``, ``(2^q,)`` complex64."""
    key = ("prepared", tuple(float(v) for v in setting))
    state = cache.get(key)
    if state is not None:
        return state
    resolver = cirq.ParamResolver(
        {parameter_names[c]: float(v) for c, v in zip(stage.prep_columns, setting, strict=True)}
    )
    if stage.front is not None:
        # The rest is one circuit object: qsim translates it once and memoizes it.
        simulator = cache.setdefault(
            "simulator", qsimcirq.QSimSimulator(circuit_memoization_size=1)
        )
        state = simulator.simulate(
            stage.rest,
            qubit_order=list(stage.order),
            initial_state=_front_state(stage, resolver),
        ).final_state_vector
        return _remember(cache, key, np.asarray(state, dtype=np.complex64))
    preparation = cirq.resolve_parameters(stage.preparation, resolver)
    simulator = qsimcirq.QSimSimulator()
    split = factored_front(preparation, stage.order)
    if split is not None:
        state = _simulate_factored(split, stage.order, simulator)
    else:
        circuit = preparation + cirq.Circuit(cirq.I.on_each(*stage.order))
        state = simulator.simulate(circuit, qubit_order=list(stage.order)).final_state_vector
    return _remember(cache, key, np.asarray(state, dtype=np.complex64))


def _remember(cache: dict, key: tuple, state: np.ndarray) -> np.ndarray:
    """Keep ``state`` in ``cache`` while the prepared states stay within CACHE_BYTES."""
    used = cache.get("prepared_bytes", 0)
    if used + state.nbytes <= CACHE_BYTES:
        cache[key] = state
        cache["prepared_bytes"] = used + state.nbytes
    return state


# ----- the stage's operations as a table -----------------------------------------------------
def _kind_and_table(unitary: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """How ``unitary`` (2x2 or 4x4) is applied: kind, the ``(4, 4)`` complex128 matrix
    (padded) and the ``(4,)`` column of the nonzero entry of each row (monomial kinds)."""
    size = unitary.shape[0]
    padded = np.zeros((4, 4), dtype=np.complex128)
    padded[:size, :size] = unitary
    source = np.zeros(4, dtype=np.int64)
    if np.allclose(unitary, np.eye(size), rtol=0.0, atol=IDENTITY_ATOL):
        return IDENTITY, padded, source
    nonzero = unitary != 0
    if np.all(nonzero.sum(axis=1) == 1):
        source[:size] = np.argmax(nonzero, axis=1)
        return (MONOMIAL1 if size == 2 else MONOMIAL2), padded, source
    return (DENSE1 if size == 2 else DENSE2), padded, source


@dataclass
class _Table:
    """The resolved stage for one run: per operation and setting code, kind and matrix."""

    settings: list  # per operation, its distinct settings: (S_j,) or (S_j, k_j) sorted
    kinds: np.ndarray  # (ops, S) int64
    matrices: np.ndarray  # (ops, S, 4, 4, 2) float64: real and imaginary parts
    sources: np.ndarray  # (ops, S, 4) int64
    axes: np.ndarray  # (ops, 2) int64 positions in the register order (second -1 for 1q)

    def codes(self, stage: GlobalStage, rows: np.ndarray) -> np.ndarray:
        """``(R, ops)`` int64: each row's setting code of every operation (``rows`` are
        ``(R, k)`` values over all parameter columns)."""
        codes = np.empty((rows.shape[0], len(self.settings)), dtype=np.int64)
        for j in range(len(self.settings)):
            codes[:, j] = self._op_codes(stage, j, rows)
        return codes

    def _op_codes(self, stage: GlobalStage, j: int, rows: np.ndarray) -> np.ndarray:
        columns, settings = stage.columns[j], self.settings[j]
        if settings.ndim == 1:
            return np.searchsorted(settings, rows[:, columns[0]])
        lookup = {tuple(r): i for i, r in enumerate(settings.tolist())}
        return np.array([lookup[tuple(r)] for r in rows[:, list(columns)].tolist()])

    def distinct_rows(self, stage: GlobalStage, values: np.ndarray) -> np.ndarray:
        """``(shots,)`` int64 ids, equal for two shots iff every stage operation has the same
        setting: the operations' codes bit-packed into 64-bit words, then ``np.unique``."""
        shots = values.shape[0]
        words = [np.zeros(shots, dtype=np.uint64)]
        used = 0
        for j, settings in enumerate(self.settings):
            width = max(1, (len(settings) - 1).bit_length())
            if used + width > 64:
                words.append(np.zeros(shots, dtype=np.uint64))
                used = 0
            code = self._op_codes(stage, j, values).astype(np.uint64)
            words[-1] |= code << np.uint64(used)
            used += width
        packed = np.ascontiguousarray(np.stack(words, axis=1))
        keys = packed.view(np.dtype((np.void, 8 * packed.shape[1]))).reshape(-1)
        _, inverse = np.unique(keys, return_inverse=True)
        return inverse.reshape(-1).astype(np.int64)


def _resolve_table(
    stage: GlobalStage, parameter_names: Sequence[str], values: np.ndarray, cache: dict
) -> _Table:
    """Resolve every stage operation at each of its settings among the shots' ``values``
    (``(shots, k)``), once per distinct setting (resolved unitaries kept in ``cache``)."""
    n_ops = len(stage.operations)
    per_op = []
    all_settings = []
    for j, (op, columns) in enumerate(zip(stage.operations, stage.columns, strict=True)):
        if len(columns) == 1:
            settings = np.unique(values[:, columns[0]])
            listed = [(float(v),) for v in settings]
        else:
            settings = np.unique(values[:, list(columns)], axis=0)
            listed = [tuple(float(v) for v in row) for row in settings]
        all_settings.append(settings)
        entries = []
        for setting in listed:
            key = ("op", j, setting)
            entry = cache.get(key)
            if entry is None:
                resolver = {parameter_names[c]: v for c, v in zip(columns, setting, strict=True)}
                entry = _kind_and_table(cirq.unitary(cirq.resolve_parameters(op, resolver)))
                if cache.get("unitaries", 0) < CACHED_UNITARIES:
                    cache[key] = entry
                    cache["unitaries"] = cache.get("unitaries", 0) + 1
            entries.append(entry)
        per_op.append(entries)
    width = max(len(entries) for entries in per_op)
    kinds = np.zeros((n_ops, width), dtype=np.int64)
    matrices = np.zeros((n_ops, width, 4, 4, 2), dtype=np.float64)
    sources = np.zeros((n_ops, width, 4), dtype=np.int64)
    for j, entries in enumerate(per_op):
        for s, (kind, matrix, source) in enumerate(entries):
            kinds[j, s] = kind
            matrices[j, s, ..., 0] = matrix.real
            matrices[j, s, ..., 1] = matrix.imag
            sources[j, s] = source
    axes = np.full((n_ops, 2), -1, dtype=np.int64)
    for j, a in enumerate(stage.axes):
        axes[j, : len(a)] = a
    return _Table(all_settings, kinds, matrices, sources, axes)


def _offsets(axes: np.ndarray, q: int) -> tuple[np.ndarray, np.ndarray]:
    """Base indices (target bits clear) and the offsets of the 2 or 4 basis states.

    Qubit at position p of the register order is bit ``q - 1 - p`` of the index (Cirq's
    big-endian order); offset k of a two-qubit operation is ``b0 s0 + b1 s1`` with
    ``k = 2 b0 + b1`` (the operation's first qubit is the matrix's most significant).
    """
    strides = [1 << (q - 1 - int(p)) for p in axes if p >= 0]
    mask = sum(strides)
    base = np.flatnonzero((np.arange(1 << q) & mask) == 0)
    if len(strides) == 1:
        return base, np.array([0, strides[0]], dtype=np.int64)
    s0, s1 = strides
    return base, np.array([0, s1, s0, s0 + s1], dtype=np.int64)


def _apply_numpy(re: np.ndarray, im: np.ndarray, table: _Table, codes: np.ndarray, q: int) -> None:
    """Apply the stage to ``(R, 2^q)`` float64 parts in place, operation by operation.

    Each output amplitude is a left-to-right sum over the matrix row's terms
    ``(m_r a_r - m_i a_i) + i (m_r a_i + m_i a_r)`` (monomial rows: the one nonzero term),
    the arithmetic of the compiled kernel.
    """
    for j in range(table.kinds.shape[0]):
        base, offsets = _offsets(table.axes[j], q)
        size = len(offsets)
        for s in range(table.kinds.shape[1]):
            kind = table.kinds[j, s]
            if kind == IDENTITY:
                continue
            rows = np.flatnonzero(codes[:, j] == s)
            if not rows.size:
                continue
            idx = base[None, :] + offsets[:, None]  # (size, B)
            ar = re[rows[:, None, None], idx[None]]  # (rows, size, B)
            ai = im[rows[:, None, None], idx[None]]
            m = table.matrices[j, s]
            out_r = np.empty_like(ar)
            out_i = np.empty_like(ai)
            for k in range(size):
                terms = (
                    [int(table.sources[j, s, k])]
                    if kind in (MONOMIAL1, MONOMIAL2)
                    else list(range(size))
                )
                acc_r = acc_i = None
                for t in terms:
                    mr, mi = m[k, t, 0], m[k, t, 1]
                    tr = mr * ar[:, t] - mi * ai[:, t]
                    ti = mr * ai[:, t] + mi * ar[:, t]
                    acc_r = tr if acc_r is None else acc_r + tr
                    acc_i = ti if acc_i is None else acc_i + ti
                out_r[:, k] = acc_r
                out_i[:, k] = acc_i
            re[rows[:, None, None], idx[None]] = out_r
            im[rows[:, None, None], idx[None]] = out_i


def _sample_numpy(
    re: np.ndarray, im: np.ndarray, shot_rows: np.ndarray, u: np.ndarray
) -> np.ndarray:
    """Outcome index of each shot: #{j < 2^q - 1 : cdf_j <= u * total} of its row."""
    probabilities = re * re + im * im
    cdf = np.cumsum(probabilities, axis=1)
    out = np.empty(len(shot_rows), dtype=np.int64)
    step = max(1, (1 << 22) // max(1, re.shape[1]))
    for start in range(0, len(shot_rows), step):
        sl = slice(start, start + step)
        rows = cdf[shot_rows[sl]]
        scaled = u[sl] * rows[:, -1]
        out[sl] = (rows[:, :-1] <= scaled[:, None]).sum(axis=1)
    return out


def run_global_stage(
    stage: GlobalStage,
    parameter_names: Sequence[str],
    values: np.ndarray,
    rng: np.random.Generator,
    key_sizes: dict[str, int],
    *,
    cache: dict | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Draw every shot's outcomes: prepared once per preparation setting, the stage applied
    once per distinct (preparation, stage) setting (docs/theory.md §12.6).

    Parameters
    ----------
    stage : GlobalStage
        From :func:`plan_global_stage`.
    parameter_names : sequence of str
        Names of the columns of ``values``.
    values : np.ndarray
        ``(shots, k)`` per-shot parameter values.
    rng : np.random.Generator
        Draws one uniform per shot (in shot order, before anything else).
    key_sizes : dict
        Number of bits of each measurement key.
    cache : dict, optional
        Keeps prepared states (at most :data:`CACHE_BYTES`) and resolved stage unitaries
        across calls.

    Returns
    -------
    (dict, dict)
        Measurement key to ``(shots, bits)`` uint8 arrays in shot order, and the path's
        description for the metadata.
    """
    cache = {} if cache is None else cache
    shots = values.shape[0]
    q = stage.qubits
    dim = 1 << q
    out = {key: np.zeros((shots, size), dtype=np.uint8) for key, size in key_sizes.items()}
    u = rng.random(shots)
    index = np.zeros(shots, dtype=np.int64)
    prepared = executed = 0
    kernels = None
    if shots:
        table = _resolve_table(stage, parameter_names, values, cache)
        prep_settings, prep_of = setting_index(values[:, list(stage.prep_columns)])
        stage_row = table.distinct_rows(stage, values)
        # One row per distinct (preparation, stage) setting, preparation-major.
        combos, combo_of = np.unique(
            prep_of * (int(stage_row.max()) + 1) + stage_row, return_inverse=True
        )
        combo_of = combo_of.reshape(-1)
        first = np.empty(len(combos), dtype=np.int64)
        first[combo_of[::-1]] = np.arange(shots)[::-1]
        by_combo = np.argsort(combo_of, kind="stable")
        shot_bounds = np.searchsorted(combo_of[by_combo], np.arange(len(combos) + 1))
        group_bounds = np.searchsorted(prep_of[first], np.arange(len(prep_settings) + 1))
        chunk = max(1, CHUNK_BYTES // (16 * dim))
        all_codes = table.codes(stage, values[first])
        for g, prep_setting in enumerate(prep_settings):
            state = _prepared(stage, parameter_names, prep_setting, cache)
            prepared += 1
            for start in range(group_bounds[g], group_bounds[g + 1], chunk):
                stop = min(start + chunk, group_bounds[g + 1])
                codes = all_codes[start:stop]
                re = np.repeat(state.real.astype(np.float64)[None], stop - start, axis=0)
                im = np.repeat(state.imag.astype(np.float64)[None], stop - start, axis=0)
                picked = by_combo[shot_bounds[start] : shot_bounds[stop]]
                shot_rows = combo_of[picked] - start
                if kernels is None:
                    kernels = compiled.load(
                        compiled.GLOBAL_STAGE,
                        work=(stop - start) * len(stage.operations) * dim,
                        load_after=COMPILED_LOAD_AFTER,
                    )
                if kernels is not None:
                    index[picked] = kernels.apply_and_sample(
                        re, im, table.kinds, table.matrices, table.sources, table.axes,
                        codes, q, shot_rows, u[picked],
                    )  # fmt: skip
                else:
                    _apply_numpy(re, im, table, codes, q)
                    index[picked] = _sample_numpy(re, im, shot_rows, u[picked])
                executed += int(stop - start)
        for j, (key, position, invert) in enumerate(stage.targets):
            out[key][:, position] = ((index >> (q - 1 - j)) & 1).astype(np.uint8) ^ np.uint8(invert)
    info = {
        "path": "global-stage",
        "state_qubits": q,
        "state_simulator": "qsim state vector",
        "preparations_simulated": prepared,
        "stage_settings_applied": executed,
        "stage_operations": len(stage.operations),
    }
    return out, info
