"""Benchmark: ``backend="stim"`` against qsim's whole-circuit path, in the same process.

Cases (every shot its own parameter setting, so every shot is a distinct circuit):

* ``shadow``: random-Pauli shadows of an entangled Clifford state (H on every qubit, two
  CZ brickwork layers, S on every third qubit) with ``depolarizing:0.01+readout:0.01``,
  through ``copylearn.collect`` (stim: ``backend="stim"``; baseline: ``backend="qsim",
  execution="circuit"``, one qsim call per distinct setting).
* ``clifford``: a random Clifford brickwork per shot, depth n, each layer ``S**s`` and
  ``H**h`` on every qubit and ``CZ**c`` on alternating pairs, with 0/1 parameters drawn per
  shot, through ``copylearn.backends.execute`` (same two paths).
* ``bell-ghz``: two-copy Bell sampling of an n-qubit GHZ state with depolarizing noise, at
  sizes qsim cannot hold (2n qubits), stim only.

It prints medians of ``--repeats`` runs: distinct settings per second on each path (and per
CPU second of this process for stim, less sensitive to a loaded machine) and the ratio of
wall-clock rates; the baseline runs fewer shots (``--baseline-shots``), its rate is per
setting; ``--baseline-shots 0`` runs stim alone.

Usage: python benchmarks/bench_stim.py [--repeats 3] [--shots 20000] [--baseline-shots 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import cirq
import numpy as np
import sympy

import copylearn as cl
from copylearn.backends import execute
from copylearn.states import CircuitState

NOISE = "depolarizing:0.01+readout:0.01"


def entangled_clifford(n: int) -> CircuitState:
    q = cirq.LineQubit.range(n)
    return CircuitState(
        cirq.Circuit(
            cirq.H.on_each(*q),
            [cirq.CZ(q[i], q[i + 1]) for i in range(0, n - 1, 2)],
            [cirq.CZ(q[i], q[i + 1]) for i in range(1, n - 1, 2)],
            cirq.S.on_each(*q[::3]),
        ),
        name=f"clifford-brickwork-{n}",
    )


def random_clifford_circuit(n: int) -> tuple[cirq.Circuit, list[str]]:
    q = cirq.LineQubit.range(n)
    moments, names = [], []
    for layer in range(n):
        s = [sympy.Symbol(f"s{layer}_{i}") for i in range(n)]
        h = [sympy.Symbol(f"h{layer}_{i}") for i in range(n)]
        pairs = [(i, i + 1) for i in range(layer % 2, n - 1, 2)]
        c = [sympy.Symbol(f"c{layer}_{i}") for i, _ in pairs]
        moments.append(cirq.Moment(cirq.S(q[i]) ** s[i] for i in range(n)))
        moments.append(cirq.Moment(cirq.H(q[i]) ** h[i] for i in range(n)))
        cz = zip(pairs, c, strict=True)
        moments.append(cirq.Moment(cirq.CZ(q[i], q[j]) ** x for (i, j), x in cz))
        names += [str(x) for x in (*s, *h, *c)]
    moments.append(cirq.Moment(cirq.measure(*q, key="m")))
    return cirq.Circuit(moments), names


CPU: list[float] = []  # this process's CPU seconds of each stim timing (median reported)


def timed(fn, repeats: int) -> tuple[float, object]:
    times, cpu, out = [], [], None
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        out = fn()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    CPU.append(statistics.median(cpu))
    return statistics.median(times), out


def shadow_case(n: int, shots: int, baseline_shots: int, repeats: int) -> None:
    state = entangled_clifford(n)

    def run(backend, execution, copies):
        return lambda: cl.collect(state, "pauli-shadow", copies, NOISE, backend=backend,
                                  seed=1, execution=execution)  # fmt: skip

    t_stim, data = timed(run("stim", "auto", shots), repeats)
    cpu = CPU[-1]
    k_qsim, t_qsim = 0, 0.0
    if baseline_shots:
        t_qsim, base = timed(run("qsim", "circuit", baseline_shots), repeats)
        k_qsim = base.metadata["execution"]["distinct_settings"]
    report("shadow", n, data.metadata["execution"]["distinct_settings"], t_stim, cpu,
           k_qsim, t_qsim)  # fmt: skip


def clifford_case(n: int, shots: int, baseline_shots: int, repeats: int) -> None:
    circuit, names = random_clifford_circuit(n)
    values = np.random.default_rng(n).integers(0, 2, size=(shots, len(names))).astype(float)

    def run(backend, rows):
        return lambda: execute(circuit, names, values[:rows], np.random.SeedSequence(2),
                               backend=backend, execution="circuit")  # fmt: skip

    t_stim, (_, info) = timed(run("stim", shots), repeats)
    cpu = CPU[-1]
    k_qsim, t_qsim = 0, 0.0
    if baseline_shots:
        t_qsim, (_, base) = timed(run("qsim", baseline_shots), repeats)
        k_qsim = base["distinct_settings"]
    report("clifford", n, info["distinct_settings"], t_stim, cpu, k_qsim, t_qsim)


def report(
    case: str, n: int, k_stim: int, t_stim: float, cpu: float, k_qsim: int, t_qsim: float
) -> None:
    rate_stim = k_stim / t_stim
    qsim = f"{k_qsim / t_qsim:,.0f} | {rate_stim * t_qsim / k_qsim:,.0f}×" if k_qsim else "— | —"
    print(f"| {case} | {n} | {k_stim:,} | {t_stim:.2f} | {rate_stim:,.0f} | {k_stim / cpu:,.0f} "
          f"| {qsim} |", flush=True)  # fmt: skip


def bell_case(n: int, copies: int, repeats: int) -> None:
    q = cirq.LineQubit.range(n)
    chain = [cirq.CNOT(q[i], q[i + 1]) for i in range(n - 1)]
    ghz = CircuitState(cirq.Circuit(cirq.H(q[0]), chain))

    def run():
        return cl.collect(ghz, "bell", copies, "depolarizing:0.001", backend="stim", seed=3)

    t, data = timed(run, repeats)
    purity = data.purity()
    settings = data.metadata["execution"]["distinct_settings"]
    print(f"| bell-ghz | {n} | {2 * n} | {copies:,} | {t:.2f} | {settings} | "
          f"{purity.values[0]:.3f} ± {purity.stderr[0]:.3f} |", flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--shots", type=int, default=20000)
    parser.add_argument("--baseline-shots", type=int, default=200)
    args = parser.parse_args()
    print("| case | n | distinct settings (stim) | stim s | stim settings/s "
          "| stim settings per CPU s | qsim settings/s | ratio |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for n in (8, 10):
        print(f"[shadow n={n}]", file=sys.stderr, flush=True)
        shadow_case(n, args.shots, args.baseline_shots, args.repeats)
        print(f"[clifford n={n}]", file=sys.stderr, flush=True)
        clifford_case(n, args.shots, args.baseline_shots, args.repeats)
    print()
    print("| case | n | qubits | copies | stim s | distinct settings | purity estimate |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for n in (50, 100):
        bell_case(n, 10_000, args.repeats)


if __name__ == "__main__":
    main()
