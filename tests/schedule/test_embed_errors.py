"""An application embedding the scheduler: bad input is refused at the call, naming the
argument and the value, and nothing is stored for it."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from socialkit import Account, ConfigError, ManualClock, Post, Scheduler, StoreError
from socialkit.platforms.feed import FeedPlatform
from socialkit.platforms.registry import Registry
from socialkit.schedule import ScheduleRequest

NOW = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)
ACME = Account(id="acme-feed", platform="feed", handle="acme", timezone="Asia/Tehran")


@pytest.fixture
def scheduler(tmp_path: Path) -> Iterator[Scheduler]:
    registry = Registry(load_entry_points=False)
    registry.register(FeedPlatform)
    with Scheduler(
        f"sqlite:///{tmp_path}/app.db", registry=registry, clock=ManualClock(NOW)
    ) as made:
        yield made


def _same_file(scheduler: Scheduler) -> str:
    """The scheduler's store URL, for a second scheduler (another tenant) on it."""
    return f"sqlite:///{scheduler.aio.store.path}"  # type: ignore[attr-defined]


def _nothing_stored(scheduler: Scheduler) -> None:
    assert scheduler.list().items == ()
    assert scheduler.rules() == []


@pytest.mark.parametrize(
    ("zone", "message"),
    [
        ("Mars/Olympus", "tz: unknown IANA time zone 'Mars/Olympus'"),
        ("", "tz: time zone must be an IANA zone name (got '')"),
    ],
)
def test_an_unknown_zone_is_named_by_every_call_that_takes_one(
    scheduler: Scheduler, zone: str, message: str
) -> None:
    post = Post(text="Nowruz sale")
    aware = dt.datetime(2030, 3, 21, 9, tzinfo=dt.UTC)
    for call in (
        lambda: scheduler.schedule(post, ACME, at="2030-03-21 09:00", tz=zone),
        # An aware moment is converted to the zone's wall time: the zone is read too.
        lambda: scheduler.schedule(post, ACME, at=aware, tz=zone),
        lambda: scheduler.recur(post, ACME, rrule="FREQ=DAILY;BYHOUR=9", tz=zone),
        lambda: scheduler.schedule_many(
            [ScheduleRequest(post=post, accounts=ACME, at=aware, tz=zone)]
        ),
    ):
        with pytest.raises(
            ValueError, match=re.escape(message).replace("tz:", r"(requests\[0\]\.)?tz:")
        ):
            call()
    _nothing_stored(scheduler)
    [pub] = scheduler.schedule(post, ACME, at="2030-03-21 09:00")
    with pytest.raises(ValueError, match=re.escape(message)):
        scheduler.reschedule(pub.id, at="2030-03-22 09:00", tz=zone)
    assert scheduler.get(pub.id).local_time == dt.datetime(2030, 3, 21, 9)


def test_an_unreadable_time_names_the_argument(scheduler: Scheduler) -> None:
    post = Post(text="Nowruz sale")
    with pytest.raises(ValueError, match=r"^at: cannot read local time 'tomorrow'"):
        scheduler.schedule(post, ACME, at="tomorrow")
    with pytest.raises(ValueError, match=r"^requests\[1\]\.at: cannot read local time 'soon'"):
        scheduler.schedule_many(
            [
                ScheduleRequest(post=post, accounts=ACME, at="2030-03-21 09:00"),
                ScheduleRequest(post=post, accounts=ACME, at="soon"),
            ]
        )
    with pytest.raises(ValueError, match=r"^start: cannot read local time 'monday'"):
        scheduler.recur(post, ACME, rrule="FREQ=DAILY", start="monday")
    _nothing_stored(scheduler)


def test_a_negative_grace_is_refused_as_such(scheduler: Scheduler) -> None:
    # It used to be read as "past the grace period (-5 s)" for a time that is not past.
    with pytest.raises(ValueError, match=r"^grace: must not be negative \(got -5 s\)$"):
        scheduler.schedule(
            Post(text="x"), ACME, at="2030-01-01 09:00", grace=dt.timedelta(seconds=-5)
        )
    with pytest.raises(ValueError, match=r"^grace: must not be negative"):
        scheduler.recur(Post(text="x"), ACME, rrule="FREQ=DAILY", grace=dt.timedelta(hours=-1))
    _nothing_stored(scheduler)


