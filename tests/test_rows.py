"""Store rows: unreached points carry no N* (issue 9, item 3), rows tie themselves to their
sweep and foreign rows are refused (item 6), progress a person can trust (item 16), and
``summary --json`` tags point and fit lines (item 19).

Point runners here are module-level fakes (drawn from the seed the sweep passes in) so that
pool workers can import them; the real search (:func:`copylearn.complexity.run_point`) runs
only at tiny sizes.
"""

from __future__ import annotations

import importlib
import io
import json
import re
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from copylearn import __version__ as cl_version
from copylearn.cli import main
from copylearn.complexity import crossing, run_point
from copylearn.errors import CopylearnError
from copylearn.fits import fit_groups
from copylearn.sweep import (
    CONFIG_NAME,
    STORE_FORMAT,
    STORE_NAME,
    _Progress,
    config_hash,
    load_config,
    parse_config,
    point_cost,
    point_id,
    point_seed,
    point_summary,
    run_sweep,
    summary_rows,
)

REPO = Path(__file__).resolve().parent.parent

CONFIG = """\
[sweep]
task = "pauli-prediction"
seed = 2024
strategies = ["bell", "pauli-shadow"]

[grid]
n = [1, 2, 3]
alpha = 0.9
trials = 50
max_copies = 100000
"""
POINTS = 6


def fake_runner(spec: dict, seed: np.random.SeedSequence, progress=None) -> dict:
    """Contract-shaped output drawn from ``seed`` (so a row shows which seed made it)."""
    rng = np.random.default_rng(seed)
    n_star = float(20 * (3.0 if spec["strategy"] == "pauli-shadow" else 1.0) ** spec["n"])
    n_star *= float(rng.uniform(0.8, 1.25))
    return {
        "n_star": n_star,
        "n_star_ci": [n_star * float(rng.uniform(0.7, 0.9)), n_star * 1.2],
        "n_star_2_3": n_star / 2,
        "n_star_2_3_ci": [n_star / 2.2, n_star / 1.8],
        "copies_per_experiment": 2 if spec["strategy"] == "bell" else 1,
        "experiments_star": n_star / (2 if spec["strategy"] == "bell" else 1),
        "curve": {"copies": [2, 4], "successes": [1, spec["trials"]], "trials": spec["trials"]},
        "reached": True,
    }


def unreached_runner(spec: dict, seed: np.random.SeedSequence, progress=None) -> dict:
    """What the search gave before the fix for an unreached point: a chance crossing as N*."""
    row = fake_runner(spec, seed)
    return {**row, "n_star": 90.0, "n_star_ci": [52.0, 90.0], "experiments_star": 45.0,
            "reached": False}  # fmt: skip


def chatty_runner(spec: dict, seed: np.random.SeedSequence, progress=None) -> dict:
    """fake_runner that reports from inside the point, slowly enough for the pool's ticks."""
    if progress is not None:
        progress("1600 copies, trial batch 2/4")
    time.sleep(1.3)
    return fake_runner(spec, seed)


def make_store(tmp_path: Path, text: str = CONFIG, name: str = "store", runner=fake_runner) -> Path:
    config = tmp_path / f"{name}.toml"
    config.write_text(text)
    out = tmp_path / name
    run_sweep(load_config(config), out, workers=0, point_runner=runner, progress=False)
    return out


def lines_of(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / STORE_NAME).read_text().splitlines()]


def write_lines(out: Path, rows: list[dict]) -> None:
    (out / STORE_NAME).write_text("".join(json.dumps(row) + "\n" for row in rows))


