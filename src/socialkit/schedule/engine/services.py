"""What the engine's parts share: the store, the platforms, credentials, the clock, and
caches of immutable or slow-changing things (post revisions, rendered drafts, accounts,
capabilities)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import attrs

from socialkit._shared import SharedCalls
from socialkit.errors import InvalidPost, SlotTaken, UnknownPlatform
from socialkit.models.credentials import Credentials
from socialkit.models.problems import has_errors
from socialkit.platforms.base import Platform, overrides
from socialkit.platforms.context import Context
from socialkit.platforms.render import render
from socialkit.platforms.validation import validate
from socialkit.schedule.records import PublicationQuery
from socialkit.schedule.rules import next_free_slot
from socialkit.schedule.stores._slots import HOLDING_SLOTS

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping, Sequence

    import httpx

    from socialkit.models.account import Account
    from socialkit.models.campaign import Campaign
    from socialkit.models.content import Draft, Post
    from socialkit.models.media_store import MediaStore
    from socialkit.models.problems import Problem
    from socialkit.platforms.capabilities import Capabilities
    from socialkit.platforms.credentials import CredentialProvider
    from socialkit.platforms.registry import Registry
    from socialkit.schedule.engine.clock import Clock
    from socialkit.schedule.engine.config import EngineConfig
    from socialkit.schedule.engine.events import Notifier
    from socialkit.schedule.publication import PauseScope
    from socialkit.schedule.rules import Occurrence
    from socialkit.schedule.stores.base import Store

__all__ = ["FreeSlots", "Services"]

log = logging.getLogger("socialkit.schedule")

K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T")
_Rendered = tuple["Capabilities", "Draft", tuple["Problem", ...]]
# How many times a caller picks free posting slots again when the store finds one
# taken by another process meanwhile. Each refusal means another insert into the
# account went first, so a few are enough unless many processes fill one queue at once.
SLOT_ATTEMPTS = 10
# How far ahead queue() looks for a free slot (and reads the slots taken).
_QUEUE_AHEAD = dt.timedelta(days=3660)
# After the store refused a slot, the slots taken are read again from it forward, this
# far first, then twice as far each time every slot read was taken.
_REREAD = dt.timedelta(days=7)


class _Lru(Generic[K, V]):
    def __init__(self, size: int, ttl: float | None = None) -> None:
        self._data: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._size = size
        self._ttl = ttl

    def get(self, key: K) -> V | None:
        found = self._data.get(key)
        if found is None:
            return None
        stamp, value = found
        if self._ttl is not None and time.monotonic() - stamp > self._ttl:
            del self._data[key]
            return None
        self._data.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._data[key] = (time.monotonic(), value)
        self._data.move_to_end(key)
        while len(self._data) > self._size:
            self._data.popitem(last=False)

    def drop(self, key: K) -> None:
        self._data.pop(key, None)


@attrs.define
class _Known:
    """The slots one account's publications hold, as read from ``start``."""

    start: dt.datetime
    taken: set[dt.datetime]


