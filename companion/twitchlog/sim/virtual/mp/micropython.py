"""micropython: the few helpers the firmware uses, as no-ops or identities on CPython."""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class MicroPython(types.ModuleType):
    """The micropython module; it holds no state, but each boot gets its own like the others."""

    def __init__(self) -> None:
        super().__init__("micropython", __doc__)

    @staticmethod
    def const(value: T) -> T:
        return value

    @staticmethod
    def alloc_emergency_exception_buf(size: int) -> None:
        pass

    @staticmethod
    def schedule(fn: Callable[[T], Any], arg: T) -> Any:
        return fn(arg)  # the firmware is already on its own thread: run it now

    @staticmethod
    def opt_level(*level: int) -> int:
        return 0
