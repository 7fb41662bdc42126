"""The project's credential provider as the commands use it: the credentials it loads
name their account and where a person sets a key, so the error for a missing one says
what to do (``credential 'access_token' of account 'acme-x' is missing (have: []); set
environment variable SOCIALKIT_ACME_X_ACCESS_TOKEN``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from contextlib import AbstractAsyncContextManager

    from socialkit.config import ProjectConfig
    from socialkit.models.account import Account
    from socialkit.models.credentials import Credentials
    from socialkit.platforms.credentials import CredentialProvider

__all__ = ["LocatingProvider", "project_credentials", "where_to_set"]


def project_credentials(config: ProjectConfig) -> LocatingProvider:
    """The project's configured provider, its credentials located."""
    return LocatingProvider(config.credential_provider())


def where_to_set(provider: CredentialProvider, account: Account) -> str | None:
    """Where ``provider`` reads a key of ``account``, with ``{KEY}`` / ``{key}`` for the
    key (see :meth:`Credentials.located`); ``None`` for a provider that does not say."""
    from socialkit.platforms.credentials import (
        EnvCredentialProvider,
        FileCredentialProvider,
        env_stem,
    )

    if isinstance(provider, EnvCredentialProvider):
        return f"environment variable {env_stem(provider.prefix, account.id)}{{KEY}}"
    if isinstance(provider, FileCredentialProvider):
        return f'key "{{key}}" of entry {account.id!r} in secrets file {provider.path}'
    return None


class LocatingProvider:
    """``provider``, with each account's credentials :meth:`~Credentials.located`."""

    def __init__(self, provider: CredentialProvider) -> None:
        self.provider = provider

    def __repr__(self) -> str:
        return repr(self.provider)

    async def load(self, account: Account) -> Credentials:
        credentials = await self.provider.load(account)
        return credentials.located(account.id, where_to_set(self.provider, account))

    async def save(self, account: Account, credentials: Credentials) -> None:
        await self.provider.save(account, credentials)

    def lock(self, account: Account) -> AbstractAsyncContextManager[None]:
        return self.provider.lock(account)
