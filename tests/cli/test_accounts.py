"""``socialkit accounts list|add|check``: the project's accounts, never their secrets."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import socialkit
from socialkit.config import append_account, load_config
from socialkit.models.account import secret_setting
from socialkit.platforms.registry import Registry, reset_registry
from tests.cli.conftest import Cli
from tests.cli.plugins import Tiny, Vault, plugin


@pytest.fixture
def with_vault() -> None:
    reset_registry(Registry(plugins=[plugin(Tiny, Vault)]))


def test_list_shows_accounts_and_where_credentials_come_from(
    cli: Cli, project: Path, with_vault: None
) -> None:
    project.write_text(
        project.read_text() + '\n[[accounts]]\nid = "acme-vault"\nplatform = "vault"\n'
        'handle = "acme"\n\n[[accounts]]\nid = "acme-old"\nplatform = "myspace"\nhandle = "a"\n'
    )
    run = cli("accounts", "list")
    assert run.code == 0
    lines = [" ".join(line.split()) for line in run.out.splitlines()]
    assert lines[0] == "ID PLATFORM HANDLE ZONE SLOTS CREDENTIALS"
    assert lines[1] == "acme-feed feed acme UTC 0 none needed"
    assert (
        lines[2] == "acme-vault vault acme UTC 0 environment variables SOCIALKIT_ACME_VAULT_<KEY>"
    )
    assert lines[3].startswith("acme-old myspace (not installed) a")
    data = cli("accounts", "list", "--json").json()
    assert data["project"] == str(project)
    assert [a["id"] for a in data["accounts"]] == ["acme-feed", "acme-vault", "acme-old"]
    assert data["accounts"][0]["workspace"] == "acme"  # inherited from the project


def test_list_without_a_project(cli: Cli) -> None:
    run = cli("accounts", "list")
    assert run.code == 0
    assert run.out.startswith("no accounts (no project file found)")


def test_add_creates_the_project_file_and_writes_no_secret(cli: Cli, tmp_path: Path) -> None:
    run = cli(
        "accounts", "add", "acme-feed", "--platform", "feed", "--handle", "acme",
        "--timezone", "Europe/Berlin", "--slot", "mon@09:00", "--slot", "fri 17:30",
        "--setting", "title=Acme news", "--setting", "max_entries=50",
    )  # fmt: skip
    assert run.code == 0, run.err
    assert run.out.splitlines()[0] == "added acme-feed (feed, acme) to socialkit.toml"
    config = load_config(tmp_path / "socialkit.toml")
    [account] = config.accounts
    assert account.timezone == "Europe/Berlin"
    assert [(s.weekday.name, s.time.isoformat("minutes")) for s in account.posting_slots] == [
        ("MON", "09:00"),
        ("FRI", "17:30"),
    ]
    # the feed's default directory is taken from the project file's directory when it is
    # read; the file itself holds only what was given
    directory = str(tmp_path / "socialkit-feed" / "acme")
    assert account.settings == {"title": "Acme news", "max_entries": 50, "directory": directory}
    assert "directory" not in (tmp_path / "socialkit.toml").read_text(encoding="utf-8")


def test_add_keeps_the_file_as_it_was_and_appends(cli: Cli, project: Path) -> None:
    before = project.read_text()
    run = cli("accounts", "add", "acme-two", "-p", "feed", "--handle", "two", "--json")
    assert run.code == 0, run.err
    after = project.read_text()
    assert after.startswith(before)  # comments and layout kept
    assert run.json()["account"]["id"] == "acme-two"
    assert [a.id for a in load_config(project).accounts] == ["acme-feed", "acme-two"]
    assert load_config(project).accounts[1].workspace == "acme"
    assert "workspace" not in after[len(before) :]  # inherited, so not repeated


def test_add_prints_the_credential_variables_for_platforms_that_need_them(
    cli: Cli, project: Path, with_vault: None
) -> None:
    run = cli("accounts", "add", "acme-vault", "-p", "vault", "--handle", "acme")
    assert run.code == 0, run.err
    assert run.out.splitlines()[1] == (
        "credentials: environment variables SOCIALKIT_ACME_VAULT_<KEY> "
        "(never written to the project file)"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--setting", "api_token=abc"],
            "--setting (settings): settings['api_token'] looks like a secret",
        ),
        (["--setting", "password=abc"], "looks like a secret"),
        (
            ["--setting", 'auth={"user": "ann", "access_token": "hunter2"}'],
            "--setting (settings): settings['auth'] looks like a secret",
        ),
        (
            ["--setting", 'service={"url": "https://x", "access_token": "hunter2"}'],
            "settings['service']['access_token'] looks like a secret",
        ),
        (["--setting", "api-key=abc"], "settings['api-key'] looks like a secret"),
        (["--setting", "Bearer=abc"], "looks like a secret"),
        (["--setting", "passwd=abc"], "looks like a secret"),
        (["--setting", "pwd=abc"], "looks like a secret"),
        (["--setting", "Authorization=abc"], "looks like a secret"),
        (["--setting", "cookie=abc"], "looks like a secret"),
        (["--setting", "session=abc"], "looks like a secret"),
        (["--timezone", "Mars/Base"], "--timezone (timezone): unknown IANA time zone 'Mars/Base'"),
        (
            ["--slot", "someday@09:00"],
            "--slot 'someday@09:00' (posting_slots[0].weekday): weekday must be mon..sun",
        ),
        (["--slot", "mon@25:00"], "--slot 'mon@25:00' (posting_slots[0].time)"),
        # the slot as typed, and its form: a bare hour is not a time
        (
            ["--slot", "tue@10:00", "--slot", "mon@9"],
            "--slot 'mon@9' (posting_slots[1].time): Input should be in a valid time format, "
            "input is too short (expected DAY@HH:MM, such as mon@09:00)",
        ),
        (["--handle", ""], "--handle (handle): must not be empty (got '')"),
        (["--slot", "monday"], "--slot 'monday': expected DAY@HH:MM"),
        (["--setting", "novalue"], "--setting 'novalue': expected KEY=VALUE"),
    ],
)
def test_add_refuses_bad_options_naming_them_and_leaves_the_file(
    cli: Cli, project: Path, args: list[str], message: str
) -> None:
    before = project.read_text()
    run = cli("accounts", "add", "acme-two", "-p", "feed", "--handle", "two", *args)
    assert run.code == 2
    assert run.err.count("\n") == 1
    assert message in run.err
    assert project.read_text() == before


def test_add_refuses_a_bad_id(cli: Cli, project: Path) -> None:
    run = cli("accounts", "add", "not ok", "-p", "feed", "--handle", "x")
    assert run.code == 2
    assert "ID (id): must start with a letter or digit" in run.err


def test_add_refuses_a_duplicate_id(cli: Cli, project: Path) -> None:
    run = cli("accounts", "add", "acme-feed", "-p", "feed", "--handle", "x")
    assert run.code == 2
    assert "an account with id 'acme-feed' already exists" in run.err


def test_add_refuses_an_uninstalled_platform_unless_forced(cli: Cli, project: Path) -> None:
    run = cli("accounts", "add", "acme-ms", "-p", "myspace", "--handle", "x")
    assert run.code == 2
    assert run.err.startswith("error: unknown platform 'myspace'; installed: ")
    assert cli("accounts", "add", "acme-ms", "-p", "myspace", "--handle", "x", "--force").code == 0
    assert load_config(project).account("acme-ms").platform == "myspace"


def _not_secret(name: str) -> bool:
    return not secret_setting(name)  # the account refuses those (tests/models)


_settings_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=8).filter(_not_secret), inner, max_size=3)
    ),
    max_leaves=8,
)


@given(
    handle=st.text(min_size=1, max_size=30).filter(lambda h: h.strip() == h and h),
    display_name=st.none() | st.text(max_size=40),
    settings_=st.dictionaries(
        st.text(min_size=1, max_size=12).filter(_not_secret),
        _settings_values,
        max_size=4,
    ),
)
@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_an_appended_account_reads_back_equal(
    tmp_path: Path, handle: str, display_name: str | None, settings_: dict
) -> None:
    path = tmp_path / "roundtrip.toml"
    path.unlink(missing_ok=True)
    account = socialkit.Account(
        id="acme-x",
        platform="myspace",  # not installed: its settings are read as written
        handle=handle,
        display_name=display_name,
        settings=settings_,
    )
    append_account(path, account)
    tomllib.loads(path.read_text(encoding="utf-8"))  # plain TOML
    [read] = load_config(path).accounts
    # TOML has no null: None values are left out of tables and arrays
    assert read == account.model_copy(update={"settings": _without_none(settings_)})


def test_a_setting_key_with_a_trailing_newline_is_quoted(tmp_path: Path) -> None:
    # Found by the property above: "$" matched before the newline, so "0\n" was written as
    # a bare key and the file no longer parsed.
    path = tmp_path / "socialkit.toml"
    account = socialkit.Account(id="acme-x", platform="myspace", handle="0", settings={"0\n": []})
    append_account(path, account)
    [read] = load_config(path).accounts
    assert read.settings == {"0\n": []}


def _without_none(value):
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value if v is not None]
    return value


# -- check -------------------------------------------------------------------------------------


def test_check_verifies_a_feed_account(cli: Cli, tmp_path: Path, project: Path) -> None:
    run = cli("accounts", "check")
    assert run.code == 0, run.out
    expected = f"feed:{(tmp_path / 'out' / 'acme').resolve()}"
    assert run.out.splitlines()[0] == f"acme-feed (feed): ok, acme is {expected}"
    [row] = cli("accounts", "check", "acme-feed", "--json").json()["accounts"]
    assert row["verified"] is True
    assert row["identity"]["platform_account_id"] == expected


def test_check_fails_an_account_with_another_platform_account_id(cli: Cli, project: Path) -> None:
    project.write_text(
        project.read_text().replace(
            'handle = "acme"', 'handle = "acme"\nplatform_account_id = "feed:/elsewhere"', 1
        )
    )
    run = cli("accounts", "check", "--json")
    assert run.code == 1
    [row] = run.json()["accounts"]
    assert row["ok"] is False
    assert "the project file says platform_account_id = 'feed:/elsewhere'" in row["error"]


def test_check_reports_missing_credentials_and_an_uninstalled_platform(
    cli: Cli, project: Path, with_vault: None
) -> None:
    project.write_text(
        project.read_text() + '\n[[accounts]]\nid = "acme-vault"\nplatform = "vault"\n'
        'handle = "acme"\n\n[[accounts]]\nid = "acme-old"\nplatform = "myspace"\nhandle = "a"\n'
    )
    run = cli("accounts", "check")
    assert run.code == 1
    lines = run.out.splitlines()
    assert lines[0].startswith("acme-feed (feed): ok")
    assert (
        "acme-vault (vault): FAILED: CredentialsError: no credentials for 'acme-vault' " in run.out
    )
    assert "SOCIALKIT_ACME_VAULT_<KEY>" in run.out
    assert "acme-old (myspace): FAILED: UnknownPlatform: unknown platform 'myspace'" in run.out


def test_check_an_unknown_account_is_one_line(cli: Cli, project: Path) -> None:
    run = cli("accounts", "check", "nobody")
    assert run.code == 2
    assert run.err == "error: unknown account 'nobody' (accounts in the project: acme-feed)\n"
