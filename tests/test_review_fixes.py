"""Regression tests for what the new-user review of 0.3.0 found (summary --at-copies,
estimate on data without estimators, observables given twice)."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pytest

import copylearn as cl
from copylearn.cli import main
from copylearn.errors import CopylearnError
from copylearn.query_fits import extrapolation_note, implied_predictions

ROOT = Path(__file__).resolve().parents[1]
PREDICTIONS = ROOT / "figures" / "predictions_vs_copies"


def _fit(a=10.0, b=20.0, n=4, ms=(5, 255)):
    return {"a": a, "b": b, "ms": list(ms), "group": {"n": n}}


def test_implied_predictions_do_not_overflow_and_say_when_they_extrapolate():
    assert implied_predictions(_fit(), 1e9) == math.inf
    assert "4^n - 1 = 255" in extrapolation_note(_fit(), math.inf)
    assert "below one" in extrapolation_note(_fit(), implied_predictions(_fit(), 5.0))
    inside = implied_predictions(_fit(), 10.0 + 20.0 * math.log(50))
    assert inside == pytest.approx(50) and extrapolation_note(_fit(), inside) is None
    assert "beyond the fitted" in extrapolation_note(_fit(n=8), 1000.0)


def test_summary_at_copies_large_and_on_a_store_without_a_query_grid(tmp_path, capsys):
    store = tmp_path / "p"
    shutil.copytree(PREDICTIONS, store)
    assert main(["summary", str(store), "--at-copies", "1e9"]) == 0
    assert "the line's limit" in capsys.readouterr().out
    assert main(["summary", str(store), "--at-copies", "1e9", "--json"]) == 0
    assert "Infinity" not in capsys.readouterr().out  # valid JSON: null, with a note
    assert main(["summary", str(ROOT / "figures" / "purity_separation"), "--at-copies", "100"]) == 0
    assert "does not sweep the number of queries" in capsys.readouterr().out


def test_estimate_refuses_data_without_estimators_in_one_line(tmp_path, capsys):
    from copylearn.processes import sample_process

    data = cl.collect(
        sample_process("tsym", 2, np.random.default_rng(1)), "two-query-bell", copies=40, seed=1
    )
    path = tmp_path / "tq.npz"
    data.save(path)
    assert main(["estimate", str(path), "--observables", "XY"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "give no estimate" in err


def test_observables_given_twice_are_refused():
    with pytest.raises(CopylearnError, match="observables given twice"):
        cl.collect(
            cl.PauliMixedState("XYZ"),
            "derandomized-shadow",
            copies=20,
            seed=1,
            observables=["XYZ"],
            options={"observables": "ZZZ"},
        )
