"""Per-server limits from GET /api/v2/instance, cached with a refresh interval."""

from __future__ import annotations

import httpx
import pytest
from socialkit_mastodon import DEFAULT_CAPABILITIES, Mastodon, instance_url, limits_from_instance
from socialkit_mastodon.testing import FakeMastodon, documented

import socialkit


def _instance_reads(server) -> int:
    return sum(1 for r in server.requests if r.url.path == "/api/v2/instance")


def test_limits_from_the_documented_instance(clock) -> None:
    limits = limits_from_instance(documented("instance"), clock())
    caps = limits.capabilities
    assert caps.text.limit == 500
    assert caps.text.url_length == 23
    assert caps.media.max_items == 4
    assert caps.media.max_image_bytes == 16_777_216
    assert caps.media.max_video_bytes == 103_809_024
    assert caps.media.max_alt_text == 1500
    assert "image/webp" in caps.media.image_types
    assert "video/webm" in caps.media.video_types
    assert limits.polls.max_options == 4
    assert limits.polls.min_expiration == 300


async def test_a_1000_character_server_gets_1000_in_validation(
    platform, make_ctx, server, draft
) -> None:
    server.max_characters = 1000
    server.characters_reserved_per_url = 30
    caps = await platform.resolve_capabilities(make_ctx())
    assert caps.text.limit == 1000
    assert caps.text.url_length == 30
    assert caps.text.counting == socialkit.text.rules.MASTODON.counting
    post = socialkit.Post(text="ب" * 900, options={"auto_thread": False})
    assert socialkit.validate(post, caps, platform="mastodon") == []
    [problem] = socialkit.validate(post, DEFAULT_CAPABILITIES, platform="mastodon")
    assert (problem.field, problem.limit, problem.value) == ("text", 500, 900)
    receipt = await platform.publish(draft(post, caps), make_ctx())
    assert receipt.ref.id in server.statuses


async def test_the_limits_are_cached_for_the_refresh_interval(
    platform, make_ctx, server, clock
) -> None:
    ctx = make_ctx()
    await platform.resolve_capabilities(ctx)
    await platform.resolve_capabilities(ctx)
    assert _instance_reads(server) == 1
    server.max_characters = 640
    clock.advance(minutes=59)
    assert (await platform.resolve_capabilities(ctx)).text.limit == 500
    clock.advance(minutes=2)
    assert (await platform.resolve_capabilities(ctx)).text.limit == 640
    assert _instance_reads(server) == 2


async def test_an_unreachable_server_keeps_the_older_limits(
    platform, make_ctx, server, clock
) -> None:
    ctx = make_ctx()
    server.max_characters = 700
    await platform.resolve_capabilities(ctx)
    clock.advance(hours=2)
    server.fail_next("GET", "/api/v2/instance", status=503)
    assert (await platform.resolve_capabilities(ctx)).text.limit == 700


async def test_without_an_older_copy_the_failure_is_raised(platform, make_ctx, server) -> None:
    server.fail_next("GET", "/api/v2/instance", status=503)
    with pytest.raises(socialkit.Transient):
        await platform.resolve_capabilities(make_ctx())


async def test_each_server_has_its_own_limits(platform, make_ctx, account, clock, openapi) -> None:
    small = FakeMastodon(host="small.example", clock=clock, max_characters=300)
    large = FakeMastodon(host="large.example", clock=clock, max_characters=5000)
    servers = {s.host: s for s in (small, large)}

    def route(request: httpx.Request) -> httpx.Response:
        return servers[request.url.host].handle(request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(openapi.wrap(route))) as client:
        for server in servers.values():
            ctx = make_ctx(
                http=client,
                account=account.model_copy(update={"settings": {"instance": server.host}}),
            )
            caps = await platform.resolve_capabilities(ctx)
            assert caps.text.limit == server.max_characters


@pytest.mark.parametrize(
    ("raw", "url"),
    [
        ("mastodon.social", "https://mastodon.social"),
        ("https://Mastodon.Social/", "https://mastodon.social"),
        ("http://127.0.0.1:3000", "http://127.0.0.1:3000"),
    ],
)
def test_instance_addresses_are_normalised(raw: str, url: str) -> None:
    assert instance_url(raw) == url


@pytest.mark.parametrize("raw", [None, "", "ftp://x.example", "https://x.example/api", 5])
def test_a_bad_instance_setting_names_the_setting(raw) -> None:
    with pytest.raises(socialkit.ConfigError, match=r"settings\.instance"):
        instance_url(raw, account_id="acme")


def test_the_plugin_registers_through_the_entry_point() -> None:
    registry = socialkit.Registry()
    assert "mastodon" in registry.names()
    info = registry.info("mastodon")
    assert info.platform is Mastodon
    assert info.distribution == "socialkit-mastodon"
    assert isinstance(registry.platform("mastodon"), Mastodon)


def test_a_link_title_is_not_sent_and_the_server_makes_the_card() -> None:
    # POST /api/v1/statuses has no field for a card: the server makes Status.card (a
    # PreviewCard, "generated using OpenGraph tags from a URL") from the first link.
    post = socialkit.Post(
        text="Spring is here",
        link=socialkit.Link(url="https://example.com/spring", title="The spring blend"),
    )
    assert DEFAULT_CAPABILITIES.link_cards is False
    [problem] = socialkit.validate(post, DEFAULT_CAPABILITIES, platform="mastodon")
    assert problem.code == "link.card_unsupported"
    assert "shows no link cards" not in problem.message
    assert "made from the linked page" in problem.message
    draft = socialkit.render(post, "mastodon", DEFAULT_CAPABILITIES)
    assert draft.text.endswith("https://example.com/spring")  # the URL the card is made from


async def test_a_server_in_limited_federation_mode_gets_the_token_for_its_limits(
    platform, make_ctx, server, draft
) -> None:
    """Such a server answers GET /api/v2/instance only to an authenticated request."""
    server.limited_federation_mode = True
    server.max_characters = 1000
    capabilities = await platform.resolve_capabilities(make_ctx())
    assert capabilities.text.limit == 1000
    receipt = await platform.publish(draft(socialkit.Post(text="hello")), make_ctx())
    assert receipt.ref.id in server.statuses


async def test_limits_are_read_without_a_token_when_the_account_has_none(
    platform, make_ctx, server
) -> None:
    server.max_characters = 700
    ctx = make_ctx(credentials=socialkit.Credentials())
    assert (await platform.resolve_capabilities(ctx)).text.limit == 700
    [request] = server.requests
    assert "authorization" not in request.headers


async def test_an_address_that_is_no_mastodon_server_says_so(platform, make_ctx, server) -> None:
    """A 404 for the instance document: a wrong settings.instance, or a server before 4.0."""
    server.fail_next("GET", "/api/v2/instance", status=404, body={"error": "Record not found"})
    with pytest.raises(socialkit.Rejected) as info:
        await platform.resolve_capabilities(make_ctx())
    message = str(info.value)
    assert info.value.status_code == 404
    assert f"{server.base_url} has no GET /api/v2/instance" in message
    assert "settings.instance" in message
    assert "Mastodon 4.0" in message
