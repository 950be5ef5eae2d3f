"""``backend="stim"``: the same outcome laws as the density-matrix truth, refusals, ``auto``.

Truth is Cirq's density-matrix simulator (or its state-vector simulator at 12 qubits) on the
resolved Cirq circuit, noise attached exactly as ``collect`` attaches it. Two comparisons:

* exact, noiseless, n <= 3: the outcome law of each setting's stim program is enumerated
  exactly from stim's tableau (a measured qubit is either determined, ``peek_z = +-1``, or a
  fair coin, followed into both branches by ``postselect_z``) and must equal the density
  matrix's diagonal to 1e-9, for every distinct setting;
* exact, with Pauli noise, n <= 3: each channel's Paulis are carried to the measurements by
  the tableau of the rest of the stim program, and the noiseless law is XOR-convolved with
  their flip distributions (valid for Clifford programs with terminal measurements); equal to
  the density matrix's law to 1e-9;
* sampled, with and without Pauli noise, n <= 3 and n = 6: shots grouped by setting, cells
  with expected count < 5 pooled per setting, Pearson chi-square against the exact law, and
  the test fails when its p-value is below ALPHA = 1e-3 (fixed before running). Both stim
  paths are covered: many shots per setting (a compiled sampler) and one shot per setting
  (a fresh TableauSimulator).
"""

from __future__ import annotations

import cirq
import numpy as np
import pytest
import stim
import sympy
from scipy import stats

import copylearn as cl
from copylearn.backends import BACKEND_NAMES, execute, plan
from copylearn.backends import stim as stim_backend
from copylearn.backends.limits import STABILIZER_MAX_QUBITS
from copylearn.cli import main
from copylearn.collect import _STREAMS, prepare_collector
from copylearn.errors import CopylearnError
from copylearn.protocols import get_protocol
from copylearn.states import CircuitState, PauliEigenstate, PauliMixedState

ALPHA = 1e-3
NOISE = "depolarizing:0.03+readout:0.04+state_depolarizing:0.05"


def _clifford_state(n: int) -> CircuitState:
    """An entangled Clifford state with Pauli channels of every kind stim runs."""
    q = cirq.LineQubit.range(n)
    ops = [cirq.H(q[0]), cirq.S(q[0])]
    ops += [cirq.CNOT(q[i], q[i + 1]) for i in range(n - 1)]
    ops += [cirq.X(q[-1]) ** 0.5, cirq.rz(np.pi / 2).on(q[0])]
    if n > 1:
        ops += [cirq.CZ(q[0], q[-1]), cirq.SWAP(q[0], q[1]), cirq.Y(q[1]) ** -0.5]
    return CircuitState(cirq.Circuit(ops), name=f"clifford-{n}")


def _noisy_clifford_state(n: int) -> CircuitState:
    q = cirq.LineQubit.range(n)
    ops = list(_clifford_state(n).circuit.all_operations())
    ops += [cirq.asymmetric_depolarize(0.05, 0.02, 0.08).on(q[0]), cirq.phase_flip(0.1).on(q[-1])]
    if n > 1:
        ops.append(cirq.depolarize(0.06, n_qubits=2).on(q[0], q[1]))
    ops.append(cirq.bit_flip(0.07).on(q[-1]))
    return CircuitState(cirq.Circuit(ops), name=f"noisy-clifford-{n}")


