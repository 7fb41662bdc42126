"""Read a post file (YAML, media named by path) and publish it with a campaign's UTM tags.

The same file works with the command line: ``socialkit validate FILE`` and
``socialkit publish FILE --to ACCOUNT``. Run: ``python examples/post_file.py``; it
writes ``./socialkit-feed/`` and ``./.socialkit/media/`` in the current directory.
"""

from __future__ import annotations

from pathlib import Path

import socialkit
from socialkit.config import load_config

CAMPAIGN = Path(__file__).resolve().parent / "campaign"


def main() -> int:
    # Every problem of the file at once (field, message, value), or the post.
    found = socialkit.read_post_file(CAMPAIGN / "posts" / "01-launch.yaml")
    if found.post is None:
        for problem in found.problems:
            print(problem.describe())
        return 1
    post = found.post
    print(f"read {found.path.name}: {len(post.media)} image(s), campaign {post.campaign!r}")

    # The campaign (with its UTM parameters) comes from the sample project file.
    project = load_config(CAMPAIGN / "socialkit.toml")
    campaign = project.campaign(post.campaign) if post.campaign else None
    # Read from the project file, the feed account writes beside it (its directory is taken
    # from the file's); this example writes into the current directory instead.
    account = project.account("acme-feed")
    account = account.model_copy(
        update={"settings": {**account.settings, "directory": "socialkit-feed/acme"}}
    )
    [result] = socialkit.publish_now(post, account, campaign=campaign)
    if not result.ok or result.draft is None:
        print(f"failed: {result.error}")
        return 1
    link = result.draft.link
    print(f"published to {account.id}: {result.receipt.url if result.receipt else '-'}")
    print(f"the link carries the campaign's UTM tags: {link.url if link else '-'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
