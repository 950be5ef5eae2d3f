"""The Science 2022 state task: predict |tr(Q rho)| for rho = (I + alpha s P)/2^n.

Per trial (docs/theory.md §5, §6):

* a fresh hidden P (``weight="full"``: uniform over {X, Y, Z}^n, the paper's hard
  instance; ``"uniform"``: uniform over the 4^n - 1 non-identity strings) and a fresh sign s;
* a declared query set: P and M - 1 other distinct non-identity Paulis drawn uniformly, in
  random order (M is capped at 4^n - 1); or ``queries="all"``: every Pauli, and the learner
  must name P (two-copy data only, n <= 12, by a Walsh-Hadamard transform);
* the learner predicts |tr(Q rho)| for every query, which is alpha for Q = P and 0 otherwise,
  and calls a query *hot* when its prediction exceeds the midpoint threshold: |mean of the
  shadow estimates| > alpha/2 for single-copy data, mean of f_Q > alpha^2/2 for Bell data
  (the midpoint of 0 and alpha^2 on the squared scale that Bell sampling estimates);
* success: the hot queries are exactly {P} (for ``"all"``: the largest estimate is P's).

With ``query_grid = "log"`` the query list is drawn once per trial with P first, and the learner
judges every query count M of :func:`query_counts` (1, 2, 3, 5, 9, 17, ... up to ``queries``)
on the first M queries of that list: nested query sets, one data stream per trial for the whole
N*(M) curve (docs/theory.md §16).

The rule is fixed before any data is seen; nothing is tuned on the trials.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce

import numpy as np

from copylearn.data import MAX_ALL_SQUARES_QUBITS, walsh_squares
from copylearn.pauli import Paulis, parse_paulis
from copylearn.states import PauliMixedState
from copylearn.tasks import Learner, Parameter, ParameterError, Task, register_task

WEIGHTS = ("full", "uniform")
QUERY_GRIDS = ("none", "log")


@dataclass(frozen=True)
class Instance:
    """One trial's hidden state and the queries the learner must answer.

    Attributes
    ----------
    state : PauliMixedState
        (I + alpha s P)/2^n with the hidden P and s.
    queries : Paulis or None
        The declared query set (``None`` when every Pauli is queried).
    hidden : int
        Index of P among the queries (-1 when every Pauli is queried).
    """

    state: PauliMixedState
    queries: Paulis | None
    hidden: int


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _alpha(v):
    if isinstance(v, bool) or not isinstance(v, int | float) or not 0.0 < float(v) <= 1.0:
        raise ValueError(f"{v!r} is not a number in (0, 1]: use e.g. alpha = 0.9.")
    return float(v)


def _weight(v):
    if not isinstance(v, str) or v not in WEIGHTS:
        raise ValueError(f"{v!r} is not a weight policy: use {' or '.join(map(repr, WEIGHTS))}.")
    return v


def _queries(v):
    if v == "all" or (_is_int(v) and v >= 1):
        return v
    raise ValueError(f"{v!r} is not an integer >= 1 or 'all': use e.g. queries = 100.")


def _query_grid(v):
    if not isinstance(v, str) or v not in QUERY_GRIDS:
        raise ValueError(
            f"{v!r} is not a query grid: use 'log' (every M = 1, 2, 3, 5, 9, ... up to "
            "queries, from one stream) or 'none'."
        )
    return v


def query_counts(queries: int, n: int) -> tuple[int, ...]:
    """The query counts a ``query_grid = "log"`` point judges: 1, 2 and 2^k + 1 up to M_max.

    ``M_max = min(queries, 4^n - 1)`` is always the last entry (docs/theory.md §16.1).
    """
    top = min(int(queries), 4**n - 1)
    counts = [m for m in (1, 2) if m <= top]
    k = 1
    while 2**k + 1 < top:
        counts.append(2**k + 1)
        k += 1
    if counts[-1] != top:
        counts.append(top)
    return tuple(counts)


def _random_non_identity(rng: np.random.Generator, n: int, full: bool) -> str:
    while True:
        letters = "".join(rng.choice(list("XYZ" if full else "IXYZ"), size=n))
        if set(letters) != {"I"}:
            return letters


def judge(statistic: str, alpha: float, instance: Instance, means: np.ndarray) -> np.ndarray:
    """Success of each prefix from its per-query mean single-shot values (docs/theory.md §5.2).

    Parameters
    ----------
    statistic : str
        What the means estimate (the protocol's ``statistic``): ``"tr(Q rho)^2"`` (Bell
        sampling's f_Q; hot above alpha^2 / 2) or ``"tr(Q rho)"`` (shadow estimates; hot when
        the magnitude exceeds alpha / 2).
    alpha : float
        The state's bias.
    instance : Instance
        The trial's instance (a declared query set).
    means : np.ndarray
        ``(prefixes, M)`` mean single-shot values.

    Returns
    -------
    np.ndarray
        ``(prefixes,)`` bool.
    """
    if statistic == "tr(Q rho)^2":
        hot = means > alpha**2 / 2
    else:
        hot = np.abs(means) > alpha / 2
    expected = np.zeros(means.shape[1], dtype=bool)
    expected[instance.hidden] = True
    return np.all(hot == expected[None], axis=1)


def judge_nested(statistic: str, alpha: float, means: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Success of each prefix for every nested query set (P first, docs/theory.md §16.1).

    Parameters
    ----------
    statistic, alpha
        As for :func:`judge`.
    means : np.ndarray
        ``(prefixes, M_max)`` mean single-shot values; query 0 is the hidden P.
    counts : np.ndarray
        ``(K,)`` increasing query counts M; set k holds the first ``counts[k]`` queries.

    Returns
    -------
    np.ndarray
        ``(prefixes, K)`` bool: P hot and none of queries 1..M-1 hot.
    """
    if statistic == "tr(Q rho)^2":
        hot = means > alpha**2 / 2
    else:
        hot = np.abs(means) > alpha / 2
    # Index of the first hot null query (M_max when none), per prefix.
    nulls = hot[:, 1:]
    first = np.where(nulls.any(axis=1), nulls.argmax(axis=1) + 1, hot.shape[1])
    return hot[:, :1] & (counts[None, :] <= first[:, None])


