"""Running the ``socialkit`` command in-process and in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from socialkit.cli import main
from socialkit.platforms.registry import Registry, reset_registry
from tests.cli.plugins import Tiny, plugin

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@dataclass
class Run:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


Cli = Callable[..., Run]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Cli:
    """``cli("validate", "post.yaml")`` runs the command in this process."""

    def run(*args: str) -> Run:
        capsys.readouterr()
        code = main(list(args))
        out, err = capsys.readouterr()
        return Run(code, out, err)

    return run


def run_subprocess(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> Run:
    """The command in a fresh interpreter (for entry points and tracebacks)."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from socialkit.cli import main; sys.exit(main())",
            *args,
        ],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        timeout=120,
        check=False,
    )
    return Run(done.returncode, done.stdout, done.stderr)


@pytest.fixture
def with_tiny() -> None:
    """The process-wide registry: installed plugins plus :class:`Tiny`."""
    Tiny.published.clear()
    reset_registry(Registry(plugins=[plugin(Tiny)]))


PROJECT = """\
# a test project
workspace = "acme"
media_dir = "media-store"

[[accounts]]
id = "acme-feed"
platform = "feed"
handle = "acme"
settings = { directory = "out/acme" }

[[campaigns]]
id = "spring"
name = "Spring"
utm = { source = "socialkit", medium = "social", campaign = "spring" }
"""


# A project with a SQLite store and one feed account: what the scheduling commands need.
STORE_PROJECT = """\
store = "sqlite:///socialkit.db"

[[accounts]]
id = "acme-feed"
platform = "feed"
handle = "acme"
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project file with a feed account and a campaign, in the working directory."""
    path = tmp_path / "socialkit.toml"
    path.write_text(PROJECT, encoding="utf-8")
    return path
