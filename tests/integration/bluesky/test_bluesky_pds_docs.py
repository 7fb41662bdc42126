"""docs/platforms/bluesky.md's connection example, run as written against a real PDS.

Only the server, the handle and the app password are swapped for the test account's.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration

PAGE = Path(__file__).parents[3] / "docs" / "platforms" / "bluesky.md"


def test_the_connection_example_publishes_and_keeps_the_session(
    bsky: Any, app_account: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocks = re.findall(r"^```python\n(.*?)^```", PAGE.read_text(encoding="utf-8"), re.S | re.M)
    [block] = [b for b in blocks if "FileCredentialProvider" in b and "publish_now" in b]
    for placeholder in ("https://bsky.social", "acme.bsky.social", "xxxx-xxxx-xxxx-xxxx"):
        assert placeholder in block
    code = (
        block.replace("https://bsky.social", bsky.pds.url)
        .replace("acme.bsky.social", app_account["handle"])
        .replace("xxxx-xxxx-xxxx-xxxx", app_account["app_password"])
    )
    monkeypatch.chdir(tmp_path)  # the example writes .socialkit/secrets.json
    namespace: dict[str, object] = {"__name__": "docs_bluesky"}
    exec(compile(code, "bluesky.md connection example", "exec"), namespace)

    result = namespace["result"]
    assert result.ok, result.error  # type: ignore[attr-defined]
    [record] = bsky.list_posts(app_account["did"])
    assert record["value"]["text"] == "Hello from socialkit #bluesky"
    assert record["uri"] == result.receipt.ref.id  # type: ignore[attr-defined]
    secrets = (tmp_path / ".socialkit" / "secrets.json").read_text()
    assert app_account["did"] in secrets  # the session was kept for the next process
