"""The adapter contract every platform implements, first- or third-party."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import attrs

from socialkit.errors import NeedsReauth, UnknownOutcome, Unsupported

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from pydantic import JsonValue

    from socialkit.models.account import Account
    from socialkit.models.content import Draft
    from socialkit.models.credentials import Credentials
    from socialkit.models.metrics import MetricSnapshot
    from socialkit.models.problems import Problem
    from socialkit.models.receipt import Receipt
    from socialkit.platforms.capabilities import Capabilities
    from socialkit.platforms.context import Context

__all__ = ["CONTRACT", "CONTRACT_MIN", "AccountIdentity", "Platform"]

CONTRACT = 1
"""The adapter contract this socialkit implements. A new required method raises it."""
CONTRACT_MIN = 1
"""The oldest contract number socialkit still loads."""


@attrs.frozen(kw_only=True)
class AccountIdentity:
    """Who an account is on its platform, as :meth:`Platform.verify_account` found it."""

    platform_account_id: str
    handle: str
    display_name: str | None = None


class Platform:
    """Base class of a platform adapter.

    A subclass names its platform, states the contract number it implements, declares its
    :class:`Capabilities`, and implements :meth:`publish`. Everything else has a safe
    default. Methods are ``async`` and receive a frozen :class:`Context`; adapters keep no
    per-account state on ``self`` (one instance serves every account), except caches.

    Example::

        import socialkit

        class Pigeon(socialkit.Platform):
            name = "pigeon"
            contract = 1
            capabilities = socialkit.Capabilities(text=socialkit.text.rules.FEED)

            async def publish(self, draft, ctx):
                if len(draft.parts) > 1:  # no threads: never publish the first part alone
                    raise socialkit.Rejected("pigeon has no threads")
                response = await ctx.http.post(
                    "https://pigeon.example/api/posts",
                    json={"text": draft.text},
                    headers={"Idempotency-Key": ctx.idempotency_key(0)},
                )
                ...  # map failures onto socialkit.errors (see the plugin guide)
                ref = socialkit.PostRef(id=response.json()["id"])
                await ctx.checkpoint(0, ref)  # right after the platform accepts the part
                return socialkit.Receipt(
                    platform=self.name,
                    account_id=ctx.account.id,
                    parts=(ref,),
                    published_at=ctx.now(),
                )

        @socialkit.hookimpl
        def register_platforms(register):
            register(Pigeon)

    Errors: raise the :mod:`socialkit.errors` class that says what happened
    (:class:`~socialkit.errors.Transient` only when the request provably did not take
    effect; :class:`~socialkit.errors.UnknownOutcome` when a write may have happened).
    """

    name: ClassVar[str]
    """The platform's name, lower case (``"mastodon"``); accounts refer to it."""
    contract: ClassVar[int]
    """The contract number this adapter implements (see :data:`CONTRACT`)."""
    capabilities: ClassVar[Capabilities]
    """Default capabilities, usable offline."""
    title: ClassVar[str | None] = None
    """A display name (``"Mastodon"``); defaults to ``name``."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} platform={self.name!r}>"

    async def resolve_capabilities(self, ctx: Context) -> Capabilities:
        """The capabilities for this account's server; by default the class's own."""
        return self.capabilities

    def check_draft(self, draft: Draft) -> list[Problem]:
        """Problems only this adapter can see in ``draft``, offline: its own
        ``options`` (a Mastodon visibility that does not exist, say). :func:`validate`
        adds them to the capabilities' checks, so they stop a post when it is validated
        or scheduled, not when it is due. By default none.
        """
        return []

    def project_settings(self, account: Account, base_dir: Path) -> dict[str, JsonValue]:
        """``account``'s settings as declared in a project file in ``base_dir`` (absolute).

        A setting naming a file or a directory is relative to the project file, not to the
        current directory of whichever process publishes: return the settings with such
        paths made absolute from ``base_dir`` (``~`` expanded), and a default path that
        would be relative made explicit. :func:`~socialkit.load_config` calls this once
        for each account it reads, so the account (and the store's copy of it) names the
        same place in every process; accounts made in code never pass through it. By
        default the settings unchanged.
        """
        return dict(account.settings)

    async def publish(self, draft: Draft, ctx: Context) -> Receipt:
        """Publish ``draft`` (every part, in order) and return one reference per part.

        Resume a thread after ``ctx.published_parts``; call ``ctx.checkpoint`` after each
        part; use ``ctx.idempotency_key(i)`` where the platform accepts one.
        """
        raise NotImplementedError

    async def delete(self, receipt: Receipt, ctx: Context) -> None:
        """Delete every part of a published post. By default: :class:`Unsupported`."""
        raise Unsupported(f"{self.name} cannot delete posts")

    async def fetch_metrics(
        self, receipts: Sequence[Receipt], ctx: Context
    ) -> list[MetricSnapshot]:
        """Current counts for ``receipts`` (and, optionally, the account). By default none."""
        return []

    async def find_published(self, draft: Draft, ctx: Context) -> Receipt | None:
        """Look for a post this publication may already have made (reconciliation).

        Return its receipt when found, ``None`` when it certainly does not exist, and
        raise :class:`~socialkit.errors.UnknownOutcome` when it cannot tell; then a
        person decides. The default cannot tell.

        For a thread, a receipt with fewer parts than ``draft`` says those parts exist
        and the later ones certainly do not: the engine keeps them and sends the rest
        after them. When a later part may exist but cannot be seen yet, raise
        ``UnknownOutcome`` instead (or checkpoint the parts found and return ``None``).
        """
        raise UnknownOutcome(f"{self.name} cannot look for published posts")

    async def refresh_credentials(self, ctx: Context) -> Credentials:
        """New credentials after :class:`~socialkit.errors.AuthExpired`.

        Called under the provider's per-account lock; the engine saves the result.
        By default a person must reconnect the account (:class:`NeedsReauth`).
        """
        raise NeedsReauth(f"{self.name} cannot refresh credentials; reconnect the account")

    async def verify_account(self, ctx: Context) -> AccountIdentity | None:
        """Check the credentials and say who the account is; ``None`` if unsupported."""
        return None


def overrides(cls: type[Platform], method: str) -> bool:
    """Whether adapter class ``cls`` implements ``method`` itself (not :class:`Platform`'s
    default): for the engine and the contract kit, not part of the plugin contract."""
    return getattr(cls, method) is not getattr(Platform, method)


def undelivered_capabilities(cls: type[Platform]) -> list[str]:
    """What ``cls.capabilities`` promise that the class leaves to :class:`Platform`'s
    default, one message each naming the capability and the missing method: a declared
    ``delete`` (the default) without ``delete()``, ``metrics`` without
    ``fetch_metrics()``, ``Idempotency.LOOKUP`` without ``find_published()``.

    The registry reports these when a class registers; the contract kit fails on them.
    """
    from socialkit.platforms.capabilities import Idempotency

    capabilities = cls.capabilities
    name = cls.__name__
    missing = []
    if capabilities.delete and not overrides(cls, "delete"):
        missing.append(
            f"{name}.capabilities.delete is True (the default) but {name} does not implement "
            "delete() (Platform's raises Unsupported): implement delete(), or declare "
            "delete=False"
        )
    if capabilities.metrics and not overrides(cls, "fetch_metrics"):
        missing.append(
            f"{name}.capabilities.metrics names {sorted(capabilities.metrics)} but {name} does "
            "not implement fetch_metrics() (Platform's reports nothing): implement it, or "
            "declare no metrics"
        )
    if capabilities.idempotency is Idempotency.LOOKUP and not overrides(cls, "find_published"):
        missing.append(
            f"{name}.capabilities.idempotency is LOOKUP but {name} does not implement "
            "find_published() (Platform's cannot tell: UnknownOutcome): implement it, or "
            "declare Idempotency.NONE"
        )
    return missing
