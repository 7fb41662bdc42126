"""Properties of rule → occurrences, over random rules, zones and starts (hypothesis)."""

from __future__ import annotations

import datetime as dt
import itertools

from dateutil import rrule as du
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from socialkit.schedule.time import Recurrence, WallTime, latest_missed, to_instant

ZONES = (
    "America/New_York",
    "Europe/Berlin",
    "Australia/Lord_Howe",
    "Asia/Tehran",
    "Australia/Sydney",
    "America/Santiago",
    "Pacific/Apia",  # skipped 30 December 2011 entirely: a 24-hour gap
    "UTC",
)
DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
N = 40
SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _csv(values: list[int]) -> str:
    return ",".join(str(v) for v in sorted(set(values)))


@st.composite
def rules(draw: st.DrawFn) -> Recurrence:
    freq = draw(st.sampled_from(["MINUTELY", "HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY"]))
    parts = [f"FREQ={freq}"]
    if draw(st.booleans()):
        top = {"MINUTELY": 90, "HOURLY": 7, "DAILY": 3}.get(freq, 2)
        parts.append(f"INTERVAL={draw(st.integers(1, top))}")
    if freq != "MINUTELY" and draw(st.booleans()):
        parts.append(f"BYMINUTE={_csv(draw(st.lists(st.integers(0, 59), min_size=1, max_size=3)))}")
    if draw(st.booleans()):
        # hours around the usual DST changes (midnight in Santiago, 1-3 elsewhere)
        hours = st.one_of(st.integers(0, 4), st.integers(0, 23))
        parts.append(f"BYHOUR={_csv(draw(st.lists(hours, min_size=1, max_size=3)))}")
    if freq in ("WEEKLY", "DAILY", "HOURLY") and draw(st.booleans()):
        days = draw(st.lists(st.sampled_from(DAYS), min_size=1, max_size=4, unique=True))
        parts.append(f"BYDAY={','.join(days)}")
    if freq == "MONTHLY" and draw(st.booleans()):
        if draw(st.booleans()):
            day = draw(st.sampled_from(DAYS))
            parts.append(f"BYDAY={draw(st.sampled_from(['1', '2', '-1']))}{day}")
        else:
            days = draw(st.lists(st.integers(-3, 31).filter(bool), min_size=1, max_size=3))
            parts.append(f"BYMONTHDAY={_csv(days)}")
    if freq == "YEARLY" and draw(st.booleans()):
        parts.append(f"BYMONTH={_csv(draw(st.lists(st.integers(1, 12), min_size=1, max_size=3)))}")
    if any(p.startswith(("BYDAY", "BYMONTHDAY", "BYHOUR")) for p in parts) and draw(st.booleans()):
        parts.append(f"BYSETPOS={draw(st.sampled_from(['1', '-1', '1,2']))}")
    if draw(st.integers(0, 4)) == 0:
        parts.append(f"COUNT={draw(st.integers(1, 30))}")
    zone = draw(st.sampled_from(ZONES))
    base = draw(st.sampled_from([dt.datetime(2011, 12, 20), dt.datetime(2025, 12, 1)]))
    start = base + dt.timedelta(minutes=draw(st.integers(0, 60 * 24 * 400)))
    try:
        return Recurrence(rrule=";".join(parts), tz=zone, start=start.replace(second=0))
    except ValidationError as exc:
        # e.g. FREQ=YEARLY;BYMONTH=2 from a start on the 30th: refused as never firing
        if "never fires" not in str(exc) and "cannot be expanded" not in str(exc):
            raise
        reject()


def _naive(rule: Recurrence) -> du.rrule:
    """The plain dateutil expansion of the rule's wall times, no DST policy applied."""
    plan = rule.plan
    return du.rrule(dtstart=rule.start, count=plan.count, **plan.dateutil_kwargs(rule.start))


@SETTINGS
@given(rules())
def test_occurrences_are_valid_and_strictly_increasing(rule: Recurrence) -> None:
    got = rule.after(None, limit=N)
    assert got, rule
    due = [o.due_at for o in got]
    assert all(a < b for a, b in itertools.pairwise(due))
    assert len({o.local for o in got}) == len(got)
    assert len({o.key for o in got}) == len(got)
    naive = list(itertools.islice(_naive(rule), 20 * N + 200))
    naive_set = set(naive)
    for o in got:
        assert o.local in naive_set  # a wall time of the rule
        assert o.due_at == to_instant(o.local, rule.tz)  # mapped by the policy
        assert o.due_at.utcoffset() == dt.timedelta(0)
        shown = o.fires_local.replace(tzinfo=None)
        if o.wall_time is WallTime.SKIPPED:
            assert shown > o.local  # moved forward, never back
        else:
            assert shown == o.local
    # nothing skipped: every wall time of the rule up to the last firing fires, or
    # shares the instant of one that does (then the earlier wall time is the one kept)
    fired = {o.due_at: o.local for o in got}
    for local in naive:
        instant = to_instant(local, rule.tz)
        if instant <= due[-1]:
            assert instant in fired, (rule, local)
            assert fired[instant] <= local


@SETTINGS
@given(rules(), st.lists(st.integers(1, 7), min_size=1, max_size=8))
def test_chaining_after_previous_equals_one_long_expansion(
    rule: Recurrence, steps: list[int]
) -> None:
    long = rule.after(None, limit=N)
    chained = []
    previous = None
    for step in itertools.cycle(steps):
        chunk = rule.after(previous, limit=step)
        if not chunk or len(chained) >= N:
            break
        chained.extend(chunk)
        previous = chunk[-1].local
    assert chained[:N] == long


@SETTINGS
@given(rules(), st.integers(0, N - 1), st.integers(0, N - 1), st.integers(-90, 90))
def test_between_and_latest_missed_agree_with_the_long_expansion(
    rule: Recurrence, i: int, j: int, nudge_minutes: int
) -> None:
    long = rule.after(None, limit=N)
    if len(long) < 2:
        return
    i, j = sorted((i % len(long), j % len(long)))
    nudge = dt.timedelta(minutes=nudge_minutes)
    lo, hi = long[i].due_at + nudge, long[j].due_at
    assert rule.between(lo, hi) == [o for o in long if lo <= o.due_at < hi]
    previous = long[i].local
    now = long[j].due_at + nudge
    expected = [o for o in long if long[i].due_at < o.due_at <= now]
    if now <= long[-1].due_at:
        assert latest_missed(rule, previous, now) == (expected[-1] if expected else None)
