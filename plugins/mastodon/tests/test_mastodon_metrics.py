"""Metrics, deletion and the account's stable id."""

from __future__ import annotations

import pytest
from socialkit_mastodon.testing import documented

import socialkit


async def test_metrics_come_from_the_status_and_followers_from_the_account(
    platform, make_ctx, server, draft, clock
) -> None:
    receipt = await platform.publish(draft(socialkit.Post(text="count me")), make_ctx())
    status = server.statuses[receipt.ref.id]
    example = documented(
        "status"
    )  # the documentation's counts: 5 replies, 6 boosts, 11 favourites, 2 quotes
    for key in ("replies_count", "reblogs_count", "favourites_count", "quotes_count"):
        status[key] = example[key]
    server.followers_count = 1234

    post, account = await platform.fetch_metrics([receipt], make_ctx())
    assert (post.subject, post.post_id, post.publication_id) == ("post", receipt.ref.id, "pub-1")
    assert (post.comments, post.shares, post.likes, post.quotes) == (5, 6, 11, 2)
    assert post.collected_at == clock()
    assert post.impressions is None
    assert (account.subject, account.followers) == ("account", 1234)


async def test_a_server_without_quotes_reports_none_not_zero(
    platform, make_ctx, server, draft
) -> None:
    receipt = await platform.publish(draft(socialkit.Post(text="old server")), make_ctx())
    del server.statuses[receipt.ref.id]["quotes_count"]
    [post, _] = await platform.fetch_metrics([receipt], make_ctx())
    assert post.quotes is None
    assert post.likes == 0


async def test_a_deleted_status_is_left_out_of_metrics(platform, make_ctx, server, draft) -> None:
    ctx = make_ctx()
    kept = await platform.publish(draft(socialkit.Post(text="kept")), ctx)
    gone = await platform.publish(
        draft(socialkit.Post(text="gone")), ctx.evolve(idempotency_keys=("other",))
    )
    del server.statuses[gone.ref.id]
    snapshots = await platform.fetch_metrics([kept, gone], ctx)
    assert [s.post_id for s in snapshots] == [kept.ref.id, None]


async def test_delete_removes_every_part_replies_first(platform, make_ctx, server, draft) -> None:
    post = socialkit.Post(text="a", thread=(socialkit.ThreadPart(text="b"),))
    receipt = await platform.publish(draft(post), make_ctx())
    await platform.delete(receipt, make_ctx())
    assert server.statuses == {}
    deletes = [r.url.path.rsplit("/", 1)[1] for r in server.requests if r.method == "DELETE"]
    assert deletes == [receipt.parts[1].id, receipt.parts[0].id]
    await platform.delete(receipt, make_ctx())  # already gone: still fine


async def test_verify_account_records_the_numeric_id(platform, make_ctx, server) -> None:
    identity = await platform.verify_account(make_ctx())
    assert identity == socialkit.AccountIdentity(
        platform_account_id=server.account_id,
        handle="@acme@mastodon.example",
        display_name="Acme",
    )


async def test_the_handle_carries_the_servers_webfinger_domain(platform, make_ctx, server) -> None:
    """A server at social.example.com can give its accounts handles @user@example.com."""
    server.domain = "example.com"
    identity = await platform.verify_account(make_ctx())
    assert identity.handle == "@acme@example.com"


async def test_without_the_instance_document_the_handle_takes_the_servers_address(
    platform, make_ctx, server
) -> None:
    server.fail_next("GET", "/api/v2/instance", status=503)
    identity = await platform.verify_account(make_ctx())
    assert identity.handle == "@acme@mastodon.example"
    assert identity.platform_account_id == server.account_id


async def test_the_stable_id_on_the_account_saves_a_lookup(
    platform, make_ctx, server, draft, account
) -> None:
    known = account.model_copy(update={"platform_account_id": server.account_id})
    await platform.fetch_metrics([], make_ctx(account=known))
    assert not any(r.url.path.endswith("verify_credentials") for r in server.requests)


async def test_a_refused_valid_token_is_forbidden_and_a_revoked_one_needs_reauth(
    platform, make_ctx, server
) -> None:
    """403 (a valid token refused: outside its scopes, a login disabled) is
    ``Forbidden``, a ``NeedsReauth`` the engine treats as a read refused when
    ``fetch_metrics`` meets it (the account keeps publishing). 401 stays a plain
    ``NeedsReauth`` (the token itself is bad). (The schema declares 403 for
    ``verify_credentials``, which the fake server checks its answers against.)"""
    refused = {"error": "This action is outside the authorized scopes"}
    server.fail_next("GET", r"/api/v1/accounts/verify_credentials", status=403, body=refused)
    ctx = make_ctx()
    token = ctx.credentials.require("access_token")
    with pytest.raises(socialkit.Forbidden) as info:
        await platform.verify_account(ctx)
    assert info.value.status_code == 403
    assert "outside the authorized scopes" in str(info.value)
    assert "socialkit accounts reconnect acme-mastodon" in str(info.value)
    assert token not in repr(info.value)
    server.revoke(token)
    with pytest.raises(socialkit.NeedsReauth) as info:
        await platform.verify_account(ctx)
    assert not isinstance(info.value, socialkit.Forbidden)
    assert info.value.status_code == 401
