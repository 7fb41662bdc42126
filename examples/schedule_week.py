"""Schedule a week of posts and let the engine publish them, on a clock moved by hand.

Runs anywhere: everything goes under ./schedule-week-example/ (the SQLite store and the
built-in ``feed`` platform's page and Atom feed), and a ManualClock plays the week in a
moment — the loop jumps to each moment the engine has something to do. Shows a one-off
at a wall time in a zone, the queue (posting slots), a daily rule, approval, the pause
switch, the misfire policy (a post that came due while the account was paused), and a
publication's history. Running it again starts from an empty store.

    python examples/schedule_week.py
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from socialkit import Account, ManualClock, Post, PostingSlot, Scheduler

HERE = Path("schedule-week-example")
# The same week again on every run: the store and the feed of the previous run go.
shutil.rmtree(HERE / "feed", ignore_errors=True)
for name in ("scheduler.db", "scheduler.db-wal", "scheduler.db-shm"):
    (HERE / name).unlink(missing_ok=True)

monday = dt.datetime(2026, 3, 16, 6, 0, tzinfo=dt.UTC)  # 09:30 in Tehran
clock = ManualClock(monday)
cafe = Account(
    id="cafe-feed",
    platform="feed",
    handle="cafe",
    timezone="Asia/Tehran",
    posting_slots=(
        PostingSlot(weekday="tue", time=dt.time(10)),
        PostingSlot(weekday="thu", time=dt.time(18)),
    ),
    settings={"directory": str(HERE / "feed")},
)

HERE.mkdir(exist_ok=True)
with Scheduler(f"sqlite:///{HERE / 'scheduler.db'}", clock=clock) as scheduler:
    # A one-off at a wall time (12:00 in Tehran is 08:30 UTC).
    (launch,) = scheduler.schedule(
        Post(text="Nowruz blend is here. Roasted this week."), cafe, at="2026-03-16 12:00"
    )
    # Into the next free posting slots: Tuesday 10:00, then Thursday 18:00.
    scheduler.queue(Post(text="Tasting notes: cherry, cocoa, a long finish."), cafe)
    scheduler.queue(Post(text="Open late on Thursday."), cafe)
    # Every morning at 08:00 in Tehran, five times.
    scheduler.recur(
        Post(text="Good morning! The espresso bar is open."),
        cafe,
        rrule="FREQ=DAILY;BYHOUR=8;BYMINUTE=0;COUNT=5",
        start="2026-03-17 08:00",
    )
    # Due on Thursday at 13:00 in Tehran (09:30 UTC), while the account will be paused.
    (flash_sale,) = scheduler.schedule(
        Post(text="Flash sale until 14:00: two bags for one."), cafe, at="2026-03-19 13:00"
    )
    # Something that needs a second pair of eyes before it can go out.
    (giveaway,) = scheduler.schedule(
        Post(text="Giveaway: a bag of beans for the best latte art photo."),
        cafe,
        at="2026-03-18 17:00",
        needs_approval=True,
    )

    # People act at these moments; in between, the clock jumps to the next due work.
    actions = {
        monday + dt.timedelta(days=1): lambda: (
            "approved the giveaway: "
            + scheduler.approve(giveaway.id, actor="editor", comment="fine, ship it").state.value
        ),
        monday + dt.timedelta(days=3): lambda: (
            "paused the account, held "
            + str(scheduler.pause(account="cafe-feed", actor="manager", reason="storm"))
        ),
        monday + dt.timedelta(days=3, hours=6): lambda: (
            "resumed, due again " + str(scheduler.resume(account="cafe-feed", actor="manager"))
        ),
    }
    end = monday + dt.timedelta(days=7)
    while True:
        due = scheduler.next_due()
        upcoming = [t for t in actions if t > clock.now()]
        moment = min([t for t in (due, *upcoming) if t is not None], default=None)
        if moment is None or moment > end:
            break
        clock.set(max(moment, clock.now()))
        for when in [t for t in actions if t <= clock.now()]:
            print(f"{clock.now():%a %H:%M} UTC  {actions.pop(when)()}")
        stats = scheduler.run(until_idle=True)
        if stats.claimed:
            print(f"{clock.now():%a %H:%M} UTC  published {stats.claimed}")

    print()
    for p in scheduler.list(limit=50, include_post=True).items:
        text = p.post.text if p.post else ""
        print(f"{p.local_time:%a %d %H:%M} {p.zone}  {p.state.value:<10} {text[:45]}")
    print()
    # The misfire policy: when the account resumed, the flash sale was more than its grace
    # period (an hour by default) late, so it was marked missed rather than sent late.
    # scheduler.reschedule(flash_sale.id, at=...) would bring it back.
    missed = scheduler.get(flash_sale.id)
    print(f"the flash sale: {missed.state.value}, {missed.history[-1].reason}")
    print()
    print("history of the launch post:")
    for event in scheduler.get(launch.id).history:
        moved = f"{event.from_state.value} → {event.to_state.value}" if event.from_state else ""
        print(f"  {event.at:%a %H:%M} {event.kind:<10} {moved:<26} by {event.actor}")
