"""Plug-ins: tasks and protocols registered from outside the package.

Two ways in (docs/extending.md):

* a sweep config names modules to import, ``[sweep] plugins = ["my_tasks", "lib/extra.py"]``.
  An entry ending in ``.py`` is a file path, relative to the config's directory unless
  absolute; any other entry is a dotted module name, imported with the config's directory
  first on ``sys.path`` (so a module next to the config is found). Importing the module runs
  its ``@register_task`` / ``@register_protocol`` decorators;
* an installed package declares entry points in the groups :data:`ENTRY_POINT_GROUPS`
  (``copylearn.tasks``, ``copylearn.protocols``); each is loaded the first time a registry
  is asked.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points
from pathlib import Path

from copylearn.errors import CopylearnError

ENTRY_POINT_GROUPS = ("copylearn.tasks", "copylearn.protocols")
_entry_points_loaded = False


def load_entry_points() -> None:
    """Load every entry point of :data:`ENTRY_POINT_GROUPS` once per process.

    Raises
    ------
    CopylearnError
        An entry point failed to load (names it and the package's error).
    """
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for group in ENTRY_POINT_GROUPS:
        for ep in entry_points(group=group):
            try:
                ep.load()
            except Exception as exc:  # a broken third-party package: say which
                raise CopylearnError(
                    f"plug-in entry point {ep.name!r} ({ep.value}, group {group}) failed to "
                    f"load: {type(exc).__name__}: {exc}; fix or uninstall that package."
                ) from None


def load_plugins(names: Sequence[str], *, base: str | Path | None = None) -> None:
    """Import the plug-in modules ``names`` (see the module docstring for the forms).

    Parameters
    ----------
    names : sequence of str
        Dotted module names or ``.py`` paths.
    base : path, optional
        The directory relative paths and module names are looked up in first (a config's
        directory); the current directory when None.

    Raises
    ------
    CopylearnError
        A module cannot be found or raises on import (one line, naming it).
    """
    root = Path.cwd() if base is None else Path(base)
    for name in names:
        if not isinstance(name, str) or not name.strip():
            raise CopylearnError(f"plug-in {name!r} is not a module name or a .py path.")
        try:
            if name.endswith(".py"):
                _load_file(name, root)
            else:
                _load_module(name, root)
        except CopylearnError:
            raise
        except Exception as exc:
            raise CopylearnError(
                f"plug-in {name!r} failed to import: {type(exc).__name__}: {exc}"
            ) from None


def _load_module(name: str, root: Path) -> None:
    path = str(root.resolve())
    added = path not in sys.path
    if added:
        sys.path.insert(0, path)
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and name.startswith(exc.name):
            raise CopylearnError(
                f"plug-in module {name!r} not found (looked in {path} and on sys.path): "
                "check the name, or give a .py path relative to the config."
            ) from None
        raise


def _load_file(name: str, root: Path) -> None:
    path = Path(name)
    if not path.is_absolute():
        path = root / path
    path = path.resolve()
    if not path.is_file():
        raise CopylearnError(f"plug-in file {str(path)!r} does not exist: check the path.")
    module_name = f"copylearn_plugin_{path.stem}"
    if module_name in sys.modules:
        return
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:  # pragma: no cover - a .py file always has one
        raise CopylearnError(f"plug-in file {str(path)!r} cannot be imported.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
