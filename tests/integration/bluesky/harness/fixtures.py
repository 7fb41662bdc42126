"""pytest fixtures for the real-PDS harness (see README.md in this directory).

Fixtures:
- ``pds``                  session-scoped PdsServer (rate limits off)
- ``pds_with_rate_limits`` session-scoped second PdsServer with PDS_RATE_LIMITS_ENABLED=true
- ``bluesky_account``      function-scoped fresh account on ``pds``
                           (dict: handle, did, password, email, accessJwt, refreshJwt)

Use from a conftest.py (works with ``--import-mode=importlib``)::

    import importlib.util, pathlib, sys
    _path = pathlib.Path(__file__).parent / "harness" / "fixtures.py"
    _spec = importlib.util.spec_from_file_location("socialkit_pds_fixtures", _path)
    _mod = importlib.util.module_from_spec(_spec); sys.modules[_spec.name] = _mod
    _spec.loader.exec_module(_mod)
    from socialkit_pds_fixtures import *  # noqa: F403

Node/npm missing -> the tests using these fixtures are skipped (reason printed).
Any other install or start failure -> the tests error/fail, they are NOT skipped.
Set SOCIALKIT_SKIP_PDS=1 to skip them on purpose.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

__all__ = [
    "bluesky_account",
    "harness",
    "load_harness",
    "pds",
    "pds_installed",
    "pds_with_rate_limits",
    "pytest_collection_modifyitems",
]

HARNESS_MODULE_NAME = "socialkit_pds_harness"


def load_harness() -> ModuleType:
    """Import harness/pds.py by path under one stable module name (import-mode agnostic)."""
    mod = sys.modules.get(HARNESS_MODULE_NAME)
    if mod is not None:
        return mod
    spec = importlib.util.spec_from_file_location(
        HARNESS_MODULE_NAME, Path(__file__).with_name("pds.py")
    )
    assert spec is not None
    assert spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[HARNESS_MODULE_NAME] = mod
    try:
        spec.loader.exec_module(mod)
    except BaseException:
        sys.modules.pop(HARNESS_MODULE_NAME, None)
        raise
    return mod


COLD_INSTALL_TIMEOUT = 1200  # seconds; a cold install takes ~1.5-3 min, more on a slow disk


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Give the first test that needs the PDS time for a cold install under pytest-timeout.

    Only when the install marker is missing (i.e. install.sh will really install); a warm
    cache keeps the project's normal per-test timeout.
    """
    if not config.pluginmanager.hasplugin("timeout"):
        return
    mod = load_harness()
    if mod.is_installed():
        return
    for item in items:
        if "pds_installed" in getattr(item, "fixturenames", ()):
            if item.get_closest_marker("timeout") is None:
                item.add_marker(pytest.mark.timeout(COLD_INSTALL_TIMEOUT))
            return  # the session-scoped install runs in the first such test's setup


@pytest.fixture(scope="session")
def harness() -> ModuleType:
    """The harness module (PdsServer, ensure_installed, ...)."""
    return load_harness()


@pytest.fixture(scope="session")
def pds_installed(harness: ModuleType) -> Path:
    """Run install.sh once per session (no-op when cached). Returns the cache dir."""
    if os.environ.get("SOCIALKIT_SKIP_PDS", "") not in ("", "0", "false"):
        pytest.skip("SOCIALKIT_SKIP_PDS is set: real-PDS tests skipped on request")
    # pytest.skip/fail are called outside the except blocks to keep the report short.
    try:
        cache: Path = harness.ensure_installed()
        return cache
    except harness.PdsInstallSkipped as exc:
        skip_reason: str | None = str(exc)
    except harness.PdsInstallError as exc:
        skip_reason, fail_reason = None, str(exc)
    if skip_reason is not None:
        print(f"\n[socialkit-pds] {skip_reason}", file=sys.stderr)
        pytest.skip(skip_reason)
    pytest.fail(f"PDS install failed (not a skip):\n{fail_reason}", pytrace=False)


def _serve(harness: ModuleType, **kwargs: Any) -> Iterator[Any]:
    server = harness.PdsServer(**kwargs)
    server.start()  # PdsStartError (with the log) propagates -> fixture error
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def pds(harness: ModuleType, pds_installed: Path) -> Iterator[Any]:
    """A running PLC + PDS on 127.0.0.1; ``pds.url`` is the base URL."""
    yield from _serve(harness, rate_limits=False)


@pytest.fixture(scope="session")
def pds_with_rate_limits(harness: ModuleType, pds_installed: Path) -> Iterator[Any]:
    """A second PLC + PDS with PDS_RATE_LIMITS_ENABLED=true."""
    yield from _serve(harness, rate_limits=True)


@pytest.fixture
def bluesky_account(pds: Any) -> dict[str, Any]:
    """A fresh account on ``pds``: handle, did, password, email, accessJwt, refreshJwt."""
    account: dict[str, Any] = pds.create_account("acct")
    return account
