"""Time-reversal symmetry of an unknown evolution: U* = U (up to phase) or scrambling?

Per trial (docs/theory.md §18), with prior 1/2 each and a fresh instance per trial, the
unknown is a process U (:mod:`copylearn.processes`) that the protocol queries:

* ``circuits = "brickwork"``: ``tsym`` (symmetric) versus ``scrambling`` brickworks of
  ``depth`` layers (default 2n, so that the light cone covers the chain, §18.3);
* ``circuits = "dense"``: a Haar-random orthogonal (symmetric) versus a Haar-random unitary
  2^n x 2^n gate (n <= 6).

N* counts queries of U (``copies`` of the runner): two per two-query experiment, one per
conventional shot. Learners, each with a rule fixed before any data is seen:

* ``two-query-bell``, rule ``all-zeros`` (the default without noise): "symmetric" iff every
  experiment so far returned all 2n bits 0 (§18.2: probability 1 for a symmetric U);
* ``two-query-bell``, rule ``pairs`` (the default with a noise model or device): T, the
  fraction of Bell pairs over all experiments so far whose outcome is not (0, 0);
  "scrambling" iff T > tau_T, with tau_T the midpoint of T's means over held-out calibration
  processes of both classes (:meth:`TimeReversal.calibrate`, seed streams disjoint from the
  trials', recorded in the row under ``decision_rule``);
* ``conventional-y``: the collision statistic D-hat = (#pairs of equal strings - #pairs of
  mutually flipped strings) / C(N, 2), unbiased for Delta = (1/2) sum_y (p(y) - p(y-bar))^2;
  "scrambling" iff D-hat > tau = 1/(2(d + 1)) (§18.3) without noise; with a noise model or
  device (which shrinks Delta of a scrambling U) tau is the midpoint of D-hat's means over
  held-out calibration processes of both classes, like the ``pairs`` rule.

Success: the decision names the trial's class.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import cirq
import numpy as np

from copylearn.pauli import popcount
from copylearn.processes import MAX_DENSE_QUBITS, Process, sample_process
from copylearn.seeding import substream
from copylearn.tasks import Learner, Parameter, ParameterError, Task, register_task

CIRCUITS = {"brickwork": ("tsym", "scrambling"), "dense": ("haar-orthogonal", "haar-unitary")}
RULES = ("auto", "all-zeros", "pairs")
#: Held-out calibration of the ``pairs`` rule: processes per class, experiments per process.
CALIBRATION_PROCESSES = 10
CALIBRATION_EXPERIMENTS = 100
#: Held-out calibration of the noisy collision rule: shots per process (D-hat needs pairs).
CALIBRATION_SHOTS = 400
#: Child of the point's seed that the held-out calibration draws from (the runner uses 0-4).
CALIBRATION_STREAM = 5


@dataclass(frozen=True)
class Instance:
    """One trial's process and its class.

    Attributes
    ----------
    state : Process
        The unitary U the protocol queries (the runner calls it the trial's state).
    symmetric : bool
        True for the time-reversal-symmetric class.
    """

    state: Process
    symmetric: bool


def _circuits(v):
    if not isinstance(v, str) or v not in CIRCUITS:
        raise ValueError(f"{v!r} is not a circuit family: use 'brickwork' or 'dense'.")
    return v


def _depth(v):
    if v == "2n" or (isinstance(v, int) and not isinstance(v, bool) and v >= 1):
        return v
    raise ValueError(f"{v!r} is not a brickwork depth: use a positive integer or '2n'.")


def _rule(v):
    if not isinstance(v, str) or v not in RULES:
        raise ValueError(f"{v!r} is not a two-query rule: use one of {', '.join(RULES)}.")
    return v


def collision_threshold(n: int) -> float:
    """tau = 1/(2(d + 1)): half the Haar-unitary mean of Delta (docs/theory.md §18.3)."""
    return 0.5 / (2.0**n + 1.0)


def conventional_theory(n: float | np.ndarray) -> float | np.ndarray:
    """N* ~ sqrt(46 d) queries of the collision test, Gaussian approximation (§18.3)."""
    return np.sqrt(46.0 * 2.0**n)


class AllZerosLearner(Learner):
    """ "symmetric" iff every two-query experiment so far returned all zeros (§18.2)."""

    def __init__(self, instance: Instance) -> None:
        self.instance, self.clean = instance, True

    def judge(self, data, ends, totals):
        """Fold in a segment; success of each prefix (see :meth:`Learner.judge`)."""
        nonzero = np.any(data["m_a"] | data["m_b"], axis=1)
        seen = np.concatenate([[0], np.cumsum(nonzero)])[ends]
        symmetric = self.clean & (seen == 0)
        self.clean = bool(symmetric[-1]) if len(symmetric) else self.clean
        return symmetric == self.instance.symmetric


def pair_fraction_sums(data: dict[str, np.ndarray]) -> np.ndarray:
    """``(shots,)`` number of Bell pairs of each experiment whose outcome is not (0, 0)."""
    return popcount(data["m_a"] | data["m_b"]).astype(np.int64)


class PairLearner(Learner):
    """ "scrambling" iff T, the fraction of non-(0,0) pairs so far, exceeds tau_T (§18.2)."""

    def __init__(self, n: int, tau: float, instance: Instance) -> None:
        self.n, self.tau, self.instance = n, tau, instance
        self.total = 0

    def judge(self, data, ends, totals):
        """Fold in a segment; success of each prefix (see :meth:`Learner.judge`)."""
        sums = self.total + np.concatenate([[0], np.cumsum(pair_fraction_sums(data))])
        self.total = int(sums[-1])
        t = sums[ends] / (self.n * np.maximum(np.asarray(totals), 1))
        return (t <= self.tau) == self.instance.symmetric


def _collisions(codes: list[int], counts: dict[int, int], mask: int):
    """Per shot, the earlier shots equal to it and flipped from it (``mask``: all n bits),
    folding ``codes`` into the running ``counts``; then both totals."""
    same = np.empty(len(codes), dtype=np.int64)
    flipped = np.empty(len(codes), dtype=np.int64)
    for s, code in enumerate(codes):
        same[s] = counts.get(code, 0)
        flipped[s] = counts.get(code ^ mask, 0)
        counts[code] = same[s] + 1
    return same, flipped, int(same.sum()), int(flipped.sum())


def d_hat(bits: np.ndarray, n: int) -> float:
    """D-hat of one process's shots (``bits``: packed ``(shots, 1)`` words, n <= 64)."""
    codes = bits[:, 0].tolist()
    same, flipped, *_ = _collisions(codes, {}, (1 << n) - 1)
    pairs = max(len(codes) * (len(codes) - 1) / 2, 1.0)
    return float((same.sum() - flipped.sum()) / pairs)


class CollisionLearner(Learner):
    """ "scrambling" iff D-hat > tau (docs/theory.md §18.3); tau = 1/(2(d + 1)) by default.

    D-hat counts, over pairs of shots s < t, equal strings minus mutually flipped strings,
    divided by C(N, 2); every prefix comes from running counts of each string. ``tau`` is
    the held-out threshold of a noisy point (:meth:`TimeReversal.calibrate_rule`).
    """

    def __init__(self, n: int, instance: Instance, tau: float | None = None) -> None:
        self.n, self.instance = n, instance
        self.tau = collision_threshold(n) if tau is None else tau
        self.mask = (1 << n) - 1
        self.counts: dict[int, int] = {}
        self.same = 0
        self.flipped = 0

    def judge(self, data, ends, totals):
        """Fold in a segment; success of each prefix (see :meth:`Learner.judge`)."""
        codes = data["bits"][:, 0].tolist()  # n <= 64: the whole string is word 0
        same, flipped, *_ = _collisions(codes, self.counts, self.mask)
        same_sums = self.same + np.concatenate([[0], np.cumsum(same)])
        flip_sums = self.flipped + np.concatenate([[0], np.cumsum(flipped)])
        self.same, self.flipped = int(same_sums[-1]), int(flip_sums[-1])
        totals = np.asarray(totals, dtype=np.float64)
        pairs = np.maximum(totals * (totals - 1) / 2, 1.0)
        statistic = (same_sums[ends] - flip_sums[ends]) / pairs
        return (statistic <= self.tau) == self.instance.symmetric


@register_task
class TimeReversal(Task):
    """Tell a time-reversal-symmetric evolution (U* = U) from a scrambling one (docs §18)."""

    name = "time-reversal"
    description = (
        "is the unknown evolution U time-reversal symmetric (U* = U) or scrambling? "
        "(Huang et al., Science 2022)"
    )
    parameters = (
        Parameter(
            "circuits",
            "brickwork",
            _circuits,
            "'brickwork' (tsym vs scrambling, depth layers) or 'dense' (Haar O vs U, n <= 6)",
        ),
        Parameter("depth", "2n", _depth, "brickwork layers (a positive integer, default '2n')"),
        Parameter(
            "rule",
            "auto",
            _rule,
            "two-query rule: 'all-zeros', 'pairs' (held-out threshold), or 'auto' (all-zeros "
            "without noise)",
        ),
    )
    protocols = ("two-query-bell", "conventional-y")
    optional = ("rule",)
    # Conventional collisions reach 0.8 with 60 trials at n = 4 within ~200 queries.
    small_point: ClassVar[dict[str, int]] = {"n": 4, "max_copies": 20_000}
    #: A two-query series sits at one experiment (2 queries) at every n: those points are
    #: the measurement itself (no protocol needs fewer than one experiment), so they stay in
    #: the fit (floor 0) and give log b = 0 with its interval.
    fit_floor: ClassVar[float | None] = 0.0

    def check_spec(self, spec: dict) -> None:
        """Reject what the task cannot run, naming the key, with the fix."""
        super().check_spec(spec)
        n, circuits = spec["n"], spec.get("circuits", "brickwork")
        if circuits == "dense" and n > MAX_DENSE_QUBITS:
            raise ParameterError(
                "circuits",
                f"'dense' draws one 2^n x 2^n gate, limited to n <= {MAX_DENSE_QUBITS} (got "
                f"n = {n}): use circuits = 'brickwork'.",
            )
        if circuits == "brickwork" and n < 2:
            raise ParameterError(
                "circuits", f"a brickwork needs n >= 2 (got n = {n}): use n >= 2 or 'dense'."
            )
        if spec.get("rule", "auto") == "all-zeros" and self._noisy(spec):
            raise ParameterError(
                "rule",
                "rule 'all-zeros' assumes noiseless data (noise makes every U fail it): use "
                "rule = 'pairs' or 'auto'.",
            )

    @staticmethod
    def _noisy(spec: dict) -> bool:
        return spec.get("noise", "none") != "none" or spec.get("device", "none") != "none"

    def two_query_rule(self, spec: dict) -> str:
        """``"all-zeros"`` or ``"pairs"``: the rule the two-query learner uses at ``spec``."""
        rule = spec.get("rule", "auto")
        if rule == "auto":
            return "pairs" if self._noisy(spec) else "all-zeros"
        return rule

    def protocol_options(self, spec: dict) -> dict[str, Any]:
        """On a device the two queries act on copy A's chain with a SWAP layer (``swap``)."""
        if spec["strategy"] == "two-query-bell" and spec.get("device", "none") != "none":
            return {"form": "swap"}
        return {}

    def _depth_of(self, spec: dict) -> int:
        depth = spec.get("depth", "2n")
        return 2 * int(spec["n"]) if depth == "2n" else int(depth)

    def process(self, spec: dict, rng: np.random.Generator, symmetric: bool) -> Process:
        """One process of the class ``symmetric`` at ``spec``, drawn from ``rng``."""
        family = CIRCUITS[spec.get("circuits", "brickwork")][0 if symmetric else 1]
        return sample_process(family, int(spec["n"]), rng, depth=self._depth_of(spec))

    def circuit_family(self, spec: dict):
        """The identity on n qubits: every instance brings its own circuit."""
        return Process(cirq.Circuit(cirq.I.on_each(*cirq.LineQubit.range(spec["n"]))), "identity")

    def sample_instance(self, spec: dict, rng: np.random.Generator) -> Instance:
        """A fair coin picks the class; the process is drawn from the same stream."""
        symmetric = bool(rng.random() < 0.5)
        return Instance(self.process(spec, rng, symmetric), symmetric)

    def calibrate_rule(self, spec: dict, protocol, sample, seed) -> dict | None:
        """The ``pairs`` rule's threshold from held-out processes; under noise, the collision
        rule's (:meth:`_calibrate_collisions`); None for the noiseless rules.

        :data:`CALIBRATION_PROCESSES` processes per class, each queried in
        :data:`CALIBRATION_EXPERIMENTS` experiments, all drawn from ``seed`` (the runner
        passes a child of the point's seed that no trial uses); tau_T is the midpoint of the
        two classes' mean T (docs/theory.md §18.2). ``sample(states, shots, roots,
        backend_seed)`` is the runner's batch sampler (:meth:`Task.calibrate_rule`).
        """
        if "bits" in protocol.arrays:
            return self._calibrate_collisions(spec, sample, seed) if self._noisy(spec) else None
        if protocol.copies_per_shot != 2 or self.two_query_rule(spec) != "pairs":
            return None
        n = int(spec["n"])
        means = self._class_means(
            spec,
            sample,
            seed,
            CALIBRATION_EXPERIMENTS,
            lambda a: pair_fraction_sums(a).sum() / (n * CALIBRATION_EXPERIMENTS),
            ("t_tsym", "t_scrambling"),
        )
        return {
            "rule": "pairs",
            "tau": 0.5 * (means["t_tsym"] + means["t_scrambling"]),
            **means,
            "processes_per_class": CALIBRATION_PROCESSES,
            "experiments_per_process": CALIBRATION_EXPERIMENTS,
            "stream": CALIBRATION_STREAM,
        }

    def _calibrate_collisions(self, spec: dict, sample, seed) -> dict:
        """The noisy collision rule's threshold: the midpoint of D-hat's means over
        :data:`CALIBRATION_PROCESSES` held-out processes per class, :data:`CALIBRATION_SHOTS`
        shots each, drawn from ``seed`` as in :meth:`calibrate_rule` (docs/theory.md §18.3)."""
        n = int(spec["n"])
        means = self._class_means(
            spec,
            sample,
            seed,
            CALIBRATION_SHOTS,
            lambda a: d_hat(a["bits"], n),
            ("d_tsym", "d_scrambling"),
        )
        return {
            "rule": "collisions",
            "tau": 0.5 * (means["d_tsym"] + means["d_scrambling"]),
            **means,
            "processes_per_class": CALIBRATION_PROCESSES,
            "shots_per_process": CALIBRATION_SHOTS,
            "stream": CALIBRATION_STREAM,
        }

    def _class_means(self, spec: dict, sample, seed, shots: int, statistic, labels) -> dict:
        """The mean of ``statistic(arrays)`` over :data:`CALIBRATION_PROCESSES` held-out
        processes of each class (``labels``: symmetric first, then scrambling), ``shots`` each.
        Class c's processes come from ``substream(seed, 0, c, k)``, their sampling roots from
        ``substream(seed, 1, c, k)`` and the batch from ``substream(seed, 2, c)``."""
        means = {}
        for c, (label, symmetric) in enumerate(zip(labels, (True, False), strict=True)):
            processes = [
                self.process(spec, np.random.default_rng(substream(seed, 0, c, k)), symmetric)
                for k in range(CALIBRATION_PROCESSES)
            ]
            roots = [substream(seed, 1, c, k) for k in range(CALIBRATION_PROCESSES)]
            arrays = sample(processes, shots, roots, substream(seed, 2, c))
            means[label] = float(np.mean([statistic(a) for a in arrays]))
        return means

    def learner(self, spec: dict, protocol, instance: Instance, calibration) -> Learner:
        """The protocol's rule, chosen by what its data hold (``bits``: collisions)."""
        if "bits" in protocol.arrays:
            tau = None if calibration is None else float(calibration["tau"])
            return CollisionLearner(int(spec["n"]), instance, tau)
        if self.two_query_rule(spec) == "pairs":
            return PairLearner(int(spec["n"]), float(calibration["tau"]), instance)
        return AllZerosLearner(instance)

    def fit_n_min(self, protocol, group: dict) -> int | None:
        """The summary fits N* over n >= 8 only: the conventional prefactor is still falling
        at small n (instance-to-instance fluctuations of Delta, docs/theory.md §18.3)."""
        return 8

    def overlays(self, protocol, group: dict) -> tuple[dict, ...]:
        """Two-query flat (§18.2); conventional sqrt(46) 2^{n/2}, no free parameter (§18.3).

        Both are noiseless theory: a series under a noise model or device gets none (its
        thresholds and gaps are calibrated, and device noise grows with the circuit)."""
        if self._noisy(group):
            return ()
        if protocol.copies_per_shot == 2:
            return ({"kind": "flat", "label": "two queries"},)
        return (
            {
                "kind": "exponential",
                "base": float(np.sqrt(2.0)),
                "prefactor": float(np.sqrt(46.0)),
                "label": "collisions (Gaussian approx.)",
            },
        )

    def expected_copies(self, spec: dict, protocol) -> float:
        """Two-query: 2 experiments; conventional: twice sqrt(46 d) (§18)."""
        if protocol.copies_per_shot == 2:
            return 4.0
        return float(2 * conventional_theory(int(spec["n"])))
