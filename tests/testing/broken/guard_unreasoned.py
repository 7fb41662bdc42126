"""Overrides a standard test without a reason: the class definition must fail."""

from __future__ import annotations

from adapters import PigeonSuite


class TestUnreasoned(PigeonSuite):
    def test_publish_returns_a_receipt_for_the_post(self) -> None:
        pass
