"""Statistical validation of every estimator against exact values (fixed seeds).

Acceptance criterion: for n = 1..3, at least 20 random states per n (product, entangled
brickwork, mixed through channels) plus PauliMixedState instances, with and without noise,
on both backends, every estimator's mean lies within 5 of its own standard errors of the
exact value. Noiseless exact values come from ``state.density_matrix()``; noisy ones from
``tests/exact_reference.py`` (Cirq's density-matrix simulator on the protocol's noisy
circuit, every parameter setting enumerated), which is itself checked here against the
density matrix (noiseless, to 1e-9) and against closed-form noise laws.

The thresholds are 5 standard errors as reported by the estimator; they are never tuned.
Where the reported standard error is exactly 0 (every shot gave the same value, e.g. a Bell
f_Q with tr(Q rho)^2 = 0.9999), the estimator's exact standard error, computed from the
reference's exact per-shot variance, stands in; where that is 0 too, the estimate must equal
the exact value up to rounding (1e-12). Because an inflated standard error would make the
5-sigma test vacuous, the reported standard errors of the plain means are also checked
against the exact ones (median ratio over the observables of a run within 0.75..1.33).

Size of the default (not slow) run: 3 qubit counts x 22 states (7 product, 7 brickwork,
6 mixed, 2 PauliMixedState) x 2 noise settings x 2 backends, each on the whole-circuit
execution path and, where the circuits factor into blocks (n = 1, product and PauliMixed
states), on the block path too: 424 cases, each collecting 2000 copies with both protocols
and making 4 (4^n - 1) + 1 five-sigma comparisons (41,224 in all), plus standard-error
calibration and consistency checks. The slow run repeats this with fresh states and 20,000
copies, and checks the Science state on all 255 Paulis on both backends.
"""

from __future__ import annotations

import math

import cirq
import numpy as np
import pytest
from exact_reference import (
    Moments,
    all_paulis,
    bell_moments,
    bell_outcome_distributions,
    clifford_conditional_moments,
    expectation,
    pauli_matrix,
    shadow_moments,
    state_settings,
)
from scipy.stats import binom, norm

import copylearn as cl
from copylearn.backends import execute
from copylearn.conformance import check_protocol, check_task
from copylearn.noise import LocalNoise
from copylearn.protocols import get_protocol, protocol_names, two_copy
from copylearn.tasks import task_names

Z_MAX = 5.0
# Two-sided tail probability of Z_MAX standard errors of a Gaussian (about 5.7e-7): the
# false-alarm rate of every comparison, and the exact binomial test's level for means of
# +-1 values (Checker.two_valued_within).
TWO_VALUED_TAIL = 2.0 * float(norm.sf(Z_MAX))
ZERO_SE_TOL = 1e-12
NOISE = "depolarizing:0.05+amplitude_damping:0.03+readout:0.02"
NOISES = {"noiseless": None, "noisy": NOISE}
BACKENDS = ("qsim", "exact")
COPIES = 2000
SLOW_COPIES = 20_000
MOM_BATCHES = 5
# A reported standard error of a plain mean is a sample standard deviation over sqrt(N):
# its median ratio to the exact value over the observables of one run must be near 1.
SE_RATIO_RANGE = (0.75, 1.0 / 0.75)

PAULI_MIXED = {  # per variant (0: default run, 1: slow run), per n
    0: {
        1: [("X", 0.9, 1), ("Y", 0.6, -1)],
        2: [("XZ", 0.9, -1), ("YI", 0.7, 1)],
        3: [("XYZ", 0.9, -1), ("IZY", 0.5, 1)],
    },
    1: {
        1: [("Z", 0.8, -1), ("X", 1.0, 1)],
        2: [("ZY", 0.9, 1), ("XX", 0.4, -1)],
        3: [("YXX", 0.9, 1), ("ZIZ", 0.3, -1)],
    },
}


def make_states(n: int, variant: int = 0) -> dict[str, object]:
    """At least 20 random states for n qubits, plus PauliMixedState instances.

    ``variant`` shifts the seeds, giving a fresh set of states for the slow tests.
    """
    base = 100_000 * variant + 1000 * n
    states: dict[str, object] = {}
    for k in range(7):
        states[f"product{k}"] = cl.random_product_state(n, seed=base + k)
    for k in range(7):
        states[f"brickwork{k}"] = cl.random_brickwork_state(n, depth=2 + k % 3, seed=base + 100 + k)
    for k in range(6):
        states[f"mixed{k}"] = cl.random_mixed_state(n, depth=1 + k % 3, seed=base + 200 + k)
    for label, alpha, sign in PAULI_MIXED[variant][n]:
        states[f"pauli-{label}{sign:+d}"] = cl.PauliMixedState(label, alpha, sign)
    return states


STATES = {n: make_states(n) for n in (1, 2, 3)}
STATE_CASES = [(n, name) for n in (1, 2, 3) for name in STATES[n]]
STATE_IDS = [f"n{n}-{name}" for n, name in STATE_CASES]


def weight(label: str) -> int:
    return sum(c != "I" for c in label)


# ----- exact values ------------------------------------------------------------------------
_REFERENCE: dict[tuple, tuple[Moments, Moments, Moments]] = {}


def reference(n: int, name: str, noise_key: str, states=None) -> tuple[Moments, Moments, Moments]:
    """Cached exact moments: (shadow x_Q, Bell f_Q, Bell purity estimator)."""
    states = STATES if states is None else states
    key = (n, name, noise_key, id(states))
    if key not in _REFERENCE:
        state = states[n][name]
        labels = all_paulis(n)
        shadow = shadow_moments(state, labels, NOISES[noise_key])
        bell, purity = bell_moments(state, labels, NOISES[noise_key])
        _REFERENCE[key] = (shadow, bell, purity)
    return _REFERENCE[key]


def density_values(state, labels: list[str]) -> tuple[np.ndarray, float]:
    """tr(Q rho) for every label and tr(rho^2), from ``state.density_matrix()``."""
    rho = state.density_matrix()
    return np.array([expectation(rho, q) for q in labels]), float(np.real(np.trace(rho @ rho)))


