"""asyncio: CPython's, with MicroPython's extras, sleeping on the simulated clock."""

from __future__ import annotations

import asyncio
import types
from collections.abc import Awaitable, Coroutine
from typing import Any, TypeVar

from twitchlog.sim.virtual.hardware import Hardware

T = TypeVar("T")


class ThreadSafeFlag:
    """Set from any thread or IRQ; wait() returns once per set, then clears."""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def set(self) -> None:
        loop = self._loop
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if loop is None or loop is running:
            self._event.set()
        else:
            loop.call_soon_threadsafe(self._event.set)

    def clear(self) -> None:
        self._event.clear()

    async def wait(self) -> None:
        self._loop = asyncio.get_running_loop()
        await self._event.wait()
        self._event.clear()


class Asyncio(types.ModuleType):
    """The asyncio module of one boot."""

    Event = asyncio.Event
    Lock = asyncio.Lock
    Task = asyncio.Task
    CancelledError = asyncio.CancelledError
    TimeoutError = asyncio.TimeoutError
    ThreadSafeFlag = ThreadSafeFlag
    create_task = staticmethod(asyncio.create_task)
    gather = staticmethod(asyncio.gather)
    current_task = staticmethod(asyncio.current_task)
    get_event_loop = staticmethod(asyncio.get_event_loop)

    def __init__(self, hw: Hardware) -> None:
        super().__init__("asyncio", __doc__)
        self._hw = hw

    def run(self, main: Coroutine[Any, Any, T]) -> T:
        async def guarded() -> T:
            # Tasks still running when the chip stops end with PowerCut or
            # Reset; asyncio would log each with a traceback, formatted in
            # this thread (see device._format), so collect them quietly.
            asyncio.get_running_loop().set_exception_handler(
                lambda loop, context: self._hw.orphan_errors.append(context.get("exception"))
            )
            return await main

        return asyncio.run(guarded())

    async def sleep(self, seconds: float) -> None:
        self._hw.check_power()
        await self._hw.clock.sleep(seconds)
        self._hw.check_power()

    async def sleep_ms(self, ms: float) -> None:
        await self.sleep(ms / 1000)

    async def wait_for(self, awaitable: Awaitable[T], timeout: float | None) -> T:
        task = asyncio.ensure_future(awaitable)
        if timeout is None:
            return await task
        timer = asyncio.ensure_future(self._hw.clock.sleep(timeout))
        try:
            await asyncio.wait((task, timer), return_when=asyncio.FIRST_COMPLETED)
        finally:
            timer.cancel()
        if task.done():
            return task.result()
        task.cancel()
        raise TimeoutError()

    async def wait_for_ms(self, awaitable: Awaitable[T], ms: float) -> T:
        return await self.wait_for(awaitable, ms / 1000)
