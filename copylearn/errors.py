"""The one exception type that copylearn raises for bad user input."""

from __future__ import annotations


class CopylearnError(ValueError):
    """A user-facing error: the message says what is wrong and how to fix it.

    The command-line tool prints the message on one line and exits with status 2.
    """
