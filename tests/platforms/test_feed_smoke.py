from __future__ import annotations

import xml.dom.minidom
from pathlib import Path

import socialkit
from tests.conftest import PNG_1x1


def test_publish_now_to_feed_writes_json_atom_and_page(tmp_path: Path) -> None:
    account = socialkit.Account(
        id="acme-feed",
        platform="feed",
        handle="acme",
        settings={"directory": str(tmp_path / "out")},
    )
    image = socialkit.Media.from_bytes(PNG_1x1, alt_text="a red dot")
    post = socialkit.Post(text="Hello #world https://example.com", media=(image,))
    [result] = socialkit.publish_now(post, account)
    assert result.ok, result.error
    out = tmp_path / "out"
    assert len(list((out / "posts").glob("*.json"))) == 1
    dom = xml.dom.minidom.parse(str(out / "feed.atom"))
    entries = dom.getElementsByTagName("entry")
    assert len(entries) == 1
    assert 'alt="a red dot"' in (out / "index.html").read_text()


def test_one_failure_does_not_hide_another_success(tmp_path: Path) -> None:
    good = socialkit.Account(id="good", platform="feed", handle="good")
    bad = socialkit.Account(id="bad", platform="no-such-platform", handle="bad")
    results = socialkit.publish_now(socialkit.Post(text="hi"), [good, bad])
    assert [r.ok for r in results] == [True, False]
    assert isinstance(results[1].error, socialkit.UnknownPlatform)
