"""The scheduling commands, in-process on a project file, and ``socialkit run`` as a
process stopped with SIGTERM."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from socialkit.cli import main

PROJECT = """\
store = "sqlite:///socialkit.db"

[[accounts]]
id = "acme-feed"
platform = "feed"
handle = "acme"
timezone = "Asia/Tehran"
posting_slots = [{ weekday = "mon", time = "09:00" }]
settings = { directory = "feed/acme" }
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "socialkit.toml").write_text(PROJECT)
    (tmp_path / "post.yaml").write_text('text: "Hello from the scheduler #test"\n')
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "bad.yaml").write_text('text: "See attached"\nmedia: [notes.txt]\n')
    return tmp_path


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def soon(seconds: float = 0) -> str:
    moment = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def schedule_now(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """``schedule post.yaml`` on acme-feed for now (UTC); the publication as JSON."""
    code, out, err = cli(
        capsys,
        "schedule",
        "post.yaml",
        "--to",
        "acme-feed",
        "--at",
        soon(),
        "--tz",
        "UTC",
        "--json",
    )
    assert code == 0, err
    (pub,) = json.loads(out)["publications"]
    return pub


def test_schedule_list_run_once_show(project: Path, capsys) -> None:
    pub = schedule_now(capsys)
    assert (pub["state"], pub["zone"], pub["account"]) == ("scheduled", "UTC", "acme-feed")
    code, out, _ = cli(capsys, "list", "--state", "scheduled")
    assert pub["id"] in out
    code, out, _ = cli(capsys, "run", "--once")
    assert code == 0
    *progress, summary = out.strip().splitlines()
    assert summary == "claimed 1, reconciled 0, metric collections 0"
    assert progress[-1].endswith("publishing → published")
    code, out, _ = cli(capsys, "show", pub["id"], "--json")
    shown = json.loads(out)
    assert shown["state"] == "published"
    assert shown["url"].startswith("file://")
    assert [e["kind"] for e in shown["history"]][:2] == ["created", "claimed"]
    assert (project / "feed" / "acme" / "index.html").exists()


def test_local_time_in_the_accounts_own_zone_and_queue(project: Path, capsys) -> None:
    code, out, _ = cli(
        capsys, "schedule", "post.yaml", "--to", "acme-feed", "--at", "2030-12-01 09:00", "--json"
    )
    assert code == 0
    (pub,) = json.loads(out)["publications"]
    assert (pub["zone"], pub["due_at"]) == ("Asia/Tehran", "2030-12-01T05:30:00+00:00")
    _code, out, _ = cli(capsys, "queue", "post.yaml", "--to", "acme-feed", "--json")
    (queued,) = json.loads(out)["publications"]
    assert queued["local_time"].endswith("T09:00:00")
    assert dt.datetime.fromisoformat(queued["local_time"]).weekday() == 0  # Monday's slot


def test_queue_to_an_account_without_slots_names_the_option(project: Path, capsys) -> None:
    text = (project / "socialkit.toml").read_text()
    (project / "socialkit.toml").write_text(
        text
        + '\n[[accounts]]\nid = "acme-news"\nplatform = "feed"\nhandle = "news"\n'
        + 'settings = { directory = "feed/news" }\n'
    )
    code, out, err = cli(capsys, "queue", "post.yaml", "--to", "acme-feed", "--to", "acme-news")
    assert code == 2
    assert out == ""
    assert err == (
        "error: --to: account 'acme-news' has no posting slots, so there is no slot to queue "
        "the post in; add posting_slots to its [[accounts]] entry in the project file, or use "
        "'socialkit schedule --at'\n"
    )
    _code, out, _ = cli(capsys, "list", "--json")
    assert json.loads(out)["publications"] == []  # acme-feed's slot was not taken either


def test_an_invalid_post_is_not_scheduled(project: Path, capsys) -> None:
    code, out, err = cli(capsys, "schedule", "bad.yaml", "--to", "acme-feed", "--at", soon())
    assert code == 1
    assert "not scheduled" in err
    assert "type not accepted" in err
    _, out, _ = cli(capsys, "list")
    assert out.strip() == "no publications"


@pytest.mark.parametrize(
    "argv",
    [
        ["schedule", "bad.yaml", "--to", "acme-feed", "--at", "2030-12-01 09:00"],
        ["queue", "bad.yaml", "--to", "acme-feed"],
    ],
)
def test_an_invalid_post_is_reported_as_json_with_json(
    project: Path, capsys, argv: list[str]
) -> None:
    code, out, err = cli(capsys, *argv, "--json")
    assert (code, err) == (1, "")
    shown = json.loads(out)
    assert (shown["file"], shown["publications"]) == ("bad.yaml", [])
    [problem] = shown["problems"]
    assert (problem["field"], problem["severity"]) == ("media[0].mime_type", "error")
    assert "type not accepted" in problem["message"]
    assert json.loads(cli(capsys, "list", "--json")[1])["publications"] == []


def test_approve_reject_cancel_pause_resume(project: Path, capsys) -> None:
    code, out, _ = cli(
        capsys,
        "schedule",
        "post.yaml",
        "--to",
        "acme-feed",
        "--at",
        "2030-01-01 10:00",
        "--approval",
        "--json",
    )
    (pub,) = json.loads(out)["publications"]
    assert pub["state"] == "pending_approval"
    code, out, err = cli(capsys, "approve", pub["id"], "--actor", "ann", "--revision", "0" * 64)
    assert code == 2  # a revision this publication never had: a usage error, not "edited"
    assert "no revision of publication" in err
    code, out, _ = cli(capsys, "approve", pub["id"], "--actor", "ann", "--comment", "ok")
    assert (code, "scheduled" in out) == (0, True)
    code, out, _ = cli(capsys, "pause", "--account", "acme-feed", "--reason", "crisis")
    assert out.strip() == "paused account acme-feed: 1 publication held"  # not "1 publications"
    code, out, _ = cli(capsys, "list", "--state", "paused")
    assert pub["id"] in out
    code, out, _ = cli(capsys, "resume", "--account", "acme-feed")
    assert out.strip() == "resumed account acme-feed: 1 publication no longer held"
    code, out, _ = cli(capsys, "cancel", pub["id"], "--reason", "typo")
    assert code == 0
    code, out, err = cli(capsys, "reject", pub["id"], "--actor", "bob")
    assert code == 1
    assert "cancelled" in err
    code, out, _ = cli(capsys, "show", pub["id"])
    assert "approved" in out
    assert "crisis" in out
    assert "typo" in out


def test_resolve_needs_exactly_one_decision(project: Path, capsys) -> None:
    code, _, err = cli(capsys, "resolve", "p123", "--retry", "--abandon")
    assert code == 2
    assert "exactly one" in err
    code, _, err = cli(capsys, "list", "--state", "nonsense")
    assert code == 2
    assert "unknown state" in err


def test_run_stops_gracefully_on_sigterm(project: Path) -> None:
    assert main(["schedule", "post.yaml", "--to", "acme-feed", "--at", soon(1), "--tz", "UTC"]) == 0
    root = Path(__file__).resolve().parents[2]
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from socialkit.cli import main; sys.exit(main())",
            "run",
        ],
        cwd=project,
        env={**os.environ, "PYTHONPATH": str(root)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert child.stdout is not None
        for line in child.stdout:
            lines.put(line)
        child.stdout.close()

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    seen = []
    try:
        while not any("→ published" in line for line in seen):
            seen.append(lines.get(timeout=60))
    finally:
        child.send_signal(signal.SIGTERM)
        child.wait(timeout=60)
        reader.join(timeout=60)
        if child.stderr is not None:
            child.stderr.close()
    assert child.returncode == 0
    assert seen[0].startswith("socialkit run: worker started")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--at", "2030-13-01 09:00"],
         "error: --at: cannot read local time '2030-13-01 09:00': month must be in 1..12"),
        (["--at", "tomorrow"], "error: --at: cannot read local time 'tomorrow'"),
        (["--at", "2030-12-01T09:00+01:00"],
         "error: --at: local time '2030-12-01T09:00+01:00' carries a UTC offset"),
        (["--at", "2030-12-01 09:00", "--tz", "Mars/Base"],
         "error: --tz: unknown IANA time zone 'Mars/Base'"),
    ],
)  # fmt: skip
def test_a_bad_time_or_zone_is_one_line_naming_the_option(
    project: Path, capsys, args: list[str], message: str
) -> None:
    code, out, err = cli(capsys, "schedule", "post.yaml", "--to", "acme-feed", *args)
    assert (code, out) == (2, "")
    assert err.startswith(message)
    assert err.count("\n") == 1
    _, out, _ = cli(capsys, "list")
    assert out.strip() == "no publications"


