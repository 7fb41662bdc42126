"""Post counts from an AppView: ``app.bsky.feed.getPosts`` (a PDS alone keeps no counts)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from socialkit import MetricSnapshot
from socialkit_bluesky._capabilities import METRIC_NAMES

if TYPE_CHECKING:
    from collections.abc import Sequence

    from socialkit import Context, Receipt
    from socialkit_bluesky._xrpc import XrpcClient

__all__ = ["APPVIEW_SCOPE", "GET_POSTS_BATCH", "fetch_post_metrics"]

APPVIEW_SCOPE = "appview"
"""The rate-limit scope the AppView's ``RateLimit-*`` headers are reported under."""

GET_POSTS_BATCH = 25
"""The most URIs ``app.bsky.feed.getPosts`` takes in one call."""


async def fetch_post_metrics(
    xrpc: XrpcClient, appview: str, receipts: Sequence[Receipt], ctx: Context
) -> list[MetricSnapshot]:
    """One snapshot per receipt whose first part the AppView knows (deleted posts are left out).

    Args:
        xrpc: the call's XRPC client.
        appview: the AppView base URL (queried without credentials: post views are public).
        receipts: the publications' receipts; each one's first part is measured.
        ctx: the adapter call's context (clock, account).
    """
    by_uri = {receipt.ref.id: receipt for receipt in receipts}
    uris = list(by_uri)
    snapshots: list[MetricSnapshot] = []
    for start in range(0, len(uris), GET_POSTS_BATCH):
        batch = uris[start : start + GET_POSTS_BATCH]
        answer = await xrpc.query(
            "app.bsky.feed.getPosts",
            [("uris", uri) for uri in batch],
            service=appview,
            # The AppView's budget is its own (per IP), not the account's publishing budget.
            scope=APPVIEW_SCOPE,
        )
        collected_at = ctx.now()
        for view in answer.get("posts") or []:
            receipt = by_uri.get(str(view.get("uri")))
            if receipt is None:
                continue
            counts = {
                field: int(view[name])
                for name, field in METRIC_NAMES.items()
                if isinstance(view.get(name), int)
            }
            snapshots.append(
                MetricSnapshot(
                    platform="bluesky",
                    account_id=receipt.account_id,
                    subject="post",
                    post_id=receipt.ref.id,
                    collected_at=collected_at,
                    **counts,
                )
            )
    return snapshots
