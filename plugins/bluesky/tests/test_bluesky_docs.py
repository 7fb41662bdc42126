"""The Python examples of docs/platforms/bluesky.md are valid, and the offline one runs.

The examples that talk to a server run against a real PDS in
``tests/integration/bluesky/test_bluesky_pds_docs.py``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

PAGE = Path(__file__).parents[3] / "docs" / "platforms" / "bluesky.md"


def python_blocks() -> list[str]:
    if not PAGE.exists():  # an installed distribution without the checkout's docs
        pytest.skip(f"{PAGE} is not here")
    return re.findall(r"^```python\n(.*?)^```", PAGE.read_text(encoding="utf-8"), re.S | re.M)


def test_every_python_example_compiles_as_a_script() -> None:
    blocks = python_blocks()
    assert len(blocks) >= 2
    for number, block in enumerate(blocks, 1):
        compile(block, f"bluesky.md example {number}", "exec")  # no top-level await


def test_the_fake_pds_example_publishes_offline() -> None:
    [block] = [b for b in python_blocks() if "FakePds()" in b]
    namespace: dict[str, object] = {"__name__": "docs_bluesky"}
    exec(compile(block, "bluesky.md FakePds example", "exec"), namespace)
    pds = namespace["pds"]
    assert [r["value"]["text"] for r in pds.posts()] == ["Offline #test"]  # type: ignore[attr-defined]
