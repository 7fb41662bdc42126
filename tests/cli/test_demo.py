"""``socialkit demo`` in-process: its steps, its directory, and a broken sample campaign."""

from __future__ import annotations

import shutil
from pathlib import Path

from socialkit.cli.demo import (
    DemoLayout,
    Published,
    SampleCampaign,
    find_sample_campaign,
    publish_now_step,
    run_demo,
)
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
    assert all(p.result.ok for p in published)
    times = [p.result.receipt.published_at for p in published if p.result.receipt]
    assert times == sorted(times)
    assert len(set(times)) == len(times)  # a second apart: the feed shows them in order
    for p in published:
        assert p.result.account.setting("directory") == str(layout.feed_root / "acme")


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
    assert (
        run.err == f"error: {tmp_path / 'empty' / 'posts'}: no post files (*.yaml, *.yml, *.json)\n"
    )
