"""Purity testing under noise, the task's fit range and the committed purity store.

The noise-robust Bell rule (docs/theory.md §14.5): a threshold fixed on held-out calibration
instances. Truth: exact density matrices of the noisy circuits (Cirq's density-matrix
simulator), in tests only.
"""

from __future__ import annotations

import json
from pathlib import Path

import cirq
import numpy as np
import pytest
from committed_rows import recompute_row
from exact_reference import two_copy_bell_law

from copylearn.cli import main
from copylearn.collect import prepare_collector
from copylearn.complexity import _sample_batch, run_point
from copylearn.fits import fit_groups
from copylearn.noise import resolve_noise
from copylearn.protocols import get_protocol
from copylearn.seeding import substream
from copylearn.sweep import load_config
from copylearn.tasks import get_task
from copylearn.tasks.purity_testing import (
    CALIBRATION_INSTANCES,
    COLLISION_FIT_N_MIN,
    bell_experiments,
    bell_flat_from,
)

ROOT = Path(__file__).resolve().parents[1]
Z_MAX = 5.0
NOISE = "depolarizing:0.01"


def _spec(n: int, **extra) -> dict:
    spec = {
        "task": "purity-testing",
        "strategy": "bell",
        "n": n,
        "preparation": "brickwork",
        "depth": "2n",
        "noise": NOISE,
        "target": 0.9,
        "trials": 60,
        "max_copies": 64,
        "backend": "qsim",
    }
    return spec | extra


def _sampler(spec: dict):
    """The runner's sampling of a batch of states (collectors planned per circuit)."""

    def collector_for(state):
        return prepare_collector(state, "bell", spec["noise"], spec["backend"])

    task = get_task("purity-testing")
    family = collector_for(task.circuit_family(spec))
    collectors: dict = {}

    def sample(states, shots, roots, backend_seed):
        return _sample_batch(family, collectors, collector_for, states, shots, roots, backend_seed)

    return sample, collector_for


def _exact_mean_sigma(collector) -> float:
    """E sigma of the noisy Bell circuit from its exact density matrix."""
    p, sigma = two_copy_bell_law(collector.plan.circuit, collector.n)
    return float(p @ sigma)


def _exact_purity(state, noise: str) -> float:
    """tr rho^2 of one copy as the noisy preparation circuit delivers it."""
    model, _ = resolve_noise(noise)
    circuit = state.circuit.with_noise(model)
    rho = cirq.DensityMatrixSimulator(dtype=np.complex128).simulate(circuit).final_density_matrix
    return float(np.trace(rho @ rho).real)


def test_calibrated_threshold_sits_between_noisy_purity_and_1_over_d():
    """The calibrated means agree with the exact E sigma of the same held-out instances
    within 5 standard errors; the threshold lies below every noisy pure state's tr rho^2
    and above 1/2^n."""
    n = 2
    spec = _spec(n)
    task, protocol = get_task("purity-testing"), get_protocol("bell")
    sample, collector_for = _sampler(spec)
    seed = np.random.SeedSequence(3)
    rule = task.calibrate_rule(spec, protocol, sample, seed)
    assert rule is not None and rule["instances_each"] == CALIBRATION_INSTANCES
    assert rule["experiments_each"] == spec["max_copies"] // 2
    # The same held-out pure instances, re-derived from the calibration stream.
    pure = [
        task._pure_state(spec, np.random.default_rng(substream(seed, 0, k)))
        for k in range(CALIBRATION_INSTANCES)
    ]
    exact = np.array([_exact_mean_sigma(collector_for(s)) for s in pure])
    m = rule["experiments_each"]
    se = np.sqrt(np.sum(1 - exact**2) / m) / CALIBRATION_INSTANCES
    assert abs(rule["mean_sigma_pure"] - exact.mean()) <= Z_MAX * se
    purities = np.array([_exact_purity(s, NOISE) for s in pure])
    assert purities.max() < 1 - 1e-3  # the noise is felt: the pure states are not pure
    assert 2.0**-n < rule["threshold"] < purities.min()
    assert rule["threshold"] == pytest.approx(
        0.5 * (rule["mean_sigma_pure"] + rule["mean_sigma_mixed"])
    )


def test_noiseless_points_calibrate_nothing():
    task, protocol = get_task("purity-testing"), get_protocol("bell")
    spec = _spec(2, noise="none")

    def sample(*args):  # must not be called
        raise AssertionError("a noiseless point drew calibration data")

    assert task.calibrate_rule(spec, protocol, sample, np.random.SeedSequence(0)) is None


