from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

import socialkit

ACCOUNT = socialkit.Account(id="acme-bsky", platform="feed", handle="acme")


async def test_env_provider_reads_prefixed_variables() -> None:
    provider = socialkit.EnvCredentialProvider(
        environ={"SOCIALKIT_ACME_BSKY_APP_PASSWORD": "pw-1", "SOCIALKIT_OTHER_TOKEN": "nope"}
    )
    creds = await provider.load(ACCOUNT)
    assert creds.reveal() == {"app_password": "pw-1"}
    assert provider.variable(ACCOUNT, "app_password") == "SOCIALKIT_ACME_BSKY_APP_PASSWORD"
    await provider.save(ACCOUNT, creds.with_values(access_jwt="jwt"))
    assert (await provider.load(ACCOUNT)).get("access_jwt") == "jwt"


async def test_file_provider_saves_atomically_with_mode_600(tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    provider = socialkit.FileCredentialProvider(path)
    assert (await provider.load(ACCOUNT)).values == {}
    await provider.save(ACCOUNT, socialkit.Credentials().with_values({"token": "tok-8f3a9c"}))
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert (await provider.load(ACCOUNT)).get("token") == "tok-8f3a9c"
    assert "tok-8f3a9c" not in repr(provider)


async def test_file_provider_refuses_a_world_readable_file(tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    path.write_text("{}")
    os.chmod(path, 0o644)
    with pytest.raises(socialkit.CredentialsError, match="chmod 600"):
        await socialkit.FileCredentialProvider(path).load(ACCOUNT)


async def test_file_provider_lock_serialises_refreshes(tmp_path: Path) -> None:
    provider = socialkit.FileCredentialProvider(tmp_path / "secrets.json")
    inside = 0
    most = 0

    async def refresh() -> None:
        nonlocal inside, most
        async with provider.lock(ACCOUNT):
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0)
            inside -= 1

    await asyncio.gather(*(refresh() for _ in range(5)))
    assert most == 1


async def test_callable_provider_accepts_sync_and_async_functions() -> None:
    saved: dict[str, socialkit.Credentials] = {}

    async def load(account: socialkit.Account) -> dict[str, str]:
        return {"token": f"for-{account.id}"}

    provider = socialkit.CallableCredentialProvider(
        load, save=lambda a, c: saved.__setitem__(a.id, c)
    )
    assert (await provider.load(ACCOUNT)).get("token") == "for-acme-bsky"
    await provider.save(ACCOUNT, socialkit.Credentials())
    assert "acme-bsky" in saved

    bad = socialkit.CallableCredentialProvider(lambda account: 42)  # type: ignore[arg-type,return-value]
    with pytest.raises(socialkit.CredentialsError, match="returned int"):
        await bad.load(ACCOUNT)


async def test_env_provider_refuses_account_ids_that_read_the_same_variables() -> None:
    with pytest.raises(socialkit.CredentialsError) as named:
        socialkit.EnvCredentialProvider(environ={}, accounts=["acme-bsky", "acme.bsky"])
    assert str(named.value).startswith(
        "accounts 'acme-bsky' and 'acme.bsky' would read the same environment variables "
        "SOCIALKIT_ACME_BSKY_<KEY>"
    )
    # without the list, the second id that collides is refused when it loads
    provider = socialkit.EnvCredentialProvider(environ={"SOCIALKIT_ACME_BSKY_TOKEN": "t-1"})
    assert (await provider.load(ACCOUNT)).get("token") == "t-1"
    twin = ACCOUNT.model_copy(update={"id": "acme.bsky"})
    with pytest.raises(socialkit.CredentialsError, match=r"'acme-bsky' and 'acme\.bsky'"):
        await provider.load(twin)


async def test_env_provider_leaves_a_longer_account_id_its_own_variables() -> None:
    environ = {"SOCIALKIT_ACME_TOKEN": "mine", "SOCIALKIT_ACME_BSKY_APP_PASSWORD": "theirs"}
    acme = ACCOUNT.model_copy(update={"id": "acme"})
    provider = socialkit.EnvCredentialProvider(environ=environ, accounts=[acme, ACCOUNT])
    assert (await provider.load(acme)).reveal() == {"token": "mine"}
    assert (await provider.load(ACCOUNT)).reveal() == {"app_password": "theirs"}


@pytest.mark.parametrize("expires_at", ["tomorrow", "2030-01-31T12:00:00", 1893456000])
async def test_file_provider_names_a_bad_expiry(tmp_path: Path, expires_at: object) -> None:
    path = tmp_path / "secrets.json"
    path.write_text(json.dumps({"acme-bsky": {"token": "t", "expires_at": expires_at}}))
    os.chmod(path, 0o600)
    with pytest.raises(socialkit.CredentialsError) as bad:
        await socialkit.FileCredentialProvider(path).load(ACCOUNT)
    assert str(bad.value) == (
        f"secrets file {path}: acme-bsky.expires_at must be an ISO 8601 time with a UTC "
        f"offset, such as '2030-01-31T12:00:00+00:00' (got {expires_at!r})"
    )
    path.write_text(
        json.dumps({"acme-bsky": {"token": "t", "expires_at": "2030-01-31T12:00:00+00:00"}})
    )
    loaded = await socialkit.FileCredentialProvider(path).load(ACCOUNT)
    assert loaded.expires_at is not None
    assert loaded.expires_at.isoformat() == "2030-01-31T12:00:00+00:00"
