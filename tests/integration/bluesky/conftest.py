"""Fixtures for the Bluesky integration tests: a real PDS on 127.0.0.1 (see harness/)."""

import importlib.util
import sys
from pathlib import Path

# Load harness/fixtures.py by path so this works under --import-mode=importlib without
# putting generic module names ("fixtures", "pds") on sys.path.
_NAME = "socialkit_pds_fixtures"
if _NAME not in sys.modules:
    _spec = importlib.util.spec_from_file_location(
        _NAME, Path(__file__).parent / "harness" / "fixtures.py"
    )
    assert _spec is not None
    assert _spec.loader is not None
    _module = importlib.util.module_from_spec(_spec)
    sys.modules[_NAME] = _module
    _spec.loader.exec_module(_module)

from socialkit_pds_fixtures import (  # noqa: E402,F401
    bluesky_account,
    harness,
    pds,
    pds_installed,
    pds_with_rate_limits,
    pytest_collection_modifyitems,
)
