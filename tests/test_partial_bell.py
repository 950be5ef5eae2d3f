"""The ``partial-bell`` protocol (k qubits of quantum memory, docs/theory.md §20).

Truth is the exact density matrix: for every rotation V of the rest (all 3^m Pauli bases;
all 24 one-qubit Cliffords; random Cliffords for m >= 2) the exact outcome law of the
protocol's own measurement stage on rho (x) rho, read off dense matrices, weighs the
protocol's single-shot values f_Q. Unbiasedness (E f_Q = tr(Q rho)^2) and the second
moment (E f_Q^2 = 2^{n-k} + 1 for a Clifford rest, 3^{|Q_R|} for Pauli bases) are then exact
identities, or 5-standard-error checks over random Cliffords; data collected on the
simulators are checked within 5 standard errors.
"""

from __future__ import annotations

import functools
import itertools

import cirq
import numpy as np
import pytest

import copylearn as cl
from copylearn.cli import main
from copylearn.clifford import (
    clifford_shadow_values,
    line_template_circuit,
    random_tableaux,
    template,
    template_exponents,
)
from copylearn.errors import CopylearnError
from copylearn.parameters import ParameterError
from copylearn.pauli import n_words, pack_bits, parse_paulis, unpack_bits
from copylearn.protocols import get_protocol
from copylearn.protocols.partial_bell import PartialBell
from tests.exact_reference import all_paulis, expectation

Z_MAX = 5.0


@functools.lru_cache(maxsize=16)
def _bell_stage_unitary(n: int, k: int) -> np.ndarray:
    """CNOT(A_i -> B_i), H(A_i) for i < k, on qubit order A_0..A_{n-1}, B_0..B_{n-1}."""
    a, b = cirq.LineQubit.range(n), cirq.LineQubit.range(n, 2 * n)
    ops = [cirq.CNOT(a[i], b[i]) for i in range(k)] + [cirq.H(a[i]) for i in range(k)]
    return cirq.Circuit(ops, [cirq.I(q) for q in a + b]).unitary(qubit_order=a + b)


def _rest_unitary(m: int, rest: str, values: np.ndarray) -> np.ndarray:
    """The m-qubit rotation V at the protocol's parameter values: the Clifford template
    resolved (``clifford-shadow``'s synthesis), or Z^(-s/2) then H^h per qubit."""
    qubits = cirq.LineQubit.range(m)
    if rest == "clifford":
        names = template(m).parameter_names
        resolver = cirq.ParamResolver(dict(zip(names, map(float, values), strict=True)))
        circuit = cirq.resolve_parameters(line_template_circuit(m), resolver)
    else:
        s, h = values[:m], values[m:]
        circuit = cirq.Circuit(
            [cirq.Z(q) ** (-0.5 * float(si)) for q, si in zip(qubits, s, strict=True)],
            [cirq.H(q) ** float(hi) for q, hi in zip(qubits, h, strict=True)],
        )
    return cirq.Circuit(circuit, [cirq.I(q) for q in qubits]).unitary(qubit_order=qubits)


def _outcome_law(rho: np.ndarray, n: int, k: int, rest: str, values: np.ndarray) -> np.ndarray:
    """Exact law of the 2n measured bits (A's n bits, then B's, big-endian) when the same V
    acts on both copies' qubits k..n-1 and the first k pairs are Bell-measured, on
    rho (x) rho (dense matrices, independent of the simulators)."""
    m = n - k
    one = np.kron(np.eye(2**k), _rest_unitary(m, rest, values) if m else np.eye(1))
    w = _bell_stage_unitary(n, k) @ np.kron(one, one)
    return ((w @ np.kron(rho, rho)) * w.conj()).sum(axis=1).real


