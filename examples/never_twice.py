"""Never twice: what the engine does when a publish may or may not have gone out.

A request times out after the platform took it: the post exists, but the adapter cannot
know. Sending it again would post it twice, so the engine never does. What it does
depends on what the platform allows (``Capabilities.idempotency``):

- ``LOOKUP`` (the guestbook below): the engine asks ``find_published`` and, finding the
  post, records its receipt. Nothing is sent again: exactly one entry.
- ``NONE`` (the notary below, which cannot be searched): the publication waits in
  ``unknown`` for a person, who checks and says what happened with ``resolve``.
- ``KEY`` (not shown): the engine sends again with the same idempotency key, which the
  platform recognises.

Runs anywhere, in memory, in a moment (a ManualClock stands in for time):

    python examples/never_twice.py
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

import socialkit
from socialkit import ManualClock, Scheduler
from socialkit.text.rules import Counting, TextRule


class Guestbook(socialkit.Platform):
    """A platform whose first request per account times out after it took the post."""

    name = "guestbook"
    contract = socialkit.CONTRACT
    capabilities = socialkit.Capabilities(
        text=TextRule(name="guestbook", counting=Counting.GRAPHEMES, limit=500),
        threads=False,
        idempotency=socialkit.Idempotency.LOOKUP,
        delete=False,
    )
    entries: ClassVar[list[dict[str, str]]] = []  # what the platform's server holds
    timed_out: ClassVar[set[str]] = set()  # accounts whose first request timed out

    async def publish(self, draft, ctx):
        entry = {"id": f"e{len(self.entries) + 1}", "account": ctx.account.id, "text": draft.text}
        self.entries.append(entry)  # the server took it...
        if ctx.account.id not in self.timed_out:
            self.timed_out.add(ctx.account.id)
            # ...and the answer never came. Not Transient: that would mean "not sent".
            raise socialkit.UnknownOutcome("read timeout after the request was sent")
        return self._receipt(entry, ctx)

    async def find_published(self, draft, ctx):
        for entry in self.entries:
            if entry["account"] == ctx.account.id and entry["text"] == draft.text:
                return self._receipt(entry, ctx)
        return None  # it certainly does not exist: the engine may send it

    def _receipt(self, entry, ctx):
        return socialkit.Receipt(
            platform=self.name,
            account_id=ctx.account.id,
            parts=(socialkit.PostRef(id=entry["id"]),),
            published_at=ctx.now(),
        )


class Notary(Guestbook):
    """The same server, but nothing can be looked up: only a person can tell."""

    name = "notary"
    capabilities = Guestbook.capabilities.model_copy(
        update={"idempotency": socialkit.Idempotency.NONE}
    )

    async def find_published(self, draft, ctx):
        raise socialkit.UnknownOutcome("the notary has no search")


registry = socialkit.Registry(load_entry_points=False)
registry.register(Guestbook)
registry.register(Notary)
book = socialkit.Account(id="book", platform="guestbook", handle="book")
notary = socialkit.Account(id="notary", platform="notary", handle="notary")
start = dt.datetime(2026, 5, 4, 9, 0, tzinfo=dt.UTC)
clock = ManualClock(start)

with Scheduler(
    "memory://",
    registry=registry,
    credentials=socialkit.MemoryCredentialProvider({}),
    clock=clock,
) as scheduler:
    post = socialkit.Post(text="Doors open at ten on Saturday.")
    signed, stamped = scheduler.schedule(post, [book, notary], at=start, tz="UTC")
    # Let the engine work until nothing is left for it, following its own due times.
    while (due := scheduler.next_due()) is not None and due <= start + dt.timedelta(days=1):
        clock.set(max(due, clock.now()))
        scheduler.run(until_idle=True)

    found = scheduler.get(signed.id)
    print(f"guestbook: {found.state.value}, receipt {found.receipt.ref.id}")
    print(
        f"  entries on the server: {len([e for e in Guestbook.entries if e['account'] == 'book'])}"
    )
    for event in found.history:
        moved = f"{event.from_state.value} -> {event.to_state.value}" if event.from_state else ""
        print(f"  {event.kind:<12} {moved:<26} {event.reason or ''}")
    assert found.state is socialkit.PublicationState.PUBLISHED
    assert [e["account"] for e in Guestbook.entries].count("book") == 1

    waiting = scheduler.get(stamped.id)
    print(f"notary: {waiting.state.value} ({waiting.history[-1].reason}), waiting for a person")
    assert waiting.state is socialkit.PublicationState.UNKNOWN

    # A person looks at the notary's register, finds entry e2, and says so. (Had it not
    # been there: resolve(stamped.id, retry=True) sends it; abandon=True gives up.)
    [entry] = [e for e in Guestbook.entries if e["account"] == "notary"]
    receipt = socialkit.Receipt(
        platform="notary",
        account_id="notary",
        parts=(socialkit.PostRef(id=entry["id"]),),
        published_at=clock.now(),
    )
    settled = scheduler.resolve(stamped.id, published=receipt, actor="ops", reason="seen on site")
    print(f"notary after resolve: {settled.state.value}, receipt {settled.receipt.ref.id}")
    assert settled.state is socialkit.PublicationState.PUBLISHED
    assert len(Guestbook.entries) == 2  # one entry per account: nothing was sent twice
