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

The grid keys are ``n``, the task's own parameters (declared by the task,
:mod:`copylearn.tasks`) and the generic keys of :data:`GENERIC_DEFAULTS`; the grid expands
to *points*: canonical specs with every key filled in (:func:`spec_keys`), except the
:data:`OPTIONAL_KEYS` while they hold their defaults.
A point's id is the first 16 hex characters of the SHA-256 of its spec as JSON with sorted
keys, and its seed is ``SeedSequence([sweep seed, *two 32-bit words of the id])``, so a point's
result does not depend on the order points run in, the number of workers or the executor.

Finished points are appended, one JSON line each, to ``DIR/results.jsonl`` (a single
``os.write`` on an ``O_APPEND`` descriptor, then ``fsync``), and ``DIR/config.toml`` keeps a
copy of the config. A killed sweep, rerun with the same command, skips the points already
in the store; a trailing partial line (a kill mid-write) is discarded. Only one sweep may
write to a directory at a time (an ``flock`` on ``DIR/.lock``, held by the sweep's own process
only: pool workers close their copy and die with it). A sweep with nothing left to run reads
the store without taking the lock.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import ctypes
import errno
import fcntl
import functools
import hashlib
import importlib.metadata
import importlib.util
import inspect
import itertools
import json
import logging
import math
import multiprocessing
import os
import signal
import sys
import threading
import time
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from copylearn.atomic import atomic_path
from copylearn.backends.limits import available_memory
from copylearn.errors import CopylearnError
from copylearn.noise import parse_noise
from copylearn.protocols import get_protocol, protocol_names, unit_noun
from copylearn.records import STORE_FORMAT, PointRecord, PointSpec, spec_id
from copylearn.streams import DEFAULT_STREAM, LEGACY_STREAM, check_stream
from copylearn.tasks import get_task, task_names

#: Grid keys every task shares, in canonical order, with their defaults (``n`` has none: the
#: config must give it). A task's own parameters come after ``n`` (:func:`grid_defaults`).
GENERIC_DEFAULTS: dict[str, Any] = {
    "n": None,
    "noise": "none",
    "target": 0.9,
    "trials": 400,
    "max_copies": 10_000_000,
    "device": "none",
    "noise_scale": 1.0,
    "calibration_copies": 0,
    "backend": "qsim",
}
#: Keys left out of a point's spec (and so of its id) while they hold their default, so that
#: stores written before the key existed keep their ids.
OPTIONAL_KEYS = ("device", "noise_scale", "calibration_copies", "backend")

STORE_NAME = "results.jsonl"
CONFIG_NAME = "config.toml"
#: Beside the store's config: where each of its plug-ins was imported from (absolute).
PLUGINS_NAME = "plugins.json"
LOCK_NAME = ".lock"
VERSION_PACKAGES = ("copylearn", "cirq-core", "qsimcirq", "numpy")

PointRunner = Callable[..., dict]

_SECTIONS = ("sweep", "grid", "strategy")
_SWEEP_KEYS = ("task", "seed", "strategies")
#: Optional [sweep] keys.
_SWEEP_OPTIONAL = ("plugins", "stream")
_RESERVED_ROW_KEYS = (
    "id",
    "spec",
    "seconds",
    "versions",
    "format",
    "sweep_seed",
    "config_hash",
    "copylearn",
    "kind",
    "stream",
)
#: Row keys that record how and when a row was made, not what it found.
_PROVENANCE_ROW_KEYS = ("seconds", "versions", "format", "config_hash", "copylearn")
#: Seconds between the plain progress lines a non-TTY sweep writes while no point finishes.
HEARTBEAT_SECONDS = 30.0
#: Seconds of fixed overhead per point (planning, bootstrap) the ETA assumes until finished
#: points of two different costs let it fit the overhead.
ETA_OVERHEAD_PRIOR = 2.0

#: Upper bounds on the size of a sweep (a config beyond them is refused with its key).
MAX_N = 1024
MAX_TRIALS = 1_000_000
MAX_POINTS = 100_000
#: Rows of per-shot parameters one simulator call holds (``complexity._BATCH_ROWS``; a test
#: checks they agree).
_BATCH_ROWS = 1 << 19
#: Dask executor: seconds between "waiting for Dask workers" lines while no worker is
#: connected, and how long to wait for one before giving up.
DASK_HEARTBEAT_S = 30.0
DASK_WORKER_WAIT_S = 600.0


# --------------------------------------------------------------------------- config


@dataclass(frozen=True)
class Config:
    """A validated sweep config.

    Attributes
    ----------
    task : str
        The learning task (a registered task, :func:`copylearn.tasks.task_names`).
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
    plugin_sources : dict of str to str
        Where each ``[sweep] plugins`` entry was imported from (absolute; see
        :func:`copylearn.plugins.load_plugins`), kept beside the store's config as
        ``DIR/plugins.json`` so that resuming, ``summary`` and ``plot`` import the same
        modules from any directory.
    stream : int or None
        ``[sweep] stream``: the random-stream version of the points (:mod:`copylearn.streams`).
        None (not given): a new store draws with stream 3, a store with rows keeps its rows'
        stream (1 for rows that record none).
    """

    task: str
    seed: int
    strategies: tuple[str, ...]
    grid: dict[str, tuple]
    overrides: dict[str, dict[str, tuple]] = field(default_factory=dict)
    text: str = ""
    source: str = "<config>"
    plugin_sources: dict[str, str] = field(default_factory=dict)
    stream: int | None = None

    def axes(self, strategy: str) -> dict[str, tuple]:
        """The grid axes of one strategy: the grid with that strategy's overrides applied."""
        return {**self.grid, **self.overrides.get(strategy, {})}

    def points(self) -> list[dict]:
        """Every grid point as a canonical spec, strategies in config order, axes in key order."""
        specs = []
        for strategy in self.strategies:
            axes = self.axes(strategy)
            defaults = grid_defaults(self.task)
            # The protocol's own options (a [strategy.NAME] key), left out at their default.
            own = {k: v for k, v in protocol_defaults(strategy).items() if k in axes}
            keys = list(defaults) + list(own)
            for values in itertools.product(*(axes[k] for k in keys)):
                spec = {
                    "task": self.task,
                    "strategy": strategy,
                    **dict(zip(keys, values, strict=True)),
                }
                for key in optional_keys(self.task):
                    if spec[key] == defaults[key]:
                        del spec[key]
                for key, default in own.items():
                    if spec[key] == default:
                        del spec[key]
                specs.append({k: spec[k] for k in sorted(spec)})
        return specs


def grid_defaults(task: str) -> dict[str, Any]:
    """Grid keys of ``task`` in canonical order with their defaults.

    ``n``, then the task's declared parameters, then the other generic keys.

    Raises
    ------
    CopylearnError
        ``task`` is not registered.
    """
    own = {p.name: p.default for p in get_task(task).parameters}
    return {"n": None, **own, **{k: v for k, v in GENERIC_DEFAULTS.items() if k != "n"}}


def protocol_defaults(strategy: str) -> dict[str, Any]:
    """The declared parameters of protocol ``strategy`` with their defaults (its options)."""
    return {p.name: p.default for p in get_protocol(strategy).parameters}


