"""Tell other systems what the scheduler did: best-effort hooks, and the durable event log.

A notification hook runs in the process that made a change, after it is committed, and
may be missed if that process dies. A webhook that must not miss anything reads the
event log instead, keeping the last ``seq`` it delivered as its cursor: after a restart
it carries on from there, and it never sees an event twice.

    python examples/event_log.py

The store, the feed and the cursor live in a temporary directory, removed at the end.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import socialkit

if TYPE_CHECKING:
    from socialkit.schedule import Event


class ChatNotifier:
    """A plugin object: best-effort messages to a team chat (printed here)."""

    @socialkit.hookimpl
    def publication_published(self, change, receipt) -> None:
        print(f"  [hook] {change.account_id}: published {receipt.ref.id}")

    @socialkit.hookimpl
    def publication_failed(self, change, error) -> None:
        print(f"  [hook] {change.account_id}: FAILED ({change.reason})")


class Webhook:
    """Delivers events in order and remembers how far it got, in a file."""

    def __init__(self, cursor_file: Path) -> None:
        self.cursor_file = cursor_file
        self.delivered: list[int] = []

    @property
    def cursor(self) -> int:
        return int(self.cursor_file.read_text()) if self.cursor_file.exists() else 0

    def deliver(self, event: Event) -> None:
        # A real consumer POSTs the event and saves the cursor once the receiver said OK.
        moved = f" {event.from_state or 'new'} -> {event.to_state}" if event.to_state else ""
        print(f"  [webhook] #{event.seq} {event.kind}{moved} {event.publication_id or ''}")
        self.delivered.append(event.seq)
        self.cursor_file.write_text(str(event.seq))

    def catch_up(self, scheduler: socialkit.Scheduler) -> int:
        events = scheduler.events(since=self.cursor)
        for event in events:
            self.deliver(event)
        return len(events)


def main() -> int:
    clock = socialkit.ManualClock(dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC))
    socialkit.get_registry().register_plugin(ChatNotifier(), name="chat-notifier")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        store = f"sqlite:///{root / 'socialkit.db'}"
        account = socialkit.Account(
            id="acme-feed", platform="feed", handle="acme", settings={"directory": str(root)}
        )
        webhook = Webhook(root / "cursor.txt")

        with socialkit.Scheduler(store, clock=clock, accounts=[account]) as scheduler:
            print("Two posts at 09:00 UTC; the second has more thread parts than allowed:")
            post = socialkit.Post(text="Spring blend is here")
            scheduler.schedule(post, account, at="2026-03-02 09:00", tz="UTC")
            too_long = socialkit.Post(
                text="1", thread=tuple(socialkit.ThreadPart(text=str(i)) for i in range(2, 53))
            )
            try:
                scheduler.schedule(too_long, account, at="2026-03-02 09:00", tz="UTC")
            except socialkit.InvalidPost as refused:  # nothing stored, nothing in the log
                print(f"  refused: {refused}")
            clock.set(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC))
            scheduler.run(until_idle=True)
            print("The webhook catches up with the log:")
            first = webhook.catch_up(scheduler)

        # The webhook process restarts; its cursor is in the file, the log in the store.
        with socialkit.Scheduler(store, clock=clock) as scheduler:
            print(
                f"After a restart, from cursor {webhook.cursor}: {webhook.catch_up(scheduler)} new"
            )
            print("One more post; following the log from the cursor delivers only what is new:")
            post = socialkit.Post(text="Tasting notes: cherry and cocoa")
            scheduler.schedule(post, account, at="2026-03-02 12:00", tz="UTC")
            clock.set(dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC))
            scheduler.run(until_idle=True)
            second = 0
            # follow() waits for new events when it has none: a webhook worker loops on it
            # for ever. Here it stops once the post is published.
            for event in scheduler.follow(since=webhook.cursor):
                webhook.deliver(event)
                second += 1
                if event.kind == "receipt":
                    break

    assert webhook.delivered == sorted(set(webhook.delivered)), "an event was delivered twice"
    print(f"{first + second} events delivered, each once, in order")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
