"""Dataset persistence and estimator plumbing (statistical validation is in test_validation)."""

from __future__ import annotations

import json
import math

import cirq
import numpy as np
import pytest

import copylearn as cl
from copylearn.errors import CopylearnError

STATE = cl.PauliMixedState("XYZI", alpha=0.9, sign=-1)


@pytest.fixture(scope="module")
def bell():
    return cl.collect(STATE, protocol="bell", copies=2000, noise="depolarizing:0.01", seed=7)


@pytest.fixture(scope="module")
def shadow():
    return cl.collect(STATE, protocol="pauli-shadow", copies=3000, seed=7)


@pytest.mark.parametrize("name", ["bell", "shadow"])
def test_save_load_round_trip(name, request, tmp_path):
    data = request.getfixturevalue(name)
    path = data.save(tmp_path / "run")
    assert path.name == "run.npz" and path.is_file()
    assert not list(tmp_path.glob(".*tmp"))
    loaded = cl.load(path)
    assert loaded.protocol == data.protocol and loaded.n == data.n
    assert loaded.metadata == json.loads(json.dumps(data.metadata))
    for key, array in data.arrays.items():
        assert loaded.arrays[key].dtype == np.uint64
        assert np.array_equal(loaded.arrays[key], array)
    obs = ["XYZI", "ZZII"]
    assert np.array_equal(loaded.estimate_square(obs).values, data.estimate_square(obs).values)
    with np.load(path, allow_pickle=False) as archive:  # readable without pickle
        assert "header" in archive.files


def test_load_rejects_missing_and_corrupt_files(tmp_path, bell):
    with pytest.raises(CopylearnError, match="does not exist"):
        cl.load(tmp_path / "nothing.npz")
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip archive at all")
    with pytest.raises(CopylearnError, match="not a readable copylearn dataset"):
        cl.load(junk)
    good = bell.save(tmp_path / "good.npz")
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(CopylearnError, match="not a readable copylearn dataset"):
        cl.load(truncated)
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, x=np.arange(3))
    with pytest.raises(CopylearnError, match="not a readable copylearn dataset"):
        cl.load(foreign)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, header=np.array([{"format": "copylearn-dataset"}], dtype=object))
    with pytest.raises(CopylearnError, match="not a readable copylearn dataset"):
        cl.load(pickled)


def test_load_rejects_inconsistent_arrays(tmp_path, bell):
    broken = cl.Dataset("bell", bell.n, {"m_a": bell.arrays["m_a"]}, bell.metadata)
    path = broken.save(tmp_path / "broken.npz")
    with pytest.raises(CopylearnError, match="do not fit"):
        cl.load(path)


def test_save_replaces_atomically(tmp_path, bell, shadow):
    path = tmp_path / "run.npz"
    bell.save(path)
    shadow.save(path)
    assert cl.load(path).protocol == "pauli-shadow"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.npz"]


def test_bell_data_refuse_signed_estimates(bell):
    with pytest.raises(CopylearnError, match="tr\\(Q rho\\)\\^2 only"):
        bell.estimate(["XYZI"])


def test_clifford_shadow_data_refuse_purity_without_shared_bases():
    data = cl.collect(cl.PauliMixedState("XZ"), protocol="clifford-shadow", copies=20, seed=1)
    with pytest.raises(CopylearnError, match="protocol='bell'"):
        data.purity()


def test_observables_are_validated(bell):
    with pytest.raises(CopylearnError, match="4 qubits"):
        bell.estimate_square(["XYZ"])
    with pytest.raises(CopylearnError, match="unknown letters"):
        bell.estimate_square(["XYZQ"])


def test_estimates_object(bell, shadow):
    est = bell.estimate_square("XYZI,ZZII")
    assert est.observables == ("XYZI", "ZZII") and len(est) == 2
    value, stderr = est["XYZI"]
    assert value == est.values[0] and stderr == est.stderr[0]
    assert json.loads(json.dumps(est.to_dict()))["estimates"][1]["observable"] == "ZZII"
    assert "XYZI" in str(est)
    with pytest.raises(KeyError):
        est["IIII"]
    signed = shadow.estimate(["-XYZI", "XYZI"])
    assert signed.values[0] == -signed.values[1]


