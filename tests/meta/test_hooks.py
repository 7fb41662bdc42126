"""Every hook has a test and is documented (datasette-style meta-tests).

Hooks are found through the plugin manager, after importing every socialkit module so
that hookspec modules a layer adds (``Registry.add_hookspecs``) are seen too.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import types
from pathlib import Path

import pytest

import socialkit
from socialkit.hookspecs import PROJECT_NAME
from socialkit.platforms.registry import Registry

ROOT = Path(__file__).parents[2]
HOOKS_PAGE = ROOT / "docs" / "plugins" / "hooks.md"
TEST_DIRS = [ROOT / "tests", *sorted(ROOT.glob("plugins/*/tests")), *ROOT.glob("examples/*/tests")]


def _hookspec_modules() -> list[types.ModuleType]:
    modules = []
    for info in pkgutil.walk_packages(socialkit.__path__, "socialkit."):
        if info.name.endswith("__main__"):
            continue  # running it would start the CLI
        module = importlib.import_module(info.name)
        if any(hasattr(value, f"{PROJECT_NAME}_spec") for value in vars(module).values()):
            modules.append(module)
    return modules


def all_hooks() -> list[str]:
    registry = Registry(load_entry_points=False)
    hook = registry.manager.hook
    for module in _hookspec_modules():
        specs = [n for n, v in vars(module).items() if hasattr(v, f"{PROJECT_NAME}_spec")]
        if not all(getattr(getattr(hook, n, None), "spec", None) for n in specs):
            registry.add_hookspecs(module)
    return sorted(
        name
        for name in dir(registry.manager.hook)
        if not name.startswith("_") and getattr(registry.manager.hook, name).spec is not None
    )


HOOKS = all_hooks()


def _test_function_names() -> set[str]:
    names: set[str] = set()
    for folder in TEST_DIRS:
        for path in folder.rglob("test_*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            names.update(
                node.name
                for node in ast.walk(tree)
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
                and node.name.startswith("test_")
            )
    return names


def test_the_foundation_hook_is_found() -> None:
    assert "register_platforms" in HOOKS


@pytest.mark.parametrize("hook", HOOKS)
def test_plugin_hooks_have_tests(hook: str) -> None:
    tests = [name for name in _test_function_names() if hook in name]
    assert tests, f"no test function has {hook!r} in its name (write test_{hook}_...)"


@pytest.mark.parametrize("hook", HOOKS)
def test_plugin_hooks_are_documented(hook: str) -> None:
    page = HOOKS_PAGE.read_text(encoding="utf-8")
    assert f"## {hook}" in page or f"`{hook}" in page, (
        f"hook {hook!r} is not documented in {HOOKS_PAGE.relative_to(ROOT)}"
    )


def test_hookspecs_are_typed_and_documented() -> None:
    """Each hookspec has a docstring with an Args section, and annotated arguments."""
    for module in _hookspec_modules():
        for name, value in vars(module).items():
            if not hasattr(value, f"{PROJECT_NAME}_spec"):
                continue
            doc = value.__doc__ or ""
            assert doc.strip(), f"{module.__name__}.{name} has no docstring"
            if value.__code__.co_argcount:
                assert "Args:" in doc, f"{module.__name__}.{name} documents no arguments"
            params = value.__code__.co_varnames[: value.__code__.co_argcount]
            missing = [p for p in params if p not in value.__annotations__]
            assert not missing, f"{module.__name__}.{name}: unannotated {missing}"
