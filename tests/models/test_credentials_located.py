"""A missing credential's error names the account and where to set the key."""

from __future__ import annotations

import pickle

import pytest

import socialkit

SECRET = "sk-located-secret-0123456789"


def test_require_names_the_account_and_the_place() -> None:
    creds = (
        socialkit.Credentials()
        .with_values(refresh_token=SECRET)
        .located("acme-x", "environment variable SOCIALKIT_ACME_X_{KEY}")
    )
    with pytest.raises(socialkit.CredentialsError) as info:
        creds.require("access_token")
    assert str(info.value) == (
        "credential 'access_token' of account 'acme-x' is missing (have: ['refresh_token']); "
        "set environment variable SOCIALKIT_ACME_X_ACCESS_TOKEN"
    )
    assert SECRET not in str(info.value)
    assert SECRET not in repr(creds)


def test_the_place_keeps_braces_of_a_path_and_may_name_the_key_as_is() -> None:
    creds = socialkit.Credentials().located(
        "acme-x", "key \"{key}\" of entry 'acme-x' in secrets file /srv/{odd}/secrets.json"
    )
    with pytest.raises(socialkit.CredentialsError) as info:
        creds.require("app_password")
    assert str(info.value).endswith(
        "; set key \"app_password\" of entry 'acme-x' in secrets file /srv/{odd}/secrets.json"
    )


def test_without_a_place_the_account_is_still_named() -> None:
    with pytest.raises(socialkit.CredentialsError) as info:
        socialkit.Credentials().located("acme-x").require("access_token")
    assert str(info.value) == "credential 'access_token' of account 'acme-x' is missing (have: [])"


def test_the_location_survives_new_values_and_is_not_data() -> None:
    creds = socialkit.Credentials().located("acme-x", "environment variable X_{KEY}")
    refreshed = creds.with_values(access_token=SECRET)
    with pytest.raises(socialkit.CredentialsError, match=r"of account 'acme-x'.*X_REFRESH_TOKEN"):
        refreshed.with_values(refresh_token=None).require("refresh_token")
    # Where they came from is not part of the value: equal values are equal credentials,
    # and nothing about it is dumped.
    plain = socialkit.Credentials().with_values(access_token=SECRET)
    assert refreshed == plain
    assert refreshed.model_dump() == plain.model_dump()
    assert pickle.loads(pickle.dumps(refreshed)).require("access_token") == SECRET


def test_unlocated_credentials_keep_the_short_message() -> None:
    with pytest.raises(socialkit.CredentialsError) as info:
        socialkit.Credentials().require("access_token")
    assert str(info.value) == "credential 'access_token' is missing (have: [])"


async def test_the_library_s_providers_say_where_a_missing_key_is_set(tmp_path) -> None:
    """Not only the command line: an application's provider names the variable or the
    secrets-file key, and never a value."""
    from socialkit.errors import CredentialsError
    from socialkit.models.account import Account
    from socialkit.platforms.credentials import EnvCredentialProvider, FileCredentialProvider

    account = Account(id="acme-x", platform="feed", handle="acme")
    env = EnvCredentialProvider(environ={"SOCIALKIT_ACME_X_OTHER": "hush"})
    with pytest.raises(CredentialsError) as caught:
        (await env.load(account)).require("access_token")
    assert "of account 'acme-x'" in str(caught.value)
    assert "environment variable SOCIALKIT_ACME_X_ACCESS_TOKEN" in str(caught.value)
    assert "hush" not in str(caught.value)
    secrets = tmp_path / "secrets.json"
    secrets.write_text('{"acme-x": {"other": "hush"}}')
    secrets.chmod(0o600)
    with pytest.raises(CredentialsError) as caught:
        (await FileCredentialProvider(secrets).load(account)).require("access_token")
    assert f"key \"access_token\" of entry 'acme-x' in secrets file {secrets}" in str(caught.value)
    assert "hush" not in str(caught.value)
