"""Engine settings: leases, batches, retries, grace periods, metric schedule."""

from __future__ import annotations

import datetime as dt
import os
import socket
from typing import TYPE_CHECKING, Any

import attrs

from socialkit.schedule.engine.retry import RetryPolicy

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["DEFAULT_METRIC_SCHEDULE", "EngineConfig", "default_worker_id"]

DEFAULT_METRIC_SCHEDULE: tuple[tuple[str, dt.timedelta], ...] = (
    ("1h", dt.timedelta(hours=1)),
    ("24h", dt.timedelta(hours=24)),
    ("7d", dt.timedelta(days=7)),
)
"""When metrics are collected after a publish: labels and offsets from ``published_at``."""


def default_worker_id() -> str:
    """``host:pid``: unique among live workers, readable in a publication's history."""
    return f"{socket.gethostname()}:{os.getpid()}"


_CLAIM_AHEAD_MAX = dt.timedelta(seconds=1)


def _claim_ahead(instance: Any, attribute: attrs.Attribute[Any], value: dt.timedelta) -> None:
    most = min(_CLAIM_AHEAD_MAX, instance.lease / 10)
    if not dt.timedelta(0) <= value <= most:
        raise ValueError(
            f"claim_ahead must be between 0 and {most.total_seconds():g} s (at most "
            f"{_CLAIM_AHEAD_MAX.total_seconds():g} s and a tenth of the lease, "
            f"{instance.lease.total_seconds():g} s); got {value.total_seconds():g} s"
        )


def _worker_name(instance: Any, attribute: attrs.Attribute[Any], value: str) -> None:
    # Stored in leases, which the SQLite store rewrites in batches through JSON, where a
    # NUL ends the text (and PostgreSQL cannot store one at all).
    if not value or "\x00" in value:
        raise ValueError(f"{attribute.name}: must be non-empty text without a NUL (got {value!r})")


def _positive(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, dt.timedelta):
        ok = value > dt.timedelta(0)
    else:
        ok = isinstance(value, int) and value > 0
    if not ok:
        raise ValueError(f"{attribute.name} must be positive (got {value!r})")


def _pairs(value: Any) -> Any:
    """A list of pairs (from a project file or JSON) as the tuple of tuples the field
    holds; anything else is left for the validator to name."""
    if isinstance(value, list | tuple) and all(isinstance(e, list | tuple) for e in value):
        return tuple(tuple(e) for e in value)
    return value


