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

import hashlib
import importlib
import importlib.util
import sys
from collections.abc import Mapping, Sequence
from importlib.metadata import entry_points
from pathlib import Path

from copylearn.errors import CopylearnError

ENTRY_POINT_GROUPS = ("copylearn.tasks", "copylearn.protocols")
_entry_points_loaded = False
BROKEN_ENTRY_POINTS: list[str] = []  # one line per entry point that failed to load


def load_entry_points() -> None:
    """Load every entry point of :data:`ENTRY_POINT_GROUPS` once per process.

    A broken entry point (any exception, ``SystemExit`` included) does not stop copylearn: it
    is skipped with a one-line warning on stderr naming it, and recorded in
    :data:`BROKEN_ENTRY_POINTS`, so a config naming what it would have registered gets the
    registry's unknown-name error, which then mentions it.
    """
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for group in ENTRY_POINT_GROUPS:
        for ep in entry_points(group=group):
            try:
                ep.load()
            except BaseException as exc:  # a broken third-party package: say which, go on
                if isinstance(exc, KeyboardInterrupt):
                    raise
                why = (
                    f"plug-in entry point {ep.name!r} ({ep.value}, group {group}) failed to "
                    f"load ({type(exc).__name__}: {exc}); skipped it: fix or uninstall that "
                    "package"
                )
                BROKEN_ENTRY_POINTS.append(why)
                print(f"copylearn: warning: {why}.", file=sys.stderr)


class PluginMissingError(CopylearnError):
    """A plug-in recorded with a store (``DIR/plugins.json``) is no longer where it was."""


