"""An ``httpx`` transport over a fake platform that records requests and injects faults.

The fake platform is a handler, exactly as for :class:`httpx.MockTransport` (sync or
async, ``request -> response``). :class:`FaultyTransport` passes requests to it and, when a
:class:`Fault` is armed, breaks the n-th matching request the way networks break::

    transport = FaultyTransport(fake_pigeon)
    transport.arm(Fault.lost_response(), match=lambda r: r.url.path == "/api/posts")
    client = httpx.AsyncClient(transport=transport)
    # the first POST /api/posts reaches the fake (the post exists) and then times out
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import attrs
import httpx

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine

    Handler = (
        Callable[[httpx.Request], httpx.Response]
        | Callable[[httpx.Request], Coroutine[None, None, httpx.Response]]
    )
    Matcher = Callable[[httpx.Request], bool]

__all__ = ["Fault", "FaultyTransport"]

FaultKind = Literal[
    "connect_error",
    "connect_timeout",
    "lost_response",
    "broken_response",
    "broken_request",
    "respond",
]


@attrs.frozen
class Fault:
    """One way a request can go wrong.

    ``connect_error`` and ``connect_timeout`` never reach the platform: nothing happened,
    and an adapter says :class:`~socialkit.errors.Transient`. ``lost_response``,
    ``broken_response`` and ``broken_request`` reach the platform (which acts on it) and
    then fail: the read times out, the connection breaks in the middle of the response,
    or sending the request fails part way. The adapter cannot know what happened and, for
    a write, says :class:`~socialkit.errors.UnknownOutcome`. ``respond`` answers with a
    prepared response instead of asking the fake platform.
    """

    kind: FaultKind
    respond_with: Callable[[httpx.Request], httpx.Response] | None = None
    error: type[httpx.TransportError] | None = None
    """The exception a ``broken_response`` or ``broken_request`` raises."""

    @classmethod
    def connect_error(cls) -> Fault:
        """Connection refused: the request was never sent."""
        return cls("connect_error")

    @classmethod
    def connect_timeout(cls) -> Fault:
        """No connection within the timeout: the request was never sent."""
        return cls("connect_timeout")

    @classmethod
    def lost_response(cls) -> Fault:
        """The platform acted on the request; its response never arrived (read timeout)."""
        return cls("lost_response")

    @classmethod
    def broken_response(
        cls, error: type[httpx.TransportError] = httpx.RemoteProtocolError
    ) -> Fault:
        """The platform acted on the request; the connection broke before its response was
        complete (``httpx.RemoteProtocolError`` by default, or ``httpx.ReadError``)."""
        return cls("broken_response", error=error)

    @classmethod
    def broken_request(cls, error: type[httpx.TransportError] = httpx.WriteError) -> Fault:
        """Sending the request failed part way (``httpx.WriteError`` by default).

        The platform may have got all of it: the fake acts on it, the case that matters.
        """
        return cls("broken_request", error=error)

    @classmethod
    def write_timeout(cls) -> Fault:
        """Sending the request timed out part way (``httpx.WriteTimeout``); see
        :meth:`broken_request`."""
        return cls.broken_request(httpx.WriteTimeout)

    @classmethod
    def respond(cls, build: Callable[[httpx.Request], httpx.Response]) -> Fault:
        """Answer with ``build(request)`` instead of the fake platform."""
        return cls("respond", build)


@attrs.define
class _Armed:
    fault: Fault
    match: Matcher
    nth: int
    seen: int = 0


def _any_request(request: httpx.Request) -> bool:
    return True


class FaultyTransport(httpx.AsyncBaseTransport):
    """Sends requests to a fake platform, records them, and breaks the ones it is told to.

    Args:
        handler: the fake platform, ``request -> response`` (sync or async).

    Attributes:
        requests: every request that reached the transport, in order (bodies read).
    """

    def __init__(self, handler: Handler) -> None:
        self._mock = httpx.MockTransport(handler)
        self._armed: list[_Armed] = []
        self.requests: list[httpx.Request] = []

    def arm(self, fault: Fault, *, match: Matcher | None = None, nth: int = 1) -> None:
        """Break the ``nth`` request that ``match`` accepts (every request by default), once."""
        if nth < 1:
            raise ValueError(f"nth counts from 1 (got {nth})")
        self._armed.append(_Armed(fault, match or _any_request, nth))

    def disarm(self) -> None:
        """Forget the armed faults that have not fired."""
        self._armed.clear()

    @property
    def pending(self) -> int:
        """Armed faults that have not fired yet."""
        return len(self._armed)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        self.requests.append(request)
        fault = self._due(request)
        if fault is None:
            return await self._mock.handle_async_request(request)
        if fault.kind == "connect_error":
            raise httpx.ConnectError("connection refused (injected)", request=request)
        if fault.kind == "connect_timeout":
            raise httpx.ConnectTimeout("connect timed out (injected)", request=request)
        if fault.kind in ("lost_response", "broken_response", "broken_request"):
            response = await self._mock.handle_async_request(request)
            await response.aread()
            if fault.kind == "lost_response":
                raise httpx.ReadTimeout("read timed out (injected)", request=request)
            assert fault.error is not None
            where = "response" if fault.kind == "broken_response" else "request"
            raise fault.error(f"connection broken in the {where} (injected)", request=request)
        assert fault.respond_with is not None
        response = fault.respond_with(request)
        response.request = request
        return response

    def _due(self, request: httpx.Request) -> Fault | None:
        for armed in self._armed:
            if armed.match(request):
                armed.seen += 1
                if armed.seen == armed.nth:
                    self._armed.remove(armed)
                    return armed.fault
        return None
