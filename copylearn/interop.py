"""Measurement data in and out: other tools' layouts as copylearn datasets, and back.

Each layout is a pair of functions, ``from_<layout>`` (arrays or objects to a
:class:`~copylearn.data.Dataset`) and ``to_<layout>`` (a dataset to arrays or objects), with
the same pair for files (``read_<layout>`` / ``write_<layout>``) behind the command line's
``copylearn import`` / ``copylearn export --format F``. The layouts, their basis codes and
eigenvalue signs, and the estimators each maps to are docs/theory.md §21:

* ``pennylane``: PennyLane's classical shadow, ``bits`` and ``recipes``, integer arrays of shape
  (T, n), recipe 0/1/2 = X/Y/Z, eigenvalue (-1)^bit of the recipe's Pauli (``pauli-shadow``
  data; :func:`from_pennylane`, :func:`to_pennylane`);
* ``recirq-states``: ReCirq ``qml_lfe``'s ``learn_states_c`` (bits and per-qubit basis codes
  0 -> +Z, 1 -> -X, 2 -> -Y, int64 (T, n)) and ``learn_states_q`` (Bell outcomes, int64 (T, 2n),
  columns a_0, b_0, a_1, b_1, ...) arrays (``pauli-shadow`` or ``bell`` data;
  :func:`from_recirq_states`, :func:`to_recirq_states`);
* ``cirq-result``: a ``cirq.Result`` of the user's own circuit whose per-qubit measurement
  bases the user states (Python only; :func:`from_cirq_result`, :func:`to_cirq_result`);
* ``recirq-dynamics``: ReCirq's dynamics files, :mod:`copylearn.recirq`.

Conversions are exact both ways: ``from_x(*to_x(data))`` holds the same arrays as ``data``.
Every input is validated (shape, dtype, codes, bits, lengths) with one line saying what is wrong
(:class:`~copylearn.errors.CopylearnError`); files are read with ``allow_pickle=False`` and
written atomically. PennyLane is never imported, except by ``to_pennylane(..., shadow=True)``.
"""

from __future__ import annotations

import argparse
import os
import re
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from copylearn.atomic import atomic_path
from copylearn.errors import CopylearnError
from copylearn.paths import check_output_dir, check_output_file
from copylearn.pauli import pack_bits

#: The ``--format`` values of ``copylearn import`` / ``copylearn export``.
FORMATS = ("pennylane", "recirq-states", "recirq-dynamics")
#: PennyLane's recipe codes: recipe r measures the Pauli ``PENNYLANE_LETTERS[r]``.
PENNYLANE_LETTERS = "XYZ"
#: ReCirq ``learn_states_c`` basis codes: code c measures ``RECIRQ_SIGNS[c]`` times the Pauli
#: ``RECIRQ_LETTERS[c]`` (0 -> +Z, 1 -> -X, 2 -> -Y).
RECIRQ_LETTERS = "ZXY"
RECIRQ_SIGNS = (1, -1, -1)
#: ReCirq's states file names (``learn_states_c`` adds ``-basis`` for the basis codes).
STATES_NAME = re.compile(r"^Q-size-(?P<n>\d+)-pauli-(?P<pauli>[IXYZ]+)(?P<basis>-basis)?\.npy$")

# Internal basis index: 0 = X, 1 = Y, 2 = Z (PennyLane's recipe order).
_X, _Y, _Z = 0, 1, 2
# ReCirq basis code -> internal index, and back.
_RECIRQ_TO_INDEX = np.array([_Z, _X, _Y], dtype=np.uint8)
_INDEX_TO_RECIRQ = np.array([1, 2, 0], dtype=np.int64)
# ReCirq codes 1 and 2 measure -X and -Y: their bit is the complement of the +X / +Y bit.
_RECIRQ_FLIP = np.array([0, 1, 1], dtype=np.uint8)


