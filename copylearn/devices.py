"""Simulated Google devices: qubit layouts, native-gate compilation and calibrated noise.

cirq-google ships the grid, the gate set and a median calibration of three processors that
load offline: ``rainbow`` (23 qubits), ``weber`` (53) and ``willow_pink`` (105). This module
turns one of them into a :class:`Device` and gives the four steps a device run needs:

1. :func:`place_pairs` puts copy A and copy B of an n-qubit state on physical qubits so that
   every Bell pair (A_i, B_i) is a coupler and A's qubits form a chain (A_i next to A_{i+1}),
   the layout of the Science experiment; :func:`place_chain` places a single copy on a chain.
2. :func:`compile_for_device` compiles a placed circuit to the device's native two-qubit
   gate (√iSWAP on rainbow, Sycamore on weber, CZ on willow_pink) and one ``PhasedXZGate``
   per run of single-qubit gates, keeping 0/1 sympy parameters symbolic.
3. :func:`device_noise_model` is the calibrated noise of cirq-google's
   ``NoiseModelFromGoogleNoiseProperties`` (thermal channels written as hashable standard
   channels), to be attached after compilation.
4. :func:`device_metadata` describes the device for a dataset's metadata.

Layouts. The processors' coupler graphs are grid graphs, hence bipartite: colour a qubit by
the parity of row + column and every coupler joins two colours. A Bell pair is a coupler, so
it holds one qubit of each colour and n <= min(#even, #odd) is an upper bound on the pairs a
device can hold. A deterministic depth-first search finds a placement that reaches this bound
on all three devices (rainbow 8 pairs, weber 24, willow_pink 49), so those maxima are exact.
Copy B's qubits need not form a chain (in the experiment they did not); ``ladder=True`` asks
for that too, for preparations with two-qubit gates, and fits 4, 8 and 13 pairs (exhaustive
search). By default the layouts leave out calibration outliers (:attr:`Device.outliers`: one
qubit on rainbow, with 39% readout error, and four on weber, including one with 58% readout
error and one with T1 = 2.7 us); then weber fits 21 pairs (exhaustive search; 6 as a ladder).

Within a process the layouts are cached by the coupler graph and outliers (so a device with
scaled noise shares them) and compilations by (placed circuit, device, native gate); noise is
attached after compilation and is never part of a key.

cirq-google is an optional dependency, imported on first use; install the release that
matches cirq-core (``pip install "cirq-google==1.7.0"`` for cirq-core 1.7.0).
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import itertools
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import cirq
import numpy as np
import sympy

from copylearn.errors import CopylearnError

if TYPE_CHECKING:
    import cirq_google

DEVICE_NAMES = ("rainbow", "weber", "willow_pink")
# The native two-qubit gate used on each device by default. The Science experiment ran on
# weber with Sycamore gates (ReCirq's qml_lfe); rainbow and weber are calibrated for both
# Sycamore and √iSWAP, willow_pink for CZ only.
DEFAULT_GATES = {"rainbow": "sqrt_iswap", "weber": "sycamore", "willow_pink": "cz"}
GATE_NAMES = ("sqrt_iswap", "sycamore", "cz")
# A run of single-qubit gates with more parameters than this is not merged (2^k corners).
MAX_RUN_PARAMETERS = 10
# Nodes the layout searches may visit before settling for the best placement found.
_SEARCH_BUDGET = 500_000
# A qubit is a calibration outlier if its readout error exceeds this multiple of the device's
# median, or its T1 falls below the median divided by it.
OUTLIER_FACTOR = 3.0
_ATOL = 1e-8


@dataclass(frozen=True)
class Device:
    """One simulated Google processor, from cirq-google's offline data.

    Attributes
    ----------
    name : str
        Processor id, one of :data:`DEVICE_NAMES`.
    native_gate : str
        Two-qubit gate that circuits are compiled to: ``"sqrt_iswap"``, ``"sycamore"`` or
        ``"cz"``.
    qubits : tuple of cirq.GridQubit
        The processor's qubits, sorted.
    couplers : frozenset of (cirq.GridQubit, cirq.GridQubit)
        Coupled pairs, each as a sorted tuple.
    calibration_date : str or None
        UTC time of the calibration snapshot, ISO 8601.
    calibration_timestamp_ms : int or None
        The same time in milliseconds since the Unix epoch.
    outliers : tuple of cirq.GridQubit
        Qubits whose calibration is far off the device's median (readout error above
        :data:`OUTLIER_FACTOR` times the median, or T1 below the median divided by it). The
        layouts leave them out by default, as the experiments left out dead qubits.
    noise_properties : cirq_google.GoogleNoiseProperties
        Calibrated noise (T1, Tphi, readout, Pauli and coherent FSim errors). Shared by the
        cached :func:`load_device` result: do not modify it.
    gateset : cirq.CompilationTargetGateset
        Target gate set of :func:`compile_for_device`.
    grid_device : cirq_google.GridDevice
        cirq-google's device object (its ``validate_circuit`` checks a compiled circuit).
    noise_scale : float
        Factor applied to every calibrated error rate (:func:`scale_noise`); 1 as loaded.
    """

    name: str
    native_gate: str
    qubits: tuple[cirq.GridQubit, ...] = field(repr=False)
    couplers: frozenset[tuple[cirq.GridQubit, cirq.GridQubit]] = field(repr=False)
    calibration_date: str | None
    calibration_timestamp_ms: int | None = field(repr=False)
    outliers: tuple[cirq.GridQubit, ...] = field(repr=False)
    noise_properties: cirq_google.GoogleNoiseProperties = field(compare=False, repr=False)
    gateset: cirq.CompilationTargetGateset = field(compare=False, repr=False)
    grid_device: cirq_google.GridDevice = field(compare=False, repr=False)
    noise_scale: float = 1.0


def _cirq_google():
    try:
        import cirq_google
    except ImportError:  # pragma: no cover - depends on the environment
        raise CopylearnError(
            "device simulation needs cirq-google: pip install "
            f"'cirq-google=={cirq.__version__}' (the release matching cirq-core)."
        ) from None
    return cirq_google


def _calibrated_gates(properties) -> tuple[str, ...]:
    """Names of the two-qubit gates the calibration has errors for."""
    types = {k.gate_type for k in properties.gate_pauli_errors if len(k.qubits) == 2}
    found = {
        "sqrt_iswap": cirq.ISwapPowGate in types,
        "sycamore": _cirq_google().SycamoreGate in types,
        "cz": cirq.CZPowGate in types,
    }
    return tuple(name for name in GATE_NAMES if found[name])


def _target_gateset(gate: str) -> cirq.CompilationTargetGateset:
    if gate == "sqrt_iswap":
        return cirq.SqrtIswapTargetGateset()
    if gate == "sycamore":
        return _cirq_google().SycamoreTargetGateset()
    return cirq.CZTargetGateset()


def _native_two_qubit_gate(gate: str) -> cirq.Gate:
    if gate == "sqrt_iswap":
        return cirq.ISWAP**0.5
    if gate == "sycamore":
        return _cirq_google().SYC
    return cirq.CZ


@functools.cache
def load_device(name: str, gate: str | None = None) -> Device:
    """Load a processor's layout, gate set and median calibration (offline, cached).

    Parameters
    ----------
    name : str
        One of :data:`DEVICE_NAMES`.
    gate : str, optional
        Native two-qubit gate to compile to; defaults to :data:`DEFAULT_GATES` [name]. It must
        be one the calibration covers (``"sqrt_iswap"`` or ``"sycamore"`` on rainbow and
        weber, ``"cz"`` on willow_pink), so that the noise model has errors for it.

    Returns
    -------
    Device

    Raises
    ------
    CopylearnError
        An unknown device or a gate the device is not calibrated for.
    """
    if name not in DEVICE_NAMES:
        raise CopylearnError(f"unknown device {name!r}: use one of {', '.join(DEVICE_NAMES)}.")
    _cirq_google()
    from cirq_google.engine import virtual_engine_factory as factory

    grid_device = factory.create_device_from_processor_id(name)
    properties = factory.load_device_noise_properties(name)
    calibrated = _calibrated_gates(properties)
    gate = DEFAULT_GATES[name] if gate is None else gate
    if gate not in calibrated:
        raise CopylearnError(
            f"device {name!r} has no calibration for gate {gate!r}: use one of "
            f"{', '.join(calibrated)}."
        )
    timestamp = getattr(factory, "MEDIAN_CALIBRATION_TIMESTAMPS", {}).get(name)
    date = None
    if timestamp is not None:
        date = (
            datetime.datetime.fromtimestamp(timestamp / 1000, tz=datetime.UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z")
        )
    graph = grid_device.metadata.nx_graph
    couplers = frozenset(tuple(sorted(edge)) for edge in graph.edges())
    qubits = tuple(sorted(grid_device.metadata.qubit_set))
    return Device(
        name=name,
        native_gate=gate,
        qubits=qubits,
        couplers=couplers,
        calibration_date=date,
        calibration_timestamp_ms=None if timestamp is None else int(timestamp),
        outliers=_outliers(properties, qubits),
        noise_properties=properties,
        gateset=_target_gateset(gate),
        grid_device=grid_device,
    )


def _outliers(properties, qubits: Sequence[cirq.GridQubit]) -> tuple[cirq.GridQubit, ...]:
    readout = {q: max(properties.readout_errors.get(q, [0.0])) for q in qubits}
    t1 = {q: properties.t1_ns[q] for q in qubits if q in properties.t1_ns}
    median_readout = float(np.median(list(readout.values())))
    median_t1 = float(np.median(list(t1.values()))) if t1 else 0.0
    return tuple(
        q
        for q in qubits
        if readout[q] > OUTLIER_FACTOR * median_readout
        or (q in t1 and t1[q] < median_t1 / OUTLIER_FACTOR)
    )


def is_coupler(device: Device, a: cirq.Qid, b: cirq.Qid) -> bool:
    """Whether qubits ``a`` and ``b`` are coupled on ``device``."""
    return (a, b) in device.couplers or (b, a) in device.couplers


# --------------------------------------------------------------------------------------------
# Layouts
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Layout:
    """What the layout searches read of a device: its coupler graph and its outliers. The
    searches are cached by it, so a device with scaled noise (:func:`scale_noise`, which keeps
    the qubits, couplers and outliers) reuses the layouts of the device as loaded."""

    qubits: tuple[cirq.GridQubit, ...]
    couplers: frozenset[tuple[cirq.GridQubit, cirq.GridQubit]]
    outliers: tuple[cirq.GridQubit, ...]


def _layout(device: Device) -> _Layout:
    return _Layout(device.qubits, device.couplers, device.outliers)


def _neighbours(
    device: Device | _Layout, avoid_outliers: bool = True
) -> dict[cirq.GridQubit, tuple[cirq.GridQubit, ...]]:
    """The coupler graph as sorted adjacency lists, outliers removed if asked."""
    skip = set(device.outliers) if avoid_outliers else set()
    adjacent: dict[cirq.GridQubit, list[cirq.GridQubit]] = {
        q: [] for q in device.qubits if q not in skip
    }
    for a, b in device.couplers:
        if a not in skip and b not in skip:
            adjacent[a].append(b)
            adjacent[b].append(a)
    return {q: tuple(sorted(v)) for q, v in adjacent.items()}


def _components(nb: dict) -> list[list]:
    seen: set = set()
    components = []
    for start in nb:
        if start in seen:
            continue
        seen.add(start)
        stack, members = [start], []
        while stack:
            q = stack.pop()
            members.append(q)
            for r in nb[q]:
                if r not in seen:
                    seen.add(r)
                    stack.append(r)
        components.append(members)
    return components


def _colour_counts(nb: dict, members: list) -> tuple[int, int] | None:
    """Sizes of the two colour classes of a connected component, or None if not bipartite."""
    colour = {members[0]: 0}
    stack = [members[0]]
    while stack:
        q = stack.pop()
        for r in nb[q]:
            if r not in colour:
                colour[r] = 1 - colour[q]
                stack.append(r)
            elif colour[r] == colour[q]:
                return None
    ones = sum(colour.values())
    return len(members) - ones, ones


def _pair_bound(nb: dict) -> int:
    best = 0
    for members in _components(nb):
        counts = _colour_counts(nb, members)
        best = max(best, len(members) // 2 if counts is None else min(counts))
    return best


def _chain_bound(nb: dict) -> int:
    best = 0
    for members in _components(nb):
        counts = _colour_counts(nb, members)
        if counts is None or counts[0] == counts[1]:
            best = max(best, len(members))
        else:
            best = max(best, 2 * min(counts) + 1)
    return best


def _augment(a, nb: dict, match: dict, blocked: set, seen: set) -> bool:
    """Kuhn's augmenting path: give chain qubit ``a`` a partner (``match``: partner -> a)."""
    for b in nb[a]:
        if b in blocked or b in seen:
            continue
        seen.add(b)
        if b not in match or _augment(match[b], nb, match, blocked, seen):
            match[b] = a
            return True
    return False


