"""Issue 9, item 4: every estimator's reported standard error is calibrated.

For each estimator, z = (estimate - truth) / stderr over 300 independently seeded datasets
(small n, one prepared collector reused, truth from the exact density matrix) must have a
standard deviation in [0.8, 1.25]. The one documented exception is the shadow U-statistic near
tr(Q rho) = 0, where no data-based error bar can be calibrated for every tr(Q rho) (see
Dataset.estimate_square): there the spread must lie in [0.22, 0.5] (conservative by design,
about 0.29 in theory; the former error bar gave 0.18, which this test refuses).
"""

from __future__ import annotations

import functools

import cirq
import numpy as np
import pytest

import copylearn as cl
from copylearn.collect import prepare_collector
from copylearn.data import Dataset

SEEDS = 300
SHOTS = 500
CALIBRATED = (0.8, 1.25)
# The shadow U-statistic at tr(Q rho) = 0: theory 0.29 (normal limit); documented conservative.
U_STAT_AT_ZERO = (0.22, 0.5)
# Its spread is calibrated only well away from 0 (delta = |tr| / se(mean) = 14 here).
U_STAT_SHOTS = 2000
STATE = cl.PauliMixedState("XZ", alpha=0.9, sign=-1)  # (I - 0.9 XZ) / 4
MATRICES = {"I": np.eye(2), "X": cirq.unitary(cirq.X), "Y": cirq.unitary(cirq.Y)}
MATRICES["Z"] = cirq.unitary(cirq.Z)


def exact(label: str) -> float:
    """tr(Q rho) from the state's exact density matrix."""
    q = functools.reduce(np.kron, [MATRICES[c] for c in label])
    return float(np.real(np.trace(q @ STATE.density_matrix())))


@functools.cache
def datasets(protocol: str, seed: int, shots: int = SHOTS) -> list[Dataset]:
    """SEEDS datasets of ``shots`` experiments each, from one prepared collector."""
    collector = prepare_collector(STATE, protocol, backend="exact")
    roots = np.random.SeedSequence(seed).spawn(SEEDS + 1)
    arrays, _ = collector.sample_many([STATE] * SEEDS, shots, roots[:-1], roots[-1])
    return [Dataset(protocol, STATE.n, a, {"n": STATE.n}) for a in arrays]


def z_spread(estimates: list[cl.Estimates], truth: np.ndarray) -> np.ndarray:
    """Standard deviation over datasets of (estimate - truth) / stderr, per observable."""
    values = np.array([e.values for e in estimates])
    stderr = np.array([e.stderr for e in estimates])
    assert np.all(stderr > 0)
    return ((values - truth) / stderr).std(axis=0)


def test_truths_are_what_the_spreads_assume():
    assert exact("XZ") == pytest.approx(-0.9)
    assert exact("ZI") == pytest.approx(0.0, abs=1e-12)
    assert np.trace(STATE.density_matrix() @ STATE.density_matrix()).real == pytest.approx(
        (1 + 0.81) / 4
    )


def test_shadow_mean_and_median_of_means_are_calibrated():
    data = datasets("pauli-shadow", 101)
    labels = ["XZ", "ZI", "XI"]
    truth = np.array([exact(o) for o in labels])
    mean = z_spread([d.estimate(labels) for d in data], truth)
    mom = z_spread([d.estimate(labels, median_of_means=5) for d in data], truth)
    print("shadow mean z spread", mean, "median of 5 means", mom)
    assert np.all((CALIBRATED[0] <= mean) & (mean <= CALIBRATED[1])), mean
    assert np.all((CALIBRATED[0] <= mom) & (mom <= CALIBRATED[1])), mom


def test_shadow_u_statistic_is_calibrated_away_from_zero_and_conservative_at_zero():
    data = datasets("pauli-shadow", 102, U_STAT_SHOTS)
    labels = ["XZ", "ZI", "IX"]
    truth = np.array([exact(o) ** 2 for o in labels])
    spread = z_spread([d.estimate_square(labels) for d in data], truth)
    print("shadow U-statistic z spread (truth 0.81, 0, 0)", spread)
    assert CALIBRATED[0] <= spread[0] <= CALIBRATED[1], spread
    assert np.all((U_STAT_AT_ZERO[0] <= spread[1:]) & (spread[1:] <= U_STAT_AT_ZERO[1])), spread


def test_bell_estimators_are_calibrated():
    data = datasets("bell", 103)
    labels = ["XZ", "ZI", "YY"]
    squares = np.array([exact(o) ** 2 for o in labels])
    mean = z_spread([d.estimate_square(labels) for d in data], squares)
    absolute = z_spread([d.estimate_abs(["XZ"]) for d in data], np.array([0.9]))
    purity = z_spread([d.purity() for d in data], np.array([(1 + 0.81) / 4]))
    print("bell mean", mean, "bell |tr|", absolute, "purity", purity)
    for spread in (mean, absolute, purity):
        assert np.all((CALIBRATED[0] <= spread) & (spread <= CALIBRATED[1])), spread


def test_shadow_u_statistic_is_never_anticonservative():
    """The U-statistic's spread over tr(X rho) = alpha from 0 to large: never above 1.25.

    delta = alpha / se(mean) runs from 0 to about 14 at 500 shots: at 14 the spread must be
    calibrated, below it may only be conservative (theory: 0.29 at 0, 0.74 at 2, 0.89 at 5).
    """
    alphas = [0.0, 0.05, 0.1, 0.2, 0.35, 0.9]
    # tr(X rho) = alpha; for 0, a state polarised along Z (all one-qubit Pauli states share
    # one collector).
    states = [cl.PauliMixedState("X", alpha=a) if a else cl.PauliMixedState("Z") for a in alphas]
    collector = prepare_collector(states[0], "pauli-shadow", backend="exact")
    per_state = 200
    roots = np.random.SeedSequence(104).spawn(per_state * len(alphas) + 1)
    runs = [s for s in states for _ in range(per_state)]
    arrays, _ = collector.sample_many(runs, SHOTS, roots[:-1], roots[-1])
    for i, alpha in enumerate(alphas):
        block = arrays[i * per_state : (i + 1) * per_state]
        estimates = [Dataset("pauli-shadow", 1, a, {"n": 1}).estimate_square("X") for a in block]
        truth = np.trace(MATRICES["X"] @ states[i].density_matrix()).real
        assert truth == pytest.approx(alpha)
        spread = z_spread(estimates, np.array([truth**2]))[0]
        delta = alpha * np.sqrt(SHOTS / (3 - alpha**2))
        print(f"alpha {alpha}: delta {delta:.2f}, U-statistic z spread {spread:.3f}")
        assert U_STAT_AT_ZERO[0] <= spread <= CALIBRATED[1], (alpha, spread)
        if delta >= 10:
            assert CALIBRATED[0] <= spread, (alpha, spread)
