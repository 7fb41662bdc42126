"""The feature examples print what they claim (test_examples.py checks that they run)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from tests.examples.test_examples import EXAMPLES
from tests.examples.test_examples import _run as run


def _run(script: str, cwd: Path) -> str:
    done = run([sys.executable, str(EXAMPLES / script)], cwd)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_text_example_counts_per_platform_and_keeps_persian_tags_whole(tmp_path: Path) -> None:
    out = _run("text_platforms.py", tmp_path)
    lengths = dict(re.findall(r"^  (\w+) +(\d+)/\d+ ", out, re.M))
    assert lengths == {
        "x": "62",
        "mastodon": "59",
        "bluesky": "62",
        "threads": "81",
        "telegram": "71",
    }
    # the ZWNJ stays inside the tag on X and Mastodon; Bluesky ends the tag there
    assert "hashtag on x        #قهوه\u200cی_بهاری" in out
    assert "hashtag on bluesky  #قهوه  (4 code points)" in out
    parts = re.findall(r"^ +(\d+)/300 graphemes, ends with '.*(\d)/(\d)'$", out, re.M)
    assert len(parts) == 2  # what is left once it fits is the last part, whole
    assert all(int(n) <= 300 for n, _, _ in parts)
    assert [(i, n) for _, i, n in parts] == [("1", "2"), ("2", "2")]
    assert "mention [13, 31) @alice.bsky.social (to resolve)" in out
    assert "after resolving: 3 facets" in out
    assert "?ref=home&utm_source=bluesky&utm_campaign=spring#farm." in out
    assert "x        40 -> 40" in out  # a link counts 23 on X, tagged or not


def test_campaign_example_checks_every_target(tmp_path: Path) -> None:
    out = _run("campaign_kpis.py", tmp_path)
    assert "4 posts on 3 platforms" in out
    assert "engagements 417, impressions 6600" in out
    # only the X posts reported impressions: their 216 engagements, not all 417, count
    assert "engagement rate by impressions 3.27% = 216 / 6600 (2 of 4 posts)" in out
    # each post over its account's followers when it was first measured: 310 / (5200 + 5200 + 1800)
    assert "engagement rate by followers 2.54% (3 of 4 posts)" in out
    targets = dict(re.findall(r"^  (\w+) .* (met|MISSED|cannot say)$", out, re.M))
    assert targets == {
        "engagement_rate_by_impressions": "MISSED",  # 3.27 % < 4 % (417 / 6600 = 6.32 % was not)
        "click_through_rate": "MISSED",  # 59 clicks / 6600 impressions < 1 %
        "cost_per_engagement": "met",
        "roas": "met",
    }
    assert re.search(r"^  engagement_rate_by_impressions .* \(2 of 4 posts\)  MISSED$", out, re.M)
    assert "All targets met: False" in out
    assert re.search(r"^  bluesky +107 engagements  n/a$", out, re.M)  # no impressions reported


def test_event_log_example_delivers_every_event_once_in_order(tmp_path: Path) -> None:
    out = _run("event_log.py", tmp_path)
    seqs = [int(s) for s in re.findall(r"\[webhook\] #(\d+) ", out)]
    assert seqs == list(range(1, len(seqs) + 1))
    assert len(seqs) == 10
    assert "After a restart, from cursor 5: 0 new" in out
    assert out.count("[hook] acme-feed: published") == 2
    # each hook line under the heading of the step that fired it
    restart, _, more = out.partition("One more post;")
    assert restart.count("[hook] acme-feed: published") == 1
    assert more.count("[hook] acme-feed: published") == 1
    # the post over the feed's thread limit is refused when scheduled: nothing stored
    assert "refused: post for acme-feed is invalid: [feed] thread: too many thread parts" in out
    assert "failed" not in out
    assert list(tmp_path.iterdir()) == []  # everything went to a temporary directory


def test_schedule_week_example_shows_a_misfire_and_runs_again_the_same(tmp_path: Path) -> None:
    first = _run("schedule_week.py", tmp_path)
    assert "Thu 06:00 UTC  paused the account, held 4" in first
    assert re.search(r"^Thu 19 13:00 Asia/Tehran  missed +Flash sale", first, re.M)
    assert "the flash sale: missed, not started within its grace period" in first
    assert len(re.findall(r"^\w{3} \d\d \d\d:\d\d Asia/Tehran  published ", first, re.M)) == 9
    # A second run used to find the first run's store and feed, and list (and publish)
    # everything twice.
    again = _run("schedule_week.py", tmp_path)

    def without_pids(text: str) -> str:
        return re.sub(r" by \S+:\d+$", " by host:pid", text, flags=re.M)

    assert without_pids(again) == without_pids(first)
    page = tmp_path / "schedule-week-example" / "feed" / "index.html"
    assert page.read_text(encoding="utf-8").count("<article") == 9
    assert sorted(p.name for p in tmp_path.iterdir()) == ["schedule-week-example"]


def test_validate_offline_example_tells_valid_from_fitting(tmp_path: Path) -> None:
    out = _run("validate_offline.py", tmp_path)
    # a post that goes out as a thread is valid, with a warning; it printed "fits"
    assert "bluesky: valid, 1 warning(s)" in out or "bluesky:" not in out
    assert re.search(r"^feed: valid$", out, re.M)
    assert "postcard: invalid, 2 error(s)" in out
    assert "fits" not in out


def test_take_down_example_names_the_deleted_parts(tmp_path: Path) -> None:
    out = _run("take_down.py", tmp_path)
    # it printed the event's data as a Python dict
    assert re.search(r"^  deleted by ann: wrong price \(5\.99\); parts (\w+), \1\.1$", out, re.M)
    assert "{" not in out
    assert "19:00 states: deleted, paused, paused" in out
