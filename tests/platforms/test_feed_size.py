"""A feed with many posts: the Atom feed and the page carry the newest, and publishing
reads only those (the kept order file), whatever the directory holds."""

from __future__ import annotations

import json
import xml.dom.minidom
from pathlib import Path

import pytest

from socialkit.platforms.feed import site as site_module
from socialkit.platforms.feed.site import FeedSite


def _entry(i: int) -> dict[str, object]:
    return {
        "id": f"{i:020x}",
        "published_at": f"2026-03-01T09:{i // 60:02d}:{i % 60:02d}+00:00",
        "parts": [{"text": f"post {i}", "media": []}],
    }


def _atom_ids(site: FeedSite) -> list[str]:
    dom = xml.dom.minidom.parse(str(site.atom_path))
    return [
        e.getElementsByTagName("id")[0].firstChild.data.rsplit(":", 1)[1]  # type: ignore[union-attr]
        for e in dom.getElementsByTagName("entry")
    ]


@pytest.fixture
def small_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(site_module, "FEED_ENTRIES", 3)
    monkeypatch.setattr(site_module, "PAGE_ENTRIES", 5)


@pytest.mark.usefixtures("small_limits")
def test_the_feed_and_page_carry_the_newest_posts_and_the_page_counts_them_all(
    tmp_path: Path,
) -> None:
    site = FeedSite(tmp_path / "acme", title="Acme", author="acme")
    for i in (4, 0, 7, 2, 6, 1, 5, 3):  # written out of order
        site.write_entry(_entry(i))
    site.rebuild()
    assert _atom_ids(site) == [f"{i:020x}" for i in (7, 6, 5)]
    page = site.page_path.read_text(encoding="utf-8")
    assert "8 posts (the newest 5 shown) by acme" in page
    shown = [i for i in range(8) if f'id="{i:020x}"' in page]
    assert shown == [3, 4, 5, 6, 7]


@pytest.mark.usefixtures("small_limits")
def test_the_kept_order_follows_the_post_files(tmp_path: Path) -> None:
    site = FeedSite(tmp_path / "acme", title="Acme", author="acme")
    for i in range(4):
        site.write_entry(_entry(i))
    site.rebuild()
    kept = json.loads(site.order_path.read_text(encoding="utf-8"))
    assert [name for _, name in kept] == [f"{i:020x}" for i in (3, 2, 1, 0)]

    # A post file copied in by hand appears; one removed by hand disappears.
    site.write_entry(_entry(9))
    site.entry_path(f"{3:020x}").unlink()
    site.rebuild()
    assert _atom_ids(site) == [f"{i:020x}" for i in (9, 2, 1)]
    assert "4 posts" in site.page_path.read_text(encoding="utf-8")

    # A damaged order file is remade from the posts.
    site.order_path.write_text("{not json", encoding="utf-8")
    site.rebuild()
    assert [name for _, name in json.loads(site.order_path.read_text())][:2] == [
        f"{9:020x}",
        f"{2:020x}",
    ]


def test_a_rebuild_reads_only_the_posts_it_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(site_module, "FEED_ENTRIES", 2)
    monkeypatch.setattr(site_module, "PAGE_ENTRIES", 4)
    site = FeedSite(tmp_path / "acme", title="Acme", author="acme")
    for i in range(50):
        site.write_entry(_entry(i))
    site.rebuild()  # the first reads every post to make the order
    read: list[str] = []
    original = FeedSite.read_entry

    def counting(self: FeedSite, entry_id: str) -> dict[str, object] | None:
        read.append(entry_id)
        return original(self, entry_id)

    monkeypatch.setattr(FeedSite, "read_entry", counting)
    site.write_entry(_entry(50))
    site.rebuild()
    # The new post (to place it in the order) and the four shown.
    assert sorted(read) == sorted([f"{50:020x}", *(f"{i:020x}" for i in (50, 49, 48, 47))])
