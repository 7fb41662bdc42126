"""Publishing statuses through the fake server: text, options, polls, media, threads, keys."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta

import httpx
import pytest
from socialkit_mastodon import Mastodon

import socialkit


def _status_requests(server) -> list[httpx.Request]:
    return [r for r in server.requests if r.method == "POST" and r.url.path == "/api/v1/statuses"]


def _body(request: httpx.Request) -> dict:
    return json.loads(request.content)


async def test_a_status_carries_its_options_and_the_idempotency_key(
    platform, make_ctx, server, draft
) -> None:
    post = socialkit.Post(
        text="Spring launch! #news",
        language="fa-IR",
        content_warning="launch spoilers",
        options={"visibility": "unlisted", "sensitive": True},
    )
    receipt = await platform.publish(draft(post), make_ctx())

    [request] = _status_requests(server)
    assert request.headers["Idempotency-Key"] == "pub-1-part-0"
    assert request.headers["Authorization"].startswith("Bearer ")
    assert _body(request) == {
        "status": "Spring launch! #news",
        "visibility": "unlisted",
        "language": "fa",
        "spoiler_text": "launch spoilers",
        "sensitive": True,
    }
    status = server.statuses[receipt.ref.id]
    assert status["visibility"] == "unlisted"
    assert status["spoiler_text"] == "launch spoilers"
    assert receipt.platform == "mastodon"
    assert receipt.account_id == "acme-mastodon"
    assert receipt.url == status["url"]
    assert receipt.published_at == datetime.fromisoformat(
        status["created_at"].replace("Z", "+00:00")
    )


async def test_the_account_setting_gives_the_default_visibility(
    platform, make_ctx, server, draft, account
) -> None:
    account = account.model_copy(update={"settings": {**account.settings, "visibility": "private"}})
    await platform.publish(draft(socialkit.Post(text="hi")), make_ctx(account=account))
    [request] = _status_requests(server)
    assert _body(request)["visibility"] == "private"


async def test_a_bad_visibility_is_rejected_before_anything_is_sent(
    platform, make_ctx, server, draft
) -> None:
    post = socialkit.Post(text="hi", options={"visibility": "everyone"})
    with pytest.raises(socialkit.Rejected, match=r"options\.visibility"):
        await platform.publish(draft(post), make_ctx())
    assert _status_requests(server) == []


async def test_a_poll_is_sent_and_checked_against_the_server_limits(
    platform, make_ctx, server, draft
) -> None:
    poll = {"options": ["tea", "coffee"], "expires_in": 3600, "multiple": True}
    receipt = await platform.publish(
        draft(socialkit.Post(text="Which?", options={"poll": poll})), make_ctx()
    )
    [request] = _status_requests(server)
    assert _body(request)["poll"] == {**poll, "hide_totals": False}
    assert [o["title"] for o in server.statuses[receipt.ref.id]["poll"]["options"]] == [
        "tea",
        "coffee",
    ]

    too_many = {"options": ["a", "b", "c", "d", "e"], "expires_in": 3600}
    with pytest.raises(socialkit.Rejected, match="too many poll options") as info:
        await platform.publish(
            draft(socialkit.Post(text="?", options={"poll": too_many})), make_ctx()
        )
    assert info.value.details == {
        "field": "options.poll.options",
        "problem": "too many poll options",
        "limit": 4,
        "value": 5,
    }
    too_soon = {"options": ["a", "b"], "expires_in": 60}
    with pytest.raises(socialkit.Rejected, match="closes too soon"):
        await platform.publish(
            draft(socialkit.Post(text="?", options={"poll": too_soon})), make_ctx()
        )


async def test_poll_options_are_counted_in_graphemes_as_the_server_does(
    platform, make_ctx, server, draft
) -> None:
    """Mastodon counts a poll option's grapheme clusters (PollValidator), not code points."""
    flags = "\U0001f1eb\U0001f1f7" * 50  # 50 flags: 100 code points, 50 graphemes
    poll = {"options": [flags, "e\u0301" * 50], "expires_in": 3600}
    receipt = await platform.publish(
        draft(socialkit.Post(text="Which?", options={"poll": poll})), make_ctx()
    )
    assert receipt.ref.id in server.statuses
    over = {"options": ["a", "\U0001f1eb\U0001f1f7" * 51], "expires_in": 3600}
    with pytest.raises(socialkit.Rejected, match="poll option is too long") as info:
        await platform.publish(draft(socialkit.Post(text="?", options={"poll": over})), make_ctx())
    assert info.value.details == {
        "field": "options.poll.options[1]",
        "problem": "poll option is too long (characters)",
        "limit": 50,
        "value": 51,
    }