def _colouring(nb: dict) -> dict | None:
    """A 2-colouring of the coupler graph (0/1 per qubit), or None if it is not bipartite."""
    colour: dict = {}
    for start in nb:
        if start in colour:
            continue
        colour[start] = 0
        stack = [start]
        while stack:
            q = stack.pop()
            for r in nb[q]:
                if r not in colour:
                    colour[r] = 1 - colour[q]
                    stack.append(r)
                elif colour[r] == colour[q]:
                    return None
    return colour


class _Masks:
    """The coupler graph as integer bit masks (bit i: the i-th qubit in sorted order), so the
    searches' reachability bound costs a few integer operations per qubit instead of hashing
    qubit objects. Sets of qubits become masks; the counts are those of the plain sets."""

    def __init__(self, nb: dict, colour: dict | None) -> None:
        order = sorted(nb)
        self.bit = {q: 1 << i for i, q in enumerate(order)}
        self.around = [sum(self.bit[r] for r in nb[q]) for q in order]  # by bit position
        self.near = {q: self.around[i] for i, q in enumerate(order)}  # neighbour masks
        self.ones = None if colour is None else sum(self.bit[q] for q in order if colour[q])

    def of(self, qubits) -> int:
        """The mask of ``qubits``."""
        mask = 0
        for q in qubits:
            mask |= self.bit[q]
        return mask


