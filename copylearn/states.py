"""Unknown states: what a learner is handed, one copy per experiment.

A state gives a Cirq circuit that prepares one copy on given qubits, possibly with
per-shot classical randomness. That randomness lives in the circuit's parameters
(sympy symbols); :meth:`sample_parameters` draws one row of values per shot, so all
shots share one parameterised circuit executed as a parameter sweep. Averaged over
the parameter distribution the circuit prepares the state's density matrix.

For small n every state also gives :meth:`density_matrix`, computed by a path that does
not touch the simulators (closed form, or plain NumPy Kraus evolution).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import reduce
from pathlib import Path

import cirq
import numpy as np
import sympy

from copylearn import streams
from copylearn.errors import CopylearnError
from copylearn.streams import PackedColumns

MAX_DENSITY_MATRIX_QUBITS = 10
_PAULI_MATRICES = {
    "I": np.eye(2, dtype=complex),
    "X": np.array([[0, 1], [1, 0]], dtype=complex),
    "Y": np.array([[0, -1j], [1j, 0]], dtype=complex),
    "Z": np.array([[1, 0], [0, -1]], dtype=complex),
}


def pauli_matrix(label: str) -> np.ndarray:
    """Dense matrix of a Pauli label such as ``"XYZ"`` (qubit 0 is the leftmost factor)."""
    return reduce(np.kron, (_PAULI_MATRICES[c] for c in label), np.eye(1, dtype=complex))


def _label(pauli: object) -> str:
    """A Pauli label argument as an upper-case string (a clear error for other types)."""
    if not isinstance(pauli, str):
        raise CopylearnError(
            f"Pauli {pauli!r} is a {type(pauli).__name__}, not a string: give a label such as "
            "'XYZI'."
        )
    return pauli.strip().upper()


def _check_density_matrix_size(n: int) -> None:
    if n > MAX_DENSITY_MATRIX_QUBITS:
        raise CopylearnError(
            f"density_matrix() is limited to n <= {MAX_DENSITY_MATRIX_QUBITS} qubits (got {n}): "
            "estimate observables from collected data instead."
        )


@dataclass(frozen=True)
class PauliMixedState:
    """The state (I + alpha * sign * P) / 2^n of the Science 2022 experiment.

    Prepared as ReCirq's ``create_randomized_sweeps`` does (docs/theory.md §2.2): per shot, draw a
    target parity ``sign`` with probability (1 + alpha)/2 (else ``-sign``), uniform X flips
    with the last support site of P fixed so that the P-eigenvalue equals the target, then
    rotate each qubit into the eigenbasis of P_i.

    Parameters
    ----------
    pauli : str
        A non-identity Pauli label such as ``"XYZI"``.
    alpha : float
        Bias in (0, 1]; the Science experiment used 0.9.
    sign : int
        +1 or -1.
    """

    pauli: str
    alpha: float = 0.9
    sign: int = 1

    def __post_init__(self) -> None:
        label = _label(self.pauli)
        bad = sorted({c for c in label if c not in "IXYZ"})
        if not label or bad:
            raise CopylearnError(
                f"Pauli {self.pauli!r} has unknown letters {''.join(bad) or '(empty)'}: "
                "use one of I, X, Y, Z per qubit, e.g. 'XYZI'."
            )
        if set(label) == {"I"}:
            raise CopylearnError(
                f"Pauli {self.pauli!r} is the identity, for which (I + alpha*s*P)/2^n is not a "
                "state: give a string with at least one X, Y or Z."
            )
        try:
            if isinstance(self.alpha, bool):
                raise TypeError
            alpha = float(self.alpha)
        except (TypeError, ValueError):
            raise CopylearnError(
                f"alpha={self.alpha!r} is not a number: use 0 < alpha <= 1."
            ) from None
        if not 0 < alpha <= 1:
            raise CopylearnError(f"alpha={self.alpha!r} is outside (0, 1]: use 0 < alpha <= 1.")
        if isinstance(self.sign, bool) or self.sign not in (1, -1):
            raise CopylearnError(f"sign={self.sign!r} must be +1 or -1.")
        object.__setattr__(self, "pauli", label)
        object.__setattr__(self, "alpha", alpha)
        object.__setattr__(self, "sign", int(self.sign))

    @property
    def n(self) -> int:
        """Number of qubits."""
        return len(self.pauli)

    @property
    def parameter_names(self) -> tuple[str, ...]:
        """Per-shot parameters: an X-flip exponent per qubit, then the eigenbasis turns.

        The turns ``H**turn_h{i}`` and ``S**turn_s{i}`` encode P itself ((1, 0) for X,
        (1, 1) for Y, (0, 0) for Z and I) as constant columns, so every Pauli state on n
        qubits shares one parameterised circuit.
        """
        return _pauli_parameter_names(self.n)

    def turn_values(self) -> np.ndarray:
        """The constant turn parameters ``(turn_h..., turn_s...)`` of P, ``(2n,)`` uint8."""
        return _turn_values(self.pauli)

    def prep_circuit(self, qubits: Sequence[cirq.Qid], prefix: str = "") -> cirq.Circuit:
        """The parameterised preparation circuit on ``qubits`` (symbols ``prefix + name``).

        X**flip, then H**turn_h, then S**turn_s on every qubit: |b> goes to the (-1)^b
        eigenvector of P_i (H for X, S.H for Y, nothing for Z and I).
        """
        return _pauli_prep_circuit(_check_qubits(qubits, self.n), prefix)

    def sample_parameters(self, rng: np.random.Generator, shots: int) -> np.ndarray:
        """Draw per-shot parameters: ``(shots, 3n)`` uint8, X-flip bits then the turns.

        The flip bits follow docs/theory.md §2.2: uniform bits with the last support site of P
        fixed so that the P-eigenvalue equals a target parity that is ``sign`` with
        probability (1 + alpha)/2.
        """
        bits = rng.integers(0, 2, size=(shots, self.n), dtype=np.uint8)
        support = [i for i, p in enumerate(self.pauli) if p != "I"]
        keep_sign = rng.random(shots) < (1.0 + self.alpha) / 2.0
        target_odd = keep_sign == (self.sign < 0)  # target P-eigenvalue is -1
        others = bits[:, support[:-1]].sum(axis=1) & 1
        bits[:, support[-1]] = (others ^ target_odd).astype(np.uint8)
        turns = np.broadcast_to(self.turn_values(), (shots, 2 * self.n))
        return np.concatenate([bits, turns], axis=1)

    def sample_packed(self, rng: np.random.Generator, shots: int) -> PackedColumns:
        """The columns of :meth:`sample_parameters`, drawn with stream 2, bit-packed.

        The flips are :func:`copylearn.streams.random_bits` (one raw word per 64 qubits and
        shot), then one float64 uniform per shot for the sign coin (as in stream 1); the
        last support site is set so that the P-eigenvalue is the target (docs/theory.md
        §2.2, §15).
        """
        n = self.n
        flips = streams.random_bits(rng, shots, n)
        keep_sign = rng.random(shots) < (1.0 + self.alpha) / 2.0
        target_odd = keep_sign == (self.sign < 0)
        support = [i for i, p in enumerate(self.pauli) if p != "I"]
        last = support[-1]
        others = np.zeros(n, dtype=np.uint8)
        others[support[:-1]] = 1
        others_mask = streams.constant_row(others)
        odd = (np.bitwise_count(flips & others_mask).sum(axis=1) & 1).astype(bool) ^ target_odd
        word, bit = divmod(last, 64)
        flips[:, word] &= ~np.uint64(1 << bit)
        flips[:, word] |= odd.astype(np.uint64) << np.uint64(bit)
        return _with_turns(flips, n, self.turn_values())

    def density_matrix(self) -> np.ndarray:
        """(I + alpha * sign * P) / 2^n in closed form (n <= 10)."""
        _check_density_matrix_size(self.n)
        d = 2**self.n
        return (np.eye(d) + self.alpha * self.sign * pauli_matrix(self.pauli)) / d

    def spec(self) -> str:
        """The state's spec string, as the CLI takes it: ``pauli:LABEL:ALPHA:SIGN``."""
        return f"pauli:{self.pauli}:{self.alpha:g}:{self.sign:+d}"


