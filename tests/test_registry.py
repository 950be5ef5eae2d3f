"""The plug-in architecture: registries, the runner asking tasks and protocols, the example
plug-in, config errors naming their key, and the committed stores reproduced by this code."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from committed_rows import recompute_row

from copylearn.cli import main
from copylearn.complexity import run_point
from copylearn.errors import CopylearnError
from copylearn.plugins import load_plugins
from copylearn.protocols import get_protocol, protocol_names
from copylearn.sweep import grid_defaults, load_config, parse_config
from copylearn.tasks import get_task, task_names

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
# Fields of a row that say how and when it was made, not what it found.
# Calibration record fields added after the committed stores were written (the target).
CALIBRATION_FIELDS_ADDED = {"target", "target_description"}
PROVENANCE = {"seconds", "versions", "format", "sweep_seed", "config_hash", "copylearn"}


def _example_plugin() -> None:
    load_plugins(["pauli_sign"], base=EXAMPLES)


# ----- copylearn list --------------------------------------------------------------------------
def test_list_shows_the_builtin_task_and_protocols(capsys):
    assert main(["list"]) == 0
    text = capsys.readouterr().out
    for word in ("pauli-prediction", "bell", "pauli-shadow", "alpha = 0.9", "queries = 100"):
        assert word in text
    assert main(["list", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    tasks = {t["name"]: t for t in document["tasks"]}
    protocols = {p["name"]: p for p in document["protocols"]}
    assert tasks["pauli-prediction"]["parameters"]["weight"]["default"] == "full"
    expected = {"bell", "pauli-shadow", "clifford-shadow", "partial-bell"}
    assert set(tasks["pauli-prediction"]["protocols"]) == expected
    assert protocols["bell"]["copies_per_shot"] == 2
    assert "tr(Q rho)" in protocols["pauli-shadow"]["estimators"]


def test_list_shows_the_example_plugin_named_in_a_config(capsys):
    assert main(["list", "--json", "--config", str(EXAMPLES / "pauli_sign.toml")]) == 0
    document = json.loads(capsys.readouterr().out)
    sign = next(t for t in document["tasks"] if t["name"] == "pauli-sign")
    assert sign["parameters"]["alpha"]["default"] == 0.5
    assert sign["protocols"] == ["pauli-shadow"]


# ----- protocols -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", protocol_names())
def test_protocol_declares_a_consistent_interface(name):
    protocol = get_protocol(name)
    assert protocol.name == name and protocol.description and protocol.copies_per_shot >= 1
    # A protocol whose data only a task's rule judges (queries of a unitary) says why.
    assert protocol.arrays and (protocol.estimators or "estimators" in protocol.unsupported_notes)
    if protocol.estimators:
        assert protocol.statistic in ("tr(Q rho)", "tr(Q rho)^2")
        assert protocol.supports(protocol.statistic)


@pytest.mark.parametrize("name", protocol_names())
def test_unsupported_estimator_is_one_line_naming_protocol_and_support(name):
    import copylearn as cl

    protocol = get_protocol(name)
    # A protocol told its observables in advance (derandomized-shadow) is told XZ.
    known = (
        {"observables": "XZ"} if any(p.name == "observables" for p in protocol.parameters) else None
    )
    state = cl.PauliMixedState("XZ", 0.9)
    if protocol.unknown == "process":  # it queries a unitary U, not a state
        from copylearn.processes import sample_process

        state = sample_process("tsym", 2, np.random.default_rng(1))
    data = cl.collect(state, protocol=name, copies=40, seed=1, options=known)
    from copylearn.protocols import ESTIMATORS

    missing = [e for e in ESTIMATORS if not protocol.supports(e)]
    assert missing, f"{name} supports every estimator: nothing to refuse"
    for estimator in missing:
        method = getattr(data, ESTIMATORS[estimator])
        with pytest.raises(CopylearnError) as info:
            method() if estimator in ("tr(rho^2)", "all tr(Q rho)^2") else method(["XZ"])
        message = str(info.value)
        assert "\n" not in message and repr(name) in message and estimator in message
        assert all(e in message for e in protocol.estimators)


def test_registering_a_name_twice_is_refused():
    from copylearn.protocols import Protocol, register_protocol

    class Impostor(Protocol):
        name = "bell"
        estimators = ("tr(Q rho)",)

    with pytest.raises(CopylearnError, match="registered twice"):
        register_protocol(Impostor)
    assert type(get_protocol("bell")).__name__ == "BellSampling"


# ----- tasks -----------------------------------------------------------------------------------
def _all_tasks() -> list[str]:
    _example_plugin()
    return list(task_names())


def _small_spec(task: str, strategy: str) -> dict:
    spec = {**grid_defaults(task), "task": task, "strategy": strategy, "n": 1}
    spec.update(trials=60, max_copies=20_000, target=0.8)
    spec.update(get_task(task).small_point)
    for key in ("device", "noise_scale", "calibration_copies"):
        del spec[key]
    return spec


@pytest.mark.parametrize(
    ("task", "strategy"),
    [
        # principal-component's states are Haar brickworks: every snapshot of a shadow is one
        # qsim call and the Bell ratio needs n >= 3 (minutes here); its own tests run a search.
        pytest.param(t, p, marks=pytest.mark.slow) if t == "principal-component" else (t, p)
        for t in _all_tasks()
        for p in get_task(t).protocols
    ],
)
def test_every_task_runs_with_every_protocol_it_supports(task, strategy):
    result = run_point(_small_spec(task, strategy), np.random.SeedSequence(3))
    assert result["reached"] and result["n_star"] > 0
    curve = result["curve"]
    assert curve["trials"] == 60 and len(curve["copies"]) == len(curve["successes"])
    assert result["copies_per_experiment"] == get_protocol(strategy).copies_per_shot


@pytest.mark.parametrize(
    ("task", "key"), [(t, p.name) for t in _all_tasks() for p in get_task(t).parameters]
)
def test_every_declared_parameter_rejects_a_bad_value_naming_the_key(tmp_path, task, key):
    parameter = get_task(task).parameter(key)
    with pytest.raises(CopylearnError) as info:
        parameter.validate("?!")
    assert str(info.value).startswith(f"{key}: ") and "\n" not in str(info.value)
    strategy = get_task(task).protocols[0]
    plugins = 'plugins = ["pauli_sign"]\n' if task == "pauli-sign" else ""
    text = (
        f'[sweep]\ntask = "{task}"\nseed = 1\nstrategies = ["{strategy}"]\n{plugins}'
        f'[grid]\nn = 1\n{key} = "?!"\n'
    )
    path = tmp_path / "sweep.toml"
    path.write_text(text)
    shutil.copy(EXAMPLES / "pauli_sign.py", tmp_path / "pauli_sign.py")
    with pytest.raises(CopylearnError) as info:
        load_config(path)
    assert f": grid.{key}: " in str(info.value) and "\n" not in str(info.value)


def test_queries_all_at_n_13_names_queries():
    text = (
        '[sweep]\ntask = "pauli-prediction"\nseed = 1\nstrategies = ["bell"]\n'
        '[grid]\nn = 13\nqueries = "all"\n'
    )
    with pytest.raises(CopylearnError, match=r"<config>: grid\.queries: bell at n = 13"):
        parse_config(text)


def test_a_task_refuses_a_protocol_it_does_not_support():
    _example_plugin()
    text = '[sweep]\ntask = "pauli-sign"\nseed = 1\nstrategies = ["bell"]\n[grid]\nn = 1\n'
    with pytest.raises(
        CopylearnError,
        match=r"sweep\.strategies: task 'pauli-sign' does not support protocol 'bell'",
    ):
        parse_config(text)


def test_a_missing_plugin_is_one_line_naming_the_key(tmp_path):
    path = tmp_path / "sweep.toml"
    path.write_text(
        '[sweep]\ntask = "pauli-prediction"\nseed = 1\nstrategies = ["bell"]\n'
        'plugins = ["no_such_copylearn_plugin"]\n[grid]\nn = 1\n'
    )
    with pytest.raises(CopylearnError) as info:
        load_config(path)
    assert ": sweep.plugins: " in str(info.value) and "not found" in str(info.value)


# ----- the example plug-in: sweep and plot -----------------------------------------------------
def test_example_plugin_sweeps_and_plots(tmp_path, capsys):
    out, figures = tmp_path / "store", tmp_path / "figures"
    assert main(["sweep", str(EXAMPLES / "pauli_sign.toml"), "--out", str(out), "--quiet"]) == 0
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert sorted(r["spec"]["n"] for r in rows) == [1, 2, 3]
    assert all(r["spec"]["task"] == "pauli-sign" and r["reached"] for r in rows)
    # N* grows with n (one shadow shot in 3^n sees the sign): the coin picture of the task.
    stars = [r["n_star"] for r in sorted(rows, key=lambda r: r["spec"]["n"])]
    assert stars[0] < stars[2]
    assert main(["plot", str(out), "--out", str(figures)]) == 0
    assert (figures / "separation.png").is_file()
    capsys.readouterr()


# ----- the committed stores, reproduced ------------------------------------------------------
STORES = {
    "pauli_separation": "pauli_separation.toml",
    "noise_crossover": "noise_crossover.toml",
    "weber_separation": "weber_separation.toml",
    "memory_tradeoff": "memory_tradeoff.toml",
    "memory_vs_n": "memory_vs_n.toml",
}


def _cheap_rows(store: str, count: int = 2) -> list[dict]:
    rows = [json.loads(line) for line in (ROOT / "figures" / store / "results.jsonl").open()]
    rows.sort(key=lambda r: (r["spec"]["trials"] * r["curve"]["copies"][-1], r["id"]))
    return rows[:count]


@pytest.mark.parametrize("store", list(STORES))
def test_committed_store_points_are_reproduced(tmp_path, store):
    if store == "weber_separation":
        pytest.importorskip("cirq_google")
    config = load_config(ROOT / "experiments" / STORES[store])
    for k, row in enumerate(_cheap_rows(store)):
        spec = row["spec"]
        computed = recompute_row(row, config.seed, tmp_path / f"p{k}")
        assert computed["id"] == row["id"], "the spec (and so the point id) changed"
        assert computed["spec"] == spec
        fresh = {k: v for k, v in computed.items() if k not in PROVENANCE}
        committed = {k: v for k, v in row.items() if k not in PROVENANCE}
        if "calibration" in committed:  # fields the calibration record gained since
            added = set(fresh["calibration"]) - set(committed["calibration"])
            assert added <= CALIBRATION_FIELDS_ADDED
            for key in added:
                del fresh["calibration"][key]
        assert fresh == committed


@pytest.fixture(autouse=True)
def _keep_sys_path():
    saved = list(sys.path)
    yield
    sys.path[:] = saved


# ----- typed records ---------------------------------------------------------------------------
@pytest.mark.parametrize("store", list(STORES))
def test_committed_rows_round_trip_through_the_records(store):
    from copylearn.records import PointRecord, PointResult, PointSpec
    from copylearn.sweep import point_id

    for line in (ROOT / "figures" / store / "results.jsonl").open():
        row = json.loads(line)
        spec = PointSpec.from_json(row["spec"])
        assert spec.to_json() == row["spec"] and spec.id == row["id"] == point_id(row["spec"])
        result = PointResult.from_json(row)
        assert {k: row[k] for k in result.to_json()} == result.to_json()
        record = PointRecord.from_json(row)
        # format 1 (no "format" field) but weber_separation, regenerated in format 3
        assert record.format == row.get("format", 1) and record.spec == spec
        again = record.to_json()
        assert {k: v for k, v in again.items() if k not in PROVENANCE} == {
            k: v for k, v in row.items() if k not in PROVENANCE
        }


def test_records_are_frozen_and_refuse_malformed_specs():
    import dataclasses

    from copylearn.records import PointSpec

    spec = PointSpec.from_json({"task": "pauli-prediction", "strategy": "bell", "n": 2})
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.n = 3  # type: ignore[misc]
    for bad in ({"strategy": "bell", "n": 2}, {"task": "t", "strategy": "bell", "n": True}):
        with pytest.raises(CopylearnError):
            PointSpec.from_json(bad)


def test_entry_points_are_loaded_once_and_a_broken_one_is_one_line(monkeypatch, capsys):
    from copylearn import plugins

    loaded = []

    class FakeEntryPoint:
        def __init__(self, name, fail=False):
            self.name, self.value, self.fail = name, f"pkg.{name}", fail

        def load(self):
            if self.fail:
                raise ImportError("no module named pkg")
            loaded.append(self.name)

    groups = {"copylearn.tasks": [FakeEntryPoint("t")], "copylearn.protocols": []}
    monkeypatch.setattr(plugins, "entry_points", lambda group: groups[group])
    monkeypatch.setattr(plugins, "_entry_points_loaded", False)
    plugins.load_entry_points()
    plugins.load_entry_points()
    assert loaded == ["t"]
    groups["copylearn.protocols"] = [FakeEntryPoint("p", fail=True)]
    monkeypatch.setattr(plugins, "_entry_points_loaded", False)
    monkeypatch.setattr(plugins, "BROKEN_ENTRY_POINTS", [])
    plugins.load_entry_points()  # a broken one is skipped with a one-line warning
    err = capsys.readouterr().err
    assert "'p'" in err and "copylearn.protocols" in err and err.count("\n") == 1


def test_a_plugin_path_is_relative_to_the_config(tmp_path):
    (tmp_path / "lib").mkdir()
    shutil.copy(EXAMPLES / "pauli_sign.py", tmp_path / "lib" / "sign_task.py")
    path = tmp_path / "sweep.toml"
    path.write_text(
        '[sweep]\ntask = "pauli-sign"\nseed = 1\nstrategies = ["pauli-shadow"]\n'
        'plugins = ["lib/sign_task.py"]\n[grid]\nn = 2\n'
    )
    config = load_config(path)
    assert config.task == "pauli-sign" and [s["n"] for s in config.points()] == [2]
    (tmp_path / "other.toml").write_text(path.read_text().replace("lib/", "nowhere/"))
    with pytest.raises(CopylearnError, match=r"sweep\.plugins: plug-in file .* does not exist"):
        load_config(tmp_path / "other.toml")


def test_lower_bound_is_drawn_only_where_the_task_declares_it(tmp_path):
    """N_LB belongs to pauli-prediction's single-copy series; the pauli-sign plug-in declares
    no overlays, so its figure must not carry the Pauli-prediction bound (a new-user review
    found it drawn on every task)."""
    from copylearn.plotting import _bounded_groups
    from copylearn.plugins import load_plugins

    load_plugins([str(EXAMPLES / "pauli_sign.py")])
    base = {"alpha": 0.9, "target": 0.9, "noise": "none", "trials": 400, "max_copies": 10**7}
    shadow = {**base, "task": "pauli-prediction", "strategy": "pauli-shadow", "weight": "full"}
    bell = {**shadow, "strategy": "bell"}
    sign = {**base, "task": "pauli-sign", "strategy": "pauli-shadow"}
    assert _bounded_groups([shadow, bell, sign]) == [shadow]


def test_summary_plot_and_estimate_take_plugins(tmp_path):
    """A fresh process reading a plug-in's store imports the plug-in with --plugins."""
    out = tmp_path / "store"
    assert main(["sweep", str(EXAMPLES / "pauli_sign.toml"), "--out", str(out), "--quiet"]) == 0
    plugin = str(EXAMPLES / "pauli_sign.py")
    code = (
        "import sys\n"
        "from copylearn.cli import main\n"
        "from copylearn.tasks import task_names\n"
        f"status = main(['summary', {str(out)!r}, '--plugins', {plugin!r}])\n"
        "print('STATUS', status, 'pauli-sign' in task_names())\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False
    )
    assert "STATUS 0 True" in proc.stdout, proc.stderr


def test_a_parameter_default_its_validation_refuses_is_refused_at_registration():
    from copylearn.parameters import Parameter
    from copylearn.tasks import register_task
    from copylearn.tasks.pauli_prediction import PauliPrediction

    def positive(value):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{value!r} is not a positive int")
        return value

    class BadDefault(PauliPrediction):
        name = "bad-default"
        parameters = (Parameter("k", -1, positive, "a count"),)

    with pytest.raises(CopylearnError, match=r"task 'bad-default' declares a default .* 'k'"):
        register_task(BadDefault)
    from copylearn.tasks import task_names

    assert "bad-default" not in task_names()
