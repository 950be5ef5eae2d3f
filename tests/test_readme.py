"""Every example in the README runs as written.

Python blocks are executed with ``exec`` in a temporary directory. Shell blocks are split into
commands: ``copylearn ...`` commands run through :func:`copylearn.cli.main` in a temporary
directory that holds the repository's ``examples/`` and ``experiments/`` (the paths the README
uses); ``make ...`` commands are checked against the Makefile's targets but not run (they
build the virtual environment and run this test suite). The block with the quick sweep takes
about two minutes on 2 cores and is marked slow.
"""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import cirq
import pytest

import copylearn as cl
from copylearn.cli import main

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(), flags=re.S)


def _commands(block: str) -> list[str]:
    """The commands of a shell block: continuations joined, comments and blank lines dropped."""
    text = block.replace("\\\n", " ")
    commands = []
    for line in text.splitlines():
        words = shlex.split(line, comments=True)
        if words:
            commands.append(shlex.join(words))
    return commands


def _sh_blocks(*, sweep: bool) -> list[str]:
    return [b for b in _blocks("sh") if ("copylearn sweep" in b) == sweep]


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    shutil.copytree(ROOT / "experiments", tmp_path / "experiments")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _run_block(block: str, capsys) -> list[str]:
    outputs = []
    for command in _commands(block):
        words = shlex.split(command)
        if words[0] == "make":
            targets = re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(), flags=re.M)
            assert set(words[1:]) <= set(targets), f"README runs {command!r}: no such target"
            continue
        assert words[0] == "copylearn", f"README shell command {command!r} is not copylearn"
        status = main(words[1:])
        out, err = capsys.readouterr()
        assert status == 0, f"README command {command!r} failed: {err}"
        outputs.append(out)
    return outputs


def test_readme_python_example_runs(tmp_path, monkeypatch, capsys):
    blocks = _blocks("python")
    assert blocks, "the README has no Python example"
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(blocks[0], "README.md", "exec"), namespace)
    out = capsys.readouterr().out
    assert "tr(Q rho)^2" in out and "tr(rho^2)" in out and "median of 10 means" in out
    again = namespace["again"]
    assert again.protocol == "bell" and again.copies == 20_000
    assert (tmp_path / "bell_run.npz").is_file()


def test_readme_has_every_kind_of_example():
    commands = [c for b in _blocks("sh") for c in _commands(b)]
    assert any(c.startswith("copylearn collect") for c in commands)
    assert any(c.startswith("copylearn sweep") for c in commands)
    assert not any("[" in c or "my_circuit" in c for c in commands), "placeholders in examples"


def test_readme_shell_examples_run(workdir, capsys):
    """In README order in one directory: the Python example first, then the shell examples
    (so that no example's file blocks a later one)."""
    exec(compile(_blocks("python")[0], "README.md", "exec"), {})
    blocks = _sh_blocks(sweep=False)
    assert len(blocks) >= 2
    for block in blocks:
        _run_block(block, capsys)
    # The examples' results are right, not only produced: the Bell pair's shadow data give
    # tr(XX rho) = tr(ZZ rho) = 1 and tr(XZ rho) = 0 within 5 standard errors.
    shadow = cl.load(workdir / "s.npz")
    est = shadow.estimate(["XX", "ZZ", "XZ"])
    for value, stderr, truth in zip(est.values, est.stderr, [1.0, 1.0, 0.0], strict=True):
        assert abs(value - truth) <= 5 * max(stderr, 1e-3)
    assert cl.load(workdir / "run.npz").copies == 20_000
    assert cl.load(workdir / "cal.npz").calibration is not None


def test_example_circuit_is_what_the_readme_says():
    q0, q1 = cirq.LineQubit.range(2)
    loaded = cl.CircuitState(cirq.read_json(ROOT / "examples" / "bell_pair.json"))
    assert loaded.circuit == cirq.Circuit(cirq.H(q0), cirq.CNOT(q0, q1))
    assert "examples/bell_pair.json" in README.read_text()


@pytest.mark.slow
def test_readme_sweep_examples_run(workdir, capsys):
    blocks = _sh_blocks(sweep=True)
    assert blocks
    for block in blocks:
        outputs = _run_block(block, capsys)
        assert any('"kind": "point"' in out for out in outputs)
    assert (workdir / "runs" / "quick" / "figures" / "separation.png").is_file()