def test_median_of_means(shadow):
    plain = shadow.estimate(["ZZII", "XIII"])
    one = shadow.estimate(["ZZII", "XIII"], median_of_means=1)
    assert np.allclose(one.values, plain.values)
    assert np.allclose(one.stderr, plain.stderr)
    two = shadow.estimate(["ZZII", "XIII"], median_of_means=2)  # the median of 2 is the mean
    assert np.allclose(two.stderr, plain.stderr, rtol=0.01)
    mom = shadow.estimate(["ZZII", "XIII"], median_of_means=7)
    assert mom.shots == 7 * (shadow.shots // 7)
    assert np.allclose(mom.stderr, plain.stderr * math.sqrt(math.pi / 2), rtol=0.01)
    for bad in (0, shadow.shots + 1, 2.0, True):
        with pytest.raises(CopylearnError, match="median_of_means"):
            shadow.estimate(["XYZI"], median_of_means=bad)


def test_estimate_abs_is_consistent(bell, shadow):
    sq = bell.estimate_square(["XYZI", "ZIII"])
    ab = bell.estimate_abs(["XYZI", "ZIII"])
    assert np.allclose(ab.values, np.sqrt(np.maximum(sq.values, 0)))
    assert np.all(ab.stderr > 0)
    signed = shadow.estimate(["XYZI"])
    assert shadow.estimate_abs(["XYZI"]).values[0] == abs(signed.values[0])


# ----- issue 9 item 4: median of means refuses meaningless batches; |tr| clipped to [0, 1] ---
def test_median_of_means_refuses_one_shot_batches():
    """The issue's example: one-shot batches gave 0.000 +- 0.868 for a true 0.9."""
    data = cl.collect(
        cl.PauliMixedState("X", alpha=0.9), protocol="pauli-shadow", copies=400, seed=3
    )
    with pytest.raises(CopylearnError, match=r"leaves 1 shots per batch.*median_of_means <= 13"):
        data.estimate("X", median_of_means=400)
    # The limit is 10 * 3^|Q| shots per batch: 30 for weight 1 (400 // 30 = 13 batches).
    assert data.estimate("X", median_of_means=13).method == "median of 13 means"
    with pytest.raises(CopylearnError, match="median_of_means"):
        data.estimate("X", median_of_means=14)


def test_median_of_means_limit_follows_the_heaviest_observable(shadow):
    """Another member: batches fine for weight 1 are refused for weight 3 (270 shots each)."""
    assert shadow.shots == 3000
    shadow.estimate(["XIII"], median_of_means=100)  # 30 shots per batch: enough for weight 1
    with pytest.raises(CopylearnError, match=r"weight 3 needs at least 10\*3\^3 = 270"):
        shadow.estimate(["XIII", "XYZI"], median_of_means=12)  # 250 shots per batch
    assert shadow.estimate(["XIII", "XYZI"], median_of_means=11).shots == 11 * 272


def test_estimate_abs_is_clipped_to_one():
    """|mean| of a weight-2 shadow can exceed 1 at 100 shots (the issue saw 1.89)."""
    state = cl.PauliEigenstate("ZZ", sign=1)  # tr(ZZ rho) = 1 exactly
    clipped = 0
    for seed in range(12):
        data = cl.collect(state, protocol="pauli-shadow", copies=100, seed=seed)
        raw = data.estimate(["ZZ", "ZI"])
        ab = data.estimate_abs(["ZZ", "ZI"])
        assert np.array_equal(ab.values, np.minimum(np.abs(raw.values), 1.0))
        assert np.all((ab.values >= 0) & (ab.values <= 1)) and np.array_equal(ab.stderr, raw.stderr)
        clipped += int(np.any(np.abs(raw.values) > 1))
    assert clipped >= 3  # the clip was exercised, not vacuous


def test_calibrated_bell_abs_is_clipped_to_one():
    """Another member: a calibrated Bell square above 1 must not give |tr| > 1."""
    state = cl.PauliEigenstate("Z", sign=1)
    seen_above = False
    for seed in range(8):
        data = cl.collect(
            state,
            protocol="bell",
            copies=400,
            noise="state_depolarizing:0.1",
            calibration_copies=400,
            seed=seed,
        )
        square = data.estimate_square("Z", calibrated=True)
        ab = data.estimate_abs("Z", calibrated=True).values[0]
        assert ab == pytest.approx(math.sqrt(min(max(square.values[0], 0.0), 1.0)))
        assert 0.0 <= ab <= 1.0
        # the calibrated square is itself clipped to [0, 1] and says so when it was
        seen_above |= "clipped" in square.method
    assert seen_above


# ----- issue 9 item 2: cirq.PauliString observables are mapped by qubit identity ---------------
@pytest.fixture(scope="module")
def gapped():
    """The issue's example: X on q0 and q2, so n = 2 and q1 is not a qubit of the state."""
    q = cirq.LineQubit.range(3)
    state = cl.CircuitState(cirq.Circuit(cirq.X(q[0]), cirq.X(q[2])))
    return state, cl.collect(state, protocol="pauli-shadow", copies=4000, seed=11)


def test_pauli_string_outside_the_state_is_refused(gapped):
    _, data = gapped
    with pytest.raises(
        CopylearnError, match=r"q\(1\).*not one of the state's qubits \[q\(0\), q\(2\)\]"
    ):
        data.estimate([cirq.Z(cirq.LineQubit(1))])


def test_pauli_string_maps_by_qubit(gapped):
    state, data = gapped
    rho = state.density_matrix()
    q0, q2 = cirq.LineQubit(0), cirq.LineQubit(2)
    est = data.estimate([cirq.Z(q2), cirq.Z(q0) * cirq.Z(q2), cirq.X(q2)])
    assert est.observables == ("IZ", "ZZ", "IX")
    truth = [np.trace(np.kron(np.eye(2), Z) @ rho).real, 1.0, 0.0]
    assert truth[0] == pytest.approx(-1.0)
    assert np.all(np.abs(est.values - truth) <= 5 * est.stderr), (est.values, est.stderr)
    labels = data.estimate(["IZ", "ZZ", "IX"])  # labels stay positional
    assert np.array_equal(labels.values, est.values)
    assert data.qubits == (q0, q2)


Z = np.diag([1.0, -1.0])


def test_pauli_string_on_grid_and_named_qubits():
    """Other members: GridQubits and NamedQubits, where position and identity differ."""
    g = [
        cirq.GridQubit(1, 5),
        cirq.GridQubit(0, 3),
        cirq.GridQubit(2, 0),
    ]  # sorted: g[1], g[0], g[2]
    circuit = cirq.Circuit(cirq.X(g[0]), cirq.H(g[1]), cirq.CNOT(g[1], g[2]))
    data = cl.collect(circuit, protocol="pauli-shadow", copies=6000, seed=5)
    assert data.qubits == (g[1], g[0], g[2])
    est = data.estimate([cirq.Z(g[0]), cirq.Z(g[1]) * cirq.Z(g[2]), cirq.X(g[1]) * cirq.X(g[2])])
    assert est.observables == ("IZI", "ZIZ", "XIX")
    truth = np.array([-1.0, 1.0, 1.0])
    assert np.all(np.abs(est.values - truth) <= 5 * est.stderr), (est.values, est.stderr)
    with pytest.raises(CopylearnError, match="not one of the state's qubits"):
        data.estimate([cirq.Z(cirq.LineQubit(0))])
    a, b = cirq.NamedQubit("b"), cirq.NamedQubit("a")
    named = cl.collect(cirq.Circuit(cirq.X(a), cirq.I(b)), protocol="bell", copies=400, seed=1)
    sq = named.estimate_square([cirq.Z(a), cirq.X(b)])
    assert sq.observables == ("IZ", "XI")  # sorted qubits: a (the idle one) first, then b


def test_qubits_survive_save_and_old_files_fall_back(tmp_path, gapped):
    _, data = gapped
    again = cl.load(data.save(tmp_path / "gapped.npz"))
    assert again.qubits == data.qubits
    est = again.estimate([cirq.Z(cirq.LineQubit(2))])
    assert est.observables == ("IZ",)
    # A file written before the qubits were recorded: the state circuit still names them.
    old_meta = {k: v for k, v in data.metadata.items() if k != "qubits"}
    old = cl.load(cl.Dataset("pauli-shadow", 2, data.arrays, old_meta).save(tmp_path / "old.npz"))
    assert old.qubits == data.qubits
    # Without a state circuit (Pauli states): qubit i is cirq.LineQubit(i), as before.
    bare = cl.Dataset("pauli-shadow", 2, data.arrays, {"state": "pauli:ZZ"})
    assert bare.qubits == tuple(cirq.LineQubit.range(2))
    assert bare.estimate([cirq.Z(cirq.LineQubit(1))]).observables == ("IZ",)


def test_pauli_state_records_line_qubits(shadow):
    assert shadow.qubits == tuple(cirq.LineQubit.range(4))
    q = cirq.LineQubit.range(4)
    by_string = shadow.estimate([cirq.X(q[0]) * cirq.Y(q[1]) * cirq.Z(q[2])])
    assert np.array_equal(by_string.values, shadow.estimate("XYZI").values)


# ----- issue 9 item 19: raw shots unpacked -----------------------------------------------------
def test_outcomes_unpack_shadow_shots(shadow):
    out = shadow.outcomes()
    assert set(out) == {"bases", "bits"}
    for array in out.values():
        assert array.shape == (shadow.shots, 4) and array.dtype == np.uint8
    assert set(np.unique(out["bases"])) == {1, 2, 3} and set(np.unique(out["bits"])) <= {0, 1}
    # The per-shot shadow estimate of XYZI rebuilt from the unpacked shots (the README's
    # conventions) reproduces the packed estimator exactly.
    letters = np.array([1, 2, 3])  # X, Y, Z on qubits 0..2, I on qubit 3
    match = np.all(out["bases"][:, :3] == letters, axis=1)
    sign = (-1.0) ** out["bits"][:, :3].sum(axis=1)
    assert np.mean(27.0 * match * sign) == pytest.approx(shadow.estimate("XYZI").values[0])


def test_outcomes_unpack_bell_shots(bell):
    out = bell.outcomes()
    assert set(out) == {"m_a", "m_b"}
    assert out["m_a"].shape == (bell.shots, 4) and out["m_b"].dtype == np.uint8
    singlets = (out["m_a"] & out["m_b"]).sum(axis=1)
    assert np.mean((-1.0) ** singlets) == pytest.approx(bell.purity().values[0])


def test_outcomes_convention_on_a_known_state():
    """|1> on qubit 0, |+> on qubit 1: Z-basis bit 1 on qubit 0, X-basis bit 0 on qubit 1."""
    q = cirq.LineQubit.range(2)
    data = cl.collect(
        cirq.Circuit(cirq.X(q[0]), cirq.H(q[1])), protocol="pauli-shadow", copies=300, seed=2
    )
    out = data.outcomes()
    assert np.all(out["bits"][out["bases"][:, 0] == 3, 0] == 1)
    assert np.all(out["bits"][out["bases"][:, 1] == 1, 1] == 0)
    bell = cl.collect(cirq.Circuit(cirq.X(q[0]), cirq.H(q[1])), protocol="bell", copies=300, seed=2)
    pairs = bell.outcomes()
    assert np.all(pairs["m_b"][:, 0] == 0)  # |11> is (Phi+ - Phi-)/sqrt(2): m_B = 0
    assert np.all(pairs["m_a"][:, 1] == 0)  # |++> is (Phi+ + Psi+)/sqrt(2): m_A = 0
