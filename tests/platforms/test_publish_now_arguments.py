"""``publish_now`` refuses a post or accounts of the wrong type at once, with the
scheduler's own check: a TypeError naming the parameter, what it takes and what it got,
before any account is prepared (nothing deep inside trips over it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import socialkit
from socialkit.models import _arguments as shared
from socialkit.schedule import _arguments as scheduler_arguments


def _account(tmp_path: Path, account_id: str = "acme-feed") -> socialkit.Account:
    return socialkit.Account(
        id=account_id,
        platform="feed",
        handle="acme",
        settings={"directory": str(tmp_path / "feed")},
    )


@pytest.mark.parametrize(
    ("post", "accounts", "message"),
    [
        (
            "Hello",
            "account",
            "post: expected a Post such as Post(text='Hello') (got str 'Hello')",
        ),
        (
            {"text": "Hello"},
            "account",
            "post: expected a Post such as Post(text='Hello') (got dict {'text': 'Hello'})",
        ),
        (
            "post",
            "acme-feed",
            "accounts: expected an Account or a list of them (got str 'acme-feed'); an "
            "account id is not enough here, give the Account itself",
        ),
        (
            "post",
            ["acme-feed"],
            "accounts[0]: expected an Account (got str 'acme-feed'); an account id is not "
            "enough here, give the Account itself",
        ),
        ("post", 5, "accounts: expected an Account or a list of them (got int 5)"),
        ("post", None, "accounts: expected an Account or a list of them (got None)"),
        ("post", ["account", 3], "accounts[1]: expected an Account (got int 3)"),
    ],
)
@pytest.mark.parametrize("call", ["publish_now", "apublish_now"])
def test_wrong_types_are_a_type_error_naming_the_parameter(
    tmp_path: Path, post: Any, accounts: Any, message: str, call: str
) -> None:
    account = _account(tmp_path)
    post = socialkit.Post(text="Hello") if post == "post" else post
    if accounts == "account":
        accounts = account
    elif isinstance(accounts, list):
        accounts = [account if item == "account" else item for item in accounts]

    def run() -> object:
        if call == "publish_now":
            return socialkit.publish_now(post, accounts)
        from socialkit._runtime import run_sync

        return run_sync(socialkit.apublish_now(post, accounts))

    with pytest.raises(TypeError) as refused:
        run()
    assert str(refused.value) == message
    assert not (tmp_path / "feed").exists()  # nothing was published


def test_one_account_or_several_are_taken(tmp_path: Path) -> None:
    one = _account(tmp_path)
    other = _account(tmp_path, "acme-feed-2")
    post = socialkit.Post(text="Hello")
    [result] = socialkit.publish_now(post, one)
    assert result.ok, result.error
    results = socialkit.publish_now(post, (a for a in [one, other]))  # any iterable
    assert [r.account.id for r in results] == ["acme-feed", "acme-feed-2"]
    assert all(r.ok for r in results)


def test_the_scheduler_and_publish_now_share_the_check() -> None:
    assert scheduler_arguments.check_post is shared.check_post
    assert scheduler_arguments.account_items is shared.account_items
