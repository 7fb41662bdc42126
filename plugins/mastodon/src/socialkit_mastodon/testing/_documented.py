"""The documentation's examples the fake server builds its answers from."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any

import httpx

__all__ = ["documented", "error_response", "iso", "message_response"]


@cache
def _documented() -> dict[str, Any]:
    text = resources.files("socialkit_mastodon.testing").joinpath("documented.json").read_text()
    data: dict[str, Any] = json.loads(text)
    return data


def documented(name: str) -> Any:
    """A documented example with its catch-up fields applied (a fresh copy)."""
    entry = _documented()[name]
    value = copy.deepcopy(entry["example"])
    for path, extra in entry.get("catch_up", {}).items():
        target = value
        *parents, last = path.split(".")
        for key in parents:
            target = target[key]
        target[last] = copy.deepcopy(extra)
    return value


def iso(moment: datetime) -> str:
    """``moment`` as Mastodon writes times: ISO 8601 in UTC with milliseconds and ``Z``."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def error_response(status: int, name: str, headers: dict[str, str] | None = None) -> httpx.Response:
    """An error answer whose body is the documented example ``name``."""
    return httpx.Response(status, json=documented(name), headers=headers)


def message_response(status: int, message: str) -> httpx.Response:
    """An error answer ``{"error": message}``."""
    return httpx.Response(status, json={"error": message})
