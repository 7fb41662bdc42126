"""The ``register_platforms`` hook, as a plugin author uses it."""

from __future__ import annotations

import types

import socialkit
from socialkit.platforms.feed import FeedPlatform
from socialkit.text.rules import FEED


class Carrier(socialkit.Platform):
    name = "carrier"
    contract = socialkit.CONTRACT
    capabilities = socialkit.Capabilities(text=FEED)

    async def publish(self, draft, ctx):  # type: ignore[no-untyped-def]
        raise NotImplementedError


def _plugin(impl: object) -> types.ModuleType:
    module = types.ModuleType("carrier_plugin")
    module.register_platforms = impl  # type: ignore[attr-defined]
    return module


def test_register_platforms_adds_each_registered_class() -> None:
    @socialkit.hookimpl
    def register_platforms(register):  # type: ignore[no-untyped-def]
        register(Carrier)

    registry = socialkit.Registry(load_entry_points=False, plugins=[_plugin(register_platforms)])
    assert registry.names() == ["carrier"]
    assert registry.info("carrier").plugin == "carrier_plugin"
    assert registry.failures == []


def test_register_platforms_may_take_no_arguments_and_register_nothing() -> None:
    """Implementations may accept fewer arguments than the spec lists."""

    @socialkit.hookimpl
    def register_platforms():  # type: ignore[no-untyped-def]
        return None

    registry = socialkit.Registry(load_entry_points=False, plugins=[_plugin(register_platforms)])
    assert registry.names() == []
    assert registry.failures == []


def test_register_platforms_from_the_feed_entry_point() -> None:
    registry = socialkit.Registry()
    assert registry.info("feed").platform is FeedPlatform