def one_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("copylearn: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


# --------------------------------------------------------------------------- item 3


@pytest.mark.parametrize(("strategy", "n"), [("bell", 2), ("pauli-shadow", 1)])
def test_unreached_search_reports_no_n_star(strategy, n):
    """The issue's example (target 0.9999999, 10 trials, max_copies 1000) and a shadow point:
    all 10 trials succeed along the way, so the curve crosses the target, but a Wilson lower
    bound from 10 trials can never reach 0.9999999: no N*, only N* > max_copies."""
    config = parse_config(
        f'[sweep]\ntask = "pauli-prediction"\nseed = 1\nstrategies = ["{strategy}"]\n'
        f"[grid]\nn = {n}\nmax_copies = 1000\n"
    )
    # A sweep config refuses this target for 10 trials (test below); run_point still runs it.
    spec = {**config.points()[0], "target": 0.9999999, "trials": 10}
    result = run_point(spec, point_seed(1, point_id(spec)))
    copies = np.array(result["curve"]["copies"])
    rates = np.array(result["curve"]["successes"]) / 10
    assert crossing(rates, copies, spec["target"]) is not None  # the old code reported this
    assert copies[-1] >= 1000 and result["reached"] is False
    assert result["n_star"] is None and result["n_star_ci"] is None
    assert result["experiments_star"] is None
    assert result["n_star_2_3"] is not None  # the 2/3 crossing is a separate, honest quantity


@pytest.mark.parametrize(("target", "trials"), [(0.9999999, 10), (0.9, 20), (0.9, 34)])
def test_a_target_no_trial_count_can_reach_is_refused_naming_trials(target, trials):
    """All-success Wilson bound trials / (trials + z^2) below the target: refused up front,
    with the fewest trials that can reach it (35 for the default target 0.9)."""
    text = (
        '[sweep]\ntask = "pauli-prediction"\nseed = 1\nstrategies = ["bell"]\n'
        f"[grid]\nn = 2\ntarget = {target}\ntrials = {trials}\nmax_copies = 1000\n"
    )
    with pytest.raises(CopylearnError, match=r"grid\.trials: .*use trials >= (\d+) ") as info:
        parse_config(text)
    fewest = int(re.search(r"use trials >= (\d+) ", str(info.value)).group(1))
    z2 = 1.959963984540054**2
    assert trials / (trials + z2) < target <= fewest / (fewest + z2)
    assert (fewest - 1) / (fewest - 1 + z2) < target
    if target == 0.9:
        assert fewest == 35
        parse_config(text.replace(f"trials = {trials}", "trials = 35"))  # accepted


def test_reached_search_still_reports_n_star():
    spec = parse_config(
        '[sweep]\ntask = "pauli-prediction"\nseed = 1\nstrategies = ["bell"]\n'
        "[grid]\nn = 2\ntrials = 40\nmax_copies = 10000\n"
    ).points()[0]
    result = run_point(spec, point_seed(1, point_id(spec)))
    assert result["reached"] is True and result["n_star"] > 2 and result["n_star_ci"]


def test_unreached_row_shows_not_reached_everywhere(tmp_path, capsys):
    """An old store's unreached rows (N* = 90 from a chance crossing): the progress line, the
    summary table, summary --json and the fits all treat them as not reached."""
    out = make_store(tmp_path, runner=unreached_runner)
    rows = lines_of(out)
    line = point_summary(rows[0])
    assert "not reached (> max_copies = 100000)" in line and "90" not in line

    assert main(["summary", str(out)]) == 0
    table = capsys.readouterr().out.splitlines()
    body = [r for r in table if r.startswith(("bell ", "pauli-shadow "))]
    assert len(body) == POINTS
    assert all("not reached (> 100000)" in r and " 90 " not in r and "[52" not in r for r in body)

    assert main(["summary", str(out), "--json"]) == 0
    points = [json.loads(t) for t in capsys.readouterr().out.splitlines()]
    points = [p for p in points if p["kind"] == "point"]
    assert len(points) == POINTS
    assert all(p["reached"] is False and p["n_star"] is None for p in points)
    assert all(p["n_star_ci"] is None and p["experiments_star"] is None for p in points)

    # fits: given the raw rows (N* = 90 still in them), the unreached points are left out
    bell = sorted(
        (r for r in rows if r["spec"]["strategy"] == "bell"), key=lambda r: r["spec"]["n"]
    )
    assert [r["spec"]["n"] for r in bell] == [1, 2, 3] and bell[0]["n_star"] == 90.0
    reached = [{**r, "n_star": 20.0 * 2**k, "n_star_ci": [15.0 * 2**k, 25.0 * 2**k],
                "reached": True} for k, r in enumerate(bell)]  # fmt: skip
    (fit,) = fit_groups(reached)
    assert fit["ns"] == [1, 2, 3]
    (fit,) = fit_groups([bell[0], *reached[1:]])  # n = 1 unreached (its N* = 90 a chance value)
    assert fit["ns"] == [2, 3] and "not reached" in fit["note"]


def test_progress_line_of_an_unreached_point(tmp_path, capsys):
    make_store(tmp_path, name="quiet")  # the same grid, reached, for contrast
    config = tmp_path / "c.toml"
    config.write_text(CONFIG)
    run_sweep(load_config(config), tmp_path / "loud", workers=0, point_runner=unreached_runner)
    lines = [t for t in capsys.readouterr().err.splitlines() if t.startswith("[")]
    assert len(lines) == POINTS
    assert all("N* not reached (> max_copies = 100000)" in t and "N* =" not in t for t in lines)


# --------------------------------------------------------------------------- item 6


def test_rows_carry_what_makes_them_belong(tmp_path):
    out = make_store(tmp_path)
    config = load_config(tmp_path / "store.toml")
    for row in lines_of(out):
        assert row["format"] == STORE_FORMAT == 3
        assert row["copylearn"] == cl_version
        assert row["sweep_seed"] == 2024
        assert row["config_hash"] == config_hash(config)
        assert row["versions"]["copylearn"]
        assert row["id"] == point_id(row["spec"])


def test_config_hash_names_the_sweep_not_its_layout():
    base = parse_config(CONFIG)
    relaid = parse_config(
        "# a comment\n" + CONFIG.replace('["bell", "pauli-shadow"]', '["pauli-shadow", "bell"]')
    )
    assert config_hash(relaid) == config_hash(base)
    assert config_hash(parse_config(CONFIG.replace("seed = 2024", "seed = 7"))) != config_hash(base)
    assert config_hash(parse_config(CONFIG.replace("n = [1, 2, 3]", "n = [1, 2, 3, 4]"))) != (
        config_hash(base)
    )


def _foreign_seed_store(tmp_path: Path) -> tuple[Path, int]:
    """The issue's case: the Bell n = 2 row replaced by the same point computed under another
    seed (copied from a second store), returned with its line number."""
    ours = make_store(tmp_path)
    theirs = make_store(tmp_path, CONFIG.replace("seed = 2024", "seed = 7"), name="theirs")
    rows, other = lines_of(ours), {r["id"]: r for r in lines_of(theirs)}
    k = next(
        i for i, r in enumerate(rows) if r["spec"]["strategy"] == "bell" and r["spec"]["n"] == 2
    )
    assert other[rows[k]["id"]]["n_star_ci"] != rows[k]["n_star_ci"]  # a different result
    rows[k] = other[rows[k]["id"]]
    write_lines(ours, rows)
    return ours, k + 1


def _other_grid_store(tmp_path: Path) -> tuple[Path, int]:
    """A row of another grid (alpha = 0.8, same seed) appended to the store."""
    ours = make_store(tmp_path)
    theirs = make_store(tmp_path, CONFIG.replace("alpha = 0.9", "alpha = 0.8"), name="theirs")
    rows = lines_of(ours)
    write_lines(ours, [*rows, lines_of(theirs)[0]])
    return ours, len(rows) + 1


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (_foreign_seed_store, "computed under sweep seed 7, not 2024"),
        (_other_grid_store, "not a point"),
    ],
)
def test_foreign_rows_are_refused_by_resume_summary_and_plot(tmp_path, capsys, make, reason):
    out, line = make(tmp_path)
    before = (out / STORE_NAME).read_bytes()
    with pytest.raises(CopylearnError, match=f"line {line} .*{reason}") as info:
        run_sweep(load_config(tmp_path / "store.toml"), out, workers=0, point_runner=fake_runner)
    assert "Move those lines to their own store" in str(info.value)
    with pytest.raises(CopylearnError, match=f"line {line} .*{reason}"):
        summary_rows(out)
    assert main(["summary", str(out)]) == 2
    assert f"line {line} " in one_error(capsys)
    assert main(["plot", str(out), "--out", str(tmp_path / "figs")]) == 2
    assert reason in one_error(capsys)
    assert (out / STORE_NAME).read_bytes() == before and not (tmp_path / "figs").exists()


