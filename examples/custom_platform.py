"""A platform adapter in fifty lines, used by an application without packaging a plugin.

Installed plugins register through the ``socialkit`` entry-point group; an application
can also register a class on a registry of its own, as here. The adapter declares its
capabilities (so validation works offline) and implements ``publish``; the context gives
it the account, credentials from the provider, an HTTP client, a clock and an
idempotency key per part. Run: ``python examples/custom_platform.py``.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import socialkit
from socialkit.text.rules import Counting, TextRule


class Noticeboard(socialkit.Platform):
    """Pins notes to a JSON file; needs a ``pin`` credential."""

    name = "noticeboard"
    contract = socialkit.CONTRACT
    capabilities = socialkit.Capabilities(
        text=TextRule(name="noticeboard", counting=Counting.GRAPHEMES, limit=200),
        threads=False,
        idempotency=socialkit.Idempotency.KEY,
        delete=False,  # the default is True: say so when the adapter has no delete()
    )

    async def publish(self, draft, ctx):
        if len(draft.parts) > 1:  # never pin the first part of a thread alone
            raise socialkit.Rejected("a noticeboard has no threads")
        ctx.credentials.require("pin")  # raises CredentialsError naming the key, never the value
        board = Path(ctx.account.setting("board", "noticeboard.json"))
        key = ctx.idempotency_key(0)  # the same publication retried pins one note, not two
        # File work off the event loop: adapters share one loop with every other account.
        await asyncio.to_thread(_pin, board, key, draft.text, ctx.now().isoformat())
        ref = socialkit.PostRef(id=key)
        await ctx.checkpoint(0, ref)  # the note is up: a retry must not pin it again
        return socialkit.Receipt(
            platform=self.name,
            account_id=ctx.account.id,
            parts=(ref,),
            published_at=ctx.now(),
        )


def _pin(board: Path, key: str, text: str, at: str) -> None:
    notes = json.loads(board.read_text()) if board.exists() else {}
    notes.setdefault(key, {"text": text, "at": at})
    board.write_text(json.dumps(notes, indent=2))


async def main() -> int:
    registry = socialkit.Registry(load_entry_points=False)
    registry.register(Noticeboard)
    hall = socialkit.Account(id="hall", platform="noticeboard", handle="hall")
    lobby = socialkit.Account(id="lobby", platform="noticeboard", handle="lobby")
    credentials = socialkit.MemoryCredentialProvider({"hall": {"pin": "1234"}})
    post = socialkit.Post(text="Coffee tasting on Saturday, 11:00 to 15:00.")
    results = await socialkit.apublish_now(
        post, [hall, lobby], registry=registry, credentials=credentials
    )
    for result in results:
        outcome = result.receipt.ref.id if result.receipt else f"{result.error}"
        print(f"{result.account.id}: {'published ' if result.ok else 'failed: '}{outcome}")
    # hall has its pin; lobby has none, and its failure does not hide hall's success.
    assert [r.ok for r in results] == [True, False]
    assert isinstance(results[1].error, socialkit.CredentialsError)
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
