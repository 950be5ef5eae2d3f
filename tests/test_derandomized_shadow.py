"""derandomized-shadow (issue 15 item 2, docs/theory.md §17): the greedy bases never have a
larger confidence bound than random bases' expectation, a single known observable is measured
every round, the hit-mean estimator matches exact density matrices within 5 standard errors,
same seed gives the same bases and data, and bad input is one line."""

from __future__ import annotations

import functools
import re

import numpy as np
import pytest

import copylearn as cl
from copylearn.cli import main
from copylearn.derandomize import (
    confidence_bound,
    derandomized_bases,
    hit_counts,
    letter_codes,
    random_confidence_bound,
)
from copylearn.errors import CopylearnError
from copylearn.states import random_mixed_state

_P = {
    "I": np.eye(2),
    "X": np.array([[0, 1], [1, 0]]),
    "Y": np.array([[0, -1j], [1j, 0]]),
    "Z": np.diag([1.0, -1.0]),
}


def _random_codes(rng, n: int, count: int, max_weight: int) -> np.ndarray:
    codes = np.zeros((count, n), dtype=np.uint8)
    for i in range(count):
        w = int(rng.integers(1, max_weight + 1))
        sites = rng.choice(n, size=w, replace=False)
        codes[i, sites] = rng.integers(1, 4, size=w)
    return codes


