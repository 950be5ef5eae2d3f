"""Pins of collected data: the same seed gives the same bytes as before the sampler's rewrites.

The committed stores in figures/ were produced by the block sampler's random stream; any
optimisation of ``draw``, ``outcome_arrays`` or :func:`copylearn.backends.blocks.run_blocks`
must leave every dataset bit-identical. The digests below were recorded from the sampler as it
was before the issue-11 rewrite (commit 1dee449) and cover both protocols, noiseless and noisy,
one and two 64-bit words per shot, the exact backend and the sweep runner's ``sample_many``.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

import copylearn as cl
from copylearn.collect import prepare_collector
from copylearn.seeding import substream

NOISE = "depolarizing:0.01+readout:0.01"


@pytest.fixture(autouse=True, params=["numpy", "compiled"])
def sampler(request, monkeypatch):
    """Every pin holds for both implementations of the block sampler's per-shot loop."""
    from copylearn import compiled
    from copylearn.backends import blocks

    if request.param == "compiled":
        if compiled.load(compiled.BLOCKS) is None:
            pytest.skip("numba is not installed: only the NumPy sampler runs")
        monkeypatch.setattr(blocks, "COMPILED_MIN_WORK", 0)
    else:
        monkeypatch.setattr(blocks, "COMPILED_MIN_WORK", 1 << 62)
    return request.param


def digest(arrays: dict[str, np.ndarray]) -> str:
    """sha256 over the arrays' names, dtypes, shapes and bytes, in name order."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]


LONG = "pauli:" + "XYZI" * 17 + "Y:0.9:1"  # 69 qubits: two 64-bit words per shot
COLLECT_CASES = {
    # (state, protocol, copies, noise, backend, seed): digest
    ("pauli:XYZZI:0.7:-1", "bell", 2000, None, "qsim", 5): "ae25e62f40229b97",
    ("pauli:XYZZI:0.7:-1", "bell", 2000, NOISE, "qsim", 5): "d9db0012f7768d98",
    ("pauli:XYZZI:0.7:-1", "pauli-shadow", 2000, None, "qsim", 5): "91de7dbb58568eb9",
    ("pauli:XYZZI:0.7:-1", "pauli-shadow", 2000, NOISE, "qsim", 5): "440f63a92ccb19b8",
    (LONG, "bell", 600, NOISE, "qsim", 11): "38d73a0a024d6317",
    (LONG, "pauli-shadow", 600, NOISE, "qsim", 11): "cd21ffae80d4d6f9",
    (
        "pauli:ZZXY:1:1",
        "pauli-shadow",
        1000,
        "amplitude_damping:0.05",
        "exact",
        3,
    ): "35e08d4f935ae118",
    ("eigenstate:XYZ:-1", "bell", 1000, NOISE, "qsim", 8): "a36ae42e194cd03c",
}


def _state(spec: str):
    kind, label, *rest = spec.split(":")
    if kind == "pauli":
        return cl.PauliMixedState(label, alpha=float(rest[0]), sign=int(rest[1]))
    return cl.PauliEigenstate(label, sign=int(rest[0]))


def _entangled_pair_state() -> cl.CircuitState:
    """A 3-qubit circuit state whose first two qubits are joined (a 4-qubit Bell block)."""
    import cirq

    q = cirq.LineQubit.range(3)
    return cl.CircuitState(
        cirq.Circuit(cirq.ry(0.3).on(q[0]), cirq.CNOT(q[0], q[1]), cirq.rx(0.7).on(q[2])),
        name="pair",
    )


@pytest.mark.parametrize(("case", "expected"), list(COLLECT_CASES.items()), ids=str)
def test_collect_is_bit_identical_to_the_pinned_stream(case, expected):
    spec, protocol, copies, noise, backend, seed = case
    data = cl.collect(
        _state(spec),
        protocol=protocol,
        copies=copies,
        noise=noise,
        backend=backend,
        seed=seed,
        stream=1,
    )
    assert data.metadata["execution"]["path"] == "blocks"
    assert digest(data.arrays) == expected


SAMPLE_MANY = {
    ("bell", None): ["edcea560b494f909", "cf327c0d0e581389", "d7117c37ff8f45f6"],
    ("bell", NOISE): ["c1f95fe974ab7d3c", "585635e6084607d4", "2b6475e7b6ce5d9f"],
    ("pauli-shadow", None): ["a473032c5df5f9f6", "01f3fb93be45464d", "e9d6d40ecc0e3003"],
    ("pauli-shadow", NOISE): ["128d1549684948e8", "58bf80788f62e4de", "acd51a0e36c00d5d"],
}


@pytest.mark.parametrize(("case", "expected"), list(SAMPLE_MANY.items()), ids=str)
def test_sample_many_is_bit_identical_to_the_pinned_stream(case, expected):
    """The sweep runner's path: several states in one simulator run (copylearn/complexity.py)."""
    protocol, noise = case
    states = [
        cl.PauliMixedState(p, alpha=0.8, sign=s)
        for p, s in (("XXYZZ", 1), ("IZYXZ", -1), ("YYYYY", 1))
    ]
    collector = prepare_collector(states[0], protocol, noise, stream=1)
    root = np.random.SeedSequence(21)
    arrays, _ = collector.sample_many(
        states, 500, [substream(root, 1, t, 0) for t in range(3)], substream(root, 3, 0, 0)
    )
    assert [digest(a) for a in arrays] == expected


