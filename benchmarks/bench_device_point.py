"""Benchmark: recompute one point of a committed sweep store and compare it with the stored row.

The point is run exactly as ``copylearn sweep`` runs it (:func:`copylearn.complexity.run_point`
with the seed :func:`copylearn.sweep.point_seed` derives from the sweep seed and the point id).
The setup a sweep does once in its parent (:func:`copylearn.sweep.check_runnable`: loading
the device and finding its layouts, which forked workers inherit) is timed apart, as the
row's time does not include it. Every field of the fresh result is compared with the
committed row, except the provenance fields (``seconds``, ``versions`` and the format-3
stamps) and the calibration-record fields added since the committed stores were written.
The script prints the time taken now, the time stored in the row and their ratio; it exits 1
if any field differs.

Usage: python benchmarks/bench_device_point.py figures/weber_separation pauli-shadow 10
           [--config experiments/weber_separation.toml] [--trials T] [--profile FILE]
           [--floor] [--stream V] [--workers W[,W...]]

``--config`` defaults to ``experiments/<store name>.toml`` (the sweep seed lives there: the
format-1 rows of the committed stores do not carry it). ``--trials T`` runs the point with
fewer trials (for profiling: the row then differs and is not compared). ``--profile FILE``
writes cProfile statistics of the run to FILE. ``--floor`` also times the bare random draws a
pauli-shadow point makes per shot (bases, the state's flip bits and sign coin, one uniform
per single-qubit block) on 10^7 shots and scales them to the shots the row simulated
(trials x the last copy count): the cost of the committed random stream alone, a lower bound
for any path that reproduces the row. ``--stream V`` runs the point on random stream V
(docs/theory.md §15; default: the row's stream, 1 for rows that record none); on another
stream than the row's the result is not compared. ``--workers 1,2`` runs the point once per
worker count, in this order and in this process (``run_point(workers=W)``: W processes share
the trials), prints wall and CPU seconds (this process and its helpers) and the ratios against
the first count, and exits 1 unless every count gives the same result.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from copylearn.complexity import run_point
from copylearn.sweep import check_runnable, load_config, point_seed

ROOT = Path(__file__).resolve().parents[1]
PROVENANCE = {"id", "spec", "seconds", "versions", "format", "sweep_seed", "config_hash"}
PROVENANCE |= {"copylearn", "stream"}  # the row's stamps; the stream is compared apart
# Calibration record fields added after the committed stores were written.
CALIBRATION_FIELDS_ADDED = {"target", "target_description"}


def find_row(store: Path, strategy: str, n: int) -> dict:
    rows = [json.loads(line) for line in (store / "results.jsonl").open()]
    found = [r for r in rows if r["spec"]["strategy"] == strategy and r["spec"]["n"] == n]
    if len(found) != 1:
        sys.exit(f"bench_device_point: {len(found)} rows of {strategy} at n={n} in {store}.")
    return found[0]


def differences(fresh: dict, row: dict) -> list[str]:
    """Fields of ``fresh`` and ``row`` that differ, provenance left out."""
    fresh = {k: v for k, v in fresh.items() if k not in PROVENANCE}
    committed = {k: v for k, v in row.items() if k not in PROVENANCE}
    if "calibration" in fresh and "calibration" in committed:
        fresh["calibration"] = {
            k: v
            for k, v in fresh["calibration"].items()
            if k in committed["calibration"] or k not in CALIBRATION_FIELDS_ADDED
        }
    keys = sorted(set(fresh) | set(committed))
    return [k for k in keys if fresh.get(k, "<missing>") != committed.get(k, "<missing>")]


def cpu_seconds() -> float:
    """User and system CPU seconds of this process and its reaped children."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def stream_floor(n: int, shots: int = 10**7, repeats: int = 3) -> float:
    """Median seconds per shot of the random draws of one pauli-shadow shot on n qubits."""
    rng = np.random.default_rng(0)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        rng.integers(0, 3, size=(shots, n), dtype=np.uint8)  # bases
        rng.integers(0, 2, size=(shots, n), dtype=np.uint8)  # the state's flip bits
        rng.random(shots)  # the state's sign coin
        for _ in range(n):  # one uniform per single-qubit block
            rng.random(shots)
        times.append(time.perf_counter() - start)
    return statistics.median(times) / shots


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", type=Path)
    parser.add_argument("strategy")
    parser.add_argument("n", type=int)
    parser.add_argument("--config", type=Path)
    parser.add_argument("--trials", type=int)
    parser.add_argument("--profile", type=Path)
    parser.add_argument("--floor", action="store_true")
    parser.add_argument(
        "--stream", type=int, help="random stream (default: the row's; 1 if it records none)"
    )
    parser.add_argument(
        "--workers", default="1", help="comma-separated process counts, each run in turn"
    )
    args = parser.parse_args()
    counts = [int(w) for w in args.workers.split(",")]
    config_path = args.config or ROOT / "experiments" / f"{args.store.name}.toml"
    config = load_config(config_path)
    row = find_row(args.store, args.strategy, args.n)
    spec = dict(row["spec"])
    if args.trials:
        spec["trials"] = args.trials
    seed = point_seed(config.seed, row["id"])
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"python {platform.python_version()}, {os.cpu_count()} cores, load {load:.1f} (1 min); "
        f"{args.strategy} n={args.n} trials={spec['trials']} of {args.store}",
        flush=True,
    )
    # What a sweep does once in its parent before forking its workers (load the device, find
    # its layouts): timed apart, as the row's seconds do not include it.
    start = time.perf_counter()
    check_runnable(config, specs=[spec])
    print(f"setup before the point (once per sweep): {time.perf_counter() - start:.1f} s")
    profiler = cProfile.Profile() if args.profile else None
    stream = args.stream or row.get("stream", 1)  # the row's random stream by default
    results, walls, cpus = [], [], []
    for workers in counts:
        start, cpu = time.perf_counter(), cpu_seconds()
        if profiler is not None:
            profiler.enable()
        results.append(run_point(spec, seed, stream=stream, workers=workers))
        if profiler is not None:
            profiler.disable()
        walls.append(time.perf_counter() - start)
        cpus.append(cpu_seconds() - cpu)
        print(
            f"workers={workers}: wall {walls[-1]:.1f} s, CPU {cpus[-1]:.1f} s (with helpers), "
            f"wall ratio first/this {walls[0] / walls[-1]:.2f}, load "
            f"{os.getloadavg()[0]:.1f} (1 min)",
            flush=True,
        )
    if profiler is not None:
        profiler.dump_stats(args.profile)
    if any(
        json.dumps(r, sort_keys=True) != json.dumps(results[0], sort_keys=True) for r in results
    ):
        print(f"DIFFERENT results for workers {args.workers}")
        return 1
    if len(counts) > 1:
        print(f"identical results for workers {args.workers}")
    fresh, seconds = results[-1], walls[-1]
    old = row["seconds"]
    print(f"time now {seconds:.1f} s; in the row {old:.1f} s; ratio row/now {old / seconds:.2f}")
    if args.floor:
        last = row["curve"]["copies"][-1] // row["copies_per_experiment"]
        simulated = row["spec"]["trials"] * last
        per_shot = stream_floor(args.n)
        print(
            f"random stream alone: {per_shot * 1e9:.0f} ns per shot; x {simulated:.3g} shots "
            f"simulated for the row = {per_shot * simulated:.0f} s"
        )
    if args.trials and args.trials != row["spec"]["trials"]:
        print("fewer trials than the row: not compared")
        return 0
    if stream != row.get("stream", 1):
        print(f"stream {stream}, the row's is {row.get('stream', 1)}: not compared")
        return 0
    differ = differences(fresh, row)
    if differ:
        print(f"DIFFERENT from the committed row in: {', '.join(differ)}")
        return 1
    print("row identical to the committed one apart from provenance (seconds, versions, stamps)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
