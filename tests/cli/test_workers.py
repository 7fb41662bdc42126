"""``socialkit run --workers N``: real worker processes, and what their command lines show.

``ps`` shows every process's command line to every user of the machine; a store URL may
hold a password, so none may be on a worker's argv. The workers must still reach the
store the command was given.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from socialkit.cli._app import STORE_ENV
from tests.cli.conftest import Cli
from tests.postgres.support import POSTGRES_URL, SKIP_REASON, fresh_schema

PROJECT = """\
store = "sqlite:///project.db"

[[accounts]]
id = "acme-feed"
platform = "feed"
handle = "acme"
timezone = "UTC"
settings = { directory = "feed/acme" }
"""


@pytest.fixture
def spawned(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The argv and environment of every worker process the pool starts (they do run)."""
    import socialkit.schedule.workers as workers

    calls: list[dict[str, Any]] = []
    real = subprocess.Popen

    def popen(args: list[str], **kwargs: Any) -> subprocess.Popen[str]:
        calls.append({"argv": list(args), "env": dict(kwargs.get("env") or os.environ)})
        return real(args, **kwargs)

    monkeypatch.setattr(workers.subprocess, "Popen", popen)
    monkeypatch.delenv(STORE_ENV, raising=False)
    return calls


def _schedule_due(cli: Cli, store: str) -> list[str]:
    Path("socialkit.toml").write_text(PROJECT, encoding="utf-8")
    Path("post.yaml").write_text("text: Out by a worker\n", encoding="utf-8")
    past = (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)).strftime("%Y-%m-%d %H:%M:%S")
    ids = []
    for _ in range(3):
        done = cli("--store", store, "schedule", "post.yaml", "--to", "acme-feed", "--at", past, "--json")  # fmt: skip
        assert done.code == 0, done.err
        ids.extend(p["id"] for p in done.json()["publications"])
    return ids


def _states(cli: Cli, store: str, ids: list[str]) -> set[str]:
    states = set()
    for publication_id in ids:
        shown = cli("--store", store, "show", publication_id, "--json")
        assert shown.code == 0, shown.err
        states.add(shown.json()["state"])
    return states


def _run_workers_with(cli: Cli, store: str, spawned: list[dict[str, Any]], secret: str) -> None:
    ids = _schedule_due(cli, store)
    done = cli("--store", store, "run", "--workers", "2", "--once")
    assert done.code == 0, done.out + done.err
    assert len(spawned) == 2
    for call in spawned:
        assert not any(secret in arg for arg in call["argv"]), call["argv"]
        assert call["env"][STORE_ENV] == store
    assert STORE_ENV not in os.environ  # the command's own environment is left as it was
    # Every due publication went out: the workers used the store given, not the project's.
    assert _states(cli, store, ids) == {"published"}
    assert not Path("project.db").exists()
    assert secret not in done.out + done.err


def test_a_store_option_reaches_the_workers_by_environment_not_argv(
    cli: Cli, spawned: list[dict[str, Any]]
) -> None:
    store = "sqlite:///elsewhere/private-jobs.db"
    _run_workers_with(cli, store, spawned, secret="private-jobs")


@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_URL, reason=SKIP_REASON)
def test_a_postgres_password_is_on_no_worker_command_line(
    cli: Cli, spawned: list[dict[str, Any]]
) -> None:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(POSTGRES_URL)
    user = parts.username or "postgres"
    host = parts.hostname or "127.0.0.1"
    netloc = f"{user}:pw-s3cret-4ever@{host}:{parts.port or 5432}"  # trust auth ignores it
    with fresh_schema("sk_cli_workers") as schema:
        query = "&".join(q for q in (parts.query, f"schema={schema}") if q)
        store = urlunsplit((parts.scheme, netloc, parts.path, query, ""))
        _run_workers_with(cli, store, spawned, secret="pw-s3cret-4ever")


def test_the_project_store_is_read_by_each_worker_from_the_file(
    cli: Cli, spawned: list[dict[str, Any]]
) -> None:
    ids = _schedule_due(cli, "sqlite:///project.db")
    done = cli("run", "--workers", "2", "--once")
    assert done.code == 0, done.out + done.err
    for call in spawned:
        assert not any("project.db" in arg for arg in call["argv"])
        assert STORE_ENV not in call["env"]
    assert _states(cli, "sqlite:///project.db", ids) == {"published"}


def test_the_store_variable_is_read_like_the_option(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = _schedule_due(cli, "sqlite:///from-env.db")
    monkeypatch.setenv(STORE_ENV, "sqlite:///from-env.db")
    listed = cli("list", "--json")
    assert listed.code == 0, listed.err
    assert [p["id"] for p in json.loads(listed.out)["publications"]] == ids
    # The option still wins over the variable.
    assert cli("--store", "sqlite:///project.db", "list", "--json").json()["publications"] == []
