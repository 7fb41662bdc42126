"""The custom-platform example passes the contract kit, as an adapter copied from it must."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import socialkit
import socialkit.testing

_PATH = Path(__file__).resolve().parents[2] / "examples" / "custom_platform.py"
_spec = importlib.util.spec_from_file_location("socialkit_example_custom_platform", _PATH)
assert _spec is not None
assert _spec.loader is not None
example = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = example
_spec.loader.exec_module(example)


class TestNoticeboardContract(socialkit.testing.PlatformContract):
    platform = example.Noticeboard
    uses_http = False

    def account_settings(self) -> dict[str, Any]:
        return {"board": str(self.tmp_path / "board.json")}

    def credentials(self) -> socialkit.Credentials:
        return socialkit.testing.make_credentials(access_token=self.secret, pin="4321-4321")

    def published_ids(self) -> set[str]:
        board = self.tmp_path / "board.json"
        return set(json.loads(board.read_text())) if board.exists() else set()