def _with_turns(flips: np.ndarray, n: int, turns: np.ndarray) -> PackedColumns:
    """Packed flips (columns 0..n-1), then the constant turns (columns n..3n-1) from the
    next word on."""
    constant = PackedColumns.constant(turns, flips.shape[0])
    return PackedColumns.join([PackedColumns(flips, n), constant])


def _pauli_parameter_names(n: int) -> tuple[str, ...]:
    return (
        tuple(f"flip{i}" for i in range(n))
        + tuple(f"turn_h{i}" for i in range(n))
        + tuple(f"turn_s{i}" for i in range(n))
    )


def _turn_values(label: str) -> np.ndarray:
    h = [1 if p in "XY" else 0 for p in label]
    s = [1 if p == "Y" else 0 for p in label]
    return np.array(h + s, dtype=np.uint8)


def _pauli_prep_circuit(qubits: list[cirq.Qid], prefix: str) -> cirq.Circuit:
    """X**flip, H**turn_h, S**turn_s on every qubit (symbols ``prefix + name``)."""
    n = len(qubits)
    names = _pauli_parameter_names(n)
    gates = [cirq.X] * n + [cirq.H] * n + [cirq.S] * n
    return cirq.Circuit(
        cirq.Moment(
            gates[k](qubits[k % n]) ** sympy.Symbol(prefix + names[k])
            for k in range(layer * n, (layer + 1) * n)
        )
        for layer in range(3)
    )


