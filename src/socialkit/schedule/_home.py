"""The event loop an :class:`~socialkit.schedule.AsyncScheduler` belongs to.

A scheduler's store connections, HTTP client and locks belong to one event loop, its
*home*: the loop of its first call (until ``close()``), or the sync ``Scheduler``'s
background loop. A call awaited on another loop (a FastAPI handler awaiting
``scheduler.aio.schedule(...)``) runs on the home loop when that loop is running in its own
thread, and the caller's loop only waits; when the home loop has stopped, the call is
refused with an error saying what to do. Without this, such a call shares an HTTP
connection pool and locks across loops: it can hang, or fail mid-publish and leave the
post ``unknown``.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, Protocol, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine

P = ParamSpec("P")
T = TypeVar("T")


class Home:
    """Which loop a scheduler belongs to: bound by its first call, or fixed (``resolve``)."""

    __slots__ = ("_bind", "_loop", "_owner", "_resolve")

    def __init__(
        self, owner: str, resolve: Callable[[], asyncio.AbstractEventLoop] | None = None
    ) -> None:
        self._owner = owner
        self._resolve = resolve
        self._loop: asyncio.AbstractEventLoop | None = None
        self._bind = threading.Lock()

    def elsewhere(self) -> asyncio.AbstractEventLoop | None:
        """``None`` when the running loop is home (binding it on first use), else the home
        loop, running in another thread.

        Raises:
            RuntimeError: the home loop has stopped (an earlier ``asyncio.run()`` returned).
        """
        running = asyncio.get_running_loop()
        home = self._loop if self._resolve is None else self._resolve()
        if home is running:
            return None
        if home is None:
            with self._bind:
                if self._loop is None:
                    self._loop = running
                    return None
                home = self._loop
            if home is running:
                return None
        if home.is_closed() or not home.is_running():
            raise RuntimeError(
                f"{self._owner} belongs to an event loop that is no longer running (its "
                "first call ran there, as under an earlier asyncio.run()); use one "
                "AsyncScheduler per loop (async with AsyncScheduler(...) inside the "
                "coroutine you run), or close() it on its loop before using it on another"
            )
        return home

    def release(self) -> None:
        """Forget the loop (after ``close()``): the next call binds the loop it runs on."""
        with self._bind:
            self._loop = None


class _HasHome(Protocol):
    @property
    def _home(self) -> Home: ...


H = TypeVar("H", bound=_HasHome)


def at_home(
    method: Callable[Concatenate[H, P], Coroutine[Any, Any, T]],
) -> Callable[Concatenate[H, P], Coroutine[Any, Any, T]]:
    """Run an async method on its scheduler's home loop, from whichever loop awaits it."""

    @functools.wraps(method)
    async def call(self: H, /, *args: P.args, **kwargs: P.kwargs) -> T:
        home = self._home.elsewhere()
        if home is None:
            return await method(self, *args, **kwargs)
        return await asyncio.wrap_future(
            asyncio.run_coroutine_threadsafe(method(self, *args, **kwargs), home)
        )

    return call


async def run_at(
    home: asyncio.AbstractEventLoop,
    start: Callable[[asyncio.Event], Coroutine[Any, Any, T]],
    stop: asyncio.Event | None,
) -> T:
    """Run a worker on ``home`` from another loop, until ``stop`` (an event of the caller's
    loop) is set or the caller is cancelled: either tells the worker to stop gracefully
    (claims not yet sent are handed back, publishes in flight finish), then waits for it.

    ``start`` gets an event of the home loop to stop by.
    """
    home_stop = await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(_event(), home))
    worker = asyncio.wrap_future(asyncio.run_coroutine_threadsafe(start(home_stop), home))
    watch = asyncio.ensure_future(stop.wait()) if stop is not None else None
    if watch is not None:
        watch.add_done_callback(lambda _: home.call_soon_threadsafe(home_stop.set))
    try:
        return await asyncio.shield(worker)
    except asyncio.CancelledError:
        home.call_soon_threadsafe(home_stop.set)
        await worker
        raise
    finally:
        if watch is not None:
            watch.cancel()


async def _event() -> asyncio.Event:
    return asyncio.Event()
