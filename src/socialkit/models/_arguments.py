"""Type checks of the arguments that take posts and accounts, shared by the scheduler and
``publish_now``: a wrong type is a ``TypeError`` naming the parameter, what it takes and
what it got, before anything deep inside trips over it."""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from typing import Literal, cast, overload

from socialkit.models.account import Account
from socialkit.models.content import Post

__all__ = ["account_items", "check_post", "shown"]


def shown(value: object) -> str:
    """A value as an error message shows it: its type and (shortened) repr."""
    if value is None:
        return "None"
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 80 else text[:77] + '...'}"


def check_post(post: object, field: str = "post") -> None:
    """Refuse anything but a :class:`Post` (a string of text, a dict)."""
    if not isinstance(post, Post):
        raise TypeError(f"{field}: expected a Post such as Post(text='Hello') (got {shown(post)})")


@overload
def account_items(
    accounts: object, field: str, *, ids: Literal[True] = ...
) -> builtins.list[Account | str]: ...


@overload
def account_items(
    accounts: object, field: str, *, ids: Literal[False]
) -> builtins.list[Account]: ...


def account_items(
    accounts: object, field: str, *, ids: bool = True
) -> builtins.list[Account | str] | builtins.list[Account]:
    """``accounts`` (one account, or several) as a list, each of the right type.

    With ``ids`` an account id (a ``str``) stands for a stored account; without (where
    there is no store to look it up, as in ``publish_now``) only :class:`Account` objects
    are taken.
    """
    kinds: tuple[type, ...] = (Account, str) if ids else (Account,)
    one = "an Account or an account id" if ids else "an Account"
    several = (
        "an Account, an account id, or a list of them" if ids else "an Account or a list of them"
    )
    if isinstance(accounts, kinds):
        return cast("builtins.list[Account | str]", [accounts])
    if not isinstance(accounts, Iterable) or isinstance(accounts, str | bytes):
        raise TypeError(
            f"{field}: expected {several} (got {shown(accounts)}){_id_hint(accounts, ids)}"
        )
    items = builtins.list(accounts)
    for index, item in enumerate(items):
        if not isinstance(item, kinds):
            raise TypeError(
                f"{field}[{index}]: expected {one} (got {shown(item)}){_id_hint(item, ids)}"
            )
    return cast("builtins.list[Account | str]", items)


def _id_hint(value: object, ids: bool) -> str:
    if ids or not isinstance(value, str):
        return ""
    return "; an account id is not enough here, give the Account itself"
