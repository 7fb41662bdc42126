"""Creating publications: one-off, queued into posting slots, recurring and evergreen."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import inspect
import logging
from typing import TYPE_CHECKING, Any

from socialkit.errors import ConfigError, InvalidPost, StaleTransition, StoreError
from socialkit.models.account import Account
from socialkit.schedule._arguments import (
    MILLISECOND,
    AccountsArg,
    S,
    ScheduleRequest,
    When,
    account_items,
    check_accounts,
    check_actor,
    check_count,
    check_grace,
    check_key,
    check_note,
    check_post,
    check_tz,
    checked_occurrence,
    created_publication,
    due_moment,
    grace_seconds,
    keyed,
    local_start,
    read_rule,
    rule_over,
    shown,
)
from socialkit.schedule._core import SchedulerCore
from socialkit.schedule._home import at_home
from socialkit.schedule.engine.grace import past_grace as _past_grace
from socialkit.schedule.engine.grace import refuse_missed
from socialkit.schedule.engine.materialise import materialise
from socialkit.schedule.records import Added, NewPublication
from socialkit.schedule.recurring import Rule
from socialkit.schedule.rules import Occurrence, Recycling
from socialkit.schedule.stores._common import new_id

if TYPE_CHECKING:
    import builtins
    from collections.abc import AsyncIterator, Iterable

    from socialkit.models.content import Post
    from socialkit.schedule.engine.services import FreeSlots, Services
    from socialkit.schedule.publication import Publication

log = logging.getLogger("socialkit.schedule")


class Planning(SchedulerCore):
    """The part of :class:`AsyncScheduler` that makes publications and rules."""

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
        check_post(post)
        check_tz(tz)
        check_grace(grace)
        check_key(key)
        check_actor(actor)
        targets = await self._accounts(accounts)
        moments = {a.id: checked_occurrence("at", at, tz or a.timezone) for a in targets}
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
        Each chunk's publications and its posts (one revision per different content,
        however many requests share it) go to the store in one call and one transaction
        (:meth:`Store.add_with_revisions
        <socialkit.schedule.stores.base.Store.add_with_revisions>`), so a chunk of
        different posts costs about what a chunk repeating one post does.

        Raises:
            InvalidPost, ValueError, PastGracePeriod, ConfigError: as :meth:`schedule`,
                naming the request (``requests[3].at``). The requests are read as they
                come, so the chunks before the one holding the refused request are
                already stored (nothing of that chunk is, its posts neither): fix it
                and schedule the rest (with ``key`` set on each request, scheduling them
                all again stores nothing twice).
        """
        if chunk < 1:
            raise ValueError(f"chunk: must be at least 1 (got {chunk})")
        check_actor(actor)
        s = await self._s()
        now = s.clock.now()
        grace_s = grace_seconds(None, self.config)
        # Due at or after this, a request is inside the grace period without asking
        # _past_grace (which words the refusal); a millisecond of margin for rounding.
        surely_in_time = (
            now - dt.timedelta(seconds=grace_s) + MILLISECOND
            if grace_s is not None and not self.config.publish_late
            else None
        )
        zones: set[str] = set()
        # Each post object's revision, holding the post: an id() is unique only while its
        # object lives, and a generator's posts may be gone (their ids taken by new ones)
        # by the time a later request comes. Started again with each chunk.
        revisions: dict[int, tuple[Post, str]] = {}
        posts: dict[str, Post] = {}  # the chunk's posts by revision, stored with it
        accounts: dict[str, Account] = {}
        checked: set[tuple[str, str, str | None]] = set()  # (revision, account, campaign)
        batch: builtins.list[NewPublication] = []
        ids: builtins.list[str] = []
        made = 0  # publications built so far (their position in ids)
        keyed_at: builtins.list[tuple[int, str, int]] = []  # (position, new id, request)
        writing: collections.deque[asyncio.Future[builtins.list[str]]] = collections.deque()
        try:
            for index, request in enumerate(requests):
                check_key(request.key, f"requests[{index}].key")
                if request.tz is not None and request.tz not in zones:
                    check_tz(request.tz, f"requests[{index}].tz")
                    zones.add(request.tz)
                post = request.post
                known = revisions.get(id(post))
                if known is not None and known[0] is post:
                    revision = known[1]
                else:
                    check_post(post, f"requests[{index}].post")
                    revision = s.revision_of(post)
                    revisions[id(post)] = (post, revision)
                raw = request.accounts
                if isinstance(raw, (Account, str)):
                    items = [raw]  # one account: nothing to check
                else:
                    items = account_items(raw, f"requests[{index}].accounts")
                    check_accounts(items, f"requests[{index}].accounts")
                for position, item in enumerate(items):
                    key = item if isinstance(item, str) else item.id
                    target = accounts.get(key)
                    if target is None:
                        field = f"requests[{index}].accounts"
                        if not isinstance(raw, (Account, str)):
                            field += f"[{position}]"
                        (target,) = await self._accounts(item, field)
                        accounts[key] = target
                    try:
                        due_at, local, zone = due_moment(request.at, request.tz or target.timezone)
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
                    posts[revision] = post
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
                        writing.append(
                            asyncio.ensure_future(_add_with_revisions(s, posts, batch, now))
                        )
                        batch, posts = [], {}
                        revisions.clear()
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
            ids.extend(await _add_with_revisions(s, posts, batch, now))
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

        Calls made at the same time take one slot each, whichever process or scheduler
        makes them: the store stores the post only if its slot is still free, in the
        insert's own transaction, and a slot another process took meanwhile is picked
        again (calls through one scheduler also wait for each other, under a per-account
        lock, so they never need to).

        Raises:
            SlotTaken: the slots picked kept being taken by other processes
                (:data:`~socialkit.schedule.engine.services.SLOT_ATTEMPTS` times in a
                row); nothing was queued.
        """
        check_post(post)
        check_key(key)
        check_actor(actor)
        s = await self._s()
        targets = await self._accounts(accounts)
        one = isinstance(accounts, Account | str)
        for index, account in enumerate(targets):
            if not account.posting_slots:
                raise ConfigError(
                    f"{'accounts' if one else f'accounts[{index}]'}: account {account.id!r} "
                    "has no posting slots, so there is no slot to queue the post in; add "
                    "posting_slots to the account, or schedule() the post at a time"
                )

        # Checked and stored once: a slot taken meanwhile changes only where it goes.
        revision = await s.store_checked(post, targets, campaign or post.campaign)

        async def pick_and_insert(free: FreeSlots) -> builtins.list[Publication]:
            now = s.clock.now()
            slots = {account.id: await free.next_free(account, now) for account in targets}
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
                free_slot=True,
                revision=revision,
            )

        async with self._picking_slots(targets):
            return await s.in_free_slots(
                f"queue() to {', '.join(repr(a.id) for a in targets)}", pick_and_insert
            )

    @contextlib.asynccontextmanager
    async def _picking_slots(self, accounts: Iterable[Account]) -> AsyncIterator[None]:
        """Hold each account's slot lock, taken in one order so that two calls for
        overlapping accounts never wait for each other."""
        s = await self._s()
        async with contextlib.AsyncExitStack() as stack:
            for workspace, account_id in sorted({(a.workspace, a.id) for a in accounts}):
                await stack.enter_async_context(s.slot_lock(workspace, account_id))
            yield

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
        free_slot: bool = False,
        revision: str | None = None,
    ) -> builtins.list[Publication]:
        """Store ``post`` for each account at ``when(account)``; ``free_slot``: each must
        take a free posting slot (:attr:`NewPublication.free_slot`). ``revision``: the
        post was checked and stored already (:meth:`Services.store_checked`)."""
        s = await self._s()
        now = s.clock.now()
        campaign = campaign or post.campaign
        grace_s = grace_seconds(grace, self.config)
        late = self.config.publish_late if publish_late is None else publish_late
        if revision is None:
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
                    free_slot=free_slot,
                )
            )
        # The state each one was stored in comes back from the insert's own transaction
        # (paused when a switch covers it, also one another process flipped a moment
        # ago), so nothing is read after the commit, where nothing may raise (a caller
        # told "failed" would schedule the post again).
        added = await _add_returning(s, items, now)
        out = []
        for new, done in zip(items, added, strict=True):
            if done.state is None:  # the idempotency key was taken: the existing one
                out.append(self._own_key(await s.store.get(done.id), "key"))
                continue
            out.append(created_publication(new, post, now, done.state))
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
        check_post(post)
        if not isinstance(rrule, str):
            raise TypeError(
                f"rrule: expected RRULE text such as 'FREQ=DAILY;BYHOUR=9;BYMINUTE=0' "
                f"(got {shown(rrule)})"
            )
        check_tz(tz)
        check_grace(grace)
        check_actor(actor)
        check_count(limit, "limit", "occurrences", none=" for no cap")
        s = await self._s()
        now = s.clock.now()
        targets = await self._accounts(accounts)
        by_zone: dict[str, builtins.list[Account]] = {}
        for account in targets:
            by_zone.setdefault(tz or account.timezone, []).append(account)
        # Every rule is checked before anything is stored: a bad RRULE leaves no trace.
        recurrences = {
            zone: read_rule(rrule, zone, local_start(start, zone, now)) for zone in by_zone
        }
        if start is None:
            for zone, recurrence in recurrences.items():
                minute = recurrence.minute_from_start()
                if minute is not None:
                    # Legal (RFC 5545 takes the minute from DTSTART), rarely meant.
                    log.warning(
                        "rule %s in %s names no BYMINUTE and starts now, so it fires at "
                        "minute %02d of each hour it names; add BYMINUTE=0, or give a start "
                        "(start=, or recur --start on the command line) for another minute",
                        recurrence.rrule,
                        zone,
                        minute,
                    )
        grace_s = grace_seconds(grace, self.config)
        if not self.config.publish_late:
            for zone, recurrence in recurrences.items():
                refuse_missed(
                    rule_over(recurrence, ", ".join(a.id for a in by_zone[zone]), now, grace_s),
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
            await _add_rule(s, rule, now, actor)
            await _first_occurrences(s, rule, now)
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
        needs_approval: bool | None = None,
        actor: str = "api",
    ) -> Rule:
        """Publish ``post`` now (or at ``first_at``) and again every N days or N slots.

        ``limit`` is how many times it comes back at most. The approval policy decides,
        as for :meth:`recur`, whether each of its publications waits for approval
        (``needs_approval`` is what the caller asks for).

        Raises:
            ValueError: ``first_at`` is past the grace period (as for :meth:`schedule`),
                or ``every_slots`` is given for an account without ``posting_slots``.
        """
        check_post(post)
        check_actor(actor)
        if not isinstance(account, Account | str):
            raise TypeError(f"account: expected an Account or an account id (got {shown(account)})")
        # Named here, as the other arguments are, rather than by pydantic's report on
        # Recycling (the bounds are Recycling's).
        check_count(every_days, "every_days", "days", most=3660)
        check_count(every_slots, "every_slots", "posting slots", most=10_000)
        check_count(limit, "limit", "comebacks", none=" for no cap")
        if (every_days is None) == (every_slots is None):
            raise ValueError(
                "every_days, every_slots: give exactly one, the days or the posting slots "
                f"between comebacks (got every_days={every_days!r}, every_slots={every_slots!r})"
            )
        s = await self._s()
        now = s.clock.now()
        (target,) = await self._accounts(account, "account")
        policy = Recycling(every_days=every_days, every_slots=every_slots, limit=limit)
        if every_slots is not None and not target.posting_slots:
            # Checked here: stored, the rule could never find its next slot.
            raise ValueError(
                f"every_slots: account {target.id!r} has no posting_slots, so there is no "
                f"slot to bring the post back in (got every_slots={every_slots}); add "
                "posting_slots to the account, or use every_days"
            )
        first = (
            checked_occurrence("first_at", first_at, target.timezone)
            if first_at is not None
            else None
        )
        grace_s = grace_seconds(None, self.config)
        if first is not None and grace_s is not None and not self.config.publish_late:
            # Its first occurrences would be missed at once and the latest published now.
            refuse_missed(
                _past_grace(
                    "first_at", first.local, first.zone, first.due_at, target.id, now, grace_s
                ),
                "give a later first_at, or none to start now",
            )
        revision = await s.store_checked(post, [target], campaign or post.campaign)
        required = self.approval.approvals_required(
            post, target, campaign=campaign or post.campaign, requested=needs_approval
        )
        # A first occurrence in a posting slot is picked and stored under the account's
        # slot lock, as queue() does, so the two never take the same slot.
        async with self._picking_slots([target] if every_slots is not None else []):
            if first is None:
                if every_slots is not None:
                    first = await s.next_free_slot(target, now)
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
                    # The instant too: a repeated wall time's second pass is not the
                    # wall time's (which the DST policy reads as the first pass).
                    "first_due": first.due_at.isoformat(),
                    # A first occurrence picked in a free slot must still find it free
                    # when stored (another process may take it first); a first_at given
                    # is the caller's own time, as schedule()'s.
                    **(
                        {"first_in_slot": True}
                        if every_slots is not None and first_at is None
                        else {}
                    ),
                },
                revision=revision,
                account_ids=(target.id,),
                campaign=campaign or post.campaign,
                grace_s=grace_s,
                approvals_required=required,
                created_at=now,
                updated_at=now,
            )
            await _add_rule(s, rule, now, actor)
            await _first_occurrences(s, rule, now, slots_held=True)
        return await s.store.get_rule(rule.id)

    @at_home
    async def stop_rule(
        self,
        rule_id: str,
        *,
        actor: str = "api",
        cancel: bool = False,
        reason: str | None = None,
    ) -> int:
        """Stop a rule: no new occurrences.

        Those it already made (a window ahead) stay and go out at their times, unless
        ``cancel``: then each of them not sent yet (``scheduled``, ``pending_approval``,
        ``paused`` or ``draft``) is cancelled as :meth:`cancel` does, with ``reason``.
        One a worker claimed meanwhile is left to go out.

        Returns:
            How many publications it cancelled (0 without ``cancel``).

        Raises:
            TypeError: ``rule_id`` is not text (a :class:`Rule` itself: give ``rule.id``),
                or ``cancel`` is not a bool.
            StoreError: no rule ``rule_id`` in this workspace; the message names the
                argument, ``rule_id: no rule 'r…' in workspace 'default'``.
        """
        _check_rule_id(rule_id)
        check_actor(actor)
        if not isinstance(cancel, bool):
            raise TypeError(f"cancel: expected True or False (got {shown(cancel)})")
        check_note(reason, "reason")
        s = await self._s()
        missing = f"rule_id: no rule {rule_id!r} in workspace {self.workspace!r}"
        try:
            rule = await s.store.get_rule(rule_id)
        except StoreError as exc:
            # Every store words a missing rule so; any other error passes as it is.
            if type(exc) is StoreError and str(exc) == f"no rule {rule_id!r}":
                raise StoreError(missing) from None
            raise
        if rule.workspace != self.workspace:
            raise StoreError(missing)
        await s.store.set_rule_active(rule_id, False, now=s.clock.now(), actor=actor)
        return await _cancel_made(s, rule, actor, reason or "its rule was stopped") if cancel else 0

    @at_home
    async def rules(self, *, active: bool | None = None) -> builtins.list[Rule]:
        """This workspace's rules: the active ones (``active=True``), the stopped or
        finished ones (``False``), or all (``None``)."""
        if active is not None and not isinstance(active, bool):
            raise TypeError(f"active: expected True, False or None (got {shown(active)})")
        s = await self._s()
        return await s.store.list_rules(workspace=self.workspace, active=active)


async def _cancel_made(s: Services, rule: Rule, actor: str, reason: str) -> int:
    """Cancel the publications ``rule`` made that were not sent yet; how many."""
    from socialkit.schedule.engine import actions
    from socialkit.schedule.records import PublicationQuery

    query = PublicationQuery(
        states=(S.SCHEDULED, S.PENDING_APPROVAL, S.PAUSED, S.DRAFT),
        workspace=rule.workspace,
        rule_id=rule.id,
        limit=500,
    )
    cancelled = 0
    tried: set[str] = set()
    while True:
        # From the first page each time: what was cancelled no longer matches.
        page = [p for p in (await s.store.list_publications(query)).items if p.id not in tried]
        if not page:
            return cancelled
        for publication in page:
            tried.add(publication.id)
            try:
                await actions.cancel(s, publication.id, actor=actor, reason=reason)
            except StaleTransition:
                continue  # claimed meanwhile: it goes out
            cancelled += 1


async def _add_rule(s: Services, rule: Rule, now: dt.datetime, actor: str) -> None:
    """``store.add_rule``, its ``created`` event naming ``actor``; a store written for
    an earlier socialkit, whose ``add_rule`` takes no actor, records its own."""
    if _takes_actor(s.store.add_rule):
        await s.store.add_rule(rule, now=now, actor=actor)
    else:
        await s.store.add_rule(rule, now=now)


def _takes_actor(method: Any) -> bool:
    try:
        parameters = inspect.signature(method).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == "actor" or p.kind is p.VAR_KEYWORD for p in parameters)


def _check_rule_id(rule_id: object) -> None:
    if not isinstance(rule_id, str):
        hint = " (give rule.id)" if isinstance(rule_id, Rule) else ""
        raise TypeError(f"rule_id: expected a rule's id{hint} (got {shown(rule_id)})")


async def _add_returning(
    s: Services, items: builtins.list[NewPublication], now: dt.datetime
) -> builtins.list[Added]:
    """``store.add_returning``; for a store written for an earlier socialkit, which has
    only ``add``, each state is worked out from the pause switches read (cached) before
    the insert, as it was before."""
    add_returning = getattr(s.store, "add_returning", None)
    if add_returning is not None:
        added: builtins.list[Added] = await add_returning(items, now=now)
        return added
    pauses = await s.pauses()
    ids = await s.store.add(items, now=now)
    out = []
    for new, pub_id in zip(items, ids, strict=True):
        held = new.state in (S.SCHEDULED, S.RETRY_WAIT) and any(
            scope.covers(new.workspace, new.account_id, new.campaign) for scope in pauses
        )
        state = (S.PAUSED if held else new.state) if pub_id == new.id else None
        out.append(Added(id=pub_id, state=state))
    return out


async def _add_with_revisions(
    s: Services,
    posts: dict[str, Post],
    items: builtins.list[NewPublication],
    now: dt.datetime,
) -> builtins.list[str]:
    """Store ``posts`` (by revision; those this process has not stored yet, as
    :meth:`Services.store_revision` does) and insert ``items``, in one store call
    (``store.add_with_revisions``); for a store written for an earlier socialkit, which
    lacks it, one ``put_revision`` per post, then ``add``."""
    add_with_revisions = getattr(s.store, "add_with_revisions", None)
    if add_with_revisions is None:
        for post in posts.values():
            await s.store_revision(post)
        return await s.store.add(items, now=now)
    # A revision stored already is left out: chunks in flight at once, each upserting
    # one post's row, would wait for each other's commits (PostgreSQL's row locks).
    new = {r: post for r, post in posts.items() if not s.revision_stored(r)}
    ids: builtins.list[str] = await add_with_revisions(list(new.values()), items, now=now)
    for revision, post in new.items():
        s.stored_revision(revision, post)
    return ids


async def _first_occurrences(
    s: Services, rule: Rule, now: dt.datetime, *, slots_held: bool = False
) -> None:
    """Materialise a rule just stored. Once it is stored, nothing may raise: a caller
    told "failed" would make the rule again, and every post would go out twice."""
    try:
        await materialise(s, rule, now, slots_held=slots_held)
    except StaleTransition:
        pass  # a worker's pass materialised it first (or it was stopped): nothing to do
    except Exception:
        # The rule is stored; the workers' next pass materialises it (and logs why not).
        log.exception("rule %s was stored; its first occurrences come with the next pass", rule.id)
