"""A store read with the wrong project file (or none) says where its publications are.

``list`` shows the project's workspace only. A store made by a project with
``workspace = "acme"`` (the demo's, say), read without that file, listed "no
publications" while ``store status`` counted them, and ``pause --account`` called its
account unknown.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import Cli

ACME = """\
workspace = "acme"
store = "sqlite:///shared.db"

[[accounts]]
id = "acme-feed"
platform = "feed"
handle = "acme"
"""


@pytest.fixture
def shared(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "acme").mkdir()
    (tmp_path / "acme" / "socialkit.toml").write_text(ACME, encoding="utf-8")
    (tmp_path / "post.yaml").write_text("text: Hello\n", encoding="utf-8")
    made = cli("-c", "acme/socialkit.toml", "schedule", "post.yaml", "--to", "acme-feed",
               "--at", "2030-01-01 09:00")  # fmt: skip
    assert made.code == 0, made.err


WHERE = "the project's workspace is 'default', and the store keeps"
FIX = 'set workspace = "acme" in the project file, or give its project file with -c FILE'


@pytest.mark.usefixtures("shared")
def test_an_empty_listing_names_the_workspace_the_store_keeps(cli: Cli) -> None:
    listed = cli("--store", "sqlite:///acme/shared.db", "list")
    assert (listed.code, listed.out) == (0, "no publications\n")
    assert listed.err == f"note: {WHERE} its accounts in workspace 'acme' (acme-feed): {FIX}\n"
    with_it = cli("-c", "acme/socialkit.toml", "list")
    assert (with_it.out.count("\n"), with_it.err) == (1, "")


@pytest.mark.usefixtures("shared")
def test_an_account_of_another_workspace_says_which(cli: Cli) -> None:
    paused = cli("--store", "sqlite:///acme/shared.db", "pause", "--account", "acme-feed")
    assert (paused.code, paused.out) == (2, "")
    assert paused.err == (
        "error: --account: unknown account 'acme-feed' (accounts: none); "
        f"{WHERE} it in workspace 'acme': {FIX}\n"
    )
    typo = cli("--store", "sqlite:///acme/shared.db", "list", "--account", "acme-fed")
    assert typo.err == "note: --account: unknown account 'acme-fed' (accounts: none)\n"
