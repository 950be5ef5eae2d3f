"""Atomic file writes: results appear complete or not at all, never half-written."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from copylearn.errors import CopylearnError

# errno values of a file system that has no hard links; then an O_EXCL placeholder is used.
_NO_LINKS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV, errno.EMLINK}


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, exclusive: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is moved to ``path`` atomically.

    The temporary file keeps ``path``'s suffix (writers such as ``numpy.savez`` key on it), is
    flushed to disk before the move, and is removed if the block raises.

    Parameters
    ----------
    path : str or path-like
        The final file; missing parent directories are created.
    exclusive : bool
        If False (default), an existing ``path`` is replaced (``os.replace``). If True, the
        file is published with ``os.link``, which fails if ``path`` exists, so the existence
        check and the write are one atomic step: of two writers racing to a new file exactly
        one succeeds, and nothing is overwritten.

    Raises
    ------
    CopylearnError
        ``exclusive`` and ``path`` exists at the moment of publishing (the temporary file is
        removed, ``path`` is left untouched).
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=final.suffix)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o644)  # mkstemp makes the file private; results are for everyone
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        if exclusive:
            _publish_exclusive(tmp, final)
        else:
            os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)


def _publish_exclusive(tmp: Path, final: Path) -> None:
    """Move ``tmp`` to ``final`` only if ``final`` does not exist, atomically."""
    try:
        os.link(tmp, final)
        return
    except FileExistsError:
        _exists(final)
    except OSError as exc:
        if exc.errno not in _NO_LINKS:
            raise
    # No hard links here: reserve the name with O_EXCL, then replace the empty placeholder.
    try:
        os.close(os.open(final, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
    except FileExistsError:
        _exists(final)
    os.replace(tmp, final)


def _exists(final: Path) -> None:
    raise CopylearnError(
        f"{str(final)!r} was created by another writer while this one ran: it was left as it "
        "is and this result was not saved: choose another path (or replace it: --force, "
        "overwrite=True)."
    ) from None