@attrs.define
class FreeSlots:
    """What one :meth:`Services.in_free_slots` call knows of the slots taken, from one
    attempt to the next: each account's slots are read once, from ``now`` on; after the
    store refused a slot another process took meanwhile, they are read again only from
    that slot forward, as far as the next free one (a week first, twice as far each time
    every slot read was taken), not all ten years again."""

    services: Services
    _known: dict[tuple[str, str], _Known] = attrs.Factory(dict)
    _refused: dict[tuple[str, str], dt.datetime] = attrs.Factory(dict)

    async def next_free(self, account: Account, now: dt.datetime) -> Occurrence:
        """The account's first posting slot after ``now`` none of its publications
        holds, as far as this call knows."""
        key = (account.workspace, account.id)
        known = self._known.get(key)
        since = self._refused.pop(key, None)
        if known is None or now < known.start:
            taken = await self.services.taken_slots(account, now, now + _QUEUE_AHEAD)
            self._known[key] = known = _Known(start=now, taken=set(taken))
            since = None
        pick = next_free_slot(account.posting_slots, account.timezone, now, known.taken)
        if since is None:
            return pick
        # Every slot before the one refused was taken when read (it was the first free
        # one), so the pick is at or after it: the slots from there are read afresh,
        # another process may have taken more than the one refused.
        low, span, end = since, _REREAD, known.start + _QUEUE_AHEAD
        while True:
            high = min(low + span, end)
            fresh = await self.services.taken_slots(account, low, high)
            known.taken = {t for t in known.taken if not low <= t < high}
            known.taken.update(fresh)
            known.taken.add(since)
            pick = next_free_slot(account.posting_slots, account.timezone, now, known.taken)
            if pick.due_at < high or high >= end:
                return pick
            low, span = high, span * 2

    def refused(self, taken: SlotTaken) -> None:
        """Note the slots the store found taken: the next pick reads from them on."""
        for workspace, account_id, due_at in taken.slots:
            key = (workspace, account_id)
            self._refused[key] = min(due_at, self._refused.get(key, due_at))


