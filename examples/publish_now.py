"""Publish a post with an image to the built-in feed platform, right now.

Run from any directory: ``python examples/publish_now.py``. It writes
``./socialkit-feed/acme/`` (post files, an Atom feed and a showcase page) and
``./.socialkit/media/`` (the media store) in the current directory.
"""

from __future__ import annotations

from pathlib import Path

import socialkit

HERE = Path(__file__).resolve().parent


def main() -> int:
    account = socialkit.Account(
        id="acme-feed",
        platform="feed",
        handle="acme",
        display_name="Acme Coffee Roasters",
        timezone="Europe/Berlin",
    )
    # Media go into the content-addressed media store; the post carries their sha256.
    banner = socialkit.Media.from_path(
        HERE / "campaign" / "media" / "banner.png",
        alt_text="An orange banner with a pale stripe across the middle",
    )
    post = socialkit.Post(
        text="Our spring blend is here: roasted this week, on the shelves on Saturday. #coffee",
        media=(banner,),
        link=socialkit.Link(url="https://example.com/spring-blend", title="The spring blend"),
        language="en",
    )
    # One result per account; a failure on one account never hides another's success.
    [result] = socialkit.publish_now(post, account)
    if not result.ok:
        print(f"failed: {result.error}")
        return 1
    assert result.receipt is not None
    print(f"published revision {post.revision()[:12]} as {result.receipt.ref.id}")
    print(f"showcase page: {result.receipt.url}")
    print(f"Atom feed:     {Path('socialkit-feed/acme/feed.atom').resolve()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
