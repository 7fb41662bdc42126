"""``python -m socialkit_mastodon auth --instance URL``: connect a Mastodon account."""

from __future__ import annotations

import sys

from socialkit_mastodon._connect import main

if __name__ == "__main__":
    sys.exit(main())
