"""Crisis mode: stop what is queued, and take down what already went out.

A thread with a wrong price was published at 09:00 and two more posts wait for the
afternoon. The pause switch holds the waiting ones at once; ``delete`` removes the
published thread from the platform (every part) and keeps the record of what happened.

    python examples/take_down.py

The store and the feed live in a temporary directory, removed at the end.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import socialkit


def main() -> int:
    clock = socialkit.ManualClock(dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        account = socialkit.Account(
            id="acme-feed", platform="feed", handle="acme", settings={"directory": str(root)}
        )
        store = f"sqlite:///{root / 'socialkit.db'}"
        with socialkit.Scheduler(store, clock=clock, accounts=[account]) as scheduler:
            thread = socialkit.Post(
                text="Spring blend launch!",
                thread=(socialkit.ThreadPart(text="Only 4.99 a bag this week."),),
            )
            [launch] = scheduler.schedule(thread, account, at="2026-03-02 09:00", tz="UTC")
            later = [
                scheduler.schedule(socialkit.Post(text=text), account, at=at, tz="UTC")[0]
                for text, at in (
                    ("Still 4.99 - grab a bag", "2026-03-02 14:00"),
                    ("Last call at 4.99", "2026-03-02 18:00"),
                )
            ]
            clock.set(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC))
            scheduler.run(until_idle=True)
            page = root / "index.html"
            print(
                f"09:00 published {launch.id}; posts on the page: {page.read_text().count('<article')}"
            )

            print("09:20 the price is wrong: pause the account, take the thread down")
            scheduler.pause(account="acme-feed", actor="ann", reason="wrong price")
            gone = scheduler.delete(launch.id, actor="ann", reason="wrong price (5.99)")
            for event in gone.history[-1:]:
                parts = ", ".join(event.data.get("post_ids", []))
                print(f"  {event.kind} by {event.actor}: {event.reason}; parts {parts}")
            print(f"  posts on the page: {page.read_text().count('<article')}")

            clock.set(dt.datetime(2026, 3, 2, 19, 0, tzinfo=dt.UTC))
            scheduler.run(until_idle=True)
            states = [scheduler.get(p.id).state.value for p in [launch, *later]]
            print(f"19:00 states: {', '.join(states)}")
            assert states == ["deleted", "paused", "paused"], states
            assert page.read_text().count("<article") == 0
            # The receipts stay: the platform's ids are never lost.
            assert scheduler.get(launch.id).receipt is not None
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
