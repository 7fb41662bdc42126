"""``socialkit recur``, ``rules``, ``stop-rule`` and ``list --rule``: recurring posts from
the command line, so a recurring post can be stopped (and what it made cancelled) without
pausing its whole account or campaign."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import Cli

PROJECT = """\
store = "sqlite:///socialkit.db"

[[accounts]]
id = "acme-feed"
platform = "feed"
handle = "acme"
timezone = "Europe/Berlin"
settings = { directory = "feed/acme" }
"""

DAILY = "FREQ=DAILY;BYHOUR=12;BYMINUTE=0"
WAITING = ("scheduled", "pending_approval", "paused", "draft")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "socialkit.toml").write_text(PROJECT, encoding="utf-8")
    (tmp_path / "lunch.yaml").write_text("text: Lunch special\n", encoding="utf-8")
    return tmp_path


def _made(cli: Cli, rule_id: str, *states: str) -> list[dict[str, str]]:
    args = [arg for state in states for arg in ("--state", state)]
    done = cli("list", "--rule", rule_id, "--json", *args)
    assert done.code == 0, done.err
    rows: list[dict[str, str]] = done.json()["publications"]
    return rows


def test_recur_prints_the_rule_what_it_made_and_what_comes_next(cli: Cli, project: Path) -> None:
    done = cli("recur", "lunch.yaml", "--to", "acme-feed", "--rrule", DAILY)
    assert done.code == 0, done.err
    first, *rest = done.out.splitlines()
    assert first.startswith("rule r")
    assert f"active  {DAILY} in Europe/Berlin  acme-feed" in first
    rule_id = first.split()[1]
    made = _made(cli, rule_id)
    assert 6 <= len(made) <= 8  # a week ahead, from now
    assert [line.split()[1] for line in rest if line.startswith("  scheduled ")] == [
        p["id"] for p in made
    ]
    following = [line for line in rest if line.startswith("  then ")]
    assert len(following) == 3
    assert all("12:00 UTC" not in line for line in following)
    assert all("fires 12:00 CE" in line for line in following)


def test_recur_json_has_the_rule_its_publications_and_its_next_occurrences(
    cli: Cli, project: Path
) -> None:
    done = cli(
        "recur", "lunch.yaml", "--to", "acme-feed", "--rrule", f"{DAILY};COUNT=2",
        "--start", "2030-01-01 09:00", "--limit", "5", "--approval", "--json",
    )  # fmt: skip
    assert done.code == 0, done.err
    (rule,) = done.json()["rules"]
    assert rule["kind"] == "rrule"
    assert rule["rrule"] == f"{DAILY};COUNT=2"
    assert (rule["zone"], rule["start"], rule["accounts"]) == (
        "Europe/Berlin",
        "2030-01-01T09:00:00",
        ["acme-feed"],
    )
    assert (rule["remaining"], rule["active"], rule["approvals_required"]) == (5, True, 1)
    assert rule["publications"] == []  # 2030 is beyond the window
    assert [o["local"] for o in rule["next"]] == ["2030-01-01T12:00:00", "2030-01-02T12:00:00"]
    text = cli("recur", "lunch.yaml", "--to", "acme-feed", "--rrule", f"{DAILY};COUNT=2",
               "--start", "2030-01-01 09:00")  # fmt: skip
    assert text.out.splitlines()[-1] == "  no further occurrences"


def test_recur_approval_and_limit(cli: Cli, project: Path) -> None:
    done = cli(
        "recur", "lunch.yaml", "--to", "acme-feed", "--rrule", DAILY, "--limit", "2",
        "--approval", "--json",
    )  # fmt: skip
    assert done.code == 0, done.err
    (rule,) = done.json()["rules"]
    assert [p["state"] for p in rule["publications"]] == ["pending_approval"] * 2
    assert (rule["remaining"], rule["next"]) == (0, [])


@pytest.mark.parametrize(
    ("options", "error"),
    [
        (["--rrule", "FREQ=DAILLY"], "error: --rrule: RRULE part FREQ=DAILLY"),
        (["--rrule", DAILY, "--tz", "Mars/Base"], "error: --tz: unknown IANA time zone"),
        (["--rrule", DAILY, "--start", "tomorrow"], "error: --start: "),
        (["--rrule", DAILY, "--limit", "0"], "error: --limit: "),
        (
            ["--rrule", "FREQ=DAILY;COUNT=1", "--start", "2020-01-01 09:00"],
            "error: --rrule: every occurrence is past the grace period",
        ),
    ],
)
def test_recur_refuses_a_bad_option_naming_it_and_stores_nothing(
    cli: Cli, project: Path, options: list[str], error: str
) -> None:
    done = cli("recur", "lunch.yaml", "--to", "acme-feed", *options)
    assert (done.code, done.out) == (2, "")
    assert done.err.startswith(error), done.err
    if (project / "socialkit.db").exists():
        assert cli("rules", "--all", "--json").json() == {"rules": []}


def test_stop_rule_says_what_still_goes_out_and_cancel_cancels_it(cli: Cli, project: Path) -> None:
    (rule,) = cli("recur", "lunch.yaml", "--to", "acme-feed", "--rrule", DAILY, "--json").json()[
        "rules"
    ]
    rule_id = rule["id"]
    listed = cli("rules")
    assert (listed.code, listed.out.split()[:2]) == (0, [rule_id, "active"])
    made = len(_made(cli, rule_id, *WAITING))
    assert made >= 6

    done = cli("stop-rule", rule_id, "--actor", "ann")
    assert done.code == 0, done.err
    assert done.out == (
        f"stopped rule {rule_id}; the {made} publications it already made still go out: "
        "--cancel cancels them\n"
    )
    assert len(_made(cli, rule_id, "scheduled")) == made  # nothing was cancelled
    assert cli("rules").out == "no active rules (--all lists the stopped ones too)\n"
    assert cli("rules", "--all").out.split()[:2] == [rule_id, "stopped"]

    done = cli("stop-rule", rule_id, "--cancel", "--reason", "recall", "--actor", "ann")
    assert done.code == 0, done.err
    assert done.out == (
        f"rule {rule_id} was already stopped; cancelled {made} publications it had made\n"
    )
    assert _made(cli, rule_id, *WAITING) == []
    assert len(_made(cli, rule_id, "cancelled")) == made
    shown = cli("show", _made(cli, rule_id)[0]["id"], "--json").json()
    assert (shown["history"][-1]["actor"], shown["history"][-1]["reason"]) == ("ann", "recall")


def test_stop_rule_cancel_at_once(cli: Cli, project: Path) -> None:
    (rule,) = cli("recur", "lunch.yaml", "--to", "acme-feed", "--rrule", DAILY, "--json").json()[
        "rules"
    ]
    made = len(_made(cli, rule["id"], *WAITING))
    done = cli("stop-rule", rule["id"], "--cancel")
    assert done.out == f"stopped rule {rule['id']}; cancelled {made} publications it had made\n"


def test_stop_rule_refuses_an_unknown_rule_naming_the_active_ones(cli: Cli, project: Path) -> None:
    (rule,) = cli(
        "recur", "lunch.yaml", "--to", "acme-feed", "--rrule", DAILY, "--start",
        "2030-01-01 09:00", "--json",
    ).json()["rules"]  # fmt: skip
    done = cli("stop-rule", "r-typo")
    assert (done.code, done.out) == (2, "")
    assert done.err == (
        f"error: RULE_ID: no rule 'r-typo' in workspace 'default' (active rules: {rule['id']}; "
        "socialkit rules --all lists them all)\n"
    )
    assert cli("rules", "--json").json()["rules"][0]["active"] is True
    note = cli("list", "--rule", "r-typo")
    assert (note.code, note.out) == (0, "no publications\n")
    assert "note: --rule: no rule 'r-typo' in workspace 'default'" in note.err


def test_rules_and_stop_rule_create_no_store(cli: Cli, project: Path) -> None:
    listed = cli("rules")
    assert (listed.code, listed.out) == (0, "no rules\n")
    assert "note: no SQLite store at" in listed.err
    stopped = cli("stop-rule", "r1", "--cancel")
    assert (stopped.code, stopped.out) == (2, "")
    assert stopped.err.startswith("error: store: no SQLite store at")
    assert not (project / "socialkit.db").exists()


def test_a_blank_actor_is_refused(cli: Cli, project: Path) -> None:
    done = cli("stop-rule", "r1", "--actor", " ")
    assert done.code == 2
    assert done.err.startswith("error: --actor: say who does it")