async def test_a_poll_with_the_same_option_twice_is_rejected_before_sending(
    platform, make_ctx, server, draft
) -> None:
    poll = {"options": ["tea", "coffee", "tea"], "expires_in": 3600}
    with pytest.raises(socialkit.Rejected, match="the same option twice") as info:
        await platform.publish(draft(socialkit.Post(text="?", options={"poll": poll})), make_ctx())
    assert info.value.details == {
        "field": "options.poll.options[2]",
        "problem": "a poll cannot have the same option twice (Mastodon's rule)",
        "value": "tea",
    }
    assert _status_requests(server) == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"visibility": "everyone"},
            "options.visibility: must be one of public, unlisted, private, direct (got 'everyone')",
        ),
        (
            {"poll": {"options": list("abcde"), "expires_in": 3600}},
            "options.poll.options: too many poll options (limit 4, got 5)",
        ),
        (
            {"poll": {"options": ["a", "b"], "expires_in": 60}},
            "options.poll.expires_in: poll closes too soon (seconds) (limit 300, got 60)",
        ),
    ],
)
async def test_a_refused_option_names_the_field_the_limit_and_the_value_in_its_message(
    platform, make_ctx, draft, options, message
) -> None:
    with pytest.raises(socialkit.Rejected) as info:
        await platform.publish(draft(socialkit.Post(text="?", options=options)), make_ctx())
    assert str(info.value) == f"mastodon: {message}"


async def test_a_poll_with_media_is_rejected(platform, make_ctx, draft, png) -> None:
    post = socialkit.Post(
        text="?",
        media=(png("a dot"),),
        options={"poll": {"options": ["a", "b"], "expires_in": 600}},
    )
    with pytest.raises(socialkit.Rejected, match="both a poll and media"):
        await platform.publish(draft(post), make_ctx())


async def test_the_shared_link_reaches_the_status_once_as_render_put_it(
    platform, make_ctx, server, draft
) -> None:
    # render appends the link's URL (and measures it); the adapter sends the text as is
    post = socialkit.Post(text="Read this", link=socialkit.Link(url="https://example.com/a"))
    await platform.publish(draft(post), make_ctx())
    [request] = _status_requests(server)
    assert _body(request)["status"] == "Read this\n\nhttps://example.com/a"


async def test_a_link_already_in_a_later_part_is_not_added_to_the_first(
    platform, make_ctx, server, draft
) -> None:
    link = "https://example.com/a"
    post = socialkit.Post(
        text="Part one",
        thread=(socialkit.ThreadPart(text=f"Part two: {link}"),),
        link=socialkit.Link(url=link),
    )
    await platform.publish(draft(post), make_ctx(idempotency_keys=("k-0", "k-1")))
    first, second = _status_requests(server)
    assert _body(first)["status"] == "Part one"
    assert _body(second)["status"] == f"Part two: {link}"


async def test_the_adapter_adds_nothing_to_the_rendered_text(platform, make_ctx, server) -> None:
    # a draft is what was measured and approved: the adapter must not lengthen it
    hand_made = socialkit.Draft(
        platform="mastodon",
        revision="r",
        parts=(socialkit.DraftPart(text="Exactly this"),),
        link=socialkit.Link(url="https://example.com/a"),
    )
    await platform.publish(hand_made, make_ctx())
    [request] = _status_requests(server)
    assert _body(request)["status"] == "Exactly this"


async def test_media_is_uploaded_with_alt_text_and_attached(
    platform, make_ctx, server, draft, png
) -> None:
    post = socialkit.Post(text="two dots", media=(png("a red dot"), png("another dot")))
    receipt = await platform.publish(draft(post), make_ctx())
    uploads = [r for r in server.requests if r.url.path == "/api/v2/media"]
    assert len(uploads) == 2
    status = server.statuses[receipt.ref.id]
    assert [m["description"] for m in status["media_attachments"]] == ["a red dot", "another dot"]
    assert _body(_status_requests(server)[0])["media_ids"] == [
        m["id"] for m in status["media_attachments"]
    ]


async def test_processing_media_is_polled_202_206_200_before_the_status(
    platform, make_ctx, server, draft, png, recorder
) -> None:
    server.media_processing_checks = 3
    receipt = await platform.publish(
        draft(socialkit.Post(text="video soon", media=(png("dot"),))), make_ctx()
    )
    polls = [r for r in server.requests if r.url.path.startswith("/api/v1/media/")]
    assert len(polls) == 4  # 206, 206, 206, then 200
    assert recorder.sleeps == [0.5, 1.0, 2.0, 4.0]
    assert server.statuses[receipt.ref.id]["media_attachments"][0]["url"] is not None
    # the status was only created after the media was ready
    order = [r.url.path for r in server.requests]
    assert order.index("/api/v1/statuses") > max(
        i for i, p in enumerate(order) if p.startswith("/api/v1/media/")
    )