def protocol_options(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The protocol options a point's spec sets (keys it holds only when not at default)."""
    return {k: spec[k] for k in protocol_defaults(spec["strategy"]) if k in spec}


def spec_keys(task: str) -> tuple[str, ...]:
    """The keys of a point spec of ``task`` (before optional keys at default are dropped)."""
    return ("task", "strategy", *grid_defaults(task))


def optional_keys(task: str) -> tuple[str, ...]:
    """Keys left out of ``task``'s point specs while at their default."""
    return (*OPTIONAL_KEYS, *get_task(task).optional)


def _keys_of(spec: Mapping[str, Any]) -> tuple[str, ...]:
    """The spec keys of ``spec``'s task; for a task not registered, its own keys."""
    try:
        return spec_keys(spec["task"])
    except (CopylearnError, KeyError):
        return tuple(dict.fromkeys([*spec, *OPTIONAL_KEYS]))


def spec_value(spec: Mapping[str, Any], key: str) -> Any:
    """``spec[key]``, or the default of a key the spec leaves out (generic, the task's, or an
    option of the point's protocol).

    Raises
    ------
    KeyError
        ``key`` is neither in the spec, generic, nor a parameter of the spec's task.
    """
    if key in spec:
        return spec[key]
    if key in GENERIC_DEFAULTS:
        return GENERIC_DEFAULTS[key]
    try:
        return get_task(spec["task"]).parameter(key).default
    except (CopylearnError, KeyError):
        pass
    try:  # an option of the point's protocol, left out at its default
        return protocol_defaults(spec["strategy"])[key]
    except (CopylearnError, KeyError):
        raise KeyError(key) from None


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

    A store's own ``DIR/config.toml`` beside a ``DIR/plugins.json`` imports its plug-ins from
    where the store recorded them (:func:`load_stored_config`).
    """
    path = Path(path)
    if path.name == CONFIG_NAME and (path.parent / PLUGINS_NAME).is_file():
        return load_stored_config(path.parent)  # a store's own config: its recorded plug-ins
    try:
        text = path.read_bytes().decode("utf-8-sig")  # a byte-order mark is accepted
    except FileNotFoundError:
        raise CopylearnError(f"config {str(path)!r} does not exist: give a TOML file.") from None
    except IsADirectoryError:
        raise CopylearnError(f"config {str(path)!r} is a directory: give a TOML file.") from None
    except UnicodeDecodeError:
        raise CopylearnError(f"config {str(path)!r} is not UTF-8 text: give a TOML file.") from None
    return parse_config(text, source=str(path))


def parse_config(
    text: str, source: str = "<config>", *, plugin_sources: dict[str, str] | None = None
) -> Config:
    """Validate a sweep config given as TOML text (see :func:`load_config`).

    Parameters
    ----------
    text : str
        The TOML source.
    source : str
        A name for messages (usually the file path).
    plugin_sources : dict, optional
        Where a store recorded its plug-ins (``DIR/plugins.json``): those entries are
        imported from there, not relative to ``source``.

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
        if key not in _SWEEP_KEYS + _SWEEP_OPTIONAL:
            raise fail(
                f"sweep.{key}",
                f"unknown key: [sweep] takes only {', '.join(_SWEEP_KEYS + _SWEEP_OPTIONAL)}.",
            )
    plugins = sweep.get("plugins", [])
    if not isinstance(plugins, list) or not all(isinstance(p, str) and p for p in plugins):
        raise fail(
            "sweep.plugins",
            f"{plugins!r} is not a list of module names or .py paths: write e.g. "
            'plugins = ["my_tasks"].',
        )
    found: dict[str, str] = {}
    if plugins:
        from copylearn.plugins import PluginMissingError, load_plugins

        base = Path(source).parent if source != "<config>" else None
        try:
            found = load_plugins(plugins, base=base, recorded=plugin_sources)
        except PluginMissingError as exc:
            raise PluginMissingError(f"{source}: sweep.plugins: {exc}") from None
        except CopylearnError as exc:
            raise fail("sweep.plugins", str(exc)) from None
    for key in _SWEEP_KEYS:  # plugins are imported first: they may register the task
        if key not in sweep:
            example = {
                "task": f'"{task_names()[0]}"',
                "seed": "2024",
                "strategies": f'["{protocol_names()[0]}"]',
            }[key]
            raise fail(f"sweep.{key}", f"missing: add e.g. {key} = {example} to [sweep].")

    task = sweep["task"]
    if not isinstance(task, str) or task not in task_names():
        from copylearn.plugins import BROKEN_ENTRY_POINTS

        broken = "".join(f" Note: {why}." for why in BROKEN_ENTRY_POINTS)
        raise fail(
            "sweep.task",
            f"{task!r} is not a known task: use one of {', '.join(task_names())}.{broken}",
        )
    supported = get_task(task).protocols
    stream = sweep.get("stream")
    if stream is not None:
        try:
            stream = check_stream(stream)
        except CopylearnError as exc:
            raise fail("sweep.stream", str(exc)) from None
    seed = sweep["seed"]
    if not _is_int(seed) or seed < 0:
        raise fail("sweep.seed", f"{seed!r} is not an integer >= 0: write e.g. seed = 2024.")
    strategies = sweep["strategies"]
    if not isinstance(strategies, list) or not strategies:
        raise fail(
            "sweep.strategies",
            f"{strategies!r} is not a non-empty list: write e.g. strategies = "
            f"{json.dumps(list(supported))}.",
        )
    for s in strategies:
        if not isinstance(s, str) or s not in supported:
            known = isinstance(s, str) and s in protocol_names()
            raise fail(
                "sweep.strategies",
                f"task {task!r} does not support protocol {s!r}; it supports "
                f"{', '.join(supported)} (a task sweeps only the protocols it lists; see "
                "docs/extending.md)."
                if known
                else f"{s!r} is not a registered protocol: use one of task {task!r}'s "
                f"protocols, {', '.join(supported)}.",
            )
    if len(set(strategies)) != len(strategies):
        raise fail("sweep.strategies", "lists a strategy twice: give each once.")

    grid_table = data["grid"]
    if "n" not in grid_table:
        raise fail("grid.n", "missing: give the qubit counts, e.g. n = [1, 2, 4, 8].")
    grid: dict[str, tuple] = {}
    defaults = grid_defaults(task)
    params = {p.name: p for p in get_task(task).parameters}
    for key in grid_table:
        if key not in defaults:
            raise fail(f"grid.{key}", f"unknown key: [grid] takes {', '.join(defaults)}.")
    for key, default in defaults.items():
        value = grid_table.get(key, default)
        grid[key] = _axis(f"grid.{key}", key, value, fail, params)

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
        options = {p.name: p for p in get_protocol(name).parameters}
        for key, value in table.items():
            if key not in defaults and key not in options:
                takes = ", ".join([*defaults, *options])
                raise fail(
                    f"{where}.{key}",
                    f"unknown key: a strategy section overrides grid keys or sets the "
                    f"protocol's options ({takes}).",
                )
            overrides[name][key] = _axis(f"{where}.{key}", key, value, fail, {**params, **options})

    sizes = {
        s: int(np.prod([len(v) for v in {**grid, **overrides.get(s, {})}.values()], dtype=object))
        for s in strategies
    }
    if sum(sizes.values()) > MAX_POINTS:
        raise fail(
            "grid",
            f"the grid has {sum(sizes.values()):,} points ("
            + ", ".join(f"{s}: {k:,}" for s, k in sizes.items())
            + f"), above the supported {MAX_POINTS:,}: sweep fewer values per axis or split the "
            "config.",
        )
    config = Config(
        task=task,
        seed=int(seed),
        strategies=tuple(strategies),
        grid=grid,
        overrides=overrides,
        text=text,
        source=source,
        plugin_sources=found,
        stream=stream,
    )
    _check_task(config, fail)
    return config


def _check_task(config: Config, fail: Callable[[str, str], Exception]) -> None:
    """Let the task reject points it cannot run (``check_spec``), before any work starts.

    The task's :class:`~copylearn.tasks.ParameterError` names the key; the error names the
    section (``grid`` or the strategy's override) that set it.
    """
    check = get_task(config.task).check_spec

    def where(strategy: str, key: str | None) -> str:
        """``strategy.NAME.key`` where the strategy's section sets ``key``, else ``grid.key``."""
        section = f"strategy.{strategy}" if key in config.overrides.get(strategy, {}) else "grid"
        return f"{section}.{key}" if key else section

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
        if spec_value(spec, "calibration_copies"):
            try:
                get_protocol(spec["strategy"]).require_calibration()
            except CopylearnError as exc:
                where_key = where(spec["strategy"], "calibration_copies")
                message = str(exc).removeprefix("calibration_copies: ")
                raise fail(where_key, f"{spec['strategy']} at n = {spec['n']}: {message}") from None
        smallest = get_protocol(spec["strategy"]).copies_per_shot  # one experiment's copies
        if spec["max_copies"] <= smallest:
            raise fail(
                where(spec["strategy"], "max_copies"),
                f"{spec['strategy']} at n = {spec['n']}: max_copies = {spec['max_copies']} leaves "
                f"no room to search (one experiment consumes {smallest} copies, and the search "
                f"needs at least two copy counts): use max_copies >= {smallest + 1}, e.g. "
                "10_000_000.",
            )
        reachable = _highest_wilson_bound(spec["trials"])
        if reachable < spec["target"]:  # the search could only stop at max_copies
            raise fail(
                where(spec["strategy"], "trials"),
                f"{spec['strategy']} at n = {spec['n']}: with {spec['trials']} trials the Wilson "
                f"lower bound of the success rate is at most {reachable:.4f}, below target = "
                f"{spec['target']:g}, so no copy count can ever reach it: use trials >= "
                f"{_trials_for(spec['target'])} (or a lower target).",
            )
        try:
            check(dict(spec))
        except CopylearnError as exc:
            message = str(exc)
            key = getattr(exc, "key", None)
            key = None if key == "strategy" else key
            strategy = spec["strategy"]
            raise fail(where(strategy, key), f"{strategy} at n = {spec['n']}: {message}") from None


def _highest_wilson_bound(trials: int) -> float:
    """The Wilson lower bound when every one of ``trials`` trials succeeds (docs/theory.md §6).

    With all successes the bound is trials / (trials + z^2); the N* search stops when the bound
    reaches the target, so a target above it is never reached.
    """
    from copylearn.complexity import wilson_interval

    return float(wilson_interval(np.array([trials]), trials)[0][0])


def _trials_for(target: float) -> int:
    """The fewest trials whose all-success Wilson lower bound reaches ``target``."""
    from copylearn.complexity import WILSON_Z

    trials = max(1, math.ceil(target * WILSON_Z**2 / (1.0 - target)))
    while _highest_wilson_bound(trials) < target:  # guard the closed form's rounding
        trials += 1
    return trials


#: In a pool worker: (the pool's unfinished points, a shared counter; ``--workers K``). None
#: outside a pool (set by :func:`_worker_init`).
_POOL: tuple[Any, int] | None = None


def pool_share() -> int:
    """Processes the calling pool worker's point may spread its trials over now.

    ``K // min(K, unfinished points)`` (the pool runs min(K, points) processes, and never
    more points at once than are unfinished): a point that runs while the pool is full gets
    one process, a point left alone (or with fewer companions than K) gets its share of the
    idle ones. :func:`copylearn.complexity.run_point` asks at each doubling stage until it
    forks its trial helpers (:mod:`copylearn.trial_workers`); shares only grow as points
    finish, so pool workers and helpers together never keep more than K busy processes (the
    count :func:`check_runnable` multiplies a point's memory by; a pool worker whose point
    has finished stays alive, idle, until the sweep ends). A point that has forked keeps its
    helpers: its share does not grow after that. Outside a pool: 1.

    Returns
    -------
    int
        At least 1.
    """
    if _POOL is None:
        return 1
    unfinished, workers = _POOL
    return max(1, workers // max(1, min(workers, unfinished.value)))


def point_memory(spec: Mapping[str, Any]) -> dict[str, int]:
    """Estimated peak memory of one point of :func:`copylearn.complexity.run_point`, by cause.

    Parameters
    ----------
    spec : mapping
        A canonical point spec.

    Returns
    -------
    dict of str to int
        Bytes, keyed by the config key that drives each part: the task's learners (its
        ``memory``; for pauli-prediction ``"queries"``: per trial, the running sums over the
        query set, its packed Pauli strings, or for ``queries = "all"`` a histogram of 4^n
        entries and its Walsh-Hadamard transform), ``"trials"`` (per-trial
        bookkeeping: the instance, the success table), and ``"max_copies"`` (one simulator
        batch: at most 2^19 shots of several trials, or one trial's whole doubling stage of
        about half of max_copies, at about 24 bytes per qubit-shot as measured for both
        protocols). An upper estimate for the default point runner.
    """
    n, trials = int(spec["n"]), int(spec["trials"])
    per_shot = get_protocol(spec["strategy"]).copies_per_shot
    max_shots = int(spec["max_copies"]) // per_shot + 1
    grid_points = int(np.log(max(max_shots, 2)) / np.log(1.05)) + 2
    stage = int(0.55 * max_shots) + 1  # a doubling stage: about half the stream, grid rounding
    rows = min(trials * max_shots, max(_BATCH_ROWS, stage))
    task = get_task(spec["task"])
    return {
        **{
            key: size
            for key, (size, _) in task.memory({**grid_defaults(task.name), **spec}).items()
        },
        "trials": trials * (2048 + grid_points + 2 * n),
        "max_copies": rows * (24 * n + 64),
    }


_MEMORY_FIXES = {
    "trials": "use fewer trials",
    "max_copies": "lower max_copies (one trial's doubling stage is simulated in one batch) "
    "or use a smaller n",
}


def _gib(size: int) -> str:
    """Bytes as GiB for a message: one decimal, two significant digits below 0.1 GiB."""
    gib = size / 2**30
    return f"{gib:.1f}" if gib >= 0.1 else f"{gib:.2g}"


def check_runnable(
    config: Config,
    memory: int | None = None,
    specs: Sequence[Mapping[str, Any]] | None = None,
    *,
    workers: int = 1,
) -> None:
    """Refuse, before any work, a config whose points this machine cannot run.

    Checks what :func:`parse_config` cannot see from the text alone: a ``device`` needs the
    optional cirq-google and must hold n qubits per copy (Bell: n pairs on couplers;
    shadows: a chain of n), and every point's estimated memory (:func:`point_memory`) must
    fit in the memory available now.

    Parameters
    ----------
    config : Config
        A validated config.
    memory : int, optional
        Bytes available; default :func:`copylearn.backends.limits.available_memory` (capped
        by the environment variable ``COPYLEARN_MEMORY_GIB`` when set; no memory check if
        unknown).
    specs : sequence of mapping, optional
        Check only these points (e.g. those a resumed sweep has still to run); default all.
    workers : int
        Processes that may each hold a point's memory at once: the pool's workers run that
        many points together, and a long point spreads its trials over that many processes
        (:func:`copylearn.complexity.run_point`'s ``workers``, :mod:`copylearn.trial_workers`).
        The estimate is multiplied by it.

    Raises
    ------
    CopylearnError
        Naming the config key, the estimate and the fix.
    """

    def where(strategy: str, key: str) -> str:
        section = f"strategy.{strategy}" if key in config.overrides.get(strategy, {}) else "grid"
        return f"{config.source}: {section}.{key}"

    points = config.points() if specs is None else list(specs)
    largest: dict[tuple[str, str, str], int] = {}  # (device, strategy, options as JSON)
    for spec in points:
        device = spec_value(spec, "device")
        if device != "none":
            chosen = json.dumps(protocol_options(spec), sort_keys=True)
            key = (device, spec["strategy"], chosen)
            largest[key] = max(largest.get(key, 0), spec["n"])
    for (device, strategy, chosen), n in sorted(largest.items()):
        if importlib.util.find_spec("cirq_google") is None:
            raise CopylearnError(
                f"{where(strategy, 'device')}: device {device!r} needs cirq-google, which is not "
                "installed: pip install 'copylearn[devices]' (or set device = 'none')."
            )
        from copylearn import devices

        loaded = devices.load_device(device)
        protocol = get_protocol(strategy).with_options(json.loads(chosen))
        try:
            fits, layout = protocol.device_capacity(loaded)
        except CopylearnError as exc:  # a protocol (or its options) with no device layout
            raise CopylearnError(f"{where(strategy, 'device')}: {strategy}: {exc}") from None
        if n > fits:
            raise CopylearnError(
                f"{where(strategy, 'n')}: {strategy} at n = {n} does not fit on {device}, "
                f"which holds at most {fits} {layout}: use n <= {fits} with this device."
            )
    for spec in points:
        if spec_value(spec, "backend") == "stim":
            _check_stim_runs(spec, where(spec["strategy"], "backend"))
    memory = available_memory() if memory is None else memory
    if memory is None:
        return
    processes = max(1, int(workers))
    for spec in points:
        parts = point_memory(spec)
        each = sum(parts.values()) + (256 << 20)  # plus the interpreter, Cirq and qsim
        total = processes * each
        if total > memory:
            key = max(parts, key=parts.__getitem__)
            part = f"{key}: {parts[key] / 2**30:.1f} GiB"
            fix = _memory_fix(spec, key)
            if processes == 1:
                need = f"one point needs about {total / 2**30:.1f} GiB of memory ({part})"
            else:
                need = (
                    f"{processes} worker processes need about {total / 2**30:.1f} GiB of memory "
                    f"({each / 2**30:.1f} GiB each, {part})"
                )
                fix += f", or use fewer workers (--workers K, K < {processes})"
            raise CopylearnError(
                f"{where(spec['strategy'], key)}: {spec['strategy']} at n = {spec['n']}: {need}, "
                f"more than the {_gib(memory)} GiB available: {fix}."
            )


def _check_stim_runs(spec: Mapping[str, Any], where: str) -> None:
    """Refuse ``backend = "stim"`` at a point whose circuits stim cannot run, before any work.

    Plans the point's circuit family and one instance (drawn from a fixed stream no trial
    uses) as the runner would: a task whose instances bring their own non-Clifford circuits
    (e.g. the time-reversal processes, docs/theory.md §18) is refused here, in one line
    naming the config key, instead of by the first trial after the store exists.
    """
    from copylearn.collect import prepare_collector

    task = get_task(spec["task"])
    full = {**grid_defaults(task.name), **spec}
    noise = None if full["noise"] == "none" else full["noise"]
    options = {**protocol_options(full), **task.protocol_options(full)}
    instance = task.sample_instance(full, np.random.default_rng(np.random.SeedSequence(0)))
    for state in (task.circuit_family(full), instance.state):
        try:
            prepare_collector(state, spec["strategy"], noise, "stim", options=options)
        except CopylearnError as exc:
            raise CopylearnError(f"{where}: {spec['strategy']} at n = {spec['n']}: {exc}") from None


def _memory_fix(spec: Mapping[str, Any], key: str) -> str:
    """How to shrink the part of a point's memory that ``key`` drives."""
    if key in _MEMORY_FIXES:
        return _MEMORY_FIXES[key]
    task = get_task(spec["task"])
    return task.memory({**grid_defaults(task.name), **spec})[key][1]


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _axis(
    where: str,
    key: str,
    value: object,
    fail: Callable[[str, str], Exception],
    params: Mapping[str, Any],
) -> tuple:
    """Validate one grid value (scalar or list) and return its canonical values as a tuple.

    ``params`` are the task's declared parameters by name; they validate their own keys.
    """
    if isinstance(value, dict):
        raise fail(where, f"must be a value or a list of values, not a table: e.g. {key} = [...].")
    values = value if isinstance(value, list) else [value]
    if not values:
        raise fail(where, "is an empty list, so the grid is empty: give at least one value.")
    canonical = [_value(where, key, v, fail, params) for v in values]
    seen: set = set()
    for original, v in zip(values, canonical, strict=True):
        if v in seen:
            raise fail(where, f"lists {original!r} twice (as {v!r}): give each value once.")
        seen.add(v)
    return tuple(canonical)


def _value(
    where: str,
    key: str,
    v: object,
    fail: Callable[[str, str], Exception],
    params: Mapping[str, Any],
) -> object:
    """Validate and canonicalise one value of grid key ``key`` (a task's key: by the task)."""
    if isinstance(v, list | dict):
        raise fail(where, f"{v!r}: a list holds values only (no nested lists or tables).")
    if key in params:
        try:
            return params[key].parse(v)
        except ValueError as exc:
            raise fail(where, str(exc)) from None
        except CopylearnError:
            raise
        except Exception as exc:  # a plug-in's validator raising anything else: one line too
            raise fail(where, f"{v!r} is refused ({type(exc).__name__}: {exc}).") from None
    if key == "n":
        if not _is_int(v) or v < 1:
            raise fail(where, f"{v!r} is not a qubit count: use integers >= 1, e.g. n = [1, 2, 4].")
        if v > MAX_N:
            raise fail(
                where, f"{v} qubits per copy is above the supported {MAX_N}: use a smaller n."
            )
        return int(v)
    if key == "target":
        if not _is_number(v) or not 0.0 < float(v) < 1.0:
            raise fail(where, f"{v!r} is not a success probability in (0, 1): use e.g. 0.9.")
        return float(v)
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
        if v > MAX_TRIALS:
            raise fail(
                where,
                f"{v} trials is above the supported {MAX_TRIALS:,}: use e.g. trials = 400.",
            )
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
                f"{v!r} is not 0 or an even integer >= 4 (whole experiments of any protocol, "
                "one- or two-copy, and at least two of them): use 0 (raw estimates) or e.g. "
                "calibration_copies = 20000 (copies per calibration state).",
            )
        return int(v)
    if key == "backend":
        from copylearn.backends import BACKEND_NAMES

        if v not in BACKEND_NAMES:
            raise fail(
                where,
                f"{v!r} is not a simulator backend: use one of "
                f"{', '.join(map(repr, BACKEND_NAMES))} (e.g. 'auto': stim for Clifford "
                "circuits, qsim otherwise).",
            )
        return v
    raise AssertionError(key)  # pragma: no cover


# --------------------------------------------------------------------------- points


def point_id(spec: Mapping[str, Any]) -> str:
    """The id of a point: first 16 hex chars of SHA-256 of its spec as JSON with sorted keys
    (:attr:`copylearn.records.PointSpec.id`)."""
    return spec_id(spec)


def point_seed(sweep_seed: int, pid: str) -> np.random.SeedSequence:
    """The seed of the point with id ``pid``: keyed by the id, never by the point's position."""
    words = [int(pid[i : i + 8], 16) for i in range(0, len(pid), 8)]
    return np.random.SeedSequence([int(sweep_seed), *words])


def sort_key(spec: Mapping[str, Any]) -> tuple:
    """Deterministic order of points: strategy, the protocol's options by name (e.g.
    ``memory_qubits``, at their defaults where the spec leaves them out), n, then the other
    spec keys by name."""

    def rank(value: object) -> tuple:
        return (1, value) if isinstance(value, str) else (0, value)

    def option_rank(value: object) -> tuple:  # numbers by value, anything else by its text
        if isinstance(value, int | float) and not isinstance(value, bool):
            return (0, value)
        return (1, json.dumps(value, sort_keys=True))

    try:
        options = protocol_defaults(spec["strategy"])
    except CopylearnError:  # a protocol not registered here: its options sort with the rest
        options = {}
    head = tuple(option_rank(spec.get(k, options[k])) for k in sorted(options))
    rest = tuple(
        rank(spec_value(spec, k)) for k in sorted(_keys_of(spec)) if k not in ("strategy", "n")
    )
    return (spec["strategy"], *head, spec["n"], *rest)


def _schedule_key(spec: Mapping[str, Any]) -> tuple:
    """Largest points first (by :func:`point_cost`, which asks the task), then by id."""
    return (-point_cost(spec), point_id(spec))


def package_versions() -> dict[str, str | None]:
    """Installed versions of copylearn and its main dependencies (``None`` if absent)."""
    from copylearn.version import package_version

    versions: dict[str, str | None] = {}
    for name in VERSION_PACKAGES:
        if name == "copylearn":  # the source tree's version when run from one
            versions[name] = package_version()
            continue
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


# --------------------------------------------------------------------------- store


def _scan_rows(path: Path) -> tuple[list[tuple[int, dict]], int]:
    """Every complete row of a store with its line number, and the byte length of those lines."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return [], 0
    except IsADirectoryError:
        raise CopylearnError(
            f"{path} is a directory, not a sweep store: remove it or choose another directory."
        ) from None
    end = data.rfind(b"\n") + 1  # a trailing partial line (a kill mid-write) is ignored
    rows: list[tuple[int, dict]] = []
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
        if (
            not isinstance(row, dict)
            or not isinstance(row.get("id"), str)
            or not isinstance(row.get("spec"), dict)
        ):
            raise CopylearnError(
                f"{path}: line {number} is not a sweep result row: delete that line and rerun."
            )
        rows.append((number, row))
    return rows, end


def _read_rows(path: Path) -> tuple[list[dict], int]:
    """Rows of a store (first row per id) and the byte length of its complete lines."""
    scanned, end = _scan_rows(path)
    rows: list[dict] = []
    seen: set[str] = set()
    for _, row in scanned:
        if row["id"] not in seen:
            seen.add(row["id"])
            rows.append(row)
    return rows, end


def config_hash(config: Config) -> str:
    """A hash of what a sweep is: its seed and the ids of its points (16 hex characters).

    Two configs that differ only in layout (comments, order of strategies or sections) share
    it; extending a sweep (a further n or noise value) changes it.
    """
    text = json.dumps({"seed": config.seed, "points": sorted(map(point_id, config.points()))})
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _store_stream(config: Config, rows: Sequence[Mapping[str, Any]], out: Path) -> int:
    """The random-stream version a sweep's points draw with (:mod:`copylearn.streams`).

    A store's rows all share one stream (rows that record none drew with stream 1, as every
    store made before stream versions); a new store takes ``[sweep] stream`` or 2.

    Raises
    ------
    CopylearnError
        The store's rows drew with several streams, or with another than ``[sweep] stream``.
    """
    found = sorted({int(row.get("stream", LEGACY_STREAM)) for row in rows})
    if len(found) > 1:
        raise CopylearnError(
            f"{str(out)!r} holds rows of random streams {found}: one sweep draws with one "
            "stream; move the rows of one stream to their own store."
        )
    if not found:
        return DEFAULT_STREAM if config.stream is None else config.stream
    if config.stream is not None and config.stream != found[0]:
        raise CopylearnError(
            f"sweep.stream = {config.stream}, but the rows in {str(out)!r} drew with stream "
            f"{found[0]}: resuming would mix two random streams; remove sweep.stream (the store "
            "keeps its own) or choose another --out."
        )
    return found[0]


def row_stamp(config: Config) -> dict[str, Any]:
    """The fields that tie a row to its sweep: store format, sweep seed and config hash."""
    from copylearn import __version__

    return {
        "format": STORE_FORMAT,
        "sweep_seed": config.seed,
        "config_hash": config_hash(config),
        "copylearn": __version__,
    }


def _describe(row: Mapping[str, Any]) -> str:
    spec = row["spec"]
    keys = [k for k in _keys_of(spec) if k not in ("task", "strategy", "n") and k in spec]
    try:
        defaults = grid_defaults(spec["task"])
    except (CopylearnError, KeyError):
        defaults = GENERIC_DEFAULTS
    shown = " ".join(f"{k}={spec[k]}" for k in keys if spec[k] != defaults.get(k))
    head = f"{spec.get('strategy', '?')} n={spec.get('n', '?')}"
    return f"{head} {shown}".strip()


def _result_part(row: Mapping[str, Any]) -> dict:
    return {k: v for k, v in row.items() if k not in _PROVENANCE_ROW_KEYS}


def _foreign_rows(
    scanned: Sequence[tuple[int, dict]],
    *,
    seed: int | None,
    points: set[str] | None,
    where: str,
) -> list[str]:
    """Why each row that does not belong to the sweep is foreign: ``"line K (...): reason"``.

    ``seed`` and ``points`` (ids) describe the sweep when its config is known; ``where`` names
    that config in messages. A row belongs if its spec hashes to its id, its store format is
    one this copylearn reads and the same as every other row's, its sweep seed (format >= 2)
    is the sweep's, its id is a point of the sweep, and no other row gives the same point a
    different result. Rows written
    before the format existed carry no seed: for them only the id and spec are checked.
    """
    problems: list[str] = []
    first: dict[str, tuple[int, dict]] = {}
    if seed is None:  # no config: the stamped rows must at least agree on one seed
        seeds = [r["sweep_seed"] for _, r in scanned if "sweep_seed" in r]
        if seeds:
            seed = max(set(seeds), key=lambda s: (seeds.count(s), -seeds.index(s)))
            where = f"the store's other rows (sweep seed {seed})"
    formats = [f for _, r in scanned if _is_int(f := r.get("format", 1))]
    newest = max(formats, default=1)
    for number, row in scanned:
        label = f"line {number} (id {row['id']}, {_describe(row)})"
        fmt = row.get("format", 1)
        reason = None
        if not _is_int(fmt) or not 1 <= fmt <= STORE_FORMAT:
            reason = (
                f"store format {fmt!r} is not one this copylearn reads (1..{STORE_FORMAT}); "
                "read it with the copylearn that wrote it"
            )
        elif fmt != newest:  # one store, one format: an unstamped row cannot be checked
            reason = (
                f"store format {fmt} among rows of format {newest} (its seed and config cannot "
                "be checked: it was written by another copylearn, or its stamp was removed)"
            )
        elif point_id(row["spec"]) != row["id"]:
            reason = "its spec does not hash to its id (the row was edited)"
        elif fmt >= 2 and seed is not None and row.get("sweep_seed") != seed:
            reason = f"computed under sweep seed {row.get('sweep_seed')!r}, not {seed} ({where})"
        elif points is not None and row["id"] not in points:
            reason = f"not a point of {where}"
        elif row["id"] in first and _result_part(first[row["id"]][1]) != _result_part(row):
            reason = f"a second, different result for the point of line {first[row['id']][0]}"
        if reason is not None:
            problems.append(f"{label}: {reason}")
        first.setdefault(row["id"], (number, row))
    return problems


def _refuse_foreign(path: Path, problems: Sequence[str], action: str) -> None:
    if not problems:
        return
    shown = "; ".join(problems[:3])
    more = f"; and {len(problems) - 3} more" if len(problems) > 3 else ""
    raise CopylearnError(
        f"{path}: {len(problems)} row{'s' if len(problems) > 1 else ''} not of this sweep: "
        f"{shown}{more}. Move those lines to their own store (or delete them) and {action}."
    )


def load_stored_config(out: Path) -> Config:
    """The config a store was written with, its plug-ins imported from where they were then.

    ``DIR/plugins.json`` (written with the config) names the absolute place of each
    ``[sweep] plugins`` entry, so the same modules are imported whatever the current
    directory; a store without it (or without plug-ins) resolves relative entries against
    ``DIR``.

    Raises
    ------
    CopylearnError
        The config does not validate, ``plugins.json`` is malformed, or
        (:class:`copylearn.plugins.PluginMissingError`) a recorded plug-in is gone.
    """
    stored = out / CONFIG_NAME
    recorded = None
    path = out / PLUGINS_NAME
    if path.is_file():
        try:
            recorded = json.loads(path.read_text("utf-8"))["plugins"]
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
            raise CopylearnError(
                f"{path} is unreadable ({exc!r}): restore it, or delete it to look plug-ins "
                f"up next to {CONFIG_NAME}."
            ) from None
        if not isinstance(recorded, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in recorded.items()
        ):
            raise CopylearnError(
                f"{path}: 'plugins' must map each plug-in entry to an absolute path; restore "
                f"it, or delete it to look plug-ins up next to {CONFIG_NAME}."
            )
    try:
        text = stored.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise CopylearnError(f"config {str(stored)!r} is unreadable ({exc}).") from None
    return parse_config(text, source=str(stored), plugin_sources=recorded)


def _write_plugin_sources(out: Path, config: Config) -> None:
    """Record where the config's plug-ins were imported from (``DIR/plugins.json``)."""
    if config.plugin_sources:
        from copylearn.plugins import source_hashes

        document = {
            "plugins": config.plugin_sources,
            "sha256": source_hashes(config.plugin_sources),
        }
        _atomic_write(out / PLUGINS_NAME, (json.dumps(document, indent=1) + "\n").encode())


