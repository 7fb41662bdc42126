"""The public surface of scheduling time: sorted, complete, importable without I/O."""

from __future__ import annotations

import subprocess
import sys

import socialkit
import socialkit.schedule.rules as rules
import socialkit.schedule.time as time_package


def _sorted(names: list[str]) -> bool:
    return names == sorted(names, key=lambda n: (not n.isupper(), n))


def test_all_is_sorted_and_resolves() -> None:
    for module in (time_package, rules):
        assert _sorted(list(module.__all__)), module.__name__
        for name in module.__all__:
            assert getattr(module, name) is not None, f"{module.__name__}.{name}"
    # the facade re-exports the same objects
    for name in rules.__all__:
        assert getattr(rules, name) is getattr(time_package, name)


def test_top_level_names_are_the_same_objects() -> None:
    for name in ("Occurrence", "Recurrence", "Recycling", "WallTime", "next_free_slot",
                 "parse_local", "to_instant"):  # fmt: skip
        assert getattr(socialkit, name) is getattr(time_package, name)


def test_no_clock_is_read_inside() -> None:
    """Pure functions: nothing in the package asks the system for the time."""
    from pathlib import Path

    root = Path(time_package.__file__).parent
    for path in root.glob("*.py"):
        source = path.read_text()
        for forbidden in (".now(", "utcnow(", "time.time(", "today("):
            assert forbidden not in source, f"{path.name} calls {forbidden}"


def test_importing_the_package_stays_light() -> None:
    code = (
        "import sys, socialkit.schedule.time; "
        "print(sorted(m for m in ('typer', 'rich') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
