"""Server error text made safe to show: no credential, one line, a bounded length.

A server (or a proxy in front of it) may echo the request in its error: the
``Authorization`` header, a form with the password. Its text goes into exception
messages, ``accounts check`` output and publication history, so before it does, every
credential value the request carried and anything shaped like one is replaced by ``***``.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING
from urllib.parse import quote, quote_plus

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["MAX_SERVER_TEXT", "scrub_server_text"]

MAX_SERVER_TEXT = 300  # characters of a server's text kept in a message

_SECRET_NAMES = (
    "authorization|proxy-authorization|access_token|refresh_token|id_token|client_secret|"
    "code_verifier|app_password|access_jwt|refresh_jwt|api_key|apikey|password|passwd|pwd|"
    "secret|token|cookie|set-cookie"
)
# `password=hunter2`, `"access_token": "abc"`, `Authorization: Bearer abc`
_SECRET_FIELD = re.compile(
    rf"""(?ix)
    (?<![A-Za-z0-9_-])(?P<name>["']?(?:{_SECRET_NAMES})["']?\s*[:=]\s*)
    (?:["']?(?:bearer|basic|token|dpop)\s+)?["']?[^\s"'&,;}}\]]+["']?
    """
)
_BEARER = re.compile(r"(?i)\b(bearer|basic|dpop)\s+[A-Za-z0-9._~+/=-]{6,}")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
_SPACE = re.compile(r"\s+")


def _forms(secret: str) -> set[str]:
    """A value as it may come back: as sent, JSON-escaped, URL-encoded."""
    return {secret, json.dumps(secret)[1:-1], quote(secret, safe=""), quote_plus(secret)}


def scrub_server_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` on one line, without ``secrets`` or credential-shaped parts, at most
    :data:`MAX_SERVER_TEXT` characters.

    Args:
        text: what the server said.
        secrets: the credential values the request carried (a token, a password); values
            shorter than 4 characters are left to the patterns (replacing them everywhere
            would garble the text).
    """
    values = {form for s in secrets if len(s) >= 4 for form in _forms(s)}
    for value in sorted(values, key=len, reverse=True):
        text = text.replace(value, "***")
    text = _SECRET_FIELD.sub(lambda m: m.group("name") + "***", text)
    text = _BEARER.sub(lambda m: m.group(1) + " ***", text)
    text = _JWT.sub("***", text)
    text = _SPACE.sub(" ", text).strip()
    if len(text) > MAX_SERVER_TEXT:
        text = text[: MAX_SERVER_TEXT - 1].rstrip() + "…"
    return text
