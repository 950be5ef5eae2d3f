"""The copylearn version: one place that says which copylearn wrote a dataset or a row.

:func:`package_version` is ``copylearn.__version__``. It is read from the package metadata
(:mod:`importlib.metadata`), except when the package is imported from a source tree (a
``pyproject.toml`` naming the project ``copylearn`` sits next to the package directory, as in a
git checkout run with ``PYTHONPATH`` or an editable install): that file is then the truth, since
the metadata of an editable install is only refreshed when it is reinstalled. Without either,
the version is ``"0+unknown"``.

This module imports only the standard library.
"""

from __future__ import annotations

import functools
import importlib.metadata
import tomllib
from pathlib import Path

#: The version reported when neither a source tree nor package metadata says one.
UNKNOWN = "0+unknown"


def source_tree_version(root: Path | None = None) -> str | None:
    """The version in ``root/pyproject.toml`` if it is copylearn's, else None.

    Parameters
    ----------
    root : Path, optional
        The directory holding the ``copylearn`` package; default: this package's parent.
    """
    root = Path(__file__).resolve().parent.parent if root is None else root
    try:
        with open(root / "pyproject.toml", "rb") as handle:
            project = tomllib.load(handle).get("project", {})
    except (OSError, tomllib.TOMLDecodeError):
        return None
    if project.get("name") != "copylearn" or not isinstance(project.get("version"), str):
        return None
    return project["version"]


@functools.cache
def package_version() -> str:
    """This copylearn's version string (read once per process; see the module docstring)."""
    version = source_tree_version()
    if version is not None:
        return version
    try:
        return importlib.metadata.version("copylearn")
    except importlib.metadata.PackageNotFoundError:
        return UNKNOWN
