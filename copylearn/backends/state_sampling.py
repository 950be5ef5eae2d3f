"""State execution: simulate a fixed preparation once, then measure every shot from that state.

A circuit that does not factor into small blocks often still has this shape: a preparation
with no per-shot parameters (gates and noise channels on any qubits), then on each measured
qubit a *measurement stage* of single-qubit operations only (per-shot basis rotations,
single-qubit noise, readout flips) and a terminal measurement. The stage of qubit q is every
operation after the last multi-qubit operation on q; since it acts on q alone it commutes with
everything the other qubits do later, so the circuit equals "preparation, then the stages".

The planner (:func:`plan_state`) reads that split from the circuit's structure. The runner
(:func:`run_state`)

1. executes the preparation once: qsim's final state vector (noiseless; independent parts
   such as two copies of a state simulated apart and joined, §12.5), or Cirq's
   density-matrix simulator at small n (noisy preparation), whose exact rho is written as the
   ensemble of its eigenvectors (a shot draws eigenvector i with probability lambda_i);
2. turns each measured qubit's stage, resolved at each distinct per-shot setting, into the
   two-outcome measurement it performs on the prepared state: E_b = Phi^dagger(|b><b|) by the
   Heisenberg picture of the stage's Cirq operations (``cirq.kraus``, which is
   ``cirq.unitary`` for a gate), exactly, noise and readout flips included;
3. samples every shot qubit by qubit with collapse (docs/theory.md §12): at qubit k the
   outcome is drawn from the branch's 2x2 reduced state and the branch continues with the
   collapsed state of the remaining qubits. Shots with the same history of (setting,
   outcome) share one branch, so at depth k there are at most min(6^k, shots) branches of
   2^(n-k) amplitudes; branches are expanded depth-first in groups whose amplitudes fit
   :data:`BRANCH_BYTES`, so memory does not grow with the number of shots.

Every outcome therefore comes from the state a simulator computed from the Cirq circuit and
the stage operations of that circuit; nothing is drawn from a closed form. Circuits of
another shape (a parameterised preparation, a multi-qubit operation after a per-shot
rotation, correlated readout, mid-circuit measurements, a noisy preparation above
:data:`DENSITY_MATRIX_QUBITS` qubits) are left to the whole-circuit path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cirq
import numpy as np
import qsimcirq

from copylearn import compiled
from copylearn.backends.setting_codes import distinct, setting_index
from copylearn.errors import CopylearnError

#: A noisy preparation is executed as an exact density matrix (4^n complex128 entries plus an
#: eigendecomposition) up to this many qubits; above it, the whole-circuit path runs it.
DENSITY_MATRIX_QUBITS = 10
#: Amplitudes of the branches one expansion step materialises (bytes, complex64).
BRANCH_BYTES = 64 * 2**20
#: Bytes per amplitude of the branch states (complex64, as qsim returns the state).
AMPLITUDE_BYTES = 8
# Below this many qubits, extra qsim threads cost more than they save.
_THREADS_FROM_QUBITS = 18


@dataclass(frozen=True)
class Stage:
    """A circuit split into a parameter-free preparation and per-qubit measurement stages.

    Attributes
    ----------
    preparation : cirq.Circuit
        Every operation outside the stages (no parameters, no measurements).
    order : tuple of cirq.Qid
        The register order of the simulated state: the measured qubits (in the order they
        are sampled) then the unmeasured ones (traced out).
    stages : tuple of tuple of cirq.Operation
        For each measured qubit, its single-qubit operations after the last multi-qubit
        operation on it, in circuit order.
    columns : tuple of tuple of int
        For each measured qubit, the parameter columns its stage depends on.
    targets : tuple of (str, int, bool)
        For each measured qubit, the measurement key, bit position, and whether the
        measurement inverts the bit.
    noisy : bool
        Whether the preparation holds non-unitary operations (noise channels).
    """

    preparation: cirq.Circuit
    order: tuple[cirq.Qid, ...]
    stages: tuple[tuple[cirq.Operation, ...], ...]
    columns: tuple[tuple[int, ...], ...]
    targets: tuple[tuple[str, int, bool], ...]
    noisy: bool

    @property
    def qubits(self) -> int:
        """Qubits of the simulated preparation."""
        return len(self.order)


def plan_state(
    circuit: cirq.Circuit, parameter_names: Sequence[str]
) -> tuple[Stage | None, str | None]:
    """Split ``circuit`` into preparation and measurement stages, or say why it cannot be.

    Parameters
    ----------
    circuit : cirq.Circuit
        A (noisy) circuit with terminal measurements.
    parameter_names : sequence of str
        Names of the per-shot parameter columns.

    Returns
    -------
    (Stage or None, str or None)
        The split, or ``None`` and a short reason (for the refusal of ``execution="state"``).
    """
    if not circuit.are_all_measurements_terminal():
        return None, "a mid-circuit measurement"
    index = {name: i for i, name in enumerate(parameter_names)}
    ops = list(circuit.all_operations())
    targets: dict[cirq.Qid, tuple[str, int, bool]] = {}
    last_joint: dict[cirq.Qid, int] = {}
    for position, op in enumerate(ops):
        untagged = op.untagged
        if isinstance(untagged, cirq.ClassicallyControlledOperation | cirq.CircuitOperation):
            return None, "a classically controlled or nested circuit operation"
        if cirq.is_measurement(op):
            gate = op.gate
            if not isinstance(gate, cirq.MeasurementGate):
                return None, "a channel that records a measurement key"
            if gate.confusion_map:
                return None, "a measurement with a confusion map (correlated readout)"
            invert = gate.full_invert_mask()
            for bit, q in enumerate(op.qubits):
                if q in targets:
                    return None, f"qubit {q} measured twice"
                targets[q] = (gate.key, bit, bool(invert[bit]))
            continue
        if len(op.qubits) > 1:
            for q in op.qubits:
                last_joint[q] = position
    if not targets:
        return None, "no measurement"
    stage_ops: dict[cirq.Qid, list[cirq.Operation]] = {q: [] for q in targets}
    preparation: list[cirq.Operation] = []
    for position, op in enumerate(ops):
        if cirq.is_measurement(op) or not op.qubits:
            continue
        (q,) = op.qubits if len(op.qubits) == 1 else (None,)
        if q is not None and q in targets and position > last_joint.get(q, -1):
            stage_ops[q].append(op)
        else:
            preparation.append(op)
    prep = cirq.Circuit(preparation)
    if cirq.is_parameterized(prep):
        return None, "a preparation with per-shot parameters"
    measured = sorted(targets)
    others = sorted(q for q in circuit.all_qubits() if q not in targets)
    columns = []
    for q in measured:
        names = set().union(*(cirq.parameter_names(op) for op in stage_ops[q]))
        if any(name not in index for name in names):
            return None, "a measurement-stage symbol that is not a parameter column"
        columns.append(tuple(sorted(index[name] for name in names)))
    for q in measured:
        for op in stage_ops[q]:
            if not cirq.is_parameterized(op) and not cirq.has_kraus(op):
                return None, f"a measurement-stage operation without Kraus operators ({op})"
    noisy = not all(cirq.has_unitary(op) for op in preparation)
    stage = Stage(
        preparation=prep,
        order=tuple(measured + others),
        stages=tuple(tuple(stage_ops[q]) for q in measured),
        columns=tuple(columns),
        targets=tuple(targets[q] for q in measured),
        noisy=noisy,
    )
    if noisy and stage.qubits > DENSITY_MATRIX_QUBITS:
        return None, (
            f"a noisy preparation on {stage.qubits} qubits (the state path holds a noisy "
            f"preparation as a density matrix of at most {DENSITY_MATRIX_QUBITS} qubits)"
        )
    return stage, None


def measurement_rows(ops: Sequence[cirq.Operation]) -> tuple[np.ndarray, np.ndarray]:
    """Rank-one rows of the two-outcome measurement that resolved stage ``ops`` perform.

    The stage maps the qubit's state through its channels (Kraus operators K) and then
    measures Z, so outcome b has the effect E_b = sum_K K^dagger E K applied backwards from
    |b><b| (the Heisenberg picture). Each E_b is written as sum_l r_l^dagger r_l with rows
    r_l = sqrt(mu_l) <v_l| from its eigendecomposition (one row for a unitary stage); applying
    a row to the qubit's axis of a state gives the unnormalised collapsed state of the rest,
    whose squared norm is that branch's probability (docs/theory.md §12.1).

    Returns
    -------
    (np.ndarray, np.ndarray)
        ``(L, 2)`` complex128 rows and ``(L,)`` uint8 outcome bits (L = 2 for a unitary
        stage, 4 otherwise; zero rows are allowed and never drawn).

    Raises
    ------
    CopylearnError
        An operation of the stage has no Kraus operators at this setting.
    """
    unitary = np.eye(2, dtype=np.complex128)
    if all(cirq.has_unitary(op) for op in ops):
        for op in ops:
            unitary = cirq.unitary(op) @ unitary
        return unitary.copy(), np.array([0, 1], dtype=np.uint8)
    effects = [np.diag([1.0, 0.0]).astype(np.complex128), np.diag([0.0, 1.0]).astype(complex)]
    for op in reversed(ops):
        if not cirq.has_kraus(op):
            raise CopylearnError(f"the measurement-stage operation {op} has no Kraus operators.")
        kraus = cirq.kraus(op)
        effects = [sum(k.conj().T @ e @ k for k in kraus) for e in effects]
    rows = []
    bits = []
    for b, effect in enumerate(effects):
        mu, vectors = np.linalg.eigh((effect + effect.conj().T) / 2)
        for value, vector in zip(mu, vectors.T, strict=True):
            rows.append(np.sqrt(max(float(value), 0.0)) * vector.conj())
            bits.append(b)
    return np.array(rows), np.array(bits, dtype=np.uint8)


def _settings(values: np.ndarray, stage: Stage, parameter_names: Sequence[str]):
    """Per measured qubit: each shot's setting code, the rows table and the bits table."""
    shots = values.shape[0]
    codes, rows, bits = [], [], []
    for ops, columns in zip(stage.stages, stage.columns, strict=True):
        if columns:
            settings, inverse = setting_index(values[:, list(columns)])
        else:
            settings, inverse = np.zeros((1, 0)), np.zeros(shots, dtype=np.int64)
        table = []
        for setting in settings:
            resolver = cirq.ParamResolver(
                {parameter_names[c]: float(v) for c, v in zip(columns, setting, strict=True)}
            )
            table.append(measurement_rows([cirq.resolve_parameters(op, resolver) for op in ops]))
        width = max(len(r) for r, _ in table)
        r = np.zeros((len(table), width, 2), dtype=np.complex128)
        b = np.zeros((len(table), width), dtype=np.uint8)
        for i, (rows_i, bits_i) in enumerate(table):
            r[i, : len(rows_i)] = rows_i
            b[i, : len(bits_i)] = bits_i
        codes.append(inverse.astype(np.int64))
        rows.append(r)
        bits.append(b)
    return codes, rows, bits


