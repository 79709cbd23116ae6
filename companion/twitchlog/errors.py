"""Errors a user can act on.

Library modules raise `UserError` (or a subclass) for anything the user can
fix: a bad file, a wrong port, a device out of range. The CLI prints its
message as one line and exits non-zero, with no traceback. Anything else is
a bug and keeps its traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """A problem the user can fix; `str()` is the whole one-line message."""

    exit_code = 1


class InputError(UserError):
    """Bad input data: names the file (or argument) and, where it has one, the line."""

    def __init__(self, message: str, *, source: str | None = None, line: int | None = None):
        where = source or ""
        if line is not None:
            where = f"{where}:{line}" if where else f"line {line}"
        super().__init__(f"{where}: {message}" if where else message)
        self.source = source
        self.line = line