def load_plugins(
    names: Sequence[str],
    *,
    base: str | Path | None = None,
    recorded: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Import the plug-in modules ``names`` (see the module docstring for the forms).

    Parameters
    ----------
    names : sequence of str
        Dotted module names or ``.py`` paths.
    base : path, optional
        The directory relative paths and module names are looked up in first (a config's
        directory); the current directory when None.
    recorded : mapping, optional
        Where each entry was found when a store was written (:func:`load_plugins`'s return
        value, kept in ``DIR/plugins.json``): an entry named here is imported from that
        place only, whatever the current directory, ``base`` and ``sys.path`` hold.

    Returns
    -------
    dict of str to str
        Per entry, where it was found: the absolute path of a ``.py`` file, or the absolute
        directory a dotted module was imported from (its top package's parent).

    Raises
    ------
    CopylearnError
        A module cannot be found or raises on import (one line, naming it);
        :class:`PluginMissingError` when a recorded place no longer holds it.
    """
    root = Path.cwd() if base is None else Path(base)
    recorded = recorded or {}
    found: dict[str, str] = {}
    for name in names:
        if not isinstance(name, str) or not name.strip():
            raise CopylearnError(f"plug-in {name!r} is not a module name or a .py path.")
        try:
            if name in recorded:
                found[name] = _load_recorded(name, recorded[name])
            elif name.endswith(".py"):
                found[name] = _load_file(name, root)
            else:
                found[name] = _load_module(name, root)
        except CopylearnError:
            raise
        except (Exception, SystemExit) as exc:  # sys.exit() on import must not end copylearn
            raise CopylearnError(
                f"plug-in {name!r} failed to import: {type(exc).__name__}: {exc}"
            ) from None
    return found


def _load_recorded(name: str, place: str) -> str:
    """Import ``name`` from the place a store recorded, refusing if it is gone or elsewhere."""
    where = Path(place)
    if name.endswith(".py"):
        if not where.is_file():
            raise PluginMissingError(
                f"plug-in {name!r} was recorded at {place!r} (plugins.json of the store), which "
                "does not exist any more: restore the file there, or edit the store's "
                "plugins.json to its new absolute path."
            )
        return _load_file(str(where), where.parent)
    top = name.split(".")[0]
    if not ((where / top).is_dir() or (where / f"{top}.py").is_file()):
        raise PluginMissingError(
            f"plug-in module {name!r} was recorded in {place!r} (plugins.json of the store), "
            "which no longer holds it: restore it there, or edit the store's plugins.json to "
            "the directory that holds it."
        )
    got = _load_module(name, where, first=True)
    if Path(got) != where.resolve():
        raise PluginMissingError(
            f"plug-in module {name!r} is already imported from {got!r}, not from {place!r} "
            "that the store recorded: run copylearn in a fresh process, or rename one module."
        )
    return got


def _module_root(module, name: str, fallback: Path) -> str:
    """The directory the dotted module ``name`` was imported from (its top package's parent)."""
    origin = getattr(module, "__file__", None)
    if not origin:
        return str(fallback.resolve())
    path = Path(origin).resolve()
    if path.name == "__init__.py":
        path = path.parent
    for _ in name.split("."):
        path = path.parent
    return str(path)


def _load_module(name: str, root: Path, *, first: bool = False) -> str:
    """Import the dotted module ``name`` with ``root`` on ``sys.path`` (first, if ``first``);
    returns the directory it was imported from."""
    path = str(root.resolve())
    if path not in sys.path or (first and sys.path[0] != path):
        sys.path.insert(0, path)
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and name.startswith(exc.name):
            raise CopylearnError(
                f"plug-in module {name!r} not found (looked in {path} and on sys.path): "
                "check the name, or give a .py path relative to the config."
            ) from None
        raise
    return _module_root(module, name, root)


def _load_file(name: str, root: Path) -> str:
    """Import the ``.py`` file ``name`` (relative to ``root``); returns its absolute path."""
    path = Path(name)
    if not path.is_absolute():
        path = root / path
    path = path.resolve()
    if not path.is_file():
        raise CopylearnError(f"plug-in file {str(path)!r} does not exist: check the path.")
    # One module per absolute path: two files with the same stem are two plug-ins.
    digest = hashlib.sha256(str(path).encode("utf-8")).hexdigest()[:10]
    module_name = f"copylearn_plugin_{path.stem}_{digest}"
    if module_name in sys.modules:
        return str(path)
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
    return str(path)


def plugin_file(name: str, place: str) -> Path | None:
    """The source file of the imported plug-in entry ``name`` found at ``place``.

    ``place`` is :func:`load_plugins`'s value for ``name``: the file itself for a ``.py``
    entry; for a dotted module, the file the imported module was loaded from (its package's
    ``__init__.py`` for a package). None when that cannot be told (a namespace package).
    """
    if name.endswith(".py"):
        return Path(place)
    origin = getattr(sys.modules.get(name), "__file__", None)
    return Path(origin).resolve() if origin else None


def source_hashes(sources: Mapping[str, str]) -> dict[str, str]:
    """SHA-256 of each plug-in entry's source file (see :func:`plugin_file`), by entry.

    Kept in a store's ``plugins.json`` so that a resume refuses a plug-in edited in place
    (its rows would mix two codes). Entries whose file cannot be read are left out.
    """
    hashes = {}
    for name, place in sources.items():
        path = plugin_file(name, place)
        try:
            hashes[name] = hashlib.sha256(path.read_bytes()).hexdigest() if path else None
        except OSError:
            hashes[name] = None
    return {name: digest for name, digest in hashes.items() if digest is not None}


def changed_sources(sources: Mapping[str, str], recorded: Mapping[str, str]) -> list[str]:
    """One phrase per plug-in whose source file no longer has the recorded SHA-256.

    Parameters
    ----------
    sources : mapping
        Entry to place (:func:`load_plugins`'s return value); the entries are imported.
    recorded : mapping
        Entry to the SHA-256 recorded when the store was written (:func:`source_hashes`).
    """
    now = source_hashes(sources)
    return [
        f"plug-in {name!r} ({plugin_file(name, sources[name])})"
        for name, digest in recorded.items()
        if name in sources and now.get(name) != digest
    ]