def _metric_schedule(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    # Each label names one collection: a snapshot's ``after`` and ``skipped`` are found
    # by label, so a second entry under the same label would be read as the first one.
    seen: dict[str, dt.timedelta] = {}
    if isinstance(value, str | bytes) or not isinstance(value, tuple | list):
        raise TypeError(
            f"{attribute.name}: expected (label, offset) pairs such as "
            f"(('1h', timedelta(hours=1)),), or () for none (got {type(value).__name__} "
            f"{value!r})"
        )
    for index, entry in enumerate(value):
        if not isinstance(entry, tuple | list) or len(entry) != 2:
            raise TypeError(
                f"{attribute.name}[{index}]: expected a (label, offset) pair such as "
                f"('1h', timedelta(hours=1)) (got {entry!r})"
            )
        label, offset = entry
        # A label that is not text was stored as text by the SQL stores and no longer
        # matched: the collection's snapshots lost their ``after``.
        if not isinstance(label, str) or not label.strip():
            raise TypeError(
                f"{attribute.name}[{index}]: the label must be non-blank text such as "
                f"'1h' (got {type(label).__name__} {label!r})"
            )
        if not isinstance(offset, dt.timedelta):
            raise ValueError(
                f"{attribute.name}: the offset of {label!r} must be a timedelta (got {offset!r})"
            )
        if offset <= dt.timedelta(0):
            raise ValueError(
                f"{attribute.name}: the offset of {label!r} must be positive, more than "
                f"0 s after publishing (got {offset.total_seconds():g} s)"
            )
        if label in seen:
            raise ValueError(
                f"{attribute.name}: the label {label!r} appears more than once (at "
                f"{seen[label].total_seconds():g} s and {offset.total_seconds():g} s); "
                "each collection needs a label of its own"
            )
        seen[label] = offset


@attrs.frozen(kw_only=True, slots=True)
class EngineConfig:
    """How the engine works. Every field has a safe default.

    Attributes:
        worker_id: this worker's name in leases and history (``host:pid``).
        batch_size: how many publications one claim may lease.
        max_in_flight: how many publishes this worker runs at once.
        per_account: publishes in flight per account across all workers (``None``: no
            limit). One by default, so an account's posts go out in order. A publication
            whose outcome is ``unknown`` counts until it is reconciled or resolved by a
            person: the account's later posts wait for it.
        lease: how long a claim holds a publication without a heartbeat.
        heartbeat: how often leases are extended (a third of the lease by default).
        retry: backoff and attempt limits for retryable errors.
        account_retry: per-account retry policies, by account id.
        grace: how late a publication may still start, by default (``None``: any time).
        publish_late: past the grace period, publish a one-off anyway instead of ``missed``.
        reconcile_delay: how long after an unknown outcome (``UnknownOutcome``, a
            timeout) the engine looks again. A publication whose worker lost its lease
            while sending is looked at one lease period later instead.
        reconcile_attempts: how many times reconciliation is retried on errors before a
            person is asked.
        metric_schedule: when metrics are collected after a publish (label, offset):
            each label once, each offset positive (``ValueError`` otherwise); each entry
            a pair of a non-blank text label and a ``timedelta`` (``TypeError``
            otherwise, naming the entry).
        window: how far ahead rules are materialised.
        rule_batch: the most occurrences one rule materialises in one pass.
        idle_poll: the longest a worker sleeps when work it could not claim is due
            already (another worker was claiming its account at that moment).
        shutdown_timeout: how long a graceful stop waits for in-flight publishes.
        claim_ahead: how long before a due time a sleeping worker wakes to claim and
            commit ``publishing``, so neither round trip makes the publish late (it is
            still sent no earlier than due). At most a second, and a tenth of the lease:
            a publication held ``publishing`` longer before its time is one a pause
            cannot catch and a graceful stop must wait for.
        publish_timeout: the longest one publish call may take; past it the outcome is
            unknown (the request may have gone out).
    """

    worker_id: str = attrs.field(factory=default_worker_id, validator=_worker_name)
    batch_size: int = attrs.field(default=256, validator=_positive)
    max_in_flight: int = attrs.field(default=256, validator=_positive)
    per_account: int | None = 1
    lease: dt.timedelta = attrs.field(default=dt.timedelta(seconds=60), validator=_positive)
    heartbeat: dt.timedelta | None = None
    retry: RetryPolicy = attrs.field(factory=RetryPolicy)
    account_retry: Mapping[str, RetryPolicy] = attrs.field(factory=dict)
    grace: dt.timedelta | None = dt.timedelta(hours=1)
    publish_late: bool = False
    reconcile_delay: dt.timedelta = dt.timedelta(seconds=30)
    reconcile_attempts: int = 5
    metric_schedule: tuple[tuple[str, dt.timedelta], ...] = attrs.field(
        default=DEFAULT_METRIC_SCHEDULE, validator=_metric_schedule, converter=_pairs
    )
    window: dt.timedelta = attrs.field(default=dt.timedelta(days=7), validator=_positive)
    rule_batch: int = attrs.field(default=500, validator=_positive)
    idle_poll: dt.timedelta = attrs.field(default=dt.timedelta(seconds=1), validator=_positive)
    shutdown_timeout: dt.timedelta = dt.timedelta(seconds=30)
    claim_ahead: dt.timedelta = attrs.field(
        default=dt.timedelta(milliseconds=5), validator=_claim_ahead
    )
    publish_timeout: dt.timedelta = attrs.field(
        default=dt.timedelta(minutes=5), validator=_positive
    )

    @property
    def heartbeat_every(self) -> dt.timedelta:
        """The heartbeat interval actually used."""
        return self.heartbeat or self.lease / 3

    # metric_offsets, worked out once (every receipt carries them)
    _metric_offsets: tuple[tuple[str, float], ...] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        offsets = tuple((label, offset.total_seconds()) for label, offset in self.metric_schedule)
        object.__setattr__(self, "_metric_offsets", offsets)

    @property
    def metric_offsets(self) -> tuple[tuple[str, float], ...]:
        """:attr:`metric_schedule` as ``(label, seconds after publishing)``, as a receipt
        record carries it to the store."""
        return self._metric_offsets

    def retry_for(self, account_id: str) -> RetryPolicy:
        """The retry policy for one account."""
        return self.account_retry.get(account_id, self.retry)
