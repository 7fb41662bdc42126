"""The feed's metrics files are read as they are written, or refused naming the count.

A count that was not a whole number of at least 0 was either read as another number
(``2.5`` as 2 likes, ``true`` as 1) or broke the snapshot with a pydantic error, which the
engine logged as an adapter bug, with a traceback, naming neither the file nor the count.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest

import socialkit
from socialkit import ManualClock, Scheduler
from socialkit.models.media_store import LocalMediaStore
from socialkit.platforms.feed import FeedPlatform

T0 = dt.datetime(2030, 5, 4, 10, 0, tzinfo=dt.UTC)


def _account(directory: Path) -> socialkit.Account:
    return socialkit.Account(
        id="acme-feed", platform="feed", handle="acme", settings={"directory": str(directory)}
    )


def _fetch(tmp_path: Path, counts: Any) -> list[socialkit.MetricSnapshot]:
    out = tmp_path / "out"
    account = _account(out)
    draft = socialkit.render(socialkit.Post(text="Spring blend"), "feed", FeedPlatform.capabilities)

    async def run() -> list[socialkit.MetricSnapshot]:
        async with httpx.AsyncClient() as http:
            ctx = socialkit.Context(
                account=account,
                credentials=socialkit.Credentials(),
                http=http,
                media=LocalMediaStore(tmp_path / "m"),
                idempotency_keys=("pub-1-0",),
            )
            receipt = await FeedPlatform().publish(draft, ctx)
            (out / "metrics").mkdir(exist_ok=True)
            path = out / "metrics" / f"{receipt.ref.id}.json"
            path.write_text(json.dumps(counts), encoding="utf-8")
            return await FeedPlatform().fetch_metrics([receipt], ctx)

    return asyncio.run(run())


def test_whole_counts_are_read_and_other_numbers_on_the_page_are_left_out(
    tmp_path: Path,
) -> None:
    [snapshot] = _fetch(tmp_path, {"likes": 12, "impressions": 480, "visits": 9.5, "shares": None})
    assert (snapshot.likes, snapshot.impressions, snapshot.shares) == (12, 480, None)


@pytest.mark.parametrize(
    ("counts", "said"),
    [
        ({"likes": 2.5}, "likes: Input should be a valid integer (got 2.5)"),
        ({"likes": True}, "likes: Input should be a valid integer (got True)"),
        ({"shares": -1}, "shares: Input should be greater than or equal to 0 (got -1)"),
    ],
)
def test_a_count_that_is_not_a_whole_number_is_rejected_naming_it(
    tmp_path: Path, counts: dict[str, Any], said: str
) -> None:
    with pytest.raises(socialkit.Rejected, match=r"^feed metrics file .*\.json: ") as caught:
        _fetch(tmp_path, counts)
    assert said in str(caught.value)


def test_a_file_that_is_not_an_object_of_counts_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(socialkit.Rejected, match=r"expected a JSON object of counts.*\(got list\)"):
        _fetch(tmp_path, [12, 3])


def test_the_engine_records_a_bad_count_without_a_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "out"
    clock = ManualClock(T0)
    with Scheduler("memory://", clock=clock) as scheduler:
        [pub] = scheduler.schedule(socialkit.Post(text="Spring blend"), _account(out), at=T0)
        scheduler.run(until_idle=True)
        entry = scheduler.get(pub.id).receipts[0].receipt.ref.id
        (out / "metrics").mkdir()
        (out / "metrics" / f"{entry}.json").write_text('{"likes": -3}', encoding="utf-8")
        clock.set(T0 + dt.timedelta(hours=1))
        with caplog.at_level(logging.INFO, logger="socialkit.schedule"):
            scheduler.run(until_idle=True)
        assert scheduler.metrics(publication=pub.id) == []
    [record] = [r for r in caplog.records if "metrics for" in r.getMessage()]
    assert record.exc_info is None
    assert f"{entry}.json: likes: Input should be greater than or equal to 0 (got -3)" in (
        record.getMessage()
    )
