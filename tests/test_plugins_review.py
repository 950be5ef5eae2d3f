"""Regressions of a new-user review of the plug-in architecture (issue 10).

One test per finding, each with the review's own reproduction and one other member of the
same kind: a plug-in replacing a built-in, a plug-in edited in place under a store, two
plug-in files with one stem, exceptions from validators, imports and entry points, the
``copylearn list`` text, the figure's y label, config wording and ``collect --plugins``.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import textwrap
from pathlib import Path

import pytest

from copylearn import plugins
from copylearn.cli import main
from copylearn.errors import CopylearnError
from copylearn.parameters import Parameter, ParameterError
from copylearn.plugins import load_plugins
from copylearn.protocols import get_protocol
from copylearn.sweep import parse_config
from copylearn.tasks import get_task

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SIGN_CONFIG = """[sweep]
task = "pauli-sign"
seed = 5
strategies = ["pauli-shadow"]
plugins = ["lib/sign_task_r10.py"]

[grid]
n = 1
trials = 60
max_copies = 20_000
"""


@pytest.fixture(autouse=True)
def _restore_registries():
    """Plug-ins registered here do not outlive the test (other tests count the registries)."""
    from copylearn.protocols import _REGISTRY as protocols
    from copylearn.tasks import _REGISTRY as tasks

    protocols.load_builtins()
    tasks.load_builtins()
    load_plugins(["pauli_sign"], base=EXAMPLES)  # kept: a module is imported once a process
    saved = dict(protocols.entries), dict(tasks.entries), list(sys.path)
    yield
    protocols.entries.clear()
    protocols.entries.update(saved[0])
    tasks.entries.clear()
    tasks.entries.update(saved[1])
    sys.path[:] = saved[2]


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def _one_line(text: str) -> str:
    assert text.count("\n") <= 1, text
    return text


# ----- B1: a plug-in cannot replace a built-in ---------------------------------------------------
def test_a_plugin_class_of_the_builtin_name_cannot_replace_it(tmp_path):
    fake = _write(
        tmp_path / "impostor.py",
        """
        from copylearn.protocols import register_protocol
        from copylearn.protocols.single_copy import PauliShadow as _Real

        @register_protocol
        class PauliShadow(_Real):  # the built-in's class name and registry name
            name = "pauli-shadow"
            description = "not the real one"
        """,
    )
    with pytest.raises(CopylearnError, match="'pauli-shadow' is registered twice") as info:
        load_plugins([str(fake)])
    _one_line(str(info.value))
    assert get_protocol("pauli-shadow").description != "not the real one"
    assert type(get_protocol("pauli-shadow")).__module__ == "copylearn.protocols.single_copy"


def test_a_plugin_task_of_the_builtin_name_cannot_replace_it(tmp_path):
    fake = _write(
        tmp_path / "impostor_task.py",
        """
        from copylearn.tasks import register_task
        from copylearn.tasks.pauli_prediction import PauliPrediction as _Real

        @register_task
        class PauliPrediction(_Real):
            name = "pauli-prediction"
            description = "not the real one"
        """,
    )
    with pytest.raises(CopylearnError, match="'pauli-prediction' is registered twice"):
        load_plugins([str(fake)])
    assert get_task("pauli-prediction").description != "not the real one"
    # The same file imported by path and by module name is the same code: accepted.
    load_plugins(["pauli_sign"], base=EXAMPLES)
    load_plugins([str(EXAMPLES / "pauli_sign.py")])
    assert get_task("pauli-sign").name == "pauli-sign"


# ----- B3: a plug-in edited in place under a store ----------------------------------------------
def _sign_store(tmp_path: Path) -> tuple[Path, Path, Path]:
    cfg = tmp_path / "cfg"
    plugin = cfg / "lib" / "sign_task_r10.py"
    plugin.parent.mkdir(parents=True)
    shutil.copy(EXAMPLES / "pauli_sign.py", plugin)
    (cfg / "sweep.toml").write_text(SIGN_CONFIG)
    store = tmp_path / "store"
    assert main(["sweep", str(cfg / "sweep.toml"), "--out", str(store), "--quiet"]) == 0
    return cfg, store, plugin


def test_resuming_after_a_plugin_was_edited_is_refused_and_summary_warns(tmp_path, capsys):
    cfg, store, plugin = _sign_store(tmp_path)
    recorded = json.loads((store / "plugins.json").read_text())
    assert set(recorded["sha256"]) == {"lib/sign_task_r10.py"}
    before = {p.name: p.read_bytes() for p in store.iterdir() if p.is_file()}
    plugin.write_text(plugin.read_text() + "\n# edited in place\n")
    capsys.readouterr()
    # The review's reproduction: the same config resumed after the edit.
    assert main(["sweep", str(cfg / "sweep.toml"), "--out", str(store), "--quiet"]) == 2
    err = _one_line(capsys.readouterr().err)
    assert str(plugin) in err and "restore the file, or choose a new --out" in err
    # The other way in: the store's own config.toml, from the store directory.
    assert main(["sweep", str(store / "config.toml"), "--out", str(store), "--quiet"]) == 2
    assert "changed since" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in store.iterdir() if p.is_file()} == before
    # Reading is harmless: summary warns on stderr and succeeds.
    assert main(["summary", str(store)]) == 0
    assert "warning" in capsys.readouterr().err
    # Restored, the resume runs again (nothing left to compute).
    shutil.copy(EXAMPLES / "pauli_sign.py", plugin)
    assert main(["sweep", str(cfg / "sweep.toml"), "--out", str(store), "--quiet"]) == 0


# ----- B4: two plug-in files with the same stem ------------------------------------------------
_STEM_PLUGIN = """
from copylearn.protocols import register_protocol
from copylearn.protocols.single_copy import PauliShadow

