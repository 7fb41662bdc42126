"""Property test: random sequences of engine operations give the same result on the
SQLite store as on the in-memory reference store, and keep the state machine's promises."""

from __future__ import annotations

import asyncio
import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from socialkit.errors import StaleTransition
from socialkit.schedule.publication import PauseScope
from socialkit.schedule.records import PublicationQuery, PublishStart, ReceiptRecord, Transition
from socialkit.schedule.states import TRANSITIONS, PublicationState
from socialkit.schedule.stores.memory import MemoryStore
from socialkit.schedule.stores.sqlite import SqliteStore
from tests.schedule.store_contract import LEASE, POST, T0, pub, receipt

S = PublicationState
ACCOUNTS = ["a", "b", "c"]

ops = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.sampled_from(ACCOUNTS), st.integers(0, 120)),
        st.tuples(st.just("claim"), st.sampled_from(["w1", "w2"]), st.integers(1, 4)),
        st.tuples(st.just("start"), st.integers(0, 20)),
        st.tuples(st.just("receipt"), st.integers(0, 20)),
        st.tuples(st.just("retry"), st.integers(0, 20)),
        st.tuples(st.just("release"), st.integers(0, 20)),
        st.tuples(st.just("cancel"), st.integers(0, 20)),
        st.tuples(st.just("advance"), st.integers(1, 90)),
        st.tuples(st.just("pause"), st.sampled_from(ACCOUNTS)),
        st.tuples(st.just("resume"), st.sampled_from(ACCOUNTS)),
        st.tuples(
            st.just("expire"),
        ),
    ),
    min_size=5,
    max_size=40,
)
PRELUDE = [("add", "a", 0), ("add", "b", 0), ("add", "a", 5), ("claim", "w1", 2)]


async def snapshot(store: Any) -> list[tuple[Any, ...]]:
    page = await store.list_publications(PublicationQuery(limit=1000))
    return [
        (p.id, p.state, p.attempt, p.sends, p.failures, p.lease_owner, len(p.receipts))
        for p in page.items
    ]


async def play(store: Any, steps: list[tuple[Any, ...]], news: list[Any]) -> list[Any]:
    """Apply ``steps``; returns a log of every call's result."""
    await store.put_revision(POST, now=T0)
    now = T0
    claims: list[Any] = []
    log: list[Any] = []
    for step in steps:
        kind = step[0]
        if kind == "add":
            new = news[len([s for s in log if s[0] == "add"])]
            log.append(("add", await store.add([new], now=now)))
        elif kind == "claim":
            got = await store.claim(step[1], now=now, limit=step[2], lease=LEASE)
            claims.extend(got)
            log.append(("claim", [(c.id, c.attempt, c.kind) for c in got]))
        elif kind in ("start", "receipt", "retry", "release", "cancel") and claims:
            c = claims[step[1] % len(claims)]
            if kind == "start":
                result: Any = await store.mark_publishing(
                    [PublishStart(id=c.id, attempt=c.attempt, from_state=c.state)],
                    worker=(await store.get(c.id)).lease_owner or "w1",
                    now=now,
                    lease=LEASE,
                )
            elif kind == "receipt":
                result = await store.record_receipts(
                    [ReceiptRecord(id=c.id, attempt=c.attempt, receipt=receipt(post_id=c.id))],
                    now=now,
                )
            elif kind == "retry":
                result = await store.apply(
                    [
                        Transition(
                            id=c.id,
                            expect_state=S.PUBLISHING,
                            expect_attempt=c.attempt,
                            to=S.RETRY_WAIT,
                            run_at=now + dt.timedelta(seconds=30),
                            count_failure=True,
                        )
                    ],
                    now=now,
                )
            elif kind == "release":
                result = await store.release([(c.id, c.attempt)], now=now)
            else:
                current = await store.get(c.id)
                try:
                    if current.state in TRANSITIONS and S.CANCELLED in TRANSITIONS[current.state]:
                        await store.transition(
                            Transition(
                                id=c.id,
                                expect_state=current.state,
                                expect_attempt=current.attempt,
                                to=S.CANCELLED,
                            ),
                            now=now,
                        )
                        result = True
                    else:
                        result = False
                except StaleTransition:
                    result = "stale"
            log.append((kind, result))
        elif kind == "advance":
            now += dt.timedelta(seconds=step[1])
        elif kind == "pause":
            log.append(
                ("pause", await store.pause(PauseScope(kind="account", value=step[1]), now=now))
            )
        elif kind == "resume":
            log.append(
                ("resume", await store.resume(PauseScope(kind="account", value=step[1]), now=now))
            )
        elif kind == "expire":
            log.append(("expire", await store.expire_overdue(now=now)))
        log.append(("state", await snapshot(store)))
    return log


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(steps=ops)
def test_sqlite_behaves_like_the_reference_store(steps: list[tuple[Any, ...]]) -> None:
    steps = [*PRELUDE, *steps]
    adds = [s for s in steps if s[0] == "add"]
    news = [
        pub(account, due=T0 + dt.timedelta(seconds=offset), grace_s=300)
        for _, account, offset in adds
    ]

    async def both() -> tuple[list[Any], list[Any]]:
        memory = MemoryStore()
        with tempfile.TemporaryDirectory() as tmp:
            sqlite = SqliteStore(f"sqlite:///{Path(tmp) / 'p.db'}")
            await sqlite.open()
            try:
                return await play(memory, steps, news), await play(sqlite, steps, news)
            finally:
                await sqlite.close()

    expected, actual = asyncio.run(both())
    assert actual == expected
    # the state machine's promises, on the final state
    final = expected[-1][1] if expected else []
    for _pid, state, attempt, sends, _failures, owner, receipts in final:
        assert attempt >= 0
        assert sends <= attempt
        if receipts:
            assert state == S.PUBLISHED
        if state not in (S.CLAIMED, S.PUBLISHING, S.UNKNOWN):
            assert owner is None