@pytest.mark.slow
def test_noisy_bell_learner_succeeds_and_records_its_rule():
    result = run_point(_spec(2, trials=100), np.random.SeedSequence(7))
    assert result["reached"] and result["n_star"] is not None
    rule = result["decision_rule"]
    assert 0.25 < rule["threshold"] < 1.0
    assert result == run_point(_spec(2, trials=100), np.random.SeedSequence(7))


@pytest.mark.parametrize(
    ("strategy", "extra", "needle"),
    [
        ("clifford-shadow", f'noise = "{NOISE}"', "Bell learner only"),
        ("pauli-shadow", f'noise = "{NOISE}"', "Bell learner only"),
        ("bell", "calibration_copies = 1000", "calibration_copies"),
    ],
)
def test_what_noise_cannot_run_is_one_line_exit_2(tmp_path, capsys, strategy, extra, needle):
    config = tmp_path / "p.toml"
    config.write_text(
        f'[sweep]\ntask = "purity-testing"\nseed = 1\nstrategies = ["{strategy}"]\n\n'
        f"[grid]\nn = [3]\n{extra}\n"
    )
    status = main(["sweep", str(config), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    assert status == 2
    assert err.startswith("copylearn: error:") and "\n" not in err and needle in err
    assert not (tmp_path / "out").exists()


# ----- the fit range the task declares (docs/theory.md §14.2, §14.3) ---------------------------
def test_bell_experiments_follow_the_closed_form():
    assert [bell_experiments(2.0**n, 0.9) for n in range(1, 6)] == [6, 4, 3, 3, 3]
    assert bell_experiments(np.inf, 0.9) == 3
    assert bell_flat_from(0.9) == 3
    assert bell_flat_from(0.5) is None


def _rows(strategy: str, copies: dict[int, float], task: str = "purity-testing") -> list[dict]:
    return [
        {
            "id": f"{strategy}{n}",
            "spec": {"task": task, "strategy": strategy, "n": n, "target": 0.9},
            "n_star": value,
            "n_star_ci": [value / 1.1, value * 1.1],
            "reached": True,
        }
        for n, value in copies.items()
    ]


def test_fits_use_the_range_the_task_declares():
    collision = {n: 10.0 * 2 ** (n / 2) for n in range(COLLISION_FIT_N_MIN, 13)}
    collision.update({3: 900.0, 4: 5.0, 5: 700.0})  # small-n points off the law
    bell = {1: 12.0, 2: 8.0, 3: 6.0, 4: 6.0, 5: 6.0, 6: 6.0}
    fits = {
        f["strategy"]: f
        for f in fit_groups(_rows("clifford-shadow", collision) + _rows("bell", bell))
    }
    assert fits["clifford-shadow"]["ns"] == list(range(COLLISION_FIT_N_MIN, 13))
    assert fits["clifford-shadow"]["base"] == pytest.approx(np.sqrt(2), rel=1e-9)
    assert f"n >= {COLLISION_FIT_N_MIN}" in fits["clifford-shadow"]["note"]
    assert fits["bell"]["ns"] == [3, 4, 5, 6] and fits["bell"]["base"] == pytest.approx(1.0)
    other = fit_groups(_rows("bell", bell, task="pauli-prediction"))
    assert other[0]["ns"] == [1, 2, 3, 4, 5, 6] and "fit_n_min" not in other[0]


# ----- the committed store, reproduced ---------------------------------------------------------
def _committed_row(strategy: str, n: int) -> dict:
    for line in (ROOT / "figures" / "purity_separation" / "results.jsonl").open():
        row = json.loads(line)
        if row["spec"]["strategy"] == strategy and row["spec"]["n"] == n:
            return row
    raise AssertionError(f"no {strategy} n = {n} row in the committed store")


PROVENANCE = {"seconds", "versions", "config_hash", "copylearn"}


@pytest.mark.parametrize(
    "n", [2, pytest.param(3, marks=pytest.mark.slow)]
)  # n = 3: two copies prepared apart (§12.5)
def test_committed_purity_rows_are_reproduced(tmp_path, n):
    row = _committed_row("bell", n)
    config = load_config(ROOT / "experiments" / "purity_separation.toml")
    computed = recompute_row(row, config.seed, tmp_path / "p")
    assert computed["id"] == row["id"]
    fresh = {k: v for k, v in computed.items() if k not in PROVENANCE}
    assert fresh == {k: v for k, v in row.items() if k not in PROVENANCE}
