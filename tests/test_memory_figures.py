"""The bounded-memory figures (docs/theory.md §20): copies needed versus k at several (n, alpha)
and versus n at fixed k; the summary's order and fit lines for a store that sweeps k.

Synthetic rows check the ordering, the figure's panels and the progress lines; the committed
stores (``figures/memory_tradeoff``, ``figures/memory_vs_n``,
``figures/memory_tradeoff_small``) are checked through ``copylearn summary`` (what a reader
sees), and one cheap point of each new store is recomputed bit for bit from its committed
config.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from committed_rows import recompute_row

from copylearn.cli import main
from copylearn.sweep import load_config, point_summary, sort_key

REPO = Path(__file__).resolve().parent.parent
FIGURES = REPO / "figures"


def _row(strategy: str, n: int, k: int | None, n_star: float, alpha: float = 0.9) -> dict:
    spec = {"task": "pauli-prediction", "strategy": strategy, "n": n, "alpha": alpha}
    if k:  # k = 0 is partial-bell's default, left out of the spec like any default option
        spec["memory_qubits"] = k
    ci = [0.8 * n_star, 1.25 * n_star]
    return {"id": f"{strategy}-{n}-{k}-{alpha}", "spec": spec, "n_star": n_star, "n_star_ci": ci}


def _summary(capsys, store: Path) -> str:
    assert main(["summary", str(store)]) == 0
    return capsys.readouterr().out


# ----- order and progress lines ------------------------------------------------------------
def test_rows_sort_by_strategy_then_memory_qubits_then_n():
    specs = [
        {"task": "pauli-prediction", "strategy": "partial-bell", "n": 8, "memory_qubits": 10},
        {"task": "pauli-prediction", "strategy": "partial-bell", "n": 3, "memory_qubits": 2},
        {"task": "pauli-prediction", "strategy": "clifford-shadow", "n": 8},
        {"task": "pauli-prediction", "strategy": "partial-bell", "n": 12},  # k = 0 (default)
        {"task": "pauli-prediction", "strategy": "partial-bell", "n": 12, "memory_qubits": 2},
        {"task": "pauli-prediction", "strategy": "partial-bell", "n": 8, "memory_qubits": 9},
    ]
    order = [
        (s["strategy"], s.get("memory_qubits", 0), s["n"]) for s in sorted(specs, key=sort_key)
    ]
    assert order == [
        ("clifford-shadow", 0, 8),
        ("partial-bell", 0, 12),
        ("partial-bell", 2, 3),
        ("partial-bell", 2, 12),
        ("partial-bell", 9, 8),  # numbers by value: 9 before 10
        ("partial-bell", 10, 8),
    ]


def test_point_line_leaves_out_an_option_the_protocol_lacks():
    """A sweep over partial-bell's memory_qubits beside clifford-shadow: the progress line of
    the clifford-shadow point has no memory_qubits (it raised KeyError before)."""
    shadow = {**_row("clifford-shadow", 5, None, 232.0), "seconds": 1.0, "reached": True}
    bell = {**_row("partial-bell", 5, 2, 182.0), "seconds": 1.0, "reached": True}
    assert "memory_qubits" not in point_summary(shadow, ["memory_qubits"])
    assert "partial-bell n=5 memory_qubits=2:" in point_summary(bell, ["memory_qubits"])


# ----- the summary of a store that sweeps k -----------------------------------------------
def test_memory_tradeoff_summary_prints_no_empty_fit_lines_and_sorts_by_k(capsys):
    text = _summary(capsys, FIGURES / "memory_tradeoff")
    assert "b = - -" not in text  # no per-k line of a fit in n over one n
    assert "(10 series hold a single n each: no fit in n for them)" in text
    assert "N* = C b^(n-k), b = 1.91" in text
    table = text.split("\n\n")[0].splitlines()[2:]
    ks = [line.split()[2] for line in table if line.startswith("partial-bell")]
    assert ks == [str(k) for k in range(9)]
    assert table[0].startswith("clifford-shadow")


# ----- the figure: one panel per n ---------------------------------------------------------
def test_memory_figure_draws_one_panel_per_n():
    from copylearn.memory_tradeoff import fit_memory, memory_figure

    rows = [_row("partial-bell", 8, k, 13 * (2.0 ** (8 - k) + 1) / 0.9**4) for k in range(9)]
    rows.append(_row("clifford-shadow", 8, None, 2400.0))
    rows += [
        _row("partial-bell", 6, k, 13 * (2.0 ** (6 - k) + 1) / 0.3**4, alpha=0.3)
        for k in range(3, 7)
    ]
    rows.append(_row("clifford-shadow", 6, None, 6000.0, alpha=0.3))
    rows += [_row("partial-bell", 12, k, 13 * (2.0 ** (12 - k) + 1) / 0.9**4) for k in (8, 9)]
    fits = fit_memory(rows)
    assert sorted((f["n"], f["group"]["alpha"]) for f in fits) == [(6, 0.3), (8, 0.9), (12, 0.9)]
    fig = memory_figure(rows)
    axes = fig.get_axes()
    assert [ax.get_title() for ax in axes] == ["n = 6", "n = 8", "n = 12"]
    assert [len(ax.get_xticks()) for ax in axes] == [7, 9, 13]
    texts = [[t.get_text() for t in ax.texts] for ax in axes]
    assert "no single-copy level measured" in texts[2]
    assert "no single-copy level measured" not in texts[0] + texts[1]
    # the theory-only alpha = 0.3 curve is drawn at n = 8 (not in the store there), not at 6
    assert any(t.startswith("theory, α = 0.3") for t in texts[1])
    assert not any(t.startswith("theory, α") for t in texts[0])


# ----- the committed stores ----------------------------------------------------------------
def _fit_line(text: str, series: str) -> re.Match:
    match = re.search(
        rf"^  {re.escape(series)}: b = ([\d.]+) \[([\d.]+), ([\d.]+)\], .*n = 3\.\.8 \(6 points\)$",
        text,
        flags=re.M,
    )
    assert match, f"no fitted base for {series} over n = 3..8 in the summary"
    return match


def test_memory_vs_n_summary_fits_a_base_per_series(capsys):
    """figures/memory_vs_n: both series fitted over n = 3..8; the k = 2 learner's interval
    holds the theory base 2 (docs/theory.md §20.5), its N* is below the single-copy N* at every
    n, and no fit in n - k is printed (the store holds one k)."""
    text = _summary(capsys, FIGURES / "memory_vs_n")
    memory = _fit_line(text, "partial-bell memory_qubits=2")
    _fit_line(text, "clifford-shadow")
    assert float(memory[2]) <= 2.0 <= float(memory[3])
    assert "(n - k)" not in text and "b = - -" not in text
    rows = [json.loads(line) for line in (FIGURES / "memory_vs_n" / "results.jsonl").open()]
    by = {(r["spec"]["strategy"], r["spec"]["n"]): r["n_star"] for r in rows}
    assert all(by["partial-bell", n] < by["clifford-shadow", n] for n in range(3, 9))


def test_memory_figure_without_a_level_draws_no_min_in_the_legend():
    from copylearn.memory_tradeoff import memory_figure

    rows = [_row("partial-bell", 12, k, 13 * (2.0 ** (12 - k) + 1) / 0.9**4) for k in (8, 9, 10)]
    (ax,) = memory_figure(rows).get_axes()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "theory c₂(2^(n−k)+1)/α⁴ (series colour)" in labels
    assert not any(label.startswith("theory min") for label in labels)


PROVENANCE = {"seconds", "versions", "format", "sweep_seed", "config_hash", "copylearn"}


@pytest.mark.parametrize(
    ("store", "k"),
    [
        ("memory_tradeoff_n12", 12),
        pytest.param("memory_tradeoff_small", 6, marks=pytest.mark.slow),  # about 15 s
    ],
)
def test_a_committed_memory_point_is_reproduced(tmp_path, store, k):
    """The cheapest point of a new store, run again from its committed config's seed: the
    same row bit for bit (but provenance)."""
    config = load_config(REPO / "experiments" / f"{store}.toml")
    rows = [json.loads(line) for line in (FIGURES / store / "results.jsonl").open()]
    (row,) = [r for r in rows if r["spec"].get("memory_qubits") == k]
    computed = recompute_row(row, config.seed, tmp_path / "store")
    assert computed["id"] == row["id"]
    fresh = {key: v for key, v in computed.items() if key not in PROVENANCE}
    assert fresh == {key: v for key, v in row.items() if key not in PROVENANCE}
