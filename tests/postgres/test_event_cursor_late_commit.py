"""An event written before another but committed after it, step by step.

With concurrent writers the order events are inserted in is not the order they commit
in; a log read by ``id > cursor`` then loses the one that commits late, once a reader
has read past its id. The store numbers an event only once it is committed, so the late
one gets a number after everything a reader has already seen. (``test_many_workers``
checks the same under load, where the interleaving is left to chance; here it is forced.)
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from socialkit.schedule.stores import _postgres_rows as rows
from tests.schedule.store_contract import POST, T0, pub

pytestmark = pytest.mark.postgres


async def test_an_event_committed_after_a_reader_read_past_it_is_still_read(
    open_store: Any,
) -> None:
    writer = await open_store(clock="caller")
    other = await open_store(clock="caller")
    reader = await open_store(clock="caller")
    await writer.put_revision(POST, now=T0)
    await writer.add([pub()], now=T0)
    [first] = await reader.events(since=0)
    inserted, release = asyncio.Event(), asyncio.Event()

    async def write_slowly(conn: Any) -> None:
        # The store's own insert, in a transaction that stays open until released.
        await rows.insert_events(conn, [rows.event_row(T0, "late", None, "default", None, None)])
        inserted.set()
        await release.wait()

    slow = asyncio.create_task(writer._run(write_slowly))
    await inserted.wait()
    [second] = await other.add([pub()], now=T0)  # inserted after "late", committed first
    read = await reader.events(since=first.seq)
    assert [(e.kind, e.publication_id) for e in read] == [("created", second)]
    assert await reader.last_event_seq() == read[-1].seq
    cursor = read[-1].seq
    release.set()
    await slow
    [late] = await reader.events(since=cursor)
    assert late.kind == "late"
    assert late.seq > cursor
    everything = await reader.events(since=0)
    assert [e.seq for e in everything] == [1, 2, 3]
    assert [e.kind for e in everything][-1] == "late"
