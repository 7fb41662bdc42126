"""A missing credential is reported with its account and where to set it, never a value."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from socialkit.platforms.registry import Registry, reset_registry
from tests.cli.conftest import Cli
from tests.cli.plugins import Vault, plugin, vault_server

TOKEN = "skt-5e4d3c2b1a0f9e8d7c6b5a4938271605"
VARIABLE = "SOCIALKIT_ACME_VAULT_ACCESS_TOKEN"


@pytest.fixture
def base_url(tmp_path: Path) -> Iterator[str]:
    reset_registry(Registry(plugins=[plugin(Vault)]))
    with vault_server(TOKEN) as (url, _seen):
        (tmp_path / "post.yaml").write_text("text: A post behind a token\n", encoding="utf-8")
        yield url


def _project(path: Path, url: str, credentials: str = "") -> None:
    path.write_text(
        f'store = "sqlite:///socialkit.db"\n{credentials}\n'
        f'[[accounts]]\nid = "acme-vault"\nplatform = "vault"\nhandle = "vaulty"\n'
        f'settings = {{ base_url = "{url}" }}\n',
        encoding="utf-8",
    )


def _published(cli: Cli) -> str:
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    run = cli("schedule", "post.yaml", "--to", "acme-vault", "--at", now, "--tz", "UTC", "--json")
    assert run.code == 0, run.err
    (pub,) = run.json()["publications"]
    assert cli("run", "--once").code == 0
    assert json.loads(cli("show", pub["id"], "--json").out)["state"] == "published"
    return str(pub["id"])


def test_delete_names_the_account_and_the_environment_variable(
    cli: Cli, base_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _project(tmp_path / "socialkit.toml", base_url)
    monkeypatch.setenv(VARIABLE, TOKEN)
    pid = _published(cli)
    monkeypatch.delenv(VARIABLE)
    run = cli("delete", pid, "--yes")
    assert run.code == 1
    assert run.err == (
        f"error: publication {pid} was not deleted: credential 'access_token' of account "
        f"'acme-vault' is missing (have: []); set environment variable {VARIABLE}. "
        "It stays as it was (a thread's first parts may be gone already); run delete again\n"
    )
    assert json.loads(cli("show", pid, "--json").out)["state"] == "published"


def test_delete_names_the_secrets_file_entry(cli: Cli, base_url: str, tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.json"
    _project(
        tmp_path / "socialkit.toml",
        base_url,
        '\n[credentials]\nprovider = "file"\npath = "secrets.json"\n',
    )

    def write(entry: dict[str, str]) -> None:
        secrets.write_text(json.dumps({"acme-vault": entry}), encoding="utf-8")
        os.chmod(secrets, 0o600)

    write({"access_token": TOKEN})
    pid = _published(cli)
    write({"refresh_token": TOKEN})
    run = cli("delete", pid, "--yes")
    assert run.code == 1
    assert (
        "credential 'access_token' of account 'acme-vault' is missing "
        "(have: ['refresh_token']); set key \"access_token\" of entry 'acme-vault' in "
        f"secrets file {secrets}. It stays as it was"
    ) in run.err
    assert TOKEN not in run.err


def test_publish_and_run_name_the_variable_too(
    cli: Cli, base_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _project(tmp_path / "socialkit.toml", base_url)
    monkeypatch.setenv("SOCIALKIT_ACME_VAULT_REFRESH_TOKEN", TOKEN)  # another key only
    run = cli("publish", "post.yaml", "--to", "acme-vault")
    assert run.code == 1
    assert (
        f"of account 'acme-vault' is missing (have: ['refresh_token']); set environment variable {VARIABLE}"
        in run.out + run.err
    )
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    assert cli("schedule", "post.yaml", "--to", "acme-vault", "--at", now, "--tz", "UTC").code == 0
    run = cli("run", "--once")
    assert f"set environment variable {VARIABLE}" in run.out
    for text in (run.out, run.err):
        assert TOKEN not in text