# ----- comparison helpers ------------------------------------------------------------------
class Checker:
    """Collects every comparison of one test so a failure lists all offenders at once."""

    def __init__(self, context: str):
        self.context = context
        self.failures: list[str] = []
        self.count = 0

    def within(self, what: str, est: cl.Estimates, exact, exact_se) -> None:
        """|estimate - exact| <= 5 * reported stderr, for every observable.

        Where the reported stderr is 0 (every shot gave the same value) the estimator's exact
        standard error ``exact_se`` from the reference stands in; where that is 0 as well the
        estimate must equal the exact value up to rounding.
        """
        shape = est.values.shape
        exact = np.broadcast_to(np.asarray(exact, dtype=float), shape)
        exact_se = np.broadcast_to(np.asarray(exact_se, dtype=float), shape)
        for label, value, se, truth, true_se in zip(
            est.observables, est.values, est.stderr, exact, exact_se, strict=True
        ):
            self.count += 1
            diff = abs(float(value) - float(truth))
            scale = se if se > 0 else true_se
            ok = diff <= Z_MAX * scale if scale > 0 else diff <= ZERO_SE_TOL
            if not ok:
                z = diff / scale if scale > 0 else math.inf
                self.failures.append(
                    f"{what} {label}: estimate {value:.6f}, exact {truth:.6f}, "
                    f"reported stderr {se:.6f}, exact stderr {true_se:.6f} (|z| = {z:.2f})"
                )

    def two_valued_within(self, what: str, est: cl.Estimates, exact) -> None:
        """Means of per-shot values in {-1, +1}: the count of -1 outcomes against its exact
        binomial law, two-sided at the tail probability of 5 standard errors.

        The count k = N (1 - mean) / 2 of -1 shots is Binomial(N, p) with p = (1 - exact) / 2.
        It fails when P(K <= k) or P(K >= k) is below :data:`TWO_VALUED_TAIL` / 2; in the
        Gaussian limit that is the 5-sigma bound, and unlike it the test stays exact when one
        outcome is rare (p N of order 1 to 10, where a sample standard error of a count of 1
        or 2 makes 5 reported standard errors far narrower than the count's spread).
        """
        shots = est.shots
        exact = np.broadcast_to(np.asarray(exact, dtype=float), est.values.shape)
        for label, value, truth in zip(est.observables, est.values, exact, strict=True):
            self.count += 1
            count = shots * (1.0 - float(value)) / 2.0
            k = round(count)
            if abs(count - k) > 1e-6 * shots:  # not a mean of +-1 values: a bug, say so
                self.failures.append(f"{what} {label}: {value!r} is no mean of {shots} +-1 values")
                continue
            p = min(1.0, max(0.0, (1.0 - float(truth)) / 2.0))
            if not two_valued_ok(k, shots, p):
                low, high = binomial_tails(k, shots, p)
                self.failures.append(
                    f"{what} {label}: {k} of {shots} shots gave -1, exact p = {p:.6f} "
                    f"(expected {shots * p:.2f}); P(K <= k) = {low:.3g}, P(K >= k) = {high:.3g} "
                    f"(two-sided tail limit {TWO_VALUED_TAIL:.3g})"
                )

    def stderr_calibrated(self, what: str, est: cl.Estimates, exact_var: np.ndarray) -> None:
        exact_se = np.sqrt(np.asarray(exact_var) / est.shots)
        usable = exact_se > 1e-9
        if not usable.any():
            return
        ratio = float(np.median(est.stderr[usable] / exact_se[usable]))
        self.count += 1
        if not SE_RATIO_RANGE[0] <= ratio <= SE_RATIO_RANGE[1]:
            self.failures.append(
                f"{what}: median reported/exact standard error ratio {ratio:.3f} outside "
                f"{SE_RATIO_RANGE}"
            )

    def equal(self, what: str, got, expected, tol: float = 1e-12) -> None:
        self.count += 1
        if not np.allclose(got, expected, rtol=0, atol=tol):
            self.failures.append(f"{what}: got {np.asarray(got)}, expected {np.asarray(expected)}")

    def assert_ok(self) -> None:
        assert not self.failures, (
            f"{self.context}: {len(self.failures)} of {self.count} comparisons failed:\n"
            + "\n".join(self.failures)
        )


def binomial_tails(k: int, shots: int, p: float) -> tuple[float, float]:
    """P(K <= k) and P(K >= k) for K ~ Binomial(shots, p), exactly (scipy.stats.binom)."""
    return float(binom.cdf(k, shots, p)), float(binom.sf(k - 1, shots, p))


def two_valued_ok(k: int, shots: int, p: float) -> bool:
    """Whether a count k of -1 shots passes the two-sided exact binomial test at
    :data:`TWO_VALUED_TAIL` (each tail probability at least half of it)."""
    return min(binomial_tails(k, shots, p)) >= TWO_VALUED_TAIL / 2


def mean_se(variance, shots: int) -> np.ndarray:
    """Exact standard error of a mean of ``shots`` i.i.d. values with this variance."""
    return np.sqrt(np.asarray(variance, dtype=float) / shots)


def u_statistic_se(mu, variance, shots: int) -> np.ndarray:
    """Exact standard error of (S1^2 - S2)/(N(N-1)), the U-statistic with kernel x*y:
    Var = (4 (N-2) zeta1 + 2 zeta2) / (N (N-1)), zeta1 = mu^2 s^2, zeta2 = (s^2+mu^2)^2 - mu^4."""
    mu, var = np.asarray(mu, dtype=float), np.asarray(variance, dtype=float)
    zeta1 = mu**2 * var
    zeta2 = (var + mu**2) ** 2 - mu**4
    return np.sqrt((4 * (shots - 2) * zeta1 + 2 * zeta2) / (shots * (shots - 1)))


def _collect_on_path(protocol, state, copies, noise, backend, seed, execution, **kwargs):
    """Collect with ``protocol`` and check the forced execution path was the one taken."""
    data = cl.collect(
        state,
        protocol=protocol,
        copies=copies,
        noise=noise,
        backend=backend,
        seed=seed,
        execution=execution,
        **kwargs,
    )
    assert data.metadata["execution"]["path"] == execution
    return data


