"""A point's trials spread over forked helper processes (copylearn/trial_workers.py).

The result of :func:`copylearn.complexity.run_point` must be bit-identical for every number of
processes (docs/theory.md §6.7); the threshold from which helpers are forked is lowered here so
that small, fast points fork them at their second stage.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import copylearn.complexity as complexity
from copylearn.errors import CopylearnError
from copylearn.sweep import parse_config, run_sweep
from copylearn.trial_workers import TrialWorkers, can_fork, shares

pytestmark = pytest.mark.skipif(not can_fork(), reason="trial helpers need the fork start method")


def _spec(strategy: str, noise: str, trials: int) -> dict:
    return {
        "task": "pauli-prediction",
        "strategy": strategy,
        "n": 2,
        "alpha": 0.9,
        "weight": "full",
        "queries": 3,
        "noise": noise,
        "target": 0.8,  # reachable by 23 trials (Wilson lower bound of 23/23: 0.86)
        "trials": trials,
        "max_copies": 20_000,
    }


@pytest.mark.parametrize(
    ("strategy", "noise"),
    [("pauli-shadow", "depolarizing:0.01+readout:0.01"), ("bell", "none")],
)
def test_point_is_bit_identical_for_every_number_of_processes(monkeypatch, strategy, noise):
    monkeypatch.setattr(complexity, "PARALLEL_SHOTS", 1)  # fork at the first stage
    monkeypatch.setattr(complexity, "_BATCH_ROWS", 8)  # of several batches (a gain)
    spec = _spec(strategy, noise, trials=23)  # shares of 12 and 11, or 8, 8 and 7
    seed = np.random.SeedSequence(11)
    rows = [complexity.run_point(dict(spec), seed, workers=w) for w in (1, 2, 3)]
    assert rows[0]["reached"] and rows[0]["n_star"] is not None
    texts = {json.dumps(row, sort_keys=True) for row in rows}
    assert len(texts) == 1


def _count_forks(monkeypatch) -> list[int]:
    """Record the number of processes of every TrialWorkers the point forks."""
    forked: list[int] = []

    class Counting(TrialWorkers):
        def __init__(self, work, parts):
            forked.append(len(parts))
            super().__init__(work, parts)

    monkeypatch.setattr(complexity, "TrialWorkers", Counting)
    return forked


def test_helpers_fork_only_for_long_stages(monkeypatch):
    forked = _count_forks(monkeypatch)
    monkeypatch.setattr(complexity, "PARALLEL_SECONDS", float("inf"))  # shots alone decide
    monkeypatch.setattr(complexity, "_BATCH_ROWS", 8)  # stages of several batches
    spec, seed = _spec("bell", "none", trials=23), np.random.SeedSequence(3)
    complexity.run_point(dict(spec), seed, workers=2)  # far below 2^24 shots a stage
    assert forked == []
    monkeypatch.setattr(complexity, "PARALLEL_SHOTS", 200)
    complexity.run_point(dict(spec), seed, workers=2)
    assert forked == [2]


class _SlowClock:
    """perf_counter that advances 10 s per call: every stage 'takes' 10 s."""

    def __init__(self):
        self.now = 0.0

    def perf_counter(self):
        self.now += 10.0
        return self.now


def test_helpers_fork_after_a_long_stage_with_identical_rows(monkeypatch):
    """Few, slow shots (a Clifford on a state vector): forked after the first stage, by time."""
    monkeypatch.setattr(complexity, "_BATCH_ROWS", 8)  # stages of several batches
    spec, seed = _spec("bell", "none", trials=23), np.random.SeedSequence(5)
    alone = complexity.run_point(dict(spec), seed, workers=1)
    forked = _count_forks(monkeypatch)
    monkeypatch.setattr(complexity, "time", _SlowClock())
    spread = complexity.run_point(dict(spec), seed, workers=2)  # far below 2^24 shots
    assert forked == [2]
    assert json.dumps(spread, sort_keys=True) == json.dumps(alone, sort_keys=True)


def test_shares_are_contiguous_and_cover_the_trials():
    assert shares(10, 3) == [range(0, 3), range(3, 6), range(6, 10)]
    assert shares(2, 5) == [range(0, 1), range(1, 2)]  # never an empty share
    assert shares(7, 1) == [range(0, 7)]


def _fail_in_helpers(share: range, value: int) -> list[int]:
    if share.start > 0:
        raise ValueError(f"share {share.start} refuses {value}")
    return [value] * len(share)


def _exit_in_helpers(share: range, value: int) -> list[int]:
    if share.start > 0:
        os._exit(3)
    return [value]


def test_a_failing_or_dying_helper_is_one_error_and_the_helpers_are_reaped():
    with TrialWorkers(_fail_in_helpers, shares(4, 2)) as helpers:
        pids = [process.pid for process, _ in helpers._helpers]
        with pytest.raises(CopylearnError, match="ValueError: share 2 refuses 5"):
            helpers.run(5)
    assert helpers._helpers == [] and len(pids) == 1
    with TrialWorkers(_exit_in_helpers, shares(4, 2)) as helpers:
        with pytest.raises(CopylearnError, match="died"):
            helpers.run(1)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_bad_worker_counts_are_refused_in_one_line(bad):
    spec = _spec("bell", "none", trials=3)
    with pytest.raises(CopylearnError, match=r"workers=.*integer >= 1"):
        complexity.run_point(spec, np.random.SeedSequence(0), workers=bad)


def test_a_sweep_with_workers_gives_the_rows_of_an_in_process_sweep(tmp_path, monkeypatch):
    monkeypatch.setattr(complexity, "PARALLEL_SHOTS", 1)  # inherited by the forked pool
    monkeypatch.setattr(complexity, "_BATCH_ROWS", 8)  # of several batches
    config = parse_config(
        '[sweep]\ntask = "pauli-prediction"\nseed = 5\nstrategies = ["pauli-shadow"]\n'
        "[grid]\nn = [1, 2]\nqueries = 3\ntrials = 17\ntarget = 0.8\nmax_copies = 20000\n"
    )
    keep = ("id", "spec", "n_star", "n_star_ci", "curve", "stream")
    rows = {}
    for workers in (0, 2):
        got = run_sweep(config, tmp_path / str(workers), workers=workers, progress=False)
        rows[workers] = [{k: row.get(k) for k in keep} for row in got]
    assert rows[0] == rows[2]


def test_a_stage_of_one_batch_is_never_spread(monkeypatch):
    """Every process samples a whole batch holding one of its trials, so spreading a stage of
    one batch gains nothing: no helpers, however long the stages."""
    forked = _count_forks(monkeypatch)
    monkeypatch.setattr(complexity, "PARALLEL_SHOTS", 1)
    monkeypatch.setattr(complexity, "time", _SlowClock())
    spec = _spec("bell", "none", trials=23)  # 23 trials x < 2^19 / 23 shots: one batch a stage
    complexity.run_point(dict(spec), np.random.SeedSequence(3), workers=2)
    assert forked == []