@pytest.mark.parametrize("seed", range(12))
def test_greedy_bound_never_exceeds_the_random_expectation(seed):
    """CONF(derandomized) <= E CONF(random) (the conditional-expectation argument, §17.1)."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 9))
    codes = _random_codes(rng, n, int(rng.integers(1, 40)), min(n, 5))
    rounds = int(rng.integers(1, 120))
    for epsilon in (0.5, 0.9):
        bases = derandomized_bases(codes, rounds, epsilon=epsilon)
        assert bases.shape == (rounds, n) and set(np.unique(bases)) <= {1, 2, 3}
        got = confidence_bound(codes, bases, epsilon=epsilon)
        assert got <= random_confidence_bound(codes, rounds, epsilon=epsilon) * (1 + 1e-12)


def test_greedy_beats_random_by_far_on_high_weight_observables():
    """The known gain: weight-8 observables on 8 qubits are hit in every round they can be,
    where random bases hit each 200 * 3^-8 = 0.03 times."""
    rng = np.random.default_rng(1)
    codes = _random_codes(rng, 8, 30, 8)
    bases = derandomized_bases(codes, 200)
    hits = hit_counts(codes, bases)
    assert hits.min() >= 3
    assert confidence_bound(codes, bases) < 0.1 * random_confidence_bound(codes, 200)


@pytest.mark.parametrize("label", ["XYZI", "IIZI", "YYYY"])
def test_one_known_observable_is_measured_every_round(label):
    codes = letter_codes([label], 4)
    bases = derandomized_bases(codes, 50)
    assert hit_counts(codes, bases)[0] == 50
    state = cl.PauliMixedState("XYZI", alpha=0.9, sign=-1)
    data = cl.collect(state, "derandomized-shadow", copies=200, observables=label, seed=2)
    bases = data.outcomes()["bases"]
    support = [i for i, c in enumerate(label) if c != "I"]
    assert np.all(bases[:, support] == codes[0, support])
    est = data.estimate([label])
    assert est.shots == 200


def test_same_seed_same_bases_and_data():
    state = random_mixed_state(3, 2, 4)
    obs = ["XXI", "ZIZ", "IYY", "XYZ"]
    a = cl.collect(state, "derandomized-shadow", copies=300, observables=obs, seed=9)
    b = cl.collect(state, "derandomized-shadow", copies=300, observables=obs, seed=9)
    for key in a.arrays:
        np.testing.assert_array_equal(a.arrays[key], b.arrays[key])
    assert a.metadata["protocol_options"]["observables"] == "XXI,ZIZ,IYY,XYZ"


def _truth(rho: np.ndarray, labels) -> np.ndarray:
    return np.array(
        [np.trace(functools.reduce(np.kron, [_P[c] for c in q]) @ rho).real for q in labels]
    )


def _states_within_five_standard_errors(n: int, count: int, seed: int) -> None:
    """Random observable sets of weight <= n on random mixed and Pauli states, exact rho."""
    rng = np.random.default_rng(seed)
    for i in range(count):
        if i % 2:
            state = random_mixed_state(n, 3, int(rng.integers(2**31)))
        else:
            pauli = "".join(rng.choice(list("XYZ"), size=n))
            state = cl.PauliMixedState(pauli, alpha=0.9, sign=int(rng.choice([-1, 1])))
        codes = _random_codes(rng, n, 12, n)
        labels = sorted({"".join("IXYZ"[c] for c in row) for row in codes})
        if i % 2 == 0:
            labels = sorted({*labels, state.pauli})
        data = cl.collect(
            state,
            "derandomized-shadow",
            copies=1500,
            observables=labels,
            backend="exact",
            seed=int(rng.integers(2**31)),
        )
        est = data.estimate(labels)
        truth = _truth(state.density_matrix(), labels)
        hits = hit_counts(letter_codes(labels, n), data.outcomes()["bases"])
        exact_se = np.sqrt(np.maximum(1 - truth**2, 0) / hits)
        scale = np.where(est.stderr > 0, est.stderr, exact_se)
        z = np.abs(est.values - truth) / np.where(scale > 0, scale, 1.0)
        assert np.all(z <= 5), (n, i, labels, est.values, truth, est.stderr)


def test_estimator_within_five_standard_errors_n2():
    _states_within_five_standard_errors(2, 10, seed=20)


@pytest.mark.slow
@pytest.mark.parametrize("n", [3, 4])
def test_estimator_within_five_standard_errors_n3_n4(n):
    _states_within_five_standard_errors(n, 10, seed=20 + n)


def test_api_bad_input_is_one_line():
    state = cl.PauliMixedState("XYZ")
    with pytest.raises(CopylearnError, match="needs the observables in advance"):
        cl.collect(state, "derandomized-shadow", copies=10, seed=1)
    with pytest.raises(CopylearnError, match=r"3 qubits|4 letters|exactly one"):
        cl.collect(state, "derandomized-shadow", copies=10, observables="XXXX", seed=1)
    with pytest.raises(CopylearnError, match="observables"):
        cl.collect(state, "derandomized-shadow", copies=10, options={"observables": "XQ"})
    data = cl.collect(state, "derandomized-shadow", copies=50, observables="XYZ", seed=1)
    with pytest.raises(CopylearnError, match="measured in 0 round"):
        data.estimate(["ZZZ"])
    with pytest.raises(CopylearnError, match="does not support tr\\(Q rho\\)\\^2"):
        data.estimate_square(["XYZ"])
    with pytest.raises(CopylearnError, match="median_of_means"):
        data.estimate(["XYZ"], median_of_means=2)


@pytest.mark.parametrize(
    "extra",
    [
        [],  # no observables
        ["--observables", "XXXX"],  # wrong qubit count
        ["--observables", "XQZ"],  # not a Pauli label
    ],
)
def test_cli_bad_input_is_one_line_exit_2(extra, tmp_path, capsys):
    argv = ["collect", "--state", "pauli:XYZ", "--protocol", "derandomized-shadow"]
    argv += ["--copies", "10", "--out", str(tmp_path / "d.npz"), *extra]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("copylearn: error:")
    assert not (tmp_path / "d.npz").exists()


def test_cli_collect_and_estimate(tmp_path, capsys):
    out = tmp_path / "d.npz"
    argv = ["collect", "--state", "pauli:XYZ:0.9:-1", "--protocol", "derandomized-shadow"]
    argv += ["--copies", "200", "--seed", "3", "--observables", "XYZ,XII", "--out", str(out)]
    assert main(argv) == 0
    capsys.readouterr()
    assert main(["estimate", str(out), "--observables", "XYZ"]) == 0
    text = capsys.readouterr().out
    assert re.search(r"XYZ\s+-0\.[89]", text) and "queries known in advance" in text


def test_listed(capsys):
    assert main(["list"]) == 0
    assert "derandomized-shadow" in capsys.readouterr().out
