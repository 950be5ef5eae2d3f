"""Bad input around calibrated estimation: one-line errors, nothing computed, nothing written.

Every API case raises a one-line :class:`CopylearnError` (and, for ``collect``, before any
circuit is built); every CLI case exits 2 with one ``copylearn: error:`` line, no traceback
and no output file.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

import cirq
import numpy as np
import pytest

import copylearn as cl
from copylearn.calibration import Calibration
from copylearn.cli import main
from copylearn.collect import prepare_collector
from copylearn.errors import CopylearnError

# The module (copylearn.collect the attribute is the function).
collect_module = importlib.import_module("copylearn.collect")
_Q = cirq.LineQubit.range(2)
BELL_PAIR = cl.CircuitState(cirq.Circuit(cirq.H(_Q[0]), cirq.CNOT(*_Q)), name="bell-pair")
PAULI = cl.PauliMixedState("XY", 0.9)


def _record(**changes) -> dict:
    table = Calibration("bell", 2, 600, np.full((2, 3), 0.9), np.full((2, 3), 0.01))
    return {**table.to_dict(), **changes}


def _plain(protocol: str = "bell"):
    return cl.collect(PAULI, protocol, copies=200, seed=1)


def _with_record(record, protocol: str = "bell"):
    data = _plain(protocol)
    data.metadata["calibration"] = record
    return data


def _old_circuit_record():
    """A circuit-state dataset whose calibration record predates targets."""
    data = cl.collect(BELL_PAIR, "bell", copies=200, seed=1)
    record = _record()
    del record["target"]
    data.metadata["calibration"] = record
    return data


def _collect(**kwargs) -> Callable[[], object]:
    base = {"state": PAULI, "protocol": "bell", "copies": 200, "seed": 1}
    return lambda: cl.collect(**{**base, **kwargs})


def _device_circuit_state():
    # Refused before the device is loaded: no cirq-google needed.
    return cl.collect(BELL_PAIR, "bell", copies=200, device="weber", calibration_copies=200)


# (case id, callable, a fragment of the message, whether it must fail before any circuit)
API_CASES = [
    (
        "calibrated-square-without-calibration",
        lambda: _plain().estimate_square(["XY"], calibrated=True),
        "no calibration",
        False,
    ),
    (
        "calibrated-mean-without-calibration",
        lambda: _plain("pauli-shadow").estimate(["XY"], calibrated=True),
        "no calibration",
        False,
    ),
    (
        "calibrated-abs-without-calibration",
        lambda: _plain().estimate_abs(["XY"], calibrated=True),
        "no calibration",
        False,
    ),
    ("calibration-copies-negative", _collect(calibration_copies=-2), "positive integer", True),
    ("calibration-copies-odd-for-bell", _collect(calibration_copies=3), "even number", True),
    ("calibration-copies-bool", _collect(calibration_copies=True), "positive integer", True),
    ("calibration-copies-float", _collect(calibration_copies=1.5), "positive integer", True),
    ("calibration-copies-string", _collect(calibration_copies="100"), "positive integer", True),
    (
        "circuit-state-on-a-device",
        _device_circuit_state,
        "no prepared state to target",
        True,
    ),
    (
        "noise-free-preparation-on-a-device",
        lambda: prepare_collector(PAULI, "bell", device="weber", prep_noise=False),
        "compilation merges",
        False,
    ),
    (
        "record-unknown-target",
        lambda: Calibration.from_dict(_record(target="noiseless")),
        "target 'noiseless'",
        False,
    ),
    (
        "record-not-a-mapping",
        lambda: Calibration.from_dict([1, 2, 3]),
        "malformed",
        False,
    ),
    (
        "record-wrong-shape",
        lambda: Calibration.from_dict(_record(damping=[[0.9, 0.9], [0.9, 0.9]])),
        "must be (2, 3)",
        False,
    ),
    (
        "record-non-finite-damping",
        lambda: Calibration.from_dict(_record(damping=[[float("nan")] * 3, [0.9] * 3])),
        "non-finite",
        False,
    ),
    (
        "record-for-another-protocol",
        lambda: _with_record(_record(protocol="pauli-shadow")).estimate_square(
            ["XY"], calibrated=True
        ),
        "calibration is for pauli-shadow",
        False,
    ),
    (
        "record-for-another-n",
        lambda: _with_record(
            _record(n=3, damping=[[0.9] * 3] * 3, stderr=[[0.01] * 3] * 3)
        ).estimate_square(["XY"], calibrated=True),
        "n = 3",
        False,
    ),
    (
        "circuit-calibration-without-target",
        lambda: _old_circuit_record().estimate_square(["ZZ"], calibrated=True),
        "predates calibration targets",
        False,
    ),
    (
        "damping-not-resolved-from-zero",
        lambda: _with_record(_record(damping=[[0.9, 0.02, 0.9], [0.9, 0.9, 0.9]])).estimate_square(
            ["YZ"], calibrated=True
        ),
        "not resolved from 0",
        False,
    ),
]


@pytest.mark.parametrize(
    ("call", "fragment", "before_work"),
    [case[1:] for case in API_CASES],
    ids=[case[0] for case in API_CASES],
)
def test_api_bad_input_is_one_line(call, fragment, before_work, monkeypatch):
    if before_work:

        def no_work(*args, **kwargs):
            raise AssertionError("a circuit was built before the input was checked")

        monkeypatch.setattr(collect_module, "prepare_collector", no_work)
    with pytest.raises(CopylearnError) as error:
        call()
    message = str(error.value)
    assert fragment in message
    assert "\n" not in message


def _circuit_file(tmp_path) -> str:
    path = tmp_path / "bell.json"
    cirq.to_json(BELL_PAIR.circuit, path)
    return str(path)


def _bad_record_file(tmp_path) -> str:
    data = _plain()
    data.metadata["calibration"] = _record(stderr="lots")
    return str(data.save(tmp_path / "bad_record.npz"))


def _collect_argv(*extra: str) -> list[str]:
    return ["collect", "--state", "pauli:XY", "--copies", "200", "--seed", "1", *extra]


# (case id, argv builder from tmp_path, fragment)
CLI_CASES = [
    (
        "cli-calibration-copies-negative",
        lambda tmp: _collect_argv("--calibration-copies", "-4"),
        "calibration_copies=-4",
    ),
    (
        "cli-calibration-copies-odd",
        lambda tmp: _collect_argv("--calibration-copies", "301"),
        "even number",
    ),
    (
        "cli-circuit-state-on-a-device",
        lambda tmp: [
            "collect",
            "--state",
            f"circuit:{_circuit_file(tmp)}",
            "--copies",
            "200",
            "--device",
            "weber",
            "--calibration-copies",
            "200",
        ],
        "no prepared state to target",
    ),
    (
        "cli-estimate-with-a-malformed-calibration-record",
        lambda tmp: ["estimate", _bad_record_file(tmp), "--observables", "XY"],
        "calibration record",
    ),
]


@pytest.mark.parametrize(
    ("argv", "fragment"), [case[1:] for case in CLI_CASES], ids=[case[0] for case in CLI_CASES]
)
def test_cli_bad_input_exits_2_with_one_line(argv, fragment, tmp_path, capsys):
    out = tmp_path / "out.npz"
    args = argv(tmp_path)
    if args[0] == "collect":
        args += ["--out", str(out)]
    status = main(args)
    captured = capsys.readouterr()
    assert status == 2
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("copylearn: error:"), captured.err
    assert fragment in lines[0]
    assert "Traceback" not in captured.err + captured.out
    assert not out.exists()


def test_at_least_twelve_distinct_cases():
    ids = [case[0] for case in API_CASES] + [case[0] for case in CLI_CASES]
    assert len(set(ids)) == len(ids) >= 12
