"""The built-in ``feed`` platform: publishing writes to a local directory.

No account, credentials or network: each post becomes a JSON file, an entry in an Atom
1.0 feed and a card on a static HTML showcase page. It is the embedded default, the
platform of ``socialkit demo``, and a complete example of the adapter contract. It is
registered through the ``socialkit`` entry-point group, exactly like a third-party plugin.

Account settings:
    directory: where to write (default ``socialkit-feed/<handle>/``). A relative one, and
        the default, are taken from the project file's directory for an account declared
        in one, and from the current directory for an account made in code.
    title: the feed's title (default: the account's display name or handle).
"""

from __future__ import annotations

import asyncio
import hashlib
import shutil
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from pydantic import ValidationError

from socialkit.errors import Rejected, Transient, UnknownOutcome
from socialkit.hookspecs import hookimpl
from socialkit.models.metrics import METRIC_FIELDS, MetricSnapshot
from socialkit.models.receipt import PostRef, Receipt
from socialkit.platforms.base import AccountIdentity, Platform
from socialkit.platforms.capabilities import Capabilities, Idempotency, MediaLimits
from socialkit.platforms.feed.site import FeedSite
from socialkit.text.rules import FEED

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from pydantic import JsonValue

    from socialkit.models.account import Account
    from socialkit.models.content import Draft
    from socialkit.models.media_store import MediaStore
    from socialkit.platforms.context import Context

__all__ = ["FeedPlatform", "feed_directory", "register_platforms"]


def feed_directory(account_settings: dict[str, Any], handle: str) -> Path:
    """The directory a feed account writes to; a relative one is taken from the current
    directory (an account read from a project file has an absolute one)."""
    configured = account_settings.get("directory")
    if configured:
        return Path(str(configured)).expanduser()
    safe = "".join(c if c.isalnum() or c in "._-@" else "_" for c in handle)
    return Path("socialkit-feed") / safe


