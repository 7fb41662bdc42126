"""Two plugins registering one platform name: a built-in platform keeps its name, between
plugins the first to load keeps it, and the other is reported as a clash (not as broken).
And capabilities that promise a method the class lacks are reported, not accepted silently."""

from __future__ import annotations

import itertools
import logging
import sys
import textwrap
from pathlib import Path

import pytest

import socialkit
from socialkit.platforms.feed import FeedPlatform
from socialkit.text.rules import FEED

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
_unique = itertools.count()

PLATFORM = """
import socialkit
from socialkit.text.rules import FEED


class Impostor(socialkit.Platform):
    name = {platform!r}
    contract = 1
    capabilities = socialkit.Capabilities(text=FEED, delete=False)

    async def publish(self, draft, ctx):
        raise NotImplementedError


@socialkit.hookimpl
def register_platforms(register):
    register(Impostor)
"""


class Site:
    """A directory on ``sys.path`` holding installed plugin distributions."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root = root
        self.monkeypatch = monkeypatch
        monkeypatch.syspath_prepend(str(root))

    def add(self, dist: str, entry: str, platform: str) -> str:
        """Install ``dist`` whose entry point ``entry`` registers a class named ``platform``;
        returns its module's name (unique, so no test sees another's module)."""
        module = f"clash_plugin_{next(_unique)}"
        self.monkeypatch.delitem(sys.modules, module, raising=False)
        source = PLATFORM.format(platform=platform)
        (self.root / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
        info = self.root / f"{dist.replace('-', '_')}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n", encoding="utf-8"
        )
        (info / "entry_points.txt").write_text(
            f"[socialkit]\n{entry} = {module}\n", encoding="utf-8"
        )
        return module


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Site:
    monkeypatch.delenv("SOCIALKIT_LOAD_PLUGINS", raising=False)
    monkeypatch.delenv("SOCIALKIT_DISABLED_PLUGINS", raising=False)
    root = tmp_path / "site"
    root.mkdir()
    return Site(root, monkeypatch)


@pytest.mark.parametrize("entry", ["aaa", "feed"])
def test_a_plugin_cannot_take_the_builtin_feed(
    site: Site, entry: str, caplog: pytest.LogCaptureFixture
) -> None:
    # "aaa" sorts before "feed"; an entry point named "feed" too is found before socialkit's
    # own, since its directory is first on sys.path: neither may take the name.
    site.add("socialkit-impostor", entry, "feed")
    with caplog.at_level(logging.WARNING, logger="socialkit.plugins"):
        registry = socialkit.Registry()
    info = registry.info("feed")
    assert info.platform is FeedPlatform
    assert (info.plugin, info.distribution, info.builtin) == ("feed", "socialkit-engine", True)
    assert registry.failures == []  # neither is broken
    [clash] = registry.clashes
    assert clash == socialkit.PluginClash(
        platform="feed",
        plugin=entry,
        distribution="socialkit-impostor",
        kept_plugin="feed",
        kept_distribution="socialkit-engine",
        kept_builtin=True,
    )
    assert clash.message == (
        "platform 'feed' is built into socialkit (plugin 'feed' (socialkit-engine)); "
        f"plugin {entry!r} (socialkit-impostor) also registers 'feed' and is left out for "
        "it: rename its platform, or uninstall it"
    )
    assert [r.getMessage() for r in caplog.records if r.name == "socialkit.plugins"] == [
        clash.message
    ]


def test_two_plugins_with_one_name_keep_the_first_and_report_the_other(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    # Installed in the opposite order of their names: the order they load in does not
    # depend on how the environment lists them.
    second = site.add("socialkit-heron-two", "heron_two", "heron")
    first = site.add("socialkit-heron-one", "heron_one", "heron")
    with caplog.at_level(logging.WARNING, logger="socialkit.plugins"):
        registry = socialkit.Registry()
    info = registry.info("heron")
    assert (info.plugin, info.distribution, info.builtin) == (
        "heron_one",
        "socialkit-heron-one",
        False,
    )
    assert info.platform is sys.modules[first].Impostor
    assert sys.modules[second].Impostor is not info.platform
    assert registry.failures == []  # the one left out is not "broken"
    [clash] = registry.clashes
    assert (clash.platform, clash.plugin, clash.distribution) == (
        "heron",
        "heron_two",
        "socialkit-heron-two",
    )
    assert (clash.kept_plugin, clash.kept_distribution, clash.kept_builtin) == (
        "heron_one",
        "socialkit-heron-one",
        False,
    )
    assert clash.message == (
        "platform 'heron' is registered by two plugins, plugin 'heron_one' "
        "(socialkit-heron-one) and plugin 'heron_two' (socialkit-heron-two); 'heron_one' is "
        "kept (it loads first), 'heron_two' is left out for it: uninstall one, or leave one "
        "out with SOCIALKIT_DISABLED_PLUGINS"
    )
    assert clash.message in caplog.text
    assert socialkit.Registry().info("heron").plugin == "heron_one"  # every time


def test_a_plugin_object_claiming_a_taken_name_is_a_clash_too() -> None:
    import types

    class Other(socialkit.Platform):
        name = "feed"
        contract = 1
        capabilities = socialkit.Capabilities(text=FEED, delete=False)

        async def publish(self, draft, ctx):  # type: ignore[no-untyped-def]
            raise NotImplementedError

    @socialkit.hookimpl
    def register_platforms(register):  # type: ignore[no-untyped-def]
        register(Other)

    module = types.ModuleType("other_feed")
    module.register_platforms = register_platforms  # type: ignore[attr-defined]
    registry = socialkit.Registry(plugins=[module])
    assert registry.info("feed").platform is FeedPlatform
    assert registry.failures == []
    [clash] = registry.clashes
    assert (clash.plugin, clash.kept_plugin, clash.kept_builtin) == ("other_feed", "feed", True)


# -- capabilities that promise a method the class lacks ---------------------------------


class Promising(socialkit.Platform):
    name = "promising"
    contract = 1
    capabilities = socialkit.Capabilities(text=FEED)  # delete=True, the default

    async def publish(self, draft, ctx):  # type: ignore[no-untyped-def]
        raise NotImplementedError


def _module(*classes: type[socialkit.Platform]) -> object:
    import types

    @socialkit.hookimpl
    def register_platforms(register):  # type: ignore[no-untyped-def]
        for cls in classes:
            register(cls)

    module = types.ModuleType("promising_plugin")
    module.register_platforms = register_platforms  # type: ignore[attr-defined]
    return module


def test_a_declared_delete_without_delete_is_reported(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="socialkit.plugins"):
        registry = socialkit.Registry(load_entry_points=False, plugins=[_module(Promising)])
    assert registry.names() == ["promising"]  # it still publishes
    assert registry.capability_warnings == [
        "plugin 'promising_plugin' (?), platform 'promising': Promising.capabilities.delete "
        "is True (the default) but Promising does not implement delete() (Platform's raises "
        "Unsupported): implement delete(), or declare delete=False"
    ]
    assert registry.capability_warnings[0] in caplog.text


def test_direct_registration_reports_a_declared_delete_without_delete() -> None:
    registry = socialkit.Registry(load_entry_points=False)
    registry.register(Promising, plugin="mine")
    [warning] = registry.capability_warnings
    assert warning.startswith("plugin 'mine' (?), platform 'promising': ")
    assert "capabilities.delete" in warning
    assert "delete()" in warning


def test_metrics_and_lookup_without_their_methods_are_reported_like_delete() -> None:
    class Counting(Promising):
        name = "counting"
        capabilities = socialkit.Capabilities(
            text=FEED,
            delete=False,
            metrics=frozenset({"likes"}),
            idempotency=socialkit.Idempotency.LOOKUP,
        )

    registry = socialkit.Registry(load_entry_points=False, plugins=[_module(Counting)])
    first, second = registry.capability_warnings
    assert "capabilities.metrics names ['likes']" in first
    assert "fetch_metrics()" in first
    assert "capabilities.idempotency is LOOKUP" in second
    assert "find_published()" in second


def test_capabilities_that_match_the_class_say_nothing() -> None:
    class Honest(Promising):
        name = "honest"
        capabilities = socialkit.Capabilities(text=FEED, delete=False)

    class Deleting(Promising):
        name = "deleting"

        async def delete(self, receipt, ctx):  # type: ignore[no-untyped-def]
            return None

    registry = socialkit.Registry(load_entry_points=False, plugins=[_module(Honest, Deleting)])
    assert registry.names() == ["deleting", "honest"]
    assert registry.capability_warnings == []


def test_every_shipped_plugin_loads_without_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    """The built-in feed, the first-party plugins installed here, and the Pigeon example."""
    monkeypatch.delenv("SOCIALKIT_LOAD_PLUGINS", raising=False)
    monkeypatch.delenv("SOCIALKIT_DISABLED_PLUGINS", raising=False)
    monkeypatch.syspath_prepend(str(EXAMPLES / "plugin_pigeon" / "src"))
    import socialkit_pigeon

    registry = socialkit.Registry(plugins=[socialkit_pigeon])
    assert {"feed", "pigeon"} <= set(registry.names())
    assert (registry.failures, registry.clashes, registry.capability_warnings) == ([], [], [])
