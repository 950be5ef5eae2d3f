"""Benchmark: one pure purity-testing trial, old path against new path, in one process.

A pure trial of ``experiments/purity_separation.toml`` draws a fresh Haar brickwork state
(depth 2n), plans a collector for its circuit and collects the trial's whole stream. For
each n the script times, per trial (a fresh instance and collector each repeat, as the
sweep does):

* ``bell``: 32 Bell experiments (``max_copies = 64``) on the state path. Old: the whole
  2n-qubit preparation in one qsim call (``factored_front`` switched off). New: the two
  copies simulated apart and joined for the CNOTs (docs/theory.md §12.5). Both give the
  same bits on the rows of the committed store.
* ``collision``: 1024 shots under one random Clifford (``shots_per_unitary = 1024``) on the
  whole-circuit qsim path. Old: the Clifford template circuit rebuilt for every trial (its
  cache cleared); new: built once per n. (The other two per-trial savings, no unrolling of a
  flat circuit for stim and no unitary check of Haar bricks, are in both columns.)

It prints medians of ``--repeats`` runs of seconds per trial and the ratio old / new.

Usage: python benchmarks/bench_purity.py [--repeats 3] [--bell 8 10 11] [--collision 12 14]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from unittest import mock

import numpy as np

from copylearn.backends import state_sampling
from copylearn.clifford import line_template_circuit
from copylearn.collect import prepare_collector
from copylearn.seeding import substream
from copylearn.tasks import get_task


def _spec(strategy: str, n: int, max_copies: int) -> dict:
    return {
        "task": "purity-testing",
        "strategy": strategy,
        "n": n,
        "preparation": "brickwork",
        "depth": "2n",
        "noise": "none",
        "target": 0.9,
        "trials": 100,
        "max_copies": max_copies,
        "backend": "auto",
    }


def _trial(spec: dict, k: int) -> float:
    """Seconds of one pure trial: instance, collector, the whole stream."""
    task = get_task("purity-testing")
    options = task.protocol_options(spec)
    start = time.perf_counter()
    state = task._pure_state(spec, np.random.default_rng(substream(np.random.SeedSequence(9), k)))
    collector = prepare_collector(state, spec["strategy"], None, "auto", options=options)
    per_shot = collector.module.copies_per_shot
    collector.sample(state, spec["max_copies"] // per_shot, np.random.SeedSequence(k))
    return time.perf_counter() - start


def _median(fn, repeats: int) -> float:
    return statistics.median(fn(k) for k in range(repeats))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--bell", type=int, nargs="*", default=[8, 10, 11])
    parser.add_argument("--collision", type=int, nargs="*", default=[12, 14])
    args = parser.parse_args(argv)
    _trial(_spec("bell", 4, 64), 0)  # warm-up: imports, numba kernels
    print(f"seconds per pure trial, median of {args.repeats} (old path / new path)")
    print(f"{'learner':<10} {'n':>3} {'qubits':>6} {'old s':>9} {'new s':>9} {'old/new':>8}")
    for n in args.bell:
        spec = _spec("bell", n, 64)
        with mock.patch.object(state_sampling, "factored_front", lambda *a: None):
            old = _median(lambda k, s=spec: _trial(s, k), args.repeats)
        new = _median(lambda k, s=spec: _trial(s, k), args.repeats)
        print(f"{'bell':<10} {n:>3} {2 * n:>6} {old:>9.3f} {new:>9.3f} {old / new:>8.1f}")
    for n in args.collision:
        spec = _spec("clifford-shadow", n, 1024)

        def cold(k, s=spec):
            line_template_circuit.cache_clear()
            return _trial(s, k)

        old = _median(cold, args.repeats)
        _trial(spec, 0)  # the template built once, as in a sweep
        new = _median(lambda k, s=spec: _trial(s, k), args.repeats)
        print(f"{'collision':<10} {n:>3} {n:>6} {old:>9.3f} {new:>9.3f} {old / new:>8.1f}")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
