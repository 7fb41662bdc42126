"""``socialkit.analytics`` stays light: pydantic, and nothing of the engine or the network."""

from __future__ import annotations

import subprocess
import sys


def test_analytics_imports_no_heavy_modules() -> None:
    heavy = ("pandas", "numpy", "httpx", "sqlite3", "psycopg", "typer", "socialkit.schedule")
    code = (
        f"import sys, socialkit.analytics; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
