"""Typed sweep records: a point's spec, its result and its store row as frozen dataclasses.

Each round-trips through JSON (``to_json`` / ``from_json``) to exactly the dicts the store
holds, so that point ids (a hash of the spec's JSON) and stored rows are what they were
before the records existed. Rows of store format :data:`STORE_FORMAT` carry the format
number and the copylearn version that wrote them; rows of older formats are read as before
(format 1: no format, sweep seed or config hash; format 2: no copylearn version), but a
sweep never resumes or extends a store written in another format (:mod:`copylearn.sweep`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from copylearn.errors import CopylearnError

#: The store format new rows carry (``"format"``). 1: rows without it; 2: rows with the sweep
#: seed and config hash; 3: rows with the copylearn version too, written by the plug-in
#: architecture (tasks and protocols asked through registries).
STORE_FORMAT = 3


@dataclass(frozen=True)
class PointSpec:
    """A grid point: task, strategy, n and every other key with a non-omitted value.

    Attributes
    ----------
    task, strategy : str
        The task and the protocol (the sweep's strategy).
    n : int
        Qubits per copy.
    values : tuple of (str, object)
        The other keys and their canonical values, sorted by key (optional keys at their
        default are absent, as in the store).
    """

    task: str
    strategy: str
    n: int
    values: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PointSpec:
        """The spec of a stored or generated spec dict.

        Raises
        ------
        CopylearnError
            ``task``, ``strategy`` or ``n`` is missing or of the wrong type.
        """
        if not isinstance(data, Mapping):
            raise CopylearnError(f"a point spec must be an object, not {type(data).__name__}.")
        task, strategy, n = data.get("task"), data.get("strategy"), data.get("n")
        if not isinstance(task, str) or not isinstance(strategy, str):
            raise CopylearnError(f"point spec {dict(data)!r} lacks a task or strategy name.")
        if isinstance(n, bool) or not isinstance(n, int):
            raise CopylearnError(f"point spec {dict(data)!r} lacks an integer n.")
        rest = tuple(
            sorted((k, _freeze(v)) for k, v in data.items() if k not in ("task", "strategy", "n"))
        )
        return cls(task, strategy, n, rest)

    def to_json(self) -> dict[str, Any]:
        """The spec dict, keys sorted (what the store holds and the id hashes)."""
        data = {"task": self.task, "strategy": self.strategy, "n": self.n}
        data.update((k, _thaw(v)) for k, v in self.values)
        return {k: data[k] for k in sorted(data)}

    def __getitem__(self, key: str) -> Any:
        return self.to_json()[key]

    @property
    def id(self) -> str:
        """Strong id: the first 16 hex characters of SHA-256 of the sorted-key JSON."""
        return spec_id(self.to_json())


@dataclass(frozen=True)
class PointResult:
    """What :func:`copylearn.complexity.run_point` measured at one point (docs/theory.md §6).

    Attributes
    ----------
    copies_per_experiment : int
        Copies of rho one experiment consumes.
    reached : bool
        Whether the Wilson lower bound reached the target by ``max_copies``.
    n_star, n_star_2_3 : float or None
        Copies at which the success curve crosses the target and 2/3.
    n_star_ci, n_star_2_3_ci : list or None
        95% bootstrap intervals (upper end None: censored).
    experiments_star : float or None
        ``n_star / copies_per_experiment``.
    curve : dict
        ``copies``, ``successes`` (per grid point) and ``trials``.
    calibration : dict or None
        The measured damping table, when the point was calibrated.
    held_out : dict or None
        What the task fixed on held-out instances (``Task.calibrate``), when it did.
    """

    copies_per_experiment: int
    reached: bool
    n_star: float | None
    n_star_ci: list | None
    n_star_2_3: float | None
    n_star_2_3_ci: list | None
    experiments_star: float | None
    curve: dict = field(default_factory=dict)
    calibration: dict | None = None
    held_out: dict | None = None

    _ORDER = (
        "copies_per_experiment",
        "reached",
        "n_star",
        "n_star_ci",
        "n_star_2_3",
        "n_star_2_3_ci",
        "experiments_star",
        "calibration",
        "held_out",
        "curve",
    )

    def to_json(self) -> dict[str, Any]:
        """The result dict in the store's key order (no ``calibration`` when uncalibrated)."""
        data = {k: getattr(self, k) for k in self._ORDER}
        for key in ("calibration", "held_out"):
            if data[key] is None:
                del data[key]
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PointResult:
        """The result part of a stored row (other keys are ignored).

        Raises
        ------
        CopylearnError
            A required field is missing.
        """
        missing = [
            k for k in cls._ORDER if k not in ("calibration", "held_out", "curve") and k not in data
        ]
        if missing:
            raise CopylearnError(f"a point result lacks {', '.join(missing)}.")
        return cls(**{k: data[k] for k in cls._ORDER if k in data})


@dataclass(frozen=True)
class PointRecord:
    """One store row: the point, its result (any JSON object a point runner returned) and
    how it was made.

    ``to_json`` gives the row as the store holds it: ``id``, ``spec``, the result's keys, then
    ``format``, ``sweep_seed``, ``config_hash``, ``copylearn``, ``seconds``, ``versions``.
    """

    spec: PointSpec
    result: Mapping[str, Any]
    seconds: float
    versions: Mapping[str, str | None]
    sweep_seed: int
    config_hash: str
    copylearn: str | None
    format: int = STORE_FORMAT

    def to_json(self) -> dict[str, Any]:
        """The row dict."""
        return {
            "id": self.spec.id,
            "spec": self.spec.to_json(),
            **dict(self.result),
            "format": self.format,
            "sweep_seed": self.sweep_seed,
            "config_hash": self.config_hash,
            "copylearn": self.copylearn,
            "seconds": round(self.seconds, 4),
            "versions": dict(self.versions),
        }

    @classmethod
    def from_json(cls, row: Mapping[str, Any]) -> PointRecord:
        """A row of any format this copylearn reads (missing provenance read as None/1).

        Raises
        ------
        CopylearnError
            The row's spec is malformed or its id is not its spec's hash.
        """
        spec = PointSpec.from_json(row["spec"])
        if row.get("id") != spec.id:
            raise CopylearnError(f"row {row.get('id')!r}: its spec does not hash to its id.")
        result = {k: v for k, v in row.items() if k not in ROW_KEYS}
        return cls(
            spec,
            result,
            float(row.get("seconds", 0.0)),
            dict(row.get("versions") or {}),
            row.get("sweep_seed"),
            row.get("config_hash"),
            row.get("copylearn", (row.get("versions") or {}).get("copylearn")),
            row.get("format", 1),
        )


#: Keys of a row that are not the point runner's result.
ROW_KEYS = (
    "id",
    "spec",
    "format",
    "sweep_seed",
    "config_hash",
    "copylearn",
    "seconds",
    "versions",
    "kind",
)


def spec_id(spec: Mapping[str, Any]) -> str:
    """The id of a spec dict: first 16 hex characters of SHA-256 of its sorted-key JSON."""
    text = json.dumps(dict(spec), sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _freeze(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, dict):
        raise CopylearnError(f"a point spec value must be a JSON scalar or list, not {value!r}.")
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_thaw(v) for v in value]
    return value
