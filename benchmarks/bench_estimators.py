"""Benchmark: copylearn's Pauli estimators against a bit-packed NumPy baseline (and PennyLane).

M random Pauli observables are estimated from N random snapshots (shadow: tr(Q rho)) or Bell
outcomes (tr(Q rho)^2) at n = 12 and n = 40; everything runs in this process and every time
is the median of ``--repeats`` runs. Times are the CPU time of this process
(``time.process_time``): every compared path is single-threaded, and on a shared, loaded
machine the wall time of a millisecond call mostly measures the other jobs. The first-call
figures (``--first-call``) are wall times.

Columns:

* ``copylearn s``: ``Dataset.estimate`` / ``Dataset.estimate_square`` given parsed ``Paulis``
  (the compiled kernel when numba is importable, see ``numba`` in the header line).
* ``numpy-path s``: the same call with ``COPYLEARN_NO_NUMBA=1`` (copylearn's NumPy fallback).
* ``packed s``: the bit-packed NumPy baseline below; ``speed-up`` = packed / copylearn.
* ``labels/P``: the same estimate given the labels (strings) instead of ``Paulis``, divided
  by the time given ``Paulis``; ``labels cold/P`` with the parsed-label cache emptied before
  every call (the first call on a new query set).
* ``pennylane s``: ``qml.ClassicalShadow(bits, recipes).expval`` over the same M observables
  (shadow rows at N = 10^4 only, in batches of 100 observables to bound its memory); the
  column says ``-`` when PennyLane is not importable (a line says so).
* ``agree``: copylearn's estimates equal the baseline's (and PennyLane's) to 1e-12 relative
  (on the scale of one snapshot's value 3^|Q| / N for shadows).

The packed baseline is the straightforward competent NumPy implementation: bases and bits
are packed 64 qubits per uint64 word (``(N, W)`` arrays, as copylearn stores them), each
observable as its symplectic words (x, z) and support mask. Shot chunks of ``CHUNK`` rows
times observable chunks of ``OBS_CHUNK`` are processed as 2-D ``(shots, observables)``
arrays, word by word: a snapshot matches Q when ``((b_x ^ q_x) | (b_z ^ q_z)) & support`` is
zero, its parity is ``np.bitwise_count(bits & support) & 1`` (Bell: the parity of
``(m_A & q_x) ^ (m_B & q_z)``), and matches and odd parities are summed over shots as
integers, then turned into the same sums as copylearn's. The chunk sizes were picked as the
fastest of a few tried on the development machine.

``--loop-baseline`` adds the older per-qubit unpacked loop baseline (slow at N = 10^6).
``--first-call`` measures, in fresh processes, the first estimate with numba's cache emptied
(compile), with the cache warm, and on the NumPy path. ``--big`` adds the peak memory of a
10^8-snapshot estimate.

Usage: python benchmarks/bench_estimators.py [--repeats 3] [--shots 10000,1000000]
       [--first-call] [--loop-baseline] [--big]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

from copylearn.data import Dataset
from copylearn.estimator_kernels import ENV_NO_NUMBA, numba_available
from copylearn.pauli import _parse_label_set, pack_bits, parse_paulis

CODE = {"X": 0, "Y": 1, "Z": 2}
CHUNK = 512  # shots per baseline chunk
OBS_CHUNK = 64  # observables per baseline chunk
PENNYLANE_BATCH = 100


# ----- the bit-packed NumPy baseline ---------------------------------------------------------
def packed_shadow_means(paulis, bases_x, bases_z, bits):
    """Shadow means of tr(Q rho) from packed ``(N, W)`` uint64 data; see the module doc."""
    shots, words = bits.shape
    support = paulis.x | paulis.z
    hits = np.zeros(len(paulis), dtype=np.int64)
    odd = np.zeros(len(paulis), dtype=np.int64)
    for o in range(0, len(paulis), OBS_CHUNK):
        qx, qz, qs = (a[o : o + OBS_CHUNK] for a in (paulis.x, paulis.z, support))
        for s in range(0, shots, CHUNK):
            bx, bz, e = (a[s : s + CHUNK] for a in (bases_x, bases_z, bits))
            mismatch = np.zeros((bx.shape[0], qx.shape[0]), dtype=np.uint64)
            ones = np.zeros((bx.shape[0], qx.shape[0]), dtype=np.uint8)
            for w in range(words):
                diff = (bx[:, w, None] ^ qx[None, :, w]) | (bz[:, w, None] ^ qz[None, :, w])
                mismatch |= diff & qs[None, :, w]
                ones += np.bitwise_count(e[:, w, None] & qs[None, :, w])
            matched = mismatch == 0
            hits[o : o + OBS_CHUNK] += np.count_nonzero(matched, axis=0)
            odd[o : o + OBS_CHUNK] += np.count_nonzero(matched & (ones & 1).view(bool), axis=0)
    weight = np.bitwise_count(support).sum(axis=1)
    return paulis.sign * np.power(3.0, weight) * (hits - 2 * odd) / shots


def packed_bell_means(paulis, m_a, m_b):
    """Bell means of f_Q (tr(Q rho)^2) from packed ``(N, W)`` uint64 outcomes."""
    shots, words = m_a.shape
    odd = np.zeros(len(paulis), dtype=np.int64)
    for o in range(0, len(paulis), OBS_CHUNK):
        qx, qz = paulis.x[o : o + OBS_CHUNK], paulis.z[o : o + OBS_CHUNK]
        for s in range(0, shots, CHUNK):
            a, b = m_a[s : s + CHUNK], m_b[s : s + CHUNK]
            ones = np.zeros((a.shape[0], qx.shape[0]), dtype=np.uint8)
            for w in range(words):
                ones += np.bitwise_count(
                    (a[:, w, None] & qx[None, :, w]) ^ (b[:, w, None] & qz[None, :, w])
                )
            odd[o : o + OBS_CHUNK] += np.count_nonzero((ones & 1).view(bool), axis=0)
    n_y = np.bitwise_count(paulis.x & paulis.z).sum(axis=1, dtype=np.int64)
    y_sign = 1 - 2 * (n_y & 1)
    return y_sign * (shots - 2.0 * odd) / shots


# ----- the older unpacked loop baseline (--loop-baseline) ------------------------------------
def loop_shadow_means(labels, bases, bits):
    """Unpacked arrays: bases (N, n) in {0: X, 1: Y, 2: Z}, bits (N, n) in {0, 1}."""
    out = []
    for label in labels:
        value = np.ones(bits.shape[0])
        for i, p in enumerate(label):
            if p != "I":
                value *= 3.0 * (bases[:, i] == CODE[p]) * (1 - 2.0 * bits[:, i])
        out.append(value.mean())
    return np.array(out)


def loop_bell_means(labels, m_a, m_b):
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


# ----- PennyLane -----------------------------------------------------------------------------
def pennylane_means(qml, labels, bases, bits):
    """``ClassicalShadow.expval`` of every label, ``PENNYLANE_BATCH`` observables per call."""
    ops = {"X": qml.PauliX, "Y": qml.PauliY, "Z": qml.PauliZ}
    observables = [
        qml.prod(*[ops[p](i) for i, p in enumerate(label) if p != "I"]) for label in labels
    ]
    shadow = qml.ClassicalShadow(bits.astype(np.int64), bases.astype(np.int64))
    return np.concatenate(
        [
            np.atleast_1d(shadow.expval(observables[k : k + PENNYLANE_BATCH]))
            for k in range(0, len(observables), PENNYLANE_BATCH)
        ]
    )


# ----- helpers -------------------------------------------------------------------------------
def timed(fn, repeats, before=None):
    times, result = [], None
    for _ in range(repeats):
        if before is not None:
            before()
        start = time.process_time()
        result = fn()
        times.append(time.process_time() - start)
    return statistics.median(times), result


def interleaved(calls, repeats):
    """Median time and last result of each ``(fn, before)``, the calls taken in turn."""
    times = [[] for _ in calls]
    results = [None] * len(calls)
    for _ in range(repeats):
        for k, (fn, before) in enumerate(calls):
            if before is not None:
                before()
            start = time.process_time()
            results[k] = fn()
            times[k].append(time.process_time() - start)
    return [(statistics.median(t), r) for t, r in zip(times, results, strict=True)]


@contextlib.contextmanager
def numpy_path():
    old = os.environ.get(ENV_NO_NUMBA)
    os.environ[ENV_NO_NUMBA] = "1"
    try:
        yield
    finally:
        if old is None:
            del os.environ[ENV_NO_NUMBA]
        else:
            os.environ[ENV_NO_NUMBA] = old


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
    data = Dataset(
        "pauli-shadow",
        n,
        {
            "bits": pack_bits(bits),
            "bases_x": pack_bits((bases <= 1).astype(np.uint8)),
            "bases_z": pack_bits((bases >= 1).astype(np.uint8)),
        },
    )
    return data, bases, bits


def agree(ours, theirs, scale):
    return bool(np.all(np.abs(ours - theirs) <= 1e-12 * scale))


FIRST_CALL = """
import time, numpy as np
from copylearn.data import Dataset
from copylearn.estimator_kernels import kernels
from copylearn.pauli import pack_bits
rng = np.random.default_rng(0)
words = {k: pack_bits(rng.integers(0, 2, size=(10_000, 12), dtype=np.uint8))
         for k in ("bits", "bases_x", "bases_z")}
