"""The scheduling engine's async API: :class:`AsyncScheduler`.

Example::

    async with AsyncScheduler("sqlite:///socialkit.db") as scheduler:
        await scheduler.schedule(post, account, at="2026-12-01 09:00", tz="Asia/Tehran")
        await scheduler.run(until_idle=True)

:class:`socialkit.Scheduler` is the same API for synchronous code.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from socialkit.schedule._arguments import (
    AccountsArg,
    ScheduleRequest,
    When,
    check_actor,
    check_between,
    check_cursor,
    check_filter,
    check_note,
    check_page_cursor,
    check_post,
    check_revision,
    check_tz,
    check_whole,
    checked_occurrence,
    pause_scope,
    states_of,
)
from socialkit.schedule._home import at_home, run_at
from socialkit.schedule._planning import Planning
from socialkit.schedule._signals import on_signals
from socialkit.schedule.engine import actions
from socialkit.schedule.engine.events import events_page, follow_pages
from socialkit.schedule.engine.grace import PastGracePeriod
from socialkit.schedule.engine.worker import RunStats, Worker
from socialkit.schedule.publication import RateLimitCleared
from socialkit.schedule.records import PublicationQuery
from socialkit.schedule.states import ATTENTION, PublicationState

if TYPE_CHECKING:
    import builtins
    import datetime as dt
    from collections.abc import AsyncIterator, Iterable

    from socialkit.models.content import Post
    from socialkit.models.metrics import MetricSnapshot
    from socialkit.models.receipt import Receipt
    from socialkit.schedule.publication import Event, Page, PauseScope, Publication


__all__ = ["AccountsArg", "AsyncScheduler", "PastGracePeriod", "ScheduleRequest", "When"]


class AsyncScheduler(Planning):
    """Schedules posts on accounts and runs the engine that publishes them.

    Args:
        store: a store URL (``sqlite:///socialkit.db``, ``memory://``,
            ``postgresql://…``) or a :class:`Store`.
        registry: where platforms come from; the process-wide registry by default.
        credentials: the credential provider; environment variables by default.
        media: the media store; the default one by default.
        http: an ``httpx.AsyncClient`` for adapters; a pooled one by default.
        clock: the engine's clock (:class:`ManualClock` in tests).
        config: engine settings (:class:`EngineConfig`).
        approval: which publications need approval (:class:`OnRequest` by default:
            those scheduled with ``needs_approval=True``, one approver).
        campaigns: campaigns whose UTM parameters apply to their posts.
        accounts: accounts to store when the scheduler opens.
        workspace: the tenant this scheduler acts in.
    """

    # -- people ---------------------------------------------------------------------------

    @at_home
    async def approve(
        self,
        publication_id: str,
        *,
        actor: str,
        revision: str | None = None,
        comment: str | None = None,
    ) -> Publication:
        """Approve a pending publication's current revision (see :func:`actions.approve`).

        Only approvals of the current revision since the latest rejection and the
        latest edit count; an approval given at the same moment as another one is
        retried, so both count.

        Raises:
            StaleTransition: it is no longer pending approval, it was edited since
                ``revision``, or ``actor`` already approved its current revision (each
                person counts once; nothing is recorded).
            ValueError: ``revision`` is not a full revision hash (a prefix is refused:
                the approval binds to the exact content), or ``actor`` is blank.
        """
        check_actor(actor)
        check_note(comment, "comment")
        check_revision(revision)
        return await actions.approve(
            await self._own(publication_id),
            publication_id,
            actor=actor,
            revision=revision,
            comment=comment,
        )

    @at_home
    async def reject(
        self,
        publication_id: str,
        *,
        actor: str,
        comment: str | None = None,
        revision: str | None = None,
    ) -> Publication:
        """Reject a pending publication: it goes back to ``draft``.

        Raises:
            StaleTransition: it is no longer pending approval, or it was edited since
                ``revision`` (the revision the person reviewed): nothing is recorded, as
                for :meth:`approve`.
            ValueError: ``revision`` is not a full revision hash, or ``actor`` is blank.
        """
        check_actor(actor)
        check_note(comment, "comment")
        check_revision(revision)
        return await actions.reject(
            await self._own(publication_id),
            publication_id,
            actor=actor,
            comment=comment,
            revision=revision,
        )

    @at_home
    async def edit(self, publication_id: str, post: Post, *, actor: str = "api") -> Publication:
        """Replace the content (a new revision; approval again when the policy says so).

        Raises:
            InvalidPost: the new content breaks the account's platform limits (as for
                :meth:`schedule`); nothing changes.
            StaleTransition: it was sent, or edited by someone else meanwhile.
        """
        check_post(post)
        check_actor(actor)
        s = await self._s()
        current = await self._read(s, publication_id)
        account = await s.account(current.workspace, current.account_id)
        s.check_post(s.revision_of(post), post, account, current.campaign)
        return await actions.edit(s, publication_id, post, actor=actor, policy=self.approval)

    @at_home
    async def cancel(
        self, publication_id: str, *, actor: str = "api", reason: str | None = None
    ) -> Publication:
        """Cancel a publication that was not sent.

        Raises:
            StaleTransition: it was sent, or it is a thread whose first parts are already
                on the platform (the message names them): let it publish the rest, then
                :meth:`delete` it. A thread whose delete did not finish (attention
                ``deleting``) is given up with :meth:`resolve` ``(abandon=True)``.
        """
        check_actor(actor)
        check_note(reason, "reason")
        return await actions.cancel(
            await self._own(publication_id), publication_id, actor=actor, reason=reason
        )

    @at_home
    async def delete(
        self, publication_id: str, *, actor: str = "api", reason: str | None = None
    ) -> Publication:
        """Take a published post down on its platform; the publication becomes ``deleted``.

        The platform is asked first, one part at a time, the last part first: if it
        refuses (:class:`~socialkit.errors.Unsupported` where it cannot delete, a
        permission error, a network error), the error is raised and the publication
        stays as it was. A half-sent thread (``paused`` or ``failed``) refused part way
        stays marked ``deleting`` with the parts already gone recorded in its history;
        deleting it again asks only for the rest, and :meth:`resolve`
        ``(abandon=True)`` gives it up. Its receipts and history stay in the store.
        """
        check_actor(actor)
        check_note(reason, "reason")
        return await actions.delete(
            await self._own(publication_id), publication_id, actor=actor, reason=reason
        )

    @at_home
    async def reschedule(
        self, publication_id: str, *, at: When, tz: str | None = None, actor: str = "api"
    ) -> Publication:
        """Move a publication to another time (in ``tz``, or its own zone).

        Raises:
            PastGracePeriod: ``at`` is already past the publication's grace period (it
                would be missed at once); nothing changes. Not for one that may publish
                late, was sent before (a failed one) or is a rule's occurrence.
        """
        check_tz(tz)
        check_actor(actor)
        s = await self._s()
        current = await self._read(s, publication_id)
        occurrence = checked_occurrence("at", at, tz or current.zone)
        return await actions.reschedule(
            s,
            publication_id,
            due_at=occurrence.due_at,
            local_time=occurrence.local,
            zone=occurrence.zone,
            actor=actor,
        )

    @at_home
    async def resolve(
        self,
        publication_id: str,
        *,
        published: Receipt | None = None,
        retry: bool = False,
        abandon: bool = False,
        actor: str = "api",
        reason: str | None = None,
    ) -> Publication:
        """Settle an ``unknown`` publication: ``published=receipt``, ``retry=True`` or
        ``abandon=True``.

        ``abandon=True`` also gives up the unfinished delete of a half-sent thread
        (attention ``deleting``): a ``paused`` one becomes ``cancelled``, a ``failed`` one
        stays ``failed``; the mark comes off, its checkpoints, receipts and history stay,
        and nothing sends the rest.

        Raises:
            ValueError: not exactly one decision; a receipt of another platform or
                account than the publication's, or naming fewer parts than its thread.
            TypeError: ``retry``/``abandon`` not a bool, ``published`` not a Receipt.
            StaleTransition: it is neither ``unknown`` nor marked ``deleting`` (that one
                with ``abandon=True`` only).
        """
        check_actor(actor)
        check_note(reason, "reason")
        return await actions.resolve(
            await self._own(publication_id),
            publication_id,
            actor=actor,
            published=published,
            retry=retry,
            abandon=abandon,
            reason=reason,
        )

    @at_home
    async def pause(
        self,
        *,
        account: str | None = None,
        campaign: str | None = None,
        actor: str = "api",
        reason: str | None = None,
    ) -> int:
        """Stop claims for everything, one account or one campaign, from the next claim.

        Returns how many publications were held; each is a state change for the hooks.

        A campaign may be paused before its first publication: the switch is stored and
        holds each of its publications as it is made. When neither the scheduler's
        ``campaigns``, nor a publication or a rule of the workspace has that campaign
        (a typo, perhaps), the pause is made and a warning is logged on the
        ``socialkit.schedule`` logger, naming the campaigns the store has.

        Raises:
            StoreError: ``account`` is not stored in this workspace (a typo would leave a
                switch on that holds nothing).
        """
        check_actor(actor)
        check_note(reason, "reason")
        s = await self._s()
        if account is not None:
            await self._stored_account(s, account, "account")
        moved = await s.store.pause(
            pause_scope(self.workspace, account, campaign, actor, reason), now=s.clock.now()
        )
        s.forget_pauses()  # what this process creates next is held (or not) at once
        s.notifier.moved(moved)
        if campaign is not None and not moved:
            await self._note_unknown_campaign(s, campaign)
        return len(moved)

    @at_home
    async def resume(
        self,
        *,
        account: str | None = None,
        campaign: str | None = None,
        actor: str = "api",
        reason: str | None = None,
    ) -> int:
        """Flip a pause switch off; returns how many publications it no longer holds
        (each a state change for the hooks): they are ``scheduled`` again and keep their
        own due times, which may be days ahead. One that another switch still covers
        stays ``paused`` and is not counted."""
        check_actor(actor)
        check_note(reason, "reason")
        s = await self._s()
        moved = await s.store.resume(
            pause_scope(self.workspace, account, campaign, actor, reason), now=s.clock.now()
        )
        s.forget_pauses()  # what this process creates next is held (or not) at once
        s.notifier.moved(moved)
        return len(moved)

    @at_home
    async def pauses(self) -> builtins.list[PauseScope]:
        """The pause switches that are on."""
        s = await self._s()
        return await s.store.pauses(workspace=self.workspace)

    @at_home
    async def clear_rate_limit(
        self, account: str, *, actor: str = "api", reason: str | None = None
    ) -> RateLimitCleared:
        """Lift one account's rate-limit hold now, before its reset: for when a person
        knows better than the platform's figures (it lifted a block; a ``Retry-After``
        of a day was wrong).

        In one store transaction, the account's budgets (every scope) are forgotten
        until its adapter reports the next one, and its publications waiting in
        ``retry_wait`` because they met the limit (their last error ``RateLimited``)
        are due at once, as are its metric collections waiting for the limit (put back
        until the hold's end, or their own collection met it); one waiting on another
        error's backoff keeps its time, and an account waiting for a person keeps
        waiting.
        Workers sleeping until the reset wake, in this process and in others on the
        same store. When either happened the event log records it
        (``rate_limit_cleared``, with ``actor``, ``reason``, and in ``data`` the
        budgets forgotten and the publications released).

        Returns what was lifted: until when the budgets held the account, their
        scopes, the publications released and how many metric collections (``lifted``
        is ``False`` when there was nothing to lift).

        Raises:
            StoreError: ``account`` is not stored in this workspace.
        """
        check_actor(actor)
        check_note(reason, "reason")
        s = await self._s()
        await self._stored_account(s, account, "account")
        now = s.clock.now()
        cleared = await s.store.clear_budget(
            self.workspace, account, now=now, actor=actor, reason=reason
        )
        return RateLimitCleared(
            account_id=account,
            held_until=max(
                (until for b in cleared.budgets if (until := b.blocks(now))), default=None
            ),
            scopes=tuple(b.scope for b in cleared.budgets),
            released=cleared.released,
            metrics_released=cleared.metrics_released,
        )

    # -- reading --------------------------------------------------------------------------

    @at_home
    async def get(self, publication_id: str, *, history: bool = True) -> Publication:
        """One publication with its post, receipts and (by default) history."""
        s = await self._s()
        return await self._read(s, publication_id, history=history)

    @at_home
    async def list(
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
        """Publications by due time, one page at a time (``page.next_cursor``).

        ``between`` is a ``(start, end)`` pair of aware datetimes (due times);
        ``attention`` is why a person is needed: ``reconcile``, ``reauth``, ``delete`` or
        ``deleting`` (a delete of a half-sent thread that did not finish).
        ``include_post`` fills in each publication's pinned post.

        Raises:
            ValueError: a ``limit`` below 1, an unknown ``state`` or ``attention``, or
                a ``between`` that is naive or ends before it starts.
            StoreError: ``cursor`` is not a page's ``next_cursor`` (the message names
                ``cursor`` and the value given).
            TypeError: ``cursor``, ``campaign``, ``account`` or ``rule`` is not text,
                ``between`` is not a pair of datetimes, or ``state`` is neither a state
                nor several.
        """
        check_page_cursor(cursor)
        check_whole(limit, "limit", "how many publications per page")
        if limit < 1:
            raise ValueError(f"limit: must be at least 1 publication per page (got {limit})")
        if attention is not None and attention not in ATTENTION:
            raise ValueError(
                f"attention: unknown reason {attention!r} (one of {', '.join(ATTENTION)})"
            )
        check_filter(campaign, "campaign", "a campaign's id")
        check_filter(account, "account", "an account's id")
        check_filter(rule, "rule", "a rule's id")
        if between is not None:
            check_between(between)
        states = states_of(state)
        s = await self._s()
        return await s.store.list_publications(
            PublicationQuery(
                states=states,
                workspace=self.workspace,
                campaign=campaign,
                account_id=account,
                rule_id=rule,
                attention=attention,
                between=between,
                cursor=cursor,
                limit=limit,
                include_post=include_post,
            )
        )

    @at_home
    async def events(self, *, since: int = 0, limit: int = 1000) -> builtins.list[Event]:
        """Events after ``since`` from the durable log, at most ``limit`` of them: this
        scheduler's workspace's only (another tenant's never reach its consumers)."""
        check_cursor(since, limit)
        s = await self._s()
        return await s.store.events(since=since, limit=limit, workspace=self.workspace)

    @at_home
    async def _events_page(self, since: int, limit: int) -> tuple[builtins.list[Event], int]:
        """A page of this workspace's events and the cursor to read on from (see
        :func:`~socialkit.schedule.engine.events.events_page`)."""
        s = await self._s()
        return await events_page(s.store, since=since, limit=limit, workspace=self.workspace)

    async def follow(
        self, *, since: int = 0, stop: asyncio.Event | None = None
    ) -> AsyncIterator[Event]:
        """Every event after ``since`` of this scheduler's workspace, waiting for new ones
        (``async for``, from any loop)."""
        check_cursor(since, 1)
        await self.open()
        assert self._services is not None
        async for event in follow_pages(
            self._events_page, self._services.store.subscribe, since=since, stop=stop
        ):
            yield event

    @at_home
    async def metrics(
        self,
        *,
        publication: str | None = None,
        account: str | None = None,
        campaign: str | None = None,
    ) -> builtins.list[MetricSnapshot]:
        """The stored metric series (oldest first) for a publication, account or campaign."""
        s = await self._s()
        return await s.store.metric_series(
            publication_id=publication,
            account_id=account,
            campaign=campaign,
            workspace=self.workspace,
        )

    @at_home
    async def next_due(self) -> dt.datetime | None:
        """When the engine next has something to do (``None``: nothing pending).

        A post whose account is at its in-flight limit (``EngineConfig.per_account``:
        a publish under way, an ``unknown`` outcome not settled yet) is not counted as
        due before its account can be free: the end of that lease, or the time of that
        reconciliation."""
        from socialkit.schedule.engine.worker import next_due

        s = await self._s()
        return await next_due(s.store, s.clock.now(), s.config.per_account)

    # -- running --------------------------------------------------------------------------

    async def run(self, *, until_idle: bool = False, stop: asyncio.Event | None = None) -> RunStats:
        """Run the engine: forever (until ``stop`` is set), or until nothing is due now.

        Awaited on another loop than the scheduler's, it runs on the scheduler's loop and
        ``stop`` (an event of the caller's loop) or cancelling the caller stops it
        gracefully.
        """
        home = self._home.elsewhere()
        if home is not None:
            return await run_at(
                home, lambda there: self.run(until_idle=until_idle, stop=there), stop
            )
        s = await self._s()
        return await Worker(s).run(until_idle=until_idle, stop=stop)

    async def serve(self, stop: asyncio.Event | None = None, *, signals: bool = True) -> RunStats:
        """Run until SIGTERM or SIGINT (or ``stop``), then stop gracefully: claims not
        yet sent are handed back, in-flight publishes finish.

        Handlers the app had for those signals (``signal.signal`` or the loop's own) still
        run, and are back in place after; ``signals=False`` installs none.
        """
        stop = stop or asyncio.Event()
        with on_signals(stop.set, enabled=signals):
            return await self.run(stop=stop)