@pytest.mark.parametrize("limit", [0, -1])
def test_a_rule_limit_below_one_is_refused(scheduler: Scheduler, limit: int) -> None:
    # It used to create a rule that never stops (-1) or never fires (0).
    with pytest.raises(
        ValueError,
        match=rf"^limit: must be a whole number of occurrences, at least 1.*\(got {limit}\)$",
    ):
        scheduler.recur(Post(text="Good morning"), ACME, rrule="FREQ=DAILY", limit=limit)
    _nothing_stored(scheduler)


def test_a_bad_rrule_is_refused_before_anything_is_stored(scheduler: Scheduler) -> None:
    with pytest.raises(ValueError, match=r"BYHOUR=25: 25 is out of range; hours are 0\.\.23"):
        scheduler.recur(Post(text="Good morning"), ACME, rrule="FREQ=DAILY;BYHOUR=25")
    _nothing_stored(scheduler)
    assert scheduler.events() == []


@pytest.mark.parametrize(
    ("rrule", "message"),
    [
        (
            "FREQ=DAILLY;BYHOUR=9",
            "rrule: RRULE part FREQ=DAILLY: use one of YEARLY, MONTHLY, WEEKLY, DAILY, "
            "HOURLY, MINUTELY (in 'FREQ=DAILLY;BYHOUR=9')",
        ),
        (
            "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30;BYHOUR=9;BYMINUTE=0",
            "rrule: RRULE 'FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30;BYHOUR=9;BYMINUTE=0' never "
            "fires within 100 years of start 2030-01-01T00:00:00",
        ),
    ],
)
def test_a_bad_rrule_is_one_line_naming_the_argument(
    scheduler: Scheduler, rrule: str, message: str
) -> None:
    # It was pydantic's report on the Recurrence model: "1 validation error for
    # Recurrence", the message on the third line, then the input and a link.
    with pytest.raises(ValueError, match=r"^rrule: ") as raised:
        scheduler.recur(Post(text="Good morning"), ACME, rrule=rrule, start="2030-01-01")
    assert type(raised.value) is ValueError
    assert str(raised.value) == message
    _nothing_stored(scheduler)


@pytest.mark.parametrize("key", ["", "  "])
def test_a_blank_idempotency_key_is_refused(scheduler: Scheduler, key: str) -> None:
    # "" was taken as no key: scheduling again with it made another publication each time.
    slotted = ACME.model_copy(update={"posting_slots": ({"weekday": "mon", "time": "09:00"},)})
    blank = rf"an idempotency key must not be blank \(got {key!r}\); give None for none$"
    with pytest.raises(ValueError, match=rf"^key: {blank}"):
        scheduler.schedule(Post(text="x"), ACME, at="2030-01-01 09:00", key=key)
    with pytest.raises(ValueError, match=rf"^key: {blank}"):
        scheduler.queue(Post(text="x"), slotted, key=key)
    requests = [
        ScheduleRequest(post=Post(text="x"), accounts=ACME, at="2030-01-01 09:00", key="a"),
        ScheduleRequest(post=Post(text="x"), accounts=ACME, at="2030-01-01 09:00", key=key),
    ]
    with pytest.raises(ValueError, match=rf"^requests\[1\]\.key: {blank}"):
        scheduler.schedule_many(requests)
    with pytest.raises(
        TypeError, match=r"^key: expected an idempotency key as text .*\(got int 7\)$"
    ):
        scheduler.schedule(Post(text="x"), ACME, at="2030-01-01 09:00", key=7)  # type: ignore[arg-type]
    assert scheduler.list().items == ()
    # a key that names the schedule still makes scheduling again harmless
    first = scheduler.schedule(Post(text="x"), ACME, at="2030-01-01 09:00", key="launch")
    again = scheduler.schedule(Post(text="x"), ACME, at="2030-01-01 09:00", key="launch")
    assert [p.id for p in again] == [p.id for p in first]


