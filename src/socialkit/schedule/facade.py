"""``Scheduler``: the scheduling engine for synchronous code.

Every call runs the :class:`AsyncScheduler` coroutine on socialkit's one long-lived
background loop (:mod:`socialkit._runtime`), so it works the same in a script, a
Jupyter notebook or a thread of a FastAPI app whose own loop is running.

Example::

    from socialkit import Post, Scheduler

    scheduler = Scheduler("sqlite:///socialkit.db")
    scheduler.schedule(Post(text="Hello"), account, at="2026-12-01 09:00", tz="Asia/Tehran")
    scheduler.run()                    # a worker, until SIGTERM / Ctrl-C
    scheduler.run(until_idle=True)     # what is due now, then return (cron, CI)
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import signal
import threading
from typing import TYPE_CHECKING, Any, TypeVar

from socialkit._runtime import background_loop, run_sync
from socialkit.schedule._arguments import check_whole
from socialkit.schedule._home import Home, new_event
from socialkit.schedule.scheduler import AsyncScheduler

if TYPE_CHECKING:
    import builtins
    import datetime as dt
    from collections.abc import Callable, Coroutine, Iterable, Iterator
    from concurrent.futures import Future

    import httpx

    from socialkit.models.account import Account
    from socialkit.models.campaign import Campaign
    from socialkit.models.content import Post
    from socialkit.models.media_store import MediaStore
    from socialkit.models.metrics import MetricSnapshot
    from socialkit.models.receipt import Receipt
    from socialkit.platforms.credentials import CredentialProvider
    from socialkit.platforms.registry import Registry
    from socialkit.schedule.approval import ApprovalPolicy
    from socialkit.schedule.engine.clock import Clock
    from socialkit.schedule.engine.config import EngineConfig
    from socialkit.schedule.engine.worker import RunStats
    from socialkit.schedule.publication import (
        Event,
        Page,
        PauseScope,
        Publication,
        RateLimitCleared,
    )
    from socialkit.schedule.records import AccountRecord
    from socialkit.schedule.recurring import Rule
    from socialkit.schedule.scheduler import AccountsArg, ScheduleRequest, When
    from socialkit.schedule.states import PublicationState
    from socialkit.schedule.stores.base import Store

__all__ = ["Scheduler"]

log = logging.getLogger("socialkit.schedule")

T = TypeVar("T")


class Scheduler:
    """The sync twin of :class:`AsyncScheduler`; every method takes the same arguments.

    The async API stays reachable as :attr:`aio` (``await scheduler.aio.schedule(...)``).
    """

    def __init__(
        self,
        store: str | Store = "sqlite:///socialkit.db",
        *,
        registry: Registry | None = None,
        credentials: CredentialProvider | None = None,
        media: MediaStore | None = None,
        http: httpx.AsyncClient | None = None,
        clock: Clock | None = None,
        config: EngineConfig | None = None,
        approval: ApprovalPolicy | None = None,
        campaigns: Iterable[Campaign] = (),
        accounts: Iterable[Account] = (),
        workspace: str = "default",
    ) -> None:
        self.aio = AsyncScheduler(
            store,
            registry=registry,
            credentials=credentials,
            media=media,
            http=http,
            clock=clock,
            config=config,
            approval=approval,
            campaigns=campaigns,
            accounts=accounts,
            workspace=workspace,
        )
        # Its connections and locks belong to the background loop; awaited from an app's
        # own loop, scheduler.aio's calls run there.
        self.aio._home = Home("scheduler.aio", background_loop)
        self._worker: Future[RunStats] | None = None
        self._stop: asyncio.Event | None = None
        # start() and stop() from many threads at once (request handlers making sure the
        # worker runs): one worker, and stop() ends the one it sees.
        self._lifecycle = threading.Lock()

    def __repr__(self) -> str:
        return f"Scheduler({self.aio.store!r})"

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        return run_sync(coro)

    def __enter__(self) -> Scheduler:
        self._call(self.aio.open())
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        """Open the store (also done on first use)."""
        self._call(self.aio.open())

    def close(self) -> None:
        """Stop a background worker (gracefully) and close the store."""
        if self._worker is not None:
            self.stop()
        self._call(self.aio.close())

    # -- accounts -------------------------------------------------------------------------

    def add_account(self, account: Account) -> None:
        """Store (or update) an account."""
        self._call(self.aio.add_account(account))

    def accounts(self) -> builtins.list[AccountRecord]:
        """Stored accounts, with their status."""
        return self._call(self.aio.accounts())

    def reconnect(self, account_id: str, *, actor: str = "api") -> None:
        """Mark an account as working again after a person reconnected it."""
        self._call(self.aio.reconnect(account_id, actor=actor))

    # -- creating -------------------------------------------------------------------------

    def schedule(
        self,
        post: Post,
        accounts: AccountsArg,
        *,
        at: When,
        tz: str | None = None,
        campaign: str | None = None,
        key: str | None = None,
        grace: dt.timedelta | None = None,
        publish_late: bool | None = None,
        needs_approval: bool | None = None,
        actor: str = "api",
    ) -> builtins.list[Publication]:
        """Schedule ``post`` on each account at ``at`` (see :meth:`AsyncScheduler.schedule`)."""
        return self._call(
            self.aio.schedule(
                post,
                accounts,
                at=at,
                tz=tz,
                campaign=campaign,
                key=key,
                grace=grace,
                publish_late=publish_late,
                needs_approval=needs_approval,
                actor=actor,
            )
        )

    def schedule_many(
        self,
        requests: Iterable[ScheduleRequest],
        *,
        needs_approval: bool | None = None,
        actor: str = "api",
        chunk: int = 1000,
    ) -> builtins.list[str]:
        """Schedule many posts at once (see :meth:`AsyncScheduler.schedule_many`)."""
        return self._call(
            self.aio.schedule_many(
                requests, needs_approval=needs_approval, actor=actor, chunk=chunk
            )
        )

    def queue(
        self,
        post: Post,
        accounts: AccountsArg,
        *,
        campaign: str | None = None,
        key: str | None = None,
        needs_approval: bool | None = None,
        actor: str = "api",
    ) -> builtins.list[Publication]:
        """Add ``post`` to each account's next free posting slot."""
        return self._call(
            self.aio.queue(
                post,
                accounts,
                campaign=campaign,
                key=key,
                needs_approval=needs_approval,
                actor=actor,
            )
        )

    def recur(
        self,
        post: Post,
        accounts: AccountsArg,
        *,
        rrule: str,
        tz: str | None = None,
        start: When | None = None,
        campaign: str | None = None,
        grace: dt.timedelta | None = None,
        limit: int | None = None,
        needs_approval: bool | None = None,
        actor: str = "api",
    ) -> builtins.list[Rule]:
        """Publish ``post`` on every occurrence of ``rrule`` (see :meth:`AsyncScheduler.recur`)."""
        return self._call(
            self.aio.recur(
                post,
                accounts,
                rrule=rrule,
                tz=tz,
                start=start,
                campaign=campaign,
                grace=grace,
                limit=limit,
                needs_approval=needs_approval,
                actor=actor,
            )
        )

    def evergreen(
        self,
        post: Post,
        account: Account | str,
        *,
        first_at: When | None = None,
        every_days: int | None = None,
        every_slots: int | None = None,
        limit: int | None = None,
        campaign: str | None = None,
        needs_approval: bool | None = None,
        actor: str = "api",
    ) -> Rule:
        """Publish ``post`` and bring it back every N days or slots."""
        return self._call(
            self.aio.evergreen(
                post,
                account,
                first_at=first_at,
                every_days=every_days,
                every_slots=every_slots,
                limit=limit,
                campaign=campaign,
                needs_approval=needs_approval,
                actor=actor,
            )
        )

    def stop_rule(
        self,
        rule_id: str,
        *,
        actor: str = "api",
        cancel: bool = False,
        reason: str | None = None,
    ) -> int:
        """Stop a rule from creating more publications; with ``cancel``, cancel those it
        made that were not sent yet (returns how many)."""
        return self._call(self.aio.stop_rule(rule_id, actor=actor, cancel=cancel, reason=reason))

    def rules(self, *, active: bool | None = None) -> builtins.list[Rule]:
        """This workspace's rules."""
        return self._call(self.aio.rules(active=active))

    # -- people ---------------------------------------------------------------------------

    def approve(
        self,
        publication_id: str,
        *,
        actor: str,
        revision: str | None = None,
        comment: str | None = None,
    ) -> Publication:
        """Approve a pending publication's current revision."""
        return self._call(
            self.aio.approve(publication_id, actor=actor, revision=revision, comment=comment)
        )

    def reject(
        self,
        publication_id: str,
        *,
        actor: str,
        comment: str | None = None,
        revision: str | None = None,
    ) -> Publication:
        """Reject a pending publication (back to ``draft``); with ``revision``, only if
        it was not edited since that revision was reviewed."""
        return self._call(
            self.aio.reject(publication_id, actor=actor, comment=comment, revision=revision)
        )

    def edit(self, publication_id: str, post: Post, *, actor: str = "api") -> Publication:
        """Replace a publication's content with a new revision."""
        return self._call(self.aio.edit(publication_id, post, actor=actor))

    def cancel(
        self, publication_id: str, *, actor: str = "api", reason: str | None = None
    ) -> Publication:
        """Cancel a publication that was not sent."""
        return self._call(self.aio.cancel(publication_id, actor=actor, reason=reason))

    def delete(
        self, publication_id: str, *, actor: str = "api", reason: str | None = None
    ) -> Publication:
        """Take a published post down on its platform; the publication becomes ``deleted``."""
        return self._call(self.aio.delete(publication_id, actor=actor, reason=reason))

    def reschedule(
        self, publication_id: str, *, at: When, tz: str | None = None, actor: str = "api"
    ) -> Publication:
        """Move a publication to another time."""
        return self._call(self.aio.reschedule(publication_id, at=at, tz=tz, actor=actor))

    def resolve(
        self,
        publication_id: str,
        *,
        published: Receipt | None = None,
        retry: bool = False,
        abandon: bool = False,
        actor: str = "api",
        reason: str | None = None,
    ) -> Publication:
        """Settle an ``unknown`` publication; ``abandon=True`` also gives up a half-sent
        thread's unfinished delete (see :meth:`AsyncScheduler.resolve`)."""
        return self._call(
            self.aio.resolve(
                publication_id,
                published=published,
                retry=retry,
                abandon=abandon,
                actor=actor,
                reason=reason,
            )
        )

    def pause(
        self,
        *,
        account: str | None = None,
        campaign: str | None = None,
        actor: str = "api",
        reason: str | None = None,
    ) -> int:
        """The crisis switch: stop claims for everything, an account or a campaign.

        Returns how many publications were held. A campaign nothing has yet is paused
        too, with a warning logged (see :meth:`AsyncScheduler.pause`)."""
        return self._call(
            self.aio.pause(account=account, campaign=campaign, actor=actor, reason=reason)
        )

    def resume(
        self,
        *,
        account: str | None = None,
        campaign: str | None = None,
        actor: str = "api",
        reason: str | None = None,
    ) -> int:
        """Flip a pause switch off; returns how many publications it no longer holds
        (``scheduled`` again, at their own due times; one another switch still covers
        stays ``paused`` and is not counted)."""
        return self._call(
            self.aio.resume(account=account, campaign=campaign, actor=actor, reason=reason)
        )

    def pauses(self) -> builtins.list[PauseScope]:
        """The pause switches that are on."""
        return self._call(self.aio.pauses())

    def clear_rate_limit(
        self, account: str, *, actor: str = "api", reason: str | None = None
    ) -> RateLimitCleared:
        """Lift one account's rate-limit hold now (see :meth:`AsyncScheduler.clear_rate_limit`):
        its budgets forgotten and its publications waiting for the limit due at once, in
        one transaction; returns what was lifted (``lifted`` ``False``: nothing)."""
        return self._call(self.aio.clear_rate_limit(account, actor=actor, reason=reason))

    # -- reading --------------------------------------------------------------------------

    def get(self, publication_id: str, *, history: bool = True) -> Publication:
        """One publication, with its history."""
        return self._call(self.aio.get(publication_id, history=history))

    def list(
        self,
        *,
        state: PublicationState | str | Iterable[PublicationState | str] | None = None,
        campaign: str | None = None,
        account: str | None = None,
        rule: str | None = None,
        between: tuple[dt.datetime, dt.datetime] | None = None,
        cursor: str | None = None,
        limit: int = 100,
        attention: str | None = None,
        include_post: bool = False,
    ) -> Page:
        """One page of publications by due time (``page.next_cursor``)."""
        return self._call(
            self.aio.list(
                state=state,
                campaign=campaign,
                account=account,
                rule=rule,
                between=between,
                cursor=cursor,
                limit=limit,
                attention=attention,
                include_post=include_post,
            )
        )

    def events(self, *, since: int = 0, limit: int = 1000) -> builtins.list[Event]:
        """Events after ``since`` from the durable log."""
        return self._call(self.aio.events(since=since, limit=limit))

    def follow(self, *, since: int = 0, batch: int = 500) -> Iterator[Event]:
        """Every event after ``since``, blocking for new ones (a sync iterator).

        Raises:
            TypeError: ``since`` or ``batch`` is not a whole number (``"5"``, ``True``,
                ``1.5``), as ``events()`` refuses them.
            ValueError: ``since`` below 0 or ``batch`` below 1.
        """
        # Checked at the call, as AsyncScheduler.follow checks its cursor, not at the
        # first next(): since="5" raised a bare comparison error there, and True or 1.5
        # were taken as a cursor.
        check_whole(since, "since", "an event seq")
        check_whole(batch, "batch", "how many events to read at a time")
        if batch < 1:
            raise ValueError(f"batch: must be at least 1 event (got {batch})")
        if since < 0:
            raise ValueError(f"since: an event seq is 0 or more (got {since})")
        return self._follow(since, batch)

    def _follow(self, since: int, batch: int) -> Iterator[Event]:
        # Subscribed before the first page is read, for as long as it is followed: a
        # change committed between reading a page and waiting wakes the wait at once
        # (subscribing after each page missed it, and the event waited for the poll).
        changed = threading.Event()
        unsubscribe = self._call(self._subscribe(changed.set))
        try:
            cursor = since
            while True:
                changed.clear()
                found, cursor = self._call(self.aio._events_page(cursor, batch))
                yield from found
                if len(found) < batch:
                    # Real time, not the engine's clock: a consumer polling a log.
                    changed.wait(1.0)
        finally:
            unsubscribe()

    async def _subscribe(self, callback: Callable[[], None]) -> Callable[[], None]:
        s = await self.aio._s()
        return s.store.subscribe(callback)

    def metrics(
        self,
        *,
        publication: str | None = None,
        account: str | None = None,
        campaign: str | None = None,
    ) -> builtins.list[MetricSnapshot]:
        """The stored metric series."""
        return self._call(
            self.aio.metrics(publication=publication, account=account, campaign=campaign)
        )

    def next_due(self) -> dt.datetime | None:
        """When the engine next has something to do (``None``: nothing pending)."""
        return self._call(self.aio.next_due())

    # -- running --------------------------------------------------------------------------

    def run(self, *, until_idle: bool = False) -> RunStats:
        """Run a worker in this thread until SIGTERM/SIGINT (or, with ``until_idle``,
        until nothing is due now, or such a signal comes first). Stopping is graceful:
        unsent claims are handed back and in-flight publishes finish."""
        stop = self._call(new_event())
        loop = background_loop()
        # until_idle too: a cron job's timeout (SIGTERM) killed the process mid-publish,
        # its claims left to their leases and its sends to reconciliation.
        restore = _install_signals(lambda: loop.call_soon_threadsafe(stop.set))
        future = asyncio.run_coroutine_threadsafe(
            self.aio.run(until_idle=until_idle, stop=stop), loop
        )
        try:
            while True:
                try:
                    return future.result(timeout=0.5)
                except TimeoutError:
                    continue
                except KeyboardInterrupt:
                    loop.call_soon_threadsafe(stop.set)
        finally:
            restore()

    def start(self) -> None:
        """Run a worker on the background loop and return at once (``stop()`` ends it).

        Safe from many threads at once: a worker already running is kept. A worker that
        ends with an error (it does not, short of a bug) says so in the log.
        """
        with self._lifecycle:
            if self._worker is not None and not self._worker.done():
                return
            stop = self._call(new_event())
            worker = asyncio.run_coroutine_threadsafe(self.aio.run(stop=stop), background_loop())
            worker.add_done_callback(_report_worker_end)
            self._stop, self._worker = stop, worker
            # At interpreter exit (the script ends, Ctrl-C) the worker stops gracefully
            # first: in-flight publishes finish instead of being cut off mid-call.
            atexit.register(self._stop_at_exit)

    def stop(self, timeout: float | None = None) -> RunStats | None:
        """Stop the background worker gracefully and wait for it.

        Returns its :class:`RunStats` (``None`` when no worker was started).

        Raises:
            TimeoutError: the worker did not finish within ``timeout`` seconds. It is
                still stopping: call ``stop()`` (or :meth:`close`) again to wait for it.
        """
        with self._lifecycle:
            worker, stop = self._worker, self._stop
        if worker is None or stop is None:
            return None
        atexit.unregister(self._stop_at_exit)
        loop = background_loop()
        loop.call_soon_threadsafe(stop.set)
        if _on_loop(loop):
            # Called from socialkit's own loop (a hook, an adapter): waiting here would
            # stop the loop the worker needs to finish. It is told to stop; it ends soon.
            return None
        try:
            return worker.result(timeout=timeout)
        finally:
            with self._lifecycle:
                if worker.done() and self._worker is worker:  # not after a timeout
                    self._worker = self._stop = None

    def _stop_at_exit(self) -> None:
        with contextlib.suppress(Exception):
            self.stop(timeout=self.aio.config.shutdown_timeout.total_seconds() + 5)

    async def serve(self, *, signals: bool = True) -> RunStats:
        """Run a worker from async code until SIGTERM/SIGINT, then stop gracefully.

        The worker runs on socialkit's background loop; the caller's loop only waits.
        Handlers the app had for those signals still run, and are back in place after;
        ``signals=False`` installs none (an app that handles them itself cancels the
        ``serve()`` task instead, which stops the worker the same way).
        """
        return await self.aio.serve(signals=signals)


def _on_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def _report_worker_end(worker: Future[RunStats]) -> None:
    if not worker.cancelled() and worker.exception() is not None:
        log.error("the background worker ended with an error", exc_info=worker.exception())


def _install_signals(handler: Any) -> Any:
    """Route SIGTERM/SIGINT to ``handler`` while a worker runs in the main thread."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = {}
    for sig in (signal.SIGTERM, signal.SIGINT):
        previous[sig] = signal.signal(sig, lambda *_: handler())

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)

    return restore