def _check_shadow(check, state, labels, refs, exact, backend, copies, seed, execution, noise):
    """Every estimator of pauli-shadow data; returns the estimator keys it checked."""
    shadow_ref = refs[0]
    exact_signed = exact[0]
    shadows = _collect_on_path("pauli-shadow", state, copies, noise, backend, seed, execution)
    shots = shadows.shots
    mean = shadows.estimate(labels)
    check.within("shadow estimate", mean, exact_signed, mean_se(shadow_ref.variance, shots))
    check.stderr_calibrated("shadow estimate", mean, shadow_ref.variance)
    # The U-statistic is unbiased for (E x_Q)^2, noisy or not.
    check.within(
        "shadow estimate_square",
        shadows.estimate_square(labels),
        exact_signed**2,
        u_statistic_se(shadow_ref.mean, shadow_ref.variance, shots),
    )
    mom = shadows.estimate(labels, median_of_means=MOM_BATCHES)
    check.within(
        f"shadow median-of-{MOM_BATCHES}-means",
        mom,
        exact_signed,
        math.sqrt(math.pi / 2) * mean_se(shadow_ref.variance, mom.shots),
    )
    check.equal(
        "shadow estimate_abs == min(|estimate|, 1)",
        shadows.estimate_abs(labels).values,
        np.minimum(np.abs(mean.values), 1.0),
    )
    # Randomized-measurement purity (docs/theory.md §14): unbiased for tr(rho^2) of the state
    # measured; under noise the measured effects are damped, so exact truth is the noiseless
    # case only (tests/test_purity_testing.py checks noisy states prepared by their circuit).
    purity = shadows.purity()
    if noise is None:
        check.within("shadow purity", purity, exact[2], purity.stderr)
    else:
        assert np.all(np.isfinite(purity.values)) and np.all(purity.stderr > 0)
    return {"tr(Q rho)", "tr(Q rho)^2", "|tr(Q rho)|", "tr(rho^2)"}


def _check_bell(check, state, labels, refs, exact, backend, copies, seed, execution, noise):
    """Every estimator of bell data; returns the estimator keys it checked."""
    _, bell_ref, purity_ref = refs
    _, exact_square, exact_purity = exact
    bell = _collect_on_path("bell", state, copies, noise, backend, seed, execution)
    square = bell.estimate_square(labels)
    # Every Bell shot gives f_Q and the swap value in {-1, +1} (docs/theory.md §4.2, §4.4): their
    # means are checked against the exact binomial law of the -1 count (rare -1 outcomes,
    # e.g. tr(Q rho)^2 = 0.99, are where 5 reported standard errors are not a 5-sigma test).
    check.two_valued_within("bell estimate_square", square, exact_square)
    check.stderr_calibrated("bell estimate_square", square, bell_ref.variance)
    pur = bell.purity()
    check.two_valued_within("bell purity", pur, exact_purity)
    check.stderr_calibrated("bell purity", pur, purity_ref.variance)
    check.equal(
        "bell estimate_abs == sqrt(max(0, estimate_square))",
        bell.estimate_abs(labels).values,
        np.sqrt(np.maximum(square.values, 0.0)),
    )
    values, _ = bell.estimate_all_squares()
    codes = [tuple("IXYZ".index(c) for c in q) for q in labels]
    check.equal(
        "bell estimate_all_squares == estimate_square",
        np.array([values[c] for c in codes]),
        square.values,
    )
    ratio = bell.estimate_principal_ratio(labels)
    if noise is None:
        # The self-normalised ratio sum f_Q sigma / sum sigma (docs/theory.md §19.3) against
        # the exact tr(Q rho Q rho) / tr(rho^2). Where every shot gave the same f_Q (ratio
        # exactly +-1; the reported error is then the Jeffreys floor, which like Bell's
        # estimate_square floor is no 5-sigma bound for rare outcomes) the delta-method bound
        # Var <= 4 / (K tr(rho^2)^2) of §19.3 stands in.
        rho = state.density_matrix()
        purity = float(np.real(np.trace(rho @ rho)))
        paulis = [pauli_matrix(q) for q in labels]
        truth = [np.real(np.trace(q @ rho @ q @ rho)) / purity for q in paulis]
        bound = 2.0 / (purity * math.sqrt(bell.shots))
        agreed = np.abs(ratio.values) == 1.0
        ratio = cl.Estimates(
            ratio.quantity,
            ratio.observables,
            ratio.values,
            np.where(agreed, 0.0, ratio.stderr),
            ratio.shots,
            ratio.method,
        )
        check.within("bell estimate_principal_ratio", ratio, truth, bound)
    return {
        "tr(Q rho)^2",
        "|tr(Q rho)|",
        "tr(rho^2)",
        "all tr(Q rho)^2",
        "tr(Q rho Q rho)/tr(rho^2)",
    }


def _check_clifford(check, state, labels, refs, exact, backend, copies, seed, execution, noise):
    """Every estimator of clifford-shadow data; returns the estimator keys it checked.

    Noiseless: against the density matrix (``exact``), with the exact per-shot variance
    2^n + 1 - tr(Q rho)^2 (docs/theory.md §13.1) for the standard-error calibration.
    Noisy: against the exact means given the Cliffords the data drew
    (``exact_reference.clifford_conditional_moments``: noisy density-matrix outcome laws and
    dense U Q U^dagger), so every noise model has an exact target; ``refs`` is unused.
    """
    data = _collect_on_path("clifford-shadow", state, copies, noise, backend, seed, execution)
    shots = data.shots
    mean = data.estimate(labels)
    square = data.estimate_square(labels)
    if noise is None:
        truth = exact[0]
        variance = 2.0**state.n + 1.0 - truth**2
        check.within("clifford estimate", mean, truth, mean_se(variance, shots))
        check.stderr_calibrated("clifford estimate", mean, variance)
        truth_square = truth**2
        square_se = u_statistic_se(truth, variance, shots)
    else:
        mu, second = clifford_conditional_moments(state, data, labels, noise)
        truth = mu.mean(axis=0)
        check.within(
            "clifford estimate (given the Cliffords)",
            mean,
            truth,
            np.sqrt((second - mu**2).sum(axis=0)) / shots,
        )
        total = mu.sum(axis=0)
        truth_square = (total**2 - (mu**2).sum(axis=0)) / (shots * (shots - 1))
        square_se = u_statistic_se(truth, (second - mu**2).mean(axis=0), shots)
    check.within("clifford estimate_square", square, truth_square, square_se)
    check.equal(
        "clifford estimate_abs == min(|estimate|, 1)",
        data.estimate_abs(labels).values,
        np.minimum(np.abs(mean.values), 1.0),
    )
    return {"tr(Q rho)", "tr(Q rho)^2", "|tr(Q rho)|"}


