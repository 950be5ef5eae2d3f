"""Benchmark: bit-sliced Pauli estimators against a straightforward vectorised NumPy baseline.

M random Pauli observables are estimated from N random snapshots (shadow) or Bell outcomes
at n = 12 and n = 40. The baseline keeps one uint8 per qubit and shot and loops over
observables with vectorised NumPy over shots; it runs on the first ``--baseline-obs``
observables and its time is scaled to M (it is linear in M). Both run in this process; the
script prints medians, ratios, agreement, and the peak memory of a 10^8-snapshot estimate
with ``--big``.

Usage: python benchmarks/bench_estimators.py [--repeats 3] [--big]
"""

from __future__ import annotations

import argparse
import platform
import resource
import statistics
import sys
import time

import numpy as np

from copylearn.data import Dataset
from copylearn.pauli import pack_bits, parse_paulis

CODE = {"X": 0, "Y": 1, "Z": 2}


def baseline_shadow_means(labels, bases, bits):
    """Unpacked arrays: bases (N, n) in {0: X, 1: Y, 2: Z}, bits (N, n) in {0, 1}."""
    out = []
    for label in labels:
        value = np.ones(bits.shape[0])
        for i, p in enumerate(label):
            if p != "I":
                value *= 3.0 * (bases[:, i] == CODE[p]) * (1 - 2.0 * bits[:, i])
        out.append(value.mean())
    return np.array(out)


def baseline_bell_means(labels, m_a, m_b):
    out = []
    for label in labels:
        value = np.ones(m_a.shape[0])
        for i, p in enumerate(label):
            if p == "X":
                value *= 1 - 2.0 * m_a[:, i]
            elif p == "Z":
                value *= 1 - 2.0 * m_b[:, i]
            elif p == "Y":
                value *= -(1 - 2.0 * (m_a[:, i] ^ m_b[:, i]))
        out.append(value.mean())
    return np.array(out)


def timed(fn, repeats):
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def random_labels(rng, n, m):
    labels = ["".join(rng.choice(list("IXYZ"), size=n)) for _ in range(m)]
    return [lab if set(lab) != {"I"} else "X" + lab[1:] for lab in labels]


def shadow_dataset(rng, n, shots, labels):
    """Random bases, with every 10th shot copying an observable's bases so matches occur."""
    bases = rng.integers(0, 3, size=(shots, n), dtype=np.uint8)
    for j in range(0, shots, 10):
        label = labels[(j // 10) % len(labels)]
        bases[j] = [CODE.get(p, bases[j, i]) for i, p in enumerate(label)]
    bits = rng.integers(0, 2, size=(shots, n), dtype=np.uint8)
    data = Dataset("pauli-shadow", n, {
        "bits": pack_bits(bits),
        "bases_x": pack_bits((bases <= 1).astype(np.uint8)),
        "bases_z": pack_bits((bases >= 1).astype(np.uint8)),
    })
    return data, bases, bits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--observables", type=int, default=1000)
    parser.add_argument("--baseline-obs", type=int, default=50)
    parser.add_argument("--big", action="store_true", help="also 10^8 snapshots at n = 12")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"machine: {platform.machine()}, CPython {platform.python_version()}, "
          f"numpy {np.__version__}; medians of {args.repeats} runs; M = {args.observables}")
    print(f"{'case':<24} {'copylearn s':>12} {'baseline s':>11} {'speed-up':>9}  agree")
    for n in (12, 40):
        labels = random_labels(rng, n, args.observables)
        paulis = parse_paulis(labels, n)
        sub = labels[: args.baseline_obs]
        scale = len(labels) / len(sub)
        for shots in (10_000, 1_000_000):
            print(f"[running shadow n={n} N={shots:.0e} ...]", file=sys.stderr, flush=True)
            shadow, bases, bits = shadow_dataset(rng, n, shots, labels)
            t_ours, ours = timed(lambda d=shadow, p=paulis: d.estimate(p).values, args.repeats)
            t_base, base = timed(lambda s=sub, b=bases, e=bits: baseline_shadow_means(s, b, e),
                                 args.repeats)
            # Single snapshot values reach 3^|Q| (~1e19 at n = 40): compare on that scale.
            magnitude = 3.0 ** paulis.weight[: len(sub)] / shots
            agree = bool(np.all(np.abs(ours[: len(sub)] - base) <= 1e-9 * magnitude + 1e-12))
            print(f"{f'shadow n={n} N={shots:.0e}':<24} {t_ours:>12.3f} {t_base * scale:>11.2f} "
                  f"{t_base * scale / t_ours:>8.0f}x  {agree}")
            m_a = rng.integers(0, 2, size=(shots, n), dtype=np.uint8)
            m_b = rng.integers(0, 2, size=(shots, n), dtype=np.uint8)
            bell = Dataset("bell", n, {"m_a": pack_bits(m_a), "m_b": pack_bits(m_b)})
            t_ours, ours = timed(lambda d=bell, p=paulis: d.estimate_square(p).values, args.repeats)
            t_base, base = timed(lambda s=sub, a=m_a, b=m_b: baseline_bell_means(s, a, b),
                                 args.repeats)
            agree = np.allclose(ours[: len(sub)], base)
            print(f"{f'bell   n={n} N={shots:.0e}':<24} {t_ours:>12.3f} {t_base * scale:>11.2f} "
                  f"{t_base * scale / t_ours:>8.0f}x  {agree}")
    if args.big:
        n, shots = 12, 100_000_000
        labels = random_labels(rng, n, args.observables)
        words = {k: rng.integers(0, 2**n, size=(shots, 1), dtype=np.uint64)
                 for k in ("bits", "bases_x", "bases_z")}
        data = Dataset("pauli-shadow", n, words)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        start = time.perf_counter()
        data.estimate(labels)
        elapsed = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"\n10^8 snapshots, n = 12, M = {len(labels)}: {elapsed:.1f} s; data "
              f"{sum(w.nbytes for w in words.values()) / 2**20:.0f} MiB; peak RSS {before:.0f} -> "
              f"{after:.0f} MiB during estimation (chunked)")


if __name__ == "__main__":
    main()