@pytest.mark.parametrize("limit", [0, -1])
def test_listing_refuses_a_page_size_below_one(scheduler: Scheduler, limit: int) -> None:
    scheduler.schedule(Post(text="x"), ACME, at="2030-01-01 09:00")
    # limit=-1 used to return an empty page with no cursor: "nothing there".
    with pytest.raises(
        ValueError, match=rf"^limit: must be at least 1 publication per page \(got {limit}\)$"
    ):
        scheduler.list(limit=limit)
    # events(limit=-1) used to return the whole log (SQLite reads LIMIT -1 as no limit).
    with pytest.raises(ValueError, match=rf"^limit: must be at least 1 event \(got {limit}\)$"):
        scheduler.events(limit=limit)
    assert len(scheduler.list(limit=1).items) == 1


def test_event_cursors_and_batches_are_checked(scheduler: Scheduler) -> None:
    with pytest.raises(ValueError, match=r"^since: an event seq is 0 or more \(got -5\)$"):
        scheduler.events(since=-5)
    # batch=0 made follow() spin without waiting.
    with pytest.raises(ValueError, match=r"^batch: must be at least 1 event \(got 0\)$"):
        next(scheduler.follow(batch=0))
    with pytest.raises(ValueError, match=r"^chunk: must be at least 1 \(got 0\)$"):
        scheduler.schedule_many([], chunk=0)


def test_an_unknown_state_filter_lists_the_states(scheduler: Scheduler) -> None:
    with pytest.raises(ValueError, match=r"^state: unknown state 'sheduled' \(one of draft, "):
        scheduler.list(state="sheduled")
    with pytest.raises(ValueError, match=r"^state: unknown state 'bogus'"):
        scheduler.list(state=["scheduled", "bogus"])
    assert scheduler.list(state=["scheduled", "paused"]).items == ()


def test_listing_names_a_bad_range_or_attention(scheduler: Scheduler) -> None:
    # A naive range raised "can't compare offset-naive and offset-aware datetimes".
    naive = (dt.datetime(2030, 1, 1), dt.datetime(2030, 1, 2))
    with pytest.raises(ValueError, match=r"^between: the start must be an aware datetime"):
        scheduler.list(between=naive)
    backwards = (NOW + dt.timedelta(days=1), NOW)
    with pytest.raises(
        ValueError, match=r"^between: the start 2026-12-02T08:00:00\+00:00 is after"
    ):
        scheduler.list(between=backwards)
    # An unknown reason listed nothing, as if nobody were needed.
    with pytest.raises(
        ValueError,
        match=r"^attention: unknown reason 'reconciled' \(one of reconcile, reauth, delete, deleting\)$",
    ):
        scheduler.list(attention="reconciled")
    assert scheduler.list(attention="reconcile").items == ()


@pytest.mark.parametrize(
    ("between", "got"),
    [
        ("2026-12", "str '2026-12'"),
        ((NOW,), "tuple (datetime.datetime(2026, 12, 1, 8, 0, tzinfo=datetime.timezone.utc),)"),
        ((dt.date(2026, 12, 1), dt.date(2026, 12, 2)), "tuple (datetime.date(2026, 12, 1), "),
        (("2026-12-01", "2026-12-02"), "tuple ('2026-12-01', '2026-12-02')"),
    ],
)
def test_a_range_that_is_not_a_pair_of_datetimes_is_named(
    scheduler: Scheduler, between: object, got: str
) -> None:
    # These raised "too many values to unpack" or "'str' object has no attribute 'tzinfo'",
    # naming neither the argument nor what it takes.
    with pytest.raises(TypeError, match=r"^between: expected a \(start, end\) pair of aware "):
        scheduler.list(between=between)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=re.escape(f"(got {got}")):
        scheduler.list(between=between)  # type: ignore[arg-type]


def test_a_state_filter_that_is_neither_a_state_nor_several_is_named(
    scheduler: Scheduler,
) -> None:
    # state=5 raised "'int' object is not iterable".
    with pytest.raises(
        TypeError, match=r"^state: expected a state such as 'scheduled', .*\(got int 5\)$"
    ):
        scheduler.list(state=5)  # type: ignore[arg-type]


