"""``socialkit accounts reconnect``: a publication held for a revoked token goes out
once a person fixed the credentials and reconnected the account."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from socialkit.platforms.registry import Registry, reset_registry
from tests.cli.conftest import Cli
from tests.cli.plugins import Vault, plugin, vault_server

TOKEN = "skt-0a1b2c3d4e5f60718293a4b5c6d7e8f9"
REVOKED = "skt-revoked-00112233445566778899aabb"
VARIABLE = "SOCIALKIT_ACME_VAULT_ACCESS_TOKEN"
COMMAND = "socialkit accounts reconnect acme-vault"


@pytest.fixture
def vault_project(tmp_path: Path) -> Iterator[list[dict[str, str]]]:
    """A project with a SQLite store and one account behind :func:`vault_server`."""
    reset_registry(Registry(plugins=[plugin(Vault)]))
    with vault_server(TOKEN) as (url, seen):
        (tmp_path / "socialkit.toml").write_text(
            'store = "sqlite:///socialkit.db"\n\n'
            f'[[accounts]]\nid = "acme-vault"\nplatform = "vault"\nhandle = "vaulty"\n'
            f'settings = {{ base_url = "{url}" }}\n',
            encoding="utf-8",
        )
        (tmp_path / "post.yaml").write_text("text: A post behind a token\n", encoding="utf-8")
        yield seen


def _schedule_now(cli: Cli) -> str:
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    run = cli("schedule", "post.yaml", "--to", "acme-vault", "--at", now, "--tz", "UTC", "--json")
    assert run.code == 0, run.err
    (pub,) = run.json()["publications"]
    return str(pub["id"])


def test_a_publication_waiting_for_reauth_goes_out_after_reconnect(
    cli: Cli, vault_project: list[dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(VARIABLE, REVOKED)
    pid = _schedule_now(cli)

    run = cli("run", "--once")
    assert run.code == 1, run.err  # left waiting for a person
    assert f"{pid} acme-vault: retry_wait, next attempt once its account is reconnected" in run.out
    assert COMMAND in run.out
    shown = cli("show", pid)
    assert COMMAND in shown.out
    listed = cli("list", "--attention")
    assert pid in listed.out
    assert COMMAND in listed.out
    assert json.loads(cli("show", pid, "--json").out)["attention"] == "reauth"

    # The token is still the revoked one: refused, and the account still holds.
    refused = cli("accounts", "reconnect", "acme-vault", "--actor", "ann")
    assert refused.code == 1
    assert refused.out == ""
    [line] = refused.err.splitlines()
    assert line.startswith("error: acme-vault (vault): its credentials still do not work")
    assert "NeedsReauth: the server refused the token" in line
    assert VARIABLE.removesuffix("ACCESS_TOKEN") + "<KEY>" in line
    assert "--force" in line
    # With --json, stdout says so too (it printed nothing before).
    refused_json = cli("accounts", "reconnect", "acme-vault", "--json")
    assert refused_json.code == 1
    failed = refused_json.json()
    assert (failed["result"], failed["reconnected"], failed["status"]) == (
        "failed",
        False,
        "needs_reauth",
    )
    assert failed["error"].startswith("acme-vault (vault): its credentials still do not work")
    assert failed["check"]["ok"] is False
    assert refused_json.err.startswith("error: acme-vault (vault)")
    assert REVOKED not in refused_json.out
    assert cli("run", "--once").code == 0
    assert json.loads(cli("show", pid, "--json").out)["state"] == "retry_wait"

    # A person fixed the token: reconnecting checks it and lets the publication go.
    monkeypatch.setenv(VARIABLE, TOKEN)
    done = cli("accounts", "reconnect", "acme-vault", "--actor", "ann")
    assert done.code == 0, done.err
    assert done.out == (
        "reconnected acme-vault (vault), vaulty is vault-user-1: "
        "1 publication waiting for it is due now\n"
    )
    run = cli("run", "--once")
    assert run.code == 0, run.err
    shown = json.loads(cli("show", pid, "--json").out)
    assert shown["state"] == "published"
    reconnect = [e for e in shown["history"] if e["kind"] == "claimed"]
    assert len(reconnect) >= 2  # claimed again after the reconnect
    for text in (done.out, done.err, refused.err, run.out):
        assert TOKEN not in text
        assert REVOKED not in text


def test_reconnect_with_force_skips_the_check(
    cli: Cli, vault_project: list[dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(VARIABLE, REVOKED)
    _schedule_now(cli)
    assert cli("run", "--once").code == 1  # left waiting for a person
    seen_before = len(vault_project)
    run = cli("accounts", "reconnect", "acme-vault", "--force", "--json")
    assert run.code == 0, run.err
    data = run.json()
    assert data["account"] == "acme-vault"
    assert data["reconnected"] is True
    assert (data["result"], data["error"]) == ("reconnected", None)
    assert data["checked"] is False
    assert data["waiting"] == 1
    assert len(vault_project) == seen_before  # the platform was not asked
    # The token is still revoked: the next attempt holds the account again.
    assert cli("run", "--once").code == 1  # held again: waiting for a person
    again = cli("accounts", "reconnect", "acme-vault", "--force")
    assert again.out.startswith("reconnected acme-vault (vault) without checking its credentials")


def test_reconnect_an_account_that_is_not_waiting_changes_nothing(
    cli: Cli, vault_project: list[dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(VARIABLE, TOKEN)
    _schedule_now(cli)
    run = cli("accounts", "reconnect", "acme-vault")
    assert run.code == 0, run.err
    assert run.out == (
        "acme-vault (vault) is not waiting for a reconnect (its status is ok); nothing changed\n"
    )


def test_reconnect_an_unknown_account_is_one_line(
    cli: Cli, vault_project: list[dict[str, str]]
) -> None:
    run = cli("accounts", "reconnect", "nobody")
    assert run.code == 2
    assert run.err == "error: unknown account 'nobody' (accounts in the project: acme-vault)\n"


def test_reconnect_without_a_store_says_so(cli: Cli, vault_project: list[dict[str, str]]) -> None:
    run = cli("accounts", "reconnect", "acme-vault")
    assert run.code == 2
    [line] = run.err.splitlines()
    assert line.startswith("error: store: ")
    assert not Path("socialkit.db").exists()
