"""State changes, the notification hooks fired after commit, and the event-log feed."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

import attrs

from socialkit.schedule import hookspecs

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

    from socialkit.errors import PlatformError
    from socialkit.models.receipt import Receipt
    from socialkit.platforms.registry import Registry
    from socialkit.schedule.publication import Event
    from socialkit.schedule.records import Moved
    from socialkit.schedule.states import PublicationState
    from socialkit.schedule.stores.base import Store

__all__ = ["Notifier", "StateChange", "add_engine_hookspecs", "follow_events"]

log = logging.getLogger("socialkit.schedule")


@attrs.frozen(kw_only=True, slots=True)
class StateChange:
    """One committed move of one publication, as the notification hooks receive it."""

    publication_id: str
    workspace: str
    account_id: str
    campaign: str | None
    from_state: PublicationState | None
    to_state: PublicationState
    at: dt.datetime
    actor: str = "engine"
    reason: str | None = None
    attempt: int = 0
    error: dict[str, Any] | None = None


def add_engine_hookspecs(registry: Registry) -> None:
    """Add the engine's hook specifications to ``registry`` (once)."""
    hook = registry.manager.hook
    caller = getattr(hook, "publication_state_changed", None)
    if caller is not None and caller.spec is not None:
        return
    registry.add_hookspecs(hookspecs)


class Notifier:
    """Fires the engine's notification hooks after commits; never raises."""

    def __init__(self, registry: Registry) -> None:
        add_engine_hookspecs(registry)
        self._hook = registry.manager.hook

    def _call(self, name: str, **kwargs: Any) -> None:
        # One implementation at a time, not through pluggy's call: pluggy stops at the
        # first exception, so one plugin's bug would silence every other plugin's hook.
        # pluggy's order (the last registered first, tryfirst/trylast honoured) is kept.
        for impl in reversed(getattr(self._hook, name).get_hookimpls()):
            if impl.hookwrapper or impl.wrapper:
                continue  # a wrapper wraps pluggy's call, which notifications do not make
            try:
                # An implementation may take any subset of the arguments, by name.
                impl.function(**{arg: kwargs[arg] for arg in impl.argnames if arg in kwargs})
            except Exception:
                log.exception(
                    "the %s hook of plugin %r failed; ignored (hooks are best-effort)",
                    name,
                    impl.plugin_name,
                )

    @property
    def active(self) -> bool:
        """Whether any notification hook has an implementation."""
        return any(getattr(self._hook, name).get_hookimpls() for name in hookspecs.__all__)

    def changed(self, change: StateChange) -> None:
        """A committed move; also fires the published/failed/unknown hooks where due."""
        self._call("publication_state_changed", change=change)

    def moved(self, moves: Sequence[Moved]) -> None:
        """Committed side-effect moves (misfires, pause switches): one change each."""
        if not moves or not self._hook.publication_state_changed.get_hookimpls():
            return
        for m in moves:
            self.changed(
                StateChange(
                    publication_id=m.id,
                    workspace=m.workspace,
                    account_id=m.account_id,
                    campaign=m.campaign,
                    from_state=m.from_state,
                    to_state=m.to_state,
                    at=m.at,
                    actor=m.actor,
                    reason=m.reason,
                    attempt=m.attempt,
                )
            )

    def published(self, change: StateChange, receipt: Receipt) -> None:
        self.changed(change)
        self._call("publication_published", change=change, receipt=receipt)

    def failed(self, change: StateChange, error: PlatformError | None) -> None:
        self.changed(change)
        self._call("publication_failed", change=change, error=error)

    def unknown(self, change: StateChange, needs_person: bool) -> None:
        self.changed(change)
        self._call("publication_unknown", change=change, needs_person=needs_person)


async def events_page(
    store: Store, *, since: int, limit: int, workspace: str | None
) -> tuple[list[Event], int]:
    """Events after ``since`` (one ``workspace``'s, when given), at most ``limit``, and
    the cursor to read on from. When the page is not full, that cursor is past every
    event read up to, the other workspaces' too, so a quiet tenant's consumer never
    reads them again (there is no index by workspace: each event is read once)."""
    if workspace is None:
        found = await store.events(since=since, limit=limit)
        return found, found[-1].seq if found else since
    last = await store.last_event_seq()
    found = await store.events(since=since, limit=limit, workspace=workspace, until=last)
    if len(found) == limit:
        return found, found[-1].seq
    return found, max(since, last)


async def follow_events(
    store: Store,
    *,
    since: int = 0,
    batch: int = 500,
    poll: dt.timedelta = dt.timedelta(seconds=1),
    stop: asyncio.Event | None = None,
    workspace: str | None = None,
) -> AsyncIterator[Event]:
    """Every event after ``since`` (of one ``workspace``, when given), forever (until
    ``stop``): the durable feed.

    Waits for the store's change notifications (or ``poll``, in real time) when it has
    caught up. Keep
    the last ``event.seq`` you handled and pass it as ``since`` after a restart: nothing
    is missed and nothing repeats.
    """

    async def page(cursor: int, limit: int) -> tuple[list[Event], int]:
        return await events_page(store, since=cursor, limit=limit, workspace=workspace)

    async for event in follow_pages(
        page, store.subscribe, since=since, batch=batch, poll=poll, stop=stop
    ):
        yield event


async def follow_pages(
    page: Callable[[int, int], Awaitable[tuple[list[Event], int]]],
    subscribe: Callable[[Callable[[], None]], Callable[[], None]],
    *,
    since: int,
    batch: int = 500,
    poll: dt.timedelta = dt.timedelta(seconds=1),
    stop: asyncio.Event | None = None,
) -> AsyncIterator[Event]:
    """:func:`follow_events` over any reader of pages (``page(cursor, limit)``) and any
    change subscription; it waits on the loop it is iterated on."""
    wake = asyncio.Event()
    loop = asyncio.get_running_loop()

    def notify() -> None:
        loop.call_soon_threadsafe(wake.set)

    unsubscribe = subscribe(notify)
    stopper = asyncio.ensure_future(stop.wait()) if stop is not None else None
    if stopper is not None:
        stopper.add_done_callback(lambda _: wake.set())
    try:
        cursor = since
        while stop is None or not stop.is_set():
            wake.clear()
            found, after = await page(cursor, batch)
            for event in found:
                yield event
            cursor = after
            if len(found) < batch and (stop is None or not stop.is_set()):
                # Real time, not the engine's clock: this is a consumer polling a log.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), timeout=poll.total_seconds())
    finally:
        unsubscribe()
        if stopper is not None:
            stopper.cancel()
