"""Benchmark: data collection for the Science-state task against the per-shot path.

The baseline is what the paper's generator does: one parameter resolver per shot through
``cirq.Simulator().run_sweep``. copylearn's path (block execution, or grouped settings for
circuits that do not factor) runs in the same process on the same circuit and parameter
values. For each case the script prints time per shot of both, their ratio, and a check
that both give the same distribution: for a few Pauli observables, the difference of the two
estimates must lie within 5 combined standard errors.

Usage: python benchmarks/bench_collect.py [--repeats 3] [--baseline-shots 300]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import time

import cirq
import numpy as np

import copylearn as cl
from copylearn.backends import execute
from copylearn.noise import parse_noise
from copylearn.protocols import get_protocol, prepare

NOISE = "depolarizing:0.01+readout:0.01"


def per_shot_baseline(experiment, model, shots: int, seed: int) -> dict[str, np.ndarray]:
    """One resolver per shot through cirq.Simulator().run_sweep (the paper's generator)."""
    circuit = experiment.circuit if model is None else experiment.circuit.with_noise(model)
    resolvers = [
        cirq.ParamResolver(dict(zip(experiment.parameter_names, map(float, row), strict=True)))
        for row in experiment.values[:shots]
    ]
    results = cirq.Simulator(seed=seed).run_sweep(circuit, resolvers, repetitions=1)
    keys = results[0].measurements
    return {key: np.concatenate([r.measurements[key] for r in results]) for key in keys}


def estimates(protocol, experiment, outcomes, n, labels):
    module = get_protocol(protocol)
    shots = next(iter(outcomes.values())).shape[0]
    record = {k: v[:shots] for k, v in experiment.record.items()}
    data = cl.Dataset(protocol, n, module.outcome_arrays(record, outcomes))
    return data.estimate_square(labels) if protocol == "bell" else data.estimate(labels)


def case(protocol: str, n: int, shots: int, baseline_shots: int, repeats: int, rng) -> None:
    print(f"[running {protocol} n={n}: {repeats} repeats of both paths ...]", file=sys.stderr,
          flush=True)
    pauli = "".join(rng.choice(list("XYZ"), size=n))
    state = cl.PauliMixedState(pauli, alpha=0.9, sign=-1)
    names = ("state_a", "state_b", "protocol")
    streams = {k: np.random.default_rng([7, i]) for i, k in enumerate(names)}
    experiment = prepare(protocol, state, shots, streams)
    model = parse_noise(NOISE)
    circuit = experiment.circuit.with_noise(model)
    fast_times = []
    for r in range(repeats):
        start = time.perf_counter()
        outcomes, info = execute(circuit, experiment.parameter_names, experiment.values,
                                 np.random.SeedSequence([11, r]))
        fast_times.append((time.perf_counter() - start) / shots)
    fast = statistics.median(fast_times)
    base_times = []
    try:
        for r in range(repeats):
            start = time.perf_counter()
            base = per_shot_baseline(experiment, model, baseline_shots, seed=100 + r)
            base_times.append((time.perf_counter() - start) / baseline_shots)
    except MemoryError:
        print(f"{protocol:<13} n={n:<3} {info['path']:<8} {fast * 1e6:>10.2f} us/shot "
              f"{'out of memory':>19}  (the per-shot path merges all {len(circuit.all_qubits())} "
              "qubits at the measurement)")
        return
    labels = [pauli, "I" * (n - 1) + pauli[-1], pauli[0] + "I" * (n - 1)]
    ours = estimates(protocol, experiment, outcomes, n, labels)
    theirs = estimates(protocol, experiment, base, n, labels)
    # Under "same distribution" both share one per-shot spread: take it from the large sample
    # (a 100-shot baseline often has no basis matches and a sample standard error of 0).
    spread = ours.stderr * np.sqrt(ours.shots)
    z = np.abs(ours.values - theirs.values) / (
        spread * np.sqrt(1 / ours.shots + 1 / theirs.shots) + 1e-300
    )
    slow = statistics.median(base_times)
    print(f"{protocol:<13} n={n:<3} {info['path']:<8} {fast * 1e6:>10.2f} us/shot "
          f"{slow * 1e6:>11.1f} us/shot {slow / fast:>10.0f}x   max|z|={z.max():.2f} "
          f"({'same' if z.max() < 5 else 'DIFFERENT'})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--shots", type=int, default=200_000)
    parser.add_argument("--baseline-shots", type=int, default=300)
    parser.add_argument("--sizes", default="4,8,12,20")
    parser.add_argument("--copies", type=int, default=1_000_000, help="for the collect path")
    args = parser.parse_args()
    rng = np.random.default_rng(2024)
    print(f"machine: {platform.machine()}, CPython {platform.python_version()}, "
          f"cirq {cirq.__version__}, noise {NOISE}; medians of {args.repeats} runs")
    print(f"{'protocol':<13} {'n':<5} {'path':<8} {'copylearn':>17} {'per-shot run_sweep':>19} "
          f"{'speed-up':>11}")
    for n in (int(s) for s in args.sizes.split(",") if s.strip()):
        for protocol in ("bell", "pauli-shadow"):
            case(protocol, n, args.shots, args.baseline_shots, args.repeats, rng)

    print("\nwhole collect path, two-copy Bell sampling, noise", NOISE,
          "(each in a fresh process, so its peak memory is its own)")
    for n in (20, 40):
        times, peaks = [], []
        print(f"[running collect n={n}: {args.repeats} fresh processes ...]", file=sys.stderr,
              flush=True)
        for r in range(args.repeats):
            report = subprocess.run(
                [sys.executable, "-c", COLLECT_ONE, str(n), str(args.copies), str(r)],
                capture_output=True, text=True, check=True,
            ).stdout.split()
            times.append(float(report[0]))
            peaks.append(float(report[1]))
        t = statistics.median(times)
        print(f"n={n} ({2 * n} qubits): {args.copies} copies in {t:.2f} s "
              f"({args.copies / t:,.0f} copies/s); peak RSS {max(peaks):.0f} MiB")


COLLECT_ONE = """
import sys, time
import numpy as np
import copylearn as cl
n, copies, seed = map(int, sys.argv[1:])
pauli = "".join(np.random.default_rng(seed).choice(list("XYZ"), size=n))
start = time.perf_counter()
cl.collect(cl.PauliMixedState(pauli), protocol="bell", copies=copies,
           noise="depolarizing:0.01+readout:0.01", seed=seed)
# VmHWM is this program's own peak (ru_maxrss would include the forking parent's pages).
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(time.perf_counter() - start, peak / 1024)
"""


if __name__ == "__main__":
    main()
