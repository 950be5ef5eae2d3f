"""Purity testing: is the unknown state a Haar-random pure state or the maximally mixed one?

Per trial (docs/theory.md §14), with prior 1/2 each and a fresh instance per trial:

* pure: |psi><psi| with psi Haar-random, prepared by a Cirq circuit: ``preparation="haar"``
  applies one dense ``cirq.MatrixGate`` on all n qubits (a Householder reflection taking
  |0...0> to psi, n <= :data:`MAX_HAAR_QUBITS`), ``"brickwork"`` a layer of Haar one-qubit
  gates and ``depth`` layers of Haar two-qubit ``cirq.MatrixGate`` bricks (pairs (0,1),
  (2,3), ... then (1,2), (3,4), ...); both copies of a Bell experiment get the same psi;
* mixed: I/2^n, prepared per shot and per copy by uniform X flips on every qubit, drawn
  from the state's seeded stream (:class:`copylearn.states.PauliEigenstate` with sign 0).

Learners, each with a rule fixed before any data is seen (§14.2 to §14.4):

* ``bell``: sigma = (-1)^{#singlets} has mean tr(rho^2); "pure" iff every sigma = +1;
* ``clifford-shadow``: one uniformly random Clifford basis per trial (the protocol with
  ``shots_per_unitary = max_copies``, the trial's whole stream collected at once), the
  collision rate c-hat of the measured strings; "pure" iff c-hat > (1/d + 2/(d+1))/2;
* ``pauli-shadow``: the randomized-measurement purity estimate (the U-statistic over pairs
  of snapshots of a product kernel, §14.4); "pure" iff it exceeds (1 + 1/d)/2.

Success: the decision names the trial's hypothesis.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import cirq
import numpy as np

from copylearn.protocols import get_protocol
from copylearn.purity import pair_sums
from copylearn.seeding import substream
from copylearn.states import CircuitState, PauliEigenstate
from copylearn.tasks import Learner, Parameter, ParameterError, Task, register_task

PREPARATIONS = ("haar", "brickwork")
#: Largest n for the dense Haar preparation (a 2^n x 2^n MatrixGate).
MAX_HAAR_QUBITS = 10
#: Pure and mixed held-out instances each that set the Bell threshold under noise (§14.5).
CALIBRATION_INSTANCES = 20
#: Smallest n of the collision test's fit of N* versus n (docs/theory.md §14.3).
COLLISION_FIT_N_MIN = 8


@dataclass(frozen=True)
class Instance:
    """One trial's state and which hypothesis it is.

    Attributes
    ----------
    state : CircuitState or PauliEigenstate
        The Haar-random pure state's circuit, or the maximally mixed state (random X flips).
    pure : bool
        True for the pure hypothesis.
    """

    state: CircuitState | PauliEigenstate
    pure: bool


def _preparation(v):
    if not isinstance(v, str) or v not in PREPARATIONS:
        raise ValueError(f"{v!r} is not a preparation: use {' or '.join(map(repr, PREPARATIONS))}.")
    return v


def _depth(v):
    if v == "2n" or (isinstance(v, int) and not isinstance(v, bool) and v >= 1):
        return v
    raise ValueError(f"{v!r} is not a brickwork depth: use an integer >= 2n or '2n'.")


def haar_unitary(dim: int, rng: np.random.Generator) -> np.ndarray:
    """A Haar-random ``(dim, dim)`` unitary: QR of a complex Gaussian matrix, phases fixed
    so that the distribution is exactly Haar (Mezzadri, Notices AMS 54, 592 (2007))."""
    z = (rng.standard_normal((dim, dim)) + 1j * rng.standard_normal((dim, dim))) / np.sqrt(2)
    q, r = np.linalg.qr(z)
    d = np.diagonal(r)
    return q * (d / np.abs(d))[None, :]


def haar_state_unitary(n: int, rng: np.random.Generator) -> np.ndarray:
    """A unitary whose first column is a Haar-random state psi (up to a global phase).

    psi is a normalised complex Gaussian vector; the Householder reflection
    U = I - 2 w w†/(w†w), w = e_0 - e^{-i arg psi_0} psi, maps |0...0> to e^{-i arg psi_0} psi.
    """
    dim = 2**n
    psi = rng.standard_normal(dim) + 1j * rng.standard_normal(dim)
    psi /= np.linalg.norm(psi)
    u = psi * np.exp(-1j * np.angle(psi[0]))
    w = -u
    w[0] += 1.0
    norm = np.vdot(w, w).real
    if norm < 1e-24:  # psi is |0...0> up to phase
        return np.eye(dim, dtype=complex)
    return np.eye(dim, dtype=complex) - 2.0 * np.outer(w, w.conj()) / norm


def haar_circuit(n: int, rng: np.random.Generator) -> cirq.Circuit:
    """One dense ``cirq.MatrixGate`` on all n qubits preparing a Haar-random state."""
    qubits = cirq.LineQubit.range(n)
    return cirq.Circuit(cirq.MatrixGate(haar_state_unitary(n, rng)).on(*qubits))


def brickwork_circuit(n: int, depth: int, rng: np.random.Generator) -> cirq.Circuit:
    """Haar one-qubit gates, then ``depth`` brick layers of Haar two-qubit MatrixGates."""
    qubits = cirq.LineQubit.range(n)
    # Haar unitaries are unitary to rounding by construction: skip MatrixGate's check.
    circuit = cirq.Circuit(
        cirq.MatrixGate(haar_unitary(2, rng), unitary_check=False).on(q) for q in qubits
    )
    for layer in range(depth):
        circuit.append(
            cirq.Moment(
                cirq.MatrixGate(haar_unitary(4, rng), unitary_check=False).on(
                    qubits[i], qubits[i + 1]
                )
                for i in range(layer % 2, n - 1, 2)
            )
        )
    return circuit


def collision_threshold(n: int) -> float:
    """tau = (1/d + 2/(d+1))/2: midpoint of the mixed and Haar collision rates (§14.3)."""
    d = 2.0**n
    return 0.5 * (1.0 / d + 2.0 / (d + 1.0))


def bell_experiments(d: float, target: float) -> int:
    """K*(d): noiseless Bell experiments for success ``target`` (docs/theory.md §14.2).

    The mixed half errs with probability ((1 + 1/d)/2)^K, the pure half never, so success
    >= target needs ((1 + 1/d)/2)^K <= 2 (1 - target); d = inf gives the large-n value.
    """
    q = 0.5 if math.isinf(d) else 0.5 * (1.0 + 1.0 / d)
    return max(0, math.ceil(math.log(2.0 * (1.0 - target)) / math.log(q) - 1e-12))


def bell_flat_from(target: float) -> int | None:
    """Smallest n with K*(2^n) = K*(inf) (n = 3 for target 0.9), or None when that is n = 1
    or the target needs no experiment (target <= 1/2)."""
    if not 0.5 < target < 1.0:
        return None
    limit = bell_experiments(math.inf, target)
    n = 1
    while bell_experiments(2.0**n, target) > limit:
        n += 1
    return n if n > 1 else None


def purity_threshold(n: int) -> float:
    """(1 + 1/d)/2: midpoint of tr(rho^2) for a pure and the maximally mixed state."""
    return 0.5 * (1.0 + 2.0**-n)


class BellPurityLearner(Learner):
    """ "pure" iff every sigma = (-1)^{#singlets} so far is +1 (docs/theory.md §14.2)."""

    def __init__(self, protocol, instance: Instance) -> None:
        self.protocol, self.instance, self.clean = protocol, instance, True

    def judge(self, data, ends, totals):
        """Fold in a segment; success of each prefix (see :meth:`Learner.judge`)."""
        minus = np.cumsum(self.protocol.purity_values(data) < 0)
        seen = np.concatenate([[0], minus])[ends]
        pure = self.clean & (seen == 0)
        self.clean = bool(pure[-1]) if len(pure) else self.clean
        return pure == self.instance.pure


class CalibratedBellLearner(Learner):
    """Under noise: "pure" iff the mean sigma so far exceeds the calibrated threshold (§14.5).

    The threshold comes from :meth:`PurityTesting.calibrate_rule`, fixed on held-out
    instances before this trial's data exist.
    """

    def __init__(self, protocol, instance: Instance, threshold: float) -> None:
        self.protocol, self.instance, self.threshold = protocol, instance, float(threshold)
        self.total, self.count = 0.0, 0

    def judge(self, data, ends, totals):
        """Fold in a segment; success of each prefix (see :meth:`Learner.judge`)."""
        sums = self.total + np.concatenate([[0.0], np.cumsum(self.protocol.purity_values(data))])
        counts = self.count + np.arange(len(sums))
        self.total, self.count = float(sums[-1]), int(counts[-1])
        sums, counts = sums[ends], counts[ends]
        mean = np.where(counts > 0, sums / np.maximum(counts, 1), -np.inf)
        return (mean > self.threshold) == self.instance.pure


class CollisionLearner(Learner):
    """ "pure" iff the collision rate of same-basis outcomes exceeds tau (§14.3).

    Collisions count pairs of shots measured under the same Clifford (same recorded
    tableau) with equal outcome strings; c-hat divides by the number of such pairs.
    """

    def __init__(self, n: int, instance: Instance) -> None:
        self.n, self.instance = n, instance
        self.counts: dict[bytes, int] = {}
        self.collisions = 0
        self.pairs = 0

    def judge(self, data, ends, totals):
        """Fold in a segment; success of each prefix (see :meth:`Learner.judge`)."""
        keys = np.concatenate(
            [data[k] for k in ("tableau_x", "tableau_z", "signs_x", "signs_z", "bits")], axis=1
        )
        basis_words = keys.shape[1] - data["bits"].shape[1]
        new_coll = np.empty(len(keys), dtype=np.int64)
        new_pairs = np.empty(len(keys), dtype=np.int64)
        counts = self.counts
        for s, row in enumerate(keys):
            key, basis = row.tobytes(), row[:basis_words].tobytes()
            new_coll[s] = counts.get(key, 0)
            new_pairs[s] = counts.get(basis, 0)
            counts[key] = new_coll[s] + 1
            counts[basis] = new_pairs[s] + 1
        coll = self.collisions + np.concatenate([[0], np.cumsum(new_coll)])
        pairs = self.pairs + np.concatenate([[0], np.cumsum(new_pairs)])
        self.collisions, self.pairs = int(coll[-1]), int(pairs[-1])
        coll, pairs = coll[ends], pairs[ends]
        rate = np.where(pairs > 0, coll / np.maximum(pairs, 1), 0.0)
        return (rate > collision_threshold(self.n)) == self.instance.pure


class ShadowPurityLearner(Learner):
    """ "pure" iff the randomized-measurement purity estimate exceeds (1 + 1/d)/2 (§14.4)."""

    def __init__(self, protocol, n: int, instance: Instance) -> None:
        self.protocol, self.n, self.instance = protocol, n, instance
        self.bases = np.zeros((0, n), dtype=np.int64)
        self.bits = np.zeros((0, n), dtype=np.int64)

    def judge(self, data, ends, totals):
        """Fold in a segment; success of each prefix (see :meth:`Learner.judge`)."""
        shots = self.protocol.unpack(data, self.n)
        first = len(self.bases)
        self.bases = np.concatenate([self.bases, shots["bases"].astype(np.int64) - 1])
        self.bits = np.concatenate([self.bits, shots["bits"].astype(np.int64)])
        sums = pair_sums(self.bases, self.bits)[first + np.asarray(ends)]
        totals = np.asarray(totals, dtype=np.float64)
        pairs = totals * (totals - 1) / 2
        estimate = np.where(pairs > 0, sums / np.maximum(pairs, 1), 0.0)
        return (estimate > purity_threshold(self.n)) == self.instance.pure


@register_task
class PurityTesting(Task):
    """Tell a Haar-random pure state from the maximally mixed state (CCHL purity testing)."""

    name = "purity-testing"
    description = "is rho a Haar-random pure state or I/2^n? (purity testing, CCHL 2022)"
    parameters = (
        Parameter(
            "preparation",
            "haar",
            _preparation,
            "pure states: 'haar' (one dense MatrixGate, n <= 10) or 'brickwork'",
        ),
        Parameter("depth", "2n", _depth, "brickwork layers of Haar two-qubit gates (>= 2n)"),
    )
    protocols = ("bell", "clifford-shadow", "pauli-shadow")
    # The collision learner reaches 0.8 with 60 trials only from n ~ 5: small-d Haar states
    # often have sum_b p_b^2 below its threshold (docs/theory.md §14).
    small_point: ClassVar[dict[str, int]] = {"n": 5, "max_copies": 2_000}

    def check_spec(self, spec: dict) -> None:
        """Reject what the task cannot run, naming the key, with the fix."""
        super().check_spec(spec)
        n = spec["n"]
        if spec.get("preparation", "haar") == "haar" and n > MAX_HAAR_QUBITS:
            raise ParameterError(
                "preparation",
                f"'haar' prepares psi with one dense 2^n x 2^n gate, limited to n <= "
                f"{MAX_HAAR_QUBITS} (got n = {n}): use preparation = 'brickwork'.",
            )
        depth = spec.get("depth", "2n")
        if depth != "2n" and depth < 2 * n:
            raise ParameterError(
                "depth", f"depth = {depth} is below 2n = {2 * n}: use depth >= 2n or '2n'."
            )
        if spec.get("device", "none") != "none":
            raise ParameterError(
                "device",
                "purity testing runs on a noise model, not a device (its pure states are "
                "all-to-all Haar circuits): use noise = 'depolarizing:p' or similar.",
            )
        if spec.get("calibration_copies", 0):
            raise ParameterError(
                "calibration_copies",
                "purity testing calibrates its own Bell threshold on held-out instances under "
                "noise (the Pauli-eigenstate damping does not apply): use calibration_copies = 0.",
            )
        noisy = spec.get("noise", "none") != "none"
        if noisy and get_protocol(spec["strategy"]).copies_per_shot != 2:
            raise ParameterError(
                "noise",
                f"under noise purity testing runs the Bell learner only (its threshold is "
                f"calibrated on held-out instances); the {spec['strategy']!r} rule assumes "
                "noiseless states: use strategy 'bell' or noise = 'none'.",
            )

    def protocol_options(self, spec: dict) -> dict:
        """Clifford shadows measure all of a trial's copies under one random Clifford."""
        protocol = get_protocol(spec["strategy"])
        if "shots_per_unitary" in {p.name for p in protocol.parameters}:
            return {"shots_per_unitary": int(spec["max_copies"])}
        return {}

    def one_segment(self, spec: dict) -> bool:
        """Always: one Clifford basis per trial needs the whole stream drawn at once."""
        return True

    def circuit_family(self, spec: dict):
        """The maximally mixed state (X flips); pure instances bring their own circuits."""
        return PauliEigenstate("Z" * spec["n"], sign=0)

    def sample_instance(self, spec: dict, rng: np.random.Generator) -> Instance:
        """A fair coin picks the hypothesis; a pure instance draws a fresh psi."""
        n = spec["n"]
        if rng.random() < 0.5:
            return Instance(PauliEigenstate("Z" * n, sign=0), False)
        return Instance(self._pure_state(spec, rng), True)

    def _pure_state(self, spec: dict, rng: np.random.Generator) -> CircuitState:
        """A fresh Haar-random pure state's circuit, by the point's ``preparation``."""
        n = spec["n"]
        if spec.get("preparation", "haar") == "haar":
            circuit = haar_circuit(n, rng)
        else:
            depth = spec.get("depth", "2n")
            circuit = brickwork_circuit(n, 2 * n if depth == "2n" else int(depth), rng)
        return CircuitState(circuit, name="haar-psi")

    def calibrate_rule(self, spec: dict, protocol, sample, seed) -> dict | None:
        """Under noise, the Bell threshold: midpoint of the calibrated mean sigma (§14.5).

        :data:`CALIBRATION_INSTANCES` fresh pure instances and as many maximally mixed ones,
        each measured with the point's whole budget (``max_copies // 2`` experiments), all
        from ``seed`` (disjoint from the trials' streams); the threshold is the midpoint of
        the mean sigma over the pure and over the mixed instances. None when noiseless (the
        rule "every sigma = +1" needs no data) or for a single-copy protocol.
        """
        if spec.get("noise", "none") == "none" or protocol.copies_per_shot != 2:
            return None
        n, experiments = int(spec["n"]), int(spec["max_copies"]) // 2
        pure = [
            self._pure_state(spec, np.random.default_rng(substream(seed, 0, k)))
            for k in range(CALIBRATION_INSTANCES)
        ]
        mixed = [PauliEigenstate("Z" * n, sign=0)] * CALIBRATION_INSTANCES
        states = pure + mixed
        roots = [substream(seed, 1, k) for k in range(len(states))]
        arrays = sample(states, experiments, roots, substream(seed, 2))
        means = np.array([protocol.purity_values(a).mean() for a in arrays])
        mean_pure = float(means[:CALIBRATION_INSTANCES].mean())
        mean_mixed = float(means[CALIBRATION_INSTANCES:].mean())
        return {
            "rule": "pure iff the mean of sigma = (-1)^#singlets exceeds threshold",
            "threshold": 0.5 * (mean_pure + mean_mixed),
            "mean_sigma_pure": mean_pure,
            "mean_sigma_mixed": mean_mixed,
            "instances_each": CALIBRATION_INSTANCES,
            "experiments_each": experiments,
            "copies": 2 * experiments * len(states),
        }

    def learner(self, spec: dict, protocol, instance: Instance, calibration) -> Learner:
        """The protocol's rule (:class:`BellPurityLearner`, :class:`CollisionLearner`,
        :class:`ShadowPurityLearner`), chosen by what its data hold; under noise the Bell
        rule is :class:`CalibratedBellLearner` with the threshold of :meth:`calibrate_rule`."""
        if protocol.supports("tr(rho^2)") and protocol.copies_per_shot == 2:
            if isinstance(calibration, dict) and "threshold" in calibration:
                return CalibratedBellLearner(protocol, instance, calibration["threshold"])
            return BellPurityLearner(protocol, instance)
        if "tableau_x" in protocol.arrays:
            return CollisionLearner(spec["n"], instance)
        return ShadowPurityLearner(protocol, spec["n"], instance)

    def overlays(self, protocol, group: dict) -> tuple[dict, ...]:
        """Bell flat in n (§14.2); the collision test C 2^{n/2} (§14.3)."""
        if protocol.copies_per_shot == 2:
            return ({"kind": "flat", "label": "swap test"},)
        if "tableau_x" in protocol.arrays:
            return ({"kind": "exponential", "base": float(np.sqrt(2.0)), "label": "collisions"},)
        return ()

    def fit_n_min(self, protocol, group: dict) -> int | None:
        """Where each learner's N* follows its law: Bell from :func:`bell_flat_from`, the
        collision test from n = 8 (:data:`COLLISION_FIT_N_MIN`), random-Pauli over every n.

        Bell: the experiments needed, K*(d), fall with d until they reach their d -> infinity
        value (docs/theory.md §14.2), so "flat" is a statement about n >= that point. The
        collision test: below n ~ 8 a Haar state's sum_b p_b^2 scatters widely around
        2/(d+1) against the threshold gap, so N* does not follow C 2^{n/2} yet (§14.3).
        """
        if protocol.copies_per_shot == 2:
            return bell_flat_from(float(group.get("target", 0.9)))
        if "tableau_x" in protocol.arrays:
            return COLLISION_FIT_N_MIN
        return None

    def expected_copies(self, spec: dict, protocol) -> float:
        """Bell 6, collisions 5 * 2^{n/2}, random-Pauli pairs 10 * 7^{n/2} (§14)."""
        n = spec["n"]
        if protocol.copies_per_shot == 2:
            return 12.0
        if "tableau_x" in protocol.arrays:
            return 5.0 * 2 ** (n / 2)
        return 10.0 * 7 ** (n / 2)

    def memory(self, spec: dict) -> dict[str, tuple[int, str]]:
        """Pure instances keep their circuits (dense Haar: 16 * 4^n bytes each)."""
        n, trials = int(spec["n"]), int(spec["trials"])
        each = 16 * 4**n if spec.get("preparation", "haar") == "haar" else 64 * 16 * n * n
        return {"preparation": (trials * each, "use preparation = 'brickwork' or fewer trials")}
