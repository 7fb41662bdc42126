"""The offline example runs and does what it says."""

from __future__ import annotations

import runpy
from pathlib import Path

EXAMPLE = Path(__file__).parents[1] / "examples" / "publish_offline.py"


def test_the_offline_example_connects_and_publishes_a_thread(capsys) -> None:
    runpy.run_path(str(EXAMPLE), run_name="__main__")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "connected @acme@social.example (stable id 109876543210)"
    assert lines[1] == "this server allows 1000 characters per status"
    assert lines[2] == "problems on this server: 0"
    assert lines[3].startswith("part 1: https://social.example/@acme/")
    assert lines[4].startswith("part 2: https://social.example/@acme/")
    assert lines[5] == "post: {'likes': 0, 'comments': 1, 'shares': 0, 'quotes': 0}"
    assert lines[6] == "account: {'followers': 42}"