# ----------------------------------------------------------------------------- validation
def _integer_array(value: Any, what: str, *, top: int, ndim: tuple[int, ...] = (2,)) -> np.ndarray:
    """``value`` as an integer array with entries in 0..top, or one line saying what is wrong.

    Integer and boolean dtypes are accepted; floats, strings and object arrays are not.
    """
    try:
        array = np.asarray(value)
    except Exception as exc:  # e.g. a ragged list
        raise CopylearnError(
            f"{what} is not an array ({type(exc).__name__}): give a rectangular integer array."
        ) from None
    if array.dtype == object:
        raise CopylearnError(f"{what} is an object array: give a plain integer array (0..{top}).")
    if array.dtype.kind not in "iub":
        raise CopylearnError(f"{what} has dtype {array.dtype}: give integers 0..{top}.")
    if array.ndim not in ndim:
        raise CopylearnError(
            f"{what} has shape {array.shape}: give a 2-D array of shape (shots, qubits)."
        )
    if array.size == 0:
        raise CopylearnError(f"{what} has shape {array.shape}, no data: give at least one shot.")
    low, high = int(array.min()), int(array.max())
    if low < 0 or high > top:
        bad = low if low < 0 else high
        allowed = "0 or 1 (bits)" if top == 1 else f"codes 0..{top}"
        raise CopylearnError(f"{what} holds {bad}: every entry must be {allowed}.")
    return array.astype(np.uint8)


def _same_shape(bits: np.ndarray, codes: np.ndarray, what: str) -> None:
    if bits.shape != codes.shape:
        raise CopylearnError(
            f"{what}: bits of shape {bits.shape} and bases of shape {codes.shape} differ: "
            "give one basis per bit (the same shots and qubits)."
        )


def _check_pauli(pauli: str | None, n: int, what: str) -> str | None:
    if pauli is None:
        return None
    if not isinstance(pauli, str) or len(pauli) != n or set(pauli) - set("IXYZ"):
        raise CopylearnError(
            f"{what} {pauli!r} is not a Pauli label on {n} qubits: give {n} letters of I, X, Y, Z."
        )
    return pauli


# ----------------------------------------------------------------------------- datasets
def _metadata(protocol: str, n: int, shots: int, source: dict[str, Any]) -> dict[str, Any]:
    """Metadata of an imported dataset: what copylearn collections record that is known."""
    from copylearn.collect import _versions
    from copylearn.protocols import get_protocol

    return {
        "protocol": protocol,
        "n": n,
        "copies": shots * get_protocol(protocol).copies_per_shot,
        "experiments": shots,
        "noise": None,
        "versions": _versions(),
        "source": source,
    }


def _shadow_dataset(bits: np.ndarray, index: np.ndarray, source: dict[str, Any]):
    """A ``pauli-shadow`` dataset of eigenvalue bits and basis indices (0 = X, 1 = Y, 2 = Z)."""
    from copylearn.data import Dataset

    shots, n = bits.shape
    arrays = {
        "bits": pack_bits(bits),
        "bases_x": pack_bits((index != _Z).astype(np.uint8)),
        "bases_z": pack_bits((index != _X).astype(np.uint8)),
    }
    metadata = _metadata("pauli-shadow", n, shots, source)
    return Dataset(protocol="pauli-shadow", n=n, arrays=arrays, metadata=metadata)


def _shadow_table(data, what: str) -> tuple[np.ndarray, np.ndarray]:
    """``(bits, index)`` of ``pauli-shadow`` data, uint8 (shots, n); index 0 = X, 1 = Y, 2 = Z."""
    if data.protocol != "pauli-shadow":
        raise CopylearnError(
            f"{what} holds random-Pauli shadows: export 'pauli-shadow' data, not {data.protocol!r}."
        )
    shots = data.outcomes()
    return shots["bits"], (shots["bases"] - 1).astype(np.uint8)


def _source(fmt: str, files: Sequence[str | os.PathLike] | None, **extra: Any) -> dict[str, Any]:
    source: dict[str, Any] = {"format": fmt}
    if files:
        source["files"] = [Path(f).name for f in files]
    source.update({k: v for k, v in extra.items() if v is not None})
    return source