@dataclass(frozen=True)
class PauliEigenstate:
    """A product of Pauli eigenstates: qubit i in an eigenstate of the letter ``pauli[i]``.

    Prepared by the same parameterised circuit as :class:`PauliMixedState` (the flips choose
    the eigenvalue), so it shares a collector with every Pauli state on n qubits.

    Parameters
    ----------
    pauli : str
        One of X, Y, Z per qubit, e.g. ``"ZZZ"``.
    sign : int
        +1 or -1: every qubit in that eigenstate, every shot (tr(L_i rho) = sign). 0: every
        qubit of every copy in a uniformly random eigenstate drawn per shot (so rho = I/2^n
        on average); :mod:`copylearn.calibration` reads the drawn signs back from the
        parameters (``Collector.sample_many(..., with_values=True)``) and so knows each
        shot's state.
    """

    pauli: str
    sign: int = 1

    def __post_init__(self) -> None:
        label = _label(self.pauli)
        if not label or set(label) - set("XYZ"):
            raise CopylearnError(
                f"eigenstate letters {self.pauli!r} must be X, Y or Z per qubit, e.g. 'ZZZ'."
            )
        if isinstance(self.sign, bool) or self.sign not in (1, -1, 0):
            raise CopylearnError(f"sign={self.sign!r} must be +1, -1 or 0 (random per shot).")
        object.__setattr__(self, "pauli", label)

    @property
    def n(self) -> int:
        """Number of qubits."""
        return len(self.pauli)

    @property
    def parameter_names(self) -> tuple[str, ...]:
        """The parameters of :attr:`PauliMixedState.parameter_names`."""
        return _pauli_parameter_names(self.n)

    def prep_circuit(self, qubits: Sequence[cirq.Qid], prefix: str = "") -> cirq.Circuit:
        """The :class:`PauliMixedState` preparation circuit on ``qubits``."""
        return _pauli_prep_circuit(_check_qubits(qubits, self.n), prefix)

    def sample_parameters(self, rng: np.random.Generator, shots: int) -> np.ndarray:
        """Flips (all ``sign == -1``, or uniform bits for sign 0), then the letters' turns."""
        if self.sign == 0:
            flips = rng.integers(0, 2, size=(shots, self.n), dtype=np.uint8)
        else:
            flips = np.full((shots, self.n), 1 if self.sign < 0 else 0, dtype=np.uint8)
        turns = np.broadcast_to(_turn_values(self.pauli), (shots, 2 * self.n))
        return np.concatenate([flips, turns], axis=1)

    def sample_packed(self, rng: np.random.Generator, shots: int) -> PackedColumns:
        """The columns of :meth:`sample_parameters` drawn with stream 2, bit-packed (sign 0:
        :func:`copylearn.streams.random_bits`; otherwise nothing is drawn)."""
        n = self.n
        if self.sign == 0:
            flips = streams.random_bits(rng, shots, n)
        else:
            flips = np.zeros((shots, streams.n_words(n)), dtype=np.uint64)
            if self.sign < 0:
                flips |= streams.constant_row(np.ones(n, dtype=np.uint8))
        return _with_turns(flips, n, _turn_values(self.pauli))

    def density_matrix(self) -> np.ndarray:
        """The product of (I + sign * L_i)/2 (n <= 10)."""
        _check_density_matrix_size(self.n)
        return reduce(
            np.kron,
            ((np.eye(2) + self.sign * _PAULI_MATRICES[c]) / 2 for c in self.pauli),
            np.eye(1, dtype=complex),
        )

    def spec(self) -> str:
        """``eigenstate:LABEL:SIGN``."""
        return f"eigenstate:{self.pauli}:{self.sign:+d}"


