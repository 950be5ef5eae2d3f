"""Benchmark: a point of costly shots spread over two processes by time, in one process tree.

A point of the principal-component task measured by ``clifford-shadow`` (a random Clifford on
a state vector per snapshot, ~0.1–1 ms each) never reaches the 2^24 shots a doubling stage
needs to fork trial helpers by count; since 0.6 a stage that follows one of
``PARALLEL_SECONDS`` (2 s) or more forks them too (copylearn/complexity.py, docs/theory.md
§6.7). The script times :func:`copylearn.complexity.run_point` on the same spec and seed with
``workers=1`` (baseline: one process) and ``workers=2`` (helpers forked by time), checks that
the rows are identical, and prints the medians of ``--repeats`` runs and their ratio.

A process gains only whole batches (up to 2^19 shots; every process samples each batch that
holds one of its trials), and only points of n >= 9 or so reach stages of several batches,
which take tens of minutes. ``--batch-rows`` (default 2^13) sets the batch size of both runs
alike, so that a small point has the batch structure of a large one: both runs use the same
batches and hence give the same row, which is compared.

Usage: python benchmarks/bench_trial_fork.py [--repeats 3] [--n 6] [--trials 40]
       [--batch-rows 8192]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np

import copylearn.complexity as complexity
from copylearn.complexity import run_point


def _spec(n: int, trials: int) -> dict:
    return {
        "task": "principal-component",
        "strategy": "clifford-shadow",
        "n": n,
        "noise_fraction": 0.3,
        "noise_state": "white",
        "preparation": "brickwork",
        "depth": "2n",
        "noise": "none",
        "target": 0.9,
        "trials": trials,
        "max_copies": 65536,
        "backend": "qsim",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n", type=int, default=6)
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--batch-rows", type=int, default=1 << 13)
    args = parser.parse_args()
    complexity._BATCH_ROWS = args.batch_rows
    spec, seed = _spec(args.n, args.trials), np.random.SeedSequence(2024)
    run_point(dict(spec), seed, workers=1)  # warm: kernels compiled or loaded, caches filled
    seconds: dict[int, list[float]] = {1: [], 2: []}
    rows: dict[int, str] = {}
    for _ in range(args.repeats):
        for workers in (1, 2):
            start = time.perf_counter()
            row = run_point(dict(spec), seed, workers=workers)
            seconds[workers].append(time.perf_counter() - start)
            rows[workers] = json.dumps(row, sort_keys=True)
    assert rows[1] == rows[2], "rows differ between one and two processes"
    one, two = (statistics.median(seconds[w]) for w in (1, 2))
    print(
        f"clifford-shadow principal-component n = {args.n}, {args.trials} trials, "
        f"batches of {args.batch_rows} shots, "
        f"N* = {json.loads(rows[1])['n_star']:.0f} copies; medians of {args.repeats}:"
    )
    print(f"  workers=1 (baseline): {one:.1f} s")
    print(f"  workers=2 (helpers forked by time): {two:.1f} s")
    print(f"  ratio baseline / two processes: {one / two:.2f}x (rows identical)")


if __name__ == "__main__":
    main()
