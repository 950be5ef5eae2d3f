"""Benchmark: random-Clifford snapshots of a non-stabilizer state, global-stage path against
the whole-circuit path, in one process (docs/theory.md §12.6).

The state is the principal-component task's rho = (1 - lambda)|psi><psi| + lambda I/2^n
(lambda = 0.3, psi a Haar brickwork with a hidden Pauli, docs/theory.md §19), measured by
``clifford-shadow`` (one uniformly random Clifford per snapshot). For each n the script
times ``Collector.sample`` with a collector prepared once and reused, as a sweep's trial:

* ``global-stage``: random stream 3 (each flip pattern's state simulated once on qsim, each
  Clifford applied to it), with numba and with ``COPYLEARN_NO_NUMBA=1``;
* ``baseline``: random stream 2, the path 0.4 took (one qsim call of the whole circuit per
  snapshot; a block of the whole register at n <= 4), on ``--baseline-shots`` snapshots;
* ``stim``: the same protocol on a Pauli (stabilizer) state on the stabilizer backend, for
  scale: what a Clifford snapshot costs when the state is a stabilizer state.

It prints medians of ``--repeats`` runs of microseconds per snapshot and the ratios
baseline / global-stage and global-stage / stim.

Usage: python benchmarks/bench_global_stage.py [--repeats 3] [--shots 4000]
       [--baseline-shots 60] [--n 4 6 8]
"""

from __future__ import annotations

import argparse
import os

import numpy as np
from bench_clifford import _per_shot  # the same timing: median of repeats, µs per snapshot

from copylearn.collect import prepare_collector
from copylearn.states import PauliMixedState
from copylearn.tasks.principal_component import PrincipalComponentState, principal_circuit


def _state(n: int) -> PrincipalComponentState:
    pauli = ("XYZ" * n)[:n]
    circuit = principal_circuit(pauli, 1, np.random.default_rng(n))
    return PrincipalComponentState(
        circuit=circuit, name="bench", pauli=pauli, sign=1, noise_fraction=0.3
    )


def bench(n: int, shots: int, baseline: int, repeats: int) -> dict[str, float]:
    state = _state(n)
    root = np.random.SeedSequence(7)
    out: dict[str, float] = {}
    fast = prepare_collector(state, "clifford-shadow", None, "qsim", stream=3)
    fast.sample(state, 16, root)  # warm: compile or load the kernels
    fast.sample(state, shots, root)  # and simulate every flip pattern's state once
    out["global-stage"] = _per_shot(lambda: fast.sample(state, shots, root), shots, repeats)
    os.environ["COPYLEARN_NO_NUMBA"] = "1"
    try:
        out["global-stage numpy"] = _per_shot(
            lambda: fast.sample(state, shots // 4, root), shots // 4, repeats
        )
    finally:
        del os.environ["COPYLEARN_NO_NUMBA"]
    slow = prepare_collector(state, "clifford-shadow", None, "qsim", stream=2)
    slow.sample(state, 4, root)
    out["baseline"] = _per_shot(lambda: slow.sample(state, baseline, root), baseline, repeats)
    pauli = PauliMixedState(("XYZ" * n)[:n], alpha=0.7)
    stim = prepare_collector(pauli, "clifford-shadow", None, "stim", stream=3)
    stim.sample(pauli, 16, root)
    out["stim"] = _per_shot(lambda: stim.sample(pauli, shots, root), shots, repeats)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--shots", type=int, default=4000)
    parser.add_argument("--baseline-shots", type=int, default=60)
    parser.add_argument("--n", type=int, nargs="+", default=[4, 6, 8])
    args = parser.parse_args()
    print("n | global-stage | global-stage (NumPy) | baseline (0.4 path) | stim (Pauli state) "
          "| baseline / global-stage | global-stage / stim")  # fmt: skip
    for n in args.n:
        r = bench(n, args.shots, args.baseline_shots, args.repeats)
        print(
            f"{n} | {r['global-stage']:.0f} | {r['global-stage numpy']:.0f} | "
            f"{r['baseline']:.0f} | {r['stim']:.0f} | {r['baseline'] / r['global-stage']:.1f}x"
            f" | {r['global-stage'] / r['stim']:.2f}x",
            flush=True,
        )


if __name__ == "__main__":
    main()
