"""The in-memory store's state, and its simpler parts: content, accounts, rules, metrics, events.

Every call runs to completion under one lock without awaiting, so each call is atomic
exactly as a transaction is in the SQL stores. Nothing survives the process.
"""

from __future__ import annotations

import itertools
import threading
from typing import TYPE_CHECKING, Any

import attrs

from socialkit.errors import StaleTransition, StoreError
from socialkit.schedule.publication import Event, PauseScope, StoredReceipt
from socialkit.schedule.records import (
    AccountRecord,
    Budget,
    MetricTask,
    SchemaInfo,
)
from socialkit.schedule.states import (
    PublicationState,
)
from socialkit.schedule.stores._common import (
    HOLDABLE,
    Row,
    check_move,
    covered,
    from_us,
    late_metric_step,
    next_metric_step,
    stale_reason,
    to_us,
)
from socialkit.schedule.stores.base import MIN_COMPATIBLE_SCHEMA, SCHEMA_VERSION

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Callable, Sequence

    from socialkit.models.account import Account
    from socialkit.models.content import Post
    from socialkit.models.metrics import MetricSnapshot
    from socialkit.models.receipt import PostRef
    from socialkit.schedule.records import (
        AccountStatus,
        NewPublication,
        Transition,
    )
    from socialkit.schedule.recurring import Rule

__all__ = ["MemoryBase", "Task"]

S = PublicationState


@attrs.define(slots=True)
class Task:
    id: int
    publication_id: str
    due_at: dt.datetime
    label: str
    done_at: dt.datetime | None = None
    lease_owner: str | None = None
    lease_expires_at: dt.datetime | None = None
    error: str | None = None
    rest: str | None = None  # the later collections (see _common.metric_steps)
    failures: int = 0
    skipped: tuple[str, ...] = ()  # the collections it is made instead of