# ----------------------------------------------------------------------------- PennyLane
def from_pennylane(bits, recipes=None, *, wire_map: Sequence[Any] | None = None, files=None):
    """A ``pauli-shadow`` dataset from PennyLane's classical-shadow ``bits`` and ``recipes``.

    Parameters
    ----------
    bits : array-like or qml.ClassicalShadow
        Integer 0/1 array of shape (T, n): column i is wire ``wire_map[i]`` and the measured
        eigenvalue of the recipe's Pauli is ``(-1) ** bits[t, i]``. Also accepted: a
        ``qml.ClassicalShadow`` (its ``bits``, ``recipes`` and ``wire_map``; ``recipes``
        omitted), or the (2, T, n) array that ``qml.classical_shadow`` returns (``recipes``
        omitted).
    recipes : array-like, optional
        Integer array of shape (T, n), 0/1/2 = X/Y/Z (PennyLane's codes).
    wire_map : sequence, optional
        PennyLane's wires of the columns, recorded in ``metadata["source"]["wires"]``; qubit i
        of copylearn's labels is column i whatever the wires.
    files : sequence of path, optional
        The files the arrays came from, recorded in the metadata.

    Returns
    -------
    Dataset
        ``pauli-shadow`` data (docs/theory.md §21.1): ``estimate`` with the mean is
        PennyLane's ``ClassicalShadow.expval(H, k=1)`` for a Pauli word H.

    Raises
    ------
    CopylearnError
        Arrays that are not integer, not (T, n), of different shapes, bits other than 0/1,
        recipes outside 0..2, or a ``wire_map`` whose length is not n.
    """
    if recipes is None and hasattr(bits, "bits") and hasattr(bits, "recipes"):
        shadow = bits
        bits, recipes = shadow.bits, shadow.recipes
        if wire_map is None:
            wire_map = getattr(shadow, "wire_map", None)
    if recipes is None:
        if np.ndim(bits) == 2:  # bits alone: a PennyLane shadow is two arrays (§21.1)
            raise CopylearnError(
                f"pennylane bits of shape {np.shape(bits)} without recipes: a PennyLane shadow "
                "is two (T, n) arrays, bits and recipes: pass from_pennylane(bits, recipes), "
                "or on the command line RECIPES.npy after BITS.npy (or one .npz with both)."
            )
        stacked = _integer_array(bits, "pennylane bits", top=2, ndim=(3,))
        if stacked.shape[0] != 2:
            raise CopylearnError(
                f"pennylane array of shape {stacked.shape}: give bits and recipes, or the "
                "(2, T, n) array that qml.classical_shadow returns."
            )
        bits, recipes = stacked[0], stacked[1]
    b = _integer_array(bits, "pennylane bits", top=1)
    r = _integer_array(recipes, "pennylane recipes", top=2)
    _same_shape(b, r, "pennylane")
    wires = None
    if wire_map is not None:
        wires = [w if isinstance(w, int | str) else str(w) for w in wire_map]
        if len(wires) != b.shape[1]:
            raise CopylearnError(
                f"pennylane wire_map has {len(wires)} wires for {b.shape[1]} columns: give one "
                "wire per column."
            )
    return _shadow_dataset(b, r, _source("pennylane", files, wires=wires))


def to_pennylane(data, *, shadow: bool = False):
    """``(bits, recipes)`` of ``pauli-shadow`` data in PennyLane's layout, int8 (T, n) each.

    Parameters
    ----------
    data : Dataset
        ``pauli-shadow`` data.
    shadow : bool
        Return a ``qml.ClassicalShadow`` instead (imports PennyLane).

    Raises
    ------
    CopylearnError
        Data of another protocol, or ``shadow=True`` without PennyLane installed.
    """
    if not hasattr(data, "protocol"):
        raise CopylearnError(
            f"to_pennylane() takes a Dataset, not {type(data).__name__}: load a file first "
            "(copylearn.load(path))."
        )
    bits, index = _shadow_table(data, "PennyLane's classical-shadow layout")
    bits, recipes = bits.astype(np.int8), index.astype(np.int8)
    if not shadow:
        return bits, recipes
    try:
        import pennylane as qml
    except ImportError:
        raise CopylearnError(
            "to_pennylane(shadow=True) needs PennyLane: pip install pennylane, or take the "
            "(bits, recipes) arrays."
        ) from None
    return qml.ClassicalShadow(bits, recipes)


