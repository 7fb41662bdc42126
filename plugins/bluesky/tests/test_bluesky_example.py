"""The runnable example (``examples/publish_thread.py``), offline against the fake PDS.

The same example runs against a real PDS in
``tests/integration/bluesky/test_bluesky_pds_example.py``.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from socialkit_bluesky.testing import FakePds

import socialkit

EXAMPLE = Path(__file__).parents[1] / "examples" / "publish_thread.py"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bluesky_publish_thread_example", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def pds(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakePds]:
    """A fake PDS every ``httpx.AsyncClient`` made in the test talks to."""
    fake = FakePds()
    real_client = httpx.AsyncClient

    class ToFakePds(real_client):  # type: ignore[misc,valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["transport"] = httpx.MockTransport(fake.handler)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(httpx, "AsyncClient", ToFakePds)
    monkeypatch.setenv("BLUESKY_SERVICE", FakePds.URL)
    monkeypatch.setenv("BLUESKY_SECRETS", str(tmp_path / "secrets.json"))
    monkeypatch.setenv("SOCIALKIT_MEDIA_DIR", str(tmp_path / "media"))
    # The process-wide store reads the variable once; a store made by an earlier test
    # would put the example's image under the working directory.
    socialkit.set_default_media_store(None)
    yield fake
    socialkit.set_default_media_store(None)


async def test_a_run_for_another_account_uses_its_app_password(
    pds: FakePds,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    example = load_example()
    pds.create_account("alice.test", app_password="aaaa-aaaa-aaaa-aaaa")
    bob = pds.create_account("bob.test", app_password="bbbb-bbbb-bbbb-bbbb")
    monkeypatch.setenv("BLUESKY_HANDLE", "alice.test")
    monkeypatch.setenv("BLUESKY_APP_PASSWORD", "aaaa-aaaa-aaaa-aaaa")
    assert await example.main(delete=True) == 0
    # The same secrets file, now for Bob: his app password is used, not Alice's stored one.
    monkeypatch.setenv("BLUESKY_HANDLE", "bob.test")
    monkeypatch.setenv("BLUESKY_APP_PASSWORD", "bbbb-bbbb-bbbb-bbbb")
    assert await example.main(delete=False) == 0, capsys.readouterr().err
    assert f"account: bob.test ({bob.did})" in capsys.readouterr().out
    assert {record["uri"].split("/")[2] for record in pds.posts()} == {bob.did}
    stored = json.loads((tmp_path / "secrets.json").read_text())["example-bsky"]
    assert (stored["did"], stored["app_password"]) == (bob.did, "bbbb-bbbb-bbbb-bbbb")


async def test_a_run_without_any_app_password_says_which_variable_to_set(
    pds: FakePds, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BLUESKY_HANDLE", "alice.test")
    monkeypatch.delenv("BLUESKY_APP_PASSWORD", raising=False)
    assert await load_example().main(delete=False) == 2
    assert "BLUESKY_APP_PASSWORD" in capsys.readouterr().err
    assert pds.calls == []
