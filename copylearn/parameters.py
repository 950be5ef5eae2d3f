"""Declared parameters of tasks and protocols: name, default, validation, doc."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from copylearn.errors import CopylearnError


class ParameterError(CopylearnError):
    """A point's value of one parameter is refused; ``key`` names the parameter."""

    def __init__(self, key: str, message: str):
        super().__init__(message)
        self.key = key


@dataclass(frozen=True)
class Parameter:
    """One parameter a task declares.

    Attributes
    ----------
    name : str
        The grid key (``[grid] name = ...`` in a sweep config).
    default : object
        Its value when a config leaves it out.
    parse : callable
        ``parse(value)`` returns the canonical value or raises ``ValueError`` whose text says
        what is wrong and how to fix it (without the key: callers prefix where it was set).
        Any other exception it raises is refused the same way, with its type and text.
    doc : str
        One line for ``copylearn list``.
    """

    name: str
    default: Any
    parse: Callable[[Any], Any]
    doc: str

    def validate(self, value: Any) -> Any:
        """The canonical value; a bad one is refused with a one-line error naming the key.

        Raises
        ------
        ParameterError
            ``"<name>: <what is wrong and how to fix it>"``.
        """
        if isinstance(value, list | dict):
            raise ParameterError(self.name, f"{self.name}: {value!r} is not a single value.")
        try:
            return self.parse(value)
        except ValueError as exc:
            raise ParameterError(self.name, f"{self.name}: {exc}") from None
        except CopylearnError:
            raise
        except Exception as exc:  # a plug-in's validator that raises anything else: same line
            raise ParameterError(
                self.name, f"{self.name}: {value!r} is refused ({type(exc).__name__}: {exc})."
            ) from None
