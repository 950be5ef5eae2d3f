"""Benchmark: derandomized against random Pauli bases for known local observables (issue 15).

Observables: every 2-local Pauli on neighbouring qubits and every 4-local Pauli on four
consecutive qubits of an n = 8 chain (7·9 + 5·81 = 468 strings). For each number of rounds M
the script prints

* the worst-case (smallest) hit count per weight over the observables and the confidence bound
  CONF = sum_l exp(-(eps^2/2) h_l) (docs/theory.md §17.1) of the greedy derandomized bases,
  against uniformly random bases (median over ``--seeds`` draws; their expected hits
  M/3^w per observable of weight w, and E CONF); the same for 40 random observables of
  weight 4 to 8 on the 8 qubits, where derandomization gains most;
* the estimation error on real states prepared by circuits: GHZ-8 (H, then a CNOT chain)
  and a random brickwork state (``random_brickwork_state(8, 4, seed)``), measured with
  ``derandomized-shadow`` and with ``pauli-shadow`` for the same M copies on qsim: the
  largest and the root-mean-square |estimate - exact| over all 468 observables, exact values
  from the density matrix; and the largest |z| = |error| / reported standard error;
* the wall time of the greedy search per round and of the whole derandomized collection,
  as ratios to the random-basis collection of the same copies in the same process
  (medians of ``--repeats`` runs).

Usage: python benchmarks/bench_derandomized.py [--rounds 300 1000 3000] [--seeds 5] [--repeats 3]
"""

from __future__ import annotations

import argparse
import functools
import itertools
import os
import statistics
import sys

import cirq
import numpy as np

import copylearn as cl
from copylearn.derandomize import (
    confidence_bound,
    derandomized_bases,
    hit_counts,
    letter_codes,
    random_confidence_bound,
)
from copylearn.states import random_brickwork_state

sys.path.insert(0, os.path.dirname(__file__))
from bench_entangled import timed

N = 8
_P = {
    "I": np.eye(2),
    "X": np.array([[0, 1], [1, 0]]),
    "Y": np.array([[0, -1j], [1j, 0]]),
    "Z": np.diag([1.0, -1.0]),
}


def local_observables(n: int) -> list[str]:
    """All Paulis on 2 neighbouring and on 4 consecutive qubits of an n-qubit chain."""
    out = []
    for k in (2, 4):
        for start in range(n - k + 1):
            for letters in itertools.product("XYZ", repeat=k):
                out.append("I" * start + "".join(letters) + "I" * (n - k - start))
    return out


def exact_values(rho: np.ndarray, labels: list[str]) -> np.ndarray:
    """tr(Q rho) for every label, from the density matrix."""
    return np.array(
        [np.trace(functools.reduce(np.kron, [_P[c] for c in q]) @ rho).real for q in labels]
    )


def ghz(n: int) -> cl.CircuitState:
    q = cirq.LineQubit.range(n)
    circuit = cirq.Circuit(cirq.H(q[0]), *(cirq.CNOT(q[i], q[i + 1]) for i in range(n - 1)))
    return cl.CircuitState(circuit, name=f"GHZ-{n}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, nargs="+", default=[300, 1000, 3000])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    labels = local_observables(N)
    codes = letter_codes(labels, N)
    weight = np.count_nonzero(codes, axis=1)
    print(
        f"n = {N} chain: {len(labels)} observables ({np.sum(weight == 2)} 2-local, "
        f"{np.sum(weight == 4)} 4-local), epsilon = 0.9"
    )
    rng = np.random.default_rng(0)
    sparse = np.zeros((40, N), dtype=np.uint8)
    for row in sparse:
        sites = rng.choice(N, size=int(rng.integers(4, N + 1)), replace=False)
        row[sites] = rng.integers(1, 4, size=len(sites))
    sets = [
        ("local", codes, [2, 4]),
        (
            "40 random of weight 4-8",
            sparse,
            sorted({int(w) for w in np.count_nonzero(sparse, axis=1)}),
        ),
    ]
    for name, obs, weights in sets:
        w_of = np.count_nonzero(obs, axis=1)
        print(f"\nworst-case hits per weight {weights} and confidence bound: {name}")
        print(
            f"{'M':>6}  {'derand min h':<24} {'random min h (median)':<24} "
            f"{'E h = M/3^w':<30} {'CONF derand':>11} {'CONF random':>11} {'E CONF':>9}"
        )
        for m in args.rounds:
            h = hit_counts(obs, derandomized_bases(obs, m))
            draws = [
                hit_counts(obs, np.random.default_rng(seed).integers(1, 4, size=(m, N)))
                for seed in range(args.seeds)
            ]
            rmin = [statistics.median(int(d[w_of == w].min()) for d in draws) for w in weights]
            conf_r = statistics.median(
                confidence_bound(obs, np.random.default_rng(seed).integers(1, 4, size=(m, N)))
                for seed in range(args.seeds)
            )
            dmin = ", ".join(str(int(h[w_of == w].min())) for w in weights)
            expected = ", ".join(f"{m / 3**w:.2g}" for w in weights)
            print(
                f"{m:>6}  {dmin:<24} {', '.join(f'{x:g}' for x in rmin):<24} "
                f"{expected:<30} {confidence_bound(obs, derandomized_bases(obs, m)):>11.3g} "
                f"{conf_r:>11.3g} {random_confidence_bound(obs, m):>9.3g}"
            )
    print("\nestimation error on circuit states (qsim), all observables; time ratios to the")
    print("random-basis collection of the same copies (medians of repeats)")
    print(
        f"{'state':>12} {'M':>6} {'derand max|err|':>16} {'rms':>7} {'max|z|':>7} "
        f"{'random max|err|':>16} {'rms':>7} {'max|z|':>7} {'greedy/random':>14} "
        f"{'collect/random':>15}"
    )
    states = [ghz(N), random_brickwork_state(N, 4, 7)]
    for state in states:
        truth = exact_values(state.density_matrix(), labels)
        for m in args.rounds:
            t_rand, shadow = timed(
                lambda m=m, s=state: cl.collect(s, "pauli-shadow", copies=m, seed=m), args.repeats
            )
            t_der, derand = timed(
                lambda m=m, s=state: cl.collect(
                    s, "derandomized-shadow", copies=m, observables=labels, seed=m
                ),
                args.repeats,
            )
            t_greedy, _ = timed(lambda m=m: derandomized_bases(codes, m), args.repeats)
            rows = []
            for data in (derand, shadow):
                est = data.estimate(labels)
                err = np.abs(est.values - truth)
                z = err / np.where(est.stderr > 0, est.stderr, np.inf)
                rows.append((err.max(), np.sqrt(np.mean(err**2)), z.max()))
            (dm, dr, dz), (rm, rr, rz) = rows
            print(
                f"{state.spec()[:12]:>12} {m:>6} {dm:>16.3f} {dr:>7.3f} {dz:>7.2f} "
                f"{rm:>16.3f} {rr:>7.3f} {rz:>7.2f} {t_greedy / t_rand:>14.2f} "
                f"{t_der / t_rand:>15.2f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
