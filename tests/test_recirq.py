"""ReCirq-layout files of time-reversal data: round trip, refusals, judging (copylearn.recirq)."""

from __future__ import annotations

import numpy as np
import pytest

from copylearn import collect
from copylearn.cli import main
from copylearn.errors import CopylearnError
from copylearn.processes import sample_process
from copylearn.recirq import export_dataset, import_file, judge, outcome_table


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
    assert main(["recirq", "export", str(saved), "--out", str(tmp_path / "rc")]) == 0
    npy = capsys.readouterr().out.strip()
    assert main(["recirq", "import", npy, "--out", str(tmp_path / "back.npz")]) == 0
    assert main(["recirq", "judge", npy]) == 0
    assert capsys.readouterr().out.strip().endswith(": symmetric")
