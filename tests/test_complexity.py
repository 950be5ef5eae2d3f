"""The N* search: grid, crossing, Wilson intervals, nested-prefix sums, the task's rule."""

from __future__ import annotations

import numpy as np
import pytest

import copylearn as cl
from copylearn.complexity import copy_grid, crossing, run_point, wilson_interval
from copylearn.errors import CopylearnError
from copylearn.pauli import bell_sums, pack_bits, parse_paulis, shadow_sums
from copylearn.tasks import get_task
from copylearn.tasks.pauli_prediction import Instance, judge

sample_instance = get_task("pauli-prediction").sample_instance

SPEC = {
    "task": "pauli-prediction",
    "strategy": "bell",
    "n": 3,
    "alpha": 0.9,
    "weight": "full",
    "queries": 3,
    "noise": "none",
    "target": 0.9,
    "trials": 60,
    "max_copies": 100_000,
}


def test_copy_grid_is_a_five_percent_log_grid_of_whole_experiments():
    grid = copy_grid(2, 10_000)
    assert grid[0] == 2 and grid[-1] >= 10_000 and np.all(grid % 2 == 0)
    ratios = grid[1:] / grid[:-1]
    assert np.all(ratios > 1) and np.all(ratios[grid[1:] > 200] < 1.06)


def test_crossing_interpolates_in_log_copies():
    copies = np.array([10, 20, 40])
    assert crossing(np.array([0.5, 0.8, 1.0]), copies, 0.9) == pytest.approx(
        np.exp(np.log(20) + 0.5 * np.log(2))
    )
    assert crossing(np.array([0.95, 0.97, 1.0]), copies, 0.9) == 10
    assert crossing(np.array([0.2, 0.5, 0.6]), copies, 0.9) is None
    # the last up-crossing counts: a dip after a first crossing moves N* up
    assert crossing(np.array([0.95, 0.85, 0.95]), copies, 0.9) == pytest.approx(
        np.exp(np.log(20) + 0.5 * np.log(2))
    )


def test_wilson_interval_known_values():
    lo, hi = wilson_interval(np.array(36), 40)
    assert lo == pytest.approx(0.7695, abs=1e-3) and hi == pytest.approx(0.9604, abs=1e-3)


@pytest.mark.parametrize("n", [3, 70])
def test_prefix_sums_equal_sums_of_slices(n):
    rng = np.random.default_rng(n)
    shots = 1000
    labels = ["".join(rng.choice(list("IXYZ"), size=n)) for _ in range(7)]
    labels = [lab if set(lab) != {"I"} else "Z" * n for lab in labels]
    paulis = parse_paulis(labels, n)
    # bases copy the observables half of the time so that matches occur
    codes = rng.integers(1, 4, size=(shots, n))
    letters = np.array([[" IXYZ".index(c) - 1 for c in lab] for lab in labels])
    for j in range(0, shots, 2):
        row = letters[j % len(labels)]
        codes[j] = np.where(row > 0, row, codes[j])
    bx = pack_bits((codes != 3).astype(np.uint8))
    bz = pack_bits((codes != 1).astype(np.uint8))
    bits = pack_bits(rng.integers(0, 2, size=(shots, n), dtype=np.uint8))
    ends = np.array([1, 63, 64, 65, 500, 1000])
    s1, s2 = shadow_sums(paulis, bx, bz, bits, ends)
    b1, b2 = bell_sums(paulis, bits, bx, ends)
    for g, end in enumerate(ends):
        t1, t2 = shadow_sums(paulis, bx[:end], bz[:end], bits[:end])
        np.testing.assert_allclose(s1[g], t1, rtol=1e-12)
        np.testing.assert_allclose(s2[g], t2, rtol=1e-12)
        u1, u2 = bell_sums(paulis, bits[:end], bx[:end])
        np.testing.assert_array_equal(b1[g], u1)
        np.testing.assert_array_equal(b2[g], u2)


def test_instances_follow_the_declared_distribution():
    spec = dict(SPEC, n=4, queries=10)
    rng = np.random.default_rng(0)
    for _ in range(50):
        inst = sample_instance(spec, rng)
        assert set(inst.state.pauli) <= set("XYZ")  # full weight
        assert inst.queries.labels[inst.hidden] == inst.state.pauli
        assert len(set(inst.queries.labels)) == 10
    capped = sample_instance(dict(SPEC, n=1, queries=100), rng)
    assert sorted(capped.queries.labels) == ["X", "Y", "Z"]


def test_success_rule_uses_the_midpoint_thresholds():
    state = cl.PauliMixedState("XZ", alpha=0.9)
    inst = Instance(state, parse_paulis(["ZZ", "XZ", "YY"], 2), hidden=1)
    assert judge(
        "tr(Q rho)^2", 0.9, inst, np.array([[0.1, 0.5, 0.0], [0.1, 0.3, 0.0]])
    ).tolist() == [
        True,
        False,  # 0.405 = alpha^2 / 2 on the squared scale
    ]
    assert judge(
        "tr(Q rho)", 0.9, inst, np.array([[0.1, -0.5, 0.0], [0.5, 0.9, 0.0]])
    ).tolist() == [
        True,
        False,  # |mean| > 0.45 = alpha / 2, sign ignored
    ]


def test_unsupported_specs_fail_clearly():
    task = get_task("pauli-prediction")
    with pytest.raises(CopylearnError, match="two-copy"):
        task.check_spec(dict(SPEC, strategy="pauli-shadow", queries="all"))
    with pytest.raises(CopylearnError, match="n <= 12"):
        task.check_spec(dict(SPEC, queries="all", n=13))
    with pytest.raises(CopylearnError, match="unknown task"):
        get_task("tomography")


def test_run_point_is_deterministic_and_consistent():
    first = run_point(SPEC, np.random.SeedSequence(5))
    again = run_point(SPEC, np.random.SeedSequence(5))
    assert first == again
    assert first["reached"] and first["copies_per_experiment"] == 2
    curve = first["curve"]
    rates = np.array(curve["successes"]) / curve["trials"]
    assert first["n_star"] == crossing(rates, np.array(curve["copies"]), 0.9)
    lo, hi = first["n_star_ci"]
    assert lo <= first["n_star"] <= hi
    assert first["n_star_2_3"] <= first["n_star"]
    assert first["experiments_star"] == first["n_star"] / 2
    # growth stopped once the Wilson lower bound at the last grid point reached the target
    assert wilson_interval(np.array(curve["successes"][-1]), curve["trials"])[0] >= 0.9


def test_identify_among_all_paulis():
    result = run_point(dict(SPEC, n=2, queries="all", trials=40), np.random.SeedSequence(1))
    assert result["reached"] and result["n_star"] > 2