async def test_media_polling_is_bounded(platform, make_ctx, server, draft, png, recorder) -> None:
    server.media_processing_checks = 100
    with pytest.raises(socialkit.Transient, match="still being processed after 6 checks"):
        await platform.publish(draft(socialkit.Post(text="x", media=(png("dot"),))), make_ctx())
    assert recorder.sleeps == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert _status_requests(server) == []


async def test_a_thread_replies_in_order_and_checkpoints_each_part(
    platform, make_ctx, server, draft, png, recorder
) -> None:
    post = socialkit.Post(
        text="1/3 first",
        thread=(
            socialkit.ThreadPart(text="2/3 second", media=(png("dot"),)),
            socialkit.ThreadPart(text="3/3 third"),
        ),
    )
    receipt = await platform.publish(draft(post), make_ctx())
    requests = _status_requests(server)
    assert [r.headers["Idempotency-Key"] for r in requests] == [
        "pub-1-part-0",
        "pub-1-part-1",
        "pub-1-part-2",
    ]
    ids = [ref.id for ref in receipt.parts]
    assert [_body(r).get("in_reply_to_id") for r in requests] == [None, ids[0], ids[1]]
    assert [(part, ref.id) for part, ref in recorder.checkpoints] == list(enumerate(ids))
    assert server.statuses[ids[1]]["media_attachments"][0]["description"] == "dot"


async def test_a_thread_resumes_after_its_published_parts(
    platform, make_ctx, server, draft, recorder
) -> None:
    post = socialkit.Post(text="one", thread=(socialkit.ThreadPart(text="two"),))
    d = draft(post)
    first = await platform.publish(
        socialkit.Draft(**{**d.model_dump(), "parts": d.parts[:1]}), make_ctx()
    )
    server.requests.clear()
    receipt = await platform.publish(d, make_ctx(attempt=2, published_parts=first.parts))
    [request] = _status_requests(server)
    assert _body(request) == {"status": "two", "in_reply_to_id": first.ref.id}
    assert request.headers["Idempotency-Key"] == "pub-1-part-1"
    assert receipt.parts[0] == first.parts[0]
    assert len(receipt.parts) == 2


async def test_resending_with_the_same_key_returns_the_first_status(
    platform, make_ctx, server, draft
) -> None:
    d = draft(socialkit.Post(text="exactly once"))
    first = await platform.publish(d, make_ctx())
    again = await platform.publish(d, make_ctx(attempt=2))
    assert again.ref.id == first.ref.id
    assert len(server.statuses) == 1


async def test_every_response_reports_the_rate_limit(
    platform, make_ctx, server, draft, png, recorder
) -> None:
    await platform.publish(draft(socialkit.Post(text="x", media=(png("dot"),))), make_ctx())
    assert len(recorder.rate_limits) == len(server.requests)
    scopes = [r.scope for r in recorder.rate_limits]
    assert scopes.count("media") == 1
    default = [r for r in recorder.rate_limits if r.scope == "default"]
    assert default[-1].limit == 300
    assert default[-1].remaining == 300 - len(default)
    assert default[-1].reset_at == server.clock() + timedelta(minutes=5)


async def test_no_token_needs_a_person(platform, make_ctx, draft) -> None:
    ctx = make_ctx(credentials=socialkit.Credentials())
    with pytest.raises(socialkit.NeedsReauth) as info:
        await platform.publish(draft(socialkit.Post(text="x")), ctx)
    message = str(info.value)
    assert "credential 'access_token' is missing" in message
    assert "FileCredentialProvider" in message  # where socialkit auth mastodon put it
    assert "--instance https://mastodon.example --account acme-mastodon" in message


async def test_no_token_in_the_environment_names_the_variable(
    platform, make_ctx, draft, account
) -> None:
    credentials = await socialkit.EnvCredentialProvider(environ={}).load(account)
    with pytest.raises(socialkit.NeedsReauth) as info:
        await platform.publish(draft(socialkit.Post(text="x")), make_ctx(credentials=credentials))
    assert "SOCIALKIT_ACME_MASTODON_ACCESS_TOKEN" in str(info.value)
    assert "of account 'acme-mastodon'" in str(info.value)


def test_the_adapter_declares_key_idempotency_and_mastodon_counting() -> None:
    caps = Mastodon.capabilities
    assert caps.idempotency is socialkit.Idempotency.KEY
    assert caps.text.name == "mastodon"
    assert caps.threads
    assert caps.content_warning
    assert caps.languages
    assert caps.rate_limit_headers == "X-RateLimit"


