"""Sweep hardening (issue 9, items 5, 8, 10, 11): real signals on real subprocess sweeps, stores
on read-only media and full disks, lost Dask workers and schedulers, configs that used to
poison their store, and the resource guard.

The point runners are test_sweep's seed-derived fakes, so a store equals an uninterrupted
run's only if every point got its own seed exactly once.
"""

from __future__ import annotations

import errno
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import copylearn.sweep as sweep_module
from copylearn.cli import main
from copylearn.errors import CopylearnError
from copylearn.sweep import (
    CONFIG_NAME,
    STORE_NAME,
    check_runnable,
    load_config,
    parse_config,
    point_memory,
    run_sweep,
)

TESTS_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS_DIR))
import test_sweep as base  # noqa: E402  (the fake runners and the reference config)

#: 3 alphas: 12 Bell + 9 shadow points, enough for many kills before the sweep ends.
BIG_CONFIG = base.CONFIG.replace("alpha = [0.9, 0.5]", "alpha = [0.9, 0.7, 0.5]")
BIG_POINTS = 4 * 3 + 3 * 3


def paced_runner(spec: dict, seed: np.random.SeedSequence, progress=None) -> dict:
    """test_sweep.slow_runner, slower (0.3 s a point): kills land mid-sweep."""
    time.sleep(0.18)
    return base.slow_runner(spec, seed, progress)


def failing_point_runner(spec: dict, seed: np.random.SeedSequence, progress=None) -> dict:
    raise CopylearnError("this point cannot run")