def prepared_ensemble(stage: Stage, backend: str) -> tuple[np.ndarray, np.ndarray]:
    """Execute the preparation once: ``(K, 2^q)`` pure states and their ``(K,)`` weights.

    Noiseless on qsim: qsim's final state vector (threads from 18 qubits), K = 1; a
    preparation that starts with independent parts (two copies of a state) is simulated part
    by part and joined (:func:`factored_front`, docs/theory.md §12.5). A noisy
    preparation, or the exact backend: Cirq's density-matrix simulator (complex128), whose
    rho is returned as its eigenvectors with positive eigenvalues (the weights): an exact
    ensemble for rho.
    """
    import os

    circuit = stage.preparation + cirq.Circuit(cirq.I.on_each(*stage.order))
    if backend == "qsim" and not stage.noisy:
        threads = (os.cpu_count() or 1) if stage.qubits >= _THREADS_FROM_QUBITS else 1
        simulator = qsimcirq.QSimSimulator(qsimcirq.QSimOptions(cpu_threads=threads))
        split = factored_front(stage.preparation, stage.order)
        if split is not None:
            state = _simulate_factored(split, stage.order, simulator)
        else:
            state = simulator.simulate(circuit, qubit_order=list(stage.order)).final_state_vector
        # No normalising copy: every collapse divides by the branch's own norm (§12.2).
        return np.asarray(state, dtype=np.complex64).reshape(1, -1), np.ones(1)
    simulator = cirq.DensityMatrixSimulator(dtype=np.complex128)
    rho = simulator.simulate(circuit, qubit_order=list(stage.order)).final_density_matrix
    weights, vectors = np.linalg.eigh((rho + rho.conj().T) / 2)
    keep = weights > 1e-12
    weights = weights[keep] / weights[keep].sum()
    return np.ascontiguousarray(vectors[:, keep].T).astype(np.complex64), weights


