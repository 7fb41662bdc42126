"""Concurrent reads of one account or post revision share a query; a write through the
store is never answered by a read that began before it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from socialkit.models.account import Account
from socialkit.schedule.stores import _postgres_misc as misc
from tests.schedule.store_contract import POST

pytestmark = pytest.mark.postgres


async def test_concurrent_reads_share_one_query_until_a_write(
    open_store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await open_store()
    await store.put_account(Account(id="acme", platform="feed", handle="acme"))
    revision = await store.put_revision(POST)
    queries: asyncio.Queue[str] = asyncio.Queue()
    gate = asyncio.Event()

    def held(read: Any) -> Any:
        async def wrapper(conn: Any, *args: Any) -> Any:
            await queries.put(args[0])
            await gate.wait()
            return await read(conn, *args)

        return wrapper

    monkeypatch.setattr(misc, "get_account", held(misc.get_account))
    monkeypatch.setattr(misc, "get_revision", held(misc.get_revision))
    early = [asyncio.ensure_future(store.get_account("acme")) for _ in range(5)]
    posts = [asyncio.ensure_future(store.get_revision(revision)) for _ in range(5)]
    assert {await queries.get(), await queries.get()} == {"acme", revision}

    # The account changes while those reads wait: a read asked for after the change
    # sends a query of its own.
    await store.set_account_status("acme", "needs_reauth", reason="token revoked")
    late = asyncio.ensure_future(store.get_account("acme"))
    assert await queries.get() == "acme"
    gate.set()
    await asyncio.gather(*early, *posts)
    assert (await late).status == "needs_reauth"
    assert {p.text for p in await asyncio.gather(*posts)} == {POST.text}
    assert queries.empty()  # ten early reads, two queries
    # Once answered, the next read asks again.
    await store.get_account("acme")
    assert await queries.get() == "acme"
