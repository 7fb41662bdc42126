"""``schedule`` and ``queue`` say what ``validate`` warns about, and schedule anyway.

A text that becomes a thread, or a campaign the project file does not know, is not an
error; it used to be checked and then said nowhere, so a person learned of the thread
only once it was published.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import socialkit
from socialkit.platforms.capabilities import Capabilities
from socialkit.platforms.registry import Registry, reset_registry
from socialkit.text.rules import Counting, TextRule
from tests.cli.conftest import Cli
from tests.cli.plugins import plugin


class Short(socialkit.Platform):
    """Twenty graphemes a post; longer texts go out as threads."""

    name = "short"
    contract = 1
    capabilities = Capabilities(
        text=TextRule(name="short", counting=Counting.GRAPHEMES, limit=20),
        threads=True,
        requires_credentials=False,
    )

    async def publish(self, draft, ctx):  # pragma: no cover - nothing is published here
        raise NotImplementedError


PROJECT = """\
store = "sqlite:///socialkit.db"

[[accounts]]
id = "acme-short"
platform = "short"
handle = "acme"
posting_slots = [{ weekday = "mon", time = "09:00" }]

[[campaigns]]
id = "spring"
name = "Spring"
"""


@pytest.fixture(autouse=True)
def project(tmp_path: Path) -> None:
    reset_registry(Registry(plugins=[plugin(Short)]))
    (tmp_path / "socialkit.toml").write_text(PROJECT, encoding="utf-8")
    long = "A spring blend, roasted this week. On the shelves on Saturday."
    (tmp_path / "long.yaml").write_text(f'text: "{long}"\ncampaign: sprnig\n', encoding="utf-8")
    (tmp_path / "fits.yaml").write_text('text: "Spring!"\ncampaign: spring\n', encoding="utf-8")


# in the order validate lists them: the post's own, then each target's
WARNINGS = (
    "warning: campaign: not a campaign of the project file; its UTM parameters are not "
    "applied (value sprnig)\n"
    "warning: acme-short (short)  text: the text does not fit one post (20 at most, counted "
    "in graphemes); it will be published as a thread of 4 parts (value 4)\n"
)


def test_schedule_prints_the_warnings_and_schedules(cli: Cli) -> None:
    done = cli("schedule", "long.yaml", "--to", "acme-short", "--at", "2030-01-07 09:00")
    assert done.code == 0, done.err
    assert done.out.startswith("scheduled p")
    assert done.err == WARNINGS


def test_queue_prints_the_warnings_and_queues(cli: Cli) -> None:
    done = cli("queue", "long.yaml", "--to", "acme-short", "--json")
    assert done.code == 0, done.err
    assert [p["state"] for p in done.json()["publications"]] == ["scheduled"]
    assert done.err == WARNINGS


def test_a_post_without_warnings_schedules_quietly(cli: Cli) -> None:
    done = cli("schedule", "fits.yaml", "--to", "acme-short", "--at", "2030-01-07 09:00")
    assert (done.code, done.err) == (0, "")
