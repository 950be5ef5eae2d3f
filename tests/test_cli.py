"""The copylearn command: round trips and one-line errors with exit status 2."""

from __future__ import annotations

import json
import subprocess
import sys

import cirq
import pytest

import copylearn as cl
from copylearn.cli import main


def run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_collect_then_estimate_bell(tmp_path, capsys):
    out = tmp_path / "run.npz"
    status, text, _ = run(
        capsys,
        "collect",
        "--state",
        "pauli:XYZI:0.9:-1",
        "--protocol",
        "bell",
        "--copies",
        "2000",
        "--noise",
        "depolarizing:0.01",
        "--seed",
        "7",
        "--out",
        str(out),
    )
    assert status == 0 and "wrote" in text and out.is_file()
    status, text, _ = run(capsys, "estimate", str(out), "--observables", "XYZI,ZZII")
    assert status == 0 and "tr(Q rho)^2" in text and "tr(rho^2)" in text
    status, text, _ = run(capsys, "estimate", str(out), "--observables", "XYZI,ZZII", "--json")
    report = json.loads(text)
    assert report["dataset"]["copies"] == 2000 and report["dataset"]["seed"] == 7
    squares = report["results"][0]["estimates"]
    assert [e["observable"] for e in squares] == ["XYZI", "ZZII"]
    assert squares[0]["value"] == pytest.approx(cl.load(out).estimate_square("XYZI").values[0])


def test_collect_then_estimate_shadow(tmp_path, capsys):
    out = tmp_path / "shadow.npz"
    assert (
        run(
            capsys,
            "collect",
            "--state",
            "pauli:XZ",
            "--protocol",
            "pauli-shadow",
            "--copies",
            "500",
            "--seed",
            "1",
            "--out",
            str(out),
        )[0]
        == 0
    )
    status, text, _ = run(
        capsys, "estimate", str(out), "--observables", "XZ", "--median-of-means", "5", "--json"
    )
    assert status == 0
    assert json.loads(text)["results"][0]["method"] == "median of 5 means"


def test_circuit_state_from_json(tmp_path, capsys):
    q = cirq.LineQubit.range(2)
    path = tmp_path / "bell.json"
    cirq.to_json(cirq.Circuit(cirq.H(q[0]), cirq.CNOT(*q)), path)
    out = tmp_path / "c.npz"
    assert (
        run(
            capsys,
            "collect",
            "--state",
            f"circuit:{path}",
            "--copies",
            "100",
            "--seed",
            "3",
            "--out",
            str(out),
        )[0]
        == 0
    )
    assert cl.load(out).metadata["state"] == "circuit:bell.json"


def test_existing_output_is_not_overwritten(tmp_path, capsys):
    out = tmp_path / "keep.npz"
    out.write_bytes(b"precious")
    status, _, err = run(
        capsys, "collect", "--state", "pauli:XX", "--copies", "10", "--out", str(out)
    )
    assert status == 2 and "--force" in err
    assert out.read_bytes() == b"precious"


def _bad_cases(tmp_path):
    not_json = tmp_path / "c.txt"
    not_json.write_text("H 0; CNOT 0 1")
    not_circuit = tmp_path / "q.json"
    cirq.to_json(cirq.LineQubit(0), not_circuit)
    plain_json = tmp_path / "p.json"
    plain_json.write_text('{"a": 1}')
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(b"\x00" * 64)
    collect = ["collect", "--protocol", "bell", "--copies", "10", "--seed", "1"]
    return {
        "unknown letters": [*collect, "--state", "pauli:XQZ"],
        "identity": [*collect, "--state", "pauli:III"],
        "alpha outside": [*collect, "--state", "pauli:XZ:1.5"],
        "alpha zero": [*collect, "--state", "pauli:XZ:0"],
        "copies zero": ["collect", "--state", "pauli:XZ", "--copies", "0"],
        "copies negative": ["collect", "--state", "pauli:XZ", "--copies", "-2"],
        "copies odd": ["collect", "--state", "pauli:XZ", "--copies", "7"],
        "copies text": ["collect", "--state", "pauli:XZ", "--copies", "many"],
        "unknown noise": [*collect, "--state", "pauli:XZ", "--noise", "thermal:0.1"],
        "unknown protocol": [
            "collect",
            "--state",
            "pauli:XZ",
            "--copies",
            "10",
            "--protocol",
            "swap",
        ],
        "unknown state": [*collect, "--state", "ghz:3"],
        "missing circuit": [*collect, "--state", f"circuit:{tmp_path / 'none.json'}"],
        "circuit not json": [*collect, "--state", f"circuit:{not_json}"],
        "json not cirq": [*collect, "--state", f"circuit:{plain_json}"],
        "cirq not circuit": [*collect, "--state", f"circuit:{not_circuit}"],
        "missing dataset": ["estimate", str(tmp_path / "none.npz"), "--observables", "XZ"],
        "corrupt dataset": ["estimate", str(corrupt), "--observables", "XZ"],
        "missing option": ["collect", "--copies", "10"],
        "unknown command": ["fly"],
    }


BAD_CASES = [
    "unknown letters",
    "identity",
    "alpha outside",
    "alpha zero",
    "copies zero",
    "copies negative",
    "copies odd",
    "copies text",
    "unknown noise",
    "unknown protocol",
    "unknown state",
    "missing circuit",
    "circuit not json",
    "json not cirq",
    "cirq not circuit",
    "missing dataset",
    "corrupt dataset",
    "missing option",
    "unknown command",
]


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_input_gives_one_line_and_status_2(case, tmp_path, capsys):
    cases = _bad_cases(tmp_path)
    assert sorted(cases) == sorted(BAD_CASES)
    argv = cases[case]
    out = tmp_path / "out.npz"
    if argv[0] == "collect":
        argv = [*argv, "--out", str(out)]
    status, text, err = run(capsys, *argv)
    assert status == 2
    assert text == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("copylearn: error: ")
    assert "Traceback" not in err
    assert not out.exists()


def test_wrong_length_observable(tmp_path, capsys):
    out = tmp_path / "r.npz"
    run(
        capsys, "collect", "--state", "pauli:XZ", "--copies", "20", "--seed", "1", "--out", str(out)
    )
    status, _, err = run(capsys, "estimate", str(out), "--observables", "XZZ")
    assert status == 2 and "2 qubits" in err


def test_console_script_reports_errors_without_traceback(tmp_path):
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(b"garbage")
    proc = subprocess.run(
        [sys.executable, "-m", "copylearn", "estimate", str(corrupt), "--observables", "X"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