@attrs.define(kw_only=True)
class Services:
    """Dependencies and caches of one engine instance (one event loop)."""

    store: Store
    registry: Registry
    credentials: CredentialProvider
    media: MediaStore
    clock: Clock
    config: EngineConfig
    notifier: Notifier
    campaigns: Mapping[str, Campaign] = attrs.Factory(dict)
    http_client: httpx.AsyncClient | None = None
    _own_http: bool = False
    _posts: _Lru[str, Post] = attrs.Factory(lambda: _Lru(1024))
    _drafts: _Lru[tuple[Any, ...], _Rendered] = attrs.Factory(lambda: _Lru(4096))
    _draft_json: dict[int, tuple[Draft, str]] = attrs.Factory(dict)
    _revision_of: dict[int, tuple[Post, str]] = attrs.Factory(dict)
    _contexts: _Lru[tuple[str, str], Context] = attrs.Factory(lambda: _Lru(4096))
    _accounts: _Lru[tuple[str, str], Account] = attrs.Factory(lambda: _Lru(4096, ttl=5.0))
    _capabilities: _Lru[tuple[str, str], Capabilities] = attrs.Factory(
        lambda: _Lru(4096, ttl=300.0)
    )
    _http_lock: asyncio.Lock = attrs.Factory(asyncio.Lock)
    # One per (workspace, account): picking a free posting slot and inserting a post
    # into it happen under it (queue(), evergreen comebacks), so two calls of this
    # process never pick one slot. Across processes the store's insert checks the slot
    # (``free_slot``); the lock keeps this process's own calls from refusing each other.
    _slot_locks: dict[tuple[str, str], asyncio.Lock] = attrs.Factory(dict)
    # Stored again after an hour: storing refreshes the revision's ``used_at``, which
    # keeps a prune (``socialkit store prune --older-than`` longer than that) from
    # deleting a revision this process would point new publications at.
    _stored_revisions: _Lru[str, bool] = attrs.Factory(lambda: _Lru(4096, ttl=3600.0))
    _stored_accounts: _Lru[tuple[str, str], Account] = attrs.Factory(lambda: _Lru(4096))
    _pauses: tuple[float, list[PauseScope]] | None = None
    failing_rules: dict[str, str] = attrs.Factory(dict)
    """Rules whose last materialisation failed, with the error: logged once each."""
    # Lookups in flight, by key: callers that miss the cache together (every publication
    # of an account when its entry expires) share one store read.
    _loading: SharedCalls = attrs.Factory(SharedCalls)

    def metric_offsets(self, platform: str) -> tuple[tuple[str, float], ...]:
        """The metric collections to schedule for a post published on ``platform``:
        :attr:`EngineConfig.metric_offsets`, or none when its adapter has no
        ``fetch_metrics`` of its own (each collection would claim a task, call the
        default that returns nothing and commit, three times a post, for nothing). A
        platform this process has no plugin for keeps the schedule."""
        offsets = self.config.metric_offsets
        if not offsets:
            return offsets
        try:
            adapter = self.registry.platform(platform)
        except UnknownPlatform:
            return offsets
        return offsets if overrides(type(adapter), "fetch_metrics") else ()

    def slot_lock(self, workspace: str, account_id: str) -> asyncio.Lock:
        """The lock under which a free posting slot of the account is picked and taken."""
        return self._slot_locks.setdefault((workspace, account_id), asyncio.Lock())

    async def in_free_slots(
        self, what: str, pick_and_insert: Callable[[FreeSlots], Awaitable[T]]
    ) -> T:
        """``pick_and_insert(free)``: pick free slots (``free.next_free``, which reads
        the slots taken) and insert publications marked ``free_slot`` into them; again
        while the store refuses a slot another process took between the read and the
        insert (:class:`~socialkit.errors.SlotTaken`), up to :data:`SLOT_ATTEMPTS`
        times. ``free`` is the same each time: it knows the slots read, and reads again
        only from the one refused forward. Work that does not depend on the slot (the
        post checked and stored) belongs before this call, done once.

        Raises:
            SlotTaken: every attempt found a slot taken; ``what`` names the caller's
                work in the message (nothing of it was stored).
        """
        free = FreeSlots(self)
        last: SlotTaken | None = None
        for _ in range(SLOT_ATTEMPTS):
            try:
                return await pick_and_insert(free)
            except SlotTaken as exc:
                last = exc
                free.refused(exc)
        assert last is not None
        raise SlotTaken(
            f"{what}: the posting slot picked was taken by another process "
            f"{SLOT_ATTEMPTS} times in a row, each time before the post was stored "
            f"(last: {last}); nothing was stored, try again",
            last.slots,
        ) from last

    async def next_free_slot(self, account: Account, now: dt.datetime) -> Occurrence:
        """The account's first posting slot after ``now`` that none of its publications
        holds (:meth:`taken_slots`): where ``queue()`` puts a post."""
        taken = await self.taken_slots(account, now, now + _QUEUE_AHEAD)
        return next_free_slot(account.posting_slots, account.timezone, now, taken)

    async def taken_slots(
        self, account: Account, start: dt.datetime, end: dt.datetime
    ) -> list[dt.datetime]:
        """The instants the account's publications hold, ``start <= due_at < end``: what
        ``queue()`` and evergreen comebacks by slots leave alone (call it under
        :meth:`slot_lock`). Every state that is not terminal holds its slot, a ``draft``
        too (a rejected post keeps its time, and an edit sends it back to approval
        there): the states the store checks a ``free_slot`` insert against. Every page
        is read, however many there are."""
        taken: list[dt.datetime] = []
        cursor = None
        while True:
            page = await self.store.list_publications(
                PublicationQuery(
                    account_id=account.id,
                    workspace=account.workspace,
                    states=HOLDING_SLOTS,
                    between=(start, end),
                    cursor=cursor,
                    limit=1000,
                )
            )
            taken.extend(p.due_at for p in page.items)
            if page.next_cursor is None:
                return taken
            cursor = page.next_cursor

    def http(self) -> httpx.AsyncClient:
        """The shared, pooled HTTP client (created on first use)."""
        if self.http_client is None:
            import httpx

            self.http_client = httpx.AsyncClient(
                timeout=httpx.Timeout(30.0, connect=10.0),
                follow_redirects=False,
                limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
            )
            self._own_http = True
        return self.http_client

    async def aclose(self) -> None:
        if self._own_http and self.http_client is not None:
            await self.http_client.aclose()
            self.http_client = None

    async def post(self, revision: str) -> Post:
        """A pinned post revision (immutable, so cached)."""
        found = self._posts.get(revision)
        if found is None:

            async def load() -> Post:
                post = await self.store.get_revision(revision)
                self._posts.put(revision, post)
                return post

            found = await self._loading.run(("post", revision), load)
        return found

    async def store_revision(self, post: Post) -> str:
        """Pin ``post`` in the store (once per process and revision); returns its hash."""
        revision = self.revision_of(post)
        if self._stored_revisions.get(revision) is None:
            await self.store.put_revision(post, now=self.clock.now())
            self.stored_revision(revision, post)
        return revision

    def revision_stored(self, revision: str) -> bool:
        """Whether this process stored ``revision`` (recently: the cache is bounded)."""
        return self._stored_revisions.get(revision) is not None

    def stored_revision(self, revision: str, post: Post) -> None:
        """Note that ``post`` is stored under ``revision`` (a batch stored it)."""
        self._stored_revisions.put(revision, True)
        self._posts.put(revision, post)

    def revision_of(self, post: Post) -> str:
        """``post.revision()``, hashed once per post object (posts are frozen models)."""
        found = self._revision_of.get(id(post))
        if found is not None and found[0] is post:
            return found[1]
        revision = post.revision()
        if len(self._revision_of) >= 1024:
            self._revision_of.clear()
        self._revision_of[id(post)] = (post, revision)
        return revision

    async def store_account(self, account: Account) -> None:
        """Store ``account`` unless this process already stored this exact version."""
        key = (account.workspace, account.id)
        if self._stored_accounts.get(key) == account:
            return
        await self.store.put_account(account, now=self.clock.now())
        self._stored_accounts.put(key, account)
        self.forget_account(account.workspace, account.id)

    async def pauses(self, *, max_age: float = 1.0) -> list[PauseScope]:
        """The pause switches, as seen at most ``max_age`` seconds ago (real time)."""
        if self._pauses is None or time.monotonic() - self._pauses[0] > max_age:
            self._pauses = (time.monotonic(), await self.store.pauses())
        return self._pauses[1]

    def forget_pauses(self) -> None:
        self._pauses = None

    async def account(self, workspace: str, account_id: str) -> Account:
        """An account from the store (cached for a few seconds)."""
        key = (workspace, account_id)
        found = self._accounts.get(key)
        if found is None:
            loading = ("account", workspace, account_id)

            async def load() -> Account:
                account = (await self.store.get_account(account_id, workspace=workspace)).account
                if self._loading.is_current(loading):  # not forgotten since
                    self._accounts.put(key, account)
                return account

            found = await self._loading.run(loading, load)
        return found

    def forget_account(self, workspace: str, account_id: str) -> None:
        self._accounts.drop((workspace, account_id))
        self._loading.forget(("account", workspace, account_id))  # later callers read anew
        self._capabilities.drop((workspace, account_id))

    async def mark_needs_reauth(self, workspace: str, account_id: str, reason: str) -> bool:
        """Mark the account as waiting for a person to re-authorise it (the platform
        refused its credentials): the store hands out none of its publications or metric
        collections until then. A store that fails is logged, not raised: the caller's
        own outcome (a held publication, a collection put back) is committed all the
        same.

        Returns:
            whether the account was marked (``False``: the store failed, the account
            is as it was, and the caller must not count on its work being held).
        """
        try:
            await self.store.set_account_status(
                account_id,
                "needs_reauth",
                now=self.clock.now(),
                workspace=workspace,
                reason=reason,
                actor=self.config.worker_id,
            )
        except Exception:
            log.exception("could not mark account %s as needing reauth", account_id)
            marked = False
        else:
            marked = True
        self.forget_account(workspace, account_id)
        return marked

    async def context(self, account: Account, platform: Platform) -> Context:
        """A base context for ``account`` (credentials loaded through the provider)."""
        if not platform.capabilities.requires_credentials:
            key = (account.workspace, account.id)
            cached = self._contexts.get(key)
            if cached is not None and cached.account is account:
                return cached
            ctx = Context(
                account=account,
                credentials=Credentials(),
                http=self.http(),
                media=self.media,
                clock=self.clock.now,
                credential_provider=self.credentials,
            )
            self._contexts.put(key, ctx)
            return ctx
        credentials = await self.credentials.load(account)
        return Context(
            account=account,
            credentials=credentials,
            http=self.http(),
            media=self.media,
            clock=self.clock.now,
            credential_provider=self.credentials,
        )

    async def capabilities(
        self, account: Account, platform: Platform, ctx: Context
    ) -> Capabilities:
        """The account's resolved capabilities (cached for a few minutes)."""
        key = (account.workspace, account.id)
        found = self._capabilities.get(key)
        if found is None:
            found = await platform.resolve_capabilities(ctx)
            self._capabilities.put(key, found)
        return found

    def draft_json(self, draft: Draft) -> str:
        """The canonical JSON of a (cached, immutable) draft, computed once."""
        from socialkit.schedule.stores._common import draft_json

        found = self._draft_json.get(id(draft))
        if found is not None and found[0] is draft:
            return found[1]
        text = draft_json(draft)
        if len(self._draft_json) > 2048:
            self._draft_json.clear()
        self._draft_json[id(draft)] = (draft, text)
        return text

    async def store_checked(
        self, post: Post, accounts: Sequence[Account], campaign: str | None
    ) -> str:
        """Check ``post`` for every account (:meth:`check_post`), then pin it in the store;
        returns its revision. Nothing is stored when a check fails."""
        revision = self.revision_of(post)
        for account in accounts:
            self.check_post(revision, post, account, campaign)
        await self.store_revision(post)
        return revision

    def check_post(self, revision: str, post: Post, account: Account, campaign: str | None) -> None:
        """Refuse ``post`` for ``account`` before anything is stored when it breaks the
        platform's limits (:class:`~socialkit.errors.InvalidPost`, every problem named).

        Checked against the capabilities this process resolved for the account, or the
        platform's declared ones when its adapter does not resolve them per account,
        with the adapter's own checks (:meth:`~socialkit.Platform.check_draft`: its
        options). Limits an adapter resolves per account (a Mastodon server's own), not
        looked up yet, are checked when it is sent, as every publication is; so is a
        post for a platform whose plugin is installed only where the workers run.
        """
        try:
            platform = self.registry.platform(account.platform)
        except UnknownPlatform:
            return
        capabilities = self._capabilities.get((account.workspace, account.id))
        problems: tuple[Problem, ...]
        if capabilities is None and overrides(type(platform), "resolve_capabilities"):
            # Its limits are the server's: only the adapter's own checks, on a draft
            # rendered with the declared capabilities (options do not depend on them).
            draft, _ = self.render(
                revision, post, account.platform, platform.capabilities, campaign
            )
            problems = tuple(platform.check_draft(draft))
        else:
            _, problems = self.render(
                revision, post, account.platform, capabilities or platform.capabilities, campaign
            )
        if has_errors(problems):
            raise InvalidPost(problems, subject=f"post for {account.id}")

    def render(
        self,
        revision: str,
        post: Post,
        platform: str,
        capabilities: Capabilities,
        campaign: str | None,
    ) -> tuple[Draft, tuple[Problem, ...]]:
        """The draft and its validation problems (cached per content and capabilities)."""
        # Keyed by the capabilities object (cached per account), not its value: hashing
        # a Capabilities model on every publish costs more than rendering once per object.
        key = (revision, platform, id(capabilities), campaign)
        found = self._drafts.get(key)
        if found is None or found[0] is not capabilities:
            model = self.campaigns.get(campaign) if campaign else None
            draft = render(post, platform, capabilities, campaign=model)
            problems = validate(draft, capabilities, registry=self.registry)
            found = (capabilities, draft, tuple(problems))
            self._drafts.put(key, found)
        return found[1], found[2]
