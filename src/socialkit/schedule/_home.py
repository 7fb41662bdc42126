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
import logging
import threading
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, Protocol, TypeVar

from socialkit._runtime import Raised, carried, delivered

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine

P = ParamSpec("P")
T = TypeVar("T")

log = logging.getLogger("socialkit.schedule")

# How long a call waits for its home loop to start it before saying so (a home loop
# whose thread is blocked waiting on the caller never will), and how often it checks
# that the home loop still runs.
SLOW_START = 10.0
CHECK_EVERY = 1.0


class Home:
    """Which loop a scheduler belongs to: bound by its first call, or fixed (``resolve``).

    ``in_use`` says whether the scheduler holds anything of its loop (open connections,
    locks); a scheduler that holds nothing binds the next loop it is used on.
    """

    __slots__ = ("_bind", "_in_use", "_loop", "_owner", "_resolve")

    def __init__(
        self,
        owner: str,
        resolve: Callable[[], asyncio.AbstractEventLoop] | None = None,
        *,
        in_use: Callable[[], bool] = lambda: True,
    ) -> None:
        self._owner = owner
        self._resolve = resolve
        self._in_use = in_use
        self._loop: asyncio.AbstractEventLoop | None = None
        self._bind = threading.Lock()

    def elsewhere(self) -> asyncio.AbstractEventLoop | None:
        """``None`` when the running loop is home (binding it when there is none), else
        the home loop, running in another thread.

        Raises:
            RuntimeError: the home loop has ended (an earlier ``asyncio.run()`` returned)
                while the scheduler holds connections of it.
        """
        running = asyncio.get_running_loop()
        home = self._current()
        if home is running:
            return None
        if self._resolve is None:
            with self._bind:
                home = self._loop
                if home is None or (_ended(home) and not self._in_use()):
                    self._loop = running
                    return None
            if home is running:
                return None
        assert home is not None
        if _ended(home):
            raise RuntimeError(
                f"{self._owner} holds connections of an event loop that has ended (an "
                "earlier asyncio.run() returned); close() it (from any loop) and it binds "
                "the next loop it is used on, or use one AsyncScheduler per loop (async "
                "with AsyncScheduler(...) inside the coroutine you run)"
            )
        return home

    def ended(self) -> bool:
        """Whether the home loop has ended (a bound loop that no longer runs)."""
        home = self._current()
        return home is not None and _ended(home)

    def _current(self) -> asyncio.AbstractEventLoop | None:
        return self._loop if self._resolve is None else self._resolve()

    def release(self) -> None:
        """Forget the loop (after ``close()``): the next call binds the loop it runs on."""
        with self._bind:
            self._loop = None


def _ended(loop: asyncio.AbstractEventLoop) -> bool:
    return loop.is_closed() or not loop.is_running()


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
        return await hop(home, method(self, *args, **kwargs), method.__qualname__)

    return call


async def hop(home: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, T], what: str) -> T:
    """Await ``coro`` on ``home`` (another thread's running loop) from this loop.

    Cancelling the caller cancels it there. If the home loop ends while it runs, the
    caller gets a :class:`RuntimeError` (not a cancellation it never asked for, nor a
    wait for ever); if the home loop has not started it after :data:`SLOW_START`
    seconds, a warning says its thread may be blocked waiting on this one.
    """
    started = False

    async def there() -> T | Raised:
        nonlocal started
        started = True
        return await carried(coro)

    waiting = asyncio.wrap_future(asyncio.run_coroutine_threadsafe(there(), home))
    waited = 0.0
    warned = False
    try:
        while True:
            done, _ = await asyncio.wait((waiting,), timeout=CHECK_EVERY)
            if done:
                break
            waited += CHECK_EVERY
            if _ended(home):
                waiting.cancel()
                raise _ended_during(what)
            if not started and not warned and waited >= SLOW_START:
                warned = True
                log.warning(
                    "%s has waited %g s for its scheduler's event loop to start it; is "
                    "that loop's thread blocked waiting on this one?",
                    what,
                    waited,
                )
    except asyncio.CancelledError:
        waiting.cancel()
        raise
    if waiting.cancelled():  # the home loop cancelled it (its asyncio.run() ended)
        raise _ended_during(what)
    return delivered(waiting.result())


def _ended_during(what: str) -> RuntimeError:
    return RuntimeError(
        f"{what}: the event loop it ran on ended during the call, so whether it took "
        "effect is unknown (look with get() or list())"
    )


async def run_at(
    home: asyncio.AbstractEventLoop,
    start: Callable[[asyncio.Event], Coroutine[Any, Any, T]],
    stop: asyncio.Event | None,
) -> T:
    """Run a worker on ``home`` from another loop, until ``stop`` (an event of the caller's
    loop) is set or the caller is cancelled: either tells the worker to stop gracefully
    (claims not yet sent are handed back, publishes in flight finish), then waits for it.

    ``start`` gets an event of the home loop to stop by; it is set from the outset when
    ``stop`` already is, so such a worker sends nothing.
    """
    home_stop = await hop(home, new_event(stop is not None and stop.is_set()), "run")

    def relay(_: object) -> None:
        home.call_soon_threadsafe(home_stop.set)

    watch = asyncio.ensure_future(stop.wait()) if stop is not None else None
    if watch is not None:
        watch.add_done_callback(relay)
    worker = asyncio.ensure_future(hop(home, start(home_stop), "run"))
    try:
        return await asyncio.shield(worker)
    except asyncio.CancelledError:
        relay(None)
        try:
            await worker
        except Exception:
            log.exception("the worker failed while stopping")
        raise
    finally:
        if watch is not None:
            watch.remove_done_callback(relay)
            watch.cancel()


async def new_event(already_set: bool = False) -> asyncio.Event:
    """An event of the loop that runs this (created there, as an event must be)."""
    event = asyncio.Event()
    if already_set:
        event.set()
    return event
