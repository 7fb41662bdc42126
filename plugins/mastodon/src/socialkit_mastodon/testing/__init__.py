"""Test helpers for the Mastodon adapter: an in-process Mastodon server.

:class:`FakeMastodon` answers through ``httpx.MockTransport``, so tests and offline
examples run the real adapter against a server that behaves as the documentation says.
"""

from __future__ import annotations

from socialkit_mastodon.testing._fake import FakeMastodon, Fault, documented, parse_multipart
from socialkit_mastodon.testing._html import count_characters, render_content

__all__ = [
    "FakeMastodon",
    "Fault",
    "count_characters",
    "documented",
    "parse_multipart",
    "render_content",
]