def test_times_the_clocks_skip_or_repeat_are_explained(project: Path, capsys) -> None:
    code, _, err = cli(
        capsys,
        "schedule", "post.yaml", "--to", "acme-feed", "--at", "2030-03-31 02:30",
        "--tz", "Europe/Berlin",
    )  # fmt: skip
    assert code == 0
    assert err == (
        "note: 2030-03-31 02:30 Europe/Berlin does not exist (the clocks skip it); "
        "it fires at 03:30 CEST for acme-feed\n"
    )
    code, _, err = cli(
        capsys,
        "schedule", "post.yaml", "--to", "acme-feed", "--at", "2030-11-03 01:30",
        "--tz", "America/New_York",
    )  # fmt: skip
    assert code == 0
    assert err == (
        "note: 2030-11-03 01:30 America/New_York happens twice (the clocks go back); "
        "it fires once, the first time (01:30 EDT) for acme-feed\n"
    )
    code, _, err = cli(
        capsys, "schedule", "post.yaml", "--to", "acme-feed", "--at", soon(), "--tz", "UTC"
    )
    assert (code, err) == (0, "")  # the current minute is not "in the past"
    code, _, err = cli(
        capsys, "schedule", "post.yaml", "--to", "acme-feed", "--at", "2020-01-01 09:00"
    )
    assert code == 2
    assert err.startswith("error: --at: 2020-01-01 09:00 Asia/Tehran for acme-feed was "), err
    assert "past the grace period (3600 s); it would be missed at once" in err
    assert err.count("\n") == 1


