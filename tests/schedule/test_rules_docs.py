"""docs/scheduling-time.md: every python example runs, in order, in one namespace."""

from __future__ import annotations

import re
from pathlib import Path

PAGE = Path(__file__).parents[2] / "docs" / "scheduling-time.md"


def test_python_examples_on_the_time_page_run() -> None:
    text = PAGE.read_text(encoding="utf-8")
    blocks = re.findall(r"^```python\n(.*?)^```", text, re.S | re.M)
    assert len(blocks) >= 6
    namespace: dict[str, object] = {"__name__": "docs.scheduling_time"}
    for number, block in enumerate(blocks, 1):
        exec(compile(block, f"scheduling-time.md example {number}", "exec"), namespace)
    assert "missed" in namespace
