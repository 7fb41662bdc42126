"""``pause(campaign=...)`` of a campaign nothing has yet: the switch is made (it holds the
campaign's publications as they are made), and a warning names the campaigns the store
has, so a typo is noticed; ``pause`` returned 0 without a word."""

from __future__ import annotations

from pathlib import Path

import pytest

from socialkit.schedule.facade import Scheduler


def test_the_api_pauses_a_campaign_nothing_has_yet_and_warns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from socialkit.models.account import Account
    from socialkit.models.content import Post

    acme = Account(
        id="acme-feed", platform="feed", handle="acme", settings={"directory": str(tmp_path)}
    )
    with Scheduler(f"sqlite:///{tmp_path / 's.db'}") as scheduler:
        scheduler.schedule(Post(text="x"), acme, at="2030-01-01 10:00", campaign="spring")
        with caplog.at_level("WARNING", logger="socialkit.schedule"):
            assert scheduler.pause(campaign="sprnig") == 0
        assert [r.getMessage() for r in caplog.records] == [
            "pause: campaign 'sprnig' has no publication or rule in workspace 'default' so "
            "far (campaigns: spring); the switch is on and holds its publications as they are "
            "made. If the name is a typo, resume(campaign='sprnig') and pause the right one"
        ]
        # Pausing ahead is allowed: the switch holds the campaign's first publication.
        assert [(p.kind, p.value) for p in scheduler.pauses()] == [("campaign", "sprnig")]
        [later] = scheduler.schedule(Post(text="y"), acme, at="2030-01-02 10:00", campaign="sprnig")
        assert later.state == "paused"
        caplog.clear()
        with caplog.at_level("WARNING", logger="socialkit.schedule"):
            assert scheduler.pause(campaign="spring") == 1
        assert caplog.records == []  # a campaign the store has: nothing to warn of
