"""The command line under real use (issue 9, items 7, 14, 15, 18): racing writers, closed pipes,
signed observables, byte-order marks, device messages and a parser that imports no simulator.
"""

from __future__ import annotations

import dataclasses
import errno
import importlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import copylearn as cl
from copylearn import atomic
from copylearn.cli import BACKEND_NAMES, EXIT_BROKEN_PIPE, PROTOCOL_NAMES, main
from copylearn.errors import CopylearnError

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}

# Runs the command with copylearn.collect.collect wrapped: each process touches its own file in
# BARRIER, then waits until both have, so both have passed every check before either writes.
RACER = textwrap.dedent(
    """
    import importlib, sys, time
    from pathlib import Path

    barrier, me, argv = Path(sys.argv[1]), sys.argv[2], sys.argv[3:]
    module = importlib.import_module("copylearn.collect")
    real = module.collect

    def waiting(*args, **kwargs):
        (barrier / me).touch()
        deadline = time.monotonic() + 300
        while len(list(barrier.iterdir())) < 2:
            if time.monotonic() > deadline:
                raise SystemExit("the other process never reached the barrier")
            time.sleep(0.01)
        return real(*args, **kwargs)

    module.collect = waiting
    from copylearn.cli import main

    sys.exit(main(argv))
    """
)


def _collect_argv(out: Path, seed: int, *extra: str) -> list[str]:
    return [
        "collect", "--state", "pauli:XZ", "--protocol", "bell", "--copies", "200",
        "--seed", str(seed), "--out", str(out), *extra,
    ]  # fmt: skip


def _race(tmp_path: Path, out: Path, *extra: str) -> list[subprocess.CompletedProcess]:
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                RACER,
                str(barrier),
                f"p{seed}",
                *_collect_argv(out, seed, *extra),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=ENV,
        )
        for seed in (11, 12)
    ]
    results = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=600)
        results.append(subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr))
    return results


def test_two_concurrent_collects_to_one_new_file(tmp_path):
    """Item 7's example: both runs pass the existence check; exactly one may write."""
    out = tmp_path / "run.npz"
    results = _race(tmp_path, out)
    codes = sorted(r.returncode for r in results)
    assert codes == [0, 2], [r.stderr for r in results]
    winner = next(r for r in results if r.returncode == 0)
    loser = next(r for r in results if r.returncode == 2)
    assert loser.stdout == "" and loser.stderr.count("\n") == 1
    # The loser refuses at the exclusive link ("another writer") or, if the winner had already
    # finished when it came to save, at save()'s own check ("exists"): either way, one line.
    assert loser.stderr.startswith("copylearn: error: ")
    assert "another writer" in loser.stderr or "exists" in loser.stderr
    assert "Traceback" not in loser.stderr
    # The file on disk is the winner's dataset, whole.
    seed = cl.load(out).metadata["seed"]
    assert f"seed={seed}" in winner.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["barrier", "run.npz"]


@pytest.mark.slow
def test_two_concurrent_collects_with_force_both_replace(tmp_path):
    """With --force both runs may write; the file is one of the two datasets, never a mix."""
    out = tmp_path / "run.npz"
    out.write_bytes(b"an old result")
    results = _race(tmp_path, out, "--force")
    assert [r.returncode for r in results] == [0, 0], [r.stderr for r in results]
    assert cl.load(out).metadata["seed"] in (11, 12)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["barrier", "run.npz"]


@pytest.fixture(scope="module")
def tiny():
    return cl.collect(cl.PauliMixedState("XZ"), protocol="pauli-shadow", copies=400, seed=3)


