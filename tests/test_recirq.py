"""ReCirq-layout files of time-reversal data: round trip, refusals, judging (copylearn.recirq)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from copylearn import collect
from copylearn.cli import main
from copylearn.data import load
from copylearn.errors import CopylearnError
from copylearn.processes import sample_process
from copylearn.recirq import export_dataset, import_file, judge, outcome_table, pair_fraction

EXPORT = ["export", "--format", "recirq-dynamics"]
IMPORT = ["import", "--format", "recirq-dynamics"]


@pytest.mark.parametrize("protocol", ["two-query-bell", "conventional-y"])
@pytest.mark.parametrize("family", ["tsym", "scrambling"])
def test_export_then_import_gives_identical_arrays(tmp_path, protocol, family):
    process = sample_process(family, 3, np.random.default_rng(2))
    data = collect(process, protocol, copies=200, seed=3)
    path = export_dataset(data, tmp_path, batch=20, number=4)
    letter = "Q" if protocol == "two-query-bell" else "C"
    t = 1 if family == "tsym" else 0
    assert path.name == f"1D-scramble-{letter}-size-3-depth-6-type-{t}-batch-20-number-4.npy"
    table = np.load(path)
    assert table.dtype == np.int64 and table.shape == (data.shots, 6 if letter == "Q" else 3)
    back = import_file(path)
    assert back.protocol == protocol and back.n == 3
    assert back.arrays.keys() == data.arrays.keys()
    for key in data.arrays:
        np.testing.assert_array_equal(back.arrays[key], data.arrays[key])
    np.testing.assert_array_equal(outcome_table(back), table)
    assert back.metadata["process"] == {"family": family, "n": 3, "depth": 6}


def test_interleaved_columns_are_a0_b0_a1_b1():
    process = sample_process("scrambling", 2, np.random.default_rng(1))
    data = collect(process, "two-query-bell", copies=40, seed=1)
    shots = data.spec.unpack(data.arrays, 2)
    table = outcome_table(data)
    np.testing.assert_array_equal(table[:, 2], shots["m_a"][:, 1])
    np.testing.assert_array_equal(table[:, 3], shots["m_b"][:, 1])


def test_judge_applies_the_task_rules(tmp_path):
    for family, expected in (("tsym", "symmetric"), ("scrambling", "scrambling")):
        process = sample_process(family, 4, np.random.default_rng(5))
        for protocol, copies in (("two-query-bell", 20), ("conventional-y", 3000)):
            data = collect(process, protocol, copies=copies, seed=6)
            assert judge(import_file(export_dataset(data, tmp_path))) == expected


def _write(path, array):
    np.save(path, array)
    return path


@pytest.mark.parametrize(
    ("name", "array", "message"),
    [
        (
            "1D-scramble-Q-size-2-depth-4-type-1-batch-0-number-0.npy",
            np.zeros((5, 3), np.int64),
            "columns",
        ),
        (
            "1D-scramble-C-size-2-depth-4-type-1-batch-0-number-0.npy",
            np.full((5, 2), 2, np.int64),
            "0 or 1",
        ),
        ("scramble-C-size-2.npy", np.zeros((5, 2), np.int64), "file name"),
    ],
)
def test_bad_files_are_refused_in_one_line_with_exit_2(tmp_path, capsys, name, array, message):
    path = _write(tmp_path / name, array)
    with pytest.raises(CopylearnError, match=message):
        import_file(path)
    assert main(["recirq", "judge", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("copylearn: error:") and err.count("\n") == 1 and message in err


def test_cli_export_import_judge(tmp_path, capsys):
    process = sample_process("tsym", 2, np.random.default_rng(3))
    data = collect(process, "two-query-bell", copies=20, seed=2)
    saved = data.save(tmp_path / "d.npz")
    assert main([*EXPORT, str(saved), "--out", str(tmp_path / "rc")]) == 0
    npy = capsys.readouterr().out.strip()
    assert main([*IMPORT, npy, "--out", str(tmp_path / "back.npz")]) == 0
    assert main(["recirq", "judge", npy]) == 0
    assert capsys.readouterr().out.strip().endswith(": symmetric (rule all-zeros, noiseless data)")


# --- judge --rule pairs: noisy data -------------------------------------------------------

NOISE = "depolarizing:0.005"


def _noisy(family, seed):
    process = sample_process(family, 3, np.random.default_rng(seed))
    return collect(process, "two-query-bell", copies=200, noise=NOISE, seed=seed + 1)


def test_pairs_rule_calls_a_noisy_tsym_file_symmetric(tmp_path, capsys):
    # tau from held-out processes (seeds 10-13), never from the files judged (seeds 40, 41)
    means = [
        np.mean([pair_fraction(_noisy(family, seed)) for seed in range(10, 14)])
        for family in ("tsym", "scrambling")
    ]
    tau = 0.5 * (means[0] + means[1])
    symmetric = export_dataset(_noisy("tsym", 40), tmp_path)
    scrambling = export_dataset(_noisy("scrambling", 41), tmp_path)
    data = import_file(symmetric)
    assert pair_fraction(data) > 0  # noise: the all-zeros rule cannot apply
    assert judge(data) == "scrambling"
    assert judge(data, "pairs", tau) == "symmetric"
    assert judge(import_file(scrambling), "pairs", tau) == "scrambling"
    args = ["recirq", "judge", str(symmetric), str(scrambling), "--rule", "pairs"]
    assert main([*args, "--tau", str(tau)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{symmetric}: symmetric (rule pairs, tau={tau:.6g}, T=")
    assert lines[1].startswith(f"{scrambling}: scrambling (rule pairs, tau=")
    assert main(["recirq", "judge", str(symmetric)]) == 0
    assert capsys.readouterr().out.strip().endswith(": scrambling (rule all-zeros, noiseless data)")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--rule", "pairs"], "needs --tau"),
        (["--rule", "pairs", "--tau", "1.5"], "in \\[0, 1\\]"),
        (["--rule", "pairs", "--tau", "nan"], "in \\[0, 1\\]"),
        (["--tau", "0.3"], "applies to rule 'pairs' only"),
    ],
)
def test_judge_rule_options_are_checked(tmp_path, capsys, extra, message):
    process = sample_process("tsym", 2, np.random.default_rng(3))
    npy = export_dataset(collect(process, "two-query-bell", copies=20, seed=2), tmp_path)
    assert main(["recirq", "judge", str(npy), *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("copylearn: error:") and err.count("\n") == 1
    assert re.search(message, err)
    rule = "pairs" if "pairs" in extra else "all-zeros"
    tau = float(extra[-1]) if "--tau" in extra else None
    with pytest.raises(CopylearnError, match=message):
        judge(import_file(npy), rule, tau)


# --- export / import destinations ---------------------------------------------------------


def _one_line(capsys, *words):
    err = capsys.readouterr().err
    assert err.startswith("copylearn: error:") and err.count("\n") == 1, err
    for word in words:
        assert word in err, err


def _saved(tmp_path, n=2):
    process = sample_process("tsym", n, np.random.default_rng(3))
    return collect(process, "two-query-bell", copies=20, seed=2).save(tmp_path / "d.npz")


def test_export_refuses_bad_out_in_one_line(tmp_path, capsys):
    saved = _saved(tmp_path)
    assert main([*EXPORT, str(saved), "--out", "/proc/x"]) == 2
    _one_line(capsys, "cannot write")
    assert main([*EXPORT, str(saved), "--out", str(saved)]) == 2
    _one_line(capsys, "is a file, not a directory")


def test_export_refuses_an_existing_npy_unless_force(tmp_path, capsys):
    saved = _saved(tmp_path)
    out = tmp_path / "rc"
    assert main([*EXPORT, str(saved), "--out", str(out)]) == 0
    npy = Path(capsys.readouterr().out.strip())
    npy.write_bytes(b"keep")
    assert main([*EXPORT, str(saved), "--out", str(out)]) == 2
    _one_line(capsys, "exists", "--force")
    assert npy.read_bytes() == b"keep"
    with pytest.raises(CopylearnError, match="exists"):
        export_dataset(load(saved), out)
    assert npy.read_bytes() == b"keep"
    assert main([*EXPORT, str(saved), "--out", str(out), "--force"]) == 0
    assert capsys.readouterr().out.strip() == str(npy)
    np.testing.assert_array_equal(np.load(npy), outcome_table(load(saved)))


def test_import_refuses_a_file_without_shots(tmp_path, capsys):
    npy = _write(
        tmp_path / "1D-scramble-Q-size-2-depth-4-type-1-batch-0-number-0.npy",
        np.zeros((0, 4), np.int64),
    )
    with pytest.raises(CopylearnError, match="0 shots"):
        import_file(npy)
    out = tmp_path / "empty.npz"
    assert main([*IMPORT, str(npy), "--out", str(out)]) == 2
    _one_line(capsys, "0 shots")
    assert sorted(p.name for p in tmp_path.iterdir()) == [npy.name]


def test_import_follows_collects_out_rules(tmp_path, capsys):
    process = sample_process("scrambling", 2, np.random.default_rng(4))
    npy = export_dataset(collect(process, "conventional-y", copies=30, seed=5), tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main([*IMPORT, str(npy), "--out", str(tmp_path / "foo.txt")]) == 2
    _one_line(capsys, "does not end in .npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    out = tmp_path / "back.npz"
    out.write_bytes(b"keep")
    assert main([*IMPORT, str(npy), "--out", str(out)]) == 2
    _one_line(capsys, "exists", "--force")
    assert out.read_bytes() == b"keep"
    assert main([*IMPORT, str(npy), "--out", "/proc/x.npz"]) == 2
    _one_line(capsys, "cannot write")
    assert main([*IMPORT, str(npy), "--out", str(out), "--force"]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    np.testing.assert_array_equal(load(out).arrays["bits"], import_file(npy).arrays["bits"])


def test_recirq_export_and_import_are_deprecated_aliases(tmp_path, capsys):
    saved = _saved(tmp_path)
    assert main(["recirq", "export", str(saved), "--out", str(tmp_path / "old")]) == 0
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and "deprecated" in captured.err, captured.err
    assert "copylearn export --format recirq-dynamics" in captured.err
    npy = Path(captured.out.strip())
    assert main([*EXPORT, str(saved), "--out", str(tmp_path / "new")]) == 0
    new = Path(capsys.readouterr().out.strip())
    np.testing.assert_array_equal(np.load(npy), np.load(new))
    assert main(["recirq", "import", str(npy), "--out", str(tmp_path / "old.npz")]) == 0
    captured = capsys.readouterr()
    assert "copylearn import --format recirq-dynamics" in captured.err
    back = load(tmp_path / "old.npz")
    assert back.metadata["source"]["format"] == "recirq-dynamics"
    assert back.metadata["source"]["files"] == [npy.name]
    assert back.metadata["versions"]["copylearn"]
