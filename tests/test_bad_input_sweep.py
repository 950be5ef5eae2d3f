"""Bad input to `copylearn sweep` (configs, stores, signals): one line, the right exit status,
no traceback, nothing written, nothing computed.

Every case runs the real command line in this process with the default point runner replaced
by one that fails the test if any point runs (cases that must run points say so).
"""

from __future__ import annotations

import errno
import fcntl
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from copylearn.cli import main
from copylearn.sweep import LOCK_NAME, STORE_NAME, parse_config, run_sweep

TESTS_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS_DIR))
import test_sweep as base  # noqa: E402

HEADER = '[sweep]\ntask = "pauli-prediction"\nseed = 1\nstrategies = ["bell"]\n[grid]\n'


def never_runs(spec: dict, seed: np.random.SeedSequence, progress=None) -> dict:
    raise AssertionError(f"a point ran although the input was refused: {spec}")


def signal_at_third_point(sig: int) -> Callable:
    calls = []

    def runner(spec: dict, seed: np.random.SeedSequence, progress=None) -> dict:
        calls.append(spec)
        if len(calls) == 3:
            os.kill(os.getpid(), sig)
        return base.fake_runner(spec, seed, progress)

    return runner


def snapshot(path: Path) -> dict[str, bytes] | None:
    """Every file under ``path`` with its bytes (None if ``path`` does not exist)."""
    if not path.exists():
        return None
    if path.is_file():
        return {"": path.read_bytes()}
    return {
        str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()
    }


def small_store(out: Path, seed: int = 2024) -> None:
    """A store of CONFIG cut to Bell n = 1, 2 (so CONFIG itself has points left to run)."""
    text = base.CONFIG.replace("n = [1, 2, 3, 4]", "n = [1, 2]").replace(
        "seed = 2024", f"seed = {seed}"
    )
    run_sweep(parse_config(text), out, workers=0, point_runner=base.fake_runner, progress=False)


def hide_cirq_google(monkeypatch, tmp: Path) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "cirq_google" else real(name)
    )


def read_only(monkeypatch, tmp: Path) -> None:
    root, real_open = str(tmp / "o"), os.open
    writing = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC

    def guarded(path, flags, *args, **kwargs):
        if flags & writing and str(path).startswith(root):
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", guarded)


def disk_full(monkeypatch, tmp: Path) -> None:
    real_write, store = os.write, str(tmp / "o" / STORE_NAME)

    def write(fd, data):
        if os.readlink(f"/proc/self/fd/{fd}") == store:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", write)


_HELD: list[int] = []


def locked(monkeypatch, tmp: Path) -> None:
    fd = os.open(tmp / "o" / LOCK_NAME, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)  # as another sweep would (flock is per open file)
    _HELD.append(fd)


def partial_store(out: Path) -> None:
    """CONFIG's store cut to its first 5 rows, as a killed sweep leaves it."""
    run_sweep(parse_config(base.CONFIG), out, workers=0, point_runner=base.fake_runner,
              progress=False)  # fmt: skip
    lines = (out / STORE_NAME).read_bytes().splitlines(keepends=True)
    (out / STORE_NAME).write_bytes(b"".join(lines[:5]))