def factored_front(
    preparation: cirq.Circuit, order: Sequence[cirq.Qid]
) -> tuple[list[list[cirq.Operation]], list[tuple[cirq.Qid, ...]], cirq.Circuit] | None:
    """Split a preparation into independent qubit groups followed by the joining rest.

    The front is the longest prefix of the preparation's operations (in circuit order) in
    which no group of qubits joined by multi-qubit operations exceeds half of ``order``; the
    rest is every later operation. Two copies of an entangled state followed by a Bell
    measurement split into one group per copy, the rest being the measurement's CNOTs.

    Returns
    -------
    (list of list of cirq.Operation, list of tuple of cirq.Qid, cirq.Circuit) or None
        The front's operations and qubits per group (qubits in the order of ``order``) and
        the rest; ``None`` unless two groups or more hold two qubits or more and the front
        holds at least half of the operations (only then does simulating the groups apart
        pay; any other preparation keeps the one-call path and its exact bits).
    """
    ops = list(preparation.all_operations())
    parent = {q: q for q in order}
    size = dict.fromkeys(order, 1)

    def find(q):
        while parent[q] is not q:
            parent[q] = parent[parent[q]]
            q = parent[q]
        return q

    limit = len(order) // 2
    stop = len(ops)
    for position, op in enumerate(ops):
        roots = {find(q) for q in op.qubits}
        if sum(size[r] for r in roots) > limit:
            stop = position
            break
        first, *others = roots
        for r in others:
            parent[r] = first
            size[first] += size[r]
    groups: dict[cirq.Qid, list[cirq.Qid]] = {}
    for q in order:
        groups.setdefault(find(q), []).append(q)
    if sum(len(g) >= 2 for g in groups.values()) < 2 or 2 * stop < len(ops):
        return None
    members = {root: [] for root in groups}
    for op in ops[:stop]:
        members[find(op.qubits[0])].append(op)
    return (
        [members[root] for root in groups],
        [tuple(g) for g in groups.values()],
        cirq.Circuit(ops[stop:]),
    )


