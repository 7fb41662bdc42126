"""The :class:`Store` protocol: everything the engine asks of a store, and its promises.

Every implementation (``memory://``, ``sqlite:///``, ``postgresql://``) passes one
contract suite (``tests/schedule/store_contract.py``). The rules it checks:

* **Time comes from the caller.** Every call that reads or writes time takes ``now``
  (aware, UTC); a store never reads a clock of its own, so tests run on injected clocks.
  (A PostgreSQL store may document using the database clock when ``now`` is ``None``.)
* **Fencing.** Every change to a publication, except recording a receipt, a
  checkpoint or what a delete took down, is conditional: ``WHERE id=? AND state=? AND
  attempt=?``. A lost race is :class:`~socialkit.errors.StaleTransition` (single calls)
  or ``False`` in the result list (batch calls), and changes nothing. ``claim`` is the only call that raises
  ``attempt``, so a worker whose lease expired can no longer move the publication.
* **Receipts are never lost.** ``record_receipts`` keeps every receipt (append-only,
  one per publication, attempt and source) even from a worker that lost its lease, and
  moves the publication to ``published`` from whatever state it is in.
* **Claims are atomic.** One publication is never leased to two workers at once;
  expired leases are swept in the same transaction as the claim: ``claimed`` goes back to
  ``scheduled`` (nothing was sent), ``publishing`` goes to ``unknown`` (something may have
  been sent) to be reconciled one lease period later, and a reconciler's expired lease on
  ``unknown`` is simply dropped.
* **Holds.** A claim skips publications of paused scopes, of accounts that need a person
  (``needs_reauth``), of accounts whose rate budget is spent, and of accounts that already
  have ``per_account`` publications in flight. An ``unknown`` publication counts as in
  flight until it is settled (reconciled, or resolved by a person), leased or not: it may
  be live on the platform, and its reconciliation may send it again, so the account's
  later posts wait for it. Its own reconciliation needs room among the leases only. A pause also moves covered ``scheduled`` and
  ``retry_wait`` publications to ``paused`` (and anything that would enter those states
  while the pause holds); ``resume`` moves them back once no other switch covers them.
* **Every change is in the event log** (``events``), written in the same transaction;
  the log is the publications' history and the cursor-based feed for webhooks.
* **Wake-ups.** ``subscribe`` callbacks run (from any thread) after a commit that may make
  something due sooner, including commits by other processes where the store can tell
  (SQLite ``PRAGMA data_version``, PostgreSQL ``LISTEN``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Callable, Sequence

    from socialkit.models.account import Account
    from socialkit.models.content import Post
    from socialkit.models.metrics import MetricSnapshot
    from socialkit.schedule.publication import Event, Page, PauseScope, Publication
    from socialkit.schedule.records import (
        AccountRecord,
        AccountStatus,
        Added,
        Budget,
        CheckpointRecord,
        Claim,
        ClearedRateLimit,
        DeletionRecord,
        MetricTask,
        Moved,
        NewPublication,
        PublicationQuery,
        PublishStart,
        ReceiptRecord,
        SchemaInfo,
        Transition,
    )
    from socialkit.schedule.recurring import Rule
    from socialkit.schedule.states import PublicationState

__all__ = ["MIN_COMPATIBLE_SCHEMA", "SCHEMA_VERSION", "Store"]

SCHEMA_VERSION = 11
"""The schema this code writes. Stores migrate forward to it when they open."""
MIN_COMPATIBLE_SCHEMA = 3
"""The oldest code schema that can still run against a store at :data:`SCHEMA_VERSION`."""


@runtime_checkable
class Store(Protocol):
    """Where publications, rules, accounts, budgets, metrics and the event log live.

    Example::

        store = open_store("sqlite:///socialkit.db")
        await store.open()
        ids = await store.add([new_publication], now=now)
        claims = await store.claim("worker-1", now=now, limit=50, lease=timedelta(seconds=60))
        ...
        await store.close()
    """

    url: str
    """The URL the store was opened from (credentials, if any, masked)."""

    # -- lifecycle ------------------------------------------------------------------------

    async def open(self) -> None:
        """Connect and migrate the schema forward.

        Raises:
            StoreError: when the stored schema is newer than this code can use (its
                ``min_compatible`` is above :data:`SCHEMA_VERSION`).
        """
        ...

    async def close(self) -> None:
        """Release connections and threads; pending writes are committed first."""
        ...

    async def schema(self) -> SchemaInfo:
        """The stored schema version and its minimum compatible code version."""
        ...

    def subscribe(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback`` (from any thread) after changes that may make work due sooner.

        Returns a function that unsubscribes.
        """
        ...

    # -- content and accounts -------------------------------------------------------------

    async def put_revision(self, post: Post, *, now: dt.datetime) -> str:
        """Keep ``post`` under its revision hash (idempotent); returns the hash."""
        ...

    async def get_revision(self, revision: str) -> Post:
        """The post pinned under ``revision``; ``StoreError`` when unknown."""
        ...

    async def put_account(self, account: Account, *, now: dt.datetime) -> None:
        """Insert or replace an account (its status is kept). Never credentials."""
        ...

    async def get_account(self, account_id: str, *, workspace: str = "default") -> AccountRecord:
        """One account; ``StoreError`` naming it when unknown."""
        ...

    async def list_accounts(self, *, workspace: str | None = None) -> list[AccountRecord]:
        """Accounts, ordered by workspace and id."""
        ...

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
        """Mark an account ``needs_reauth`` (its publications wait) or ``ok`` again."""
        ...

    # -- publications ---------------------------------------------------------------------

    async def add(self, publications: Sequence[NewPublication], *, now: dt.datetime) -> list[str]:
        """Insert publications in one transaction, each with a ``created`` event.

        An item whose ``idempotency_key`` is already taken is not inserted; its slot in
        the result holds the existing publication's id. Returns one id per item.

        Raises:
            SlotTaken: an item marked ``free_slot`` found its posting slot held, checked
                in this transaction (:attr:`NewPublication.free_slot
                <socialkit.schedule.records.NewPublication.free_slot>`); nothing is
                inserted. :meth:`add_returning` and :meth:`advance_rule` check the same.
        """
        ...

    async def add_returning(
        self, publications: Sequence[NewPublication], *, now: dt.datetime
    ) -> list[Added]:
        """:meth:`add`, returning per item its id and the state it was stored in, from
        the insert itself: ``paused`` when a pause switch covered it (whatever a cached
        list of pauses says), ``None`` when its key was taken (nothing inserted; the id
        is the existing publication's). ``schedule()`` reports that state; with a store
        written for an earlier socialkit, which has only :meth:`add`, it works the state
        out from the pause switches it read (cached) before the insert.
        """
        ...

    async def add_with_revisions(
        self, posts: Sequence[Post], publications: Sequence[NewPublication], *, now: dt.datetime
    ) -> list[str]:
        """:meth:`put_revision` for each of ``posts`` and :meth:`add` for
        ``publications``, in one transaction; returns what :meth:`add` returns.

        Each post is kept under its own revision hash (``post.revision()``, computed by
        the store): equal posts share one revision, and a revision already stored is
        kept and its ``used_at`` moves on, as :meth:`put_revision` does. When the insert
        is refused (:class:`~socialkit.errors.SlotTaken`, a ``StoreError``), no revision
        is stored either. ``schedule_many()`` stores each chunk (its posts, however many
        are different, and its publications) with one such call; with a store written
        for an earlier socialkit, which lacks it, it calls :meth:`put_revision` once per
        post and then :meth:`add`, as before.
        """
        ...

    async def get(self, publication_id: str, *, history: bool = False) -> Publication:
        """One publication with its post, receipts and checkpoints (and history on
        request); ``StoreError`` when unknown."""
        ...

    async def find_by_key(self, idempotency_key: str) -> Publication | None:
        """The publication with this idempotency key, if any."""
        ...

    async def list_publications(self, query: PublicationQuery) -> Page:
        """Publications matching ``query``, ordered by ``(due_at, id)``, one page at a time."""
        ...

    async def transition(self, transition: Transition, *, now: dt.datetime) -> PublicationState:
        """Apply one conditional transition; returns the state it wrote.

        That is ``transition.to``, or ``paused`` when a pause switch holds the publication
        instead (``to`` is ``scheduled`` or ``retry_wait`` and a switch covers it). The
        engine reports this state to the hooks, never one read afterwards (another
        process may have moved the publication by then).

        Raises:
            StaleTransition: the publication is no longer in ``expect_state`` at
                ``expect_attempt`` (or has another revision than ``expect_revision``).
            StoreError: the publication does not exist, or the move is not legal.
        """
        ...

    async def apply(
        self, transitions: Sequence[Transition], *, now: dt.datetime
    ) -> list[PublicationState | None]:
        """Apply several conditional transitions in one transaction (group commit).

        Returns, per item, the state it wrote (as :meth:`transition` does: ``paused``
        when a pause switch held it), or ``None`` when it was stale (and changed
        nothing).
        """
        ...

    async def receipt_owner(self, platform: str, post_id: str) -> str | None:
        """The publication that holds a receipt for this platform post id, if any."""
        ...

    # -- dispatch -------------------------------------------------------------------------

    async def expire_overdue(self, *, now: dt.datetime, actor: str = "engine") -> list[Moved]:
        """Apply the misfire policy; returns the publications moved to ``missed``.

        A ``scheduled`` publication that was never sent and whose grace period has passed
        (``due_at + grace < now``) is missed, except: a one-off with ``publish_late``
        stays; for a rule's occurrences (per rule and account) the latest one already due
        stays, so after downtime a rule fires once, for its latest missed occurrence.
        """
        ...

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
        """Sweep expired leases, then lease up to ``limit`` due publications to ``worker``.

        Takes ``scheduled``/``retry_wait`` rows with ``run_at <= now`` (→ ``claimed``) and,
        with ``reconcile``, ``unknown`` rows nobody is waiting on a person for (they stay
        ``unknown`` under the lease), oldest ``run_at`` first, skipping held ones (see the
        module docstring). Each claimed row's ``attempt`` goes up by one.
        """
        ...

    async def heartbeat(
        self,
        worker: str,
        claims: Sequence[tuple[str, int]],
        *,
        now: dt.datetime,
        lease: dt.timedelta,
    ) -> list[str]:
        """Extend the leases ``worker`` still holds (by id and attempt); returns the ids
        whose lease was lost."""
        ...

    async def mark_publishing(
        self,
        starts: Sequence[PublishStart],
        *,
        worker: str,
        now: dt.datetime,
        lease: dt.timedelta,
    ) -> list[bool]:
        """Move claims to ``publishing`` in one transaction, just before sending.

        Counts a send, pins the draft when given, takes one request from the account's
        budget, and extends the lease. Returns, per item, whether it may be sent; a
        ``False`` item lost its claim and must not be sent.
        """
        ...

    async def release(
        self,
        claims: Sequence[tuple[str, int]],
        *,
        now: dt.datetime,
        actor: str = "engine",
        reason: str = "handed back",
    ) -> list[bool]:
        """Hand claims back unsent: ``claimed`` → ``scheduled``; a reconciler's lease on an
        ``unknown`` row is dropped. Returns, per item, whether it applied."""
        ...

    async def record_receipts(
        self, receipts: Sequence[ReceiptRecord], *, now: dt.datetime
    ) -> list[bool]:
        """Record receipts (append-only) and publish their publications, from any state.

        A repeated receipt for the same publication, attempt and source is ignored.
        Returns, per item, whether this call moved the publication to ``published``.
        """
        ...

    async def record_checkpoint(self, checkpoint: CheckpointRecord, *, now: dt.datetime) -> None:
        """Record that a thread part was published (append-only, never fenced)."""
        ...

    async def record_deletion(self, deletion: DeletionRecord, *, now: dt.datetime) -> None:
        """Record in the history what a person's delete took down before it stopped short
        of ``deleted`` (append-only, never fenced, whatever state the publication is in
        now): an event of ``deletion.kind`` with ``deletion.event_fields()`` (its actor,
        reason, error and data) at the publication's attempt, moving nothing. A
        platform's word is never lost, as with receipts: a delete the platform refused
        part way, or one a person abandoned while it ran, still says which posts are
        gone.

        Raises:
            StoreError: the publication does not exist.
        """
        ...

    async def next_due(
        self, *, now: dt.datetime, per_account: int | None = 1
    ) -> dt.datetime | None:
        """The earliest instant anything may need a worker: a claimable publication's
        ``run_at`` (held ones aside, and those of an account at its in-flight limit
        ``per_account``, counted as :meth:`claim` does: their account is free at the
        latest when a lease expires, or an ``unknown`` one is reconciled), a lease's
        expiry, a rate budget's reset for an account with due work, a grace period's
        end, or a metric task's due time (the lease's expiry for one in flight; none for
        an account waiting for a person to re-authorise it, whose collections wait with
        its publications). ``None`` when nothing is pending.

        Never later than the truth: a store may stop looking past a long run of due
        rows of busy accounts and answer with a time it has reached (maybe past)."""
        ...

    # -- pause switch and rate budgets ----------------------------------------------------

    async def pause(self, scope: PauseScope, *, now: dt.datetime) -> list[Moved]:
        """Flip a pause switch on; returns the publications it moved to ``paused`` (from
        ``scheduled`` or ``retry_wait``), ordered by id."""
        ...

    async def resume(self, scope: PauseScope, *, now: dt.datetime) -> list[Moved]:
        """Flip a pause switch off; returns the publications it moved from ``paused`` back
        to ``scheduled`` (those no other switch holds), ordered by id."""
        ...

    async def pauses(self, *, workspace: str | None = None) -> list[PauseScope]:
        """The pause switches that are on."""
        ...

    async def set_budget(self, budget: Budget, *, now: dt.datetime) -> None:
        """Merge an account's budget for one scope (from ``report_rate_limit``, or a
        ``RateLimited``'s ``blocked_until``) into the stored one; budgets arrive in no
        particular order, and a late one must not lift a newer hold.

        ``blocked_until`` keeps the later of the two: a hold is never shortened. The
        figures (``remaining``, ``limit``, ``reset_at``) go together: while both windows
        are open at ``now`` (``reset_at`` after it: the same or overlapping windows), the
        smaller ``remaining`` is kept (the stored one on a tie: a report from before a
        send does not give back what ``mark_publishing`` spent); a stored window that
        has ended, or figures without a ``reset_at``, give way to the new figures (a new
        window); new figures without a ``remaining``, or of a window already ended,
        leave an open window's as they are. ``limit`` is the kept figures', else the
        other's. ``_common.merge_budget`` is the rule (PostgreSQL's SQL mirrors it)."""
        ...

    async def budgets(self, *, workspace: str | None = None) -> list[Budget]:
        """Every stored budget."""
        ...

    async def clear_budget(
        self,
        workspace: str,
        account_id: str,
        *,
        now: dt.datetime,
        actor: str = "api",
        reason: str | None = None,
    ) -> ClearedRateLimit:
        """Lift one account's rate-limit hold (a person knows the platform lifted its
        limit, or a ``Retry-After`` was wrong), in one transaction: forget every budget
        of the account (nothing holds its sends any more until the next ``set_budget``),
        and make its publications that wait in ``retry_wait`` because they met the limit
        (no ``attention``, a ``run_at`` after ``now``, their last error ``RateLimited``)
        due at ``now``: each moves ``retry_wait`` → ``retry_wait`` with ``run_at=now``
        (a ``transition`` event, reason ``reason`` or ``"rate limit cleared"``). One
        waiting on another error's backoff keeps its time. Its metric tasks that wait
        for the limit are due at ``now`` too: undone, not leased, due after ``now``,
        and due at the end of a dropped budget's hold (``reset_at`` or
        ``blocked_until``, where a claim put them back) or put back with an error of
        type ``RateLimited`` (``_common.waits_for_rate_limit``); none of an account
        waiting for a person (``needs_reauth``).

        Returns the budgets dropped (ordered by scope), the publications released
        (ids, ordered) and how many metric tasks were. When any of these happened, a
        ``rate_limit_cleared`` event names who and why (``data["budgets"]`` the dropped
        figures, ``data["released"]`` the ids, ``data["metrics_released"]`` the task
        count when not zero), in the same transaction, and sleeping workers are woken
        as for any change that makes work due; otherwise nothing is written."""
        ...

    # -- rules ----------------------------------------------------------------------------

    async def add_rule(self, rule: Rule, *, now: dt.datetime, actor: str = "engine") -> None:
        """Insert a rule; ``StoreError`` when its id is taken. Its ``rule`` event
        (``created``) names ``actor``, who made it."""
        ...

    async def get_rule(self, rule_id: str) -> Rule:
        """One rule; ``StoreError`` when unknown."""
        ...

    async def list_rules(
        self, *, workspace: str | None = None, active: bool | None = None
    ) -> list[Rule]:
        """Rules, ordered by id."""
        ...

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
        """Insert a rule's next occurrences and move its cursor, in one transaction.

        Occurrences whose idempotency key exists are skipped (a second worker advancing
        the same rule inserts nothing twice). ``remaining``/``active`` update the rule
        when given.

        Raises:
            StaleTransition: the rule's cursor is no longer ``expect_cursor``.
        """
        ...

    async def set_rule_active(
        self, rule_id: str, active: bool, *, now: dt.datetime, actor: str = "engine"
    ) -> None:
        """Stop (or restart) materialising a rule."""
        ...

    # -- metrics --------------------------------------------------------------------------

    async def add_metric_tasks(
        self, tasks: Sequence[tuple[str, dt.datetime, str]], *, now: dt.datetime
    ) -> None:
        """Schedule metric collections: ``(publication_id, due_at, label)``."""
        ...

    async def claim_metric_tasks(
        self, worker: str, *, now: dt.datetime, limit: int, lease: dt.timedelta
    ) -> list[MetricTask]:
        """Lease due metric tasks (oldest first) to ``worker``; none of an account
        waiting for a person to re-authorise it (they stay due until it is)."""
        ...

    async def complete_metric_task(
        self,
        task_id: int,
        snapshots: Sequence[MetricSnapshot],
        *,
        now: dt.datetime,
        error: str | None = None,
    ) -> None:
        """Store a task's snapshots and mark it done (``error`` says why it got none)."""
        ...

    async def retry_metric_task(
        self,
        task_id: int,
        *,
        run_at: dt.datetime,
        now: dt.datetime,
        error: str,
        count_failure: bool = False,
    ) -> None:
        """Put a leased, undone metric task back, due again at ``run_at`` (the platform
        limited its rate, or a transient error): its lease ends and the collections after
        it still wait for it. ``error`` is kept as its last error; ``count_failure`` adds
        one to its ``failures``. A task already done is left as it is.

        Raises:
            StoreError: there is no such task.
        """
        ...

    async def metric_series(
        self,
        *,
        publication_id: str | None = None,
        account_id: str | None = None,
        campaign: str | None = None,
        workspace: str | None = None,
    ) -> list[MetricSnapshot]:
        """Stored snapshots matching every given filter, oldest first."""
        ...

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
        """Events with ``seq > since`` (and ``<= until``), in order, at most ``limit``;
        only one publication's, or one workspace's (a tenant's), when given."""
        ...

    async def last_event_seq(self) -> int:
        """The highest ``seq`` in the log (0 when it is empty). An event committed later
        gets a higher one, so a consumer that read every event of its workspace up to it
        can move its cursor there, past the other workspaces' events."""
        ...
