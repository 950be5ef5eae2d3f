"""Benchmark: random-Pauli shadows of entangled (non-factoring) states, the state path.

Cases (docs/theory.md §12):

1. n = 12, N = 10^4 snapshots of a state made by random single-qubit rotations then a CNOT
   chain: copylearn's state path (``execution="auto"``) against the whole-circuit path
   (``execution="circuit"``, one qsim call per distinct basis setting) in the same process,
   and against PennyLane ``default.qubit`` ``qml.classical_shadow`` when PennyLane is
   importable (nothing is installed; the comparison is skipped with a line otherwise). Same
   distribution: shadow estimates of 30 random Paulis of weight <= 3 from both copylearn
   paths agree within 5 combined standard errors (max |z| printed).
2. n = 16 and n = 20, N = 10^4, the state path, each in a child process: time and peak
   resident memory (``VmHWM``).
3. A depth-4 brickwork state (random SU(2) layers and CZ bricks) at n = 18, 10^4 snapshots on
   the state path, and the whole-circuit path on a few snapshots for the per-snapshot ratio.

Times are medians of ``--repeats`` runs (default 3). Usage:
python benchmarks/bench_entangled.py [--repeats 3] [--old-repeats 3] [--old-brickwork-shots 50]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import cirq
import numpy as np

import copylearn as cl

SHOTS = 10_000


def rotations_then_chain(n: int, seed: int = 0) -> cirq.Circuit:
    """Random single-qubit rotations, then CNOT(i, i+1) for i = 0..n-2 (does not factor)."""
    rng = np.random.default_rng(seed)
    q = cirq.LineQubit.range(n)
    return cirq.Circuit(_rotations(q, rng), *(cirq.CNOT(q[i], q[i + 1]) for i in range(n - 1)))


def _rotations(qubits, rng: np.random.Generator) -> list[cirq.Operation]:
    """A random PhasedXZ rotation on each qubit (x, z, axis exponents drawn in that order)."""
    return [
        cirq.PhasedXZGate(
            x_exponent=rng.uniform(0, 1),
            z_exponent=rng.uniform(-1, 1),
            axis_phase_exponent=rng.uniform(-1, 1),
        ).on(x)
        for x in qubits
    ]


def brickwork(n: int, depth: int, seed: int = 0) -> cirq.Circuit:
    """``depth`` layers: random single-qubit rotations, then CZ on alternating pairs."""
    rng = np.random.default_rng(seed)
    q = cirq.LineQubit.range(n)
    circuit = cirq.Circuit()
    for layer in range(depth):
        circuit += cirq.Moment(_rotations(q, rng))
        circuit += cirq.Moment(cirq.CZ(q[i], q[i + 1]) for i in range(layer % 2, n - 1, 2))
    return circuit


def timed(function, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def peak_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def pennylane_seconds(circuit: cirq.Circuit, n: int, shots: int, repeats: int) -> str:
    """Median time of PennyLane default.qubit classical_shadow, or why it did not run."""
    try:
        import pennylane as qml
    except ImportError:
        return "skipped: PennyLane is not importable (nothing is installed by this script)"
    try:
        dev = qml.device("default.qubit", wires=n, seed=1)
        index = {q: i for i, q in enumerate(sorted(circuit.all_qubits()))}

        @qml.qnode(dev)
        def node():
            for op in circuit.all_operations():
                qml.QubitUnitary(cirq.unitary(op), wires=[index[q] for q in op.qubits])
            return qml.classical_shadow(wires=list(range(n)))

        run = qml.set_shots(node, shots=shots) if hasattr(qml, "set_shots") else None
        if run is None:
            dev = qml.device("default.qubit", wires=n, shots=shots, seed=1)
            run = qml.QNode(node.func, dev)
        seconds, _ = timed(run, repeats)
        return f"{seconds:.3f}"
    except Exception as exc:  # report any PennyLane failure in one line
        return f"failed: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}"


def child(kind: str, n: int, repeats: int, old_shots: int) -> None:
    """Run one large case in this (child) process and print a JSON line."""
    circuit = rotations_then_chain(n) if kind == "chain" else brickwork(n, 4)
    state = cl.CircuitState(circuit)

    def new():
        return cl.collect(state, protocol="pauli-shadow", copies=SHOTS, seed=3)

    seconds, data = timed(new, repeats)
    out = {
        "kind": kind,
        "n": n,
        "seconds": seconds,
        "path": data.metadata["execution"]["path"],
        "peak_mib": peak_rss_mib(),
    }
    if old_shots:
        start = time.perf_counter()
        cl.collect(state, protocol="pauli-shadow", copies=old_shots, seed=3, execution="circuit")
        out["old_seconds_per_snapshot"] = (time.perf_counter() - start) / old_shots
    print(json.dumps(out))


def spawn(kind: str, n: int, repeats: int, old_shots: int = 0) -> dict:
    command = [sys.executable, __file__, "--child", kind, str(n), str(repeats), str(old_shots)]
    proc = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--old-repeats", type=int, default=3)
    parser.add_argument("--old-brickwork-shots", type=int, default=50)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, n, repeats, old = args.child
        child(kind, int(n), int(repeats), int(old))
        return
    print(f"# bench_entangled  python {platform.python_version()}  numpy {np.__version__}")
    n = 12
    circuit = rotations_then_chain(n)
    state = cl.CircuitState(circuit)
    cl.collect(state, protocol="pauli-shadow", copies=100, seed=0)  # warm up (kernels)

    def run(execution):
        return lambda: cl.collect(
            state, protocol="pauli-shadow", copies=SHOTS, seed=2, execution=execution
        )

    print(f"[n={n}: state path x{args.repeats} ...]", file=sys.stderr, flush=True)
    new_s, new = timed(run("auto"), args.repeats)
    print(f"[n={n}: whole-circuit path x{args.old_repeats} ...]", file=sys.stderr, flush=True)
    old_s, old = timed(run("circuit"), args.old_repeats)
    rng = np.random.default_rng(5)
    labels = []
    for _ in range(30):
        label = ["I"] * n
        for site in rng.choice(n, size=rng.integers(1, 4), replace=False):
            label[site] = "XYZ"[rng.integers(3)]
        labels.append("".join(label))
    a, b = new.estimate(labels), old.estimate(labels)
    z = np.abs(a.values - b.values) / np.sqrt(a.stderr**2 + b.stderr**2)
    print(f"[n={n}: PennyLane ...]", file=sys.stderr, flush=True)
    penny = pennylane_seconds(circuit, n, SHOTS, args.repeats)
    print(f"\n## rotations + CNOT chain, n = {n}, N = {SHOTS} snapshots (medians)")
    print(f"state path ({new.metadata['execution']['path']}): {new_s:.3f} s")
    print(f"whole-circuit path: {old_s:.3f} s  -> state path is {old_s / new_s:.1f}x faster")
    try:
        ratio = f"-> state path is {float(penny) / new_s:.1f}x faster"
        print(f"PennyLane default.qubit classical_shadow: {penny} s {ratio}")
    except ValueError:
        print(f"PennyLane default.qubit classical_shadow: {penny}")
    print(f"same distribution: max |z| = {z.max():.2f} over {len(labels)} Paulis (need < 5)")
    print("\n## state path, larger n, N = 10^4 (child process each; peak = VmHWM)")
    for kind, size, old in (("chain", 16, 0), ("chain", 20, 0), ("brickwork", 18, None)):
        print(f"[{kind} n={size} ...]", file=sys.stderr, flush=True)
        old_shots = args.old_brickwork_shots if old is None else old
        result = spawn(kind, size, args.repeats, old_shots)
        line = (
            f"{kind:9s} n = {size}: {result['seconds']:.2f} s ({result['path']} path), "
            f"peak {result['peak_mib']:.0f} MiB"
        )
        if "old_seconds_per_snapshot" in result:
            per_old = result["old_seconds_per_snapshot"]
            ratio = per_old / (result["seconds"] / SHOTS)
            line += (
                f"; whole-circuit path {per_old * 1e3:.0f} ms per snapshot ({old_shots} "
                f"snapshots) = {ratio:.0f}x the state path per snapshot"
            )
        print(line)


if __name__ == "__main__":
    main()
