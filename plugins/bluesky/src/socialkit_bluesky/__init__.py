"""socialkit-bluesky: the Bluesky (AT Protocol) adapter for socialkit.

Installed, it registers the platform ``bluesky`` through the ``socialkit`` entry-point
group, exactly as a third-party plugin would::

    import socialkit

    account = socialkit.Account(
        id="acme-bsky",
        platform="bluesky",
        handle="acme.bsky.social",
        settings={"service": "https://bsky.social"},  # any PDS works
    )
    credentials = socialkit.MemoryCredentialProvider(
        {"acme-bsky": {"app_password": "xxxx-xxxx-xxxx-xxxx"}}
    )
    socialkit.publish_now(socialkit.Post(text="Hello #bluesky"), account, credentials=credentials)

See ``docs/platforms/bluesky.md`` for sessions, exactly-once publishing, errors and metrics.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from socialkit import hookimpl
from socialkit_bluesky._capabilities import CAPABILITIES
from socialkit_bluesky._platform import Bluesky
from socialkit_bluesky._settings import BlueskySettings
from socialkit_bluesky._tid import RecordKey, decode_tid, derive_record_key, encode_tid

if TYPE_CHECKING:
    from collections.abc import Callable

    from socialkit import Platform

__all__ = [
    "CAPABILITIES",
    "Bluesky",
    "BlueskySettings",
    "RecordKey",
    "__version__",
    "decode_tid",
    "derive_record_key",
    "encode_tid",
    "register_platforms",
]

__version__ = "0.1.0.dev0"


@hookimpl
def register_platforms(register: Callable[[type[Platform]], None]) -> None:
    """Register :class:`Bluesky` with socialkit's plugin registry."""
    register(Bluesky)
