"""The documentation builds, its examples run, and it keeps up with the code."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import socialkit.analytics
import socialkit.testing

ROOT = Path(__file__).parents[2]
DOCS = ROOT / "docs"
RUNNABLE_PAGES = ["quickstart.md", "models.md", "analytics.md"]


def _mkdocs() -> str | None:
    found = shutil.which("mkdocs", path=str(Path(sys.executable).parent))
    return found or shutil.which("mkdocs")


def test_the_site_builds_in_strict_mode(tmp_path: Path) -> None:
    mkdocs = _mkdocs()
    if mkdocs is None:
        pytest.skip("mkdocs is not installed (pip install -e '.[docs]')")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run(
        [mkdocs, "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    guide = (tmp_path / "site" / "plugins" / "guide" / "index.html").read_text()
    assert "ctx.published_parts" in guide, "the worked example's code was not included"
    assert "8&lt;--" not in guide


@pytest.mark.parametrize("page", RUNNABLE_PAGES)
def test_python_examples_on_the_page_run(page: str, tmp_path: Path) -> None:
    """Every ```python block of the page runs, in order, in one namespace."""
    text = (DOCS / page).read_text(encoding="utf-8")
    blocks = re.findall(r"^```python\n(.*?)^```", text, re.S | re.M)
    assert blocks, f"{page} has no python examples"
    namespace: dict[str, object] = {"__name__": f"docs.{page}"}
    for number, block in enumerate(blocks, 1):
        code = compile(block, f"{page} example {number}", "exec")
        exec(code, namespace)


def test_every_kpi_function_is_documented_with_its_formula() -> None:
    page = (DOCS / "analytics.md").read_text(encoding="utf-8")
    for name in socialkit.analytics.__all__:
        if callable(getattr(socialkit.analytics, name)) and name[0].islower():
            assert f"{name}(" in page, f"docs/analytics.md does not show {name}()"
    for kpi in socialkit.analytics.KpiValues.model_fields:
        function = getattr(socialkit.analytics, kpi)
        assert "Formula:" in (function.__doc__ or ""), f"{kpi} has no formula in its docstring"


def test_every_standard_test_is_listed_in_the_plugin_guide() -> None:
    page = (DOCS / "plugins" / "guide.md").read_text(encoding="utf-8")
    missing = [n for n in socialkit.testing.standard_test_names() if f"`{n}`" not in page]
    assert not missing, f"docs/plugins/guide.md does not list {missing}"


def test_every_capability_switch_is_listed_in_the_plugin_guide() -> None:
    page = (DOCS / "plugins" / "guide.md").read_text(encoding="utf-8")
    for switch, _, _ in socialkit.testing.FEATURES.values():
        assert f"`{switch}`" in page, switch
