"""Sweeps: config validation, point ids and seeds, identical stores for every executor,
kill and resume, refusing a different sweep's directory, and the sweep/summary/plot commands.

The point runners here are fast fakes computed from the seed the sweep passes in, so two
stores agree only if every point got the same seed; they live at module level so pool and
Dask workers can import them.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np
import pytest

from copylearn.cli import main
from copylearn.errors import CopylearnError
from copylearn.sweep import (
    CONFIG_NAME,
    STORE_NAME,
    load_config,
    optional_keys,
    parse_config,
    point_id,
    point_seed,
    run_sweep,
    spec_keys,
    summary_rows,
)

TESTS_DIR = Path(__file__).resolve().parent
CALL_LOG_ENV = "COPYLEARN_TEST_CALL_LOG"

CONFIG = """\
[sweep]
task = "pauli-prediction"
seed = 2024
strategies = ["bell", "pauli-shadow"]

[grid]
n = [1, 2, 3, 4]
alpha = [0.9, 0.5]
trials = 50
max_copies = 100000

[strategy.pauli-shadow]
n = [1, 2, 3]
"""
POINTS = 4 * 2 + 3 * 2


def fake_runner(spec: dict, seed: np.random.SeedSequence, progress=None) -> dict:
    """A stand-in for complexity.run_point: contract-shaped output drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    bell = spec["strategy"] == "bell"
    per_experiment = 2 if bell else 1
    scale = (1.0 if bell else 3.0) ** spec["n"] / spec["alpha"] ** 2
    n_star = float(20 * scale * rng.uniform(0.8, 1.25))
    n_star_2_3 = n_star * float(rng.uniform(0.4, 0.6))
    copies = [2**k for k in range(1, 17)]
    p = [1 - np.exp(-c / n_star * 2.3) for c in copies]
    return {
        "n_star": n_star,
        "n_star_ci": sorted([n_star * float(rng.uniform(0.8, 1)), n_star * 1.1]),
        "n_star_2_3": n_star_2_3,
        "n_star_2_3_ci": [n_star_2_3 * 0.9, n_star_2_3 * 1.1],
        "copies_per_experiment": per_experiment,
        "experiments_star": n_star / per_experiment,
        "curve": {
            "copies": copies,
            "successes": rng.binomial(spec["trials"], p).tolist(),
            "trials": spec["trials"],
        },
        "reached": True,
    }


def slow_runner(spec: dict, seed: np.random.SeedSequence, progress=None) -> dict:
    """fake_runner that logs each call (by point id) to $COPYLEARN_TEST_CALL_LOG and sleeps."""
    fd = os.open(os.environ[CALL_LOG_ENV], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (point_id(spec) + "\n").encode())
    finally:
        os.close(fd)
    time.sleep(0.12)
    return fake_runner(spec, seed, progress)


def failing_runner(spec: dict, seed: np.random.SeedSequence, progress=None) -> dict:
    raise AssertionError("a finished sweep must not run any point again")


