"""Server error text made safe to show: no credential, one line, a bounded length.

A server (or a proxy in front of it) may echo the request in its error: the
``Authorization`` header, a form with the password. An adapter puts that text into
exception messages, which reach ``accounts check`` output and publication history, so
before it does, every credential value the request carried and anything shaped like one
is replaced by ``***``::

    from socialkit import request_secrets, scrub_server_text

    secrets = request_secrets(ctx.credentials, form, sent=[access_token])
    raise Rejected(f"example create post: {scrub_server_text(response.text, secrets)}")
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING
from urllib.parse import quote, quote_plus

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from socialkit.models.credentials import Credentials

__all__ = ["MAX_SERVER_TEXT", "request_secrets", "scrub_server_text"]

MAX_SERVER_TEXT = 300
"""Characters of a server's text :func:`scrub_server_text` keeps."""

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
# A request field whose value is a secret: a password, a client secret, a token, an
# OAuth code or code verifier, an API key, a JWT.
_SECRET_KEY = re.compile(r"(?i)password|secret|token|code|key|jwt")


def _forms(secret: str) -> set[str]:
    """A value as it may come back: as sent, JSON-escaped, URL-encoded."""
    return {secret, json.dumps(secret)[1:-1], quote(secret, safe=""), quote_plus(secret)}


def scrub_server_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` on one line, without ``secrets`` or credential-shaped parts, at most
    :data:`MAX_SERVER_TEXT` characters.

    Each secret is replaced by ``***`` as sent, JSON-escaped and URL-encoded; then
    ``name=value`` and ``"name": "value"`` pairs with a credential's name (``password``,
    ``access_token``, ``Authorization``, …), ``Bearer``/``Basic``/``DPoP`` credentials and
    JWTs lose their value, whatever the request carried.

    Args:
        text: what the server said (a body, an ``error`` field).
        secrets: the credential values the request carried (see :func:`request_secrets`);
            values shorter than 4 characters are left to the patterns (replacing them
            everywhere would garble the text).

    Returns:
        The text with runs of whitespace as one space, cut to :data:`MAX_SERVER_TEXT`
        characters (the last one ``…``) when longer.
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


def request_secrets(
    credentials: Credentials | None,
    *bodies: Mapping[str, object] | None,
    sent: Iterable[str | None] = (),
) -> list[str]:
    """What a server's answer to one request must not quote back, for
    :func:`scrub_server_text`.

    Args:
        credentials: the account's credentials (``ctx.credentials``): every string value,
            and the value stripped of surrounding whitespace, as it may have been sent.
        bodies: the request's JSON bodies or forms: the string values of fields whose
            name looks secret (``password``, ``client_secret``, ``code``, ``api_key``, …).
            ``None`` stands for a request without that body.
        sent: other values the request carried, such as the bearer token of a session
            (``None`` is skipped).
    """
    values: list[str] = []
    if credentials is not None:
        revealed = list(credentials.reveal().values())
        values += revealed + [v.strip() for v in revealed]
    values += [value for value in sent if value]
    for body in bodies:
        values += [
            value
            for key, value in (body or {}).items()
            if isinstance(value, str) and _SECRET_KEY.search(key)
        ]
    return values
