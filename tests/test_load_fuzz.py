"""Issue 9 item 12: every failure to load a damaged dataset is one CopylearnError line.

Seeded single-byte corruptions, bursts and truncations of a small saved dataset: ``load``
must either return exactly the saved content or raise CopylearnError (never zlib.error,
NotImplementedError, AttributeError, ...).
"""

from __future__ import annotations

import collections

import numpy as np
import pytest

import copylearn as cl
from copylearn.errors import CopylearnError

CORRUPTIONS = 600
BURSTS = 100


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    state = cl.PauliMixedState("XY", alpha=0.9)
    data = cl.collect(state, protocol="pauli-shadow", copies=64, seed=4)
    path = data.save(tmp_path_factory.mktemp("fuzz") / "small.npz")
    return data, path.read_bytes()


def outcome(data: cl.Dataset, blob: bytes, path) -> str:
    """``"same"`` if ``blob`` loads to ``data``'s content, ``"refused"`` on CopylearnError."""
    path.write_bytes(blob)
    try:
        loaded = cl.load(path)
    except CopylearnError as exc:
        message = str(exc)
        assert "\n" not in message and message
        return "refused"
    assert loaded.protocol == data.protocol and loaded.n == data.n
    assert loaded.metadata == data.metadata
    assert loaded.arrays.keys() == data.arrays.keys()
    for key, array in data.arrays.items():
        assert np.array_equal(loaded.arrays[key], array)
    return "same"


def test_single_byte_corruptions(saved, tmp_path):
    data, blob = saved
    rng = np.random.default_rng(12)
    counts = collections.Counter()
    for _ in range(CORRUPTIONS):
        damaged = bytearray(blob)
        position = int(rng.integers(len(blob)))
        damaged[position] = (damaged[position] + int(rng.integers(1, 256))) % 256
        counts[outcome(data, bytes(damaged), tmp_path / "damaged.npz")] += 1
    assert counts["refused"] > CORRUPTIONS // 2, counts


def test_bursts_and_truncations(saved, tmp_path):
    data, blob = saved
    rng = np.random.default_rng(13)
    counts = collections.Counter()
    for _ in range(BURSTS):
        damaged = bytearray(blob)
        start = int(rng.integers(len(blob)))
        length = int(rng.integers(2, 64))
        damaged[start : start + length] = rng.integers(
            0, 256, len(damaged[start : start + length]), dtype=np.uint8
        ).tobytes()
        counts[outcome(data, bytes(damaged), tmp_path / "burst.npz")] += 1
    for end in range(0, len(blob), max(1, len(blob) // 150)):
        assert outcome(data, blob[:end], tmp_path / "truncated.npz") == "refused"
    assert outcome(data, blob + b"\0" * 7, tmp_path / "padded.npz") in ("same", "refused")
    assert counts["refused"] > BURSTS // 2, counts
