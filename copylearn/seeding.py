"""Seed streams keyed by identity, so results never depend on the order streams are used."""

from __future__ import annotations

import numpy as np


def substream(seed: np.random.SeedSequence, *key: int) -> np.random.SeedSequence:
    """The child of ``seed`` named by ``key`` (the same key always gives the same stream)."""
    return np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, *key))


def integer_seed(seed: np.random.SeedSequence) -> int:
    """A 32-bit integer seed for simulators that take no ``numpy.random.Generator`` (qsim)."""
    return int(seed.generate_state(1)[0])
