"""Forked helper processes that run a share of one sweep point's trials, stage after stage.

:func:`copylearn.complexity.run_point` grows every trial's stream by doubling stages, and each
trial's learner carries running sums from stage to stage. To spread a point over several
cores without moving those sums between processes, the trials are split once into contiguous
*shares* and every process keeps its own share for the whole point: the helpers are forked
after the learners exist (each inherits a copy of them) and, at every stage, judge the
trials of their share and send back only the success table of that share (booleans).

Nothing about the random stream depends on the split: a stage's trial batches, their seeds
and their data are fixed by the point alone (a batch that straddles two shares is sampled by
both processes, identically, and each judges its own trials), so a point gives bit-identical
results for any number of processes.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from copylearn.errors import CopylearnError

__all__ = ["TrialWorkers", "can_fork", "shares"]


def shares(trials: int, processes: int) -> list[range]:
    """Contiguous, nearly equal ranges of ``range(trials)``, one per process (none empty).

    Parameters
    ----------
    trials : int
        Trials of the point (>= 1).
    processes : int
        Processes wanted (>= 1); at most ``trials`` ranges are returned.

    Returns
    -------
    list of range
        ``min(processes, trials)`` ranges covering ``range(trials)`` in order.
    """
    count = max(1, min(int(processes), int(trials)))
    edges = [trials * k // count for k in range(count + 1)]
    return [range(edges[k], edges[k + 1]) for k in range(count)]


def can_fork() -> bool:
    """Whether helpers can be forked here (``fork`` start method; not a daemonic process)."""
    return (
        "fork" in multiprocessing.get_all_start_methods()
        and not multiprocessing.current_process().daemon
    )


def _helper(connection, work: Callable[..., Any], share: range, parent: int) -> None:
    """A helper's loop: run ``work(share, *arguments)`` for every message until ``None``."""
    from copylearn.sweep import _worker_init  # die with the parent, leave Ctrl-C to it

    _worker_init(parent, None)
    try:
        while True:
            arguments = connection.recv()
            if arguments is None:
                return
            try:
                connection.send(("ok", work(share, *arguments)))
            except BaseException as exc:  # the parent re-raises it, with this traceback
                detail = "".join(traceback.format_exception(exc))
                connection.send(("error", f"{exc.__class__.__name__}: {exc}\n{detail}"))
    except (EOFError, OSError):  # the parent is gone
        return
    finally:
        connection.close()


class TrialWorkers:
    """The helpers of one point: ``len(shares) - 1`` forked processes, share 0 stays here.

    Parameters
    ----------
    work : callable
        ``work(share, *arguments)`` runs one stage for the trials of ``share`` and returns a
        picklable result (the share's success table). Called here for share 0 and in helper
        ``k`` for share ``k``; the helpers see the objects ``work`` refers to as they were
        when the helpers were forked.
    shares : sequence of range
        The trials of each process (:func:`shares`).

    Raises
    ------
    CopylearnError
        From :meth:`run`, when a helper died or raised (its traceback in the message).
    """

    def __init__(self, work: Callable[..., Any], shares: Sequence[range]) -> None:
        self.work, self.shares = work, list(shares)
        self._helpers: list[tuple[Any, Any]] = []
        context = multiprocessing.get_context("fork")
        try:
            for share in self.shares[1:]:
                mine, theirs = context.Pipe()
                process = context.Process(
                    target=_helper,
                    args=(theirs, work, share, os.getpid()),
                    name="copylearn-trials",
                    daemon=True,
                )
                process.start()
                theirs.close()
                self._helpers.append((process, mine))
        except BaseException:
            self.close()
            raise

    def run(self, *arguments: Any) -> list[Any]:
        """One stage in every process; the results of the shares, in share order."""
        for _, connection in self._helpers:
            connection.send(arguments)
        results = [self.work(self.shares[0], *arguments)]
        for process, connection in self._helpers:
            try:
                status, value = connection.recv()
            except (EOFError, OSError):
                raise CopylearnError(
                    f"a trial helper process (pid {process.pid}) died (exit code "
                    f"{process.exitcode}); rerun the point, with fewer workers if memory is short."
                ) from None
            if status != "ok":
                raise CopylearnError(f"a trial helper process failed: {value}")
            results.append(value)
        return results

    def close(self) -> None:
        """Stop the helpers (at once) and reap them."""
        for process, connection in self._helpers:
            with contextlib.suppress(OSError, ValueError):
                connection.close()
            with contextlib.suppress(OSError, ValueError, AttributeError):
                process.kill()
        for process, _ in self._helpers:
            with contextlib.suppress(OSError, ValueError, AssertionError):
                process.join(timeout=5.0)
        self._helpers = []

    def __enter__(self) -> TrialWorkers:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
