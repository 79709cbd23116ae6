"""Simulated true time for the virtual device, shared by every thread.

Time runs at ``speed`` times real time and can jump forward with
``advance``.  Sleepers, blocking or asyncio, wake on either.  ``now()`` is
true UTC as seconds since 2000-01-01 (the device's epoch); the device's RTC
is a separate, drifting view of it (see hardware.py).
"""

from __future__ import annotations

import asyncio
import threading
import time


class SimClock:
    def __init__(self, start: float, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self._lock = threading.Condition()
        self._base_sim = float(start)
        self._base_real = time.monotonic()
        self.speed = float(speed)
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self._holds = 0

    def _now_locked(self) -> float:
        if self._holds:
            return self._base_sim
        return self._base_sim + (time.monotonic() - self._base_real) * self.speed

    def now(self) -> float:
        with self._lock:
            return self._now_locked()

    def hold(self) -> None:
        """Stop time while the host does work that takes no time on the device.

        Booting the virtual chip or a blocking call into the Bumble stack take
        host milliseconds, which at speed 20 would be device seconds: a
        6-second hold would end before the firmware had sampled the button.
        Holds nest; release() undoes one.
        """
        with self._lock:
            if self._holds == 0:
                self._base_sim = self._now_locked()
            self._holds += 1

    def release(self) -> None:
        with self._lock:
            if self._holds == 0:
                return
            self._holds -= 1
            if self._holds == 0:
                self._base_real = time.monotonic()
        self._wake_all()

    def set_speed(self, speed: float) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        with self._lock:
            now = self._now_locked()
            self._base_sim, self._base_real, self.speed = now, time.monotonic(), float(speed)
        self._wake_all()

    def advance(self, seconds: float) -> None:
        """Jump forward: every sleeper whose deadline passed wakes now."""
        if seconds < 0:
            raise ValueError("time only moves forward")
        with self._lock:
            self._base_sim += seconds
        self._wake_all()

    def _wake_all(self) -> None:
        with self._lock:
            self._lock.notify_all()
            waiters = list(self._waiters)
        for loop, event in waiters:
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # that loop has closed
                self._waiters.discard((loop, event))

    def sleep_blocking(self, seconds: float) -> None:
        target = self.now() + seconds
        with self._lock:
            while True:
                remaining = target - self._now_locked()
                if remaining <= 0:
                    return
                self._lock.wait(remaining / self.speed if not self._holds else None)

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        target = self.now() + seconds
        loop = asyncio.get_running_loop()
        while True:
            remaining = target - self.now()
            if remaining <= 0:
                return
            event = asyncio.Event()
            entry = (loop, event)
            self._waiters.add(entry)
            try:
                await asyncio.wait_for(event.wait(), None if self._holds else remaining / self.speed)
            except TimeoutError:
                pass
            finally:
                self._waiters.discard(entry)
