"""socialkit's own warnings on the command line: ``warning:`` lines, like its errors,
not the bare messages Python's last-resort handler printed."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest

from socialkit.cli._app import _LogLines
from tests.cli.conftest import Run, run_subprocess
from tests.cli.test_rules import PROJECT

# The warning these tests read comes from a rule that names hours and no minute, started
# now: it says which minute past the hour the rule takes from now, and says nothing when
# that minute is 0. The command's clock is moved a minute on during the first minute of
# an hour (through sitecustomize), or the tests failed in one run out of sixty.
_OFF_THE_HOUR = (
    "import datetime as _dt\n"
    "from socialkit.schedule.engine import clock as _clock\n"
    "_now = _clock.SystemClock.now\n"
    "def _off_the_hour(self):\n"
    "    now = _now(self)\n"
    "    return now + _dt.timedelta(minutes=1) if now.minute == 0 else now\n"
    "_clock.SystemClock.now = _off_the_hour\n"
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The rules tests' project (a feed account in Europe/Berlin) and its lunch.yaml."""
    (tmp_path / "socialkit.toml").write_text(PROJECT, encoding="utf-8")
    (tmp_path / "lunch.yaml").write_text("text: Lunch special\n", encoding="utf-8")
    (tmp_path / "sitecustomize.py").write_text(_OFF_THE_HOUR, encoding="utf-8")
    return tmp_path


def _recur(project: Path) -> Run:
    """``recur`` of a rule with hours and no minute, in a process that loads the project's
    sitecustomize."""
    return run_subprocess(
        "recur",
        "lunch.yaml",
        "--to",
        "acme-feed",
        "--rrule",
        "FREQ=DAILY;BYHOUR=12",
        cwd=project,
        env={"PYTHONPATH": str(project) + ":" + ":".join(p for p in sys.path if p)},
    )


def test_a_library_warning_is_a_warning_line(project: Path) -> None:
    done = _recur(project)
    assert done.code == 0, done.err
    (line,) = [line for line in done.err.splitlines() if "BYMINUTE" in line]
    assert line.startswith(
        "warning: rule FREQ=DAILY;BYHOUR=12 in Europe/Berlin names no BYMINUTE and starts now"
    )


def _record(message: str, exc: BaseException | None = None) -> logging.LogRecord:
    return logging.LogRecord(
        "socialkit.schedule",
        logging.ERROR,
        __file__,
        1,
        message,
        None,
        (type(exc), exc, exc.__traceback__) if exc is not None else None,
    )


def test_log_lines_are_terminal_safe_and_name_the_exception(
    capsys: pytest.CaptureFixture[str],
) -> None:
    try:
        raise ValueError("bad \x1b[2J value")
    except ValueError as exc:
        caught = exc
    _LogLines(debug=False).emit(_record("a \x1b]0;title\x07 rule failed", caught))
    err = capsys.readouterr().err
    assert err == "error: a \\x1b]0;title\\x07 rule failed (ValueError: bad \\x1b[2J value)\n"
    _LogLines(debug=True).emit(_record("with its traceback", caught))
    err = capsys.readouterr().err
    assert err.startswith("error: with its traceback\nTraceback (most recent call last):\n")
    assert err.rstrip().endswith("ValueError: bad \\x1b[2J value")


def test_configured_logging_is_left_alone(project: Path) -> None:
    """With logging set up (a handler on the root logger), its handlers decide."""
    (project / "sitecustomize.py").write_text(
        _OFF_THE_HOUR + "import logging, sys\n"
        "logging.basicConfig(stream=sys.stderr, format='CONFIGURED %(levelname)s %(message)s')\n",
        encoding="utf-8",
    )
    done = _recur(project)
    assert done.code == 0, done.err
    (line,) = [line for line in done.err.splitlines() if "BYMINUTE" in line]
    assert line.startswith("CONFIGURED WARNING rule FREQ=DAILY;BYHOUR=12")
