"""``pause`` and ``resume``: what a person is told, and what the history keeps."""

from __future__ import annotations

from pathlib import Path

from socialkit.schedule.facade import Scheduler
from tests.cli.conftest import STORE_PROJECT as PROJECT
from tests.cli.conftest import Cli


def test_pausing_again_says_who_paused_first(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "socialkit.toml").write_text(PROJECT, encoding="utf-8")
    assert cli("store", "migrate").code == 0
    first = cli("pause", "--actor", "ann", "--reason", "crisis")
    assert (first.code, first.out) == (0, "paused everything: 0 publications held\n")
    again = cli("pause", "--actor", "bob")
    assert again.code == 0
    assert again.out == (
        "paused everything: 0 publications held (it was already paused by ann: crisis)\n"
    )
    other = cli("pause", "--account", "acme-feed")
    assert other.out == "paused account acme-feed: 0 publications held\n"


def test_resume_keeps_its_reason_in_the_history(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "socialkit.toml").write_text(PROJECT, encoding="utf-8")
    assert cli("store", "migrate").code == 0
    assert cli("pause", "--reason", "crisis").code == 0
    done = cli("resume", "--actor", "ann", "--reason", "all clear")
    assert done.code == 0, done.err
    with Scheduler(f"sqlite:///{tmp_path / 'socialkit.db'}") as scheduler:
        events = scheduler.events()
    resumed = [e for e in events if e.kind == "resume"]
    assert [(e.actor, e.reason) for e in resumed] == [("ann", "all clear")]


def test_pause_and_resume_refuse_a_store_that_is_not_there(cli: Cli, tmp_path: Path) -> None:
    # A typo in the store URL created an empty store and reported success: the person
    # believed the crisis switch was on while the real store went on publishing.
    (tmp_path / "socialkit.toml").write_text(PROJECT, encoding="utf-8")
    for argv in (["pause"], ["resume"], ["pause", "--account", "acme-feed"]):
        result = cli("--store", "sqlite:///typo.db", *argv)
        assert (result.code, result.out) == (2, ""), argv
        assert result.err.startswith("error: store: no SQLite store at "), result.err
        assert "nothing can be paused or resumed" in result.err
        assert not (tmp_path / "typo.db").exists()


def test_an_empty_listing_says_when_a_filter_names_nothing(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "socialkit.toml").write_text(PROJECT, encoding="utf-8")
    (tmp_path / "post.yaml").write_text("text: Listed\n", encoding="utf-8")
    args = ["schedule", "post.yaml", "--to", "acme-feed", "--at", "2030-01-01 10:00"]
    assert cli(*args).code == 0
    typo = cli("list", "--account", "acme-fed")
    assert (typo.code, typo.out) == (0, "no publications\n")
    assert typo.err == "note: --account: unknown account 'acme-fed' (accounts: acme-feed)\n"
    campaign = cli("list", "--campaign", "sprnig")
    assert campaign.err == (
        "note: --campaign: unknown campaign 'sprnig': not in the project file, and no "
        "publication, rule or pause of the store has it (campaigns: none)\n"
    )
    # a known account with nothing in the state asked for is no typo: no note
    empty = cli("list", "--account", "acme-feed", "--state", "published")
    assert (empty.out, empty.err) == ("no publications\n", "")


