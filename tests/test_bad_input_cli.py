"""Bad input at the command line, the public API and output paths (issue 9, items 9, 14, 15).

Every case ends in one line: a ``CopylearnError`` from the API, or ``copylearn: error: ...``
and exit status 2 from the command, with no traceback and no file written. Destination checks
come before any work: the cases replace the simulators' entry points by a function that fails
the test if it is called.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import cirq
import pytest

import copylearn as cl
from copylearn.cli import main
from copylearn.errors import CopylearnError
from copylearn.states import load_circuit

ROOT = Path(__file__).resolve().parents[1]


def _read_only_dir(tmp_path: Path) -> Path | None:
    """A directory this process cannot write in, or None (root writes through chmod)."""
    ro = tmp_path / "read-only"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        (ro / "probe").touch()
    except OSError:
        return ro
    (ro / "probe").unlink()
    for candidate in (Path("/sys"), Path("/proc/sys")):
        try:
            (candidate / ".copylearn-probe").touch()
        except OSError:
            return candidate
    return None


@pytest.fixture
def no_work(monkeypatch):
    """Fail the test if anything is simulated, drawn or read from a store."""

    def boom(*args, **kwargs):
        raise AssertionError("work started before the destination was checked")

    monkeypatch.setattr(importlib.import_module("copylearn.collect"), "collect", boom)
    monkeypatch.setattr(importlib.import_module("copylearn.plotting"), "plot_store", boom)
    monkeypatch.setattr(importlib.import_module("copylearn.sweep"), "summary_rows", boom)


def _cli_cases(tmp: Path) -> dict[str, tuple[list[str], str]]:
    """name -> (argv, a phrase the message must contain)."""
    a_dir = tmp / "a-dir"
    a_dir.mkdir()
    (tmp / "dir.npz").mkdir()
    a_file = tmp / "a-file"
    a_file.write_text("not a directory")
    existing = tmp / "existing.npz"
    existing.write_bytes(b"a previous result")
    collect = ["collect", "--state", "pauli:XZ", "--copies", "20", "--seed", "1", "--out"]
    cases = {
        "out is a directory": ([*collect, str(a_dir)], "is a directory"),
        "out .npz is a directory, --force": ([*collect, str(tmp / "dir.npz"), "--force"], "is a"),
        "out under a file": ([*collect, str(a_file / "run.npz")], "which is a file"),
        "out deep under a file": ([*collect, str(a_file / "x" / "run.npz")], "which is a file"),
        "out without suffix": ([*collect, str(tmp / "run")], "does not end in .npz"),
        "out with another suffix": ([*collect, str(tmp / "run.txt")], "does not end in .npz"),
        "out empty": ([*collect, ""], "is empty"),
        "out exists": ([*collect, str(existing)], "exists"),
        "plot out is a file": (["plot", str(a_dir), "--out", str(a_file)], "is a file"),
        "plot out under a file": (
            ["plot", str(a_dir), "--out", str(a_file / "figs")],
            "which is a file",
        ),
        "demo negative seed": (["demo", "--seed", "-3"], "non-negative"),
        "demo one copy": (["demo", "--copies", "1"], "--copies 1"),
        "demo odd copies": (["demo", "--copies", "3"], "even"),
        "demo zero copies": (["demo", "--copies", "0"], "--copies 0"),
        "estimate a directory": (["estimate", str(a_dir), "--observables", "XZ"], "is a directory"),
        "circuit file is a directory": (
            [*collect, str(tmp / "c.npz"), "--state", f"circuit:{a_dir}"],
            "is a directory",
        ),
    }
    ro = _read_only_dir(tmp)
    if ro is not None:
        cases["out in a read-only directory"] = ([*collect, str(ro / "run.npz")], "cannot write")
        cases["plot out in a read-only directory"] = (
            ["plot", str(a_dir), "--out", str(ro / "figs")],
            "cannot write",
        )
    return cases


CLI_CASES = [
    "out is a directory",
    "out .npz is a directory, --force",
    "out under a file",
    "out deep under a file",
    "out without suffix",
    "out with another suffix",
    "out empty",
    "out exists",
    "plot out is a file",
    "plot out under a file",
    "demo negative seed",
    "demo one copy",
    "demo odd copies",
    "demo zero copies",
    "estimate a directory",
    "circuit file is a directory",
    "out in a read-only directory",
    "plot out in a read-only directory",
]


def _listing(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if "read-only" not in p.parts}


@pytest.mark.parametrize("case", CLI_CASES)
def test_cli_bad_input(case, tmp_path, capsys, no_work):
    cases = _cli_cases(tmp_path)
    assert set(cases) <= set(CLI_CASES)
    if case not in cases:
        pytest.skip("no read-only directory here (running as root without a read-only mount)")
    argv, phrase = cases[case]
    before = _listing(tmp_path)
    status = main(argv)
    out, err = capsys.readouterr()
    assert status == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("copylearn: error: "), err
    assert phrase in lines[0]
    assert "Traceback" not in err
    assert _listing(tmp_path) == before, "a file was written"


def test_demo_bad_seed_in_a_real_process():
    """The issue's example, as a user runs it: exit 2, one line, no traceback."""
    proc = subprocess.run(
        [sys.executable, "-m", "copylearn", "demo", "--seed", "-3"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("copylearn: error: --seed -3") and proc.stderr.count("\n") == 1


@pytest.fixture(scope="module")
def tiny():
    return cl.collect(cl.PauliMixedState("XZ"), protocol="bell", copies=20, seed=1)


def _api_cases(tmp: Path, tiny) -> dict[str, tuple[object, str]]:
    """name -> (the call, a phrase the message must contain)."""
    a_file = tmp / "a-file"
    a_file.write_text("x")
    a_dir = tmp / "a-dir"
    a_dir.mkdir(exist_ok=True)
    existing = tmp / "existing.npz"
    existing.write_bytes(b"a previous result")
    npz_dir = tmp / "d.npz"
    npz_dir.mkdir(exist_ok=True)
    ghz = cirq.Circuit(cirq.H(cirq.LineQubit(0)), cirq.CNOT(*cirq.LineQubit.range(2)))
    return {
        "parse_noise number": (lambda: cl.parse_noise(0.01), "not a string"),
        "parse_noise list": (lambda: cl.parse_noise(["depolarizing:0.1"]), "not a string"),
        "LocalNoise negative": (lambda: cl.LocalNoise(depolarizing=-0.1), "outside [0, 1]"),
        "LocalNoise above one": (lambda: cl.LocalNoise(state_depolarizing=1.5), "outside [0, 1]"),
        "LocalNoise text": (lambda: cl.LocalNoise(readout="a"), "as a number"),
        "LocalNoise nan": (lambda: cl.LocalNoise(amplitude_damping=float("nan")), "outside [0, 1]"),
        "mixed depth text": (lambda: cl.random_mixed_state(2, depth="a"), "depth='a'"),
        "brickwork depth negative": (lambda: cl.random_brickwork_state(3, depth=-1), "depth=-1"),
        "brickwork depth zero": (lambda: cl.random_brickwork_state(3, depth=0), "depth=0"),
        "brickwork depth huge": (lambda: cl.random_brickwork_state(3, depth=10**9), "outside [1,"),
        "brickwork depth float": (lambda: cl.random_brickwork_state(3, depth=2.5), "depth=2.5"),
        "product n bool": (lambda: cl.random_product_state(True), "n=True"),
        "product n huge": (lambda: cl.random_product_state(10**9), "smaller n"),
        "mixed n zero": (lambda: cl.random_mixed_state(0), "n=0"),
        "product seed negative": (lambda: cl.random_product_state(2, seed=-1), "negative"),
        "brickwork seed text": (lambda: cl.random_brickwork_state(2, seed="x"), "seed='x'"),
        "pauli state label number": (lambda: cl.PauliMixedState(123), "not a string"),
        "eigenstate label none": (lambda: cl.PauliEigenstate(None), "not a string"),
        "circuit state name": (lambda: cl.CircuitState(ghz, name=3), "name=3"),
        "load_circuit number": (lambda: load_circuit(123), "not a path"),
        "load_circuit directory": (lambda: load_circuit(str(a_dir)), "is a directory"),
        "save onto a directory": (lambda: tiny.save(a_dir), "is a directory"),
        "save onto a .npz directory": (lambda: tiny.save(npz_dir), "is a directory"),
        "save under a file": (lambda: tiny.save(a_file / "run.npz"), "which is a file"),
        "save number": (lambda: tiny.save(123), "not a path"),
        "save existing, no overwrite": (lambda: tiny.save(existing, overwrite=False), "exists"),
    }


API_CASES = [
    "parse_noise number",
    "parse_noise list",
    "LocalNoise negative",
    "LocalNoise above one",
    "LocalNoise text",
    "LocalNoise nan",
    "mixed depth text",
    "brickwork depth negative",
    "brickwork depth zero",
    "brickwork depth huge",
    "brickwork depth float",
    "product n bool",
    "product n huge",
    "mixed n zero",
    "product seed negative",
    "brickwork seed text",
    "pauli state label number",
    "eigenstate label none",
    "circuit state name",
    "load_circuit number",
    "load_circuit directory",
    "save onto a directory",
    "save onto a .npz directory",
    "save under a file",
    "save number",
    "save existing, no overwrite",
]


@pytest.mark.parametrize("case", API_CASES)
def test_api_bad_input(case, tmp_path, tiny):
    cases = _api_cases(tmp_path, tiny)
    assert sorted(cases) == sorted(API_CASES)
    call, phrase = cases[case]
    before = _listing(tmp_path)
    with pytest.raises(CopylearnError) as info:
        call()
    message = str(info.value)
    assert message and "\n" not in message and phrase in message
    assert _listing(tmp_path) == before, "a file was written"
    assert (tmp_path / "existing.npz").read_bytes() == b"a previous result"


def test_api_good_values_next_to_the_bad_ones(tmp_path, tiny):
    """The boundaries the checks draw are the right ones: these are accepted."""
    assert cl.parse_noise(None) is None and cl.parse_noise("none") is None
    assert cl.LocalNoise(depolarizing=1, readout=0).depolarizing == 1.0
    assert cl.random_brickwork_state(3, depth=1, seed=0).n == 3
    assert cl.random_mixed_state(2, depth=1, seed=0).n == 2
    assert cl.random_product_state(2, seed=0).n == 2
    assert tiny.save(tmp_path / "run").name == "run.npz"  # the API appends .npz, as numpy does
    assert cl.load(tiny.save(tmp_path / "new.npz", overwrite=False)).copies == 20
