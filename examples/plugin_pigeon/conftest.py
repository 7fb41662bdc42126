"""Let the example's tests run from a checkout without installing the distribution."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

if importlib.util.find_spec("socialkit_pigeon") is None:
    sys.path.insert(0, str(Path(__file__).parent / "src"))
