"""The scheduling engine's async API: :class:`AsyncScheduler`.

Example::

    async with AsyncScheduler("sqlite:///socialkit.db") as scheduler:
        await scheduler.schedule(post, account, at="2026-12-01 09:00", tz="Asia/Tehran")
        await scheduler.run(until_idle=True)

:class:`socialkit.Scheduler` is the same API for synchronous code.
"""

from __future__ import annotations

import asyncio
import builtins
import collections
import contextlib
import datetime as dt
import functools
import signal
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import attrs

from socialkit.errors import ConfigError, InvalidPost, StoreError
from socialkit.models.account import Account
from socialkit.models.content import Post
from socialkit.schedule._home import Home, at_home, run_at
from socialkit.schedule.approval import OnRequest
from socialkit.schedule.engine import actions
from socialkit.schedule.engine.clock import SystemClock
from socialkit.schedule.engine.config import EngineConfig
from socialkit.schedule.engine.events import Notifier, events_page, follow_pages
from socialkit.schedule.engine.grace import PastGracePeriod, age, refuse_missed
from socialkit.schedule.engine.grace import past_grace as _past_grace
from socialkit.schedule.engine.materialise import materialise
from socialkit.schedule.engine.services import Services
from socialkit.schedule.engine.worker import RunStats, Worker
from socialkit.schedule.publication import PauseScope
from socialkit.schedule.records import NewPublication, PublicationQuery
from socialkit.schedule.recurring import Rule
from socialkit.schedule.rules import Occurrence, Recurrence, Recycling, next_free_slot, parse_local
from socialkit.schedule.states import ACTIVE_STATES, PublicationState
from socialkit.schedule.stores import store_from_url
from socialkit.schedule.stores._common import new_id
from socialkit.schedule.time.zones import resolve_zone

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterator
    from zoneinfo import ZoneInfo

    import httpx

    from socialkit.models.campaign import Campaign
    from socialkit.models.media_store import MediaStore
    from socialkit.models.metrics import MetricSnapshot
    from socialkit.models.receipt import Receipt
    from socialkit.platforms.credentials import CredentialProvider
    from socialkit.platforms.registry import Registry
    from socialkit.schedule.approval import ApprovalPolicy
    from socialkit.schedule.engine.clock import Clock
    from socialkit.schedule.publication import Event, Page, Publication
    from socialkit.schedule.records import AccountRecord
    from socialkit.schedule.stores.base import Store

__all__ = ["AccountsArg", "AsyncScheduler", "PastGracePeriod", "ScheduleRequest", "When"]

S = PublicationState
AccountsArg = Account | str | Iterable[Account | str]
"""One account or several: :class:`Account` objects of the scheduler's workspace (stored as
given) or ids of stored ones."""
When = dt.datetime | dt.date | str
"""A moment: an aware datetime, or a local wall time (naive datetime or ``"2026-12-01 09:00"``)
read in ``tz`` (or each account's own zone); a date is its local midnight, as ``"2026-12-01"``
is."""


@attrs.frozen(kw_only=True, slots=True)
class ScheduleRequest:
    """One entry of :meth:`AsyncScheduler.schedule_many`: a post, its accounts, a moment."""

    post: Post
    accounts: AccountsArg
    at: When
    tz: str | None = None
    campaign: str | None = None
    key: str | None = None


