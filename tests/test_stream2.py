"""Stream 2 (copylearn.streams, docs/theory.md §15): its draws, its law, its pins.

The bases draw is discrete and checked by exact enumeration; block outcomes are checked
against exact density matrices with a chi-square test at a fixed alpha; the compiled and NumPy
implementations must give identical bytes; digests pin stream 2 as tests/test_stream_pins.py
pins stream 1.
"""

from __future__ import annotations

import hashlib
import itertools
import json

import numpy as np
import pytest
from scipy import stats

import copylearn as cl
from copylearn import streams
from copylearn.collect import prepare_collector
from copylearn.errors import CopylearnError
from copylearn.seeding import substream
from tests.test_stream_pins import LONG, NOISE, _state, digest

ALPHA = 1e-3  # chi-square tests: fixed seeds, fixed significance


@pytest.fixture(params=["numpy", "compiled"])
def sampler(request, monkeypatch):
    """Run a test with either implementation of the stream-2 sampler and basis planes."""
    from copylearn import compiled
    from copylearn.backends import blocks

    if request.param == "compiled":
        if compiled.load(compiled.BLOCKS) is None:
            pytest.skip("numba is not installed: only the NumPy sampler runs")
        monkeypatch.setattr(blocks, "COMPILED_MIN_WORK", 0)
        monkeypatch.setattr(compiled, "_work", {})
    else:
        monkeypatch.setenv(compiled.ENV_NO_NUMBA, "1")
    return request.param


