"""``EngineConfig.metric_schedule`` names a malformed entry and its place.

A label that was not text (``(1, timedelta(hours=1))``) was accepted and stored as text
by the PostgreSQL store, where it no longer matched: every snapshot of that collection
had ``after=None``. A bare offset or a triple raised "cannot unpack …" naming nothing.
"""

from __future__ import annotations

import datetime as dt

import pytest

from socialkit.schedule.engine.config import EngineConfig

HOUR = dt.timedelta(hours=1)


@pytest.mark.parametrize(
    ("schedule", "named"),
    [
        (((1, HOUR),), r"^metric_schedule\[0\]: the label must be non-blank text .*\(got int 1\)$"),
        (
            (("1h", HOUR), ("", HOUR)),
            r"^metric_schedule\[1\]: the label must be non-blank text .*\(got str ''\)$",
        ),
        (
            (HOUR,),
            r"^metric_schedule\[0\]: expected a \(label, offset\) pair .*\(got datetime\.timedelta\(seconds=3600\)\)$",
        ),
        ((("1h", HOUR, "x"),), r"^metric_schedule\[0\]: expected a \(label, offset\) pair"),
        ("1h", r"^metric_schedule: expected \(label, offset\) pairs .*\(got str '1h'\)$"),
        (None, r"^metric_schedule: expected \(label, offset\) pairs .*\(got NoneType None\)$"),
    ],
)
def test_a_malformed_entry_is_named(schedule: object, named: str) -> None:
    with pytest.raises(TypeError, match=named):
        EngineConfig(metric_schedule=schedule)  # type: ignore[arg-type]


def test_a_list_of_pairs_is_taken_as_the_tuple_of_pairs() -> None:
    config = EngineConfig(metric_schedule=[["1h", HOUR], ("24h", 24 * HOUR)])  # type: ignore[arg-type]
    assert config.metric_schedule == (("1h", HOUR), ("24h", 24 * HOUR))
    assert config.metric_offsets == (("1h", 3600.0), ("24h", 86400.0))