def test_pause_refuses_a_scope_that_names_nothing(project: Path, capsys) -> None:
    assert cli(capsys, "store", "migrate")[0] == 0  # pause refuses a store not there
    code, out, err = cli(capsys, "pause", "--account", "acme-fed")
    assert (code, out) == (2, "")
    assert err == "error: --account: unknown account 'acme-fed' (accounts: acme-feed)\n"
    code, out, err = cli(capsys, "pause", "--campaign", "sprnig")
    assert (code, out) == (2, "")
    assert err.startswith("error: --campaign: unknown campaign 'sprnig'")
    code, _, err = cli(capsys, "pause", "--account", "")
    assert code == 2
    assert err.startswith("error: --account:")
    assert cli(capsys, "store", "status", "--json")[1].count('"kind"') == 0  # no switch left on


def test_pause_a_campaign_the_store_knows(project: Path, capsys) -> None:
    (project / "campaign.yaml").write_text('text: "Launch"\ncampaign: launch\n')
    code, _, err = cli(
        capsys, "schedule", "campaign.yaml", "--to", "acme-feed", "--at", "2030-12-01 09:00"
    )
    assert code == 0, err
    code, out, _ = cli(capsys, "pause", "--campaign", "launch")
    assert (code, out) == (0, "paused campaign launch: 1 publication held\n")


def test_resume_says_what_is_not_paused_and_what_still_is(project: Path, capsys) -> None:
    assert cli(capsys, "store", "migrate")[0] == 0  # pause refuses a store not there
    code, out, err = cli(capsys, "resume", "--account", "acme-feed")
    assert (code, out) == (1, "")
    assert err == "error: account acme-feed is not paused (paused: nothing)\n"
    assert cli(capsys, "pause")[0] == 0
    assert cli(capsys, "pause", "--account", "acme-feed")[0] == 0
    code, out, _ = cli(capsys, "resume", "--account", "acme-feed")
    assert code == 0
    assert out.splitlines() == [
        "resumed account acme-feed: 0 publications no longer held",
        "still paused: everything",
    ]


