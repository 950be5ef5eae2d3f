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


# ----- figures: protocol-declared styles, the task's crossover pair --------------------------
# The styles of the committed figures (before they moved into the protocols).
COMMITTED_STYLES = {
    "bell": {
        "label": "two-copy Bell sampling",
        "short": "Bell",
        "marker": "o",
        "marker_name": "●",
        "colours": ["blue", "sky_blue", "bluish_green"],
    },
    "pauli-shadow": {
        "label": "random-Pauli shadows",
        "short": "shadows",
        "marker": "s",
        "marker_name": "■",
        "colours": ["vermillion", "orange", "reddish_purple"],
    },
}


def test_builtin_styles_are_the_committed_figures_and_plugins_get_a_fallback():
    from copylearn.plotting import _strategy_style
    from copylearn.protocols import _REGISTRY

    for name, style in COMMITTED_STYLES.items():
        assert _strategy_style(name) == style
    unknown = _strategy_style("not-registered")
    assert unknown["label"] == unknown["short"] == "not-registered"
    assert unknown["marker"] == "D" and unknown["colours"][0] == "black"

    class Styled(PauliShadow):
        name = "styled-shadow"
        plot_style = {"label": "styled shadows", "marker": "^"}  # noqa: RUF012

    _REGISTRY.entries[Styled.name] = Styled()
    try:
        style = _strategy_style(Styled.name)
        assert (style["label"], style["marker"], style["short"]) == (
            "styled shadows",
            "^",
            "styled-shadow",
        )
        assert style["colours"] == unknown["colours"]
    finally:
        del _REGISTRY.entries[Styled.name]


def _crossover_rows(task: str, two: str, one: str) -> list[dict]:
    rows = []
    for f, noise in ((1.0, "none"), (0.8, "state_depolarizing:0.15")):
        for n in (2, 3, 4):
            for strategy, base in ((two, f**-4), (one, 3 * f**-2)):
                value = 100.0 * base**n
                spec = {"task": task, "strategy": strategy, "n": n, "noise": noise, "alpha": 0.9}
                rows.append(
                    {"spec": spec, "n_star": value, "n_star_ci": [value / 1.1, value * 1.1]}
                )
    return rows


def test_crossover_compares_the_pair_the_task_declares():
    from copylearn import crossover
    from copylearn.tasks import _REGISTRY
    from copylearn.tasks.pauli_prediction import PauliPrediction

    rows = _crossover_rows("pauli-prediction", "bell", "pauli-shadow")
    assert crossover.pair_of(rows) == ("bell", "pauli-shadow") == crossover.PAIR
    assert crossover.analyse(rows)["pair"] == ["bell", "pauli-shadow"]

    class Swapped(PauliPrediction):
        name = "swapped-prediction"
        crossover_pair = ("pauli-shadow", "bell")

    _REGISTRY.entries[Swapped.name] = Swapped()
    try:
        swapped = _crossover_rows(Swapped.name, "pauli-shadow", "bell")
        assert crossover.pair_of(swapped) == ("pauli-shadow", "bell")
        result = crossover.analyse(swapped)
        assert result["pair"] == ["pauli-shadow", "bell"]
        fit = result["bases"]["pauli-shadow"][0]  # f = 1: the two-copy member's base is 1
        assert fit["base"] == pytest.approx(1.0, rel=1e-6)
        assert crossover.analyse(swapped, pair=("bell", "pauli-shadow"))["pair"] == [
            "bell",
            "pauli-shadow",
        ]
    finally:
        del _REGISTRY.entries[Swapped.name]
    assert crossover.pair_of([{"spec": {"task": "unregistered"}}]) == crossover.PAIR
