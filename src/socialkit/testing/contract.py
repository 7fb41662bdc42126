"""The base class every adapter's contract tests subclass."""

from __future__ import annotations

from socialkit.testing._failures import FailureTests
from socialkit.testing._lifecycle import LifecycleTests
from socialkit.testing._publishing import PublishingTests
from socialkit.testing._shape import ShapeTests

__all__ = ["PlatformContract"]


class PlatformContract(ShapeTests, PublishingTests, FailureTests, LifecycleTests):
    """The standard tests of the adapter contract; subclass it once per adapter.

    The subclass names the adapter and plays the platform: ``handler`` answers HTTP
    requests as the platform's documentation says it does (it runs behind
    ``httpx.MockTransport``, so nothing leaves the machine), ``published_ids`` says what
    the fake holds, and ``seed_metrics`` sets the counts it reports. The kit then
    publishes, breaks requests on purpose (refused connections, lost responses, 5xx, 429,
    expired tokens) and checks that the adapter answers with the right
    :mod:`socialkit.errors` class, never posts twice where the platform takes an
    idempotency key, resumes threads, deletes, reports metrics and keeps secrets out of
    logs, receipts and errors.

    Parts of the contract switch on from what the adapter declares (its
    :class:`~socialkit.Capabilities` and the methods it implements); a test that does not
    apply is skipped with the reason printed. Replacing a standard test needs
    :func:`~socialkit.testing.override` and a reason; deleting one fails.

    Example::

        import httpx
        import socialkit.testing
        from socialkit_pigeon import Pigeon

        class TestPigeon(socialkit.testing.PlatformContract):
            platform = Pigeon

            def setup_method(self) -> None:
                self.posts: dict[str, dict] = {}

            def account_settings(self) -> dict:
                return {"loft": "https://loft.example"}

            def handler(self, request: httpx.Request) -> httpx.Response:
                ...  # answer like the Pigeon API

            def published_ids(self) -> set[str]:
                return set(self.posts)

    Tests are plain (synchronous) pytest tests that run each scenario on a fresh event
    loop; pytest-asyncio is not needed.
    """