async def test_media_bytes_are_read_off_the_event_loop(
    platform, make_ctx, draft, png, media_store, monkeypatch
) -> None:
    # a large video read on the loop would stall every other publication's heartbeat
    import threading

    readers: list[int] = []
    read = media_store.read_bytes

    def recording_read(media: socialkit.Media) -> bytes:
        readers.append(threading.get_ident())
        return read(media)

    monkeypatch.setattr(media_store, "read_bytes", recording_read)
    await platform.publish(draft(socialkit.Post(text="x", media=(png("dot"),))), make_ctx())
    assert readers
    assert threading.get_ident() not in readers


async def test_a_key_that_is_not_printable_ascii_is_sent_as_a_stable_digest(
    platform, make_ctx, server, draft
) -> None:
    # A scheduling key the user wrote ends up in the publication's keys; httpx cannot
    # send "lançamento" as a header value (UnicodeEncodeError at publish).
    ctx = make_ctx(idempotency_keys=("lançamento", "lançamento.1"))
    post = socialkit.Post(text="Lançamento!", thread=(socialkit.ThreadPart(text="Parte 2"),))
    first = await platform.publish(draft(post), ctx)
    again = await platform.publish(draft(post), ctx)  # a retry after a lost answer

    assert again.parts == first.parts
    assert len(server.statuses) == 2
    sent = [r.headers["Idempotency-Key"] for r in _status_requests(server)]
    digest = "sk-" + hashlib.sha256("lançamento".encode()).hexdigest()
    assert sent[:2] == [digest, "sk-" + hashlib.sha256("lançamento.1".encode()).hexdigest()]
    assert sent[2:] == sent[:2]


async def test_a_printable_ascii_key_is_sent_as_it_is(platform, make_ctx, server, draft) -> None:
    await platform.publish(draft(socialkit.Post(text="hi")), make_ctx(idempotency_keys=("a b:c",)))
    [request] = _status_requests(server)
    assert request.headers["Idempotency-Key"] == "a b:c"


@pytest.mark.parametrize("key", [" launch:acme-mastodon", "launch:acme-mastodon ", " ", ""])
async def test_a_key_with_a_space_at_either_end_is_sent_as_a_stable_digest(
    platform, make_ctx, server, draft, key
) -> None:
    # schedule(..., key=" launch") gives the key " launch:<account>". httpx refuses a header
    # value with a space at either end (LocalProtocolError) before sending anything, and
    # the adapter said UnknownOutcome; reconciliation sent it again and failed the same way.
    ctx = make_ctx(idempotency_keys=(key,))
    first = await platform.publish(draft(socialkit.Post(text="launch")), ctx)
    again = await platform.publish(draft(socialkit.Post(text="launch")), ctx)  # a retry

    assert again.parts == first.parts
    assert len(server.statuses) == 1
    sent = [r.headers["Idempotency-Key"] for r in _status_requests(server)]
    assert sent == ["sk-" + hashlib.sha256(key.encode()).hexdigest()] * 2


async def test_a_key_with_a_space_at_either_end_reaches_a_real_http_server(
    platform, make_ctx, draft
) -> None:
    """Over a socket (h11 checks header values; the mock transport does not)."""
    import asyncio

    seen: list[bytes] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        seen.append(head)
        length = [
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        ]
        if length:
            await reader.readexactly(length[0])
        if head.startswith(b"GET"):
            body = json.dumps({"domain": "x", "configuration": {}}).encode()
        else:
            body = json.dumps({"id": "1", "created_at": "2025-03-01T09:00:00Z"}).encode()
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
            + f"content-length: {len(body)}\r\n\r\n".encode()
            + body
        )
        await writer.drain()
        writer.close()

    served = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = served.sockets[0].getsockname()[1]
    try:
        async with httpx.AsyncClient() as real:
            ctx = make_ctx(idempotency_keys=(" launch:acme-mastodon",), http=real)
            account = ctx.account.model_copy(
                update={"settings": {"instance": f"http://127.0.0.1:{port}"}}
            )
            receipt = await platform.publish(
                draft(socialkit.Post(text="launch")), ctx.evolve(account=account)
            )
    finally:
        served.close()
        await served.wait_closed()
    assert receipt.ref.id == "1"
    [create] = [head for head in seen if head.startswith(b"POST /api/v1/statuses")]
    digest = "sk-" + hashlib.sha256(b" launch:acme-mastodon").hexdigest()
    assert f"idempotency-key: {digest}".encode() in create.lower()
