"""The public conformance helper: it passes the example plug-in and fails broken parts."""

from __future__ import annotations

import pathlib

import pytest

from copylearn.conformance import ConformanceError, check_protocol, check_task
from copylearn.plugins import load_plugins
from copylearn.protocols import _REGISTRY
from copylearn.protocols.single_copy import PauliShadow
from copylearn.tasks import get_task

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


def test_the_example_plugin_task_conforms():
    load_plugins(["pauli_sign"], base=EXAMPLES)
    report = check_task("pauli-sign")
    assert report.comparisons == len(get_task("pauli-sign").protocols) == 1
    assert not report.failures


class FlippedBits(PauliShadow):
    """Broken on purpose: every measured bit inverted, so tr(Q rho) of odd weight flips."""

    name = "test-flipped-shadow"

    def outcome_arrays(self, record, measurements):
        return super().outcome_arrays(record, {"m": 1 - measurements["m"]})


def test_a_biased_protocol_fails_the_check_naming_the_estimator():
    _REGISTRY.entries[FlippedBits.name] = FlippedBits()
    try:
        with pytest.raises(ConformanceError) as info:
            check_protocol(FlippedBits.name, n_values=(1,), states=2, noise=None)
    finally:
        del _REGISTRY.entries[FlippedBits.name]
    assert "tr(Q rho)" in str(info.value) and "standard errors apart" in str(info.value)


def test_a_parameter_that_accepts_anything_fails_the_check():
    from copylearn.parameters import Parameter

    class Lenient(PauliShadow):
        name = "test-lenient-shadow"
        parameters = (Parameter("depth", 1, lambda v: v, "accepts anything"),)

    _REGISTRY.entries[Lenient.name] = Lenient()
    try:
        with pytest.raises(ConformanceError, match="parameter depth='\\?!': was accepted"):
            check_protocol(Lenient.name, n_values=(), noise=None)
    finally:
        del _REGISTRY.entries[Lenient.name]
