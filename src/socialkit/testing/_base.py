"""The machinery under :class:`~socialkit.testing.PlatformContract`: switches, hooks, runner."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, ClassVar

import httpx
import pytest

from socialkit.platforms.base import Platform
from socialkit.platforms.base import overrides as _overrides
from socialkit.platforms.capabilities import Idempotency
from socialkit.testing._guard import standard_violations
from socialkit.testing.factories import SAMPLE_SECRET, FrozenClock, make_account, make_post

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine, Iterator, Sequence
    from pathlib import Path

    from socialkit.models.account import Account
    from socialkit.models.content import Post
    from socialkit.models.credentials import Credentials
    from socialkit.models.media import Media
    from socialkit.models.receipt import PostRef, Receipt
    from socialkit.testing.harness import Harness

__all__ = ["FEATURES", "SERVER_ERRORS", "ContractBase"]

SERVER_ERRORS = (500, 502, 503, 504)
"""The statuses the kit answers with when the platform fails after it got a request: a
gateway or load balancer in front of it says 502, 503 or 504 just as often as it says 500,
and the request may have been acted on in every case."""

# Loggers whose lines the secret scan ignores: they belong to the HTTP library, and the
# application decides their level (httpx logs full URLs at INFO).
_FOREIGN_LOGGERS = ("httpx", "httpcore", "hpack", "asyncio")


FEATURES: dict[str, tuple[str, Callable[[type[Platform]], bool], str]] = {
    # feature: (switch on the test class, what the adapter declares, where that is read)
    "threads": (
        "supports_threads",
        lambda p: p.capabilities.threads,
        "capabilities.threads",
    ),
    "media": (
        "supports_media",
        lambda p: (
            p.capabilities.media.max_images > 0
            and bool({"image/png", "image/jpeg"} & p.capabilities.media.image_types)
        ),
        "capabilities.media (max_images, image_types with PNG or JPEG)",
    ),
    "delete": ("supports_delete", lambda p: p.capabilities.delete, "capabilities.delete"),
    "metrics": (
        "supports_metrics",
        lambda p: bool(p.capabilities.metrics),
        "capabilities.metrics",
    ),
    "idempotency_key": (
        "supports_idempotency_key",
        lambda p: p.capabilities.idempotency == Idempotency.KEY,
        "capabilities.idempotency == Idempotency.KEY",
    ),
    "find_published": (
        "supports_find_published",
        lambda p: (
            p.capabilities.idempotency == Idempotency.LOOKUP or _overrides(p, "find_published")
        ),
        "capabilities.idempotency == Idempotency.LOOKUP, or find_published() implemented",
    ),
    "rate_limit_reports": (
        "supports_rate_limit_reports",
        lambda p: p.capabilities.rate_limit_headers is not None,
        "capabilities.rate_limit_headers",
    ),
    "refresh": (
        "supports_refresh",
        lambda p: _overrides(p, "refresh_credentials"),
        "refresh_credentials() implemented",
    ),
}
"""The parts of the contract an adapter switches on, and where each is read from."""


class ContractBase:
    """Switches, the fake platform's hooks, and the runner every standard test uses.

    Subclass :class:`~socialkit.testing.PlatformContract`, not this.
    """

    platform: ClassVar[type[Platform]]
    """The adapter class under test."""

    uses_http: ClassVar[bool] = True
    """Whether the adapter talks HTTP. Tests of network faults need it; an adapter that
    does not (the built-in ``feed``) sets ``False`` and any HTTP request then fails."""

    # Switches: ``None`` reads what the adapter declares (see FEATURES). A switch set
    # against the declaration fails test_capability_switches_agree_with_the_adapter, so a
    # part of the contract is never turned off quietly; use @override with a reason.
    supports_threads: ClassVar[bool | None] = None
    supports_media: ClassVar[bool | None] = None
    supports_delete: ClassVar[bool | None] = None
    supports_metrics: ClassVar[bool | None] = None
    supports_idempotency_key: ClassVar[bool | None] = None
    supports_find_published: ClassVar[bool | None] = None
    supports_rate_limit_reports: ClassVar[bool | None] = None
    supports_refresh: ClassVar[bool | None] = None

    public_credential_keys: ClassVar[frozenset[str]] = frozenset()
    """Credential keys whose values are not secret, so the secret scan skips them: an
    account's id or handle that the adapter stores beside its tokens (Bluesky's ``did``,
    which every post's URI shows)."""

    tmp_path: Path
    """A fresh directory for this test (set before each test)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__module__.startswith("socialkit.testing."):
            return
        problems = standard_violations(cls)
        if problems:
            raise TypeError("; ".join(problems))

    # -- what the adapter's test class provides ---------------------------------------------

    def handler(self, request: httpx.Request) -> httpx.Response:
        """The fake platform: answer one request as the platform would (sync or async).

        Keep its state on ``self`` (a new instance serves each test). Request and response
        shapes come from the platform's documentation. Adapters that do not use HTTP
        leave this alone: any request then fails the test.
        """
        raise AssertionError(
            f"{type(self).__name__} got an HTTP request ({request.method} {request.url}) but "
            "defines no handler(); implement handler() as the fake platform, or set "
            "uses_http = False"
        )

    def account_settings(self) -> dict[str, Any]:
        """Adapter settings of the test account (an instance URL, a directory)."""
        return {}

    def account(self) -> Account:
        """The account the adapter acts as."""
        return make_account(self.platform.name, settings=self.account_settings())

    def credentials(self) -> Credentials:
        """The account's credentials. Use :data:`SAMPLE_SECRET` (or ``self.secret``) as a
        token value, so the kit can check that it never leaks."""
        from socialkit.testing.factories import make_credentials

        return make_credentials(access_token=self.secret)

    @property
    def secret(self) -> str:
        """The sample token the kit scans logs, receipts and errors for."""
        return SAMPLE_SECRET

    def post(self, text: str, *, thread: Sequence[str] = (), media: Sequence[Media] = ()) -> Post:
        """The post the kit publishes. Override when the platform needs more (media)."""
        return make_post(text, thread=thread, media=media)

    def published_ids(self) -> set[str]:
        """The ids of every post (every thread part) the fake platform holds now.

        The kit compares them with receipts: a publication must add exactly its parts, a
        retry with the same idempotency key nothing, a delete must remove them.
        """
        raise NotImplementedError(
            f"{type(self).__name__} must implement published_ids() so the kit can see what "
            "the fake platform holds"
        )

    def seed_metrics(self, receipt: Receipt, counts: dict[str, int]) -> None:
        """Make the fake platform report ``counts`` for the post of ``receipt``.

        Needed when the adapter declares ``capabilities.metrics``.
        """
        raise NotImplementedError(
            f"{type(self).__name__} declares metrics; implement seed_metrics() so the fake "
            "platform reports the counts the kit sets"
        )

    def creates_post(self, request: httpx.Request) -> bool:
        """Whether ``request`` creates a post (one per thread part); faults target these.

        By default every POST and PUT. Override when the adapter also POSTs other things
        (media uploads, sessions) so that faults hit the post itself.
        """
        return request.method in {"POST", "PUT"}

    def replies_to(self, request: httpx.Request, previous: PostRef) -> bool:
        """Whether ``request``, which creates a thread part, replies to the part before it.

        By default: the previous part's id (or URL) is in the request's URL or body.
        Override when the platform names the parent another way.
        """
        needles = [previous.id, *([previous.url] if previous.url else [])]
        return any(
            needle.encode() in request.content or needle in str(request.url) for needle in needles
        )

    def rate_limited_response(self, request: httpx.Request) -> httpx.Response:
        """The platform's "slow down" answer. By default 429 with ``Retry-After: 60``."""
        return httpx.Response(429, headers={"Retry-After": "60"}, json={"error": "rate limited"})

    def expired_credentials_response(self, request: httpx.Request) -> httpx.Response:
        """The platform's "access token expired" answer. By default a 401."""
        return httpx.Response(
            401, json={"error": "invalid_token", "error_description": "The token expired"}
        )

    def refused_refresh_response(self, request: httpx.Request) -> httpx.Response:
        """The platform's refusal to renew credentials (a revoked or used refresh token).

        By default OAuth 2's 400 ``invalid_grant`` (RFC 6749, section 5.2).
        """
        return httpx.Response(
            400, json={"error": "invalid_grant", "error_description": "The grant is invalid"}
        )

    def rejected_response(self, request: httpx.Request) -> httpx.Response:
        """The platform's permanent refusal of a post. By default a 422."""
        return httpx.Response(422, json={"error": "Validation failed: Text is invalid"})

    def server_error_response(self, request: httpx.Request) -> httpx.Response:
        """The platform failing after it got the request. By default a 500.

        The kit sends it with each of :data:`SERVER_ERRORS` as its status (a gateway's
        502, 503 and 504 too), headers and body unchanged.
        """
        return httpx.Response(500, json={"error": "internal server error"})

    def _server_error_answers(
        self,
    ) -> list[tuple[int, Callable[[httpx.Request], httpx.Response]]]:
        """:meth:`server_error_response` as each status of :data:`SERVER_ERRORS`."""
        build = self.server_error_response
        return [(status, _with_status(build, status)) for status in SERVER_ERRORS]

    # -- switches --------------------------------------------------------------------------

    def supports(self, feature: str) -> bool:
        """Whether the adapter has ``feature`` (``"http"`` or a key of :data:`FEATURES`)."""
        if feature == "http":
            return self.uses_http
        switch, declared, _ = FEATURES[feature]
        value = getattr(self, switch)
        return declared(self.platform) if value is None else bool(value)

    def _skip_unless_supported(
        self, name: str, requires: tuple[str, ...], unless: tuple[str, ...]
    ) -> None:
        for feature in requires:
            if not self.supports(feature):
                pytest.skip(f"{name}: {self.platform.name} {self._describe(feature, False)}")
        for feature in unless:
            if self.supports(feature):
                pytest.skip(f"{name}: {self.platform.name} {self._describe(feature, True)}")

    def _describe(self, feature: str, present: bool) -> str:
        if feature == "http":
            return "talks HTTP" if present else "does not talk HTTP (uses_http = False)"
        switch, _, where = FEATURES[feature]
        source = f"read from {where}"
        if getattr(self, switch) is not None:
            source = f"set by {switch} = {getattr(self, switch)}"
        return f"{'has' if present else 'lacks'} {feature} ({source})"

    # -- running ---------------------------------------------------------------------------

    @pytest.fixture(autouse=True)
    def _socialkit_contract_setup(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> Iterator[None]:
        if not isinstance(getattr(type(self), "platform", None), type):
            raise AssertionError(
                f"{type(self).__name__} must set `platform = <your Platform subclass>`"
            )
        self.tmp_path = tmp_path
        self._issued_secrets: set[str] = set()
        caplog.set_level(logging.DEBUG)
        yield
        records = [*caplog.get_records("setup"), *caplog.get_records("call"), *caplog.records]
        for record in records:
            if record.name.split(".")[0] in _FOREIGN_LOGGERS:
                continue
            line = logging.Formatter().format(record)
            self.assert_no_secret(line, where=f"a log line of {record.name!r}")

    def secrets(self) -> list[str]:
        """Every secret value the test account holds (long enough to search for): its
        credentials, and every value saved through the provider during the test (tokens
        the fake issued on a refresh or a login), from the moment it was saved."""
        issued: set[str] = getattr(self, "_issued_secrets", set())
        values = {SAMPLE_SECRET, *self._secret_values(self.credentials()), *issued}
        return sorted(v for v in values if len(v) >= 8)

    def _secret_values(self, credentials: Credentials) -> list[str]:
        public = self.public_credential_keys
        return [value for key, value in credentials.reveal().items() if key not in public]

    def _remember_secrets(self, credentials: Credentials) -> None:
        """Scan for the values of ``credentials`` too from now on (saved during the test)."""
        if not hasattr(self, "_issued_secrets"):
            self._issued_secrets = set()
        self._issued_secrets.update(self._secret_values(credentials))

    def assert_no_secret(self, text: str, *, where: str) -> None:
        """Fail when ``text`` contains one of :meth:`secrets`."""
        for value in self.secrets():
            if value in text:
                raise AssertionError(f"a credential value appears in {where}")

    def mask_secrets(self, text: str) -> str:
        """``text`` with every one of :meth:`secrets` replaced by ``***`` (for a failure
        message that quotes what the adapter raised)."""
        for value in sorted(self.secrets(), key=len, reverse=True):
            text = text.replace(value, "***")
        return text

    async def _run_scenario(
        self, scenario: Callable[[Any, Harness], Coroutine[Any, Any, None]]
    ) -> None:
        from socialkit.models.media_store import LocalMediaStore
        from socialkit.testing.harness import Harness
        from socialkit.testing.transport import FaultyTransport

        transport = FaultyTransport(self.handler)
        async with httpx.AsyncClient(transport=transport) as http:
            harness = Harness(
                self,
                http=http,
                transport=transport,
                media=LocalMediaStore(self.tmp_path / "socialkit-media"),
                clock=FrozenClock(),
            )
            try:
                await scenario(self, harness)
            finally:
                # Credentials the fake issued are secrets too (the provider records each
                # save as it happens; this catches credentials replaced another way).
                current = await harness.provider.load(harness.account)
                self._remember_secrets(current)


def _with_status(
    build: Callable[[httpx.Request], httpx.Response], status: int
) -> Callable[[httpx.Request], httpx.Response]:
    """``build``'s response with ``status`` in place of its own."""

    def respond(request: httpx.Request) -> httpx.Response:
        response = build(request)
        response.read()
        if response.status_code == status:
            return response
        return httpx.Response(status, headers=response.headers, content=response.content)

    return respond
