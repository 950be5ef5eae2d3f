"""Caches of the device path: layouts (by coupler graph and outliers) and compilations (by
placed circuit, device and native gate). Keyed correctly, and results identical without them."""

from __future__ import annotations

import cirq
import numpy as np
import pytest

import copylearn as cl
from copylearn.collect import prepare_collector
from copylearn.protocols import get_protocol

pytest.importorskip("cirq_google")
pytest.importorskip("qsimcirq")

from copylearn import devices  # after the importorskip: needs cirq_google


def _grid(text: str) -> list[cirq.GridQubit]:
    return [cirq.GridQubit(*map(int, pair.split(","))) for pair in text.split()]


# weber's layouts, leaving out its calibration outliers, as the set-based search of copylearn
# 0.2.0 found them (the committed weber store was measured on these qubits).
WEBER_CHAIN = _grid(
    "3,3 3,4 4,4 4,5 5,5 5,6 4,6 4,7 3,7 3,6 2,6 2,5 2,4 1,4 1,5 0,5 0,6 1,6 1,7 2,7 2,8 3,8 "
    "3,9 4,9 4,8 5,8 5,7 6,7 6,6 7,6 7,5 6,5 6,4 7,4 8,4 8,3 7,3 7,2 6,2 6,1 5,1 4,1 4,2 5,2 "
    "5,3 6,3"
)
WEBER_COMB_A = _grid(
    "4,2 5,2 6,2 6,3 7,3 7,4 7,5 6,5 6,6 5,6 5,7 4,7 4,8 3,8 3,7 2,7 2,6 2,5 2,4 3,4 4,4"
)
WEBER_COMB_B = _grid(
    "4,1 5,1 6,1 5,3 7,2 8,4 7,6 6,4 6,7 5,5 5,8 4,6 4,9 2,8 3,6 1,7 1,6 1,5 1,4 3,3 4,5"
)


def test_layouts_are_those_of_the_set_based_search():
    weber = devices.load_device("weber")
    assert devices.place_chain(weber, 46) == WEBER_CHAIN
    assert devices.place_pairs(weber, 21) == (WEBER_COMB_A, WEBER_COMB_B)
    rainbow = devices.load_device("rainbow")
    assert devices.place_pairs(rainbow, 4, ladder=True) == (
        _grid("5,1 5,2 5,3 5,4"),
        _grid("6,1 6,2 6,3 6,4"),
    )


def test_a_scaled_device_shares_the_layouts_and_another_device_does_not():
    weber = devices.load_device("weber")
    scaled = devices.scale_noise(weber, 2.0)
    assert scaled != weber  # the noise differs ...
    assert devices._layout(scaled) == devices._layout(weber)  # ... the layout key does not
    devices.place_chain(weber, 3)
    before = devices._longest_chain.cache_info()
    assert devices.place_chain(scaled, 10) == WEBER_CHAIN[:10]
    after = devices._longest_chain.cache_info()
    assert (after.hits, after.misses) == (before.hits + 1, before.misses)
    rainbow = devices.load_device("rainbow")
    assert devices._layout(rainbow) != devices._layout(weber)
    assert devices.place_chain(rainbow, 10) != WEBER_CHAIN[:10]


def _placed_shadow_circuit(device, n: int) -> cirq.Circuit:
    state = cl.PauliMixedState(("XYZ" * n)[:n], 0.9)
    circuit, _ = get_protocol("pauli-shadow").build(state)
    chain = devices.place_chain(device, n)
    return circuit.transform_qubits(lambda q: chain[q.x])


def test_compile_cache_is_keyed_by_circuit_and_device_and_returns_copies(monkeypatch):
    monkeypatch.setattr(devices, "_COMPILED", {})
    weber, rainbow = devices.load_device("weber"), devices.load_device("rainbow")
    scaled = devices.scale_noise(weber, 1.5)
    first = devices.compile_for_device(_placed_shadow_circuit(weber, 2), weber)
    uncached = devices._compile(_placed_shadow_circuit(weber, 2), weber)
    assert first == uncached
    first.append(cirq.Moment(cirq.X(devices.place_chain(weber, 1)[0])))  # a copy: cache intact
    assert devices.compile_for_device(_placed_shadow_circuit(weber, 2), weber) == uncached
    assert len(devices._COMPILED) == 1
    # Noise is attached after compilation: a scaled device shares the compilation.
    assert devices.compile_for_device(_placed_shadow_circuit(scaled, 2), scaled) == uncached
    assert len(devices._COMPILED) == 1
    # Another n, or another device, is another entry with its own compilation.
    three = devices.compile_for_device(_placed_shadow_circuit(weber, 3), weber)
    on_rainbow = devices.compile_for_device(_placed_shadow_circuit(rainbow, 2), rainbow)
    assert len(devices._COMPILED) == 3
    assert len(three.all_qubits()) == 3 and three != uncached
    assert on_rainbow == devices._compile(_placed_shadow_circuit(rainbow, 2), rainbow)
    assert on_rainbow != uncached  # sqrt-iSWAP device, other qubits


def test_compile_cache_is_bounded(monkeypatch):
    monkeypatch.setattr(devices, "_COMPILED", {})
    monkeypatch.setattr(devices, "COMPILE_CACHE_SIZE", 2)
    weber = devices.load_device("weber")
    for n in (1, 2, 3, 1):
        devices.compile_for_device(_placed_shadow_circuit(weber, n), weber)
    assert [len(key[0].all_qubits()) for key in devices._COMPILED] == [3, 1]


@pytest.mark.parametrize("noise_scale", [1.0, 2.0])
def test_collections_are_identical_with_and_without_the_caches(monkeypatch, noise_scale):
    state = cl.PauliMixedState("XZ", 0.9, sign=-1)
    kwargs = dict(copies=3000, device="weber", noise_scale=noise_scale, seed=11)
    warm = cl.collect(state, "pauli-shadow", **kwargs)  # fills (or reuses) the caches
    monkeypatch.setattr(devices, "_COMPILED", {})
    devices._longest_chain.cache_clear()
    cold = cl.collect(state, "pauli-shadow", **kwargs)
    assert warm.arrays.keys() == cold.arrays.keys()
    for key in warm.arrays:
        np.testing.assert_array_equal(warm.arrays[key], cold.arrays[key])
    assert warm.metadata["noise"] == cold.metadata["noise"]


def test_noise_scales_give_their_own_noisy_circuits():
    state = cl.PauliMixedState("XZ", 0.9)
    one = prepare_collector(state, "pauli-shadow", device="weber")
    two = prepare_collector(state, "pauli-shadow", device="weber", noise_scale=2.0)
    assert one.plan.circuit != two.plan.circuit  # same compilation, different noise
    assert one.noise_description == "device:weber" and two.noise_description == "device:weber*2"
