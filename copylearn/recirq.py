"""ReCirq-compatible files of the time-reversal task's data (``qml_lfe`` layout).

ReCirq's dynamics generators (``recirq/qml_lfe/learn_dynamics_q.py`` and
``learn_dynamics_c.py``, Huang et al., Science 376, 1182 (2022)) write one ``.npy`` file per
circuit with ``np.save``: an int64 array of 0/1 outcomes, one row per shot,

* two queries on Bell pairs: ``1D-scramble-Q-size-{n}-depth-{depth}-type-{t}-batch-{k}-
  number-{j}.npy``, ``[shots, 2n]``, columns a_0, b_0, a_1, b_1, ... (register A, memory B);
* one query per shot: ``1D-scramble-C-size-{n}-depth-{depth}-type-{t}-batch-{k}-number-{j}
  .npy``, ``[shots, n]``, the bits after S and H (bit 0 means Y = -1, as in
  ``conventional-y``);

with t = 1 for a time-symmetric circuit and 0 for a scrambling one, k the batch's first index
and j the index within the batch. The files hold no circuit parameters.

:func:`export_dataset` writes a ``two-query-bell`` or ``conventional-y`` dataset of a
brickwork process in that layout; :func:`import_file` reads such a file back into a
:class:`copylearn.data.Dataset` (identical arrays; the metadata holds what the name says), so
that :func:`judge` can apply the time-reversal task's rules (docs/theory.md §18) to data from a
ReCirq run, simulated or taken on hardware. ``copylearn export|import --format
recirq-dynamics`` (:mod:`copylearn.interop`) and ``copylearn recirq judge`` are the
command-line forms; ``copylearn recirq export|import`` are deprecated aliases.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np

from copylearn.atomic import atomic_path
from copylearn.errors import CopylearnError
from copylearn.paths import check_output_dir, check_output_file
from copylearn.pauli import pack_bits

#: File-name letter of each protocol, and back.
LETTERS = {"two-query-bell": "Q", "conventional-y": "C"}
PROTOCOLS = {v: k for k, v in LETTERS.items()}
NAME = re.compile(
    r"^1D-scramble-(?P<letter>[QC])-size-(?P<n>\d+)-depth-(?P<depth>\d+)-type-(?P<t>[01])"
    r"-batch-(?P<batch>\d+)-number-(?P<number>\d+)\.npy$"
)
#: Rules of :func:`judge` for two-query (``Q``) data; ``C`` data always use ``collisions``.
RULES = ("all-zeros", "pairs")


def file_name(protocol: str, n: int, depth: int, symmetric: bool, batch: int, number: int) -> str:
    """ReCirq's file name for one circuit's data."""
    return (
        f"1D-scramble-{LETTERS[protocol]}-size-{n}-depth-{depth}-type-{int(symmetric)}"
        f"-batch-{batch}-number-{number}.npy"
    )


def outcome_table(data) -> np.ndarray:
    """The dataset's shots as ReCirq's int64 array (``[shots, 2n]`` interleaved, or
    ``[shots, n]``)."""
    shots = data.spec.unpack(data.arrays, data.n)
    if data.protocol == "two-query-bell":
        table = np.empty((len(shots["m_a"]), 2 * data.n), dtype=np.int64)
        table[:, 0::2] = shots["m_a"]
        table[:, 1::2] = shots["m_b"]
        return table
    return shots["bits"].astype(np.int64)


def export_dataset(
    data, directory: str | Path, *, batch: int = 0, number: int = 0, overwrite: bool = False
) -> Path:
    """Write ``data`` as ReCirq's ``.npy`` file in ``directory`` (atomically); its path.

    Parameters
    ----------
    overwrite : bool
        Replace an existing file of the same name. With False (default) an existing file,
        before or at the moment of writing, is refused and left as it is.

    Raises
    ------
    CopylearnError
        The dataset is not ``two-query-bell`` or ``conventional-y`` data of a recorded
        ``tsym`` or ``scrambling`` process (the name needs its depth and class), ``batch``
        or ``number`` is negative, ``directory`` is a file or cannot be written, or the file
        exists and ``overwrite`` is False.
    """
    path = export_path(data, directory, batch=batch, number=number)
    check_output_dir(directory, what="recirq export: directory")
    check_output_file(path, suffix=".npy", force=overwrite, what="recirq export:")
    with atomic_path(path, exclusive=not overwrite) as tmp:
        np.save(tmp, outcome_table(data), allow_pickle=False)
    return path


def export_path(data, directory: str | Path, *, batch: int = 0, number: int = 0) -> Path:
    """The path :func:`export_dataset` writes ``data`` to (nothing is written).

    Raises
    ------
    CopylearnError
        As :func:`export_dataset`, for the dataset and the indices.
    """
    if data.protocol not in LETTERS:
        raise CopylearnError(
            f"protocol {data.protocol!r} has no ReCirq layout: export 'two-query-bell' or "
            "'conventional-y' data."
        )
    process = data.metadata.get("process") or {}
    if process.get("family") not in ("tsym", "scrambling"):
        raise CopylearnError(
            "ReCirq's file names need a brickwork's class and depth: collect from a 'tsym' or "
            "'scrambling' process (copylearn.processes.sample_process)."
        )
    if min(batch, number) < 0:
        raise CopylearnError(f"batch={batch}, number={number}: use non-negative integers.")
    name = file_name(
        data.protocol, data.n, int(process["depth"]), process["family"] == "tsym", batch, number
    )
    return Path(directory) / name


def import_file(path: str | Path):
    """Read one ReCirq dynamics file into a :class:`copylearn.data.Dataset`.

    Raises
    ------
    CopylearnError
        A name outside ReCirq's pattern, an unreadable or pickled file, an array that is not
        2-D integers with the column count the name implies (2n or n), no rows (0 shots), or
        values other than 0 and 1; each in one line naming the file.
    """
    from copylearn.collect import _versions
    from copylearn.data import Dataset

    path = Path(path)
    match = NAME.match(path.name)
    if match is None:
        raise CopylearnError(
            f"{path.name}: not a ReCirq dynamics file name (1D-scramble-Q|C-size-N-depth-D-"
            "type-T-batch-K-number-J.npy): rename it as ReCirq writes it."
        )
    letter, n = match["letter"], int(match["n"])
    try:
        table = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CopylearnError(f"{path}: cannot be read as a .npy array ({reason}).") from None
    columns = 2 * n if letter == "Q" else n
    if n < 1 or table.ndim != 2 or table.shape[1] != columns:
        raise CopylearnError(
            f"{path.name}: array of shape {table.shape}, but size-{n} {letter} data have "
            f"{columns} columns: check the file or its name."
        )
    if len(table) == 0:
        raise CopylearnError(
            f"{path.name}: the array has no rows (0 shots): give a file with at least one shot."
        )
    if not np.issubdtype(table.dtype, np.integer) or np.any((table != 0) & (table != 1)):
        raise CopylearnError(f"{path.name}: values must be 0 or 1 integers (ReCirq's int64).")
    protocol = PROTOCOLS[letter]
    bits = table.astype(np.uint8)
    if letter == "Q":
        arrays = {"m_a": pack_bits(bits[:, 0::2]), "m_b": pack_bits(bits[:, 1::2])}
    else:
        arrays = {"bits": pack_bits(bits)}
    shots = len(table)
    queries = shots * (2 if letter == "Q" else 1)
    family = "tsym" if match["t"] == "1" else "scrambling"
    metadata = {
        "protocol": protocol,
        "n": n,
        "copies": queries,
        "queries": queries,
        "experiments": shots,
        "process": {"family": family, "n": n, "depth": int(match["depth"])},
        "versions": _versions(),
        "source": {
            "format": "recirq-dynamics",
            "files": [path.name],
            "recirq_file": path.name,
            "batch": int(match["batch"]),
            "number": int(match["number"]),
        },
    }
    return Dataset(protocol=protocol, n=n, arrays=arrays, metadata=metadata)


def check_rule(rule: str, tau: float | None) -> None:
    """Refuse a :func:`judge` rule that cannot be applied, in one line with the fix."""
    if rule not in RULES:
        raise CopylearnError(f"rule {rule!r} is not a two-query rule: use one of {RULES}.")
    if rule == "pairs":
        if tau is None:
            raise CopylearnError(
                "rule 'pairs' needs --tau T, the threshold on the fraction of non-(0,0) pairs: "
                "take it from held-out calibration (a sweep row's decision_rule tau)."
            )
        if not 0.0 <= tau <= 1.0:  # also refuses nan
            raise CopylearnError(f"--tau {tau}: T is a fraction, give a tau in [0, 1].")
    elif tau is not None:
        raise CopylearnError(
            f"--tau applies to rule 'pairs' only (rule {rule!r} has no threshold): drop --tau "
            "or pass --rule pairs."
        )


def pair_fraction(data) -> float:
    """T, the fraction of Bell pairs over all of ``two-query-bell`` ``data`` whose outcome
    is not (0, 0) (docs/theory.md §18.2)."""
    from copylearn.tasks.time_reversal import pair_fraction_sums

    shots = len(data.arrays["m_a"])
    return float(pair_fraction_sums(data.arrays).sum()) / (data.n * max(shots, 1))


def check_collision_tau(collision_tau: float | None) -> None:
    """Refuse a collision threshold that D-hat (in [-1, 1]) cannot be compared with."""
    if collision_tau is not None and not -1.0 <= collision_tau <= 1.0:  # also refuses nan
        raise CopylearnError(
            f"--collision-tau {collision_tau}: D-hat lies in [-1, 1], give a threshold there "
            "(a noisy conventional-y row's decision_rule tau)."
        )


def judge(
    data, rule: str = "all-zeros", tau: float | None = None, *, collision_tau: float | None = None
) -> str:
    """The time-reversal task's decision on all of ``data``: "symmetric" or "scrambling".

    The rules are the task's (docs/theory.md §18). ``two-query-bell`` data: ``rule =
    "all-zeros"`` (default), "symmetric" iff every experiment returned all zeros, for
    noiseless data only (noise makes every process fail it); ``rule = "pairs"``,
    "scrambling" iff T, the fraction of non-(0,0) pairs, exceeds ``tau``, which should come
    from held-out calibration (a sweep row's ``decision_rule``). ``conventional-y`` data: the
    collision statistic D-hat, whatever ``rule``, against ``collision_tau`` when given (the
    held-out calibrated threshold of a noisy point, a sweep row's ``decision_rule`` tau,
    §18.3), else against the noiseless 1/(2(d + 1)), which noise that shrinks Delta defeats.

    Raises
    ------
    CopylearnError
        An unknown rule, ``pairs`` without a ``tau`` in [0, 1], ``tau`` with ``all-zeros``,
        a ``collision_tau`` outside [-1, 1], or a dataset without shots.
    """
    from copylearn.tasks import get_task
    from copylearn.tasks.time_reversal import Instance

    check_rule(rule, tau)
    check_collision_tau(collision_tau)
    task = get_task("time-reversal")
    spec = {"n": data.n, "strategy": data.protocol, "rule": rule}
    calibration = {"tau": tau} if rule == "pairs" else None
    if data.protocol != "two-query-bell":
        calibration = None if collision_tau is None else {"tau": collision_tau}
    learner = task.learner(spec, data.spec, Instance(None, True), calibration)
    shots = len(next(iter(data.arrays.values())))
    if shots == 0:
        raise CopylearnError("the dataset holds no shots: nothing to judge.")
    ends = np.array([shots])
    return "symmetric" if bool(learner.judge(data.arrays, ends, ends)[0]) else "scrambling"


def describe_rule(data, rule: str, tau: float | None, *, collision_tau: float | None = None) -> str:
    """How :func:`judge` decided on ``data``, for the command's output line."""
    from copylearn.tasks.time_reversal import collision_threshold

    if data.protocol != "two-query-bell":
        if collision_tau is not None:
            return f"rule collisions, tau={collision_tau:.6g}, calibrated"
        return f"rule collisions, tau={collision_threshold(data.n):.6g}, noiseless data"
    if rule == "pairs":
        return f"rule pairs, tau={tau:.6g}, T={pair_fraction(data):.6g}"
    return "rule all-zeros, noiseless data"


def export_files(
    files, out: str | Path, *, batch: int = 0, number: int = 0, force: bool = False
) -> list[Path]:
    """Write the datasets ``files`` (``.npz``) as ReCirq files in ``out``, numbered from
    ``number`` in batch ``batch``; their paths. Every destination is checked before anything
    is written (``copylearn export --format recirq-dynamics``)."""
    from copylearn.data import load

    check_output_dir(out, what="--out")
    datasets = [load(name) for name in files]
    paths = [
        export_path(data, out, batch=batch, number=number + k) for k, data in enumerate(datasets)
    ]
    for path in paths:
        check_output_file(path, suffix=".npy", force=force, what="export:")
    return [
        export_dataset(data, out, batch=batch, number=number + k, overwrite=force)
        for k, data in enumerate(datasets)
    ]


def run_cli(args: argparse.Namespace) -> int:
    """Run ``copylearn recirq``; exit status 0 (errors raise :class:`CopylearnError`).

    ``export`` and ``import`` are deprecated aliases of ``copylearn export|import --format
    recirq-dynamics`` (one release): they print a one-line note to stderr and run those.
    """
    import sys

    from copylearn.interop import export_files as export_any
    from copylearn.interop import import_files

    if args.action == "export" and args.out is None:
        raise CopylearnError("recirq export needs --out DIR: the directory for the .npy files.")
    if args.action == "import" and (args.out is None or len(args.files) != 1):
        raise CopylearnError("recirq import takes one .npy file and --out DATA.npz.")
    if args.action in ("export", "import"):
        print(
            f"copylearn: note: 'copylearn recirq {args.action}' is deprecated and goes in the "
            f"next release: use 'copylearn {args.action} --format recirq-dynamics'.",
            file=sys.stderr,
        )
    if args.action == "export":
        paths = export_any(
            "recirq-dynamics",
            args.files,
            args.out,
            force=args.force,
            batch=args.batch,
            number=args.number,
        )
        for path in paths:
            print(path)
    elif args.action == "import":
        print(import_files("recirq-dynamics", args.files, args.out, force=args.force))
    else:
        check_rule(args.rule, args.tau)
        check_collision_tau(args.collision_tau)
        for name in args.files:
            data = import_file(name)
            verdict = judge(data, args.rule, args.tau, collision_tau=args.collision_tau)
            how = describe_rule(data, args.rule, args.tau, collision_tau=args.collision_tau)
            print(f"{name}: {verdict} ({how})")
    return 0
