"""Greedy derandomization of Pauli measurement bases for known observables (docs/theory.md §17).

Huang, Kueng & Preskill, "Efficient estimation of Pauli observables by derandomization",
PRL 127, 030503 (2021): replace the random single-qubit bases of a classical shadow, one
qubit of one round at a time, by the fixed basis that minimises the conditional expectation
of a confidence bound on the final estimation error, the not-yet-chosen bases still random.
Written from the paper's description (§17.1 of the theory notes gives the cost function);
no third-party code is used.

Observables are given as letter codes, an ``(L, n)`` uint8 array with I = 0, X = 1, Y = 2,
Z = 3 (:func:`letter_codes`); bases are ``(rounds, n)`` codes in {1, 2, 3}.
"""

from __future__ import annotations

import math

import numpy as np

from copylearn.errors import CopylearnError

__all__ = [
    "confidence_bound",
    "derandomized_bases",
    "hit_counts",
    "letter_codes",
    "random_confidence_bound",
]

_CODES = {"I": 0, "X": 1, "Y": 2, "Z": 3}


def letter_codes(labels, n: int) -> np.ndarray:
    """``(L, n)`` uint8 letter codes (I = 0, X = 1, Y = 2, Z = 3) of unsigned Pauli labels.

    Raises
    ------
    CopylearnError
        A label of the wrong length or with a letter other than I, X, Y, Z.
    """
    out = np.zeros((len(labels), n), dtype=np.uint8)
    for i, label in enumerate(labels):
        text = label.lstrip("+-")
        if len(text) != n or any(c not in _CODES for c in text):
            raise CopylearnError(
                f"observable {label!r} is not a Pauli label on {n} qubits: give {n} letters "
                "from I, X, Y, Z."
            )
        out[i] = [_CODES[c] for c in text]
    return out


def _nu(epsilon: float) -> float:
    return -math.expm1(-(epsilon**2) / 2)


def derandomized_bases(codes: np.ndarray, rounds: int, *, epsilon: float = 0.9) -> np.ndarray:
    """The greedy derandomized bases for ``rounds`` rounds (docs/theory.md §17.1).

    Round m, qubit k (in order) gets the basis W in (X, Y, Z) that minimises

        sum_l exp(-(eps^2/2) h_l) [1 - nu alive_l(W) 3^(-rem_l)] (1 - nu 3^(-|o_l|))^(R-m-1),

    the expectation of the confidence bound CONF = sum_l exp(-(eps^2/2) h_l) when the later
    qubits of round m and all later rounds are measured in uniformly random bases:
    ``h_l`` the rounds before m that measured o_l on its whole support, ``alive_l(W)`` whether
    the bases chosen so far in round m (with W on qubit k) agree with o_l on its support,
    ``rem_l`` the qubits of o_l's support not yet chosen in round m, nu = 1 - exp(-eps^2/2).
    Ties go to X, then Y. The bases are a deterministic function of the observables, rounds
    and epsilon.

    Parameters
    ----------
    codes : np.ndarray
        ``(L, n)`` letter codes of the observables (:func:`letter_codes`), each not the
        identity.
    rounds : int
        Measurement rounds R (shots), >= 1.
    epsilon : float
        Accuracy in the cost function, > 0.

    Returns
    -------
    np.ndarray
        ``(rounds, n)`` uint8 basis codes, X = 1, Y = 2, Z = 3.

    Raises
    ------
    CopylearnError
        No observables, an identity observable, rounds < 1 or epsilon <= 0.
    """
    codes = np.asarray(codes, dtype=np.uint8)
    if codes.ndim != 2 or codes.shape[0] == 0:
        raise CopylearnError("derandomization needs at least one observable.")
    weight = np.count_nonzero(codes, axis=1)
    if np.any(weight == 0):
        raise CopylearnError("an identity observable needs no measurement: leave it out.")
    if rounds < 1 or not epsilon > 0:
        raise CopylearnError(f"rounds = {rounds}, epsilon = {epsilon}: need >= 1 and > 0.")
    n = codes.shape[1]
    nu, eta = _nu(epsilon), epsilon**2 / 2
    log_future = np.log1p(-nu * 3.0 ** (-weight.astype(np.float64)))
    third = 3.0 ** -np.arange(n + 1, dtype=np.float64)
    support = codes != 0
    hits = np.zeros(len(codes), dtype=np.float64)
    bases = np.empty((rounds, n), dtype=np.uint8)
    for m in range(rounds):
        logw = -eta * hits + (rounds - m - 1) * log_future
        w = np.exp(logw - logw.max())  # a common factor: the argmin is unchanged
        alive = np.ones(len(codes), dtype=bool)
        rem = weight.copy()
        for k in range(n):
            inside = support[:, k]
            rem_after = rem - inside
            # Only the observables still alive matter: the others contribute a constant.
            gain = w * alive * third[rem_after]
            agree = (codes[:, k][None, :] == np.arange(1, 4, dtype=np.uint8)[:, None]) | ~inside
            cost = -(agree * gain).sum(axis=1)  # up to the constant sum_l w_l
            choice = int(np.argmin(cost))
            bases[m, k] = choice + 1
            alive &= agree[choice]
            rem = rem_after
        hits += alive
    return bases


def hit_counts(codes: np.ndarray, bases: np.ndarray) -> np.ndarray:
    """``(L,)`` rounds whose bases agree with each observable on its whole support."""
    codes = np.asarray(codes, dtype=np.uint8)
    out = np.zeros(len(codes), dtype=np.int64)
    for start in range(0, len(codes), 256):
        block = codes[start : start + 256]
        agree = (bases[:, None, :] == block[None]) | (block[None] == 0)
        out[start : start + 256] = agree.all(axis=2).sum(axis=0)
    return out


def confidence_bound(codes: np.ndarray, bases: np.ndarray, *, epsilon: float = 0.9) -> float:
    """CONF = sum_l exp(-(eps^2/2) h_l) of fixed bases (docs/theory.md §17.1)."""
    return float(np.exp(-(epsilon**2) / 2 * hit_counts(codes, bases)).sum())


def random_confidence_bound(codes: np.ndarray, rounds: int, *, epsilon: float = 0.9) -> float:
    """E CONF = sum_l (1 - nu 3^(-|o_l|))^rounds of uniformly random bases (§17.1)."""
    weight = np.count_nonzero(np.asarray(codes), axis=1).astype(np.float64)
    return float(np.exp(rounds * np.log1p(-_nu(epsilon) * 3.0**-weight)).sum())
