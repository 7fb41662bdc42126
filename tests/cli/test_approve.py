"""``socialkit approve --revision``: the revision a person reviewed, as ``show`` prints it.

A prefix of the current revision approves it; one of an earlier revision is refused as
edited since (exit 1); a prefix of no revision, or of several, is a usage error that
says which revisions would fit (exit 2).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import typer

from socialkit.errors import StaleTransition
from socialkit.models.content import Post
from socialkit.schedule.facade import Scheduler
from socialkit.schedule.publication import Event
from tests.cli.conftest import Cli

PROJECT = """\
store = "sqlite:///socialkit.db"

[[accounts]]
id = "acme-feed"
platform = "feed"
handle = "acme"
settings = { directory = "feed/acme" }
"""


@pytest.fixture
def pending(cli: Cli, tmp_path: Path) -> dict[str, str]:
    """A publication waiting for approval: its id and its revision."""
    (tmp_path / "socialkit.toml").write_text(PROJECT, encoding="utf-8")
    (tmp_path / "post.yaml").write_text("text: Needs a second pair of eyes\n", encoding="utf-8")
    done = cli(
        "schedule", "post.yaml", "--to", "acme-feed", "--at", "2030-01-01 10:00", "--approval",
        "--json",
    )  # fmt: skip
    assert done.code == 0, done.err
    (pub,) = done.json()["publications"]
    return {"id": pub["id"], "revision": pub["revision"]}


def _store(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'socialkit.db'}"


def test_a_prefix_of_no_revision_says_so_and_names_the_current_one(
    cli: Cli, pending: dict[str, str]
) -> None:
    pid, current = pending["id"], pending["revision"]
    wrong = "0123abcd" if not current.startswith("0123abcd") else "4567abcd"
    result = cli("approve", pid, "--revision", wrong)
    assert (result.code, result.out) == (2, "")
    assert result.err == (
        f"error: --revision: no revision of publication {pid} starts with {wrong!r} "
        f"(its current revision is {current[:16]}, as `socialkit show {pid}` prints it)\n"
    )
    # nothing was approved
    assert cli("show", pid, "--json").json()["state"] == "pending_approval"


def test_an_earlier_revision_is_refused_as_edited(
    cli: Cli, pending: dict[str, str], tmp_path: Path
) -> None:
    pid, reviewed = pending["id"], pending["revision"][:16]
    with Scheduler(_store(tmp_path)) as scheduler:
        edited = scheduler.edit(pid, Post(text="Changed after the review"), actor="bob")
    result = cli("approve", pid, "--revision", reviewed)
    assert (result.code, result.out) == (1, "")
    assert result.err == (
        f"error: --revision: publication {pid} was edited since revision {reviewed!r} was "
        f"reviewed: it is now at {edited.revision[:16]}; review it again "
        f"(`socialkit show {pid}`)\n"
    )


def test_the_current_revision_in_capitals_is_approved(cli: Cli, pending: dict[str, str]) -> None:
    result = cli("approve", pending["id"], "--revision", pending["revision"][:12].upper())
    assert result.code == 0, result.err
    assert cli("show", pending["id"], "--json").json()["state"] == "scheduled"


def test_an_ambiguous_prefix_lists_the_revisions_it_starts(
    pending: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from socialkit.cli.people import _reviewed_revision

    with Scheduler(_store(tmp_path)) as scheduler:
        p = scheduler.get(pending["id"])
    current = p.revision
    # An earlier revision sharing the first 8 digits (an edit found in the history).
    twin = current[:8] + ("0" if current[8] != "0" else "1") + current[9:]
    edit = Event(
        seq=10_000,
        at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC),
        kind="edited",
        data={"revision": current, "previous_revision": twin},
    )
    p = p.model_copy(update={"history": [*p.history, edit]})
    assert _reviewed_revision(p, current[:9]) == current  # enough digits to tell them apart
    capsys.readouterr()
    with pytest.raises(typer.Exit) as stopped:
        _reviewed_revision(p, current[:8])
    assert stopped.value.exit_code == 2
    assert capsys.readouterr().err == (
        f"error: --revision: {current[:8]!r} is ambiguous: it starts 2 revisions of "
        f"publication {p.id} ({current[:16]} (current), {twin[:16]} (earlier)); give more "
        "of the current one\n"
    )


def test_approve_and_reject_say_which_revision_and_how_many_approvals_count(
    cli: Cli, tmp_path: Path
) -> None:
    # `approve ID` without --revision approves the current revision: the line says which,
    # and, while more approvals are needed, how many of them count and whose.
    from socialkit.models.account import Account
    from socialkit.schedule.approval import RequireApproval

    (tmp_path / "socialkit.toml").write_text(PROJECT, encoding="utf-8")
    feed = Account(
        id="acme-feed", platform="feed", handle="acme", settings={"directory": "feed/acme"}
    )
    with Scheduler(_store(tmp_path), approval=RequireApproval(approvers=2)) as scheduler:
        (pub,) = scheduler.schedule(
            Post(text="Two pairs of eyes"), feed, at=dt.datetime(2030, 1, 1, 9, tzinfo=dt.UTC)
        )
    rev = pub.revision[:16]
    shown = cli("show", pub.id)
    assert "\n  approvals 0 of 2\n" in shown.out
    first = cli("approve", pub.id, "--actor", "ann")
    assert first.code == 0, first.err
    assert first.out.startswith(f"approved {pub.id}  pending_approval")
    assert first.out.endswith(f"  (revision {rev}; approvals 1 of 2 (ann))\n")
    assert "\n  approvals 1 of 2 (ann)\n" in cli("show", pub.id).out
    row = cli("show", pub.id, "--json").json()
    assert (row["approvals_required"], row["approved_by"]) == (2, ["ann"])
    rejected = cli("reject", pub.id, "--actor", "bob", "--comment", "off-brand")
    assert rejected.out.startswith(f"rejected {pub.id}  draft")
    assert rejected.out.endswith(f"  (revision {rev})\n")


def test_show_history_names_the_revision_of_each_decision_and_edit(
    cli: Cli, pending: dict[str, str], tmp_path: Path
) -> None:
    pid, first = pending["id"], pending["revision"]
    assert cli("reject", pid, "--actor", "ann", "--comment", "say grams").code == 0
    with Scheduler(_store(tmp_path)) as scheduler:
        edited = scheduler.edit(pid, Post(text="Now in 250 grams bags"), actor="eve")
    assert cli("approve", pid, "--actor", "ann").code == 0
    history = cli("show", pid).out.split("history:\n")[1].splitlines()
    assert [line.split()[3] for line in history] == [
        "created",
        "rejected",
        "edited",
        "approved",
    ]
    assert f"by ann  revision {first[:16]}  say grams" in history[1]
    assert f"by eve  revision {first[:16]} → {edited.revision[:16]}  edited by eve" in history[2]
    assert f"by ann  revision {edited.revision[:16]}  approved by ann" in history[3]


def test_reject_with_an_earlier_revision_is_refused_as_edited(
    cli: Cli, pending: dict[str, str], tmp_path: Path
) -> None:
    pid, reviewed = pending["id"], pending["revision"]
    with Scheduler(_store(tmp_path)) as scheduler:
        edited = scheduler.edit(pid, Post(text="Fixed before the rejection"), actor="bob")
        # From the API: the full revision the person reviewed, refused and not recorded.
        with pytest.raises(StaleTransition, match="was edited"):
            scheduler.reject(pid, actor="ann", comment="typo", revision=reviewed)
        assert scheduler.get(pid).state == "pending_approval"
    result = cli("reject", pid, "--revision", reviewed[:16], "--comment", "typo")
    assert (result.code, result.out) == (1, "")
    assert result.err == (
        f"error: --revision: publication {pid} was edited since revision {reviewed[:16]!r} "
        f"was reviewed: it is now at {edited.revision[:16]}; review it again "
        f"(`socialkit show {pid}`)\n"
    )
    assert cli("show", pid, "--json").json()["state"] == "pending_approval"
    done = cli("reject", pid, "--revision", edited.revision[:12], "--comment", "still off")
    assert done.code == 0, done.err
    assert cli("show", pid, "--json").json()["state"] == "draft"
