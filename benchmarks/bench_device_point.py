"""Benchmark: recompute one point of a committed sweep store and compare it with the stored row.

The point is run exactly as ``copylearn sweep`` runs it (:func:`copylearn.complexity.run_point`
with the seed :func:`copylearn.sweep.point_seed` derives from the sweep seed and the point id).
Every field of the fresh result is compared with the committed row, except the provenance
fields (``seconds``, ``versions`` and the format-3 stamps) and the calibration-record fields
added since the committed stores were written. The script prints the time taken now, the
time stored in the row and their ratio; it exits 1 if any field differs.

Usage: python benchmarks/bench_device_point.py figures/weber_separation pauli-shadow 10
           [--config experiments/weber_separation.toml] [--trials T] [--profile FILE]

``--config`` defaults to ``experiments/<store name>.toml`` (the sweep seed lives there: the
format-1 rows of the committed stores do not carry it). ``--trials T`` runs the point with
fewer trials (for profiling: the row then differs and is not compared). ``--profile FILE``
writes cProfile statistics of the run to FILE.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import platform
import sys
import time
from pathlib import Path

from copylearn.complexity import run_point
from copylearn.sweep import load_config, point_seed

ROOT = Path(__file__).resolve().parents[1]
PROVENANCE = {"id", "spec", "seconds", "versions", "format", "sweep_seed", "config_hash"}
PROVENANCE |= {"copylearn"}
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", type=Path)
    parser.add_argument("strategy")
    parser.add_argument("n", type=int)
    parser.add_argument("--config", type=Path)
    parser.add_argument("--trials", type=int)
    parser.add_argument("--profile", type=Path)
    args = parser.parse_args()
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
    profiler = cProfile.Profile() if args.profile else None
    start = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    fresh = run_point(spec, seed)
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(args.profile)
    seconds = time.perf_counter() - start
    old = row["seconds"]
    print(f"time now {seconds:.1f} s; in the row {old:.1f} s; ratio row/now {old / seconds:.2f}")
    if args.trials and args.trials != row["spec"]["trials"]:
        print("fewer trials than the row: not compared")
        return 0
    differ = differences(fresh, row)
    if differ:
        print(f"DIFFERENT from the committed row in: {', '.join(differ)}")
        return 1
    print("row identical to the committed one apart from provenance (seconds, versions, stamps)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
