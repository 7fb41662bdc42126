"""Past the one-hour key window: finding what a publication already published, or saying so."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from socialkit_mastodon._lookup import html_to_text, normalise_text
from socialkit_mastodon.testing import render_content

import socialkit


def _later(make_ctx, clock, *, attempt: int = 2, **changes):
    """A context for a retry: the first attempt was 90 minutes ago."""
    first = clock()
    clock.advance(minutes=90)
    return make_ctx(attempt=attempt, first_attempt_at=first, **changes)


async def _answer_lost(platform, make_ctx, server, d) -> None:
    """The first attempt: the server creates the status, and its answer is lost (503)."""
    server.fail_next("POST", "/api/v1/statuses", status=503, after=True)
    with pytest.raises(socialkit.UnknownOutcome):
        await platform.publish(d, make_ctx())


async def test_a_status_created_before_a_lost_answer_is_found(
    platform, make_ctx, server, draft, clock, png
) -> None:
    post = socialkit.Post(
        text="Hello @friend@other.example, see https://example.com/a-very-long-path/to/a/page?x=1 #launch",
        media=(png("a red dot"),),
        content_warning="news",
    )
    d = draft(post)
    await _answer_lost(platform, make_ctx, server, d)
    [created] = server.statuses
    receipt = await platform.find_published(d, _later(make_ctx, clock))
    assert receipt is not None
    assert receipt.ref.id == created


async def test_nothing_published_is_certain_when_the_search_reaches_the_first_attempt(
    platform, make_ctx, server, draft, clock
) -> None:
    server.post_status("an older status")
    d = draft(socialkit.Post(text="never sent"))
    assert await platform.find_published(d, _later(make_ctx, clock)) is None


async def test_an_evergreen_repost_claimed_by_another_publication_is_not_ours(
    platform, make_ctx, server, draft, clock, recorder
) -> None:
    d = draft(socialkit.Post(text="Evergreen: our opening hours"))
    ctx = _later(make_ctx, clock)
    clock.advance(minutes=-89)  # a status with the same text, after our first attempt
    other = server.post_status("Evergreen: our opening hours")
    clock.advance(minutes=89)
    recorder.claimed.add(other["id"])
    assert await platform.find_published(d, ctx) is None


async def test_the_same_text_from_before_the_first_attempt_is_not_ours(
    platform, make_ctx, server, draft, clock
) -> None:
    server.post_status("Evergreen: our opening hours")  # last week's re-post
    clock.advance(days=7)
    d = draft(socialkit.Post(text="Evergreen: our opening hours"))
    assert await platform.find_published(d, _later(make_ctx, clock)) is None


async def test_two_unclaimed_matches_leave_it_to_a_person(
    platform, make_ctx, server, draft, clock
) -> None:
    d = draft(socialkit.Post(text="Twice?"))
    ctx = _later(make_ctx, clock)
    clock.advance(minutes=-80)
    server.post_status("Twice?")
    server.post_status("Twice?")
    clock.advance(minutes=80)
    with pytest.raises(socialkit.UnknownOutcome, match="a person must choose"):
        await platform.find_published(d, ctx)


async def test_a_search_that_cannot_reach_the_first_attempt_cannot_tell(
    make_ctx, server, draft, clock, recorder
) -> None:
    from socialkit_mastodon import Mastodon

    platform = Mastodon(lookup_pages=1)
    d = draft(socialkit.Post(text="buried"))
    ctx = _later(make_ctx, clock)
    clock.advance(minutes=-60)
    for i in range(41):
        server.post_status(f"busy account {i}")
    clock.advance(minutes=60)
    with pytest.raises(socialkit.UnknownOutcome, match="a person must decide"):
        await platform.find_published(d, ctx)


async def test_a_half_published_thread_is_checkpointed_and_resumed(
    platform, make_ctx, server, draft, clock, recorder
) -> None:
    post = socialkit.Post(
        text="Thread start",
        thread=(socialkit.ThreadPart(text="middle"), socialkit.ThreadPart(text="end")),
    )
    d = draft(post)
    # an earlier attempt created parts 1 and 2, and its checkpoints were lost
    prefix = socialkit.Draft(**{**d.model_dump(), "parts": d.parts[:2]})
    await platform.publish(prefix, make_ctx(on_checkpoint=_drop))
    assert len(server.statuses) == 2
    ctx = _later(make_ctx, clock)
    assert await platform.find_published(d, ctx) is None
    assert [part for part, _ in recorder.checkpoints] == [0, 1]
    found = tuple(ref for _, ref in recorder.checkpoints)
    receipt = await platform.publish(d, ctx.evolve(published_parts=found, attempt=3))
    assert len(server.statuses) == 3
    assert [r.id for r in receipt.parts[:2]] == [r.id for r in found]


async def test_publish_past_the_window_looks_before_it_sends_again(
    platform, make_ctx, server, draft, clock
) -> None:
    d = draft(socialkit.Post(text="only once, even after an hour"))
    await _answer_lost(platform, make_ctx, server, d)
    receipt = await platform.publish(d, _later(make_ctx, clock))
    assert list(server.statuses) == [receipt.ref.id]
    # the server forgot the key; only the lookup prevented a second status
    creates = [r for r in server.requests if r.url.path == "/api/v1/statuses"]
    assert len(creates) == 1


async def test_a_text_holding_an_html_entity_is_found_not_posted_twice(
    platform, make_ctx, server, draft, clock
) -> None:
    """'&lt;' typed in a post is '&amp;lt;' in the content: read back once, not twice."""
    d = draft(socialkit.Post(text="Escape < as &lt; and & as &amp; in HTML"))
    await _answer_lost(platform, make_ctx, server, d)
    receipt = await platform.publish(d, _later(make_ctx, clock))
    assert list(server.statuses) == [receipt.ref.id]


async def test_a_content_warning_the_server_trimmed_is_still_ours(
    platform, make_ctx, server, draft, clock
) -> None:
    """Mastodon strips the content warning before saving; the lookup compares it so."""
    d = draft(socialkit.Post(text="spoilers ahead", content_warning=" season finale\n"))
    await _answer_lost(platform, make_ctx, server, d)
    [created] = server.statuses.values()
    assert created["spoiler_text"] == "season finale"
    receipt = await platform.publish(d, _later(make_ctx, clock))
    assert list(server.statuses) == [receipt.ref.id]


async def test_within_the_window_a_retry_just_resends_with_the_key(
    platform, make_ctx, server, draft, clock
) -> None:
    d = draft(socialkit.Post(text="quick retry"))
    first = clock()
    await _answer_lost(platform, make_ctx, server, d)
    clock.advance(minutes=30)
    receipt = await platform.publish(d, make_ctx(attempt=2, first_attempt_at=first))
    assert list(server.statuses) == [receipt.ref.id]
    assert not any(r.url.path.endswith("/statuses") and r.method == "GET" for r in server.requests)
    assert platform.key_window_passed(
        make_ctx(attempt=2, first_attempt_at=first - timedelta(minutes=26))
    )


async def _drop(part: int, ref: socialkit.PostRef) -> None:
    return None


_PIECES = (
    *"abc xyz\n#@._-:/?=&<>\"'",
    "&lt;",
    "&amp;",
    "&#39;",
    "https://example.com/p",
    "@bob@other.example",
    "شبکه\u200cها",
    "😀",
    "é",
)
_TEXT = st.lists(st.sampled_from(_PIECES), max_size=30).map("".join)


@given(_TEXT)
@example("@@bob@other.example")
@example("@bob@other.example@bob@other.example")
@example("https://example.com/p#@bob@other.example")
@example("@a.a@bob@other.example")
@example("Line one\r\n\r\n\r\nLine   two  ")
@example("Tom &amp; Jerry: a &lt; b")
def test_rendered_content_reads_back_as_the_text(text: str) -> None:
    """What the server renders from a text compares equal to that text."""
    rendered = render_content(text, "mastodon.example")
    assert normalise_text(html_to_text(rendered)) == normalise_text(text)
