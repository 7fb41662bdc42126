"""The Bluesky adapter against a real PDS: limits, refusals, login failures, rate limits, tags."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

import socialkit

pytestmark = pytest.mark.integration

ZWNJ = "\u200c"


async def test_a_text_the_pds_would_reject_is_caught_by_validation_first(
    bsky: Any, app_account: dict[str, Any]
) -> None:
    too_long = "ب" * 301  # 301 graphemes: the PDS answers "grapheme too big"
    post = socialkit.Post(text=too_long, options={"auto_thread": False})
    account = bsky.account(app_account)
    [result] = await socialkit.apublish_now(post, account, credentials=bsky.provider(app_account))
    assert isinstance(result.error, socialkit.InvalidPost)
    [problem] = [p for p in result.problems if p.severity == "error"]
    assert (problem.field, problem.code, problem.limit, problem.value) == (
        "text",
        "text.too_long",
        300,
        301,
    )
    assert bsky.list_posts(app_account["did"]) == []

    # Past validation (a draft built by hand), the PDS's own refusal is Rejected with its words.
    platform = socialkit.get_registry().platform("bluesky")
    loose = platform.capabilities.model_copy(
        update={"text": platform.capabilities.text.with_limit(10_000)}
    )
    draft = socialkit.Draft(
        platform="bluesky", revision="r", parts=(socialkit.DraftPart(text=too_long),)
    )
    async with httpx.AsyncClient() as http:
        ctx = await bsky.context(
            account, bsky.provider(app_account), http, idempotency_keys=("k-0",), capabilities=loose
        )
        with pytest.raises(socialkit.Rejected) as caught:
            await platform.publish(draft, ctx)
    assert caught.value.platform_code == "InvalidRequest"
    assert "grapheme too big (maximum 300, got 301)" in caught.value.reason
    assert bsky.list_posts(app_account["did"]) == []


async def test_an_image_over_the_size_limit_is_a_validation_problem(
    bsky: Any, app_account: dict[str, Any]
) -> None:
    big = socialkit.Media.from_bytes(bsky.png(8, 8) + b"\0" * 2_000_000, alt_text="too big")
    post = socialkit.Post(text="a big picture", media=(big,))
    [result] = await socialkit.apublish_now(
        post, bsky.account(app_account), credentials=bsky.provider(app_account)
    )
    assert isinstance(result.error, socialkit.InvalidPost)
    [problem] = [p for p in result.problems if p.severity == "error"]
    assert (problem.field, problem.code, problem.limit) == (
        "media[0].size",
        "media.too_large",
        2_000_000,
    )
    assert bsky.list_posts(app_account["did"]) == []


async def test_a_wrong_app_password_gives_a_clear_auth_error(
    bsky: Any, app_account: dict[str, Any]
) -> None:
    [result] = await socialkit.apublish_now(
        socialkit.Post(text="never sent"),
        bsky.account(app_account),
        credentials=bsky.provider(app_account, password="wron-gpas-swor-dxxx"),
    )
    error = result.error
    assert isinstance(error, socialkit.NeedsReauth)
    assert error.status_code == 401
    assert error.platform_code == "AuthenticationRequired"
    message = str(error)
    assert app_account["handle"] in message
    assert "Invalid identifier or password" in message
    assert "app password" in message
    assert "wron-gpas-swor-dxxx" not in message
    assert bsky.list_posts(app_account["did"]) == []


async def test_hitting_the_login_rate_limit_is_rate_limited_with_a_reset_time(
    pds_with_rate_limits: Any,
) -> None:
    pds = pds_with_rate_limits
    owner = pds.create_account("limited")
    app = pds.create_app_password(owner)
    account = socialkit.Account(
        id="limited",
        platform="bluesky",
        handle=owner["handle"],
        settings={"service": pds.url, "web_url": ""},
    )
    platform = socialkit.get_registry().platform("bluesky")
    reports: list[socialkit.RateLimitReport] = []
    login_only = socialkit.Credentials().with_values(app_password=app["password"])
    async with httpx.AsyncClient() as http:
        ctx = socialkit.Context(
            account=account,
            credentials=login_only,
            http=http,
            media=socialkit.default_media_store(),
            on_rate_limit=reports.append,
        )
        # Each call without a refresh token logs in again: 30 pass in 5 minutes.
        for _ in range(30):
            await platform.refresh_credentials(ctx)
        with pytest.raises(socialkit.RateLimited) as caught:
            await platform.refresh_credentials(ctx)
    limited = caught.value
    assert limited.status_code == 429
    assert limited.platform_code == "RateLimitExceeded"
    assert limited.reset_at is not None
    assert limited.retry_after is not None
    assert 0 < limited.retry_after <= 300
    assert limited.resume_at(ctx.now()) >= limited.reset_at
    # every answer reported the login budget, counting down to zero
    session_reports = [r for r in reports if r.scope == "session"]
    assert [r.remaining for r in session_reports[:3]] == [29, 28, 27]
    assert session_reports[-1].remaining == 0
    assert session_reports[-1].limit == 30
    assert session_reports[-1].reset_at == limited.reset_at


async def test_a_hashtag_with_zwnj_is_cut_where_the_bluesky_app_cuts_it_with_a_warning(
    bsky: Any, app_account: dict[str, Any]
) -> None:
    text = f"آموزش #شبکه{ZWNJ}های_اجتماعی برای تیم"
    post = socialkit.Post(text=text)
    [result] = await socialkit.apublish_now(
        post, bsky.account(app_account), credentials=bsky.provider(app_account)
    )
    assert result.ok, result.error
    # validation warned before publishing (a warning does not block)
    [warning] = result.problems
    assert (warning.severity, warning.code, warning.field) == (
        "warning",
        "text.hashtag_cut",
        "text",
    )
    assert warning.value == "شبکه"
    assert f"#شبکه{ZWNJ}های_اجتماعی" in warning.message
    record = bsky.get_record(result.receipt.ref.id).json()["value"]
    [facet] = record["facets"]
    assert facet["features"] == [{"$type": "app.bsky.richtext.facet#tag", "tag": "شبکه"}]
    raw = text.encode("utf-8")
    assert raw[facet["index"]["byteStart"] : facet["index"]["byteEnd"]].decode() == "#شبکه"
    # The text is published whole; only the tag is shorter than a Persian reader expects.
    assert record["text"] == text