def _changed_plugins(out: Path, config: Config) -> str | None:
    """Which of a store's plug-ins changed since ``DIR/plugins.json`` recorded their SHA-256
    (one phrase), or None; ``config`` is the store's own, its plug-ins imported."""
    try:
        recorded = json.loads((out / PLUGINS_NAME).read_text("utf-8")).get("sha256") or {}
    except (OSError, UnicodeDecodeError, ValueError, AttributeError):
        return None  # no plugins.json, or one without hashes (an older store): nothing to tell
    from copylearn.plugins import changed_sources

    changed = changed_sources(config.plugin_sources, recorded) if isinstance(recorded, dict) else []
    return ", ".join(changed) or None


def _stored_sweep(out: Path) -> tuple[int | None, set[str] | None]:
    """The seed and point ids of the sweep a store directory was written with.

    ``(None, None)`` without ``config.toml``. A config that is TOML but does not validate here
    (e.g. it names a device whose optional extra is not installed) still gives its seed, with
    the points unknown (None), so the results stay readable.
    """
    from copylearn.plugins import PluginMissingError

    stored = out / CONFIG_NAME
    if not stored.exists():
        return None, None
    try:
        config = load_stored_config(out)
    except PluginMissingError:
        raise
    except CopylearnError as exc:
        try:
            seed = tomllib.loads(stored.read_text("utf-8"))["sweep"]["seed"]
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, KeyError, TypeError):
            raise CopylearnError(
                f"{str(out)!r} holds a sweep whose {CONFIG_NAME} is unreadable ({exc}); "
                f"fix or restore {CONFIG_NAME}."
            ) from None
        return (seed if _is_int(seed) else None), None
    changed = _changed_plugins(out, config)
    if changed:  # reading is harmless: warn, do not refuse
        print(
            f"copylearn: warning: {changed} changed since {str(out)!r} computed its rows "
            f"(sha256 in {PLUGINS_NAME}); its rows were computed by the earlier code.",
            file=sys.stderr,
        )
    return config.seed, set(map(point_id, config.points()))


