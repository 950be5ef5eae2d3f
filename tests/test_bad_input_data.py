"""Bad input for datasets, observables and estimators (issue 9, the `data` slice).

Every case is one ``CopylearnError`` with a one-line message (API) or exit status 2 with one
``copylearn: error:`` line and no traceback (CLI), and nothing is written.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import cirq
import numpy as np
import pytest

import copylearn as cl
from copylearn.cli import main
from copylearn.errors import CopylearnError
from copylearn.pauli import parse_paulis


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> tuple[cl.Dataset, Path]:
    data = cl.collect(
        cl.PauliMixedState("XZ", alpha=0.9), protocol="pauli-shadow", copies=90, seed=2
    )
    return data, data.save(tmp_path_factory.mktemp("good") / "good.npz")


def write_npz(path: Path, data: cl.Dataset, *, header=None, metadata=None, arrays=None, drop=()):
    """An .npz laid out like Dataset.save, with any member replaced (not atomic: tests only)."""
    members = {
        "header": np.array(
            json.dumps(
                header
                if header is not None
                else {
                    "format": "copylearn-dataset",
                    "version": 1,
                    "protocol": data.protocol,
                    "n": data.n,
                }
            )
        ),
        "metadata": np.array(json.dumps(data.metadata if metadata is None else metadata)),
        **{f"array_{k}": v for k, v in (data.arrays if arrays is None else arrays).items()},
    }
    for name in drop:
        members.pop(name)
    np.savez(path, **members)
    return path


def retyped(data: cl.Dataset, dtype) -> dict:
    return {k: v.astype(dtype) for k, v in data.arrays.items()}


def padded(data: cl.Dataset) -> dict:
    arrays = {k: v.copy() for k, v in data.arrays.items()}
    arrays["bits"][0, 0] |= np.uint64(1) << np.uint64(40)  # a bit beyond qubit 1 of n = 2
    return arrays


def npy_file(path: Path, data: cl.Dataset) -> Path:
    with open(path, "wb") as handle:  # a bare .npy under an .npz name
        np.save(handle, data.arrays["bits"])
    return path


def meta(data: cl.Dataset, **changes) -> dict:
    return {**data.metadata, **changes}


# (id, builder of the bad file given (tmp_path, dataset), message fragment)
BAD_FILES: list[tuple[str, Callable, str]] = [
    ("directory", lambda p, d: p, "is a directory, not a dataset file"),
    ("missing", lambda p, d: p / "nothing.npz", "does not exist"),
    ("empty-file", lambda p, d: (p / "e.npz").write_bytes(b"") or p / "e.npz", "not a readable"),
    ("bare-npy", lambda p, d: npy_file(p / "a.npz", d), "not a readable"),
    (
        "metadata-list",
        lambda p, d: write_npz(p / "m.npz", d, metadata=[1, 2]),
        "metadata is a JSON list",
    ),
    (
        "metadata-string-array",
        lambda p, d: (
            np.savez(
                p / "sa.npz",
                header=np.array(
                    json.dumps(
                        {
                            "format": "copylearn-dataset",
                            "version": 1,
                            "protocol": "pauli-shadow",
                            "n": 2,
                        }
                    )
                ),
                metadata=np.array(["{}", "{}"]),
                **{f"array_{k}": v for k, v in d.arrays.items()},
            )
            or p / "sa.npz"
        ),
        "not a readable",
    ),
    (
        "metadata-missing",
        lambda p, d: write_npz(p / "mm.npz", d, drop=["metadata"]),
        "not a readable",
    ),
    (
        "header-numeric",
        lambda p, d: (
            np.savez(p / "h.npz", header=np.arange(3), metadata=np.array("{}")) or p / "h.npz"
        ),
        "not a readable",
    ),
    (
        "header-n-bool",
        lambda p, d: write_npz(
            p / "b.npz",
            d,
            header={
                "format": "copylearn-dataset",
                "version": 1,
                "protocol": "pauli-shadow",
                "n": True,
            },
        ),
        "header names",
    ),
    (
        "arrays-int64",
        lambda p, d: write_npz(p / "i.npz", d, arrays=retyped(d, np.int64)),
        "do not fit",
    ),
    (
        "arrays-1d",
        lambda p, d: write_npz(p / "o.npz", d, arrays={k: v[:, 0] for k, v in d.arrays.items()}),
        "do not fit",
    ),
    (
        "arrays-ragged",
        lambda p, d: write_npz(p / "r.npz", d, arrays={**d.arrays, "bits": d.arrays["bits"][:5]}),
        "do not fit",
    ),
    (
        "padding-bits",
        lambda p, d: write_npz(p / "pad.npz", d, arrays=padded(d)),
        "bits set beyond qubit 1",
    ),
    (
        "qubits-count",
        lambda p, d: write_npz(
            p / "q.npz", d, metadata=meta(d, qubits=cirq.to_json(cirq.LineQubit.range(3)))
        ),
        "are not 2 distinct qubits",
    ),
    (
        "qubits-garbled",
        lambda p, d: write_npz(p / "g.npz", d, metadata=meta(d, qubits='[{"cirq_type": "Nope"}]')),
        "recorded qubits are unreadable",
    ),
    (
        "qubits-repeated",
        lambda p, d: write_npz(
            p / "rq.npz", d, metadata=meta(d, qubits=cirq.to_json([cirq.LineQubit(0)] * 2))
        ),
        "are not 2 distinct qubits",
    ),
]


@pytest.mark.parametrize(
    ("builder", "message"), [c[1:] for c in BAD_FILES], ids=[c[0] for c in BAD_FILES]
)
def test_load_refuses(builder, message, good, tmp_path):
    path = builder(tmp_path, good[0])
    before = sorted(tmp_path.iterdir())
    with pytest.raises(CopylearnError, match=message) as info:
        cl.load(path)
    assert "\n" not in str(info.value)
    assert sorted(tmp_path.iterdir()) == before


# (id, call on the good dataset, message fragment)
BAD_CALLS: list[tuple[str, Callable, str]] = [
    ("load-int", lambda d: cl.load(123), "needs a file path"),
    ("load-none", lambda d: cl.load(None), "needs a file path"),
    (
        "pauli-string-off-state",
        lambda d: d.estimate([cirq.Z(cirq.LineQubit(5))]),
        "not one of the state's qubits",
    ),
    (
        "pauli-string-grid-on-line",
        lambda d: d.estimate_square([cirq.Z(cirq.GridQubit(0, 0))]),
        "not one of the state's qubits",
    ),
    (
        "mom-one-shot-batches",
        lambda d: d.estimate("XZ", median_of_means=90),
        "leaves 1 shots per batch",
    ),
    (
        "mom-too-many-for-weight",
        lambda d: d.estimate(["XI", "XZ"], median_of_means=2),
        "weight 2 needs at least",
    ),
    (
        "mom-zero",
        lambda d: d.estimate("XZ", median_of_means=0),
        "between 1 and the number of shots",
    ),
    (
        "parse-grid-without-qubits",
        lambda d: parse_paulis(cirq.X(cirq.GridQubit(0, 0)), 1),
        "LineQubit",
    ),
    (
        "parse-qubits-wrong-count",
        lambda d: parse_paulis("XZ", 2, qubits=cirq.LineQubit.range(3)),
        "3 qubits given for a state of 2",
    ),
    ("parse-label-length", lambda d: d.estimate("XZZ"), "3 letters but the state has 2 qubits"),
]


@pytest.mark.parametrize(
    ("call", "message"), [c[1:] for c in BAD_CALLS], ids=[c[0] for c in BAD_CALLS]
)
def test_api_refuses(call, message, good):
    with pytest.raises(CopylearnError, match=message) as info:
        call(good[0])
    assert "\n" not in str(info.value)


# (id, argv given the good file and a scratch directory, message fragment)
BAD_CLI: list[tuple[str, Callable, str]] = [
    (
        "estimate-directory",
        lambda f, p: ["estimate", str(p), "--observables", "XZ"],
        "is a directory",
    ),
    (
        "estimate-corrupt",
        lambda f, p: ["estimate", str(corrupt(f, p)), "--observables", "XZ"],
        "not a readable copylearn dataset",
    ),
    (
        "estimate-mom-too-many",
        lambda f, p: ["estimate", str(f), "--observables", "XZ", "--median-of-means", "45"],
        "median_of_means",
    ),
]


def corrupt(good: Path, tmp: Path) -> Path:
    blob = bytearray(good.read_bytes())
    blob[len(blob) // 3] ^= 0xFF
    path = tmp / "corrupt.npz"
    path.write_bytes(bytes(blob))
    return path


@pytest.mark.parametrize(("argv", "message"), [c[1:] for c in BAD_CLI], ids=[c[0] for c in BAD_CLI])
def test_cli_refuses(argv, message, good, tmp_path, capsys):
    args = argv(good[1], tmp_path)
    before = sorted(tmp_path.iterdir())
    status = main(args)
    out, err = capsys.readouterr()
    assert status == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("copylearn: error: "), err
    assert message in lines[0] and "Traceback" not in err
    assert sorted(tmp_path.iterdir()) == before


def test_case_count():
    assert len(BAD_FILES) + len(BAD_CALLS) + len(BAD_CLI) >= 12


# Metadata that contradicts the file's header and arrays, found by a new-user review: loaded
# silently before; a calibration record failed only at first use, without the file's name.
@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("n", 300, "metadata says n = 300 but its header and arrays hold 3"),
        ("protocol", "bell", "metadata says protocol = 'bell'"),
        ("copies", -5, "metadata says copies = -5 but it holds 200 experiments"),
        ("calibration", {"junk": 1}, "calibration record is malformed"),
        ("calibration", [1], "its calibration record is not a JSON object"),
    ],
)
def test_load_refuses_metadata_that_contradicts_the_file(tmp_path, key, value, message):
    import importlib

    dataset = importlib.import_module("copylearn.data").Dataset
    data = cl.collect(cl.PauliMixedState("XZY"), protocol="pauli-shadow", copies=200, seed=1)
    edited = dataset(
        protocol=data.protocol, n=data.n, arrays=data.arrays, metadata={**data.metadata, key: value}
    )
    path = edited.save(tmp_path / "edited.npz")
    with pytest.raises(CopylearnError, match=message) as info:
        cl.load(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)
