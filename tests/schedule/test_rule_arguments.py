"""Rules' arguments are checked and named as the other calls' are (a review of the rules
as a social media team's developer meets them): a rule ``limit`` of ``"3"``, ``True`` or
``2.5``, an evergreen ``every_days`` of ``"7"`` or ``0``, ``stop_rule(rule)`` instead of
``stop_rule(rule.id)``, an unknown rule id, and an RRULE pasted from a calendar with its
``EXDATE`` or ``DTSTART`` lines."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from socialkit.errors import ConfigError, StoreError
from socialkit.models.account import Account, PostingSlot
from socialkit.models.content import Post
from socialkit.schedule.facade import Scheduler
from socialkit.schedule.time import Recurrence
from socialkit.schedule.time.rfc5545 import RRuleError, parse_rrule

ACME = Account(id="acme-feed", platform="feed", handle="acme", timezone="Europe/Berlin")
POST = Post(text="Good morning")


@pytest.fixture(params=["memory", "sqlite"])
def scheduler(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Scheduler]:
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path}/s.db"
    with Scheduler(url) as scheduler:
        scheduler.add_account(ACME)
        yield scheduler


def _nothing_stored(scheduler: Scheduler) -> None:
    assert scheduler.list().items == ()
    assert scheduler.rules() == []


@pytest.mark.parametrize(
    ("limit", "shown"), [("3", "str '3'"), (True, "bool True"), (2.5, "float 2.5")]
)
def test_a_rule_limit_that_is_not_a_whole_number_is_named(
    scheduler: Scheduler, limit: Any, shown: str
) -> None:
    # "3" raised a bare "'<' not supported between instances of 'str' and 'int'", True
    # was taken as 1 and 2.5 as pydantic's report on the Rule's 'remaining'.
    message = (
        "limit: expected a whole number of occurrences, at least 1, or None for no cap "
        f"(got {shown})"
    )
    with pytest.raises(TypeError, match=f"^{re.escape(message)}$"):
        scheduler.recur(POST, ACME, rrule="FREQ=DAILY;BYHOUR=9;BYMINUTE=0", limit=limit)
    _nothing_stored(scheduler)


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        (
            {"every_days": "7"},
            TypeError,
            "every_days: expected a whole number of days, 1 to 3,660, or None (got str '7')",
        ),
        (
            {"every_days": 7.0},
            TypeError,
            "every_days: expected a whole number of days, 1 to 3,660, or None (got float 7.0)",
        ),
        (
            {"every_days": 0},
            ValueError,
            "every_days: must be a whole number of days, 1 to 3,660, or None (got 0)",
        ),
        (
            {"every_slots": 10_001},
            ValueError,
            "every_slots: must be a whole number of posting slots, 1 to 10,000, or None "
            "(got 10001)",
        ),
        (
            {"every_days": 7, "limit": "2"},
            TypeError,
            "limit: expected a whole number of comebacks, at least 1, or None for no cap "
            "(got str '2')",
        ),
        (
            {"every_days": 7, "every_slots": 2},
            ValueError,
            "every_days, every_slots: give exactly one, the days or the posting slots between "
            "comebacks (got every_days=7, every_slots=2)",
        ),
        (
            {},
            ValueError,
            "every_days, every_slots: give exactly one, the days or the posting slots between "
            "comebacks (got every_days=None, every_slots=None)",
        ),
    ],
)
def test_evergreen_counts_are_named_with_their_bounds(
    scheduler: Scheduler, arguments: dict[str, Any], error: type[Exception], message: str
) -> None:
    # They were pydantic's report on the Recycling model ('1 validation error for
    # Recycling ... Input should be a valid integer'), never a TypeError.
    with pytest.raises(error, match=f"^{re.escape(message)}$") as caught:
        scheduler.evergreen(POST, ACME, **arguments)
    assert "Recycling" not in str(caught.value)
    _nothing_stored(scheduler)


def test_stop_rule_names_its_argument(scheduler: Scheduler) -> None:
    (rule,) = scheduler.recur(POST, ACME, rrule="FREQ=DAILY;BYHOUR=9;BYMINUTE=0")
    # The rule itself, a likely slip, raised "unhashable type: 'dict'".
    with pytest.raises(TypeError, match=r"^rule_id: expected a rule's id \(give rule\.id\)"):
        scheduler.stop_rule(rule)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^rule_id: expected a rule's id \(got None\)$"):
        scheduler.stop_rule(None)  # type: ignore[arg-type]
    with pytest.raises(
        StoreError, match=r"^rule_id: no rule 'r-gone' in workspace 'default'$"
    ):  # it read "no rule 'r-gone'"
        scheduler.stop_rule("r-gone")
    assert [r.id for r in scheduler.rules(active=True)] == [rule.id]
    scheduler.stop_rule(rule.id)
    scheduler.stop_rule(rule.id)  # stopping a stopped rule is harmless
    assert [r.id for r in scheduler.rules(active=False)] == [rule.id]
    with pytest.raises(TypeError, match=r"^active: expected True, False or None \(got str 'no'\)$"):
        scheduler.rules(active="no")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "FREQ=DAILY;EXDATE=20261225T090000",
            "RRULE part 'EXDATE': RDATE, EXDATE and EXRULE are not supported: a rule is one "
            "RRULE; leave it out",
        ),
        (
            "RRULE:FREQ=DAILY;BYHOUR=9\nEXDATE;TZID=Europe/Berlin:20261225T090000",
            "RRULE line 'EXDATE;TZID=Europe/Berlin:20261225T090000': RDATE, EXDATE and EXRULE "
            "are not supported: a rule is one RRULE",
        ),
        (
            "RDATE:20261224T090000",
            "RRULE line 'RDATE:20261224T090000': RDATE, EXDATE and EXRULE are not supported",
        ),
        (
            "DTSTART;TZID=Europe/Berlin:20261201T090000\nRRULE:FREQ=DAILY",
            "RRULE line 'DTSTART;TZID=Europe/Berlin:20261201T090000': give the start as the "
            "recurrence's start (start=, --start), not as a DTSTART line",
        ),
        (
            "RRULE:FREQ=DAILY\nRRULE:FREQ=WEEKLY",
            "RRULE has 2 RRULE lines; a rule is one RRULE",
        ),
    ],
)
def test_calendar_lines_beside_the_rule_are_refused_saying_what_they_are(
    text: str, message: str
) -> None:
    # Pasted from a calendar, the lines after the first ran into FREQ's value: "RRULE part
    # FREQ=DAILY\nEXDATE:...: use one of YEARLY, MONTHLY, ...".
    with pytest.raises(RRuleError) as caught:
        parse_rrule(text)
    assert str(caught.value).startswith(message)
    assert "use one of" not in str(caught.value)
    with pytest.raises(ValueError, match=re.escape(message)):
        Recurrence(rrule=text, tz="Europe/Berlin", start="2026-12-01")


def test_a_rule_folded_over_lines_is_still_read() -> None:
    assert parse_rrule("RRULE:FREQ=DAILY;\n BYHOUR=9;BYMINUTE=0\n").text == (
        "FREQ=DAILY;BYHOUR=9;BYMINUTE=0"
    )


def test_a_rules_history_names_who_made_and_stopped_it(scheduler: Scheduler) -> None:
    # recur(actor=...) and evergreen(actor=...) were checked and then dropped: the rule's
    # "created" event said "engine", so who set up a recurring post was nowhere.
    (daily,) = scheduler.recur(POST, ACME, rrule="FREQ=DAILY;BYHOUR=9;BYMINUTE=0", actor="ann")
    weekly = scheduler.evergreen(Post(text="Our best tip"), ACME, every_days=7, actor="bob")
    scheduler.stop_rule(daily.id, actor="cleo")
    made = [
        (e.data["rule_id"], e.actor, e.reason)
        for e in scheduler.events()
        if e.kind == "rule" and e.reason in ("created", "stopped")
    ]
    assert made == [
        (daily.id, "ann", "created"),
        (weekly.id, "bob", "created"),
        (daily.id, "cleo", "stopped"),
    ]


def test_a_store_written_for_an_earlier_socialkit_is_called_without_an_actor() -> None:
    from socialkit.schedule._planning import _takes_actor

    class Earlier:
        async def add_rule(self, rule: Any, *, now: Any) -> None: ...

    class Open:
        async def add_rule(self, rule: Any, **options: Any) -> None: ...

    assert not _takes_actor(Earlier().add_rule)
    assert _takes_actor(Open().add_rule)


def test_queue_on_an_account_without_slots_names_it_and_its_place(scheduler: Scheduler) -> None:
    slotted = Account(
        id="acme-slots",
        platform="feed",
        handle="slots",
        posting_slots=[PostingSlot(weekday="mon", time="09:00")],
    )
    tail = (
        "account 'acme-feed' has no posting slots, so there is no slot to queue the post in; "
        "add posting_slots to the account, or schedule() the post at a time"
    )
    with pytest.raises(ConfigError, match=f"^accounts: {re.escape(tail)}$"):
        scheduler.queue(POST, "acme-feed")
    with pytest.raises(ConfigError, match=f"^accounts\\[1\\]: {re.escape(tail)}$"):
        scheduler.queue(POST, [slotted, ACME])  # it said which account, not which argument
    assert scheduler.list().items == ()
