"""Check a post against several platforms' limits, offline, before publishing anything.

Validation reads each platform's ``Capabilities`` (data: the text rule, media limits,
threads) and returns every problem with its field, the limit and the measured value.
Run: ``python examples/validate_offline.py``.
"""

from __future__ import annotations

import socialkit
from socialkit.text.rules import Counting, TextRule


def main() -> int:
    post = socialkit.Post(
        text=(
            "Tasting day on Saturday: we pour the whole spring range, from the bright "
            "Ethiopian to the chocolatey Brazilian, and the baristas explain how each one "
            "was roasted, why we chose it, and how to brew it at home without any special "
            "kit. Bring a friend. https://example.com/events/tasting-day #coffee #tasting"
        ),
        first_comment="Free entry, no booking needed.",
        language="en",
    )
    # The platforms installed here (at least the built-in feed) ...
    registry = socialkit.get_registry()
    targets = {name: registry.info(name).platform.capabilities for name in registry.names()}
    # ... and a made-up one with a 140-character limit and no first comments or threads.
    targets["postcard"] = socialkit.Capabilities(
        text=TextRule(name="postcard", counting=Counting.GRAPHEMES, limit=140),
        threads=False,
        first_comment=False,
    )
    for name, capabilities in targets.items():
        problems = socialkit.validate(post, capabilities, platform=name)
        errors = [p for p in problems if p.severity == "error"]
        warnings = len(problems) - len(errors)
        if errors:
            verdict = f"invalid, {len(errors)} error(s)"
        else:  # a warning does not stop it (the text goes out as a thread, say)
            verdict = f"valid, {warnings} warning(s)" if warnings else "valid"
        print(f"{name}: {verdict}")
        for problem in problems:
            print(f"  {problem.severity}: {problem.describe()}")
    postcard = socialkit.validate(post, targets["postcard"], platform="postcard")
    # The post does not fit on a postcard: the text is measured, the limit named.
    too_long = next(p for p in postcard if p.code == "text.too_long")
    assert too_long.limit == 140
    assert isinstance(too_long.value, int)
    assert too_long.value > 140
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
