"""``socialkit --version``."""

from __future__ import annotations

import platform

import socialkit
from tests.cli.conftest import Cli


def test_version_prints_socialkit_and_python_and_exits_0(cli: Cli) -> None:
    result = cli("--version")
    assert (result.code, result.err) == (0, "")
    assert result.out == f"socialkit {socialkit.__version__} (Python {platform.python_version()})\n"
    # eager: it wins over a command and its problems
    assert cli("--version", "show").code == 0