#: Per registered protocol, the check of every estimator it declares against the exact
#: reference (tests/exact_reference.py): a new protocol adds its entry here (its tests).
def _check_derandomized(check, state, labels, refs, exact, backend, copies, seed, execution, noise):
    """derandomized-shadow, every observable declared in advance: the mean eigenvalue over the
    rounds that measured Q targets what a shadow snapshot matching Q measures (the exact
    shadow mean, noisy or not: the measurement stage's noise is local), error sqrt(1-t^2)/h."""
    from copylearn.derandomize import hit_counts, letter_codes

    data = _collect_on_path(
        "derandomized-shadow", state, copies, noise, backend, seed, execution, observables=labels
    )
    mean = data.estimate(labels)
    hits = hit_counts(letter_codes(labels, state.n), data.outcomes()["bases"])
    truth = np.asarray(exact[0], dtype=float)
    check.within("derandomized estimate", mean, truth, np.sqrt((1 - truth**2) / hits))
    check.equal(
        "derandomized estimate_abs == min(|estimate|, 1)",
        data.estimate_abs(labels).values,
        np.minimum(np.abs(mean.values), 1.0),
    )
    return {"tr(Q rho)", "|tr(Q rho)|"}


def _check_process_protocol(check, state, *args):
    """Protocols that query a unitary declare no estimator: tests/test_dynamics_protocols.py
    checks their outcome laws against exact linear algebra instead."""
    return set()


def _check_partial_bell(check, state, labels, refs, exact, backend, copies, seed, execution, noise):
    """partial-bell with one memory pair and a Clifford rest, noiseless: estimate_square
    against the density matrix, with the exact error sqrt((E f^2 - t^4)/N), E f^2 = 2^{n-1} + 1
    (docs/theory.md §20.2); |tr(Q rho)| is its clipped root. Every k, both rests, exact
    enumeration and storage noise: tests/test_partial_bell.py."""
    options = {"memory_qubits": min(1, state.n)}
    data = _collect_on_path(
        "partial-bell", state, copies, noise, backend, seed, execution, options=options
    )
    square = data.estimate_square(labels)
    second = data.spec.second_moment(cl.parse_paulis(labels, state.n))
    check.within(
        "partial-bell estimate_square",
        square,
        exact[1],
        mean_se(np.maximum(second - exact[1] ** 2, 0.0), data.shots),
    )
    check.equal(
        "partial-bell estimate_abs == sqrt(clip(estimate_square))",
        data.estimate_abs(labels).values,
        np.sqrt(np.clip(square.values, 0.0, 1.0)),
    )
    return {"tr(Q rho)^2", "|tr(Q rho)|"}


PROTOCOL_CHECKS = {
    "pauli-shadow": _check_shadow,
    "bell": _check_bell,
    "clifford-shadow": _check_clifford,
    "derandomized-shadow": _check_derandomized,
    "two-query-bell": _check_process_protocol,
    "conventional-y": _check_process_protocol,
    "partial-bell": _check_partial_bell,
}
#: Protocols whose conformance runs on its own case list instead of the 424-case grid:
#: clifford-shadow makes one simulator call per distinct random Clifford (about one per shot),
#: so it runs below (test_clifford_shadow_within_five_standard_errors).
#: derandomized-shadow runs a greedy search per collection: its own short list by default;
#: the unitary-query protocols in tests/test_dynamics_protocols.py.
#: partial-bell draws a Clifford per experiment too: tests/test_partial_bell.py runs its case.
OWN_CASES = (
    "clifford-shadow",
    "derandomized-shadow",
    "two-query-bell",
    "conventional-y",
    "partial-bell",
)


def run_statistical_checks(
    n: int,
    name: str,
    noise_key: str,
    backend: str,
    copies: int,
    seed: int,
    states=None,
    execution: str = "circuit",
    protocols: tuple[str, ...] | None = None,
) -> int:
    """Collect with each protocol and check every estimator it declares; returns the count."""
    states = STATES if states is None else states
    state = states[n][name]
    noise = NOISES[noise_key]
    labels = all_paulis(n)
    refs = reference(n, name, noise_key, states)
    shadow_ref, bell_ref, purity_ref = refs
    if noise is None:  # exact values straight from the density matrix
        exact_signed, exact_purity = density_values(state, labels)
        exact_square = exact_signed**2
    else:  # noisy: exact means of the per-shot estimators of the noisy circuits
        exact_signed = shadow_ref.mean
        exact_square = bell_ref.mean  # E f_Q, not a square of anything in general
        exact_purity = purity_ref.mean[0]
    check = Checker(
        f"n={n} state={name} noise={noise_key} backend={backend} execution={execution} seed={seed}"
    )
    default = tuple(p for p in protocol_names() if p not in OWN_CASES)
    for protocol in default if protocols is None else protocols:
        covered = PROTOCOL_CHECKS[protocol](
            check,
            state,
            labels,
            refs,
            (exact_signed, exact_square, exact_purity),
            backend,
            copies,
            seed,
            execution,
            noise,
        )
        declared = set(get_protocol(protocol).estimators)
        assert covered == declared, f"{protocol}: checks {covered}, declares {declared}"
    check.assert_ok()
    return check.count


