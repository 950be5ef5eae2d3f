"""The README's Python example is the public API: it must run as written."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_example_runs(tmp_path, monkeypatch, capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "the README has no Python example"
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(blocks[0], "README.md", "exec"), namespace)
    out = capsys.readouterr().out
    assert "tr(Q rho)^2" in out and "tr(rho^2)" in out and "median of 10 means" in out
    again = namespace["again"]
    assert again.protocol == "bell" and again.copies == 20_000
    assert (tmp_path / "run.npz").is_file()
