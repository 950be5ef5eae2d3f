"""One registry mechanism for protocols and tasks: names to single instances, built-ins first.

:mod:`copylearn.protocols` and :mod:`copylearn.tasks` each keep one :class:`Registry`. The
built-in modules register themselves when first imported; entry-point plug-ins
(:func:`copylearn.plugins.load_entry_points`) load right after them, so a name a plug-in
takes from a built-in is caught, whatever imports first.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

from copylearn.errors import CopylearnError

T = TypeVar("T")


def _same_code(old: type, new: type) -> bool:
    """Whether ``new`` is ``old`` imported again: the same module and qualified name, or the
    same qualified name in a source file of identical bytes (one file imported by module name
    and by path, or a verbatim copy). Anything else taking a name is a different class."""
    if old.__qualname__ != new.__qualname__:
        return False
    if old.__module__ == new.__module__:
        return True
    files = [getattr(sys.modules.get(c.__module__), "__file__", None) for c in (old, new)]
    if not all(files):
        return False
    try:
        return Path(files[0]).read_bytes() == Path(files[1]).read_bytes()
    except OSError:
        return False


class Registry(Generic[T]):
    """Registered instances of one kind (``"protocol"`` or ``"task"``), by name.

    Parameters
    ----------
    kind : str
        What the registry holds, for messages.
    builtin_modules : tuple of str
        Modules that register the built-in entries on import.
    hint : str
        How to add an entry, appended to the unknown-name message.
    """

    def __init__(self, kind: str, builtin_modules: tuple[str, ...], hint: str) -> None:
        self.kind, self.builtin_modules, self.hint = kind, builtin_modules, hint
        self.entries: dict[str, T] = {}
        self._loaded = False

    def load_builtins(self) -> None:
        """Import the built-in modules (they register themselves), then entry points, once."""
        if self._loaded:
            return
        self._loaded = True  # before importing: their own registrations must not recurse
        from copylearn.plugins import load_entry_points

        for module in self.builtin_modules:
            importlib.import_module(module)
        load_entry_points()

    def register(self, cls: type, check: Callable[[type], None] | None = None) -> Any:
        """Register one instance of ``cls`` under ``cls.name``; returns ``cls`` (a decorator).

        Raises
        ------
        CopylearnError
            No name, ``check`` refuses the class, a declared parameter's default fails its own
            validation, or the name is taken by another class (any other module or qualified
            name, unless its source file is byte-identical: see :func:`_same_code`).
        """
        self.load_builtins()  # built-ins first, whatever registers first
        if not getattr(cls, "name", None):
            raise CopylearnError(f"{cls.__name__} has no name: set the class attribute name.")
        if check is not None:
            check(cls)
        for parameter in getattr(cls, "parameters", ()):  # a bad default fails here, not later
            try:
                parameter.validate(parameter.default)
            except CopylearnError as exc:
                raise CopylearnError(
                    f"{self.kind} {cls.name!r} declares a default its own validation refuses "
                    f"({exc}): fix the default of {parameter.name!r}."
                ) from None
        old = self.entries.get(cls.name)
        if old is not None and not _same_code(type(old), cls):
            raise CopylearnError(
                f"{self.kind} {cls.name!r} is registered twice ({type(old).__module__} and "
                f"{cls.__module__}): rename one."
            )
        self.entries[cls.name] = cls()
        return cls

    def names(self) -> tuple[str, ...]:
        """Registered names, built-ins first in the order of their modules, then the rest in
        registration order (whichever module happened to be imported first)."""
        self.load_builtins()
        modules = list(self.builtin_modules)

        def rank(item: tuple[int, str]) -> tuple[int, int]:
            module = type(self.entries[item[1]]).__module__
            return (modules.index(module) if module in modules else len(modules), item[0])

        return tuple(name for _, name in sorted(enumerate(self.entries), key=rank))

    def get(self, name: object) -> T:
        """The entry registered as ``name``.

        Raises
        ------
        CopylearnError
            Nothing is registered under ``name``.
        """
        self.load_builtins()
        if not isinstance(name, str) or name not in self.entries:
            from copylearn.plugins import BROKEN_ENTRY_POINTS

            broken = "".join(f"; note: {why}" for why in BROKEN_ENTRY_POINTS)
            raise CopylearnError(
                f"unknown {self.kind} {name!r}: use one of {', '.join(self.entries)} "
                f"({self.hint}){broken}."
            )
        return self.entries[name]
