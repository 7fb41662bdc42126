"""pytest fixtures for plugin authors, loaded through the ``pytest11`` entry point.

Kept import-light: it must not slow down test runs that do not use socialkit, so every
socialkit import happens inside a fixture.

Fixtures:
    socialkit_media_store: a fresh :class:`~socialkit.LocalMediaStore` in ``tmp_path``.
    socialkit_clock: a :class:`~socialkit.testing.FrozenClock`.
    socialkit_account: a factory, ``socialkit_account("pigeon", settings={...})``.
    socialkit_credentials: a factory, ``socialkit_credentials(access_token="...")``.
    socialkit_transport: a factory, ``socialkit_transport(handler)`` giving a
        :class:`~socialkit.testing.FaultyTransport` over a fake platform.
    socialkit_context: a factory for a :class:`~socialkit.Context` over a handler, with
        the fixtures above as defaults.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from socialkit.models.account import Account
    from socialkit.models.credentials import Credentials
    from socialkit.models.media_store import LocalMediaStore
    from socialkit.platforms.context import Context
    from socialkit.testing.factories import FrozenClock
    from socialkit.testing.transport import FaultyTransport, Handler


@pytest.fixture
def socialkit_media_store(tmp_path: Path) -> LocalMediaStore:
    """A fresh :class:`~socialkit.LocalMediaStore` in a temporary directory."""
    from socialkit.models.media_store import LocalMediaStore

    return LocalMediaStore(tmp_path / "socialkit-media")


@pytest.fixture
def socialkit_clock() -> FrozenClock:
    """A clock standing at 2026-03-14 15:09:26 UTC until you ``advance()`` it."""
    from socialkit.testing.factories import FrozenClock

    return FrozenClock()


@pytest.fixture
def socialkit_account() -> Callable[..., Account]:
    """A factory for test accounts: ``socialkit_account("pigeon", settings={...})``."""
    from socialkit.testing.factories import make_account

    return make_account


@pytest.fixture
def socialkit_credentials() -> Callable[..., Credentials]:
    """A factory for credentials; ``access_token`` is :data:`~socialkit.testing.SAMPLE_SECRET`
    unless given."""
    from socialkit.testing.factories import make_credentials

    return make_credentials


@pytest.fixture
def socialkit_transport() -> Callable[[Handler], FaultyTransport]:
    """A factory for a recording, fault-injecting transport over a fake platform."""
    from socialkit.testing.transport import FaultyTransport

    return FaultyTransport


@pytest.fixture
def socialkit_context(
    socialkit_media_store: LocalMediaStore,
    socialkit_clock: FrozenClock,
) -> Callable[..., Context]:
    """A factory for an adapter :class:`~socialkit.Context` over a fake platform.

    Call it as ``socialkit_context(account, handler, credentials=None, **fields)``;
    ``handler`` may be a function (wrapped in a :class:`~socialkit.testing.FaultyTransport`)
    or a transport. Other keyword arguments set :class:`~socialkit.Context` fields
    (``idempotency_keys``, ``published_parts``...). The client needs no closing: its
    transport holds no connections.
    """

    def build(
        account: Account,
        handler: Handler | FaultyTransport,
        *,
        credentials: Credentials | None = None,
        **fields: Any,
    ) -> Context:
        import httpx

        from socialkit.platforms.context import Context
        from socialkit.testing.factories import make_credentials
        from socialkit.testing.transport import FaultyTransport

        transport = handler if isinstance(handler, FaultyTransport) else FaultyTransport(handler)
        fields.setdefault("idempotency_keys", ("test-key-0",))
        return Context(
            account=account,
            credentials=credentials or make_credentials(),
            http=httpx.AsyncClient(transport=transport),
            media=socialkit_media_store,
            clock=socialkit_clock,
            **fields,
        )

    return build
