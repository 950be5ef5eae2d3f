"""How many processes a pool sweep uses, and which memory its check sees (copylearn/sweep.py).

Pool workers each run a point, and a point may fork trial helpers
(:mod:`copylearn.trial_workers`) up to its share, ``--workers`` over the unfinished points:
together they must not exceed ``--workers``, the count the memory check multiplies a point's
estimate by. The memory check reads the same available
memory as ``collect`` (:func:`copylearn.backends.limits.available_memory`), so
``COPYLEARN_MEMORY_GIB`` caps it.
"""

from __future__ import annotations

import json
import multiprocessing

import pytest

import copylearn.complexity as complexity
from copylearn import sweep
from copylearn.cli import main

_CONFIG = (
    '[sweep]\ntask = "pauli-prediction"\nseed = 3\nstrategies = ["bell"]\n[grid]\n'
    "n = {n}\ntrials = 40\nmax_copies = 2000\n"
)


@pytest.mark.parametrize(
    ("workers", "unfinished", "expected"),
    [
        (1, 1, 1),
        (2, 12, 1),
        (2, 2, 1),
        (2, 1, 2),  # the last point takes the idle process
        (4, 3, 1),
        (4, 2, 2),
        (8, 3, 2),
        (16, 5, 3),
        (4, 0, 4),
    ],
)
def test_pool_share_divides_the_workers_over_the_unfinished_points(
    monkeypatch, workers, unfinished, expected
):
    counter = multiprocessing.Value("i", unfinished)
    monkeypatch.setattr(sweep, "_POOL", (counter, workers))
    got = sweep.pool_share()
    assert got == expected
    assert min(workers, max(unfinished, 1)) * got <= workers


def test_pool_share_is_one_outside_a_pool(monkeypatch):
    monkeypatch.setattr(sweep, "_POOL", None)
    assert sweep.pool_share() == 1


def test_a_finished_point_counts_down_the_unfinished_points(monkeypatch):
    counter = multiprocessing.Value("i", 2)
    monkeypatch.setattr(sweep, "_POOL", (counter, 2))

    def runner(spec, seed):
        assert sweep.pool_share() == 1  # two unfinished points share two processes
        return {}

    sweep._execute(runner, {"strategy": "bell", "n": 1}, 0, "a")
    assert counter.value == 1 and sweep.pool_share() == 2


def test_pool_sweep_asks_for_its_share_with_identical_rows(tmp_path, monkeypatch):
    """Helpers forked inside pool workers at the first stage; rows as with one process."""
    seen: list[object] = []
    real = sweep._with_pool

    def spy(runner, jobs, seed, workers, tick, lock_fd=None):
        seen.append(runner.keywords["workers"])
        return real(runner, jobs, seed, workers, tick, lock_fd=lock_fd)

    monkeypatch.setattr(sweep, "_with_pool", spy)
    monkeypatch.setattr(complexity, "PARALLEL_SHOTS", 1)  # fork at the first stage
    monkeypatch.setattr(complexity, "_BATCH_ROWS", 8)  # of several batches
    config = tmp_path / "c.toml"
    config.write_text(_CONFIG.format(n="[1, 2, 3]"))
    rows = {}
    for workers in ("2", "1"):
        out = tmp_path / f"out{workers}"
        assert main(["sweep", str(config), "--out", str(out), "--workers", workers, "--quiet"]) == 0
        rows[workers] = [
            {k: v for k, v in json.loads(line).items() if k != "seconds"}
            for line in (out / "results.jsonl").read_text().splitlines()
        ]
    assert seen == [sweep.pool_share, sweep.pool_share]
    key = lambda row: row["id"]  # noqa: E731
    assert sorted(rows["2"], key=key) == sorted(rows["1"], key=key)


def test_sweep_memory_check_honours_copylearn_memory_gib(tmp_path, monkeypatch, capsys):
    """A cap far below one point's estimate refuses the sweep in one line, before any work."""
    config = tmp_path / "c.toml"
    config.write_text(_CONFIG.format(n=2))
    monkeypatch.setenv("COPYLEARN_MEMORY_GIB", "0.01")  # 10 MiB: below the 256 MiB interpreter
    out = tmp_path / "out"
    assert main(["sweep", str(config), "--out", str(out), "--workers", "1", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("copylearn: error:"), err
    assert "more than the 0.01 GiB available" in err[0]
    assert not out.exists()