def test_a_decision_names_who_made_it(scheduler: Scheduler) -> None:
    [pub] = scheduler.schedule(Post(text="x"), ACME, at="2030-01-01 09:00", needs_approval=True)
    for call in (scheduler.approve, scheduler.reject):
        with pytest.raises(
            ValueError, match=r"^actor: say who did it, for the history \(got ' '\)$"
        ):
            call(pub.id, actor=" ")
    assert scheduler.get(pub.id).state == "pending_approval"


def test_what_is_scheduled_after_a_pause_is_returned_paused(scheduler: Scheduler) -> None:
    # The scheduler's cached pause switches (1 s) said it was scheduled; the store held it.
    scheduler.schedule(Post(text="before"), ACME, at="2030-01-01 09:00")
    assert scheduler.pause(actor="ann", reason="crisis") == 1
    [held] = scheduler.schedule(Post(text="during"), ACME, at="2030-01-01 10:00")
    assert held.state == scheduler.get(held.id).state == "paused"
    assert scheduler.resume(actor="ann") == 2
    [free] = scheduler.schedule(Post(text="after"), ACME, at="2030-01-01 11:00")
    assert free.state == scheduler.get(free.id).state == "scheduled"


def test_an_account_of_another_workspace_is_refused(scheduler: Scheduler) -> None:
    # It was scheduled in that workspace: not in this scheduler's list(), not held by its
    # pause() (a crisis pause held 0 and the worker published it), yet published.
    other = Account(id="b-feed", platform="feed", handle="b", workspace="brand-b")
    with pytest.raises(
        ConfigError,
        match=r"^accounts: account 'b-feed' is in workspace 'brand-b', and this scheduler "
        r"acts in 'default'",
    ):
        scheduler.schedule(Post(text="x"), [ACME, other], at="2030-01-01 09:00")
    with pytest.raises(ConfigError, match=r"^accounts: account 'b-feed' is in workspace"):
        scheduler.recur(Post(text="x"), other, rrule="FREQ=DAILY")
    _nothing_stored(scheduler)
    assert [r.account.id for r in scheduler.accounts()] == ["acme-feed"]
    with Scheduler(_same_file(scheduler), workspace="brand-b") as tenant:
        [pub] = tenant.schedule(Post(text="x"), other, at="2030-01-01 09:00")
        assert tenant.pause() == 1
        assert tenant.get(pub.id).state == "paused"
    # Nor stored: it would replace that tenant's account (its settings: where it posts).
    defaced = other.model_copy(update={"handle": "defaced"})
    with pytest.raises(ConfigError, match=r"^account: account 'b-feed' is in workspace"):
        scheduler.add_account(defaced)
    with pytest.raises(ConfigError, match=r"^accounts\[0\]: account 'b-feed' is in workspace"):
        Scheduler(_same_file(scheduler), accounts=[defaced])
    with Scheduler(_same_file(scheduler), workspace="brand-b") as tenant:
        assert [r.account.handle for r in tenant.accounts()] == ["b"]


def test_a_tenant_neither_reads_nor_moves_another_tenants_publications(
    scheduler: Scheduler,
) -> None:
    [mine] = scheduler.schedule(Post(text="x"), ACME, at="2030-01-01 09:00", needs_approval=True)
    [rule] = scheduler.recur(Post(text="y"), ACME, rrule="FREQ=DAILY")
    with Scheduler(_same_file(scheduler), workspace="brand-b") as other:
        unknown = rf"^publication_id: no publication '{mine.id}' in workspace 'brand-b'$"
        for call in (
            lambda: other.get(mine.id),
            lambda: other.cancel(mine.id),
            lambda: other.approve(mine.id, actor="eve"),
            lambda: other.reject(mine.id, actor="eve"),
            lambda: other.edit(mine.id, Post(text="defaced")),
            lambda: other.reschedule(mine.id, at="2031-01-01 09:00"),
            lambda: other.resolve(mine.id, abandon=True),
            lambda: other.delete(mine.id),
        ):
            with pytest.raises(StoreError, match=unknown):
                call()
        with pytest.raises(
            StoreError, match=rf"^rule_id: no rule '{rule.id}' in workspace 'brand-b'$"
        ):
            other.stop_rule(rule.id)
        assert other.list().items == ()
    # It was cancelled, approved, edited... by whoever had its id.
    kept = scheduler.get(mine.id)
    assert (kept.state, kept.post.text if kept.post else None) == ("pending_approval", "x")
    assert [e.kind for e in kept.history] == ["created"]
    assert scheduler.rules(active=True) == [rule]


