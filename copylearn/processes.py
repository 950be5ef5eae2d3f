"""Unknown processes: seeded families of n-qubit unitaries U that a protocol queries.

A :class:`Process` is a :class:`copylearn.states.CircuitState` whose circuit is read as the
unitary U on qubits 0..n-1 rather than as the state U|0...0>: the collector and the sweep
runner handle it like any per-instance circuit (one plan per distinct circuit), and a
protocol decides how often and where it applies U (``two-query-bell`` queries it twice,
``conventional-y`` once, on |0...0>). Every random parameter is drawn from the generator it
is given (a copylearn seed stream, :mod:`copylearn.seeding`) and recorded in
:attr:`Process.parameters`, which ``collect`` writes to ``metadata["process"]``.

Families (docs/theory.md §18.1), on ``cirq.LineQubit(0..n-1)``:

* ``tsym``: a 1D brickwork of ``depth`` layers; layer t acts on pairs (i, i+1) with i even (t
  even) or odd (t odd); each block applies Y^{t1} (x) Y^{t2} with t1, t2 uniform in [0, 4),
  then the fixed real orthogonal two-qubit gate :func:`orthogonal_block` (CZ then H (x) H).
  Y^t is a global phase times a real rotation, so U* = e^{i theta} U (time-reversal
  symmetric);
* ``scrambling``: the same brickwork; each block applies to each qubit sqrt(X) (t <= 4/3),
  sqrt(Y) (t <= 8/3) or sqrt(W) = PhasedXZ(a=1/4, x=1/2, z=0) (else), then a Sycamore gate
  FSim(pi/2, pi/6);
* ``haar-orthogonal`` and ``haar-unitary``: one dense ``cirq.MatrixGate`` on all n qubits,
  Haar-random in O(2^n) or U(2^n) (n <= :data:`MAX_DENSE_QUBITS`).

The brickwork families follow the block structure of ReCirq's ``qml_lfe`` generator
(``block_1d_circuit`` with ``tsym_block`` / ``scrambling_block``, Huang et al., Science 376,
1182 (2022)): the block parameters are a ``(depth * n, 2)`` array of uniforms in [0, 4)
consumed row by row, one row per block in layer order. ReCirq draws that array from NumPy's
global generator and saves it nowhere; here it comes from the given stream and is recorded.
ReCirq's own time-symmetric two-qubit gate is a compiled dense orthogonal matrix that is not
reproduced here: ours is a different fixed real orthogonal entangling gate (the property
U* = U up to phase is what the task needs, docs/theory.md §18.1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cirq
import numpy as np

from copylearn.errors import CopylearnError
from copylearn.states import CircuitState


def query_protocol_notes(keys) -> dict[str, str]:
    """``Protocol.unsupported_notes`` of a protocol whose data are queries of a unitary U
    (``two-query-bell``, ``conventional-y``): the same reason for every key in ``keys``."""
    why = (
        " (its data are outcomes of queries of a unitary, judged by the time-reversal "
        "task's own rules, docs/theory.md §18)"
    )
    return dict.fromkeys(keys, why)


#: Process families, by name.
FAMILIES = ("tsym", "scrambling", "haar-orthogonal", "haar-unitary")
#: Families whose U is a brickwork of two-qubit blocks (need n >= 2).
BRICKWORK = ("tsym", "scrambling")
#: Families whose U satisfies U* = e^{i theta} U.
SYMMETRIC = ("tsym", "haar-orthogonal")
#: Largest n of the dense Haar families (one 2^n x 2^n ``cirq.MatrixGate``).
MAX_DENSE_QUBITS = 6
#: The Sycamore gate, FSim(theta = pi/2, phi = pi/6) (cirq_google.SycamoreGate()).
SYCAMORE = cirq.FSimGate(theta=np.pi / 2, phi=np.pi / 6)
#: sqrt(W), W = (X + Y)/sqrt(2): ReCirq's third single-qubit choice.
SQRT_W = cirq.PhasedXZGate(axis_phase_exponent=0.25, x_exponent=0.5, z_exponent=0.0)


@dataclass(frozen=True)
class Process(CircuitState):
    """A unitary process U given as a Cirq circuit on ``LineQubit(0..n-1)``.

    Parameters
    ----------
    circuit : cirq.Circuit
        U, without measurements or unresolved parameters.
    name : str
        The family name (recorded as ``circuit:<name>`` in ``metadata["state"]``).
    parameters : dict
        Everything that fixes U given its family (JSON-serialisable): ``family``, ``n``,
        ``depth`` and ``random_source`` (the ``(depth * n, 2)`` block parameters) for the
        brickwork families; ``family`` and ``n`` for the dense ones (the matrix is in the
        recorded circuit). ``collect`` writes it to ``metadata["process"]``.
    """

    parameters: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def symmetric(self) -> bool:
        """Whether the family is time-reversal symmetric (U* = U up to a global phase)."""
        return self.parameters.get("family") in SYMMETRIC


def orthogonal_block(a: cirq.Qid, b: cirq.Qid) -> list[cirq.Operation]:
    """The fixed real orthogonal two-qubit gate of the ``tsym`` blocks: CZ, then H (x) H.

    Its 4 x 4 matrix is real with every entry +-1/2 (dense) and it entangles.
    """
    return [cirq.CZ(a, b), cirq.H(a), cirq.H(b)]


def _scrambling_single(q: cirq.Qid, t: float) -> cirq.Operation:
    if t <= 4 / 3:
        return (cirq.X**0.5).on(q)
    if t <= 8 / 3:
        return (cirq.Y**0.5).on(q)
    return SQRT_W.on(q)


def brickwork(family: str, n: int, depth: int, random_source: np.ndarray) -> cirq.Circuit:
    """The brickwork circuit of ``family`` with block parameters ``random_source``.

    Parameters
    ----------
    family : {"tsym", "scrambling"}
    n : int
        Qubits (>= 2).
    depth : int
        Layers (>= 1).
    random_source : np.ndarray
        ``(depth * n, 2)`` floats in [0, 4); block k of the circuit (layer order, left to
        right) takes row k.

    Raises
    ------
    CopylearnError
        Unknown family, n < 2, depth < 1, or a ``random_source`` of the wrong shape.
    """
    if family not in BRICKWORK:
        raise CopylearnError(f"family={family!r} is not a brickwork: use 'tsym' or 'scrambling'.")
    if n < 2 or depth < 1:
        raise CopylearnError(f"a brickwork needs n >= 2 and depth >= 1 (got n={n}, depth={depth}).")
    source = np.asarray(random_source, dtype=np.float64)
    if source.shape != (depth * n, 2):
        raise CopylearnError(
            f"random_source has shape {source.shape}, need ({depth * n}, 2) for n={n}, "
            f"depth={depth}."
        )
    qubits = cirq.LineQubit.range(n)
    circuit = cirq.Circuit()
    row = 0
    for layer in range(depth):
        for i in range(layer % 2, n - 1, 2):
            a, b = qubits[i], qubits[i + 1]
            t1, t2 = source[row]
            row += 1
            if family == "tsym":
                singles = [(cirq.Y**t1).on(a), (cirq.Y**t2).on(b)]
                circuit.append(singles + orthogonal_block(a, b))
            else:
                singles = [_scrambling_single(a, t1), _scrambling_single(b, t2)]
                circuit.append([*singles, SYCAMORE.on(a, b)])
    return circuit


def haar_orthogonal(dim: int, rng: np.random.Generator) -> np.ndarray:
    """A Haar-random ``(dim, dim)`` real orthogonal matrix: QR of a real Gaussian matrix with
    the signs of R's diagonal moved into Q (Mezzadri, Notices AMS 54, 592 (2007))."""
    q, r = np.linalg.qr(rng.standard_normal((dim, dim)))
    return q * np.sign(np.diagonal(r))[None, :]


