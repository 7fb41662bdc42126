"""Platform-accurate text: length as each platform counts it, entities, facets, splitting.

Pure functions, no I/O. Every function takes a :class:`TextRule` (from an adapter's
``Capabilities`` or one of the constants in :mod:`socialkit.text.rules`).
"""

from __future__ import annotations

from socialkit.text.measure import Measurement, measure
from socialkit.text.rules import RULES, Counting, EntityRules, TextRule
from socialkit.text.split import split
from socialkit.text.utm import add_utm, add_utm_to_url

__all__ = [
    "RULES",
    "Counting",
    "EntityRules",
    "Measurement",
    "TextRule",
    "add_utm",
    "add_utm_to_url",
    "measure",
    "split",
]