def identified(instance: Instance, squares: np.ndarray) -> bool:
    """``queries="all"``: whether the largest estimated tr(Q rho)^2 over Q != I is P's.

    ``squares`` has shape ``(4,) * n`` (letter codes I=0, X=1, Y=2, Z=3, as from
    :meth:`copylearn.data.Dataset.estimate_all_squares`).
    """
    flat = squares.reshape(-1).copy()
    flat[0] = -np.inf
    code = {"I": 0, "X": 1, "Y": 2, "Z": 3}
    index = 0
    for c in instance.state.pauli:
        index = 4 * index + code[c]
    best = np.flatnonzero(flat == flat.max())
    return len(best) == 1 and best[0] == index


class PauliLearner(Learner):
    """The midpoint-threshold learner of one trial (docs/theory.md §5.2 to §5.5).

    With a calibration, the estimates are divided by the calibrated damping before the rule
    is applied; for ``queries="all"`` the learner names the Q of largest likelihood score
    D(Q) (mean f_Q - alpha^2 D(Q) / 2) (Gaussian means D(Q) alpha^2 for P and 0 for the
    rest, equal variances), which is the plain argmax when D = 1.
    """

    def __init__(self, spec: dict, protocol, instance: Instance, calibration) -> None:
        self.spec, self.protocol, self.instance = spec, protocol, instance
        self.counts = None
        if spec.get("query_grid", "none") == "log":
            self.counts = np.array(query_counts(spec["queries"], spec["n"]))
        n = spec["n"]
        self.damping = None
        if calibration is not None:
            if instance.queries is not None:
                calibration.check_resolved(instance.queries)
                self.damping = calibration.factors(instance.queries)[0]
            else:
                calibration.check_resolved(parse_paulis(["X" * n, "Y" * n, "Z" * n], n))
                self.damping = reduce(np.multiply.outer, calibration.site_table()[0])
        width = 4**n if instance.queries is None else len(instance.queries)
        self.running = np.zeros(width)  # sums, or a histogram of outcome codes

    def judge(self, data, ends, totals):
        """Fold in a segment; success of each prefix (see :meth:`Learner.judge`)."""
        spec, damping, running = self.spec, self.damping, self.running
        if self.instance.queries is None:
            codes = self.protocol.outcome_codes(data, spec["n"])
            out, start = [], 0
            for end in ends:
                running += np.bincount(codes[start:end], minlength=running.size)
                squares = walsh_squares(running, spec["n"])
                if damping is not None:
                    squares = damping * (squares - spec["alpha"] ** 2 * damping / 2)
                out.append(identified(self.instance, squares))
                start = end
            return np.array(out)
        scale = 1.0 if damping is None else damping
        s1, _ = self.protocol.sums(self.instance.queries, data, ends)
        means = (running[None] + s1) / totals[:, None] / scale
        running += s1[-1]
        if self.counts is not None:
            return judge_nested(self.protocol.statistic, spec["alpha"], means, self.counts)
        return judge(self.protocol.statistic, spec["alpha"], self.instance, means)


