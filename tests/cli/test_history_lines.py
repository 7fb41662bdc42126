"""``socialkit show``'s history lines keep one column for who did it, whatever the
state change."""

from __future__ import annotations

import datetime as dt

from socialkit.cli._publications import MOVE_WIDTH, event_line
from socialkit.schedule.publication import Event
from socialkit.schedule.states import PublicationState as S

AT = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def _event(kind: str, from_state: S | None, to_state: S | None) -> Event:
    return Event(
        seq=1,
        at=AT,
        kind=kind,
        publication_id="p1",
        actor="ann",
        attempt=0,
        from_state=from_state,
        to_state=to_state,
    )


def test_every_state_change_fits_the_column() -> None:
    widest = max(len(s.value) for s in S)
    assert 2 * widest + len(" → ") <= MOVE_WIDTH


def test_by_starts_in_one_column_whatever_the_change() -> None:
    lines = [
        event_line(_event("created", None, S.SCHEDULED)),
        event_line(_event("approved", S.PENDING_APPROVAL, S.PENDING_APPROVAL)),
        event_line(_event("transition", S.PUBLISHING, S.PUBLISHED)),
        event_line(_event("note", None, None)),
    ]
    assert len({line.index(" by ann") for line in lines}) == 1, "\n".join(lines)
