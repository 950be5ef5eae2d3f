"""Bad input for store rows, summaries and plots (issue 9, slice ``rows``).

Every case is one ``copylearn: error:`` line with exit status 2 (or one ``CopylearnError``
through the API), no traceback, and nothing written: the store is byte-identical afterwards
and no figure directory appears.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from copylearn.cli import main
from copylearn.errors import CopylearnError
from copylearn.sweep import CONFIG_NAME, STORE_NAME, load_config, run_sweep

CONFIG = """\
[sweep]
task = "pauli-prediction"
seed = 2024
strategies = ["bell", "pauli-shadow"]

[grid]
n = [1, 2]
trials = 40
max_copies = 1000
"""


def runner(spec: dict, seed: np.random.SeedSequence, progress=None) -> dict:
    rng = np.random.default_rng(seed)
    n_star = float(rng.uniform(10, 100))
    return {"n_star": n_star, "n_star_ci": [n_star / 2, n_star * 2], "reached": True}


def kind_runner(spec: dict, seed: np.random.SeedSequence, progress=None) -> dict:
    return {**runner(spec, seed), "kind": "point"}


def seed_runner(spec: dict, seed: np.random.SeedSequence, progress=None) -> dict:
    return {**runner(spec, seed), "sweep_seed": 1}


def _store(tmp: Path, text: str = CONFIG, name: str = "s") -> Path:
    (tmp / f"{name}.toml").write_text(text)
    run_sweep(load_config(tmp / f"{name}.toml"), tmp / name, workers=0, point_runner=runner,
              progress=False)  # fmt: skip
    return tmp / name


def _rows(out: Path) -> list[dict]:
    return [json.loads(t) for t in (out / STORE_NAME).read_text().splitlines()]


def _write(out: Path, rows: list[dict]) -> None:
    (out / STORE_NAME).write_text("".join(json.dumps(r) + "\n" for r in rows))


def _edit(change: Callable[[list[dict], Path], list[dict]]) -> Callable[[Path], Path]:
    def build(tmp: Path) -> Path:
        out = _store(tmp)
        _write(out, change(_rows(out), tmp))
        return out

    return build


def _other_seed(rows: list[dict], tmp: Path) -> list[dict]:
    theirs = _rows(_store(tmp, CONFIG.replace("2024", "7"), "t"))
    return [theirs[0], *rows[1:]]


def _other_grid(rows: list[dict], tmp: Path) -> list[dict]:
    return [*rows, _rows(_store(tmp, CONFIG.replace("n = [1, 2]", "n = [3]"), "t"))[0]]


def _other_alpha(rows: list[dict], tmp: Path) -> list[dict]:
    return [*rows, _rows(_store(tmp, CONFIG + "alpha = 0.8\n", "t"))[0]]


def _old(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in ("format", "sweep_seed", "config_hash")}
            for r in rows]  # fmt: skip


def _no_config(build: Callable[[Path], Path]) -> Callable[[Path], Path]:
    def wrapped(tmp: Path) -> Path:
        out = build(tmp)
        (out / CONFIG_NAME).unlink()
        return out

    return wrapped


def _config_text(text: str | bytes) -> Callable[[Path], Path]:
    def build(tmp: Path) -> Path:
        out = _store(tmp)
        (out / CONFIG_NAME).write_bytes(text if isinstance(text, bytes) else text.encode())
        return out

    return build


def _store_is_a_directory(tmp: Path) -> Path:
    out = tmp / "s"
    (out / STORE_NAME).mkdir(parents=True)
    return out


def _store_is_a_file(tmp: Path) -> Path:
    _store(tmp)
    target = tmp / "file"
    target.write_text("not a store\n")
    return target


# (name, how to build the bad store, the part of the message that names the fault)
STORES = [
    ("other seed", _edit(_other_seed), "computed under sweep seed 7, not 2024"),
    ("other grid n", _edit(_other_grid), "not a point of"),
    ("other grid alpha", _edit(_other_alpha), "alpha=0.8"),
    (
        "edited spec",
        _edit(lambda rows, tmp: [{**rows[0], "spec": {**rows[0]["spec"], "trials": 21}}, *rows]),
        "does not hash to its id",
    ),
    (
        "two results for a point (old rows)",
        _edit(lambda rows, tmp: _old([*rows, {**rows[0], "n_star": 1.5}])),
        "a second, different result for the point of line 1",
    ),
    ("newer format", _edit(lambda rows, tmp: [{**rows[0], "format": 4}, *rows[1:]]), "format 4"),
    ("format not a number", _edit(lambda rows, tmp: [{**rows[0], "format": "2"}]), "format '2'"),
    (
        "stamped row without seed",
        _edit(lambda rows, tmp: [{k: v for k, v in rows[0].items() if k != "sweep_seed"}]),
        "sweep seed None",
    ),
    (
        "mixed seeds, no config",
        _no_config(_edit(lambda rows, tmp: [*rows, {**_other_seed(rows, tmp)[0], "id": "x"}])),
        "does not hash to its id",
    ),
    (
        "minority seed, no config",
        _no_config(_edit(_other_seed)),
        "sweep seed 7, not 2024 (the store's other rows",
    ),
    (
        "foreign row with its stamp removed",
        _edit(lambda rows, tmp: [*rows[1:], *_old(_other_seed(rows, tmp)[:1])]),
        "store format 1 among rows of format",
    ),
    ("spec not a table", _edit(lambda rows, tmp: [{**rows[0], "spec": [1]}]), "not a sweep result"),
    ("row a list", _edit(lambda rows, tmp: [[1, 2]]), "not a sweep result row"),  # type: ignore[list-item]
    ("config unreadable", _config_text("[sweep\n"), "config.toml is unreadable"),
    ("config not UTF-8", _config_text(b"[sweep]\nseed = 1 # \xff\n"), "config.toml is unreadable"),
    ("store is a directory", _store_is_a_directory, "is a directory, not a sweep store"),
    ("dir is a file", _store_is_a_file, "is a file: give the sweep's directory"),
]


def _snapshot(tmp: Path) -> dict[str, bytes]:
    return {str(p.relative_to(tmp)): p.read_bytes() for p in sorted(tmp.rglob("*")) if p.is_file()}


def _one_line(capsys) -> str:
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err
    assert err.startswith("copylearn: error: ") and err.count("\n") == 1, err
    return err


@pytest.mark.parametrize("command", ["summary", "summary --json", "plot"])
@pytest.mark.parametrize(("name", "build", "message"), STORES, ids=[s[0] for s in STORES])
def test_bad_stores_are_one_line_and_write_nothing(tmp_path, capsys, name, build, message, command):
    out = build(tmp_path)
    before = _snapshot(tmp_path)
    argv = [*command.split(), str(out)]
    if command == "plot":
        argv += ["--out", str(tmp_path / "figs")]
    assert main(argv) == 2
    assert message in _one_line(capsys)
    assert _snapshot(tmp_path) == before and not (tmp_path / "figs").exists()


RESUMES = [s for s in STORES if s[0] != "dir is a file"]


@pytest.mark.parametrize(("name", "build", "message"), RESUMES, ids=[s[0] for s in RESUMES])
def test_resume_refuses_bad_stores_before_any_work(tmp_path, capsys, name, build, message):
    out = build(tmp_path)
    if not (out / CONFIG_NAME).exists():
        message = "no config.toml"  # stores without a config are never resumed
    (tmp_path / "run.toml").write_text(CONFIG)
    before = _snapshot(tmp_path)
    argv = ["sweep", str(tmp_path / "run.toml"), "--out", str(out), "--workers", "0"]
    assert main(argv) == 2
    err = _one_line(capsys)
    assert message in err or (name.startswith("config") and "is unreadable" in err)
    assert _snapshot(tmp_path) == before


@pytest.mark.parametrize(
    ("point_runner", "message"),
    [(kind_runner, "reserved keys ['kind']"), (seed_runner, "reserved keys ['sweep_seed']")],
)
def test_runner_results_cannot_forge_row_fields(tmp_path, point_runner, message):
    (tmp_path / "c.toml").write_text(CONFIG)
    with pytest.raises(CopylearnError, match=message.replace("[", r"\[").replace("]", r"\]")):
        run_sweep(load_config(tmp_path / "c.toml"), tmp_path / "o", workers=0,
                  point_runner=point_runner, progress=False)  # fmt: skip
    assert (tmp_path / "o" / STORE_NAME).read_bytes() == b""


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["summary"], "the following arguments are required: DIR"),
        (["summary", "{tmp}/none", "--json", "--bogus"], "unrecognized arguments: --bogus"),
        (["summary", "{tmp}/none"], "holds no sweep results"),
    ],
)
def test_bad_summary_arguments(tmp_path, capsys, argv, message):
    assert main([a.format(tmp=tmp_path) for a in argv]) == 2
    assert message in _one_line(capsys)
    assert not (tmp_path / "none").exists()
