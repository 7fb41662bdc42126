"""``socialkit run`` on a terminal: the store it works on, and until something changes,
when the engine next has work. It showed an empty table and "waiting for due
publications…", whatever the store held."""

from __future__ import annotations

import datetime as dt
import io
import sys

import pytest
from rich.console import Console

from socialkit.cli.run import _Progress

NOW = dt.datetime(2030, 1, 1, 9, 0, tzinfo=dt.UTC)


def _screen(progress: _Progress) -> str:
    console = Console(file=io.StringIO(), record=True, width=100)
    console.print(progress.render())
    return console.export_text()


def test_the_display_names_the_store_and_the_next_due_work(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    progress = _Progress("sqlite:///socialkit.db")
    assert "socialkit run on sqlite:///socialkit.db" in _screen(progress)
    assert progress.waiting(NOW) == "waiting: nothing is scheduled"
    progress.next_due = NOW + dt.timedelta(hours=3)
    assert progress.waiting(NOW) == "waiting: next work due 2030-01-01 12:00 UTC (in 3 hours)"
    progress.next_due = NOW
    assert progress.waiting(NOW) == "working on what is due now…"
    progress.next_due = dt.datetime.now(dt.UTC) + dt.timedelta(days=3, minutes=1)
    assert "waiting: next work due " in _screen(progress)
    assert "(in 3 days)" in _screen(progress)


def test_the_stop_line_counts_the_claims_handed_back() -> None:
    from socialkit.cli.run import _stopped_line

    assert _stopped_line(0) == "stopped: 0 unsent claims handed back"
    assert _stopped_line(1) == "stopped: 1 unsent claim handed back"  # not "1 unsent claims"
    assert _stopped_line(2) == "stopped: 2 unsent claims handed back"
