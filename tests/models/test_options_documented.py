"""docs/models.md lists every post option the core and the first-party adapters read."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# A store URL's ``?options`` are not a post's: the stores are left out.
SOURCES = [
    path
    for path in [*(ROOT / "src" / "socialkit").rglob("*.py"), *ROOT.glob("plugins/*/src/**/*.py")]
    if "stores" not in path.parts
]


def _options_row() -> str:
    page = (ROOT / "docs" / "models.md").read_text(encoding="utf-8")
    [row] = [line for line in page.splitlines() if line.startswith("| `options` |")]
    return row


def _read_keys() -> set[str]:
    """Keys read as ``options.get("key"`` / ``options["key"]`` of a post or draft."""
    keys = set()
    for path in SOURCES:
        source = path.read_text(encoding="utf-8")
        keys.update(
            re.findall(r"""(?:view|draft|post)?\.?options(?:\.get\(|\[)["'](\w+)["']""", source)
        )
    return keys


@pytest.mark.parametrize("key", sorted(_read_keys()))
def test_every_option_read_is_listed(key: str) -> None:
    assert f"`{key}`" in _options_row()


def test_the_keys_are_found() -> None:
    assert {"auto_thread", "visibility", "poll", "langs"} <= _read_keys()
