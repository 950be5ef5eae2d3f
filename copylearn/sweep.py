"""Resumable parameter sweeps: TOML configs, grid points, executors and the result store.

A sweep config (TOML) names the task, the strategies, a grid of parameters and a seed::

    [sweep]
    task = "pauli-prediction"
    seed = 2024
    strategies = ["bell", "pauli-shadow"]
    [grid]                      # every value a scalar or a list (a list is an axis)
    n = [1, 2, 4, 8]
    alpha = 0.9
    [strategy.pauli-shadow]     # optional per-strategy overrides of grid axes
    n = [1, 2, 3]

The grid expands to *points*: canonical specs with every key filled in (:data:`SPEC_KEYS`),
except the :data:`OPTIONAL_KEYS` while they hold their defaults.
A point's id is the first 16 hex characters of the SHA-256 of its spec as JSON with sorted
keys, and its seed is ``SeedSequence([sweep seed, *two 32-bit words of the id])``, so a point's
result does not depend on the order points run in, the number of workers or the executor.

Finished points are appended, one JSON line each, to ``DIR/results.jsonl`` (a single
``os.write`` on an ``O_APPEND`` descriptor, then ``fsync``), and ``DIR/config.toml`` keeps a
copy of the config. A killed sweep, rerun with the same command, skips the points already
in the store; a trailing partial line (a kill mid-write) is discarded. Only one sweep may
write to a directory at a time (an ``flock`` on ``DIR/.lock``).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import fcntl
import hashlib
import importlib.metadata
import itertools
import json
import os
import re
import sys
import time
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from copylearn.atomic import atomic_path
from copylearn.errors import CopylearnError
from copylearn.noise import parse_noise
from copylearn.protocols import PROTOCOL_NAMES
from copylearn.tasks import TASK_NAMES
from copylearn.tasks.pauli_prediction import WEIGHTS

TASKS = TASK_NAMES
STRATEGIES = PROTOCOL_NAMES

#: Grid keys in canonical order, with their defaults (``n`` has none: the config must give it).
GRID_DEFAULTS: dict[str, Any] = {
    "n": None,
    "alpha": 0.9,
    "weight": "full",
    "queries": 100,
    "noise": "none",
    "target": 0.9,
    "trials": 400,
    "max_copies": 10_000_000,
    "device": "none",
    "noise_scale": 1.0,
    "calibration_copies": 0,
}
#: The keys of a point spec.
SPEC_KEYS = ("task", "strategy", *GRID_DEFAULTS)
#: Keys left out of a point's spec (and so of its id) while they hold their default, so that
#: stores written before the key existed keep their ids.
OPTIONAL_KEYS = ("device", "noise_scale", "calibration_copies")

STORE_NAME = "results.jsonl"
CONFIG_NAME = "config.toml"
LOCK_NAME = ".lock"
VERSION_PACKAGES = ("copylearn", "cirq-core", "qsimcirq", "numpy")

PointRunner = Callable[..., dict]

_SECTIONS = ("sweep", "grid", "strategy")
_SWEEP_KEYS = ("task", "seed", "strategies")
_RESERVED_ROW_KEYS = ("id", "spec", "seconds", "versions")


# --------------------------------------------------------------------------- config


@dataclass(frozen=True)
class Config:
    """A validated sweep config.

    Attributes
    ----------
    task : str
        The learning task (one of :data:`TASKS`).
    seed : int
        The sweep seed; every point's seed derives from it and the point's id.
    strategies : tuple of str
        The strategies to run, in the order given.
    grid : dict of str to tuple
        Canonical values of every grid axis (a scalar is an axis of length 1), defaults filled in.
    overrides : dict of str to dict of str to tuple
        Per-strategy replacements of grid axes (``[strategy.NAME]`` sections).
    text : str
        The TOML source, copied to ``DIR/config.toml`` by :func:`run_sweep`.
    source : str
        Where the text came from (a path, for messages).
    """

    task: str
    seed: int
    strategies: tuple[str, ...]
    grid: dict[str, tuple]
    overrides: dict[str, dict[str, tuple]] = field(default_factory=dict)
    text: str = ""
    source: str = "<config>"

    def axes(self, strategy: str) -> dict[str, tuple]:
        """The grid axes of one strategy: the grid with that strategy's overrides applied."""
        return {**self.grid, **self.overrides.get(strategy, {})}

    def points(self) -> list[dict]:
        """Every grid point as a canonical spec, strategies in config order, axes in key order."""
        specs = []
        for strategy in self.strategies:
            axes = self.axes(strategy)
            keys = list(GRID_DEFAULTS)
            for values in itertools.product(*(axes[k] for k in keys)):
                spec = {
                    "task": self.task,
                    "strategy": strategy,
                    **dict(zip(keys, values, strict=True)),
                }
                for key in OPTIONAL_KEYS:
                    if spec[key] == GRID_DEFAULTS[key]:
                        del spec[key]
                specs.append({k: spec[k] for k in sorted(spec)})
        return specs


