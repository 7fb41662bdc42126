"""A plugin author's mistakes that pluggy alone would load silently, or that would only
fail when the engine first publishes: the registry reports each, saying what to fix."""

from __future__ import annotations

import functools
import types
from typing import Any

import pytest

import socialkit
from socialkit.text import Counting, TextRule

CAPABILITIES = socialkit.Capabilities(
    text=TextRule(name="heron", counting=Counting.GRAPHEMES, limit=300)
)


class Heron(socialkit.Platform):
    name = "heron"
    contract = 1
    capabilities = CAPABILITIES

    async def publish(self, draft, ctx):  # type: ignore[no-untyped-def]
        raise NotImplementedError


def _module(name: str, **functions: Any) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__dict__.update(functions)
    return module


def _only_failure(registry: socialkit.Registry) -> socialkit.PluginFailure:
    assert registry.names() == []
    [failure] = registry.failures
    return failure


def test_a_hook_without_hookimpl_is_reported() -> None:
    def register_platforms(register):  # type: ignore[no-untyped-def]
        register(Heron)  # never called: the decorator is missing

    registry = socialkit.Registry(
        load_entry_points=False,
        plugins=[_module("heron_plugin", register_platforms=register_platforms)],
    )
    failure = _only_failure(registry)
    assert (failure.plugin, failure.stage) == ("heron_plugin", "register")
    assert failure.error == (
        "PluginError: plugin 'heron_plugin': register_platforms() is not decorated with "
        "@socialkit.hookimpl, so it is never called"
    )


def test_a_misspelled_hook_is_reported_with_the_right_name() -> None:
    @socialkit.hookimpl
    def register_platform(register):  # type: ignore[no-untyped-def]
        register(Heron)

    registry = socialkit.Registry(
        load_entry_points=False,
        plugins=[_module("heron_plugin", register_platform=register_platform)],
    )
    assert _only_failure(registry).error == (
        "PluginError: plugin 'heron_plugin': register_platform() is not a socialkit hook, so "
        "it is never called; did you mean register_platforms()?"
    )


def test_a_module_without_hooks_is_reported() -> None:
    registry = socialkit.Registry(
        load_entry_points=False, plugins=[_module("heron_plugin", Heron=Heron)]
    )
    assert "has no function decorated with @socialkit.hookimpl" in _only_failure(registry).error


def test_a_plugin_of_notification_hooks_only_is_accepted() -> None:
    # Hooks of a later layer (the engine's notifications) are not known yet when plugins
    # load; an implementation of one is not a mistake.
    @socialkit.hookimpl
    def publication_published(change, receipt):  # type: ignore[no-untyped-def]
        pass

    registry = socialkit.Registry(
        load_entry_points=False,
        plugins=[_module("chat", publication_published=publication_published)],
    )
    assert registry.failures == []


@pytest.mark.parametrize("name", ["Heron", "my platform", "x.com", "heron/2", "2heron", "h" * 41])
def test_a_name_posts_cannot_override_is_refused(name: str) -> None:
    # Post.overrides keys are [a-z][a-z0-9_-]{0,39}: such a platform could never be given
    # a version of a post of its own.
    cls = type("Odd", (Heron,), {"name": name})
    with pytest.raises(socialkit.PluginError) as refused:
        socialkit.Registry(load_entry_points=False).register(cls)
    assert str(refused.value) == (
        "plugin '<direct>': Odd.name must be a lower-case letter followed by lower-case "
        f"letters, digits, '_' or '-', at most 40 characters, like 'mastodon' (got {name!r})"
    )
    socialkit.Post(text="a name the registry accepts can be overridden", overrides={"h-2_x": {}})


@pytest.mark.parametrize(
    "method", ["publish", "delete", "fetch_metrics", "find_published", "refresh_credentials"]
)
def test_a_method_the_engine_awaits_must_be_async(method: str) -> None:
    def not_async(self, *args):  # type: ignore[no-untyped-def]
        return None

    for replacement in (not_async, None):
        cls = type("SyncHeron", (Heron,), {method: replacement})
        with pytest.raises(socialkit.PluginError) as refused:
            socialkit.Registry(load_entry_points=False).register(cls)
        assert str(refused.value) == (
            f"plugin '<direct>': SyncHeron.{method}() must be a coroutine function "
            "(async def): the engine awaits it"
        )


def test_a_sync_wrapper_of_an_async_method_is_accepted() -> None:
    def logged(method):  # type: ignore[no-untyped-def]
        @functools.wraps(method)
        def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
            return method(*args, **kwargs)  # the coroutine, to be awaited by the caller

        return wrapper

    cls = type("Wrapped", (Heron,), {"publish": logged(Heron.publish)})
    registry = socialkit.Registry(load_entry_points=False)
    registry.register(cls)
    assert registry.names() == ["heron"]


def test_registering_an_instance_says_to_register_the_class() -> None:
    @socialkit.hookimpl
    def register_platforms(register):  # type: ignore[no-untyped-def]
        register(Heron())

    registry = socialkit.Registry(
        load_entry_points=False,
        plugins=[_module("heron_plugin", register_platforms=register_platforms)],
    )
    failure = _only_failure(registry)
    assert failure.stage == "contract"
    assert "is an instance; register the class, register(Heron)" in failure.error


def test_an_entry_point_naming_the_platform_class_says_to_name_the_module() -> None:
    registry = socialkit.Registry(load_entry_points=False, plugins=[Heron])
    assert _only_failure(registry).error == (
        "PluginError: plugin 'Heron': it is the platform class Heron; a plugin is the module "
        "whose @socialkit.hookimpl register_platforms(register) registers it (the entry point "
        "names that module)"
    )