def write_config(tmp_path: Path, text: str = CONFIG, name: str = "sweep.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def canonical_store(out: Path) -> list[bytes]:
    """The store's lines without their "seconds" field, sorted (by id, which leads each line)."""
    lines = (out / STORE_NAME).read_bytes().splitlines()
    stripped = [re.sub(rb', "seconds": [-+0-9.eE]+', b"", line) for line in lines]
    assert all(b'"seconds"' not in line for line in stripped)
    return sorted(stripped)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple[Path, list[bytes]]:
    """An uninterrupted in-process run of CONFIG: (config path, canonical store)."""
    tmp = tmp_path_factory.mktemp("reference")
    config = write_config(tmp)
    rows = run_sweep(
        load_config(config), tmp / "out", workers=0, point_runner=fake_runner, progress=False
    )
    assert len(rows) == POINTS
    return config, canonical_store(tmp / "out")


# --------------------------------------------------------------------------- config


def test_config_defaults_and_points(tmp_path):
    config = load_config(write_config(tmp_path))
    assert config.seed == 2024 and config.strategies == ("bell", "pauli-shadow")
    points = config.points()
    assert len(points) == POINTS
    # Optional keys at their default are left out of the spec (and so of the id).
    assert all(
        list(p)
        == sorted(set(spec_keys("pauli-prediction")) - set(optional_keys("pauli-prediction")))
        for p in points
    )
    shadow = [p for p in points if p["strategy"] == "pauli-shadow"]
    assert sorted({p["n"] for p in shadow}) == [1, 2, 3]
    first = points[0]
    assert first == {
        "alpha": 0.9,
        "max_copies": 100000,
        "n": 1,
        "noise": "none",
        "queries": 100,
        "strategy": "bell",
        "target": 0.9,
        "task": "pauli-prediction",
        "trials": 50,
        "weight": "full",
    }
    minimal = parse_config(
        '[sweep]\ntask = "pauli-prediction"\nseed = 1\nstrategies = ["bell"]\n[grid]\nn = 3\n'
    )
    (spec,) = minimal.points()
    assert (spec["alpha"], spec["weight"], spec["queries"], spec["noise"]) == (
        0.9,
        "full",
        100,
        "none",
    )
    assert (spec["target"], spec["trials"], spec["max_copies"]) == (0.9, 400, 10_000_000)


def test_noise_and_numbers_are_canonical():
    text = (
        '[sweep]\ntask = "pauli-prediction"\nseed = 1\nstrategies = ["bell"]\n[grid]\n'
        'n = 2\nalpha = 1\nqueries = "all"\n'
        'noise = ["Depolarizing:0.010", "none", "readout:0.02+depolarizing:0.01"]\n'
    )
    config = parse_config(text)
    assert config.grid["alpha"] == (1.0,)
    assert config.grid["noise"] == (
        "depolarizing:0.01",
        "none",
        "depolarizing:0.01+readout:0.02",
    )


def test_point_id_and_seed_follow_the_contract(tmp_path):
    spec = load_config(write_config(tmp_path)).points()[3]
    digest = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]
    assert point_id(spec) == digest and len(digest) == 16
    assert point_id(dict(reversed(list(spec.items())))) == digest
    seed = point_seed(2024, digest)
    assert seed.entropy == [2024, int(digest[:8], 16), int(digest[8:], 16)]


BASE_SWEEP = {
    "task": '"pauli-prediction"',
    "seed": "2024",
    "strategies": '["bell", "pauli-shadow"]',
}
BASE_GRID = {"n": "[1, 2]", "trials": "40"}

