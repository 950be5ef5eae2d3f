"""How many processes a pool sweep uses, and which memory its check sees (copylearn/sweep.py).

Pool workers each run a point, and a point may fork trial helpers
(:mod:`copylearn.trial_workers`); together they must not exceed ``--workers``, the count the
memory check multiplies a point's estimate by. The memory check reads the same available
memory as ``collect`` (:func:`copylearn.backends.limits.available_memory`), so
``COPYLEARN_MEMORY_GIB`` caps it.
"""

from __future__ import annotations

import pytest

from copylearn import sweep
from copylearn.cli import main

_CONFIG = (
    '[sweep]\ntask = "pauli-prediction"\nseed = 3\nstrategies = ["bell"]\n[grid]\n'
    "n = {n}\ntrials = 40\nmax_copies = 2000\n"
)


@pytest.mark.parametrize(
    ("workers", "points", "expected"),
    [
        (1, 1, 1),
        (1, 5, 1),
        (2, 1, 2),
        (2, 2, 1),
        (2, 12, 1),
        (4, 1, 4),
        (4, 2, 2),
        (4, 3, 1),
        (8, 3, 2),
        (16, 5, 3),
    ],
)
def test_trial_processes_never_exceed_the_workers(workers, points, expected):
    got = sweep.trial_processes(workers, points)
    assert got == expected
    assert min(workers, points) * got <= workers


@pytest.mark.parametrize(("ns", "expected"), [("2", 2), ("[1, 2, 3]", 1)])
def test_pool_sweep_gives_each_point_its_share_of_the_workers(tmp_path, monkeypatch, ns, expected):
    """One point left gets both processes; three points on two workers get one each."""
    seen: list[int] = []
    real = sweep._with_pool

    def spy(runner, jobs, seed, workers, tick, lock_fd=None):
        seen.append(runner.keywords["workers"])
        return real(runner, jobs, seed, workers, tick, lock_fd=lock_fd)

    monkeypatch.setattr(sweep, "_with_pool", spy)
    config = tmp_path / "c.toml"
    config.write_text(_CONFIG.format(n=ns))
    out = tmp_path / "out"
    assert main(["sweep", str(config), "--out", str(out), "--workers", "2", "--quiet"]) == 0
    assert seen == [expected]


def test_sweep_memory_check_honours_copylearn_memory_gib(tmp_path, monkeypatch, capsys):
    """A cap far below one point's estimate refuses the sweep in one line, before any work."""
    config = tmp_path / "c.toml"
    config.write_text(_CONFIG.format(n=2))
    monkeypatch.setenv("COPYLEARN_MEMORY_GIB", "0.01")  # 10 MiB: below the 256 MiB interpreter
    out = tmp_path / "out"
    assert main(["sweep", str(config), "--out", str(out), "--workers", "1", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("copylearn: error:"), err
    assert "more than the 0.0 GiB available" in err[0]
    assert not out.exists()
