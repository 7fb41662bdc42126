"""``memory://``: the reference store, in one process's memory, for tests and scripts.

Every call runs to completion under one lock without awaiting, so each call is atomic
exactly as a transaction is in the SQL stores. Nothing survives the process.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import TYPE_CHECKING

import attrs

from socialkit.errors import StaleTransition, StoreError
from socialkit.schedule.publication import Page, PauseScope, StoredReceipt
from socialkit.schedule.records import (
    Added,
    Budget,
    Claim,
    ClearedRateLimit,
    Moved,
)
from socialkit.schedule.states import (
    CLAIMABLE_STATES,
    LEASED_STATES,
    RECEIPT_KEEPS,
    PublicationState,
)
from socialkit.schedule.stores._common import (
    DELETING,
    HOLDABLE,
    SUPERSEDED,
    Row,
    cleared_budgets_data,
    contiguous_parts,
    covered,
    decode_cursor,
    encode_cursor,
    merge_budget,
    metric_hold_ends,
    metric_steps,
    missed_ids,
    rate_limit_releases,
    select_claims,
    to_us,
    waits_for_rate_limit,
)
from socialkit.schedule.stores._memory_base import MemoryBase
from socialkit.schedule.stores._slots import HOLDING_SLOTS, refuse_taken_slots, slots_to_check

if TYPE_CHECKING:
    from collections.abc import Sequence

    from socialkit.models.content import Post
    from socialkit.schedule.publication import Publication
    from socialkit.schedule.records import (
        CheckpointRecord,
        ClaimKind,
        DeletionRecord,
        NewPublication,
        PublicationQuery,
        PublishStart,
        ReceiptRecord,
        Transition,
    )

__all__ = ["MemoryStore"]

S = PublicationState


class MemoryStore(MemoryBase):
    """A :class:`~socialkit.schedule.stores.base.Store` in memory (``memory://``)."""

    # -- publications ---------------------------------------------------------------------

    async def add(self, publications: Sequence[NewPublication], *, now: dt.datetime) -> list[str]:
        with self._lock:
            ids = self._add_locked(publications, now)
        self._notify()
        return ids

    async def add_returning(
        self, publications: Sequence[NewPublication], *, now: dt.datetime
    ) -> list[Added]:
        with self._lock:
            taken = {new.idempotency_key for new in publications} & self._by_key.keys()
            ids = self._add_locked(publications, now)
            added: list[Added] = []
            for new, pub_id in zip(publications, ids, strict=True):
                fresh = pub_id == new.id and new.idempotency_key not in taken
                taken.add(new.idempotency_key)  # a repeated one was inserted once, first
                added.append(Added(id=pub_id, state=self._rows[pub_id].state if fresh else None))
        self._notify()
        return added

    async def add_with_revisions(
        self, posts: Sequence[Post], publications: Sequence[NewPublication], *, now: dt.datetime
    ) -> list[str]:
        revisions = [(post.revision(), post) for post in posts]
        with self._lock:
            ids = self._add_locked(publications, now)  # first: a refused insert keeps none
            for revision, post in revisions:
                self._revisions.setdefault(revision, post)
        self._notify()
        return ids

    def _add_locked(self, publications: Sequence[NewPublication], now: dt.datetime) -> list[str]:
        checked = slots_to_check(publications, self._by_key.keys())
        if checked:
            # Under the store's lock, as the insert: nothing takes the slot in between.
            accounts = {(new.workspace, new.account_id) for new in checked}
            refuse_taken_slots(
                checked,
                {
                    (row.workspace, row.account_id, to_us(row.due_at))
                    for row in self._rows.values()
                    if row.state in HOLDING_SLOTS and (row.workspace, row.account_id) in accounts
                },
            )
        # Every id checked before anything is stored: a batch is all or nothing, as a
        # transaction makes it in the other stores.
        keys: set[str] = set()
        fresh: set[str] = set()
        for new in publications:
            if new.idempotency_key in self._by_key or new.idempotency_key in keys:
                continue  # the existing publication's id (below)
            keys.add(new.idempotency_key)
            if new.id in self._rows or new.id in fresh:
                raise StoreError(f"publication id {new.id!r} is taken")
            fresh.add(new.id)
        ids: list[str] = []
        pauses = list(self._pauses.values())
        for new in publications:
            existing = self._by_key.get(new.idempotency_key)
            if existing is not None:
                ids.append(existing)
                continue
            state = new.state
            if state in HOLDABLE and covered(pauses, new.workspace, new.account_id, new.campaign):
                state = S.PAUSED
            row = Row(
                id=new.id,
                workspace=new.workspace,
                account_id=new.account_id,
                platform=new.platform,
                revision=new.revision,
                draft=None,
                due_at=new.due_at,
                local_time=new.local_time.isoformat(),
                zone=new.zone,
                state=state,
                run_at=new.due_at,
                expires_at=(
                    new.due_at + dt.timedelta(seconds=new.grace_s)
                    if new.grace_s is not None
                    else None
                ),
                attempt=0,
                sends=0,
                failures=0,
                lease_owner=None,
                lease_expires_at=None,
                idempotency_key=new.idempotency_key,
                campaign=new.campaign,
                rule_id=new.rule_id,
                approvals_required=new.approvals_required,
                approvals=None,
                grace_s=new.grace_s,
                publish_late=new.publish_late,
                problems=None,
                last_error=None,
                attention=None,
                created_at=now,
                updated_at=now,
            )
            self._rows[row.id] = row
            self._by_key[row.idempotency_key] = row.id
            self._log(now, "created", row, actor=new.actor, reason=new.reason, to_state=state)
            ids.append(row.id)
        return ids

    def _publication(self, row: Row, history: bool = False) -> Publication:
        parts = {part: ref for part, (_, ref) in self._checkpoints.get(row.id, {}).items()}
        return row.to_publication(
            post=self._revisions.get(row.revision),
            receipts=self._receipts.get(row.id, ()),
            checkpoints=contiguous_parts(parts),
            history=[e for e in self._events if e.publication_id == row.id] if history else (),
        )

    async def get(self, publication_id: str, *, history: bool = False) -> Publication:
        with self._lock:
            return self._publication(self._row(publication_id), history)

    async def find_by_key(self, idempotency_key: str) -> Publication | None:
        with self._lock:
            pub_id = self._by_key.get(idempotency_key)
            return self._publication(self._rows[pub_id]) if pub_id else None

    async def list_publications(self, query: PublicationQuery) -> Page:
        with self._lock:
            rows = [r for r in self._rows.values() if _matches(r, query)]
            rows.sort(key=lambda r: (to_us(r.due_at), r.id))
            if query.cursor:
                after = decode_cursor(query.cursor)
                rows = [r for r in rows if (to_us(r.due_at), r.id) > after]
            page = rows[: query.limit]
            items = tuple(self._publication(r) for r in page)
            if not query.include_post:
                items = tuple(p.model_copy(update={"post": None}) for p in items)
        more = len(rows) > query.limit
        cursor = encode_cursor(page[-1].due_at, page[-1].id) if more and page else None
        return Page(items=items, next_cursor=cursor)

    async def transition(self, transition: Transition, *, now: dt.datetime) -> PublicationState:
        with self._lock:
            written = self._apply(transition, now)
        self._notify()
        return written

    async def apply(
        self, transitions: Sequence[Transition], *, now: dt.datetime
    ) -> list[PublicationState | None]:
        results: list[PublicationState | None] = []
        with self._lock:
            for t in transitions:
                try:
                    results.append(self._apply(t, now))
                except StaleTransition:
                    results.append(None)
        self._notify()
        return results

    async def receipt_owner(self, platform: str, post_id: str) -> str | None:
        with self._lock:
            return self._receipt_posts.get((platform, post_id))

    # -- dispatch -------------------------------------------------------------------------

    def _missed(self, now: dt.datetime, *, due_rules: bool = False) -> list[str]:
        """What the misfire policy misses at ``now``: ``missed_ids`` over the overdue
        (never of an account waiting to be reconnected), and with ``due_rules`` over every
        rule occurrence already due as well."""
        waiting = self._waiting_accounts()
        overdue = [
            r
            for r in self._rows.values()
            if r.state == S.SCHEDULED
            and r.sends == 0
            and (
                (
                    r.expires_at is not None
                    and r.expires_at < now
                    and (r.workspace, r.account_id) not in waiting
                )
                or (due_rules and r.rule_id is not None and r.due_at <= now)
            )
        ]
        if not overdue:
            return []
        latest: dict[tuple[str, str, str], dt.datetime] = {}
        for r in self._rows.values():
            if r.rule_id is not None and r.due_at <= now:
                key = (r.rule_id, r.workspace, r.account_id)
                if key not in latest or r.due_at > latest[key]:
                    latest[key] = r.due_at
        return missed_ids(
            (
                (r.id, r.rule_id, r.workspace, r.account_id, r.due_at, r.publish_late)
                for r in overdue
            ),
            latest,
        )

    async def expire_overdue(self, *, now: dt.datetime, actor: str = "engine") -> list[Moved]:
        with self._lock:
            missed = self._missed(now, due_rules=True)
            if not missed:
                return []
            moved = []
            for pub_id in sorted(missed):
                row = self._rows[pub_id]
                t = _missed(row, actor, now)
                self._apply(t, now)
                moved.append(_moved(row, S.SCHEDULED, now, actor, t.reason))
        return moved

    def _sweep(self, now: dt.datetime, lease: dt.timedelta) -> None:
        for row in self._rows.values():
            if row.lease_expires_at is None or row.lease_expires_at > now:
                continue
            before = row.state
            if before == S.CLAIMED:
                held = self._held(row)
                row.state = S.PAUSED if held else S.SCHEDULED
                reason = "lease expired before sending; handed back"
            elif before == S.PUBLISHING:
                row.state = S.UNKNOWN
                row.run_at = now + lease
                row.attention = None
                reason = "lease lost while publishing; outcome unknown"
            else:
                reason = "reconciliation lease expired"
            owner = row.lease_owner
            row.lease_owner = None
            row.lease_expires_at = None
            row.updated_at = now
            self._log(
                now,
                "lease_expired",
                row,
                actor="engine",
                reason=reason,
                from_state=before,
                to_state=row.state,
                data={"worker": owner},
            )

    async def claim(
        self,
        worker: str,
        *,
        now: dt.datetime,
        limit: int,
        lease: dt.timedelta,
        per_account: int | None = 1,
        reconcile: bool = True,
    ) -> list[Claim]:
        with self._lock:
            self._sweep(now, lease)
            in_flight, unsettled = self._in_flight()
            blocked, budget_left = self._holds(now)
            reconcilable = sorted(
                (
                    r
                    for r in self._rows.values()
                    if reconcile
                    and r.state == S.UNKNOWN
                    and r.attention is None
                    and r.lease_owner is None
                    and r.run_at <= now
                ),
                key=lambda r: (r.run_at, r.id),
            )
            # Never what the misfire policy would miss: a post past its grace period
            # waits for ``expire_overdue``, it is not sent late.
            missed = set(self._missed(now))
            due = sorted(
                (
                    r
                    for r in self._rows.values()
                    if r.state in CLAIMABLE_STATES and r.run_at <= now and r.id not in missed
                ),
                key=lambda r: (r.run_at, r.id),
            )
            chosen = select_claims(
                (
                    (r.id, r.workspace, r.account_id, r.campaign, r.state)
                    for r in itertools.chain(reconcilable, due)
                ),
                limit=limit,
                per_account=per_account,
                in_flight=in_flight,
                unsettled=unsettled,
                blocked=blocked,
                budget_left=budget_left,
                pauses=list(self._pauses.values()),
            )
            claims = []
            for candidate in chosen:
                row = self._rows[candidate[0]]
                before = row.state
                kind: ClaimKind = "reconcile" if before == S.UNKNOWN else "publish"
                row.attempt += 1
                row.state = S.UNKNOWN if kind == "reconcile" else S.CLAIMED
                row.lease_owner = worker
                row.lease_expires_at = now + lease
                row.updated_at = now
                self._log(
                    now,
                    "claimed",
                    row,
                    actor=worker,
                    reason="reconcile" if kind == "reconcile" else None,
                    from_state=before,
                    to_state=row.state,
                )
                parts = {p: ref for p, (_, ref) in self._checkpoints.get(row.id, {}).items()}
                claims.append(
                    Claim(
                        id=row.id,
                        attempt=row.attempt,
                        kind=kind,
                        workspace=row.workspace,
                        account_id=row.account_id,
                        platform=row.platform,
                        revision=row.revision,
                        due_at=row.due_at,
                        local_time=dt.datetime.fromisoformat(row.local_time),
                        zone=row.zone,
                        idempotency_key=row.idempotency_key,
                        campaign=row.campaign,
                        rule_id=row.rule_id,
                        sends=row.sends,
                        failures=row.failures,
                        lease_expires_at=now + lease,
                        draft_json=row.draft,
                        checkpoints=contiguous_parts(parts),
                    )
                )
            return claims

    def _in_flight(self) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], int]]:
        """Per account: publications under a lease (claimed, publishing, or an
        ``unknown`` one being reconciled), and ``unknown`` ones no one holds a lease on
        (they hold their account too, until settled: see ``select_claims``)."""
        leased: dict[tuple[str, str], int] = {}
        unsettled: dict[tuple[str, str], int] = {}
        for r in self._rows.values():
            key = (r.workspace, r.account_id)
            if r.state in LEASED_STATES or (r.state == S.UNKNOWN and r.lease_owner):
                leased[key] = leased.get(key, 0) + 1
            elif r.state == S.UNKNOWN:
                unsettled[key] = unsettled.get(key, 0) + 1
        return leased, unsettled

    def _holds(self, now: dt.datetime) -> tuple[set[tuple[str, str]], dict[tuple[str, str], int]]:
        blocked = self._waiting_accounts()
        budget_left: dict[tuple[str, str], int] = {}
        for (workspace, account_id, scope), budget in self._budgets.items():
            if scope != "default":
                continue
            key = (workspace, account_id)
            if budget.blocks(now) is not None:
                blocked.add(key)
            elif (
                budget.remaining is not None
                and budget.reset_at is not None
                and budget.reset_at > now
            ):
                budget_left[key] = budget.remaining
        if budget_left:
            # A claim not yet sent takes its request at mark_publishing: count it now,
            # or two workers' claims could share the last request.
            for row in self._rows.values():
                key = (row.workspace, row.account_id)
                if row.state == S.CLAIMED and key in budget_left:
                    budget_left[key] -= 1
        return blocked, budget_left

    def _live(self, row: Row, attempt: int, worker: str | None, now: dt.datetime) -> bool:
        return (
            row.attempt == attempt
            and row.lease_owner is not None
            and (worker is None or row.lease_owner == worker)
            and row.lease_expires_at is not None
            and row.lease_expires_at > now
        )

    async def heartbeat(
        self,
        worker: str,
        claims: Sequence[tuple[str, int]],
        *,
        now: dt.datetime,
        lease: dt.timedelta,
    ) -> list[str]:
        lost: list[str] = []
        with self._lock:
            for pub_id, attempt in claims:
                row = self._rows.get(pub_id)
                if row is None or not self._live(row, attempt, worker, now):
                    lost.append(pub_id)
                    continue
                row.lease_expires_at = now + lease
        return lost

    async def mark_publishing(
        self,
        starts: Sequence[PublishStart],
        *,
        worker: str,
        now: dt.datetime,
        lease: dt.timedelta,
    ) -> list[bool]:
        results: list[bool] = []
        with self._lock:
            for start in starts:
                row = self._rows.get(start.id)
                if (
                    row is None
                    or row.state != start.from_state
                    or not self._live(row, start.attempt, worker, now)
                    # a pause flipped on since the claim (or during a reconciliation,
                    # which it does not move) stops the send
                    or self._held(row)
                ):
                    results.append(False)
                    continue
                before = row.state
                row.state = S.PUBLISHING
                row.sends += 1
                if start.draft_json is not None and row.draft is None:
                    row.draft = start.draft_json
                row.lease_expires_at = now + lease
                row.updated_at = now
                budget = self._budgets.get((row.workspace, row.account_id, "default"))
                if (
                    budget is not None
                    and budget.remaining is not None
                    and budget.reset_at is not None
                    and budget.reset_at > now
                ):
                    self._budgets[(row.workspace, row.account_id, "default")] = attrs.evolve(
                        budget, remaining=budget.remaining - 1
                    )
                self._log(
                    now,
                    "transition",
                    row,
                    actor=worker,
                    reason="sending",
                    from_state=before,
                    to_state=S.PUBLISHING,
                    data={"send": row.sends},
                )
                results.append(True)
        return results

    async def release(
        self,
        claims: Sequence[tuple[str, int]],
        *,
        now: dt.datetime,
        actor: str = "engine",
        reason: str = "handed back",
    ) -> list[bool]:
        results: list[bool] = []
        with self._lock:
            for pub_id, attempt in claims:
                row = self._rows.get(pub_id)
                if (
                    row is None
                    or row.attempt != attempt
                    or row.state not in (S.CLAIMED, S.UNKNOWN)
                    or row.lease_owner is None
                ):
                    results.append(False)
                    continue
                before = row.state
                if before == S.CLAIMED:
                    row.state = S.PAUSED if self._held(row) else S.SCHEDULED
                row.lease_owner = None
                row.lease_expires_at = None
                row.updated_at = now
                self._log(
                    now,
                    "released",
                    row,
                    actor=actor,
                    reason=reason,
                    from_state=before,
                    to_state=row.state,
                )
                results.append(True)
        self._notify()
        return results

    async def record_receipts(
        self, receipts: Sequence[ReceiptRecord], *, now: dt.datetime
    ) -> list[bool]:
        results: list[bool] = []
        with self._lock:
            for record in receipts:  # all or nothing, as in a transaction
                self._row(record.id)
            for record in receipts:
                row = self._row(record.id)
                key = (record.id, record.attempt, record.source)
                if key in self._receipt_keys:
                    results.append(False)
                    continue
                self._receipt_keys.add(key)
                self._receipts.setdefault(record.id, []).append(
                    StoredReceipt(
                        attempt=record.attempt,
                        source=record.source,
                        recorded_at=now,
                        receipt=record.receipt,
                    )
                )
                for ref in record.receipt.parts:
                    self._receipt_posts.setdefault((row.platform, ref.id), row.id)
                before = row.state
                moved = before not in RECEIPT_KEEPS
                if before == S.DELETED:
                    # Live again after it was taken down: a person deletes it again.
                    row.attention = "delete"
                    row.updated_at = now
                if moved:
                    row.state = S.PUBLISHED
                    row.lease_owner = None
                    row.lease_expires_at = None
                    row.attention = None
                    row.updated_at = now
                    first = metric_steps(record.receipt.published_at, record.metrics)
                    if first is not None:
                        self._add_task(row.id, *first)
                self._log(
                    now,
                    "receipt",
                    row,
                    actor=record.actor,
                    reason=record.reason,
                    from_state=before if moved else None,
                    to_state=S.PUBLISHED if moved else None,
                    data={
                        "post_id": record.receipt.ref.id,
                        "source": record.source,
                        "receipt_attempt": record.attempt,
                    },
                )
                results.append(moved)
        self._notify()
        return results

    async def record_checkpoint(self, checkpoint: CheckpointRecord, *, now: dt.datetime) -> None:
        with self._lock:
            row = self._row(checkpoint.id)
            parts = self._checkpoints.setdefault(checkpoint.id, {})
            current = parts.get(checkpoint.part)
            if current is None or current[0] <= checkpoint.attempt:
                parts[checkpoint.part] = (checkpoint.attempt, checkpoint.ref)
            self._log(
                now,
                "checkpoint",
                row,
                data={
                    "part": checkpoint.part,
                    "post_id": checkpoint.ref.id,
                    "checkpoint_attempt": checkpoint.attempt,
                },
            )

    async def record_deletion(self, deletion: DeletionRecord, *, now: dt.datetime) -> None:
        with self._lock:
            self._log(now, deletion.kind, self._row(deletion.id), **deletion.event_fields())

    async def next_due(
        self, *, now: dt.datetime, per_account: int | None = 1
    ) -> dt.datetime | None:
        with self._lock:
            blocked = self._waiting_accounts()
            leases, unsettled = self._in_flight()
            if per_account is None:
                full: set[tuple[str, str]] = set()
                busy: set[tuple[str, str]] = set()
            else:
                # at the limit by leases: nothing of theirs can be claimed, reconciling
                # neither; with their unsettled outcomes counted: no publish
                full = {key for key, n in leases.items() if n >= per_account}
                busy = full | {
                    key for key, n in unsettled.items() if leases.get(key, 0) + n >= per_account
                }
            unblock: dict[tuple[str, str], dt.datetime] = {}
            for (workspace, account_id, scope), budget in self._budgets.items():
                until = budget.blocks(now)
                if scope == "default" and until is not None:
                    unblock[(workspace, account_id)] = until
            pauses = list(self._pauses.values())
            best: dt.datetime | None = None

            def consider(value: dt.datetime | None) -> None:
                nonlocal best
                if value is not None and (best is None or value < best):
                    best = value

            for r in self._rows.values():
                key = (r.workspace, r.account_id)
                if r.state == S.SCHEDULED and r.sends == 0 and key not in blocked:
                    consider(r.expires_at)
                if (
                    (r.state in CLAIMABLE_STATES and key not in busy)
                    or (
                        r.state == S.UNKNOWN
                        and r.attention is None
                        and r.lease_owner is None
                        and key not in full
                    )
                ) and not (
                    key in blocked or covered(pauses, r.workspace, r.account_id, r.campaign)
                ):
                    consider(max(r.run_at, unblock[key]) if key in unblock else r.run_at)
                if r.lease_expires_at is not None:
                    consider(r.lease_expires_at)
            for task in self._tasks.values():
                row = self._rows[task.publication_id]
                if task.done_at is not None or (row.workspace, row.account_id) in blocked:
                    continue  # done, or waiting for a person to re-authorise its account
                # A collection in flight is due again only if its lease runs out.
                leased = task.lease_expires_at is not None and task.lease_expires_at > now
                consider(task.lease_expires_at if leased else task.due_at)
            return best

    # -- pause switch and rate budgets ----------------------------------------------------

    async def pause(self, scope: PauseScope, *, now: dt.datetime) -> list[Moved]:
        scope = scope.model_copy(update={"at": scope.at or now})
        moved: list[Moved] = []
        reason = scope.history_reason()
        with self._lock:
            self._pauses[(scope.workspace, scope.kind, scope.value)] = scope
            self._log(
                now,
                "pause",
                actor=scope.actor,
                reason=scope.reason,
                data={"kind": scope.kind, "value": scope.value},
                workspace=scope.workspace,
            )
            for row in sorted(self._rows.values(), key=lambda r: r.id):
                # A claimed one is not sent yet: it is handed back too, and the worker
                # that claimed it finds it moved when it marks it publishing.
                if (row.state in HOLDABLE or row.state == S.CLAIMED) and scope.covers(
                    row.workspace, row.account_id, row.campaign
                ):
                    before = row.state
                    row.state = S.PAUSED
                    row.updated_at = now
                    if before == S.CLAIMED:
                        row.lease_owner = row.lease_expires_at = None
                    self._log(
                        now,
                        "transition",
                        row,
                        actor=scope.actor,
                        reason=reason,
                        from_state=before,
                        to_state=S.PAUSED,
                    )
                    moved.append(_moved(row, before, now, scope.actor, reason))
        return moved

    async def resume(self, scope: PauseScope, *, now: dt.datetime) -> list[Moved]:
        moved: list[Moved] = []
        reason = scope.reason or "resumed"
        with self._lock:
            removed = self._pauses.pop((scope.workspace, scope.kind, scope.value), None)
            if removed is None:
                return []
            self._log(
                now,
                "resume",
                actor=scope.actor,
                reason=scope.reason,
                data={"kind": scope.kind, "value": scope.value},
                workspace=scope.workspace,
            )
            remaining = list(self._pauses.values())
            for row in sorted(self._rows.values(), key=lambda r: r.id):
                if (
                    row.state == S.PAUSED
                    and row.attention != DELETING  # being taken down: it stays paused
                    and scope.covers(row.workspace, row.account_id, row.campaign)
                    and not covered(remaining, row.workspace, row.account_id, row.campaign)
                ):
                    row.state = S.SCHEDULED
                    row.updated_at = now
                    self._log(
                        now,
                        "transition",
                        row,
                        actor=scope.actor,
                        reason=reason,
                        from_state=S.PAUSED,
                        to_state=S.SCHEDULED,
                    )
                    moved.append(_moved(row, S.PAUSED, now, scope.actor, reason))
        self._notify()
        return moved

    async def pauses(self, *, workspace: str | None = None) -> list[PauseScope]:
        with self._lock:
            return [
                scope
                for key, scope in sorted(self._pauses.items())
                if workspace is None or key[0] == workspace
            ]

    async def set_budget(self, budget: Budget, *, now: dt.datetime) -> None:
        with self._lock:
            key = (budget.workspace, budget.account_id, budget.scope)
            self._budgets[key] = merge_budget(self._budgets.get(key), budget, now)
        self._notify()

    async def budgets(self, *, workspace: str | None = None) -> list[Budget]:
        with self._lock:
            return [
                b
                for key, b in sorted(self._budgets.items())
                if workspace is None or key[0] == workspace
            ]

    async def clear_budget(
        self,
        workspace: str,
        account_id: str,
        *,
        now: dt.datetime,
        actor: str = "api",
        reason: str | None = None,
    ) -> ClearedRateLimit:
        with self._lock:
            keys = sorted(k for k in self._budgets if k[:2] == (workspace, account_id))
            moves = rate_limit_releases(
                (
                    (row.id, row.attempt, row.last_error)
                    for row in self._rows.values()
                    if (row.workspace, row.account_id) == (workspace, account_id)
                    and row.state == S.RETRY_WAIT
                    and row.attention is None
                    and row.run_at > now
                ),
                actor,
                reason,
                now,
            )
            ends = metric_hold_ends(self._budgets[k] for k in keys)
            now_us = to_us(now)
            waiting = (workspace, account_id) in self._waiting_accounts()
            tasks = [
                task
                for task in ([] if waiting else self._tasks.values())
                if task.done_at is None
                and (task.lease_expires_at is None or task.lease_expires_at <= now)
                and (
                    (row := self._rows[task.publication_id]).workspace,
                    row.account_id,
                )
                == (workspace, account_id)
                and waits_for_rate_limit(to_us(task.due_at), task.error, now_us, ends)
            ]
            if not keys and not moves and not tasks:
                return ClearedRateLimit()
            cleared = tuple(self._budgets.pop(k) for k in keys)
            released = tuple(t.id for t in moves)
            self._log(
                now,
                "rate_limit_cleared",
                actor=actor,
                reason=reason,
                data=cleared_budgets_data(cleared, released, len(tasks)),
                workspace=workspace,
                account_id=account_id,
            )
            for t in moves:
                self._apply(t, now)  # under the lock nothing moved it since it was read
            for task in tasks:
                task.due_at = now
        self._notify()
        return ClearedRateLimit(budgets=cleared, released=released, metrics_released=len(tasks))


