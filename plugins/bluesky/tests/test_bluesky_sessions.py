"""Sessions: made once from the app password, shared through the provider, refreshed once."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from socialkit_bluesky._session import Session, jwt_expiry

import socialkit

APP_PASSWORD = "abcd-efgh-ijkl-mnop"  # the lab account's (conftest)


def count(lab, nsid: str) -> int:
    return lab.nsids().count(nsid)


async def test_first_use_creates_a_session_and_saves_it(lab) -> None:
    identity = await lab.platform.verify_account(await lab.context())
    assert identity.platform_account_id == lab.owner.did
    assert identity.handle == "alice.test"
    stored = await lab.provider.load(lab.account)
    assert stored.get("did") == lab.owner.did
    assert stored.get("app_password") == "abcd-efgh-ijkl-mnop"  # kept beside the session
    assert stored.expires_at == lab.clock.now.replace(microsecond=0) + timedelta(hours=2)
    assert count(lab, "com.atproto.server.createSession") == 1


async def test_a_stored_session_is_reused_without_logging_in(lab) -> None:
    await lab.platform.verify_account(await lab.context())
    for _ in range(3):
        await lab.platform.verify_account(await lab.context())  # fresh contexts, like new workers
    assert count(lab, "com.atproto.server.createSession") == 1
    assert count(lab, "com.atproto.server.getSession") == 4


async def test_a_session_near_expiry_is_refreshed_once_before_use(lab) -> None:
    await lab.platform.verify_account(await lab.context())
    before = await lab.provider.load(lab.account)
    lab.clock.advance(hours=1, minutes=57)  # 3 minutes left: inside the refresh margin
    await lab.platform.verify_account(await lab.context())
    after = await lab.provider.load(lab.account)
    assert count(lab, "com.atproto.server.refreshSession") == 1
    assert count(lab, "com.atproto.server.createSession") == 1
    assert after.get("refresh_jwt") != before.get("refresh_jwt")  # rotated and saved


async def test_concurrent_workers_make_one_session_between_them(lab) -> None:
    contexts = [await lab.context() for _ in range(8)]
    identities = await asyncio.gather(*(lab.platform.verify_account(c) for c in contexts))
    assert {i.platform_account_id for i in identities} == {lab.owner.did}
    assert count(lab, "com.atproto.server.createSession") == 1


async def test_expired_token_is_auth_expired_and_refresh_credentials_renews_it(lab) -> None:
    await lab.platform.verify_account(await lab.context())
    ctx = await lab.context()
    # The token dies early (the server says so before its exp claim does).
    stale = Session.from_credentials(ctx.credentials)
    assert stale is not None
    lab.pds._tokens[stale.access_jwt].expires_at = lab.clock.now
    with pytest.raises(socialkit.AuthExpired, match="ExpiredToken"):
        await lab.platform.verify_account(ctx)
    fresh = await lab.platform.refresh_credentials(ctx)
    assert fresh.get("access_jwt") != stale.access_jwt
    assert fresh.get("app_password") == "abcd-efgh-ijkl-mnop"
    assert count(lab, "com.atproto.server.refreshSession") == 1
    assert count(lab, "com.atproto.server.createSession") == 1
    await lab.provider.save(lab.account, fresh)
    identity = await lab.platform.verify_account(await lab.context())
    assert identity.platform_account_id == lab.owner.did


async def test_a_dead_refresh_token_falls_back_to_the_app_password(lab) -> None:
    await lab.platform.verify_account(await lab.context())
    ctx = await lab.context()
    dead = ctx.credentials.with_values(refresh_jwt="not-a-token", access_jwt="not-a-token")
    fresh = await lab.platform.refresh_credentials(ctx.evolve(credentials=dead))
    assert count(lab, "com.atproto.server.refreshSession") == 1
    assert count(lab, "com.atproto.server.createSession") == 2
    assert fresh.get("did") == lab.owner.did


async def test_wrong_app_password_needs_a_person(lab) -> None:
    await lab.provider.save(
        lab.account, socialkit.Credentials().with_values(app_password="wrong-pass-word-here")
    )
    with pytest.raises(socialkit.NeedsReauth) as caught:
        await lab.platform.verify_account(await lab.context())
    message = str(caught.value)
    assert "alice.test" in message
    assert "Invalid identifier or password" in message
    assert "app password (Settings → Privacy and security → App passwords)" in message
    assert "wrong-pass-word-here" not in message


async def test_revoked_app_password_needs_a_person_on_refresh(lab) -> None:
    await lab.platform.verify_account(await lab.context())
    lab.pds.revoke_app_password(lab.owner.did)
    with pytest.raises(socialkit.NeedsReauth, match="Invalid identifier or password"):
        await lab.platform.refresh_credentials(await lab.context())


async def test_no_app_password_and_no_session_needs_a_person(lab) -> None:
    await lab.provider.save(lab.account, socialkit.Credentials())
    with pytest.raises(socialkit.NeedsReauth, match="app_password"):
        await lab.platform.verify_account(await lab.context())
    assert lab.requests == []


async def test_login_uses_the_did_once_it_is_known(lab) -> None:
    lab.account = lab.account.model_copy(update={"platform_account_id": lab.owner.did})
    await lab.platform.verify_account(await lab.context())
    [login] = [r for r in lab.requests if r.url.path.endswith("createSession")]
    assert lab.owner.did.encode() in login.content


async def test_login_rate_limit_is_rate_limited_with_a_reset(lab) -> None:
    lab.pds.rate_limits = True
    for _ in range(30):
        await lab.platform.refresh_credentials(
            (await lab.context()).evolve(
                credentials=socialkit.Credentials().with_values(app_password="abcd-efgh-ijkl-mnop")
            )
        )
    with pytest.raises(socialkit.RateLimited) as caught:
        await lab.platform.refresh_credentials(
            (await lab.context()).evolve(
                credentials=socialkit.Credentials().with_values(app_password="abcd-efgh-ijkl-mnop")
            )
        )
    assert caught.value.reset_at is not None
    assert caught.value.reset_at > lab.clock.now
    assert caught.value.retry_after == pytest.approx(300, abs=1)
    assert lab.rate_limits[-1].scope == "session"
    assert lab.rate_limits[-1].remaining == 0


def test_session_repr_hides_tokens() -> None:
    session = Session(
        access_jwt="aaa.bbb.ccc", refresh_jwt="ddd.eee.fff", did="did:plc:x", handle="x"
    )
    assert "aaa.bbb" not in repr(session)
    assert "ddd.eee" not in repr(session)


def test_jwt_expiry_reads_the_exp_claim_and_tolerates_junk() -> None:
    import base64
    import json

    payload = base64.urlsafe_b64encode(json.dumps({"exp": 1780000000}).encode()).rstrip(b"=")
    assert jwt_expiry(f"h.{payload.decode()}.s").timestamp() == 1780000000
    assert jwt_expiry("junk") is None
    assert jwt_expiry("a.!!!.c") is None


async def _bobs_account(lab) -> socialkit.Account:
    """Alice's session is stored; the account is then pointed at Bob (a fixed project file)."""
    await lab.platform.verify_account(await lab.context())
    bob = lab.pds.create_account("bob.test", app_password="bbbb-bbbb-bbbb-bbbb")
    stored = await lab.provider.load(lab.account)
    await lab.provider.save(lab.account, stored.with_values(app_password="bbbb-bbbb-bbbb-bbbb"))
    lab.account = lab.account.model_copy(update={"handle": "bob.test"})
    return bob