def normalise_row(row: dict) -> dict:
    """A row as summaries and figures see it: no N* for a point whose search did not reach
    the target (stores written before copylearn dropped it kept the curve's chance crossing).
    """
    if row.get("reached") is False and any(
        row.get(k) is not None for k in ("n_star", "n_star_ci", "experiments_star")
    ):
        return {**row, "n_star": None, "n_star_ci": None, "experiments_star": None}
    return row


def expand_nested(row: dict) -> list[dict]:
    """A row as one row per value of its judged axis (``"nested"``, e.g. every query count M
    of a ``query_grid = "log"`` point, docs/theory.md §16.1); other rows as they are.

    Each expanded row has the point's spec with ``key = value``, the id ``ID:key=value`` and
    that value's result; provenance (seconds, versions, ...) is the point's.
    """
    nested = row.get("nested")
    if not isinstance(nested, dict) or not isinstance(nested.get("points"), list):
        return [row]
    key, base = nested["key"], {k: v for k, v in row.items() if k != "nested"}
    out = []
    for point in nested["points"]:
        value = point[key]
        result = {k: v for k, v in point.items() if k != key}
        expanded = {**base, **result, "id": f"{row['id']}:{key}={value}"}
        expanded["spec"] = {**row["spec"], key: value}
        out.append(normalise_row(expanded))
    return out


