"""The purity-testing task and the single-copy purity estimators (docs/theory.md §14).

Truth: exact density matrices (tr rho^2) and the closed forms of §14, in tests only.
"""

from __future__ import annotations

import cirq
import numpy as np
import pytest

import copylearn as cl
from copylearn.cli import main
from copylearn.collect import prepare_collector
from copylearn.complexity import run_point
from copylearn.errors import CopylearnError
from copylearn.protocols import get_protocol
from copylearn.protocols.clifford_shadow import CliffordShadow
from copylearn.purity import collision_purity, local_shadow_kernel, shadow_purity
from copylearn.states import CircuitState, random_mixed_state
from copylearn.tasks import get_task
from copylearn.tasks.purity_testing import (
    BellPurityLearner,
    CollisionLearner,
    Instance,
    brickwork_circuit,
    collision_threshold,
    haar_circuit,
)

Z_MAX = 5.0


def test_kernel_matches_the_snapshot_trace():
    """The product kernel equals tr(rho-hat_s rho-hat_t) of explicit 2-qubit snapshots."""
    rng = np.random.default_rng(1)
    rot = {  # U with U|b> the eigenvector of the basis' Pauli
        0: np.array([[1, 1], [1, -1]]) / np.sqrt(2),
        1: np.array([[1, 1], [1j, -1j]]) / np.sqrt(2),
        2: np.eye(2),
    }

    def snapshot(bases, bits):
        out = np.eye(1)
        for b, m in zip(bases, bits, strict=True):
            v = rot[int(b)][:, int(m)]
            out = np.kron(out, 3 * np.outer(v, v.conj()) - np.eye(2))
        return out

    bases, bits = rng.integers(0, 3, (30, 2)), rng.integers(0, 2, (30, 2))
    k = local_shadow_kernel(bases, bits, bases, bits)
    for s in range(0, 30, 7):
        for t in range(0, 30, 5):
            exact = np.trace(snapshot(bases[s], bits[s]) @ snapshot(bases[t], bits[t])).real
            assert k[s, t] == pytest.approx(exact, abs=1e-9)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_shadow_purity_within_5_standard_errors(n):
    """pauli-shadow Dataset.purity vs exact tr rho^2 (10 states per n also run, with and
    without noise, by the conformance suite through the declared estimator)."""
    rng = np.random.default_rng(10 + n)
    for i in range(4):
        state = random_mixed_state(n, 2, seed=int(rng.integers(2**31)))
        rho = state.density_matrix()
        e = cl.collect(state, protocol="pauli-shadow", copies=800, seed=i).purity()
        exact = float(np.trace(rho @ rho).real)
        assert abs(e.values[0] - exact) < Z_MAX * e.stderr[0], (n, i, e.values[0], exact)


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("noisy", [False, True])
def test_collision_purity_within_5_standard_errors(n, noisy):
    """(d + 1) c-hat - 1 over shots sharing Cliffords vs exact tr rho^2, 10 states per n;
    noisy: the state's circuit followed by depolarizing noise on every qubit (exact rho by
    Kraus evolution)."""
    rng = np.random.default_rng(20 + n + 10 * noisy)
    options = {"shots_per_unitary": 50}
    protocol = CliffordShadow(**options)
    for i in range(10):
        state = random_mixed_state(n, 2, seed=int(rng.integers(2**31)))
        if noisy:
            noise = cirq.Moment(cirq.depolarize(0.1).on(q) for q in state.qubits)
            state = CircuitState(state.circuit + noise, name="noisy")
        collector = prepare_collector(state, "clifford-shadow", options=options)
        arrays, _ = collector.sample(state, 1500, np.random.SeedSequence(i))
        value, stderr, _ = protocol.purity_estimate(arrays, n)
        rho = state.density_matrix()
        exact = float(np.trace(rho @ rho).real)
        assert abs(value - exact) < Z_MAX * stderr, (n, i, value, exact, stderr)


def test_collision_purity_refuses_data_without_shared_bases():
    keys = np.arange(12, dtype=np.uint64).reshape(6, 2)
    with pytest.raises(CopylearnError, match="shots_per_unitary >= 2") as info:
        collision_purity(keys, 1, 1)
    assert "\n" not in str(info.value)
    with pytest.raises(CopylearnError, match="at least 3 snapshots"):
        shadow_purity(np.zeros((2, 1), dtype=np.int64), np.zeros((2, 1), dtype=np.int64))


