"""The contract test kit every platform adapter runs, first- or third-party.

Subclass :class:`PlatformContract` in your plugin's tests, name your adapter, and fake the
platform over ``httpx.MockTransport``::

    import socialkit.testing

    class TestPigeon(socialkit.testing.PlatformContract):
        platform = Pigeon
        def handler(self, request): ...       # the fake platform
        def published_ids(self): ...           # what it holds

Replace a standard test only with :func:`override` and a reason. The pytest fixtures in
:mod:`socialkit.testing.pytest_plugin` load automatically (``pytest11`` entry point).

Names load on first use, so the pytest plugin (a submodule) stays cheap to import.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    "FEATURES": "socialkit.testing._base",
    "SAMPLE_JPEG": "socialkit.testing.factories",
    "SAMPLE_PNG": "socialkit.testing.factories",
    "SAMPLE_SECRET": "socialkit.testing.factories",
    "Fault": "socialkit.testing.transport",
    "FaultyTransport": "socialkit.testing.transport",
    "FrozenClock": "socialkit.testing.factories",
    "Harness": "socialkit.testing.harness",
    "PlatformContract": "socialkit.testing.contract",
    "make_account": "socialkit.testing.factories",
    "make_credentials": "socialkit.testing.factories",
    "make_post": "socialkit.testing.factories",
    "override": "socialkit.testing._guard",
    "standard_test_names": "socialkit.testing._guard",
}

__all__ = [
    "FEATURES",
    "SAMPLE_JPEG",
    "SAMPLE_PNG",
    "SAMPLE_SECRET",
    "Fault",
    "FaultyTransport",
    "FrozenClock",
    "Harness",
    "PlatformContract",
    "make_account",
    "make_credentials",
    "make_post",
    "override",
    "standard_test_names",
]


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'socialkit.testing' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:
    from socialkit.testing._base import FEATURES
    from socialkit.testing._guard import override, standard_test_names
    from socialkit.testing.contract import PlatformContract
    from socialkit.testing.factories import (
        SAMPLE_JPEG,
        SAMPLE_PNG,
        SAMPLE_SECRET,
        FrozenClock,
        make_account,
        make_credentials,
        make_post,
    )
    from socialkit.testing.harness import Harness
    from socialkit.testing.transport import Fault, FaultyTransport
