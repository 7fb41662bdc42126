"""``socialkit demo`` in-process: its steps, its directory, and a broken sample campaign."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from socialkit import Scheduler
from socialkit.cli.demo import (
    DemoLayout,
    Published,
    SampleCampaign,
    find_sample_campaign,
    publish_now_step,
    run_demo,
    schedule_week_step,
)
from socialkit.schedule.states import PublicationState
from tests.cli.conftest import EXAMPLES, Cli


def test_the_sample_campaign_is_found_from_any_directory() -> None:
    assert find_sample_campaign() == EXAMPLES / "campaign"


def test_run_demo_prepares_the_directory_then_runs_the_step(tmp_path: Path) -> None:
    sample = SampleCampaign.load(EXAMPLES / "campaign")
    layout = DemoLayout(tmp_path / "demo")
    seen: list[tuple[SampleCampaign, DemoLayout]] = []

    def step(s: SampleCampaign, d: DemoLayout) -> list[Published]:
        assert (d.root / ".socialkit-demo").is_file()
        seen.append((s, d))
        return []

    assert run_demo(sample, layout, step) == []
    assert seen == [(sample, layout)]


def test_publish_now_step_keeps_the_campaign_order(tmp_path: Path) -> None:
    sample = SampleCampaign.load(EXAMPLES / "campaign")
    layout = DemoLayout(tmp_path / "demo")
    published = run_demo(sample, layout, publish_now_step)
    assert [p.post_file for p in published] == list(sample.posts)
    assert all(p.ok for p in published)
    times = [p.at for p in published if p.at]
    assert len(times) == len(published)
    assert times == sorted(times)
    assert len(set(times)) == len(times)  # a second apart: the feed shows them in order
    assert len(list((layout.feed_root / "acme" / "posts").glob("*.json"))) == len(published)


def test_schedule_week_step_publishes_into_the_posting_slots_in_local_time(
    tmp_path: Path,
) -> None:
    sample = SampleCampaign.load(EXAMPLES / "campaign")
    layout = DemoLayout(tmp_path / "demo")
    lines: list[str] = []
    published = run_demo(
        sample, layout, lambda s, d: schedule_week_step(s, d, progress=lines.append)
    )
    assert [p.post_file for p in published] == list(sample.posts)
    assert all(p.ok for p in published), [p.error for p in published]
    # Europe/Berlin slots from the project file: Mon 09:00, Wed 12:30, Thu 08:00, Fri 17:00
    # (UTC+1 in early March), in the week the campaign starts.
    assert [p.at for p in published] == [
        dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC),
        dt.datetime(2026, 3, 4, 11, 30, tzinfo=dt.UTC),
        dt.datetime(2026, 3, 5, 7, 0, tzinfo=dt.UTC),
        dt.datetime(2026, 3, 6, 16, 0, tzinfo=dt.UTC),
    ]
    assert published[0].local == "Mon 02 Mar 09:00 Europe/Berlin"
    assert [p.parts for p in published] == [1, 3, 1, 1]  # the thread went out whole
    assert lines[0].startswith("Queued 4 publications")
    assert len(lines) == 1 + len(published)  # one progress line per post, as it went out
    assert "02-behind-the-scenes.yaml -> acme-feed  published (3 parts)" in lines[2]
    # The store keeps each publication with its history, for `socialkit list`/`show`.
    with Scheduler(f"sqlite:///{layout.store_path}", workspace="acme") as scheduler:
        stored = scheduler.list(limit=10).items
        assert [p.state for p in stored] == [PublicationState.PUBLISHED] * len(published)
        history = scheduler.get(stored[0].id).history
        assert [e.to_state for e in history][-1] == PublicationState.PUBLISHED


def test_schedule_week_step_leaves_what_does_not_fit_the_week_scheduled(tmp_path: Path) -> None:
    campaign = Path(shutil.copytree(EXAMPLES / "campaign", tmp_path / "campaign"))
    extra = (campaign / "posts" / "03-brew-tip.yaml").read_text(encoding="utf-8")
    (campaign / "posts" / "05-more.yaml").write_text(extra, encoding="utf-8")
    sample = SampleCampaign.load(campaign)
    published = run_demo(sample, DemoLayout(tmp_path / "demo"), schedule_week_step)
    *week, late = published
    assert all(p.ok for p in week)
    assert not late.ok
    assert late.error is None
    assert late.local == "Mon 09 Mar 09:00 Europe/Berlin"  # the next week's first slot


def test_a_broken_sample_post_stops_the_demo_naming_the_field(cli: Cli, tmp_path: Path) -> None:
    campaign = Path(shutil.copytree(EXAMPLES / "campaign", tmp_path / "campaign"))
    (campaign / "posts" / "05-broken.yaml").write_text("text: hi\nmedia: [gone.png]\n")
    run = cli("demo", "--campaign", str(campaign))
    assert run.code == 2
    assert run.err.startswith(f"error: {campaign / 'posts' / '05-broken.yaml'} is invalid: ")
    assert "media[0].path: no such file" in run.err
    assert not (tmp_path / "socialkit-demo" / "feed" / "acme" / "posts").exists()


def test_a_campaign_without_posts_is_refused(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "empty" / "posts").mkdir(parents=True)
    (tmp_path / "empty" / "socialkit.toml").write_text("")
    run = cli("demo", "--campaign", str(tmp_path / "empty"))
    assert run.code == 2
    assert run.err.startswith(
        f"error: --campaign: {tmp_path / 'empty' / 'posts'}: no post files "
        f"(*.yaml, *.yml, *.json) (got {str(tmp_path / 'empty')!r}); "
    )


def test_store_status_after_the_demo_says_what_the_past_next_due_is(
    cli: Cli, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli("demo").code == 0
    run = cli("--store", "sqlite:///socialkit-demo/socialkit.db", "store", "status")
    assert run.code == 0, run.err
    lines = dict(line.split(None, 1) for line in run.out.splitlines() if line[:1] != " ")
    assert lines["due"] == "now   0"
    # The demo's week is over; what is left is metric collection, months in the past.
    assert lines["next"].endswith("ago; metric collection or rule work, no publication)")
    assert lines["states"].strip() == "published 4"


def test_a_directory_that_cannot_be_written_is_one_error_line(cli: Cli, tmp_path: Path) -> None:
    # It was an unexpected error: "error: NotADirectoryError: … (run with --debug …)", exit 1.
    (tmp_path / "a-file").write_text("not a directory\n")
    done = cli("demo", "--dir", "a-file/demo")
    assert (done.code, done.out) == (2, "")
    assert done.err == (
        f"error: --dir: cannot write the demo into {tmp_path / 'a-file' / 'demo'}: Not a "
        "directory (choose another directory with --dir)\n"
    )


def test_the_suggested_command_runs_when_socialkit_is_not_on_path(
    cli: Cli, tmp_path: Path, monkeypatch
) -> None:
    # make demo runs .venv/bin/socialkit and puts nothing on PATH: the line the demo
    # suggested began with a bare `socialkit`, "command not found" when pasted.
    started = tmp_path / "venv" / "bin" / "socialkit"
    started.parent.mkdir(parents=True)
    started.write_text("#!/bin/sh\n")
    started.chmod(0o755)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.argv", [str(started), "demo"])
    monkeypatch.setenv("PATH", str(tmp_path / "elsewhere"))
    hint = f"  {started} -c {EXAMPLES / 'campaign' / 'socialkit.toml'} --store sqlite:///"
    assert hint in cli("demo").out
    # Where `socialkit` on PATH is the command that ran, the bare name is enough.
    monkeypatch.setenv("PATH", str(started.parent))
    assert f"\n  socialkit -c {EXAMPLES / 'campaign' / 'socialkit.toml'} " in cli("demo").out