def sample_process(
    family: str, n: int, rng: np.random.Generator, *, depth: int | None = None
) -> Process:
    """One process of ``family`` on n qubits, every random choice drawn from ``rng``.

    Parameters
    ----------
    family : str
        One of :data:`FAMILIES`.
    n : int
        Qubits: >= 2 for the brickwork families, 1..:data:`MAX_DENSE_QUBITS` for the dense ones.
    rng : numpy.random.Generator
        A copylearn seed stream; the same stream gives the same process.
    depth : int, optional
        Brickwork layers (default 2n; docs/theory.md §18.3 on why the light cone must cover
        the chain). Ignored by the dense families.

    Raises
    ------
    CopylearnError
        Unknown family, or n or depth out of range (one line with the fix).
    """
    if family not in FAMILIES:
        raise CopylearnError(
            f"unknown process family {family!r}: use one of {', '.join(FAMILIES)}."
        )
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise CopylearnError(f"n={n!r} must be a positive integer.")
    n = int(n)
    if family in BRICKWORK:
        depth = 2 * n if depth is None else depth
        if n < 2:
            raise CopylearnError(
                f"family {family!r} is a brickwork of two-qubit blocks: use n >= 2."
            )
        if isinstance(depth, bool) or not isinstance(depth, int | np.integer) or depth < 1:
            raise CopylearnError(f"depth={depth!r} must be a positive integer (default 2n).")
        source = rng.uniform(0.0, 4.0, size=(int(depth) * n, 2))
        circuit = brickwork(family, n, int(depth), source)
        parameters = {
            "family": family,
            "n": n,
            "depth": int(depth),
            "random_source": source.tolist(),
        }
        return Process(circuit, name=family, parameters=parameters)
    if n > MAX_DENSE_QUBITS:
        raise CopylearnError(
            f"family {family!r} is one dense 2^n x 2^n gate, limited to n <= {MAX_DENSE_QUBITS} "
            f"(got n = {n}): use 'tsym' or 'scrambling'."
        )
    dim = 2**n
    if family == "haar-orthogonal":
        matrix = haar_orthogonal(dim, rng).astype(complex)
    else:
        from copylearn.tasks.purity_testing import haar_unitary

        matrix = haar_unitary(dim, rng)
    circuit = cirq.Circuit(cirq.MatrixGate(matrix).on(*cirq.LineQubit.range(n)))
    return Process(circuit, name=family, parameters={"family": family, "n": n})