def live_processes(session: int) -> list[int]:
    """Pids of the non-zombie processes of a session (read from /proc; psutil is absent)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()  # after "pid (comm) "
        state, sid = fields[0], int(fields[3])
        if sid == session and state not in ("Z", "X"):
            pids.append(int(entry))
    return pids


def assert_gone_within(session: int, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while (alive := live_processes(session)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive, f"processes of the sweep still alive after {seconds} s: {alive}"


@pytest.fixture(scope="module")
def big_reference(tmp_path_factory) -> tuple[Path, list[bytes]]:
    """An uninterrupted in-process run of BIG_CONFIG: (config path, canonical store)."""
    tmp = tmp_path_factory.mktemp("big_reference")
    path = base.write_config(tmp, BIG_CONFIG)
    out = tmp / "out"
    run_sweep(load_config(path), out, workers=0, point_runner=base.fake_runner, progress=False)
    return path, base.canonical_store(out)


def sweep_command(config: Path, out: Path, runner: str = "paced_runner") -> list[str]:
    """`copylearn sweep CONFIG --out OUT --workers 2 --quiet` with the default runner replaced."""
    code = (
        f"import sys; sys.path.insert(0, {str(TESTS_DIR)!r}); import test_sweep_hardening as h; "
        f"import copylearn.complexity as c; c.run_point = h.{runner}; "
        "from copylearn.cli import main; "
        f"sys.exit(main(['sweep', {str(config)!r}, '--out', {str(out)!r}, '--workers', '2', "
        "'--quiet']))"
    )
    return [sys.executable, "-c", code]


def start_sweep(command: list[str], log: Path) -> subprocess.Popen:
    env = {**os.environ, base.CALL_LOG_ENV: str(log)}
    return subprocess.Popen(
        command, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def rows_in(store: Path) -> int:
    return store.read_bytes().count(b"\n") if store.is_file() else 0


def wait_for_new_row(proc: subprocess.Popen, store: Path, before: int) -> None:
    deadline = time.monotonic() + 90
    while rows_in(store) <= before:
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline, "the sweep wrote no row in 90 s"
        time.sleep(0.005)


def kill_and_check(proc: subprocess.Popen, sig: int) -> tuple[int, str]:
    """Send ``sig`` to the sweep's main process only (as the OOM killer or a scheduler would);
    within 5 s nothing of it may remain. Returns (exit status, stderr)."""
    os.kill(proc.pid, sig)
    try:
        proc.wait(timeout=5)
    finally:
        err = proc.stderr.read().decode()
        proc.stderr.close()
    assert_gone_within(proc.pid)
    return proc.returncode, err


def finish_and_compare(command, log, store, expected) -> None:
    env = {**os.environ, base.CALL_LOG_ENV: str(log)}
    done = {json.loads(line)["id"] for line in store.read_bytes().split(b"\n")[:-1] if line}
    calls_before = len(log.read_text().split())
    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=180)
    assert rerun.returncode == 0, rerun.stderr
    again = log.read_text().split()[calls_before:]
    assert not done & set(again)  # no finished point ran again
    assert base.canonical_store(store.parent) == expected


# --------------------------------------------------------------------------- item 5: signals


def test_sigkill_then_sigterm_leave_no_worker_and_resume_identically(tmp_path, big_reference):
    """Issue 9 item 5: kill -9 or SIGTERM of the sweep's main process (not its group, as the
    OOM killer or a batch scheduler does) used to leave workers alive holding the lock. Kill
    one run with SIGKILL, its resumed run with SIGTERM, then resume to the end."""
    config, expected = big_reference
    out, log = tmp_path / "out", tmp_path / "calls.log"
    store = out / STORE_NAME
    command = sweep_command(config, out)
    rng = np.random.default_rng(5)
    for sig in (signal.SIGKILL, signal.SIGTERM):
        proc = start_sweep(command, log)
        wait_for_new_row(proc, store, rows_in(store))
        time.sleep(rng.uniform(0.0, 0.25))
        status, err = kill_and_check(proc, sig)
        if sig == signal.SIGTERM:  # like Ctrl-C: status 143, one line saying how to resume
            assert status == 143, err
            assert err.startswith("copylearn: terminated (SIGTERM); finished points are kept")
            assert err.count("\n") == 1 and "rerun the same command to resume" in err
        else:
            assert status == -signal.SIGKILL
    assert 2 <= rows_in(store) < BIG_POINTS
    finish_and_compare(command, log, store, expected)


@pytest.mark.slow
def test_a_second_ctrl_c_does_not_hang_or_trace(tmp_path, big_reference):
    """Ctrl-C twice, 0.3 s apart, to the whole process group (as a terminal sends it)."""
    config, expected = big_reference
    out, log = tmp_path / "out", tmp_path / "calls.log"
    command = sweep_command(config, out)
    proc = start_sweep(command, log)
    wait_for_new_row(proc, out / STORE_NAME, 0)
    os.killpg(proc.pid, signal.SIGINT)
    time.sleep(0.3)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
    proc.wait(timeout=5)
    err = proc.stderr.read().decode()
    proc.stderr.close()
    # 130, or killed by the second SIGINT once the store was closed and the message printed
    # (what a shell also reports as 130)
    assert proc.returncode in (130, -signal.SIGINT), err
    assert err.startswith("copylearn: interrupted; finished points are kept"), err
    assert err.count("\n") == 1, err
    assert_gone_within(proc.pid)
    finish_and_compare(command, log, out / STORE_NAME, expected)


@pytest.mark.slow
def test_ten_kills_at_random_times_then_an_identical_store(tmp_path, big_reference):
    """Issue 9's acceptance: ten kills (SIGKILL and SIGTERM alternating) at random times of one
    sweep; each leaves nothing behind within 5 s; the resumed store equals an uninterrupted
    run's."""
    config, expected = big_reference
    out, log = tmp_path / "out", tmp_path / "calls.log"
    store = out / STORE_NAME
    command = sweep_command(config, out)
    rng = np.random.default_rng(10)
    kills = 0
    for number in range(10):
        before = rows_in(store)
        proc = start_sweep(command, log)
        if number % 3:  # most kills after a row, some while starting up
            wait_for_new_row(proc, store, before)
            time.sleep(rng.uniform(0.0, 0.3))
        else:
            time.sleep(rng.uniform(0.5, 2.5))
        if proc.poll() is not None:
            proc.stderr.close()
            break
        sig = signal.SIGKILL if number % 2 == 0 else signal.SIGTERM
        status, err = kill_and_check(proc, sig)
        # (-SIGTERM: killed while Python was still starting, before the sweep began)
        assert status in (-signal.SIGKILL, 143, -signal.SIGTERM), err
        assert status != 143 or "rerun the same command to resume" in err
        kills += 1
    assert kills == 10 and rows_in(store) < BIG_POINTS
    finish_and_compare(command, log, store, expected)


