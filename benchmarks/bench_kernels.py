"""Benchmark: the state path's reduced states and collapse, compiled against NumPy.

Since the two implementations do the same IEEE operations in the same order (docs/theory.md
§12.2), the NumPy fallback of the reduced states sums left to right (``numpy.cumsum``) where it
used a BLAS matrix product, and forms ``a x + b y`` in float32 real arithmetic. This script
times, in one process, on the same complex64 branch arrays:

* ``compiled``: the numba kernels (``copylearn.compiled.load(COLLAPSE)``);
* ``numpy``: the fallback (``COPYLEARN_NO_NUMBA=1``);
* ``previous numpy``: the fallback before the change (complex128 ``matmul`` per slice; complex64
  ``a * x + b * y``), the baseline of the ratios;

and checks that ``compiled`` and ``numpy`` give the same bytes. Medians of ``--repeats`` runs.
Then one end-to-end ``collect`` (pauli-shadow on an entangled 18-qubit state, state path) with
numba, with the NumPy fallback (which must give identical data) and with the previous fallback.

Usage: python benchmarks/bench_kernels.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

import copylearn as cl
from copylearn import compiled
from copylearn.backends import state_sampling

sys.path.insert(0, os.path.dirname(__file__))
from bench_entangled import rotations_then_chain, timed


def previous_reduced(view: np.ndarray) -> np.ndarray:
    """The NumPy fallback of the reduced states before the change (BLAS order)."""
    n_branches, _, rest = view.shape
    step = max(1, (1 << 20) // max(1, n_branches))
    reduced = np.zeros((n_branches, 2, 2), dtype=np.complex128)
    for start in range(0, rest, step):
        part = view[:, :, start : start + step].astype(np.complex128)
        reduced += np.matmul(part, part.conj().transpose(0, 2, 1))
    return reduced


def previous_expand(view, source, rows, probability):
    """The NumPy fallback of the collapse before the change (complex64 products)."""
    coeff = (rows / np.sqrt(probability)[:, None]).astype(np.complex64)
    if len(source) <= 4:
        pairs = zip(coeff, source, strict=True)
        return np.stack([c[0] * view[s, 0] + c[1] * view[s, 1] for c, s in pairs])
    result = coeff[:, :1] * view[source, 0]
    result += coeff[:, 1:] * view[source, 1]
    return result


def switch(numba_on: bool) -> None:
    if numba_on:
        os.environ.pop(compiled.ENV_NO_NUMBA, None)
    else:
        os.environ[compiled.ENV_NO_NUMBA] = "1"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if compiled.load(compiled.COLLAPSE) is None:
        sys.exit("numba is not installed: nothing to compare")
    rng = np.random.default_rng(0)
    print(f"numpy {np.__version__}; medians of {args.repeats}; ratios: previous numpy / x")
    print(
        f"{'kernel':<9} {'branches x 2 x R':<18} {'compiled':>9} {'numpy':>9} {'prev':>9} "
        f"{'prev/compiled':>14} {'prev/numpy':>11} same bytes"
    )
    for shape in [(1, 2, 1 << 21), (64, 2, 1 << 14), (1 << 14, 2, 64)]:
        view = (rng.normal(size=shape) + 1j * rng.normal(size=shape)).astype(np.complex64)
        k = min(2 * shape[0], 64)
        source = rng.integers(0, shape[0], size=k)
        rows = rng.normal(size=(k, 2)) + 1j * rng.normal(size=(k, 2))
        probability = rng.uniform(0.1, 1.0, size=k)
        args4 = (view, source, rows, probability)
        cases = {
            "reduced": (
                lambda v=view: state_sampling._reduced(v),
                lambda v=view: previous_reduced(v),
            ),
            "collapse": (
                lambda a=args4: state_sampling._expand(*a),
                lambda a=args4: previous_expand(*a),
            ),
        }
        for name, (new, old) in cases.items():
            switch(True)
            new()  # compiled (or loaded from cache) already; warm the caches
            t_fast, fast = timed(new, args.repeats)
            switch(False)
            t_numpy, slow = timed(new, args.repeats)
            t_prev, _ = timed(old, args.repeats)
            same = fast.tobytes() == slow.tobytes()
            label = "x".join(str(s) for s in shape)
            print(
                f"{name:<9} {label:<18} {t_fast:>8.4f}s {t_numpy:>8.4f}s {t_prev:>8.4f}s "
                f"{t_prev / t_fast:>13.1f}x {t_prev / t_numpy:>10.2f}x {same}"
            )
    state = cl.CircuitState(rotations_then_chain(18, seed=1))
    runs = {}
    for name in ("numba", "numpy", "previous numpy"):
        switch(name == "numba")
        if name == "previous numpy":
            state_sampling._reduced, state_sampling._expand = previous_reduced, previous_expand
        runs[name] = timed(
            lambda: cl.collect(state, protocol="pauli-shadow", copies=20000, seed=3),
            args.repeats,
        )
    (t_fast, fast), (t_numpy, slow) = runs["numba"], runs["numpy"]
    t_prev = runs["previous numpy"][0]
    same = all(np.array_equal(fast.arrays[k], slow.arrays[k]) for k in fast.arrays)
    print(
        f"collect pauli-shadow, 18-qubit entangled state, 20000 copies "
        f"({fast.metadata['execution']['path']} path): numba {t_fast:.2f}s, NumPy "
        f"{t_numpy:.2f}s, previous NumPy {t_prev:.2f}s; previous/numba {t_prev / t_fast:.2f}x, "
        f"previous/NumPy {t_prev / t_numpy:.2f}x; numba and NumPy data identical: {same}"
    )


if __name__ == "__main__":
    main()
