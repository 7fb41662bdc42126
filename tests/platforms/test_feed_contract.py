"""The built-in feed platform passes the contract test kit, like any plugin must."""

from __future__ import annotations

import json
from typing import Any

import socialkit.testing
from socialkit.platforms.feed import FeedPlatform


class TestFeedContract(socialkit.testing.PlatformContract):
    platform = FeedPlatform
    uses_http = False

    def account_settings(self) -> dict[str, Any]:
        return {"directory": str(self.tmp_path / "feed")}

    def published_ids(self) -> set[str]:
        posts = self.tmp_path / "feed" / "posts"
        ids: set[str] = set()
        for path in posts.glob("*.json") if posts.is_dir() else ():
            entry = json.loads(path.read_text(encoding="utf-8"))
            ids.add(entry["id"])
            ids.update(f"{entry['id']}.{i}" for i in range(1, len(entry["parts"])))
        return ids

    def seed_metrics(self, receipt: socialkit.Receipt, counts: dict[str, int]) -> None:
        metrics = self.tmp_path / "feed" / "metrics"
        metrics.mkdir(parents=True, exist_ok=True)
        (metrics / f"{receipt.ref.id}.json").write_text(json.dumps(counts), encoding="utf-8")
