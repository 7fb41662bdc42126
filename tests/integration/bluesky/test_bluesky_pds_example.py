"""The runnable example in plugins/bluesky/examples/ works against a real PDS."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).parents[3] / "plugins" / "bluesky" / "examples" / "publish_thread.py"


def run_example(
    pds: Any, owner: dict[str, Any], workdir: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "BLUESKY_SERVICE": pds.url,
        "BLUESKY_HANDLE": owner["handle"],
        "BLUESKY_APP_PASSWORD": owner["app_password"],
        "BLUESKY_SECRETS": str(workdir / "secrets.json"),
        "SOCIALKIT_MEDIA_DIR": str(workdir / "media"),
    }
    return subprocess.run(
        [sys.executable, str(EXAMPLE), *args],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_example_publishes_a_thread_and_a_second_run_deletes_its_own(
    pds: Any, app_account: dict[str, Any], bsky: Any, tmp_path: Path
) -> None:
    first = run_example(pds, app_account, tmp_path)
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    parts = [line for line in lines if line.startswith("part ")]
    assert len(parts) == 3, first.stdout
    assert f"account: {app_account['handle']} ({app_account['did']})" in lines
    records = bsky.list_posts(app_account["did"])
    assert len(records) == 3
    assert any(r["value"]["text"].startswith("بهار با تخفیف") for r in records)

    # A second run (another process, the session loaded from the secrets file) deletes its own.
    second = run_example(pds, app_account, tmp_path, "--delete")
    assert second.returncode == 0, second.stderr
    assert "deleted 3 parts" in second.stdout
    assert len(bsky.list_posts(app_account["did"])) == 3  # the first run's thread stays
    stored = (tmp_path / "secrets.json").read_text()
    assert app_account["did"] in stored  # the session (and the DID) were saved