def _moved(
    row: Row, before: PublicationState, now: dt.datetime, actor: str, reason: str | None
) -> Moved:
    """What a bulk move did to ``row`` (already in its new state)."""
    return Moved(
        id=row.id,
        workspace=row.workspace,
        account_id=row.account_id,
        campaign=row.campaign,
        from_state=before,
        to_state=row.state,
        attempt=row.attempt,
        at=now,
        actor=actor,
        reason=reason,
    )


def _missed(row: Row, actor: str, now: dt.datetime) -> Transition:
    from socialkit.schedule.records import Transition

    if row.expires_at is not None and row.expires_at < now:
        late = row.expires_at - row.due_at
        reason = f"not started within its grace period ({late.total_seconds():g} s after due)"
    else:
        reason = SUPERSEDED
    return Transition(
        id=row.id,
        expect_state=S.SCHEDULED,
        expect_attempt=row.attempt,
        to=S.MISSED,
        actor=actor,
        reason=reason,
    )


def _matches(row: Row, q: PublicationQuery) -> bool:
    if q.states and row.state not in q.states:
        return False
    if q.workspace is not None and row.workspace != q.workspace:
        return False
    if q.campaign is not None and row.campaign != q.campaign:
        return False
    if q.account_id is not None and row.account_id != q.account_id:
        return False
    if q.rule_id is not None and row.rule_id != q.rule_id:
        return False
    if q.attention is not None and row.attention != q.attention:
        return False
    if q.between is not None:
        start, end = q.between
        if not start <= row.due_at < end:
            return False
    return True
