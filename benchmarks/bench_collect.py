"""Benchmark: data collection for the Science-state task against the per-shot path.

The baseline is what the paper's generator does: one parameter resolver per shot through
``cirq.Simulator().run_sweep``. copylearn's path (block execution, or grouped settings for
circuits that do not factor) runs in the same process on the same circuit and parameter
values. For each case the script prints time per shot of both, their ratio, and a check
that both give the same distribution: for a few Pauli observables, the difference of the two
estimates must lie within 5 combined standard errors.

The second part ("the random-bit floor", issue 11) times ``copylearn.collect`` of the Science
state at n = 20 with 10^6 copies, both protocols, noiseless and noisy, against the bare random-bit
draw of the same shape in the same process: one uniformly random bit per measured qubit per
experiment, drawn the idiomatic NumPy way,

    rng.integers(0, 2, size=(experiments, measured_qubits), dtype=np.uint8)

(10^6 x 20 for shadows, 5 * 10^5 x 40 for Bell sampling: 2 * 10^7 bits either way). This is the
fair floor: it is what the data hold (one outcome bit per measured qubit and experiment) drawn
one byte per bit, the form every simulator's outcome array takes before packing. Packed raw
words (``bit_generator.random_raw``, 64 bits per draw) are about 8x cheaper still but produce
no per-qubit array, so no sampler that returns outcomes can approach them. Each repeat times the
floor and then the four collects; the ratios are medians of the repeats. A first (cold) collect
per case runs before the repeats: it compiles the numba kernels (if installed) and executes the
block circuits, which later collects in the process reuse; its time is printed too. collect runs
on its default random stream 2 (docs/theory.md §15); the last column times stream 1 (the stream
of the figures committed before stream versions) in the same repeats.

Usage: python benchmarks/bench_collect.py [--repeats 3] [--baseline-shots 300] [--floor-only]
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
    parser.add_argument("--floor-only", action="store_true", help="only the random-bit floor")
    args = parser.parse_args()
    if args.floor_only:
        floor(args.copies, args.repeats)
        return
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
    print()
    floor(args.copies, args.repeats)


FLOOR_PAULI = "XYZZYXZIXYZXXYZIZYXZ"  # n = 20


def floor(copies: int, repeats: int) -> None:
    """collect of the Science state against the bare random-bit draw of the same shape."""
    from copylearn import compiled

    n = len(FLOOR_PAULI)
    sampler = "numba" if compiled.load(compiled.BLOCKS) is not None else "absent (NumPy)"
    state = cl.PauliMixedState(FLOOR_PAULI, alpha=0.9, sign=-1)
    cases = [(p, noise) for p in ("bell", "pauli-shadow") for noise in (None, NOISE)]
    print(f"the random-bit floor: collect of {state.spec()}, {copies} copies, against "
          f"rng.integers(0, 2, (experiments, measured qubits), uint8) = {copies * n} bits; "
          f"compiled sampler: {sampler}; "
          f"medians of {repeats}")
    print(f"[running the floor: {len(cases)} cold collects, then {repeats} repeats ...]",
          file=sys.stderr, flush=True)
    cold = {}
    for case_ in cases:
        start = time.perf_counter()
        cl.collect(state, protocol=case_[0], copies=copies, noise=case_[1], seed=0)
        cold[case_] = time.perf_counter() - start
    rng = np.random.default_rng(0)
    floors, times = [], {case_: [] for case_ in cases}
    plain = {case_: [] for case_ in cases}  # the NumPy sampler (compiled loop switched off)
    first = {case_: [] for case_ in cases}  # random stream 1 (the committed figures' stream)
    for case_ in cases:  # stream 1's cold run (its block distributions are shared)
        cl.collect(state, protocol=case_[0], copies=copies, noise=case_[1], seed=0, stream=1)
    for r in range(repeats):
        start = time.perf_counter()
        rng.integers(0, 2, size=(copies, n), dtype=np.uint8)  # = (copies / 2, 2n) for Bell
        floors.append(time.perf_counter() - start)
        for case_ in cases:
            for switch, store in ((kernels_min_work(None), times), (1 << 62, plain)):
                previous = kernels_min_work(switch)
                start = time.perf_counter()
                cl.collect(state, protocol=case_[0], copies=copies, noise=case_[1], seed=r + 1)
                store[case_].append(time.perf_counter() - start)
                kernels_min_work(previous)
            start = time.perf_counter()
            cl.collect(
                state, protocol=case_[0], copies=copies, noise=case_[1], seed=r + 1, stream=1
            )
            first[case_].append(time.perf_counter() - start)
    base = statistics.median(floors)
    print(f"floor: {base:.3f} s")
    print(f"{'protocol':<13} {'noise':<32} {'collect':>9} {'/ floor':>8} {'cold':>8} "
          f"{'NumPy sampler / floor':>22} {'stream 1 / floor':>17}")
    for (protocol, noise), values in times.items():
        t = statistics.median(values)
        p = statistics.median(plain[protocol, noise])
        one = statistics.median(first[protocol, noise])
        print(f"{protocol:<13} {noise or 'none':<32} {t:>8.3f}s {t / base:>7.1f}x "
              f"{cold[protocol, noise]:>7.2f}s {p / base:>21.1f}x {one / base:>16.1f}x")


def kernels_min_work(value: int | None) -> int:
    """Set the compiled sampler's work threshold (``None``: leave it); returns the old one."""
    from copylearn.backends import blocks

    previous = blocks.COMPILED_MIN_WORK
    if value is not None:
        blocks.COMPILED_MIN_WORK = value
    return previous


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