class AsyncScheduler:
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
        self.store: Store = store_from_url(store) if isinstance(store, str) else store
        self.clock: Clock = clock or SystemClock()
        self.config = config or EngineConfig()
        self.approval: ApprovalPolicy = approval or OnRequest()
        self.workspace = workspace
        self._registry = registry
        self._credentials = credentials
        self._media = media
        self._http = http
        self._campaigns = {c.id: c for c in campaigns}
        self._initial_accounts = tuple(accounts)
        for index, account in enumerate(self._initial_accounts):
            self._check_workspace(account, f"accounts[{index}]")
        self._services: Services | None = None
        self._open_lock = asyncio.Lock()
        # One per (workspace, account): picking a free posting slot and inserting the
        # post into it happen under it, so two queue() calls never take the same slot.
        self._slot_locks: dict[tuple[str, str], asyncio.Lock] = {}
        # The loop this scheduler's connections and locks belong to (see _home).
        self._home = Home("this AsyncScheduler")

    def __repr__(self) -> str:
        return f"AsyncScheduler({self.store!r}, worker={self.config.worker_id!r})"

    # -- lifecycle ------------------------------------------------------------------------

    @at_home
    async def open(self) -> None:
        """Open the store (migrating it) and store the initial accounts. Idempotent."""
        async with self._open_lock:
            if self._services is not None:
                return
            from socialkit.models.media_store import default_media_store
            from socialkit.platforms.credentials import EnvCredentialProvider
            from socialkit.platforms.registry import get_registry

            registry = self._registry or get_registry()
            await self.store.open()
            self._services = Services(
                store=self.store,
                registry=registry,
                credentials=self._credentials or EnvCredentialProvider(),
                media=self._media or default_media_store(),
                clock=self.clock,
                config=self.config,
                notifier=Notifier(registry),
                campaigns=self._campaigns,
                http_client=self._http,
            )
            for account in self._initial_accounts:
                await self.store.put_account(account, now=self.clock.now())

    @at_home
    async def close(self) -> None:
        """Close the HTTP client (if it is ours) and the store."""
        services, self._services = self._services, None
        if services is not None:
            await services.aclose()
            await self.store.close()
        self._home.release()

    async def __aenter__(self) -> AsyncScheduler:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _s(self) -> Services:
        if self._services is None:
            await self.open()
        assert self._services is not None
        return self._services

    # -- accounts -------------------------------------------------------------------------

    def _check_workspace(self, account: Account, field: str) -> None:
        """Refuse an account of another workspace: stored, it would replace that tenant's
        account; scheduled, its publications would be another tenant's (not in this
        scheduler's ``list()``, not held by its ``pause()``, yet published)."""
        if account.workspace != self.workspace:
            raise ConfigError(
                f"{field}: account {account.id!r} is in workspace {account.workspace!r}, "
                f"and this scheduler acts in {self.workspace!r}; use a Scheduler "
                f"with workspace={account.workspace!r}"
            )

    @at_home
    async def add_account(self, account: Account) -> None:
        """Store (or update) an account. Its credentials stay with the provider.

        Raises:
            ConfigError: the account is another workspace's.
        """
        self._check_workspace(account, "account")
        s = await self._s()
        await s.store.put_account(account, now=s.clock.now())
        s.forget_account(account.workspace, account.id)
        s._stored_accounts.put((account.workspace, account.id), account)

    @at_home
    async def accounts(self) -> builtins.list[AccountRecord]:
        """Stored accounts of this workspace, with their status."""
        s = await self._s()
        return await s.store.list_accounts(workspace=self.workspace)

    @at_home
    async def reconnect(self, account_id: str, *, actor: str = "api") -> None:
        """Mark an account as working again after a person reconnected it; its
        waiting publications become due."""
        s = await self._s()
        await s.store.set_account_status(
            account_id,
            "ok",
            now=s.clock.now(),
            workspace=self.workspace,
            reason=f"reconnected by {actor}",
            actor=actor,
        )
        s.forget_account(self.workspace, account_id)

    async def _accounts(self, accounts: AccountsArg) -> builtins.list[Account]:
        s = await self._s()
        items = _account_items(accounts, "accounts")
        _check_accounts(items, "accounts")
        out = []
        for item in items:
            if isinstance(item, Account):
                self._check_workspace(item, "accounts")
                await s.store_account(item)
                out.append(item)
            else:
                out.append(await s.account(self.workspace, item))
        return out

    def _in_workspace(self, publication: Publication) -> Publication:
        """``publication``, unless it is another workspace's: then, as for an unknown id,
        :class:`StoreError` (a tenant's scheduler neither reads nor moves another's)."""
        if publication.workspace != self.workspace:
            raise StoreError(f"no publication {publication.id!r} in workspace {self.workspace!r}")
        return publication

    async def _own(self, publication_id: str) -> Services:
        """The services, once ``publication_id`` is known to be this workspace's."""
        s = await self._s()
        self._in_workspace(await s.store.get(publication_id))
        return s

    # -- creating publications ------------------------------------------------------------

    @at_home
    async def schedule(
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
        """Schedule ``post`` on each account at one moment: one publication per account.

        Args:
            post: the content (pinned by its revision hash).
            accounts: one account or several.
            at: an aware datetime, or a local wall time read in ``tz`` — or, without
                ``tz``, in each account's own zone ("09:00 wherever each account is").
            tz: an IANA zone.
            campaign: the campaign id (defaults to ``post.campaign``).
            key: an idempotency key: scheduling again with the same key and account
                returns the existing publication instead of a second one. Keys are a
                workspace's own: another tenant's same key makes its own publication.
            grace: how late it may still start (default: the engine's).
            publish_late: past the grace period, publish anyway instead of ``missed``.
            needs_approval: ask the approval policy for approval.
            actor: who did it, for the history.

        Raises:
            ValueError: an unreadable ``at``, an unknown ``tz`` or a negative ``grace``,
                named in the message (``PastGracePeriod`` for a moment already past its
                grace period).
            ConfigError: no account, an account given twice, or one of another workspace.
            StoreError: an account id that is not stored in this workspace.
            InvalidPost: the post breaks an account's platform limits (every problem is
                in ``problems``); nothing is stored. See :meth:`Services.check_post
                <socialkit.schedule.engine.services.Services.check_post>` for which
                limits are known before the post is sent.
            TypeError: an argument of the wrong type (``post`` not a :class:`Post`,
                ``accounts`` not accounts or ids, ``at`` not a moment, ``grace`` not a
                timedelta), named in the message with the value given.
        """
        _check_post(post)
        _check_tz(tz)
        _check_grace(grace)
        targets = await self._accounts(accounts)
        moments = {a.id: _moment_of("at", at, tz or a.timezone) for a in targets}
        return await self._create(
            post,
            targets,
            lambda account: moments[account.id],
            campaign=campaign,
            key=key,
            grace=grace,
            publish_late=publish_late,
            needs_approval=needs_approval,
            actor=actor,
        )

    @at_home
    async def schedule_many(
        self,
        requests: Iterable[ScheduleRequest],
        *,
        needs_approval: bool | None = None,
        actor: str = "api",
        chunk: int = 1000,
    ) -> builtins.list[str]:
        """Schedule many posts at once (a content calendar): each ``chunk`` written atomically.

        Returns the publication ids, in order (one per request and account). Much faster
        than calling :meth:`schedule` in a loop; read details with :meth:`get`/:meth:`list`.

        Raises:
            InvalidPost, ValueError, PastGracePeriod, ConfigError: as :meth:`schedule`,
                naming the request (``requests[3].at``). The requests are read as they
                come, so the chunks before the one holding the refused request are
                already stored: fix it and schedule the rest (with ``key`` set on each
                request, scheduling them all again stores nothing twice).
        """
        if chunk < 1:
            raise ValueError(f"chunk: must be at least 1 (got {chunk})")
        s = await self._s()
        now = s.clock.now()
        grace_s = _grace(None, self.config)
        # Due at or after this, a request is inside the grace period without asking
        # _past_grace (which words the refusal); a millisecond of margin for rounding.
        surely_in_time = (
            now - dt.timedelta(seconds=grace_s) + _MS
            if grace_s is not None and not self.config.publish_late
            else None
        )
        zones: set[str] = set()
        revisions: dict[int, str] = {}
        accounts: dict[str, Account] = {}
        checked: set[tuple[str, str, str | None]] = set()  # (revision, account, campaign)
        batch: builtins.list[NewPublication] = []
        ids: builtins.list[str] = []
        made = 0  # publications built so far (their position in ids)
        keyed_at: builtins.list[tuple[int, str, int]] = []  # (position, new id, request)
        writing: collections.deque[asyncio.Future[builtins.list[str]]] = collections.deque()
        try:
            for index, request in enumerate(requests):
                if request.tz is not None and request.tz not in zones:
                    _check_tz(request.tz, f"requests[{index}].tz")
                    zones.add(request.tz)
                post = request.post
                revision = revisions.get(id(post))
                if revision is None:
                    _check_post(post, f"requests[{index}].post")
                    revision = revisions[id(post)] = await s.store_revision(post)
                raw = request.accounts
                if isinstance(raw, (Account, str)):
                    items = [raw]  # one account: nothing to check
                else:
                    items = _account_items(raw, f"requests[{index}].accounts")
                    _check_accounts(items, f"requests[{index}].accounts")
                for item in items:
                    key = item if isinstance(item, str) else item.id
                    target = accounts.get(key)
                    if target is None:
                        (target,) = await self._accounts([item])
                        accounts[key] = target
                    try:
                        due_at, local, zone = _when(request.at, request.tz or target.timezone)
                    except ValueError as exc:
                        raise ValueError(f"requests[{index}].at: {exc}") from None
                    except TypeError as exc:
                        raise TypeError(f"requests[{index}].at: {exc}") from None
                    if surely_in_time is not None and due_at < surely_in_time:
                        assert grace_s is not None
                        refuse_missed(
                            _past_grace(
                                f"requests[{index}].at",
                                local,
                                zone,
                                due_at,
                                target.id,
                                now,
                                grace_s,
                            )
                        )
                    campaign = request.campaign or post.campaign
                    if (revision, key, campaign) not in checked:
                        try:
                            s.check_post(revision, post, target, campaign)
                        except InvalidPost as exc:
                            raise InvalidPost(
                                exc.problems, subject=f"requests[{index}]: post for {target.id}"
                            ) from None
                        checked.add((revision, key, campaign))
                    required = self.approval.approvals_required(
                        post, target, campaign=campaign, requested=needs_approval
                    )
                    pub_id = new_id()
                    if request.key:
                        keyed_at.append((made, pub_id, index))
                    made += 1
                    batch.append(
                        NewPublication(
                            id=pub_id,
                            account_id=target.id,
                            platform=target.platform,
                            revision=revision,
                            due_at=due_at,
                            local_time=local,
                            zone=zone,
                            idempotency_key=(
                                keyed(request.key, target.workspace, target.id)
                                if request.key
                                else pub_id
                            ),
                            workspace=target.workspace,
                            state=S.PENDING_APPROVAL if required else S.SCHEDULED,
                            campaign=campaign,
                            approvals_required=required,
                            grace_s=grace_s,
                            publish_late=self.config.publish_late,
                            actor=actor,
                        )
                    )
                    if len(batch) >= chunk:
                        # Write chunks while the next ones are built (up to three in
                        # flight), so the store's thread always has the next one queued.
                        writing.append(asyncio.ensure_future(s.store.add(batch, now=now)))
                        batch = []
                        if len(writing) > 2:
                            ids.extend(await writing.popleft())
                        else:
                            await asyncio.sleep(0)  # let the write hand its chunk over
            while writing:
                ids.extend(await writing.popleft())
        except BaseException:
            # Chunks already handed over still commit; collect their outcomes so
            # none is left unretrieved, then report the failure.
            await asyncio.gather(*writing, return_exceptions=True)
            raise
        if batch:
            ids.extend(await s.store.add(batch, now=now))
        # A key found taken names an existing publication: this workspace's (scheduled
        # before: it is returned), never another's.
        for position, pub_id, index in keyed_at:
            if ids[position] != pub_id:
                self._own_key(await s.store.get(ids[position]), f"requests[{index}].key")
        return ids

    def _own_key(self, existing: Publication, field: str) -> Publication:
        """``existing``, the publication a taken key names, when it is this workspace's;
        otherwise a :class:`ValueError` (a key of one tenant never reaches another's)."""
        if existing.workspace != self.workspace:
            raise ValueError(
                f"{field}: this key is taken by a publication of another workspace; use another key"
            )
        return existing

    @at_home
    async def queue(
        self,
        post: Post,
        accounts: AccountsArg,
        *,
        campaign: str | None = None,
        key: str | None = None,
        needs_approval: bool | None = None,
        actor: str = "api",
    ) -> builtins.list[Publication]:
        """Add ``post`` to each account's queue: its next free posting slot.

        Calls made at the same time through one scheduler take one slot each: picking
        the slot and storing the post happen under a per-account lock. Two processes
        (or two schedulers) queueing to the same account at the same instant may still
        pick the same slot; queue from one place, or give a time with :meth:`schedule`.
        """
        _check_post(post)
        s = await self._s()
        targets = await self._accounts(accounts)
        for account in targets:
            if not account.posting_slots:
                raise ConfigError(
                    f"account {account.id!r} has no posting slots; add posting_slots to queue posts"
                )
        async with self._picking_slots(targets):
            now = s.clock.now()
            slots: dict[str, Occurrence] = {}
            for account in targets:
                taken = await self._taken(account, now)
                slots[account.id] = next_free_slot(
                    account.posting_slots, account.timezone, now, taken
                )
            return await self._create(
                post,
                targets,
                lambda account: slots[account.id],
                campaign=campaign,
                key=key,
                grace=None,
                publish_late=None,
                needs_approval=needs_approval,
                actor=actor,
            )

    @contextlib.asynccontextmanager
    async def _picking_slots(self, accounts: Iterable[Account]) -> AsyncIterator[None]:
        """Hold each account's slot lock, taken in one order so that two calls for
        overlapping accounts never wait for each other."""
        async with contextlib.AsyncExitStack() as stack:
            for key in sorted({(a.workspace, a.id) for a in accounts}):
                lock = self._slot_locks.setdefault(key, asyncio.Lock())
                await stack.enter_async_context(lock)
            yield

    async def _taken(self, account: Account, now: dt.datetime) -> builtins.list[dt.datetime]:
        s = await self._s()
        taken: builtins.list[dt.datetime] = []
        cursor = None
        while True:
            page = await s.store.list_publications(
                PublicationQuery(
                    account_id=account.id,
                    workspace=account.workspace,
                    states=tuple(ACTIVE_STATES),
                    between=(now, now + dt.timedelta(days=3660)),
                    cursor=cursor,
                    limit=1000,
                )
            )
            taken.extend(p.due_at for p in page.items)
            if page.next_cursor is None:
                return taken
            cursor = page.next_cursor

    async def _create(
        self,
        post: Post,
        targets: builtins.list[Account],
        when: Any,
        *,
        campaign: str | None,
        key: str | None,
        grace: dt.timedelta | None,
        publish_late: bool | None,
        needs_approval: bool | None,
        actor: str,
    ) -> builtins.list[Publication]:
        s = await self._s()
        now = s.clock.now()
        campaign = campaign or post.campaign
        grace_s = _grace(grace, self.config)
        late = self.config.publish_late if publish_late is None else publish_late
        revision = await s.store_checked(post, targets, campaign)
        items = []
        for account in targets:
            occurrence: Occurrence = when(account)
            if grace_s is not None and not late:
                refuse_missed(
                    _past_grace(
                        "at",
                        occurrence.local,
                        occurrence.zone,
                        occurrence.due_at,
                        account.id,
                        now,
                        grace_s,
                    )
                )
            required = self.approval.approvals_required(
                post, account, campaign=campaign, requested=needs_approval
            )
            pub_id = new_id()
            items.append(
                NewPublication(
                    id=pub_id,
                    account_id=account.id,
                    platform=account.platform,
                    revision=revision,
                    due_at=occurrence.due_at,
                    local_time=occurrence.local,
                    zone=occurrence.zone,
                    idempotency_key=keyed(key, account.workspace, account.id) if key else pub_id,
                    workspace=account.workspace,
                    state=S.PENDING_APPROVAL if required else S.SCHEDULED,
                    campaign=campaign,
                    approvals_required=required,
                    grace_s=grace_s,
                    publish_late=late,
                    actor=actor,
                )
            )
        # Read before the insert: once it has committed, nothing here may raise (a
        # caller told "failed" would schedule the post again).
        pauses = await s.pauses()
        ids = await s.store.add(items, now=now)
        out = []
        for new, pub_id in zip(items, ids, strict=True):
            if pub_id != new.id:  # the idempotency key was taken: the existing one
                out.append(self._own_key(await s.store.get(pub_id), "key"))
                continue
            held = new.state in (S.SCHEDULED, S.RETRY_WAIT) and any(
                scope.covers(new.workspace, new.account_id, new.campaign) for scope in pauses
            )
            out.append(_created(new, post, now, S.PAUSED if held else new.state))
        return out

    @at_home
    async def recur(
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
        """Publish ``post`` on every occurrence of an RRULE (RFC 5545) in a zone.

        Without ``tz`` each account's own zone is used (one rule per zone). ``start`` is
        the local wall time the rule starts from (``DTSTART``); now, by default.
        ``limit`` caps how many occurrences are ever created.

        Raises:
            PastGracePeriod: every occurrence of the rule (``COUNT`` or ``UNTIL`` ends it)
                is already past the grace period: it would publish nothing but a stale
                post. (A rule that existed before a downtime still fires its latest
                missed occurrence once.)
            ValueError, TypeError: as for :meth:`schedule`; ``rrule`` not text, or
                ``start`` not a moment.
        """
        _check_post(post)
        if not isinstance(rrule, str):
            raise TypeError(
                f"rrule: expected RRULE text such as 'FREQ=DAILY;BYHOUR=9;BYMINUTE=0' "
                f"(got {_shown(rrule)})"
            )
        _check_tz(tz)
        _check_grace(grace)
        if limit is not None and limit < 1:
            raise ValueError(
                f"limit: must be at least 1 occurrence, or None for no cap (got {limit})"
            )
        s = await self._s()
        now = s.clock.now()
        targets = await self._accounts(accounts)
        by_zone: dict[str, builtins.list[Account]] = {}
        for account in targets:
            by_zone.setdefault(tz or account.timezone, []).append(account)
        # Every rule is checked before anything is stored: a bad RRULE leaves no trace.
        recurrences = {
            zone: Recurrence(rrule=rrule, tz=zone, start=_local_start(start, zone, now))
            for zone in by_zone
        }
        grace_s = _grace(grace, self.config)
        if not self.config.publish_late:
            for zone, recurrence in recurrences.items():
                refuse_missed(
                    _rule_over(recurrence, ", ".join(a.id for a in by_zone[zone]), now, grace_s),
                    "give a later start, or an RRULE with occurrences still to come",
                )
        revision = await s.store_checked(post, targets, campaign or post.campaign)
        rules = []
        for zone, group in by_zone.items():
            recurrence = recurrences[zone]
            required = max(
                self.approval.approvals_required(
                    post, a, campaign=campaign or post.campaign, requested=needs_approval
                )
                for a in group
            )
            rule = Rule(
                id=new_id("r"),
                workspace=self.workspace,
                kind="rrule",
                spec=recurrence.model_dump(mode="json"),
                revision=revision,
                account_ids=tuple(a.id for a in group),
                campaign=campaign or post.campaign,
                remaining=limit,
                grace_s=grace_s,
                approvals_required=required,
                created_at=now,
                updated_at=now,
            )
            await s.store.add_rule(rule, now=now)
            await materialise(s, rule, now)
            rules.append(await s.store.get_rule(rule.id))
        return rules

    @at_home
    async def evergreen(
        self,
        post: Post,
        account: Account | str,
        *,
        first_at: When | None = None,
        every_days: int | None = None,
        every_slots: int | None = None,
        limit: int | None = None,
        campaign: str | None = None,
        actor: str = "api",
    ) -> Rule:
        """Publish ``post`` now (or at ``first_at``) and again every N days or N slots.

        ``limit`` is how many times it comes back at most.

        Raises:
            ValueError: ``first_at`` is past the grace period (as for :meth:`schedule`),
                or ``every_slots`` is given for an account without ``posting_slots``.
        """
        _check_post(post)
        if not isinstance(account, Account | str):
            raise TypeError(
                f"account: expected an Account or an account id (got {_shown(account)})"
            )
        s = await self._s()
        now = s.clock.now()
        (target,) = await self._accounts([account])
        policy = Recycling(every_days=every_days, every_slots=every_slots, limit=limit)
        if every_slots is not None and not target.posting_slots:
            # Checked here: stored, the rule could never find its next slot.
            raise ValueError(
                f"every_slots: account {target.id!r} has no posting_slots, so there is no "
                f"slot to bring the post back in (got every_slots={every_slots}); add "
                "posting_slots to the account, or use every_days"
            )
        first = _moment_of("first_at", first_at, target.timezone) if first_at is not None else None
        grace_s = _grace(None, self.config)
        if first is not None and grace_s is not None and not self.config.publish_late:
            # Its first occurrences would be missed at once and the latest published now.
            refuse_missed(
                _past_grace(
                    "first_at", first.local, first.zone, first.due_at, target.id, now, grace_s
                ),
                "give a later first_at, or none to start now",
            )
        revision = await s.store_checked(post, [target], campaign or post.campaign)
        # A first occurrence in a posting slot is picked and stored under the account's
        # slot lock, as queue() does, so the two never take the same slot.
        async with self._picking_slots([target] if every_slots is not None else []):
            if first is None:
                if every_slots is not None:
                    first = next_free_slot(
                        target.posting_slots, target.timezone, now, await self._taken(target, now)
                    )
                else:
                    first = Occurrence.at(
                        now.astimezone(target.zone).replace(tzinfo=None, microsecond=0),
                        target.timezone,
                    )
            rule = Rule(
                id=new_id("r"),
                workspace=self.workspace,
                kind="evergreen",
                spec={
                    "recycling": policy.model_dump(mode="json"),
                    "zone": first.zone,
                    "first": first.local.isoformat(),
                },
                revision=revision,
                account_ids=(target.id,),
                campaign=campaign or post.campaign,
                grace_s=grace_s,
                created_at=now,
                updated_at=now,
            )
            await s.store.add_rule(rule, now=now)
            await materialise(s, rule, now)
        return await s.store.get_rule(rule.id)

    @at_home
    async def stop_rule(self, rule_id: str, *, actor: str = "api") -> None:
        """Stop a rule: no new occurrences (those already created stay; cancel them)."""
        s = await self._s()
        if (await s.store.get_rule(rule_id)).workspace != self.workspace:
            raise StoreError(f"no rule {rule_id!r} in workspace {self.workspace!r}")
        await s.store.set_rule_active(rule_id, False, now=s.clock.now(), actor=actor)

    @at_home
    async def rules(self, *, active: bool | None = None) -> builtins.list[Rule]:
        """This workspace's rules."""
        s = await self._s()
        return await s.store.list_rules(workspace=self.workspace, active=active)

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

        Only approvals of the current revision since its latest rejection count; an
        approval given at the same moment as another one is retried, so both count.

        Raises:
            StaleTransition: it is no longer pending approval, or it was edited since
                ``revision``.
        """
        _check_actor(actor)
        return await actions.approve(
            await self._own(publication_id),
            publication_id,
            actor=actor,
            revision=revision,
            comment=comment,
        )

    @at_home
    async def reject(
        self, publication_id: str, *, actor: str, comment: str | None = None
    ) -> Publication:
        """Reject a pending publication: it goes back to ``draft``."""
        _check_actor(actor)
        return await actions.reject(
            await self._own(publication_id), publication_id, actor=actor, comment=comment
        )

    @at_home
    async def edit(self, publication_id: str, post: Post, *, actor: str = "api") -> Publication:
        """Replace the content (a new revision; approval again when the policy says so).

        Raises:
            InvalidPost: the new content breaks the account's platform limits (as for
                :meth:`schedule`); nothing changes.
            StaleTransition: it was sent, or edited by someone else meanwhile.
        """
        _check_post(post)
        s = await self._s()
        current = self._in_workspace(await s.store.get(publication_id, history=False))
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
                :meth:`delete` it.
        """
        return await actions.cancel(
            await self._own(publication_id), publication_id, actor=actor, reason=reason
        )

    @at_home
    async def delete(
        self, publication_id: str, *, actor: str = "api", reason: str | None = None
    ) -> Publication:
        """Take a published post down on its platform; the publication becomes ``deleted``.

        The platform is asked first: if it refuses (:class:`~socialkit.errors.Unsupported`
        where it cannot delete, a permission error, a network error), nothing changes and
        the error is raised. Its receipts and history stay in the store.
        """
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
        _check_tz(tz)
        s = await self._s()
        current = self._in_workspace(await s.store.get(publication_id))
        occurrence = _moment_of("at", at, tz or current.zone)
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

        Raises:
            ValueError: not exactly one decision; a receipt of another platform or
                account than the publication's, or naming fewer parts than its thread.
            TypeError: ``retry``/``abandon`` not a bool, ``published`` not a Receipt.
        """
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

        Raises:
            StoreError: ``account`` is not stored in this workspace (a typo would leave a
                switch on that holds nothing).
        """
        s = await self._s()
        if account is not None:
            await s.account(self.workspace, account)
        moved = await s.store.pause(
            _scope(self.workspace, account, campaign, actor, reason), now=s.clock.now()
        )
        s.forget_pauses()  # what this process creates next is held (or not) at once
        s.notifier.moved(moved)
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
        """Flip a pause switch off; returns how many publications are due again (each a
        state change for the hooks)."""
        s = await self._s()
        moved = await s.store.resume(
            _scope(self.workspace, account, campaign, actor, reason), now=s.clock.now()
        )
        s.forget_pauses()  # what this process creates next is held (or not) at once
        s.notifier.moved(moved)
        return len(moved)

    @at_home
    async def pauses(self) -> builtins.list[PauseScope]:
        """The pause switches that are on."""
        s = await self._s()
        return await s.store.pauses(workspace=self.workspace)

    # -- reading --------------------------------------------------------------------------

    @at_home
    async def get(self, publication_id: str, *, history: bool = True) -> Publication:
        """One publication with its post, receipts and (by default) history."""
        s = await self._s()
        return self._in_workspace(await s.store.get(publication_id, history=history))

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
        ``attention`` is why a person is needed: ``reconcile``, ``reauth`` or ``delete``.
        ``include_post`` fills in each publication's pinned post.

        Raises:
            ValueError: a ``limit`` below 1, an unknown ``state`` or ``attention``, or
                a ``between`` that is naive or ends before it starts.
        """
        if limit < 1:
            raise ValueError(f"limit: must be at least 1 publication per page (got {limit})")
        if attention is not None and attention not in _ATTENTION:
            raise ValueError(
                f"attention: unknown reason {attention!r} (one of {', '.join(_ATTENTION)})"
            )
        if between is not None:
            _check_between(between)
        if state is None:
            states: tuple[PublicationState, ...] = ()
        elif isinstance(state, str):
            states = (_state(state),)
        else:
            states = tuple(_state(x) for x in state)
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
        _check_cursor(since, limit)
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
        _check_cursor(since, 1)
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
        """When the engine next has something to do (``None``: nothing pending)."""
        s = await self._s()
        return await s.store.next_due(now=s.clock.now())

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


def keyed(key: str, workspace: str, account_id: str) -> str:
    """The idempotency key of the publication ``schedule(..., key=key)`` makes for one
    account. The default workspace keeps the form it always had; another workspace's key
    carries the workspace's name, so two tenants using the same key never meet."""
    if workspace == "default":
        return f"{key}:{account_id}"
    return f"{workspace}/{key}:{account_id}"


def _created(
    new: NewPublication, post: Post, now: dt.datetime, state: PublicationState
) -> Publication:
    """The publication just inserted, without reading it back."""
    from socialkit.schedule.publication import Publication

    return Publication(
        id=new.id,
        workspace=new.workspace,
        account_id=new.account_id,
        platform=new.platform,
        revision=new.revision,
        post=post,
        due_at=new.due_at,
        local_time=new.local_time,
        zone=new.zone,
        state=state,
        run_at=new.due_at,
        idempotency_key=new.idempotency_key,
        campaign=new.campaign,
        approvals_required=new.approvals_required,
        grace=dt.timedelta(seconds=new.grace_s) if new.grace_s is not None else None,
        publish_late=new.publish_late,
        created_at=now,
        updated_at=now,
    )


_MS = dt.timedelta(milliseconds=1)


def _grace(grace: dt.timedelta | None, config: EngineConfig) -> float | None:
    chosen = grace if grace is not None else config.grace
    return chosen.total_seconds() if chosen is not None else None


def _when(at: When, zone: str) -> tuple[dt.datetime, dt.datetime, str]:
    """``(due_at, local_time, zone)`` of :func:`_moment`, without building an
    :class:`Occurrence` for an aware instant (the common case in bulk schedules)."""
    if isinstance(at, dt.datetime) and at.tzinfo is not None and at.utcoffset() is not None:
        instant = at if at.tzinfo is dt.UTC else at.astimezone(dt.UTC)
        if zone == "UTC":
            return instant, instant.replace(tzinfo=None), zone
        return instant, instant.astimezone(_zone(zone)).replace(tzinfo=None), zone
    occurrence = _moment(at, zone)
    return occurrence.due_at, occurrence.local, occurrence.zone


def _moment(at: When, zone: str) -> Occurrence:
    """An occurrence for an aware instant or a local wall time read in ``zone`` (a date:
    its local midnight).

    Raises:
        TypeError: ``at`` is none of these.
    """
    if isinstance(at, str):
        return Occurrence.at(parse_local(at), zone)
    if not isinstance(at, dt.datetime):
        if isinstance(at, dt.date):
            return Occurrence.at(dt.datetime.combine(at, dt.time()), zone)
        raise TypeError(
            "expected an aware datetime, a local wall time (a naive datetime, or text such "
            f"as '2026-12-01 09:00') or a date (got {_shown(at)})"
        )
    if at.tzinfo is not None and at.utcoffset() is not None:
        instant = at if at.tzinfo is dt.UTC else at.astimezone(dt.UTC)
        local = instant.astimezone(_zone(zone)).replace(tzinfo=None)
        return Occurrence(local=local, due_at=instant, zone=zone, key=local.isoformat())
    return Occurrence.at(at, zone)


@functools.lru_cache(maxsize=1024)
def _zone(name: str) -> ZoneInfo:
    # resolve_zone caches the ZoneInfo too; this skips its argument checks for the names
    # a bulk schedule repeats on every request (the hot path of schedule_many).
    return resolve_zone(name)


def _moment_of(field: str, at: When, zone: str) -> Occurrence:
    """:func:`_moment`, with a bad time or zone reported under the argument's name."""
    try:
        return _moment(at, zone)
    except ValueError as exc:
        raise ValueError(f"{field}: {exc}") from None
    except TypeError as exc:
        raise TypeError(f"{field}: {exc}") from None


def _check_tz(tz: str | None, field: str = "tz") -> None:
    """Refuse a zone that is not an IANA name (``None``: each account's own zone)."""
    if tz is None:
        return
    try:
        resolve_zone(tz)
    except ValueError as exc:
        raise ValueError(f"{field}: {exc}") from None


def _check_grace(grace: dt.timedelta | None) -> None:
    if grace is not None and not isinstance(grace, dt.timedelta):
        raise TypeError(
            "grace: expected a datetime.timedelta such as timedelta(hours=1), or None "
            f"(got {_shown(grace)})"
        )
    if grace is not None and grace < dt.timedelta(0):
        raise ValueError(f"grace: must not be negative (got {grace.total_seconds():g} s)")


def _shown(value: object) -> str:
    """A value as an error message shows it: its type and (shortened) repr."""
    if value is None:
        return "None"
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 80 else text[:77] + '...'}"


