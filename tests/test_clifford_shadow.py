"""The ``clifford-shadow`` protocol: registration, data layout, reproducibility, bad input.

Its estimators' conformance against exact density matrices (n = 1..4, with and without
noise) is in tests/test_validation.py (test_clifford_shadow_within_five_standard_errors).
"""

from __future__ import annotations

import itertools
import multiprocessing

import numpy as np
import pytest

import copylearn as cl
from copylearn.cli import main
from copylearn.clifford import is_symplectic
from copylearn.errors import CopylearnError
from copylearn.parameters import ParameterError
from copylearn.protocols import get_protocol, protocol_names
from copylearn.protocols.clifford_shadow import CliffordShadow

Z_MAX = 5.0


def test_registered_and_listed(capsys):
    assert "clifford-shadow" in protocol_names()
    spec = get_protocol("clifford-shadow")
    assert spec.estimators == ("tr(Q rho)", "tr(Q rho)^2", "|tr(Q rho)|")
    assert spec.describe()["parameters"]["shots_per_unitary"]["default"] == 1
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "clifford-shadow" in out and "shots_per_unitary" in out


@pytest.mark.parametrize("bad", [0, -3, 1.5, True, "2", None])
def test_shots_per_unitary_bad_input_is_one_line_naming_the_key(bad):
    with pytest.raises(ParameterError) as info:
        CliffordShadow(shots_per_unitary=bad)
    text = str(info.value)
    assert text.startswith("shots_per_unitary: ") and "positive integer" in text
    assert "\n" not in text and info.value.key == "shots_per_unitary"


def test_shots_per_unitary_groups_shots_under_one_clifford():
    state = cl.random_brickwork_state(3, depth=2, seed=5)
    protocol = CliffordShadow(shots_per_unitary=4)
    rngs = {k: np.random.default_rng(i) for i, k in enumerate(("state_a", "state_b", "protocol"))}
    values, record = protocol.draw(state, 10, rngs)
    tableaux = np.concatenate([record["tableau_x"], record["tableau_z"]], axis=1)
    for group in (range(0, 4), range(4, 8), range(8, 10)):
        assert all(np.array_equal(tableaux[i], tableaux[group[0]]) for i in group)
        assert all(np.array_equal(values[i], values[group[0]]) for i in group)
    assert len(np.unique(tableaux, axis=0)) == 3


def test_dataset_layout_and_round_trip(tmp_path):
    """Tableaux are bit-packed (2n rows of n_words(n) words), symplectic, saved and reloaded."""
    state = cl.random_product_state(3, seed=1)
    data = cl.collect(state, protocol="clifford-shadow", copies=40, seed=3)
    assert data.arrays["tableau_x"].shape == (40, 6)
    assert data.arrays["bits"].shape == (40, 1)
    assert all(a.dtype == np.uint64 for a in data.arrays.values())
    raw = data.outcomes()
    assert raw["xs"].shape == (40, 6, 3) and raw["rs"].shape == (40, 6)
    assert is_symplectic(raw["xs"], raw["zs"]).all()
    path = data.save(tmp_path / "clifford.npz")
    again = cl.load(path)
    for name, array in data.arrays.items():
        np.testing.assert_array_equal(again.arrays[name], array)
    np.testing.assert_array_equal(again.estimate(["XYZ"]).values, data.estimate(["XYZ"]).values)


def test_truncated_tableau_array_is_refused(tmp_path):
    data = cl.collect(cl.random_product_state(2, seed=1), protocol="clifford-shadow", copies=8)
    data.arrays["tableau_z"] = data.arrays["tableau_z"][:, :2]
    path = data.save(tmp_path / "bad.npz")
    with pytest.raises(CopylearnError, match=r"do not fit protocol 'clifford-shadow'"):
        cl.load(path)


def _collect(seed: int) -> dict[str, np.ndarray]:
    state = cl.random_brickwork_state(2, depth=2, seed=8)
    return cl.collect(state, protocol="clifford-shadow", copies=30, seed=seed).arrays


def test_same_seed_gives_bit_identical_data_in_any_process():
    serial = [_collect(seed) for seed in (1, 2, 3)]
    with multiprocessing.get_context("fork").Pool(2) as pool:
        parallel = pool.map(_collect, (1, 2, 3))
    for a, b in zip(serial, parallel, strict=True):
        assert a.keys() == b.keys()
        for name in a:
            np.testing.assert_array_equal(a[name], b[name])
    assert not np.array_equal(serial[0]["tableau_x"], serial[1]["tableau_x"])


def test_prefix_sums_match_the_full_sums():
    data = cl.collect(cl.random_product_state(2, seed=4), protocol="clifford-shadow", copies=50)
    spec = data.spec
    paulis = data._paulis(["XI", "ZZ", "YX"])
    s1, s2 = spec.sums(paulis, data.arrays)
    p1, p2 = spec.sums(paulis, data.arrays, ends=np.array([0, 10, 50]))
    np.testing.assert_allclose(p1[-1], s1)
    np.testing.assert_allclose(p2[-1], s2)
    np.testing.assert_array_equal(p1[0], 0.0)
    values = spec.sums_values(paulis, data.arrays)
    np.testing.assert_allclose(p1[1], values[:10].sum(axis=0))
    with pytest.raises(CopylearnError, match="ends must be increasing"):
        spec.sums(paulis, data.arrays, ends=np.array([20, 10]))


def test_empirical_second_moment_from_collected_data():
    """E x_Q^2 = 2^n + 1 on executed data too (n = 2, all 15 Paulis, 600 snapshots)."""
    n = 2
    data = cl.collect(
        cl.random_brickwork_state(n, depth=3, seed=2),
        protocol="clifford-shadow",
        copies=600,
        seed=11,
    )
    labels = ["".join(p) for p in itertools.product("IXYZ", repeat=n) if set(p) != {"I"}]
    values = data.spec.sums_values(data._paulis(labels), data.arrays)
    d1 = 2.0**n + 1
    se = d1**2 * np.sqrt((1 / d1) * (1 - 1 / d1) / data.shots)
    np.testing.assert_array_less(np.abs((values**2).mean(axis=0) - d1), Z_MAX * se)


def test_device_placement_is_refused_in_one_line():
    pytest.importorskip("cirq_google")
    with pytest.raises(CopylearnError, match="cannot be placed on a device") as info:
        cl.collect(
            cl.random_product_state(2, seed=1),
            protocol="clifford-shadow",
            copies=4,
            device="rainbow",
        )
    assert "\n" not in str(info.value)


def test_bell_only_estimators_are_refused():
    data = cl.collect(cl.random_product_state(1, seed=1), protocol="clifford-shadow", copies=4)
    with pytest.raises(CopylearnError, match="does not support tr\\(rho\\^2\\)"):
        data.purity()


def test_calibration_is_refused_in_one_line():
    match = r"declares no calibration.*does not factor over qubits"
    with pytest.raises(CopylearnError, match=match) as info:
        cl.collect(
            cl.random_product_state(1, seed=1),
            protocol="clifford-shadow",
            copies=4,
            noise="depolarizing:0.01",
            calibration_copies=4,
        )
    assert "\n" not in str(info.value)


def test_cli_collect_and_estimate(tmp_path, capsys):
    out = tmp_path / "c.npz"
    argv = ["collect", "--state", "pauli:XZ:0.9", "--protocol", "clifford-shadow"]
    argv += ["--copies", "40", "--seed", "3", "--out", str(out)]
    assert main(argv) == 0
    assert main(["estimate", str(out), "--observables", "XZ"]) == 0
    assert "XZ" in capsys.readouterr().out
