"""Notification hooks the scheduling engine fires, for plugins and applications.

They fire **after** the store has committed the change, in the process that made it,
and are **best-effort**: an exception in an implementation is logged and ignored, and a
process may die between the commit and the call. Anything that must not miss a change
(a webhook, an audit copy) reads the durable event log instead
(``Scheduler.events(since=cursor)``).

Implement them like any socialkit hook; an implementation may take fewer arguments than
the spec lists::

    import socialkit

    @socialkit.hookimpl
    def publication_published(change, receipt):
        print(change.publication_id, "is live at", receipt.url)

and register the module with the process's registry
(``socialkit.get_registry().register_plugin(module)``) or ship it as a plugin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from socialkit.hookspecs import hookspec

if TYPE_CHECKING:
    from socialkit.errors import PlatformError
    from socialkit.models.receipt import Receipt
    from socialkit.schedule.engine.events import StateChange

__all__ = [
    "publication_failed",
    "publication_published",
    "publication_state_changed",
    "publication_unknown",
]


@hookspec
def publication_state_changed(change: StateChange) -> None:
    """A publication moved from one state to another: every move the engine or a person
    makes, except a worker's own marks on the way to sending (to ``claimed`` and to
    ``publishing``), which the durable event log records.

    Args:
        change: the publication id, its account and campaign, ``from_state``,
            ``to_state``, when, who, why, the attempt and the platform error if any.
    """


@hookspec
def publication_published(change: StateChange, receipt: Receipt) -> None:
    """A publication was published (also after reconciliation or a person's resolve).

    Args:
        change: the move to ``published``.
        receipt: the platform's references (``receipt.url`` for people).
    """


@hookspec
def publication_failed(change: StateChange, error: PlatformError | None) -> None:
    """A publication failed for good (rejected, invalid, or out of attempts).

    Args:
        change: the move to ``failed``; ``change.reason`` says why.
        error: the platform error, when one caused it (``None`` for validation problems
            or a person abandoning it).
    """


@hookspec
def publication_unknown(change: StateChange, needs_person: bool) -> None:
    """A publication's outcome is unknown: it may or may not be on the platform.

    Args:
        change: the move (into ``unknown``, or within it).
        needs_person: ``True`` when the engine cannot settle it and waits for
            ``resolve(id, published=… | retry | abandon)``.
    """
