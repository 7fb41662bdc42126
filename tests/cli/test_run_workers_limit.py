"""``run --workers`` is bounded: a typo is a usage error naming the option, its range and
the value, before any worker process starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from socialkit.cli.run import MAX_WORKERS
from tests.cli.conftest import Cli


@pytest.mark.parametrize(
    ("count", "bound"),
    [
        ("0", "greater than or equal to 1"),
        (str(MAX_WORKERS + 1), f"less than or equal to {MAX_WORKERS}"),
        ("100000", f"less than or equal to {MAX_WORKERS}"),
    ],
)
def test_workers_out_of_range_is_a_usage_error(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, count: str, bound: str
) -> None:
    monkeypatch.chdir(tmp_path)
    done = cli("run", "--once", "--workers", count)
    assert (done.code, done.out) == (2, "")
    assert done.err == f"error: --workers: should be {bound} (got '{count}')\n"
    assert not (tmp_path / "socialkit.db").exists()  # nothing started, nothing created