# ----- the draws ----------------------------------------------------------------------------
def test_every_accepted_byte_gives_its_own_five_trits():
    """Exact enumeration: bytes 0..242 map one-to-one onto {0,1,2}^5, so an accepted byte
    (uniform on 0..242) gives five independent uniform trits; the planes encode them."""
    planes = streams._byte_planes()
    assert planes.shape == (243,)
    seen = set()
    for byte in range(243):
        trits = tuple(byte // 3**j % 3 for j in range(5))
        seen.add(trits)
        for j, t in enumerate(trits):
            s, x, z = (int(planes[byte]) >> (5 * k + j) & 1 for k in range(3))
            assert (s, x, z) == (t == 1, t != 2, t != 0)
    assert seen == set(itertools.product(range(3), repeat=5))


def test_trit_bytes_skip_exactly_the_bytes_above_242():
    raw = np.random.default_rng(3).bit_generator.random_raw(200).astype("<u8").view(np.uint8)
    expected = raw[raw < 243]
    got = streams.trit_bytes(np.random.default_rng(3), len(expected))
    assert np.array_equal(got, expected)
    more = streams.trit_bytes(np.random.default_rng(3), 5000)  # several refills
    assert len(more) == 5000 and more.max() <= 242 and np.array_equal(more[:100], expected[:100])


@pytest.mark.parametrize("n", [1, 5, 13, 64, 69, 130])
def test_basis_planes_agree_with_the_trits(n, sampler):
    shots = 3000
    s, x, z = streams.basis_planes(np.random.default_rng(n), shots, n)
    groups = -(-n // 5)
    accepted = streams.trit_bytes(np.random.default_rng(n), shots * groups).reshape(shots, -1)
    codes = (accepted[:, :, None] // 3 ** np.arange(5) % 3).reshape(shots, -1)[:, :n]
    unpack = cl.pauli.unpack_bits
    assert np.array_equal(unpack(s, n), codes == 1)
    assert np.array_equal(unpack(x, n), codes != 2)
    assert np.array_equal(unpack(z, n), codes != 0)


def test_outcome_draws_do_not_depend_on_chunking():
    whole = streams.uniforms(np.random.default_rng(1), 1001, 5)
    rng = np.random.default_rng(1)
    parts = np.concatenate([streams.uniforms(rng, k, 5) for k in (1, 500, 500)])
    assert whole.shape == (1001, 6) and np.array_equal(whole, parts)


def test_thresholds_are_within_half_a_step_of_the_cdf():
    cdf = np.array([0.0, 1e-12, 1 / 3, 0.5, 2 / 3, 1 - 1e-12, 1.0])
    t = streams.thresholds(cdf)
    assert np.all(np.abs(t / 2**32 - cdf) <= 2.0**-33)
    assert t[0] == 0 and t[-1] == 2**32 and t[3] == 2**31


# ----- the law, against exact density matrices ------------------------------------------------
def _rotation(basis: int) -> np.ndarray:
    """The single-qubit unitary before a Z measurement: X -> H, Y -> H S^dagger, Z -> I."""
    h = np.array([[1, 1], [1, -1]]) / np.sqrt(2)
    sdg = np.diag([1, -1j])
    return [h, h @ sdg, np.eye(2)][basis]


def test_shadow_outcomes_follow_the_exact_density_matrix(sampler):
    """Chi-square over (bases, outcomes) of a 2-qubit Pauli mixed state, noiseless."""
    state = cl.PauliMixedState("XY", alpha=0.8, sign=-1)
    rho = state.density_matrix()
    data = cl.collect(state, protocol="pauli-shadow", copies=60000, seed=11)
    shots = data.outcomes()
    bases = shots["bases"].astype(int) - 1  # X=0, Y=1, Z=2
    bits = shots["bits"].astype(int)
    observed = np.zeros((9, 4))
    np.add.at(observed, (bases[:, 0] * 3 + bases[:, 1], bits[:, 0] * 2 + bits[:, 1]), 1)
    expected = np.zeros((9, 4))
    for b0, b1 in itertools.product(range(3), repeat=2):
        u = np.kron(_rotation(b0), _rotation(b1))
        probabilities = np.real(np.diag(u @ rho @ u.conj().T))
        expected[b0 * 3 + b1] = observed[b0 * 3 + b1].sum() * probabilities
    keep = expected > 0
    assert observed[~keep].sum() == 0  # impossible outcomes never drawn
    chi2 = ((observed[keep] - expected[keep]) ** 2 / expected[keep]).sum()
    dof = keep.sum() - 9
    assert stats.chi2.sf(chi2, dof) > ALPHA
    # the bases: uniform over the nine settings
    assert stats.chisquare(observed.sum(axis=1)).pvalue > ALPHA


def test_bell_outcomes_follow_the_exact_density_matrix(sampler):
    """Chi-square over the 16 Bell outcomes of two copies of a 2-qubit state, noisy: the truth
    is rho' (x) rho' with rho' the state after the noise, from Cirq's density-matrix
    simulator of the noisy two-copy circuit (exact, no sampling)."""
    import cirq

    state = cl.PauliMixedState("ZX", alpha=0.6, sign=1)
    noise = "depolarizing:0.05"
    data = cl.collect(state, protocol="bell", copies=80000, noise=noise, seed=5)
    m = data.outcomes()
    code = m["m_a"][:, 0] * 8 + m["m_b"][:, 0] * 4 + m["m_a"][:, 1] * 2 + m["m_b"][:, 1]
    observed = np.bincount(code.astype(int), minlength=16)
    # Exact truth: average the noisy circuit's outcome distribution over the flip settings.
    collector = prepare_collector(state, "bell", noise)
    circuit = collector.plan.circuit
    names = collector.parameter_names
    sim = cirq.DensityMatrixSimulator(dtype=np.complex128)
    a, b = (sorted(q for q in circuit.all_qubits() if q.x % 2 == k) for k in (0, 1))
    order = [a[0], b[0], a[1], b[1]]
    probs = np.zeros(16)
    turns = state.turn_values()
    p_keep = (1 + state.alpha) / 2
    for fa, fb in itertools.product(itertools.product((0, 1), repeat=2), repeat=2):
        weight = 1.0
        for flips in (fa, fb):  # P = ZX: the eigenvalue is (-1)^(f0 + f1); sign +1
            weight *= (p_keep if (flips[0] + flips[1]) % 2 == 0 else 1 - p_keep) / 2
        row = [*fa, *turns, *fb, *turns]
        resolved = cirq.resolve_parameters(
            cirq.drop_terminal_measurements(circuit),
            dict(zip(names, map(float, row), strict=True)),
        )
        final = sim.simulate(resolved, qubit_order=order).final_density_matrix
        probs += weight * np.clip(np.real(np.diag(final)), 0, None)
    probs /= probs.sum()
    chi2 = ((observed - len(code) * probs) ** 2 / (len(code) * probs)).sum()
    assert stats.chi2.sf(chi2, 15) > ALPHA


# ----- the two implementations, and the pins --------------------------------------------------
@pytest.mark.parametrize("protocol", ["pauli-shadow", "bell"])
@pytest.mark.parametrize("noise", [None, NOISE])
def test_compiled_and_numpy_give_the_same_bytes(protocol, noise, monkeypatch):
    """Across a chunk boundary of the outcome draws (> SHOT_CHUNK shots) and with an odd
    number of blocks (a half word per shot unused)."""
    from copylearn import compiled
    from copylearn.backends import blocks

    if compiled.load(compiled.BLOCKS) is None:
        pytest.skip("numba is not installed")
    state = cl.PauliMixedState("XYZIY", alpha=0.7, sign=-1)
    runs = []
    for fast in (False, True):
        monkeypatch.setattr(blocks, "COMPILED_MIN_WORK", 0 if fast else 1 << 62)
        monkeypatch.setattr(compiled, "_work", {})
        if fast:
            monkeypatch.delenv(compiled.ENV_NO_NUMBA, raising=False)
        else:
            monkeypatch.setenv(compiled.ENV_NO_NUMBA, "1")
        copies = 2 * (streams.SHOT_CHUNK + 77)
        data = cl.collect(state, protocol=protocol, copies=copies, noise=noise, seed=3, stream=2)
        assert data.metadata["stream"] == 2
        runs.append((digest(data.arrays), data.metadata["execution"]))
    assert runs[0] == runs[1]


COLLECT_CASES = {
    ("pauli:XYZZI:0.7:-1", "bell", 2000, None, "qsim", 5): "c01aef62ffc66f5f",
    ("pauli:XYZZI:0.7:-1", "bell", 2000, NOISE, "qsim", 5): "9e6568fc5db6d9c4",
    ("pauli:XYZZI:0.7:-1", "pauli-shadow", 2000, None, "qsim", 5): "b491d41b07f81f10",
    ("pauli:XYZZI:0.7:-1", "pauli-shadow", 2000, NOISE, "qsim", 5): "7f9f7c0c52a03863",
    (LONG, "bell", 600, NOISE, "qsim", 11): "653dc28456bb9c42",
    (LONG, "pauli-shadow", 600, NOISE, "qsim", 11): "b65986faf3f8130c",
    (
        "pauli:ZZXY:1:1",
        "pauli-shadow",
        1000,
        "amplitude_damping:0.05",
        "exact",
        3,
    ): "aba257a047958b59",
    ("eigenstate:XYZ:-1", "bell", 1000, NOISE, "qsim", 8): "e921852582a6aed6",
}


@pytest.mark.parametrize(("case", "expected"), list(COLLECT_CASES.items()), ids=str)
def test_collect_is_bit_identical_to_the_pinned_stream_2(case, expected, sampler):
    spec, protocol, copies, noise, backend, seed = case
    data = cl.collect(
        _state(spec),
        protocol=protocol,
        copies=copies,
        noise=noise,
        backend=backend,
        seed=seed,
        stream=2,
    )
    assert data.metadata["stream"] == 2 and data.metadata["execution"]["path"] == "blocks"
    assert digest(data.arrays) == expected


SAMPLE_MANY = {
    ("bell", NOISE): ["92538d8ebf411483", "212d3a606ab1a5f0", "fccafd978a22f69c"],
    ("pauli-shadow", None): ["5ef287a9ee694e2f", "470be01850a33e42", "12b72f645d9d91a9"],
}


@pytest.mark.parametrize(("case", "expected"), list(SAMPLE_MANY.items()), ids=str)
def test_sample_many_is_bit_identical_to_the_pinned_stream_2(case, expected, sampler):
    protocol, noise = case
    states = [
        cl.PauliMixedState(p, alpha=0.8, sign=s)
        for p, s in (("XXYZZ", 1), ("IZYXZ", -1), ("YYYYY", 1))
    ]
    collector = prepare_collector(states[0], protocol, noise)
    root = np.random.SeedSequence(21)
    arrays, _ = collector.sample_many(
        states, 500, [substream(root, 1, t, 0) for t in range(3)], substream(root, 3, 0, 0)
    )
    assert [digest(a) for a in arrays] == expected


def test_calibrated_collect_is_pinned_on_stream_2(sampler):
    data = cl.collect(
        cl.PauliMixedState("XYZ", alpha=0.6),
        protocol="pauli-shadow",
        copies=400,
        noise=NOISE,
        seed=9,
        calibration_copies=200,
        stream=2,
    )
    assert data.metadata["stream"] == 2
    assert digest(data.arrays) == CALIBRATED
    calibration = json.dumps(data.metadata["calibration"], sort_keys=True).encode()
    assert hashlib.sha256(calibration).hexdigest()[:16] == CALIBRATED_DAMPING


CALIBRATED = "3bfcc61b376c5462"
CALIBRATED_DAMPING = "fd5535e38fbbc1c6"


# ----- the setting ----------------------------------------------------------------------------
def test_stream_1_is_the_pinned_stream_and_recorded():
    state = _state("pauli:XYZZI:0.7:-1")
    data = cl.collect(state, protocol="bell", copies=2000, seed=5, stream=1)
    assert data.metadata["stream"] == 1 and digest(data.arrays) == "ae25e62f40229b97"


@pytest.mark.parametrize("bad", [0, 4, "2", 2.0, True, None])
def test_an_unknown_stream_is_refused_in_one_line(bad):
    with pytest.raises(CopylearnError, match=r"stream=.* is not a random-stream version") as err:
        cl.collect(_state("pauli:XZ:1:1"), protocol="bell", copies=10, seed=1, stream=bad)
    assert "\n" not in str(err.value)


# ----- sweeps: a store keeps one stream ---------------------------------------------------------
SWEEP = """
[sweep]
task = "pauli-prediction"
seed = 5
strategies = ["bell"]
{stream}
[grid]
n = 1
queries = 1
trials = 40
max_copies = 200
"""


def _sweep(tmp_path, stream_line: str, name: str = "s"):
    from copylearn.sweep import parse_config, run_sweep

    config = parse_config(SWEEP.format(stream=stream_line))
    return run_sweep(config, tmp_path / name, workers=0, progress=False)


def test_a_new_store_draws_and_records_stream_3_and_keeps_it(tmp_path):
    (row,) = _sweep(tmp_path, "")
    assert row["stream"] == 3
    (again,) = _sweep(tmp_path, "stream = 3")  # resumed: nothing to run, the same row
    assert again == row
    with pytest.raises(CopylearnError, match=r"drew with stream 3: resuming would mix"):
        _sweep(tmp_path, "stream = 2")


def test_stream_3_draws_as_stream_2_off_the_global_stage_path(tmp_path):
    """Stream 3 changes only circuits that take the global-stage path: a Bell store's rows
    are stream 2's, field for field but the recorded stream."""
    (two,) = _sweep(tmp_path, "stream = 2", "two")
    (three,) = _sweep(tmp_path, "stream = 3", "three")
    assert two["curve"] == three["curve"] and two["n_star"] == three["n_star"]


def test_stream_1_rows_record_no_stream_and_differ_from_stream_2(tmp_path):
    (one,) = _sweep(tmp_path, "stream = 1", "one")
    (two,) = _sweep(tmp_path, "stream = 2", "two")
    assert "stream" not in one and one["id"] == two["id"]
    assert one["curve"] != two["curve"] or one["n_star"] != two["n_star"]


def test_store_stream_rules():
    from pathlib import Path

    from copylearn.sweep import _store_stream, parse_config

    def config(line):
        return parse_config(SWEEP.format(stream=line))

    out = Path("store")
    assert _store_stream(config(""), [], out) == 3
    assert _store_stream(config("stream = 1"), [], out) == 1
    assert _store_stream(config(""), [{"id": "a"}], out) == 1  # rows before stream versions
    assert _store_stream(config(""), [{"stream": 2}], out) == 2
    with pytest.raises(CopylearnError, match="rows of random streams"):
        _store_stream(config(""), [{"id": "a"}, {"stream": 2}], out)
    with pytest.raises(CopylearnError, match=r"sweep\.stream"):
        parse_config(SWEEP.format(stream="stream = 4"))