async def test_a_stored_session_of_another_handle_is_not_used(lab, caplog) -> None:
    bob = await _bobs_account(lab)
    identity = await lab.platform.verify_account(await lab.context())
    assert identity.platform_account_id == bob.did
    [receipt_part] = (
        await lab.platform.publish(lab.draft(socialkit.Post(text="for bob")), await lab.context())
    ).parts
    assert receipt_part.id.startswith(f"at://{bob.did}/")
    stored = await lab.provider.load(lab.account)
    assert stored.get("did") == bob.did
    # Alice's refresh token is not used to make Bob's session: a fresh login with his password.
    assert count(lab, "com.atproto.server.refreshSession") == 0
    assert count(lab, "com.atproto.server.createSession") == 2
    [warning] = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warning == (
        f"bluesky: account 'acme-bsky' is bob.test, but its stored session is alice.test "
        f"({lab.owner.did}); logging in again with the app password"
    )


async def test_a_stored_session_of_another_did_is_not_used(lab) -> None:
    bob = await _bobs_account(lab)
    # A handle that still matches Alice's session does not matter once the DID is known.
    lab.account = lab.account.model_copy(
        update={"handle": "alice.test", "platform_account_id": bob.did}
    )
    identity = await lab.platform.verify_account(await lab.context())
    assert identity.platform_account_id == bob.did
    assert count(lab, "com.atproto.server.createSession") == 2