def spec_value(spec: Mapping[str, Any], key: str) -> Any:
    """``spec[key]``, or the default of an optional key the spec leaves out."""
    return spec[key] if key in spec else GRID_DEFAULTS[key]


def load_config(path: str | os.PathLike) -> Config:
    """Read and validate a sweep config (TOML).

    Parameters
    ----------
    path : str or path-like
        The config file.

    Returns
    -------
    Config
        The validated config, with defaults filled in.

    Raises
    ------
    CopylearnError
        The file is missing, is not TOML, or anything in it is malformed; the message names
        the key and the fix.
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")  # a byte-order mark is accepted
    except FileNotFoundError:
        raise CopylearnError(f"config {str(path)!r} does not exist: give a TOML file.") from None
    except IsADirectoryError:
        raise CopylearnError(f"config {str(path)!r} is a directory: give a TOML file.") from None
    except UnicodeDecodeError:
        raise CopylearnError(f"config {str(path)!r} is not UTF-8 text: give a TOML file.") from None
    return parse_config(text, source=str(path))


def parse_config(text: str, source: str = "<config>") -> Config:
    """Validate a sweep config given as TOML text (see :func:`load_config`).

    Parameters
    ----------
    text : str
        The TOML source.
    source : str
        A name for messages (usually the file path).

    Returns
    -------
    Config
        The validated config.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CopylearnError(f"{source}: not valid TOML ({exc}); fix the syntax.") from None

    def fail(key: str, message: str) -> CopylearnError:
        return CopylearnError(f"{source}: {key}: {message}")

    for section in data:
        if section not in _SECTIONS:
            raise fail(
                section,
                f"unknown section or key at the top level: use only "
                f"{', '.join(f'[{s}]' for s in _SECTIONS)} (see the sweep config format).",
            )
    for section in ("sweep", "grid"):
        if section not in data:
            raise fail(section, f"the config needs a [{section}] section.")
        if not isinstance(data[section], dict):
            raise fail(section, f"must be a table: write it as a [{section}] section.")

    sweep = data["sweep"]
    for key in sweep:
        if key not in _SWEEP_KEYS:
            raise fail(f"sweep.{key}", f"unknown key: [sweep] takes only {', '.join(_SWEEP_KEYS)}.")
    for key in _SWEEP_KEYS:
        if key not in sweep:
            example = {"task": f'"{TASKS[0]}"', "seed": "2024", "strategies": '["bell"]'}[key]
            raise fail(f"sweep.{key}", f"missing: add e.g. {key} = {example} to [sweep].")

    task = sweep["task"]
    if not isinstance(task, str) or task not in TASKS:
        raise fail("sweep.task", f"{task!r} is not a known task: use one of {', '.join(TASKS)}.")
    seed = sweep["seed"]
    if not _is_int(seed) or seed < 0:
        raise fail("sweep.seed", f"{seed!r} is not an integer >= 0: write e.g. seed = 2024.")
    strategies = sweep["strategies"]
    if not isinstance(strategies, list) or not strategies:
        raise fail(
            "sweep.strategies",
            f"{strategies!r} is not a non-empty list: write e.g. strategies = "
            '["bell", "pauli-shadow"].',
        )
    for s in strategies:
        if not isinstance(s, str) or s not in STRATEGIES:
            raise fail(
                "sweep.strategies", f"{s!r} is not a known strategy: use {', '.join(STRATEGIES)}."
            )
    if len(set(strategies)) != len(strategies):
        raise fail("sweep.strategies", "lists a strategy twice: give each once.")

    grid_table = data["grid"]
    if "n" not in grid_table:
        raise fail("grid.n", "missing: give the qubit counts, e.g. n = [1, 2, 4, 8].")
    grid: dict[str, tuple] = {}
    for key in grid_table:
        if key not in GRID_DEFAULTS:
            raise fail(f"grid.{key}", f"unknown key: [grid] takes {', '.join(GRID_DEFAULTS)}.")
    for key, default in GRID_DEFAULTS.items():
        value = grid_table.get(key, default)
        grid[key] = _axis(f"grid.{key}", key, value, fail)

    overrides: dict[str, dict[str, tuple]] = {}
    strategy_table = data.get("strategy", {})
    if not isinstance(strategy_table, dict):
        raise fail("strategy", "must hold tables: write e.g. [strategy.pauli-shadow] sections.")
    for name, table in strategy_table.items():
        where = f"strategy.{name}"
        if name not in strategies:
            raise fail(
                where,
                f"overrides a strategy not in sweep.strategies ({', '.join(strategies)}): "
                "add it there or remove the section.",
            )
        if not isinstance(table, dict):
            raise fail(where, f"must be a table: write it as a [{where}] section.")
        overrides[name] = {}
        for key, value in table.items():
            if key not in GRID_DEFAULTS:
                raise fail(
                    f"{where}.{key}",
                    f"unknown key: a strategy section overrides grid keys "
                    f"({', '.join(GRID_DEFAULTS)}).",
                )
            overrides[name][key] = _axis(f"{where}.{key}", key, value, fail)

    config = Config(
        task=task,
        seed=int(seed),
        strategies=tuple(strategies),
        grid=grid,
        overrides=overrides,
        text=text,
        source=source,
    )
    _check_task(config, fail)
    return config