def test_resolve_refuses_a_url_without_a_post_id(project: Path, capsys) -> None:
    code, out, err = cli(capsys, "resolve", "p123", "--retry", "--url", "https://x.test/1")
    assert (code, out) == (2, "")
    assert err == "error: --url: only with --published POST_ID (got --url 'https://x.test/1')\n"


def test_a_key_used_again_keeps_its_publication_and_says_so(project: Path, capsys) -> None:
    args = ("schedule", "post.yaml", "--to", "acme-feed", "--key", "launch", "--json")
    code, out, err = cli(capsys, *args, "--at", "2030-12-01 09:00")
    assert (code, err) == (0, "")
    (first,) = json.loads(out)["publications"]
    code, out, err = cli(capsys, *args, "--at", "2030-12-01 09:00")
    assert code == 0  # the same request again: a success that says nothing was made
    assert [p["id"] for p in json.loads(out)["publications"]] == [first["id"]]
    assert err == (
        f"note: --key 'launch' already scheduled {first['id']} for acme-feed at "
        "2030-12-01 09:00 Asia/Tehran; nothing changed\n"
    )
    code, out, err = cli(capsys, "schedule", "post.yaml", "--to", "acme-feed", "--key", "launch")
    assert code == 2  # --at is required
    code, out, _ = cli(
        capsys,
        "schedule",
        "post.yaml",
        "--to",
        "acme-feed",
        "--key",
        "launch",
        "--at",
        "2030-12-01 09:00",
    )
    assert out.startswith(f"already scheduled {first['id']} ")
    code, out, err = cli(capsys, *args, "--at", "2030-12-02 10:00")
    assert code == 0
    assert [p["local_time"] for p in json.loads(out)["publications"]] == ["2030-12-01T09:00:00"]
    assert err == (
        f"note: --key 'launch' already scheduled {first['id']} for acme-feed at "
        "2030-12-01 09:00 Asia/Tehran; nothing changed (reschedule it, or use another key)\n"
    )


def test_a_key_used_again_for_another_post_is_refused(project: Path, capsys) -> None:
    args = ("schedule", "--to", "acme-feed", "--key", "launch", "--at", "2030-12-01 09:00")
    code, out, err = cli(capsys, *args[:1], "post.yaml", *args[1:], "--json")
    assert code == 0, err
    (first,) = json.loads(out)["publications"]
    (project / "other.yaml").write_text('text: "Another post entirely"\n')
    code, out, err = cli(capsys, *args[:1], "other.yaml", *args[1:], "--json")
    assert (code, out) == (2, "")
    assert err.startswith(
        f"error: --key: 'launch' already scheduled another post ({first['id']} for acme-feed, "
        f"revision {first['revision'][:12]}; this file is revision "
    )
    assert err.endswith("nothing was scheduled: use another key for this post\n")
    code, out, _ = cli(capsys, "list", "--json")
    assert [p["id"] for p in json.loads(out)["publications"]] == [first["id"]]


def test_a_bad_cursor_names_the_option(project: Path, capsys) -> None:
    code, out, err = cli(capsys, "list", "--cursor", "garbage")
    assert (code, out) == (2, "")
    assert err == (
        "error: --cursor: not a listing cursor (got 'garbage'); give the one a full page "
        "notes on standard error, or next_cursor from list --json\n"
    )