@dataclass(frozen=True)
class CircuitState:
    """Any Cirq circuit without measurements: unitary gates and noise channels alike.

    The circuit's qubits, in sorted order, are the state's qubits 0..n-1.

    Parameters
    ----------
    circuit : cirq.Circuit
        A circuit with no measurements and no unresolved parameters.
    name : str
        A short label recorded in dataset metadata.
    """

    circuit: cirq.Circuit
    name: str = "circuit"
    qubits: tuple[cirq.Qid, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        circuit = self.circuit
        if isinstance(circuit, cirq.FrozenCircuit):
            circuit = circuit.unfreeze()
        if not isinstance(circuit, cirq.Circuit):
            raise CopylearnError(
                f"CircuitState needs a cirq.Circuit, got {type(circuit).__name__}."
            )
        # Flatten sub-circuits (with their repetitions) so every operation has Kraus operators.
        circuit = cirq.unroll_circuit_op(circuit, deep=True, tags_to_check=None)
        if not circuit.all_qubits():
            raise CopylearnError("the circuit acts on no qubits: add at least one operation.")
        if circuit.has_measurements():
            raise CopylearnError(
                "the state circuit contains measurements: remove them; the protocol adds its own."
            )
        if cirq.is_parameterized(circuit):
            raise CopylearnError(
                "the state circuit has unresolved parameters: resolve them with "
                "cirq.resolve_parameters first."
            )
        if any(q.dimension != 2 for q in circuit.all_qubits()):
            raise CopylearnError("the state circuit must act on qubits (dimension 2) only.")
        if not isinstance(self.name, str) or not self.name.strip():
            raise CopylearnError(
                f"name={self.name!r}: give the state a non-empty string name, e.g. 'ghz3'."
            )
        object.__setattr__(self, "circuit", circuit)
        object.__setattr__(self, "qubits", tuple(sorted(circuit.all_qubits())))

    @property
    def n(self) -> int:
        """Number of qubits."""
        return len(self.qubits)

    @property
    def parameter_names(self) -> tuple[str, ...]:
        """A circuit state has no per-shot parameters."""
        return ()

    def prep_circuit(self, qubits: Sequence[cirq.Qid], prefix: str = "") -> cirq.Circuit:
        """The circuit moved onto ``qubits`` (qubit i of the state goes to ``qubits[i]``)."""
        qubits = _check_qubits(qubits, self.n)
        mapping = dict(zip(self.qubits, qubits, strict=True))
        return self.circuit.transform_qubits(lambda q: mapping[q])

    def sample_parameters(self, rng: np.random.Generator, shots: int) -> np.ndarray:
        """No per-shot randomness: a ``(shots, 0)`` array."""
        return np.zeros((shots, 0), dtype=np.uint8)

    def density_matrix(self) -> np.ndarray:
        """Exact density matrix by NumPy Kraus evolution of |0...0> (n <= 10).

        This path uses only ``cirq.kraus`` of each operation, not a Cirq simulator.
        """
        _check_density_matrix_size(self.n)
        index = {q: i for i, q in enumerate(self.qubits)}
        n = self.n
        rho = np.zeros((2,) * (2 * n), dtype=complex)
        rho[(0,) * (2 * n)] = 1.0
        for op in self.circuit.all_operations():
            axes = [index[q] for q in op.qubits]
            rho = _apply_kraus(rho, cirq.kraus(op), axes, n)
        return rho.reshape(2**n, 2**n)

    def spec(self) -> str:
        """A short description for metadata."""
        return f"circuit:{self.name}"


def _check_qubits(qubits: Sequence[cirq.Qid], n: int) -> list[cirq.Qid]:
    qubits = list(qubits)
    if len(qubits) != n:
        raise CopylearnError(f"the state has {n} qubits but {len(qubits)} were given to place it.")
    return qubits


def _apply_kraus(
    rho: np.ndarray, kraus: Sequence[np.ndarray], axes: list[int], n: int
) -> np.ndarray:
    """Apply the channel sum_k K rho K^dagger on tensor axes ``axes`` of a (2,)*2n tensor."""
    k = len(axes)
    out = np.zeros_like(rho)
    col_axes = [n + a for a in axes]
    for op in kraus:
        t = np.asarray(op, dtype=complex).reshape((2,) * (2 * k))
        left = np.tensordot(t, rho, axes=(list(range(k, 2 * k)), axes))
        left = np.moveaxis(left, list(range(k)), axes)
        right = np.tensordot(t.conj(), left, axes=(list(range(k, 2 * k)), col_axes))
        out += np.moveaxis(right, list(range(k)), col_axes)
    return out


def _random_single_qubit_layer(qubits: Sequence[cirq.Qid], rng: np.random.Generator) -> cirq.Moment:
    return cirq.Moment(
        cirq.PhasedXZGate(
            x_exponent=rng.uniform(0, 2),
            z_exponent=rng.uniform(0, 2),
            axis_phase_exponent=rng.uniform(0, 2),
        ).on(q)
        for q in qubits
    )


def random_product_state(n: int, seed: int | np.random.Generator | None = None) -> CircuitState:
    """A random pure product state: one random single-qubit gate per qubit on |0...0>.

    Raises
    ------
    CopylearnError
        ``n`` is not an integer in [1, MAX_RANDOM_QUBITS], or ``seed`` is not None, a
        non-negative integer or a NumPy generator.
    """
    n = _check_n(n)
    rng = _rng(seed)
    qubits = cirq.LineQubit.range(n)
    return CircuitState(
        cirq.Circuit(_random_single_qubit_layer(qubits, rng)), name="random-product"
    )


def random_brickwork_state(
    n: int, depth: int = 3, seed: int | np.random.Generator | None = None
) -> CircuitState:
    """A random entangled pure state: ``depth`` layers of random 1-qubit gates and CZs.

    Raises
    ------
    CopylearnError
        ``n`` is not an integer in [1, MAX_RANDOM_QUBITS], ``depth`` not an integer in
        [1, MAX_RANDOM_DEPTH], or ``seed`` not None, a non-negative integer or a generator.
    """
    n = _check_n(n)
    depth = _check_depth(depth)
    rng = _rng(seed)
    qubits = cirq.LineQubit.range(n)
    moments = []
    for layer in range(depth):
        moments.append(_random_single_qubit_layer(qubits, rng))
        pairs = [(qubits[i], qubits[i + 1]) for i in range(layer % 2, n - 1, 2)]
        if pairs:
            moments.append(cirq.Moment(cirq.CZ(a, b) for a, b in pairs))
    moments.append(_random_single_qubit_layer(qubits, rng))
    return CircuitState(cirq.Circuit(moments), name=f"random-brickwork-d{depth}")


def random_mixed_state(
    n: int, depth: int = 2, seed: int | np.random.Generator | None = None
) -> CircuitState:
    """A random mixed state: a random brickwork interleaved with random-strength
    amplitude-damping and depolarizing channels.

    Raises
    ------
    CopylearnError
        As :func:`random_brickwork_state`.
    """
    n = _check_n(n)
    depth = _check_depth(depth)
    rng = _rng(seed)
    pure = random_brickwork_state(n, depth=depth, seed=rng)
    qubits = cirq.LineQubit.range(n)
    moments = list(pure.circuit.moments)
    noisy = []
    for moment in moments:
        noisy.append(moment)
        noisy.append(cirq.Moment(cirq.amplitude_damp(rng.uniform(0.05, 0.4)).on(q) for q in qubits))
    noisy.append(cirq.Moment(cirq.depolarize(rng.uniform(0.05, 0.3)).on(q) for q in qubits))
    noisy.append(_random_single_qubit_layer(qubits, rng))
    return CircuitState(cirq.Circuit(noisy), name=f"random-mixed-d{depth}")


# Bounds of the random-state constructors: beyond them building the circuit alone would take
# minutes, and no simulator path could run it.
MAX_RANDOM_QUBITS = 10_000
MAX_RANDOM_DEPTH = 1_000


def _check_n(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n <= 0:
        raise CopylearnError(f"n={n!r} must be a positive integer number of qubits.")
    if n > MAX_RANDOM_QUBITS:
        raise CopylearnError(
            f"n={n!r} is more than the {MAX_RANDOM_QUBITS} qubits a random state may have: "
            "use a smaller n."
        )
    return int(n)


def _check_depth(depth: int) -> int:
    if isinstance(depth, bool) or not isinstance(depth, int | np.integer):
        raise CopylearnError(f"depth={depth!r} must be an integer number of layers, e.g. 3.")
    if not 1 <= depth <= MAX_RANDOM_DEPTH:
        raise CopylearnError(
            f"depth={depth!r} is outside [1, {MAX_RANDOM_DEPTH}]: give the number of "
            "entangling layers, e.g. 3."
        )
    return int(depth)


def _rng(seed: object) -> np.random.Generator:
    """``numpy.random.default_rng(seed)`` with a one-line error for a bad seed."""
    if isinstance(seed, np.random.Generator | np.random.SeedSequence | np.random.BitGenerator):
        return np.random.default_rng(seed)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int | np.integer)):
        raise CopylearnError(
            f"seed={seed!r} must be None, a non-negative integer or a numpy.random.Generator."
        )
    if seed is not None and seed < 0:
        raise CopylearnError(f"seed={seed!r} is negative: use a non-negative integer.")
    return np.random.default_rng(seed)


