"""Recompute one row of a committed sweep store, as the sweep that wrote it did.

The tests that check a committed figure is reproducible (test_registry, test_purity_noise,
test_cliffsweep) share this: a one-point config built from the row's spec, the store's
sweep seed, and the random-stream version the row records (none: stream 1, the stream of
every store made before stream versions existed, docs/theory.md §15).
"""

from __future__ import annotations

import json
from pathlib import Path

from copylearn.sweep import parse_config, protocol_defaults, run_sweep


def one_point_config(row: dict, seed: int) -> str:
    """The TOML text of a sweep whose only point is ``row``'s, with sweep seed ``seed``."""
    spec = row["spec"]
    options = protocol_defaults(spec["strategy"])  # a protocol's own keys: its section
    grid = "".join(
        f"{key} = {json.dumps(value)}\n"
        for key, value in spec.items()
        if key not in ("task", "strategy") and key not in options
    )
    own = "".join(f"{key} = {json.dumps(spec[key])}\n" for key in options if key in spec)
    section = f'[strategy.{spec["strategy"]}]\n{own}' if own else ""
    return (
        f'[sweep]\ntask = "{spec["task"]}"\nseed = {seed}\n'
        f'strategies = ["{spec["strategy"]}"]\nstream = {row.get("stream", 1)}\n'
        f"[grid]\n{grid}{section}"
    )


def recompute_row(row: dict, seed: int, out: Path) -> dict:
    """Run ``row``'s point again (one process, no workers) into the new store ``out``."""
    (computed,) = run_sweep(
        parse_config(one_point_config(row, seed)), out, workers=0, progress=False
    )
    return computed
