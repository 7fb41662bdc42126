"""Approval policies as data: what each decides, and bad settings refused up front."""

from __future__ import annotations

import re

import pytest

from socialkit.models.account import Account
from socialkit.models.content import Post
from socialkit.schedule.approval import ApprovalPolicy, NoApproval, OnRequest, RequireApproval

POST = Post(text="Approval")
ACME = Account(id="acme-x", platform="feed", handle="acme")
OTHER = Account(id="a", platform="feed", handle="a")


def needs(
    policy: ApprovalPolicy, account: Account, campaign: str | None, asked: bool | None
) -> int:
    return policy.approvals_required(POST, account, campaign=campaign, requested=asked)


def test_each_policy_decides_as_documented() -> None:
    assert [needs(OnRequest(), ACME, None, asked) for asked in (None, False, True)] == [0, 0, 1]
    assert needs(OnRequest(approvers=2), ACME, None, True) == 2
    assert [needs(NoApproval(), ACME, "c", asked) for asked in (None, True)] == [0, 0]
    every = RequireApproval(approvers=2)
    assert [needs(every, ACME, None, asked) for asked in (None, False, True)] == [2, 2, 2]
    some = RequireApproval(accounts=["acme-x"], campaigns={"launch"})
    assert needs(some, ACME, "launch", False) == 1  # cannot be bypassed by the caller
    assert needs(some, ACME, "other", None) == 0
    assert needs(some, OTHER, "launch", None) == 0
    assert needs(some, OTHER, "launch", True) == 1
    assert all(isinstance(p, ApprovalPolicy) for p in (OnRequest(), NoApproval(), some))


def test_ids_are_whole_ids_not_characters() -> None:
    policy = RequireApproval(accounts=("acme-x",))
    assert policy.accounts == frozenset({"acme-x"})
    assert needs(policy, OTHER, None, None) == 0  # "a" is not an account of the policy


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: RequireApproval(accounts="acme-x"),
         "RequireApproval.accounts must be a collection of account ids, not one string: "
         "write ['acme-x'] (got 'acme-x')"),
        (lambda: RequireApproval(campaigns="launch"),
         "RequireApproval.campaigns must be a collection of campaign ids, not one string"),
        (lambda: RequireApproval(accounts=[1]),
         "RequireApproval.accounts must hold account ids as strings (got (1,))"),
        (lambda: RequireApproval(approvers=0),
         "RequireApproval.approvers must be a whole number of at least 1 (got 0); "
         "use NoApproval for no approval"),
        (lambda: OnRequest(approvers=-1), "OnRequest.approvers must be a whole number of at least 1 (got -1)"),
        (lambda: OnRequest(approvers=True), "OnRequest.approvers must be a whole number of at least 1 (got True)"),
    ],
)  # fmt: skip
def test_bad_settings_are_refused_naming_field_limit_and_value(make, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}"):
        make()