def test_two_valued_bound_is_an_exact_binomial_test_at_five_sigma_level():
    """The bound of Checker.two_valued_within: its false-alarm rate is at most the 5-sigma
    tail, it matches mean +- 5 sigma where the count is Gaussian, and where an outcome is rare
    it accepts the counts the 5-reported-standard-error bound wrongly rejects."""
    assert 5.6e-7 < TWO_VALUED_TAIL < 5.8e-7
    for shots, p in ((2000, 0.004), (2000, 0.5), (400, 0.0125)):
        k = np.arange(shots + 1)
        accepted = np.array([two_valued_ok(int(i), shots, p) for i in k])
        assert binom.pmf(k[~accepted], shots, p).sum() <= TWO_VALUED_TAIL
    shots, p = 10**6, 0.3  # Gaussian limit: the accepted counts are mean +- 5 sigma, to 1%
    sigma = math.sqrt(shots * p * (1 - p))
    for edge in (-5, 5):
        inside = round(shots * p + 0.99 * edge * sigma)
        outside = round(shots * p + 1.01 * edge * sigma)
        assert two_valued_ok(inside, shots, p) and not two_valued_ok(outside, shots, p)
    # The rare case (a Bell square near 1, p(-1) = 0.004, 8 expected of 2000): one -1 shot is
    # likely (P = 0.003) yet 5 of its own reported standard errors do not reach the truth.
    shots, p, k = 2000, 0.004, 1
    mean, truth = 1 - 2 * k / shots, 1 - 2 * p
    reported_se = math.sqrt(4 * (k / shots) * (1 - k / shots) / (shots - 1))
    assert abs(mean - truth) > Z_MAX * reported_se
    assert two_valued_ok(k, shots, p) and two_valued_ok(0, shots, p)
    assert not two_valued_ok(40, shots, p)  # 5 times the expected count: rejected
    assert not two_valued_ok(1, shots, 0.0)  # an impossible -1 outcome: rejected


def test_every_registered_protocol_has_a_conformance_check():
    assert set(PROTOCOL_CHECKS) == set(protocol_names())


# The public helper plug-in authors call (copylearn.conformance): generic checks against the
# exact density matrix, on every registered protocol and task.
#: One simulator call per drawn Clifford on the exact backend: minutes, so in the slow run.
SLOW_PUBLIC_CHECKS = ("partial-bell",)


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(p, marks=pytest.mark.slow) if p in SLOW_PUBLIC_CHECKS else p
        for p in protocol_names()
    ],
)
def test_public_conformance_check_of_every_protocol(name):
    check_protocol(name, n_values=(1, 2), states=2, calibration_copies=6000)


@pytest.mark.slow
@pytest.mark.parametrize("name", protocol_names())
def test_public_conformance_check_of_every_protocol_ten_states_per_n(name):
    report = check_protocol(name)  # n = 1..3, 10 random states each, with and without noise
    assert len(report.checked) == 4


@pytest.mark.parametrize(
    "name",
    [
        # Purity testing's random-Pauli learner sums over pairs of snapshots (quadratic in N):
        # its search takes about a minute; tests/test_registry.py runs the same small point of
        # every protocol by default.
        # principal-component: a shadow snapshot of a Haar brickwork is one qsim call (minutes).
        pytest.param(t, marks=pytest.mark.slow)
        if t in ("purity-testing", "principal-component")
        else t
        for t in task_names()
    ],
)
def test_public_conformance_check_of_every_task(name):
    check_task(name)


# ----- 1. the exact reference itself -------------------------------------------------------
@pytest.mark.parametrize(("n", "name"), STATE_CASES, ids=STATE_IDS)
def test_reference_matches_density_matrix(n, name):
    """Noiseless, the enumerated circuits reproduce tr(Q rho), tr(Q rho)^2 and tr(rho^2)."""
    state = STATES[n][name]
    labels = all_paulis(n)
    signed, purity = density_values(state, labels)
    shadow, bell, pur = reference(n, name, "noiseless")
    np.testing.assert_allclose(shadow.mean, signed, rtol=0, atol=1e-9)
    # E x_Q^2 = 3^|Q| exactly (docs/theory.md §3.2).
    np.testing.assert_allclose(shadow.second, [3.0 ** weight(q) for q in labels], rtol=0, atol=1e-9)
    np.testing.assert_allclose(bell.mean, signed**2, rtol=0, atol=1e-9)
    np.testing.assert_allclose(pur.mean, [purity], rtol=0, atol=1e-9)
    assert np.trace(state.density_matrix()).real == pytest.approx(1.0, abs=1e-12)


def test_state_families_are_what_they_claim():
    """Product states are pure and unentangled, brickwork states entangled, mixed states mixed."""
    for n in (1, 2, 3):
        states = STATES[n]
        assert sum(not k.startswith("pauli") for k in states) >= 20
        for name, state in states.items():
            rho = state.density_matrix()
            purity = np.trace(rho @ rho).real
            if name.startswith(("product", "brickwork")):
                assert purity == pytest.approx(1.0, abs=1e-9), name
            if name.startswith("mixed"):
                assert purity < 0.99, name
            if name.startswith("product") and n > 1:
                first = rho.reshape(2, 2 ** (n - 1), 2, 2 ** (n - 1)).trace(axis1=1, axis2=3)
                assert np.trace(first @ first).real == pytest.approx(1.0, abs=1e-9), name
        if n > 1:
            entangled = 0
            for name, state in states.items():
                if not name.startswith("brickwork"):
                    continue
                rho = state.density_matrix()
                first = rho.reshape(2, 2 ** (n - 1), 2, 2 ** (n - 1)).trace(axis1=1, axis2=3)
                entangled += np.trace(first @ first).real < 0.99
            assert entangled >= 5


@pytest.mark.parametrize("n", [1, 2, 3])
def test_reference_readout_noise_law(n):
    """Readout flips q (docs/theory.md §8.3): shadows (1-2q)^|Q| tr(Q rho); Bell
    (1-2q)^(#X+#Z+2#Y) tr(Q rho)^2. Checks the reference and the readout model exactly."""
    q = 0.1
    labels = all_paulis(n)
    for name in ("product0", "brickwork1", "mixed2", *(k for k in STATES[n] if k[:5] == "pauli")):
        state = STATES[n][name]
        signed, _ = density_values(state, labels)
        shadow = shadow_moments(state, labels, f"readout:{q}")
        bell, _ = bell_moments(state, labels, f"readout:{q}")
        damp_shadow = np.array([(1 - 2 * q) ** weight(p) for p in labels])
        damp_bell = np.array(
            [(1 - 2 * q) ** (p.count("X") + p.count("Z") + 2 * p.count("Y")) for p in labels]
        )
        np.testing.assert_allclose(shadow.mean, damp_shadow * signed, rtol=0, atol=1e-9)
        np.testing.assert_allclose(bell.mean, damp_bell * signed**2, rtol=0, atol=1e-9)
        np.testing.assert_allclose(
            shadow.second, [3.0 ** weight(p) for p in labels], rtol=0, atol=1e-9
        )