def _check_task(config: Config, fail: Callable[[str, str], Exception]) -> None:
    """Let the task reject points it cannot run (``check_spec``), before any work starts."""
    try:
        from copylearn.tasks import get_task
    except ModuleNotFoundError:  # pragma: no cover - the tasks package is part of copylearn
        return
    check = getattr(get_task(config.task), "check_spec", None)
    if check is None:
        return
    for spec in config.points():
        if spec_value(spec, "device") != "none" and spec["noise"] != "none":
            raise fail(
                "grid.device",
                f"{spec['strategy']} at n = {spec['n']}: device {spec['device']!r} brings its "
                f"calibrated noise, so noise must be 'none' there (got {spec['noise']!r}): "
                "sweep noise and device in separate configs or strategy sections.",
            )
        if spec_value(spec, "device") == "none" and spec_value(spec, "noise_scale") != 1.0:
            raise fail(
                "grid.noise_scale",
                f"{spec['strategy']} at n = {spec['n']}: noise_scale multiplies a device's "
                "calibrated errors; set device too (or scale the noise spec's probabilities).",
            )
        try:
            check(dict(spec))
        except CopylearnError as exc:
            message = str(exc)
            key = next((k for k in GRID_DEFAULTS if re.search(rf"\b{k}\b", message)), None)
            strategy = spec["strategy"]
            section = (
                f"strategy.{strategy}" if key in config.overrides.get(strategy, {}) else "grid"
            )
            where = f"{section}.{key}" if key else section
            raise fail(where, f"{strategy} at n = {spec['n']}: {message}") from None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _axis(where: str, key: str, value: object, fail: Callable[[str, str], Exception]) -> tuple:
    """Validate one grid value (scalar or list) and return its canonical values as a tuple."""
    if isinstance(value, dict):
        raise fail(where, f"must be a value or a list of values, not a table: e.g. {key} = [...].")
    values = value if isinstance(value, list) else [value]
    if not values:
        raise fail(where, "is an empty list, so the grid is empty: give at least one value.")
    canonical = [_value(where, key, v, fail) for v in values]
    seen: set = set()
    for original, v in zip(values, canonical, strict=True):
        if v in seen:
            raise fail(where, f"lists {original!r} twice (as {v!r}): give each value once.")
        seen.add(v)
    return tuple(canonical)


