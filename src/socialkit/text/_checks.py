"""Argument checks for the public text functions: a wrong type is named with its value.

Without them ``measure(None, rule)`` failed deep inside with ``'NoneType' object has no
attribute 'isascii'`` and ``measure(text, "x")`` with ``'str' object has no attribute
'counting'``, neither naming the argument.
"""

from __future__ import annotations

from socialkit.text._unicode import check_text
from socialkit.text._unicode import shown as _shown
from socialkit.text.rules import EntityRules, TextRule

__all__ = ["check_entity_rules", "check_optional_text", "check_rule", "check_text"]

_RULE_HELP = (
    "a TextRule: a constant of socialkit.text.rules (rules.X), rule_for(name), "
    "or an adapter's capabilities.text"
)


def check_optional_text(value: object, field: str) -> None:
    """Raise ``TypeError`` naming ``field`` unless ``value`` is a ``str`` or ``None``."""
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{field}: must be a str or None, got {_shown(value)}")


def check_rule(value: object, field: str = "rule") -> None:
    """Raise ``TypeError`` naming ``field`` unless ``value`` is a :class:`TextRule`.

    A platform name is the usual mistake; the message says how to turn it into a rule.
    """
    if isinstance(value, TextRule):
        return
    hint = f"; for a platform name use rule_for({value!r})" if isinstance(value, str) else ""
    raise TypeError(f"{field}: must be {_RULE_HELP}, got {_shown(value)}{hint}")


def check_entity_rules(value: object, field: str = "rules") -> EntityRules:
    """The entity rules ``value`` names: a ``TextRule``'s, or an ``EntityRules`` (or its value).

    Raises:
        TypeError: ``value`` is neither; a platform name gets a hint to use ``rule_for``.
    """
    if isinstance(value, TextRule):
        return value.entities
    if isinstance(value, EntityRules):
        return value
    if isinstance(value, str):
        try:
            return EntityRules(value)
        except ValueError:
            known = ", ".join(member.value for member in EntityRules)
            raise TypeError(
                f"{field}: must be a TextRule or EntityRules ({known}), got {_shown(value)}; "
                f"for a platform name use rule_for({value!r})"
            ) from None
    raise TypeError(f"{field}: must be a TextRule or EntityRules, got {_shown(value)}")
