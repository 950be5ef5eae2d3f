"""Measurement data in and out (copylearn.interop): exact round trips, conventions checked by
estimating known observables after import, and one-line refusals of malformed input."""

from __future__ import annotations

import itertools
import re
import subprocess
import sys
from pathlib import Path

import cirq
import numpy as np
import pytest

import copylearn as cl
from copylearn import interop
from copylearn.cli import INTEROP_FORMATS, main
from copylearn.data import load
from copylearn.errors import CopylearnError

ROOT = Path(__file__).resolve().parent.parent
EXPORT = ["export", "--format"]
IMPORT = ["import", "--format"]


def _same_arrays(a, b) -> None:
    assert a.protocol == b.protocol and a.n == b.n
    assert a.arrays.keys() == b.arrays.keys()
    for key in a.arrays:
        np.testing.assert_array_equal(a.arrays[key], b.arrays[key])


@pytest.fixture(scope="module")
def shadow():
    return cl.collect(cl.PauliMixedState("XYZ", alpha=0.9, sign=-1), "pauli-shadow", 600, seed=3)


@pytest.fixture(scope="module")
def bell():
    return cl.collect(cl.PauliMixedState("XY", alpha=0.9, sign=1), "bell", 400, seed=4)


def _one_line(capsys, *words):
    err = capsys.readouterr().err
    assert err.startswith("copylearn: error:") and err.count("\n") == 1, err
    for word in words:
        assert word in err, err


# ----------------------------------------------------------------------------- round trips
def test_python_round_trips_are_exact(shadow, bell):
    _same_arrays(cl.from_pennylane(*cl.to_pennylane(shadow)), shadow)
    _same_arrays(cl.from_recirq_states(**cl.to_recirq_states(shadow), pauli="XYZ"), shadow)
    _same_arrays(cl.from_recirq_states(**cl.to_recirq_states(bell)), bell)
    _same_arrays(cl.from_cirq_result(*cl.to_cirq_result(shadow)), shadow)
    bits, recipes = cl.to_pennylane(shadow)
    assert bits.dtype == recipes.dtype == np.int8 and bits.shape == (600, 3)
    arrays = cl.to_recirq_states(shadow)
    assert arrays["bits"].dtype == arrays["basis"].dtype == np.int64
    assert cl.to_recirq_states(bell)["bits"].shape == (200, 4)
    # The (2, T, n) array that qml.classical_shadow returns, as one argument.
    _same_arrays(cl.from_pennylane(np.stack([bits, recipes])), shadow)


def test_layouts_follow_each_tools_conventions(shadow):
    """Per-shot, per-qubit: PennyLane recipe = copylearn basis (X/Y/Z = 0/1/2) with the same
    bit; ReCirq code 0 = Z with the same bit, codes 1, 2 = X, Y with the bit complemented."""
    ours = shadow.outcomes()
    letters = np.array(list("XYZ"))[ours["bases"] - 1]
    bits, recipes = cl.to_pennylane(shadow)
    np.testing.assert_array_equal(np.array(list("XYZ"))[recipes], letters)
    np.testing.assert_array_equal(bits, ours["bits"])
    arrays = cl.to_recirq_states(shadow)
    np.testing.assert_array_equal(np.array(list("ZXY"))[arrays["basis"]], letters)
    flipped = arrays["basis"] != 0
    np.testing.assert_array_equal(arrays["bits"][flipped], 1 - ours["bits"][flipped])
    np.testing.assert_array_equal(arrays["bits"][~flipped], ours["bits"][~flipped])


def test_imported_metadata_records_source_and_version(shadow, tmp_path):
    path = interop.write_pennylane(shadow, tmp_path / "pl.npz")
    data = interop.read_pennylane([path])
    assert data.metadata["source"] == {"format": "pennylane", "files": ["pl.npz"]}
    assert data.metadata["versions"]["copylearn"] == cl.__version__
    assert data.metadata["copies"] == 600 and data.metadata["experiments"] == 600
    back = load(data.save(tmp_path / "back.npz"))  # a saved import is a valid dataset
    assert back.metadata["source"]["format"] == "pennylane"


