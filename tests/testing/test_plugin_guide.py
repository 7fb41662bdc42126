"""The plugin guide's first adapter sketch passes the kit's checks of the class itself.

A reader copies it as the start of a plugin; its capabilities must not promise a method
it lacks (``delete`` is ``True`` by default), or the kit fails it before it publishes.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import socialkit
import socialkit.testing

GUIDE = Path(__file__).parents[2] / "docs" / "plugins" / "guide.md"

# The class checks of the kit that need no fake platform.
CLASS_CHECKS = (
    "test_platform_matches_the_contract",
    "test_capabilities_are_data",
    "test_declared_capabilities_have_their_methods",
    "test_capability_switches_agree_with_the_adapter",
    "test_standard_tests_are_intact",
)


def first_sketch() -> type[socialkit.Platform]:
    """The Platform class of the guide's first python block ("The shape of a plugin")."""
    text = GUIDE.read_text(encoding="utf-8")
    section = text.split("## The shape of a plugin", 1)[1]
    match = re.search(r"^```python\n(?P<code>.*?)^```", section, re.S | re.M)
    assert match is not None, "the guide's first python block is gone"
    namespace: dict[str, Any] = {}
    exec(compile(match["code"], str(GUIDE), "exec"), namespace)
    return next(
        value
        for value in namespace.values()
        if isinstance(value, type)
        and issubclass(value, socialkit.Platform)
        and value is not socialkit.Platform
    )


@pytest.mark.parametrize("check", CLASS_CHECKS)
def test_the_first_sketch_passes_the_class_checks(check: str) -> None:
    class TestSketch(socialkit.testing.PlatformContract):
        platform = first_sketch()

    getattr(TestSketch(), check)()
