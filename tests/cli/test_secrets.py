"""No secret in a log line, a repr, an exception or the command's output.

A sample token is set through the environment provider; ``publish`` and ``accounts
check`` run with every logger at DEBUG against a loopback server that requires the
token; then everything captured is scanned for it.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

import socialkit
from socialkit.config import load_config
from socialkit.platforms.registry import Registry, reset_registry
from tests.cli.conftest import Cli
from tests.cli.plugins import Vault, plugin, vault_server

TOKEN = "skt-9f8e7d6c5b4a39281706f5e4d3c2b1a0"
WRONG = "skt-wrong-0123456789abcdef0123456789"


@pytest.fixture
def vault_project(tmp_path: Path) -> tuple[Path, list[dict[str, str]]]:
    reset_registry(Registry(plugins=[plugin(Vault)]))
    with vault_server(TOKEN) as (url, seen):
        project = tmp_path / "socialkit.toml"
        project.write_text(
            f'[[accounts]]\nid = "acme-vault"\nplatform = "vault"\nhandle = "vaulty"\n'
            f'settings = {{ base_url = "{url}" }}\n\n'
            f'[[accounts]]\nid = "acme-revoked"\nplatform = "vault"\nhandle = "old"\n'
            f'settings = {{ base_url = "{url}" }}\n',
            encoding="utf-8",
        )
        (tmp_path / "post.yaml").write_text("text: A post behind a token\n", encoding="utf-8")
        yield project, seen


def _assert_clean(*texts: str) -> None:
    for text in texts:
        assert TOKEN not in text
        assert WRONG not in text


def test_no_token_in_logs_output_reprs_or_errors(
    cli: Cli,
    vault_project: tuple[Path, list[dict[str, str]]],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    project, seen = vault_project
    monkeypatch.setenv("SOCIALKIT_ACME_VAULT_ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv("SOCIALKIT_ACME_REVOKED_ACCESS_TOKEN", WRONG)
    caplog.set_level(logging.DEBUG)

    runs = [
        cli("--debug", "accounts", "check"),
        cli("accounts", "check", "--json"),
        cli("--debug", "publish", "post.yaml", "--to", "acme-vault", "--to", "acme-revoked"),
        cli("publish", "post.yaml", "--to", "acme-vault", "--to", "acme-revoked", "--json"),
        cli("accounts", "list", "--json"),
    ]

    # the token really was used: the server saw it, and accepted only the right one
    assert {"path": "/me", "authorization": f"Bearer {TOKEN}"} in seen
    assert {"path": "/posts", "authorization": f"Bearer {TOKEN}"} in seen
    check = runs[1].json()["accounts"]
    assert [row["ok"] for row in check] == [True, False]
    assert check[0]["credential_keys"] == ["access_token"]
    assert check[1]["error"] == "NeedsReauth: the server refused the token"
    published = runs[3].json()["results"]
    assert [r["ok"] for r in published] == [True, False]
    assert [r.code for r in runs] == [1, 1, 1, 1, 0]

    # the adapter logged its context and credentials at DEBUG, and httpx logged requests
    assert "verifying Context(account='acme-vault'" in caplog.text
    assert "Credentials(keys=['access_token'])" in caplog.text
    assert any(r.name.startswith("httpx") for r in caplog.records)
    _assert_clean(caplog.text, *(r.getMessage() for r in caplog.records))
    for run in runs:
        _assert_clean(run.out, run.err)
    assert TOKEN not in project.read_text()


async def test_no_token_in_reprs_dumps_or_exceptions(
    vault_project: tuple[Path, list[dict[str, str]]],
) -> None:
    project, _ = vault_project
    config = load_config(project)
    provider = socialkit.EnvCredentialProvider(
        environ={
            "SOCIALKIT_ACME_VAULT_ACCESS_TOKEN": TOKEN,
            "SOCIALKIT_ACME_REVOKED_ACCESS_TOKEN": WRONG,
        }
    )
    account = config.account("acme-vault")
    credentials = await provider.load(account)
    assert credentials.require("access_token") == TOKEN
    texts = [
        repr(credentials),
        str(credentials),
        credentials.model_dump_json(),
        str(credentials.model_dump()),
        repr(provider),
        repr(account),
        repr(config),
    ]
    results = await socialkit.apublish_now(
        socialkit.Post(text="hello"),
        [account, config.account("acme-revoked")],
        credentials=provider,
    )
    assert [r.ok for r in results] == [True, False]
    texts += [repr(r) for r in results]
    texts += [str(r.error) for r in results if r.error is not None]
    texts += [repr(r.error) for r in results if r.error is not None]
    try:
        socialkit.Credentials().with_values(access_token=TOKEN).require("refresh_token")
    except socialkit.CredentialsError as exc:
        texts.append(str(exc))
    _assert_clean(*texts)