def unitary(process: Process) -> np.ndarray:
    """U as a ``(2^n, 2^n)`` matrix (Cirq's big-endian order; for tests and theory only)."""
    return cirq.unitary(process.circuit)


#: The CLI's process forms (``copylearn collect --process``), for messages.
PROCESS_FORMS = (
    "FAMILY:n=N,seed=S[,depth=D] (FAMILY one of tsym, scrambling, haar-orthogonal, "
    "haar-unitary; depth of the brickworks, default 2n) or circuit:FILE (U saved with "
    "cirq.to_json)"
)


def parse_process(spec: str) -> Process:
    """A process from its command-line form, e.g. ``tsym:n=4,depth=8,seed=7``.

    ``FAMILY:n=N,seed=S[,depth=D]`` draws U of ``FAMILY`` with :func:`sample_process` from
    ``numpy.random.default_rng(S)`` (the same S gives the same U; S is recorded in
    :attr:`Process.parameters` beside the block parameters); ``circuit:FILE`` reads U from a
    circuit saved with ``cirq.to_json`` (no measurements, no symbols).

    Raises
    ------
    CopylearnError
        An unknown family, a missing or malformed key, a key the family does not take, or an
        unreadable circuit file (one line with the form to use).
    """
    from pathlib import Path

    from copylearn.states import load_circuit

    family, _, rest = str(spec).partition(":")
    if family == "circuit" and rest:
        circuit = load_circuit(rest)
        n = len(circuit.all_qubits())
        if circuit.all_qubits() != set(cirq.LineQubit.range(n)):
            raise CopylearnError(
                f"process {spec!r}: U must act on cirq.LineQubit(0..n-1); save it on those qubits."
            )
        if cirq.is_measurement(circuit) or cirq.is_parameterized(circuit):
            raise CopylearnError(
                f"process {spec!r}: U must have no measurements and no symbols (the protocol "
                "adds its own measurement)."
            )
        return Process(circuit, name=Path(rest).name, parameters={"file": Path(rest).name, "n": n})
    if family not in FAMILIES or not rest:
        raise CopylearnError(f"process {spec!r} is not understood: use {PROCESS_FORMS}.")
    allowed = ("n", "seed", "depth") if family in BRICKWORK else ("n", "seed")
    values: dict[str, int] = {}
    for item in rest.split(","):
        key, eq, text = item.partition("=")
        key = key.strip()
        if not eq or key not in allowed or key in values:
            what = f"{key!r} is repeated" if key in values else "KEY one of " + ", ".join(allowed)
            raise CopylearnError(
                f"process {spec!r}: {item!r} is not KEY=VALUE with {what}; e.g. "
                f"{family}:n=4,seed=7."
            )
        try:
            values[key] = int(text)
        except ValueError:
            raise CopylearnError(
                f"process {spec!r}: {key}={text!r} must be an integer, e.g. {family}:n=4,seed=7."
            ) from None
    missing = [k for k in ("n", "seed") if k not in values]
    if missing:
        raise CopylearnError(
            f"process {spec!r}: give {' and '.join(missing)} (e.g. {family}:n=4,seed=7; the "
            "seed fixes U, so the same command draws the same U)."
        )
    if values["seed"] < 0:
        raise CopylearnError(f"process {spec!r}: seed must be a non-negative integer.")
    process = sample_process(
        family, values["n"], np.random.default_rng(values["seed"]), depth=values.get("depth")
    )
    parameters = {**process.parameters, "seed": values["seed"]}
    return Process(process.circuit, name=process.name, parameters=parameters)