@pytest.mark.parametrize("n", [1, 2, 3])
def test_reference_depolarizing_noise_law(n):
    """Gate-local depolarizing p, Pauli fidelity f = 1 - 4p/3, on a circuit state.

    Let rho' be the state after the noisy preparation (computed by the product's NumPy
    Kraus path, not a simulator). Depolarizing commutes with single-qubit unitaries, and the
    shadow measurement stage puts two gates (Z**s, H**h) on every qubit, so
    E x_Q = f^(2|Q|) tr(Q rho'). For Bell sampling the measured parity Z_A^x Z_B^z picks up
    f^x after H(A) and f^(x+z) after the CNOT layer, then maps to Q (x) Q through the CNOT:
    E f_Q = f^(sum_i 2x_i + z_i) tr(Q rho')^2, i.e. f^2 per X, f per Z, f^3 per Y.
    """
    p = 0.1
    f = 1 - 4 * p / 3
    labels = all_paulis(n)
    for name in ("product1", "brickwork2", "mixed0"):
        state = STATES[n][name]
        noisy_prep = cl.CircuitState(state.circuit.with_noise(LocalNoise(depolarizing=p)))
        signed, _ = density_values(noisy_prep, labels)
        shadow = shadow_moments(state, labels, f"depolarizing:{p}")
        bell, _ = bell_moments(state, labels, f"depolarizing:{p}")
        damp_shadow = np.array([f ** (2 * weight(q)) for q in labels])
        damp_bell = np.array(
            [f ** (2 * q.count("X") + q.count("Z") + 3 * q.count("Y")) for q in labels]
        )
        np.testing.assert_allclose(shadow.mean, damp_shadow * signed, rtol=0, atol=1e-9)
        np.testing.assert_allclose(bell.mean, damp_bell * signed**2, rtol=0, atol=1e-9)


# ----- 2. statistical validation -----------------------------------------------------------
def factorable(n: int, name: str) -> bool:
    """Whether the protocol circuits split into independent blocks (single qubits for shadows,
    (A_i, B_i) pairs for Bell sampling): no gate or channel joins two qubits of one copy."""
    return n == 1 or name.startswith(("product", "pauli"))


def execution_cases(states) -> list[tuple[int, str, str]]:
    """Every state on the whole-circuit path, and the factorable ones on the block path too."""
    cases = []
    for n in (1, 2, 3):
        for name in states[n]:
            cases.append((n, name, "circuit"))
            if factorable(n, name):
                cases.append((n, name, "blocks"))
    return cases


EXECUTIONS = ("circuit", "blocks")
CASES = execution_cases(STATES)


def case_seed(base: int, states, n: int, name: str, noise_key: str, backend: str, execution):
    index = list(states[n]).index(name)
    return (
        base
        + 10_000 * n
        + 100 * index
        + 10 * list(NOISES).index(noise_key)
        + 2 * BACKENDS.index(backend)
        + EXECUTIONS.index(execution)
    )


@pytest.mark.parametrize("protocol", [p for p in protocol_names() if p not in OWN_CASES])
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("noise_key", list(NOISES))
@pytest.mark.parametrize(
    ("n", "name", "execution"), CASES, ids=[f"n{n}-{name}-{e}" for n, name, e in CASES]
)
def test_estimators_within_five_standard_errors(n, name, execution, noise_key, backend, protocol):
    """The registry's conformance suite: every protocol, every estimator it declares."""
    seed = case_seed(0, STATES, n, name, noise_key, backend, execution)
    run_statistical_checks(
        n, name, noise_key, backend, COPIES, seed, execution=execution, protocols=(protocol,)
    )


DERANDOMIZED_CASES = [
    (n, name, "circuit")
    for n in (1, 2, 3)
    for name in STATES[n]
    if name.startswith(("pauli", "mixed")) and name.endswith("0")
]


@pytest.mark.parametrize("noise_key", list(NOISES))
@pytest.mark.parametrize(
    ("n", "name", "execution"),
    DERANDOMIZED_CASES,
    ids=[f"n{n}-{name}-{e}" for n, name, e in DERANDOMIZED_CASES],
)
def test_derandomized_shadow_within_five_standard_errors(n, name, execution, noise_key):
    """derandomized-shadow's conformance on a short case list (every declared estimator)."""
    seed = case_seed(70_000, STATES, n, name, noise_key, "exact", execution)
    run_statistical_checks(
        n, name, noise_key, "exact", COPIES, seed, protocols=("derandomized-shadow",)
    )


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("noise_key", list(NOISES))
@pytest.mark.parametrize(
    ("n", "name", "execution"), CASES, ids=[f"n{n}-{name}-{e}" for n, name, e in CASES]
)
def test_derandomized_shadow_within_five_standard_errors_rest(
    n, name, execution, noise_key, backend
):
    """derandomized-shadow on the whole case grid."""
    seed = case_seed(70_000, STATES, n, name, noise_key, backend, execution)
    run_statistical_checks(
        n,
        name,
        noise_key,
        backend,
        COPIES,
        seed,
        execution=execution,
        protocols=("derandomized-shadow",),
    )


SLOW_STATES = {n: make_states(n, variant=1) for n in (1, 2, 3)}
SLOW_CASES = execution_cases(SLOW_STATES)


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("noise_key", list(NOISES))
@pytest.mark.parametrize(
    ("n", "name", "execution"), SLOW_CASES, ids=[f"n{n}-{name}-{e}" for n, name, e in SLOW_CASES]
)
def test_estimators_within_five_standard_errors_many_copies(n, name, execution, noise_key, backend):
    """A fresh set of states and ten times the copies: tighter intervals, same criterion."""
    seed = case_seed(900_000, SLOW_STATES, n, name, noise_key, backend, execution)
    run_statistical_checks(
        n, name, noise_key, backend, SLOW_COPIES, seed, states=SLOW_STATES, execution=execution
    )


def _clifford_states() -> dict[int, dict[str, object]]:
    """10 random states per n = 1..4 (4 product, 4 brickwork, 2 mixed) plus, for n <= 3, the
    PauliMixedState instances of STATES."""
    out = {}
    for n in (1, 2, 3, 4):
        base = 700_000 + 1000 * n
        states: dict[str, object] = {}
        for k in range(4):
            states[f"product{k}"] = cl.random_product_state(n, seed=base + k)
            states[f"brickwork{k}"] = cl.random_brickwork_state(
                n, depth=2 + k % 3, seed=base + 100 + k
            )
        for k in range(2):
            states[f"mixed{k}"] = cl.random_mixed_state(n, depth=1 + k, seed=base + 200 + k)
        if n <= 3:
            states |= {k: v for k, v in STATES[n].items() if k.startswith("pauli")}
        out[n] = states
    return out


