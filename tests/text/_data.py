"""Where the conformance files copied into ``tests/conformance_data`` live, and a loader."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

DATA = Path(__file__).resolve().parent.parent / "conformance_data"
TWITTER_TEXT = DATA / "twitter-text" / "conformance"
ATPROTO_LEXICONS = DATA / "atproto" / "lexicons"


@functools.cache
def twitter_text(name: str) -> dict[str, list[dict[str, Any]]]:
    """The ``tests`` mapping of one twitter-text conformance file (``extract``, ...)."""
    with (TWITTER_TEXT / f"{name}.yml").open(encoding="utf-8") as handle:
        tests: dict[str, list[dict[str, Any]]] = yaml.safe_load(handle)["tests"]
    return tests


def cases(name: str, group: str) -> list[Any]:
    """One group's cases as pytest params, each named by its description."""
    import pytest

    return [
        pytest.param(case, id=f"{group}:{index}:{case['description'][:60]}")
        for index, case in enumerate(twitter_text(name)[group])
    ]