def _value(where: str, key: str, v: object, fail: Callable[[str, str], Exception]) -> object:
    """Validate and canonicalise one value of grid key ``key``."""
    if isinstance(v, list | dict):
        raise fail(where, f"{v!r}: a list holds values only (no nested lists or tables).")
    if key == "n":
        if not _is_int(v) or v < 1:
            raise fail(where, f"{v!r} is not a qubit count: use integers >= 1, e.g. n = [1, 2, 4].")
        return int(v)
    if key == "alpha":
        if not _is_number(v) or not 0.0 < float(v) <= 1.0:
            raise fail(where, f"{v!r} is not a number in (0, 1]: use e.g. alpha = 0.9.")
        return float(v)
    if key == "target":
        if not _is_number(v) or not 0.0 < float(v) < 1.0:
            raise fail(where, f"{v!r} is not a success probability in (0, 1): use e.g. 0.9.")
        return float(v)
    if key == "weight":
        if v not in WEIGHTS:
            raise fail(
                where, f"{v!r} is not a weight policy: use {' or '.join(map(repr, WEIGHTS))}."
            )
        return v
    if key == "queries":
        if v == "all" or (_is_int(v) and v >= 1):
            return v
        raise fail(where, f"{v!r} is not an integer >= 1 or 'all': use e.g. queries = 100.")
    if key == "noise":
        if not isinstance(v, str):
            raise fail(where, f"{v!r} is not a noise spec string: use e.g. 'depolarizing:0.01'.")
        try:
            model = parse_noise(v)
        except CopylearnError as exc:
            raise fail(where, str(exc)) from None
        return "none" if model is None else model.spec()
    if key == "trials":
        if not _is_int(v) or v < 1:
            raise fail(where, f"{v!r} is not an integer >= 1: use e.g. trials = 400.")
        return int(v)
    if key == "max_copies":
        if not _is_int(v) or v < 2:
            raise fail(where, f"{v!r} is not an integer >= 2: use e.g. max_copies = 10_000_000.")
        return int(v)
    if key == "device":
        from copylearn.devices import DEVICE_NAMES

        if v != "none" and v not in DEVICE_NAMES:
            raise fail(
                where, f"{v!r} is not a device: use 'none' or one of {', '.join(DEVICE_NAMES)}."
            )
        return v
    if key == "noise_scale":
        if not _is_number(v) or not 0.0 < float(v) < float("inf"):
            raise fail(
                where, f"{v!r} is not a positive number: use e.g. noise_scale = [0.5, 1, 2]."
            )
        return float(v)
    if key == "calibration_copies":
        if not _is_int(v) or v < 0 or v % 2 or v == 2:
            raise fail(
                where,
                f"{v!r} is not 0 or an even integer >= 4 (a Bell experiment consumes two "
                "copies): use 0 (raw estimates) or e.g. calibration_copies = 20000 (copies per "
                "calibration state).",
            )
        return int(v)
    raise AssertionError(key)  # pragma: no cover


# --------------------------------------------------------------------------- points