def _reachable(masks: _Masks, starts: int, blocked: int) -> tuple[int, int]:
    """Qubits reachable from the mask ``starts`` around the mask ``blocked``, counted per
    colour (both counts are the total when the graph is not bipartite)."""
    seen = frontier = starts & ~blocked
    around = masks.around
    while frontier:
        grown = 0
        while frontier:
            low = frontier & -frontier
            grown |= around[low.bit_length() - 1]
            frontier ^= low
        frontier = grown & ~(seen | blocked)
        seen |= frontier
    total = seen.bit_count()
    if masks.ones is None:
        return total, total
    ones = (seen & masks.ones).bit_count()
    return total - ones, ones


def _room(masks: _Masks, q, blocked: int, colour: dict | None, pairs: bool) -> int:
    """An upper bound on how many more pairs (or chain qubits) fit after chain qubit ``q``
    (``blocked``: the mask of the chain so far).

    Later pairs hold one qubit of each colour; a chain alternates colours, starting with the
    colour opposite to ``q``'s.
    """
    counts = _reachable(masks, masks.near[q], blocked)
    if colour is None:
        return counts[0] // 2 if pairs else counts[0]
    if pairs:
        return min(counts)
    other, same = counts[1 - colour[q]], counts[colour[q]]
    return min(2 * other, 2 * same + 1)


