"""Results as data (issue 16, item 2): ``load_results``, ``Results.to_pandas``, ``summary
--csv`` and ``Estimates.to_pandas``.

The acceptance test parses all four forms of every committed store under ``figures/`` (the
printed ``summary`` table, ``summary --json``, ``summary --csv`` and the data frame) and
compares N* and its CIs: exactly between JSON, CSV and pandas, and to the printed digits
against the table. The stores are discovered at test time, so a figure added later is covered.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import sys
from pathlib import Path

import numpy as np
import pytest

import copylearn as cl
from copylearn.cli import main
from copylearn.errors import CopylearnError
from copylearn.records import PointRecord
from copylearn.sweep import STORE_NAME, load_config, run_sweep

pd = pytest.importorskip("pandas")

REPO = Path(__file__).resolve().parent.parent
STORES = sorted(p.parent for p in (REPO / "figures").glob(f"*/{STORE_NAME}"))
QUANTITIES = ("n_star", "n_star_ci_low", "n_star_ci_high")


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse errors
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def number(cell: str) -> float | None:
    return None if cell in ("", "-") else float(cell)


def printed_close(text: str, value: float | None) -> bool:
    """Whether a number printed by the summary table (an integer for 10 <= |x| < 1e5, else
    3 significant digits) is ``value`` to the digits it shows."""
    if text == "-" or value is None:
        return text == "-" and value is None
    shown = float(text)
    if re.fullmatch(r"-?\d+", text) and 10 <= abs(value) < 1e5:
        return abs(shown - value) <= 0.5 + 1e-9
    return math.isclose(shown, value, rel_tol=5e-3, abs_tol=0.0)


def table_rows(text: str) -> list[list[str]]:
    """The point rows of the printed summary table, cells split on runs of 2+ spaces."""
    lines = text.split("\n\n")[0].splitlines()
    assert set(lines[1]) <= {"-", " "}, lines[:2]
    header = re.split(r"\s{2,}", lines[0].strip())
    rows = [re.split(r"\s{2,}", line.strip()) for line in lines[2:]]
    assert all(len(r) == len(header) for r in rows), "a cell holds two spaces"
    return [header, *rows]


def test_committed_stores_exist():
    assert len(STORES) >= 6, STORES


@pytest.mark.parametrize("store", STORES, ids=lambda p: p.name)
def test_summary_csv_pandas_agree_on_every_committed_store(store, capsys):
    code, text, _ = run_cli(capsys, "summary", str(store))
    assert code == 0
    code, jsonl, _ = run_cli(capsys, "summary", str(store), "--json")
    assert code == 0
    code, csv_text, err = run_cli(capsys, "summary", str(store), "--csv")
    assert code == 0 and err == ""
    frame = cl.load_results(store).to_pandas()

    points = [json.loads(line) for line in jsonl.splitlines()]
    points = [p for p in points if p["kind"] == "point"]
    rows = read_csv(csv_text)
    header, *table = table_rows(text)
    assert len(points) == len(rows) == len(table) == len(frame) > 0

    assert list(frame.columns) == list(rows[0])
    for i, (point, row, cells) in enumerate(zip(points, rows, table, strict=True)):
        spec = point["spec"]
        assert (row["strategy"], int(row["n"])) == (spec["strategy"], spec["n"])
        assert (cells[0], cells[1]) == (spec["strategy"], str(spec["n"]))
        assert (frame["strategy"][i], int(frame["n"][i])) == (spec["strategy"], spec["n"])
        json_values = {
            "n_star": point["n_star"],
            "n_star_ci_low": (point["n_star_ci"] or [None, None])[0],
            "n_star_ci_high": (point["n_star_ci"] or [None, None])[1],
        }
        for q in QUANTITIES:  # JSON, CSV and pandas: the same float, bit for bit
            assert number(row[q]) == json_values[q], (store.name, i, q)
            framed = frame[q][i]
            assert (None if pd.isna(framed) else float(framed)) == json_values[q]
        # The printed table: the same numbers to the digits it shows.
        n_head = "N* queries" if "N* queries" in header else "N* copies"  # a task over processes
        n_cell, ci_cell = cells[header.index(n_head)], cells[header.index("95% CI")]
        if json_values["n_star"] is None:
            assert n_cell.startswith("not reached") and ci_cell == "-"
        else:
            assert printed_close(n_cell, json_values["n_star"]), (store.name, i, n_cell)
            low, high = ci_cell.strip("[]").split(", ")
            assert printed_close(low, json_values["n_star_ci_low"]), (store.name, i, ci_cell)
            assert printed_close(high, json_values["n_star_ci_high"]), (store.name, i, ci_cell)
        assert row["reached"] == str(bool(point["reached"]))
        assert float(row["seconds"]) == point["seconds"]


@pytest.mark.parametrize("store", STORES, ids=lambda p: p.name)
def test_records_are_the_store_rows(store):
    results = cl.load_results(store)
    raw = [json.loads(line) for line in (store / STORE_NAME).read_text().splitlines() if line]
    assert len(results) == len({r["id"] for r in raw})
    assert all(isinstance(r, PointRecord) for r in results)
    by_id = {r["id"]: r for r in raw}
    for record in results:
        row = by_id[record.spec.id]
        assert record.spec.to_json() == row["spec"]
        assert record.result["n_star"] == row["n_star"] or row.get("reached") is False
        if row.get("format", 1) >= 3:  # rows of the current format round-trip exactly
            assert record.to_json() == row
    assert results[0] is results.records[0] and list(results) == list(results.records)


def test_load_results_is_read_only(tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    for f in (REPO / "figures" / "purity_separation").glob("*"):
        (store / f.name).write_bytes(f.read_bytes())
    before = {f.name: (f.read_bytes(), f.stat().st_mtime_ns) for f in store.iterdir()}
    store.chmod(0o555)
    for f in store.iterdir():
        f.chmod(0o444)
    try:
        table = cl.load_results(store).table()
    finally:
        store.chmod(0o755)
    assert len(table) == 29
    assert {f.name: (f.read_bytes(), f.stat().st_mtime_ns) for f in store.iterdir()} == before


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d, "holds no sweep results"),
        (lambda d: (d / "f.txt", (d / "f.txt").write_text("x"))[0], "is a file"),
        (lambda d: (d / STORE_NAME).write_text('{"id": 1}\n') and d, "not a sweep result row"),
        (lambda d: (d / STORE_NAME).write_text("{oops\n") and d, "not a JSON row"),
    ],
)
def test_load_results_refuses_bad_stores_in_one_line(tmp_path, make, message):
    path = make(tmp_path)
    with pytest.raises(CopylearnError, match=message) as info:
        cl.load_results(path)
    assert "\n" not in str(info.value)


def test_load_results_refuses_a_non_path():
    with pytest.raises(CopylearnError, match="give the directory of a sweep store"):
        cl.load_results(3)


def fake_rule_runner(spec: dict, seed, progress=None) -> dict:
    """A point runner whose rows carry a decision rule and a calibration (module level)."""
    rng = np.random.default_rng(seed)
    reached = spec["n"] < 3
    n_star = float(rng.uniform(10, 20)) if reached else None
    return {
        "copies_per_experiment": 2,
        "reached": reached,
        "n_star": n_star,
        "n_star_ci": [n_star - 1, None] if reached else None,
        "n_star_2_3": 5.0,
        "n_star_2_3_ci": [4.0, 6.0],
        "experiments_star": n_star / 2 if reached else None,
        "calibration": {"copies": 600, "damping": [[0.9, 0.9, 0.9]], "n": spec["n"]},
        "decision_rule": {"rule": "pairs", "tau": 0.25 * spec["n"], "processes_per_class": 8},
        "curve": {"copies": [2, 4], "successes": [1, 2], "trials": spec["trials"]},
    }


@pytest.fixture
def rule_store(tmp_path) -> Path:
    config = tmp_path / "c.toml"
    config.write_text(
        '[sweep]\ntask = "pauli-prediction"\nseed = 5\nstrategies = ["bell"]\n'
        "[grid]\nn = [1, 2, 3]\ntrials = 50\nmax_copies = 1000\n"
    )
    out = tmp_path / "store"
    run_sweep(load_config(config), out, workers=0, point_runner=fake_rule_runner, progress=False)
    return out


def test_table_flattens_rules_and_leaves_missing_values_empty(rule_store, capsys):
    results = cl.load_results(rule_store)
    table = results.table()
    assert [r["n"] for r in table] == [1, 2, 3]
    assert [r["decision_rule.tau"] for r in table] == [0.25, 0.5, 0.75]
    assert {r["decision_rule.rule"] for r in table} == {"pairs"}
    assert {r["calibration.copies"] for r in table} == {600}
    assert "calibration.damping" not in results.columns()
    assert table[0]["n_star_ci_high"] is None and table[2]["n_star"] is None
    assert table[2]["reached"] is False and table[0]["stream"] == 1  # rows record none
    code, text, _ = run_cli(capsys, "summary", str(rule_store), "--csv", "-")
    assert code == 0
    rows = read_csv(text)
    assert rows[0]["n_star_ci_high"] == "" and rows[2]["n_star"] == ""
    assert rows[1]["decision_rule.tau"] == "0.5" and rows[0]["reached"] == "True"
    frame = results.to_pandas()
    assert frame["decision_rule.tau"].tolist() == [0.25, 0.5, 0.75]
    assert pd.isna(frame["n_star"][2])


def test_summary_csv_file_is_written_atomically_and_not_replaced(rule_store, tmp_path, capsys):
    out = tmp_path / "table.csv"
    code, printed, _ = run_cli(capsys, "summary", str(rule_store), "--csv", str(out))
    assert code == 0 and printed.strip() == str(out)
    assert out.read_text() == cl.load_results(rule_store).csv_text()
    out.write_text("mine")
    code, _, err = run_cli(capsys, "summary", str(rule_store), "--csv", str(out))
    assert code == 2 and "exists" in err and "--force" in err and out.read_text() == "mine"
    code, _, _ = run_cli(capsys, "summary", str(rule_store), "--csv", str(out), "--force")
    assert code == 0 and out.read_text().startswith("task,strategy,n,")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--csv", "{tmp}/table.txt"], "does not end in .csv"),
        (["--csv", "--json"], "not allowed with"),
        (["--csv", "-", "--at-copies", "100"], "--at-copies"),
        (["--csv", "{tmp}/nodir/sub/t.csv", "--bad"], "unrecognized arguments"),
    ],
)
def test_summary_csv_bad_input_is_one_line_and_writes_nothing(
    rule_store, tmp_path, capsys, argv, message
):
    argv = [a.format(tmp=tmp_path) for a in argv]
    before = sorted(p.name for p in tmp_path.rglob("*"))
    code, out, err = run_cli(capsys, "summary", str(rule_store), *argv)
    assert code == 2 and out == ""
    assert message in err and err.startswith("copylearn: error:") and err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


def test_summary_csv_of_a_bad_store_writes_no_file(tmp_path, capsys):
    out = tmp_path / "t.csv"
    code, _, err = run_cli(capsys, "summary", str(tmp_path / "none"), "--csv", str(out))
    assert code == 2 and "holds no sweep results" in err and not out.exists()


def test_to_pandas_without_pandas_is_one_line(rule_store, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    results = cl.load_results(rule_store)
    with pytest.raises(CopylearnError, match=r"pip install 'copylearn\[pandas\]'") as info:
        results.to_pandas()
    assert "\n" not in str(info.value)
    assert results.csv_text().startswith("task,")  # the CSV needs no pandas
    est = cl.Estimates("tr(Q rho)", ("ZZ",), np.array([0.5]), np.array([0.1]), 10, "mean")
    with pytest.raises(CopylearnError, match=r"Estimates.to_pandas\(\) needs pandas"):
        est.to_pandas()


def test_estimates_to_pandas_matches_the_estimates():
    state = cl.PauliMixedState("XYZ", alpha=0.9, sign=-1)
    data = cl.collect(state, protocol="pauli-shadow", copies=600, seed=3)
    est = data.estimate(["XYZ", "XII", "ZZI"])
    frame = est.to_pandas()
    assert list(frame.columns) == ["observable", "value", "stderr", "quantity", "method", "shots"]
    assert frame["observable"].tolist() == ["XYZ", "XII", "ZZI"]
    assert np.array_equal(frame["value"].to_numpy(), est.values)
    assert np.array_equal(frame["stderr"].to_numpy(), est.stderr)
    assert set(frame["quantity"]) == {est.quantity} and set(frame["shots"]) == {est.shots}
    assert frame[["observable", "value", "stderr"]].to_dict("records") == [
        {"observable": e["observable"], "value": e["value"], "stderr": e["stderr"]}
        for e in est.to_dict()["estimates"]
    ]


def test_load_results_from_another_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rel = os.path.relpath(REPO / "figures" / "dynamics_separation", tmp_path)
    assert len(cl.load_results(rel)) == 22


def test_readme_results_example_runs(monkeypatch, capsys):
    text = (REPO / "README.md").read_text()
    blocks = [
        b for b in re.findall(r"```python\n(.*?)```", text, flags=re.S) if "load_results" in b
    ]
    assert len(blocks) == 1
    monkeypatch.chdir(REPO)  # the example reads figures/pauli_separation
    namespace: dict = {}
    exec(compile(blocks[0], "README.md", "exec"), namespace)
    out = capsys.readouterr().out
    assert "n_star_ci_low" in out and "observable" in out
    assert len(namespace["table"]) == len(namespace["results"]) == 58
