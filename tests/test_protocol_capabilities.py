"""What protocols declare instead of being compared by name: calibration, batch rules."""

from __future__ import annotations

import numpy as np
import pytest

import copylearn as cl
from copylearn import calibration
from copylearn.collect import prepare_collector
from copylearn.errors import CopylearnError
from copylearn.protocols import get_protocol, protocol_names
from copylearn.protocols.single_copy import PauliShadow
from copylearn.sweep import parse_config


def test_builtin_protocols_declare_that_they_calibrate():
    assert {p: get_protocol(p).calibrates for p in ("bell", "pauli-shadow")} == {
        "bell": True,
        "pauli-shadow": True,
    }
    assert all("calibrates" in get_protocol(p).describe() for p in protocol_names())


def _one_line(info, *parts):
    text = str(info.value)
    assert "\n" not in text, text
    for part in parts:
        assert part in text, text


def test_a_protocol_that_cannot_calibrate_is_refused_naming_protocol_and_key(monkeypatch):
    monkeypatch.setattr(PauliShadow, "calibrates", False)
    state = cl.PauliMixedState("XZ")
    with pytest.raises(CopylearnError) as info:
        cl.collect(state, "pauli-shadow", copies=100, seed=1, calibration_copies=300)
    _one_line(info, "'pauli-shadow'", "calibration_copies", "bell")
    collector = prepare_collector(state, "pauli-shadow")
    with pytest.raises(CopylearnError) as info:
        calibration.measure(collector, 300, np.random.SeedSequence(0))
    _one_line(info, "'pauli-shadow'", "calibration_copies")
    text = (
        '[sweep]\ntask = "pauli-prediction"\nseed = 1\nstrategies = ["bell", "pauli-shadow"]\n'
        "[grid]\nn = 2\ncalibration_copies = 20000\n"
    )
    with pytest.raises(CopylearnError) as info:
        parse_config(text)
    _one_line(info, "grid.calibration_copies", "'pauli-shadow'")
    monkeypatch.setattr(PauliShadow, "calibrates", True)
    parse_config(text)  # the same config is accepted by a protocol that calibrates


@pytest.mark.parametrize(("weight", "shots"), [(0, 10), (1, 30), (2, 90), (5, 2430)])
def test_median_of_means_batch_rule_is_the_shadow_protocols(weight, shots):
    assert get_protocol("pauli-shadow").min_batch_shots(weight) == shots


def test_median_of_means_refusal_names_the_rule_and_a_protocol_without_one_is_refused():
    data = cl.collect(cl.PauliMixedState("XZ"), "pauli-shadow", copies=400, seed=2)
    with pytest.raises(CopylearnError) as info:
        data.estimate("XZ", median_of_means=5)
    _one_line(info, "80 shots per batch", "needs at least 10*3^2 = 90", "median_of_means <= 4")
    assert data.estimate("XZ", median_of_means=4).method == "median of 4 means"

    class NoRule(PauliShadow):
        name = "no-rule"
        min_batch_shots = cl.protocols.Protocol.min_batch_shots

    from copylearn.protocols import _REGISTRY

    _REGISTRY.entries["no-rule"] = NoRule()
    try:
        other = cl.Dataset(protocol="no-rule", n=2, arrays=data.arrays, metadata=data.metadata)
        with pytest.raises(CopylearnError) as info:
            other.estimate("XZ", median_of_means=2)
        _one_line(info, "'no-rule'", "median-of-means")
        assert other.estimate("XZ", median_of_means=1).method == "median of 1 means"
    finally:
        del _REGISTRY.entries["no-rule"]
