"""``store prune --older-than``: an age too long for a date is a usage error."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import STORE_PROJECT, Cli


@pytest.mark.parametrize("age", ["99999999999d", "365001d", "9" * 400 + "s"])
def test_an_age_too_long_is_a_usage_error(cli: Cli, tmp_path: Path, age: str) -> None:
    # It was an OverflowError (exit 1): now - AGE fell before the year 1.
    (tmp_path / "socialkit.toml").write_text(STORE_PROJECT, encoding="utf-8")
    assert cli("store", "migrate").code == 0
    pruned = cli("store", "prune", "--older-than", age, "--dry-run")
    assert (pruned.code, pruned.out) == (2, "")
    assert pruned.err.startswith("error: --older-than: too long (got ")
    assert pruned.err.endswith("; at most 365000d, 1000 years)\n")


def test_the_longest_age_still_prunes(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "socialkit.toml").write_text(STORE_PROJECT, encoding="utf-8")
    assert cli("store", "migrate").code == 0
    pruned = cli("store", "prune", "--older-than", "365000d", "--dry-run")
    assert (pruned.code, pruned.out) == (0, "would remove nothing\n")