def _search(nb: dict, target: int, pairs: bool) -> tuple[list, dict]:
    """Depth-first search for a chain of ``target`` qubits (each with a distinct coupled
    partner off the chain if ``pairs``); returns the longest found and its partners.

    Extensions are tried fewest-free-neighbours first (Warnsdorff's rule), then in qubit
    order, so the result is deterministic. A branch is cut when the qubits still reachable
    cannot lengthen it past the best found (:func:`_room`), so a search that ends within its
    budget without reaching ``target`` has found a longest placement.
    """
    best: list = [[], {}]
    steps = 0
    colour = _colouring(nb)
    masks = _Masks(nb, colour)

    def dfs(path: list, on_path: set, blocked: int, match: dict) -> bool:
        nonlocal steps
        steps += 1
        if len(path) > len(best[0]):
            best[0], best[1] = list(path), dict(match)
        if len(path) >= target or steps > _SEARCH_BUDGET:
            return True
        candidates = [q for q in nb[path[-1]] if q not in on_path]
        candidates.sort(key=lambda q: ((masks.near[q] & ~blocked).bit_count(), q))
        for q in candidates:
            new_match = dict(match)
            if pairs:
                taken = on_path | {q}
                if q in new_match and not _augment(new_match.pop(q), nb, new_match, taken, set()):
                    continue
                if not _augment(q, nb, new_match, taken, set()):
                    continue
            path.append(q)
            on_path.add(q)
            room = _room(masks, q, blocked | masks.bit[q], colour, pairs)
            if len(path) + room > len(best[0]) and dfs(
                path, on_path, blocked | masks.bit[q], new_match
            ):
                return True
            path.pop()
            on_path.discard(q)
        return False

    for start in sorted(nb, key=lambda q: (len(nb[q]), q)):
        match: dict = {}
        if pairs and not _augment(start, nb, match, {start}, set()):
            continue
        if dfs([start], {start}, masks.bit[start], match):
            break
    return best[0], best[1]


@functools.cache
def _longest_comb(
    device: _Layout, avoid_outliers: bool
) -> tuple[tuple[cirq.GridQubit, ...], tuple[cirq.GridQubit, ...]]:
    nb = _neighbours(device, avoid_outliers)
    chain, match = _search(nb, _pair_bound(nb), pairs=True)
    partner = {a: b for b, a in match.items()}
    return tuple(chain), tuple(partner[a] for a in chain)


@functools.cache
def _longest_chain(device: _Layout, avoid_outliers: bool) -> tuple[cirq.GridQubit, ...]:
    nb = _neighbours(device, avoid_outliers)
    chain, _ = _search(nb, _chain_bound(nb), pairs=False)
    return tuple(chain)


def _ladder_search(nb: dict, target: int) -> tuple[list, list]:
    """Depth-first search for two chains A and B with every (A_i, B_i) coupled; returns the
    longest found (same ordering rules and pruning as :func:`_search`)."""
    best: list = [[], []]
    steps = 0
    colour = _colouring(nb)
    masks = _Masks(nb, colour)

    def dfs(a: list, b: list, used: set) -> bool:
        nonlocal steps
        steps += 1
        if len(a) > len(best[0]):
            best[0], best[1] = list(a), list(b)
        if len(a) >= target or steps > _SEARCH_BUDGET:
            return True
        candidates = [
            (v, w)
            for v in nb[a[-1]]
            if v not in used
            for w in nb[b[-1]]
            if w not in used and w != v and w in nb[v]
        ]
        free = ~masks.of(used)
        near = masks.near
        candidates.sort(
            key=lambda p: ((near[p[0]] & free).bit_count() + (near[p[1]] & free).bit_count(), p)
        )
        for v, w in candidates:
            a.append(v)
            b.append(w)
            used.update((v, w))
            counts = _reachable(masks, masks.near[v] | masks.near[w], masks.of(used))
            room = min(counts) if colour is not None else counts[0] // 2
            if len(a) + room > len(best[0]) and dfs(a, b, used):
                return True
            a.pop()
            b.pop()
            used.difference_update((v, w))
        return False

    for start in sorted(nb):
        if any(dfs([start], [partner], {start, partner}) for partner in nb[start]):
            break
    return best[0], best[1]


@functools.cache
def _longest_ladder(
    device: _Layout, avoid_outliers: bool
) -> tuple[tuple[cirq.GridQubit, ...], tuple[cirq.GridQubit, ...]]:
    nb = _neighbours(device, avoid_outliers)
    a, b = _ladder_search(nb, _pair_bound(nb))
    return tuple(a), tuple(b)


def max_pairs(device: Device, ladder: bool = False, avoid_outliers: bool = True) -> int:
    """The largest n that :func:`place_pairs` places on ``device`` (same arguments)."""
    return len((_longest_ladder if ladder else _longest_comb)(_layout(device), avoid_outliers)[0])


def max_chain(device: Device, avoid_outliers: bool = True) -> int:
    """The longest chain that :func:`place_chain` places on ``device`` (same arguments)."""
    return len(_longest_chain(_layout(device), avoid_outliers))


def _unused(device: Device, used: int, avoid_outliers: bool) -> str:
    left_out = (
        f", leaving out {len(device.outliers)} calibration-outlier qubits"
        if avoid_outliers and device.outliers
        else ""
    )
    return f"{used} of its {len(device.qubits)} qubits{left_out}"


