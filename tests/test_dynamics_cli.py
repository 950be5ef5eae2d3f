"""Processes on the command line and in figures: the unit N counts (Protocol.unit), the
explicit --state / --process argument of ``copylearn collect``, and backend = "stim" refused
for non-Clifford processes before a store exists (docs/theory.md §18)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from copylearn.cli import main
from copylearn.data import load
from copylearn.errors import CopylearnError
from copylearn.processes import parse_process, sample_process
from copylearn.protocols import get_protocol, protocol_names, unit_noun, unit_of

STORE = Path(__file__).resolve().parent.parent / "figures" / "dynamics_separation"


# ----- item: the unit N counts ------------------------------------------------------------------
def test_every_protocol_declares_what_it_measures_and_its_unit():
    for name in protocol_names():
        protocol = get_protocol(name)
        assert protocol.unknown in ("state", "process")
        expected = "queries of U" if protocol.unknown == "process" else "copies of ρ"
        assert protocol.unit == expected, name


def test_units_of_drawn_protocols_are_joined_and_an_unknown_name_counts_copies():
    assert unit_of(["two-query-bell", "conventional-y"]) == "queries of U"
    assert unit_of(["bell", "pauli-shadow"]) == "copies of ρ"
    assert unit_of(["bell", "two-query-bell"]) == "copies of ρ / queries of U"
    assert unit_of(["no-such-protocol"]) == "copies of ρ"
    assert unit_noun(["conventional-y"]) == "queries"
    assert unit_noun(["bell", "conventional-y"]) == "copies / queries"


def test_dynamics_figure_axes_say_queries_of_u_and_state_figures_copies_of_rho():
    import matplotlib as mpl

    from copylearn import plotting

    rows = plotting._censor(plotting._read_rows(STORE))
    with mpl.rc_context(plotting._STYLE):
        separation = plotting._separation_figure(rows)
        success = plotting._success_figure(rows)
    assert separation.axes[0].get_ylabel().startswith("queries of U needed, $N^*$")
    assert "copies" not in separation.axes[0].get_ylabel().split("(")[0]
    xlabels = [ax.get_xlabel() for ax in success.axes if ax.get_xlabel().endswith(("N", ")"))]
    assert xlabels and all(x.startswith("queries of U, N") for x in xlabels)
    assert any("two per two-query experiment" in x for x in xlabels)
    assert plotting._y_label(["bell", "pauli-shadow"]).startswith("copies of ρ needed")


def test_summary_of_the_dynamics_store_counts_queries(capsys):
    assert main(["summary", str(STORE)]) == 0
    header = capsys.readouterr().out.splitlines()[0]
    assert "N* queries" in header and "N* copies" not in header


# ----- item: --state versus --process ------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--state", "pauli:XY", "--protocol", "two-query-bell"], ("--process", "instead of")),
        (["--state", "pauli:XY", "--protocol", "conventional-y"], ("--process", "FAMILY:n=N")),
        (["--process", "tsym:n=2,seed=3", "--protocol", "bell"], ("--state", "instead of")),
        (["--process", "tsym:n=2", "--protocol", "two-query-bell"], ("give seed",)),
        (["--process", "tsym:n=2,seed=3,width=4", "--protocol", "two-query-bell"], ("width",)),
        (
            ["--process", "haar-unitary:n=2,seed=3,depth=4", "--protocol", "conventional-y"],
            ("depth",),
        ),
        (["--process", "unitary:n=2,seed=3", "--protocol", "conventional-y"], ("FAMILY",)),
        (["--protocol", "two-query-bell"], ("--state", "--process", "required")),
        (["--state", "pauli:XY", "--process", "tsym:n=2,seed=3"], ("not allowed",)),
    ],
)
def test_collect_refuses_the_wrong_unknown_in_one_line(tmp_path, capsys, args, words):
    out = tmp_path / "d.npz"
    assert main(["collect", *args, "--copies", "10", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("copylearn: error: ") and err.count("\n") == 1
    assert all(w in err for w in words), err
    assert not out.exists()


def test_collect_process_is_seeded_recorded_and_reproducible(tmp_path, capsys):
    paths = []
    for k in range(2):
        out = tmp_path / f"d{k}.npz"
        args = ["collect", "--process", "tsym:n=3,depth=4,seed=11", "--protocol"]
        assert (
            main([*args, "two-query-bell", "--copies", "20", "--seed", "2", "--out", str(out)]) == 0
        )
        paths.append(out)
    first, second = (load(p) for p in paths)
    process = first.metadata["process"]
    assert process["family"] == "tsym" and process["seed"] == 11 and process["depth"] == 4
    drawn = sample_process("tsym", 3, np.random.default_rng(11), depth=4)
    assert process["random_source"] == drawn.parameters["random_source"]
    assert first.metadata["queries"] == 20
    for key, value in first.arrays.items():
        assert np.array_equal(value, second.arrays[key])
    # a tsym U: every experiment returns all zeros (docs/theory.md §18.2)
    shots = get_protocol("two-query-bell").unpack(first.arrays, 3)
    assert not shots["m_a"].any() and not shots["m_b"].any()


def test_collect_process_from_a_circuit_file(tmp_path):
    import cirq

    u = sample_process("scrambling", 2, np.random.default_rng(1)).circuit
    path = tmp_path / "u.json"
    path.write_text(cirq.to_json(u))
    process = parse_process(f"circuit:{path}")
    assert process.n == 2 and process.parameters == {"file": "u.json", "n": 2}
    measured = tmp_path / "m.json"
    measured.write_text(cirq.to_json(u + cirq.Circuit(cirq.measure(*sorted(u.all_qubits())))))
    with pytest.raises(CopylearnError, match="no measurements"):
        parse_process(f"circuit:{measured}")


def test_python_collect_refuses_a_pauli_state_as_u_and_a_process_as_a_state():
    import copylearn as cl

    with pytest.raises(CopylearnError, match="queries a unitary U") as info:
        cl.collect(cl.PauliMixedState("XY"), "two-query-bell", copies=4, seed=1)
    assert "\n" not in str(info.value)
    process = sample_process("tsym", 2, np.random.default_rng(1))
    with pytest.raises(CopylearnError, match="measures copies of a state"):
        cl.collect(process, "bell", copies=4, seed=1)


# ----- item: backend = "stim" refused up front --------------------------------------------
STIM_CONFIG = """
[sweep]
task = "time-reversal"
seed = 7
strategies = ["two-query-bell", "conventional-y"]
[grid]
n = [3]
target = 0.9
trials = 40
max_copies = 64
[strategy.{strategy}]
backend = "stim"
"""


@pytest.mark.parametrize("strategy", ["two-query-bell", "conventional-y"])
def test_stim_backend_for_processes_is_refused_before_the_store_exists(tmp_path, capsys, strategy):
    config = tmp_path / "c.toml"
    config.write_text(STIM_CONFIG.replace("{strategy}", strategy))
    out = tmp_path / "out"
    assert main(["sweep", str(config), "--out", str(out), "--workers", "0", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"strategy.{strategy}.backend" in err
    assert "not a Clifford gate" in err and "backend='qsim'" in err
    assert not out.exists()  # no empty store, no lock, no config left behind


def test_stim_backend_stays_allowed_where_the_circuits_are_clifford(tmp_path):
    from copylearn.sweep import check_runnable, parse_config

    text = (
        '[sweep]\ntask = "pauli-prediction"\nseed = 1\nstrategies = ["bell"]\n[grid]\n'
        'n = [2]\nbackend = "stim"\ntrials = 40\nmax_copies = 64\n'
    )
    check_runnable(parse_config(text))  # no error: Bell sampling of a Pauli state is Clifford
