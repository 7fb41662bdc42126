"""The distribution: registered through the entry point, cheap to load, honest capabilities."""

from __future__ import annotations

import json
import subprocess
import sys

from socialkit_bluesky import CAPABILITIES, Bluesky

import socialkit


def test_registered_through_the_socialkit_entry_point() -> None:
    registry = socialkit.Registry()
    info = registry.info("bluesky")
    assert info.platform is Bluesky
    assert info.distribution == "socialkit-bluesky"
    assert not [f for f in registry.failures if f.plugin == "bluesky"]


def test_loading_the_plugin_does_not_import_httpx() -> None:
    code = (
        "import sys, json, socialkit_bluesky;"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('httpx', 'httpcore'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(out) == []


def test_capabilities_state_the_lexicon_limits() -> None:
    caps = CAPABILITIES
    assert (caps.text.limit, caps.text.max_bytes, caps.text.counting.value) == (
        300,
        3000,
        "graphemes",
    )
    assert (caps.media.max_images, caps.media.max_image_bytes) == (4, 2_000_000)
    assert caps.media.max_videos == 0
    assert caps.idempotency is socialkit.Idempotency.KEY
    assert caps.rate_limit_headers == "RateLimit-"
    assert (caps.threads, caps.first_comment, caps.link_cards, caps.languages) == (True,) * 4
    assert caps.metrics == frozenset({"likes", "shares", "comments", "quotes"})
