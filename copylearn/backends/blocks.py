"""Block execution: O(n) work per shot for circuits that factor into small qubit blocks.

Once a shot's parameters are fixed, a circuit whose operations (gates and noise channels
alike) never join two groups of qubits prepares a product state across those groups, so
its measurement outcomes are independent across groups. The planner

1. splits the qubits into *blocks* joined by some multi-qubit operation or channel
   (measurements do not join: a terminal measurement of many qubits is a product of
   single-qubit measurements);
2. executes every distinct block circuit (the block's operations resolved at one setting
   of the parameters that touch it) once on a simulator, with its noise, and keeps its
   exact outcome distribution: the final state vector (noiseless, on qsim) or the final
   density matrix (noisy, or the exact backend);
3. draws every shot's block outcomes from those distributions, vectorised over shots.

Every outcome thus still comes from executing Cirq circuits on a simulator; nothing is
sampled from a closed form. Circuits that do not factor (entangling preparations, noise
that correlates qubits, mid-circuit measurements) are left to the whole-circuit path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cirq
import numpy as np

# Blocks above this size are not worth an exact density matrix: use the whole-circuit path.
MAX_BLOCK_QUBITS = 10


@dataclass(frozen=True)
class Block:
    """One independent group of qubits.

    Attributes
    ----------
    measured : tuple of cirq.Qid
        The block's measured qubits, in the order their outcome bits are numbered
        (the first is the most significant bit of an outcome index).
    others : tuple of cirq.Qid
        Unmeasured qubits of the block (traced out).
    circuit : cirq.Circuit
        The block's operations, without measurements.
    columns : tuple of int
        Columns of the parameter array that the block's circuit depends on.
    targets : tuple of (str, int)
        For each measured qubit, the measurement key and bit position it fills.
    """

    measured: tuple[cirq.Qid, ...]
    others: tuple[cirq.Qid, ...]
    circuit: cirq.Circuit
    columns: tuple[int, ...]
    targets: tuple[tuple[str, int], ...]


def plan_blocks(
    circuit: cirq.Circuit,
    parameter_names: Sequence[str],
    max_block_qubits: int = MAX_BLOCK_QUBITS,
) -> list[Block] | None:
    """Split ``circuit`` into independent blocks, or return ``None`` if it does not factor.

    Parameters
    ----------
    circuit : cirq.Circuit
        A (noisy) circuit whose measurements are all terminal.
    parameter_names : sequence of str
        Names of the parameter columns.
    max_block_qubits : int
        Give up (return ``None``) if a block would be larger than this.
    """
    if not circuit.are_all_measurements_terminal():
        return None
    parent: dict[cirq.Qid, cirq.Qid] = {q: q for q in circuit.all_qubits()}

    def find(q: cirq.Qid) -> cirq.Qid:
        while parent[q] != q:
            parent[q] = parent[parent[q]]
            q = parent[q]
        return q

    targets: dict[cirq.Qid, tuple[str, int]] = {}
    for op in circuit.all_operations():
        if isinstance(op.untagged, cirq.ClassicallyControlledOperation):
            return None
        if cirq.is_measurement(op):
            gate = op.gate
            if (
                not isinstance(gate, cirq.MeasurementGate)
                or gate.confusion_map
                or any(gate.full_invert_mask())
            ):
                return None
            for position, q in enumerate(op.qubits):
                targets[q] = (gate.key, position)
            continue
        if not op.qubits:  # a global phase does not change outcome probabilities
            continue
        root = find(op.qubits[0])
        for q in op.qubits[1:]:
            parent[find(q)] = root

    groups: dict[cirq.Qid, list[cirq.Qid]] = {}
    for q in sorted(parent):
        groups.setdefault(find(q), []).append(q)
    index = {name: i for i, name in enumerate(parameter_names)}
    blocks = []
    for members in groups.values():
        measured = tuple(q for q in members if q in targets)
        if not measured:
            continue
        if len(members) > max_block_qubits:
            return None
        member_set = set(members)
        block_circuit = cirq.Circuit(
            cirq.Moment(
                op
                for op in moment
                if op.qubits and op.qubits[0] in member_set and not cirq.is_measurement(op)
            )
            for moment in circuit
        )
        names = cirq.parameter_names(block_circuit)
        if any(name not in index for name in names):
            return None
        blocks.append(
            Block(
                measured=measured,
                others=tuple(q for q in members if q not in targets),
                circuit=block_circuit,
                columns=tuple(sorted(index[name] for name in names)),
                targets=tuple(targets[q] for q in measured),
            )
        )
    return blocks


def _setting_index(columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of ``columns`` and each shot's row index.

    Small non-negative integer columns (the protocols' 0/1 parameters) take an O(shots)
    mixed-radix code and a bincount; anything else falls back to ``np.unique``.
    """
    shots, k = columns.shape
    if k == 0:
        return np.zeros((1, 0), dtype=columns.dtype), np.zeros(shots, dtype=np.int64)
    if columns.dtype.kind == "u" and shots:
        radices = columns.max(axis=0).astype(np.int64) + 1
        if np.prod(radices) <= 1 << 20:
            code = np.zeros(shots, dtype=np.int64)
            for j in range(k):
                code = code * radices[j] + columns[:, j]
            present = np.flatnonzero(np.bincount(code, minlength=int(np.prod(radices))))
            lookup = np.zeros(int(np.prod(radices)), dtype=np.int64)
            lookup[present] = np.arange(len(present))
            digits = np.empty((len(present), k), dtype=columns.dtype)
            rest = present.copy()
            for j in reversed(range(k)):
                digits[:, j] = rest % radices[j]
                rest //= radices[j]
            return digits, lookup[code]
    settings, inverse = np.unique(columns, axis=0, return_inverse=True)
    return settings, inverse.reshape(-1)


