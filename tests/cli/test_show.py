"""``socialkit show``: a long text says it is cut; ``--json`` has the whole post."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import STORE_PROJECT as PROJECT
from tests.cli.conftest import Cli


def test_a_long_text_is_cut_and_says_so(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "socialkit.toml").write_text(PROJECT, encoding="utf-8")
    text = "word " * 79 + "end"
    (tmp_path / "post.yaml").write_text(f'text: "{text}"\nlanguage: en\n', encoding="utf-8")
    made = cli("schedule", "post.yaml", "--to", "acme-feed", "--at", "2030-01-01 10:00", "--json")
    assert made.code == 0, made.err
    pid = made.json()["publications"][0]["id"]
    shown = cli("show", pid)
    assert shown.code == 0
    line = next(x for x in shown.out.splitlines() if x.startswith("  text: "))
    assert line == (
        f"  text: {text[:200] + '…'!r} (398 characters; show --json has the whole post)"
    )
    as_json = cli("show", pid, "--json").json()
    assert as_json["post"]["text"] == text
    assert as_json["post"]["language"] == "en"


def test_a_short_text_is_shown_whole(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "socialkit.toml").write_text(PROJECT, encoding="utf-8")
    (tmp_path / "post.yaml").write_text("text: Short and sweet\n", encoding="utf-8")
    made = cli("schedule", "post.yaml", "--to", "acme-feed", "--at", "2030-01-01 10:00", "--json")
    pid = made.json()["publications"][0]["id"]
    assert "  text: 'Short and sweet'\n" in cli("show", pid).out


def test_a_thread_shown_at_one_address_names_it_once(cli: Cli, tmp_path: Path) -> None:
    # The feed shows a thread as one entry: each part's receipt has the page's address,
    # which show printed once per part.
    import datetime as dt

    (tmp_path / "socialkit.toml").write_text(PROJECT, encoding="utf-8")
    (tmp_path / "post.yaml").write_text(
        "text: One\nthread:\n  - text: Two\n  - text: Three\n", encoding="utf-8"
    )
    now = f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M}"
    made = cli("schedule", "post.yaml", "--to", "acme-feed", "--at", now, "--tz", "UTC", "--json")
    assert made.code == 0, made.err
    pid = made.json()["publications"][0]["id"]
    assert cli("run", "--once").code == 0
    shown = cli("show", pid, "--json").json()
    [url] = {part["url"] for part in shown["receipts"][0]["receipt"]["parts"]}
    line = next(x for x in cli("show", pid).out.splitlines() if x.startswith("  receipt "))
    assert line == f"  receipt (attempt 1, platform): {url} (3 parts)"


def test_an_unknown_id_is_named_as_the_command_line_names_it(cli: Cli, tmp_path: Path) -> None:
    # The library's error names its argument, publication_id; on the command line the
    # argument is ID, as `socialkit show` (no ID) says, and `list` has the ids there are.
    (tmp_path / "socialkit.toml").write_text(PROJECT, encoding="utf-8")
    (tmp_path / "post.yaml").write_text("text: Short and sweet\n", encoding="utf-8")
    made = cli("schedule", "post.yaml", "--to", "acme-feed", "--at", "2030-01-01 10:00")
    assert made.code == 0, made.err
    for command in (
        ("show",),
        ("approve",),
        ("cancel",),
        ("reschedule", "--at", "2030-01-02 10:00"),
    ):
        typo = cli(command[0], "p-no-such-id", *command[1:])
        assert (typo.code, typo.out) == (2, "")
        assert typo.err == (
            "error: ID: no publication 'p-no-such-id' in workspace 'default' "
            "(socialkit list lists them)\n"
        ), command
