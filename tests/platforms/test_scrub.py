"""Server error text made safe to show, for adapters: ``socialkit.platforms.scrub``."""

from __future__ import annotations

import json
from urllib.parse import quote, quote_plus

import pytest

import socialkit
from socialkit.platforms import MAX_SERVER_TEXT, request_secrets, scrub_server_text

SECRET = "s3cr3t/t0ken+value=="


@pytest.mark.parametrize(
    "echoed",
    [SECRET, json.dumps(SECRET)[1:-1], quote(SECRET, safe=""), quote_plus(SECRET)],
    ids=["as sent", "json", "url", "form"],
)
def test_a_secret_the_request_carried_is_replaced_in_every_form(echoed: str) -> None:
    text = scrub_server_text(f"bad request: you sent {echoed} (refused)", [SECRET])
    assert text == "bad request: you sent *** (refused)"


@pytest.mark.parametrize(
    ("said", "shown"),
    [
        ("password=hunter22&user=acme", "password=***&user=acme"),
        ('{"access_token": "abcdef", "ok": false}', '{"access_token": ***, "ok": false}'),
        ("Authorization: Bearer abcdef123456", "Authorization: ***"),
        ("sent bearer abcdef123456 to us", "sent bearer *** to us"),
        ("jwt eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl here", "jwt *** here"),
    ],
)
def test_credential_shaped_text_is_replaced_without_knowing_the_secret(
    said: str, shown: str
) -> None:
    assert scrub_server_text(said) == shown


def test_a_short_secret_is_left_to_the_patterns() -> None:
    # replacing "ab" everywhere would garble the text; "password=ab" is still caught
    assert scrub_server_text("a cab password=ab", ["ab"]) == "a cab password=***"


def test_the_text_is_one_line_and_bounded() -> None:
    assert scrub_server_text("  line one\n\tline   two \r\n") == "line one line two"
    long = scrub_server_text("word " * 200)
    assert len(long) == MAX_SERVER_TEXT
    assert long.endswith("…")
    assert scrub_server_text("x" * MAX_SERVER_TEXT) == "x" * MAX_SERVER_TEXT


def test_request_secrets_collects_what_the_request_carried() -> None:
    values = {"access_token": " tok-with-space ", "did": "did:plc:x"}
    credentials = socialkit.Credentials.model_validate({"values": values})
    found = request_secrets(
        credentials,
        {"password": "hunter22", "identifier": "acme.test", "count": 3},
        None,
        {"client_secret": "cs-1234", "code": "oauth-code", "refreshJwt": "jwt-1234"},
        sent=["session-token", None, ""],
    )
    assert set(found) == {
        " tok-with-space ",
        "tok-with-space",  # as it is sent in a header
        "did:plc:x",
        "hunter22",
        "cs-1234",
        "oauth-code",
        "jwt-1234",
        "session-token",
    }
    assert "acme.test" not in found
    assert request_secrets(None) == []


def test_the_helpers_are_public_for_plugins() -> None:
    assert socialkit.scrub_server_text is scrub_server_text
    assert socialkit.request_secrets is request_secrets
    credentials = socialkit.Credentials.model_validate({"values": {"access_token": "tok-1234"}})
    secrets = request_secrets(credentials)
    said = 'invalid token "tok-1234"; password=hunter22'
    assert scrub_server_text(said, secrets) == 'invalid token "***"; password=***'
