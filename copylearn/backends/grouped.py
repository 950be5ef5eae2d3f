"""Shared execution path: group shots by parameter setting, one simulator call per group."""

from __future__ import annotations

from collections.abc import Sequence

import cirq
import numpy as np


def run_grouped(
    simulator: cirq.Sampler,
    circuit: cirq.Circuit,
    parameter_names: Sequence[str],
    values: np.ndarray,
    rng: np.random.Generator,
) -> tuple[dict[str, np.ndarray], int]:
    """Execute ``circuit`` once per distinct row of ``values``, with one repetition per shot.

    A simulator may return a group's repetitions in sorted order (qsim does), so each
    group's outcomes are assigned to its shots in a random order drawn from ``rng``: shots
    stay exchangeable and any contiguous batch of shots is an i.i.d. sample.

    Parameters
    ----------
    simulator : cirq.Sampler
        A seeded Cirq or qsim simulator. Groups run in a fixed order (sorted settings), so a
        seeded simulator gives bit-identical results.
    circuit : cirq.Circuit
        Parameterised circuit with measurements.
    parameter_names : sequence of str
        Symbol names, one per column of ``values``.
    values : np.ndarray
        ``(shots, k)`` parameter values.
    rng : np.random.Generator
        Shuffles each group's outcomes over its shots.

    Returns
    -------
    (dict, int)
        Measurement key to ``(shots, bits)`` uint8 array, rows in shot order; and the number
        of distinct settings executed.
    """
    shots = values.shape[0]
    if values.shape[1] == 0:
        settings = np.zeros((1, 0))
        inverse = np.zeros(shots, dtype=np.int64)
    else:
        settings, inverse = np.unique(values, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
    order = np.argsort(inverse, kind="stable")
    counts = np.bincount(inverse, minlength=len(settings))
    out: dict[str, np.ndarray] = {}
    start = 0
    for setting, count in zip(settings, counts, strict=True):
        resolver = cirq.ParamResolver(
            {name: float(v) for name, v in zip(parameter_names, setting, strict=True)}
        )
        result = simulator.run(circuit, param_resolver=resolver, repetitions=int(count))
        rows = order[start : start + count][rng.permutation(int(count))]
        for key, bits in result.measurements.items():
            if key not in out:
                out[key] = np.empty((shots, bits.shape[1]), dtype=np.uint8)
            out[key][rows] = bits
        start += count
    return out, len(settings)