def _larger(device: Device) -> str:
    """A hint naming the largest simulated device, unless ``device`` is it."""
    return "" if device.name == "willow_pink" else " or the larger device willow_pink"


def _check_n(n) -> int:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n <= 0:
        raise CopylearnError(f"n={n!r} must be a positive integer.")
    return int(n)


def place_pairs(
    device: Device, n: int, ladder: bool = False, avoid_outliers: bool = True
) -> tuple[list[cirq.GridQubit], list[cirq.GridQubit]]:
    """Physical qubits for copy A and copy B of an n-qubit state.

    Every (A_i, B_i) is a coupler and A_i is coupled to A_{i+1}, the layout of the Science
    experiment (copy B's qubits hang off A's chain like the teeth of a comb). The placement
    for n is the first n pairs of one longest placement, so it is the same on every call and
    qubit i sits on the same physical pair for every n.

    Parameters
    ----------
    device : Device
        From :func:`load_device`.
    n : int
        Qubits per copy.
    ladder : bool
        Also put copy B on a chain (B_i coupled to B_{i+1}), as a preparation with two-qubit
        gates between neighbouring qubits needs on both copies. Far fewer pairs fit.
    avoid_outliers : bool
        Leave out :attr:`Device.outliers` (default), as the experiment left out dead qubits.
        Largest n, comb / ladder: rainbow 8 / 4, weber 21 / 6, willow_pink 49 / 13 (with
        outliers: 8 / 4, 24 / 8, 49 / 13).

    Returns
    -------
    (list of cirq.GridQubit, list of cirq.GridQubit)
        Copy A's qubits, copy B's qubits.

    Raises
    ------
    CopylearnError
        If n pairs do not fit; the message gives the largest n that does.
    """
    n = _check_n(n)
    a, b = (_longest_ladder if ladder else _longest_comb)(_layout(device), avoid_outliers)
    if n > len(a):
        layout = "both copies on chains" if ladder else "copy A on a chain"
        raise CopylearnError(
            f"n={n} does not fit on {device.name}: at most {len(a)} Bell pairs "
            f"({_unused(device, 2 * len(a), avoid_outliers)}) can be placed with every pair "
            f"on a coupler and {layout}; use n <= {len(a)}{_larger(device)}."
        )
    return list(a[:n]), list(b[:n])


def place_chain(device: Device, n: int, avoid_outliers: bool = True) -> list[cirq.GridQubit]:
    """Physical qubits for one n-qubit copy, consecutive qubits coupled.

    The first n qubits of one longest chain, so the same on every call.

    Parameters
    ----------
    device : Device
        From :func:`load_device`.
    n : int
        Qubits.
    avoid_outliers : bool
        Leave out :attr:`Device.outliers` (default). Longest chain: rainbow 17, weber 46,
        willow_pink 99 (with outliers: 17, 49, 99).

    Returns
    -------
    list of cirq.GridQubit

    Raises
    ------
    CopylearnError
        If no chain of n qubits exists; the message gives the longest one.
    """
    n = _check_n(n)
    chain = _longest_chain(_layout(device), avoid_outliers)
    if n > len(chain):
        raise CopylearnError(
            f"n={n} does not fit on {device.name}: its longest chain of coupled qubits has "
            f"{_unused(device, len(chain), avoid_outliers)}; "
            f"use n <= {len(chain)}{_larger(device)}."
        )
    return list(chain[:n])


# --------------------------------------------------------------------------------------------
# Compilation
# --------------------------------------------------------------------------------------------


def _is_single_qubit_unitary(op: cirq.Operation) -> bool:
    if len(op.qubits) != 1 or cirq.is_measurement(op):
        return False
    names = cirq.parameter_names(op)
    probe = cirq.resolve_parameters(op, dict.fromkeys(names, 0)) if names else op
    return cirq.has_unitary(probe)


def _multilinear(values: np.ndarray, symbols: Sequence[sympy.Symbol]) -> float | sympy.Expr:
    """The multilinear polynomial in 0/1 ``symbols`` taking ``values`` at the corners.

    ``values[i]`` is the value at the corner whose bits, read most significant first, spell i
    (the order of ``itertools.product((0, 1), repeat=k)``).
    """
    k = len(symbols)
    coefficients = np.array(values, dtype=np.float64)
    for j in range(k):  # Moebius transform over the subsets of the symbols
        bit = 1 << (k - 1 - j)
        for index in range(len(coefficients)):
            if index & bit:
                coefficients[index] -= coefficients[index ^ bit]
    expression: float | sympy.Expr = 0.0
    for index, c in enumerate(coefficients):
        c = round(float(c), 12)
        if abs(c) < 1e-12:
            continue
        term = [symbols[j] for j in range(k) if index & (1 << (k - 1 - j))]
        expression = expression + (c * sympy.Mul(*term) if term else c)
    return expression