def summary_rows(out_dir: str | os.PathLike) -> list[dict]:
    """Load the finished points of a sweep store, in :func:`sort_key` order.

    The rows of :func:`read_store`, each point with a judged axis expanded to one row per
    value of it (:func:`expand_nested`).

    Parameters
    ----------
    out_dir : str or path-like
        A directory written by :func:`run_sweep`.

    Returns
    -------
    list of dict
        One row per finished point (a point with a judged axis: one per value of it,
        :func:`expand_nested`) (id, spec, the point runner's output, seconds, versions
        and, from store format 2 on, format, sweep_seed and config_hash). A row whose search
        did not reach the target (``reached`` False) has ``n_star``, ``n_star_ci`` and
        ``experiments_star`` None.

    Raises
    ------
    CopylearnError
        The directory holds no store, a line is not a row, or rows do not belong to the sweep
        (another seed, a point outside ``config.toml``, a spec that does not match its id, two
        different results for one point); the message lists them and what to do.
    """
    rows = [e for row in read_store(out_dir) for e in expand_nested(row)]
    return sorted(rows, key=lambda row: sort_key(row["spec"]))


def read_store(out_dir: str | os.PathLike) -> list[dict]:
    """The finished points of a sweep store as stored, in file order, read-only.

    The one reader of a store for ``summary``, ``plot`` and
    :func:`copylearn.results.load_results`: one row per point (the first row of an id), each
    through :func:`normalise_row`, after the checks that :func:`summary_rows` documents.

    Raises
    ------
    CopylearnError
        As :func:`summary_rows`.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise CopylearnError(f"{str(out)!r} is a file: give the sweep's directory (its --out).")
    if (out / STORE_NAME).exists() and not (out / STORE_NAME).is_file():
        raise CopylearnError(
            f"{out / STORE_NAME} is a directory, not a sweep store: remove it or choose another "
            "directory."
        )
    if not (out / STORE_NAME).is_file():
        raise CopylearnError(
            f"{str(out)!r} holds no sweep results ({STORE_NAME}): run "
            f"'copylearn sweep CONFIG --out {out}' first."
        )
    seed, points = _stored_sweep(out)
    scanned, _ = _scan_rows(out / STORE_NAME)
    problems = _foreign_rows(scanned, seed=seed, points=points, where=f"{out / CONFIG_NAME}")
    _refuse_foreign(out / STORE_NAME, problems, "summarise again")
    rows, _ = _read_rows(out / STORE_NAME)
    return [normalise_row(row) for row in rows]


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
        previous = load_stored_config(out)
    except CopylearnError as exc:
        raise CopylearnError(
            f"{str(out)!r} holds a sweep whose {CONFIG_NAME} is unreadable ({exc}); "
            "choose another --out."
        ) from None
    changed = _changed_plugins(out, previous)
    if changed and _read_rows(out / STORE_NAME)[0]:
        raise CopylearnError(
            f"{changed} changed since {str(out)!r} computed its rows (sha256 in {PLUGINS_NAME}): "
            "resuming would mix results of two codes; restore the file, or choose a new --out."
        )
    old = set(map(point_id, previous.points()))
    new = set(map(point_id, config.points()))
    if (previous.seed != config.seed or not old <= new) and not _read_rows(out / STORE_NAME)[0]:
        return True  # nothing was run under the stored config: the new one replaces it
    if previous.seed != config.seed or not old <= new:
        what = "seed" if previous.seed != config.seed else "grid"
        raise CopylearnError(
            f"{str(out)!r} holds a sweep with a different {what} (see {stored}): resuming would "
            "mix two sweeps; choose another --out, rerun with the stored config, or extend it "
            "(same seed, every stored point kept)."
        )
    scanned, _ = _scan_rows(out / STORE_NAME)
    problems = _foreign_rows(scanned, seed=previous.seed, points=old, where=str(stored))
    _refuse_foreign(out / STORE_NAME, problems, "rerun to compute this sweep's own results")
    _refuse_other_format(out, scanned)
    return new != old


def _refuse_other_format(out: Path, scanned: Sequence[tuple[int, dict]]) -> None:
    """Refuse to resume or extend a store whose rows another store format wrote.

    Rows of another format were computed by another copylearn (format 1 and 2: before tasks
    and protocols were registered parts); appending rows of this one would mix two codes in
    one sweep. The refusal says what differs and what to do; nothing is written.
    """
    formats = sorted({str(row.get("format", 1)) for _, row in scanned})
    other = [f for f in formats if f != str(STORE_FORMAT)]
    if not other:
        return
    versions = sorted(
        {
            str(row.get("copylearn") or (row.get("versions") or {}).get("copylearn"))
            for _, row in scanned
            if str(row.get("format", 1)) in other
        }
    )
    raise CopylearnError(
        f"{str(out)!r} holds rows of store format {', '.join(other)} (copylearn "
        f"{', '.join(versions)}), this copylearn writes format {STORE_FORMAT}: resuming would "
        "mix results of two versions in one sweep; choose another --out (summary and plot "
        "still read this store)."
    )


class _Store:
    """The append-only JSON-lines store of one sweep directory (single writer, flock'ed)."""

    def __init__(self, out: Path, config: Config, extended: bool = False):
        self.out = out
        self.path = out / STORE_NAME
        try:
            out.mkdir(parents=True, exist_ok=True)
            # O_CLOEXEC: no program this process starts holds the lock; pool workers forked
            # from it close their copy at once (_worker_init), so the lock dies with us.
            self._lock = os.open(out / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise _store_error(out, exc) from None
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self._lock)
            raise CopylearnError(
                f"another sweep is writing to {str(out)!r}: wait for it or choose another --out."
            ) from None
        try:
            self.rows, end = _read_rows(self.path)  # a corrupt store is refused unchanged
            config_path = out / CONFIG_NAME
            if extended:  # keep the config the stored points were run with
                k = 1 + sum(1 for _ in out.glob("config.*.toml"))
                _atomic_write(out / f"config.{k}.toml", config_path.read_bytes())
            if extended or not config_path.exists():
                _write_plugin_sources(out, config)
                _atomic_write(config_path, config.text.encode("utf-8"))
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            if os.fstat(self._fd).st_size > end:
                os.truncate(self.path, end)  # drop a partial last line before appending
                os.fsync(self._fd)
            _fsync_dir(out)
        except OSError as exc:
            os.close(self._lock)
            raise _store_error(out, exc) from None
        except BaseException:
            os.close(self._lock)
            raise

    @property
    def lock_fd(self) -> int:
        """The descriptor holding the store's flock (forked workers close their copy)."""
        return self._lock

    def append(self, row: dict) -> None:
        try:
            text = json.dumps(row, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise CopylearnError(
                f"point {row.get('id')}: the point runner returned a value that is not finite "
                f"JSON ({exc}); fix the runner."
            ) from None
        line = (text + "\n").encode("utf-8")
        try:
            written = os.write(self._fd, line)
            if written != len(line):  # disk full: the partial line is dropped on the next open
                raise OSError(errno.ENOSPC, f"short write, {written} of {len(line)} bytes")
            os.fsync(self._fd)
        except OSError as exc:
            raise CopylearnError(
                f"cannot append to {self.path} ({_os_reason(exc)}): the points finished so far "
                "are kept; free some space (or fix the directory) and rerun the same command "
                "to resume."
            ) from None
        self.rows.append(row)

    def close(self) -> None:
        os.close(self._fd)
        os.close(self._lock)


def _os_reason(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return f"no space left on the device: {exc.strerror}"
    return exc.strerror or str(exc)


def _store_error(out: Path, exc: OSError) -> CopylearnError:
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        fix = (
            "it is read-only here; a complete store can still be summarised, but to run "
            "points copy it to a writable directory and give that as --out."
        )
    elif exc.errno in (errno.ENOTDIR, errno.EEXIST, errno.EISDIR):
        fix = "a file stands where a directory must be: give --out a directory path."
    else:
        fix = "free some space (or fix the directory) and rerun the same command."
    return CopylearnError(
        f"cannot write the sweep store in {str(out)!r} ({_os_reason(exc)}): {fix}"
    )


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
        report = _REPORT  # set while a sweep shows progress (in pool workers: inherited)
        if report is not None and _takes_progress(runner):
            result = runner(dict(spec), point_seed(sweep_seed, pid), functools.partial(report, pid))
        else:
            result = runner(dict(spec), point_seed(sweep_seed, pid))
    except CopylearnError as exc:
        raise CopylearnError(
            f"point {pid} ({spec['strategy']}, n={spec['n']}) failed: {exc}"
        ) from None
    except Exception as exc:
        exc.add_note(f"copylearn: while running sweep point {pid}: {json.dumps(spec)}")
        raise
    finally:
        if _POOL is not None:  # one point fewer to share the pool's processes with
            with _POOL[0].get_lock():
                _POOL[0].value -= 1
    return pid, result, time.perf_counter() - start


def _make_row(
    pid: str,
    spec: dict,
    result: object,
    seconds: float,
    versions: dict,
    *,
    stamp: Mapping[str, Any] | None = None,
) -> dict:
    """A store row: id, spec, the runner's result, seconds, versions and ``stamp``
    (:func:`row_stamp`: store format, sweep seed, config hash)."""
    if not isinstance(result, dict):
        raise CopylearnError(
            f"point {pid}: the point runner returned {type(result).__name__}, not a dict."
        )
    clash = [k for k in _RESERVED_ROW_KEYS if k in result]
    if clash:
        raise CopylearnError(
            f"point {pid}: the point runner's result uses reserved keys {clash}: rename them."
        )
    stamp = dict(stamp or {})
    record = PointRecord(
        PointSpec.from_json(spec),
        result,
        seconds,
        versions,
        stamp.get("sweep_seed"),
        stamp.get("config_hash"),
        stamp.get("copylearn"),
        stamp.get("format", STORE_FORMAT),
        stamp.get("stream"),
    )
    row = record.to_json()
    if row["id"] != pid:  # pragma: no cover - ids are computed by point_id from the same spec
        raise CopylearnError(f"point {pid}: its spec hashes to {row['id']}.")
    return row


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
    extra = _shown_keys(spec, keys)
    label = f"{spec['strategy']} n={spec['n']}{extra}"
    if row.get("reached") is False or row.get("n_star") is None:
        text = f"N* not reached (> max_copies = {spec_value(spec, 'max_copies')})"
    else:
        text = (
            f"N* = {_fmt_copies(row['n_star'])} {unit_noun([spec['strategy']])} "
            f"{_fmt_ci(row.get('n_star_ci'))}"
            f" ({_fmt_copies(row.get('experiments_star'))} experiments)"
        )
    return f"{label}: {text}, {row.get('seconds', 0.0):.1f} s"


def varying_keys(specs: Sequence[Mapping[str, Any]]) -> list[str]:
    """The spec keys (besides strategy and n) that take more than one value among ``specs``."""
    keys = []
    every = dict.fromkeys(k for s in specs for k in [*_keys_of(s), *s])  # protocol options too
    for key in every:
        if key in ("strategy", "n"):
            continue
        if len({json.dumps(spec.get(key, _default(spec, key))) for spec in specs}) > 1:
            keys.append(key)
    return keys


def _shown_keys(spec: Mapping[str, Any], keys: Sequence[str]) -> str:
    """`` KEY=VALUE`` for each of ``keys`` (but strategy and n) that the point has: a protocol
    option of another strategy (``memory_qubits`` beside ``clifford-shadow``) is left out."""
    shown = [k for k in keys if k not in ("strategy", "n")]
    return "".join(f" {k}={_default(spec, k)}" for k in shown if _default(spec, k) is not None)


def _default(spec: Mapping[str, Any], key: str) -> Any:
    try:
        return spec_value(spec, key)
    except KeyError:
        return None


def _clock(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def point_cost(spec: Mapping[str, Any]) -> float:
    """A point's expected cost in arbitrary units, for the ETA (not a prediction of N*).

    trials x n x the copies the search is expected to simulate (the task's
    ``expected_copies``; for pauli-prediction, shadows: 3^n / alpha^2, Bell: flat in n,
    1 / alpha^4; both times 100), capped at ``max_copies``, plus the calibration's three
    eigenstate runs. The sweep converts units to seconds with a fixed overhead and a rate
    fitted on the points it has finished, per strategy.
    """
    n = spec["n"]
    full = {**grid_defaults(spec["task"]), **spec}
    copies = get_task(spec["task"]).expected_copies(full, get_protocol(spec["strategy"]))
    copies = min(float(spec_value(spec, "max_copies")), copies)
    calibration = 3.0 * float(spec_value(spec, "calibration_copies"))
    return float(spec_value(spec, "trials")) * n * copies + n * calibration


class _Progress:
    """Progress on a stream: a bar with ETA (``\\r``-updated on a TTY, else a line per point).

    The ETA comes from a cost model (:func:`point_cost`): seconds = a + b x cost, with the
    fixed overhead a and the rate b fitted on the points finished so far (per strategy),
    summed over the points left and shared over the workers (never less than the largest
    point left). Messages from inside a running point
    (:meth:`inner`) show on the TTY bar; off a TTY a plain heartbeat line with the points done,
    elapsed time, ETA and the latest such message is written every ``heartbeat`` seconds
    while no point finishes. ``clock`` is injectable for tests.
    """

    def __init__(
        self,
        total: int,
        resumed: int,
        keys: Sequence[str],
        enabled: bool,
        stream: TextIO,
        *,
        pending: Sequence[Mapping[str, Any]] = (),
        workers: int = 1,
        clock: Callable[[], float] = time.monotonic,
        heartbeat: float = HEARTBEAT_SECONDS,
    ):
        self.total, self.resumed, self.keys = total, resumed, list(keys)
        self.done = 0
        self.enabled = enabled
        self.stream = stream
        self.tty = enabled and hasattr(stream, "isatty") and stream.isatty()
        self.clock = clock
        self.heartbeat = heartbeat
        self.start = self._updated = self._last_line = clock()
        self.pending = {point_id(spec): dict(spec) for spec in pending}
        self.workers = max(1, min(int(workers), len(self.pending) or 1))
        self.spent: dict[str, list[tuple[float, float]]] = {}  # strategy -> [(cost, seconds)]
        self.inner_text = ""
        self._estimate: float | None = None
        self._width = 0
        self._queue: Any = None

    # ----------------------------------------------------------------- ETA

    def _model(self, strategy: str) -> tuple[float, float]:
        """Seconds of a point = a + b x cost: (a, b) fitted on the finished points.

        Least squares on the strategy's finished points (all points while it has none) with
        a, b >= 0. From a single cost value the two cannot be told apart yet: the overhead is
        taken as :data:`ETA_OVERHEAD_PRIOR` seconds (at most half the time seen).
        """
        points = self.spent.get(strategy) or [p for v in self.spent.values() for p in v]
        cost = np.array([c for c, _ in points], dtype=np.float64)
        seconds = np.array([s for _, s in points], dtype=np.float64)
        if np.ptp(cost) <= 1e-12 * max(1.0, float(cost.max())):
            mean = float(seconds.mean())
            a = min(ETA_OVERHEAD_PRIOR, mean / 2)
            return a, (mean - a) / float(cost.mean()) if cost.mean() > 0 else 0.0
        b, a = np.polyfit(cost, seconds, 1)
        if b < 0:
            return float(seconds.mean()), 0.0
        if a < 0:
            return 0.0, float(seconds.sum() / cost.sum())
        return float(a), float(b)

    def _update_estimate(self) -> None:
        if not self.spent or not self.pending:
            self._estimate = None
            return
        models = {s: self._model(s) for s in {spec["strategy"] for spec in self.pending.values()}}
        work = []
        for spec in self.pending.values():
            a, b = models[spec["strategy"]]
            work.append(a + b * point_cost(spec))
        self._estimate = max(sum(work) / self.workers, max(work))

    def eta(self) -> float | None:
        """Seconds left, or None before any point finished."""
        finished = self.resumed + self.done
        if finished >= self.total:
            return 0.0
        if self._estimate is not None:
            return max(0.0, self._estimate - (self.clock() - self._updated))
        if self.done and not self.pending:  # no cost model (pending specs unknown): naive rate
            return (self.clock() - self.start) / self.done * (self.total - finished)
        return None

    def _bar(self) -> str:
        finished = self.resumed + self.done
        width = 24
        filled = int(width * finished / self.total) if self.total else width
        elapsed = self.clock() - self.start
        eta = self.eta()
        resumed = f" ({self.resumed} resumed)" if self.resumed else ""
        return (
            f"sweep [{'#' * filled}{'.' * (width - filled)}] {finished}/{self.total} points"
            f"{resumed}, elapsed {_clock(elapsed)}, ETA {'?' if eta is None else _clock(eta)}"
        )

    # ----------------------------------------------------------------- output

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()
        self._last_line = self.clock()

    def begin(self) -> None:
        if self.tty:
            self.refresh()
        elif self.enabled:
            self._write(self._bar() + "\n")

    def _drain(self) -> None:
        while self._queue is not None:
            try:
                pid, message = self._queue.get_nowait()
            except Exception:  # queue.Empty, or a queue closed under us: nothing more to show
                return
            self.inner(message, pid=pid)

    def refresh(self) -> None:
        """Redraw the TTY bar, or write a heartbeat line when one is due (called every tick)."""
        self._drain()
        if self.tty:
            bar = self._bar()
            if self.inner_text:
                bar = f"{bar} | {self.inner_text}"
            self._write("\r" + bar.ljust(self._width))
            self._width = len(bar)
        elif self.enabled and self.clock() - self._last_line >= self.heartbeat:
            running = f" | running: {self.inner_text}" if self.inner_text else ""
            self._write(f"{self._bar()}{running}\n")

    def inner(self, message: str, pid: str | None = None) -> None:
        """A message from inside a running point (the point runner's progress callback)."""
        spec = self.pending.get(pid) if pid is not None else None
        where = f"point {self.resumed + self.done + 1}/{self.total}" if self.workers == 1 else ""
        if spec is not None:
            extra = _shown_keys(spec, self.keys)
            where = f"{where} ({spec['strategy']} n={spec['n']}{extra})".strip()
        self.inner_text = f"{where}: {message}" if where else str(message)
        if self.enabled:
            self.refresh()

    def point(self, row: Mapping[str, Any]) -> None:
        self.done += 1
        spec = self.pending.pop(row.get("id"), None)
        if spec is not None and isinstance(row.get("seconds"), int | float):
            self.spent.setdefault(spec["strategy"], []).append(
                (point_cost(spec), float(row["seconds"]))
            )
        self._updated = self.clock()
        self._update_estimate()
        self.inner_text = ""
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
            self.inner_text = ""
            self.refresh()
            self._write("\n")

    # ----------------------------------------------------------------- in-point messages

    def install(self) -> None:
        """Route the point runners' progress messages here (pool workers through a queue)."""
        global _REPORT
        if not self.enabled:
            return
        import multiprocessing

        try:
            self._queue = multiprocessing.Queue()
        except OSError:  # pragma: no cover - no semaphores (some sandboxes): in-process only
            self._queue = None
        _REPORT = _Reporter(os.getpid(), self._queue, self.inner)

    def close(self) -> None:
        """Stop routing messages (safe to call more than once)."""
        global _REPORT
        _REPORT = None
        if self._queue is not None:
            self._drain()
            self._queue.close()
            self._queue = None


class _Reporter:
    """The progress callback a point runner gets: direct in the sweep's process, a queue
    message in a forked pool worker (dropped if the queue is gone; never blocks the point)."""

    def __init__(self, owner: int, queue: Any, sink: Callable[..., None]):
        self.owner, self.queue, self.sink = owner, queue, sink
        self._child_ready = False

    def __call__(self, pid: str, message: str) -> None:
        if os.getpid() == self.owner:
            self.sink(str(message), pid=pid)
            return
        if self.queue is None:
            return
        try:
            if not self._child_ready:
                self.queue.cancel_join_thread()  # a worker's exit never waits on the queue
                self._child_ready = True
            self.queue.put_nowait((pid, str(message)))
        except Exception:  # pragma: no cover - progress must never fail a point
            pass


#: Set while a sweep runs with progress on: the runner's progress callback (see _Reporter).
_REPORT: _Reporter | None = None


def _takes_progress(runner: PointRunner) -> bool:
    """Whether ``runner`` accepts a third (progress) argument."""
    try:
        params = list(inspect.signature(runner).parameters.values())
    except (TypeError, ValueError):
        return False
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return True
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 3


def _in_process(
    runner: PointRunner, jobs: list[tuple[str, dict]], seed: int, tick: Callable[[], None]
) -> Iterator[tuple[str, dict, float]]:
    for pid, spec in jobs:
        yield _execute(runner, spec, seed, pid)


class SweepTerminated(KeyboardInterrupt):
    """SIGTERM arrived during :func:`run_sweep`: handled like Ctrl-C (the store is kept)."""


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM into :class:`SweepTerminated` for the duration (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        raise SweepTerminated(signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Ignore SIGINT and SIGTERM while cleaning up, so a second Ctrl-C cannot cut it short."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, action in previous.items():
            signal.signal(sig, action)


_PR_SET_PDEATHSIG = 1


def _worker_init(
    parent: int, lock_fd: int | None, unfinished: Any = None, workers: int = 1
) -> None:
    """Pool worker start-up: die with the parent, never hold the store's lock.

    A forked worker shares the parent's lock descriptor (an ``flock`` lives as long as any
    copy of it): closing the copy at once leaves the lock to the parent alone. The kernel
    kills the worker when the parent dies (Linux ``PR_SET_PDEATHSIG``; elsewhere a thread
    watching the parent pid). Ctrl-C goes to the whole process group: the parent alone
    handles it and stops the workers. ``unfinished`` (a shared counter of the pool's points
    not yet finished) and ``workers`` (``--workers K``) are what :func:`pool_share` divides.
    """
    global _POOL
    if unfinished is not None:
        _POOL = (unfinished, workers)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if lock_fd is not None:
        with contextlib.suppress(OSError):
            os.close(lock_fd)
    armed = False
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            armed = libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    if os.getppid() != parent:  # the parent died before the death signal was armed
        os._exit(1)
    if not armed:

        def watch() -> None:
            while os.getppid() == parent:
                time.sleep(0.5)
            os._exit(1)

        threading.Thread(target=watch, name="copylearn-parent-watch", daemon=True).start()


def _stop_pool(pool: concurrent.futures.ProcessPoolExecutor) -> None:
    """Kill the pool's workers now (their running points are lost) and reap them."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    for process in processes:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            process.kill()
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        with contextlib.suppress(OSError, ValueError, AttributeError, AssertionError):
            process.join(timeout=5.0)


def _with_pool(
    runner: PointRunner,
    jobs: list[tuple[str, dict]],
    seed: int,
    workers: int,
    tick: Callable[[], None],
    lock_fd: int | None = None,
) -> Iterator[tuple[str, dict, float]]:
    fork = "fork" in multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if fork else None)
    unfinished = context.Value("i", len(jobs))  # counted down by _execute in the workers
    pool = concurrent.futures.ProcessPoolExecutor(
        max_workers=min(workers, len(jobs)),
        mp_context=context,
        initializer=_worker_init,
        initargs=(os.getpid(), lock_fd if fork else None, unfinished, workers),
    )
    pending: dict = {}
    try:
        pending = {pool.submit(_execute, runner, spec, seed, pid): pid for pid, spec in jobs}
        while pending:
            done, _ = concurrent.futures.wait(
                pending, timeout=1.0, return_when=concurrent.futures.FIRST_COMPLETED
            )
            tick()
            for future in sorted(done, key=pending.__getitem__):
                del pending[future]
                try:
                    result = future.result()
                except concurrent.futures.process.BrokenProcessPool:
                    raise CopylearnError(
                        "a sweep worker process died while running a point (killed, e.g. by "
                        "the kernel when memory ran out): finished points are kept; rerun the "
                        "same command to resume, with fewer --workers if memory is short."
                    ) from None
                yield result
    finally:
        if pending:  # interrupted or failed: stop at once, do not wait for running points
            with _signals_deferred():
                _stop_pool(pool)
        else:
            pool.shutdown(wait=True)


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
        # A lost scheduler is reported here in one line; keep the client's reconnection
        # tracebacks off the terminal.
        client_log = logging.getLogger("distributed.client")
        stack.callback(client_log.setLevel, client_log.level)
        client_log.setLevel(logging.CRITICAL)
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
        pending = set(futures)
        idle_since: float | None = None
        last_note = 0.0
        try:
            while pending:
                try:
                    done, _ = distributed.wait(
                        list(pending),
                        timeout=min(1.0, DASK_HEARTBEAT_S),
                        return_when="FIRST_COMPLETED",
                    )
                except TimeoutError:
                    done = set()
                except (asyncio.CancelledError, concurrent.futures.CancelledError):
                    raise _scheduler_lost(address, f"client {client.status}") from None
                tick()
                for future in sorted(done, key=futures.index):
                    pending.discard(future)
                    yield _dask_result(future, client, address)
                if done:
                    idle_since = None
                    continue
                if _dask_workers(client, address) > 0:
                    idle_since = None
                    continue
                now = time.monotonic()
                if idle_since is None:
                    idle_since = last_note = now
                waited = now - idle_since
                if waited >= DASK_WORKER_WAIT_S:
                    raise CopylearnError(
                        f"no Dask worker connected to {address!r} for {waited:.0f} s "
                        f"({len(pending)} points pending); finished points are kept: start "
                        "workers ('dask worker ADDR') and rerun the same command to resume."
                    )
                if now - last_note >= DASK_HEARTBEAT_S:
                    last_note = now
                    print(
                        f"copylearn: waiting for Dask workers at {address!r}: none connected "
                        f"for {waited:.0f} s, {len(pending)} points pending (giving up after "
                        f"{DASK_WORKER_WAIT_S:.0f} s) ...",
                        file=sys.stderr,
                        flush=True,
                    )
        finally:
            if pending:
                with contextlib.suppress(Exception):
                    client.cancel(list(pending))


def _scheduler_lost(address: str, why: str) -> CopylearnError:
    return CopylearnError(
        f"lost the Dask scheduler at {address!r} ({why}); finished points are kept: restart "
        "the scheduler and its workers, then rerun the same command to resume."
    )


def _dask_result(future: Any, client: Any, address: str) -> tuple[str, dict, float]:
    """A finished Dask future's result; a cancelled one means the scheduler is gone."""
    if future.status == "cancelled":
        raise _scheduler_lost(address, f"the point was cancelled, client {client.status}")
    try:
        return future.result()
    except (asyncio.CancelledError, concurrent.futures.CancelledError) as exc:
        why = str(exc).splitlines()[0] if str(exc) else "cancelled"
        raise _scheduler_lost(address, why) from None


def _dask_workers(client: Any, address: str) -> int:
    """Workers connected to the scheduler now (an error line if the scheduler is gone)."""
    if client.status not in ("running", "connecting"):
        raise _scheduler_lost(address, f"client {client.status}")
    try:
        return len(client.scheduler_info().get("workers", {}))
    except (OSError, TimeoutError) as exc:
        raise _scheduler_lost(address, f"{type(exc).__name__}: {exc}") from None


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
        ``0``: run in this process. ``K >= 1``: a process pool of K workers, and with the
        default runner a long point spreads its trials over up to K processes too
        (:func:`copylearn.complexity.run_point`'s ``workers``; identical rows). ``None``
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

    Raises
    ------
    CopylearnError
        A config this machine cannot run (:func:`check_runnable`, with the default runner),
        a store of another sweep, a store that cannot be written (read-only, full disk), or
        a lost Dask scheduler; finished points are always kept.
    SweepTerminated
        On SIGTERM (in the main thread): a ``KeyboardInterrupt``, as Ctrl-C raises. Pool
        workers are killed at once either way and the store is closed.
    """
    if workers is not None and (not _is_int(workers) or workers < 0):
        raise CopylearnError(f"workers={workers!r}: use an integer >= 0 (0 runs in-process).")
    if dask is not None:
        if not isinstance(dask, str) or not dask:
            raise CopylearnError(f"dask={dask!r}: use 'local' or a scheduler address.")
        _import_distributed()
    with _terminate_as_interrupt():
        return _run_sweep(config, Path(out_dir), workers, dask, point_runner, progress)


def _run_sweep(
    config: Config,
    out: Path,
    workers: int | None,
    dask: str | None,
    point_runner: PointRunner | None,
    progress: bool,
) -> list[dict]:
    extended = _check_store(config, out)
    specs = {point_id(spec): spec for spec in config.points()}
    stored = []
    if (out / CONFIG_NAME).is_file():  # read without the lock: nothing is written yet
        stored = [row for row in _read_rows(out / STORE_NAME)[0] if row["id"] in specs]
    if point_runner is None:
        done = {row["id"] for row in stored}
        # Pool workers each hold a point (or a share of one point's trials) at once.
        pool = 1 if workers == 0 or dask is not None else (workers or os.cpu_count() or 1)
        check_runnable(
            config,
            specs=[spec for pid, spec in specs.items() if pid not in done],
            workers=pool,
        )
        from copylearn.complexity import run_point

        point_runner = run_point
        try:
            rows = _read_rows(out / STORE_NAME)[0]
        except OSError:  # an unusable --out: the store's own checks below say so in one line
            rows = []
        stream = _store_stream(config, rows, out)
        if "stream" in inspect.signature(run_point).parameters:  # not in a stand-in runner
            point_runner = functools.partial(run_point, stream=stream, workers=1)
    if not extended and (out / CONFIG_NAME).is_file():
        # Nothing to run: return without taking the store's lock, so a complete store on
        # read-only media (or one being summarised elsewhere) can be re-summarised.
        if len(stored) == len(specs):
            if progress:
                print(
                    f"sweep: all {len(specs)} points done in {out / STORE_NAME}; nothing to run",
                    file=sys.stderr,
                    flush=True,
                )
            return sorted(stored, key=lambda row: sort_key(row["spec"]))
    store = _Store(out, config, extended)
    bar: _Progress | None = None
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
            pending=[spec for _, spec in jobs],
            workers=1 if workers == 0 else (workers or os.cpu_count() or 1),
        )
        bar.install()
        bar.begin()
        if jobs:
            versions = package_versions()
            stamp = row_stamp(config)
            stream = getattr(point_runner, "keywords", {}).get("stream")
            if stream not in (None, LEGACY_STREAM):
                stamp["stream"] = stream
            if dask is not None:
                results = _with_dask(point_runner, jobs, config.seed, dask, workers, bar.refresh)
            elif workers == 0:
                results = _in_process(point_runner, jobs, config.seed, bar.refresh)
            else:
                count = workers if workers is not None else (os.cpu_count() or 1)
                if "workers" in getattr(point_runner, "keywords", {}):
                    # A point may spread its trials over the processes the pool leaves idle,
                    # asked at each stage (identical rows whatever the count,
                    # copylearn.trial_workers); pool workers and helpers never exceed count.
                    point_runner = functools.partial(point_runner, workers=pool_share)
                results = _with_pool(
                    point_runner, jobs, config.seed, count, bar.refresh, lock_fd=store.lock_fd
                )
            with contextlib.closing(results):
                for pid, result, seconds in results:
                    row = _make_row(pid, specs[pid], result, seconds, versions, stamp=stamp)
                    store.append(row)
                    bar.point(row)
        bar.end()
        rows = [row for row in store.rows if row["id"] in specs]
    finally:
        if bar is not None:
            bar.close()
        with _signals_deferred():
            store.close()
    return sorted(rows, key=lambda row: sort_key(row["spec"]))
