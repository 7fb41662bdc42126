"""Media uploads: ``POST /api/v2/media``, then wait until the server has processed the file.

A 200 answer means the attachment is ready. A 202 means the server is still processing
it (``url`` is ``null``); ``GET /api/v1/media/:id`` answers 206 until it is done and 200
with a ``url`` after. A status that names an attachment still being processed is refused,
so the adapter polls, with a growing delay, up to a bound.

Upload failures are :class:`~socialkit.Transient` even after the request was sent: an
attachment that no status uses is invisible and removed by the server, so uploading again
cannot publish anything twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

from socialkit import Transient, UnknownOutcome
from socialkit_mastodon._api import decode_json

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from socialkit import Media
    from socialkit_mastodon._api import MastodonApi

__all__ = ["MediaPolling", "upload_media"]


@attrs.frozen(kw_only=True)
class MediaPolling:
    """How long to wait for the server to process an upload.

    The n-th check waits ``min(first_delay * 2**n, max_delay)`` seconds before asking;
    after ``max_checks`` checks the upload is given up as :class:`~socialkit.Transient`.
    With the defaults that is about two minutes.
    """

    first_delay: float = 0.5
    max_delay: float = 5.0
    max_checks: int = 30

    def delay(self, check: int) -> float:
        """Seconds to wait before check number ``check`` (from 0)."""
        return float(min(self.first_delay * (2**check), self.max_delay))


async def upload_media(
    api: MastodonApi,
    media: Media,
    *,
    polling: MediaPolling,
    sleep: Callable[[float], Awaitable[Any]],
) -> str:
    """Upload ``media`` from the context's media store with its alt text; the attachment id, once ready."""
    # a file of up to ~99 MiB, read off the event loop; a missing one is Rejected
    content = await api.ctx.read_media(media)
    filename = media.filename or f"{media.sha256[:16]}.{media.mime_type.split('/', 1)[1]}"
    data = {"description": media.alt_text} if media.alt_text else None
    try:
        response = await api.request(
            "POST",
            "/api/v2/media",
            operation="upload media",
            write=True,
            scope="media",
            files={"file": (filename, content, media.mime_type)},
            data=data,
        )
    except UnknownOutcome as exc:
        raise Transient(exc.message, status_code=exc.status_code) from None
    attachment = decode_json(response, "upload media")
    if not isinstance(attachment, dict) or not isinstance(attachment.get("id"), str):
        raise Transient("mastodon upload media: the answer names no attachment id")
    media_id: str = attachment["id"]
    if response.status_code == 200:  # processed synchronously
        return media_id
    for check in range(polling.max_checks):
        await sleep(polling.delay(check))
        response = await api.request(
            "GET", f"/api/v1/media/{media_id}", operation="check media", scope="media"
        )
        if response.status_code == 200:
            return media_id
    raise Transient(
        f"mastodon: media {media_id} was still being processed after "
        f"{polling.max_checks} checks; it will be uploaded again on the next attempt"
    )