def _merge_run(qubit: cirq.Qid, run: list[cirq.Operation]) -> list[cirq.Operation]:
    """One ``PhasedXZGate`` equal (up to global phase) to ``run`` at every 0/1 setting of its
    parameters, or nothing if the run is the identity at every setting."""
    names = sorted(set().union(*(cirq.parameter_names(op) for op in run)))
    if len(names) > MAX_RUN_PARAMETERS:
        raise CopylearnError(
            f"{len(names)} parameters act on qubit {qubit} between two-qubit gates; at most "
            f"{MAX_RUN_PARAMETERS} can be compiled into one gate."
        )
    unitaries, exponents = [], []
    for bits in itertools.product((0, 1), repeat=len(names)):
        resolver = dict(zip(names, bits, strict=True))
        u = np.eye(2, dtype=complex)
        for op in run:
            u = cirq.unitary(cirq.resolve_parameters(op, resolver)) @ u
        gate = cirq.PhasedXZGate.from_matrix(u)
        unitaries.append(u)
        exponents.append((gate.x_exponent, gate.z_exponent, gate.axis_phase_exponent))
    if all(cirq.allclose_up_to_global_phase(u, np.eye(2), atol=_ATOL) for u in unitaries):
        return []
    symbols = [sympy.Symbol(name) for name in names]
    table = np.array(exponents, dtype=np.float64)
    x, z, a = (_multilinear(table[:, i], symbols) for i in range(3))
    gate = cirq.PhasedXZGate(x_exponent=x, z_exponent=z, axis_phase_exponent=a)
    return [gate.on(qubit)]


def _merge_single_qubit_gates(ops: Sequence[cirq.Operation]) -> list[cirq.Operation]:
    """Replace every run of single-qubit gates on a qubit by one ``PhasedXZGate``."""
    out: list[cirq.Operation] = []
    pending: dict[cirq.Qid, list[cirq.Operation]] = {}

    def flush(q: cirq.Qid) -> None:
        run = pending.pop(q, None)
        if run:
            out.extend(_merge_run(q, run))

    for op in ops:
        if not op.qubits:  # a global phase changes no outcome
            continue
        if _is_single_qubit_unitary(op):
            pending.setdefault(op.qubits[0], []).append(op)
            continue
        for q in op.qubits:
            flush(q)
        out.append(op)
    for q in sorted(pending):
        flush(q)
    return out


def _check_placed(circuit: cirq.Circuit, device: Device) -> None:
    stray = sorted(q for q in circuit.all_qubits() if q not in set(device.qubits))
    if stray:
        raise CopylearnError(
            f"the circuit acts on {len(stray)} qubit(s) that {device.name} does not have "
            f"(e.g. {stray[0]}): place it first with place_pairs or place_chain."
        )
    if not circuit.are_all_measurements_terminal():
        raise CopylearnError(
            "the circuit has a mid-circuit measurement: only terminal ones compile."
        )
    for op in circuit.all_operations():
        if len(op.qubits) >= 2 and cirq.is_parameterized(op):
            raise CopylearnError(
                f"{op} is a parameterised multi-qubit operation: only single-qubit gates may "
                "carry parameters."
            )
        _check_coupled(op, device)


def _check_coupled(op: cirq.Operation, device: Device) -> None:
    if len(op.qubits) == 2 and not cirq.is_measurement(op) and cirq.has_unitary(op):
        if not is_coupler(device, *op.qubits):
            raise CopylearnError(
                f"{op} acts on {op.qubits[0]} and {op.qubits[1]}, which are not coupled on "
                f"{device.name}: place the circuit so that two-qubit gates act on couplers."
            )


def compile_for_device(circuit: cirq.Circuit, device: Device) -> cirq.Circuit:
    """Compile a placed circuit to ``device``'s native gates, before noise is attached.

    Two-qubit gates go to the device's native gate (``cirq.optimize_for_target_gateset`` with
    :attr:`Device.gateset`); every run of single-qubit gates between them becomes one
    ``cirq.PhasedXZGate`` (or nothing, if it is the identity). Parameterised single-qubit
    gates stay parameterised: the merged gate's exponents are multilinear sympy polynomials in
    the run's parameters, exact (up to global phase) whenever every parameter is 0 or 1, as
    copylearn's per-shot parameters are. Other values are not supported. A parameterised gate
    stays in the circuit (and gets gate noise) even at settings where it is the identity, as
    on hardware that runs one circuit over a parameter sweep. Channels and other non-unitary
    operations are kept as they are and end a run. Single-qubit and two-qubit
    gates go into separate moments, and all measurements into one final moment.

    Parameters
    ----------
    circuit : cirq.Circuit
        On the device's qubits (see :func:`place_pairs`, :func:`place_chain`), two-qubit gates
        on couplers, measurements terminal, parameters only on single-qubit gates.
    device : Device
        From :func:`load_device`.

    Returns
    -------
    cirq.Circuit

    Raises
    ------
    CopylearnError
        Qubits the device lacks, a two-qubit gate off the couplers, a parameterised
        multi-qubit gate or a mid-circuit measurement.

    Notes
    -----
    Compilations are cached (the last :data:`COMPILE_CACHE_SIZE`) by the placed circuit, the
    device's name and its native gate: all the compilation reads. The noise (and so
    :attr:`Device.noise_scale`) is attached afterwards and is not part of the key, so a sweep
    over noise scales compiles each circuit once. Each call returns a fresh copy.
    """
    _check_placed(circuit, device)
    key = (circuit.freeze(), device.name, device.native_gate)
    with _COMPILED_LOCK:
        compiled = _COMPILED.pop(key, None)
    if compiled is None:
        compiled = _compile(circuit, device).freeze()
    with _COMPILED_LOCK:
        _COMPILED[key] = compiled  # most recently used last
        while len(_COMPILED) > COMPILE_CACHE_SIZE:
            del _COMPILED[next(iter(_COMPILED))]
    return compiled.unfreeze(copy=True)


