"""Bad input at the edges of the documented theory (docs/theory.md): the domains of the
estimators, bounds, fits and calibration records. Each case must fail with one line that says
what is wrong (a CopylearnError, or ``copylearn: error:`` and exit status 2 on the command
line), write nothing, and print no traceback."""

from __future__ import annotations

import math

import numpy as np
import pytest

import copylearn as cl
from copylearn.calibration import Calibration
from copylearn.cli import main
from copylearn.crossover import crossover_rows
from copylearn.errors import CopylearnError
from copylearn.fits import c_alpha, fit_exponential, fit_groups, single_copy_lower_bound
from copylearn.pauli import parse_paulis


@pytest.fixture(scope="module")
def shadow_data():
    return cl.collect(cl.PauliMixedState("XZ"), protocol="pauli-shadow", copies=40, seed=3)


@pytest.fixture(scope="module")
def bell_data():
    return cl.collect(cl.PauliMixedState("XZ"), protocol="bell", copies=40, seed=3)


def _row(strategy: str, n: int, noise: str, alpha: float) -> dict:
    spec = {"strategy": strategy, "n": n, "noise": noise, "alpha": alpha, "target": 0.9}
    return {"id": f"{strategy}{n}{noise}{alpha}", "spec": spec, "n_star": 10.0}


# (case id, callable taking (shadow_data, bell_data), a word the message must contain)
API_CASES = [
    ("c_alpha zero", lambda s, b: c_alpha(0.0), "alpha"),
    ("c_alpha above one", lambda s, b: c_alpha(1.5), "alpha"),
    ("c_alpha nan", lambda s, b: c_alpha(math.nan), "alpha"),
    ("N_LB delta one half", lambda s, b: single_copy_lower_bound(5, 0.9, 0.5), "delta"),
    ("N_LB delta negative", lambda s, b: single_copy_lower_bound(5, 0.9, -0.1), "delta"),
    ("N_LB alpha zero", lambda s, b: single_copy_lower_bound(5, 0.0, 0.1), "alpha"),
    (
        "fit lengths differ",
        lambda s, b: fit_exponential([1, 2, 3], [4.0, 9.0], None, None),
        "one N*",
    ),
    ("fit row without strategy", lambda s, b: fit_groups([{"spec": {"n": 3}}]), "strategy"),
    (
        "crossover mixes alphas",
        lambda s, b: crossover_rows(
            [_row("bell", 2, "none", 0.9), _row("bell", 3, "state_depolarizing:0.1", 0.8)]
        ),
        "differ",
    ),
    ("median of zero means", lambda s, b: s.estimate("XZ", median_of_means=0), "median_of_means"),
    ("median of bool means", lambda s, b: s.estimate("XZ", median_of_means=True), "median"),
    ("more batches than shots", lambda s, b: s.estimate("XZ", median_of_means=41), "batches"),
    ("signed estimate from Bell data", lambda s, b: b.estimate("XZ"), "sign"),
    (
        "purity from too few random-Pauli snapshots",
        lambda s, b: cl.collect(
            cl.PauliMixedState("XZ"), protocol="pauli-shadow", copies=2, seed=3
        ).purity(),
        "snapshots",
    ),
    ("all squares from single-copy data", lambda s, b: s.estimate_all_squares(), "two-copy"),
    (
        "calibrated without calibration",
        lambda s, b: b.estimate_square("XZ", calibrated=True),
        "calibration",
    ),
    ("state alpha zero", lambda s, b: cl.PauliMixedState("XZ", alpha=0), "alpha"),
    ("state alpha text", lambda s, b: cl.PauliMixedState("XZ", alpha="high"), "alpha"),
    ("state sign zero", lambda s, b: cl.PauliMixedState("XZ", sign=0), "sign"),
    ("state identity", lambda s, b: cl.PauliMixedState("II"), "identity"),
    ("calibration record missing keys", lambda s, b: Calibration.from_dict({"n": 2}), "malformed"),
    (
        "calibration record wrong shape",
        lambda s, b: Calibration.from_dict(
            {"protocol": "bell", "n": 2, "copies": 6, "damping": [[1, 1, 1]], "stderr": [[0] * 3]}
        ),
        "(2, 3)",
    ),
    (
        "calibration not resolved",
        lambda s, b: Calibration(
            "bell", 2, 600, np.full((2, 3), 0.01), np.full((2, 3), 0.05)
        ).check_resolved(parse_paulis(["XZ"], 2)),
        "not resolved",
    ),
    ("storage noise above one", lambda s, b: cl.parse_noise("state_depolarizing:1.5"), "outside"),
]


@pytest.mark.parametrize(("case", "call", "word"), API_CASES, ids=[c[0] for c in API_CASES])
def test_api_bad_input_is_one_line(case, call, word, shadow_data, bell_data):
    with pytest.raises(CopylearnError) as info:
        call(shadow_data, bell_data)
    message = str(info.value)
    assert message and "\n" not in message, f"{case}: {message!r}"
    assert word in message, f"{case}: {message!r}"


CLI_CASES = {
    "median of means on Bell data": [
        "estimate",
        "{bell}",
        "--observables",
        "XZ",
        "--median-of-means",
        "2",
    ],
    "median of zero means": [
        "estimate",
        "{shadow}",
        "--observables",
        "XZ",
        "--median-of-means",
        "0",
    ],
    "median of more means than shots": [
        "estimate",
        "{shadow}",
        "--observables",
        "XZ",
        "--median-of-means",
        "1000",
    ],
    "state sign two": ["collect", "--state", "pauli:XZ:0.9:2", "--copies", "10", "--out", "{out}"],
    "state alpha text": ["collect", "--state", "pauli:XZ:big", "--copies", "10", "--out", "{out}"],
    "storage noise above one": [
        "collect",
        "--state",
        "pauli:XZ",
        "--copies",
        "10",
        "--noise",
        "state_depolarizing:2",
        "--out",
        "{out}",
    ],
}


@pytest.fixture(scope="module")
def saved(tmp_path_factory, shadow_data, bell_data):
    folder = tmp_path_factory.mktemp("saved")
    return {
        "shadow": str(shadow_data.save(folder / "shadow.npz")),
        "bell": str(bell_data.save(folder / "bell.npz")),
    }


@pytest.mark.parametrize("case", sorted(CLI_CASES))
def test_cli_bad_input_is_one_line_and_status_2(case, saved, tmp_path, capsys):
    out = tmp_path / "out.npz"
    argv = [a.format(out=out, **saved) for a in CLI_CASES[case]]
    status = main(argv)
    text, err = capsys.readouterr()
    assert status == 2, case
    assert text == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("copylearn: error: "), err
    assert "Traceback" not in err
    assert not out.exists() and list(tmp_path.iterdir()) == []
