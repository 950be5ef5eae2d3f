"""Quantum principal component analysis on a noisy state (our own task, docs/theory.md §19).

Per trial, with a fresh instance per trial:

* the unknown state is rho = (1 - lambda) |psi><psi| + lambda sigma with a hidden principal
  component psi = psi_{P,s}: P a uniformly random full-weight Pauli in {X, Y, Z}^n and s a
  fair sign, prepared by a Cirq circuit (:func:`principal_circuit`): a random state on qubits
  0..n-2 (the purity-testing preparations, :mod:`copylearn.tasks.purity_testing`), CNOTs
  that write the parity of qubits 0..n-2 into qubit n-1, X on qubit n-1 if s = -1, then on
  every qubit the basis change that maps Z to P_i (H for X, H then S for Y). So
  <psi|P|psi> = s and <psi|Q|psi> = 0 for every Q that anticommutes with P (§19.1);
* the noise sigma (``noise_state``): ``"white"`` (I / 2^n) or a pure |phi> = U|c>, the same
  preparation circuit U fed the basis state |c> (``"structured"``: c = 0...01, the
  principal component with P's sign flipped; or a bit string c given by the user). Per
  copy and per shot, with probability lambda (``noise_fraction``) the circuit's input is
  flipped by X gates: uniform random bits (white) or c (structured). The flips are circuit
  parameters, executed like the Pauli states' flips (:class:`PrincipalComponentState`);
* the query Q, revealed after the data: P ("hot", probability 1/2) or a uniformly random
  other full-weight Pauli ("cold"). The protocols never see it.

Learners, each with a rule fixed before any data is seen (§19.3, §19.4):

* Bell sampling: the self-normalised ratio R_Q = sum_t f_Q sigma_t / sum_t sigma_t
  (an estimate of tr(Q rho Q rho) / tr(rho^2)); hot iff R_Q > 1/2 (and sum sigma > 0);
  the rule does not need lambda;
* single-copy shadows (``clifford-shadow``, ``pauli-shadow``): the mean estimate x of
  tr(Q rho); hot iff |x| > (1 - lambda)/2. This rule needs lambda.

Success: the learner's hot/cold call names the query's class.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import cirq
import numpy as np
import sympy

from copylearn.errors import CopylearnError
from copylearn.pauli import Paulis, parse_paulis
from copylearn.states import CircuitState, _check_qubits
from copylearn.tasks import Learner, Parameter, ParameterError, Task, register_task
from copylearn.tasks.purity_testing import (
    MAX_HAAR_QUBITS,
    _depth,
    _preparation,
    brickwork_circuit,
    haar_circuit,
)

#: The estimator key of Bell data's ratio (``copylearn.protocols.ESTIMATORS``).
RATIO = "tr(Q rho Q rho)/tr(rho^2)"
NOISE_KINDS = ("white", "structured")
#: Smallest n of the state: the hidden P needs a random part on n - 1 >= 1 qubits.
MIN_QUBITS = 2
#: Smallest n of the task (docs/theory.md §19.1): at n = 2 the random part is one qubit, and a
#: cold Q that commutes with P often has |<Q>_psi| near 1, so the rules cannot separate it.
TASK_MIN_QUBITS = 3
#: Smallest n of the fits of N* versus n (docs/theory.md §19.4: the finite-n floor).
FIT_N_MIN = 5


def _noise_fraction(v):
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ValueError(f"{v!r} is not a number: give lambda with 0 <= lambda < 0.5, e.g. 0.3.")
    v = float(v)
    if not 0.0 <= v < 0.5:
        raise ValueError(
            f"{v!r} is outside [0, 0.5): the principal component must keep weight above 1/2 "
            "(give 0 <= lambda < 0.5, e.g. 0.3)."
        )
    return v


def _noise_state(v):
    if isinstance(v, str) and (v in NOISE_KINDS or (v and set(v) <= {"0", "1"})):
        if v and set(v) == {"0"}:
            raise ValueError(
                f"{v!r} is not a noise state: the all-zero input prepares psi itself; give "
                "'white', 'structured' or a bit string with at least one 1."
            )
        return v
    raise ValueError(
        f"{v!r} is not a noise state: give 'white' (I/2^n), 'structured' (the principal "
        "component with P's sign flipped) or a bit string c of length n (phi = U|c>)."
    )


def noise_input(noise_state: str, n: int) -> np.ndarray | None:
    """The input bits c of a structured noise state, ``(n,)`` uint8; None for white noise.

    Raises
    ------
    CopylearnError
        A bit string whose length is not n.
    """
    if noise_state == "white":
        return None
    if noise_state == "structured":
        bits = np.zeros(n, dtype=np.uint8)
        bits[n - 1] = 1
        return bits
    if len(noise_state) != n:
        raise CopylearnError(
            f"noise_state {noise_state!r} has {len(noise_state)} bits, not n = {n}: give one "
            "bit per qubit, or 'white' / 'structured'."
        )
    return np.array([int(c) for c in noise_state], dtype=np.uint8)


def principal_circuit(
    pauli: str,
    sign: int,
    rng: np.random.Generator,
    *,
    preparation: str = "brickwork",
    depth: int | None = None,
    nearest_neighbour: bool = False,
) -> cirq.Circuit:
    """The preparation U of psi_{P,s} on ``LineQubit(0..n-1)`` (docs/theory.md §19.1).

    Parameters
    ----------
    pauli : str
        The hidden full-weight Pauli P, letters X, Y, Z (n >= 2).
    sign : int
        s = +1 or -1: <psi|P|psi> = s.
    rng : numpy.random.Generator
        Draws the random state on qubits 0..n-2.
    preparation : {"brickwork", "haar"}
        That random state: Haar two-qubit brickwork (:func:`brickwork_circuit`, ``depth``
        layers, default 2n) or one dense Haar state (:func:`haar_circuit`, n - 1 <= 10).
    depth : int, optional
        Brickwork layers.
    nearest_neighbour : bool, default False
        Write the parity map with CNOTs between neighbours on the line only (for a device,
        whose couplers form the line): CNOT(q_j, q_{j+1}) for j = 0..n-2, then the same for
        j = n-3..0 to restore q_1..q_{n-2}. The same unitary as the n - 1 CNOTs onto q_{n-1}
        (each q_j, j <= n-2, ends as it began; q_{n-1} gains the parity of all of them).

    Returns
    -------
    cirq.Circuit
        Random part, parity CNOTs onto qubit n-1, X(q_{n-1}) if s = -1, basis change.
    """
    n = len(pauli)
    if n < MIN_QUBITS or set(pauli) - set("XYZ"):
        raise CopylearnError(
            f"P = {pauli!r} must be a full-weight Pauli (X, Y, Z only) on n >= {MIN_QUBITS} qubits."
        )
    if sign not in (1, -1):
        raise CopylearnError(f"sign={sign!r} must be +1 or -1.")
    if preparation == "haar":
        circuit = haar_circuit(n - 1, rng)
    else:
        circuit = brickwork_circuit(n - 1, 2 * n if depth is None else depth, rng)
    q = cirq.LineQubit.range(n)
    if nearest_neighbour:
        circuit.append(cirq.CNOT(q[j], q[j + 1]) for j in range(n - 1))
        circuit.append(cirq.CNOT(q[j], q[j + 1]) for j in reversed(range(n - 2)))
    else:
        circuit.append(cirq.CNOT(q[j], q[n - 1]) for j in range(n - 1))
    if sign < 0:
        circuit.append(cirq.X(q[n - 1]))
    circuit.append(cirq.H(q[i]) for i, p in enumerate(pauli) if p in "XY")
    circuit.append(cirq.S(q[i]) for i, p in enumerate(pauli) if p == "Y")
    return circuit


def _parameter_names(n: int) -> tuple[str, ...]:
    return tuple(f"noise_flip{i}" for i in range(n))


@dataclass(frozen=True)
class PrincipalComponentState(CircuitState):
    """rho = (1 - lambda)|psi><psi| + lambda sigma, psi prepared by ``circuit`` (U).

    Per shot and copy, the input of U is |0...0> with probability 1 - lambda, else the
    basis state of X flips: uniform random bits (white noise; U maps the uniform mixture of
    basis states to I/2^n, since U I U† = I) or the fixed bits ``flips`` (|phi> = U|c>).
    Averaged over the flips the circuit prepares rho exactly (docs/theory.md §19.2).

    Parameters
    ----------
    circuit : cirq.Circuit
        U on ``LineQubit(0..n-1)`` (:func:`principal_circuit`).
    name : str
        Recorded as ``circuit:<name>``.
    pauli, sign : str, int
        The hidden P and s (for the record and the tests).
    noise_fraction : float
        lambda in [0, 1/2).
    flips : tuple of int or None
        c of structured noise; None for white noise.
    """

    pauli: str = ""
    sign: int = 1
    noise_fraction: float = 0.0
    flips: tuple[int, ...] | None = field(default=None)

    def __post_init__(self) -> None:
        super().__post_init__()
        try:
            _noise_fraction(self.noise_fraction)
        except ValueError as exc:
            raise CopylearnError(f"noise_fraction: {exc}") from None
        if self.flips is not None and (
            len(self.flips) != self.n or set(self.flips) - {0, 1} or not any(self.flips)
        ):
            raise CopylearnError(
                f"flips={self.flips!r} is not a noise input: give n = {self.n} bits, not all 0."
            )

    @property
    def parameter_names(self) -> tuple[str, ...]:
        """One X-flip exponent per qubit, applied before U."""
        return _parameter_names(self.n)

    def prep_circuit(self, qubits: Sequence[cirq.Qid], prefix: str = "") -> cirq.Circuit:
        """X**noise_flip_i on every qubit (symbols ``prefix + name``), then U."""
        qubits = _check_qubits(qubits, self.n)
        flips = cirq.Circuit(
            cirq.Moment(
                cirq.X(q) ** sympy.Symbol(prefix + name)
                for q, name in zip(qubits, self.parameter_names, strict=True)
            )
        )
        return flips + super().prep_circuit(qubits)

    def sample_parameters(self, rng: np.random.Generator, shots: int) -> np.ndarray:
        """``(shots, n)`` uint8 flip bits: 0 in the psi branch, the noise input otherwise.

        One uniform per shot picks the branch (noise iff below lambda), then (white noise)
        n uniform bits per shot, drawn for every shot so that the stream does not depend
        on the branches.
        """
        noisy = rng.random(shots) < self.noise_fraction
        if self.flips is None:
            bits = rng.integers(0, 2, size=(shots, self.n), dtype=np.uint8)
        else:
            bits = np.broadcast_to(np.asarray(self.flips, dtype=np.uint8), (shots, self.n))
        return np.where(noisy[:, None], bits, 0).astype(np.uint8)

    def pure_state(self) -> np.ndarray:
        """psi = U|0...0>, ``(2^n,)`` complex (NumPy Kraus evolution, n <= 10)."""
        return _vector(CircuitState(self.circuit).density_matrix())

    def noise_state(self) -> np.ndarray:
        """sigma: I/2^n, or |phi><phi| with phi = U|c> (n <= 10)."""
        d = 2**self.n
        if self.flips is None:
            return np.eye(d, dtype=complex) / d
        q = cirq.LineQubit.range(self.n)
        pre = cirq.Circuit(cirq.X(q[i]) for i, b in enumerate(self.flips) if b)
        return CircuitState(pre + self.circuit).density_matrix()

    def density_matrix(self) -> np.ndarray:
        """(1 - lambda)|psi><psi| + lambda sigma (n <= 10), without a simulator."""
        psi = CircuitState(self.circuit).density_matrix()
        lam = self.noise_fraction
        return (1.0 - lam) * psi + lam * self.noise_state()

    def spec(self) -> str:
        """``principal-component:P:s:lambda:noise`` for metadata."""
        noise = "white" if self.flips is None else "".join(map(str, self.flips))
        return f"principal-component:{self.pauli}:{self.sign:+d}:{self.noise_fraction:g}:{noise}"


def _vector(rho: np.ndarray) -> np.ndarray:
    """The unit vector of a pure density matrix (its top eigenvector)."""
    _, vectors = np.linalg.eigh(rho)
    return vectors[:, -1]


@dataclass(frozen=True)
class Instance:
    """One trial: the state, the query revealed after the data and whether it is hot.

    Attributes
    ----------
    state : PrincipalComponentState
        The noisy state.
    query : Paulis
        Q, one full-weight Pauli.
    hot : bool
        Q = P.
    """

    state: PrincipalComponentState
    query: Paulis
    hot: bool


class RatioLearner(Learner):
    """Bell data: hot iff R_Q = sum f_Q sigma / sum sigma > 1/2 (docs/theory.md §19.3).

    A prefix whose sum of sigma is <= 0 (no purity signal yet) is called cold.
    """

    def __init__(self, protocol, instance: Instance) -> None:
        self.protocol, self.instance = protocol, instance
        self.num, self.den = 0.0, 0.0

    def judge(self, data, ends, totals):
        """Fold in a segment; success of each prefix (see :meth:`Learner.judge`)."""
        sigma = self.protocol.purity_values(data)
        f = self.protocol.sums_values(self.instance.query, data)[:, 0]
        num = self.num + np.concatenate([[0.0], np.cumsum(f * sigma)])
        den = self.den + np.concatenate([[0.0], np.cumsum(sigma)])
        self.num, self.den = float(num[-1]), float(den[-1])
        num, den = num[ends], den[ends]
        hot = (den > 0) & (num > 0.5 * den)
        return hot == self.instance.hot


class ThresholdLearner(Learner):
    """Single-copy data: hot iff |mean estimate of tr(Q rho)| > (1 - lambda)/2 (§19.4)."""

    def __init__(self, protocol, instance: Instance, noise_fraction: float) -> None:
        self.protocol, self.instance = protocol, instance
        self.threshold = 0.5 * (1.0 - noise_fraction)
        self.running = 0.0

    def judge(self, data, ends, totals):
        """Fold in a segment; success of each prefix (see :meth:`Learner.judge`)."""
        s1, _ = self.protocol.sums(self.instance.query, data, ends)
        sums = self.running + s1[:, 0]
        self.running = float(sums[-1]) if len(sums) else self.running
        mean = sums / np.maximum(np.asarray(totals, dtype=np.float64), 1.0)
        return (np.abs(mean) > self.threshold) == self.instance.hot


def random_full_weight(n: int, rng: np.random.Generator) -> str:
    """A uniformly random Pauli in {X, Y, Z}^n."""
    return "".join("XYZ"[k] for k in rng.integers(0, 3, size=n))


@register_task
class PrincipalComponent(Task):
    """Is the query Q the hidden principal component's Pauli P? (quantum PCA, our task)."""

    name = "principal-component"
    description = (
        "noisy principal component (1-lambda)|psi><psi| + lambda sigma: is Q the Pauli P "
        "that fixes psi? (quantum PCA, docs/theory.md §19)"
    )
    parameters = (
        Parameter(
            "noise_fraction",
            0.3,
            _noise_fraction,
            "lambda in [0, 0.5): rho = (1-lambda)|psi><psi| + lambda sigma",
        ),
        Parameter(
            "noise_state",
            "white",
            _noise_state,
            "sigma: 'white' (I/2^n), 'structured' (psi with P's sign flipped) or bits c (U|c>)",
        ),
        Parameter(
            "preparation",
            "brickwork",
            _preparation,
            "random part of psi on n-1 qubits: 'brickwork' or 'haar' (n-1 <= 10)",
        ),
        Parameter("depth", "2n", _depth, "brickwork layers of Haar two-qubit gates (>= 2n)"),
    )
    protocols = ("bell", "clifford-shadow", "pauli-shadow")
    small_point: ClassVar[dict[str, int]] = {"n": 3, "max_copies": 20_000}

    def check_spec(self, spec: dict) -> None:
        """Reject what the task cannot run, naming the key, with the fix."""
        super().check_spec(spec)
        n = spec["n"]
        if n < TASK_MIN_QUBITS:
            raise ParameterError(
                "n",
                f"n = {n}: the task needs n >= {TASK_MIN_QUBITS} qubits (at n = 2 a cold query "
                "commuting with P often has |<Q>_psi| near 1, docs/theory.md §19.1): use n >= 3.",
            )
        try:
            noise_input(spec.get("noise_state", "white"), n)
        except CopylearnError as exc:
            raise ParameterError("noise_state", str(exc)) from None
        if spec.get("preparation", "brickwork") == "haar" and n - 1 > MAX_HAAR_QUBITS:
            raise ParameterError(
                "preparation",
                f"'haar' prepares the random part with one dense gate on n - 1 <= "
                f"{MAX_HAAR_QUBITS} qubits (got n = {n}): use preparation = 'brickwork'.",
            )
        depth = spec.get("depth", "2n")
        if depth != "2n" and depth < 2 * n:
            raise ParameterError(
                "depth", f"depth = {depth} is below 2n = {2 * n}: use depth >= 2n or '2n'."
            )
        if spec.get("device", "none") != "none" and spec.get("preparation") == "haar":
            raise ParameterError(
                "preparation",
                "'haar' prepares the random part with one dense gate on n - 1 qubits, which a "
                "device cannot run: use preparation = 'brickwork' (two-qubit gates between "
                "neighbours) with a device.",
            )
        if spec.get("calibration_copies", 0):
            raise ParameterError(
                "calibration_copies",
                "the principal-component learners use fixed rules (the Pauli-eigenstate damping "
                "does not apply): use calibration_copies = 0.",
            )

    def circuit_family(self, spec: dict) -> PrincipalComponentState:
        """One instance's state; every trial brings its own circuit (planned per trial)."""
        return self.sample_instance(spec, np.random.default_rng(0)).state

    def sample_instance(self, spec: dict, rng: np.random.Generator) -> Instance:
        """P, s, the random part of psi, then the query (P or another full-weight Pauli)."""
        n = int(spec["n"])
        pauli = random_full_weight(n, rng)
        sign = 1 if rng.random() < 0.5 else -1
        depth = spec.get("depth", "2n")
        circuit = principal_circuit(
            pauli,
            sign,
            rng,
            preparation=spec.get("preparation", "brickwork"),
            depth=2 * n if depth == "2n" else int(depth),
            nearest_neighbour=spec.get("device", "none") != "none",
        )
        flips = noise_input(spec.get("noise_state", "white"), n)
        state = PrincipalComponentState(
            circuit,
            name="principal-component",
            pauli=pauli,
            sign=sign,
            noise_fraction=float(spec.get("noise_fraction", 0.3)),
            flips=None if flips is None else tuple(int(b) for b in flips),
        )
        hot = bool(rng.random() < 0.5)
        query = pauli
        while not hot and query == pauli:
            query = random_full_weight(n, rng)
        return Instance(state, parse_paulis([query], n), hot)

    def learner(self, spec: dict, protocol, instance: Instance, calibration) -> Learner:
        """:class:`RatioLearner` for data that give the ratio, else :class:`ThresholdLearner`."""
        if protocol.supports(RATIO):
            return RatioLearner(protocol, instance)
        return ThresholdLearner(protocol, instance, float(spec.get("noise_fraction", 0.3)))

    def overlays(self, protocol, group: dict) -> tuple[dict, ...]:
        """Two-copy ratio flat in n (§19.3); single-copy C base^n from the protocol's declared
        ``variance_growth`` (Clifford 2^n, random-Pauli 3^n for full-weight Q, §19.4)."""
        if protocol.supports(RATIO):
            return ({"kind": "flat", "label": "two-copy ratio R > 1/2 (no λ needed)"},)
        if protocol.variance_growth is not None:
            base, label = protocol.variance_growth
            label = f"{label}, rule |x| > (1-λ)/2 (told λ)"
            return ({"kind": "exponential", "base": float(base), "label": label},)
        return ()

    def fit_n_min(self, protocol, group: dict) -> int | None:
        """n >= :data:`FIT_N_MIN`: below it cold queries with a large <Q>_psi put a floor under
        both rules' error (about 2.5% and 1% of the ratio learner's trials at n = 3 and 4,
        none at n = 5 over 300 instances; docs/theory.md §19.4), which lifts N* near the
        target, so the fit of N* versus n measures the law from n = 5 on."""
        return FIT_N_MIN

    def expected_copies(self, spec: dict, protocol) -> float:
        """Bell about 60 copies (§19.3); single-copy 17 (2^n + 1) (Clifford) or 3^n-like."""
        n = int(spec["n"])
        if protocol.supports(RATIO):
            return 120.0
        base = protocol.variance_growth[0] if protocol.variance_growth else 3.0
        return 40.0 * (base**n + 1)