def _check_post(post: object, field: str = "post") -> None:
    if not isinstance(post, Post):
        raise TypeError(f"{field}: expected a Post such as Post(text='Hello') (got {_shown(post)})")


def _account_items(accounts: object, field: str) -> builtins.list[Account | str]:
    """``accounts`` (one account or id, or several) as a list, each of the right type."""
    if isinstance(accounts, Account | str):
        return [accounts]
    if not isinstance(accounts, Iterable):
        raise TypeError(
            f"{field}: expected an Account, an account id, or a list of them "
            f"(got {_shown(accounts)})"
        )
    items = builtins.list(accounts)
    for index, item in enumerate(items):
        if not isinstance(item, Account | str):
            raise TypeError(
                f"{field}[{index}]: expected an Account or an account id (got {_shown(item)})"
            )
    return items


def _check_accounts(items: builtins.list[Account | str], field: str) -> None:
    """Refuse no account, or one given twice (it would get the post twice)."""
    if not items:
        raise ConfigError(f"{field}: no accounts given")
    seen: set[str] = set()
    for item in items:
        account_id = item if isinstance(item, str) else item.id
        if account_id in seen:
            raise ConfigError(
                f"{field}: account {account_id!r} is given twice; each account gets one publication"
            )
        seen.add(account_id)