# (sweep keys to change, grid keys to change, extra TOML, key the message must name)
MALFORMED = [
    ({}, {}, "[grids]\nn = 1\n", "grids"),
    ({}, {}, "[strategy.clifford]\nn = 1\n", "strategy.clifford"),
    ({}, {}, "[strategy.bell]\nqubits = 1\n", "strategy.bell.qubits"),
    ({}, {}, "[strategy.bell]\nn = []\n", "strategy.bell.n"),
    ({}, {}, "[strategy.bell]\nn = [0]\n", "strategy.bell.n"),
    ({}, {}, "strategy = 3\n", "strategy"),
    ({"seeds": "1"}, {}, "", "sweep.seeds"),
    ({"seed": None}, {}, "", "sweep.seed"),
    ({"seed": "-1"}, {}, "", "sweep.seed"),
    ({"seed": '"2024"'}, {}, "", "sweep.seed"),
    ({"task": '"purity"'}, {}, "", "sweep.task"),
    ({"task": None}, {}, "", "sweep.task"),
    ({"strategies": "[]"}, {}, "", "sweep.strategies"),
    ({"strategies": '"bell"'}, {}, "", "sweep.strategies"),
    ({"strategies": '["clifford"]'}, {}, "", "sweep.strategies"),
    ({"strategies": '["bell", "bell"]'}, {}, "", "sweep.strategies"),
    ({}, {"qubits": "[1, 2]"}, "", "grid.qubits"),
    ({}, {"n": None}, "", "grid.n"),
    ({}, {"n": "[]"}, "", "grid.n"),
    ({}, {"n": "[0, 1]"}, "", "grid.n"),
    ({}, {"n": "-2"}, "", "grid.n"),
    ({}, {"n": '"4"'}, "", "grid.n"),
    ({}, {"n": "[1.5]"}, "", "grid.n"),
    ({}, {"n": "true"}, "", "grid.n"),
    ({}, {"n": "[1, 1]"}, "", "grid.n"),
    ({}, {"n": "[[1, 2]]"}, "", "grid.n"),
    ({}, {"n": "{ a = 1 }"}, "", "grid.n"),
    ({}, {"target": "1.0"}, "", "grid.target"),
    ({}, {"target": "0"}, "", "grid.target"),
    ({}, {"target": "[0.9, 1.2]"}, "", "grid.target"),
    ({}, {"target": '"0.9"'}, "", "grid.target"),
    ({}, {"alpha": "0"}, "", "grid.alpha"),
    ({}, {"alpha": "1.5"}, "", "grid.alpha"),
    ({}, {"alpha": "[0.9, 0.9]"}, "", "grid.alpha"),
    ({}, {"trials": "0"}, "", "grid.trials"),
    ({}, {"trials": "400.0"}, "", "grid.trials"),
    ({}, {"weight": '"half"'}, "", "grid.weight"),
    ({}, {"queries": "0"}, "", "grid.queries"),
    ({}, {"queries": '"some"'}, "", "grid.queries"),
    ({}, {"queries": '"all"', "n": "[2, 14]"}, "", "grid.queries"),  # names queries, not n
    ({}, {"queries": '"all"'}, "", "grid.queries"),  # the task: 'all' needs Bell data
    ({}, {}, '[strategy.pauli-shadow]\nqueries = "all"\n', "strategy.pauli-shadow.queries"),
    ({}, {"noise": '"dephasing:0.1"'}, "", "grid.noise"),
    ({}, {"noise": "0.01"}, "", "grid.noise"),
    ({}, {"noise": '"depolarizing:2"'}, "", "grid.noise"),
    ({}, {"noise": '["none", "depolarizing:0"]'}, "", "grid.noise"),
    ({}, {"max_copies": "1"}, "", "grid.max_copies"),
    ({}, {"max_copies": "1e7"}, "", "grid.max_copies"),
    ({}, {"device": '"sycamore"'}, "", "grid.device"),
    ({}, {"device": '"weber"', "noise": '"readout:0.01"'}, "", "grid.device"),
    ({}, {"calibration_copies": "-1"}, "", "grid.calibration_copies"),
    ({}, {"calibration_copies": "1.5"}, "", "grid.calibration_copies"),
    ({}, {"calibration_copies": "1001"}, "", "grid.calibration_copies"),
    ({}, {"noise_scale": "0"}, "", "grid.noise_scale"),
    ({}, {"noise_scale": "0.5"}, "", "grid.noise_scale"),  # needs a device
    ({}, {}, "[sweep\n", "TOML"),
]


def malformed_text(sweep: dict, grid: dict, extra: str) -> str:
    def section(name: str, base: dict, changes: dict) -> str:
        lines = {**base, **changes}
        return f"[{name}]\n" + "".join(f"{k} = {v}\n" for k, v in lines.items() if v is not None)

    return section("sweep", BASE_SWEEP, sweep) + section("grid", BASE_GRID, grid) + extra


@pytest.mark.parametrize(
    ("sweep", "grid", "extra", "key"), MALFORMED, ids=[case[3] for case in MALFORMED]
)
def test_malformed_config_fails_before_any_work(tmp_path, capsys, sweep, grid, extra, key):
    path = write_config(tmp_path, malformed_text(sweep, grid, extra))
    with pytest.raises(CopylearnError, match=re.escape(key)):
        load_config(path)
    out = tmp_path / "out"
    status = main(["sweep", str(path), "--out", str(out), "--workers", "0"])
    _, err = capsys.readouterr()
    assert status == 2
    assert err.startswith("copylearn: error: ") and err.count("\n") == 1 and key in err
    assert not out.exists()