# --------------------------------------------------------------------------- item 8


def _readonly(monkeypatch, root: Path) -> list[str]:
    """Make every write under ``root`` fail with EROFS, as on read-only media (we run as root,
    so permissions cannot stand in for it). Returns the list of refused paths."""
    refused: list[str] = []
    real_open, real_mkdir = os.open, Path.mkdir
    writing = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC

    def guarded_open(path, flags, *args, **kwargs):
        if flags & writing and str(path).startswith(str(root)):
            refused.append(str(path))
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_open(path, flags, *args, **kwargs)

    def guarded_mkdir(self, *args, **kwargs):
        if str(self).startswith(str(root)) and not self.exists():
            raise OSError(errno.EROFS, "Read-only file system", str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(os, "open", guarded_open)
    monkeypatch.setattr(Path, "mkdir", guarded_mkdir)
    return refused


def test_a_complete_store_on_read_only_media_is_resummarised(tmp_path, monkeypatch, capsys):
    config = base.write_config(tmp_path)
    out = tmp_path / "store"
    run_sweep(load_config(config), out, workers=0, point_runner=base.fake_runner, progress=False)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    refused = _readonly(monkeypatch, out)
    monkeypatch.setattr("copylearn.complexity.run_point", base.failing_runner)
    assert main(["sweep", str(config), "--out", str(out), "--workers", "2"]) == 0
    captured = capsys.readouterr()
    assert f"all {base.POINTS} points done" in captured.err and "error" not in captured.err
    assert f"{base.POINTS} points in" in captured.out
    assert main(["summary", str(out), "--json"]) == 0
    assert len(capsys.readouterr().out.splitlines()) >= base.POINTS
    assert not refused  # nothing even tried to write
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_an_unfinished_store_on_read_only_media_is_one_line(tmp_path, monkeypatch, capsys):
    config = base.write_config(tmp_path)
    out = tmp_path / "store"
    small = base.CONFIG.replace("n = [1, 2, 3, 4]", "n = [1, 2]")
    run_sweep(parse_config(small), out, workers=0, point_runner=base.fake_runner, progress=False)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    _readonly(monkeypatch, out)
    monkeypatch.setattr("copylearn.complexity.run_point", base.failing_runner)
    assert main(["sweep", str(config), "--out", str(out), "--workers", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("copylearn: error: cannot write the sweep store") and "read-only" in err
    assert err.count("\n") == 1
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


@pytest.mark.parametrize("fault", ["short write", "ENOSPC", "EIO on fsync"])
def test_a_full_disk_is_one_line_and_loses_nothing(tmp_path, monkeypatch, capsys, fault):
    """The issue's short write, ENOSPC raised by write, and a failing fsync: one line, the
    rows before it kept, and the rerun completes to the uninterrupted store."""
    config = base.write_config(tmp_path)
    out = tmp_path / "store"
    reference = tmp_path / "reference"
    run_sweep(
        load_config(config), reference, workers=0, point_runner=base.fake_runner, progress=False
    )
    real_write, real_fsync = os.write, os.fsync
    store = str(out / STORE_NAME)
    appended = []

    def is_store(fd: int) -> bool:
        return os.readlink(f"/proc/self/fd/{fd}") == store

    def full_write(fd, data):
        if is_store(fd):
            appended.append(len(data))
            if len(appended) == 4:
                if fault == "short write":
                    return real_write(fd, data[: len(data) // 2])
                if fault == "ENOSPC":
                    raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    def failing_fsync(fd):
        if fault == "EIO on fsync" and is_store(fd) and len(appended) == 4:
            raise OSError(errno.EIO, "Input/output error")
        return real_fsync(fd)

    monkeypatch.setattr(os, "write", full_write)
    monkeypatch.setattr(os, "fsync", failing_fsync)
    monkeypatch.setattr("copylearn.complexity.run_point", base.fake_runner)
    assert main(["sweep", str(config), "--out", str(out), "--workers", "0", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("copylearn: error: cannot append to") and err.count("\n") == 1, err
    assert "rerun the same command to resume" in err
    assert len(base.canonical_store(out)) >= 3  # the rows before the fault are kept
    monkeypatch.setattr(os, "write", real_write)
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert main(["sweep", str(config), "--out", str(out), "--workers", "0", "--quiet"]) == 0
    assert base.canonical_store(out) == base.canonical_store(reference)


@pytest.fixture
def dask_scheduler():
    """A Dask scheduler with no workers, in this process; yields (cluster, address)."""
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=0, processes=False, dashboard_address=None, scheduler_port=0
    )
    try:
        yield cluster, cluster.scheduler_address
    finally:
        cluster.close()


def test_dask_without_workers_says_so_then_gives_up(tmp_path, monkeypatch, capsys, dask_scheduler):
    _, address = dask_scheduler
    monkeypatch.setattr(sweep_module, "DASK_HEARTBEAT_S", 0.5)
    monkeypatch.setattr(sweep_module, "DASK_WORKER_WAIT_S", 3.0)
    config = base.write_config(tmp_path)
    monkeypatch.setattr("copylearn.complexity.run_point", base.fake_runner)
    start = time.monotonic()
    code = main(["sweep", str(config), "--out", str(tmp_path / "o"), "--dask", address, "--quiet"])
    assert code == 2 and time.monotonic() - start < 60
    lines = capsys.readouterr().err.splitlines()
    heartbeats = [line for line in lines if line.startswith("copylearn: waiting for Dask workers")]
    assert len(heartbeats) >= 3  # about one per 0.5 s for 3 s
    assert lines[-1].startswith("copylearn: error: no Dask worker connected")
    assert len(lines) == len(heartbeats) + 1  # nothing else: no traceback


def test_losing_the_dask_scheduler_is_one_line(tmp_path, monkeypatch, capsys, dask_scheduler):
    cluster, address = dask_scheduler
    monkeypatch.setattr(sweep_module, "DASK_HEARTBEAT_S", 60.0)
    config = base.write_config(tmp_path)
    monkeypatch.setattr("copylearn.complexity.run_point", base.fake_runner)
    timer = threading.Timer(2.0, cluster.close)
    timer.start()
    try:
        start = time.monotonic()
        argv = ["sweep", str(config), "--out", str(tmp_path / "o"), "--dask", address, "--quiet"]
        assert main(argv) == 2
        assert time.monotonic() - start < 60
    finally:
        timer.join()
    err = capsys.readouterr().err
    assert err.startswith("copylearn: error: lost the Dask scheduler") and err.count("\n") == 1
    assert "rerun the same command to resume" in err


# --------------------------------------------------------------------------- item 10


def test_max_copies_that_leaves_no_search_is_refused_at_validation(tmp_path, capsys):
    """Issue 9 item 10's example (max_copies = 2, Bell) and a strategy-section member."""
    text = base.CONFIG.replace("max_copies = 100000", "max_copies = 2")
    with pytest.raises(CopylearnError, match=r"grid\.max_copies: bell at n = 1: .*>= 3"):
        parse_config(text)
    with pytest.raises(CopylearnError, match=r"strategy\.bell\.max_copies: bell at n = 1"):
        parse_config(base.CONFIG + "[strategy.bell]\nmax_copies = 2\n")
    # the smallest allowed values run: shadows at 2 copies, Bell at 3
    edge = base.CONFIG.replace("max_copies = 100000", "max_copies = 3").replace(
        "n = [1, 2, 3, 4]", "n = [1]"
    )
    config = parse_config(edge.replace("[strategy.pauli-shadow]\nn = [1, 2, 3]\n", ""))
    from copylearn.complexity import run_point

    spec = next(s for s in config.points() if s["strategy"] == "bell")
    assert run_point(dict(spec), np.random.SeedSequence(1))["curve"]["copies"] == [2, 4]


def test_device_without_cirq_google_is_refused_before_the_store(tmp_path, monkeypatch, capsys):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "cirq_google" else real(name)
    )
    text = base.CONFIG.replace("max_copies = 100000", 'max_copies = 100000\ndevice = "weber"')
    config = base.write_config(tmp_path, text)
    out = tmp_path / "o"
    assert main(["sweep", str(config), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "grid.device" in err and "pip install 'copylearn[devices]'" in err
    assert err.count("\n") == 1 and not out.exists()


def test_a_complete_device_store_resummarises_without_cirq_google(tmp_path, monkeypatch, capsys):
    """Only the points still to run are checked: a finished weber sweep re-summarises on a
    machine without the devices extra, an unfinished one is refused before any work."""
    text = base.CONFIG.replace("max_copies = 100000", 'max_copies = 100000\ndevice = "weber"')
    config = base.write_config(tmp_path, text)
    out = tmp_path / "o"
    run_sweep(load_config(config), out, workers=0, point_runner=base.fake_runner, progress=False)
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "cirq_google" else real(name)
    )
    monkeypatch.setattr("copylearn.complexity.run_point", base.failing_runner)
    assert main(["sweep", str(config), "--out", str(out), "--workers", "0"]) == 0
    assert f"all {base.POINTS} points done" in capsys.readouterr().err
    lines = (out / STORE_NAME).read_bytes().splitlines(keepends=True)
    (out / STORE_NAME).write_bytes(b"".join(lines[:-1]))
    assert main(["sweep", str(config), "--out", str(out), "--workers", "0"]) == 2
    err = capsys.readouterr().err
    assert "grid.device: device 'weber' needs cirq-google" in err and err.count("\n") == 1


@pytest.mark.slow
def test_a_device_too_small_for_n_is_refused_before_the_store(tmp_path, capsys):
    pytest.importorskip("cirq_google")
    text = base.CONFIG.replace("max_copies = 100000", 'max_copies = 100000\ndevice = "rainbow"')
    text = text.replace("n = [1, 2, 3, 4]", "n = [2, 9]").replace(
        "[strategy.pauli-shadow]\nn = [1, 2, 3]\n", ""
    )
    text = text.replace('strategies = ["bell", "pauli-shadow"]', 'strategies = ["bell"]')
    out = tmp_path / "o"
    assert main(["sweep", str(base.write_config(tmp_path, text)), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "grid.n: bell at n = 9 does not fit on rainbow, which holds at most 8" in err
    assert err.count("\n") == 1 and not out.exists()


def test_a_store_without_rows_accepts_the_corrected_config(tmp_path, capsys):
    """A first point that fails leaves config.toml and no row; the corrected (different)
    config must then run there, not be refused as 'a different grid'."""
    out = tmp_path / "o"
    first = base.CONFIG.replace("n = [1, 2, 3, 4]", "n = [5]")
    with pytest.raises(CopylearnError, match="this point cannot run"):
        run_sweep(
            parse_config(first), out, workers=0, point_runner=failing_point_runner, progress=False
        )
    assert (out / CONFIG_NAME).is_file() and base.canonical_store(out) == []
    fixed = base.write_config(tmp_path)
    rows = run_sweep(
        load_config(fixed), out, workers=0, point_runner=base.fake_runner, progress=False
    )
    assert len(rows) == base.POINTS and (out / CONFIG_NAME).read_text() == base.CONFIG
    # with rows stored, a different grid is still refused
    with pytest.raises(CopylearnError, match="different grid"):
        run_sweep(parse_config(first), out, workers=0, point_runner=base.failing_runner)


# --------------------------------------------------------------------------- item 11


def _config(grid: str, strategies: str = '["bell"]') -> str:
    return (
        f'[sweep]\ntask = "pauli-prediction"\nseed = 1\nstrategies = {strategies}\n[grid]\n{grid}\n'
    )


def test_queries_all_at_n_12_is_refused_with_its_estimate():
    """Issue 9 item 11's example: 400 histograms of 4^12 float64 entries, about 50 GiB."""
    config = parse_config(_config('n = 12\nqueries = "all"'))
    parts = point_memory(config.points()[0])
    assert 400 * 8 * 4**12 <= parts["queries"] <= 1.01 * 400 * 8 * 4**12
    with pytest.raises(
        CopylearnError, match=r"grid\.queries: bell at n = 12: one point needs"
    ) as e:
        check_runnable(config, memory=32 << 30)
    shown = float(re.search(r"about ([0-9.]+) GiB", str(e.value)).group(1))
    assert 50 <= shown <= 53 and "32.0 GiB available" in str(e.value)
    check_runnable(config, memory=64 << 30)  # fits on a machine with 64 GiB free


@pytest.mark.parametrize(
    ("grid", "key", "gib"),
    [
        # 4^20 - 1 queries capped at 10^9: 10^9 * (8 + 16) bytes per trial, 400 trials
        ("n = 20\nqueries = 1_000_000_000", "grid.queries", 400 * 1e9 * 24 / 2**30),
        # one trial's doubling stage of ~5 * 10^11 Bell shots at n = 40
        (
            "n = 40\nmax_copies = 1_000_000_000_000",
            "grid.max_copies",
            2.5e11 * (24 * 40 + 64) / 2**30,
        ),
        # 10^6 trials of 4^10 - 1 >= 10^4 queries
        ("n = 10\ntrials = 1_000_000\nqueries = 10_000", "grid.queries", 1e6 * 1e4 * 24 / 2**30),
    ],
)
def test_other_points_too_large_for_memory(grid, key, gib):
    config = parse_config(_config(grid))
    total = sum(point_memory(config.points()[0]).values()) / 2**30
    assert gib <= total <= 1.1 * gib + 1
    with pytest.raises(CopylearnError, match=rf"{key}: bell at n = \d+: one point needs"):
        check_runnable(config, memory=int(gib * 2**30 / 2))


def test_the_estimate_uses_the_runner_batch_size():
    from copylearn import complexity

    assert sweep_module._BATCH_ROWS == complexity._BATCH_ROWS


def test_the_committed_experiments_fit_in_16_gib():
    """No false refusals: every committed config's points fit on a 16 GiB machine (the
    estimate is the worst case, a search that runs to max_copies: noise_crossover's
    10^8-copy cap needs about 8.4 GiB there)."""
    for path in sorted((TESTS_DIR.parent / "experiments").glob("*.toml")):
        config = load_config(path)
        if any(s.get("device", "none") != "none" for s in config.points()):
            continue  # (device configs also load the device: covered elsewhere)
        check_runnable(config, memory=16 << 30)
    with pytest.raises(
        CopylearnError, match=r"grid\.max_copies: bell at n = 4: one point needs about 4"
    ):
        check_runnable(
            load_config(TESTS_DIR.parent / "experiments" / "noise_crossover.toml"), memory=4 << 30
        )


@pytest.mark.slow  # tracemalloc slows Cirq down: ~30 s
def test_the_memory_estimate_bounds_a_real_point():
    """The estimate is not below what a small real point allocates (tracemalloc)."""
    import tracemalloc

    from copylearn.complexity import run_point

    config = parse_config(_config('n = 5\nqueries = "all"\ntrials = 60\nmax_copies = 4000'))
    spec = config.points()[0]
    tracemalloc.start()
    try:
        run_point(dict(spec), np.random.SeedSequence(3))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak <= sum(point_memory(spec).values())
