"""Connecting an account: app registration, OAuth 2 with PKCE, the walk-through."""

from __future__ import annotations

import json
import stat
from urllib.parse import parse_qs, urlsplit

import pytest
from socialkit_mastodon import (
    OOB_REDIRECT_URI,
    Pkce,
    authorization_url,
    connect_account,
    exchange_code,
    register_app,
)
from socialkit_mastodon._auth import s256_challenge
from socialkit_mastodon._connect import main

import socialkit


def test_s256_matches_rfc_7636_appendix_b() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert s256_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_generated_verifiers_are_unreserved_and_hidden_from_repr() -> None:
    pkce = Pkce.generate()
    assert len(pkce.verifier) == 64
    assert set(pkce.verifier) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
    )
    assert pkce.challenge == s256_challenge(pkce.verifier)
    assert pkce.verifier not in repr(pkce)
    assert Pkce.generate().verifier != pkce.verifier
    with pytest.raises(ValueError, match="43 to 128"):
        Pkce.generate(42)


async def test_register_authorise_and_exchange(http, server) -> None:
    app = await register_app(http, server.host, client_name="Acme scheduler")
    assert app.instance == server.base_url
    assert app.redirect_uri == OOB_REDIRECT_URI
    assert app.client_secret.get_secret_value() not in repr(app)
    pkce = Pkce.generate()
    url = authorization_url(app, pkce, state="s1", force_login=True)
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert query == {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": OOB_REDIRECT_URI,
        "scope": "read write",
        "code_challenge": pkce.challenge,
        "code_challenge_method": "S256",
        "state": "s1",
        "force_login": "true",
    }
    code = server.authorize(url)
    credentials = await exchange_code(http, app, code, pkce)
    assert credentials.require("access_token") in server.tokens
    assert credentials.require("client_id") == app.client_id
    assert credentials.require("access_token") not in repr(credentials)


async def test_a_wrong_verifier_or_a_reused_code_needs_a_person(http, server) -> None:
    app = await register_app(http, server.base_url)
    pkce = Pkce.generate()
    code = server.authorize(authorization_url(app, pkce))
    with pytest.raises(socialkit.NeedsReauth, match="invalid_grant"):
        await exchange_code(http, app, code, Pkce.generate())
    with pytest.raises(socialkit.NeedsReauth, match="used already"):
        await exchange_code(http, app, code, pkce)  # the code was spent by the failed try


async def test_the_walkthrough_saves_the_token_and_names_the_account(
    http, server, tmp_path
) -> None:
    secrets_file = tmp_path / "secrets.json"
    provider = socialkit.FileCredentialProvider(secrets_file)
    said: list[str] = []

    def ask(prompt: str) -> str:
        url = next(line.strip() for line in said if "/oauth/authorize?" in line)
        return server.authorize(url)

    identity = await connect_account(
        instance=server.base_url,
        account_id="acme-mastodon",
        provider=provider,
        http=http,
        ask=ask,
        say=said.append,
    )
    assert identity.platform_account_id == server.account_id
    saved = json.loads(secrets_file.read_text())["acme-mastodon"]
    assert saved["access_token"] in server.tokens
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    transcript = "\n".join(said)
    assert f'platform_account_id = "{server.account_id}"' in transcript
    assert saved["access_token"] not in transcript


def test_the_command_line_walks_a_person_through(http, server, tmp_path) -> None:
    said: list[str] = []

    def ask(prompt: str) -> str:
        said.append(prompt)
        url = next(line.strip() for line in said if "/oauth/authorize?" in line)
        return server.authorize(url)

    secrets_file = tmp_path / "s.json"
    code = main(
        ["auth", "--instance", server.host, "--account", "acme", "--secrets", str(secrets_file)],
        http=http,
        ask=ask,
        say=said.append,
    )
    assert code == 0, said
    assert "Connected @acme@mastodon.example" in "\n".join(said)
    assert json.loads(secrets_file.read_text())["acme"]["access_token"] in server.tokens


def test_the_command_line_reports_a_bad_code_in_one_line(http, server, tmp_path) -> None:
    said: list[str] = []
    code = main(
        ["auth", "--instance", server.host, "--secrets", str(tmp_path / "s.json")],
        http=http,
        ask=lambda prompt: "not-a-code",
        say=said.append,
    )
    assert code == 1
    assert said[-1].startswith("error: mastodon exchange code")
    assert not (tmp_path / "s.json").exists()
