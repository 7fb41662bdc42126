"""The public surface: __all__ is complete, sorted, and every name resolves."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
import types
from pathlib import Path

import pytest

import socialkit


def test_all_is_sorted() -> None:
    names = [n for n in socialkit.__all__ if n != "__version__"]
    assert names == sorted(names, key=lambda n: (not n.isupper(), n))


def test_every_lazy_export_is_in_all_and_resolves() -> None:
    exported = set(socialkit._EXPORTS)
    assert exported | {"__version__", "hookimpl"} == set(socialkit.__all__)
    for name in socialkit.__all__:
        assert getattr(socialkit, name) is not None, name


@pytest.mark.parametrize("module", sorted(f"socialkit.{name}" for name in socialkit._SUBMODULES))
def test_layer_packages_export_sorted_all(module: str) -> None:
    mod = importlib.import_module(module)
    assert list(mod.__all__) == sorted(mod.__all__, key=lambda n: (not n.isupper(), n)), module
    for name in mod.__all__:
        assert hasattr(mod, name), f"{module}.{name}"


@pytest.mark.parametrize("module", sorted(f"socialkit.{name}" for name in socialkit._SUBMODULES))
def test_layer_packages_all_is_complete(module: str) -> None:
    """Every public name a layer package defines or lazily exports is in its ``__all__``."""
    mod = importlib.import_module(module)
    public = {
        name
        for name, value in vars(mod).items()
        if not name.startswith("_")
        and isinstance(value, type | types.FunctionType)
        and value.__module__.startswith("socialkit")
    }
    public |= set(getattr(mod, "_EXPORTS", {}))
    missing = sorted(public - set(mod.__all__))
    assert not missing, f"{module} defines {missing} but leaves them out of __all__"


def test_import_is_lazy() -> None:
    """``import socialkit`` loads neither pydantic nor httpx until a name is used."""
    code = (
        "import sys, socialkit; "
        "print(sorted(m for m in ('pydantic', 'httpx', 'sqlite3', 'typer', 'rich') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="NoSuchThing"):
        socialkit.NoSuchThing  # noqa: B018


LAZY_PACKAGES = [
    name
    for name in ["socialkit", *sorted(f"socialkit.{sub}" for sub in socialkit._SUBMODULES)]
    if hasattr(importlib.import_module(name), "_EXPORTS")
]


@pytest.mark.parametrize("module", LAZY_PACKAGES)
def test_type_checkers_see_every_lazy_export_where_it_loads_from(module: str) -> None:
    """The ``TYPE_CHECKING`` imports match ``_EXPORTS``; otherwise mypy types a name as Any."""
    mod = importlib.import_module(module)
    exports: dict[str, str] = mod._EXPORTS
    tree = ast.parse(Path(mod.__file__).read_text(encoding="utf-8"))
    seen: dict[str, str | None] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for imported in ast.walk(node):
                if isinstance(imported, ast.ImportFrom):
                    seen.update({a.asname or a.name: imported.module for a in imported.names})
    wrong = {name: seen.get(name) for name, where in exports.items() if seen.get(name) != where}
    assert not wrong, f"{module}: TYPE_CHECKING imports differ from _EXPORTS: {wrong}"
