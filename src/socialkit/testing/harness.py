"""The world one standard test runs in: an adapter, an account, a fake platform, a clock."""

from __future__ import annotations

import base64
import itertools
from typing import TYPE_CHECKING, Any

import httpx

from socialkit.models.problems import has_errors
from socialkit.platforms.context import Context, RateLimitReport
from socialkit.platforms.credentials import MemoryCredentialProvider
from socialkit.platforms.render import render
from socialkit.platforms.validation import validate

if TYPE_CHECKING:
    from collections.abc import Awaitable, Sequence

    from socialkit.errors import PlatformError
    from socialkit.models.account import Account
    from socialkit.models.content import Draft
    from socialkit.models.credentials import Credentials
    from socialkit.models.media import Media
    from socialkit.models.media_store import LocalMediaStore
    from socialkit.models.receipt import PostRef, Receipt
    from socialkit.testing._base import ContractBase
    from socialkit.testing.factories import FrozenClock
    from socialkit.testing.transport import FaultyTransport

__all__ = ["Harness"]


class Harness:
    """Everything a standard test scenario needs, fresh for each test.

    Built by the kit inside the test's event loop from the test class's factories
    (:meth:`~socialkit.testing.PlatformContract.account`, ``credentials``, ``handler``).

    Attributes:
        suite: the test class instance (the fake platform's state lives there).
        platform: a fresh adapter instance.
        account, credentials: what the adapter acts as and with.
        provider: a :class:`~socialkit.MemoryCredentialProvider` holding the credentials;
            every value saved through it is a secret the scan looks for from then on.
        transport: the :class:`FaultyTransport` in front of the fake platform.
        http: an ``httpx.AsyncClient`` over ``transport``.
        media: the media store drafts' attachments live in.
        clock: the frozen clock every context uses.
        thread_parts: how many parts the standard tests' threads have.
        checkpoints: ``(part, ref)`` for every ``ctx.checkpoint`` call, in order.
        rate_limits: every :class:`~socialkit.RateLimitReport` the adapter made.
        claimed: platform post ids that "another publication" owns (``ctx.is_claimed``).
    """

    def __init__(
        self,
        suite: ContractBase,
        *,
        http: httpx.AsyncClient,
        transport: FaultyTransport,
        media: LocalMediaStore,
        clock: FrozenClock,
    ) -> None:
        self.suite = suite
        self.platform = suite.platform()
        self.account = suite.account()
        self.credentials = suite.credentials()
        self.provider = _RecordingProvider(suite, {self.account.id: self.credentials})
        self.transport = transport
        self.http = http
        self.media = media
        self.clock = clock
        self.checkpoints: list[tuple[int, PostRef]] = []
        self.rate_limits: list[RateLimitReport] = []
        self.claimed: set[str] = set()
        self._serial = itertools.count(1)

    # -- building blocks -------------------------------------------------------------------

    def draft(self, *, thread: int = 1, media: Sequence[Media] = ()) -> Draft:
        """A valid draft for the platform: ``thread`` parts, ``media`` on the first.

        Each call has a new text, so two drafts are never duplicates of each other.
        """
        serial = next(self._serial)
        text = f"socialkit contract post {serial} for {self.platform.name}"
        replies = [f"part {i + 1} of post {serial}" for i in range(1, thread)]
        post = self.suite.post(text, thread=replies, media=media)
        capabilities = self.platform.capabilities
        draft = render(post, self.platform.name, capabilities, auto_thread=False)
        problems = validate(draft, capabilities)
        if has_errors(problems):
            listed = "; ".join(p.describe() for p in problems if p.severity == "error")
            raise AssertionError(
                f"the kit's sample post does not validate for {self.platform.name}: {listed}. "
                "Override post() in the test class to build one that does."
            )
        return draft

    @property
    def thread_parts(self) -> int:
        """How many parts the standard tests' threads have: 3, or the platform's
        ``max_thread_parts`` when that is lower (but at least 2)."""
        limit = self.platform.capabilities.max_thread_parts
        return 3 if limit is None else max(2, min(3, limit))

    def image_bytes(self) -> bytes:
        """A tiny image the platform accepts (PNG, or JPEG where PNG is refused)."""
        from socialkit.testing.factories import SAMPLE_JPEG, SAMPLE_PNG

        accepted = self.platform.capabilities.media.image_types
        return SAMPLE_PNG if "image/png" in accepted else SAMPLE_JPEG

    def image(self) -> Media:
        """:meth:`image_bytes`, stored in the media store."""
        return self.media.put_bytes(
            self.image_bytes(), alt_text="A small square for the contract test"
        )

    def keys(self, draft: Draft) -> tuple[str, ...]:
        """Fresh idempotency keys, one per part of ``draft``."""
        serial = next(self._serial)
        return tuple(f"contract-{serial}-{i}" for i in range(len(draft.parts)))

    def context(
        self,
        draft: Draft | None = None,
        *,
        keys: Sequence[str] | None = None,
        publication_id: str | None = None,
        published_parts: Sequence[PostRef] = (),
        credentials: Credentials | None = None,
        attempt: int = 1,
    ) -> Context:
        """A context for one call; fresh keys for ``draft`` unless ``keys`` are given."""
        if keys is None:
            keys = self.keys(draft) if draft is not None else (f"contract-{next(self._serial)}",)
        return Context(
            account=self.account,
            credentials=credentials or self.credentials,
            http=self.http,
            media=self.media,
            clock=self.clock,
            publication_id=publication_id or f"publication-{keys[0]}",
            idempotency_keys=tuple(keys),
            attempt=attempt,
            published_parts=tuple(published_parts),
            capabilities=self.platform.capabilities,
            on_rate_limit=self.rate_limits.append,
            on_checkpoint=self._checkpoint,
            is_claimed_by_other=self._is_claimed,
            credential_provider=self.provider,
        )

    async def _checkpoint(self, part: int, ref: PostRef) -> None:
        self.checkpoints.append((part, ref))

    async def _is_claimed(self, post_id: str) -> bool:
        return post_id in self.claimed

    # -- acting and observing --------------------------------------------------------------

    async def publish(self, draft: Draft, ctx: Context | None = None) -> Receipt:
        """Publish ``draft`` (with a fresh context unless one is given)."""
        return await self.platform.publish(draft, ctx or self.context(draft))

    async def expect(
        self,
        error: type[PlatformError] | tuple[type[PlatformError], ...],
        call: Awaitable[Any],
        *,
        what: str,
    ) -> PlatformError:
        """Await ``call`` and require it to raise ``error`` with no secret in it.

        Args:
            error: the acceptable error class(es) from :mod:`socialkit.errors`.
            call: the adapter call.
            what: the situation, for the failure message ("a lost response").
        """
        names = _names(error)
        raised, result = await self.attempt(error, call, what=what)
        if raised is None:
            raise AssertionError(
                f"after {what}, {self.platform.name} returned {result!r}; the contract asks "
                f"for {names}"
            )
        return raised

    async def attempt(
        self,
        error: type[PlatformError] | tuple[type[PlatformError], ...],
        call: Awaitable[Any],
        *,
        what: str,
    ) -> tuple[PlatformError | None, Any]:
        """Await ``call``: ``(error, None)`` when it raises ``error`` with no secret in it
        (nor in the exceptions it was raised from), ``(None, result)`` when it returns.

        Any other exception fails the test. Use it where returning is also right (a call
        that sent no request, or coped); :meth:`expect` where only the error is.
        """
        try:
            result = await call
        except error as exc:
            for index, link in enumerate(_chain(exc)):
                where = f"the {type(exc).__name__}"
                if index:
                    where = f"the {type(link).__name__} that {where} was raised from"
                described = exc.describe() if link is exc else ""
                self.suite.assert_no_secret(f"{link!s} {link!r} {described}", where=where)
            return exc, None
        except Exception as exc:
            raise AssertionError(
                f"after {what}, {self.platform.name} raised {type(exc).__name__}: "
                f"{self.suite.mask_secrets(str(exc))}; the contract asks for {_names(error)} "
                "(socialkit.errors)"
            ) from exc
        return None, result

    def published(self) -> set[str]:
        """The post ids the fake platform holds now (see ``published_ids``)."""
        return set(self.suite.published_ids())

    def publish_requests(self) -> list[httpx.Request]:
        """The requests so far that create a post (``creates_post``)."""
        return [r for r in self.transport.requests if self.suite.creates_post(r)]

    def bodies_contain(self, data: bytes) -> bool:
        """Whether any request body carried ``data`` (raw or base64-encoded)."""
        encoded = base64.b64encode(data)
        return any(
            data in request.content or encoded in request.content
            for request in self.transport.requests
        )

    def text_sent(self, text: str) -> bool:
        """Whether any request carried ``text`` (in its body, URL or headers)."""
        needles = _needles(text)
        return any(
            needle in request.content or needle in str(request.url).encode()
            for request in self.transport.requests
            for needle in needles
        )

    def texts_sent_in_order(self, texts: Sequence[str]) -> bool:
        """Whether the requests that create posts carried ``texts`` in this order (one
        request per part, or several parts in one request)."""
        sent = b"\n".join(
            str(request.url).encode() + b" " + request.content
            for request in self.publish_requests()
        )
        position = 0
        for text in texts:
            found = [i for i in (sent.find(n, position) for n in _needles(text)) if i >= 0]
            if not found:
                return False
            position = min(found) + 1
        return True


class _RecordingProvider(MemoryCredentialProvider):
    """A memory provider that tells the suite every value saved through it: a token the
    fake issues in the middle of a test is a secret from that moment on."""

    def __init__(self, suite: ContractBase, credentials: dict[str, Credentials]) -> None:
        super().__init__(credentials)
        self._suite = suite

    async def save(self, account: Account, credentials: Credentials) -> None:
        self._suite._remember_secrets(credentials)
        await super().save(account, credentials)


def _names(error: type[BaseException] | tuple[type[BaseException], ...]) -> str:
    return " or ".join(e.__name__ for e in (error if isinstance(error, tuple) else (error,)))


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and the exceptions it was raised from or while handling, once each."""
    chain: list[BaseException] = []
    link: BaseException | None = exc
    while link is not None and all(link is not seen for seen in chain):
        chain.append(link)
        link = link.__cause__ or link.__context__
    return chain


def _needles(text: str) -> list[bytes]:
    """``text`` as a request can carry it: raw (JSON, multipart) or form-encoded."""
    form_encoded = str(httpx.QueryParams({"t": text})).removeprefix("t=")
    return [text.encode(), form_encoded.encode()]
