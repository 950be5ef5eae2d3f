"""Bad input to `plot` (subsets, output paths) and to the size limits: one line, exit 2.

Each CLI case must print exactly one ``copylearn: error: ...`` line, no traceback, exit with
status 2 and write no file; each API case must raise one-line ``CopylearnError``.
"""

from __future__ import annotations

import json
import os

import cirq
import pytest

import copylearn as cl
from copylearn.backends import limits
from copylearn.cli import main
from copylearn.errors import CopylearnError
from copylearn.plotting import parse_n_selection, plot_store, select_rows
from copylearn.sweep import point_id


def spec(strategy: str, n: int, noise: str = "none") -> dict:
    return {
        "task": "pauli-prediction",
        "strategy": strategy,
        "n": n,
        "alpha": 0.9,
        "weight": "full",
        "queries": 3,
        "noise": noise,
        "target": 0.9,
        "trials": 40,
        "max_copies": 10**6,
    }


def row(s: dict, n_star: float) -> dict:
    return {
        "id": point_id(s),
        "spec": s,
        "n_star": n_star,
        "n_star_ci": [0.9 * n_star, 1.1 * n_star],
        "reached": True,
        "copies_per_experiment": 2 if s["strategy"] == "bell" else 1,
    }


@pytest.fixture
def store(tmp_path):
    path = tmp_path / "store"
    path.mkdir()
    rows = [
        row(spec(strategy, n, noise), (30.0 if strategy == "bell" else 10 * 3.0**n))
        for strategy in ("bell", "pauli-shadow")
        for n in (1, 2, 3)
        for noise in ("none", "state_depolarizing:0.1")
    ]
    (path / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


# (extra argv after `plot STORE --out OUT`, a fragment of the message)
PLOT_CASES = [
    (["--where", "noise"], "has no KEY=VALUE"),
    (["--where", "=none"], "has no KEY=VALUE"),
    (["--where", "noise="], "has an empty value"),
    (["--where", "noise=none,"], "has an empty value"),
    (["--where", "nois=none"], "'nois' is not a grid key of this store"),
    (["--where", "noise=state_depolarizing:0.11"], "matches no point"),
    (["--where", "noise=bogus:0.1"], "unknown noise 'bogus'"),
    (["--where", "noise=state_depolarizing:2"], "noise"),
    (["--where", "alpha=abc"], "--where alpha=abc matches no point"),
    (["--where", "strategy=bel"], "the store's strategy values are bell, pauli-shadow"),
    (["--where", "strategy=bell", "--where", "strategy=pauli-shadow"], "no point matches all"),
    (["--n", "4-1"], "runs backwards; write 1-4"),
    (["--n", "1-"], "is not a count or range"),
    (["--n", "a"], "is not a count or range"),
    (["--n", "1.5"], "is not a count or range"),
    (["--n", "0"], "qubit counts start at 1"),
    (["--n", ""], "is empty"),
    (["--n", "50-60"], "--n matches no point: the store has n = 1, 2, 3"),
    (["--where", "noise=state_depolarizing:0.1", "--n", "7"], "matches no point"),
]


def run_cli(argv, capsys):
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.err


def check_one_line(code, err, fragment):
    assert code == 2
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("copylearn: error: ")
    assert fragment in lines[0], lines[0]


@pytest.mark.parametrize(("extra", "fragment"), PLOT_CASES)
def test_plot_subset_errors(store, tmp_path, capsys, extra, fragment):
    out = tmp_path / "figs"
    code, err = run_cli(["plot", str(store), "--out", str(out), *extra], capsys)
    check_one_line(code, err, fragment)
    assert not out.exists()  # checked before anything is drawn or written


def test_plot_out_is_a_file(store, tmp_path, capsys):
    out = tmp_path / "figure.png"
    out.write_bytes(b"not a directory")
    code, err = run_cli(["plot", str(store), "--out", str(out)], capsys)
    check_one_line(code, err, "is a file, not a directory: give a directory path")
    assert out.read_bytes() == b"not a directory"


def test_plot_out_under_a_file(store, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, err = run_cli(["plot", str(store), "--out", str(blocker / "figs")], capsys)
    check_one_line(code, err, "which is a file, not a directory")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "store"]


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes anywhere")
def test_plot_out_read_only(store, tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        code, err = run_cli(["plot", str(store), "--out", str(locked / "figs")], capsys)
    finally:
        locked.chmod(0o700)
    check_one_line(code, err, "is not writable")
    assert list(locked.iterdir()) == []


def test_plot_store_missing(tmp_path, capsys):
    code, err = run_cli(["plot", str(tmp_path / "nothing"), "--out", str(tmp_path / "f")], capsys)
    check_one_line(code, err, "holds no sweep results")
    assert not (tmp_path / "f").exists()


# ------------------------------------------------------------------------------------------
# API: the same validation from Python
# ------------------------------------------------------------------------------------------

API_CASES = [
    (lambda rows: select_rows(rows, n=[1.5]), "must be qubit counts"),
    (lambda rows: select_rows(rows, n="2-"), "is not a count or range"),
    (lambda rows: select_rows(rows, where=[3]), "is not text"),
    (lambda rows: select_rows(rows, where="alpha"), "has no KEY=VALUE"),
    (lambda rows: parse_n_selection(None), "is empty"),
]


@pytest.mark.parametrize(("call", "fragment"), API_CASES)
def test_api_selection_errors(call, fragment):
    rows = [row(spec("bell", n), 30.0) for n in (1, 2)]
    with pytest.raises(CopylearnError) as info:
        call(rows)
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_plot_store_api_refuses_before_writing(store, tmp_path):
    with pytest.raises(CopylearnError, match="no point matches all"):
        plot_store(store, tmp_path / "figs", where=["strategy=bell", "strategy=pauli-shadow"])
    with pytest.raises(CopylearnError, match="matches no point"):
        plot_store(store, tmp_path / "figs", where=["noise=readout:0.2"])
    assert not (tmp_path / "figs").exists()


# ------------------------------------------------------------------------------------------
# Size limits: registers and collections
# ------------------------------------------------------------------------------------------


def ghz_file(tmp_path, n):
    q = cirq.LineQubit.range(n)
    circuit = cirq.Circuit(cirq.H(q[0]), *(cirq.CNOT(q[i], q[i + 1]) for i in range(n - 1)))
    path = tmp_path / f"ghz{n}.json"
    cirq.to_json(circuit, path)
    return path


SIZE_CASES = [
    # (extra collect argv, memory cap in GiB or a bad value, message fragment)
    (["--state", "pauli:XYZI", "--copies", "1000000000"], "8", "needs about 201 GiB"),
    (["--state", "pauli:XYZI", "--protocol", "bell", "--copies", "1000000000"], "8", "GiB"),
    (
        ["--state", "pauli:XY", "--copies", "1000", "--calibration-copies", "1000000000"],
        "8",
        "calibration copies per letter",
    ),
    (["--state", "GHZ30", "--copies", "10"], "4", "prepared 30-qubit state vector and needs"),
    (["--state", "GHZ30", "--protocol", "bell", "--copies", "10"], "64", "60-qubit"),
    (["--state", "GHZ13", "--backend", "exact", "--copies", "10"], "64", "at most 12 qubits"),
    (["--state", "pauli:XYZI", "--copies", "10"], "lots", "positive number of GiB"),
    (["--state", "pauli:XYZI", "--copies", "10"], "-1", "positive number of GiB"),
]


@pytest.mark.parametrize(("extra", "cap", "fragment"), SIZE_CASES)
def test_collect_size_limits(tmp_path, capsys, monkeypatch, extra, cap, fragment):
    monkeypatch.setenv(limits.MEMORY_ENV, cap)
    extra = [
        f"circuit:{ghz_file(tmp_path, int(a[3:]))}" if a.startswith("GHZ") else a for a in extra
    ]
    protocol = [] if "--protocol" in extra else ["--protocol", "pauli-shadow"]
    out = tmp_path / "data.npz"
    code, err = run_cli(["collect", *protocol, *extra, "--seed", "1", "--out", str(out)], capsys)
    check_one_line(code, err, fragment)
    assert not out.exists()


def test_api_register_limit_for_a_user_circuit(monkeypatch):
    monkeypatch.setenv(limits.MEMORY_ENV, "1")
    q = cirq.LineQubit.range(28)
    circuit = cirq.Circuit(cirq.H(q[0]), *(cirq.CNOT(q[0], q[i]) for i in range(1, 28)))
    with pytest.raises(CopylearnError, match=r"prepared 28-qubit state vector and needs about 6"):
        cl.collect(circuit, protocol="pauli-shadow", copies=10)  # the state path's three copies
