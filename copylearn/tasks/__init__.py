"""Learning tasks: an instance sampler, the quantity predicted, and a success rule fixed
before any data is seen. One module per task."""

from __future__ import annotations

from types import ModuleType

from copylearn.errors import CopylearnError

TASK_NAMES = ("pauli-prediction",)


def get_task(name: str) -> ModuleType:
    """The task module for ``name``."""
    if name == "pauli-prediction":
        from copylearn.tasks import pauli_prediction

        return pauli_prediction
    raise CopylearnError(f"unknown task {name!r}: use one of {', '.join(TASK_NAMES)}.")