GRID = "max_copies = 100000\n"
# (id, config text, store setup, environment patch, extra argv, status, message)
CASES = [
    ("max_copies leaves no search", HEADER + "n = 2\nmax_copies = 2\n", None, None, [], 2,
     "grid.max_copies: bell at n = 2: max_copies = 2 leaves no room"),
    ("max_copies in a strategy section", base.CONFIG + "[strategy.bell]\nmax_copies = 2\n",
     None, None, [], 2, "strategy.bell.max_copies"),
    ("n above the bound", HEADER + "n = 100000\n", None, None, [], 2,
     "grid.n: 100000 qubits per copy is above the supported 1024"),
    ("trials above the bound", HEADER + "n = 2\ntrials = 1_000_000_000\n", None, None, [], 2,
     "grid.trials: 1000000000 trials is above the supported"),
    ("a two-million-point grid",
     HEADER + f"n = {list(range(1, 1001))}\nalpha = {[round(0.001 * k, 3) for k in range(1, 1001)]}"
     "\ntarget = [0.9, 0.8]\n", None, None, [], 2, "grid: the grid has 2,000,000 points"),
    ("queries all at n = 12, 10^5 trials", HEADER + 'n = 12\nqueries = "all"\ntrials = 100_000\n',
     None, None, [], 2, "grid.queries: bell at n = 12: one point needs about"),
    ("10^9 queries", HEADER + "n = 20\nqueries = 1_000_000_000\n", None, None, [], 2,
     "grid.queries: bell at n = 20: one point needs about"),
    ("10^12 max_copies at n = 40", HEADER + "n = 40\nmax_copies = 1_000_000_000_000\n", None,
     None, [], 2, "grid.max_copies: bell at n = 40: one point needs about"),
    ("device without cirq-google", HEADER + 'n = 2\ndevice = "weber"\n', None, hide_cirq_google,
     [], 2, "grid.device: device 'weber' needs cirq-google"),
    ("odd calibration_copies", HEADER + "n = 2\ncalibration_copies = 3\n", None, None, [], 2,
     "grid.calibration_copies: 3 is not 0 or an even integer"),
    ("--out is a file", base.CONFIG, "file", None, [], 2, "is a file: choose a directory"),
    ("--out under a file", base.CONFIG, "under file", None, [], 2,
     "a file stands where a directory must be: give --out a directory path"),
    ("store of another seed", base.CONFIG, "seed", None, [], 2, "different seed"),
    ("rows without a config", base.CONFIG, "no config", None, [], 2, "but no config.toml"),
    ("corrupt store line", base.CONFIG, "corrupt", None, [], 2, "is not a JSON row"),
    ("unfinished store, read-only media", base.CONFIG, "partial", read_only, [], 2,
     "cannot write the sweep store in"),
    ("another sweep holds the lock", base.CONFIG, "partial", locked, [], 2,
     "another sweep is writing to"),
    ("disk full on append", base.CONFIG, "partial", disk_full, [], 2,
     "no space left on the device"),
    ("SIGTERM mid-sweep", base.CONFIG, None, signal.SIGTERM, [], 143,
     "copylearn: terminated (SIGTERM); finished points are kept in"),
    ("Ctrl-C mid-sweep", base.CONFIG, None, signal.SIGINT, [], 130,
     "copylearn: interrupted; finished points are kept in"),
    ("--workers -1", base.CONFIG, None, None, ["--workers", "-1"], 2, "--workers -1: use K >= 1"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "store", "patch", "argv", "status", "message"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_bad_sweep_input_is_one_line(tmp_path, monkeypatch, capsys, text, store, patch, argv,
                                     status, message):  # fmt: skip
    config = tmp_path / "c.toml"
    config.write_text(text)
    out = tmp_path / "o"
    target = out / "sub" if store == "under file" else out
    if store in ("file", "under file"):
        out.write_text("not a directory\n")
    elif store == "seed":
        small_store(out, seed=7)
    elif store == "partial":
        partial_store(out)
    elif store == "no config":
        small_store(out)
        (out / "config.toml").unlink()
    elif store == "corrupt":
        small_store(out)
        (out / STORE_NAME).write_bytes(b"{not json\n" + (out / STORE_NAME).read_bytes())
    if isinstance(patch, signal.Signals):
        runner = signal_at_third_point(patch)
    else:
        runner = base.fake_runner if patch is disk_full else never_runs
        if patch is not None:
            patch(monkeypatch, tmp_path)
    monkeypatch.setattr("copylearn.complexity.run_point", runner)
    before = snapshot(out)
    previous = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    quiet = [] if isinstance(patch, signal.Signals) else ["--quiet"]
    try:
        code = main(["sweep", str(config), "--out", str(target), "--workers", "0", *quiet, *argv])
    finally:
        signal.signal(signal.SIGINT, previous)
        while _HELD:
            os.close(_HELD.pop())
    captured = capsys.readouterr()
    err = captured.err
    assert code == status, err
    lines = err.splitlines()
    assert "Traceback" not in err and message in err, err
    if status == 2:
        assert len(lines) == 1 and lines[0].startswith("copylearn: error: "), err
        assert snapshot(out) == before  # nothing written (the full disk: nothing appended)
    else:  # a signal: the finished points are kept, no partial line; resuming completes
        assert lines[-1].startswith("copylearn: ") and message in lines[-1], err
        assert (out / STORE_NAME).read_bytes().endswith(b"\n")
        assert 2 <= len(base.canonical_store(out)) < base.POINTS
        monkeypatch.setattr("copylearn.complexity.run_point", base.fake_runner)
        assert main(["sweep", str(config), "--out", str(out), "--workers", "0", "--quiet"]) == 0
        assert len(base.canonical_store(out)) == base.POINTS


def test_the_suite_is_large_enough():
    assert len({case[0] for case in CASES}) == len(CASES) >= 12