# Compilations kept by :func:`compile_for_device`, least recently used first.
COMPILE_CACHE_SIZE = 32
_COMPILED: dict[tuple[cirq.FrozenCircuit, str, str], cirq.FrozenCircuit] = {}
_COMPILED_LOCK = threading.Lock()


def _compile(circuit: cirq.AbstractCircuit, device: Device) -> cirq.Circuit:
    """The compilation of :func:`compile_for_device` (placement already checked)."""
    measurements = [op for op in circuit.all_operations() if cirq.is_measurement(op)]
    body = cirq.Circuit(
        cirq.Moment(op for op in moment if not cirq.is_measurement(op)) for moment in circuit
    )
    try:
        body = cirq.optimize_for_target_gateset(body, gateset=device.gateset)
    except ValueError as error:
        raise CopylearnError(
            f"cannot compile the circuit to {device.native_gate} gates: {error}"
        ) from None
    ops = _merge_single_qubit_gates(list(body.all_operations()))
    native = _native_two_qubit_gate(device.native_gate)
    for op in ops:  # gates decomposed from larger ones must land on couplers too
        _check_coupled(op, device)
        if len(op.qubits) == 2 and cirq.has_unitary(op) and op.gate != native:  # pragma: no cover
            raise AssertionError(f"compilation left {op}")  # a bug, not bad input
    compiled = cirq.stratified_circuit(
        cirq.Circuit(ops),
        categories=[_is_single_qubit_unitary, lambda op: op.gate == native],
    )
    compiled = cirq.Circuit(moment for moment in compiled if moment)
    if measurements:
        compiled.append(cirq.Moment(measurements))
    return compiled


# --------------------------------------------------------------------------------------------
# Noise and metadata
# --------------------------------------------------------------------------------------------


def _thermal_as_standard_channels(gate: cirq.KrausChannel) -> tuple[cirq.Gate, cirq.Gate]:
    """``(amplitude_damp(gamma), phase_damp(lam))`` equal to a thermal relaxation channel.

    cirq's ``ThermalNoiseModel`` with a cooling (1/T1) and a dephasing (1/Tphi) rate and no
    heating gives a phase-covariant channel: population decay gamma and coherence factor
    sqrt((1 - gamma)(1 - lam)). The superoperators are compared before the swap.
    """
    kraus = cirq.kraus(gate)
    excited = np.array([[0, 0], [0, 1]], dtype=complex)
    coherence = np.array([[0, 1], [0, 0]], dtype=complex)
    gamma = float(sum(k @ excited @ k.conj().T for k in kraus)[0, 0].real)
    factor = abs(sum(k @ coherence @ k.conj().T for k in kraus)[0, 1])
    lam = float(1.0 - factor**2 / (1.0 - gamma))
    damp, dephase = cirq.amplitude_damp(gamma), cirq.phase_damp(max(lam, 0.0))
    composed = [p @ q for p in cirq.kraus(dephase) for q in cirq.kraus(damp)]
    if not np.allclose(
        cirq.kraus_to_superoperator(composed), cirq.kraus_to_superoperator(kraus), atol=1e-9
    ):  # pragma: no cover - would mean a heating rate or a non-thermal channel
        raise AssertionError(f"{gate!r} is not amplitude damping followed by phase damping")
    return damp, dephase


class DeviceNoiseModel(cirq.NoiseModel):
    """A device's calibrated ``cirq_google.NoiseModelFromGoogleNoiseProperties``, with every
    thermal ``cirq.KrausChannel`` written as the equal ``cirq.amplitude_damp`` followed by
    ``cirq.phase_damp``.

    ``cirq.KrausChannel`` defines equality but no hash, and copylearn's block executor keys
    its cache of executed block circuits by ``cirq.FrozenCircuit``, which must be hashable;
    the standard channels are hashable, JSON-serialisable and run on qsim. Nothing else
    changes: the same channels, on the same qubits, in the same order.

    Attributes
    ----------
    device_name : str
        The device it models.
    google_model : cirq_google.NoiseModelFromGoogleNoiseProperties
        The model it wraps.
    """

    def __init__(self, device: Device) -> None:
        self.device_name = device.name
        self.native_gate = device.native_gate
        self.google_model = _cirq_google().NoiseModelFromGoogleNoiseProperties(
            device.noise_properties
        )

    def __repr__(self) -> str:
        return f"copylearn.devices.DeviceNoiseModel({self.device_name!r}, {self.native_gate!r})"

    def noisy_moments(
        self, moments: Sequence[cirq.Moment], system_qubits: Sequence[cirq.Qid]
    ) -> Sequence[cirq.OP_TREE]:
        out: list[cirq.Moment] = []
        for moment in self.google_model.noisy_moments(moments, system_qubits):
            moment = cirq.Moment(moment)
            thermal = [op for op in moment if type(op.untagged.gate) is cirq.KrausChannel]
            if not thermal:
                out.append(moment)
                continue
            damps, dephasings = [], []
            for op in thermal:
                damp, dephase = _thermal_as_standard_channels(op.untagged.gate)
                damps.append(damp.on(*op.qubits).with_tags(*op.tags))
                dephasings.append(dephase.on(*op.qubits).with_tags(*op.tags))
            rest = [op for op in moment if type(op.untagged.gate) is not cirq.KrausChannel]
            out.append(cirq.Moment([*rest, *damps]))
            out.append(cirq.Moment(dephasings))
        return out


