"""Benchmark: random global Clifford shadows per snapshot, stim against qsim, in one process.

Every snapshot is measured under its own uniformly random Clifford (``shots_per_unitary``
= 1, what Pauli prediction needs), so every snapshot is a distinct circuit setting. For each
n the script times, with a prepared collector reused across repeats as the sweep does:

* ``stim``: ``Collector.sample`` on ``backend="stim"`` (per setting, the cached stim
  fragments of the template's gates joined and run on a fresh ``stim.TableauSimulator``);
* ``qsim``: the same on ``backend="qsim"`` (one qsim call per distinct Clifford), on fewer
  snapshots (``--baseline-shots``);
* the parts of a stim snapshot: ``draw`` (the seeded uniform tableaux and their template
  exponents, copylearn.clifford), the backend run, and the estimator (one Pauli's
  single-shot values from the tableaux, ``sums_values``).

It prints medians of ``--repeats`` runs of microseconds per snapshot and the ratio
qsim / stim.

Usage: python benchmarks/bench_clifford.py [--repeats 3] [--shots 2000] [--baseline-shots 60]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np

from copylearn.collect import prepare_collector
from copylearn.pauli import parse_paulis
from copylearn.seeding import substream
from copylearn.states import PauliMixedState


def _per_shot(fn, shots: int, repeats: int) -> float:
    """Median over ``repeats`` of microseconds per snapshot of ``fn()``."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e6 * statistics.median(times) / shots


def bench(n: int, shots: int, baseline: int, repeats: int) -> dict[str, float]:
    state = PauliMixedState("X" * n, alpha=0.9)
    out: dict[str, float] = {}
    stim_collector = prepare_collector(state, "clifford-shadow", None, "stim")
    module = stim_collector.module
    root = np.random.SeedSequence(7)
    stim_collector.sample(state, 16, root)  # warm the fragment caches, as a sweep's later stages
    out["stim"] = _per_shot(lambda: stim_collector.sample(state, shots, root), shots, repeats)

    def rngs():
        return {k: np.random.default_rng(substream(root, i)) for i, k in enumerate(
            ("state_a", "state_b", "protocol", "backend"))}  # fmt: skip

    out["draw"] = _per_shot(lambda: module.draw(state, shots, rngs()), shots, repeats)
    values, _ = module.draw(state, shots, rngs())
    plan = stim_collector.plan
    out["backend"] = _per_shot(lambda: plan.run(values, substream(root, 3)), shots, repeats)
    arrays, _ = stim_collector.sample(state, shots, root)
    paulis = parse_paulis(["X" * n, "Z" * n, "Y" * n], n)
    out["estimator"] = _per_shot(lambda: module.sums_values(paulis, arrays), shots, repeats)
    if baseline:
        qsim_collector = prepare_collector(state, "clifford-shadow", None, "qsim")
        qsim_collector.sample(state, 4, root)
        out["qsim"] = _per_shot(
            lambda: qsim_collector.sample(state, baseline, root), baseline, repeats
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--shots", type=int, default=2000)
    parser.add_argument("--baseline-shots", type=int, default=60)
    parser.add_argument("--n", type=int, nargs="+", default=[4, 6, 8])
    args = parser.parse_args(argv)
    print(
        f"clifford-shadow, one random Clifford per snapshot; medians of {args.repeats} runs, "
        f"us per snapshot (stim {args.shots} snapshots, qsim {args.baseline_shots})"
    )
    head = ("stim", "draw", "backend", "estim.")
    print(f"{'n':>3} " + " ".join(f"{h:>9}" for h in head) + f" {'qsim':>10} {'qsim/stim':>10}")
    for n in args.n:
        r = bench(n, args.shots, args.baseline_shots, args.repeats)
        qsim = r.get("qsim", float("nan"))
        print(
            f"{n:>3} {r['stim']:>9.0f} {r['draw']:>9.0f} {r['backend']:>9.0f} "
            f"{r['estimator']:>9.0f} {qsim:>10.0f} {qsim / r['stim']:>10.1f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