def test_base_of_malformed_cases_is_valid():
    assert len(parse_config(malformed_text({}, {}, "")).points()) == 4


def test_missing_config_file(tmp_path, capsys):
    assert main(["sweep", str(tmp_path / "nope.toml"), "--out", str(tmp_path / "o")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


# --------------------------------------------------------------------------- executors


@pytest.mark.parametrize("workers", [0, 1, 2])
def test_identical_stores_in_process_and_pools(tmp_path, reference, workers):
    _, expected = reference
    out = tmp_path / "out"
    rows = run_sweep(
        load_config(reference[0]), out, workers=workers, point_runner=fake_runner, progress=False
    )
    assert canonical_store(out) == expected
    assert [row["spec"]["strategy"] for row in rows] == ["bell"] * 8 + ["pauli-shadow"] * 6
    assert [row["spec"]["n"] for row in rows[:8]] == [1, 1, 2, 2, 3, 3, 4, 4]
    assert (out / CONFIG_NAME).read_text() == CONFIG
    row = rows[0]
    assert list(row)[:2] == ["id", "spec"] and list(row)[-2:] == ["seconds", "versions"]
    assert set(row["versions"]) == {"copylearn", "cirq-core", "qsimcirq", "numpy"}


def test_identical_stores_on_dask_local_cluster(tmp_path, reference):
    pytest.importorskip("distributed")
    out = tmp_path / "out"
    run_sweep(
        load_config(reference[0]),
        out,
        workers=2,
        dask="local",
        point_runner=fake_runner,
        progress=False,
    )
    assert canonical_store(out) == reference[1]


def test_missing_dask_is_a_clear_error(tmp_path, monkeypatch, reference):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(CopylearnError, match=re.escape("pip install 'copylearn[distributed]'")):
        run_sweep(load_config(reference[0]), tmp_path / "out", dask="local")
    assert not (tmp_path / "out").exists()


def results_only(lines: list[bytes]) -> list[bytes]:
    """Store lines without "config_hash" (it names the config that ran a row, not the point)."""
    return [re.sub(rb', "config_hash": "[0-9a-f]+"', b"", line) for line in lines]


def test_a_point_depends_on_its_spec_only(tmp_path, reference):
    """A sub-grid (other points, other positions) reproduces the shared points' rows."""
    sub = CONFIG.replace("n = [1, 2, 3, 4]", "n = [4, 2]").replace('"bell", "pauli', '"pauli')
    sub = sub.replace("n = [1, 2, 3]", "n = [3]")
    out = tmp_path / "sub"
    run_sweep(
        load_config(write_config(tmp_path, sub)),
        out,
        workers=0,
        point_runner=fake_runner,
        progress=False,
    )
    lines = canonical_store(out)
    assert len(lines) == 2 and set(results_only(lines)) <= set(results_only(reference[1]))


# --------------------------------------------------------------------------- resume


def test_resume_skips_finished_points_and_drops_a_partial_line(tmp_path, reference):
    config_path, expected = reference
    config = load_config(config_path)
    out = tmp_path / "out"
    run_sweep(config, out, workers=0, point_runner=fake_runner, progress=False)
    store = out / STORE_NAME
    lines = store.read_bytes().splitlines(keepends=True)
    # keep 5 rows, then half of the 6th as a write cut short by a kill
    store.write_bytes(b"".join(lines[:5]) + lines[5][: len(lines[5]) // 2])
    assert len(summary_rows(out)) == 5
    log = tmp_path / "calls.log"
    os.environ[CALL_LOG_ENV] = str(log)
    try:
        run_sweep(config, out, workers=0, point_runner=slow_runner, progress=False)
    finally:
        del os.environ[CALL_LOG_ENV]
    done = {json.loads(line)["id"] for line in lines[:5]}
    calls = log.read_text().split()
    assert len(calls) == POINTS - 5 and not done & set(calls)
    assert canonical_store(out) == expected
    run_sweep(config, out, workers=0, point_runner=failing_runner, progress=False)
    assert canonical_store(out) == expected


def test_sigkill_then_rerun_equals_an_uninterrupted_run(tmp_path, reference):
    config_path, expected = reference
    out = tmp_path / "out"
    log = tmp_path / "calls.log"
    code = (
        f"import sys; sys.path.insert(0, {str(TESTS_DIR)!r}); import test_sweep as t; "
        "from copylearn.sweep import load_config, run_sweep; "
        f"run_sweep(load_config({str(config_path)!r}), {str(out)!r}, workers=2, "
        "point_runner=t.slow_runner)"
    )
    env = {**os.environ, CALL_LOG_ENV: str(log)}
    command = [sys.executable, "-c", code]
    store = out / STORE_NAME
    proc = subprocess.Popen(
        command, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 60
        while not (store.is_file() and b"\n" in store.read_bytes()):
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline
            time.sleep(0.005)
        time.sleep(np.random.default_rng(7).uniform(0.0, 0.25))
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the sweep and its pool workers
        proc.wait()
        proc.stderr.close()
    finished = {json.loads(line)["id"] for line in store.read_bytes().split(b"\n")[:-1]}
    assert 1 <= len(finished) < POINTS
    first_calls = len(log.read_text().split())

    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert f"({len(finished)} resumed)" in rerun.stderr
    second_calls = log.read_text().split()[first_calls:]
    assert not finished & set(second_calls)  # no finished point ran again
    assert len(second_calls) == POINTS - len(finished)
    assert canonical_store(out) == expected  # no duplicates, no partial line


def _run_small_sweep(tmp_path: Path, out: Path) -> str:
    """Run CONFIG cut to Bell n = 1, 2 into ``out``; returns its text."""
    small = CONFIG.replace("n = [1, 2, 3, 4]", "n = [1, 2]")
    config = load_config(write_config(tmp_path, small, "small.toml"))
    run_sweep(config, out, workers=0, point_runner=fake_runner, progress=False)
    return small


def test_resume_into_a_different_sweep_is_refused(tmp_path, capsys):
    out = tmp_path / "out"
    small = _run_small_sweep(tmp_path, out)
    before = ((out / STORE_NAME).read_bytes(), (out / CONFIG_NAME).read_bytes())
    reseeded = write_config(tmp_path, small.replace("seed = 2024", "seed = 7"), "seed.toml")
    moved = write_config(tmp_path, CONFIG.replace("n = [1, 2, 3, 4]", "n = [3, 4]"), "moved.toml")
    for path, what in [(moved, "different grid"), (reseeded, "different seed")]:
        with pytest.raises(CopylearnError, match=what):
            run_sweep(load_config(path), out, workers=0, point_runner=failing_runner)
        assert main(["sweep", str(path), "--out", str(out), "--workers", "0"]) == 2
        err = capsys.readouterr().err
        assert what in err and "choose another --out" in err and err.count("\n") == 1
    assert ((out / STORE_NAME).read_bytes(), (out / CONFIG_NAME).read_bytes()) == before
    # the same points written differently resume (and find nothing to do)
    same = small.replace("n = [1, 2]", "n = [2, 1]  # reordered").replace("0.9, 0.5", "0.5, 0.9")
    rows = run_sweep(
        load_config(write_config(tmp_path, same, "same.toml")),
        out,
        workers=0,
        point_runner=failing_runner,
        progress=False,
    )
    assert len(rows) == 2 * 2 + 3 * 2


def test_a_larger_grid_extends_the_sweep(tmp_path, monkeypatch, reference):
    config_path, expected = reference
    out = tmp_path / "out"
    _run_small_sweep(tmp_path, out)
    log = tmp_path / "calls.log"
    monkeypatch.setenv(CALL_LOG_ENV, str(log))
    full = load_config(config_path)
    rows = run_sweep(full, out, workers=0, point_runner=slow_runner, progress=False)
    assert len(rows) == POINTS
    ran = set(log.read_text().split())
    assert ran == {point_id(s) for s in full.points() if s["strategy"] == "bell" and s["n"] > 2}
    # as if the larger sweep had run in one go
    assert results_only(canonical_store(out)) == results_only(expected)
    assert (out / CONFIG_NAME).read_text() == full.text
    assert "n = [1, 2]" in (out / "config.1.toml").read_text()  # the previous config is kept


def test_optional_keys_leave_existing_point_ids_alone():
    """Stores written before device/calibration_copies existed keep their ids."""
    committed = TESTS_DIR.parent / "figures" / "pauli_separation" / STORE_NAME
    stored = {json.loads(line)["id"] for line in committed.read_text().splitlines()}
    config = load_config(TESTS_DIR.parent / "experiments" / "pauli_separation.toml")
    assert {point_id(spec) for spec in config.points()} == stored
    extended = parse_config(
        config.text.replace('noise = "none"', 'noise = "none"\ncalibration_copies = 1000')
        # clifford-shadow declares no calibration: its section keeps the default
        .replace('backend = "auto"', 'backend = "auto"\ncalibration_copies = 0')
    )
    calibrated = [s for s in extended.points() if s["strategy"] != "clifford-shadow"]
    assert all(spec["calibration_copies"] == 1000 for spec in calibrated)
    assert {point_id(spec) for spec in calibrated}.isdisjoint(stored)


def test_store_without_config_is_refused(tmp_path, reference):
    out = tmp_path / "out"
    out.mkdir()
    (out / STORE_NAME).write_text("")
    with pytest.raises(CopylearnError, match="choose another --out"):
        run_sweep(load_config(reference[0]), out, workers=0, point_runner=failing_runner)


# --------------------------------------------------------------------------- progress


def test_progress_lines_when_not_a_tty(tmp_path, capsys, reference):
    run_sweep(load_config(reference[0]), tmp_path / "out", workers=0, point_runner=fake_runner)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 + POINTS and "\r" not in "".join(lines)
    assert lines[0].startswith("sweep [") and "0/14 points" in lines[0]
    last = lines[-1]
    assert last.startswith("[14/14] bell n=1 alpha=0.9: N* = ") and "copies [" in last
    assert " s | sweep [" in last and "ETA 0:00:00" in last


def test_progress_bar_updates_in_place_on_a_tty(tmp_path, monkeypatch, reference):
    class TTY(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = TTY()
    monkeypatch.setattr(sys, "stderr", stream)
    run_sweep(load_config(reference[0]), tmp_path / "out", workers=0, point_runner=fake_runner)
    text = stream.getvalue()
    assert text.count("\r") >= POINTS and text.endswith("\n")
    assert "14/14 points" in text.splitlines()[-1]


# --------------------------------------------------------------------------- commands


@pytest.fixture
def fake_modules(monkeypatch):
    """Stand-ins for copylearn.complexity, copylearn.fits and copylearn.plotting."""
    complexity = types.ModuleType("copylearn.complexity")
    complexity.run_point = fake_runner
    real = importlib.import_module("copylearn.complexity")
    complexity.wilson_interval, complexity.WILSON_Z = real.wilson_interval, real.WILSON_Z
    fits = types.ModuleType("copylearn.fits")

    def fit_groups(rows):
        strategies = sorted({row["spec"]["strategy"] for row in rows})
        return [
            {
                "group": {"strategy": s, "alpha": 0.9},
                "strategy": s,
                "base": 1.0 if s == "bell" else 3.02,
                "base_ci": [0.9, 1.1] if s == "bell" else [2.9, 3.1],
                "log_base": 0.0,
                "log_base_ci": [-0.1, 0.1],
                "a": 3.0,
                "ns": [1, 2, 3],
                "n_min": 1,
            }
            for s in strategies
        ]

    fits.fit_groups = fit_groups
    plotting = types.ModuleType("copylearn.plotting")

    def plot_store(store, out):
        out.mkdir(parents=True, exist_ok=True)
        return [out / "separation.png", out / "separation.pdf"]

    plotting.plot_store = plot_store
    for name, module in [("complexity", complexity), ("fits", fits), ("plotting", plotting)]:
        monkeypatch.setitem(sys.modules, f"copylearn.{name}", module)
    return monkeypatch


def test_sweep_summary_and_plot_commands(tmp_path, capsys, fake_modules, reference):
    out = tmp_path / "store"
    args = ["sweep", str(reference[0]), "--out", str(out), "--workers", "0", "--quiet"]
    assert main(args) == 0
    text, err = capsys.readouterr()
    assert f"{POINTS} points in" in text and err == ""
    assert canonical_store(out) == reference[1]

    assert main(["summary", str(out)]) == 0
    text = capsys.readouterr().out
    table = text.splitlines()
    assert table[0].split()[:4] == ["strategy", "n", "alpha", "N*"]
    assert sum(line.startswith(("bell ", "pauli-shadow ")) for line in table) == POINTS
    assert "b = 3.02 [2.90, 3.10]" in text or "b = 3.02 [2.9, 3.1]" in text

    assert main(["summary", str(out), "--json"]) == 0
    objects = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    points = [o for o in objects if o["kind"] == "point"]
    fits = [o for o in objects if o["kind"] == "fit"]
    assert len(points) == POINTS and len(fits) == 2
    assert {p["id"] for p in points} == {r["id"] for r in summary_rows(out)}
    assert all("n_star_ci" in p and "curve" in p for p in points)

    assert main(["plot", str(out), "--out", str(tmp_path / "figs")]) == 0
    assert capsys.readouterr().out.split() == [
        str(tmp_path / "figs" / "separation.png"),
        str(tmp_path / "figs" / "separation.pdf"),
    ]


def test_summary_without_fits_module(tmp_path, capsys, fake_modules, reference):
    fake_modules.setitem(sys.modules, "copylearn.fits", None)
    out = tmp_path / "store"
    assert main(["sweep", str(reference[0]), "--out", str(out), "--workers", "0", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["summary", str(out)]) == 0
    text = capsys.readouterr().out
    assert "fits unavailable" in text and "fitted" not in text
    assert main(["summary", str(out), "--json"]) == 0
    out_text, err = capsys.readouterr()
    assert len(out_text.splitlines()) == POINTS and "fits unavailable" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["summary", "{tmp}/none"], "holds no sweep results"),
        (["plot", "{tmp}/none", "--out", "{tmp}/figs"], "holds no sweep results"),
        (
            ["sweep", "{cfg}", "--out", "{tmp}/o", "--workers", "2", "--dask", "local"],
            "not allowed",
        ),
        (["sweep", "{cfg}", "--out", "{tmp}/o", "--workers", "-1"], "--workers -1"),
    ],
)
def test_command_errors_are_one_line(tmp_path, capsys, reference, argv, message):
    argv = [a.format(tmp=tmp_path, cfg=reference[0]) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("copylearn: error: ") and err.count("\n") == 1 and message in err
    assert not (tmp_path / "o").exists() and not (tmp_path / "figs").exists()


def _killed_runner(spec: dict, seed: np.random.SeedSequence, progress=None) -> dict:
    """Stand-in point runner whose n = 2 points SIGKILL their own (pool worker) process."""
    if spec["n"] == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    return fake_runner(spec, seed, progress)


def test_a_killed_pool_worker_is_one_error_and_the_rerun_resumes(tmp_path, reference):
    """SIGKILL of a pool worker: one CopylearnError (the CLI's one line, exit 2), not a
    BrokenProcessPool traceback; the finished points stay and a rerun completes the store."""
    out = tmp_path / "out"
    config = load_config(reference[0])
    with pytest.raises(CopylearnError, match="worker process died") as info:
        run_sweep(config, out, workers=2, point_runner=_killed_runner, progress=False)
    assert "\n" not in str(info.value) and "rerun the same command" in str(info.value)
    run_sweep(config, out, workers=2, point_runner=fake_runner, progress=False)
    assert canonical_store(out) == reference[1]
