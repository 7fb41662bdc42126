"""Standard tests, and the guard that keeps adapters from dropping them quietly.

Every standard test of the kit is declared with :func:`standard`. A subclass may replace
one only with :func:`override` and a reason, and may not delete one; the check runs when
the subclass is defined (a ``TypeError`` that fails collection) and again as a test of
its own, which also notices a standard test removed from the kit class at run time.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["OVERRIDE_ATTR", "override", "standard", "standard_test_names", "standard_violations"]

OVERRIDE_ATTR = "__socialkit_override_reason__"
_STANDARD_ATTR = "__socialkit_standard__"

_registry: dict[str, Callable[..., Any]] = {}
F = TypeVar("F", bound="Callable[..., Any]")


def standard(
    *, requires: tuple[str, ...] = (), unless: tuple[str, ...] = ()
) -> Callable[[Callable[..., Any]], Callable[..., None]]:
    """Declare a standard test.

    An ``async def test_x(self, h)`` becomes a plain pytest test that runs its scenario on a
    fresh event loop with a fresh :class:`~socialkit.testing.Harness` ``h``, so the kit works
    with or without pytest-asyncio. A plain ``def test_x(self)`` stays as it is.

    Args:
        requires: features the test needs (``"threads"``, ``"http"``...); it is skipped,
            with the reason printed, when the adapter lacks one.
        unless: features whose absence the test checks; skipped when the adapter has one.
    """

    def decorate(function: Callable[..., Any]) -> Callable[..., None]:
        name = function.__name__
        if not name.startswith("test_"):
            raise ValueError(f"standard test names start with 'test_' (got {name!r})")
        if name in _registry:
            raise ValueError(f"standard test {name!r} is declared twice")

        def test(self: Any) -> None:
            self._skip_unless_supported(name, requires, unless)
            if inspect.iscoroutinefunction(function):
                asyncio.run(self._run_scenario(function))
            else:
                function(self)

        # Copied by hand, not with functools.wraps: pytest would follow __wrapped__ and
        # take the scenario's ``h`` argument for a fixture.
        test.__name__ = name
        test.__qualname__ = function.__qualname__
        test.__doc__ = function.__doc__
        test.__module__ = function.__module__
        setattr(test, _STANDARD_ATTR, (requires, unless))
        _registry[name] = test
        return test

    return decorate


def override(reason: str) -> Callable[[F], F]:
    """Replace a standard test in an adapter's test class, saying why.

    Example::

        class TestPigeon(socialkit.testing.PlatformContract):
            platform = Pigeon

            @socialkit.testing.override("pigeons cannot carry two letters at once")
            def test_thread_publishes_every_part_in_order(self) -> None:
                ...

    Args:
        reason: why the standard test does not fit; shown in the test's docstring.

    Raises:
        ValueError: for an empty reason.
    """
    if not isinstance(reason, str) or not reason.strip():
        raise ValueError("override() needs a reason: @socialkit.testing.override('why')")

    def decorate(function: F) -> F:
        setattr(function, OVERRIDE_ATTR, reason.strip())
        return function

    return decorate


def standard_test_names() -> tuple[str, ...]:
    """The names of every standard test, sorted."""
    # The tests register themselves when the kit's class is defined.
    importlib.import_module("socialkit.testing.contract")
    return tuple(sorted(_registry))


def standard_violations(cls: type) -> list[str]:
    """Standard tests ``cls`` lacks or overrides without a reason (one message each)."""
    problems = []
    for name in standard_test_names():
        value = inspect.getattr_static(cls, name, None)
        if value is _registry[name]:
            continue
        owner = next((k.__qualname__ for k in cls.__mro__ if name in vars(k)), cls.__qualname__)
        if value is None or not callable(value):
            problems.append(
                f"{owner}.{name}: the standard test {name!r} was deleted (it is {value!r}); "
                "replace it with a method decorated with @socialkit.testing.override('why')"
            )
        elif not getattr(value, OVERRIDE_ATTR, None):
            problems.append(
                f"{owner}.{name} overrides the standard test {name!r} without a reason; "
                "decorate it with @socialkit.testing.override('why')"
            )
    return problems