def _simulate_factored(split, order: Sequence[cirq.Qid], simulator) -> np.ndarray:
    """qsim's state of each front group, their tensor product, then the rest on qsim.

    The preparation is the front (the groups act on disjoint qubits, so its state is the
    product of the groups' states) followed by the rest, executed by qsim from that product
    as its initial state: the same state as one qsim call on the whole preparation, up to
    float32 rounding, at the cost of the groups plus the rest instead of the whole circuit.
    """
    front, groups, rest = split
    state = np.ones(1, dtype=np.complex64)
    for ops, qubits in zip(front, groups, strict=True):
        part = cirq.Circuit(ops) + cirq.Circuit(cirq.I.on_each(*qubits))
        vector = simulator.simulate(part, qubit_order=list(qubits)).final_state_vector
        state = np.multiply.outer(state, np.asarray(vector, dtype=np.complex64)).reshape(-1)
    concatenated = [q for qubits in groups for q in qubits]
    position = {q: i for i, q in enumerate(concatenated)}
    tensor = state.reshape((2,) * len(order)).transpose([position[q] for q in order])
    state = np.ascontiguousarray(tensor).reshape(-1)
    if not len(rest):
        return state
    circuit = rest + cirq.Circuit(cirq.I.on_each(*order))
    return simulator.simulate(
        circuit, qubit_order=list(order), initial_state=state
    ).final_state_vector


