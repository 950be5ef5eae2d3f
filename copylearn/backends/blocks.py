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
from dataclasses import dataclass, field
from types import ModuleType

import cirq
import numpy as np

from copylearn import compiled, streams
from copylearn.backends.setting_codes import digits, setting_index
from copylearn.pauli import n_words, pack_bits
from copylearn.streams import PackedColumns, as_array

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
    #: Per simulator, the block's key in the process-wide store (built once: hashing a Cirq
    #: circuit costs milliseconds).
    signatures: dict = field(default_factory=dict, compare=False, hash=False, repr=False)


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
    *,
    stream: int = 1,
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
        Draws the outcomes: one uniform per shot and block, block after block (each block's
        ``shots`` uniforms in shot order), whichever implementation samples.
    key_sizes : dict
        Number of bits of each measurement key.
    cache : dict, optional
        Block distributions by canonical block circuit, reused across calls.
    stream : {1, 2}
        The random-stream version (:mod:`copylearn.streams`, docs/theory.md §15). Stream 1:
        a float64 uniform per shot and block (below). Stream 2: a 32-bit integer per shot and
        block (:func:`copylearn.streams.uniforms`) against integer thresholds
        ``round(2^32 F)`` of the block's CDF F, and ``values`` may be a
        :class:`copylearn.streams.PackedColumns` of 0/1 columns.

    Returns
    -------
    (dict, int)
        Measurement key to ``(shots, bits)`` uint8 arrays (a
        :class:`copylearn.streams.PackedColumns` of the bits when ``values`` is packed), and
        the number of distinct block circuits executed so far (in ``cache``).

    Notes
    -----
    A shot's outcome in a block is drawn by inverse-CDF sampling from the block's exact
    outcome distribution at the shot's setting: the number of the CDF's values (all but the
    last) that are at most the shot's uniform. With numba installed, large runs take the
    compiled loop of :mod:`copylearn.backends.block_kernels`, which computes the same count
    from the same uniforms and so gives bit-identical outcomes.
    """
    cache = {} if cache is None else cache
    if stream >= 2:
        return _run_blocks_stream2(
            blocks, parameter_names, values, distribution, rng, key_sizes, cache
        )
    values = as_array(values)
    fast = _compiled_plan(blocks, values, key_sizes)
    if fast is None:
        return _run_blocks_numpy(
            blocks, parameter_names, values, distribution, rng, key_sizes, cache
        )
    return _run_blocks_compiled(
        fast, blocks, parameter_names, values, distribution, rng, key_sizes, cache
    )


# Block distributions are deterministic outputs of a simulator for a circuit, so every plan in
# the process shares them: by (simulator, block circuit, measured and other qubits, parameter
# names, setting) and by (simulator, canonical circuit). Oldest entries go beyond the bound.
_SHARED: dict = {}
_SHARED_MAX = 1 << 14


def _remember(key, value) -> None:
    if len(_SHARED) >= _SHARED_MAX:
        del _SHARED[next(iter(_SHARED))]
    _SHARED[key] = value


def _block_cdfs(
    index: int,
    block: Block,
    settings: np.ndarray,
    parameter_names: Sequence[str],
    distribution: Callable[[cirq.Circuit, int], np.ndarray],
    cache: dict,
) -> list[np.ndarray]:
    """The outcome CDF of ``block`` at each row of ``settings``, executing what is not cached.

    ``cache`` (the plan's) ends up holding ``(block index, setting)`` and canonical-circuit
    keys exactly as if every circuit had been executed for this plan, whether the CDF came
    from the simulator or from the process-wide store of earlier plans' executions.
    """
    columns = list(block.columns)
    order = block.measured + block.others
    signature = None
    cdfs = []
    for setting in settings:
        # Two cache levels: (block, setting) skips Cirq entirely on a repeat; the canonical
        # circuit shares one execution between blocks that hold the same circuit.
        key = (index, setting.tobytes())
        if key not in cache:
            if signature is None:
                names = tuple(parameter_names[c] for c in columns)
                signature = block.signatures.get((distribution, names))
                if signature is None:
                    signature = (distribution, cirq.FrozenCircuit(block.circuit), order, names)
                    block.signatures[distribution, names] = signature
            shared_key = (signature, setting.dtype.str, setting.tobytes())
            known = _SHARED.get(shared_key)
            if known is None:
                resolver = dict(zip(signature[3], map(float, setting), strict=True))
                canonical = _canonical(cirq.resolve_parameters(block.circuit, resolver), order)
                # One object per distinct canonical circuit (interned with its CDF), so later
                # dict lookups by it compare identities, not Cirq circuits.
                interned = _SHARED.get((distribution, canonical))
                if interned is None:
                    cdf = cache.get(canonical)
                    if cdf is None:
                        probabilities = np.asarray(
                            distribution(canonical.unfreeze(), len(block.measured))
                        )
                        probabilities = np.clip(probabilities.astype(np.float64), 0.0, None)
                        cdf = np.cumsum(probabilities / probabilities.sum())
                        cdf.setflags(write=False)
                    interned = (canonical, cdf)
                    _remember((distribution, canonical), interned)
                known = interned
                _remember(shared_key, known)
            canonical, cdf = known
            cache.setdefault(canonical, cdf)
            cache[key] = cache[canonical]
        cdfs.append(cache[key])
    return cdfs


def _executed(cache: dict) -> int:
    return sum(isinstance(k, cirq.FrozenCircuit) for k in cache)


def _run_blocks_numpy(blocks, parameter_names, values, distribution, rng, key_sizes, cache):
    """:func:`run_blocks` in NumPy, one block at a time."""
    shots = values.shape[0]
    out = {key: np.zeros((shots, size), dtype=np.uint8) for key, size in key_sizes.items()}
    for index, block in enumerate(blocks):
        settings, inverse = setting_index(values[:, list(block.columns)])
        cdfs = _block_cdfs(index, block, settings, parameter_names, distribution, cache)
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
    return out, _executed(cache)


# The compiled path's limits: setting codes per block and bits of one block's outcome index.
#: Below this many (shot, block) pairs in one run the NumPy sampler runs (it is then as fast
#: as loading numba); above it the compiled loop where :mod:`copylearn.compiled` allows it.
COMPILED_MIN_WORK = 1 << 18
_MAX_CODES = 1 << 16
_MAX_COMPILED_WIDTH = 16
# Uniforms drawn per batch of blocks (bytes): bounds the memory of a run.
_UNIFORM_BYTES = 1 << 25


@dataclass(frozen=True)
class _CompiledPlan:
    """Per-block setting codes: mixed-radix over the block's columns that vary in this run.

    Columns that hold one value in every shot (a Pauli state's turns, for instance) add
    nothing to a code; they are put back when a code is turned into a setting.
    """

    kernels: ModuleType  # copylearn.backends.block_kernels
    columns: np.ndarray  # (blocks, k_max) int64: the varying columns, padded with 0
    ncolumns: np.ndarray  # (blocks,) int64: how many of a row of ``columns`` are used
    multipliers: np.ndarray  # (blocks, k_max) int64: the mixed-radix place values
    radices: list[np.ndarray]  # per block, the radix of each varying column
    fixed: list[np.ndarray]  # per block, (len(block.columns),) the value of each fixed column
    varying: list[np.ndarray]  # per block, which of its columns vary (bool)
    offsets: np.ndarray  # (blocks + 1,) int64: block b's codes at offsets[b] ...


def _compiled_plan(blocks, values, key_sizes) -> _CompiledPlan | None:
    """The compiled path's tables, or ``None`` where it does not apply (then NumPy runs).

    It applies when numba is present, the run is large enough, the values are small unsigned
    integers (the protocols' 0/1 and turn parameters) with few codes per block, and every
    block's outcome index fits the kernel.
    """
    shots = values.shape[0]
    if not blocks or shots * len(blocks) < COMPILED_MIN_WORK or values.dtype.kind != "u":
        return None
    if max(len(b.measured) for b in blocks) > _MAX_COMPILED_WIDTH:
        return None
    kernels = compiled.load(compiled.BLOCKS)
    if kernels is None:
        return None
    if values.shape[1]:
        low, high = values.min(axis=0).astype(np.int64), values.max(axis=0).astype(np.int64)
    else:
        low = high = np.zeros(0, dtype=np.int64)
    k_max = max(1, max(len(b.columns) for b in blocks))
    columns = np.zeros((len(blocks), k_max), dtype=np.int64)
    multipliers = np.zeros((len(blocks), k_max), dtype=np.int64)
    ncolumns = np.zeros(len(blocks), dtype=np.int64)
    radices, fixed, varying, sizes = [], [], [], []
    for b, block in enumerate(blocks):
        own = np.array(block.columns, dtype=np.int64)
        varies = low[own] != high[own]
        r = high[own[varies]] + 1
        size = int(np.prod(r))
        if size > _MAX_CODES:
            return None
        k = int(varies.sum())
        if k:
            columns[b, :k] = own[varies]
            multipliers[b, :k] = np.cumprod(np.concatenate([r[1:], [1]])[::-1])[::-1]
        ncolumns[b] = k
        radices.append(r)
        fixed.append(low[own])
        varying.append(varies)
        sizes.append(size)
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    return _CompiledPlan(kernels, columns, ncolumns, multipliers, radices, fixed, varying, offsets)


def _run_blocks_compiled(
    fast, blocks, parameter_names, values, distribution, rng, key_sizes, cache
):
    """:func:`run_blocks` with the compiled kernels, fused over blocks; same outcomes."""
    shots = values.shape[0]
    present = np.zeros(int(fast.offsets[-1]), dtype=np.bool_)
    codes = np.empty((shots, len(blocks)), dtype=np.uint16)  # < _MAX_CODES per block
    fast.kernels.setting_codes(
        values, fast.columns, fast.ncolumns, fast.multipliers, fast.offsets, codes, present
    )
    # Per block, its CDF thresholds for every code (rows of absent codes are never read).
    widths = np.array([len(b.measured) for b in blocks], dtype=np.int64)
    counts = (1 << widths) - 1
    row_offsets = np.concatenate([[0], np.cumsum(np.diff(fast.offsets) * counts)])
    thresholds = np.zeros(int(row_offsets[-1]), dtype=np.float64)
    for index, block in enumerate(blocks):
        found = np.flatnonzero(present[fast.offsets[index] : fast.offsets[index + 1]])
        settings = np.repeat(fast.fixed[index][None, :], len(found), axis=0).astype(values.dtype)
        settings[:, fast.varying[index]] = digits(found, fast.radices[index], values.dtype)
        cdfs = _block_cdfs(index, block, settings, parameter_names, distribution, cache)
        table = thresholds[row_offsets[index] : row_offsets[index + 1]].reshape(-1, counts[index])
        table[found] = np.stack(cdfs)[:, :-1]
    # Every measured bit's column in one (shots, total bits) array, split per key at the end.
    keys = list(key_sizes)
    starts = dict(zip(keys, np.cumsum([0, *key_sizes.values()])[:-1].tolist(), strict=True))
    targets = np.zeros((len(blocks), max(1, int(widths.max()))), dtype=np.int64)
    for b, block in enumerate(blocks):
        targets[b, : len(block.targets)] = [starts[k] + p for k, p in block.targets]
    out = np.zeros((shots, sum(key_sizes.values())), dtype=np.uint8)
    batch = max(1, _UNIFORM_BYTES // (8 * max(shots, 1)))
    for first in range(0, len(blocks), batch):
        # One call for a batch of blocks draws the same doubles as one call per block.
        u = rng.random((min(batch, len(blocks) - first), shots))
        fast.kernels.sample(codes, thresholds, row_offsets, counts, u, first, widths, out, targets)
    if len(keys) == 1:
        return {keys[0]: out}, _executed(cache)
    split = {k: np.ascontiguousarray(out[:, starts[k] : starts[k] + key_sizes[k]]) for k in keys}
    return split, _executed(cache)


# ----- stream 2 --------------------------------------------------------------------------------
def _run_blocks_stream2(blocks, parameter_names, values, distribution, rng, key_sizes, cache):
    """:func:`run_blocks` on stream 2: compiled for packed values where numba is present,
    else NumPy; both give the same outcomes (the same draws against the same thresholds)."""
    packed = isinstance(values, PackedColumns)
    shots = len(values)
    kernels = None
    if (
        packed
        and blocks
        and shots * len(blocks) >= COMPILED_MIN_WORK
        and max(len(b.measured) for b in blocks) <= _MAX_COMPILED_WIDTH
        and max(len(b.columns) for b in blocks) <= _MAX_PACKED_COLUMNS
    ):
        kernels = compiled.load(compiled.BLOCKS)
    if kernels is None:
        out, executed = _run_stream2_numpy(
            blocks, parameter_names, as_array(values), distribution, rng, key_sizes, cache
        )
        if packed:
            out = {k: PackedColumns(pack_bits(bits), key_sizes[k]) for k, bits in out.items()}
        return out, executed
    return _run_stream2_compiled(
        kernels, blocks, parameter_names, values, distribution, rng, key_sizes, cache
    )


#: Columns one block may depend on in the compiled stream-2 sampler (2^this codes).
_MAX_PACKED_COLUMNS = 16


def _run_stream2_numpy(blocks, parameter_names, values, distribution, rng, key_sizes, cache):
    """Stream 2 in NumPy, a chunk of shots and then one block at a time: ``#{j : T_j <= u}``
    per shot."""
    shots = values.shape[0]
    out = {key: np.zeros((shots, size), dtype=np.uint8) for key, size in key_sizes.items()}
    for first in range(0, shots, streams.SHOT_CHUNK):
        rows = slice(first, min(shots, first + streams.SHOT_CHUNK))
        chunk = values[rows]
        draws = streams.uniforms(rng, len(chunk), len(blocks)).astype(np.int64)
        for index, block in enumerate(blocks):
            u = draws[:, index]
            settings, inverse = setting_index(chunk[:, list(block.columns)])
            cdfs = _block_cdfs(index, block, settings, parameter_names, distribution, cache)
            table = streams.thresholds(np.stack(cdfs)[:, :-1])
            width = len(block.measured)
            if width <= 3:
                outcome = (u[:, None] >= table[inverse]).sum(axis=1)
            else:
                outcome = np.empty(len(chunk), dtype=np.int64)
                group_order = np.argsort(inverse, kind="stable")
                counts = np.bincount(inverse, minlength=len(settings))
                bounds = np.concatenate([[0], np.cumsum(counts)])
                for s, row in enumerate(table):
                    members = group_order[bounds[s] : bounds[s + 1]]
                    outcome[members] = np.searchsorted(row, u[members], side="right")
            for j, (key, position) in enumerate(block.targets):
                out[key][rows, position] = (outcome >> (width - 1 - j)) & 1
    return out, _executed(cache)


def _run_stream2_compiled(
    kernels, blocks, parameter_names, values, distribution, rng, key_sizes, cache
):
    """Stream 2 with the compiled kernels on packed columns, outcomes written packed.

    A block's code has bit j = the block's j-th column (:attr:`Block.columns`), so no
    per-column ranges are computed and no ``(shots, parameters)`` array exists; columns of a
    part that is the same in every shot (a Pauli state's turns) enter the code as a constant.
    """
    shots = len(values)
    varying, where, constant = values.layout()
    k_max = max(1, max(len(b.columns) for b in blocks))
    columns = np.zeros((len(blocks), k_max), dtype=np.int64)
    places = np.zeros((len(blocks), k_max), dtype=np.int64)
    ncolumns = np.zeros(len(blocks), dtype=np.int64)
    fixed = np.zeros(len(blocks), dtype=np.int64)
    for b, block in enumerate(blocks):
        own = np.array(block.columns, dtype=np.int64)
        moving = where[own] >= 0
        ncolumns[b] = int(moving.sum())
        columns[b, : ncolumns[b]] = where[own][moving]
        places[b, : ncolumns[b]] = np.flatnonzero(moving)
        fixed[b] = int((constant[own].astype(np.int64) << np.arange(len(own))).sum())
    sizes = np.array([1 << len(b.columns) for b in blocks], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    widths = np.array([len(b.measured) for b in blocks], dtype=np.int64)
    counts = (1 << widths) - 1
    rows = np.concatenate([[0], np.cumsum(sizes * counts)]).astype(np.int64)
    table = np.full(int(rows[-1]), -1, dtype=np.int64)  # -1: not computed yet
    needed = np.zeros(int(offsets[-1]), dtype=np.bool_)

    def compute_needed() -> None:
        """Execute (or fetch) the block circuits of the codes the kernel asked for."""
        for index, block in enumerate(blocks):
            found = np.flatnonzero(needed[offsets[index] : offsets[index + 1]])
            if not len(found):
                continue
            k = len(block.columns)
            settings = ((found[:, None] >> np.arange(k)) & 1).astype(np.uint8)
            cdfs = _block_cdfs(index, block, settings, parameter_names, distribution, cache)
            view = table[rows[index] : rows[index + 1]].reshape(-1, counts[index])
            view[found] = streams.thresholds(np.stack(cdfs)[:, :-1])
        needed[:] = False

    keys = list(key_sizes)
    key_words = [n_words(key_sizes[k]) for k in keys]
    starts = dict(zip(keys, np.cumsum([0, *key_words])[:-1].tolist(), strict=True))
    word_of = np.zeros((len(blocks), max(1, int(widths.max()))), dtype=np.int64)
    bit_of = np.zeros_like(word_of)
    for b, block in enumerate(blocks):
        for q, (key, position) in enumerate(block.targets):
            word_of[b, q] = starts[key] + position // 64
            bit_of[b, q] = position % 64
    out = np.zeros((shots, sum(key_words)), dtype=np.uint64)
    for first in range(0, shots, streams.SHOT_CHUNK):
        u = streams.uniforms(rng, min(streams.SHOT_CHUNK, shots - first), len(blocks))
        arguments = (varying, columns, places, ncolumns, fixed, offsets, table, rows, counts)
        while kernels.sample_packed(*arguments, u, first, widths, out, word_of, bit_of, needed):
            compute_needed()
    if len(keys) == 1:
        return {keys[0]: PackedColumns(out, key_sizes[keys[0]])}, _executed(cache)
    split = {
        k: PackedColumns(
            np.ascontiguousarray(out[:, starts[k] : starts[k] + n_words(key_sizes[k])]),
            key_sizes[k],
        )
        for k in keys
    }
    return split, _executed(cache)
