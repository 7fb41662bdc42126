"""A snapshot's platform-specific counts are finite: JSON cannot carry NaN or infinity."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from socialkit import MetricSnapshot

AT = dt.datetime(2026, 12, 7, 8, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_a_non_finite_extra_count_is_refused_by_name(value: float) -> None:
    # It was accepted, dumped as null, and every later read of the stored series failed.
    with pytest.raises(ValidationError) as refused:
        MetricSnapshot(platform="x", account_id="acme", collected_at=AT, extra={"hides": value})
    [error] = refused.value.errors()
    assert (error["loc"], error["type"]) == (("extra", "hides"), "finite_number")


def test_finite_extra_counts_survive_a_json_round_trip() -> None:
    snapshot = MetricSnapshot(
        platform="x", account_id="acme", collected_at=AT, extra={"hides": 3, "watch_ratio": 0.42}
    )
    assert MetricSnapshot.model_validate_json(snapshot.model_dump_json()) == snapshot
