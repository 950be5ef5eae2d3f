""" "Still running" lines on stderr while a long command works (issue 9: progress a person can
trust off a terminal too).

This module imports only the standard library, so the command line can use it before
importing the simulators.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import TextIO

#: Seconds before a long command's first "still running" line on stderr, and between lines.
HEARTBEAT_FIRST, HEARTBEAT_EVERY = 5.0, 10.0


def heartbeat_lines(
    label: str,
    stream: TextIO,
    stop: Callable[[float], bool],
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Write "copylearn: LABEL: still running, H:MM:SS elapsed" lines until ``stop`` is set.

    ``stop(timeout)`` waits up to ``timeout`` seconds and returns True once the work is done
    (``threading.Event.wait``); the first line comes after :data:`HEARTBEAT_FIRST` s, the
    next ones every :data:`HEARTBEAT_EVERY` s. A closed or broken stream ends the lines.
    """
    start, timeout = clock(), HEARTBEAT_FIRST
    while not stop(timeout):
        seconds = round(clock() - start)
        elapsed = f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
        try:
            stream.write(f"copylearn: {label}: still running, {elapsed} elapsed\n")
            stream.flush()
        except (OSError, ValueError):  # a closed or broken stderr: stay silent
            return
        timeout = HEARTBEAT_EVERY


@contextlib.contextmanager
def still_running(label: str, stream: TextIO | None = None) -> Iterator[None]:
    """Write :func:`heartbeat_lines` to ``stream`` (default: stderr) while the block runs.

    Start it only once the inputs are checked, so that a refused input prints its one error
    line and nothing else.
    """
    done = threading.Event()
    beat = threading.Thread(
        target=heartbeat_lines,
        args=(label, stream if stream is not None else sys.stderr, done.wait),
        daemon=True,
    )
    beat.start()
    try:
        yield
    finally:
        done.set()
        beat.join()