@pytest.mark.parametrize("fmt", ["pennylane", "recirq-states"])
def test_cli_export_then_import_is_exact(fmt, shadow, bell, tmp_path, capsys):
    for data in (shadow, bell) if fmt == "recirq-states" else (shadow,):
        saved = data.save(tmp_path / f"{data.protocol}.npz")
        out = tmp_path / (f"{data.protocol}-pl.npz" if fmt == "pennylane" else data.protocol)
        assert main([*EXPORT, fmt, str(saved), "--out", str(out)]) == 0
        written = capsys.readouterr().out.split()
        if fmt == "recirq-states":  # ReCirq's names, the hidden Pauli from the state
            n, pauli = data.n, data.metadata["state_parameters"]["pauli"]
            stem = f"Q-size-{n}-pauli-{pauli}"
            basis = [f"{stem}-basis.npy"] if data.protocol == "pauli-shadow" else []
            assert [Path(w).name for w in written] == [f"{stem}.npy", *basis]
        back = tmp_path / f"{data.protocol}-back.npz"
        assert main([*IMPORT, fmt, *written, "--out", str(back)]) == 0
        assert capsys.readouterr().out.strip() == str(back)
        imported = load(back)
        _same_arrays(imported, data)
        assert imported.metadata["source"]["files"] == [Path(w).name for w in written]
        if fmt == "recirq-states":
            assert imported.metadata["source"]["pauli"] == pauli


def test_recirq_states_import_takes_the_files_in_either_order(shadow, tmp_path):
    paths = interop.write_recirq_states(shadow, tmp_path)
    _same_arrays(interop.read_recirq_states(paths[::-1]), shadow)


def test_recirq_states_n1_squeezed_rows_import():
    """ReCirq saves learn_states_c data at n = 1 as (T,) arrays (np.squeeze of 1x1 rows)."""
    data = cl.from_recirq_states(np.array([0, 1, 1, 0]), np.array([0, 1, 2, 2]))
    assert data.n == 1 and data.shots == 4
    np.testing.assert_array_equal(data.outcomes()["bits"][:, 0], [0, 0, 0, 1])


