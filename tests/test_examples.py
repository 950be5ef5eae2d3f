"""The runnable examples (issue 16, item 3): every ``examples/figure_*.py`` and
``examples/byo_*.py`` executes headless, and every committed figure has one.

Each script runs as its reader runs it, with ``COPYLEARN_EXAMPLE_QUICK=1`` (small sizes),
``COPYLEARN_EXAMPLE_OUT`` a fresh directory, ``MPLBACKEND=Agg`` and a temporary working
directory; a non-zero exit fails. A script that declares ``# requires: MODULE`` (an optional
extra) is skipped where MODULE is not installed. The default suite runs all scripts in one
subprocess (one ``runpy`` run per script, each as ``__main__`` with its own ``sys.argv``,
``sys.path[0]`` and output directory), so the cost of importing Cirq and copylearn is paid
once; the slow suite runs each in a process of its own (``python examples/X.py``). The
scripts and the figures are discovered at test time, so a figure added later without an
example fails here.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
FIGURES = REPO / "figures"


def scripts() -> list[Path]:
    """The example scripts the suite executes."""
    return sorted([*EXAMPLES.glob("figure_*.py"), *EXAMPLES.glob("byo_*.py")])


def missing_requirements(script: Path) -> list[str]:
    """Modules a script declares on a ``# requires: module[, module]`` line and that are not
    installed (an optional extra, e.g. cirq_google for a simulated device)."""
    names = re.findall(r"^# requires: (.+)$", script.read_text(), flags=re.M)
    wanted = [m.strip() for line in names for m in line.split(",") if m.strip()]
    return [m for m in wanted if importlib.util.find_spec(m) is None]


def runnable_scripts() -> list[Path]:
    return [s for s in scripts() if not missing_requirements(s)]


def committed_figures() -> list[str]:
    """Every directory under figures/ holding a committed store."""
    return sorted(p.parent.name for p in FIGURES.glob("*/results.jsonl"))


def example_env(out: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        COPYLEARN_EXAMPLE_QUICK="1",
        COPYLEARN_EXAMPLE_OUT=str(out),
        MPLBACKEND="Agg",
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
    )
    return env


# One process, every script: run each as `python examples/X.py` would (``__main__``, its own
# argv and sys.path[0], its own output directory) and record its exit status.
DRIVER = textwrap.dedent(
    """
    import json, os, runpy, sys, traceback
    report = {}
    base_path = [p for p in sys.path if p]  # python -c puts the working directory first
    for script, out in json.loads(sys.argv[1]):
        os.environ["COPYLEARN_EXAMPLE_OUT"] = out
        sys.argv = [script]
        sys.path[:] = [os.path.dirname(script), *base_path]
        try:
            runpy.run_path(script, run_name="__main__")
            status = 0
        except SystemExit as exc:
            status = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:
            traceback.print_exc()
            status = 1
        report[script] = status
        print(f"=== {script}: exit {status}", flush=True)
    with open(os.environ["EXAMPLES_REPORT"], "w") as handle:
        json.dump(report, handle)
    """
)


@pytest.fixture(scope="module")
def example_runs(tmp_path_factory) -> dict[str, object]:
    """Run every example once, in one subprocess; returns {script: exit status, "log": ...}."""
    work = tmp_path_factory.mktemp("examples")
    before = repository_files()
    plan = [(str(s), str(work / s.stem)) for s in runnable_scripts()]
    env = example_env(work)
    env["EXAMPLES_REPORT"] = str(work / "report.json")
    proc = subprocess.run(
        [sys.executable, "-c", DRIVER, json.dumps(plan)],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    report = json.loads((work / "report.json").read_text()) if proc.returncode == 0 else {}
    log = proc.stdout[-6000:] + proc.stderr[-6000:]
    return {**report, "log": log, "work": work, "repository": (before, repository_files())}


def repository_files() -> dict[str, tuple[int, int]]:
    """Size and modification time of every file under examples/ and figures/."""
    return {
        str(p.relative_to(REPO)): (p.stat().st_size, p.stat().st_mtime_ns)
        for folder in (EXAMPLES, FIGURES)
        for p in folder.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


def test_every_committed_figure_has_an_example():
    figures = committed_figures()
    assert figures, "no committed figures found under figures/"
    missing = [f for f in figures if not (EXAMPLES / f"figure_{f}.py").is_file()]
    assert not missing, (
        f"committed figures without a runnable example: {missing}; add "
        "examples/figure_<figure>.py (the shared convention in README, 'Examples')"
    )


@pytest.mark.parametrize("script", scripts(), ids=lambda p: p.name)
def test_example_follows_the_convention(script):
    text = script.read_text()
    assert text.startswith("# %% [markdown]"), "a jupytext percent script opens with text"
    assert "\n# %%\n" in text, "no code cell"
    assert "COPYLEARN_EXAMPLE_QUICK" in text and "COPYLEARN_EXAMPLE_OUT" in text
    if script.name.startswith("figure_"):
        figure = script.stem.removeprefix("figure_")
        assert (FIGURES / figure).is_dir(), f"{script.name} names no committed figure"
        assert "load_results" in text, "a figure example loads the committed store"


@pytest.mark.parametrize("script", scripts(), ids=lambda p: p.name)
def test_example_runs_headless(script, example_runs):
    if missing_requirements(script):
        pytest.skip(f"{script.name} needs {', '.join(missing_requirements(script))}")
    assert str(script) in example_runs, f"the examples driver failed:\n{example_runs['log']}"
    status = example_runs[str(script)]
    assert status == 0, f"{script.name} exited with {status}:\n{example_runs['log']}"
    out = example_runs["work"] / script.stem
    written = [p for p in out.rglob("*") if p.is_file()]
    assert written, f"{script.name} wrote nothing under COPYLEARN_EXAMPLE_OUT"


def test_examples_write_nothing_into_the_repository(example_runs):
    before, after = example_runs["repository"]
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert not changed, f"examples wrote into the repository: {changed}"


@pytest.mark.slow
@pytest.mark.parametrize("script", scripts(), ids=lambda p: p.name)
def test_example_runs_in_its_own_process(script, tmp_path):
    if missing_requirements(script):
        pytest.skip(f"{script.name} needs {', '.join(missing_requirements(script))}")
    proc = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=example_env(tmp_path / "out"),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert any(p.is_file() for p in (tmp_path / "out").rglob("*"))