async def test_a_handle_in_another_case_or_with_an_at_sign_is_the_same_account(lab) -> None:
    await lab.platform.verify_account(await lab.context())
    lab.account = lab.account.model_copy(update={"handle": "@Alice.Test"})
    await lab.platform.verify_account(await lab.context())
    assert count(lab, "com.atproto.server.createSession") == 1


async def test_no_password_or_token_in_logs_reprs_or_errors(lab, caplog) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    ctx = await lab.context()
    receipt = await lab.platform.publish(lab.draft(socialkit.Post(text="hi @alice.test")), ctx)
    stored = await lab.provider.load(lab.account)
    secrets = [stored.get(key) for key in ("app_password", "access_jwt", "refresh_jwt")]
    assert all(secrets)
    # A token the server refuses, then a password it refuses: the errors on the way.
    errors: list[Exception] = []
    session = Session.from_credentials(stored)
    assert session is not None
    lab.pds._tokens[session.access_jwt].expires_at = lab.clock.now
    with pytest.raises(socialkit.AuthExpired) as expired:
        await lab.platform.verify_account(await lab.context())
    errors.append(expired.value)
    lab.pds.revoke_app_password(lab.owner.did)
    with pytest.raises(socialkit.NeedsReauth) as reauth:
        await lab.platform.refresh_credentials(await lab.context())
    errors.append(reauth.value)
    shown = [record.getMessage() for record in caplog.records]
    assert any("createRecord" in text for text in shown)  # httpx logged the requests
    shown += [repr(x) for x in (ctx, stored, session, receipt, lab.platform, *errors)]
    shown += [str(x) for x in (stored, *errors)]
    shown += [repr(x.details) for x in errors if isinstance(x, socialkit.PlatformError)]
    for secret in secrets:
        assert not [text for text in shown if secret in text]


async def test_a_stored_session_with_a_newline_after_its_tokens_is_used(lab) -> None:
    # A secrets file or variable edited by hand ends in a newline; httpx refuses such a
    # header (LocalProtocolError, quoting it, token and all) before anything is sent.
    await lab.platform.verify_account(await lab.context())
    stored = await lab.provider.load(lab.account)
    access, refresh = stored.get("access_jwt"), stored.get("refresh_jwt")
    assert access
    assert refresh
    await lab.provider.save(
        lab.account, stored.with_values(access_jwt=access + "\n", refresh_jwt=" " + refresh)
    )
    await lab.platform.publish(lab.draft(socialkit.Post(text="hello")), await lab.context())
    creates = [r for r in lab.requests if r.url.path.endswith("createRecord")]
    assert [r.headers["authorization"] for r in creates] == [f"Bearer {access}"]
    assert count(lab, "com.atproto.server.createSession") == 1  # the stored session served


async def test_a_stored_token_no_header_can_carry_is_replaced_by_a_new_session(lab) -> None:
    await lab.platform.verify_account(await lab.context())
    stored = await lab.provider.load(lab.account)
    access = stored.get("access_jwt")
    assert access
    broken = access[:10] + "\n" + access[10:]
    await lab.provider.save(lab.account, stored.with_values(access_jwt=broken))
    await lab.platform.publish(lab.draft(socialkit.Post(text="hello")), await lab.context())
    assert count(lab, "com.atproto.server.refreshSession") == 1  # renewed, not used
    renewed = (await lab.provider.load(lab.account)).get("access_jwt")
    assert renewed
    assert renewed != access
    assert "\n" not in renewed
    sent = [r.headers.get("authorization", "") for r in lab.requests]
    assert not [header for header in sent if "\n" in header]


async def test_an_app_password_with_a_newline_after_it_logs_in(lab) -> None:
    await lab.provider.save(
        lab.account, socialkit.Credentials().with_values(app_password=APP_PASSWORD + "\n")
    )
    identity = await lab.platform.verify_account(await lab.context())
    assert identity.platform_account_id == lab.owner.did
    [login] = [r for r in lab.requests if r.url.path.endswith("createSession")]
    assert json.loads(login.content)["password"] == APP_PASSWORD


async def test_an_app_password_with_control_characters_needs_a_person(lab) -> None:
    garbled = APP_PASSWORD[:4] + "\x00" + APP_PASSWORD[4:]
    await lab.provider.save(lab.account, socialkit.Credentials().with_values(app_password=garbled))
    with pytest.raises(socialkit.NeedsReauth, match="app_password") as caught:
        await lab.platform.verify_account(await lab.context())
    assert APP_PASSWORD[5:] not in str(caught.value)
    assert lab.requests == []  # nothing was sent
