"""Failures while writing output, and where output goes by default (issue 9, items 8 and 14).

A full disk, or stdout on a full device, ends in one ``copylearn: error:`` line with status 2,
and no partial file; ``plot`` without ``--out`` writes beside the store it draws.
"""

from __future__ import annotations

import errno
import io
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

import copylearn as cl
from copylearn.cli import main
from copylearn.errors import CopylearnError

ROOT = Path(__file__).resolve().parents[1]


class FullDevice(io.StringIO):
    """A stdout on a full device: every write fails with ENOSPC (as /dev/full does)."""

    def write(self, text: str) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")


def one_error_line(err: str, fragment: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("copylearn: error: "), err
    assert fragment in lines[0] and "Traceback" not in err, err


@pytest.mark.parametrize(
    "argv",
    [
        ["summary", str(ROOT / "figures" / "pauli_separation"), "--json"],
        ["summary", str(ROOT / "figures" / "pauli_separation")],
    ],
    ids=["summary-json", "summary-table"],
)
def test_stdout_on_a_full_device_is_one_line(argv, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdout", FullDevice())
    assert main(argv) == 2
    one_error_line(capsys.readouterr().err, "No space left on device")


def test_collect_onto_a_full_disk_is_one_line_and_leaves_no_file(tmp_path, monkeypatch, capsys):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(args[0]))

    monkeypatch.setattr(np, "savez_compressed", full)
    out = tmp_path / "d.npz"
    argv = ["collect", "--state", "pauli:XZ", "--copies", "100", "--seed", "1", "--out", str(out)]
    assert main(argv) == 2
    one_error_line(capsys.readouterr().err, "No space left on device")
    assert list(tmp_path.iterdir()) == []  # no partial or temporary file


def test_other_os_errors_are_not_swallowed(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError(errno.EBADF, "Bad file descriptor")

    monkeypatch.setattr(np, "savez_compressed", broken)
    argv = ["collect", "--state", "pauli:XZ", "--copies", "100", "--seed", "1"]
    with pytest.raises(OSError):  # a bug, not a resource: keep its traceback
        main([*argv, "--out", str(tmp_path / "d.npz")])


def test_plot_without_out_writes_beside_the_store(tmp_path, monkeypatch, capsys):
    store = tmp_path / "store"
    shutil.copytree(ROOT / "figures" / "noise_crossover", store)
    for figure in store.glob("*.p*"):  # keep the store's rows and config only
        figure.unlink()
    monkeypatch.chdir(tmp_path)
    assert main(["plot", str(store)]) == 0
    written = [Path(line) for line in capsys.readouterr().out.split()]
    assert written and all(p.parent == store / "figures" for p in written)
    assert not (tmp_path / "figures").exists()


def test_calibration_copies_message_allows_zero():
    with pytest.raises(CopylearnError, match=r"calibration_copies=-2 .*or 0 for no calibration"):
        cl.collect(cl.PauliMixedState("XZ"), copies=100, calibration_copies=-2)


def test_save_refusal_names_the_cli_flag_too(tmp_path):
    data = cl.collect(cl.PauliMixedState("XZ"), copies=100, seed=1)
    data.save(tmp_path / "d.npz")
    with pytest.raises(CopylearnError, match="--force on the command line"):
        data.save(tmp_path / "d.npz", overwrite=False)
