"""The sync ``Scheduler`` takes exactly the arguments of ``AsyncScheduler``.

Spelled-out signatures (no ``**options``) let type checkers and editors catch a
misspelled ``at=`` or ``tz=``; this test keeps the two from drifting apart.
"""

from __future__ import annotations

import inspect

import pytest

from socialkit import AsyncScheduler, Scheduler

# Methods whose sync form differs on purpose: a worker in the calling thread is stopped
# by signals rather than an asyncio.Event, and follow() is a blocking iterator.
DIFFERENT = {"run", "serve", "follow"}


def public_methods(cls: type) -> set[str]:
    """Public methods of ``cls`` and of the classes it is built from."""
    return {
        name
        for part in cls.__mro__[:-1]
        for name, value in vars(part).items()
        if not name.startswith("_") and inspect.isfunction(value)
    }


def test_the_methods_compared_include_those_of_the_base_classes() -> None:
    """AsyncScheduler is built from parts (_core, _planning): their methods count too."""
    assert {"open", "close", "add_account", "schedule", "queue", "recur", "evergreen"} <= (
        public_methods(AsyncScheduler) - DIFFERENT
    )


def test_every_async_method_has_a_sync_twin() -> None:
    missing = public_methods(AsyncScheduler) - public_methods(Scheduler)
    assert not missing, f"Scheduler lacks {sorted(missing)}"


@pytest.mark.parametrize(
    "name", sorted((public_methods(AsyncScheduler) & public_methods(Scheduler)) - DIFFERENT)
)
def test_the_sync_twin_takes_the_same_parameters(name: str) -> None:
    def shape(cls: type) -> list[tuple[str, object, object]]:
        signature = inspect.signature(getattr(cls, name))
        return [(p.name, p.kind, p.default) for p in signature.parameters.values()]

    assert shape(Scheduler) == shape(AsyncScheduler)


def test_the_constructors_take_the_same_parameters() -> None:
    def shape(cls: type) -> list[tuple[str, object, object]]:
        params = inspect.signature(cls.__init__).parameters.values()
        return [(p.name, p.kind, p.default) for p in params]

    assert shape(Scheduler) == shape(AsyncScheduler)
    assert "options" not in inspect.signature(Scheduler.schedule).parameters


def test_schedule_many_through_the_sync_scheduler(tmp_path) -> None:
    import datetime as dt

    from socialkit import Account, Post
    from socialkit.schedule import ScheduleRequest

    account = Account(id="acme-feed", platform="feed", handle="acme", timezone="Europe/Berlin")
    at = dt.datetime(2030, 1, 1, 9, tzinfo=dt.UTC)
    with Scheduler(f"sqlite:///{tmp_path / 's.db'}", accounts=[account]) as scheduler:
        ids = scheduler.schedule_many(
            ScheduleRequest(
                post=Post(text=f"post {i}"), accounts=account, at=at + dt.timedelta(hours=i)
            )
            for i in range(3)
        )
        assert len(ids) == 3
        page = scheduler.list(account="acme-feed", include_post=True)
        assert [p.id for p in page.items] == ids
        assert [p.post.text for p in page.items if p.post] == ["post 0", "post 1", "post 2"]
