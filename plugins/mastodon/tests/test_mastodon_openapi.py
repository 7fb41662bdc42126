"""The fixtures are the documentation's examples, and the schema check catches mistakes."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path

import httpx
import pytest
import socialkit_mastodon
from pydantic import SecretStr
from socialkit_mastodon import (
    AppRegistration,
    Mastodon,
    Pkce,
    authorization_url,
    exchange_code,
    register_app,
)
from socialkit_mastodon.testing import FakeMastodon, documented

import socialkit

_ENTITY_SCHEMAS = {
    "instance": "/components/schemas/Instance",
    "status": "/components/schemas/Status",
    "account": "/components/schemas/Account",
    "role": "/components/schemas/Role",
    "credential_source": "/components/schemas/CredentialAccount/properties/source",
    "poll": "/components/schemas/Poll",
    "media_200": "/components/schemas/MediaAttachment",
    "media_202": "/components/schemas/MediaAttachment",
    "token": "/components/schemas/Token",
    "application": "/components/schemas/CredentialApplication",
    "error_401": "/components/schemas/Error",
    "error_404": "/components/schemas/Error",
    "error_429": "/components/schemas/Error",
    "error_500": "/components/schemas/Error",
    "error_503": "/components/schemas/Error",
    "error_oauth": "/components/schemas/Error",
}


def _templates() -> dict[str, object]:
    text = resources.files("socialkit_mastodon.testing").joinpath("documented.json").read_text()
    data: dict[str, object] = json.loads(text)
    return data


def test_every_template_with_a_pointer_is_the_schema_example_verbatim(openapi) -> None:
    templates = _templates()
    pointed = {
        name: entry
        for name, entry in templates.items()
        if isinstance(entry, dict) and "pointer" in entry
    }
    assert len(pointed) >= 14
    for name, entry in pointed.items():
        node = openapi.document
        for part in entry["pointer"].strip("/").split("/"):
            node = node[part]
        assert entry["example"] == node, f"{name} differs from {entry['pointer']}"


def test_catch_up_adds_only_fields_the_schema_requires(openapi) -> None:
    for name, entry in _templates().items():
        if not isinstance(entry, dict) or not entry.get("catch_up"):
            continue
        schema = openapi.ref(_ENTITY_SCHEMAS[name])
        validator = openapi.validator(schema)
        assert list(validator.iter_errors(entry["example"])), (
            f"{name}: the documented example already validates; catch_up is not needed"
        )
        assert not list(validator.iter_errors(documented(name))), name
        # every catch-up path names a field the schema marks required
        for path in entry["catch_up"]:
            assert path in entry["catch_up_sources"], f"{name}.{path} has no stated source"


@pytest.mark.parametrize("name", sorted(_ENTITY_SCHEMAS))
def test_each_fixture_validates_against_its_response_schema(openapi, name: str) -> None:
    openapi.check_entity(openapi.ref(_ENTITY_SCHEMAS[name]), documented(name), name)


def test_credential_account_as_the_fake_sends_it_validates(openapi, server) -> None:
    request = httpx.Request(
        "GET",
        f"{server.base_url}/api/v1/accounts/verify_credentials",
        headers={"Authorization": f"Bearer {server.issue_token()}"},
    )
    response = server.handle(request)
    openapi.check_entity(
        openapi.ref("/components/schemas/CredentialAccount"), response.json(), "verify"
    )


def _status_request(body: dict[str, object], **headers: str) -> httpx.Request:
    return httpx.Request(
        "POST",
        "https://mastodon.example/api/v1/statuses",
        json=body,
        headers={"Authorization": "Bearer t", "Idempotency-Key": "k", **headers},
    )


def test_a_correct_status_request_passes(openapi) -> None:
    openapi.check_request(
        _status_request(
            {
                "status": "hi",
                "media_ids": ["1"],
                "visibility": "unlisted",
                "language": "en",
                "spoiler_text": "cw",
                "in_reply_to_id": "9",
                "sensitive": True,
            }
        )
    )
    openapi.check_request(
        _status_request({"status": "vote", "poll": {"options": ["a", "b"], "expires_in": 600}})
    )


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        ({"status": "hi", "visiblity": "public"}, "request body"),  # misspelt field
        ({"status": "hi", "media_ids": "1"}, "request body"),  # wrong type
        ({"status": "hi", "poll": {"options": ["a"], "expires": 60}}, "request body"),
        (
            {"status": "hi", "media_ids": ["1"], "poll": {"options": ["a"], "expires_in": 9}},
            "request body",
        ),
        ({"status": "hi", "visibility": "everyone"}, "request body"),  # not in the enum
        ({"text": "hi"}, "request body"),
    ],
)
def test_a_wrong_status_request_fails(openapi, body, complaint: str) -> None:
    with pytest.raises(AssertionError, match=complaint):
        openapi.check_request(_status_request(body))


def test_undeclared_headers_and_query_parameters_fail(openapi) -> None:
    with pytest.raises(AssertionError, match="header"):
        openapi.check_request(_status_request({"status": "hi"}, **{"X-Idempotency": "k"}))
    with pytest.raises(AssertionError, match="query parameter 'limits'"):
        openapi.check_request(
            httpx.Request(
                "GET",
                "https://mastodon.example/api/v1/accounts/1/statuses?limits=40",
                headers={"Authorization": "Bearer t"},
            )
        )
    with pytest.raises(AssertionError, match="integer"):
        openapi.check_request(
            httpx.Request(
                "GET",
                "https://mastodon.example/api/v1/accounts/1/statuses?limit=forty",
                headers={"Authorization": "Bearer t"},
            )
        )


def test_a_request_without_a_token_fails_where_oauth_is_required(openapi) -> None:
    with pytest.raises(AssertionError, match="bearer"):
        openapi.check_request(
            httpx.Request("POST", "https://mastodon.example/api/v1/statuses", json={"status": "x"})
        )


def test_a_response_with_a_wrong_field_fails(openapi) -> None:
    template, op = openapi.operation("GET", "/api/v1/statuses/1")
    status = documented("status")
    status["favourites_count"] = "eleven"
    with pytest.raises(AssertionError, match="favourites_count"):
        openapi.check_response(template, op, "GET", httpx.Response(200, json=status))
    del status["favourites_count"]
    with pytest.raises(AssertionError, match="favourites_count"):
        openapi.check_response(template, op, "GET", httpx.Response(200, json=status))


def test_rate_limit_reset_must_be_a_timestamp(openapi) -> None:
    template, op = openapi.operation("GET", "/api/v1/statuses/1")
    response = httpx.Response(200, json=documented("status"), headers={"X-RateLimit-Reset": "soon"})
    with pytest.raises(AssertionError, match="X-RateLimit-Reset"):
        openapi.check_response(template, op, "GET", response)


def test_an_undeclared_status_code_fails(openapi) -> None:
    template, op = openapi.operation("GET", "/api/v2/instance")
    with pytest.raises(AssertionError, match="not declared"):
        openapi.check_response(template, op, "GET", httpx.Response(418, json={"error": "teapot"}))


_ADAPTER_OPERATIONS = {
    ("GET", "/api/v2/instance"),
    ("POST", "/api/v1/apps"),
    ("POST", "/oauth/token"),
    ("GET", "/api/v1/accounts/verify_credentials"),
    ("POST", "/api/v2/media"),
    ("GET", "/api/v1/media/{id}"),
    ("POST", "/api/v1/statuses"),
    ("GET", "/api/v1/accounts/{id}/statuses"),
    ("GET", "/api/v1/statuses/{id}"),
    ("GET", "/api/v1/accounts/{id}"),
    ("DELETE", "/api/v1/statuses/{id}"),
}


def test_every_path_in_the_adapter_is_an_operation_we_check() -> None:
    source = Path(socialkit_mastodon.__file__).parent
    found = set()
    for module in source.glob("_*.py"):
        found.update(re.findall(r'"(/(?:api|oauth)/[^"?]*)', module.read_text()))
        found.update(re.findall(r'f"\{[^}]+\}(/(?:api|oauth)/[^"?]*)', module.read_text()))
    templates = {re.sub(r"\{[^}]+\}", "{id}", path) for path in found}
    # /oauth/authorize is opened by the person's browser, not requested by the adapter
    assert templates == {path for _, path in _ADAPTER_OPERATIONS} | {"/oauth/authorize"}


async def test_a_full_session_exercises_every_operation_against_the_schema(
    fresh_openapi, clock, media_store, tmp_path
) -> None:
    server = FakeMastodon(clock=clock, media_processing_checks=1)
    platform = Mastodon(sleep=_no_sleep)
    async with httpx.AsyncClient(
        transport=httpx.MockTransport(fresh_openapi.wrap(server.handle))
    ) as http:
        app = await register_app(http, server.base_url)
        pkce = Pkce.generate()
        credentials = await exchange_code(
            http, app, server.authorize(authorization_url(app, pkce)), pkce
        )
        account = socialkit.Account(
            id="acme", platform="mastodon", handle="acme", settings={"instance": server.base_url}
        )
        ctx = socialkit.Context(
            account=account,
            credentials=credentials,
            http=http,
            media=media_store,
            clock=clock,
            idempotency_keys=("k0", "k1"),
        )
        await platform.verify_account(ctx)
        image = media_store.put_bytes(
            b"\x89PNG\r\n\x1a\n" + b"0" * 64, mime_type="image/png", alt_text="dot"
        )
        post = socialkit.Post(
            text="hello", media=(image,), thread=(socialkit.ThreadPart(text="more"),)
        )
        draft = socialkit.render(post, "mastodon", await platform.resolve_capabilities(ctx))
        receipt = await platform.publish(draft, ctx)
        assert await platform.find_published(draft, ctx.evolve(attempt=2)) is not None
        await platform.fetch_metrics([receipt], ctx)
        await platform.delete(receipt, ctx)
    exercised = {(method, template) for method, template, _ in fresh_openapi.checked}
    assert exercised == _ADAPTER_OPERATIONS
    codes = {(m, t, c) for m, t, c in fresh_openapi.checked}
    assert ("POST", "/api/v2/media", 202) in codes
    assert ("GET", "/api/v1/media/{id}", 206) in codes
    assert ("GET", "/api/v1/media/{id}", 200) in codes


async def _no_sleep(seconds: float) -> None:
    return None


def test_the_authorization_address_is_a_valid_authorize_request(openapi) -> None:
    app = AppRegistration(
        instance="https://mastodon.example", client_id="cid", client_secret=SecretStr("cs")
    )
    url = authorization_url(app, Pkce.generate(), state="s", force_login=True, lang="fa")
    openapi.check_request(httpx.Request("GET", url))
    with pytest.raises(AssertionError, match="required query parameter 'client_id'"):
        openapi.check_request(httpx.Request("GET", url.replace("client_id=cid&", "")))