CLIFFORD_STATES = _clifford_states()
CLIFFORD_COPIES = 300
# Default run (one simulator call per distinct Clifford, so kept small): every state at
# n = 1 with and without noise, every state noiseless at n = 2, four states noiseless at
# n = 3 and 4, two noisy at n = 2 (an exact conditional reference, one density-matrix
# simulation per drawn Clifford). The slow run: every other (n, state, noise) at n = 1..4.
_DEFAULT_FEW = ("product0", "brickwork0", "brickwork1", "mixed0")
CLIFFORD_CASES = [(1, name, key) for key in NOISES for name in CLIFFORD_STATES[1]]
CLIFFORD_CASES += [(2, name, "noiseless") for name in CLIFFORD_STATES[2]]
CLIFFORD_CASES += [(2, name, "noisy") for name in ("product0", "brickwork1")]
CLIFFORD_CASES += [(n, name, "noiseless") for n in (3, 4) for name in _DEFAULT_FEW]
CLIFFORD_SLOW_CASES = [
    (n, name, key)
    for n in (2, 3, 4)
    for key in NOISES
    for name in CLIFFORD_STATES[n]
    if (n, name, key) not in CLIFFORD_CASES
]


def _run_clifford_case(n: int, name: str, noise_key: str, copies: int) -> None:
    state = CLIFFORD_STATES[n][name]
    labels = all_paulis(n)
    signed, purity = density_values(state, labels)
    seed = 50_000 + 1000 * n + 10 * list(CLIFFORD_STATES[n]).index(name)
    seed += list(NOISES).index(noise_key)
    check = Checker(f"clifford-shadow n={n} state={name} noise={noise_key} seed={seed}")
    covered = PROTOCOL_CHECKS["clifford-shadow"](
        check,
        state,
        labels,
        None,
        (signed, signed**2, purity),
        "qsim",
        copies,
        seed,
        "circuit",
        NOISES[noise_key],
    )
    assert covered == set(get_protocol("clifford-shadow").estimators)
    check.assert_ok()


@pytest.mark.parametrize(
    ("n", "name", "noise_key"), CLIFFORD_CASES, ids=[f"n{n}-{s}-{k}" for n, s, k in CLIFFORD_CASES]
)
def test_clifford_shadow_within_five_standard_errors(n, name, noise_key):
    """clifford-shadow's conformance: every estimator within 5 standard errors, 300 copies."""
    _run_clifford_case(n, name, noise_key, CLIFFORD_COPIES)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("n", "name", "noise_key"),
    CLIFFORD_SLOW_CASES,
    ids=[f"n{n}-{s}-{k}" for n, s, k in CLIFFORD_SLOW_CASES],
)
def test_clifford_shadow_within_five_standard_errors_rest(n, name, noise_key):
    """The cases the default run leaves out (n = 2..4, most of them noisy), 300 copies each."""
    _run_clifford_case(n, name, noise_key, CLIFFORD_COPIES)


# ----- 3. Bell-state labels ----------------------------------------------------------------
BELL_STATES = {  # name -> (expected (m_A, m_B), textbook vector on (A, B))
    "phi+": ((0, 0), np.array([1, 0, 0, 1]) / math.sqrt(2)),
    "psi+": ((0, 1), np.array([0, 1, 1, 0]) / math.sqrt(2)),
    "phi-": ((1, 0), np.array([1, 0, 0, -1]) / math.sqrt(2)),
    "psi-": ((1, 1), np.array([0, 1, -1, 0]) / math.sqrt(2)),
}


def bell_pair(kind: str, a: cirq.Qid, b: cirq.Qid) -> list[cirq.Operation]:
    ops = [cirq.H(a), cirq.CNOT(a, b)]
    if kind.startswith("psi"):
        ops.append(cirq.X(b))
    if kind.endswith("-"):
        ops.append(cirq.Z(a))
    return ops


@pytest.mark.parametrize("kind", list(BELL_STATES))
def test_bell_pair_preparation_is_the_textbook_state(kind):
    a, b = cirq.LineQubit.range(2)
    vector = cirq.final_state_vector(cirq.Circuit(bell_pair(kind, a, b)), qubit_order=[a, b])
    np.testing.assert_allclose(vector, BELL_STATES[kind][1], atol=1e-7)


@pytest.mark.parametrize("execution", ["circuit", "blocks"])
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "kinds",
    [
        ("phi+",),
        ("psi+",),
        ("phi-",),
        ("psi-",),
        ("psi-", "phi+", "psi+"),
        ("phi-", "psi-", "phi+", "psi+"),
    ],
    ids=lambda kinds: "-".join(kinds),
)
def test_bell_states_map_to_outcome_labels(kinds, backend, execution):
    """Phi+, Psi+, Phi-, Psi- on (A_i, B_i) give (0,0), (0,1), (1,0), (1,1) deterministically."""
    n = len(kinds)
    a, b = two_copy.registers(n)
    prep = cirq.Circuit(op for i, k in enumerate(kinds) for op in bell_pair(k, a[i], b[i]))
    circuit = prep + two_copy.bell_measurement(a, b)
    shots = 200
    bits, info = execute(
        circuit,
        (),
        np.zeros((shots, 0)),
        np.random.SeedSequence(17),
        backend=backend,
        execution=execution,
    )
    assert info["path"] == execution
    expected_a = [BELL_STATES[k][0][0] for k in kinds]
    expected_b = [BELL_STATES[k][0][1] for k in kinds]
    assert bits["a"].shape == bits["b"].shape == (shots, n)
    assert (bits["a"] == np.array(expected_a)[None]).all()
    assert (bits["b"] == np.array(expected_b)[None]).all()
    # The same on the exact outcome distribution (interleaved order A_0, B_0, A_1, ...).
    interleaved = [q for pair in zip(a, b, strict=True) for q in pair]
    rho = (
        cirq.DensityMatrixSimulator(dtype=np.complex128)
        .simulate(prep + two_copy.bell_measurement(a, b)[:-1], qubit_order=interleaved)
        .final_density_matrix
    )
    index = int("".join(f"{x}{y}" for x, y in zip(expected_a, expected_b, strict=True)), 2)
    assert np.real(rho[index, index]) == pytest.approx(1.0, abs=1e-9)