def test_exclusive_save_when_another_writer_wins_the_window(tmp_path, tiny, monkeypatch):
    """The same fault through the API: the file appears between the check and the write."""
    path = tmp_path / "run.npz"
    data_module = importlib.import_module("copylearn.data")
    real = data_module.np.savez_compressed

    def other_writer_first(file, **arrays):
        path.write_bytes(b"the other writer's result")
        real(file, **arrays)

    monkeypatch.setattr(data_module.np, "savez_compressed", other_writer_first)
    with pytest.raises(CopylearnError, match="another writer"):
        tiny.save(path, overwrite=False)
    assert path.read_bytes() == b"the other writer's result"
    assert [p.name for p in tmp_path.iterdir()] == ["run.npz"]  # no temporary file left


@pytest.mark.parametrize("code", [errno.EPERM, errno.EOPNOTSUPP])
def test_exclusive_write_without_hard_links(tmp_path, monkeypatch, code):
    """File systems without hard links fall back to an O_EXCL placeholder: still exclusive."""

    def no_links(src, dst):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(atomic.os, "link", no_links)
    target = tmp_path / "x.txt"
    with atomic.atomic_path(target, exclusive=True) as tmp:
        tmp.write_text("first")
    assert target.read_text() == "first"
    with pytest.raises(CopylearnError, match="another writer"):
        with atomic.atomic_path(target, exclusive=True) as tmp:
            tmp.write_text("second")
    assert target.read_text() == "first"
    assert [p.name for p in tmp_path.iterdir()] == ["x.txt"]


def test_force_replaces_and_leaves_no_temporary_file(tmp_path, capsys):
    out = tmp_path / "run.npz"
    out.write_bytes(b"old")
    assert main(_collect_argv(out, 5, "--force")) == 0
    assert cl.load(out).metadata["seed"] == 5
    assert [p.name for p in tmp_path.iterdir()] == ["run.npz"]


# ---------------------------------------------------------------------------------------------
# Item 14: closed pipes end quietly
# ---------------------------------------------------------------------------------------------