def _canonical(circuit: cirq.Circuit, qubits: Sequence[cirq.Qid]) -> cirq.FrozenCircuit:
    """The circuit on LineQubit(0..k-1) in the order of ``qubits``, every qubit present.

    A leading identity moment keeps idle qubits in the register and empty moments are
    dropped (noise is already attached as explicit channels, so neither changes the state),
    so blocks that differ only in where the rest of the circuit put its moments share a key.
    """
    mapping = {q: cirq.LineQubit(i) for i, q in enumerate(qubits)}
    moved = [moment.transform_qubits(lambda q: mapping[q]) for moment in circuit if moment]
    return cirq.FrozenCircuit(cirq.Moment(cirq.I(q) for q in mapping.values()), *moved)


def run_blocks(
    blocks: Sequence[Block],
    parameter_names: Sequence[str],
    values: np.ndarray,
    distribution: Callable[[cirq.Circuit, int], np.ndarray],
    rng: np.random.Generator,
    key_sizes: dict[str, int],
    cache: dict | None = None,
) -> tuple[dict[str, np.ndarray], int]:
    """Sample every shot's outcomes block by block.

    Parameters
    ----------
    blocks : sequence of Block
        From :func:`plan_blocks`.
    parameter_names : sequence of str
        Names of the columns of ``values``.
    values : np.ndarray
        ``(shots, k)`` per-shot parameter values.
    distribution : callable
        ``distribution(circuit_on_line_qubits, n_measured)`` executes a resolved block circuit
        on a simulator and returns the outcome probabilities of its first ``n_measured``
        qubits (big-endian index).
    rng : np.random.Generator
        Draws the outcomes.
    key_sizes : dict
        Number of bits of each measurement key.
    cache : dict, optional
        Block distributions by canonical block circuit, reused across calls.

    Returns
    -------
    (dict, int)
        Measurement key to ``(shots, bits)`` uint8 arrays, and the number of distinct block
        circuits executed so far (in ``cache``).
    """
    shots = values.shape[0]
    out = {key: np.zeros((shots, size), dtype=np.uint8) for key, size in key_sizes.items()}
    cache = {} if cache is None else cache
    for index, block in enumerate(blocks):
        columns = list(block.columns)
        settings, inverse = _setting_index(values[:, columns])
        order = block.measured + block.others
        cdfs = []
        for setting in settings:
            # Two cache levels: (block, setting) skips Cirq entirely on a repeat; the canonical
            # circuit shares one execution between blocks that hold the same circuit.
            key = (index, setting.tobytes())
            if key not in cache:
                resolver = {
                    parameter_names[c]: float(v) for c, v in zip(columns, setting, strict=True)
                }
                canonical = _canonical(cirq.resolve_parameters(block.circuit, resolver), order)
                if canonical not in cache:
                    probabilities = np.asarray(
                        distribution(canonical.unfreeze(), len(block.measured))
                    )
                    probabilities = np.clip(probabilities.astype(np.float64), 0.0, None)
                    cache[canonical] = np.cumsum(probabilities / probabilities.sum())
                cache[key] = cache[canonical]
            cdfs.append(cache[key])
        u = rng.random(shots)
        width = len(block.measured)
        if width <= 3:  # small blocks: compare against each shot's CDF row, no sorting
            table = np.stack(cdfs)[:, :-1]
            outcome = (u[:, None] >= table[inverse]).sum(axis=1)
        else:  # large blocks: search each setting's CDF for its group of shots
            outcome = np.empty(shots, dtype=np.int64)
            group_order = np.argsort(inverse, kind="stable")
            counts = np.bincount(inverse, minlength=len(settings))
            bounds = np.concatenate([[0], np.cumsum(counts)])
            for s, cdf in enumerate(cdfs):
                rows = group_order[bounds[s] : bounds[s + 1]]
                outcome[rows] = np.searchsorted(cdf[:-1], u[rows], side="right")
        for j, (key, position) in enumerate(block.targets):
            out[key][:, position] = (outcome >> (width - 1 - j)) & 1
    return out, sum(isinstance(k, cirq.FrozenCircuit) for k in cache)