def test_bell_outcome_law_of_pauli_mixed_state():
    """Reference check of docs/theory.md §4.6: p(m) = (1 + a^2 f_P(m)) / 4^n for (I + a s P)/2^n."""
    for label, alpha, sign in [("XY", 0.9, -1), ("ZIX", 0.6, 1)]:
        state = cl.PauliMixedState(label, alpha, sign)
        n = len(label)
        total = np.zeros(4**n)
        m_a = m_b = None
        for p_setting, probs, bits_a, bits_b in bell_outcome_distributions(state):
            total += p_setting * probs
            m_a, m_b = bits_a, bits_b
        f_p = np.ones(4**n)
        for i, q in enumerate(label):
            if q == "X":
                f_p *= (-1.0) ** m_a[:, i]
            elif q == "Z":
                f_p *= (-1.0) ** m_b[:, i]
            elif q == "Y":
                f_p *= -((-1.0) ** (m_a[:, i] + m_b[:, i]))
        np.testing.assert_allclose(total, (1 + alpha**2 * f_p) / 4**n, rtol=0, atol=1e-9)


# ----- 4. the Science state ----------------------------------------------------------------
SCIENCE_OTHERS = ["XYZZ", "XYII", "ZZZZ", "IIIX", "XXXX", "IYZI", "YXZI", "XYIZ"]


def _science_check(sign: int, backend: str, copies: int, all_q: bool) -> None:
    alpha = 0.9
    state = cl.PauliMixedState("XYZI", alpha=alpha, sign=sign)
    labels = all_paulis(4) if all_q else ["XYZI", *SCIENCE_OTHERS]
    truth_signed = np.array([alpha * sign if q == "XYZI" else 0.0 for q in labels])
    rho = state.density_matrix()
    np.testing.assert_allclose(
        [expectation(rho, q) for q in labels], truth_signed, rtol=0, atol=1e-12
    )
    check = Checker(f"Science state sign={sign:+d} backend={backend}")
    seed = 4242 + (sign > 0) + 2 * BACKENDS.index(backend)
    shadows = cl.collect(state, protocol="pauli-shadow", copies=copies, backend=backend, seed=seed)
    # Exact per-shot variances: 3^|Q| - tr(Q rho)^2 (shadows), 1 - tr(Q rho)^4 (Bell).
    shadow_var = np.array([3.0 ** weight(q) for q in labels]) - truth_signed**2
    n_sh = shadows.shots
    check.within(
        "shadow estimate", shadows.estimate(labels), truth_signed, mean_se(shadow_var, n_sh)
    )
    check.within(
        "shadow estimate_square",
        shadows.estimate_square(labels),
        truth_signed**2,
        u_statistic_se(truth_signed, shadow_var, n_sh),
    )
    bell = cl.collect(state, protocol="bell", copies=copies, backend=backend, seed=seed)
    square = bell.estimate_square(labels)
    check.within(
        "bell estimate_square", square, truth_signed**2, mean_se(1 - truth_signed**4, bell.shots)
    )
    purity = (1 + alpha**2) / 16
    check.within("bell purity", bell.purity(), purity, mean_se(1 - purity**2, bell.shots))
    check.assert_ok()
    # The signal itself is resolved, not merely consistent with zero.
    value, se = shadows.estimate(["XYZI"])["XYZI"]
    assert sign * value > 10 * se
    value, se = square["XYZI"]
    assert value == pytest.approx(alpha**2, abs=Z_MAX * se) and value > 10 * se
    if all_q:
        assert square.observables[int(np.argmax(square.values))] == "XYZI"


@pytest.mark.parametrize("sign", [-1, 1])
def test_science_state(sign):
    """tr(P rho) = alpha * s from shadows, tr(P rho)^2 = alpha^2 = 0.81 from Bell sampling."""
    _science_check(sign, "qsim", 20_000, all_q=False)


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("sign", [-1, 1])
def test_science_state_all_paulis(sign, backend):
    """All 255 non-identity Paulis, both backends; the Bell argmax identifies P."""
    _science_check(sign, backend, 20_000, all_q=True)


# ----- 5. single-shot unbiasedness of the noisy reference ----------------------------------
@pytest.mark.parametrize("n", [1, 2, 3])
def test_noisy_shadow_second_moment_is_exact(n):
    """Under the full noise model the shadow estimator still has E x_Q^2 = 3^|Q| exactly
    (x_Q^2 = 9^|Q| 1[bases match], whatever the outcomes): a check that the reference
    enumerates the bases uniformly even when noise changes every outcome distribution."""
    labels = all_paulis(n)
    for name in ("mixed1", *(k for k in STATES[n] if k[:5] == "pauli")):
        shadow, _, purity = reference(n, name, "noisy")
        np.testing.assert_allclose(
            shadow.second, [3.0 ** weight(q) for q in labels], rtol=0, atol=1e-9
        )
        assert 0 < purity.mean[0] <= 1


def test_pauli_mixed_flip_distribution_matches_sampler():
    """The reference's exact flip-pattern law p(b) (docs/theory.md §2.2) is normalised and is what
    ``PauliMixedState.sample_parameters`` draws (each pattern's frequency within 5 SE)."""
    rng = np.random.default_rng(99)
    shots = 200_000
    for n in (1, 2, 3):
        for name, state in STATES[n].items():
            if not isinstance(state, cl.PauliMixedState):
                continue
            settings = state_settings(state)
            assert sum(p for _, p in settings) == pytest.approx(1.0, abs=1e-12)
            draws = state.sample_parameters(rng, shots)
            # Columns after the n flip bits are P's constant eigenbasis turns.
            assert np.all(draws[:, n:] == np.array(settings[0][0][n:]))
            codes = draws[:, :n].astype(np.int64) @ (2 ** np.arange(n - 1, -1, -1))
            freq = np.bincount(codes, minlength=2**n) / shots
            for values, p in settings:
                code = int("".join(str(int(v)) for v in values[:n]), 2)
                se = math.sqrt(p * (1 - p) / shots)
                assert abs(freq[code] - p) <= Z_MAX * se, (name, values, freq[code], p)