@pytest.mark.parametrize(
    ("protocol", "expected"), [("bell", "699bdd2e824b3ca2"), ("pauli-shadow", "4ea4008f5642b8d4")]
)
def test_entangled_block_is_bit_identical_to_the_pinned_stream(protocol, expected):
    """A 4-qubit block takes the per-setting search branch of the sampler."""
    data = cl.collect(
        _entangled_pair_state(), protocol=protocol, copies=2000, noise=NOISE, seed=4, stream=1
    )
    assert data.metadata["execution"]["largest_block_qubits"] == 4 or protocol != "bell"
    assert digest(data.arrays) == expected


@pytest.mark.parametrize(
    ("protocol", "expected", "expected_calibration"),
    [
        ("bell", "4b6b655a7f932b6e", "1fb45475c18e11c4"),
        ("pauli-shadow", "a7972b74325978cf", "7330d229217a65be"),
    ],
)
def test_calibrated_collect_is_bit_identical_to_the_pinned_stream(
    protocol, expected, expected_calibration
):
    """Calibration reads the per-shot parameter values back (``with_values``)."""
    data = cl.collect(
        cl.PauliMixedState("XYZ", alpha=0.6),
        protocol=protocol,
        copies=400,
        noise=NOISE,
        seed=9,
        calibration_copies=200,
        stream=1,
    )
    calibration = json.dumps(data.metadata["calibration"], sort_keys=True).encode()
    assert digest(data.arrays) == expected
    assert hashlib.sha256(calibration).hexdigest()[:16] == expected_calibration


def _ghz_state(n: int) -> cl.CircuitState:
    import cirq

    q = cirq.LineQubit.range(n)
    return cl.CircuitState(
        cirq.Circuit(cirq.H(q[0]), *(cirq.CNOT(q[i], q[i + 1]) for i in range(n - 1))),
        name=f"ghz{n}",
    )


@pytest.mark.parametrize("stream", [1, 2])
@pytest.mark.parametrize("noise", [None, NOISE])
def test_compiled_sampler_searches_wide_blocks_like_numpy(noise, stream, monkeypatch):
    """A 6-qubit Bell block (63 CDF thresholds) takes the kernel's binary search: the outcomes
    equal the NumPy sampler's for the same seed, shot for shot."""
    from copylearn import compiled
    from copylearn.backends import blocks

    if compiled.load(compiled.BLOCKS) is None:
        pytest.skip("numba is not installed")
    runs = []
    for min_work in (1 << 62, 0):
        monkeypatch.setattr(blocks, "COMPILED_MIN_WORK", min_work)
        data = cl.collect(
            _ghz_state(3),
            protocol="bell",
            copies=4000,
            noise=noise,
            seed=2,
            execution="blocks",
            stream=stream,
        )
        assert data.metadata["execution"]["largest_block_qubits"] == 6
        runs.append(data.arrays)
    assert digest(runs[0]) == digest(runs[1])


def test_shared_block_distributions_keep_the_executed_count(monkeypatch):
    """A second collect reuses the process's block distributions yet reports the same number of
    distinct block circuits as the first (the metadata must not depend on what ran before)."""
    from copylearn.backends import blocks

    monkeypatch.setattr(blocks, "_SHARED", {})
    state = cl.PauliMixedState("XYZIY", alpha=0.5)
    first = cl.collect(state, protocol="pauli-shadow", copies=300, noise=NOISE, seed=1)
    second = cl.collect(state, protocol="pauli-shadow", copies=300, noise=NOISE, seed=1)
    assert first.metadata["execution"] == second.metadata["execution"]
    assert digest(first.arrays) == digest(second.arrays)
