"""The project file's ``[approval]``: the command line's approval policy."""

from __future__ import annotations

from pathlib import Path

import pytest

import socialkit
from socialkit.schedule.approval import OnRequest, RequireApproval
from tests.cli.conftest import Cli

ACCOUNTS = """\
store = "sqlite:///socialkit.db"

[[accounts]]
id = "acme-feed"
platform = "feed"
handle = "acme"
settings = { directory = "feed/acme" }

[[accounts]]
id = "acme-news"
platform = "feed"
handle = "news"
settings = { directory = "feed/news" }

[[campaigns]]
id = "spring"
name = "Spring"
"""


def _project(tmp_path: Path, approval: str) -> Path:
    path = tmp_path / "socialkit.toml"
    path.write_text(ACCOUNTS + approval, encoding="utf-8")
    return path


def _schedule(cli: Cli, *args: str) -> dict[str, object]:
    done = cli("schedule", "post.yaml", "--at", "2030-01-01 10:00", "--json", *args)
    assert done.code == 0, done.err
    (pub,) = done.json()["publications"]
    assert isinstance(pub, dict)
    return pub


def test_required_approval_holds_every_post_for_two_people(cli: Cli, tmp_path: Path) -> None:
    _project(tmp_path, "\n[approval]\nrequired = true\napprovers = 2\n")
    (tmp_path / "post.yaml").write_text("text: Reviewed twice\n", encoding="utf-8")
    pub = _schedule(cli, "--to", "acme-feed")  # no --approval: the project requires it
    assert pub["state"] == "pending_approval"
    first = cli("approve", str(pub["id"]), "--actor", "ann")
    assert first.code == 0, first.err
    assert "approvals 1 of 2 (ann)" in first.out
    second = cli("approve", str(pub["id"]), "--actor", "bob")
    assert second.code == 0, second.err
    assert cli("show", str(pub["id"]), "--json").json()["state"] == "scheduled"


def test_a_scoped_requirement_leaves_other_posts_to_approval(cli: Cli, tmp_path: Path) -> None:
    _project(tmp_path, '\n[approval]\nrequired = true\ncampaigns = ["spring"]\n')
    (tmp_path / "post.yaml").write_text("text: In spring\ncampaign: spring\n", encoding="utf-8")
    assert _schedule(cli, "--to", "acme-feed")["state"] == "pending_approval"
    (tmp_path / "post.yaml").write_text("text: Any day\n", encoding="utf-8")
    assert _schedule(cli, "--to", "acme-feed")["state"] == "scheduled"
    assert _schedule(cli, "--to", "acme-news", "--approval")["state"] == "pending_approval"


def test_without_it_only_approval_posts_wait(cli: Cli, tmp_path: Path) -> None:
    _project(tmp_path, "")
    (tmp_path / "post.yaml").write_text("text: Straight out\n", encoding="utf-8")
    assert _schedule(cli, "--to", "acme-feed")["state"] == "scheduled"


def test_the_policy_it_describes(tmp_path: Path) -> None:
    config = socialkit.load_config(
        _project(
            tmp_path, '\n[approval]\nrequired = true\napprovers = 3\naccounts = ["acme-news"]\n'
        )
    )
    assert config.approval.policy() == RequireApproval(approvers=3, accounts=["acme-news"])
    plain = socialkit.load_config(_project(tmp_path, "\n[approval]\napprovers = 2\n"))
    assert plain.approval.policy() == OnRequest(approvers=2)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            '[approval]\nrequired = true\naccounts = ["acme-nope"]\n',
            r"approval\.accounts\[0\]: 'acme-nope' is not one of the project's accounts "
            r"\(acme-feed, acme-news\)",
        ),
        (
            '[approval]\nrequired = true\ncampaigns = ["autumn"]\n',
            r"approval\.campaigns\[0\]: 'autumn' is not one of the project's campaigns \(spring\)",
        ),
        (
            '[approval]\ncampaigns = ["spring"]\n',
            r"campaigns narrows required = true to some campaigns",
        ),
        ("[approval]\napprovers = 0\n", r"approval\.approvers"),
        ('[approval]\napprovers = "2"\n', r"approval\.approvers"),
        ("[approval]\nrequierd = true\n", r"requierd"),
    ],
)
def test_a_bad_table_is_named(tmp_path: Path, table: str, message: str) -> None:
    with pytest.raises(socialkit.ConfigError, match=message):
        socialkit.load_config(_project(tmp_path, "\n" + table))


def test_publish_now_is_refused_where_approval_is_required(cli: Cli, tmp_path: Path) -> None:
    _project(tmp_path, '\n[approval]\nrequired = true\naccounts = ["acme-news"]\n')
    (tmp_path / "post.yaml").write_text("text: Straight out?\n", encoding="utf-8")
    refused = cli("publish", "post.yaml", "--to", "acme-feed", "--to", "acme-news")
    assert (refused.code, refused.out) == (2, "")
    assert refused.err.startswith(
        "error: --to: acme-news needs approval before a post goes out ([approval] in the "
        "project file), and publish sends at once"
    )
    assert not (tmp_path / "feed").exists()  # nothing was sent, to either account
    done = cli("publish", "post.yaml", "--to", "acme-feed")  # not required there
    assert done.code == 0, done.err
    assert list((tmp_path / "feed" / "acme" / "posts").glob("*.json"))
