"""The feed directory: post files, an Atom 1.0 feed and a static HTML showcase page."""

from __future__ import annotations

import contextlib
import fcntl
import html
import json
import mimetypes
import os
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape as xml_escape

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["FeedSite"]

_URL = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]")
_TAG = re.compile(r"(?<![\w&])#(\w[\w\u200c·・]*)")
# Code points XML 1.0 cannot hold at all, not even escaped (most C0 controls, U+FFFE...).
_XML_ILLEGAL = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


FEED_ENTRIES = 100
"""How many posts ``feed.atom`` carries: the newest (a feed reader polls for new ones)."""
PAGE_ENTRIES = 500
"""How many posts ``index.html`` shows: the newest, with the count of all of them."""


def _xml(value: str) -> str:
    """``value`` for XML text or a quoted attribute; characters XML refuses become U+FFFD."""
    return xml_escape(_XML_ILLEGAL.sub("\ufffd", value), {'"': "&quot;"})


class FeedSite:
    """One account's feed directory.

    Layout::

        posts/<entry>.json     one file per published post (every thread part)
        media/<sha256>.<ext>   the post's media, copied from the media store
        metrics/<entry>.json   counts, when something reported them (optional)
        deleted/<entry>        a marker: this entry was deleted here (so deleting it again succeeds)
        feed.atom              an Atom 1.0 feed of the newest posts (FEED_ENTRIES), newest first
        index.html             a showcase page of the newest posts (PAGE_ENTRIES), with media
                               and metrics
        .order.json            every post's time and id, newest first (remade from posts/)
    """

    def __init__(self, root: Path, *, title: str, author: str) -> None:
        self.root = root
        self.title = title
        self.author = author

    @property
    def posts_dir(self) -> Path:
        return self.root / "posts"

    @property
    def media_dir(self) -> Path:
        return self.root / "media"

    @property
    def metrics_dir(self) -> Path:
        return self.root / "metrics"

    @property
    def deleted_dir(self) -> Path:
        return self.root / "deleted"

    @property
    def atom_path(self) -> Path:
        return self.root / "feed.atom"

    @property
    def page_path(self) -> Path:
        return self.root / "index.html"

    @property
    def order_path(self) -> Path:
        return self.root / ".order.json"

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """An exclusive lock over the directory, across processes."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def entry_path(self, entry_id: str) -> Path:
        return self.posts_dir / f"{entry_id}.json"

    def read_entry(self, entry_id: str) -> dict[str, Any] | None:
        path = self.entry_path(entry_id)
        if not path.is_file():
            return None
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return data

    def write_entry(self, entry: dict[str, Any]) -> None:
        write_atomically(
            self.entry_path(entry["id"]), json.dumps(entry, indent=2, ensure_ascii=False)
        )

    def remove_entry(self, entry_id: str) -> bool:
        """Remove an entry and its metrics, leaving a marker; ``False`` when it was not there."""
        path = self.entry_path(entry_id)
        existed = path.exists()
        if existed:
            self.deleted_dir.mkdir(exist_ok=True)
            (self.deleted_dir / entry_id).touch()
        path.unlink(missing_ok=True)
        (self.metrics_dir / f"{entry_id}.json").unlink(missing_ok=True)
        return existed

    def was_deleted(self, entry_id: str) -> bool:
        """Whether :meth:`remove_entry` removed this entry here before."""
        return (self.deleted_dir / entry_id).is_file()

    def media_name(self, sha256: str, mime_type: str) -> str:
        ext = mimetypes.guess_extension(mime_type) or ".bin"
        return f"{sha256}{ext}"

    def entries(self, limit: int | None = None) -> list[dict[str, Any]]:
        """The posts, newest first: every one, or the newest ``limit``."""
        return self._read(self.order()[:limit])

    def _read(self, order: list[tuple[str, str]]) -> list[dict[str, Any]]:
        found = []
        for _, entry_id in order:
            with contextlib.suppress(json.JSONDecodeError, OSError):
                entry = self.read_entry(entry_id)
                if entry is not None:
                    found.append(entry)
        return found

    def order(self) -> list[tuple[str, str]]:
        """``(published_at, entry id)`` of every post, newest first.

        Kept in ``.order.json`` so that a publish reads only the posts it shows, not every
        post file (which made publishing n posts cost n² file reads). The post files stay
        the truth: a file the kept order does not name (an older directory, a copy made by
        hand) is read and added, and a name whose file is gone is dropped.
        """
        try:
            names = {
                item.name[:-5]
                for item in os.scandir(self.posts_dir)
                if item.name.endswith(".json") and not item.name.startswith(".")
            }
        except FileNotFoundError:
            return []
        kept: list[tuple[str, str]] = []
        with contextlib.suppress(OSError, ValueError, TypeError):
            stored = json.loads(self.order_path.read_text(encoding="utf-8"))
            kept = [(str(when), str(name)) for when, name in stored]
        order = [(when, name) for when, name in kept if name in names]
        known = {name for _, name in order}
        for name in names - known:
            with contextlib.suppress(json.JSONDecodeError, OSError):
                entry = self.read_entry(name)
                if entry is not None:
                    order.append((str(entry.get("published_at", "")), name))
        order.sort(reverse=True)
        if order != kept:
            write_atomically(self.order_path, json.dumps(order, separators=(",", ":")))
        return order

    def metrics(self, entry_id: str) -> dict[str, Any] | None:
        path = self.metrics_dir / f"{entry_id}.json"
        if not path.is_file():
            return None
        try:
            data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, OSError):
            return None
        return data

    def rebuild(self) -> None:
        """Write ``feed.atom`` (the newest :data:`FEED_ENTRIES` posts) and ``index.html``
        (the newest :data:`PAGE_ENTRIES`) from the post files."""
        order = self.order()
        entries = self._read(order[: max(FEED_ENTRIES, PAGE_ENTRIES)])
        total = len(order)
        write_atomically(self.atom_path, self.atom(entries[:FEED_ENTRIES]))
        write_atomically(self.page_path, self.page(entries[:PAGE_ENTRIES], total=total))

    # -- Atom 1.0 (RFC 4287) -----------------------------------------------------------------

    def atom(self, entries: list[dict[str, Any]]) -> str:
        updated = entries[0]["published_at"] if entries else _epoch()
        out = [
            '<?xml version="1.0" encoding="utf-8"?>',
            '<feed xmlns="http://www.w3.org/2005/Atom">',
            f"  <id>{_xml(self.feed_id())}</id>",
            f"  <title>{_xml(self.title)}</title>",
            f"  <updated>{_xml(updated)}</updated>",
            f"  <author><name>{_xml(self.author)}</name></author>",
            '  <link rel="self" href="feed.atom"/>',
            '  <link rel="alternate" type="text/html" href="index.html"/>',
            '  <generator uri="https://pypi.org/project/socialkit-engine/">socialkit</generator>',
        ]
        for entry in entries:
            parts = entry.get("parts", [])
            text = "\n\n".join(p.get("text", "") for p in parts)
            title = _title(parts[0].get("text", "") if parts else "") or "(media)"
            out += [
                "  <entry>",
                f"    <id>{_xml(self.feed_id())}:{_xml(entry['id'])}</id>",
                f"    <title>{_xml(title)}</title>",
                f"    <updated>{_xml(entry['published_at'])}</updated>",
                f"    <published>{_xml(entry['published_at'])}</published>",
                f'    <link rel="alternate" type="text/html" href="index.html#{_xml(entry["id"])}"/>',
            ]
            if entry.get("link"):
                out.append(f'    <link rel="related" href="{_xml(entry["link"]["url"])}"/>')
            for part in parts:
                for media in part.get("media", []):
                    out.append(
                        f'    <link rel="enclosure" type="{_xml(media["mime_type"])}" '
                        f'length="{int(media["size"])}" href="media/{_xml(media["file"])}"/>'
                    )
            lang = f' xml:lang="{_xml(entry["language"])}"' if entry.get("language") else ""
            out.append(f'    <content type="text"{lang}>{_xml(text)}</content>')
            out.append("  </entry>")
        out.append("</feed>")
        return "\n".join(out) + "\n"

    def feed_id(self) -> str:
        return "urn:socialkit:feed:" + re.sub(r"[^A-Za-z0-9._-]", "-", self.author)

    # -- showcase page ---------------------------------------------------------------------

    def page(self, entries: list[dict[str, Any]], *, total: int | None = None) -> str:
        """The showcase page of ``entries``, out of ``total`` posts (``len(entries)``)."""
        total = len(entries) if total is None else total
        cards = "\n".join(self._card(entry) for entry in entries) or (
            '<p class="empty">Nothing published yet.</p>'
        )
        return _PAGE.format(
            title=html.escape(self.title),
            author=html.escape(self.author),
            count=f"{total:,}",
            plural="" if total == 1 else "s",
            shown=f" (the newest {len(entries):,} shown)" if len(entries) < total else "",
            cards=cards,
        )

    def _card(self, entry: dict[str, Any]) -> str:
        parts_html = []
        for index, part in enumerate(entry.get("parts", [])):
            media = "".join(_media_html(m) for m in part.get("media", []))
            media_block = f'<div class="media">{media}</div>' if media else ""
            cls = "part" if index == 0 else "part reply"
            parts_html.append(
                f'<div class="{cls}"><p>{_linkify(part.get("text", ""))}</p>{media_block}</div>'
            )
        link = entry.get("link")
        card = ""
        if link:
            title = html.escape(link.get("title") or link["url"])
            desc = html.escape(link.get("description") or "")
            card = (
                f'<a class="card" href="{html.escape(link["url"])}"><strong>{title}</strong>'
                f"<span>{desc}</span></a>"
            )
        comment = ""
        if entry.get("first_comment"):
            comment = f'<div class="comment">💬 {_linkify(entry["first_comment"])}</div>'
        cw = entry.get("content_warning")
        body = "".join(parts_html) + card + comment
        if cw:
            body = f"<details><summary>⚠ {html.escape(cw)}</summary>{body}</details>"
        stats = ""
        metrics = self.metrics(entry["id"])
        if metrics:
            shown = [
                f"<span>{html.escape(name.replace('_', ' '))} <b>{int(value):,}</b></span>"
                for name, value in metrics.items()
                if isinstance(value, int | float) and not isinstance(value, bool)
            ]
            if shown:
                stats = f'<div class="metrics">{"".join(shown)}</div>'
        when = html.escape(entry["published_at"])
        campaign = entry.get("campaign")
        badge = f'<span class="badge">{html.escape(campaign)}</span>' if campaign else ""
        return (
            f'<article id="{html.escape(entry["id"])}"><header><time datetime="{when}">{when}</time>'
            f"{badge}</header>{body}{stats}</article>"
        )


def _media_html(media: dict[str, Any]) -> str:
    src = "media/" + html.escape(media["file"])
    alt = html.escape(media.get("alt_text") or "")
    if media["mime_type"].startswith("video/"):
        return f'<video controls preload="metadata" src="{src}" aria-label="{alt}"></video>'
    if media["mime_type"].startswith("image/"):
        return f'<img src="{src}" alt="{alt}" loading="lazy">'
    return f'<a href="{src}">{html.escape(media.get("filename") or media["file"])}</a>'


def _linkify(text: str) -> str:
    out: list[str] = []
    pos = 0
    for match in _URL.finditer(text):
        out.append(_tags(html.escape(text[pos : match.start()])))
        url = html.escape(match.group(0))
        out.append(f'<a href="{url}">{url}</a>')
        pos = match.end()
    out.append(_tags(html.escape(text[pos:])))
    return "".join(out).replace("\n", "<br>")


def _tags(escaped: str) -> str:
    return _TAG.sub(lambda m: f'<span class="tag">#{m.group(1)}</span>', escaped)


def _title(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= 80 else line[:79] + "…"


def _epoch() -> str:
    return datetime.fromtimestamp(0, UTC).isoformat()


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="alternate" type="application/atom+xml" href="feed.atom" title="{title}">
<style>
:root {{ --fg:#1d2330; --muted:#6b7280; --bg:#f5f6f8; --card:#fff; --accent:#2563eb; }}
* {{ box-sizing: border-box; }}
body {{ margin:0; font:16px/1.5 system-ui,-apple-system,"Segoe UI","Vazirmatn",sans-serif; color:var(--fg); background:var(--bg); }}
main {{ max-width: 680px; margin: 0 auto; padding: 24px 16px 64px; }}
h1 {{ margin: 0 0 4px; font-size: 1.6rem; }}
.sub {{ color: var(--muted); margin: 0 0 24px; }}
article {{ background: var(--card); border-radius: 14px; padding: 16px 18px; margin: 0 0 16px; box-shadow: 0 1px 3px rgba(0,0,0,.08); }}
header {{ display:flex; gap:8px; align-items:center; color: var(--muted); font-size:.85rem; margin-bottom:6px; }}
.badge {{ background:#eef2ff; color:#3730a3; border-radius:999px; padding:1px 8px; }}
p {{ margin: 0 0 8px; white-space: normal; unicode-bidi: plaintext; }}
.reply {{ border-left: 3px solid #e5e7eb; padding-left: 12px; margin-top: 10px; }}
.media {{ display:grid; grid-template-columns: repeat(auto-fit, minmax(140px, 1fr)); gap:6px; margin: 6px 0; }}
.media img, .media video {{ width:100%; border-radius:10px; display:block; }}
.card {{ display:block; border:1px solid #e5e7eb; border-radius:10px; padding:10px 12px; color:inherit; text-decoration:none; margin-top:8px; }}
.card span {{ display:block; color:var(--muted); font-size:.9rem; }}
.comment {{ color: var(--muted); font-size:.9rem; margin-top:8px; }}
.metrics {{ display:flex; flex-wrap:wrap; gap:14px; border-top:1px solid #f0f0f0; margin-top:10px; padding-top:8px; color:var(--muted); font-size:.85rem; }}
.metrics b {{ color: var(--fg); }}
.tag {{ color: var(--accent); }}
a {{ color: var(--accent); }}
</style>
</head>
<body>
<main>
<h1>{title}</h1>
<p class="sub">{count} post{plural}{shown} by {author} · <a href="feed.atom">Atom feed</a></p>
{cards}
</main>
</body>
</html>
"""
