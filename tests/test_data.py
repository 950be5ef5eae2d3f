"""Dataset persistence and estimator plumbing (statistical validation is in test_validation)."""

from __future__ import annotations

import json
import math

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


def test_shadow_data_refuse_purity(shadow):
    with pytest.raises(CopylearnError, match="protocol='bell'"):
        shadow.purity()


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
    plain = shadow.estimate(["XYZI", "XIII"])
    one = shadow.estimate(["XYZI", "XIII"], median_of_means=1)
    assert np.allclose(one.values, plain.values)
    mom = shadow.estimate(["XYZI", "XIII"], median_of_means=7)
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
