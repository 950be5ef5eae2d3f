"""Destination checks: refuse an output path before any work is done, with one clear line.

A dataset or figure written after minutes of simulation must not fail at the last step because
its destination is a directory, lies under a file, or sits on a read-only file system. These
helpers check a destination up front (probing the directory with a real temporary file, which
also catches read-only media and holds for the root user) and raise
:class:`~copylearn.errors.CopylearnError` with what is wrong and how to fix it.

This module imports only the standard library, so the command line can call it before
importing the simulators.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from copylearn.errors import CopylearnError

__all__ = ["check_output_dir", "check_output_file"]


def _as_path(path: object, what: str) -> Path:
    if isinstance(path, bytes) or not isinstance(path, str | os.PathLike):
        raise CopylearnError(
            f"{what} {path!r} is not a path: give a file name as a string or pathlib.Path."
        )
    text = os.fspath(path)
    if not str(text).strip():
        raise CopylearnError(f"{what} is empty: give a file name such as run.npz.")
    if "\0" in str(text):
        raise CopylearnError(f"{what} {text!r} contains a NUL character: give a valid file name.")
    return Path(text)


def _check_parent(target: Path, what: str) -> None:
    """The nearest existing ancestor of ``target`` must be a writable directory."""
    ancestor = target.parent
    while not ancestor.exists():
        if ancestor.is_symlink():
            raise CopylearnError(
                f"{what} {str(target)!r} is under {str(ancestor)!r}, a broken symbolic link: "
                "fix the link or choose another path."
            )
        if ancestor == ancestor.parent:
            break
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise CopylearnError(
            f"{what} {str(target)!r} is under {str(ancestor)!r}, which is a file, not a "
            "directory: choose a path inside a directory."
        )
    try:  # a real probe: os.access is wrong for root and for read-only file systems
        fd, probe = tempfile.mkstemp(dir=ancestor, prefix=".copylearn-probe-")
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        raise CopylearnError(
            f"{what} {str(target)!r}: cannot write in {str(ancestor)!r} ({reason}): "
            "choose a writable directory."
        ) from None
    os.close(fd)
    os.unlink(probe)


def check_output_file(
    path: str | os.PathLike,
    *,
    suffix: str = ".npz",
    force: bool = False,
    what: str = "--out",
    replace_hint: str = "pass --force",
) -> Path:
    """Check that a result file can be written at ``path`` before any work is done.

    Parameters
    ----------
    path : str or path-like
        The destination file. It must end in ``suffix`` (no suffix is appended silently).
    suffix : str
        The required file suffix, e.g. ``".npz"``.
    force : bool
        Whether an existing regular file may be replaced.
    what : str
        How the message names the destination, e.g. ``"--out"``.
    replace_hint : str
        How the message says to allow replacing, e.g. ``"pass --force"``.

    Returns
    -------
    pathlib.Path
        ``path`` as a path.

    Raises
    ------
    CopylearnError
        The path is empty or not a path, lacks ``suffix``, is a directory, exists (without
        ``force``) or is not a regular file, lies under a file, or its directory is not
        writable (read-only media, permissions).
    """
    target = _as_path(path, what)
    if target.is_dir():
        raise CopylearnError(
            f"{what} {str(target)!r} is a directory: give a file inside it, "
            f"e.g. {str(target / ('run' + suffix))!r}."
        )
    if target.suffix != suffix:
        raise CopylearnError(
            f"{what} {str(target)!r} does not end in {suffix}: name the file "
            f"{str(target.with_name(target.name + suffix))!r} (nothing is appended for you)."
        )
    if target.exists() or target.is_symlink():
        if not force:
            raise CopylearnError(
                f"{what} {str(target)!r} exists: choose another path or {replace_hint} to "
                "replace it."
            )
        if not target.is_file():
            raise CopylearnError(
                f"{what} {str(target)!r} exists and is not a regular file: choose another path."
            )
    _check_parent(target, what)
    return target


def check_output_dir(path: str | os.PathLike, *, what: str = "--out") -> Path:
    """Check that ``path`` is, or can be created as, a writable directory.

    Parameters
    ----------
    path : str or path-like
        The destination directory (created later by the writer if missing).
    what : str
        How the message names the destination, e.g. ``"--out"``.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    CopylearnError
        The path is empty or not a path, is an existing file, lies under a file, or cannot be
        written (read-only media, permissions).
    """
    target = _as_path(path, what)
    if target.exists() and not target.is_dir():
        raise CopylearnError(
            f"{what} {str(target)!r} is a file, not a directory: give a directory path."
        )
    # An existing directory is probed itself; a missing one at its nearest existing ancestor.
    _check_parent(target / "probe" if target.is_dir() else target, what)
    return target
