"""A store with a bit of everything, for copy and status tests.

Publications in most states (published with receipts and checkpoints, failed with an
error, retrying, unknown waiting for a person, paused, pending approval, scheduled),
their histories, metric tasks and snapshots, accounts (one needing a person), a rule
with occurrences, budgets and a pause switch. Written with the caller's clock.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from socialkit.models.account import Account
from socialkit.models.content import Post
from socialkit.models.metrics import MetricSnapshot
from socialkit.models.receipt import PostRef
from socialkit.schedule.publication import PauseScope
from socialkit.schedule.records import (
    Budget,
    CheckpointRecord,
    PublishStart,
    ReceiptRecord,
    Transition,
)
from socialkit.schedule.recurring import Rule
from socialkit.schedule.states import PublicationState as S
from tests.schedule.store_contract import LEASE, POST, T0, pub, receipt

SEC = dt.timedelta(seconds=1)


async def populate(store: Any, *, n: int = 12) -> dict[str, list[str]]:
    """Fill ``store``; returns publication ids by what happened to them."""
    other = Post(text="Another revision, with an é and an emoji 🚀")
    await store.put_revision(POST, now=T0)
    other_rev = await store.put_revision(other, now=T0)
    for i in range(3):
        account = Account(id=f"acct{i}", platform="feed", handle=f"acct{i}", timezone="Asia/Tehran")
        await store.put_account(account, now=T0)
    await store.set_account_status("acct2", "needs_reauth", now=T0, reason="token revoked")
    rule = Rule(
        id="weekly",
        spec={"rrule": "FREQ=WEEKLY", "tz": "Asia/Tehran"},
        revision=other_rev,
        account_ids=("acct0", "acct1"),
        campaign="spring",
        created_at=T0,
        updated_at=T0,
    )
    await store.add_rule(rule, now=T0)
    week = dt.timedelta(days=7)
    occurrences = [
        pub(
            a,
            due=T0 + k * week,
            key=f"weekly:{a}:{k}",
            rule_id="weekly",
            campaign="spring",
            revision=other_rev,
        )
        for a in ("acct0", "acct1")
        for k in range(2)
    ]
    await store.advance_rule(
        "weekly", expect_cursor=None, cursor="c2", publications=occurrences, now=T0
    )

    items = [
        pub(f"acct{i % 2}", due=T0 - i * SEC, campaign="spring" if i % 3 else None)
        for i in range(n)
    ]
    ids = await store.add(items, now=T0)
    out: dict[str, list[str]] = {"published": [], "failed": [], "retry": [], "unknown": []}
    claims = await store.claim("w1", now=T0, limit=n, lease=LEASE, per_account=None)
    starts = [PublishStart(id=c.id, attempt=c.attempt) for c in claims]
    await store.mark_publishing(starts, worker="w1", now=T0 + SEC, lease=LEASE)
    for k, c in enumerate(claims):
        if k % 4 == 0:
            await store.record_checkpoint(
                CheckpointRecord(id=c.id, attempt=c.attempt, part=0, ref=PostRef(id=f"t-{c.id}")),
                now=T0 + SEC,
            )
            await store.record_receipts(
                [
                    ReceiptRecord(
                        id=c.id,
                        attempt=c.attempt,
                        receipt=receipt(c.account_id, f"p-{c.id}", 2),
                        metrics=(("1h", 3600.0), ("24h", 86400.0)),
                    )
                ],
                now=T0 + 2 * SEC,
            )
            out["published"].append(c.id)
        elif k % 4 == 1:
            await store.transition(
                Transition(
                    id=c.id,
                    expect_state=S.PUBLISHING,
                    expect_attempt=c.attempt,
                    to=S.FAILED,
                    error={"error": "Rejected", "message": "duplicate status"},
                    reason="rejected by the platform",
                ),
                now=T0 + 2 * SEC,
            )
            out["failed"].append(c.id)
        elif k % 4 == 2:
            await store.transition(
                Transition(
                    id=c.id,
                    expect_state=S.PUBLISHING,
                    expect_attempt=c.attempt,
                    to=S.RETRY_WAIT,
                    run_at=T0 + 60 * SEC,
                    count_failure=True,
                    error={"error": "Transient", "message": "connection refused"},
                ),
                now=T0 + 2 * SEC,
            )
            out["retry"].append(c.id)
        else:
            await store.transition(
                Transition(
                    id=c.id,
                    expect_state=S.PUBLISHING,
                    expect_attempt=c.attempt,
                    to=S.UNKNOWN,
                    attention="reconcile",
                    reason="a person must decide",
                ),
                now=T0 + 2 * SEC,
            )
            out["unknown"].append(c.id)
    # the 1 h collections, claimed before the 24 h ones are due (which would be made
    # instead): the 24 h ones stay to collect
    tasks = await store.claim_metric_tasks(
        "w1", now=T0 + 2 * dt.timedelta(hours=1), limit=50, lease=LEASE
    )
    for task in tasks:
        snap = MetricSnapshot(
            platform="feed",
            account_id=task.account_id,
            post_id=f"p-{task.publication_id}",
            publication_id=task.publication_id,
            collected_at=T0 + dt.timedelta(hours=1 if task.label == "1h" else 24),
            likes=7 if task.label == "1h" else 11,
            impressions=100,
        )
        await store.complete_metric_task(task.id, [snap], now=T0 + 3 * SEC)
    await store.set_budget(
        Budget(account_id="acct1", remaining=42, limit=300, reset_at=T0 + 900 * SEC), now=T0
    )
    await store.pause(
        PauseScope(kind="campaign", value="spring", actor="ann", reason="crisis"), now=T0 + 4 * SEC
    )
    await store.add(
        [pub("acct0", state=S.PENDING_APPROVAL, approvals_required=1)], now=T0 + 5 * SEC
    )
    out["all"] = ids
    return out
