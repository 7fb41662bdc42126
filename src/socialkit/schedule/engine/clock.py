"""Clocks the engine runs on: the system clock, a manual one for tests, an accelerated one.

The engine only asks a clock two things: what time it is, and to wait until a moment
unless woken earlier. Tests inject :class:`ManualClock` and move time by hand; the demo
uses :class:`AcceleratedClock` to play a week in minutes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time
from typing import Protocol, runtime_checkable

__all__ = ["AcceleratedClock", "Clock", "ManualClock", "SystemClock"]

_WAIT_STEP = 1.0
"""The longest :meth:`SystemClock.wait` sleeps (seconds) before it reads the wall clock
again: a sleep is measured on the monotonic clock, which does not follow a wall-clock
step (NTP) and stops while the machine is suspended. A step reads the clock only (no
store call), so a short one costs nothing, and a due post is at most this late."""


@runtime_checkable
class Clock(Protocol):
    """Tells the time (aware, UTC) and waits for a moment or a wake-up."""

    def now(self) -> dt.datetime:
        """The current instant."""
        ...

    async def wait(self, until: dt.datetime | None, wake: asyncio.Event) -> None:
        """Return at ``until`` (never when ``None``), or as soon as ``wake`` is set."""
        ...


async def _wait_event(wake: asyncio.Event, seconds: float | None) -> None:
    if seconds is not None and seconds <= 0:
        return
    try:
        await asyncio.wait_for(wake.wait(), timeout=seconds)
    except TimeoutError:
        return


class SystemClock:
    """The real clock."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    async def wait(self, until: dt.datetime | None, wake: asyncio.Event) -> None:
        # In steps of at most _WAIT_STEP, each measured again from the wall clock: after
        # the clock steps forward (NTP, a laptop or VM resumed) a due moment is met
        # within one step, not after the rest of a sleep measured before the jump.
        if until is None:
            await _wait_event(wake, None)
            return
        while not wake.is_set():
            seconds = (until - self.now()).total_seconds()
            if seconds <= 0:
                return
            await _wait_event(wake, min(seconds, _WAIT_STEP))


class ManualClock:
    """A clock that moves only when told to: ``advance`` or ``set``.

    A wait for a moment returns once the clock has been moved to it (or on a wake-up);
    nothing ever sleeps in real time.
    """

    def __init__(self, start: dt.datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware start time")
        self._now = start.astimezone(dt.UTC)
        self._lock = threading.Lock()
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

    def __call__(self) -> dt.datetime:
        return self.now()

    def now(self) -> dt.datetime:
        with self._lock:
            return self._now

    def set(self, moment: dt.datetime) -> None:
        """Move the clock to ``moment`` (never backwards)."""
        with self._lock:
            if moment < self._now:
                raise ValueError(f"the clock cannot go back to {moment.isoformat()}")
            self._now = moment.astimezone(dt.UTC)
            waiters = list(self._waiters)
        for loop, event in waiters:
            loop.call_soon_threadsafe(event.set)

    def advance(self, delta: dt.timedelta | float) -> dt.datetime:
        """Move the clock forward by ``delta`` (seconds or a timedelta); returns the new time."""
        step = delta if isinstance(delta, dt.timedelta) else dt.timedelta(seconds=delta)
        self.set(self.now() + step)
        return self.now()

    async def wait(self, until: dt.datetime | None, wake: asyncio.Event) -> None:
        moved = asyncio.Event()
        entry = (asyncio.get_running_loop(), moved)
        with self._lock:
            self._waiters.append(entry)
        try:
            while not wake.is_set() and (until is None or self.now() < until):
                moved.clear()
                waiter = asyncio.ensure_future(moved.wait())
                woken = asyncio.ensure_future(wake.wait())
                try:
                    await asyncio.wait({waiter, woken}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    waiter.cancel()
                    woken.cancel()
        finally:
            with self._lock:
                self._waiters.remove(entry)


class AcceleratedClock:
    """Time that runs ``factor`` times faster than the real clock, from ``start``.

    ``AcceleratedClock(start, factor=3600)`` plays an hour per real second.
    """

    def __init__(self, start: dt.datetime, factor: float) -> None:
        if start.tzinfo is None:
            raise ValueError("AcceleratedClock needs an aware start time")
        if factor <= 0:
            raise ValueError(f"factor must be positive (got {factor})")
        self.start = start.astimezone(dt.UTC)
        self.factor = factor
        self._origin = time.monotonic()

    def __call__(self) -> dt.datetime:
        return self.now()

    def now(self) -> dt.datetime:
        elapsed = (time.monotonic() - self._origin) * self.factor
        return self.start + dt.timedelta(seconds=elapsed)

    async def wait(self, until: dt.datetime | None, wake: asyncio.Event) -> None:
        seconds = None if until is None else (until - self.now()).total_seconds() / self.factor
        await _wait_event(wake, seconds)
