"""PennyLane classical shadows imported into copylearn give PennyLane's own estimates.

``qml.ClassicalShadow.expval(H, k)`` splits the T snapshots into k contiguous batches of
ceil(T/k) and returns the median of the batch means of the per-snapshot values
3^|Q| * [bases match Q] * (-1)^(sum of the bits on Q) (k = 1: the plain mean). copylearn's
``estimate`` is that mean, and ``estimate(median_of_means=k)`` the median of k contiguous
batches of T // k: the same batches when k divides T, which the checks below use.

The committed fixture ``tests/data/pennylane_shadow_4q.npz`` (bits, recipes and PennyLane's
expval of every observable, at k = 1 and k = 3) was written by :func:`write_fixture`, run as
``python tests/test_interop_pennylane.py``; it keeps the conversion tested without PennyLane.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

import copylearn as cl

FIXTURE = Path(__file__).parent / "data" / "pennylane_shadow_4q.npz"
SHOTS = 600  # divisible by K
K = 3
# |+>, |->, |+i>, |1>: X0 = +1, X1 = -1, Y2 = +1, Z3 = -1.
EIGEN_VALUES = {"XIII": 1, "IXII": -1, "IIYI": 1, "IIIZ": -1, "XXII": -1, "XXYZ": 1, "ZIII": 0}


def observables() -> list[str]:
    """Every Pauli of weight 1 or 2 on 4 qubits, and a few of weight 3 and 4."""
    labels = []
    for weight in (1, 2):
        for support in itertools.combinations(range(4), weight):
            for letters in itertools.product("XYZ", repeat=weight):
                label = ["I"] * 4
                for q, letter in zip(support, letters, strict=True):
                    label[q] = letter
                labels.append("".join(label))
    return [*labels, "XXYI", "IXYZ", "XXYZ", "ZYXZ"]


def pennylane_shadow(qml, shots: int = SHOTS, seed: int = 2024):
    """``(bits, recipes)`` of ``default.qubit``'s ``classical_shadow`` on a 4-qubit product
    eigenstate (prepared by H; X, H; H, S; X) followed by nothing that changes it."""
    if hasattr(qml, "set_shots"):  # PennyLane >= 0.42: shots on the QNode
        device, with_shots = qml.device("default.qubit", wires=4, seed=seed), qml.set_shots(shots)
    else:  # older releases: shots on the device
        device = qml.device("default.qubit", wires=4, shots=shots, seed=seed)
        with_shots = lambda qnode: qnode  # noqa: E731

    @with_shots
    @qml.qnode(device)
    def circuit():
        qml.Hadamard(0)
        qml.PauliX(1)
        qml.Hadamard(1)
        qml.Hadamard(2)
        qml.S(2)
        qml.PauliX(3)
        return qml.classical_shadow(wires=range(4))

    bits, recipes = circuit()
    return np.asarray(bits), np.asarray(recipes)


def pennylane_expvals(qml, bits, recipes, labels, k: int) -> np.ndarray:
    """PennyLane's ``ClassicalShadow.expval`` of each label (qubit i = wire i)."""
    shadow = qml.ClassicalShadow(bits, recipes)
    letters = {"X": qml.PauliX, "Y": qml.PauliY, "Z": qml.PauliZ}
    ops = [qml.prod(*(letters[c](i) for i, c in enumerate(label) if c != "I")) for label in labels]
    return np.array([float(shadow.expval(op, k=k)) for op in ops])


def _check(bits, recipes, labels, mean, median) -> None:
    data = cl.from_pennylane(bits, recipes)
    np.testing.assert_allclose(data.estimate(labels).values, mean, rtol=0, atol=1e-12)
    light = [i for i, label in enumerate(labels) if len(label) - label.count("I") <= 2]
    mom = data.estimate([labels[i] for i in light], median_of_means=K)
    np.testing.assert_allclose(mom.values, median[light], rtol=0, atol=1e-12)
    # Conventions after the round trip: the eigenstate's known values, within 5 errors.
    est = data.estimate(list(EIGEN_VALUES))
    for label, value in EIGEN_VALUES.items():
        got, se = est[label]
        assert abs(got - value) <= 5 * max(se, 1e-3), (label, got, se)
    back = cl.from_pennylane(*cl.to_pennylane(data))
    for key in data.arrays:
        np.testing.assert_array_equal(back.arrays[key], data.arrays[key])


def test_committed_pennylane_fixture_gives_pennylanes_estimates():
    with np.load(FIXTURE, allow_pickle=False) as f:
        bits, recipes, labels = f["bits"], f["recipes"], [str(s) for s in f["observables"]]
        mean, median = f["expval_k1"], f[f"expval_k{K}"]
    assert bits.shape == recipes.shape == (SHOTS, 4) and bits.dtype == np.int8
    assert labels == observables()
    _check(bits, recipes, labels, mean, median)


def test_live_pennylane_shadow_gives_pennylanes_estimates():
    qml = pytest.importorskip("pennylane")
    bits, recipes = pennylane_shadow(qml)
    labels = observables()
    mean = pennylane_expvals(qml, bits, recipes, labels, 1)
    median = pennylane_expvals(qml, bits, recipes, labels, K)
    _check(bits, recipes, labels, mean, median)
    # A qml.ClassicalShadow object imports as its arrays, and export gives one back.
    shadow = qml.ClassicalShadow(bits, recipes)
    data = cl.from_pennylane(shadow)
    assert data.metadata["source"]["wires"] == [0, 1, 2, 3]
    again = cl.to_pennylane(data, shadow=True)
    assert float(again.expval(qml.PauliX(0), k=1)) == pytest.approx(mean[0], abs=1e-12)


def write_fixture() -> None:
    """Write the committed fixture (run by hand when the generator changes)."""
    import pennylane as qml

    bits, recipes = pennylane_shadow(qml)
    labels = observables()
    FIXTURE.parent.mkdir(exist_ok=True)
    np.savez_compressed(
        FIXTURE,
        bits=bits.astype(np.int8),
        recipes=recipes.astype(np.int8),
        observables=np.array(labels),
        expval_k1=pennylane_expvals(qml, bits, recipes, labels, 1),
        **{f"expval_k{K}": pennylane_expvals(qml, bits, recipes, labels, K)},
        pennylane_version=np.array(qml.__version__),
    )


if __name__ == "__main__":
    write_fixture()
