"""The guard, in process: standard tests cannot be dropped or replaced without a reason."""

from __future__ import annotations

import pytest

import socialkit.testing
from socialkit.platforms.feed import FeedPlatform
from socialkit.testing._guard import standard_violations
from socialkit.testing._publishing import PublishingTests


def test_every_standard_test_is_on_the_kit_class() -> None:
    names = socialkit.testing.standard_test_names()
    assert len(names) >= 30
    assert names == tuple(sorted(names))
    for name in names:
        assert callable(getattr(socialkit.testing.PlatformContract, name)), name
    assert standard_violations(socialkit.testing.PlatformContract) == []


def test_override_needs_a_reason() -> None:
    with pytest.raises(ValueError, match="needs a reason"):
        socialkit.testing.override("  ")


def test_overriding_without_a_reason_fails_at_class_definition() -> None:
    with pytest.raises(TypeError, match=r"Sneaky\.test_publish_sends_the_text overrides"):

        class Sneaky(socialkit.testing.PlatformContract):
            platform = FeedPlatform

            def test_publish_sends_the_text(self) -> None:
                pass


def test_deleting_fails_at_class_definition() -> None:
    with pytest.raises(TypeError, match="test_connect_timeout_is_transient' was deleted"):

        class Deleting(socialkit.testing.PlatformContract):
            platform = FeedPlatform
            test_connect_timeout_is_transient = None


def test_an_override_deep_in_a_hierarchy_is_found() -> None:
    class Base(socialkit.testing.PlatformContract):
        platform = FeedPlatform

        @socialkit.testing.override("documented reason")
        def test_publish_sends_the_text(self) -> None:
            pass

    class Child(Base):
        pass

    assert standard_violations(Child) == []
    reason = Child.test_publish_sends_the_text.__socialkit_override_reason__  # type: ignore[attr-defined]
    assert reason == "documented reason"


def test_a_standard_test_removed_from_the_kit_is_noticed(monkeypatch: pytest.MonkeyPatch) -> None:
    class Honest(socialkit.testing.PlatformContract):
        platform = FeedPlatform

    monkeypatch.delattr(PublishingTests, "test_publish_sends_the_text")
    [problem] = standard_violations(Honest)
    assert "test_publish_sends_the_text" in problem
    assert "was deleted" in problem