STATES = {
    "pauli-mixed": lambda n: PauliMixedState("XYZ"[:n] if n <= 3 else "XYZ" * (n // 3), 0.6, -1),
    "eigenstate": lambda n: PauliEigenstate("YZX"[:n] if n <= 3 else "YZX" * (n // 3), 0),
    "clifford": _clifford_state,
    "noisy-clifford": _noisy_clifford_state,
}


def _setup(state, protocol: str, noise: str | None, shots: int, seed: int):
    """The stim plan of ``collect``'s noisy circuit and ``shots`` rows of per-shot values."""
    collector = prepare_collector(state, protocol, noise, "stim")
    root = np.random.SeedSequence(seed)
    rngs = {k: np.random.default_rng([seed, v]) for k, v in _STREAMS.items()}
    values, _ = get_protocol(protocol).draw(state, shots, rngs)
    return collector.plan, values, root


def _measured(circuit: cirq.Circuit) -> list[cirq.Qid]:
    """The measured qubits in the order of the measurement record (moment order)."""
    return [q for moment in circuit for op in moment if cirq.is_measurement(op) for q in op.qubits]


def _dm_law(circuit: cirq.Circuit, names, setting) -> np.ndarray:
    """Exact outcome law of the measured qubits (record order, big-endian) at ``setting``."""
    resolved = cirq.resolve_parameters(circuit, dict(zip(names, setting, strict=True)))
    measured = _measured(resolved)
    body = cirq.Circuit(
        cirq.Moment(op for op in moment if not cirq.is_measurement(op)) for moment in resolved
    )
    order = measured + sorted(set(resolved.all_qubits()) - set(measured))
    if len(order) <= 8:
        rho = cirq.DensityMatrixSimulator(dtype=np.complex128).simulate(body, qubit_order=order)
        diagonal = np.real(np.diagonal(rho.final_density_matrix))
    else:
        assert cirq.has_unitary(body)
        psi = cirq.Simulator(dtype=np.complex128).simulate(body, qubit_order=order)
        diagonal = np.abs(psi.final_state_vector) ** 2
    law = np.clip(diagonal.reshape(2 ** len(measured), -1).sum(axis=1), 0.0, None)
    return law / law.sum()


def _stim_law(text: str) -> np.ndarray:
    """Exact outcome law of a noiseless stim program with terminal ``M`` instructions."""
    lines = text.splitlines()
    measured = [int(t) for line in lines if line.startswith("M ") for t in line.split()[1:]]
    body = "\n".join(line for line in lines if not line.startswith("M "))
    assert "ERROR" not in body and "DEPOLARIZE" not in body and "PAULI_CHANNEL" not in body
    simulator = stim.TableauSimulator()
    simulator.do_circuit(stim.Circuit(body))
    law = np.zeros(2 ** len(measured))

    def walk(sim: stim.TableauSimulator, i: int, index: int, p: float) -> None:
        if i == len(measured):
            law[index] += p
            return
        z = sim.peek_z(measured[i])
        if z != 0:
            walk(sim, i + 1, 2 * index + (z < 0), p)
            return
        for bit in (0, 1):
            branch = sim.copy()
            branch.postselect_z(measured[i], desired_value=bool(bit))
            walk(branch, i + 1, 2 * index + bit, p / 2)

    walk(simulator, 0, 0, 1.0)
    return law


_CHANNELS = {  # stim noise instruction -> its Pauli terms (letters per target) and weights
    "X_ERROR": lambda a: {"X": a[0]},
    "Y_ERROR": lambda a: {"Y": a[0]},
    "Z_ERROR": lambda a: {"Z": a[0]},
    "DEPOLARIZE1": lambda a: {c: a[0] / 3 for c in "XYZ"},
    "PAULI_CHANNEL_1": lambda a: dict(zip("XYZ", a, strict=True)),
    "DEPOLARIZE2": lambda a: {
        p + q: a[0] / 15 for p in "IXYZ" for q in "IXYZ" if (p, q) != ("I", "I")
    },
}


def _stim_noisy_law(text: str) -> np.ndarray:
    """Exact outcome law of a stim program with Pauli channels and terminal measurements.

    Each channel's Paulis are carried through the rest of the (Clifford) program by stim's
    tableau, to Paulis just before the measurements; their X parts flip measured bits and
    their Z parts do not change the law. The law is the noiseless law XOR-convolved with every
    channel's independent flip distribution.
    """
    lines = text.splitlines()
    measured = [int(t) for line in lines if line.startswith("M ") for t in line.split()[1:]]
    targets_of = [
        line.rpartition(")")[2].split() if "(" in line else line.split()[1:] for line in lines
    ]
    width = 1 + max(int(t.lstrip("!")) for targets in targets_of for t in targets)
    padding = "I " + " ".join(map(str, range(width))) + "\n"
    noiseless = [line for line in lines if line.split("(")[0].split()[0] not in _CHANNELS]
    law = _stim_law("\n".join(noiseless))
    flips = np.zeros_like(law)
    flips[0] = 1.0
    m = len(measured)
    for k, line in enumerate(lines):
        name, _, rest = line.partition("(")
        if name not in _CHANNELS:
            continue
        args, _, targets = rest.partition(")")
        terms = _CHANNELS[name]([float(a) for a in args.split(",")])
        size = len(next(iter(terms)))
        qubits = [int(t) for t in targets.split()]
        tail = [x for x in lines[k + 1 :] if x.split("(")[0].split()[0] not in _CHANNELS]
        suffix = stim.Circuit(padding + "\n".join(x for x in tail if not x.startswith("M ")))
        tableau = suffix.to_tableau()
        for group in range(0, len(qubits), size):
            on = qubits[group : group + size]
            channel = np.zeros_like(law)
            channel[0] = 1.0 - sum(terms.values())
            for letters, weight in terms.items():
                pauli = stim.PauliString(width)
                for q, letter in zip(on, letters, strict=True):
                    pauli[q] = letter
                xs, _ = tableau(pauli).to_numpy()
                flip = sum(int(xs[q]) << (m - 1 - i) for i, q in enumerate(measured))
                channel[flip] += weight
            flips = np.array(
                [np.dot(channel, flips[np.arange(len(law)) ^ x]) for x in range(len(law))]
            )
    return np.array([np.dot(flips, law[np.arange(len(law)) ^ x]) for x in range(len(law))])


def _index(bits: np.ndarray) -> np.ndarray:
    return bits.astype(np.int64) @ (1 << np.arange(bits.shape[1] - 1, -1, -1))


def _chi2_pvalue(groups: list[tuple[np.ndarray, np.ndarray]]) -> float:
    """Pearson chi-square over (observed counts, exact law) groups, small cells pooled."""
    statistic, dof = 0.0, 0
    for counts, law in groups:
        assert counts[law < 1e-12].sum() == 0, "an outcome of probability 0 was observed"
        expected = counts.sum() * law
        big = expected >= 5
        small = (~big) & (law >= 1e-12)
        observed = list(counts[big]) + ([counts[small].sum()] if small.any() else [])
        wanted = list(expected[big]) + ([expected[small].sum()] if small.any() else [])
        observed, wanted = np.array(observed, float), np.array(wanted, float)
        statistic += float(((observed - wanted) ** 2 / wanted).sum())
        dof += len(observed) - 1
    return float(stats.chi2.sf(statistic, dof)) if dof else 1.0


def _outcomes(stim_plan, outcomes: dict[str, np.ndarray]) -> np.ndarray:
    keys = sorted(stim_plan.program.keys, key=lambda k: stim_plan.program.keys[k][0])
    return np.concatenate([outcomes[k] for k in keys], axis=1)


def _grouped(values: np.ndarray, index: np.ndarray, size: int):
    settings, inverse = np.unique(values, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    counts = np.zeros((len(settings), size), dtype=np.int64)
    np.add.at(counts, (inverse, index), 1)
    return settings, counts


@pytest.mark.parametrize("protocol", ["pauli-shadow", "bell"])
@pytest.mark.parametrize("kind", ["pauli-mixed", "eigenstate", "clifford"])
@pytest.mark.parametrize("n", [1, 2, pytest.param(3, marks=pytest.mark.slow)])
def test_exact_law_of_every_setting_noiseless(kind, protocol, n):
    """Every distinct setting's stim program has exactly the density matrix's outcome law."""
    stim_plan, values, _ = _setup(STATES[kind](n), protocol, None, 3000, seed=n)
    settings = np.unique(values, axis=0)
    texts = stim_plan.program.texts(settings)
    for setting, text in zip(settings, texts, strict=True):
        truth = _dm_law(stim_plan.circuit, stim_plan.parameter_names, setting)
        np.testing.assert_allclose(_stim_law(text), truth, atol=1e-9)


@pytest.mark.parametrize("protocol", ["pauli-shadow", "bell"])
@pytest.mark.parametrize("kind", ["pauli-mixed", "eigenstate", "clifford", "noisy-clifford"])
@pytest.mark.parametrize("n", [2, pytest.param(3, marks=pytest.mark.slow)])
def test_exact_law_of_every_setting_with_pauli_noise(kind, protocol, n):
    """With Pauli noise too: each setting's stim program (its channels carried to the
    measurements by stim's tableau) has exactly the density matrix's outcome law."""
    stim_plan, values, _ = _setup(STATES[kind](n), protocol, NOISE, 400, seed=n)
    settings = np.unique(values, axis=0)[:12]
    texts = stim_plan.program.texts(settings)
    for setting, text in zip(settings, texts, strict=True):
        assert "DEPOLARIZE1" in text and "X_ERROR" in text
        truth = _dm_law(stim_plan.circuit, stim_plan.parameter_names, setting)
        np.testing.assert_allclose(_stim_noisy_law(text), truth, atol=1e-9)


@pytest.mark.parametrize("protocol", ["pauli-shadow", "bell"])
@pytest.mark.parametrize("kind", ["pauli-mixed", "eigenstate", "clifford", "noisy-clifford"])
@pytest.mark.parametrize("noise", [None, NOISE])
@pytest.mark.parametrize("n", [2, pytest.param(3, marks=pytest.mark.slow)])
def test_samples_match_exact_law_small(n, kind, protocol, noise):
    """Chi-square of both stim paths' samples against the exact law, n <= 3 (alpha 1e-3)."""
    stim_plan, values, root = _setup(STATES[kind](n), protocol, noise, 20000, seed=7)
    outcomes, info = stim_plan.run(values, root)
    assert info["simulator"] == stim_backend.SIMULATOR
    bits = _outcomes(stim_plan, outcomes)
    settings, counts = _grouped(values, _index(bits), 2 ** bits.shape[1])
    laws = [_dm_law(stim_plan.circuit, stim_plan.parameter_names, s) for s in settings]
    assert _chi2_pvalue(list(zip(counts, laws, strict=True))) > ALPHA
    # One shot per setting per run: the fresh-TableauSimulator path, pooled over 60 runs.
    single = np.zeros_like(counts)
    for r in range(60):
        once, _ = stim_plan.run(settings, np.random.SeedSequence([11, r]))
        single[np.arange(len(settings)), _index(_outcomes(stim_plan, once))] += 1
    assert _chi2_pvalue(list(zip(single, laws, strict=True))) > ALPHA


@pytest.mark.parametrize(
    ("kind", "protocol", "noise"),
    [
        ("clifford", "pauli-shadow", None),
        ("noisy-clifford", "pauli-shadow", NOISE),
        ("pauli-mixed", "pauli-shadow", NOISE),
        ("clifford", "bell", None),
    ],
)
def test_samples_match_exact_law_n6(kind, protocol, noise):
    """n = 6 (12 qubits for Bell): chi-square on 8 settings of 3000 shots each."""
    stim_plan, values, root = _setup(STATES[kind](6), protocol, noise, 8, seed=5)
    values = np.repeat(values, 3000, axis=0)
    outcomes, _ = stim_plan.run(values, root)
    bits = _outcomes(stim_plan, outcomes)
    settings, counts = _grouped(values, _index(bits), 2 ** bits.shape[1])
    laws = [_dm_law(stim_plan.circuit, stim_plan.parameter_names, s) for s in settings]
    assert _chi2_pvalue(list(zip(counts, laws, strict=True))) > ALPHA


def test_same_seed_bit_identical_and_recorded():
    state = _clifford_state(4)
    runs = [
        cl.collect(state, "pauli-shadow", 500, NOISE, backend="stim", seed=s) for s in (3, 3, 4)
    ]
    for key in runs[0].arrays:
        np.testing.assert_array_equal(runs[0].arrays[key], runs[1].arrays[key])
    assert any(not np.array_equal(runs[0].arrays[k], runs[2].arrays[k]) for k in runs[0].arrays)
    meta = runs[0].metadata
    assert meta["backend"] == "stim"
    assert meta["execution"]["simulator"] == "stim TableauSimulator"
    assert meta["execution"]["stim"].startswith(stim.__version__)
    assert meta["versions"]["stim"] == stim.__version__


def test_fifty_qubit_bell_runs():
    q = cirq.LineQubit.range(50)
    ghz = cirq.Circuit(cirq.H(q[0]), [cirq.CNOT(q[i], q[i + 1]) for i in range(49)])
    data = cl.collect(CircuitState(ghz), "bell", 2000, "depolarizing:0.001", backend="stim", seed=1)
    assert data.metadata["n"] == 50
    est = data.estimate_square(["Z" * 50, "X" * 50, "Z" + "I" * 49])
    assert abs(est.values[2]) < 5 * est.stderr[2] + 1e-12  # tr(Z_0 rho)^2 = 0 for GHZ


def test_large_clifford_register_refused_by_qsim_names_auto_and_runs_there():
    q = cirq.LineQubit.range(40)
    ghz = CircuitState(cirq.Circuit(cirq.H(q[0]), [cirq.CNOT(q[i], q[i + 1]) for i in range(39)]))
    with pytest.raises(CopylearnError) as exc:
        cl.collect(ghz, "bell", 20, backend="qsim")
    assert "backend='auto' for a Clifford circuit" in _one_line(exc)
    data = cl.collect(ghz, "bell", 20, backend="auto", seed=0)
    assert data.metadata["execution"]["backend"] == "stim"


def test_auto_chooses_stim_for_clifford_and_qsim_otherwise():
    state = PauliMixedState("XZ", 0.5)
    clifford = cl.collect(state, "pauli-shadow", 200, NOISE, backend="auto", seed=2)
    assert clifford.metadata["backend"] == "auto"
    assert clifford.metadata["execution"]["backend"] == "stim"
    damped = cl.collect(state, "pauli-shadow", 200, "amplitude_damping:0.1", backend="auto", seed=2)
    execution = damped.metadata["execution"]
    assert execution["backend"] == "qsim"
    assert "amplitude_damp" in execution["backend_reason"]
    assert "not a Pauli noise channel" in execution["backend_reason"]
    # The same data as backend="qsim" (the choice only routes, it draws nothing).
    direct = cl.collect(state, "pauli-shadow", 200, "amplitude_damping:0.1", backend="qsim", seed=2)
    for key in direct.arrays:
        np.testing.assert_array_equal(damped.arrays[key], direct.arrays[key])


def test_auto_decides_per_run_from_that_runs_settings():
    q = cirq.LineQubit.range(2)
    t = sympy.Symbol("t")
    circuit = cirq.Circuit(cirq.H(q[0]) ** t, cirq.CNOT(*q), cirq.measure(*q, key="m"))
    auto = plan(circuit, ["t"], "auto")
    seed = np.random.SeedSequence(1)
    _, first = auto.run(np.array([[1.0], [0.0]]), seed)
    _, second = auto.run(np.array([[1.0], [0.5]]), seed)
    _, third = auto.run(np.array([[1.0], [0.0]]), seed)
    assert (first["backend"], second["backend"], third["backend"]) == ("stim", "qsim", "stim")
    assert "H**0.5" in second["backend_reason"] and "t=0.5" in second["backend_reason"]


# ---- bad input: one line each ----------------------------------------------------------------


def _one_line(exc: pytest.ExceptionInfo) -> str:
    message = str(exc.value)
    assert "\n" not in message
    return message


def test_non_clifford_gate_is_refused_naming_it():
    q = cirq.LineQubit.range(2)
    circuit = cirq.Circuit(cirq.H(q[0]), cirq.CNOT(*q), cirq.T(q[1]), cirq.measure(*q, key="m"))
    with pytest.raises(CopylearnError) as exc:
        execute(circuit, [], np.zeros((4, 0)), np.random.SeedSequence(0), backend="stim")
    message = _one_line(exc)
    assert "T(q(1)) is not a Clifford gate" in message and "backend='qsim'" in message


def test_non_clifford_at_parameter_values_is_refused_naming_the_values():
    import sympy

    q = cirq.LineQubit(0)
    circuit = cirq.Circuit(cirq.H(q) ** sympy.Symbol("h"), cirq.measure(q, key="m"))
    values = np.array([[1.0], [0.0], [0.25]])
    with pytest.raises(CopylearnError) as exc:
        execute(circuit, ["h"], values, np.random.SeedSequence(0), backend="stim")
    assert "H**0.25(q(0)) (at h=0.25) is not a Clifford gate" in _one_line(exc)


def test_non_pauli_noise_is_refused():
    with pytest.raises(CopylearnError) as exc:
        cl.collect(PauliMixedState("XZ"), "bell", 20, "amplitude_damping:0.1", backend="stim")
    assert "amplitude_damp(gamma=0.1)" in _one_line(exc)
    assert "not a Pauli noise channel" in str(exc.value)


def test_confusion_map_is_refused():
    q = cirq.LineQubit(0)
    confusion = {(0,): np.array([[0.9, 0.1], [0.2, 0.8]])}
    circuit = cirq.Circuit(cirq.H(q), cirq.measure(q, key="m", confusion_map=confusion))
    with pytest.raises(CopylearnError) as exc:
        execute(circuit, [], np.zeros((2, 0)), np.random.SeedSequence(0), backend="stim")
    assert "confusion map" in _one_line(exc)


def test_unknown_backend_name(capsys):
    assert "stim" in BACKEND_NAMES and "auto" in BACKEND_NAMES
    with pytest.raises(CopylearnError) as exc:
        cl.collect(PauliMixedState("XZ"), "bell", 20, backend="stimm")
    assert "unknown backend 'stimm'" in _one_line(exc) and "stim" in str(exc.value)
    code = main(["collect", "--state", "pauli:XZ", "--copies", "20", "--backend", "stimm",
                 "--out", "unused.npz"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("copylearn: error:") and err.count("\n") == 1


def test_register_above_the_stabilizer_limit_is_refused():
    q = cirq.LineQubit.range(STABILIZER_MAX_QUBITS + 1)
    circuit = cirq.Circuit(cirq.measure(*q, key="m"))
    with pytest.raises(CopylearnError) as exc:
        plan(circuit, [], "stim")
    assert f"at most {STABILIZER_MAX_QUBITS:,} qubits" in _one_line(exc)


def test_blocks_execution_is_refused_for_stim():
    with pytest.raises(CopylearnError) as exc:
        cl.collect(PauliMixedState("XZ"), "bell", 20, backend="stim", execution="blocks")
    assert "execution='auto' or 'circuit'" in _one_line(exc)
