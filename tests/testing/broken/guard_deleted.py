"""Deletes a standard test: the class definition must fail."""

from __future__ import annotations

from adapters import PigeonSuite


class TestDeleted(PigeonSuite):
    test_refused_connection_is_transient = None