class MemoryBase:
    """State and helpers of :class:`~socialkit.schedule.stores.memory.MemoryStore`."""

    def __init__(self, url: str = "memory://") -> None:
        self.url = url
        self._lock = threading.RLock()
        self._rows: dict[str, Row] = {}
        self._by_key: dict[str, str] = {}
        self._revisions: dict[str, Post] = {}
        self._accounts: dict[tuple[str, str], AccountRecord] = {}
        self._events: list[Event] = []
        self._receipts: dict[str, list[StoredReceipt]] = {}
        self._receipt_keys: set[tuple[str, int, str]] = set()
        self._receipt_posts: dict[tuple[str, str], str] = {}
        self._checkpoints: dict[str, dict[int, tuple[int, PostRef]]] = {}
        self._pauses: dict[tuple[str, str, str], PauseScope] = {}
        self._budgets: dict[tuple[str, str, str], Budget] = {}
        self._rules: dict[str, Rule] = {}
        self._tasks: dict[int, Task] = {}
        self._task_ids = itertools.count(1)
        self._snapshots: list[tuple[str | None, str, str, str | None, MetricSnapshot]] = []
        self._subscribers: list[Callable[[], None]] = []

    def __repr__(self) -> str:
        return f"MemoryStore({len(self._rows)} publications)"

    # -- lifecycle ------------------------------------------------------------------------

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def schema(self) -> SchemaInfo:
        return SchemaInfo(
            version=SCHEMA_VERSION,
            min_compatible=MIN_COMPATIBLE_SCHEMA,
            code_version=SCHEMA_VERSION,
        )

    def subscribe(self, callback: Callable[[], None]) -> Callable[[], None]:
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    def _notify(self) -> None:
        for callback in list(self._subscribers):
            callback()

    # -- helpers --------------------------------------------------------------------------

    def _log(self, now: dt.datetime, kind: str, row: Row | None = None, **fields: Any) -> None:
        """Append :meth:`_event` (same arguments) to the log."""
        self._events.append(self._event(now, kind, row, **fields))

    def _event(
        self,
        now: dt.datetime,
        kind: str,
        row: Row | None = None,
        *,
        actor: str = "engine",
        reason: str | None = None,
        from_state: PublicationState | None = None,
        to_state: PublicationState | None = None,
        error: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
        workspace: str | None = None,
        account_id: str | None = None,
    ) -> Event:
        """The next event of the log, validated but not yet appended."""
        return Event(
            seq=len(self._events) + 1,
            at=now,
            kind=kind,
            publication_id=row.id if row else None,
            workspace=row.workspace if row else workspace,
            account_id=row.account_id if row else account_id,
            campaign=row.campaign if row else None,
            actor=actor,
            reason=reason,
            attempt=row.attempt if row else 0,
            from_state=from_state,
            to_state=to_state,
            error=error,
            data=data or {},
        )

    def _row(self, publication_id: str) -> Row:
        row = self._rows.get(publication_id)
        if row is None:
            raise StoreError(f"no publication {publication_id!r}")
        return row

    def _waiting_accounts(self) -> set[tuple[str, str]]:
        """The accounts waiting for a person to re-authorise them."""
        return {key for key, record in self._accounts.items() if record.status == "needs_reauth"}

    def _held(self, row: Row) -> bool:
        return bool(self._pauses) and covered(
            list(self._pauses.values()), row.workspace, row.account_id, row.campaign
        )

    def _apply(self, t: Transition, now: dt.datetime) -> PublicationState:
        """Apply ``t``; returns the state written (``paused`` when a switch held it)."""
        row = self._row(t.id)
        stale = stale_reason(row, t)
        if stale is not None:
            raise StaleTransition(stale)
        check_move(row.state, t.to, t.id)
        held = t.to in HOLDABLE and self._held(row)
        after = PublicationState.PAUSED if held else t.to
        data = dict(t.data or {})
        if after != t.to:
            data["held_by_pause"] = True
        # The event is built (and validated) before the row changes: an event that
        # cannot be recorded leaves the publication as it was, as a rolled-back
        # transaction does on the other stores.
        event = self._event(
            now,
            t.kind,
            row,
            actor=t.actor,
            reason=t.reason,
            from_state=row.state,
            to_state=after,
            error=t.error,
            data=data,
        )
        row.apply(t, now, held=held)  # moves it to ``after``
        self._events.append(event)
        return after

    def _add_locked(self, publications: Sequence[NewPublication], now: dt.datetime) -> list[str]:
        raise NotImplementedError  # provided by MemoryStore

    # -- content and accounts -------------------------------------------------------------

    async def put_revision(self, post: Post, *, now: dt.datetime) -> str:
        revision = post.revision()
        with self._lock:
            self._revisions.setdefault(revision, post)
        return revision

    async def get_revision(self, revision: str) -> Post:
        with self._lock:
            try:
                return self._revisions[revision]
            except KeyError:
                raise StoreError(f"no post revision {revision!r}") from None

    async def put_account(self, account: Account, *, now: dt.datetime) -> None:
        with self._lock:
            key = (account.workspace, account.id)
            old = self._accounts.get(key)
            self._accounts[key] = AccountRecord(
                account=account,
                status=old.status if old else "ok",
                status_reason=old.status_reason if old else None,
                updated_at=now,
            )

    async def get_account(self, account_id: str, *, workspace: str = "default") -> AccountRecord:
        with self._lock:
            try:
                return self._accounts[(workspace, account_id)]
            except KeyError:
                raise StoreError(f"no account {account_id!r} in workspace {workspace!r}") from None

    async def list_accounts(self, *, workspace: str | None = None) -> list[AccountRecord]:
        with self._lock:
            return [
                record
                for key, record in sorted(self._accounts.items())
                if workspace is None or key[0] == workspace
            ]

    async def set_account_status(
        self,
        account_id: str,
        status: AccountStatus,
        *,
        now: dt.datetime,
        workspace: str = "default",
        reason: str | None = None,
        actor: str = "engine",
    ) -> None:
        with self._lock:
            record = self._accounts.get((workspace, account_id))
            if record is None:
                raise StoreError(f"no account {account_id!r} in workspace {workspace!r}")
            self._accounts[(workspace, account_id)] = attrs.evolve(
                record, status=status, status_reason=reason, updated_at=now
            )
            if record.status == "needs_reauth" and status != "needs_reauth":
                # Its publications waited for a person: each one past its grace period
                # gets that period again, counted from now.
                for row in self._rows.values():
                    if (
                        row.workspace == workspace
                        and row.account_id == account_id
                        and row.state == PublicationState.SCHEDULED
                        and row.sends == 0
                        and row.expires_at is not None
                        and row.expires_at < now
                    ):
                        row.expires_at = now + (row.expires_at - row.due_at)
                    elif (
                        row.workspace == workspace
                        and row.account_id == account_id
                        and row.state == PublicationState.UNKNOWN
                        and row.attention == "reauth"
                    ):
                        # Its outcome could not be looked up for want of credentials:
                        # with them back, the engine looks again now.
                        row.attention = None
                        row.run_at = now
            self._log(
                now,
                "account",
                actor=actor,
                reason=reason,
                data={"status": status},
                workspace=workspace,
                account_id=account_id,
            )
        self._notify()

    # -- rules ----------------------------------------------------------------------------

    async def add_rule(self, rule: Rule, *, now: dt.datetime, actor: str = "engine") -> None:
        with self._lock:
            if rule.id in self._rules:
                raise StoreError(f"rule id {rule.id!r} is taken")
            self._rules[rule.id] = rule
            self._log(
                now,
                "rule",
                actor=actor,
                reason="created",
                data={"rule_id": rule.id},
                workspace=rule.workspace,
            )

    async def get_rule(self, rule_id: str) -> Rule:
        with self._lock:
            return self._rule(rule_id)

    def _rule(self, rule_id: str) -> Rule:
        try:
            return self._rules[rule_id]
        except KeyError:
            raise StoreError(f"no rule {rule_id!r}") from None

    async def list_rules(
        self, *, workspace: str | None = None, active: bool | None = None
    ) -> list[Rule]:
        with self._lock:
            return [
                r
                for _, r in sorted(self._rules.items())
                if (workspace is None or r.workspace == workspace)
                and (active is None or r.active == active)
            ]

    async def advance_rule(
        self,
        rule_id: str,
        *,
        expect_cursor: str | None,
        cursor: str | None,
        publications: Sequence[NewPublication],
        now: dt.datetime,
        remaining: int | None = None,
        active: bool | None = None,
    ) -> list[str]:
        with self._lock:
            rule = self._rule(rule_id)
            if rule.cursor != expect_cursor:
                raise StaleTransition(
                    f"rule {rule_id} moved on to {rule.cursor!r} (expected {expect_cursor!r})"
                )
            if not rule.active:  # stopped since the caller read it: it creates nothing more
                raise StaleTransition(f"rule {rule_id} was stopped")
            fresh = [p for p in publications if p.idempotency_key not in self._by_key]
            ids = self._add_locked(fresh, now)
            update: dict[str, Any] = {"cursor": cursor, "updated_at": now}
            if remaining is not None:
                update["remaining"] = remaining
            if active is not None:
                update["active"] = active
            self._rules[rule_id] = rule.model_copy(update=update)
            self._log(
                now,
                "rule",
                reason="advanced",
                data={"rule_id": rule_id, "cursor": cursor, "created": len(ids)},
                workspace=rule.workspace,
            )
        self._notify()
        return ids

    async def set_rule_active(
        self, rule_id: str, active: bool, *, now: dt.datetime, actor: str = "engine"
    ) -> None:
        with self._lock:
            rule = self._rule(rule_id)
            self._rules[rule_id] = rule.model_copy(update={"active": active, "updated_at": now})
            self._log(
                now,
                "rule",
                actor=actor,
                reason="activated" if active else "stopped",
                data={"rule_id": rule_id},
                workspace=rule.workspace,
            )
        self._notify()

    # -- metrics --------------------------------------------------------------------------

    def _add_task(self, publication_id: str, label: str, due_us: int, rest: str | None) -> Task:
        task_id = next(self._task_ids)
        task = self._tasks[task_id] = Task(
            id=task_id,
            publication_id=publication_id,
            due_at=from_us(due_us),
            label=label,
            rest=rest,
        )
        return task

    async def add_metric_tasks(
        self, tasks: Sequence[tuple[str, dt.datetime, str]], *, now: dt.datetime
    ) -> None:
        with self._lock:
            for publication_id, due_at, label in tasks:
                self._row(publication_id)
                self._add_task(publication_id, label, to_us(due_at), None)
        self._notify()

    async def claim_metric_tasks(
        self, worker: str, *, now: dt.datetime, limit: int, lease: dt.timedelta
    ) -> list[MetricTask]:
        with self._lock:
            # An account a rate limit holds (its default budget spent before its reset,
            # or blocked until a Retry-After) is asked nothing: its due collections are
            # put back until the hold ends, as its publications wait.
            held: dict[tuple[str, str], dt.datetime] = {}
            for (workspace, account_id, scope), budget in self._budgets.items():
                until = budget.blocks(now) if scope == "default" else None
                if until is not None:
                    held[(workspace, account_id)] = until
            # An account waiting for a person to re-authorise it is asked nothing either:
            # its collections stay due (not failed, not dropped) until it is.
            waiting = self._waiting_accounts()
            due = []
            for t in self._tasks.values():
                if not (
                    t.done_at is None
                    and t.due_at <= now
                    and (t.lease_expires_at is None or t.lease_expires_at <= now)
                ):
                    continue
                row = self._rows[t.publication_id]
                if (row.workspace, row.account_id) in waiting:
                    continue
                until = held.get((row.workspace, row.account_id)) if held else None
                if until is not None:
                    t.due_at = from_us(to_us(until))
                else:
                    due.append(t)
            due = sorted(due, key=lambda t: (t.due_at, t.id))[:limit]
            out = []
            for task in due:
                late = late_metric_step(task.label, task.rest, task.skipped, to_us(now))
                if late is not None:
                    # Later collections are due too: the last one is collected instead.
                    task.done_at = now
                    task.error = late.error
                    task.lease_owner = None
                    task.lease_expires_at = None
                    task = self._add_task(task.publication_id, late.label, late.due_us, late.rest)
                    task.skipped = late.skipped
                task.lease_owner = worker
                task.lease_expires_at = now + lease
                row = self._rows[task.publication_id]
                out.append(
                    MetricTask(
                        id=task.id,
                        publication_id=task.publication_id,
                        due_at=task.due_at,
                        label=task.label,
                        workspace=row.workspace,
                        account_id=row.account_id,
                        platform=row.platform,
                        campaign=row.campaign,
                        failures=task.failures,
                        skipped=task.skipped,
                    )
                )
            return out

    async def complete_metric_task(
        self,
        task_id: int,
        snapshots: Sequence[MetricSnapshot],
        *,
        now: dt.datetime,
        error: str | None = None,
    ) -> None:
        with self._lock:
            task = self._tasks.get(task_id)
            if task is None:
                raise StoreError(f"no metric task {task_id}")
            if task.done_at is not None:
                return
            row = self._rows[task.publication_id]
            task.done_at = now
            task.error = error
            task.lease_owner = None
            task.lease_expires_at = None
            step = next_metric_step(task.rest, row.state)
            if step is not None:
                self._add_task(row.id, *step)
            for snapshot in snapshots:
                self._snapshots.append(
                    (
                        snapshot.publication_id or row.id,
                        row.workspace,
                        snapshot.account_id,
                        row.campaign,
                        snapshot,
                    )
                )

    async def retry_metric_task(
        self,
        task_id: int,
        *,
        run_at: dt.datetime,
        now: dt.datetime,
        error: str,
        count_failure: bool = False,
    ) -> None:
        with self._lock:
            task = self._tasks.get(task_id)
            if task is None:
                raise StoreError(f"no metric task {task_id}")
            if task.done_at is not None:
                return
            task.due_at = from_us(to_us(run_at))
            task.error = error
            task.lease_owner = None
            task.lease_expires_at = None
            if count_failure:
                task.failures += 1
        self._notify()

    async def metric_series(
        self,
        *,
        publication_id: str | None = None,
        account_id: str | None = None,
        campaign: str | None = None,
        workspace: str | None = None,
    ) -> list[MetricSnapshot]:
        with self._lock:
            out = [
                snap
                for pub_id, ws, acct, camp, snap in self._snapshots
                if (publication_id is None or pub_id == publication_id)
                and (account_id is None or acct == account_id)
                and (campaign is None or camp == campaign)
                and (workspace is None or ws == workspace)
            ]
        return sorted(out, key=lambda s: s.collected_at)

    # -- event log ------------------------------------------------------------------------

    async def events(
        self,
        *,
        since: int = 0,
        limit: int = 1000,
        publication_id: str | None = None,
        workspace: str | None = None,
        until: int | None = None,
    ) -> list[Event]:
        with self._lock:
            return [
                e
                # seq is the index + 1: a negative bound is below every seq (a slice
                # would count it from the end)
                for e in self._events[max(since, 0) : None if until is None else max(until, 0)]
                if (publication_id is None or e.publication_id == publication_id)
                and (workspace is None or e.workspace == workspace)
            ][:limit]

    async def last_event_seq(self) -> int:
        with self._lock:
            return len(self._events)