def device_noise_model(device: Device, hashable: bool = True) -> cirq.NoiseModel:
    """The calibrated noise model of ``device``.

    Attach it to a circuit from :func:`compile_for_device` (``circuit.with_noise(model)``). Per
    moment it adds a thermal (T1, Tphi) channel on every qubit for the moment's duration;
    after each gate, a depolarizing channel on its qubits and, after each two-qubit gate, the
    pair's coherent ``PhasedFSimGate`` error; before each measurement, the qubit's asymmetric
    readout error as a ``cirq.GeneralizedAmplitudeDampingChannel`` (a channel, not a
    confusion map, so qsim runs it). Each channel acts on one qubit or on the two qubits of
    one gate. ``ZPowGate``s without a ``PhysicalZTag`` are virtual and noiseless (compiled
    circuits have none).

    Parameters
    ----------
    device : Device
        From :func:`load_device`.
    hashable : bool
        ``True`` (default): a :class:`DeviceNoiseModel`, whose thermal channels are
        ``amplitude_damp`` + ``phase_damp`` (needed by the block executor). ``False``: the
        plain ``cirq_google.NoiseModelFromGoogleNoiseProperties`` (thermal noise as
        ``cirq.KrausChannel``, which cannot be hashed).

    Returns
    -------
    cirq.NoiseModel
    """
    if hashable:
        return DeviceNoiseModel(device)
    return _cirq_google().NoiseModelFromGoogleNoiseProperties(device.noise_properties)


def scale_noise(device: Device, factor: float) -> Device:
    """``device`` with every calibrated error rate multiplied by ``factor``.

    Gate Pauli errors, readout errors (both directions), the coherent FSim error angles and
    the thermal rates 1/T1 and 1/Tphi (T1 and Tphi divided by the factor) are scaled on every
    qubit the layouts may use. The calibration outliers, which no layout uses, keep their
    calibration (one weber qubit reads out wrongly half the time: scaled, it would cap the
    factor for everyone). The layout and compilation stay those of the real calibration, so
    a sweep over the factor keeps the same physical qubits.

    Raises
    ------
    CopylearnError
        ``factor`` not a positive finite number, or so large that an error probability of
        a usable qubit exceeds 1.
    """
    if (
        isinstance(factor, bool)
        or not isinstance(factor, int | float)
        or not (math.isfinite(factor) and factor > 0)
    ):
        raise CopylearnError(
            f"noise_scale={factor!r} must be a positive number (1 = the calibration as loaded)."
        )
    factor = float(factor)
    if factor == 1.0:
        return device
    props = device.noise_properties
    usable = set(device.qubits) - set(device.outliers)

    def on(qubits) -> float:
        return factor if set(qubits) <= usable else 1.0

    readout = {q: [e * on([q]) for e in errs] for q, errs in props.readout_errors.items()}
    pauli = {op: e * on(op.qubits) for op, e in props.gate_pauli_errors.items()}
    worst = max([sum(errs) for errs in readout.values()] + list(pauli.values()))
    if worst > 1:
        raise CopylearnError(
            f"noise_scale={factor:g} pushes an error probability of {device.name} to "
            f"{worst:.3g} > 1: use a smaller factor."
        )
    fsim = {}
    for op, g in props.fsim_errors.items():
        k = on(op.qubits)
        fsim[op] = cirq.PhasedFSimGate(
            theta=g.theta * k, zeta=g.zeta * k, chi=g.chi * k, gamma=g.gamma * k, phi=g.phi * k
        )
    try:
        scaled = dataclasses.replace(
            props,
            t1_ns={q: t / on([q]) for q, t in props.t1_ns.items()},
            tphi_ns={q: t / on([q]) for q, t in props.tphi_ns.items()},
            readout_errors=readout,
            gate_pauli_errors=pauli,
            fsim_errors=fsim,
        )
        _cirq_google().NoiseModelFromGoogleNoiseProperties(scaled)  # builds every channel
    except ValueError as exc:
        raise CopylearnError(
            f"noise_scale={factor:g} gives {device.name} invalid noise ({exc}): use a smaller "
            "factor."
        ) from None
    return dataclasses.replace(
        device, noise_properties=scaled, noise_scale=device.noise_scale * factor
    )


def device_metadata(device: Device) -> dict[str, Any]:
    """Dataset metadata: the device, its native gate, calibration date and noise properties.

    ``"noise_properties"`` is ``cirq.to_json`` text; ``cirq.read_json(json_text=...)`` (with
    cirq-google installed) gives back the ``GoogleNoiseProperties``.
    """
    return {
        "device": device.name,
        "native_gate": device.native_gate,
        "calibration_date": device.calibration_date,
        "calibration_timestamp_ms": device.calibration_timestamp_ms,
        "outlier_qubits": [str(q) for q in device.outliers],
        "noise_scale": device.noise_scale,
        "noise_properties": cirq.to_json(device.noise_properties),
    }
