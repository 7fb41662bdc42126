"""The base of :class:`~socialkit.schedule.AsyncScheduler`: its lifecycle, the loop it
belongs to, and the accounts it acts for."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Self

from socialkit.errors import ConfigError, StoreError
from socialkit.models.account import Account
from socialkit.schedule._arguments import (
    AccountsArg,
    account_items,
    check_accounts,
    check_actor,
)
from socialkit.schedule._home import Home, at_home
from socialkit.schedule.approval import OnRequest
from socialkit.schedule.engine.clock import SystemClock
from socialkit.schedule.engine.config import EngineConfig
from socialkit.schedule.engine.events import Notifier
from socialkit.schedule.engine.services import Services
from socialkit.schedule.records import PublicationQuery
from socialkit.schedule.stores import store_from_url

if TYPE_CHECKING:
    import builtins
    from collections.abc import Iterable

    import httpx

    from socialkit.models.campaign import Campaign
    from socialkit.models.media_store import MediaStore
    from socialkit.platforms.credentials import CredentialProvider
    from socialkit.platforms.registry import Registry
    from socialkit.schedule.approval import ApprovalPolicy
    from socialkit.schedule.engine.clock import Clock
    from socialkit.schedule.publication import Publication
    from socialkit.schedule.records import AccountRecord
    from socialkit.schedule.stores.base import Store

log = logging.getLogger("socialkit.schedule")


class SchedulerCore:
    """What every part of :class:`AsyncScheduler` stands on: the store, its services and
    the workspace's accounts."""

    def __init__(
        self,
        store: str | Store = "sqlite:///socialkit.db",
        *,
        registry: Registry | None = None,
        credentials: CredentialProvider | None = None,
        media: MediaStore | None = None,
        http: httpx.AsyncClient | None = None,
        clock: Clock | None = None,
        config: EngineConfig | None = None,
        approval: ApprovalPolicy | None = None,
        campaigns: Iterable[Campaign] = (),
        accounts: Iterable[Account] = (),
        workspace: str = "default",
    ) -> None:
        self.store: Store = store_from_url(store) if isinstance(store, str) else store
        self.clock: Clock = clock or SystemClock()
        self.config = config or EngineConfig()
        self.approval: ApprovalPolicy = approval or OnRequest()
        self.workspace = workspace
        self._registry = registry
        self._credentials = credentials
        self._media = media
        self._http = http
        self._campaigns = {c.id: c for c in campaigns}
        self._initial_accounts = tuple(accounts)
        for index, account in enumerate(self._initial_accounts):
            self._check_workspace(account, f"accounts[{index}]")
        self._services: Services | None = None
        self._open_lock = asyncio.Lock()
        # The loop this scheduler's connections and locks belong to (see _home).
        self._home = Home("this AsyncScheduler", in_use=lambda: self._services is not None)

    def __repr__(self) -> str:
        return f"AsyncScheduler({self.store!r}, worker={self.config.worker_id!r})"

    # -- lifecycle ------------------------------------------------------------------------

    @at_home
    async def open(self) -> None:
        """Open the store (migrating it) and store the initial accounts. Idempotent."""
        async with self._open_lock:
            if self._services is not None:
                return
            from socialkit.models.media_store import default_media_store
            from socialkit.platforms.credentials import EnvCredentialProvider
            from socialkit.platforms.registry import get_registry

            registry = self._registry or get_registry()
            await self.store.open()
            self._services = Services(
                store=self.store,
                registry=registry,
                credentials=self._credentials or EnvCredentialProvider(),
                media=self._media or default_media_store(),
                clock=self.clock,
                config=self.config,
                notifier=Notifier(registry),
                campaigns=self._campaigns,
                http_client=self._http,
            )
            for account in self._initial_accounts:
                await self.store.put_account(account, now=self.clock.now())

    async def close(self) -> None:
        """Close the HTTP client (if it is ours) and the store; the next call may come
        from another event loop.

        After the loop it was used on has ended, its HTTP connections are dropped (they
        died with it) and the store is closed from this loop.
        """
        if self._home.ended():
            services, self._services = self._services, None
            if services is not None:
                try:
                    await asyncio.wait_for(self.store.close(), timeout=5.0)
                except Exception as exc:
                    log.warning("the store could not be closed after its loop ended: %r", exc)
            self._forget_loop()
            return
        await self._close()

    @at_home
    async def _close(self) -> None:
        services, self._services = self._services, None
        if services is not None:
            await services.aclose()
            await self.store.close()
        self._forget_loop()

    def _forget_loop(self) -> None:
        """Nothing of the loop stays: the next call binds the loop it runs on."""
        self._open_lock = asyncio.Lock()
        self._home.release()

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _s(self) -> Services:
        if self._services is None:
            await self.open()
        assert self._services is not None
        return self._services

    # -- accounts -------------------------------------------------------------------------

    def _check_workspace(self, account: Account, field: str) -> None:
        """Refuse an account of another workspace: stored, it would replace that tenant's
        account; scheduled, its publications would be another tenant's (not in this
        scheduler's ``list()``, not held by its ``pause()``, yet published)."""
        if account.workspace != self.workspace:
            raise ConfigError(
                f"{field}: account {account.id!r} is in workspace {account.workspace!r}, "
                f"and this scheduler acts in {self.workspace!r}; use a Scheduler "
                f"with workspace={account.workspace!r}"
            )

    @at_home
    async def add_account(self, account: Account) -> None:
        """Store (or update) an account. Its credentials stay with the provider.

        Raises:
            ConfigError: the account is another workspace's.
        """
        self._check_workspace(account, "account")
        s = await self._s()
        await s.store.put_account(account, now=s.clock.now())
        s.forget_account(account.workspace, account.id)
        s._stored_accounts.put((account.workspace, account.id), account)

    @at_home
    async def accounts(self) -> builtins.list[AccountRecord]:
        """Stored accounts of this workspace, with their status."""
        s = await self._s()
        return await s.store.list_accounts(workspace=self.workspace)

    @at_home
    async def reconnect(self, account_id: str, *, actor: str = "api") -> None:
        """Mark an account as working again after a person reconnected it; its
        waiting publications become due."""
        check_actor(actor)
        s = await self._s()
        try:
            await s.store.set_account_status(
                account_id,
                "ok",
                now=s.clock.now(),
                workspace=self.workspace,
                reason=f"reconnected by {actor}",
                actor=actor,
            )
        except StoreError:
            await self._refuse_unknown_account(s, account_id, "account_id")
            raise
        s.forget_account(self.workspace, account_id)

    async def _accounts(
        self, accounts: AccountsArg, field: str = "accounts"
    ) -> builtins.list[Account]:
        """``accounts`` as accounts: an id is looked up in the store, an error naming
        ``field`` (``accounts``, or ``accounts[1]`` of a list) when it is not there."""
        s = await self._s()
        one = isinstance(accounts, Account | str)
        items = account_items(accounts, field)
        check_accounts(items, field)
        out = []
        for index, item in enumerate(items):
            if isinstance(item, Account):
                self._check_workspace(item, field)
                await s.store_account(item)
                out.append(item)
            else:
                out.append(
                    await self._stored_account(s, item, field if one else f"{field}[{index}]")
                )
        return out

    async def _stored_account(self, s: Services, account_id: str, field: str) -> Account:
        """The stored account ``account_id`` of this workspace.

        Raises:
            StoreError: it is not stored here: the message names ``field``, the id and
                the workspace's stored accounts (a typo shows next to the right one).
        """
        try:
            return await s.account(self.workspace, account_id)
        except StoreError:
            await self._refuse_unknown_account(s, account_id, field)
            raise

    async def _refuse_unknown_account(self, s: Services, account_id: str, field: str) -> None:
        """Raise the :class:`StoreError` that names ``field`` when ``account_id`` is not
        stored in this workspace; return when it is (the caller's error was another)."""
        stored = sorted(r.account.id for r in await s.store.list_accounts(workspace=self.workspace))
        if account_id in stored:
            return
        raise StoreError(
            f"{field}: no account {account_id!r} in workspace {self.workspace!r} "
            f"(stored accounts: {', '.join(stored) or 'none'}; add_account() stores one)"
        ) from None

    async def _note_unknown_campaign(self, s: Services, campaign: str) -> None:
        """Log a warning when ``campaign``, just paused, is one neither this scheduler's
        ``campaigns`` nor any publication or rule of the workspace has: the switch is
        stored and holds that campaign's publications as they are made (pausing ahead is
        allowed), but a typo would leave the real campaign publishing unnoticed."""
        if campaign in self._campaigns:
            return
        query = PublicationQuery(workspace=self.workspace, campaign=campaign, limit=1)
        if (await s.store.list_publications(query)).items:
            return
        known = {r.campaign for r in await s.store.list_rules(workspace=self.workspace)}
        if campaign in known:
            return
        known |= set(self._campaigns)
        cursor: str | None = None
        while True:  # every publication, a thousand at a time: only on this rare path
            page = await s.store.list_publications(
                PublicationQuery(workspace=self.workspace, cursor=cursor, limit=1000)
            )
            known |= {p.campaign for p in page.items}
            cursor = page.next_cursor
            if cursor is None:
                break
        listed = ", ".join(sorted(c for c in known if c)) or "none"
        log.warning(
            "pause: campaign %r has no publication or rule in workspace %r so far "
            "(campaigns: %s); the switch is on and holds its publications as they are "
            "made. If the name is a typo, resume(campaign=%r) and pause the right one",
            campaign,
            self.workspace,
            listed,
            campaign,
        )

    def _in_workspace(self, publication: Publication) -> Publication:
        """``publication``, unless it is another workspace's: then, as for an unknown id,
        :class:`StoreError` (a tenant's scheduler neither reads nor moves another's)."""
        if publication.workspace != self.workspace:
            raise StoreError(_no_publication(publication.id, self.workspace))
        return publication

    async def _read(
        self, s: Services, publication_id: str, *, history: bool = False
    ) -> Publication:
        """The publication ``publication_id`` of this workspace.

        Raises:
            StoreError: there is none (or it is another workspace's): the message names
                the argument and the id, ``publication_id: no publication 'p…' in
                workspace 'default'``.
        """
        try:
            found = await s.store.get(publication_id, history=history)
        except StoreError as exc:
            # Every store words a missing id so (see the store contract); any other
            # error of the store is passed on as it is.
            if type(exc) is StoreError and str(exc) == f"no publication {publication_id!r}":
                raise StoreError(_no_publication(publication_id, self.workspace)) from None
            raise
        return self._in_workspace(found)

    async def _own(self, publication_id: str) -> Services:
        """The services, once ``publication_id`` is known to be this workspace's."""
        s = await self._s()
        await self._read(s, publication_id)
        return s


def _no_publication(publication_id: str, workspace: str) -> str:
    return f"publication_id: no publication {publication_id!r} in workspace {workspace!r}"