def test_an_account_given_twice_is_refused_not_posted_twice(scheduler: Scheduler) -> None:
    # [acme, "acme-feed"] made two publications: the post went out twice.
    twice = r"account 'acme-feed' is given twice; each account gets one publication$"
    with pytest.raises(ConfigError, match=rf"^accounts: {twice}"):
        scheduler.schedule(Post(text="x"), [ACME, "acme-feed"], at="2030-01-01 09:00")
    with pytest.raises(ConfigError, match=rf"^accounts: {twice}"):
        scheduler.recur(Post(text="x"), [ACME, ACME], rrule="FREQ=DAILY")
    with pytest.raises(ConfigError, match=rf"^requests\[1\]\.accounts: {twice}"):
        scheduler.schedule_many(
            [
                ScheduleRequest(post=Post(text="a"), accounts=ACME, at="2030-01-01 09:00"),
                ScheduleRequest(post=Post(text="b"), accounts=[ACME, ACME], at="2030-01-01 09:00"),
            ]
        )
    # A request without accounts made nothing, and said nothing.
    with pytest.raises(ConfigError, match=r"^requests\[0\]\.accounts: no accounts given$"):
        scheduler.schedule_many(
            [ScheduleRequest(post=Post(text="a"), accounts=[], at="2030-01-01 09:00")]
        )
    with pytest.raises(ConfigError, match=r"^accounts: no accounts given$"):
        scheduler.schedule(Post(text="x"), [], at="2030-01-01 09:00")
    _nothing_stored(scheduler)


def test_an_evergreen_post_starting_long_ago_is_refused(scheduler: Scheduler) -> None:
    # It made the 2020 occurrences missed and published the latest one at once.
    with pytest.raises(
        ValueError,
        match=r"^first_at: 2020-01-01 09:00 Asia/Tehran for acme-feed was \d+ days ago, past the "
        r"grace period \(3600 s\); it would be missed at once; give a later first_at, or none",
    ):
        scheduler.evergreen(Post(text="Classic"), ACME, every_days=7, first_at="2020-01-01 09:00")
    _nothing_stored(scheduler)
    rule = scheduler.evergreen(
        Post(text="Classic"), ACME, every_days=7, first_at="2026-12-03 09:00"
    )
    assert [p.local_time for p in scheduler.list(rule=rule.id).items] == [
        dt.datetime(2026, 12, 3, 9)
    ]


def test_a_reschedule_past_the_grace_period_is_refused(scheduler: Scheduler) -> None:
    from socialkit.schedule.scheduler import PastGracePeriod

    [pub] = scheduler.schedule(Post(text="Later"), ACME, at="2026-12-02 09:00")
    with pytest.raises(PastGracePeriod, match=r"^at: 2026-11-30 09:00 Asia/Tehran .* later time$"):
        scheduler.reschedule(pub.id, at="2026-11-30 09:00")
    assert scheduler.get(pub.id).due_at == pub.due_at  # nothing changed
    [late] = scheduler.schedule(
        Post(text="Late is fine"), ACME, at="2026-12-02 09:00", publish_late=True
    )
    assert scheduler.reschedule(late.id, at="2026-11-30 09:00").state.value == "scheduled"