def test_a_store_without_config_refuses_rows_of_another_seed(tmp_path):
    out, line = _foreign_seed_store(tmp_path)
    (out / CONFIG_NAME).unlink()  # like figures/*: no config, the rows' own seeds must agree
    with pytest.raises(CopylearnError, match=f"line {line} .*sweep seed 7, not 2024"):
        summary_rows(out)


def test_a_config_that_does_not_validate_here_still_gives_the_seed(tmp_path):
    """E.g. a device config read without the optional extra: summarise by the seed alone."""
    out, line = _foreign_seed_store(tmp_path)
    text = (out / CONFIG_NAME).read_text()
    (out / CONFIG_NAME).write_text(text.replace("alpha = 0.9", "alpha = 0.9\ndevice = 'nowhere'"))
    with pytest.raises(CopylearnError, match=f"line {line} .*sweep seed 7, not 2024"):
        summary_rows(out)
    rows = lines_of(out)
    write_lines(out, [r for r in rows if r["sweep_seed"] == 2024])
    assert len(summary_rows(out)) == POINTS - 1


@pytest.mark.parametrize("fmt", [1, 2])
def test_old_stores_are_read_but_never_resumed_or_extended(tmp_path, capsys, fmt):
    """Rows of an older store format are summarised as before; resuming or extending them
    refuses with one line saying what differs and what to do, writes nothing, exits 2."""
    out = make_store(tmp_path)
    if fmt == 1:  # before rows carried the format, seed and hash
        drop = ("format", "sweep_seed", "config_hash", "copylearn")
        old = [{k: v for k, v in r.items() if k not in drop} for r in lines_of(out)]
    else:  # before rows carried the copylearn version
        old = [
            {**{k: v for k, v in r.items() if k != "copylearn"}, "format": 2} for r in lines_of(out)
        ]
    write_lines(out, old[:4])  # an old, interrupted store
    assert [r["id"] for r in summary_rows(out)] == [
        r["id"] for r in sorted(old[:4], key=lambda r: (r["spec"]["strategy"], r["spec"]["n"]))
    ]
    bigger = tmp_path / "bigger.toml"
    bigger.write_text(CONFIG.replace("n = [1, 2, 3]", "n = [1, 2, 3, 4]"))
    before = {p: p.read_bytes() for p in sorted(tmp_path.rglob("*")) if p.is_file()}
    for config in (tmp_path / "store.toml", bigger):  # resume, extend
        capsys.readouterr()
        assert main(["sweep", str(config), "--out", str(out), "--workers", "0"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"store format {fmt}" in err
        assert "this copylearn writes format 3" in err and "choose another --out" in err
    assert {p: p.read_bytes() for p in sorted(tmp_path.rglob("*")) if p.is_file()} == before


@pytest.mark.parametrize("name", ["pauli_separation", "weber_separation", "noise_crossover"])
def test_committed_stores_are_still_summarised(tmp_path, name):
    src = REPO / "figures" / name / STORE_NAME
    rows = summary_rows(src.parent)
    raw = [json.loads(line) for line in src.read_text().splitlines()]
    assert len(rows) == len(raw) and {r["id"] for r in rows} == {r["id"] for r in raw}
    assert all(r["id"] == point_id(r["spec"]) for r in raw)
    by_id = {r["id"]: r for r in raw}
    assert all(r["n_star"] == by_id[r["id"]]["n_star"] for r in rows)


# --------------------------------------------------------------------------- item 16


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class TTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def _specs(text: str) -> list[dict]:
    return parse_config(text).points()


SHADOWS = (
    CONFIG.replace('["bell", "pauli-shadow"]', '["pauli-shadow"]')
    .replace("n = [1, 2, 3]", "n = [1, 2, 3, 4, 5, 6, 7, 8]")
    .replace("max_copies = 100000", "max_copies = 1000000000")
)


def _row(spec: dict, seconds: float) -> dict:
    return {"id": point_id(spec), "spec": spec, "n_star": 10.0, "reached": True,
            "seconds": seconds}  # fmt: skip


def test_eta_from_the_cost_model_is_right_when_cost_predicts_time():
    """Points run largest first and take 2 s + 1e-5 s per cost unit. From the second point on
    the ETA is the true time left; after the first (overhead not yet separable) it is within
    1% of it, while the naive rate (elapsed / done x remaining) is over 10x too long."""
    specs = sorted(_specs(SHADOWS), key=lambda s: -s["n"])
    clock = Clock()
    bar = _Progress(len(specs), 0, [], True, io.StringIO(), pending=specs, clock=clock)
    assert bar.eta() is None

    def seconds(spec: dict) -> float:
        return 2.0 + 1e-5 * point_cost(spec)

    for k, spec in enumerate(specs):
        clock.now += seconds(spec)
        bar.point(_row(spec, seconds(spec)))
        truth = sum(seconds(s) for s in specs[k + 1 :])
        if k == 0:
            assert bar.eta() == pytest.approx(truth, rel=0.01)
            assert seconds(spec) * (len(specs) - 1) > 10 * truth
        else:
            assert bar.eta() == pytest.approx(truth, rel=1e-6)
    assert bar.eta() == 0.0


def test_eta_counts_down_between_points_and_shares_work_over_workers():
    """Per strategy: overhead and rate fitted apart; the work left is shared by 2 workers."""
    specs = _specs(CONFIG.replace("n = [1, 2, 3]", "n = [1, 2, 3, 4, 5]"))
    truth = {"bell": (1.0, 1e-4), "pauli-shadow": (3.0, 1e-6)}

    def seconds(spec: dict) -> float:
        a, b = truth[spec["strategy"]]
        return a + b * point_cost(spec)

    clock = Clock()
    bar = _Progress(len(specs), 0, [], True, io.StringIO(), pending=specs, workers=2, clock=clock)
    done = [s for s in specs if s["n"] in (1, 2)]
    for spec in done:
        bar.point(_row(spec, seconds(spec)))
    left = [seconds(s) for s in specs if s not in done]
    expected = max(sum(left) / 2, max(left))
    assert bar.eta() == pytest.approx(expected, rel=1e-6)
    clock.now += 1.5
    assert bar.eta() == pytest.approx(expected - 1.5, rel=1e-6)


def test_heartbeat_lines_off_a_tty():
    specs = _specs(CONFIG)
    clock, stream = Clock(), io.StringIO()
    bar = _Progress(len(specs), 0, [], True, stream, pending=specs, clock=clock, heartbeat=30)
    bar.begin()
    assert len(stream.getvalue().splitlines()) == 1
    clock.now += 29
    bar.refresh()
    assert len(stream.getvalue().splitlines()) == 1  # not due yet
    bar.inner("1600 copies, trial batch 2/4", pid=point_id(specs[0]))
    clock.now += 2
    bar.refresh()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2 and "\r" not in stream.getvalue()
    assert (
        lines[1].startswith("sweep [")
        and "0/6 points" in lines[1]
        and "elapsed 0:00:31" in lines[1]
    )
    assert lines[1].endswith(
        f"| running: point 1/6 ({specs[0]['strategy']} n={specs[0]['n']}): "
        "1600 copies, trial batch 2/4"
    )
    clock.now += 10
    bar.point(_row(specs[0], 31.0))  # a finished point resets the heartbeat clock
    clock.now += 29
    bar.refresh()
    assert len(stream.getvalue().splitlines()) == 3
    clock.now += 1
    bar.refresh()
    assert len(stream.getvalue().splitlines()) == 4 and "ETA 0:" in stream.getvalue()


def test_no_heartbeat_when_quiet():
    stream = io.StringIO()
    clock = Clock()
    bar = _Progress(3, 0, [], False, stream, clock=clock)
    bar.begin()
    clock.now += 1000
    bar.refresh()
    bar.inner("x")
    assert stream.getvalue() == ""


@pytest.mark.parametrize("workers", [0, 2])
def test_progress_from_inside_a_point_reaches_the_bar(tmp_path, monkeypatch, workers):
    """In process and in a process pool the runner's messages show on the TTY bar."""
    stream = TTY()
    monkeypatch.setattr(sys, "stderr", stream)
    config = tmp_path / "c.toml"
    config.write_text(CONFIG.replace("n = [1, 2, 3]", "n = [1]"))
    run_sweep(load_config(config), tmp_path / "out", workers=workers, point_runner=chatty_runner)
    text = stream.getvalue()
    assert ": 1600 copies, trial batch 2/4" in text
    if workers == 0:
        assert "point 1/2 (pauli-shadow n=1): 1600 copies" in text
    else:
        assert "(bell n=1): 1600 copies" in text or "(pauli-shadow n=1): 1600 copies" in text
    assert len(lines_of(tmp_path / "out")) == 2


def test_run_point_reports_trial_batches(monkeypatch):
    import copylearn.complexity as complexity

    spec = parse_config(
        '[sweep]\ntask = "pauli-prediction"\nseed = 1\nstrategies = ["bell"]\n'
        "[grid]\nn = 1\ntrials = 8\ntarget = 0.6\nmax_copies = 200\n"
    ).points()[0]
    seed = point_seed(1, point_id(spec))
    plain = run_point(spec, seed, stream=1)  # a stream whose run needs a second stage
    monkeypatch.setattr(complexity, "_BATCH_ROWS", 64)  # a few trials per batch
    messages: list[str] = []
    batched = run_point(spec, seed, progress=messages.append, stream=1)
    assert any("trial batch 2/" in m for m in messages)
    assert any(", success " in m for m in messages) and not any("n=" in m for m in messages)
    assert batched["curve"]["copies"] == plain["curve"]["copies"]


# --------------------------------------------------------------------------- item 19


def test_summary_json_tags_point_and_fit_lines(tmp_path, capsys):
    out = make_store(tmp_path)
    assert main(["summary", str(out), "--json"]) == 0
    objects = [json.loads(t) for t in capsys.readouterr().out.splitlines()]
    kinds = [o["kind"] for o in objects]
    assert set(kinds) == {"point", "fit"} and kinds.count("point") == POINTS
    assert kinds == sorted(kinds, key=lambda k: k != "point")  # points first, then fits
    assert all("spec" in o for o in objects if o["kind"] == "point")
    assert all("base" in o and "spec" not in o for o in objects if o["kind"] == "fit")


# --------------------------------------------------------------------------- collect heartbeat


def test_heartbeat_lines_of_a_long_command():
    from copylearn.heartbeat import HEARTBEAT_EVERY, HEARTBEAT_FIRST, heartbeat_lines

    clock, stream, waits = Clock(), io.StringIO(), []

    def stop(timeout: float) -> bool:  # the command finishes during the third wait
        waits.append(timeout)
        clock.now += timeout
        return len(waits) == 3

    heartbeat_lines("collect 1000000 copies (bell, pauli:XYZ)", stream, stop, clock)
    assert waits == [HEARTBEAT_FIRST, HEARTBEAT_EVERY, HEARTBEAT_EVERY] == [5.0, 10.0, 10.0]
    assert stream.getvalue().splitlines() == [
        "copylearn: collect 1000000 copies (bell, pauli:XYZ): still running, 0:00:05 elapsed",
        "copylearn: collect 1000000 copies (bell, pauli:XYZ): still running, 0:00:15 elapsed",
    ]


def test_collect_command_says_it_is_still_running(tmp_path, monkeypatch):
    """The real command, with the first line due at once and the simulation waiting for it."""
    import copylearn.heartbeat as heartbeat
    from copylearn.collect import Collector

    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    monkeypatch.setattr(heartbeat, "HEARTBEAT_FIRST", 0.0)
    real = Collector.sample

    def slow_sample(self, *args, **kwargs):
        deadline = time.monotonic() + 30
        while "still running" not in stream.getvalue() and time.monotonic() < deadline:
            time.sleep(0.01)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Collector, "sample", slow_sample)
    argv = ["collect", "--state", "pauli:XZ", "--copies", "100", "--seed", "1"]
    assert main([*argv, "--out", str(tmp_path / "d.npz")]) == 0
    (line,) = stream.getvalue().splitlines()
    assert line == (
        "copylearn: collect 100 copies (bell, pauli:XZ:0.9:+1): still running, 0:00:00 elapsed"
    )


def test_refused_collect_prints_only_its_error_even_when_checks_are_slow(tmp_path, monkeypatch):
    """A heartbeat never precedes the error of a refused input (checks slower than its delay)."""
    import copylearn.heartbeat as heartbeat

    collect_module = importlib.import_module("copylearn.collect")  # not the collect() function
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    monkeypatch.setattr(heartbeat, "HEARTBEAT_FIRST", 0.0)
    real = collect_module._check_copies

    def slow_check(*args, **kwargs):  # as the checks are under load
        time.sleep(0.3)
        return real(*args, **kwargs)

    monkeypatch.setattr(collect_module, "_check_copies", slow_check)
    for copies in ("-4", "3"):
        stream.truncate(0)
        stream.seek(0)
        argv = ["collect", "--state", "pauli:XZ", "--copies", copies, "--seed", "1"]
        assert main([*argv, "--out", str(tmp_path / "d.npz")]) == 2
        (line,) = stream.getvalue().splitlines()
        assert line.startswith("copylearn: error: copies=")
    assert not (tmp_path / "d.npz").exists()
