"""The compiled estimator path against the NumPy path, and the cached vectorised label parser.

The compiled kernels (copylearn.estimator_kernels_numba) must give exactly the sums of the
NumPy path (which tests/test_pauli.py checks against brute-force per-shot formulas), for both
protocols, with and without prefix ends; the label parser must give exactly the reference
parser's Paulis and error messages.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
from kernel_paths import both_paths

import copylearn
from copylearn import compiled, estimator_kernels
from copylearn.data import Dataset
from copylearn.errors import CopylearnError
from copylearn.pauli import (
    _parse_items,
    _parse_label_set,
    _planes,
    bell_sums,
    pack_bits,
    parse_paulis,
    shadow_sums,
    to_planes,
)

pytest.importorskip("numba")


def _random_case(rng, n, shots, m=37):
    """Labels (one all-identity) and packed shadow data in which every 3rd shot matches one."""
    labels = ["".join(rng.choice(list("IXYZ"), size=n)) for _ in range(m)]
    labels[0] = "I" * n
    labels[1] = "-" + labels[1]
    bases = rng.integers(0, 3, size=(shots, n))
    for j in range(0, shots, 3):
        label = labels[j % m].lstrip("-")
        bases[j] = [{"X": 0, "Y": 1, "Z": 2}.get(c, bases[j, i]) for i, c in enumerate(label)]
    bx = pack_bits((bases <= 1).astype(np.uint8))
    bz = pack_bits((bases >= 1).astype(np.uint8))
    bits = pack_bits(rng.integers(0, 2, size=(shots, n)).astype(np.uint8))
    return parse_paulis(labels, n), bx, bz, bits


@pytest.mark.parametrize(("n", "shots"), [(1, 1), (3, 63), (12, 1000), (40, 333), (70, 129)])
def test_compiled_sums_equal_numpy_sums(monkeypatch, n, shots):
    rng = np.random.default_rng(n * 1000 + shots)
    paulis, bx, bz, bits = _random_case(rng, n, shots)
    for ends in (None, rng.integers(0, shots + 1, size=6), np.array([shots, 0, shots // 2])):

        def sums(e=ends):
            return (*shadow_sums(paulis, bx, bz, bits, e), *bell_sums(paulis, bits, bx, e))

        fast, numpy_ = both_paths(monkeypatch, compiled.ESTIMATORS, sums)
        for a, b in zip(fast, numpy_, strict=True):
            assert a.shape == b.shape
            assert np.array_equal(a, b)  # exact: both come from the same integer counts
    # The data do match: the sums are not all zero.
    assert np.count_nonzero(fast[0]) > 0


@pytest.mark.parametrize("n", [1, 5, 64, 65, 130])
@pytest.mark.parametrize("shots", [0, 1, 64, 65, 200])
def test_compiled_transpose_equals_numpy(n, shots):
    rng = np.random.default_rng(n + shots)
    words = pack_bits(rng.integers(0, 2, size=(shots, n)).astype(np.uint8))
    planes, valid = _planes(words, n, estimator_kernels.kernels())
    expected, expected_valid = to_planes(words, n)
    assert planes.dtype == expected.dtype and np.array_equal(planes, expected)
    assert valid.dtype == expected_valid.dtype and np.array_equal(valid, expected_valid)


def test_dataset_estimates_equal_on_both_paths(monkeypatch):
    rng = np.random.default_rng(5)
    paulis, bx, bz, bits = _random_case(rng, 3, 3000)
    shadow = Dataset("pauli-shadow", 3, {"bits": bits, "bases_x": bx, "bases_z": bz})
    bell = Dataset("bell", 3, {"m_a": bits, "m_b": bx})

    def estimates():
        return (
            shadow.estimate(paulis).values,
            shadow.estimate(paulis, median_of_means=3).values,
            shadow.estimate_square(paulis).stderr,
            bell.estimate_square(paulis).values,
        )

    for a, b in zip(*both_paths(monkeypatch, compiled.ESTIMATORS, estimates), strict=True):
        assert np.array_equal(a, b)


def test_numpy_fallback_without_numba(monkeypatch):
    """With numba not importable the NumPy path is chosen, silently."""
    monkeypatch.setitem(sys.modules, "numba", None)
    monkeypatch.setitem(sys.modules, "copylearn.estimator_kernels_numba", None)
    monkeypatch.delattr(copylearn, "estimator_kernels_numba", raising=False)
    monkeypatch.setattr(compiled, "_loaded", {})
    monkeypatch.setattr(compiled, "_failed", set())
    assert estimator_kernels.kernels() is None
    assert not estimator_kernels.numba_available()
    paulis, bx, bz, bits = _random_case(np.random.default_rng(1), 4, 100)
    s1, _ = shadow_sums(paulis, bx, bz, bits)
    assert s1.shape == (len(paulis),)


# ----- labels ---------------------------------------------------------------------------------
def _same_paulis(a, b):
    return (
        a.n == b.n
        and a.labels == b.labels
        and np.array_equal(a.x, b.x)
        and np.array_equal(a.z, b.z)
        and a.sign.dtype == b.sign.dtype
        and np.array_equal(a.sign, b.sign)
        and a.x.dtype == b.x.dtype
    )


@pytest.mark.parametrize(
    ("labels", "n"),
    [
        (["XYZI", "-zzii", " +ixyz ", "IIII"], None),
        (["xy", "-YX"], 2),
        (["X" * 70, "-" + "YZ" * 35], 70),
    ],
)
def test_vectorised_parser_equals_reference(labels, n):
    _parse_label_set.cache_clear()
    assert _same_paulis(parse_paulis(labels, n), _parse_items(labels, n))
    assert _same_paulis(parse_paulis(",".join(labels), n), _parse_items(labels, n))


@pytest.mark.parametrize(
    ("labels", "n"),
    [
        (["XYZ", "XQZ"], 3),
        (["XY", "XYZ"], None),
        (["XY", "XYZ"], 2),
        (["", "XY"], None),
        (["-", "XY"], 2),
        (["X Y"], None),
        (["XÝ"], 2),
        (["ẞX"], None),
        (["XY", "XY"], 3),
    ],
)
def test_bad_labels_raise_the_reference_message(labels, n):
    with pytest.raises(CopylearnError) as reference:
        _parse_items(labels, n)
    for _ in range(2):  # errors are not cached: the second call raises the same line
        with pytest.raises(CopylearnError) as fast:
            parse_paulis(labels, n)
        assert str(fast.value) == str(reference.value)
        assert "\n" not in str(fast.value)


def test_parsed_labels_are_cached_and_read_only():
    labels = ["XZ", "-YY"]
    first = parse_paulis(labels, 2)
    assert parse_paulis(list(labels), 2) is first
    with pytest.raises(ValueError, match="read-only"):
        first.x[0, 0] = 0


def test_estimate_from_labels_equals_from_paulis():
    paulis, bx, bz, bits = _random_case(np.random.default_rng(9), 5, 500)
    shadow = Dataset("pauli-shadow", 5, {"bits": bits, "bases_x": bx, "bases_z": bz})
    labels = list(paulis.labels)
    assert np.array_equal(shadow.estimate(labels).values, shadow.estimate(paulis).values)
    assert shadow.estimate(labels).observables == paulis.labels


def test_numba_is_loaded_only_after_enough_work(monkeypatch):
    """Small one-off estimates stay on NumPy; the kernel is loaded once the work pays."""
    monkeypatch.delenv(estimator_kernels.ENV_NO_NUMBA, raising=False)
    monkeypatch.setattr(compiled, "_loaded", {})
    monkeypatch.setattr(compiled, "_work", {})
    half = estimator_kernels.LOAD_AFTER_WORK // 2
    assert estimator_kernels.kernels(work=half) is None
    assert estimator_kernels.kernels(work=half - 1) is None
    assert estimator_kernels.kernels(work=1) is not None
    assert estimator_kernels.kernels(work=1) is not None  # loaded: stays loaded