def point_id(spec: Mapping[str, Any]) -> str:
    """The id of a point: first 16 hex chars of SHA-256 of its spec as JSON with sorted keys."""
    text = json.dumps(dict(spec), sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def point_seed(sweep_seed: int, pid: str) -> np.random.SeedSequence:
    """The seed of the point with id ``pid``: keyed by the id, never by the point's position."""
    words = [int(pid[i : i + 8], 16) for i in range(0, len(pid), 8)]
    return np.random.SeedSequence([int(sweep_seed), *words])


def sort_key(spec: Mapping[str, Any]) -> tuple:
    """Deterministic order of points: strategy, n, then the other spec keys by name."""

    def rank(value: object) -> tuple:
        return (1, value) if isinstance(value, str) else (0, value)

    rest = tuple(rank(spec_value(spec, k)) for k in sorted(SPEC_KEYS) if k not in ("strategy", "n"))
    return (spec["strategy"], spec["n"], *rest)


def _schedule_key(spec: Mapping[str, Any]) -> tuple:
    """Largest points first: Pauli shadows (cost ~3^n), then descending n."""
    return (spec["strategy"] != "pauli-shadow", -spec["n"], point_id(spec))


def package_versions() -> dict[str, str | None]:
    """Installed versions of copylearn and its main dependencies (``None`` if absent)."""
    versions: dict[str, str | None] = {}
    for name in VERSION_PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


# --------------------------------------------------------------------------- store


def _read_rows(path: Path) -> tuple[list[dict], int]:
    """Rows of a store (first row per id) and the byte length of its complete lines."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return [], 0
    end = data.rfind(b"\n") + 1  # a trailing partial line (a kill mid-write) is ignored
    rows: list[dict] = []
    seen: set[str] = set()
    for number, line in enumerate(data[:end].split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise CopylearnError(
                f"{path}: line {number} is not a JSON row: the store is corrupt; delete that "
                "line (its point will be recomputed) and rerun."
            ) from None
        if not isinstance(row, dict) or not isinstance(row.get("id"), str) or "spec" not in row:
            raise CopylearnError(
                f"{path}: line {number} is not a sweep result row: delete that line and rerun."
            )
        if row["id"] not in seen:
            seen.add(row["id"])
            rows.append(row)
    return rows, end


def summary_rows(out_dir: str | os.PathLike) -> list[dict]:
    """Load the finished points of a sweep store, in :func:`sort_key` order.

    Parameters
    ----------
    out_dir : str or path-like
        A directory written by :func:`run_sweep`.

    Returns
    -------
    list of dict
        One row per finished point (id, spec, the point runner's output, seconds, versions).
    """
    out = Path(out_dir)
    if not (out / STORE_NAME).is_file():
        raise CopylearnError(
            f"{str(out)!r} holds no sweep results ({STORE_NAME}): run "
            f"'copylearn sweep CONFIG --out {out}' first."
        )
    rows, _ = _read_rows(out / STORE_NAME)
    return sorted(rows, key=lambda row: sort_key(row["spec"]))


def _check_store(config: Config, out: Path) -> bool:
    """Refuse an out dir that holds a different sweep (without writing anything).

    A config with the same seed whose points include every stored point *extends* the sweep
    (e.g. a further n or noise value): allowed, and the return value is True, so the store's
    config is replaced by the larger one (the previous one is kept as ``config.K.toml``). The
    points already run keep their ids and seeds.
    """
    if out.exists() and not out.is_dir():
        raise CopylearnError(f"--out {str(out)!r} is a file: choose a directory.")
    stored = out / CONFIG_NAME
    if not stored.is_file():
        if (out / STORE_NAME).exists():
            raise CopylearnError(
                f"{str(out)!r} has {STORE_NAME} but no {CONFIG_NAME}: it is not a sweep this "
                "version wrote; choose another --out."
            )
        return False
    try:
        previous = load_config(stored)
    except CopylearnError as exc:
        raise CopylearnError(
            f"{str(out)!r} holds a sweep whose {CONFIG_NAME} is unreadable ({exc}); "
            "choose another --out."
        ) from None
    old = set(map(point_id, previous.points()))
    new = set(map(point_id, config.points()))
    if previous.seed != config.seed or not old <= new:
        what = "seed" if previous.seed != config.seed else "grid"
        raise CopylearnError(
            f"{str(out)!r} holds a sweep with a different {what} (see {stored}): resuming would "
            "mix two sweeps; choose another --out, rerun with the stored config, or extend it "
            "(same seed, every stored point kept)."
        )
    return new != old


class _Store:
    """The append-only JSON-lines store of one sweep directory (single writer, flock'ed)."""

    def __init__(self, out: Path, config: Config, extended: bool = False):
        out.mkdir(parents=True, exist_ok=True)
        self.out = out
        self.path = out / STORE_NAME
        self._lock = os.open(out / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self._lock)
            raise CopylearnError(
                f"another sweep is writing to {str(out)!r}: wait for it or choose another --out."
            ) from None
        try:
            config_path = out / CONFIG_NAME
            if extended:  # keep the config the stored points were run with
                k = 1 + sum(1 for _ in out.glob("config.*.toml"))
                _atomic_write(out / f"config.{k}.toml", config_path.read_bytes())
            if extended or not config_path.exists():
                _atomic_write(config_path, config.text.encode("utf-8"))
            self.rows, end = _read_rows(self.path)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            if os.fstat(self._fd).st_size > end:
                os.truncate(self.path, end)  # drop a partial last line before appending
                os.fsync(self._fd)
            _fsync_dir(out)
        except BaseException:
            os.close(self._lock)
            raise

    def append(self, row: dict) -> None:
        try:
            text = json.dumps(row, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise CopylearnError(
                f"point {row.get('id')}: the point runner returned a value that is not finite "
                f"JSON ({exc}); fix the runner."
            ) from None
        line = (text + "\n").encode("utf-8")
        written = os.write(self._fd, line)
        if written != len(line):  # pragma: no cover - disk full; the partial line is dropped later
            raise OSError(f"short write to {self.path}: {written} of {len(line)} bytes")
        os.fsync(self._fd)
        self.rows.append(row)

    def close(self) -> None:
        os.close(self._fd)
        os.close(self._lock)


def _atomic_write(path: Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- execution


def _execute(runner: PointRunner, spec: dict, sweep_seed: int, pid: str) -> tuple[str, dict, float]:
    """Run one point (in whatever process the executor chose); returns (id, result, seconds)."""
    start = time.perf_counter()
    try:
        result = runner(dict(spec), point_seed(sweep_seed, pid))
    except CopylearnError as exc:
        raise CopylearnError(
            f"point {pid} ({spec['strategy']}, n={spec['n']}) failed: {exc}"
        ) from None
    except Exception as exc:
        exc.add_note(f"copylearn: while running sweep point {pid}: {json.dumps(spec)}")
        raise
    return pid, result, time.perf_counter() - start


def _make_row(pid: str, spec: dict, result: object, seconds: float, versions: dict) -> dict:
    if not isinstance(result, dict):
        raise CopylearnError(
            f"point {pid}: the point runner returned {type(result).__name__}, not a dict."
        )
    clash = [k for k in _RESERVED_ROW_KEYS if k in result]
    if clash:
        raise CopylearnError(
            f"point {pid}: the point runner's result uses reserved keys {clash}: rename them."
        )
    return {"id": pid, "spec": spec, **result, "seconds": round(seconds, 4), "versions": versions}


def _fmt_copies(value: object) -> str:
    if value is None:
        return "-"
    value = float(value)
    return f"{value:.0f}" if value < 1e5 else f"{value:.3g}"


def _fmt_ci(ci: object) -> str:
    if not ci:
        return "-"
    lo, hi = ci
    return f"[{_fmt_copies(lo)}, {_fmt_copies(hi)}]"


def point_summary(row: Mapping[str, Any], keys: Sequence[str] = ()) -> str:
    """One line about a finished point: strategy, n, N* with its CI, experiments, seconds.

    Parameters
    ----------
    row : mapping
        A result row.
    keys : sequence of str
        Further spec keys to show (e.g. the ones that vary across the sweep).
    """
    spec = row["spec"]
    extra = "".join(f" {k}={spec_value(spec, k)}" for k in keys if k not in ("strategy", "n"))
    label = f"{spec['strategy']} n={spec['n']}{extra}"
    if row.get("n_star") is None:
        text = f"N* > {_fmt_copies(spec.get('max_copies'))} copies (not reached)"
    else:
        text = (
            f"N* = {_fmt_copies(row['n_star'])} copies {_fmt_ci(row.get('n_star_ci'))}"
            f" ({_fmt_copies(row.get('experiments_star'))} experiments)"
        )
    return f"{label}: {text}, {row.get('seconds', 0.0):.1f} s"


def varying_keys(specs: Sequence[Mapping[str, Any]]) -> list[str]:
    """The spec keys (besides strategy and n) that take more than one value among ``specs``."""
    keys = []
    for key in SPEC_KEYS:
        if key in ("strategy", "n"):
            continue
        if len({json.dumps(spec_value(s, key)) for s in specs}) > 1:
            keys.append(key)
    return keys


def _clock(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class _Progress:
    """A progress bar with ETA on a stream (``\\r``-updated on a TTY, else a line per point)."""

    def __init__(
        self, total: int, resumed: int, keys: Sequence[str], enabled: bool, stream: TextIO
    ):
        self.total, self.resumed, self.keys = total, resumed, list(keys)
        self.done = 0
        self.enabled = enabled
        self.stream = stream
        self.tty = enabled and hasattr(stream, "isatty") and stream.isatty()
        self.start = time.monotonic()
        self._width = 0

    def _bar(self) -> str:
        finished = self.resumed + self.done
        width = 24
        filled = int(width * finished / self.total) if self.total else width
        elapsed = time.monotonic() - self.start
        remaining = self.total - finished
        if remaining == 0:
            eta = "0:00:00"
        elif self.done:
            eta = _clock(elapsed / self.done * remaining)
        else:
            eta = "?"
        resumed = f" ({self.resumed} resumed)" if self.resumed else ""
        return (
            f"sweep [{'#' * filled}{'.' * (width - filled)}] {finished}/{self.total} points"
            f"{resumed}, elapsed {_clock(elapsed)}, ETA {eta}"
        )

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()

    def begin(self) -> None:
        if self.tty:
            self.refresh()
        elif self.enabled:
            self._write(self._bar() + "\n")

    def refresh(self) -> None:
        if self.tty:
            bar = self._bar()
            self._write("\r" + bar.ljust(self._width))
            self._width = len(bar)

    def point(self, row: Mapping[str, Any]) -> None:
        self.done += 1
        if not self.enabled:
            return
        line = point_summary(row, self.keys)
        if self.tty:
            self._write("\r" + line.ljust(self._width) + "\n")
            self._width = 0
            self.refresh()
        else:
            finished = self.resumed + self.done
            self._write(f"[{finished}/{self.total}] {line} | {self._bar()}\n")

    def end(self) -> None:
        if self.tty:
            self.refresh()
            self._write("\n")


def _in_process(
    runner: PointRunner, jobs: list[tuple[str, dict]], seed: int, tick: Callable[[], None]
) -> Iterator[tuple[str, dict, float]]:
    for pid, spec in jobs:
        yield _execute(runner, spec, seed, pid)


def _with_pool(
    runner: PointRunner,
    jobs: list[tuple[str, dict]],
    seed: int,
    workers: int,
    tick: Callable[[], None],
) -> Iterator[tuple[str, dict, float]]:
    with concurrent.futures.ProcessPoolExecutor(max_workers=min(workers, len(jobs))) as pool:
        pending = {pool.submit(_execute, runner, spec, seed, pid): pid for pid, spec in jobs}
        try:
            while pending:
                done, _ = concurrent.futures.wait(
                    pending, timeout=1.0, return_when=concurrent.futures.FIRST_COMPLETED
                )
                tick()
                for future in sorted(done, key=pending.__getitem__):
                    del pending[future]
                    yield future.result()
        finally:
            for future in pending:
                future.cancel()
            pool.shutdown(wait=True, cancel_futures=True)


def _import_distributed():
    try:
        import distributed
    except ImportError:
        raise CopylearnError(
            "the Dask executor needs the optional extra: pip install 'copylearn[distributed]' "
            "(or run without --dask)."
        ) from None
    return distributed


def _with_dask(
    runner: PointRunner,
    jobs: list[tuple[str, dict]],
    seed: int,
    address: str,
    workers: int | None,
    tick: Callable[[], None],
) -> Iterator[tuple[str, dict, float]]:
    distributed = _import_distributed()
    with contextlib.ExitStack() as stack:
        if address == "local":
            cluster = stack.enter_context(
                distributed.LocalCluster(
                    n_workers=min(workers or os.cpu_count() or 1, len(jobs)),
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                )
            )
            client = stack.enter_context(distributed.Client(cluster))
        else:
            try:
                client = stack.enter_context(distributed.Client(address, timeout="20s"))
            except (OSError, TimeoutError) as exc:
                raise CopylearnError(
                    f"cannot reach the Dask scheduler at {address!r} ({exc}): start one "
                    "('dask scheduler') or use --dask local."
                ) from None
        futures = [  # larger priority runs first: keep the largest-first schedule
            client.submit(
                _execute,
                runner,
                spec,
                seed,
                pid,
                key=f"copylearn-{pid}",
                pure=False,
                priority=len(jobs) - index,
            )
            for index, (pid, spec) in enumerate(jobs)
        ]
        try:
            for future in distributed.as_completed(futures):
                tick()
                yield future.result()
        finally:
            client.cancel([f for f in futures if not f.done()])


def run_sweep(
    config: Config,
    out_dir: str | os.PathLike,
    workers: int | None = None,
    dask: str | None = None,
    point_runner: PointRunner | None = None,
    progress: bool = True,
) -> list[dict]:
    """Run (or resume) a sweep, appending one row per finished point to ``DIR/results.jsonl``.

    Parameters
    ----------
    config : Config
        From :func:`load_config`.
    out_dir : str or path-like
        The store directory; created if missing. Points already in its store are skipped.
        A directory holding a sweep with a different grid or seed is refused.
    workers : int, optional
        ``0``: run in this process. ``K >= 1``: a process pool of K workers. ``None``
        (default): a process pool with ``os.cpu_count()`` workers. With ``dask="local"``,
        the number of Dask workers.
    dask : str, optional
        ``"local"`` for a ``distributed.LocalCluster``, or a Dask scheduler address
        (needs ``pip install 'copylearn[distributed]'``).
    point_runner : callable, optional
        ``runner(spec, seed, progress)`` returning a JSON-serialisable dict; default
        :func:`copylearn.complexity.run_point`. It must be picklable (a module-level
        function) for the pool and Dask executors.
    progress : bool
        Print a progress bar with ETA and one line per finished point on stderr.

    Returns
    -------
    list of dict
        Every point's row, in :func:`sort_key` order.
    """
    if workers is not None and (not _is_int(workers) or workers < 0):
        raise CopylearnError(f"workers={workers!r}: use an integer >= 0 (0 runs in-process).")
    if dask is not None:
        if not isinstance(dask, str) or not dask:
            raise CopylearnError(f"dask={dask!r}: use 'local' or a scheduler address.")
        _import_distributed()
    out = Path(out_dir)
    extended = _check_store(config, out)
    if point_runner is None:
        from copylearn.complexity import run_point

        point_runner = run_point
    specs = {point_id(spec): spec for spec in config.points()}
    store = _Store(out, config, extended)
    try:
        finished = {row["id"] for row in store.rows}
        jobs = [
            (pid, spec)
            for pid, spec in sorted(specs.items(), key=lambda item: _schedule_key(item[1]))
            if pid not in finished
        ]
        bar = _Progress(
            total=len(specs),
            resumed=len(specs) - len(jobs),
            keys=varying_keys(list(specs.values())),
            enabled=progress,
            stream=sys.stderr,
        )
        bar.begin()
        if jobs:
            versions = package_versions()
            if dask is not None:
                results = _with_dask(point_runner, jobs, config.seed, dask, workers, bar.refresh)
            elif workers == 0:
                results = _in_process(point_runner, jobs, config.seed, bar.refresh)
            else:
                count = workers if workers is not None else (os.cpu_count() or 1)
                results = _with_pool(point_runner, jobs, config.seed, count, bar.refresh)
            with contextlib.closing(results):
                for pid, result, seconds in results:
                    row = _make_row(pid, specs[pid], result, seconds, versions)
                    store.append(row)
                    bar.point(row)
        bar.end()
        rows = [row for row in store.rows if row["id"] in specs]
    finally:
        store.close()
    return sorted(rows, key=lambda row: sort_key(row["spec"]))