class FeedPlatform(Platform):
    """Publishes to a local directory (JSON files, an Atom feed, an HTML showcase)."""

    name = "feed"
    title = "Local feed"
    contract = 1
    capabilities = Capabilities(
        text=FEED,
        media=MediaLimits(
            max_items=10,
            max_images=10,
            max_videos=4,
            max_gifs=4,
            mix=True,
            max_image_bytes=50 * 1024 * 1024,
            max_video_bytes=512 * 1024 * 1024,
            alt_text="optional",
            max_alt_text=2000,
        ),
        threads=True,
        max_thread_parts=50,
        first_comment=True,
        link_cards=True,
        languages=True,
        content_warning=True,
        idempotency=Idempotency.KEY,
        delete=True,
        metrics=frozenset(METRIC_FIELDS),
        requires_credentials=False,
    )

    def project_settings(self, account: Account, base_dir: Path) -> dict[str, JsonValue]:
        """``directory`` made absolute: a relative one, and the default
        ``socialkit-feed/<handle>/``, are taken from the project file's directory."""
        directory = base_dir / feed_directory(account.settings, account.handle)
        return {**account.settings, "directory": str(directory)}

    def site(self, ctx: Context) -> FeedSite:
        account = ctx.account
        return FeedSite(
            feed_directory(ctx.settings, account.handle),
            title=str(ctx.settings.get("title") or account.display_name or account.handle),
            author=account.handle,
        )

    @staticmethod
    def entry_id(idempotency_key: str) -> str:
        """The entry id for a publication: derived from its key, so a retry rewrites it."""
        return hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:20]

    async def publish(self, draft: Draft, ctx: Context) -> Receipt:
        site = self.site(ctx)
        entry_id = self.entry_id(ctx.idempotency_key(0))
        now = ctx.now()
        try:
            receipt = await asyncio.to_thread(self._publish_sync, site, entry_id, draft, ctx, now)
        except OSError as exc:
            # The directory cannot be written (permissions, a full disk, a file where a
            # directory should be). Nothing half-written counts: the entry is renamed into
            # place whole and a retry with the same key finds it, so retrying is safe.
            raise Transient(
                f"feed: cannot write the feed in {site.root}: {exc.strerror or exc}"
            ) from exc
        # The entry is written whole, so every part is durable at once.
        for part, ref in enumerate(receipt.parts):
            await ctx.checkpoint(part, ref)
        return receipt

    def _publish_sync(
        self, site: FeedSite, entry_id: str, draft: Draft, ctx: Context, now: datetime
    ) -> Receipt:
        with site.locked():
            existing = site.read_entry(entry_id)
            if existing is not None:
                # The same publication again (a retry after an unknown outcome): exactly once.
                # The feed and page are rebuilt, in case the first try failed before that.
                site.rebuild()
                return self._receipt(site, existing, ctx.account.id)
            parts = []
            for part in draft.parts:
                media = [self._copy_media(site, ctx.media, m) for m in part.media]
                parts.append({"text": part.text, "media": media})
            link = draft.link.model_dump(mode="json", exclude_none=True) if draft.link else None
            if link and link.get("thumbnail"):
                link["thumbnail"] = self._copy_media(site, ctx.media, draft.link.thumbnail)  # type: ignore[union-attr]
            entry = {
                "id": entry_id,
                "account": ctx.account.id,
                "handle": ctx.account.handle,
                "published_at": now.isoformat(timespec="seconds"),
                "revision": draft.revision,
                "publication_id": ctx.publication_id,
                "parts": parts,
                "link": link,
                "language": draft.language,
                "first_comment": draft.first_comment,
                "content_warning": draft.content_warning,
                "campaign": draft.campaign,
            }
            site.write_entry(entry)
            site.rebuild()
            return self._receipt(site, entry, ctx.account.id)

    def _copy_media(self, site: FeedSite, store: MediaStore, media: Any) -> dict[str, Any]:
        name = site.media_name(media.sha256, media.mime_type)
        target = site.media_dir / name
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name("." + name + ".tmp")
            try:
                source = store.open(media)
            except FileNotFoundError:
                # Retrying cannot bring it back: the post needs its media added again.
                raise Rejected(
                    f"feed: media {media.sha256} ({media.filename or media.mime_type}) "
                    "is not in the media store"
                ) from None
            with source as src, tmp.open("wb") as dst:
                shutil.copyfileobj(src, dst)
            tmp.replace(target)
        data: dict[str, Any] = media.model_dump(mode="json", exclude_none=True)
        data["file"] = name
        return data

    def _receipt(self, site: FeedSite, entry: dict[str, Any], account_id: str) -> Receipt:
        url = site.page_path.resolve().as_uri() + "#" + entry["id"]
        parts = tuple(
            PostRef(id=entry["id"] if i == 0 else f"{entry['id']}.{i}", url=url)
            for i in range(len(entry["parts"]))
        )
        comment = (
            PostRef(id=f"{entry['id']}.comment", url=url) if entry.get("first_comment") else None
        )
        return Receipt(
            platform=self.name,
            account_id=account_id,
            parts=parts,
            first_comment=comment,
            published_at=datetime.fromisoformat(entry["published_at"]),
        )

    def site_of(self, receipt: Receipt, ctx: Context) -> FeedSite:
        """The feed ``receipt``'s post was written to: the directory its URL names.

        For an account made in code, a relative ``directory`` (and the default one) is
        taken from the current directory of the process that published, so the account's
        settings alone may point elsewhere in another process; the receipt's ``file://``
        URL does not. A receipt without one (recorded by hand, say) falls back to the
        account's directory.
        """
        configured = self.site(ctx)
        root = _receipt_root(receipt)
        if root is None:
            return configured
        return FeedSite(root, title=configured.title, author=configured.author)

    async def delete(self, receipt: Receipt, ctx: Context) -> None:
        """Remove the entry from the feed its receipt names, and rebuild the feed and page.

        A thread is one entry: a receipt naming any one of its parts (``<entry>.<n>``) or
        its first comment (``<entry>.comment``) removes the whole entry, as the engine
        deletes a thread one part a request. Deleting an entry deleted there before
        succeeds (gone is gone). An entry that is not there, or a directory that does not
        exist, is :class:`Rejected`: the post may be live somewhere else, so it must not
        be reported deleted. Nothing is created.
        """
        site = self.site_of(receipt, ctx)
        await asyncio.to_thread(self._remove, site, _entry_of(receipt.ref.id))

    @staticmethod
    def _remove(site: FeedSite, entry_id: str) -> None:
        if not site.root.is_dir():
            raise Rejected(
                f"feed directory {site.root} does not exist, so feed entry {entry_id} cannot "
                "be deleted there (was the feed moved?); nothing was deleted"
            )
        with site.locked():
            if not site.remove_entry(entry_id) and not site.was_deleted(entry_id):
                raise Rejected(
                    f"feed entry {entry_id} is not in {site.posts_dir}: it was never published "
                    "there, or its file was removed by hand; nothing was deleted"
                )
            site.rebuild()

    async def find_published(self, draft: Draft, ctx: Context) -> Receipt | None:
        site = self.site(ctx)
        entry = await asyncio.to_thread(site.read_entry, self.entry_id(ctx.idempotency_key(0)))
        if entry is None:
            return None
        if entry.get("revision") != draft.revision:
            raise UnknownOutcome("a feed entry with this key holds another revision")
        return self._receipt(site, entry, ctx.account.id)

    async def fetch_metrics(
        self, receipts: Sequence[Receipt], ctx: Context
    ) -> list[MetricSnapshot]:
        """Counts from ``metrics/<entry>.json`` files, for posts that have one.

        A local feed has no audience of its own; an application (or the demo) may write
        counts there, and they show on the showcase page.

        Raises:
            Rejected: a file that is not a JSON object, or a count of a
                ``MetricSnapshot`` field that is not a whole number of at least 0 (named
                with its file and value), rather than a count read as another one
                (``2.5`` as 2, ``true`` as 1).
        """
        snapshots = []
        for receipt in receipts:
            site = self.site_of(receipt, ctx)
            counts = await asyncio.to_thread(site.metrics, receipt.ref.id)
            if counts is None:
                continue
            path = site.metrics_dir / f"{receipt.ref.id}.json"
            if not isinstance(counts, dict):
                raise Rejected(
                    f"feed metrics file {path}: expected a JSON object of counts by name "
                    f"(got {type(counts).__name__})"
                )
            known = {k: v for k, v in counts.items() if k in METRIC_FIELDS and v is not None}
            try:
                snapshot = MetricSnapshot(
                    platform=self.name,
                    account_id=ctx.account.id,
                    post_id=receipt.ref.id,
                    publication_id=ctx.publication_id,
                    collected_at=ctx.now(),
                    **known,
                )
            except ValidationError as exc:
                problems = "; ".join(
                    f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']} "
                    f"(got {error.get('input')!r})"
                    for error in exc.errors()
                )
                raise Rejected(
                    f"feed metrics file {path}: {problems}; each count is a whole number of "
                    "at least 0"
                ) from None
            snapshots.append(snapshot)
        return snapshots

    async def verify_account(self, ctx: Context) -> AccountIdentity:
        site = self.site(ctx)
        await asyncio.to_thread(site.root.mkdir, parents=True, exist_ok=True)
        return AccountIdentity(
            platform_account_id=f"feed:{site.root.resolve()}",
            handle=ctx.account.handle,
            display_name=site.title,
        )


def _entry_of(post_id: str) -> str:
    """The entry a post id names: a thread's later part (``<entry>.<n>``) and a first
    comment (``<entry>.comment``) are written in their post's entry."""
    entry, dot, part = post_id.rpartition(".")
    return entry if dot and entry and (part.isdigit() or part == "comment") else post_id


def _receipt_root(receipt: Receipt) -> Path | None:
    """The directory of a feed receipt's ``file:///<directory>/index.html#<entry>`` URL."""
    url = receipt.ref.url
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
        return None
    page = Path(unquote(parts.path))
    if page.name != "index.html" or not page.is_absolute():
        return None
    return page.parent


@hookimpl
def register_platforms(register: Callable[[type[Platform]], None]) -> None:
    register(FeedPlatform)
