"""A store remembers where its plug-ins came from: resume, summary and plot from any cwd."""

from __future__ import annotations

import json
import pathlib
import shutil
import subprocess
import sys

import pytest

from copylearn.cli import main

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"
CONFIG = """[sweep]
task = "pauli-sign"
seed = 5
strategies = ["pauli-shadow"]
plugins = ["lib/sign_task_store.py"]

[grid]
n = 1
trials = 60
max_copies = 20_000
"""


def _store(tmp_path: pathlib.Path) -> tuple[pathlib.Path, pathlib.Path, pathlib.Path]:
    """A config in cfg/ naming its plug-in by a path relative to it; the store elsewhere."""
    cfg = tmp_path / "cfg"
    (cfg / "lib").mkdir(parents=True)
    plugin = cfg / "lib" / "sign_task_store.py"
    shutil.copy(EXAMPLES / "pauli_sign.py", plugin)
    (cfg / "sweep.toml").write_text(CONFIG)
    store = tmp_path / "runs" / "store"
    assert main(["sweep", str(cfg / "sweep.toml"), "--out", str(store), "--quiet"]) == 0
    return cfg, store, plugin


def test_store_records_plugin_paths_and_resumes_from_another_directory(tmp_path, monkeypatch):
    cfg, store, plugin = _store(tmp_path)
    recorded = json.loads((store / "plugins.json").read_text())["plugins"]
    assert recorded == {"lib/sign_task_store.py": str(plugin.resolve())}
    rows = (store / "results.jsonl").read_text()
    # Resuming reads the stored config: its relative plug-in path is not looked up in the
    # store directory (where it does not exist) but where the store recorded it.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["sweep", str(cfg / "sweep.toml"), "--out", str(store), "--quiet"]) == 0
    assert (store / "results.jsonl").read_text() == rows  # nothing recomputed, nothing added


@pytest.mark.slow
def test_a_fresh_process_elsewhere_summarises_and_plots_with_the_recorded_plugin(tmp_path):
    _, store, _ = _store(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code = (
        "from copylearn.cli import main\n"
        "from copylearn.tasks import task_names\n"
        f"a = main(['summary', {str(store)!r}])\n"
        f"b = main(['plot', {str(store)!r}, '--out', {str(tmp_path / 'figs')!r}])\n"
        "print('STATUS', a, b, 'pauli-sign' in task_names())\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=elsewhere,
    )
    assert "STATUS 0 0 True" in proc.stdout, proc.stderr


def test_a_recorded_plugin_that_is_gone_is_refused_in_one_line(tmp_path, capsys):
    _, store, plugin = _store(tmp_path)
    plugin.rename(plugin.with_suffix(".moved"))
    capsys.readouterr()
    before = sorted(p.name for p in store.iterdir())
    for argv in (
        ["summary", str(store)],
        ["sweep", str(store / "config.toml"), "--out", str(store), "--quiet"],
    ):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("copylearn: error: ") and "\n" not in err, err
        assert "sign_task_store.py" in err and "does not exist any more" in err, err
    assert sorted(p.name for p in store.iterdir()) == before
