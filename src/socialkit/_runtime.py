"""One long-lived event loop in a daemon thread, behind socialkit's sync facades.

Sync calls (``publish_now``, ``Scheduler.run``) submit coroutines to this loop and wait,
so they work the same in a plain script, in Jupyter and inside a running FastAPI loop.
"""

from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from collections.abc import Coroutine
    from typing import Any

T = TypeVar("T")

_lock = threading.Lock()
# The loop and its thread, in one tuple so a reader without the lock never pairs a new
# thread with an old loop.
_running: tuple[asyncio.AbstractEventLoop, threading.Thread] | None = None


def background_loop() -> asyncio.AbstractEventLoop:
    """The shared background loop, started on first use."""
    global _running
    # Every sync call asks for it: no lock while the loop is up.
    running = _running
    if running is not None and _alive(*running):
        return running[0]
    with _lock:
        if _running is None or not _alive(*_running):
            loop = asyncio.new_event_loop()
            ready = threading.Event()

            def run() -> None:
                asyncio.set_event_loop(loop)
                loop.call_soon(ready.set)
                loop.run_forever()

            thread = threading.Thread(target=run, name="socialkit-loop", daemon=True)
            thread.start()
            ready.wait()
            _running = (loop, thread)
        return _running[0]


def _alive(loop: asyncio.AbstractEventLoop, thread: threading.Thread) -> bool:
    return thread.is_alive() and not loop.is_closed()


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on the background loop and wait for its result.

    Raises:
        RuntimeError: when called from the background loop itself (that would deadlock).
    """
    loop = background_loop()
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        coro.close()
        raise RuntimeError(
            "a sync socialkit call was made from socialkit's own loop; await the async twin"
        )
    return delivered(asyncio.run_coroutine_threadsafe(carried(coro), loop).result())


class Raised:
    """A ``SystemExit`` or ``KeyboardInterrupt`` raised on a loop running in another
    thread (the background loop, a scheduler's home loop), carried back to the caller
    waiting on it: raised there it would end that loop, and every later call with it."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


async def carried(coro: Coroutine[Any, Any, T]) -> T | Raised:
    try:
        return await coro
    except (KeyboardInterrupt, SystemExit) as exc:
        return Raised(exc)


def delivered(outcome: T | Raised) -> T:
    """The result :func:`carried` brought back, or its exception raised here."""
    if isinstance(outcome, Raised):
        raise outcome.error
    return outcome
