"""The Python examples of docs/platforms/mastodon.md are valid, and they run against the fake."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from socialkit_mastodon import Mastodon
from socialkit_mastodon.testing import FakeMastodon

import socialkit

PAGE = Path(__file__).parents[3] / "docs" / "platforms" / "mastodon.md"


def python_blocks() -> list[str]:
    if not PAGE.exists():  # an installed distribution without the checkout's docs
        pytest.skip(f"{PAGE} is not here")
    return re.findall(r"^```python\n(.*?)^```", PAGE.read_text(encoding="utf-8"), re.S | re.M)


def run_block(marker: str) -> dict[str, object]:
    [block] = [b for b in python_blocks() if marker in b]
    namespace: dict[str, object] = {"__name__": "docs_mastodon"}
    exec(compile(block, f"mastodon.md example with {marker}", "exec"), namespace)
    return namespace


def test_every_python_example_compiles_as_a_script() -> None:
    blocks = python_blocks()
    assert len(blocks) >= 2
    for number, block in enumerate(blocks, 1):
        compile(block, f"mastodon.md example {number}", "exec")  # no top-level await


async def test_the_sign_in_functions_connect_an_account(fresh_openapi) -> None:
    example = run_block("async def start_sign_in")
    server = FakeMastodon(host="mastodon.social")
    account = socialkit.Account(
        id="acme-mastodon",
        platform="mastodon",
        handle="@acme@mastodon.social",
        settings={"instance": "https://mastodon.social"},
    )
    provider = socialkit.MemoryCredentialProvider()
    checked = httpx.MockTransport(fresh_openapi.wrap(server.handle))  # the schema checks it all
    async with httpx.AsyncClient(transport=checked) as http:
        app, pkce, address = await example["start_sign_in"](http, "session-7")  # type: ignore[operator]
        assert address.startswith("https://mastodon.social/oauth/authorize?")
        assert "state=session-7" in address
        assert "code_challenge_method=S256" in address
        code = server.authorize(address)  # the person approves; the callback gets the code
        await example["finish_sign_in"](http, app, pkce, code, provider, account)  # type: ignore[operator]
        saved = await provider.load(account)
        ctx = socialkit.Context(
            account=account,
            credentials=saved,
            http=http,
            media=socialkit.default_media_store(),
        )
        identity = await Mastodon().verify_account(ctx)
    assert saved.get("access_token")
    assert identity.handle == "@acme@mastodon.social"
    assert {(m, p) for m, p, _ in fresh_openapi.checked} == {
        ("POST", "/api/v1/apps"),
        ("POST", "/oauth/token"),
        ("GET", "/api/v1/accounts/verify_credentials"),
        ("GET", "/api/v2/instance"),  # the domain of the handle
    }


async def test_the_fake_server_example_scripts_a_503_after_creating() -> None:
    example = run_block("FakeMastodon(")
    server: FakeMastodon = example["server"]  # type: ignore[assignment]
    client: httpx.AsyncClient = example["client"]  # type: ignore[assignment]
    assert server.max_characters == 1000
    async with client:
        answer = await client.post(
            f"{server.base_url}/api/v1/statuses",
            json={"status": "hello"},
            headers={"Authorization": f"Bearer {example['token']}", "Idempotency-Key": "k"},
        )
    assert answer.status_code == 503
    assert len(server.statuses) == 1  # created, then the 503


README = Path(__file__).parents[1] / "README.md"


def test_the_readme_quick_start_publishes_with_the_token_the_walkthrough_saved(
    tmp_path, monkeypatch
) -> None:
    """Connect with `socialkit auth mastodon` (its defaults), then run the README's Python."""
    from socialkit_mastodon._connect import main

    monkeypatch.chdir(tmp_path)
    server = FakeMastodon(host="mastodon.social")
    said: list[str] = []

    def approve(prompt: str) -> str:
        return server.authorize(next(s.strip() for s in said if "/oauth/authorize?" in s))

    client = httpx.AsyncClient(transport=server.transport())
    argv = ["auth", "--instance", "https://mastodon.social", "--account", "acme-mastodon"]
    assert main(argv, http=client, ask=approve, say=said.append) == 0, said

    [block] = re.findall(r"^```python\n(.*?)^```", README.read_text(encoding="utf-8"), re.S | re.M)
    results: list[list[socialkit.PublishResult]] = []
    real_publish_now = socialkit.publish_now

    def publish_now(*args: object, **kwargs: object) -> list[socialkit.PublishResult]:
        # the README's own call, with the fake server's transport instead of the network
        http = httpx.AsyncClient(transport=server.transport())
        results.append(real_publish_now(*args, http=http, **kwargs))  # type: ignore[arg-type]
        return results[-1]

    monkeypatch.setattr(socialkit, "publish_now", publish_now)
    exec(compile(block, "README.md example", "exec"), {"__name__": "readme"})
    [[result]] = results
    assert result.ok, result.error
    assert [s["content"] for s in server.statuses.values()] == ["<p>Hello, fediverse!</p>"]