def _closed_pipe(*argv: str) -> subprocess.CompletedProcess:
    """Run copylearn with its stdout a pipe whose reader is already gone (as '| head -0')."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [sys.executable, "-m", "copylearn", *argv],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            env=ENV,
            timeout=600,
            check=False,
        )
    finally:
        os.close(write_end)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory, tiny):
    return tiny.save(tmp_path_factory.mktemp("pipe") / "s.npz")


@pytest.mark.parametrize(
    "argv",
    [
        ("estimate", "{data}", "--observables", "XZ,ZZ,XX", "--json"),  # the example
        ("--help",),  # argparse prints, then exits
        ("summary", str(ROOT / "figures" / "pauli_separation"), "--json"),  # the example
    ],
    ids=["estimate-json", "help", "summary-json"],
)
def test_closed_pipe_ends_quietly(argv, dataset):
    if argv[0] == "summary" and not (Path(argv[1]) / "results.jsonl").is_file():
        pytest.skip("no committed store")
    proc = _closed_pipe(*(a.format(data=dataset) for a in argv))
    assert "Traceback" not in proc.stderr and "BrokenPipeError" not in proc.stderr, proc.stderr
    assert "Exception ignored" not in proc.stderr
    if argv[0] == "summary" and proc.returncode == 2:  # a store refused for another reason
        assert proc.stderr.startswith("copylearn: error: ")
        return
    if argv[0] == "--help":  # argparse itself swallows an OSError on writing the help
        assert proc.returncode in (0, EXIT_BROKEN_PIPE)
    else:
        assert proc.returncode == EXIT_BROKEN_PIPE, proc.stderr


# ---------------------------------------------------------------------------------------------
# Item 15: misleading messages
# ---------------------------------------------------------------------------------------------


def test_observables_with_a_leading_sign(dataset, capsys):
    """``--observables -XZ`` (no '=') is the negated observable, like ``--observables=-XZ``."""
    cases = {
        "plain": ["--observables", "XZ,ZZ"],
        "signed": ["--observables", "-XZ,ZZ"],  # the kind of example
        "equals": ["--observables=-XZ,ZZ"],
        "signed alone": ["--observables", "-ZZ"],
    }
    values = {}
    for name, words in cases.items():
        assert main(["estimate", str(dataset), *words, "--json"]) == 0
        report = json.loads(capsys.readouterr().out)
        values[name] = [e["value"] for e in report["results"][0]["estimates"]]
    truth = cl.load(dataset).estimate(["XZ", "ZZ"]).values
    assert np.allclose(values["plain"], truth)
    assert np.allclose(values["signed"], [-truth[0], truth[1]])
    assert values["equals"] == values["signed"]
    assert np.allclose(values["signed alone"], [-truth[1]])


def test_toml_with_a_byte_order_mark_is_read(tmp_path):
    from copylearn.sweep import load_config

    text = (ROOT / "experiments" / "quick.toml").read_text()
    plain, marked = tmp_path / "plain.toml", tmp_path / "marked.toml"
    plain.write_text(text, encoding="utf-8")
    marked.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert dataclasses.replace(load_config(marked), source="") == dataclasses.replace(
        load_config(plain), source=""
    )


def test_device_size_errors_suggest_only_what_users_can_do():
    pytest.importorskip("cirq_google")
    from copylearn import devices

    device = devices.load_device("weber")
    for call in (
        lambda: devices.place_pairs(device, 40),
        lambda: devices.place_chain(device, 200),
    ):
        with pytest.raises(CopylearnError) as info:
            call()
        assert "avoid_outliers" not in str(info.value)
        assert "use n <=" in str(info.value) and "willow_pink" in str(info.value)


# ---------------------------------------------------------------------------------------------
# Item 18: the parser imports no simulator
# ---------------------------------------------------------------------------------------------


def _imported(*argv: str) -> tuple[int, set[str]]:
    """Exit status and the modules ``python -X importtime -m copylearn ARGV`` imported."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "copylearn", *argv],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=600,
        check=False,
    )
    modules = {
        line.rsplit("|", 1)[-1].strip()
        for line in proc.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    return proc.returncode, modules


@pytest.mark.parametrize(
    "argv",
    [("--help",), ("collect", "--help"), ("collect", "--state", "pauli:XZ"),
     ("demo", "--seed", "-3"), ("fly",)],
    ids=["help", "collect-help", "missing-option", "bad-seed", "typo"],
)  # fmt: skip
def test_help_and_argument_errors_import_no_simulator(argv):
    status, modules = _imported(*argv)
    assert status in (0, 2)
    assert "copylearn.cli" in modules  # the measurement itself works
    heavy = {m.split(".")[0] for m in modules} & {"cirq", "qsimcirq", "numpy", "sympy", "scipy"}
    assert not heavy, f"imported before parsing: {sorted(heavy)}"


def test_lazy_package_keeps_the_public_api():
    script = textwrap.dedent(
        """
        import sys
        import copylearn as cl
        assert "cirq" not in sys.modules
        import copylearn.collect              # binds the submodule name on the package
        from copylearn.collect import Collector
        assert callable(cl.collect) and cl.collect.__module__ == "copylearn.collect"
        data = cl.collect(cl.PauliMixedState("XZ"), protocol="bell", copies=20, seed=1)
        assert type(data).__name__ == "Dataset" and cl.Dataset is type(data)
        assert set(cl.__all__) <= set(dir(cl))
        for name in cl.__all__:
            getattr(cl, name)
        try:
            cl.no_such_name
        except AttributeError:
            pass
        else:
            raise AssertionError("unknown names must raise AttributeError")
        print("ok")
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=ENV, timeout=600
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr


def test_cli_names_agree_with_the_modules():
    from copylearn.backends import BACKEND_NAMES as backends
    from copylearn.protocols import protocol_names

    assert PROTOCOL_NAMES == protocol_names() and BACKEND_NAMES == backends
    assert cl.__all__ == sorted(cl.__all__)
