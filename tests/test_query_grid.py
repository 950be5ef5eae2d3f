"""The number-of-predictions axis (issue 15 item 1, docs/theory.md §16): nested query sets
judged from one stream per trial, one summary row per M, the fit N* = a + b ln M and the
Chernoff-rate theory slope."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest

from copylearn.cli import main
from copylearn.complexity import run_point
from copylearn.errors import CopylearnError
from copylearn.query_fits import (
    chernoff_rate,
    chernoff_slope,
    fit_log_queries,
    implied_predictions,
)
from copylearn.sweep import (
    expand_nested,
    grid_defaults,
    load_config,
    parse_config,
    run_sweep,
    summary_rows,
)
from copylearn.tasks import ParameterError, get_task
from copylearn.tasks.pauli_prediction import judge_nested, query_counts


def test_query_counts_log_grid():
    assert query_counts(729, 6) == (1, 2, 3, 5, 9, 17, 33, 65, 129, 257, 513, 729)
    assert query_counts(729, 4) == (1, 2, 3, 5, 9, 17, 33, 65, 129, 255)  # capped at 4^n - 1
    assert query_counts(9, 3) == (1, 2, 3, 5, 9)
    assert query_counts(1, 3) == (1,)
    assert query_counts(100, 1) == (1, 2, 3)


def test_judge_nested_on_hand_made_means():
    """P is query 0; set M succeeds when P is hot and none of queries 1..M-1 is."""
    alpha = 0.9  # shadows: hot when |mean| > 0.45
    means = np.array(
        [
            [0.9, 0.0, 0.0, 0.5, 0.0],  # query 3 hot: M = 1, 2, 3 succeed, M = 5 not
            [0.1, 0.0, 0.0, 0.0, 0.0],  # P cold: nothing succeeds
            [-0.9, 0.0, 0.0, 0.0, -0.2],  # all fine (signs do not matter)
        ]
    )
    got = judge_nested("tr(Q rho)", alpha, means, np.array([1, 2, 3, 5]))
    np.testing.assert_array_equal(got, [[True, True, True, False], [False] * 4, [True] * 4])
    squares = np.array([[0.5, 0.41, 0.0]])  # Bell: hot above 0.405
    got = judge_nested("tr(Q rho)^2", alpha, squares, np.array([1, 2, 3]))
    np.testing.assert_array_equal(got, [[True, False, False]])


def _spec(strategy: str, n: int, queries: int, trials: int = 60) -> dict:
    spec = {**grid_defaults("pauli-prediction"), "task": "pauli-prediction"}
    spec.update(strategy=strategy, n=n, queries=queries, query_grid="log", trials=trials)
    spec.update(max_copies=20_000)
    for key in ("device", "noise_scale", "calibration_copies", "backend"):
        spec.pop(key)
    return spec


def test_nested_instance_puts_p_first_and_default_stream_is_unchanged():
    task = get_task("pauli-prediction")
    nested = _spec("bell", 3, 20)
    plain = {k: v for k, v in nested.items() if k != "query_grid"}
    a = task.sample_instance(nested, np.random.default_rng(5))
    b = task.sample_instance(plain, np.random.default_rng(5))
    assert a.hidden == 0 and a.queries.labels[0] == a.state.pauli
    # Same hidden P, sign and set of queries; the plain draw inserts P at a random place.
    assert (a.state.pauli, a.state.sign) == (b.state.pauli, b.state.sign)
    assert sorted(a.queries.labels) == sorted(b.queries.labels)
    assert b.queries.labels[b.hidden] == b.state.pauli


@pytest.mark.parametrize("strategy", ["bell", "pauli-shadow"])
def test_nested_point_reports_every_m_from_one_stream(strategy):
    """Per trial the success for M implies success for every smaller M, so each N*(M) is at
    most N*(M') for M < M'; the top-level result is the largest M's."""
    spec = _spec(strategy, 2, 9)
    result = run_point(spec, np.random.SeedSequence(11))
    nested = result["nested"]
    assert nested["key"] == "queries"
    assert [p["queries"] for p in nested["points"]] == [1, 2, 3, 5, 9]
    last = {k: v for k, v in nested["points"][-1].items() if k != "queries"}
    assert last == {k: v for k, v in result.items() if k != "nested"}
    stars = [p["n_star"] for p in nested["points"]]
    assert all(p["reached"] for p in nested["points"])
    assert all(a <= b + 1e-9 for a, b in itertools.pairwise(stars))
    successes = np.array([p["curve"]["successes"] for p in nested["points"]])
    assert np.all(np.diff(successes, axis=0) <= 0)  # nested sets: pointwise ordered curves
    # Reproducible: same seed, same result.
    assert run_point(spec, np.random.SeedSequence(11)) == result


def test_query_grid_refuses_all_and_bad_values():
    task = get_task("pauli-prediction")
    spec = _spec("bell", 2, 9)
    spec["queries"] = "all"
    with pytest.raises(ParameterError, match="query_grid"):
        task.check_spec(spec)
    text = '[sweep]\ntask = "pauli-prediction"\nseed = 1\nstrategies = ["bell"]\n'
    with pytest.raises(CopylearnError, match=r"grid\.query_grid"):
        parse_config(text + '[grid]\nn = 2\nquery_grid = "lin"\n')


def test_default_query_grid_stays_out_of_point_ids():
    text = '[sweep]\ntask = "pauli-prediction"\nseed = 1\nstrategies = ["bell"]\n[grid]\nn = 2\n'
    plain = parse_config(text).points()
    explicit = parse_config(text + 'query_grid = "none"\n').points()
    assert plain == explicit and "query_grid" not in plain[0]


def test_expand_nested_rows():
    row = {
        "id": "abc",
        "spec": {"task": "pauli-prediction", "strategy": "bell", "n": 2, "queries": 9},
        "n_star": 3.0,
        "seconds": 1.0,
        "nested": {
            "key": "queries",
            "points": [
                {"queries": 1, "n_star": 1.0, "reached": True},
                {"queries": 9, "n_star": 3.0, "reached": True},
            ],
        },
    }
    rows = expand_nested(row)
    assert [r["spec"]["queries"] for r in rows] == [1, 9]
    assert [r["n_star"] for r in rows] == [1.0, 3.0]
    assert rows[0]["id"] == "abc:queries=1" and "nested" not in rows[0]
    assert expand_nested({"id": "x", "spec": {}}) == [{"id": "x", "spec": {}}]


def _rows(a: float, b: float, ms, ci=0.1) -> list[dict]:
    spec = {"task": "pauli-prediction", "strategy": "bell", "n": 4, "query_grid": "log"}
    return [
        {
            "spec": {**spec, "queries": m},
            "n_star": a + b * math.log(m),
            "n_star_ci": [a + b * math.log(m) - ci, a + b * math.log(m) + ci],
            "reached": True,
        }
        for m in ms
    ]


def test_fit_log_queries_recovers_an_exact_line():
    rows = _rows(10.0, 24.0, [1, 2, 3, 5, 9, 17, 33])
    (fit,) = fit_log_queries(rows)
    assert fit["ms"] == [5, 9, 17, 33]  # M >= 5 only
    assert fit["a"] == pytest.approx(10.0) and fit["b"] == pytest.approx(24.0)
    assert fit["r2"] == pytest.approx(1.0)
    # No scatter: the bootstrap collapses onto 24 and the interval is b ± 1.96 se (§10.2).
    half = 1.959963984540054 * fit["b_se"]
    assert fit["b_ci"] == pytest.approx([24.0 - half, 24.0 + half]) and half > 0
    assert implied_predictions(fit, 10.0 + 24.0 * math.log(100)) == pytest.approx(100)


def test_fit_log_queries_noisy_line_interval_covers_the_slope():
    rng = np.random.default_rng(3)
    rows = _rows(10.0, 24.0, [5, 9, 17, 33, 65, 129, 257], ci=4.0)
    for r in rows:
        r["n_star"] += rng.normal(0, 2.0)
    (fit,) = fit_log_queries(rows)
    lo, hi = fit["b_ci"]
    assert lo < 24.0 < hi
    assert abs(fit["b"] - 24.0) < 5 * fit["b_se"]


def test_fit_log_queries_too_few_points():
    (fit,) = fit_log_queries(_rows(1.0, 2.0, [1, 2, 3, 5, 9]))
    assert fit["b"] is None and "need 3" in fit["note"]


def test_chernoff_rate_closed_forms():
    """Bell: the binary relative entropy KL(p || 1/2), p = (1 + alpha^2/2)/2; shadows: the
    small-h limit h [t asinh t - sqrt(1 + t^2) + 1] (docs/theory.md §16.2)."""
    alpha = 0.9
    p = (1 + alpha**2 / 2) / 2
    kl = math.log(2) + p * math.log(p) + (1 - p) * math.log(1 - p)
    assert chernoff_rate(1.0, alpha**2 / 2) == pytest.approx(kl, rel=1e-9)
    assert chernoff_slope("tr(Q rho)^2", 4, alpha, 2) == pytest.approx(2 / kl, rel=1e-9)
    assert chernoff_slope("tr(Q rho)^2", 4, alpha, 2) == pytest.approx(23.7, abs=0.05)
    t, h = alpha / 2, 3.0**-8
    small = h * (t * math.asinh(t) - math.sqrt(1 + t**2) + 1)
    assert chernoff_rate(h, t) == pytest.approx(small, rel=1e-3)
    assert chernoff_slope("tr(Q rho)", 4, alpha, 1) == pytest.approx(812, rel=0.01)
    with pytest.raises(CopylearnError):
        chernoff_rate(0.0, 0.5)


def test_overlay_declares_the_chernoff_slope():
    from copylearn.protocols import get_protocol

    task = get_task("pauli-prediction")
    group = {"n": 4, "alpha": 0.9, "query_grid": "log", "noise": "none"}
    bell = [o for o in task.overlays(get_protocol("bell"), group) if o["kind"] == "log-queries"]
    assert bell[0]["slope"] == pytest.approx(chernoff_slope("tr(Q rho)^2", 4, 0.9, 2))
    clifford = task.overlays(get_protocol("clifford-shadow"), group)
    assert not [o for o in clifford if o["kind"] == "log-queries"]
    assert not [
        o
        for o in task.overlays(get_protocol("bell"), {**group, "query_grid": "none"})
        if o["kind"] == "log-queries"
    ]


def test_sweep_summary_and_plot_of_a_query_sweep(tmp_path, capsys):
    config = tmp_path / "q.toml"
    config.write_text(
        '[sweep]\ntask = "pauli-prediction"\nseed = 4\nstrategies = ["bell"]\n'
        '[grid]\nn = 2\nqueries = 15\nquery_grid = "log"\ntrials = 60\n'
    )
    out = tmp_path / "store"
    run_sweep(load_config(config), out, workers=1, progress=False)
    rows = summary_rows(out)
    assert [r["spec"]["queries"] for r in rows] == [1, 2, 3, 5, 9, 15]
    assert len((out / "results.jsonl").read_text().splitlines()) == 1  # one stored point
    assert main(["summary", str(out), "--at-copies", "200"]) == 0
    text = capsys.readouterr().out
    assert "N* = a + b ln M" in text and "theory (Chernoff) b = 23.7" in text
    assert "at N = 200 copies" in text
    assert main(["summary", str(out), "--json", "--at-copies", "200"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    fits = [x for x in lines if x["kind"] == "log-queries-fit"]
    assert len(fits) == 1 and fits[0]["at_copies"] == 200
    assert main(["plot", str(out), "--out", str(tmp_path / "fig")]) == 0
    assert (tmp_path / "fig" / "predictions_vs_copies.png").is_file()


def test_summary_refuses_a_bad_at_copies(tmp_path, capsys):
    assert main(["summary", str(tmp_path), "--at-copies", "-3"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--at-copies" in err[0]
