"""The offline example runs and does what it says."""

from __future__ import annotations

import runpy
from pathlib import Path

import httpx
from socialkit_mastodon.testing import FakeMastodon

EXAMPLE = Path(__file__).parents[1] / "examples" / "publish_offline.py"


def test_the_offline_example_connects_and_publishes_a_thread(
    capsys, monkeypatch, fresh_openapi
) -> None:
    # every exchange of the example is checked against the OpenAPI schema too
    monkeypatch.setattr(
        FakeMastodon, "transport", lambda self: httpx.MockTransport(fresh_openapi.wrap(self.handle))
    )
    runpy.run_path(str(EXAMPLE), run_name="__main__")
    checked = {(method, path) for method, path, _ in fresh_openapi.checked}
    assert ("POST", "/api/v1/statuses") in checked
    assert ("POST", "/api/v2/media") in checked
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "connected @acme@social.example (stable id 109876543210)"
    assert lines[1] == "this server allows 1000 characters per status"
    assert lines[2] == "problems on this server: 0"
    assert lines[3].startswith("part 1: https://social.example/@acme/")
    assert lines[4].startswith("part 2: https://social.example/@acme/")
    assert lines[5] == "post: {'likes': 0, 'comments': 1, 'shares': 0, 'quotes': 0}"
    assert lines[6] == "account: {'followers': 42}"