def _all_outcomes(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Packed m_a, m_b of every one of the 4^n outcomes, in :func:`_outcome_law`'s order."""
    index = np.arange(4**n)
    bits = ((index[:, None] >> np.arange(2 * n - 1, -1, -1)[None]) & 1).astype(np.uint8)
    return pack_bits(bits[:, :n]), pack_bits(bits[:, n:])


def _pauli_rest_arrays(n: int, k: int, codes: tuple[int, ...], shots: int) -> dict:
    """Dataset arrays of ``shots`` outcomes under the Pauli bases ``codes`` (X=0, Y=1, Z=2)."""
    c = np.array(codes, dtype=np.uint8)
    bx = np.zeros((shots, n), dtype=np.uint8)
    bz = np.zeros((shots, n), dtype=np.uint8)
    bx[:, k:], bz[:, k:] = c != 2, c != 0
    zeros = np.zeros((shots, n_words(n)), dtype=np.uint64)
    return {
        "tableau_x": np.zeros((shots, 2 * n * n_words(n)), dtype=np.uint64),
        "tableau_z": np.zeros((shots, 2 * n * n_words(n)), dtype=np.uint64),
        "signs_x": zeros,
        "signs_z": zeros,
        "bases_x": pack_bits(bx),
        "bases_z": pack_bits(bz),
    }


def _clifford_rest_arrays(n: int, k: int, xs, zs, rs, shots: int) -> dict:
    """Dataset arrays of ``shots`` outcomes under one m-qubit tableau, as ``draw`` records it."""
    m = n - k
    out = _pauli_rest_arrays(n, k, (2,) * m, shots)
    out["bases_x"][:] = 0
    out["bases_z"][:] = 0
    for name, rows in (("tableau_x", xs), ("tableau_z", zs)):
        full = np.zeros((shots, 2 * n, n), dtype=np.uint8)
        full[:, : 2 * m, :m] = rows
        out[name] = pack_bits(full).reshape(shots, -1)
    sx = np.zeros((shots, n), dtype=np.uint8)
    sz = np.zeros((shots, n), dtype=np.uint8)
    sx[:, :m], sz[:, :m] = rs[:m], rs[m:]
    out["signs_x"], out["signs_z"] = pack_bits(sx), pack_bits(sz)
    return out


def _conditional_moments(protocol, rho, n, arrays, values, labels):
    """E[f_Q | V] and E[f_Q^2 | V] for the rest rotation V of ``arrays``/``values``."""
    law = _outcome_law(rho, n, protocol.memory_qubits, protocol.rest, values)
    m_a, m_b = _all_outcomes(n)
    f = protocol.sums_values(parse_paulis(labels, n), {"m_a": m_a, "m_b": m_b, **arrays})
    return law @ f, law @ f**2


def _one_qubit_cliffords() -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """All 24 one-qubit Cliffords modulo phase as tableaux (rows C X C^dagger, C Z C^dagger)."""
    letters = {"X": (1, 0), "Y": (1, 1), "Z": (0, 1)}
    out = []
    for p, q in itertools.permutations("XYZ", 2):
        for signs in itertools.product((0, 1), repeat=2):
            xs = np.array([[letters[p][0]], [letters[q][0]]], dtype=np.uint8)
            zs = np.array([[letters[p][1]], [letters[q][1]]], dtype=np.uint8)
            out.append((xs, zs, np.array(signs, dtype=np.uint8)))
    return out


def _truth(rho, labels):
    return np.array([expectation(rho, q) for q in labels]) ** 2


# ----- exact identities ---------------------------------------------------------------------
@pytest.mark.parametrize(("n", "k"), [(n, k) for n in (1, 2, 3) for k in range(n + 1)])
def test_pauli_rest_exact_mean_and_second_moment_over_all_bases(n, k):
    """Average over all 3^m shared bases of the exact conditional moments: E f_Q = tr(Q rho)^2
    and E f_Q^2 = 3^{|Q_R|}, for every Pauli, to rounding."""
    rho = cl.random_mixed_state(n, depth=2, seed=10 * n + k).density_matrix()
    labels = all_paulis(n)
    protocol = PartialBell(memory_qubits=k, rest="pauli")
    m = n - k
    mean = np.zeros(len(labels))
    second = np.zeros(len(labels))
    for codes in itertools.product(range(3), repeat=m):
        c = np.array(codes)
        values = np.concatenate([(c == 1), (c != 2)]).astype(float)
        arrays = _pauli_rest_arrays(n, k, codes, 4**n)
        mu, sq = _conditional_moments(protocol, rho, n, arrays, values, labels)
        mean += mu / 3**m
        second += sq / 3**m
    np.testing.assert_allclose(mean, _truth(rho, labels), atol=1e-10)
    rest_weight = np.array([sum(c != "I" for c in q[k:]) for q in labels])
    np.testing.assert_allclose(second, 3.0**rest_weight, atol=1e-9)


@pytest.mark.parametrize(("n", "k"), [(1, 0), (2, 1), (3, 2), (4, 3)])
def test_clifford_rest_exact_over_all_one_qubit_cliffords(n, k):
    """m = 1: the average over all 24 Cliffords gives E f_Q = tr(Q rho)^2 and
    E f_Q^2 = 2^1 + 1 = 3 (Q_R != I) exactly."""
    rho = cl.random_mixed_state(n, depth=2, seed=7 + n).density_matrix()
    labels = all_paulis(n)
    protocol = PartialBell(memory_qubits=k)
    mean = np.zeros(len(labels))
    second = np.zeros(len(labels))
    group = _one_qubit_cliffords()
    for xs, zs, rs in group:
        values = template_exponents(xs[None], zs[None], rs[None])[0]
        arrays = _clifford_rest_arrays(n, k, xs, zs, rs, 4**n)
        mu, sq = _conditional_moments(protocol, rho, n, arrays, values, labels)
        mean += mu / len(group)
        second += sq / len(group)
    np.testing.assert_allclose(mean, _truth(rho, labels), atol=1e-10)
    rest_identity = np.array([set(q[k:]) == {"I"} for q in labels])
    np.testing.assert_allclose(second, np.where(rest_identity, 1.0, 3.0), atol=1e-9)


@pytest.mark.parametrize(
    ("n", "k"),
    [(2, 0), (3, 0)]
    + [pytest.param(n, k, marks=pytest.mark.slow) for n, k in ((3, 1), (4, 0), (4, 1), (4, 2))],
)
def test_clifford_rest_unbiased_over_random_cliffords(n, k):
    """m >= 2: exact conditional moments for 120 uniformly drawn Cliffords; their averages
    match tr(Q rho)^2 and 2^m + 1 within 5 standard errors (of the average over Cliffords)."""
    rho = cl.random_mixed_state(n, depth=2, seed=3 * n + k).density_matrix()
    labels = [q for q in all_paulis(n) if set(q[k:]) != {"I"}]
    labels = [labels[i] for i in np.random.default_rng(n + k).permutation(len(labels))[:24]]
    protocol = PartialBell(memory_qubits=k)
    m = n - k
    count = 120
    xs, zs, rs = random_tableaux(m, count, np.random.default_rng(100 + n + k))
    exps = template_exponents(xs, zs, rs)
    mus, sqs = [], []
    for i in range(count):
        arrays = _clifford_rest_arrays(n, k, xs[i], zs[i], rs[i], 4**n)
        mu, sq = _conditional_moments(protocol, rho, n, arrays, exps[i], labels)
        mus.append(mu)
        sqs.append(sq)
    mus, sqs = np.array(mus), np.array(sqs)
    truth = _truth(rho, labels)
    # The conditional second moment is (2^m + 1)^2 [V Q_R V^dagger diagonal]: a 0/1 coin of
    # probability 1/(2^m + 1), so its average has a binomial error.
    p = 1.0 / (2.0**m + 1.0)
    se_mean = np.maximum(mus.std(axis=0, ddof=1), 1e-3) / np.sqrt(count)
    se_second = (2.0**m + 1.0) ** 2 * np.sqrt(p * (1 - p) / count)
    assert np.all(np.abs(mus.mean(axis=0) - truth) < Z_MAX * se_mean)
    assert np.all(np.abs(sqs.mean(axis=0) - (2.0**m + 1.0)) < Z_MAX * se_second)
    # Conditional on V the square is deterministic: (2^m + 1)^2 or 0.
    assert np.all(np.isclose(sqs, 0.0) | np.isclose(sqs, (2.0**m + 1.0) ** 2))


# ----- the ends of the memory axis ----------------------------------------------------------
def test_full_memory_is_bell_sampling():
    """k = n: the same circuit and the same f_Q as ``bell``, shot by shot."""
    state = cl.PauliMixedState("XYZ", alpha=0.9)
    circuit, names = PartialBell(memory_qubits=3).build(state)
    bell_circuit, bell_names = get_protocol("bell").build(state)
    assert names == bell_names
    ops = sorted(map(str, circuit.all_operations()))
    assert ops == sorted(map(str, bell_circuit.all_operations()))
    data = cl.collect(state, "bell", copies=400, seed=1, backend="stim")
    labels = parse_paulis(all_paulis(3), 3)
    arrays = {**_pauli_rest_arrays(3, 3, (), data.shots), **data.arrays}
    np.testing.assert_array_equal(
        PartialBell(memory_qubits=3).sums_values(labels, arrays),
        get_protocol("bell").sums_values(labels, data.arrays),
    )


def test_no_memory_is_two_snapshots_in_one_shared_clifford():
    """k = 0: both copies are measured under one recorded Clifford, and f_Q is the product of
    the two clifford-shadow snapshot values of Q over 2^n + 1."""
    n = 3
    state = cl.PauliMixedState("XYZ", alpha=0.9, sign=-1)
    data = cl.collect(state, "partial-bell", copies=600, seed=4, backend="stim")
    raw = data.outcomes()
    assert raw["xs"].shape == (300, 2 * n, n)
    labels = parse_paulis(all_paulis(n), n)
    qx, qz = unpack_bits(labels.x, n), unpack_bits(labels.z, n)
    ones = np.ones(len(labels))
    x1 = clifford_shadow_values(raw["xs"], raw["zs"], raw["rs"], raw["m_a"], qx, qz, ones)
    x2 = clifford_shadow_values(raw["xs"], raw["zs"], raw["rs"], raw["m_b"], qx, qz, ones)
    np.testing.assert_array_equal(
        data.spec.sums_values(labels, data.arrays), x1 * x2 / (2.0**n + 1.0)
    )


# ----- data from the simulators -------------------------------------------------------------
@pytest.mark.parametrize("rest", ["clifford", "pauli"])
@pytest.mark.parametrize("k", [0, 1, 2, 3])
def test_collected_estimates_within_five_standard_errors(rest, k):
    """Stabilizer backend, n = 3: estimate_square of every Pauli within 5 standard errors of
    tr(Q rho)^2 (error from the exact second moment), and the mean of f_Q^2 within 5 binomial
    standard errors of 2^m + 1 or 3^{|Q_R|}."""
    n = 3
    state = cl.PauliMixedState("XZY", alpha=0.8, sign=1)
    rho = state.density_matrix()
    labels = all_paulis(n)
    options = {"memory_qubits": k, "rest": rest}
    data = cl.collect(
        state, "partial-bell", copies=6000, seed=20 + k, backend="stim", options=options
    )
    truth = _truth(rho, labels)
    paulis = parse_paulis(labels, n)
    second = data.spec.second_moment(paulis)
    shots = data.shots
    est = data.estimate_square(labels)
    se = np.sqrt(np.maximum(second - truth**2, 1e-12) / shots)
    assert np.all(np.abs(est.values - truth) < Z_MAX * se), (est.values - truth) / se
    f = data.spec.sums_values(paulis, data.arrays)
    mean_sq = (f**2).mean(axis=0)
    var_sq = (f**4).mean(axis=0) - mean_sq**2
    se_sq = np.sqrt(np.maximum(var_sq, 1e-12) / shots)
    assert np.all(np.abs(mean_sq - second) < Z_MAX * np.maximum(se_sq, 1e-9))


def test_qsim_circuit_state_within_five_standard_errors():
    """A non-Clifford mixed state runs on qsim (one call per drawn Clifford)."""
    n, k = 2, 1
    state = cl.random_mixed_state(n, depth=2, seed=9)
    data = cl.collect(state, "partial-bell", copies=1200, seed=2, options={"memory_qubits": k})
    assert data.metadata["execution"].get("backend", "qsim") == "qsim"
    labels = all_paulis(n)
    truth = _truth(state.density_matrix(), labels)
    second = data.spec.second_moment(parse_paulis(labels, n))
    est = data.estimate_square(labels)
    assert np.all(np.abs(est.values - truth) < Z_MAX * np.sqrt(second / data.shots))


@pytest.mark.parametrize("k", [0, 1, 2])
def test_storage_noise_damps_by_f_to_the_two_weight(k):
    """Storage depolarizing with Pauli fidelity f on every qubit of both copies: the estimator
    is unbiased for the damped state's square, f^{2|Q|} tr(Q rho)^2 (docs/theory.md §8.2)."""
    n, p = 2, 0.1
    fidelity = 1 - 4 * p / 3
    state = cl.PauliMixedState("XY", alpha=0.9, sign=-1)
    labels = all_paulis(n)
    data = cl.collect(
        state,
        "partial-bell",
        copies=8000,
        seed=5,
        noise=f"state_depolarizing:{p}",
        backend="stim",
        options={"memory_qubits": k},
    )
    weight = np.array([sum(c != "I" for c in q) for q in labels])
    truth = fidelity ** (2 * weight) * _truth(state.density_matrix(), labels)
    second = data.spec.second_moment(parse_paulis(labels, n))
    est = data.estimate_square(labels)
    assert np.all(np.abs(est.values - truth) < Z_MAX * np.sqrt(second / data.shots))


def test_same_seed_same_data_and_the_record_round_trips(tmp_path):
    state = cl.PauliMixedState("ZXZ", alpha=0.9)
    options = {"memory_qubits": 1, "rest": "pauli"}
    one = cl.collect(state, "partial-bell", copies=200, seed=8, backend="stim", options=options)
    two = cl.collect(state, "partial-bell", copies=200, seed=8, backend="stim", options=options)
    for key in one.arrays:
        np.testing.assert_array_equal(one.arrays[key], two.arrays[key])
    one.save(tmp_path / "d.npz")
    again = cl.load(tmp_path / "d.npz")
    assert again.metadata["protocol_options"] == {"memory_qubits": 1, "rest": "pauli"}
    np.testing.assert_array_equal(
        again.estimate_square(["ZXZ"]).values, one.estimate_square(["ZXZ"]).values
    )
    bases = one.outcomes()["bases"]
    assert bases.shape == (100, 2) and set(np.unique(bases)) <= {1, 2, 3}


# ----- bad input ----------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [-1, 1.5, True, "2", None])
def test_memory_qubits_bad_value_is_one_line_naming_the_key(bad):
    with pytest.raises(ParameterError) as info:
        PartialBell(memory_qubits=bad)
    assert str(info.value).startswith("memory_qubits: ") and "\n" not in str(info.value)


def test_rest_bad_value_is_one_line_naming_the_key():
    with pytest.raises(ParameterError) as info:
        PartialBell(rest="haar")
    assert str(info.value).startswith("rest: ") and "'clifford'" in str(info.value)


def test_more_memory_than_qubits_is_refused_by_collect_and_cli(tmp_path, capsys):
    state = cl.PauliMixedState("XY")
    with pytest.raises(CopylearnError, match=r"memory_qubits: 3 stored qubits .* 0\.\.2"):
        cl.collect(state, "partial-bell", copies=10, options={"memory_qubits": 3})
    out = tmp_path / "x.npz"
    argv = ["collect", "--state", "pauli:XY", "--protocol", "partial-bell", "--copies", "10"]
    for value in ("3", "-1"):
        code = main([*argv, "--option", f"memory_qubits={value}", "--out", str(out)])
        err = capsys.readouterr().err
        assert code == 2 and err.startswith("copylearn: error: ") and err.count("\n") == 1
        assert "memory_qubits" in err and not out.exists()


def test_sweep_config_refuses_more_memory_than_qubits(tmp_path):
    from copylearn.sweep import parse_config

    text = """
[sweep]
task = "pauli-prediction"
seed = 1
strategies = ["partial-bell"]
[grid]
n = [2, 3]
[strategy.partial-bell]
memory_qubits = [0, 3]
"""
    with pytest.raises(CopylearnError) as info:
        parse_config(text)
    text = str(info.value)
    assert "strategy.partial-bell.memory_qubits" in text and "n = 2" in text
    assert "\n" not in text


def test_validation_grid_entry():
    """The conformance entry of tests/test_validation.py (PROTOCOL_CHECKS): n = 2, a random
    brickwork state, noiseless, qsim's whole-circuit path, 1000 copies."""
    from tests.test_validation import run_statistical_checks

    checked = run_statistical_checks(
        2, "brickwork2", "noiseless", "qsim", 1000, 11, protocols=("partial-bell",)
    )
    assert checked == 15 + 1  # within, per Pauli of n = 2, and the estimate_abs identity


# ----- the memory axis: fit in n - k and the single-copy comparison ------------------------
def _row(strategy: str, k: int | None, n_star: float, ci: tuple[float, float]) -> dict:
    spec = {"task": "pauli-prediction", "strategy": strategy, "n": 8, "alpha": 0.9}
    if k is not None and k != 0:
        spec["memory_qubits"] = k
    return {"id": f"{strategy}{k}", "spec": spec, "n_star": n_star, "n_star_ci": list(ci)}


def test_memory_fit_recovers_the_base_and_the_crossing():
    """Synthetic N* = 13 (2^(8-k) + 1)/0.9^4 with 10% intervals: the fit over k <= 7 gives a
    base near 2 in n - k, c2 = 13, and the memory rows fall below a single-copy level of 2856
    from k = 1 on (whole intervals apart from k = 2 on); k = 8 is left out of the fit."""
    from copylearn.memory_tradeoff import fit_memory, prefactors, summary_lines

    rows = [
        _row("partial-bell", k, v, (0.9 * v, 1.1 * v))
        for k in range(9)
        for v in [13 * (2.0 ** (8 - k) + 1) / 0.9**4]
    ]
    rows.append(_row("clifford-shadow", None, 2856.0, (2600.0, 3100.0)))
    (fit,) = fit_memory(rows)
    assert fit["ns"] == list(range(1, 9))  # n - k for k = 0..7
    assert 1.8 < fit["base"] < 2.0
    assert fit["beats_from"] == 1 and fit["beats_from_ci"] == 2  # k = 1: 2811 > 2600
    c1, c2 = prefactors(fit, rows)
    assert c2 == pytest.approx(13.0) and c1 == pytest.approx(2856 * 0.81 / 257)
    assert any(
        "single-copy level: clifford-shadow N* = 2856" in line for line in summary_lines(rows)
    )


def test_pauli_prediction_sweep_under_noise(tmp_path):
    """The state task runs partial-bell under a noise model like its other protocols: a small
    point (n = 2, k = 1, gate depolarizing noise on the stabilizer backend) reaches the target,
    and the same seed gives the same row."""
    from copylearn.sweep import parse_config, run_sweep

    text = """
[sweep]
task = "pauli-prediction"
seed = 5
strategies = ["partial-bell"]
[grid]
n = 2
queries = 3
trials = 40
noise = "depolarizing:0.01"
backend = "stim"
max_copies = 20000
[strategy.partial-bell]
memory_qubits = 1
"""
    (row,) = run_sweep(parse_config(text), tmp_path / "a", workers=0, progress=False)
    assert row["reached"] and row["spec"]["memory_qubits"] == 1 and row["spec"]["noise"]
    (again,) = run_sweep(parse_config(text), tmp_path / "b", workers=0, progress=False)
    assert again["n_star"] == row["n_star"] and again["curve"] == row["curve"]


def test_pauli_rest_runs_on_a_simulated_device_and_clifford_rest_is_refused():
    """Pauli rest: every (A_i, B_i) on a coupler of weber (the memory pairs' Bell stage), the
    rest's bases single-qubit gates; compiled with calibrated noise. Clifford rest: one line."""
    pytest.importorskip("cirq_google")
    from copylearn import devices

    weber = devices.load_device("weber")
    pauli = {"memory_qubits": 1, "rest": "pauli"}
    placed = PartialBell(**pauli).place(weber, 3, False)
    for i in range(3):
        assert devices.is_coupler(
            weber, placed[cirq.LineQubit(2 * i)], placed[cirq.LineQubit(2 * i + 1)]
        )
    state = cl.PauliMixedState("XYZ")
    data = cl.collect(state, "partial-bell", copies=40, seed=3, device="weber", options=pauli)
    assert data.metadata["device"]["device"] == "weber" and data.copies == 40
    with pytest.raises(CopylearnError, match="use rest = 'pauli' on a device") as info:
        cl.collect(state, "partial-bell", copies=40, device="weber", options={"memory_qubits": 1})
    assert "\n" not in str(info.value)


def test_sweep_refuses_the_clifford_rest_on_a_device_naming_the_key(tmp_path, capsys):
    pytest.importorskip("cirq_google")
    config = tmp_path / "m.toml"
    config.write_text(
        '[sweep]\ntask = "pauli-prediction"\nseed = 1\nstrategies = ["partial-bell"]\n[grid]\n'
        'n = 2\ndevice = "weber"\n[strategy.partial-bell]\nmemory_qubits = [1]\n'
    )
    out = tmp_path / "out"
    assert main(["sweep", str(config), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "m.toml: grid.device: partial-bell" in err
    assert "use rest = 'pauli'" in err and not out.exists()
