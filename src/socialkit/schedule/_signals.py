"""SIGTERM and SIGINT while a worker serves, alongside the application's own handlers."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator


@contextlib.contextmanager
def on_signals(handler: Callable[[], object], *, enabled: bool = True) -> Iterator[None]:
    """Call ``handler`` on SIGTERM and SIGINT while the block runs (on the running loop),
    still calling what the app had for them, and put that back afterwards.

    An app (a web server) that set its own handlers keeps hearing the signal, so it shuts
    down too; after the block its handlers are in place again.
    """
    if not enabled:
        yield
        return
    loop = asyncio.get_running_loop()
    kept: list[tuple[signal.Signals, Any, Any]] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            before = signal.getsignal(sig)
        except ValueError:
            continue
        # A handler the app added to this loop (asyncio keeps those itself).
        handle = getattr(loop, "_signal_handlers", {}).get(sig)

        def fire(before: Any = before, handle: Any = handle, sig: signal.Signals = sig) -> None:
            handler()
            if handle is not None:
                handle._run()
            elif callable(before) and before is not signal.default_int_handler:
                before(sig, None)

        try:
            loop.add_signal_handler(sig, fire)
        except (NotImplementedError, RuntimeError, ValueError):
            continue
        kept.append((sig, before, handle))
    try:
        yield
    finally:
        for sig, before, handle in kept:
            loop.remove_signal_handler(sig)
            if handle is not None:
                loop.add_signal_handler(sig, handle._callback, *handle._args)
            else:
                with contextlib.suppress(TypeError, ValueError):
                    signal.signal(sig, before)