def test_clear_rate_limit_lifts_a_hold_and_keeps_who_and_why(cli: Cli, tmp_path: Path) -> None:
    import asyncio
    import datetime as dt

    from socialkit.schedule.records import Budget
    from socialkit.schedule.stores import store_from_url

    (tmp_path / "socialkit.toml").write_text(PROJECT, encoding="utf-8")
    assert cli("store", "migrate").code == 0
    nothing = cli("clear-rate-limit", "--account", "acme-feed")
    assert (nothing.code, nothing.out) == (1, "")
    assert nothing.err == "error: account acme-feed is not rate limited\n"
    typo = cli("clear-rate-limit", "--account", "acme-fed")
    assert typo.code == 2
    assert "acme-fed" in typo.err
    url = f"sqlite:///{tmp_path / 'socialkit.db'}"
    until = dt.datetime(2099, 1, 1, 9, 30, tzinfo=dt.UTC)

    async def hold() -> None:
        store = store_from_url(url)
        await store.open()
        try:
            budget = Budget(account_id="acme-feed", blocked_until=until)
            await store.set_budget(budget, now=dt.datetime.now(dt.UTC))
        finally:
            await store.close()

    asyncio.run(hold())
    done = cli(
        "clear-rate-limit", "--account", "acme-feed", "--actor", "ann", "--reason", "unblocked"
    )
    assert (done.code, done.err) == (0, "")
    assert done.out == (
        "cleared the rate limit of account acme-feed: held until 2099-01-01 09:30:00 UTC; "
        "no publication was waiting for it\n"
    )
    with Scheduler(url) as scheduler:
        events = scheduler.events()
    cleared = [e for e in events if e.kind == "rate_limit_cleared"]
    assert [(e.account_id, e.actor, e.reason) for e in cleared] == [
        ("acme-feed", "ann", "unblocked")
    ]


def test_clear_rate_limit_says_how_many_metric_collections_it_released() -> None:
    from socialkit import RateLimitCleared
    from socialkit.cli.people import _what_was_lifted

    assert _what_was_lifted(RateLimitCleared(account_id="a", metrics_released=1)) == (
        "no budget held it; no publication was waiting for it; "
        "1 metric collection waiting for it is due now"
    )
    assert _what_was_lifted(
        RateLimitCleared(account_id="a", released=("p1",), metrics_released=3)
    ) == (
        "no budget held it; 1 publication waiting for it is due now; "
        "3 metric collections waiting for it are due now"
    )
    assert RateLimitCleared(account_id="a", metrics_released=1).lifted


def test_an_unknown_campaign_lists_the_stores_campaigns_too(cli: Cli, tmp_path: Path) -> None:
    # The refusal listed the project file's campaigns only ('campaigns: none' here),
    # though the store had the one the person meant.
    (tmp_path / "socialkit.toml").write_text(PROJECT, encoding="utf-8")
    (tmp_path / "post.yaml").write_text("text: Spring\ncampaign: spring\n", encoding="utf-8")
    args = ["schedule", "post.yaml", "--to", "acme-feed", "--at", "2030-01-01 10:00"]
    assert cli(*args).code == 0
    typo = cli("pause", "--campaign", "sprnig")
    assert (typo.code, typo.out) == (2, "")
    assert typo.err == (
        "error: --campaign: unknown campaign 'sprnig': not in the project file, and no "
        "publication, rule or pause of the store has it (campaigns: spring); to pause a "
        "campaign before its first post, add it to the project file's [[campaigns]] (an id "
        "and a name)\n"
    )
    assert (
        cli("pause", "--campaign", "spring").out == "paused campaign spring: 1 publication held\n"
    )


def test_pausing_a_campaign_of_the_project_file_before_its_first_post_says_so(
    cli: Cli, tmp_path: Path
) -> None:
    project = PROJECT + '\n[[campaigns]]\nid = "summer"\nname = "Summer sale"\n'
    (tmp_path / "socialkit.toml").write_text(project, encoding="utf-8")
    assert cli("store", "migrate").code == 0
    ahead = cli("pause", "--campaign", "summer")
    assert (ahead.code, ahead.out) == (0, "paused campaign summer: 0 publications held\n")
    assert ahead.err == (
        "note: no publication has campaign 'summer' yet: the switch holds the ones scheduled "
        "from now on, until `socialkit resume --campaign summer`\n"
    )
    (tmp_path / "post.yaml").write_text("text: Summer\ncampaign: summer\n", encoding="utf-8")
    made = cli("schedule", "post.yaml", "--to", "acme-feed", "--at", "2030-06-01 10:00", "--json")
    assert made.code == 0, made.err
    assert [p["state"] for p in made.json()["publications"]] == ["paused"]
