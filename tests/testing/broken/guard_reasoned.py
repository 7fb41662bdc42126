"""Overrides a standard test with a reason: allowed, and the replacement runs."""

from __future__ import annotations

import pytest
from adapters import PigeonSuite

import socialkit.testing


class TestReasoned(PigeonSuite):
    @socialkit.testing.override("this fake counts metrics differently; checked below")
    def test_fetch_metrics_reports_the_declared_counts(self) -> None:
        pytest.fail("the replacement ran")