def _reduced(view: np.ndarray) -> np.ndarray:
    """``(B, 2, 2)`` reduced density matrices of the leading qubit of ``(B, 2, R)`` branches.

    Accumulated in float64 from the complex64 amplitudes, so the probabilities keep double
    precision, with no full-size copy: per chunk of ``CHUNK`` amplitudes a left-to-right sum
    (the compiled kernel where :mod:`copylearn.compiled` allows it, else :func:`_chunk_sums`,
    the same operations in the same order), then the chunks added in order. Both paths give
    the same bits, so the draws do not depend on numba (docs/theory.md §12.2).
    """
    view = np.ascontiguousarray(view, dtype=np.complex64)
    kernels = compiled.load(compiled.COLLAPSE)
    if kernels is not None:
        partial = kernels.chunk_sums(view, CHUNK)
    else:
        partial = _chunk_sums(view)
    sums = np.cumsum(partial, axis=1)[:, -1]  # the chunks in order (R >= 1: one at least)
    out = np.empty((view.shape[0], 2, 2), dtype=np.complex128)
    out[:, 0, 0] = sums[:, 0]
    out[:, 1, 1] = sums[:, 1]
    out[:, 0, 1] = sums[:, 2] + 1j * sums[:, 3]
    out[:, 1, 0] = sums[:, 2] - 1j * sums[:, 3]
    return out


#: Amplitudes per partial sum of :func:`_reduced` (both paths, and the kernel's argument).
CHUNK = 1 << 14
# Amplitudes per NumPy step of :func:`_chunk_sums` (bounds its float64 temporaries).
_STEP_AMPLITUDES = 1 << 18
# Chunks up to this long are summed position by position across branches (fewer NumPy calls).
_LANE_WIDTH = 256