def test_export_refusals_leave_no_file(shadow, bell, tmp_path, capsys):
    saved_bell = bell.save(tmp_path / "bell.npz")
    assert main([*EXPORT, "pennylane", str(saved_bell), "--out", str(tmp_path / "x.npz")]) == 2
    _one_line(capsys, "pauli-shadow")
    anonymous = cl.from_pennylane(*cl.to_pennylane(shadow)).save(tmp_path / "anon.npz")
    assert main([*EXPORT, "recirq-states", str(anonymous), "--out", str(tmp_path / "d")]) == 2
    _one_line(capsys, "--pauli")
    assert (
        main(
            [
                *EXPORT,
                "recirq-states",
                str(anonymous),
                "--out",
                str(tmp_path / "d"),
                "--pauli",
                "XQZ",
            ]
        )
        == 2
    )
    _one_line(capsys, "not a Pauli label")
    assert (
        main(
            [
                *EXPORT,
                "pennylane",
                str(anonymous),
                "--out",
                str(tmp_path / "x.npz"),
                "--pauli",
                "XYZ",
            ]
        )
        == 2
    )
    _one_line(capsys, "--pauli applies")
    assert main([*EXPORT, "pennylane", str(anonymous), "--out", str(tmp_path / "x.txt")]) == 2
    _one_line(capsys, "does not end in .npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["anon.npz", "bell.npz"]
    keep = tmp_path / "keep.npz"
    keep.write_bytes(b"keep")
    assert main([*EXPORT, "pennylane", str(anonymous), "--out", str(keep)]) == 2
    _one_line(capsys, "exists", "--force")
    assert keep.read_bytes() == b"keep"
    assert main([*EXPORT, "pennylane", str(anonymous), "--out", str(keep), "--force"]) == 0
    _same_arrays(interop.read_pennylane([keep]), shadow)


# ----------------------------------------------------------------------------- conventions
def _recirq_states_c(rho: np.ndarray, n: int, shots: int, seed: int):
    """learn_states_c-layout data of the n-qubit state ``rho``, written as ReCirq does: a random
    basis code per qubit and shot, its PhasedXZ turn (code 0: none; 1: axis 0.5, x 0.5; 2: axis
    -1, x 0.5, ReCirq's parameters), then a Z measurement; outcomes drawn from the Born rule of
    the turned state (Cirq's gate matrices: no copylearn convention enters)."""
    rs = np.random.RandomState(seed)
    basis = rs.randint(0, 3, size=(shots, n))
    turns = [
        cirq.unitary(cirq.PhasedXZGate(axis_phase_exponent=a, x_exponent=x, z_exponent=0))
        for a, x in ((0.0, 0.0), (0.5, 0.5), (-1.0, 0.5))
    ]
    bits = np.empty((shots, n), dtype=np.int64)
    for codes in itertools.product(range(3), repeat=n):
        rows = np.flatnonzero((basis == codes).all(axis=1))
        u = turns[codes[0]]
        for c in codes[1:]:
            u = np.kron(u, turns[c])
        probs = np.clip(np.real(np.diag(u @ rho @ u.conj().T)), 0, None)
        outcome = rs.choice(2**n, size=len(rows), p=probs / probs.sum())
        bits[rows] = (outcome[:, None] >> np.arange(n - 1, -1, -1)) & 1  # qubit 0 first
    return bits, basis


def _recirq_states_q(rho: np.ndarray, n: int, shots: int, seed: int) -> np.ndarray:
    """learn_states_q-layout data of two copies of ``rho``: qubits a_0, b_0, a_1, b_1, ...,
    CNOT(a_i, b_i) then H(a_i) (ReCirq's un-Bell-pair block), measured in that order."""
    qubits = cirq.LineQubit.range(2 * n)  # interleaved: a_i = 2i, b_i = 2i + 1
    circuit = cirq.Circuit(
        [cirq.CNOT(qubits[2 * i], qubits[2 * i + 1]) for i in range(n)],
        [cirq.H(qubits[2 * i]) for i in range(n)],
    )
    u = cirq.unitary(circuit)
    two = np.kron(rho, rho).reshape((2,) * (4 * n))  # axes a_0..a_{n-1}, b_0..b_{n-1}, x2
    order = [k for i in range(n) for k in (i, n + i)]
    two = two.transpose(order + [2 * n + k for k in order]).reshape(4**n, 4**n)
    probs = np.clip(np.real(np.diag(u @ two @ u.conj().T)), 0, None)
    outcome = np.random.RandomState(seed).choice(4**n, size=shots, p=probs / probs.sum())
    return (outcome[:, None] >> np.arange(2 * n - 1, -1, -1)) & 1


def _pauli_mixed(pauli: str, alpha: float, sign: int) -> np.ndarray:
    d = 2 ** len(pauli)
    return (np.eye(d) + alpha * sign * cirq.unitary(cirq.DensePauliString(pauli))) / d


def _product(vectors) -> np.ndarray:
    psi = np.array([1.0 + 0j])
    for v in vectors:
        psi = np.kron(psi, np.asarray(v, dtype=complex) / np.linalg.norm(v))
    return np.outer(psi, psi.conj())


# |+>, |-i>, |1>: X0 = +1, Y1 = -1, Z2 = -1.
EIGEN = _product([[1, 1], [1, -1j], [0, 1]])
EIGEN_VALUES = {"XII": 1, "IYI": -1, "IIZ": -1, "XYI": -1, "XIZ": -1, "XYZ": 1, "ZII": 0}


def _within(estimates, expected: dict, z: float = 5.0) -> None:
    for label, value in expected.items():
        got, se = estimates[label]
        assert abs(got - value) <= z * max(se, 1e-3), (label, got, se, value)


@pytest.mark.parametrize("sign", [1, -1])
def test_recirq_states_c_gives_alpha_s(tmp_path, sign):
    # One -Y basis in P: a missing bit complement flips the sign of the estimate.
    bits, basis = _recirq_states_c(_pauli_mixed("YZZ", 0.9, sign), 3, 4000, seed=11 + sign)
    names = interop.recirq_states_names(3, "YZZ", basis=True)
    np.save(tmp_path / names[0], bits)
    np.save(tmp_path / names[1], basis)
    data = interop.read_recirq_states([tmp_path / names[0], tmp_path / names[1]])
    est = data.estimate(["YZZ", "YII", "IIZ"])
    _within(est, {"YZZ": 0.9 * sign, "YII": 0.0, "IIZ": 0.0})
    assert abs(est["YZZ"][0] + 0.9 * sign) > 10 * est["YZZ"][1]  # the sign is resolved


def test_recirq_states_c_eigenstate_signs():
    bits, basis = _recirq_states_c(EIGEN, 3, 3000, seed=5)
    data = cl.from_recirq_states(bits, basis)
    _within(data.estimate(list(EIGEN_VALUES)), EIGEN_VALUES)


def test_recirq_states_q_gives_alpha_squared(tmp_path):
    table = _recirq_states_q(_pauli_mixed("XY", 0.9, -1), 2, 3000, seed=8)
    name = interop.recirq_states_names(2, "XY", basis=False)[0]
    np.save(tmp_path / name, table)
    data = interop.read_recirq_states([tmp_path / name])
    assert data.protocol == "bell" and data.metadata["source"]["pauli"] == "XY"
    _within(data.estimate_square(["XY", "XI", "ZZ"]), {"XY": 0.81, "XI": 0.0, "ZZ": 0.0})


def test_recirq_states_q_eigenstate_squares():
    """Squares of stabilisers are 1, whatever their sign; a Y-convention error would give -1."""
    rho = _product([[1, 1], [1, -1j]])  # X0 = +1, Y1 = -1
    data = cl.from_recirq_states(_recirq_states_q(rho, 2, 2000, seed=9))
    expected = {"XI": 1, "IY": 1, "XY": 1, "YY": 0, "ZI": 0}
    _within(data.estimate_square(list(expected)), expected)


def test_cirq_result_of_a_user_circuit_with_stated_bases():
    """A user's circuit on GridQubits, measured in every basis of 3 qubits (uniform bases):
    the imported data estimate the eigenstate's known observables, PauliStrings by qubit."""
    qubits = [cirq.GridQubit(0, k) for k in range(3)]
    prepare = cirq.Circuit(
        cirq.H(qubits[0]),
        cirq.X(qubits[1]),
        cirq.H(qubits[1]),
        cirq.S(qubits[1]),
        cirq.X(qubits[2]),
    )
    turn = {
        "X": lambda q: [cirq.H(q)],
        "Y": lambda q: [cirq.S(q) ** -1, cirq.H(q)],
        "Z": lambda q: [],
    }
    labels = ["".join(t) for t in itertools.product("XYZ", repeat=3)]
    simulator = cirq.Simulator(seed=12)
    results = [
        simulator.run(
            prepare
            + cirq.Circuit([turn[b](q) for b, q in zip(label, qubits, strict=True)])
            + cirq.measure(*qubits, key="z"),
            repetitions=60,
        )
        for label in labels
    ]
    data = cl.from_cirq_result(results, labels, qubits=qubits)
    assert data.shots == 27 * 60 and data.metadata["source"]["keys"] == ["z"]
    _within(data.estimate(list(EIGEN_VALUES)), EIGEN_VALUES)
    x0y1 = cirq.X(qubits[0]) * cirq.Y(qubits[1])
    assert data.estimate(x0y1).values[0] == data.estimate("XYI").values[0]


# ----------------------------------------------------------------------------- bad input
BITS = np.zeros((5, 3), np.int8)
CODES = np.ones((5, 3), np.int8)
NOT_STATES = cl.Dataset("conventional-y", 1, {"bits": np.zeros((1, 1), np.uint64)})
BAD_PYTHON = [
    (lambda: cl.from_pennylane(BITS[0], CODES[0]), "shape (3,)"),
    (lambda: cl.from_pennylane(BITS, CODES[:4]), "differ"),
    (lambda: cl.from_pennylane(BITS, CODES[:, :2]), "differ"),
    (lambda: cl.from_pennylane(BITS, CODES + 2), "holds 3"),
    (lambda: cl.from_pennylane(BITS - 1, CODES), "holds -1"),
    (lambda: cl.from_pennylane(BITS + 2, CODES), "0 or 1"),
    (lambda: cl.from_pennylane(BITS.astype(float), CODES), "dtype float64"),
    (lambda: cl.from_pennylane(BITS.astype(object), CODES), "object array"),
    (lambda: cl.from_pennylane(np.zeros((0, 3), np.int8), CODES[:0]), "no data"),
    (lambda: cl.from_pennylane(np.stack([BITS, CODES, CODES])), "(3, 5, 3)"),
    (lambda: cl.from_pennylane(BITS, CODES, wire_map=[0, 1]), "2 wires for 3 columns"),
    (lambda: cl.from_recirq_states(BITS, CODES + 2), "codes 0..2"),
    (lambda: cl.from_recirq_states(BITS), "3 columns"),
    (lambda: cl.from_recirq_states(BITS[:, :2], pauli="XYZ"), "not a Pauli label on 1"),
    (lambda: cl.from_recirq_states(np.zeros(4, np.int64), np.zeros(3, np.int64)), "differ"),
    (lambda: cl.from_cirq_result("r", "XYZ"), "cirq.Result"),
    (lambda: cl.to_recirq_states(NOT_STATES), "not 'conventional-y'"),
    (lambda: cl.to_pennylane(NOT_STATES), "not 'conventional-y'"),
]


@pytest.mark.parametrize(("call", "message"), BAD_PYTHON)
def test_python_refusals_are_one_line(call, message):
    with pytest.raises(CopylearnError, match=re.escape(message)) as info:
        call()
    assert "\n" not in str(info.value)


def _result(bits) -> cirq.ResultDict:
    return cirq.ResultDict(params=cirq.ParamResolver({}), records={"m": bits[:, None, :]})


@pytest.mark.parametrize(
    ("bases", "message"),
    [("XYQ", "not a basis label"), ("XY", "not a basis label"), (["XYZ"] * 4, "4 labels")],
)
def test_cirq_result_refuses_bad_bases(bases, message):
    with pytest.raises(CopylearnError, match=message):
        cl.from_cirq_result(_result(BITS), bases)
    with pytest.raises(CopylearnError, match="no measurement key 'q'"):
        cl.from_cirq_result(_result(BITS), "XYZ", key="q")
    with pytest.raises(CopylearnError, match="2 results and 3 bases"):
        cl.from_cirq_result([_result(BITS)] * 2, ["XYZ"] * 3)


def _files(tmp_path, case: str) -> list[Path]:
    """The files of one malformed CLI input."""
    ints = np.zeros((6, 3), np.int64)
    arrays = {
        "float": ints.astype(float),
        "object": np.array([[0, 1, "x"]] * 6, dtype=object),
        "nonbinary": ints + 2,
        "code3": ints + 3,
        "short": ints[:5],
        "flat": ints[0],
    }
    named = {
        "pl-nonbinary": ("pennylane", [("b.npy", "nonbinary"), ("r.npy", None)]),
        "pl-code3": ("pennylane", [("b.npy", None), ("r.npy", "code3")]),
        "pl-lengths": ("pennylane", [("b.npy", None), ("r.npy", "short")]),
        "pl-float": ("pennylane", [("b.npy", "float"), ("r.npy", None)]),
        "pl-object": ("pennylane", [("b.npy", "object"), ("r.npy", None)]),
        "pl-flat": ("pennylane", [("s.npy", "flat")]),
        "pl-three": ("pennylane", [("a.npy", None), ("b.npy", None), ("c.npy", None)]),
        "rs-code3": (
            "recirq-states",
            [("Q-size-3-pauli-XYZ.npy", None), ("Q-size-3-pauli-XYZ-basis.npy", "code3")],
        ),
        "rs-nobasis": ("recirq-states", [("Q-size-3-pauli-XYZ.npy", None)]),
        "rs-odd": ("recirq-states", [("data.npy", None)]),
        "rs-basisonly": ("recirq-states", [("Q-size-3-pauli-XYZ-basis.npy", None)]),
        "rs-size": ("recirq-states", [("Q-size-2-pauli-XY.npy", None)]),
        "rs-runs": (
            "recirq-states",
            [("Q-size-3-pauli-XYZ.npy", None), ("Q-size-3-pauli-XXX-basis.npy", None)],
        ),
        "rs-lengths": (
            "recirq-states",
            [("Q-size-3-pauli-XYZ.npy", "short"), ("Q-size-3-pauli-XYZ-basis.npy", None)],
        ),
    }
    fmt, files = named[case]
    paths = []
    for name, kind in files:
        path = tmp_path / name
        array = ints if kind is None else arrays[kind]
        np.save(path, array, allow_pickle=kind == "object")
        paths.append(path)
    return [fmt, *map(str, paths)]


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("pl-nonbinary", "holds 2"),
        ("pl-code3", "holds 3"),
        ("pl-lengths", "differ"),
        ("pl-float", "dtype float64"),
        ("pl-object", "pickled"),
        ("pl-flat", "shape (3,)"),
        ("pl-three", "--format pennylane reads"),
        ("rs-code3", "codes 0..2"),
        ("rs-nobasis", "basis file"),
        ("rs-odd", "data.npy is not a ReCirq states file name"),
        ("rs-basisonly", "give its bits file (Q-size-3-pauli-XYZ.npy)"),
        ("rs-size", "4 columns"),
        ("rs-runs", "different runs"),
        ("rs-lengths", "differ"),
    ],
)
def test_cli_import_refusals_are_one_line_without_output(tmp_path, capsys, case, message):
    fmt, *files = _files(tmp_path, case)
    before = sorted(p.name for p in tmp_path.iterdir())
    out = tmp_path / "out.npz"
    assert main([*IMPORT, fmt, *files, "--out", str(out)]) == 2
    _one_line(capsys, message)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_cli_import_refuses_missing_and_damaged_files(tmp_path, capsys):
    out = str(tmp_path / "out.npz")
    assert main([*IMPORT, "pennylane", str(tmp_path / "none.npz"), "--out", out]) == 2
    _one_line(capsys, "does not exist")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    assert main([*IMPORT, "pennylane", str(bad), "--out", out]) == 2
    _one_line(capsys, "cannot be read")
    np.savez(tmp_path / "wrong.npz", bits=np.zeros((2, 2), np.int8))
    assert main([*IMPORT, "pennylane", str(tmp_path / "wrong.npz"), "--out", out]) == 2
    _one_line(capsys, "['recipes']")
    np.save(tmp_path / "b.npy", np.zeros((2, 2), np.int8))
    keep = tmp_path / "keep.npz"
    keep.write_bytes(b"keep")
    b = str(tmp_path / "b.npy")
    assert main([*IMPORT, "pennylane", b, b, "--out", str(keep)]) == 2
    _one_line(capsys, "exists", "--force")
    assert keep.read_bytes() == b"keep"
    assert main([*IMPORT, "nonsense", b, "--out", out]) == 2
    _one_line(capsys, "invalid choice")
    assert not Path(out).exists()


