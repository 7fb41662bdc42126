"""Platform-accurate text: length as each platform counts it, entities, facets, splitting.

Pure functions, no I/O. Every function takes a :class:`TextRule` (from an adapter's
``Capabilities`` or one of the constants in :mod:`socialkit.text.rules`)::

    from socialkit.text import measure, rules

    m = measure("سلام دنیا #شبکه‌های_اجتماعی https://example.com", rules.X)
    m.length, m.limit, m.fits, m.overflow_at
    [(e.kind, e.value, e.start, e.utf16_start, e.byte_start) for e in m.entities]
"""

from __future__ import annotations

from socialkit.text._unicode import grapheme_count, graphemes
from socialkit.text.bluesky import FacetResult, UnresolvedMention, bluesky_facets
from socialkit.text.entities import Entity, EntityKind, extract_entities
from socialkit.text.measure import Measurement, measure
from socialkit.text.rules import RULES, Counting, EntityRules, TextRule, WeightRange, rule_for
from socialkit.text.split import split
from socialkit.text.utm import add_utm, add_utm_to_url

__all__ = [
    "RULES",
    "Counting",
    "Entity",
    "EntityKind",
    "EntityRules",
    "FacetResult",
    "Measurement",
    "TextRule",
    "UnresolvedMention",
    "WeightRange",
    "add_utm",
    "add_utm_to_url",
    "bluesky_facets",
    "extract_entities",
    "grapheme_count",
    "graphemes",
    "measure",
    "rule_for",
    "split",
]