def test_a_reschedule_is_checked_against_the_grace_period_only_where_it_applies(
    scheduler: Scheduler,
) -> None:
    """A rule's occurrence is left to the misfire policy; a published one is refused for
    its state, not its time."""
    from socialkit import StaleTransition
    from socialkit.schedule import PastGracePeriod

    [sent] = scheduler.schedule(Post(text="Sent"), ACME, at=NOW)
    scheduler.run(until_idle=True)
    assert scheduler.get(sent.id).state.value == "published"
    with pytest.raises(StaleTransition, match="published"):
        scheduler.reschedule(sent.id, at="2026-11-30 09:00")
    [rule] = scheduler.recur(Post(text="Daily"), ACME, rrule="FREQ=DAILY;BYHOUR=9;BYMINUTE=0")
    occurrence = scheduler.list(rule=rule.id, limit=1).items[0]
    moved = scheduler.reschedule(occurrence.id, at="2026-11-30 09:00")
    assert moved.local_time.day == 30
    [other] = scheduler.schedule(Post(text="Other"), ACME, at="2026-12-02 09:00")
    with pytest.raises(PastGracePeriod):
        scheduler.reschedule(other.id, at="2026-11-30 09:00")


def test_pausing_an_account_that_is_not_stored_is_refused(scheduler: Scheduler) -> None:
    scheduler.add_account(ACME)
    with pytest.raises(StoreError, match="acme-fed"):
        scheduler.pause(account="acme-fed")
    assert scheduler.pauses() == []
    assert scheduler.pause(account="acme-feed") == 0  # a known account with nothing due


def test_claim_ahead_is_bounded_by_a_second_and_the_lease() -> None:
    from socialkit.schedule.engine.config import EngineConfig

    with pytest.raises(ValueError, match=r"claim_ahead must be between 0 and 1 s .* got 40 s"):
        EngineConfig(claim_ahead=dt.timedelta(seconds=40))
    with pytest.raises(ValueError, match=r"between 0 and 0\.2 s .* lease, 2 s\); got 0\.5 s"):
        EngineConfig(lease=dt.timedelta(seconds=2), claim_ahead=dt.timedelta(milliseconds=500))
    assert EngineConfig(claim_ahead=dt.timedelta(0)).claim_ahead == dt.timedelta(0)


def test_schedule_many_names_a_request_past_its_grace_and_keeps_earlier_chunks(
    scheduler: Scheduler,
) -> None:
    from socialkit.schedule import PastGracePeriod

    requests = [
        ScheduleRequest(post=Post(text="Fine"), accounts=ACME, at="2026-12-02 09:00", key="a"),
        ScheduleRequest(post=Post(text="Late"), accounts=ACME, at="2026-11-28 09:00", key="b"),
    ]
    with pytest.raises(PastGracePeriod, match=r"^requests\[1\]\.at: 2026-11-28 09:00 "):
        scheduler.schedule_many(requests, chunk=1)
    assert [p.idempotency_key for p in scheduler.list().items] == ["a:acme-feed"]  # chunk 0
    requests[1] = ScheduleRequest(
        post=Post(text="Late"), accounts=ACME, at="2026-12-03 09:00", key="b"
    )
    assert len(scheduler.schedule_many(requests, chunk=1)) == 2
    assert len(scheduler.list().items) == 2  # the first one not twice


def test_worker_id_is_non_empty_text_without_a_nul() -> None:
    # It names the lease owner; the SQLite store rewrites leases in batches through
    # JSON, where a NUL would end the name (and the worker would lose its own lease).
    from socialkit.schedule.engine.config import EngineConfig

    for bad in ("", "host\x00:1"):
        with pytest.raises(ValueError, match=r"worker_id: must be non-empty text without a NUL"):
            EngineConfig(worker_id=bad)
    assert EngineConfig(worker_id="host:1").worker_id == "host:1"


@pytest.mark.parametrize("field", ["account", "campaign", "rule"])
def test_a_list_filter_that_is_not_an_id_is_named(scheduler: Scheduler, field: str) -> None:
    # account=5 (or campaign=, rule=) matched nothing and said nothing: an empty page.
    with pytest.raises(
        TypeError, match=rf"^{field}: expected .* as text, or None for any \(got int 5\)$"
    ):
        scheduler.list(**{field: 5})