# ----------------------------------------------------------------------------- version
def test_version_everywhere(shadow):
    import tomllib

    from copylearn.sweep import package_versions
    from copylearn.version import package_version, source_tree_version

    with open(ROOT / "pyproject.toml", "rb") as handle:
        declared = tomllib.load(handle)["project"]["version"]
    assert cl.__version__ == package_version() == source_tree_version() == declared
    assert shadow.metadata["versions"]["copylearn"] == declared
    assert package_versions()["copylearn"] == declared
    done = subprocess.run(
        [sys.executable, "-m", "copylearn", "--version"], capture_output=True, text=True, cwd=ROOT
    )
    assert done.returncode == 0 and done.stdout == f"copylearn {declared}\n"


def test_source_tree_version_ignores_other_projects(tmp_path):
    from copylearn.version import source_tree_version

    assert source_tree_version(tmp_path) is None
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "other"\nversion = "9"\n')
    assert source_tree_version(tmp_path) is None
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "copylearn"\nversion = "9.1"\n')
    assert source_tree_version(tmp_path) == "9.1"
    (tmp_path / "pyproject.toml").write_text("[project\n")
    assert source_tree_version(tmp_path) is None


def test_cli_formats_match_the_module():
    assert INTEROP_FORMATS == interop.FORMATS