@register_protocol
class Stem{k}(PauliShadow):
    name = "r10-stem-{k}"
"""


def test_two_plugin_files_with_one_stem_are_both_imported(tmp_path):
    a = _write(tmp_path / "a" / "proto.py", _STEM_PLUGIN.format(k="a"))
    b = _write(tmp_path / "b" / "proto.py", _STEM_PLUGIN.format(k="b"))
    load_plugins([str(a), str(b)])
    assert get_protocol("r10-stem-a").name == "r10-stem-a"
    assert get_protocol("r10-stem-b").name == "r10-stem-b"  # was never imported


def test_one_plugin_file_named_twice_is_one_module(tmp_path):
    a = _write(tmp_path / "a" / "proto.py", _STEM_PLUGIN.format(k="c"))
    before = set(sys.modules)
    found = load_plugins(["a/proto.py", str(a)], base=tmp_path)
    assert set(found.values()) == {str(a.resolve())}
    assert len([m for m in set(sys.modules) - before if m.startswith("copylearn_plugin_")]) == 1


# ----- B5: exceptions from validators, imports and entry points --------------------------------
def _type_error(value):
    if not isinstance(value, float):
        raise TypeError(f"float required, got {type(value).__name__}")
    return value


def test_a_validator_raising_typeerror_is_a_one_line_error_naming_the_key(tmp_path):
    parameter = Parameter("alpha", 0.5, _type_error, "doc")
    with pytest.raises(ParameterError, match=r"^alpha: 'x' is refused \(TypeError") as info:
        parameter.validate("x")
    assert info.value.key == "alpha"
    # The other member of the kind: a KeyError (whose text is quoted), through a sweep config.
    _write(
        tmp_path / "keyerror_task.py",
        """
        from copylearn.tasks import Parameter, register_task
        from copylearn.tasks.pauli_prediction import PauliPrediction

        def _lookup(value):
            return {0.5: 0.5, 0.9: 0.9}[value]

        @register_task
        class KeyErrorTask(PauliPrediction):
            name = "r10-keyerror"
            parameters = (
                *(p for p in PauliPrediction.parameters if p.name != "alpha"),
                Parameter("alpha", 0.9, _lookup, "bias"),
            )
        """,
    )
    text = (
        '[sweep]\ntask = "r10-keyerror"\nseed = 1\nstrategies = ["bell"]\n'
        'plugins = ["keyerror_task.py"]\n[grid]\nn = 1\nalpha = 0.7\n'
    )
    (tmp_path / "sweep.toml").write_text(text)
    from copylearn.sweep import load_config

    with pytest.raises(CopylearnError, match=r"grid\.alpha: .*KeyError") as info:
        load_config(tmp_path / "sweep.toml")
    _one_line(str(info.value))


def test_a_plugin_calling_sys_exit_on_import_is_a_one_line_error(tmp_path, capsys):
    _write(tmp_path / "exits.py", "import sys\nsys.exit(0)\n")
    config = SIGN_CONFIG.replace("lib/sign_task_r10.py", "exits.py")
    (tmp_path / "sweep.toml").write_text(config)
    out = tmp_path / "store"
    assert main(["sweep", str(tmp_path / "sweep.toml"), "--out", str(out), "--quiet"]) == 2
    err = _one_line(capsys.readouterr().err)
    assert "plug-in 'exits.py' failed to import: SystemExit" in err
    assert not out.exists()
    # The other member: a dotted module raising SystemExit(3), named by --plugins.
    _write(tmp_path / "exits_module_r10.py", "raise SystemExit(3)\n")
    sys.path.insert(0, str(tmp_path))
    assert main(["list", "--plugins", "exits_module_r10"]) == 2
    assert "plug-in 'exits_module_r10' failed to import: SystemExit" in capsys.readouterr().err


class _FakeEntryPoint:
    def __init__(self, name: str, error: BaseException):
        self.name, self.value, self.error = name, f"broken_pkg.{name}", error

    def load(self):
        raise self.error


def test_a_broken_entry_point_is_a_warning_and_list_still_works(monkeypatch, capsys):
    groups = {
        "copylearn.tasks": [_FakeEntryPoint("r10-ep-task", ImportError("no module broken_pkg"))],
        "copylearn.protocols": [_FakeEntryPoint("r10-ep-protocol", SystemExit(1))],
    }
    monkeypatch.setattr(plugins, "entry_points", lambda group: groups[group])
    monkeypatch.setattr(plugins, "_entry_points_loaded", False)
    monkeypatch.setattr(plugins, "BROKEN_ENTRY_POINTS", [])
    plugins.load_entry_points()
    err = capsys.readouterr().err
    assert err.count("\n") == 2 and "'r10-ep-task'" in err and "'r10-ep-protocol'" in err
    assert main(["list"]) == 0
    assert "pauli-prediction" in capsys.readouterr().out
    # A config naming what the broken package would register: the unknown-name error, which
    # says why.
    text = '[sweep]\ntask = "r10-ep-task"\nseed = 1\nstrategies = ["bell"]\n[grid]\nn = 1\n'
    with pytest.raises(CopylearnError, match="'r10-ep-task' is not a known task") as info:
        parse_config(text)
    assert "'r10-ep-task' (broken_pkg.r10-ep-task" in _one_line(str(info.value))
    with pytest.raises(CopylearnError, match="unknown protocol 'r10-ep-protocol'"):
        get_protocol("r10-ep-protocol")


# ----- copylearn list, figure label, config wording, collect --plugins -------------------------
def test_list_shows_protocol_parameters_like_task_parameters_and_calibration(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    protocols = out.split("\nprotocols:\n")[1]
    clifford = protocols.split("  clifford-shadow:")[1]
    parameter = get_protocol("clifford-shadow").parameters[0]
    assert f"    {parameter.name} = {json.dumps(parameter.default)}  # {parameter.doc}" in clifford
    assert "calibrates: no" in clifford
    bell = re.split(r"\n  (?=\S)", protocols.split("  bell:")[1])[0]
    assert "calibrates: yes" in bell


def test_the_y_label_notes_only_protocols_drawn():
    from copylearn.plotting import _y_label

    assert "Bell" not in _y_label(["pauli-shadow"])  # the pauli-sign figure
    assert "Bell" not in _y_label(["clifford-shadow", "pauli-shadow"])
    assert "a Bell experiment uses two" in _y_label(["bell", "pauli-shadow"])


def test_config_wording_names_the_task_and_the_protocol():
    load_plugins(["pauli_sign"], base=EXAMPLES)
    base = '[sweep]\ntask = "pauli-sign"\nseed = 1\nstrategies = ["{s}"]\n[grid]\nn = 1\n'
    for s in ("bell", "clifford-shadow"):
        with pytest.raises(CopylearnError) as info:
            parse_config(base.format(s=s))
        message = _one_line(str(info.value))
        assert f"task 'pauli-sign' does not support protocol '{s}'; it supports pauli-shadow" in (
            message
        )
    with pytest.raises(CopylearnError, match="'nope' is not a registered protocol"):
        parse_config(base.format(s="nope"))
    # calibration_copies: the message is generic whatever the protocol.
    for s, task in (("pauli-shadow", "pauli-sign"), ("bell", "pauli-prediction")):
        text = base.format(s=s).replace("pauli-sign", task) + "calibration_copies = 3\n"
        with pytest.raises(CopylearnError, match="calibration_copies") as info:
            parse_config(text)
        assert "Bell" not in str(info.value)


def test_collect_takes_plugins(tmp_path, capsys):
    plugin = _write(tmp_path / "collect_proto.py", _STEM_PLUGIN.format(k="collect"))
    out = tmp_path / "data.npz"
    args = ["collect", "--state", "pauli:Z", "--copies", "20", "--seed", "1", "--out", str(out)]
    assert main([*args, "--protocol", "r10-stem-collect", "--plugins", str(plugin)]) == 0
    assert out.is_file()
    capsys.readouterr()
    missing = str(tmp_path / "nowhere.py")
    assert main([*args, "--force", "--protocol", "bell", "--plugins", missing]) == 2
    assert "does not exist" in _one_line(capsys.readouterr().err)