def test_haar_circuit_prepares_a_normalised_state_and_brickwork_has_its_depth():
    rng = np.random.default_rng(3)
    circuit = haar_circuit(3, rng)
    psi = circuit.final_state_vector()
    assert np.linalg.norm(psi) == pytest.approx(1.0)
    brick = brickwork_circuit(4, 8, rng)
    assert len(brick) == 9  # the one-qubit layer and 8 brick layers


def test_bell_rule_on_hand_made_data():
    """'pure' iff no sigma = -1 yet; success when that names the hypothesis."""
    protocol = get_protocol("bell")
    zero = np.zeros((4, 1), dtype=np.uint64)
    singlet = np.array([[0], [1], [0], [0]], dtype=np.uint64)  # shot 1 is a singlet on qubit 0
    data = {"m_a": singlet, "m_b": singlet}
    ends, totals = np.array([1, 2, 4]), np.array([1, 2, 4])
    pure = BellPurityLearner(protocol, Instance(None, True))
    assert pure.judge(data, ends, totals).tolist() == [True, False, False]
    mixed = BellPurityLearner(protocol, Instance(None, False))
    assert mixed.judge({"m_a": zero, "m_b": zero}, ends, totals).tolist() == [False] * 3


def test_collision_rule_on_hand_made_data():
    """Equal strings under one basis: c-hat = 1 > tau; all distinct: 0 < tau."""
    n = 2
    basis = {k: np.zeros((4, 1), dtype=np.uint64) for k in ("signs_x", "signs_z")}
    basis |= {k: np.zeros((4, 4), dtype=np.uint64) for k in ("tableau_x", "tableau_z")}
    same = basis | {"bits": np.zeros((4, 1), dtype=np.uint64)}
    distinct = basis | {"bits": np.arange(4, dtype=np.uint64).reshape(4, 1)}
    ends = np.array([2, 4])
    assert CollisionLearner(n, Instance(None, True)).judge(same, ends, ends).all()
    assert CollisionLearner(n, Instance(None, False)).judge(distinct, ends, ends).all()
    assert collision_threshold(n) == pytest.approx((1 / 4 + 2 / 5) / 2)


def _spec(strategy: str, n: int, **extra) -> dict:
    spec = {
        "task": "purity-testing",
        "strategy": strategy,
        "n": n,
        "preparation": "haar",
        "depth": "2n",
        "noise": "none",
        "target": 0.9,
        "trials": 40,
        "max_copies": 16,
    }
    return spec | extra


def test_bell_point_is_reproducible_and_matches_theory():
    """Same seed, same result; the mixed half errs with probability ((1 + 1/d)/2)^K."""
    spec = _spec("bell", 3)
    one = run_point(spec, np.random.SeedSequence(7))
    assert one == run_point(spec, np.random.SeedSequence(7))
    curve = one["curve"]
    k = np.array(curve["copies"]) // 2
    d = 8
    expected = 1 - 0.5 * ((1 + 1 / d) / 2) ** k
    rates = np.array(curve["successes"]) / curve["trials"]
    se = np.sqrt(expected * (1 - expected) / curve["trials"]) + 1e-9
    # A binomial rate with p near 1 can sit at 1: allow the 5-SE band plus one trial.
    assert np.all(np.abs(rates - expected) <= Z_MAX * se + 1 / curve["trials"])


def test_instances_get_their_own_circuits_and_both_hypotheses_occur():
    task = get_task("purity-testing")
    rng = np.random.default_rng(0)
    instances = [task.sample_instance(_spec("bell", 2), rng) for _ in range(20)]
    assert 0 < sum(i.pure for i in instances) < 20
    circuits = {id(i.state.circuit) for i in instances if i.pure}
    assert len(circuits) == sum(i.pure for i in instances)


@pytest.mark.parametrize(
    ("grid", "needle"),
    [
        ("n = [0]", "grid.n"),
        ('n = [2]\npreparation = "ghz"', "preparation"),
        ('n = [11]\npreparation = "haar"', "brickwork"),
        ('n = [3]\npreparation = "brickwork"\ndepth = 2', "depth"),
    ],
)
def test_bad_input_is_one_line_exit_2(tmp_path, capsys, grid, needle):
    config = tmp_path / "p.toml"
    config.write_text(
        f'[sweep]\ntask = "purity-testing"\nseed = 1\nstrategies = ["bell"]\n\n[grid]\n{grid}\n'
    )
    status = main(["sweep", str(config), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    assert status == 2
    assert err.startswith("copylearn: error:") and "\n" not in err and needle in err
    assert not (tmp_path / "out").exists()