labels = ["".join(rng.choice(list("IXYZ"), size=12)) for _ in range(1000)]
data = Dataset("pauli-shadow", 12, words)
t0 = time.perf_counter()
data.estimate(labels)
t1 = time.perf_counter()
kernels()
t2 = time.perf_counter()
data.estimate(labels)
t3 = time.perf_counter()
print(f"{t1 - t0:.3f} {t2 - t1:.3f} {t3 - t2:.4f}")
"""


def first_call() -> None:
    """Fresh processes: a first (small) estimate, then loading numba, then an estimate."""
    with tempfile.TemporaryDirectory() as cache:
        rows = []
        for what, extra in (
            ("numba cache empty", {"NUMBA_CACHE_DIR": cache}),
            ("numba cache warm", {"NUMBA_CACHE_DIR": cache}),
            ("COPYLEARN_NO_NUMBA=1", {ENV_NO_NUMBA: "1"}),
        ):
            env = {**os.environ, **extra}
            out = subprocess.run(
                [sys.executable, "-c", FIRST_CALL], env=env, capture_output=True, text=True
            )
            if out.returncode != 0:
                raise SystemExit(out.stderr)
            rows.append((what, *out.stdout.split()))
    print(
        "\nfresh processes (shadow n=12, N=10^4, M=1000, from labels): first estimate "
        "(NumPy: below LOAD_AFTER_WORK), loading numba (compiling when the cache is empty), "
        "then an estimate:"
    )
    for what, first, load, after in rows:
        print(f"  {what:<22} first {first} s, load {load} s, then {after} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--observables", type=int, default=1000)
    parser.add_argument("--shots", default="10000,1000000", help="comma-separated N values")
    parser.add_argument("--loop-baseline", action="store_true")
    parser.add_argument("--loop-obs", type=int, default=50, help="loop baseline: scaled to M")
    parser.add_argument("--first-call", action="store_true")
    parser.add_argument("--big", action="store_true", help="also 10^8 snapshots at n = 12")
    args = parser.parse_args()
    shot_counts = [int(s) for s in args.shots.split(",")]
    try:
        import pennylane as qml
    except ImportError:
        qml = None
    rng = np.random.default_rng(0)
    print(
        f"machine: {platform.machine()}, CPython {platform.python_version()}, "
        f"numpy {np.__version__}, numba in use: {numba_available()}; "
        f"medians of {args.repeats} runs; M = {args.observables}"
    )
    if qml is None:
        print("PennyLane is not importable: its column is skipped ('-').")
    else:
        print(f"PennyLane {qml.__version__}: ClassicalShadow.expval on the shadow rows, N = 10^4")
    head = (
        f"{'case':<22} {'copylearn s':>11} {'numpy-path s':>12} {'packed s':>9} {'speed-up':>8} "
        f"{'labels/P':>8} {'cold/P':>7} {'pennylane s':>11}  agree"
    )
    if args.loop_baseline:
        head += f"  {'loop s':>8}"
    print(head)
    for n in (12, 40):
        labels = random_labels(rng, n, args.observables)
        paulis = parse_paulis(labels, n)
        for shots in shot_counts:
            for kind in ("shadow", "bell"):
                case = f"{kind} n={n} N={shots:.0e}"
                print(f"[running {case} ...]", file=sys.stderr, flush=True)
                if kind == "shadow":
                    data, bases, bits = shadow_dataset(rng, n, shots, labels)
                    method = data.estimate
                    a = data.arrays
                    packed = lambda a=a, p=paulis: packed_shadow_means(  # noqa: E731
                        p, a["bases_x"], a["bases_z"], a["bits"]
                    )
                    scale = 3.0**paulis.weight / shots
                else:
                    m_a = rng.integers(0, 2, size=(shots, n), dtype=np.uint8)
                    m_b = rng.integers(0, 2, size=(shots, n), dtype=np.uint8)
                    data = Dataset("bell", n, {"m_a": pack_bits(m_a), "m_b": pack_bits(m_b)})
                    method = data.estimate_square
                    a = data.arrays
                    packed = lambda a=a, p=paulis: packed_bell_means(p, a["m_a"], a["m_b"])  # noqa: E731
                    scale = np.ones(len(paulis))
                # Paulis, labels (cached) and labels (cache emptied) interleaved, so that load
                # on the machine hits the three alike; the ratios are of the medians.
                (t_ours, ours), (t_labels, from_labels), (t_cold, _) = interleaved(
                    [
                        (lambda m=method, p=paulis: m(p).values, None),
                        (lambda m=method, q=labels: m(q).values, None),
                        (lambda m=method, q=labels: m(q).values, _parse_label_set.cache_clear),
                    ],
                    args.repeats,
                )
                with numpy_path():
                    t_np, ours_np = timed(lambda m=method, p=paulis: m(p).values, args.repeats)
                t_packed, base = timed(packed, args.repeats)
                ok = (
                    np.array_equal(ours, ours_np)
                    and np.array_equal(ours, from_labels)
                    and agree(ours, base, scale)
                )
                t_pl = "-"
                if qml is not None and kind == "shadow" and shots <= 10_000:
                    t, pl = timed(
                        lambda b=bases, e=bits, q=labels: pennylane_means(qml, q, b, e),
                        args.repeats,
                    )
                    t_pl = f"{t:.2f} ({t / t_ours:.0f}x)"
                    ok = ok and agree(ours, pl, scale)
                line = (
                    f"{case:<22} {t_ours:>11.4f} {t_np:>12.4f} {t_packed:>9.3f} "
                    f"{t_packed / t_ours:>7.1f}x {t_labels / t_ours:>8.2f} "
                    f"{t_cold / t_ours:>7.2f} {t_pl:>11}  {ok}"
                )
                if args.loop_baseline:
                    sub = labels[: args.loop_obs]
                    if kind == "shadow":
                        t_loop, _ = timed(
                            lambda s=sub, b=bases, e=bits: loop_shadow_means(s, b, e), 1
                        )
                    else:
                        t_loop, _ = timed(lambda s=sub, a=m_a, b=m_b: loop_bell_means(s, a, b), 1)
                    line += f"  {t_loop * len(labels) / len(sub):>8.2f}"
                print(line, flush=True)
    if args.first_call:
        first_call()
    if args.big:
        n, shots = 12, 100_000_000
        labels = random_labels(rng, n, args.observables)
        words = {
            k: rng.integers(0, 2**n, size=(shots, 1), dtype=np.uint64)
            for k in ("bits", "bases_x", "bases_z")
        }
        data = Dataset("pauli-shadow", n, words)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        start = time.perf_counter()
        data.estimate(labels)
        elapsed = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"\n10^8 snapshots, n = 12, M = {len(labels)}: {elapsed:.1f} s; data "
            f"{sum(w.nbytes for w in words.values()) / 2**20:.0f} MiB; peak RSS {before:.0f} -> "
            f"{after:.0f} MiB during estimation (chunked)"
        )


if __name__ == "__main__":
    main()
