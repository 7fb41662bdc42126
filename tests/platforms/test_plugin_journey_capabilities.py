"""Capabilities an adapter declares are checked when its class is defined, naming the
field and the value, not when a standard test or the engine first reads them."""

from __future__ import annotations

import pydantic
import pytest

import socialkit
from socialkit.text import rule_for


def test_a_metric_snapshot_does_not_have_is_refused() -> None:
    with pytest.raises(pydantic.ValidationError) as refused:
        socialkit.Capabilities(text=rule_for("bluesky"), metrics=frozenset({"views", "likes"}))
    [error] = refused.value.errors()
    assert error["loc"] == ("metrics",)
    assert error["msg"] == (
        "Value error, not MetricSnapshot fields: views (known: impressions, reach, likes, "
        "comments, shares, quotes, saves, clicks, video_views, followers, negative_feedback); a platform's own "
        "counts go in MetricSnapshot.extra"
    )


def test_every_standard_metric_is_accepted() -> None:
    capabilities = socialkit.Capabilities(
        text=rule_for("bluesky"), metrics=frozenset(socialkit.METRIC_FIELDS)
    )
    assert capabilities.metrics == frozenset(socialkit.METRIC_FIELDS)


@pytest.mark.parametrize("parts", [0, -1])
def test_a_thread_limit_below_one_part_is_refused(parts: int) -> None:
    with pytest.raises(pydantic.ValidationError) as refused:
        socialkit.Capabilities(text=rule_for("bluesky"), threads=True, max_thread_parts=parts)
    [error] = refused.value.errors()
    assert (error["loc"], error["input"]) == (("max_thread_parts",), parts)