def read_pennylane(files: Sequence[str | os.PathLike]):
    """A dataset from PennyLane arrays in files: one ``.npz`` holding ``bits`` and ``recipes``,
    one ``.npy`` holding the (2, T, n) array of ``qml.classical_shadow``, or two ``.npy``
    files, bits then recipes.

    Raises
    ------
    CopylearnError
        Another number or kind of files, an unreadable or pickled file, missing members, or
        arrays :func:`from_pennylane` refuses.
    """
    names = [str(f) for f in files]
    if len(names) == 1 and names[0].endswith(".npz"):
        members = _load_npz(names[0], ("bits", "recipes"))
        return from_pennylane(members["bits"], members["recipes"], files=names)
    if len(names) == 1 and names[0].endswith(".npy"):
        return from_pennylane(_load_npy(names[0]), files=names)
    if len(names) == 2 and all(name.endswith(".npy") for name in names):
        return from_pennylane(_load_npy(names[0]), _load_npy(names[1]), files=names)
    raise CopylearnError(
        "--format pennylane reads BITS_RECIPES.npz (members bits, recipes), SHADOW.npy (the "
        "(2, T, n) array of qml.classical_shadow) or BITS.npy RECIPES.npy."
    )


def write_pennylane(data, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write ``bits`` and ``recipes`` (int8) of ``pauli-shadow`` data to an ``.npz`` file,
    atomically; its path.

    Raises
    ------
    CopylearnError
        Data of another protocol, a path not ending in ``.npz``, an existing file without
        ``overwrite``, or an unwritable destination.
    """
    bits, recipes = to_pennylane(data)
    path = check_output_file(path, suffix=".npz", force=overwrite, what="export --out")
    with atomic_path(path, exclusive=not overwrite) as tmp:
        with open(tmp, "wb") as handle:
            np.savez(handle, bits=bits, recipes=recipes)
    return path


# ----------------------------------------------------------------------------- ReCirq states
def from_recirq_states(bits, basis=None, *, pauli: str | None = None, files=None):
    """A dataset from ReCirq ``learn_states_c`` or ``learn_states_q`` arrays.

    Parameters
    ----------
    bits : array-like
        With ``basis``: ``learn_states_c``'s 0/1 outcomes, (T, n) (or (T,) at n = 1, as
        ReCirq saves them). Without: ``learn_states_q``'s 0/1 outcomes, (T, 2n), columns
        a_0, b_0, a_1, b_1, ... (copy A's and copy B's qubit i after CNOT(a_i, b_i), H(a_i)).
    basis : array-like, optional
        ``learn_states_c``'s basis codes, the shape of ``bits``: 0 -> +Z, 1 -> -X, 2 -> -Y.
    pauli : str, optional
        The hidden Pauli of ReCirq's file name (qubit 0 first), recorded in the metadata.
    files : sequence of path, optional
        The files the arrays came from, recorded in the metadata.

    Returns
    -------
    Dataset
        ``pauli-shadow`` data with basis -X read as X and the bit complemented, -Y likewise
        (so ``estimate`` gives tr(Q rho)); or ``bell`` data (m_a = columns 0, 2, ...,
        m_b = columns 1, 3, ...; ``estimate_square`` gives tr(Q rho)^2). docs/theory.md §21.2.

    Raises
    ------
    CopylearnError
        Arrays that are not integer, of the wrong shape (an odd column count without
        ``basis``), of different shapes, bits other than 0/1, codes outside 0..2, or a
        ``pauli`` that is not n letters of IXYZ.
    """
    from copylearn.data import Dataset

    if basis is not None:
        b = _integer_array(bits, "recirq bits", top=1, ndim=(1, 2))
        c = _integer_array(basis, "recirq basis", top=2, ndim=(1, 2))
        _same_shape(b, c, "recirq learn_states_c")
        if b.ndim == 1:  # ReCirq squeezes each 1x1 row at n = 1
            b, c = b[:, None], c[:, None]
        pauli = _check_pauli(pauli, b.shape[1], "recirq pauli")
        source = _source("recirq-states", files, generator="learn_states_c", pauli=pauli)
        return _shadow_dataset(b ^ _RECIRQ_FLIP[c], _RECIRQ_TO_INDEX[c], source)
    table = _integer_array(bits, "recirq two-copy bits", top=1)
    if table.shape[1] % 2:
        raise CopylearnError(
            f"recirq two-copy bits have {table.shape[1]} columns: learn_states_q data have 2n "
            "(a_0, b_0, a_1, b_1, ...); for learn_states_c data pass the basis array too."
        )
    n = table.shape[1] // 2
    pauli = _check_pauli(pauli, n, "recirq pauli")
    arrays = {"m_a": pack_bits(table[:, 0::2]), "m_b": pack_bits(table[:, 1::2])}
    source = _source("recirq-states", files, generator="learn_states_q", pauli=pauli)
    metadata = _metadata("bell", n, len(table), source)
    return Dataset(protocol="bell", n=n, arrays=arrays, metadata=metadata)


def to_recirq_states(data) -> dict[str, np.ndarray]:
    """A dataset as ReCirq's states arrays, int64: ``{"bits", "basis"}`` (``learn_states_c``,
    from ``pauli-shadow`` data) or ``{"bits"}`` (``learn_states_q``, interleaved, from ``bell``
    data). :func:`from_recirq_states` reads them back exactly.

    Raises
    ------
    CopylearnError
        Data of another protocol.
    """
    if data.protocol == "bell":
        shots = data.outcomes()
        table = np.empty((data.shots, 2 * data.n), dtype=np.int64)
        table[:, 0::2] = shots["m_a"]
        table[:, 1::2] = shots["m_b"]
        return {"bits": table}
    if data.protocol != "pauli-shadow":
        raise CopylearnError(
            f"ReCirq's states layout holds 'pauli-shadow' or 'bell' data, not {data.protocol!r}."
        )
    bits, index = _shadow_table(data, "ReCirq's learn_states_c layout")
    codes = _INDEX_TO_RECIRQ[index]
    return {"bits": (bits ^ _RECIRQ_FLIP[codes]).astype(np.int64), "basis": codes}


def recirq_states_names(n: int, pauli: str, *, basis: bool) -> list[str]:
    """ReCirq's file names of a states run: ``Q-size-{n}-pauli-{P}.npy`` and, for
    ``learn_states_c``, ``Q-size-{n}-pauli-{P}-basis.npy``."""
    stem = f"Q-size-{n}-pauli-{pauli}"
    return [f"{stem}.npy", f"{stem}-basis.npy"] if basis else [f"{stem}.npy"]


def _hidden_pauli(data, pauli: str | None) -> str:
    """The Pauli of ReCirq's file name: given, else the dataset's (state or source)."""
    if pauli is None:
        recorded = (data.metadata.get("state_parameters") or {}).get("pauli")
        pauli = recorded or (data.metadata.get("source") or {}).get("pauli")
    if pauli is None:
        raise CopylearnError(
            "ReCirq's states file names hold the hidden Pauli, which this dataset does not "
            "record: give it (--pauli LABEL, Python: pauli='XYZI')."
        )
    return _check_pauli(pauli, data.n, "--pauli")  # type: ignore[return-value]


def write_recirq_states(
    data, directory: str | os.PathLike, *, pauli: str | None = None, overwrite: bool = False
) -> list[Path]:
    """Write a dataset as ReCirq's states files in ``directory`` (atomically); their paths.

    Every destination is checked before anything is written.

    Raises
    ------
    CopylearnError
        Data of another protocol, no hidden Pauli (given or recorded), an existing file
        without ``overwrite``, or an unwritable directory.
    """
    arrays = to_recirq_states(data)
    names = recirq_states_names(data.n, _hidden_pauli(data, pauli), basis="basis" in arrays)
    check_output_dir(directory, what="export --out")
    paths = [Path(directory) / name for name in names]
    for path in paths:
        check_output_file(path, suffix=".npy", force=overwrite, what="export:")
    for path, key in zip(paths, ("bits", "basis"), strict=False):
        with atomic_path(path, exclusive=not overwrite) as tmp:
            np.save(tmp, arrays[key], allow_pickle=False)
    return paths


def read_recirq_states(files: Sequence[str | os.PathLike]):
    """A dataset from ReCirq states files: ``Q-size-{n}-pauli-{P}.npy`` alone
    (``learn_states_q``), or with its ``-basis.npy`` file (``learn_states_c``, either order).

    Every name must be in ReCirq's states pattern (docs/theory.md §21.2), which is checked
    against the arrays (n, the Pauli): the name carries the hidden Pauli and tells the bits
    from the basis file. Arrays under other names are read with :func:`from_recirq_states`.

    Raises
    ------
    CopylearnError
        No file or more than two, a name not in the states pattern (e.g. a dynamics file,
        ``1D-scramble-…``), two files that are not bits and basis, a name whose n does not
        fit the array, a ``learn_states_c`` bits file without its basis file, an unreadable
        or pickled file, or arrays :func:`from_recirq_states` refuses.
    """
    names = [str(f) for f in files]
    if not 1 <= len(names) <= 2:
        raise CopylearnError(
            "--format recirq-states reads Q-size-N-pauli-P.npy (learn_states_q), or that file "
            "and Q-size-N-pauli-P-basis.npy (learn_states_c)."
        )
    matches = [STATES_NAME.match(Path(name).name) for name in names]
    for name, match in zip(names, matches, strict=True):
        if match is None:
            dynamics = Path(name).name.startswith("1D-scramble-")
            hint = " (a dynamics file: use --format recirq-dynamics)" if dynamics else ""
            raise CopylearnError(
                f"{Path(name).name} is not a ReCirq states file name{hint}: --format "
                "recirq-states reads Q-size-N-pauli-P.npy [Q-size-N-pauli-P-basis.npy]; "
                "for other names use copylearn.from_recirq_states(bits, basis, pauli=P)."
            )
    if len(names) == 1 and matches[0]["basis"]:
        raise CopylearnError(
            f"{names[0]} is a learn_states_c basis file: give its bits file "
            f"({Path(names[0]).name.removesuffix('-basis.npy')}.npy) too."
        )
    if len(names) == 2:
        if matches[0]["basis"]:
            names.reverse()
            matches.reverse()
        if matches[0]["basis"]:
            raise CopylearnError(
                f"{names[0]} and {names[1]} are both basis files: give the bits file and its "
                "-basis.npy file."
            )
    pauli = matches[0]["pauli"]
    if any(m["pauli"] != pauli or m["n"] != matches[0]["n"] for m in matches):
        raise CopylearnError(
            f"{' and '.join(Path(n).name for n in names)} name different runs: give one run's "
            "bits file and its -basis.npy file."
        )
    bits = _load_npy(names[0])
    basis = _load_npy(names[1]) if len(names) == 2 else None
    n = int(matches[0]["n"])
    if len(pauli) != n:
        raise CopylearnError(
            f"{Path(names[0]).name}: size {n} with a {len(pauli)}-letter Pauli: check the name."
        )
    columns = bits.shape[1] if bits.ndim == 2 else 1
    if basis is None and columns == n and n > 0 and columns != 2 * n:
        raise CopylearnError(
            f"{Path(names[0]).name}: {n} columns for size {n}, learn_states_c bits: give "
            f"its basis file too ({recirq_states_names(n, pauli, basis=True)[1]})."
        )
    wanted = n if basis is not None else 2 * n
    if columns != wanted:
        raise CopylearnError(
            f"{Path(names[0]).name}: array of shape {bits.shape}, but size-{n} "
            f"{'learn_states_c' if basis is not None else 'learn_states_q'} data have "
            f"{wanted} columns: check the file or its name."
        )
    return from_recirq_states(bits, basis, pauli=pauli, files=names)


# ----------------------------------------------------------------------------- Cirq results
def from_cirq_result(result, bases, *, key: str | None = None, qubits=None):
    """A ``pauli-shadow`` dataset from ``cirq.Result``s of the user's own circuits.

    Each repetition must have measured qubit i in the basis the user states: a letter B of
    X, Y, Z means the measured observable is +B, so bit 0 is eigenvalue +1 (rotate with
    H for X and S^dagger then H for Y before a Z measurement; docs/theory.md §3.1). The
    estimators are random-Pauli shadows': they are unbiased only when each qubit's basis was
    drawn uniformly from X, Y, Z, independently per qubit and repetition.

    Parameters
    ----------
    result : cirq.Result or sequence of cirq.Result
        Results (``cirq.ResultDict`` included) whose measurement ``key`` holds (reps, n) bits.
    bases : str or sequence
        For one result: one label of n letters (every repetition) or one label per repetition.
        For a sequence of results: one such entry per result.
    key : str, optional
        The measurement key; default: the result's only key.
    qubits : sequence of cirq.Qid, optional
        The measured qubits in column order, recorded so that ``cirq.PauliString``
        observables map onto the columns (:attr:`Dataset.qubits`).

    Raises
    ------
    CopylearnError
        No or an ambiguous key, a missing key, results of different widths, bases that are not
        X/Y/Z labels of n letters, or a number of bases that is not 1 or the repetitions.
    """
    import cirq

    single = isinstance(result, cirq.Result)
    results = [result] if single else list(result)
    if not results or not all(isinstance(r, cirq.Result) for r in results):
        raise CopylearnError("from_cirq_result needs a cirq.Result or a list of them.")
    if single:
        per_result = [bases]
    else:
        per_result = [bases] if isinstance(bases, str) else list(bases)
        if len(per_result) == 1:
            per_result = per_result * len(results)
        if len(per_result) != len(results):
            raise CopylearnError(
                f"{len(results)} results and {len(per_result)} bases entries: give one entry "
                "per result (a label, or one label per repetition)."
            )
    all_bits, all_index, keys_used = [], [], []
    for k, (res, entry) in enumerate(zip(results, per_result, strict=True)):
        keys = list(res.measurements)
        name = key
        if name is None:
            if len(keys) != 1:
                raise CopylearnError(
                    f"result {k} has measurement keys {keys}: name the one to read (key=...)."
                )
            name = keys[0]
        if name not in res.measurements:
            raise CopylearnError(f"result {k} has no measurement key {name!r} (keys {keys}).")
        keys_used.append(name)
        bits = _integer_array(res.measurements[name], f"result {k} key {name!r}", top=1)
        all_bits.append(bits)
        all_index.append(_basis_index(entry, bits.shape, f"bases of result {k}"))
    widths = {b.shape[1] for b in all_bits}
    if len(widths) != 1:
        raise CopylearnError(
            f"the results measured {sorted(widths)} qubits: give results of one width."
        )
    data = _shadow_dataset(
        np.concatenate(all_bits),
        np.concatenate(all_index),
        _source("cirq-result", None, keys=sorted(set(keys_used)), results=len(results)),
    )
    if qubits is not None:
        qubits = list(qubits)
        if len(qubits) != data.n or not all(isinstance(q, cirq.Qid) for q in qubits):
            raise CopylearnError(f"qubits: give the {data.n} measured cirq qubits in order.")
        data.metadata["qubits"] = cirq.to_json(qubits, indent=None)
        data.qubits  # noqa: B018 (validates: n distinct qubits)
    return data


def _basis_index(entry, shape: tuple[int, int], what: str) -> np.ndarray:
    """Basis labels (one, or one per row) as an index array of ``shape`` (0 = X, 1 = Y, 2 = Z)."""
    reps, n = shape
    labels = [entry] if isinstance(entry, str) else list(entry)
    if len(labels) not in (1, reps):
        raise CopylearnError(
            f"{what}: {len(labels)} labels for {reps} repetitions: give one label, or one per "
            "repetition."
        )
    bad = [
        lab for lab in labels if not isinstance(lab, str) or len(lab) != n or set(lab) - {*"XYZ"}
    ]
    if bad:
        raise CopylearnError(
            f"{what}: {bad[0]!r} is not a basis label of {n} letters X, Y, Z (one per qubit)."
        )
    table = np.array([[PENNYLANE_LETTERS.index(c) for c in lab] for lab in labels], np.uint8)
    return np.broadcast_to(table, shape) if len(labels) == 1 else table


def to_cirq_result(data, *, key: str = "m"):
    """``(cirq.ResultDict, bases)`` of ``pauli-shadow`` data: the bits under ``key``, shape
    (shots, n), and one basis label per shot; :func:`from_cirq_result` reads them back.

    Raises
    ------
    CopylearnError
        Data of another protocol.
    """
    import cirq

    bits, index = _shadow_table(data, "a cirq.Result with stated bases")
    result = cirq.ResultDict(params=cirq.ParamResolver({}), records={key: bits[:, None, :]})
    labels = ["".join(PENNYLANE_LETTERS[i] for i in row) for row in index]
    return result, labels


# ----------------------------------------------------------------------------- files
def _read_error(path: str, exc: BaseException) -> CopylearnError:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if "allow_pickle" in text or "Object arrays" in text:
        return CopylearnError(
            f"{path} holds Python objects (pickled data), which copylearn never loads: save "
            "plain integer arrays (np.save(..., arr.astype(np.int64)))."
        )
    return CopylearnError(f"{path}: cannot be read as a NumPy array file ({text}).")


def _check_input(path: str) -> None:
    """An existing file that starts as a NumPy ``.npy`` or ``.npz`` (zip) file does."""
    if not os.path.isfile(path):
        what = "is a directory" if os.path.isdir(path) else "does not exist"
        raise CopylearnError(f"input file {path!r} {what}: give an existing file.")
    with open(path, "rb") as handle:
        magic = handle.read(6)
    if magic != b"\x93NUMPY" and not magic.startswith(b"PK"):
        raise CopylearnError(
            f"{path}: cannot be read as a NumPy .npy or .npz file (no NumPy header): save the "
            "arrays with np.save or np.savez."
        )


def _load_npy(path: str) -> np.ndarray:
    """An ``.npy`` array, loaded with ``allow_pickle=False``."""
    _check_input(path)
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise _read_error(path, exc) from None
    if not isinstance(array, np.ndarray):
        raise CopylearnError(f"{path}: an .npz archive, not an .npy array: check the format.")
    return array


def _load_npz(path: str, members: Sequence[str]) -> dict[str, np.ndarray]:
    """The named arrays of an ``.npz`` archive, loaded with ``allow_pickle=False``."""
    _check_input(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            if not isinstance(archive, np.lib.npyio.NpzFile):
                raise ValueError("not an .npz archive")
            missing = [m for m in members if m not in archive.files]
            if missing:
                raise CopylearnError(
                    f"{path} has members {archive.files}, not {missing}: save the arrays as "
                    f"np.savez(path, {', '.join(f'{m}={m}' for m in members)})."
                )
            return {m: np.asarray(archive[m]) for m in members}
    except CopylearnError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise _read_error(path, exc) from None


# ----------------------------------------------------------------------------- command line
def import_files(fmt: str, files: Sequence[str], out: str, *, force: bool = False) -> Path:
    """``copylearn import``: read ``files`` in format ``fmt`` and save the dataset to ``out``.

    The destination is checked before anything is read; nothing is written on bad input.
    """
    out_path = check_output_file(out, suffix=".npz", force=force, what="--out")
    if fmt == "pennylane":
        data = read_pennylane(files)
    elif fmt == "recirq-states":
        data = read_recirq_states(files)
    elif fmt == "recirq-dynamics":
        from copylearn.recirq import import_file

        if len(files) != 1:
            raise CopylearnError("--format recirq-dynamics imports one .npy file per dataset.")
        data = import_file(files[0])
    else:
        raise CopylearnError(f"--format {fmt!r}: use one of {', '.join(FORMATS)}.")
    return data.save(out_path, overwrite=force)


def export_files(
    fmt: str,
    files: Sequence[str],
    out: str,
    *,
    force: bool = False,
    pauli: str | None = None,
    batch: int | None = None,
    number: int | None = None,
) -> list[Path]:
    """``copylearn export``: write the datasets ``files`` in format ``fmt`` under ``out``."""
    from copylearn.data import load

    if fmt != "recirq-dynamics" and (batch is not None or number is not None):
        raise CopylearnError("--batch and --number apply to --format recirq-dynamics only.")
    if fmt != "recirq-states" and pauli is not None:
        raise CopylearnError("--pauli applies to --format recirq-states only.")
    if fmt == "recirq-dynamics":
        from copylearn.recirq import export_files as export_dynamics

        return export_dynamics(files, out, batch=batch or 0, number=number or 0, force=force)
    if len(files) != 1:
        raise CopylearnError(f"--format {fmt} exports one dataset per command.")
    if fmt == "pennylane":
        check_output_file(out, suffix=".npz", force=force, what="--out")
        return [write_pennylane(load(files[0]), out, overwrite=force)]
    if fmt == "recirq-states":
        check_output_dir(out, what="--out")
        return write_recirq_states(load(files[0]), out, pauli=pauli, overwrite=force)
    raise CopylearnError(f"--format {fmt!r}: use one of {', '.join(FORMATS)}.")


def run_cli(args: argparse.Namespace) -> int:
    """Run ``copylearn import`` or ``copylearn export``; exit status 0 (errors raise)."""
    if args.command == "import":
        print(import_files(args.format, args.files, args.out, force=args.force))
    else:
        paths = export_files(
            args.format,
            args.files,
            args.out,
            force=args.force,
            pauli=args.pauli,
            batch=args.batch,
            number=args.number,
        )
        for path in paths:
            print(path)
    return 0
