"""Results as data: a sweep store's typed records and their flat table (CSV, pandas).

:func:`load_results` reads a store with the reader ``copylearn summary`` uses
(:func:`copylearn.sweep.read_store`: read-only, every row checked against the store's config)
and returns its rows as :class:`~copylearn.records.PointRecord` objects. :meth:`Results.table`
flattens them to one row per point of the summary (a point with a judged axis, such as the
query counts M of ``query_grid = "log"``, gives one row per value, as ``summary`` shows it),
with the columns of :data:`RESULT_COLUMNS`; :meth:`Results.to_pandas` makes that table a
``pandas.DataFrame`` (``pip install 'copylearn[pandas]'``) and :meth:`Results.write_csv` writes
it without pandas (``copylearn summary DIR --csv``).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from copylearn.errors import CopylearnError
from copylearn.records import PointRecord

if TYPE_CHECKING:  # pragma: no cover - pandas is an optional extra
    import pandas

__all__ = ["RESULT_COLUMNS", "Results", "load_results", "require_pandas"]

#: Columns after the spec's, in this order (docs: README "Results as data"). N* and its
#: bootstrap interval are in copies of rho (docs/theory.md §6); ``experiments_star`` is
#: N* / ``copies_per_experiment``; ``seconds`` is the point's wall time; ``stream`` the
#: random-stream version it drew with (1 for rows that record none, docs/theory.md §15).
RESULT_COLUMNS = (
    "copies_per_experiment",
    "reached",
    "n_star",
    "n_star_ci_low",
    "n_star_ci_high",
    "n_star_2_3",
    "n_star_2_3_ci_low",
    "n_star_2_3_ci_high",
    "experiments_star",
    "seconds",
    "stream",
    "format",
    "copylearn",
    "sweep_seed",
    "config_hash",
    "id",
)

#: Record fields flattened into ``PREFIX.KEY`` columns when a row has them: the decision rule a
#: task fixed on held-out instances (every scalar, e.g. ``decision_rule.threshold``) and the
#: copies the damping calibration spent (``calibration.copies``; the per-qubit damping table
#: stays in the record).
_FLATTENED = ("decision_rule", "calibration")


def require_pandas(what: str) -> Any:
    """The ``pandas`` module, or one line saying how to install it.

    Parameters
    ----------
    what : str
        The caller, for the message (e.g. ``"Results.to_pandas()"``).

    Raises
    ------
    CopylearnError
        pandas is not installed.
    """
    try:
        import pandas
    except ModuleNotFoundError as exc:
        if exc.name != "pandas":
            raise
        raise CopylearnError(
            f"{what} needs pandas: pip install 'copylearn[pandas]' (or write the table "
            "without it: 'copylearn summary DIR --csv')."
        ) from None
    return pandas


@dataclass(frozen=True)
class Results(Sequence[PointRecord]):
    """The typed records of one sweep store, in store order.

    A read-only sequence of :class:`~copylearn.records.PointRecord` (``len``, iteration,
    indexing); ``record.spec`` is the point's :class:`~copylearn.records.PointSpec` and
    ``record.result`` the point runner's output (:class:`~copylearn.records.PointResult`'s
    fields, and ``nested`` for a judged axis).

    Attributes
    ----------
    directory : pathlib.Path
        The store directory.
    records : tuple of PointRecord
        One per stored point.
    """

    directory: Path
    records: tuple[PointRecord, ...]

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index):  # type: ignore[override]
        return self.records[index]

    def __iter__(self) -> Iterator[PointRecord]:
        return iter(self.records)

    def summary_rows(self) -> list[dict[str, Any]]:
        """The rows ``copylearn summary`` shows, as dicts (:func:`copylearn.sweep.summary_rows`).

        Built from :attr:`records` by the same expansion and order as the summary.
        """
        from copylearn.sweep import expand_nested, sort_key

        rows = [e for record in self.records for e in expand_nested(record.to_json())]
        return sorted(rows, key=lambda row: sort_key(row["spec"]))

    def columns(self) -> list[str]:
        """The table's columns: ``task``, ``strategy``, ``n``, the other spec keys (sorted),
        :data:`RESULT_COLUMNS`, then the flattened ``decision_rule.*`` and ``calibration.*``
        columns that any row has."""
        return _columns(self.summary_rows())

    def table(self) -> list[dict[str, Any]]:
        """One flat dict per summary row, keyed by :meth:`columns` (None where a row has no
        value: an unreached N*, a censored CI end, a key a row's task lacks).

        Spec values are canonical (optional keys at their default filled in, as the summary
        shows them); CIs are split into ``_low`` and ``_high``.
        """
        rows = self.summary_rows()
        columns = _columns(rows)
        return [dict.fromkeys(columns) | _flat(row) for row in rows]

    def to_pandas(self) -> pandas.DataFrame:
        """The :meth:`table` as a ``pandas.DataFrame``, one row per point, columns in order.

        Raises
        ------
        CopylearnError
            pandas is not installed (``pip install 'copylearn[pandas]'``).
        """
        pd = require_pandas("Results.to_pandas()")
        rows = self.summary_rows()
        return pd.DataFrame([_flat(row) for row in rows], columns=_columns(rows))

    def write_csv(self, file: str | os.PathLike | TextIO) -> None:
        """Write the :meth:`table` as CSV (header line, then one line per point).

        Numbers are written in full precision (Python's shortest round-trip form), a missing
        value as an empty cell, a list-valued spec key as JSON, booleans as ``True`` /
        ``False``.

        Parameters
        ----------
        file : path or text stream
            ``"-"`` for standard output, a path (written atomically; an existing file is
            replaced) or an open text stream.
        """
        from copylearn.atomic import atomic_path

        text = self.csv_text()
        if file == "-":
            sys.stdout.write(text)
        elif isinstance(file, str | os.PathLike):
            with atomic_path(file) as tmp:
                tmp.write_text(text, encoding="utf-8")
        else:
            file.write(text)

    def csv_text(self) -> str:
        """The :meth:`table` as CSV text (see :meth:`write_csv`)."""
        rows = self.summary_rows()
        columns = _columns(rows)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            flat = _flat(row)
            writer.writerow([_cell(flat.get(c)) for c in columns])
        return buffer.getvalue()


def load_results(directory: str | os.PathLike) -> Results:
    """The typed records of a sweep store, read-only.

    Parameters
    ----------
    directory : str or path-like
        A directory written by ``copylearn sweep`` (or :func:`copylearn.sweep.run_sweep`).

    Returns
    -------
    Results
        A sequence of :class:`~copylearn.records.PointRecord`, with ``.to_pandas()``,
        ``.table()`` and ``.write_csv()``.

    Raises
    ------
    CopylearnError
        ``directory`` is not a path, holds no store, or its store is damaged or holds rows
        that do not belong to it (the messages of :func:`copylearn.sweep.summary_rows`).
    """
    if not isinstance(directory, str | os.PathLike) or not str(directory):
        raise CopylearnError(
            f"load_results({directory!r}): give the directory of a sweep store (its --out)."
        )
    from copylearn.sweep import read_store

    rows = read_store(directory)
    return Results(Path(directory), tuple(PointRecord.from_json(row) for row in rows))


def _spec_keys(spec: Mapping[str, Any]) -> tuple[str, ...]:
    """The spec's own keys, then its task's, then its protocol's options (a task or protocol
    not registered: its own keys only), so an option left out at its default still gets its
    column and value."""
    from copylearn.sweep import protocol_defaults, spec_keys

    try:
        declared = spec_keys(spec["task"])
    except (CopylearnError, KeyError):
        declared = ()
    try:
        options = tuple(protocol_defaults(spec["strategy"]))
    except (CopylearnError, KeyError):
        options = ()
    return tuple(dict.fromkeys([*spec, *declared, *options]))


def _columns(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    spec_keys = dict.fromkeys(k for row in rows for k in _spec_keys(row["spec"]))
    leading = ("task", "strategy", "n")
    spec_columns = [*leading, *sorted(k for k in spec_keys if k not in leading)]
    extra = dict.fromkeys(
        f"{prefix}.{key}"
        for row in rows
        for prefix in _FLATTENED
        for key in _scalars(prefix, row.get(prefix))
    )
    return [*spec_columns, *RESULT_COLUMNS, *extra]


def _flat(row: Mapping[str, Any]) -> dict[str, Any]:
    """One summary row as a flat dict of scalars (spec values may be lists)."""
    from copylearn.sweep import spec_value

    spec = row["spec"]
    flat: dict[str, Any] = {}
    for key in _spec_keys(spec):
        try:
            flat[key] = spec_value(spec, key)
        except KeyError:
            flat[key] = None
    for key in ("copies_per_experiment", "reached", "n_star", "n_star_2_3", "experiments_star"):
        flat[key] = row.get(key)
    for key in ("n_star", "n_star_2_3"):
        ci = row.get(f"{key}_ci")
        low, high = ci if isinstance(ci, list | tuple) and len(ci) == 2 else (None, None)
        flat[f"{key}_ci_low"], flat[f"{key}_ci_high"] = low, high
    flat["seconds"] = row.get("seconds")
    flat["stream"] = row.get("stream") or 1
    flat["format"] = row.get("format", 1)
    for key in ("copylearn", "sweep_seed", "config_hash", "id"):
        flat[key] = row.get(key)
    for prefix in _FLATTENED:
        for key, value in _scalars(prefix, row.get(prefix)).items():
            flat[f"{prefix}.{key}"] = value
    return flat


def _scalars(prefix: str, value: object) -> dict[str, Any]:
    """The columns of a ``decision_rule`` (every scalar) or ``calibration`` (its copies)."""
    if not isinstance(value, Mapping):
        return {}
    if prefix == "calibration":
        return {k: value[k] for k in ("copies",) if k in value}
    return {k: v for k, v in value.items() if isinstance(v, bool | int | float | str)}


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else str(value)
    if isinstance(value, list | tuple | dict):
        return json.dumps(value)
    return str(value)