@register_task
class PauliPrediction(Task):
    """Predict |tr(Q rho)| for rho = (I + alpha s P)/2^n and a declared query set."""

    name = "pauli-prediction"
    description = "predict |tr(Q rho)| of a hidden Pauli-biased state (Science 2022)"
    parameters = (
        Parameter("alpha", 0.9, _alpha, "bias of rho = (I + alpha s P)/2^n, in (0, 1]"),
        Parameter(
            "weight", "full", _weight, "hidden P: 'full' (XYZ^n) or 'uniform' (any non-identity)"
        ),
        Parameter(
            "queries", 100, _queries, "query-set size M (capped at 4^n - 1), or 'all' (bell)"
        ),
        Parameter(
            "query_grid",
            "none",
            _query_grid,
            "'log': judge every M = 1, 2, 3, 5, 9, ... up to queries on nested query sets "
            "from one stream per trial (one summary row per M)",
        ),
    )
    optional = ("query_grid",)
    protocols = ("bell", "pauli-shadow", "clifford-shadow", "partial-bell")

    def check_spec(self, spec: dict) -> None:
        """Reject task parameters this task cannot run, naming the key, with the fix."""
        super().check_spec(spec)
        if spec.get("query_grid", "none") == "log" and spec["queries"] == "all":
            raise ParameterError(
                "query_grid",
                "query_grid='log' needs an integer number of queries (its largest M): give "
                "e.g. queries = 81.",
            )
        if spec["queries"] == "all":
            from copylearn.protocols import get_protocol

            if not get_protocol(spec["strategy"]).supports("all tr(Q rho)^2"):
                raise ParameterError(
                    "queries",
                    f"queries='all' needs every tr(Q rho)^2 at once, which {spec['strategy']} "
                    "data do not give (two-copy bell data do): give an integer number of "
                    "queries.",
                )
            if spec["n"] > MAX_ALL_SQUARES_QUBITS:
                raise ParameterError(
                    "queries",
                    f"queries='all' holds 4^n estimates and is limited to n <= "
                    f"{MAX_ALL_SQUARES_QUBITS} (got n = {spec['n']}): use an integer query "
                    "count.",
                )

    def circuit_family(self, spec: dict):
        """Every instance is a Pauli mixed state on n qubits: one parameterised circuit."""
        return PauliMixedState("Z" * spec["n"])

    def sample_instance(self, spec: dict, rng: np.random.Generator) -> Instance:
        """Draw a fresh hidden P, sign and query set for one trial (docs/theory.md §5.1)."""
        n, alpha = spec["n"], spec["alpha"]
        pauli = _random_non_identity(rng, n, spec["weight"] == "full")
        state = PauliMixedState(pauli, alpha=alpha, sign=int(rng.choice([-1, 1])))
        if spec["queries"] == "all":
            return Instance(state, None, -1)
        m = min(int(spec["queries"]), 4**n - 1)
        others: set[str] = set()
        while len(others) < m - 1:
            q = _random_non_identity(rng, n, full=False)
            if q != pauli:
                others.add(q)
        labels = sorted(others)
        rng.shuffle(labels)
        if spec.get("query_grid", "none") == "log":
            # Nested sets: P first, then the others in their drawn order (§16.1).
            return Instance(state, parse_paulis([pauli, *labels], n), 0)
        hidden = int(rng.integers(0, m))
        labels.insert(hidden, pauli)
        return Instance(state, parse_paulis(labels, n), hidden)

    def judged_axis(self, spec: dict) -> tuple[str, tuple] | None:
        """``("queries", query_counts(...))`` for ``query_grid = "log"``, else None."""
        if spec.get("query_grid", "none") != "log":
            return None
        return "queries", query_counts(spec["queries"], spec["n"])

    def learner(self, spec: dict, protocol, instance: Instance, calibration) -> PauliLearner:
        """The midpoint-threshold learner (:class:`PauliLearner`)."""
        return PauliLearner(spec, protocol, instance, calibration)

    def memory(self, spec: dict) -> dict[str, tuple[int, str]]:
        """Per trial the running sums over the query set and its packed Pauli strings, or
        for ``queries = "all"`` a histogram of 4^n entries and its Walsh-Hadamard transform."""
        n, trials = int(spec["n"]), int(spec["trials"])
        words = -(-n // 64)
        if spec["queries"] == "all":
            size = trials * 8 * 4**n + 3 * 8 * 4**n  # histograms + one transform's temporaries
        else:
            m = min(int(spec["queries"]), 4**n - 1)
            calibrated = spec.get("calibration_copies", 0) > 0
            size = trials * m * (8 + 16 * words + (8 if calibrated else 0)) + m * (n + 64)
        fix = "use an integer query count (e.g. queries = 100), fewer trials or a smaller n"
        return {"queries": (size, fix)}

    figures = ("crossover",)
    crossover_pair = ("bell", "pauli-shadow")

    def overlays(self, protocol, group: dict) -> tuple[dict, ...]:
        """Noiseless series: a shadow protocol's C base^n from its declared
        ``variance_growth`` (random-Pauli 3^n for a hidden P of full weight, §7.2; random
        Clifford 2^n for any P, §13.1) and the single-copy lower bound N_LB (§7.3) for
        single-copy protocols, Bell flat in n (§7.4), partial-bell with a Clifford rest
        C 2^n at fixed k (§20.5)."""
        out: list[dict] = []
        clean = group.get("noise", "none") in ("none", None, "") and group.get(
            "device", "none"
        ) in ("none", None)
        growth = protocol.variance_growth
        if clean and protocol.statistic == "tr(Q rho)" and growth is not None:
            base, label = growth
            # 3^n is the full-weight hardest case; a base below 3 (Clifford) holds for any P.
            if base < 3.0 or group.get("weight", "full") == "full":
                out.append({"kind": "exponential", "base": float(base), "label": label})
        if clean and protocol.statistic == "tr(Q rho)^2" and growth is None:  # not partial-bell
            out.append({"kind": "flat", "label": "Bell"})
        if clean and protocol.statistic == "tr(Q rho)^2" and growth is not None:
            # partial-bell at fixed k, Clifford rest: c2 (2^(n-k) + 1) / alpha^4 (§20.5)
            if group.get("rest", "clifford") == "clifford":
                out.append({"kind": "exponential", "base": float(growth[0]), "label": growth[1]})
        if protocol.copies_per_shot == 1:
            out.append({"kind": "single-copy-lower-bound"})
        if clean and group.get("query_grid") == "log" and "n" in group:
            slope = self._log_queries_slope(protocol, group)
            if slope is not None:
                out.append({"kind": "log-queries", "slope": slope, "label": "Chernoff rate"})
        return tuple(out)

    @staticmethod
    def _log_queries_slope(protocol, group: dict) -> float | None:
        """Copies per e-fold of M, 1/I of one null query (docs/theory.md §16.2): Bell
        sampling's f_Q, or random-Pauli shadows with a full-weight P (the nulls that bind)."""
        from copylearn.query_fits import chernoff_slope

        alpha = float(group.get("alpha", 0.9))
        if protocol.statistic == "tr(Q rho)^2":  # Bell's +-1 values only (not partial-bell)
            if protocol.variance_growth is not None:
                return None
            return chernoff_slope(protocol.statistic, group["n"], alpha, protocol.copies_per_shot)
        if protocol.variance_growth is not None and protocol.variance_growth[0] == 3.0:
            return chernoff_slope(protocol.statistic, group["n"], alpha, protocol.copies_per_shot)
        return None

    def expected_copies(self, spec: dict, protocol) -> float:
        """100 x the coin-picture copies: base^n / alpha^2 (single copy; the protocol's
        ``variance_growth`` base, 3 if it declares none), 1 / alpha^4 (squares)."""
        alpha = float(spec.get("alpha", 0.9))
        if protocol.statistic == "tr(Q rho)^2":
            return 100.0 / alpha**4
        base = 3.0 if protocol.variance_growth is None else protocol.variance_growth[0]
        return 100.0 * base ** spec["n"] / alpha**2
