"""Papercuts of the 0.4.0 new-user review: each refusal is one line (CLI: ``copylearn: error:``,
exit status 2, no output file) and each fixed number follows the estimator it belongs to."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import copylearn as cl
from copylearn.cli import main
from copylearn.errors import CopylearnError


def _one_line(capsys, *words):
    err = capsys.readouterr().err
    assert err.startswith("copylearn: error:") and err.count("\n") == 1, err
    for word in words:
        assert word in err, err


def _import(tmp_path, capsys, fmt, *names, words):
    """``copylearn import`` of zero (T, 3) int64 arrays saved under ``names`` is refused."""
    for name in names:
        np.save(tmp_path / name, np.zeros((6, 3), np.int64))
    before = sorted(p.name for p in tmp_path.iterdir())
    files = [str(tmp_path / name) for name in names]
    assert main(["import", "--format", fmt, *files, "--out", str(tmp_path / "o.npz")]) == 2
    _one_line(capsys, *words)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


# ----- 1: a PennyLane shadow is two arrays ----------------------------------------------------
def test_pennylane_bits_without_recipes_name_the_recipes_file(tmp_path, capsys):
    _import(
        tmp_path,
        capsys,
        "pennylane",
        "bits.npy",
        words=["without recipes", "two (T, n) arrays", "RECIPES.npy after BITS.npy"],
    )


def test_pennylane_bits_without_recipes_in_python():
    with pytest.raises(CopylearnError, match=r"from_pennylane\(bits, recipes\)") as info:
        cl.from_pennylane(np.zeros((4, 2), np.int8))
    assert "\n" not in str(info.value)


# ----- 2: recirq-states reads states names only -----------------------------------------------
@pytest.mark.parametrize(
    ("name", "words"),
    [
        (
            "1D-scramble-Q-size-3-depth-6-type-1-batch-0-number-0.npy",
            ["not a ReCirq states file name", "--format recirq-dynamics"],
        ),
        ("shots.npy", ["not a ReCirq states file name", "Q-size-N-pauli-P.npy"]),
    ],
)
def test_recirq_states_refuses_other_names(tmp_path, capsys, name, words):
    _import(tmp_path, capsys, "recirq-states", name, words=words)


def test_recirq_states_refuses_a_foreign_partner_of_a_states_file(tmp_path, capsys):
    _import(
        tmp_path,
        capsys,
        "recirq-states",
        "Q-size-3-pauli-XYZ.npy",
        "bases.npy",
        words=["bases.npy is not a ReCirq states file name"],
    )
