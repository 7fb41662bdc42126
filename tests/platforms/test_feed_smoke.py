from __future__ import annotations

import inspect
import xml.dom.minidom
from pathlib import Path

import socialkit
from socialkit.platforms import feed as feed_plugin
from socialkit.platforms.registry import Registry
from socialkit.text.rules import FEED
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


class _Crashing(socialkit.Platform):
    """An adapter with a bug: it raises something outside socialkit's error taxonomy."""

    name = "crashing"
    contract = 1
    capabilities = socialkit.Capabilities(text=FEED, requires_credentials=False)

    async def publish(self, draft: socialkit.Draft, ctx: socialkit.Context) -> socialkit.Receipt:
        raise RuntimeError("adapter bug in publish")


class _CrashingEarly(_Crashing):
    name = "crashing-early"

    async def resolve_capabilities(self, ctx: socialkit.Context) -> socialkit.Capabilities:
        raise KeyError("adapter bug before sending")


def test_an_adapter_bug_is_one_accounts_result_not_everyones(tmp_path: Path) -> None:
    registry = Registry(plugins=[feed_plugin])
    registry.register(_Crashing)
    registry.register(_CrashingEarly)
    accounts = [
        socialkit.Account(id="good", platform="feed", handle="good"),
        socialkit.Account(id="bug", platform="crashing", handle="bug"),
        socialkit.Account(id="early", platform="crashing-early", handle="early"),
    ]
    results = socialkit.publish_now(socialkit.Post(text="hi"), accounts, registry=registry)
    assert [r.ok for r in results] == [True, False, False]
    sent, unsent = results[1].error, results[2].error
    # publish() ran, so a post may exist; before it nothing was sent
    assert type(sent) is socialkit.UnknownOutcome
    assert str(sent) == "publish raised RuntimeError: adapter bug in publish"
    assert isinstance(sent.__cause__, RuntimeError)
    assert type(unsent) is socialkit.PlatformError
    assert isinstance(unsent.__cause__, KeyError)
    assert len(list((tmp_path / "socialkit-feed" / "good" / "posts").glob("*.json"))) == 1


def test_the_atom_feed_stays_well_formed_with_quotes_and_control_characters(
    tmp_path: Path,
) -> None:
    account = socialkit.Account(id="acme", platform="feed", handle="acme")
    posts = [
        socialkit.Post(text="a & b", link=socialkit.Link(url='https://example.com/?q="x"&y=1')),
        socialkit.Post(text="bell \x07, vertical tab \x0b, <tag>"),
    ]
    for post in posts:
        [result] = socialkit.publish_now(post, account)
        assert result.ok, result.error
    dom = xml.dom.minidom.parse(str(tmp_path / "socialkit-feed" / "acme" / "feed.atom"))
    related = [
        link.getAttribute("href")
        for link in dom.getElementsByTagName("link")
        if link.getAttribute("rel") == "related"
    ]
    assert related == ['https://example.com/?q="x"&y=1']
    contents = [node.firstChild.data for node in dom.getElementsByTagName("content")]
    # XML 1.0 cannot hold most C0 controls, even escaped: they show as U+FFFD
    assert "bell \ufffd, vertical tab \ufffd, <tag>" in contents


def test_publish_now_takes_the_same_arguments_as_its_async_twin() -> None:
    sync = inspect.signature(socialkit.publish_now).parameters
    both = inspect.signature(socialkit.apublish_now).parameters
    assert [(p.name, p.kind, p.default) for p in sync.values()] == [
        (p.name, p.kind, p.default) for p in both.values()
    ]