def _chunk_sums(view: np.ndarray) -> np.ndarray:
    """NumPy twin of ``collapse_kernels.chunk_sums``: ``(B, n_chunks, 4)`` float64 sums.

    For each branch and chunk: ``sum |x|^2``, ``sum |y|^2``, ``sum Re x conj(y)``, ``sum Im x
    conj(y)`` over ``x = view[b, 0, r]``, ``y = view[b, 1, r]``, every term ``p*q + s*t`` (or
    ``p*q - s*t``) in float64, summed left to right from 0.0 as the kernel does: along the
    chunk by ``numpy.add.accumulate`` (a sequential recurrence; ``+ 0.0`` turns a -0.0 into the
    kernel's +0.0), or, for short chunks, position by position across many branches at once.
    """
    n_branches, _, rest = view.shape
    n_chunks = -(-rest // CHUNK)
    partial = np.zeros((n_branches, n_chunks, 4), dtype=np.float64)
    width = min(rest, CHUNK)
    group = max(1, _STEP_AMPLITUDES // max(1, width))
    for c in range(n_chunks):
        start = c * CHUNK
        stop = min(start + CHUNK, rest)
        for first in range(0, n_branches, group):
            f = view[first : first + group, :, start:stop].view(np.float32).astype(np.float64)
            xr, xi, yr, yi = f[:, 0, 0::2], f[:, 0, 1::2], f[:, 1, 0::2], f[:, 1, 1::2]
            terms = [xr * xr, yr * yr, xr * yr, xi * yr]
            terms[0] += xi * xi
            terms[1] += yi * yi
            terms[2] += xi * yi
            terms[3] -= xr * yi
            out = partial[first : first + group, c]  # zeros
            for k, term in enumerate(terms):
                if width <= _LANE_WIDTH:  # short chunks: vectorised across branches
                    for r in range(term.shape[1]):
                        out[:, k] += term[:, r]
                else:
                    out[:, k] = np.add.accumulate(term, axis=1, out=term)[:, -1] + 0.0
    return partial


def _expand(
    view: np.ndarray, source: np.ndarray, rows: np.ndarray, probability: np.ndarray
) -> np.ndarray:
    """``(C, R)`` collapsed children: ``rows[c]`` applied to branch ``source[c]``, normalised.

    ``view`` is ``(B, 2, R)`` complex64; ``rows`` ``(C, 2)``; ``probability`` ``(C,)`` the
    squared norm of each unnormalised child. Child c is ``a x + b y`` with ``(a, b)`` the
    complex64 row over the norm and ``x, y = view[source[c]]``, in float32 real arithmetic
    with every product and sum rounded on its own, in the order of
    ``collapse_kernels.collapse`` (the compiled twin), so both give the same bits.
    """
    coeff = (rows / np.sqrt(probability)[:, None]).astype(np.complex64)
    view = np.ascontiguousarray(view, dtype=np.complex64)
    out = np.empty((len(source), view.shape[2]), dtype=np.complex64)
    kernels = compiled.load(compiled.COLLAPSE)
    if kernels is not None:
        floats = np.ascontiguousarray(coeff).view(np.float32)  # (C, 4): ar, ai, br, bi
        kernels.collapse(
            view.view(np.float32), source.astype(np.int64), floats, out.view(np.float32)
        )
        return out
    parts = [np.ascontiguousarray(coeff[:, k]) for k in (0, 1)]
    ar, ai, br, bi = (p[:, None] for q in parts for p in (q.real, q.imag))  # (C, 1) float32
    if len(source) <= 4:  # large children: one at a time, no gathered copy of the parents
        for c, s in enumerate(source):
            _combine(ar[c], ai[c], br[c], bi[c], view[s, 0], view[s, 1], out[c])
        return out
    _combine(ar, ai, br, bi, view[source, 0], view[source, 1], out)
    return out


def _combine(ar, ai, br, bi, x: np.ndarray, y: np.ndarray, out: np.ndarray) -> None:
    """``out = a x + b y`` in float32 as ``(ar xr - ai xi) + (br yr - bi yi)`` and
    ``(ai xr + ar xi) + (bi yr + br yi)``, each product and sum rounded on its own."""
    xr, xi, yr, yi = x.real, x.imag, y.real, y.imag
    part = np.empty(np.broadcast_shapes(np.shape(ar), x.shape), dtype=np.float32)
    real = np.multiply(ar, xr, out=out.real)
    real -= np.multiply(ai, xi, out=part)
    other = br * yr
    other -= np.multiply(bi, yi, out=part)
    real += other
    imag = np.multiply(ai, xr, out=out.imag)
    imag += np.multiply(ar, xi, out=part)
    other = np.multiply(bi, yr, out=other)
    other += np.multiply(br, yi, out=part)
    imag += other


def _descend(
    states: np.ndarray,
    branch: np.ndarray,
    shots: np.ndarray,
    level: int,
    tables,
    u: np.ndarray,
    out_bits: np.ndarray,
    counter: list[int],
) -> None:
    """Sample measured qubits ``level..`` for ``shots``, whose branch is ``states[branch]``.

    ``states`` is ``(B, 2^m)`` with the qubit of ``level`` on the leading axis. Writes each
    shot's bit to ``out_bits[shots, level:]``; ``counter`` counts the branches expanded.
    """
    codes, rows, bits = tables
    measured = out_bits.shape[1]
    while True:
        n_branches, size = states.shape
        half = size // 2
        view = states.reshape(n_branches, 2, half)
        r, bit_table = rows[level], bits[level]
        n_settings, width = bit_table.shape
        # Distinct (branch, setting) pairs among these shots.
        pair = branch * n_settings + codes[level][shots]
        pairs, inverse = distinct(pair, n_branches * n_settings)
        pair_branch, pair_setting = np.divmod(pairs, n_settings)
        # 2x2 reduced state of the qubit in each used branch, then each row's probability.
        rho = _reduced(view)[pair_branch]  # (P, 2, 2); every branch holds shots
        pr = r[pair_setting]  # (P, width, 2)
        prob = np.einsum("pli,pij,plj->pl", pr, rho, pr.conj()).real
        prob = np.clip(prob, 0.0, None)
        cdf = np.cumsum(prob, axis=1)
        draw = u[shots, level] * cdf[inverse, -1]
        choice = (draw[:, None] >= cdf[inverse]).sum(axis=1)
        choice = np.minimum(choice, width - 1)
        out_bits[shots, level] = bit_table[pair_setting[inverse], choice]
        counter[0] += len(pairs)
        if level + 1 == measured:
            return
        child = inverse * width + choice
        children, child_inverse = distinct(child, len(pairs) * width)
        c_pair, c_row = np.divmod(children, width)
        per_child = half * AMPLITUDE_BYTES
        group = max(1, BRANCH_BYTES // per_child)

        if len(children) <= group:
            states = _expand(view, pair_branch[c_pair], pr[c_pair, c_row], prob[c_pair, c_row])
            branch = child_inverse
            level += 1
            continue
        # Too many children to hold at once: expand them depth-first, a group at a time.
        order = np.argsort(child_inverse, kind="stable")
        bounds = np.searchsorted(child_inverse[order], np.arange(0, len(children) + group, group))
        for g, start in enumerate(range(0, len(children), group)):
            sel = slice(start, min(start + group, len(children)))
            p, row = c_pair[sel], c_row[sel]
            members = order[bounds[g] : bounds[g + 1]]
            _descend(
                _expand(view, pair_branch[p], pr[p, row], prob[p, row]),
                child_inverse[members] - start,
                shots[members],
                level + 1,
                tables,
                u,
                out_bits,
                counter,
            )
        return


def run_state(
    stage: Stage,
    parameter_names: Sequence[str],
    values: np.ndarray,
    rng: np.random.Generator,
    key_sizes: dict[str, int],
    *,
    backend: str = "qsim",
    cache: dict | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Draw every shot's outcomes from the once-simulated preparation.

    Parameters
    ----------
    stage : Stage
        From :func:`plan_state`.
    parameter_names : sequence of str
        Names of the columns of ``values``.
    values : np.ndarray
        ``(shots, k)`` per-shot parameter values.
    rng : np.random.Generator
        Draws the ensemble member and one uniform per shot and measured qubit.
    key_sizes : dict
        Number of bits of each measurement key.
    backend : {"qsim", "exact"}
        Simulator of the preparation (see :func:`prepared_ensemble`).
    cache : dict, optional
        Keeps the prepared ensemble across calls (key ``"state"``; ``"groups"``: the number
        of independent groups it was prepared in, docs/theory.md §12.5, or None).

    Returns
    -------
    (dict, dict)
        Measurement key to ``(shots, bits)`` uint8 arrays in shot order, and the path's
        description for the metadata.
    """
    cache = {} if cache is None else cache
    if "state" not in cache:
        cache["state"] = prepared_ensemble(stage, backend)
    states, weights = cache["state"]
    shots = values.shape[0]
    measured = len(stage.targets)
    out = {key: np.zeros((shots, size), dtype=np.uint8) for key, size in key_sizes.items()}
    counter = [0]
    if shots:
        tables = _settings(values, stage, parameter_names)
        if len(weights) == 1:
            member = np.zeros(shots, dtype=np.int64)
        else:
            member = np.searchsorted(np.cumsum(weights)[:-1], rng.random(shots), side="right")
        u = rng.random((shots, measured))
        bits = np.zeros((shots, measured), dtype=np.uint8)
        used, branch = distinct(member, len(weights))
        roots = states if len(used) == len(states) else states[used]  # no copy of a pure state
        _descend(roots, branch, np.arange(shots), 0, tables, u, bits, counter)
        for j, (key, position, invert) in enumerate(stage.targets):
            out[key][:, position] = bits[:, j] ^ np.uint8(invert)
    if "groups" not in cache:
        split = None
        if backend == "qsim" and not stage.noisy:
            split = factored_front(stage.preparation, stage.order)
        cache["groups"] = None if split is None else len(split[1])
    info = {
        "path": "state",
        "state_qubits": stage.qubits,
        "state_simulator": (
            "qsim state vector"
            if backend == "qsim" and not stage.noisy
            else "cirq density matrix (eigenvector ensemble)"
        ),
        "ensemble_members": len(weights),
        "branches_expanded": int(counter[0]),
    }
    if cache["groups"] is not None:  # prepared as independent groups (docs/theory.md §12.5)
        info["state_groups"] = cache["groups"]
    return out, info
