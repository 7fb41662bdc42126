"""Concurrent calls for the same key that share one run (a "single flight")."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Hashable

__all__ = ["SharedCalls"]

T = TypeVar("T")


class SharedCalls:
    """Runs ``call()`` once for callers asking for the same key at the same time.

    A caller that asks while a run is under way waits for its outcome (a result or the
    same exception) instead of starting another; one caller giving up does not cancel
    the run for the others. Once the run ends the key is free again: results are not
    kept (that is a cache's job).
    """

    def __init__(self) -> None:
        self._running: dict[Hashable, asyncio.Future[Any]] = {}

    async def run(self, key: Hashable, call: Callable[[], Awaitable[T]]) -> T:
        running = self._running.get(key)
        if running is None:
            running = asyncio.ensure_future(call())
            self._running[key] = running

            def done(finished: asyncio.Future[Any]) -> None:
                if self._running.get(key) is finished:
                    del self._running[key]
                if not finished.cancelled():
                    finished.exception()  # retrieved: every waiter may have gone

            running.add_done_callback(done)
        result: T = await asyncio.shield(running)
        return result

    def forget(self, key: Hashable) -> None:
        """Callers from now on start a new run (the one under way may be out of date)."""
        self._running.pop(key, None)

    def is_current(self, key: Hashable) -> bool:
        """Whether the calling task is the run for ``key`` and was not forgotten since."""
        return self._running.get(key) is asyncio.current_task()

    def __len__(self) -> int:
        return len(self._running)