def load_circuit(path: str) -> cirq.Circuit:
    """Read a circuit saved with ``cirq.to_json`` (a clear error for anything else)."""
    import json

    if isinstance(path, bytes) or not isinstance(path, str | os.PathLike):
        raise CopylearnError(f"circuit file {path!r} is not a path: give a file name.")
    path = os.fspath(path)
    file = Path(path)
    if file.is_dir():
        raise CopylearnError(
            f"circuit file {path!r} is a directory: give a JSON file written by "
            "cirq.to_json(circuit, path)."
        )
    if not file.is_file():
        raise CopylearnError(f"circuit file {path!r} does not exist: check the path.")
    try:
        loaded = cirq.read_json(file)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise CopylearnError(
            f"circuit file {path!r} is not JSON: save the circuit with cirq.to_json(circuit, path)."
        ) from None
    except Exception as exc:  # cirq raises many types for JSON it cannot resolve
        raise CopylearnError(
            f"circuit file {path!r} is JSON but not a Cirq object ({exc.__class__.__name__}): "
            "save the circuit with cirq.to_json(circuit, path)."
        ) from None
    if isinstance(loaded, cirq.FrozenCircuit):
        loaded = loaded.unfreeze()
    if not isinstance(loaded, cirq.Circuit):
        raise CopylearnError(
            f"circuit file {path!r} holds a {type(loaded).__name__}, not a cirq.Circuit."
        )
    return loaded
