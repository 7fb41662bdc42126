"""``app.bsky.feed.post`` records and their parts: strong refs, replies, embeds, languages."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import attrs

from socialkit import PostRef, Rejected

if TYPE_CHECKING:
    from collections.abc import Sequence

    from socialkit import Draft, Link, Media

__all__ = [
    "POST_COLLECTION",
    "AtUri",
    "StrongRef",
    "external_embed",
    "images_embed",
    "language_problems",
    "languages",
    "post_record",
]

POST_COLLECTION = "app.bsky.feed.post"
MAX_LANGS = 3
# The shape socialkit.Post.language accepts; the PDS refuses what is no language tag.
_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*")
_AT_URI = re.compile(r"^at://(?P<repo>[^/]+)/(?P<collection>[^/]+)/(?P<rkey>[^/?#]+)$")


@attrs.frozen
class AtUri:
    """The parts of an ``at://repo/collection/rkey`` record URI."""

    repo: str
    collection: str
    rkey: str

    @classmethod
    def parse(cls, uri: str) -> AtUri:
        """Split a record URI; :class:`ValueError` when ``uri`` is not one."""
        match = _AT_URI.match(uri)
        if match is None:
            raise ValueError(f"not an at:// record URI: {uri!r}")
        return cls(match["repo"], match["collection"], match["rkey"])

    def __str__(self) -> str:
        return f"at://{self.repo}/{self.collection}/{self.rkey}"


@attrs.frozen
class StrongRef:
    """A ``com.atproto.repo.strongRef``: a record's URI and the CID of its exact content."""

    uri: str
    cid: str

    @property
    def at_uri(self) -> AtUri:
        return AtUri.parse(self.uri)

    def to_json(self) -> dict[str, str]:
        return {"uri": self.uri, "cid": self.cid}

    def post_ref(self, url: str | None) -> PostRef:
        """The receipt reference: the URI as id, the CID and record key kept in ``extra``."""
        return PostRef(id=self.uri, url=url, extra={"cid": self.cid, "rkey": self.at_uri.rkey})

    @classmethod
    def from_post_ref(cls, ref: PostRef) -> StrongRef | None:
        """The strong ref a receipt reference carries, or ``None`` without a CID."""
        cid = ref.extra.get("cid")
        return cls(ref.id, cid) if cid else None


def language_problems(draft: Draft) -> list[str]:
    """What is wrong with ``options["langs"]``, one line per problem (none: it is fine)."""
    raw = draft.options.get("langs")
    if raw is None:
        return []
    tags = [x for x in raw if isinstance(x, str)] if isinstance(raw, list) else []
    if not isinstance(raw, list) or len(tags) != len(raw):
        return [f"option 'langs' must be a list of BCP 47 tags (got {raw!r})"]
    problems = [
        f"option 'langs[{index}]' must be a BCP 47 tag such as 'en' or 'fa-IR' (got {tag!r})"
        for index, tag in enumerate(tags)
        if not _LANGUAGE_TAG.fullmatch(tag)
    ]
    if len(raw) > MAX_LANGS:
        problems.append(f"option 'langs' holds at most {MAX_LANGS} tags (got {len(raw)})")
    return problems


def languages(draft: Draft) -> list[str]:
    """The post's ``langs``: ``options["langs"]`` (at most 3) or the draft's language.

    Raises:
        Rejected: ``options["langs"]`` is malformed (see :func:`language_problems`).
    """
    problems = language_problems(draft)
    if problems:
        raise Rejected("; ".join(problems))
    raw = draft.options.get("langs")
    if isinstance(raw, list):
        return [str(x) for x in raw]
    return [draft.language] if draft.language else []


def images_embed(images: Sequence[tuple[dict[str, Any], Media]]) -> dict[str, Any]:
    """An ``app.bsky.embed.images`` for uploaded blobs and their media (alt text, size)."""
    items = []
    for blob, media in images:
        item: dict[str, Any] = {"image": blob, "alt": media.alt_text or ""}
        if media.width and media.height:
            item["aspectRatio"] = {"width": media.width, "height": media.height}
        items.append(item)
    return {"$type": "app.bsky.embed.images", "images": items}


def external_embed(link: Link, thumb: dict[str, Any] | None) -> dict[str, Any]:
    """An ``app.bsky.embed.external`` link card."""
    external: dict[str, Any] = {
        "uri": link.url,
        "title": link.title or "",
        "description": link.description or "",
    }
    if thumb is not None:
        external["thumb"] = thumb
    return {"$type": "app.bsky.embed.external", "external": external}


def post_record(
    text: str,
    created_at: str,
    *,
    facets: list[dict[str, Any]] | None = None,
    langs: list[str] | None = None,
    reply: tuple[StrongRef, StrongRef] | None = None,
    embed: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An ``app.bsky.feed.post`` record; ``reply`` is ``(root, parent)``."""
    record: dict[str, Any] = {"$type": POST_COLLECTION, "text": text, "createdAt": created_at}
    if facets:
        record["facets"] = facets
    if langs:
        record["langs"] = list(langs)
    if reply is not None:
        root, parent = reply
        record["reply"] = {"root": root.to_json(), "parent": parent.to_json()}
    if embed is not None:
        record["embed"] = embed
    return record
