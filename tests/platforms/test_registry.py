from __future__ import annotations

import types

import pytest

import socialkit
from socialkit.platforms.feed import FeedPlatform
from socialkit.text.rules import FEED


def _plugin(*classes: type, fail: bool = False, name: str = "fake_plugin") -> types.ModuleType:
    module = types.ModuleType(name)

    @socialkit.hookimpl
    def register_platforms(register):  # type: ignore[no-untyped-def]
        if fail:
            raise RuntimeError("boom in register")
        for cls in classes:
            register(cls)

    module.register_platforms = register_platforms  # type: ignore[attr-defined]
    return module


class Good(socialkit.Platform):
    name = "good"
    contract = 1
    capabilities = socialkit.Capabilities(text=FEED)

    async def publish(self, draft, ctx):  # type: ignore[no-untyped-def]
        raise NotImplementedError


class WrongContract(Good):
    name = "future"
    contract = 99


class NoPublish(socialkit.Platform):
    name = "nopublish"
    contract = 1
    capabilities = socialkit.Capabilities(text=FEED)


def test_entry_points_register_the_builtin_feed() -> None:
    registry = socialkit.Registry()
    assert "feed" in registry.names()
    info = registry.info("feed")
    assert info.platform is FeedPlatform
    assert info.distribution == "socialkit-engine"


def test_bad_plugins_are_reported_and_skipped() -> None:
    registry = socialkit.Registry(
        load_entry_points=False,
        plugins=[
            _plugin(Good, WrongContract, NoPublish),
            _plugin(fail=True, name="failing_plugin"),
        ],
    )
    assert registry.names() == ["good"]
    stages = sorted((f.stage, f.error) for f in registry.failures)
    assert any(stage == "contract" and "contract 99" in error for stage, error in stages)
    assert any(
        stage == "contract" and "does not implement publish" in error for stage, error in stages
    )
    assert any(stage == "register" and "boom in register" in error for stage, error in stages)


def test_unknown_platform_lists_installed_ones() -> None:
    registry = socialkit.Registry(load_entry_points=False, plugins=[_plugin(Good)])
    with pytest.raises(socialkit.UnknownPlatform, match="installed: good"):
        registry.platform("mastodon")


def test_instances_are_shared() -> None:
    registry = socialkit.Registry(load_entry_points=False, plugins=[_plugin(Good)])
    assert registry.platform("good") is registry.platform("good")


def test_env_restricts_loading(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOCIALKIT_DISABLED_PLUGINS", "feed")
    assert "feed" not in socialkit.Registry().names()
    monkeypatch.delenv("SOCIALKIT_DISABLED_PLUGINS")
    monkeypatch.setenv("SOCIALKIT_LOAD_PLUGINS", "")
    assert socialkit.Registry().names() == []
    monkeypatch.setenv("SOCIALKIT_LOAD_PLUGINS", "feed")
    assert socialkit.Registry().names() == ["feed"]


def test_direct_registration_checks_the_contract() -> None:
    registry = socialkit.Registry(load_entry_points=False)
    with pytest.raises(socialkit.PluginError, match="contract 99"):
        registry.register(WrongContract)
    registry.register(Good)
    assert registry.names() == ["good"]


def test_direct_registration_refuses_another_class_under_a_taken_name() -> None:
    class OtherGood(Good):
        pass

    registry = socialkit.Registry(load_entry_points=False, plugins=[_plugin(Good)])
    first = registry.platform("good")
    registry.register(Good)  # the same class again: nothing changes
    assert registry.platform("good") is first
    with pytest.raises(socialkit.PluginError) as refused:
        registry.register(OtherGood, plugin="mine")
    assert str(refused.value) == (
        "plugin 'mine': platform 'good' is already provided by Good from 'fake_plugin'; "
        "pass replace=True to put another class in its place"
    )
    assert registry.info("good").platform is Good
    registry.register(OtherGood, plugin="mine", replace=True)
    assert registry.info("good").plugin == "mine"
    assert type(registry.platform("good")) is OtherGood  # a fresh instance of the new class


def test_a_selected_name_that_matches_no_entry_point_is_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("SOCIALKIT_LOAD_PLUGINS", "feed, nosuch")
    registry = socialkit.Registry()
    assert registry.names() == ["feed"]
    [warning] = registry.selection_warnings
    assert warning.startswith("SOCIALKIT_LOAD_PLUGINS names nosuch, which no installed plugin")
    assert warning in caplog.text
    monkeypatch.setenv("SOCIALKIT_LOAD_PLUGINS", "feed")
    assert socialkit.Registry().selection_warnings == []
    monkeypatch.setenv("SOCIALKIT_LOAD_PLUGINS", "")  # on purpose: nothing, and nothing to say
    assert socialkit.Registry().selection_warnings == []
