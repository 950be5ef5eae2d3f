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

The rule is fixed before any data is seen; nothing is tuned on the trials.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from copylearn.data import MAX_ALL_SQUARES_QUBITS
from copylearn.errors import CopylearnError
from copylearn.pauli import Paulis, parse_paulis
from copylearn.states import PauliMixedState

NAME = "pauli-prediction"
WEIGHTS = ("full", "uniform")


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


def _random_non_identity(rng: np.random.Generator, n: int, full: bool) -> str:
    while True:
        letters = "".join(rng.choice(list("XYZ" if full else "IXYZ"), size=n))
        if set(letters) != {"I"}:
            return letters


def check_spec(spec: dict) -> None:
    """Reject task parameters this task cannot run, with the fix."""
    if spec["weight"] not in WEIGHTS:
        raise CopylearnError(f"weight={spec['weight']!r}: use one of {', '.join(WEIGHTS)}.")
    if spec["queries"] == "all":
        if spec["strategy"] != "bell":
            raise CopylearnError(
                "queries='all' is implemented for two-copy (bell) data only: give an integer "
                "number of queries for single-copy strategies."
            )
        if spec["n"] > MAX_ALL_SQUARES_QUBITS:
            raise CopylearnError(
                f"queries='all' holds 4^n estimates and is limited to n <= "
                f"{MAX_ALL_SQUARES_QUBITS} (got n = {spec['n']}): use an integer query count."
            )


def sample_instance(spec: dict, rng: np.random.Generator) -> Instance:
    """Draw a fresh hidden P, sign and query set for one trial."""
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
    hidden = int(rng.integers(0, m))
    labels.insert(hidden, pauli)
    return Instance(state, parse_paulis(labels, n), hidden)


def judge(strategy: str, alpha: float, instance: Instance, means: np.ndarray) -> np.ndarray:
    """Success of each prefix from its per-query mean single-shot values.

    Parameters
    ----------
    strategy : str
        ``"bell"`` (means of f_Q) or ``"pauli-shadow"`` (means of the shadow estimates).
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
    if strategy == "bell":
        hot = means > alpha**2 / 2
    else:
        hot = np.abs(means) > alpha / 2
    expected = np.zeros(means.shape[1], dtype=bool)
    expected[instance.hidden] = True
    return np.all(hot == expected[None], axis=1)


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
