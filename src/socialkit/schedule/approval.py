"""Approval policies: which publications need a person's approval, and how many.

A publication that needs approval starts in ``pending_approval`` and cannot be claimed
until enough distinct people approved **its current revision**; an edit makes a new
revision that needs approval again. The policy is consulted when a publication is
created and when its content is edited.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

import attrs

if TYPE_CHECKING:
    from collections.abc import Collection

    from socialkit.models.account import Account
    from socialkit.models.content import Post

__all__ = ["ApprovalPolicy", "NoApproval", "OnRequest", "RequireApproval"]


@runtime_checkable
class ApprovalPolicy(Protocol):
    """Decides how many approvals a publication needs (0: none)."""

    def approvals_required(
        self, post: Post, account: Account, *, campaign: str | None, requested: bool | None
    ) -> int:
        """Approvals needed before ``post`` may go out on ``account``.

        Args:
            post: the content.
            account: the target account.
            campaign: the campaign id, if any.
            requested: what the caller asked for (``needs_approval=`` on ``schedule``),
                ``None`` when it did not say.
        """
        ...


def _check_approvers(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(
            f"{type(instance).__name__}.{attribute.name} must be a whole number of at "
            f"least 1 (got {value!r}); use NoApproval for no approval"
        )


def _ids(what: str, value: Collection[str] | None) -> frozenset[str] | None:
    """``value`` as a frozen set of ids; a bare string is refused, since its characters
    would otherwise be taken for ids (and ``"acme-x" in "acme-x2"`` is true)."""
    if value is None:
        return None
    if isinstance(value, str):
        raise ValueError(
            f"RequireApproval.{what} must be a collection of {what[:-1]} ids, "
            f"not one string: write [{value!r}] (got {value!r})"
        )
    ids = tuple(value)
    if not all(isinstance(v, str) for v in ids):
        raise ValueError(
            f"RequireApproval.{what} must hold {what[:-1]} ids as strings (got {ids!r})"
        )
    return frozenset(ids)


def _account_ids(value: Collection[str] | None) -> frozenset[str] | None:
    return _ids("accounts", value)


def _campaign_ids(value: Collection[str] | None) -> frozenset[str] | None:
    return _ids("campaigns", value)


@attrs.frozen(slots=True)
class OnRequest:
    """The default: ``approvers`` approvals (one) when the caller asks for approval,
    none otherwise."""

    approvers: int = attrs.field(default=1, validator=_check_approvers)

    def approvals_required(
        self, post: Post, account: Account, *, campaign: str | None, requested: bool | None
    ) -> int:
        return self.approvers if requested else 0


@attrs.frozen(slots=True)
class RequireApproval:
    """Every publication needs ``approvers`` approvals, optionally only for some accounts
    or campaigns. A caller's explicit ``needs_approval=False`` does not bypass it."""

    approvers: int = attrs.field(default=1, validator=_check_approvers)
    accounts: Collection[str] | None = attrs.field(default=None, converter=_account_ids)
    campaigns: Collection[str] | None = attrs.field(default=None, converter=_campaign_ids)

    def approvals_required(
        self, post: Post, account: Account, *, campaign: str | None, requested: bool | None
    ) -> int:
        if self.accounts is not None and account.id not in self.accounts:
            return self.approvers if requested else 0
        if self.campaigns is not None and campaign not in self.campaigns:
            return self.approvers if requested else 0
        return self.approvers


@attrs.frozen(slots=True)
class NoApproval:
    """Nothing needs approval, even when a caller asks."""

    def approvals_required(
        self, post: Post, account: Account, *, campaign: str | None, requested: bool | None
    ) -> int:
        return 0