_ATTENTION = ("reconcile", "reauth", "delete")  # why a publication waits for a person


def _check_actor(actor: str) -> None:
    if not isinstance(actor, str):
        raise TypeError(f"actor: expected who decided, as text (got {_shown(actor)})")
    if not actor.strip():
        raise ValueError(f"actor: say who decided, for the history (got {actor!r})")


def _check_between(between: tuple[dt.datetime, dt.datetime]) -> None:
    start, end = between
    for name, value in (("start", start), ("end", end)):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"between: the {name} must be an aware datetime (got {value!r})")
    if start > end:
        raise ValueError(
            f"between: the start {start.isoformat()} is after the end {end.isoformat()}"
        )


def _check_cursor(since: int, limit: int) -> None:
    if since < 0:
        raise ValueError(f"since: an event seq is 0 or more (got {since})")
    if limit < 1:
        raise ValueError(f"limit: must be at least 1 event (got {limit})")


def _state(value: PublicationState | str) -> PublicationState:
    try:
        return PublicationState(value)
    except ValueError:
        known = ", ".join(s.value for s in PublicationState)
        raise ValueError(f"state: unknown state {value!r} (one of {known})") from None


def _rule_over(
    recurrence: Recurrence, account_ids: str, now: dt.datetime, grace_s: float | None
) -> str | None:
    """What is wrong with a new rule whose occurrences are all past the grace period, or
    without one, all past (``None`` when one is still to come or within it). A new rule
    never fires an occurrence from before it existed and beyond its grace."""
    over = grace_s or 0.0
    last = recurrence.latest_at_or_before(now - dt.timedelta(seconds=over))
    if last is None or next(recurrence.iter_after(last.local), None) is not None:
        return None
    if (now - last.due_at).total_seconds() <= over and grace_s is not None:
        return None
    past = f"past the grace period ({grace_s:g} s)" if grace_s is not None else "in the past"
    return (
        f"rrule: every occurrence is {past}: the last, "
        f"{last.local:%Y-%m-%d %H:%M} {last.zone} for {account_ids}, was "
        f"{age(now - last.due_at)} ago, so the rule would publish nothing"
    )


def _local_start(start: When | None, zone: str, now: dt.datetime) -> dt.datetime:
    if start is None:
        return now.astimezone(_zone(zone)).replace(tzinfo=None, second=0, microsecond=0)
    return _moment_of("start", start, zone).local


def _scope(
    workspace: str, account: str | None, campaign: str | None, actor: str, reason: str | None
) -> PauseScope:
    if account is not None and campaign is not None:
        raise ConfigError("pause one scope at a time: an account or a campaign, not both")
    if account is not None:
        return PauseScope(
            kind="account", value=account, workspace=workspace, actor=actor, reason=reason
        )
    if campaign is not None:
        return PauseScope(
            kind="campaign", value=campaign, workspace=workspace, actor=actor, reason=reason
        )
    return PauseScope(kind="all", workspace=workspace, actor=actor, reason=reason)