def test_run_shows_a_live_table_on_a_terminal_and_plain_lines_otherwise(
    monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    from rich.console import Console

    from socialkit.cli.schedule import _Progress
    from socialkit.schedule.engine.events import StateChange
    from socialkit.schedule.states import PublicationState as S

    def change(pub: str, to: S) -> StateChange:
        return StateChange(
            publication_id=pub,
            workspace="default",
            account_id="acme-feed",
            campaign=None,
            from_state=S.PUBLISHING,
            to_state=to,
            at=dt.datetime(2030, 1, 1, 9, 0, 5, tzinfo=dt.UTC),
            reason="Rejected: too long" if to is S.FAILED else None,
        )

    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    live = _Progress()
    assert not live.plain
    for pub, to in (("p1", S.PUBLISHED), ("p2", S.PUBLISHED), ("p3", S.FAILED)):
        live.changed(change(pub, to))
    assert capsys.readouterr().out == ""  # the live display draws; nothing is printed
    console = Console(file=io.StringIO(), record=True, width=100)
    console.print(live.render())
    screen = console.export_text()
    assert [line.split() for line in screen.splitlines() if "│" in line] == [
        ["│", "failed", "│", "1", "│"],
        ["│", "published", "│", "2", "│"],
    ]
    assert "09:00:05 p3 acme-feed: publishing → failed (Rejected: too long)" in screen

    monkeypatch.setattr(sys.stdout, "isatty", lambda: False)
    plain = _Progress()
    assert plain.plain
    plain.changed(change("p1", S.PUBLISHED))
    assert capsys.readouterr().out == "09:00:05 p1 acme-feed: publishing → published\n"


def test_approve_the_revision_show_printed(project: Path, capsys) -> None:
    from socialkit.models.content import Post
    from socialkit.schedule.facade import Scheduler

    code, out, _ = cli(
        capsys, "schedule", "post.yaml", "--to", "acme-feed", "--at", "2030-01-01 10:00",
        "--approval", "--json",
    )  # fmt: skip
    (pub,) = json.loads(out)["publications"]
    _, shown, _ = cli(capsys, "show", pub["id"])
    reviewed = shown.splitlines()[1].split()[1]
    assert len(reviewed) == 16
    assert pub["revision"].startswith(reviewed)
    with Scheduler(f"sqlite:///{project}/socialkit.db") as scheduler:
        edited = scheduler.edit(pub["id"], Post(text="Edited after the review"), actor="bob")
    code, out, err = cli(capsys, "approve", pub["id"], "--revision", reviewed)
    assert (code, out) == (1, "")
    assert "was edited" in err
    code, out, err = cli(capsys, "approve", pub["id"], "--revision", edited.revision[:16])
    assert code == 0, err
    assert out.startswith(f"approved {pub['id']}  scheduled")
    code, _, err = cli(capsys, "approve", pub["id"], "--revision", "latest")
    assert code == 2
    assert err == (
        "error: --revision: give the revision you reviewed, as `socialkit show` prints it "
        "(8 to 64 hex digits; got 'latest')\n"
    )


def make_unknowns(project: Path, accounts: str, parts: int = 1) -> list[str]:
    """Publications (one per account letter, each a thread of ``parts`` posts) on a
    platform without keys or lookup whose answers were lost: their outcomes stay unknown
    and wait for a person."""
    import asyncio

    from socialkit.errors import UnknownOutcome
    from socialkit.models.account import Account
    from socialkit.models.content import Post, ThreadPart
    from socialkit.platforms.capabilities import Idempotency
    from socialkit.platforms.registry import Registry
    from socialkit.schedule.engine.clock import ManualClock
    from socialkit.schedule.engine.config import EngineConfig
    from socialkit.schedule.scheduler import AsyncScheduler
    from tests.schedule.conftest import FAST_RETRY, START
    from tests.schedule.fakes import make_platform

    post = Post(text="Lost", thread=[ThreadPart(text=f"part {n}") for n in range(2, parts + 1)])

    async def unknowns() -> list[str]:
        registry = Registry(load_entry_points=False)
        fake: Any = make_platform("blind", Idempotency.NONE)
        registry.register(fake)
        fake.server.script(*(UnknownOutcome("read timeout") for _ in accounts))
        clock = ManualClock(START)
        scheduler = AsyncScheduler(
            f"sqlite:///{project}/socialkit.db",
            registry=registry,
            clock=clock,
            config=EngineConfig(worker_id="w", retry=FAST_RETRY),
        )
        async with scheduler:
            pubs = [
                (await scheduler.schedule(post, account, at=START))[0]
                for account in (Account(id=n, platform="blind", handle=n) for n in accounts)
            ]
            await scheduler.run(until_idle=True)
            clock.advance(dt.timedelta(minutes=1))
            await scheduler.run(until_idle=True)
        return [p.id for p in pubs]

    return asyncio.run(unknowns())


def test_resolve_settles_what_waits_for_a_person(project: Path, capsys) -> None:
    found, retry, abandon = make_unknowns(project, "abc")
    code, out, _ = cli(capsys, "list", "--attention", "--json")
    assert {p["id"] for p in json.loads(out)["publications"]} == {found, retry, abandon}
    code, out, err = cli(
        capsys, "resolve", found, "--published", "113", "--url", "https://blind.test/113",
        "--actor", "ann", "--reason", "it is there",
    )  # fmt: skip
    assert code == 0, err
    assert out.startswith(f"resolved {found}  published")
    code, out, _ = cli(capsys, "show", found, "--json")
    shown = json.loads(out)
    assert (shown["state"], shown["url"], shown["attention"]) == (
        "published", "https://blind.test/113", None,
    )  # fmt: skip
    assert shown["history"][-1]["actor"] == "ann"
    assert cli(capsys, "resolve", retry, "--retry")[0] == 0
    assert cli(capsys, "resolve", abandon, "--abandon", "--actor", "bob")[0] == 0
    code, out, _ = cli(capsys, "show", abandon, "--json")
    assert json.loads(out)["state"] == "failed"
    code, out, _ = cli(capsys, "show", retry, "--json")
    assert json.loads(out)["state"] == "scheduled"
    code, out, err = cli(capsys, "resolve", abandon, "--retry")
    assert (code, out) == (1, "")
    assert err.startswith(f"error: cannot resolve publication {abandon}: it is failed")


def test_resolve_names_every_part_of_a_thread(project: Path, capsys) -> None:
    (thread,) = make_unknowns(project, "a", parts=2)
    code, out, err = cli(capsys, "resolve", thread, "--published", "113")
    assert (code, out) == (2, "")
    assert err.startswith("error: --published: ")
    assert "is a thread of 2 posts; give --published once per part, in order (got 1)" in err
    code, out, err = cli(
        capsys, "resolve", thread, "--published", "113", "--published", "114",
        "--url", "https://blind.test/113",
    )  # fmt: skip
    assert (code, out) == (2, "")
    assert (
        err
        == "error: --url: give one per --published, in the same order (got 1 URLs for 2 posts)\n"
    )
    code, out, err = cli(capsys, "resolve", thread, "--published", "113", "--published", "114")
    assert code == 0, err
    assert out.startswith(f"resolved {thread}  published")
    code, out, _ = cli(capsys, "show", thread, "--json")
    shown = json.loads(out)
    assert shown["state"] == "published"


def test_attention_lists_every_page_of_what_waits_for_a_person(project: Path, capsys) -> None:
    waiting = make_unknowns(project, "abc")
    # Earlier than the unknowns and waiting for nobody: they fill the first pages. (The
    # command line refuses a time past its grace period, so the API schedules them, on a
    # clock of their own, to go out late.)
    import asyncio

    from socialkit.models.account import Account
    from socialkit.models.content import Post
    from socialkit.schedule.engine.clock import ManualClock
    from socialkit.schedule.scheduler import AsyncScheduler

    async def earlier() -> None:
        account = Account(id="acme-feed", platform="feed", handle="acme")
        clock = ManualClock(dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
        async with AsyncScheduler(f"sqlite:///{project}/socialkit.db", clock=clock) as sched:
            for day in range(1, 6):
                at = dt.datetime(2020, 1, day, 9, tzinfo=dt.UTC)
                await sched.schedule(Post(text=f"day {day}"), account, at=at)

    asyncio.run(earlier())
    code, out, _ = cli(capsys, "list", "--attention", "--limit", "2", "--json")
    assert code == 0
    first = json.loads(out)
    assert [p["attention"] for p in first["publications"]] == ["reconcile", "reconcile"]
    assert first["next_cursor"] is not None
    code, out, _ = cli(
        capsys, "list", "--attention", "--limit", "2", "--cursor", first["next_cursor"], "--json"
    )
    assert code == 0
    second = json.loads(out)
    assert second["next_cursor"] is None
    shown = [p["id"] for p in first["publications"] + second["publications"]]
    assert sorted(shown) == sorted(waiting)


def test_a_full_text_page_notes_the_cursor_of_the_next(project: Path, capsys) -> None:
    for hour in (9, 10, 11):
        at = f"2030-01-0{hour - 8} {hour}:00"
        code, _, err = cli(capsys, "schedule", "post.yaml", "--to", "acme-feed", "--at", at)
        assert code == 0, err
    # Two of three: the listing used to end there without a word, as if that were all.
    code, out, err = cli(capsys, "list", "--limit", "2")
    assert code == 0
    assert len(out.splitlines()) == 2
    note = "note: more follow; for the next page, run it again with --cursor "
    assert err.startswith(note)
    cursor = err.removeprefix(note).strip()
    code, out, err = cli(capsys, "list", "--limit", "2", "--cursor", cursor)
    assert code == 0
    assert [line.split()[3] for line in out.splitlines()] == ["11:00"]
    assert err == ""  # the last page: nothing more to note
    code, out, err = cli(capsys, "list", "--limit", "3")
    assert (len(out.splitlines()), err) == (3, "")


def test_run_once_on_a_terminal_prints_each_change(
    project: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = cli(
        capsys, "schedule", "post.yaml", "--to", "acme-feed", "--at", soon(), "--tz", "UTC",
        "--json",
    )  # fmt: skip
    (pub,) = json.loads(out)["publications"]
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    code, out, _ = cli(capsys, "run", "--once")
    assert code == 0
    *changes, summary = out.splitlines()
    assert changes[-1].endswith(f"{pub['id']} acme-feed: publishing → published")
    assert summary == "claimed 1, reconciled 0, metric collections 0"


def test_workers_read_the_project_store_themselves(
    project: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socialkit.schedule.workers as workers

    secret = "postgresql://app:s3cret@db.internal/social?schema=team_a"
    text = (project / "socialkit.toml").read_text()
    (project / "socialkit.toml").write_text(text.replace("sqlite:///socialkit.db", secret))
    calls: list[dict[str, object]] = []

    def run_workers(count: int, **options: object) -> int:
        calls.append({"count": count, **options})
        return 0

    monkeypatch.setattr(workers, "run_workers", run_workers)
    assert cli(capsys, "run", "--workers", "3")[0] == 0
    assert cli(capsys, "--store", "sqlite:///other.db", "run", "--workers", "2", "--once")[0] == 0
    assert calls == [
        {"count": 3, "store_url": None, "config_path": None, "once": False},
        {"count": 2, "store_url": None, "config_path": None, "once": True},
    ]  # --store reaches the workers through $SOCIALKIT_STORE (tests/cli/test_workers.py)


def test_delete_takes_a_published_post_down(project: Path, capsys) -> None:
    pub = schedule_now(capsys)
    assert cli(capsys, "run", "--once")[0] == 0
    page = project / "feed" / "acme" / "index.html"
    assert "Hello from the scheduler" in page.read_text()
    code, out, err = cli(capsys, "delete", pub["id"])  # no terminal to ask on
    assert code == 2
    assert "pass --yes" in err
    assert "Hello from the scheduler" in page.read_text()
    code, out, err = cli(capsys, "delete", pub["id"], "--yes", "--reason", "wrong price")
    assert code == 0, err
    assert out.startswith("deleted ")
    assert "file://" not in out  # the page it pointed to is gone
    assert "Hello from the scheduler" not in page.read_text()
    code, out, _ = cli(capsys, "show", pub["id"], "--json")
    shown = json.loads(out)
    assert shown["state"] == "deleted"
    assert shown["history"][-1]["reason"] == "wrong price"
    code, out, err = cli(capsys, "delete", pub["id"], "--yes")
    assert code == 1
    assert "it is deleted" in err
