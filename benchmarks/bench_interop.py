"""Estimating from a PennyLane shadow: PennyLane's own expval against copylearn after import.

One (bits, recipes) shadow of T snapshots on n qubits (random bits and recipes: the timing does
not depend on the state) and M Pauli observables of weight 1 and 2. Baseline, in the same
process: ``qml.ClassicalShadow(bits, recipes).expval(observables, k=1)``. Measured:
``copylearn.from_pennylane(bits, recipes)`` (the import) and ``Dataset.estimate(labels)``
(same numbers, checked to 1e-12). Medians of ``--repeats`` runs; ratios baseline / copylearn.

    python benchmarks/bench_interop.py [--shots 20000] [--n 8] [--observables 120]
"""

from __future__ import annotations

import argparse
import itertools

import numpy as np
from bench_entangled import timed

import copylearn as cl


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shots", type=int, default=20_000)
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--observables", type=int, default=120)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    try:
        import pennylane as qml
    except ImportError:
        print("skipped: PennyLane is not importable (nothing is installed by this script)")
        return
    rng = np.random.default_rng(5)
    bits = rng.integers(0, 2, size=(args.shots, args.n), dtype=np.int8)
    recipes = rng.integers(0, 3, size=(args.shots, args.n), dtype=np.int8)
    labels = []
    for weight in (1, 2):
        for support in itertools.combinations(range(args.n), weight):
            for letters in itertools.product("XYZ", repeat=weight):
                label = ["I"] * args.n
                for q, c in zip(support, letters, strict=True):
                    label[q] = c
                labels.append("".join(label))
    labels = labels[: args.observables]
    letter = {"X": qml.PauliX, "Y": qml.PauliY, "Z": qml.PauliZ}
    ops = [qml.prod(*(letter[c](i) for i, c in enumerate(lab) if c != "I")) for lab in labels]

    shadow = qml.ClassicalShadow(bits, recipes)
    base, theirs = timed(lambda: np.asarray(shadow.expval(ops, k=1)), args.repeats)
    load, data = timed(lambda: cl.from_pennylane(bits, recipes), args.repeats)
    ours_s, ours = timed(lambda: data.estimate(labels), args.repeats)
    assert np.allclose(ours.values, theirs, atol=1e-12, rtol=0)
    print(f"T = {args.shots}, n = {args.n}, M = {len(labels)} observables (weight 1-2)")
    print(f"PennyLane ClassicalShadow.expval(k=1): {base:.3f} s (baseline)")
    print(f"copylearn from_pennylane (import):     {load:.3f} s")
    print(f"copylearn Dataset.estimate:            {ours_s:.3f} s")
    print(f"ratio expval / estimate:               {base / ours_s:.1f}x")
    print(f"ratio expval / (import + estimate):    {base / (load + ours_s):.1f}x")


if __name__ == "__main__":
    main()
